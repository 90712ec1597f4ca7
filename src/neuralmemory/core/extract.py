"""Derived concepts: what remember extracts from a memory's text. Pure and deterministic.

From a text it finds keywords (content words, lightly stemmed), entities (capitalized names,
multi-word names kept whole), time references (ISO dates, "March 2024", today/yesterday resolved
against the memory's time) and typed relations the text states (caused_by, leads_to, resolved_by,
contradicts) between the nearest content words around a cue. The same function reads queries, so
a query and a memory meet on the same keys. Nothing here is stored or synced by itself: the brain
turns it into neurons and synapses, rebuildable from the memory at any time.

Longer than ~400 lines on purpose: keywords, names, relations and the cues for time references
come from one pass over the same folded tokens (`_read`, whose flags decide whether `_times`
runs at all), and the word lists sit beside the rules that use them; split apart, that one pass
would become several.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache

from neuralmemory.store.memories import Concept

#: what this module derives, as a number: raise it with any change that gives a text other
#: concepts (stemming, date rules), so that brains derived before re-derive their graph once
#: when first opened (core/indexing.py `rederive`; docs/architecture.md)
VERSION = 2

MEMORY_TYPES = (
    "fact",
    "decision",
    "preference",
    "todo",
    "insight",
    "context",
    "instruction",
    "error",
    "workflow",
    "reference",
)

_STOPWORD_TEXT = """a about above after again against all also am an and any are as at be because
been before being below between both but by can could did do does doing done down during each else
ever few for from further get got had has have having he her here hers herself him himself his how
i if in into is it its itself just let like may me might more most much must my myself no nor not
now of off on once only or other our ours ourselves out over own same shall she should so some
such than that the their theirs them themselves then there these they this those through to too
under until up upon us very via was we were what when where which while who whom whose why will
with within without would yet you your yours yourself yourselves it's i'm don't doesn't didn't
isn't wasn't aren't can't won't i've we've we're they're use used using uses"""
STOPWORDS = frozenset(_STOPWORD_TEXT.split())

# Cue phrases -> relation kind, as (left concept) KIND (right concept). Longest cues first.
_CUES: tuple[tuple[tuple[str, ...], str], ...] = (
    (("is", "caused", "by"), "caused_by"),
    (("was", "caused", "by"), "caused_by"),
    (("caused", "by"), "caused_by"),
    (("because", "of"), "caused_by"),
    (("due", "to"), "caused_by"),
    (("because",), "caused_by"),
    (("resolved", "by"), "resolved_by"),
    (("fixed", "by"), "resolved_by"),
    (("solved", "by"), "resolved_by"),
    (("fixed", "with"), "resolved_by"),
    (("resolved", "with"), "resolved_by"),
    (("leads", "to"), "leads_to"),
    (("led", "to"), "leads_to"),
    (("lead", "to"), "leads_to"),
    (("resulted", "in"), "leads_to"),
    (("results", "in"), "leads_to"),
    (("caused",), "leads_to"),
    (("causes",), "leads_to"),
    (("conflicts", "with"), "contradicts"),
    (("contradicts",), "contradicts"),
    (("contradicted",), "contradicts"),
)

# Cues by their first word, in _CUES order: a token is tried only against the cues it can start
# (trying every cue at every token was the largest cost of materializing a memory).
_CUES_BY_FIRST: dict[str, list[tuple[tuple[str, ...], str]]] = {}
for _cue, _kind in _CUES:
    _CUES_BY_FIRST.setdefault(_cue[0], []).append((_cue, _kind))

RELATION_KINDS = ("caused_by", "leads_to", "resolved_by", "contradicts")

