"""The fast extractor (core/extract.py) agrees with the plain reference (core/extract_reference.py)
on arbitrary text: unicode, punctuation, numbers, dates, names, cues and long inputs."""

from __future__ import annotations

from hypothesis import example, given, settings
from hypothesis import strategies as st

from neuralmemory.core.extract import _LAST_MS, extract
from neuralmemory.core.extract_reference import extract_reference

NOW = 1_709_596_800_000  # 2024-03-05T00:00Z

# Pieces that reach every rule: names, stopwords, cues, dates (valid, impossible, oddly cased),
# relative days, URLs, possessives, numbers, underscores and every kind of break.
FRAGMENTS = [
    "Alice",
    "Moreno",
    "Project",
    "Falcon",
    "Dana's",
    "Dana\u2019s",
    "O'Neil",
    "the",
    "The",
    "of",
    "is",
    "was",
    "caused",
    "by",
    "because",
    "due",
    "to",
    "lead",
    "leads",
    "led",
    "resolved",
    "fixed",
    "with",
    "results",
    "in",
    "conflicts",
    "contradicts",
    "services",
    "classes",
    "status",
    "bus",
    "analysis",
    "cities",
    "Kafka",
    "pool",
    "outage",
    "a",
    "I",
    "2024-03-05",
    "2024-02-30",
    "0000-01-01",
    "9999-12-31",
    "2024-3-5",
    "12024-03-05",
    "March 2024",
    "MARCH 2024",
    "march  2024",
    "Apr\u0131l 2024",
    "Augu\u017ft 2024",
    "June 0000",
    "May\n2024",
    "today",
    "Yesterday",
    "TOMORROW",
    "last",
    "Last",
    "next",
    "this",
    "ago",
    "Friday",
    "SUNDAY",
    "week",
    "weeks",
    "month",
    "days",
    "two",
    "an",
    "999",
    "1000",
    "tomorrow's",
    "https://x.io/2024-04-01",
    "http://a.b/c?d=e",
    "see:http",
    "42",
    "123",
    "1234",
    "12345",
    "PROJ-1234",
    "v2.0",
    "snake_case",
    "_",
    "'",
    "\u2019",
    "-",
    ".",
    "!",
    "?",
    ";",
    ",",
    ":",
    "...",
    " ",
    "  ",
    "\t",
    "\n",
    "\n\n",
    "\r\n",
    "\u2028",
    "\u00a0",
    "\u3000",
    "caf\u00e9",
    "na\u00efve",
    "\u00c9cole",
    "\u0130stanbul",
    "\u00df",
    "STRASSE",
    "\u0661\u0662\u0663\u0664",
    "\u65e5\u672c",
    "\U0001f600",
    "e\u0301",
    "\ufb01le",
]
PIECES = st.lists(st.sampled_from(FRAGMENTS) | st.text(max_size=8), max_size=60).map(
    lambda parts: " ".join(parts) if len(parts) % 2 else "".join(parts)
)
TEXT = st.text() | PIECES
TAGS = st.none() | st.lists(st.text(max_size=12) | st.sampled_from(FRAGMENTS), max_size=4)
NOWS = st.just(NOW) | st.integers(min_value=0, max_value=_LAST_MS)


def agree(text: str, now_ms: int = NOW, tags: list[str] | None = None) -> None:
    assert extract(text, now_ms=now_ms, tags=tags) == extract_reference(
        text, now_ms=now_ms, tags=tags
    )


@settings(max_examples=600, deadline=None)
@given(TEXT, NOWS, TAGS)
@example(
    "Alice Moreno met Bob\u2028Carol Dane today. The outage was caused by pool exhaustion.",
    NOW,
    ["on-call"],
)
@example("Released 2024-03-05; see https://x.io/2024-04-01 and March 2024.", NOW, None)
def test_the_fast_extractor_agrees_with_the_reference(
    text: str, now_ms: int, tags: list[str] | None
) -> None:
    agree(text, now_ms, tags)


@settings(max_examples=25, deadline=None)
@given(st.lists(PIECES, min_size=20, max_size=60).map("\n".join))
def test_they_agree_on_long_texts(text: str) -> None:
    agree(text)
