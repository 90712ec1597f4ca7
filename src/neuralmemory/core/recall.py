"""Recall: spreading activation over the concept graph, fused with FTS5 BM25.

    query keys --exact--> seed neurons (a0 = IDF, normalized)         hop 0
    seeds ------------->  memories holding them (a1 = IDF-weighted coverage) + BM25 pool
    top memories ------>  bridge neurons they hold, typed relations of the seeds, learned links
                          (a2 = decay * a1 * specificity, threshold, at most MAX_BRIDGES)
    bridges ----------->  memories holding a bridge (a3 = sum of a2 * synapse weight)    hop 2

score = BM25 (normalized to the best match) + TEXT_ACTIVATION * a1 + a3, nudged by strength.

`rank` runs these as named stages over the records of core/candidates.py: seed (the query's
concepts), match (hop 1: BM25 and seed coverage), spread and learned (hop 2, core/spread.py:
bridges, relations, learned links), fuse (scores, scaled by strength).

Every step is bounded (seeds, pool size, fan-out per neuron, sources, bridges), so the cost of a
recall does not grow with the brain: posting lists are read newest-first and cut at FAN_OUT, and
a very common neuron spreads almost nothing because its specificity (IDF) is near zero.

BM25 is bounded the same way, and every query word still counts. FTS5 counts every posting of
each word of a MATCH (for IDF) and scores every match before it sorts, so a word held by a tenth
of a large brain would make recall linear. BM25 ranks by the rarest query words whose postings
fit POSTINGS (names, projects, ids: the words that weigh most); a word too common for that is
counted by presence, at its BM25 IDF (no tf or length: they need its postings), never dropped:
  * the BM25 pool is the best POOL of every match of the rare words, each with the IDF of the
    common words it holds (one synapse seek per match and common word, within POSTINGS);
  * memories holding common words and no rare one come from intersections made before any cut:
    the newest holding every common word (FTS5 leapfrogs the posting lists, unscored), then all
    but the most common one, and so on (_holding_common).
Bridges converge with the query in FTS5 only when BM25 saw every word, else through the graph.
A small brain fits the bound, and gets the exact BM25 ranking.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass

from neuralmemory.core.candidates import (
    FAN_OUT,
    SEALED,
    TEXT_ACTIVATION,
    Candidates,
    Scored,
    Seeds,
)
from neuralmemory.core.extract import extract
from neuralmemory.core.spread import Links, Words, learned, spread
from neuralmemory.store import memories as sql
from neuralmemory.store.db import Database

__all__ = ["FAN_OUT", "SEALED", "TEXT_ACTIVATION", "Query", "Scored", "build_query", "rank"]

MAX_SEEDS = 8
POOL = 100  # BM25 candidates
POSTINGS = 1_500  # postings BM25 may count and score (the rarest words'): a bound, not a cut
RESCORE = 40  # top candidates whose BM25 is looked up when spreading found them
WHEN_BOOST = 1.25  # "when" questions: score factor of the top candidates that name a time

_WHEN = re.compile(r"\bwhen\b", re.IGNORECASE)

Strength = Callable[[list[int]], dict[int, float]]  # rids -> activation in [0, 1]


def affordable(words: list[str], df: dict[str, int]) -> list[str]:
    """The rarest words, in query order, while their postings (neuron df) fit POSTINGS."""
    kept: set[str] = set()
    budget = POSTINGS
    for word in sorted(words, key=lambda w: (df.get(w, 0), w)):
        budget -= df.get(word, 0)
        if budget < 0:
            break
        kept.add(word)
    return [word for word in words if word in kept]


@dataclass(frozen=True)
class Query:
    keys: list[str]  # neuron keys, plaintext and sealed
    words: list[str]  # FTS tokens
    labels: dict[str, str]  # neuron key -> what to show in a path
    when: bool = False  # a "when" question: memories that name a time answer it


def build_query(text: str, *, now_ms: int, seal: Callable[[str], str] | None) -> Query:
    """Query keys and FTS words; with a brain key, also their sealed forms (encrypted memories)."""
    found = extract(text, now_ms=now_ms)
    keys = [concept.key for concept in found.concepts]
    words = list(dict.fromkeys(found.words))
    labels = {key: key for key in keys}
    if seal is not None:
        sealed = {seal(key): key for key in keys}
        labels.update(sealed)
        keys += list(sealed)
        words += [seal(word) for word in words]
    return Query(keys, words, labels, bool(_WHEN.search(text)))


def fts_expression(words: list[str], operator: str = "OR") -> str:
    # Each word quoted: FTS5 then reads it as a plain token, never as syntax (AND, NEAR, col:).
    return f" {operator} ".join('"' + word.replace('"', '""') + '"' for word in words)


@dataclass(frozen=True)
class TextMatch:
    """Hop 1's text search: what fuse needs to score the memories spreading found."""

    words: Words
    best: float  # the best text relevance, which normalizes the others
    common: dict[int, float]  # neuron id -> BM25 IDF of each query word too common to read


