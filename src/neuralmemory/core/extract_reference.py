"""The reference for core/extract.py: the same extraction, written to be read, not to be fast.

`extract` takes shortcuts (a per-token cache, flags that skip the date search and the second read,
a faster ASCII token pattern and sentence splitter); this module takes none. Every step runs on
every text, one rule at a time, in the order the rules are documented. tests/core/
test_extract_reference.py checks that both agree on arbitrary text, so the fast one can change
safely: when they disagree, this one says what was meant.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

from neuralmemory.core.extract import (
    _CUES,
    _ISO_DATE,
    _MONTH_NUMBERS,
    _MONTH_YEAR,
    _RELATIVE_DAYS,
    _TOKEN,
    _URL,
    ENTITY_WEIGHT,
    KEYWORD_WEIGHT,
    STOPWORDS,
    TIME_WEIGHT,
    Extraction,
    relative_dates,
    stem,
)
from neuralmemory.store.memories import Concept

# A sentence ends after . ! ? or ; followed by whitespace, or at a line break.
SENTENCE_BREAK = re.compile(r"(?<=[.!?;])\s+|\n+")


def extract_reference(text: str, *, now_ms: int, tags: list[str] | None = None) -> Extraction:
    today = datetime.fromtimestamp(now_ms / 1000, tz=UTC).date()  # fails for a now with no day
    # 1. URLs and dates are no keywords: remove them before reading words.
    body = _MONTH_YEAR.sub(" ", _ISO_DATE.sub(" ", _URL.sub(" ", text)))
    # 2. Keywords, names and relations, sentence by sentence.
    concepts: dict[str, Concept] = {}
    relations: list[tuple[str, str, str]] = []
    words: list[str] = []
    for sentence in SENTENCE_BREAK.split(body):
        tokens = _TOKEN.findall(sentence)
        for position, token in enumerate(tokens):
            key = keyword_of(token)
            if key is None:
                continue
            words.append(key)
            # The first word of a sentence is capitalized anyway; later, a capital marks a name.
            kind = "entity" if position > 0 and is_capitalized(token) else "keyword"
            concepts.setdefault(key, Concept(key, kind, KEYWORD_WEIGHT))
        for name in names_in(tokens):
            known = concepts.get(name)
            if known is None or known.weight < ENTITY_WEIGHT:
                concepts[name] = Concept(name, "entity", ENTITY_WEIGHT)
        relations += relations_in(tokens)
    # 3. Tags are keywords too (never names, never FTS words).
    for tag in tags or []:
        for token in _TOKEN.findall(tag):
            key = keyword_of(token)
            if key is not None:
                concepts.setdefault(key, Concept(key, "keyword", KEYWORD_WEIGHT))
    # 4. Time references, from the whole text.
    dates = dates_in(text, today)
    for key in time_keys(dates):
        concepts.setdefault(key, Concept(key, "time", TIME_WEIGHT))
    return Extraction(list(concepts.values()), relations, words, event_at(dates))


def is_capitalized(token: str) -> bool:
    return token[:1].isupper()


def without_possessive(word: str) -> str:
    return word[:-2] if word.endswith(("'s", "\u2019s")) else word


def keyword_of(token: str) -> str | None:
    """A token's neuron key: casefolded, without a possessive, stemmed; None for a stopword,
    a single character or a number shorter than three digits."""
    word = without_possessive(token.casefold())
    if word in STOPWORDS or len(word) < 2 or (word.isdigit() and len(word) < 3):
        return None
    return stem(word)


def names_in(tokens: list[str]) -> list[str]:
    """Runs of two or more capitalized tokens that are no stopwords ("Alice Moreno"), casefolded,
    each without its possessive."""
    names: list[str] = []
    run: list[str] = []
    for token in [*tokens, ""]:  # "" ends the last run
        word = token.casefold()
        if is_capitalized(token) and word not in STOPWORDS:
            run.append(without_possessive(word))
            continue
        if len(run) >= 2:
            names.append(" ".join(run))
        run = []
    return names


def relations_in(tokens: list[str]) -> list[tuple[str, str, str]]:
    """(nearest keyword before a cue, nearest keyword after it, the cue's kind), for every cue
    phrase in the sentence, read left to right; the longest cue wins, and a cue's words start
    no other cue."""
    words = [token.casefold() for token in tokens]
    keys = [keyword_of(token) for token in tokens]
    found = []
    position = 0
    while position < len(words):
        cue = _cue_at(words, position)
        if cue is None:
            position += 1
            continue
        end = position + len(cue[0])
        left = next((k for k in reversed(keys[:position]) if k), None)
        right = next((k for k in keys[end:] if k), None)
        if left and right and left != right:
            found.append((left, right, cue[1]))
        position = end
    return found


def _cue_at(words: list[str], position: int) -> tuple[tuple[str, ...], str] | None:
    """The first cue of _CUES (longest first) whose words start at `position`."""
    for cue, kind in _CUES:
        if tuple(words[position : position + len(cue)]) == cue:
            return cue, kind
    return None


def dates_in(text: str, today: date) -> list[tuple[date, bool]]:
    """Every date the text names, with whether it names a day ("March 2024" names its month
    only): ISO dates first, then "March 2024", then today, yesterday and tomorrow. Impossible
    dates (and tomorrow of 9999-12-31), month names that casefold to no month, and year 0 are
    none. Then the relative dates ("last friday", "two weeks ago": extract.relative_dates) on
    every text, where extract looks for them only after a last, next, this or ago."""
    found: list[tuple[date, bool]] = []
    for match in _ISO_DATE.finditer(text):
        try:
            found.append((date(int(match[1]), int(match[2]), int(match[3])), True))
        except ValueError:
            continue
    for match in _MONTH_YEAR.finditer(text):
        month, year = _MONTH_NUMBERS.get(match[1].casefold()), int(match[2])
        if month is not None and year >= 1:
            found.append((date(year, month, 1), False))
    words = [token.casefold() for token in _TOKEN.findall(text)]
    for word in words:
        offset = _RELATIVE_DAYS.get(word)
        day = None if offset is None else today.toordinal() + offset
        if day is not None and date.min.toordinal() <= day <= date.max.toordinal():
            found.append((date.fromordinal(day), True))
    return found + relative_dates(words, today)


def time_keys(dates: list[tuple[date, bool]]) -> list[str]:
    """'t:2024-03-05' for a day, and 't:2024-03' for its month, in the order they were named."""
    keys: list[str] = []
    for day, whole_day in dates:
        if whole_day:
            keys.append(f"t:{day.isoformat()}")
        keys.append(f"t:{day.year:04d}-{day.month:02d}")
    return keys


def event_at(dates: list[tuple[date, bool]]) -> int | None:
    """The first date named, as ms since the epoch (UTC midnight)."""
    if not dates:
        return None
    first = dates[0][0]
    return int(datetime(first.year, first.month, first.day, tzinfo=UTC).timestamp() * 1000)
