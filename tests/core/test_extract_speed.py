"""extract's fast paths (per-token cache, skipped date search) read texts as the full path did."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from neuralmemory.core import extract as extract_module
from neuralmemory.core.extract import extract, keyword

NOW = 1_709_596_800_000  # 2024-03-05T00:00Z


def concepts(text: str, tags: list[str] | None = None) -> list[tuple[str, str, float]]:
    return [(c.key, c.kind, c.weight) for c in extract(text, now_ms=NOW, tags=tags).concepts]


def test_dates_in_urls_are_times_not_keywords() -> None:
    found = extract("Shipped on 2024-03-05.\nSee https://x.io/2024-04-01 later", now_ms=NOW)
    assert [c.key for c in found.concepts] == [
        "ship",
        "see",
        "later",
        "t:2024-03-05",
        "t:2024-03",
        "t:2024-04-01",
        "t:2024-04",
    ]
    assert found.words == ["ship", "see", "later"]
    assert found.event_at == NOW


def test_numbers_and_hyphens_without_a_date() -> None:
    found = extract("PROJ-1234 was caused by a bad deploy; fixed with rollback", now_ms=NOW)
    assert found.words == ["proj", "1234", "caused", "bad", "deploy", "fix", "rollback"]
    assert found.relations == [("1234", "bad", "caused_by")]
    assert found.event_at is None
    assert extract("service 1234 needs review", now_ms=NOW).event_at is None


def test_relative_days_resolve_against_the_memory_time_and_tags_add_keywords() -> None:
    found = concepts("Done yesterday. Next: Tomorrow", ["on-call"])
    assert {("call", "keyword", 1.0), ("t:2024-03-04", "time", 1.0)} <= set(found)
    assert {("t:2024-03-06", "time", 1.0), ("t:2024-03", "time", 1.0)} <= set(found)


def test_tomorrow_on_the_last_day_there_is_no_time_reference() -> None:
    # It once raised OverflowError out of extract (found by test_extract_reference.py).
    last_day = 253_402_214_400_000  # 9999-12-31T00:00Z
    found = extract("see you tomorrow, not today", now_ms=last_day)
    assert [c.key for c in found.concepts if c.kind == "time"] == ["t:9999-12-31", "t:9999-12"]
    assert found.event_at == last_day


def test_cached_tokens_give_the_same_answers() -> None:
    first = extract("Dana's Kafka services", now_ms=NOW)
    again = extract("Dana's Kafka services", now_ms=NOW)
    assert first == again
    assert [keyword(t) for t in ["Dana's", "Dana\u2019s", "the", "42", "services"]] == [
        "dana",
        "dana",
        None,
        None,
        "service",
    ]


def test_a_now_without_a_day_still_fails() -> None:
    with pytest.raises(ValueError):
        extract("no time words here", now_ms=10**17)


# ASCII letters, digits and every kind of separator the token pattern can meet, "_" and "'" too.
ASCII_TEXT = st.text(st.sampled_from("aZ09_'- \t\n.!?;,\x1c\x7f"), max_size=40) | st.text(
    st.characters(max_codepoint=127)
)


@given(ASCII_TEXT)
def test_ascii_text_is_cut_into_the_same_tokens_by_the_fast_pattern(text: str) -> None:
    unicode_tokens = extract_module._TOKEN.findall(text)
    assert extract_module._ASCII_TOKEN.findall(text) == unicode_tokens
    assert extract_module._tokens(text) == unicode_tokens


def test_text_beyond_ascii_keeps_the_unicode_pattern() -> None:
    assert extract_module._tokens("Dana\u2019s caf\u00e9 na\u00efve_x") == [
        "Dana\u2019s",
        "caf\u00e9",
        "na\u00efve",
        "x",
    ]