def rank(db: Database, query: Query, *, links: Links, strength: Strength) -> list[Scored]:
    """Every candidate memory with its score, best first (ties broken by rid for determinism).

    `links(rids)` gives learned links (from rid, to rid, count) and `strength(rids)` each
    memory's activation in [0, 1]; both come from records the brain materialized.
    """
    found = Candidates(db, Seeds.of(db, query.keys, query.labels, MAX_SEEDS))
    text = match(db, query, found)
    sources = spread(db, found, text.words)
    learned(found, sources, links)
    return fuse(db, found, text, strength, when=query.when)


def match(db: Database, query: Query, found: Candidates) -> TextMatch:
    """Hop 1: the text pool (BM25 of the rare words, plus the common words each memory holds),
    plus the newest memories holding each seed concept BM25 does not see; then every one's seed
    coverage."""
    seeds = found.seeds
    ranked_words = affordable(query.words, seeds.df)
    exact = len(ranked_words) == len(query.words)
    expression = fts_expression(ranked_words)
    common = {
        word: (seeds.ids[word], bm25_idf(seeds.df[word], seeds.total))
        for word in query.words
        if word not in ranked_words and word in seeds.ids
    }
    pool: dict[int, float] = {}
    if expression:
        pool.update(sql.fts_search(db, expression, POOL, list(common.values())))
    if common:
        # Below every rare word's match, a few suffice; with no rare word, they are the pool.
        limit = FAN_OUT if expression else POOL
        for rid, score in _holding_common(db, common, limit).items():
            pool[rid] = max(score, pool.get(rid, 0.0))
    best = max(pool.values(), default=0.0) or 1.0
    found.add(pool)
    for rid, score in pool.items():
        found[rid].text = score / best
    for neuron in seeds.neurons:
        # FTS cannot see time references; a word too common for BM25 is left to the graph too.
        if neuron.kind == "time" or not (exact or neuron.key in ranked_words):
            found.add(rid for rid, _ in sql.fan_out(db, neuron.id, FAN_OUT))
    found.cover(list(found.by_rid))
    weights = dict(common.values())
    return TextMatch(Words(bool(query.words), expression, exact), best, weights)


def _holding_common(
    db: Database, common: dict[str, tuple[int, float]], limit: int
) -> dict[int, float]:
    """At most `limit` memories holding the most of the common query words, whether or not they
    hold a rare one, each with the IDF it holds. Intersect before cutting: the newest holding
    them all (FTS5 leapfrogs their posting lists), then, while fewer were found, all but the
    most common one, and so on down to the rarest two; then the rarest one's newest holders."""
    rarest = sorted(common, key=lambda word: (-common[word][1], word))
    weights = list(common.values())
    found: dict[int, float] = {}
    for size in range(len(rarest), 1, -1):
        expression = fts_expression(rarest[:size], "AND")
        for rid, held in sql.fts_newest(db, expression, limit, weights):
            if len(found) == limit:
                return found
            found.setdefault(rid, held)
    nid, weight = common[rarest[0]]
    for rid, _ in sql.fan_out(db, nid, limit - len(found)):
        found.setdefault(rid, weight)
    return found


def bm25_idf(df: int, total: int) -> float:
    """FTS5's IDF of a word held by `df` of `total` memories (a tiny positive floor for a word
    in more than half of them), so a word counted by presence weighs what BM25 gives it."""
    value = math.log((total - df + 0.5) / (df + 0.5))
    return value if value > 0 else 1e-6


def fuse(
    db: Database, found: Candidates, text: TextMatch, strength: Strength, *, when: bool = False
) -> list[Scored]:
    """Final scores, best first: BM25, coverage and hop-2 activation, scaled by strength; for a
    "when" question, the top ones that name a time (a date, "last Friday") are raised."""
    # Strength only scales a score: a memory with no base score has none, whatever its strength.
    items = found.by_rid.values()
    strengths = strength([item.rid for item in items if _base(item) > 0])

    def final(item: Scored) -> float:
        return _base(item) * (0.9 + 0.1 * strengths.get(item.rid, 0.5))

    for item in items:
        item.score = final(item)
    ranked = sorted((s for s in items if s.score > 0), key=lambda s: (-s.score, s.rid))
    # Memories reached by spreading have no text relevance yet: look it up for the ones that
    # could rank (BM25 of the rare words, the IDF of the common words they hold).
    rescored = [item for item in ranked if not item.text and item.held][:RESCORE]
    if rescored and (text.words.expression or text.common):
        held = sql.holding(db, list(text.common), [item.rid for item in rescored])
        for rid, nid, _ in held:
            found[rid].text += text.common[nid]
        for item in rescored:
            if text.words.expression:
                item.text += sql.fts_score(db, text.words.expression, item.rid)
            item.text /= text.best
            item.score = final(item)
        ranked.sort(key=lambda s: (-s.score, s.rid))
    if when:
        for rid in sql.holding_kind(db, "time", [item.rid for item in ranked[:RESCORE]]):
            found[rid].score *= WHEN_BOOST
        ranked.sort(key=lambda s: (-s.score, s.rid))
    return ranked


def _base(item: Scored) -> float:
    return item.direct + item.a3
