"""Derived concepts: what remember extracts from a memory's text. Pure and deterministic.

From a text it finds keywords (content words, lightly stemmed), entities (capitalized names,
multi-word names kept whole), time references (ISO dates, "March 2024", today/yesterday resolved
against the memory's time) and typed relations the text states (caused_by, leads_to, resolved_by,
contradicts) between the nearest content words around a cue. The same function reads queries, so
a query and a memory meet on the same keys. Nothing here is stored or synced by itself: the brain
turns it into neurons and synapses, rebuildable from the memory at any time.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from neuralmemory.store.memories import Concept

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
_SENTENCE = re.compile(r"(?<=[.!?;])\s+|\n+")
_ISO_DATE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
_MONTH_TEXT = "january february march april may june july august september october november"
_MONTHS = [*_MONTH_TEXT.split(), "december"]
_MONTH_YEAR = re.compile(r"\b(" + "|".join(_MONTHS) + r")\s+(\d{4})\b", re.IGNORECASE)
_RELATIVE_DAYS = {"today": 0, "yesterday": -1, "tomorrow": 1}
_URL = re.compile(r"https?://\S+")

ENTITY_WEIGHT = 1.5  # a name is a sharper concept than a common word
KEYWORD_WEIGHT = 1.0
TIME_WEIGHT = 1.0


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
    """Light, predictable stemming: plurals only, so 'services' and 'service' meet."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 4 and word.endswith("sses"):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def _possessive(word: str) -> str:
    """ "Dana's" -> "dana": the possessive is not part of the name."""
    return word[:-2] if word.endswith(("'s", "\u2019s")) else word


def keyword(token: str) -> str | None:
    """The neuron key of a token, or None for a word too common to carry meaning."""
    lowered = _possessive(token.casefold())
    if lowered in STOPWORDS or len(lowered) < 2 or (lowered.isdigit() and len(lowered) < 3):
        return None
    return stem(lowered)


def extract(text: str, *, now_ms: int, tags: list[str] | None = None) -> Extraction:
    concepts: dict[str, Concept] = {}
    relations: list[tuple[str, str, str]] = []
    words: list[str] = []

    def add(key: str, kind: str, weight: float) -> None:
        if key not in concepts or concepts[key].weight < weight:
            concepts[key] = Concept(key, kind, weight)

    # URLs and ISO dates become no keywords: a date is a time reference, its digits are noise.
    body = _MONTH_YEAR.sub(" ", _ISO_DATE.sub(" ", _URL.sub(" ", text)))
    for sentence in _SENTENCE.split(body):
        tokens = _TOKEN.findall(sentence)
        keys = [keyword(token) for token in tokens]
        for position, (token, key) in enumerate(zip(tokens, keys, strict=True)):
            if key is None:
                continue
            words.append(key)
            capitalized = token[:1].isupper() and position > 0
            add(key, "entity" if capitalized else "keyword", KEYWORD_WEIGHT)
        for name in _names(tokens):
            add(name, "entity", ENTITY_WEIGHT)
        relations.extend(_relations(tokens, keys))
    for tag in tags or ():
        for token in _TOKEN.findall(tag):
            key = keyword(token)
            if key:
                add(key, "keyword", KEYWORD_WEIGHT)
    times, event_at = _times(text, now_ms)
    for key in times:
        add(key, "time", TIME_WEIGHT)
    return Extraction(list(concepts.values()), relations, words, event_at)


def query_keys(text: str, *, now_ms: int) -> list[str]:
    """The neuron keys a query seeds from, in first-seen order."""
    return [concept.key for concept in extract(text, now_ms=now_ms).concepts]


def _names(tokens: list[str]) -> list[str]:
    """Runs of two or more capitalized tokens ('Alice Moreno', 'Project Falcon') as one name."""
    names, run = [], []
    for token in [*tokens, ""]:
        if token[:1].isupper() and token.casefold() not in STOPWORDS:
            run.append(_possessive(token.casefold()))
            continue
        if len(run) >= 2:
            names.append(" ".join(run))
        run = []
    return names


def _relations(tokens: list[str], keys: list[str | None]) -> list[tuple[str, str, str]]:
    lowered = [token.casefold() for token in tokens]
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


def _times(text: str, now_ms: int) -> tuple[list[str], int | None]:
    """Time-reference keys ('t:2024-03-05', 't:2024-03') and the first date as event time."""
    keys: list[str] = []
    first: date | None = None
    for match in _ISO_DATE.finditer(text):
        try:
            day = date(int(match[1]), int(match[2]), int(match[3]))
        except ValueError:
            continue
        keys += [f"t:{day.isoformat()}", f"t:{day.year:04d}-{day.month:02d}"]
        first = first or day
    for match in _MONTH_YEAR.finditer(text):
        month = _MONTHS.index(match[1].casefold()) + 1
        keys.append(f"t:{int(match[2]):04d}-{month:02d}")
        first = first or date(int(match[2]), month, 1)
    today = datetime.fromtimestamp(now_ms / 1000, tz=UTC).date()
    for token in _TOKEN.findall(text):
        offset = _RELATIVE_DAYS.get(token.casefold())
        if offset is not None:
            day = today + timedelta(days=offset)
            keys += [f"t:{day.isoformat()}", f"t:{day.year:04d}-{day.month:02d}"]
            first = first or day
    event_at = None
    if first is not None:
        event_at = int(datetime(first.year, first.month, first.day, tzinfo=UTC).timestamp() * 1000)
    return list(dict.fromkeys(keys)), event_at


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
