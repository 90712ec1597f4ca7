"""Extraction is deterministic and finds names, times and stated relations."""

from __future__ import annotations

from neuralmemory.core.extract import MEMORY_TYPES, detect_type, extract

NOW = 1_709_596_800_000  # 2024-03-05T00:00Z


def keys(text: str) -> set[str]:
    return {c.key for c in extract(text, now_ms=NOW).concepts}


def test_keywords_entities_and_plurals() -> None:
    found = keys("Alice Moreno reviewed the services of Project Falcon")
    assert {"alice moreno", "project falcon", "service", "reviewed"} <= found
    assert "the" not in found and "of" not in found


def test_time_references() -> None:
    found = extract("Release on 2024-04-01, planned yesterday, retro in May 2024", now_ms=NOW)
    found_keys = {c.key for c in found.concepts}
    assert {"t:2024-04-01", "t:2024-04", "t:2024-03-04", "t:2024-05"} <= found_keys
    assert found.event_at == 1_711_929_600_000  # the first date mentioned
    assert "2024" not in found_keys  # a date's digits are not keywords


def test_month_names_that_are_no_month_and_year_zero_are_no_time_reference() -> None:
    # Both once raised out of extract, so remember and recall failed on such a text.
    for text in ("Meet Dana in Apr\u0131l 2024 about billing", "Archive from June 0000 restored"):
        found = extract(text, now_ms=NOW)
        assert not [c for c in found.concepts if c.kind == "time"]
        assert found.event_at is None
    assert "t:2024-04" in keys("Meet Dana in APRIL 2024 and Apr\u0131l 2024")


def test_typed_relations() -> None:
    relations = extract(
        "The outage was caused by pool exhaustion. A bigger pool resolved by config. "
        "Retries lead to duplicate charges. The new timeout contradicts the runbook.",
        now_ms=NOW,
    ).relations
    assert ("outage", "pool", "caused_by") in relations
    assert ("retry", "duplicate", "leads_to") in relations
    assert ("timeout", "runbook", "contradicts") in relations


def test_type_detection() -> None:
    assert detect_type("TODO: rotate the keys") == "todo"
    assert detect_type("We decided to go with Postgres") == "decision"
    assert detect_type("Always run the linter before pushing") == "instruction"
    assert detect_type("TypeError: NoneType is not iterable") == "error"
    assert detect_type("Alice prefers dark mode") == "preference"
    assert detect_type("The sky is blue") == "fact"
    assert set(MEMORY_TYPES) >= {"fact", "decision", "todo", "error", "reference"}


def test_extraction_is_deterministic() -> None:
    text = "Bob fixed the Kafka lag caused by a slow consumer on 2024-02-02."
    assert extract(text, now_ms=NOW) == extract(text, now_ms=NOW)