_TOKEN = re.compile(r"[^\W_]+(?:['\u2019][^\W_]+)?")
# The same tokens for ASCII text, where [^\W_] is exactly [A-Za-z0-9] and there is no \u2019:
# a plain character set, which the regex engine matches twice as fast as a Unicode category.
_ASCII_TOKEN = re.compile(r"[A-Za-z0-9]+(?:'[A-Za-z0-9]+)?")
# Split after .!?; followed by whitespace, or at newlines. Same splits as
# r"(?<=[.!?;])\s+|\n+", but a match starts with \s, so the regex engine skips to whitespace
# instead of trying the lookbehind at every character (2.5x faster).
_SENTENCE = re.compile(r"\s(?:(?<=[.!?;]\s)\s*|(?<=\n)\n*)")
_ISO_DATE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
_MONTH_TEXT = "january february march april may june july august september october november"
_MONTHS = [*_MONTH_TEXT.split(), "december"]
_MONTH_NUMBERS = {name: number for number, name in enumerate(_MONTHS, 1)}
_MONTH_YEAR = re.compile(r"\b(" + "|".join(_MONTHS) + r")\s+(\d{4})\b", re.IGNORECASE)
_RELATIVE_DAYS = {"today": 0, "yesterday": -1, "tomorrow": 1}
# Relative dates a conversation says ("last Friday", "two weeks ago", "next month", "this week"),
# resolved against the memory's own time like today/yesterday. A week ago is a day; a month ago
# names its month only; years are left alone (no time key is a year).
_WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
_COUNTS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6}
_COUNTS |= {"seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12}
_UNITS = {"day": "day", "days": "day", "week": "week", "weeks": "week", "month": "month"}
_UNITS["months"] = "month"
_RELATIVE_WORDS = frozenset({"last", "next", "this", "ago"})
_LAST_MS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z: any int now_ms up to it has a day
_URL = re.compile(r"https?://\S+")

# What a token may take part in, found once per distinct token (see _fold). A date ("2024-03-05",
# "March 2024") needs four digits in a row, and its digits are \w, so they lie inside one token:
# a text none of whose tokens has them holds no date. The same for a month name (matched with the
# same case rules as _MONTH_YEAR, so letters such as the long s U+017F count too).
_FOUR_DIGITS = re.compile(r"\d{4}")
_MONTH_NAME = re.compile("|".join(_MONTHS), re.IGNORECASE)
_HAS_DIGITS = 1
_HAS_MONTH = 2
_IS_RELATIVE_DAY = 4
_STARTS_CUE = 8
_MAY_BE_RELATIVE = 16  # last, next, this, ago: may start or end a relative date

ENTITY_WEIGHT = 1.5  # a name is a sharper concept than a common word
KEYWORD_WEIGHT = 1.0
TIME_WEIGHT = 1.0
# Distinct tokens _fold remembers, and names _entity does: up to ~550 and ~250 bytes each, so the
# two caches stay under about 10 MB however many memories are read.
_TOKEN_CACHE = 1 << 14
_NAME_CACHE = 1 << 12


@dataclass(frozen=True)
class Extraction:
    concepts: list[Concept]
    relations: list[tuple[str, str, str]]  # (from key, to key, kind)
    words: list[str] = field(default_factory=list)  # normalized tokens, for an HMAC'd FTS index
    event_at: int | None = None


def normalize(text: str) -> str:
    """The form two texts share when they say the same thing: NFC, casefolded, spaces collapsed."""
    return " ".join(unicodedata.normalize("NFC", text).casefold().split())


def content_digest(text: str) -> str:
    return hashlib.sha256(normalize(text).encode("utf-8")).hexdigest()


def stem(word: str) -> str:
    """Light, predictable stemming: plurals, -ed and -ing, so 'services' and 'service', 'moved',
    'moving' and 'move' meet. It never parts words that FTS5's porter stemmer keeps together:
    porter(stem(w)) == porter(w), so recall's BM25 (porter over the text) still matches."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 4 and word.endswith("sses"):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    if word.endswith("ing") and len(word) > 5:
        return _undo_suffix(word, word[:-3])
    if word.endswith("ed") and len(word) > 4 and not word.endswith("eed"):
        return _undo_suffix(word, word[:-2])
    return word


def _undo_suffix(word: str, base: str) -> str:
    """Porter's step 1b: the base of -ed or -ing when it holds a vowel (string, bed stay), with
    a doubled consonant undone (stopped: stop) and a lost e put back (moved: move)."""
    shape = _shape(base)
    if not base.isalpha() or "v" not in shape or base.endswith(("s", "ed", "ing")):
        return word  # porter would strip the base again (focused: focus, then focu)
    if base.endswith(("at", "bl", "iz")):
        return base + "e"
    if shape.endswith("cc") and base[-1] == base[-2] and base[-1] not in "lsz":
        return base[:-1]
    if shape.count("vc") == 1 and shape.endswith("cvc") and base[-1] not in "wxy":
        return base + "e"
    return base


def _shape(word: str) -> str:
    """Consonants and vowels as 'c' and 'v' (y is a vowel after a consonant), as porter reads
    a word."""
    shape = ""
    for char in word:
        vowel = char in "aeiou" or (char == "y" and shape[-1:] == "c")
        shape += "v" if vowel else "c"
    return shape


def _possessive(word: str) -> str:
    """ "Dana's" -> "dana": the possessive is not part of the name."""
    return word[:-2] if word.endswith(("'s", "\u2019s")) else word


# Plain tuples, not NamedTuples: extract unpacks one per token, and CPython unpacks only exact
# tuples on its fast path (NamedTuples measured extract 20% slower).
# A token's keyword: its neuron key, its concept at the start of a sentence and later in one (a
# capitalized word inside a sentence is taken for an entity).
_Keyword = tuple[str, Concept, Concept]
# A token as extract reads it: casefolded, its part of a multi-word name (None unless capitalized
# and no stopword), its flags (_HAS_DIGITS | _HAS_MONTH | ...: what it may take part in), and its
# keyword (None for a word too common to carry meaning).
_Token = tuple[str, str | None, int, _Keyword | None]


@lru_cache(maxsize=_TOKEN_CACHE)
def _fold(token: str) -> _Token:
    """Everything extract needs from one token, computed once per distinct token: the same words
    recur across memories, and casefolding, stemming and building Concepts per occurrence was
    most of extract's time. Concepts are frozen, so memories can share them."""
    lowered = token.casefold()
    capitalized = token[:1].isupper()
    name = _possessive(lowered) if capitalized and lowered not in STOPWORDS else None
    flags = 0
    if _FOUR_DIGITS.search(token):
        flags |= _HAS_DIGITS
    if _MONTH_NAME.search(token):
        flags |= _HAS_MONTH
    if lowered in _RELATIVE_DAYS:
        flags |= _IS_RELATIVE_DAY
    if lowered in _CUES_BY_FIRST:
        flags |= _STARTS_CUE
    if lowered in _RELATIVE_WORDS:
        flags |= _MAY_BE_RELATIVE
    key = _possessive(lowered)
    if key in STOPWORDS or len(key) < 2 or (key.isdigit() and len(key) < 3):
        return lowered, name, flags, None
    key = stem(key)
    plain = Concept(key, "keyword", KEYWORD_WEIGHT)
    later = Concept(key, "entity", KEYWORD_WEIGHT) if capitalized else plain
    return lowered, name, flags, (key, plain, later)


def _tokens(text: str) -> list[str]:
    return (_ASCII_TOKEN if text.isascii() else _TOKEN).findall(text)


def keyword(token: str) -> str | None:
    """The neuron key of a token, or None for a word too common to carry meaning."""
    _, _, _, hit = _fold(token)
    return None if hit is None else hit[0]


@lru_cache(maxsize=_NAME_CACHE)
def _entity(name: str) -> Concept:
    return Concept(name, "entity", ENTITY_WEIGHT)


def extract(text: str, *, now_ms: int, tags: list[str] | None = None) -> Extraction:
    """What a text says (core/extract_reference.py is the same, written plainly)."""
    concepts, relations, words, flags = _read(text)
    # URLs and dates become no keywords: a date is a time reference, its digits are noise. Most
    # texts have neither: no "http", and no token with four digits (or there is, but no "-" for
    # an ISO date and no month name). Then the text just read is the body, and the substitutions,
    # a second read and the date search are skipped.
    dated = bool(flags & _HAS_DIGITS) and ("-" in text or bool(flags & _HAS_MONTH))
    if dated or "http" in text:
        body = _MONTH_YEAR.sub(" ", _ISO_DATE.sub(" ", _URL.sub(" ", text)))
        if body != text:
            concepts, relations, words, _ = _read(body)
    for tag in tags or ():
        for token in _tokens(tag):
            _, _, _, hit = _fold(token)
            if hit is not None and hit[0] not in concepts:
                concepts[hit[0]] = hit[1]
    event_at = None
    days, phrases = bool(flags & _IS_RELATIVE_DAY), bool(flags & _MAY_BE_RELATIVE)
    if dated or days or phrases:  # else the text refers to no time
        times, event_at = _times(text, now_ms, dated=dated, days=days, phrases=phrases)
        for key in times:
            if key not in concepts:
                concepts[key] = Concept(key, "time", TIME_WEIGHT)
    if not (type(now_ms) is int and 0 <= now_ms <= _LAST_MS):
        # Only a today/yesterday/tomorrow needs the day of now_ms, but a now_ms that has no day
        # (None, after year 9999) still fails here, as it did when every call computed it.
        datetime.fromtimestamp(now_ms / 1000, tz=UTC)
    return Extraction(list(concepts.values()), relations, words, event_at)


# What _read finds: concepts by key, relations, FTS words, and its tokens' flags or-ed together.
_Reading = tuple[dict[str, Concept], list[tuple[str, str, str]], list[str], int]


def _read(body: str) -> _Reading:
    """A body's keywords, names and relations, sentence by sentence.

    A keyword (weight 1.0) is added only when its key is new: every concept weighs at least 1.0,
    so it never outweighs one already there. A name (weight 1.5) also replaces a lighter concept.
    """
    concepts: dict[str, Concept] = {}
    relations: list[tuple[str, str, str]] = []
    words: list[str] = []
    flags = 0
    for piece in _SENTENCE.split(body):
        sentence = [_fold(token) for token in _tokens(piece)]
        seen = 0
        names: list[str] = []
        run: list[str] = []  # names of two or more capitalized tokens ('Alice Moreno') are one
        for position, (_, name, token_flags, hit) in enumerate(sentence):
            seen |= token_flags
            if name is not None:
                run.append(name)
            elif run:
                if len(run) >= 2:
                    names.append(" ".join(run))
                run = []
            if hit is not None:
                key, plain, later = hit
                words.append(key)
                if key not in concepts:
                    concepts[key] = later if position else plain
        if len(run) >= 2:
            names.append(" ".join(run))
        for name in names:
            known = concepts.get(name)
            if known is None or known.weight < ENTITY_WEIGHT:
                concepts[name] = _entity(name)
        if seen & _STARTS_CUE:
            relations.extend(_relations(sentence))
        flags |= seen
    return concepts, relations, words, flags


def query_keys(text: str, *, now_ms: int) -> list[str]:
    """The neuron keys a query seeds from, in first-seen order."""
    return [concept.key for concept in extract(text, now_ms=now_ms).concepts]


def _relations(sentence: list[_Token]) -> list[tuple[str, str, str]]:
    lowered = [word for word, _, _, _ in sentence]
    keys = [None if hit is None else hit[0] for _, _, _, hit in sentence]
    found = []
    position = 0
    while position < len(lowered):
        for cue, kind in _CUES_BY_FIRST.get(lowered[position], ()):
            end = position + len(cue)
            if tuple(lowered[position:end]) == cue:
                left = next((k for k in reversed(keys[:position]) if k), None)
                right = next((k for k in keys[end:] if k), None)
                if left and right and left != right:
                    found.append((left, right, kind))
                position = end - 1
                break
        position += 1
    return found


def _times(
    text: str, now_ms: int, *, dated: bool, days: bool, phrases: bool
) -> tuple[list[str], int | None]:
    """Time-reference keys ('t:2024-03-05', 't:2024-03') and the first date as event time.

    `dated`: the text may hold an ISO date or "March 2024"; `days`: a today, yesterday or
    tomorrow; `phrases`: a relative date ("last Friday"). Without them there is nothing to find
    (and no need for the day of now_ms)."""
    found = _written_dates(text) if dated else []
    if days or phrases:
        today = datetime.fromtimestamp(now_ms / 1000, tz=UTC).date()
        words = [_fold(token)[0] for token in _tokens(text)]
        found += _day_words(words, today) if days else []
        found += relative_dates(words, today) if phrases else []
    keys: list[str] = []
    for day, whole_day in found:
        if whole_day:
            keys.append(f"t:{day.isoformat()}")
        keys.append(f"t:{day.year:04d}-{day.month:02d}")
    event_at = None
    if found:
        first = found[0][0]
        event_at = int(datetime(first.year, first.month, first.day, tzinfo=UTC).timestamp() * 1000)
    return list(dict.fromkeys(keys)), event_at


def _written_dates(text: str) -> list[tuple[date, bool]]:
    """ISO dates (whole days), then "March 2024" (its month only; dated by its first day)."""
    found: list[tuple[date, bool]] = []
    for match in _ISO_DATE.finditer(text):
        try:
            found.append((date(int(match[1]), int(match[2]), int(match[3])), True))
        except ValueError:
            continue
    for match in _MONTH_YEAR.finditer(text):
        # IGNORECASE also matches spellings that casefold to no month ("Apr\u0131l", dotless i);
        # like an impossible ISO date, those and a year 0000 are no time reference.
        month, year = _MONTH_NUMBERS.get(match[1].casefold()), int(match[2])
        if month is not None and year >= 1:
            found.append((date(year, month, 1), False))
    return found


def _day_words(words: list[str], today: date) -> list[tuple[date, bool]]:
    """today, yesterday, tomorrow: whole days."""
    found: list[tuple[date, bool]] = []
    for word in words:
        offset = _RELATIVE_DAYS.get(word)
        if offset is not None:
            try:
                found.append((today + timedelta(days=offset), True))
            except OverflowError:  # tomorrow of 9999-12-31: no day, like an impossible date
                continue
    return found


def relative_dates(words: list[str], today: date) -> list[tuple[date, bool]]:
    """The relative dates a text's casefolded tokens name ("last friday", "two weeks ago",
    "next month", "this week"), resolved against `today`, each with whether it names a day (else
    only its month), in order. One past the calendar's ends is none."""
    found: list[tuple[date, bool]] = []
    for position, word in enumerate(words):
        try:
            if word in ("last", "next", "this") and position + 1 < len(words):
                found += _named(word, words[position + 1], today)
            elif word == "ago" and position >= 2 and words[position - 1] in _UNITS:
                count = words[position - 2]
                n = int(count) if count.isascii() and count.isdigit() else _COUNTS.get(count)
                if n is not None and n < 1000:
                    found.append(_shift(today, -n, _UNITS[words[position - 1]]))
        except (OverflowError, ValueError):  # past the calendar's ends: no day
            continue
    return found


def _named(which: str, name: str, today: date) -> list[tuple[date, bool]]:
    """ "last friday", "next week", "this month"...: [] for a word that names no time."""
    if name in ("week", "month"):
        return [(_shift(today, {"last": -1, "next": 1, "this": 0}[which], name)[0], False)]
    if name not in _WEEKDAYS:
        return []
    ahead = (_WEEKDAYS.index(name) - today.weekday()) % 7  # days to it, 0 on the day itself
    if which == "last":
        return [(today - timedelta(days=(7 - ahead) if ahead else 7), True)]
    if which == "next":
        return [(today + timedelta(days=ahead or 7), True)]
    return [(today + timedelta(days=ahead), True)]  # this friday: today or the next one


def _shift(today: date, n: int, unit: str) -> tuple[date, bool]:
    if unit == "day":
        return today + timedelta(days=n), True
    if unit == "week":
        return today + timedelta(weeks=n), True
    months = today.year * 12 + today.month - 1 + n
    return date(months // 12, months % 12 + 1, 1), False


_TYPE_RULES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("todo", re.compile(r"^\s*(todo\b|to do\b|need to\b|remember to\b)|\btodo:", re.I)),
    ("error", re.compile(r"(error|exception)\b|\b(traceback|failed|failure|crash|bug)", re.I)),
    ("decision", re.compile(r"\b(decided|decision|chose|going with|agreed to)\b", re.I)),
    ("preference", re.compile(r"\b(prefers?|preferred|favou?rite|rather than|likes?)\b", re.I)),
    ("instruction", re.compile(r"^\s*(always|never|do not|don't|make sure|must)\b", re.I)),
    ("workflow", re.compile(r"\b(step \d|workflow|first\b.*\bthen\b|pipeline|process is)\b", re.I)),
    ("insight", re.compile(r"\b(learned|realized|realised|insight|turns out|noticed)\b", re.I)),
    ("reference", re.compile(r"https?://|\b(docs?|documentation|see also|reference)\b", re.I)),
    ("context", re.compile(r"\b(working on|currently|context|this week|right now)\b", re.I)),
)


def detect_type(text: str) -> str:
    """The memory type a text most likely is, when the caller did not say."""
    for name, pattern in _TYPE_RULES:
        if pattern.search(text):
            return name
    return "fact"
