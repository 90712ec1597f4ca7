"""Recall: spreading activation over the concept graph, fused with FTS5 BM25.

    query keys --exact--> seed neurons (a0 = IDF, normalized)         hop 0
    seeds ------------->  memories holding them (a1 = IDF-weighted coverage) + BM25 pool
    top memories ------>  bridge neurons they hold, typed relations of the seeds, learned links
                          (a2 = decay * a1 * specificity, threshold, at most MAX_BRIDGES)
    bridges ----------->  memories holding a bridge (a3 = sum of a2 * synapse weight)    hop 2

score = BM25 (normalized to the best match) + TEXT_ACTIVATION * a1 + a3, nudged by strength.
Every step is bounded (seeds, pool size, fan-out per neuron, sources, bridges), so the cost of a
recall does not grow with the brain: posting lists are read newest-first and cut at FAN_OUT, and
a very common neuron spreads almost nothing because its specificity (IDF) is near zero.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from neuralmemory.core.extract import extract
from neuralmemory.store import memories as sql
from neuralmemory.store.db import Database

DECAY = 0.5  # activation kept per hop
THRESHOLD = 0.02  # below this a bridge does not spread
TEXT_ACTIVATION = 0.5  # weight of hop-1 coverage next to BM25
MAX_SEEDS = 12
POOL = 200  # BM25 candidates
FAN_OUT = 32  # memories read per bridge neuron
SOURCES = 8  # hop-1 memories that spread further
MAX_BRIDGES = 8
RELATION_WEIGHT = 0.8
LINK_WEIGHT = 0.6
SEALED = "sealed"  # neuron kind of an encrypted memory's HMAC'd concepts


@dataclass
class Scored:
    """One candidate memory, the parts of its score, and the path that reached it."""

    rid: int
    score: float = 0.0
    text: float = 0.0  # BM25, normalized to the best match
    a1: float = 0.0  # hop-1 activation: IDF-weighted share of the query's concepts it holds
    a3: float = 0.0  # hop-2 activation: through bridge concepts, relations and learned links
    matched: list[str] = field(default_factory=list)  # labels of the seed concepts it holds
    path: list[str] = field(default_factory=list)  # steps of its strongest hop-2 route
    best: float = 0.0  # activation that route carried


@dataclass(frozen=True)
class Query:
    keys: list[str]  # neuron keys, plaintext and sealed
    words: list[str]  # FTS tokens
    labels: dict[str, str]  # neuron key -> what to show in a path


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
    return Query(keys, words, labels)


def fts_expression(words: list[str]) -> str:
    # Each word quoted: FTS5 then reads it as a plain token, never as syntax (AND, NEAR, col:).
    return " OR ".join('"' + word.replace('"', '""') + '"' for word in words)


def rank(
    db: Database,
    query: Query,
    *,
    links: Callable[[list[int]], list[tuple[int, int, int]]],
    strength: Callable[[list[int]], dict[int, float]],
) -> list[Scored]:
    """Every candidate memory with its score, best first (ties broken by rid for determinism).

    `links(rids)` gives learned links (from rid, to rid, count) and `strength(rids)` each
    memory's activation in [0, 1]; both come from records the brain materialized.
    """
    total = max(1, sql.memory_count(db))
    seeds = sorted(sql.neurons_by_key(db, query.keys), key=lambda n: (-_idf(n.df, total), n.key))[
        :MAX_SEEDS
    ]
    seed_weight = {n.id: _idf(n.df, total) for n in seeds}
    if seed_weight:
        top = max(seed_weight.values())
        seed_weight = {nid: w / top for nid, w in seed_weight.items()}
    labels = {n.id: "term:" + query.labels.get(n.key, n.key) for n in seeds}
    weight_sum = sum(seed_weight.values()) or 1.0

    scored: dict[int, Scored] = {}

    def hit(rid: int) -> Scored:
        if rid not in scored:
            scored[rid] = Scored(rid)
        return scored[rid]

    # Hop 1: BM25 pool, plus every memory holding a seed of a specific (rare) concept.
    if query.words:
        pool = sql.fts_search(db, fts_expression(query.words), POOL)
        best = max((score for _, score in pool), default=0.0) or 1.0
        for rid, score in pool:
            hit(rid).text = score / best
    for neuron in seeds:
        for rid, _ in sql.fan_out(db, neuron.id, FAN_OUT):
            hit(rid)
    for rid, neuron_id, weight in _holding(db, list(seed_weight), list(scored)):
        item = scored[rid]
        item.a1 += seed_weight[neuron_id] * weight / weight_sum
        item.matched.append(labels[neuron_id])

    # Hop 2: the strongest hop-1 memories spread through the concepts they hold.
    sources = sorted(scored.values(), key=lambda s: (-(s.a1 + s.text), s.rid))[:SOURCES]
    bridges: dict[int, float] = defaultdict(float)
    origin: dict[int, list[str]] = {}  # bridge neuron -> path up to it
    for rid, neuron, weight in sql.concepts_of(db, [s.rid for s in sources]):
        if neuron.id in seed_weight:
            continue
        source = scored[rid]
        spread = DECAY * _strength_of(source) * weight * _specificity(neuron.df, total)
        bridges[neuron.id] += spread
        if neuron.id not in origin:
            origin[neuron.id] = [*source.matched[:1], f"memory:{rid}", _label(neuron, "concept")]
    for src, dst, kind in sql.related(db, list(seed_weight)):
        if dst not in seed_weight:
            bridges[dst] += DECAY * RELATION_WEIGHT * seed_weight[src]
            origin.setdefault(dst, [labels[src], f"relation:{kind}"])
    chosen = dict(
        sorted(
            ((nid, a) for nid, a in bridges.items() if a >= THRESHOLD),
            key=lambda item: (-item[1], item[0]),
        )[:MAX_BRIDGES]
    )
    for nid in chosen:
        for rid, _ in sql.fan_out(db, nid, FAN_OUT):
            hit(rid)
    for rid, nid, weight in _holding(db, list(chosen), list(scored)):
        _reach(scored[rid], chosen[nid] * weight, origin[nid])

    # Learned links: associations earlier recalls (or the user) made between two memories.
    for src, dst, count in links([s.rid for s in sources]):
        gained = DECAY * LINK_WEIGHT * min(1.0, 0.3 + 0.1 * count) * _strength_of(scored[src])
        if gained >= THRESHOLD:
            _reach(hit(dst), gained, [*scored[src].matched[:1], f"memory:{src}", "link"])

    strengths = strength(list(scored))
    for item in scored.values():
        base = item.text + TEXT_ACTIVATION * item.a1 + item.a3
        item.score = base * (0.9 + 0.1 * strengths.get(item.rid, 0.5))
    return sorted((s for s in scored.values() if s.score > 0), key=lambda s: (-s.score, s.rid))


def _reach(item: Scored, gained: float, path: list[str]) -> None:
    item.a3 += gained
    if gained > item.best:
        item.best, item.path = gained, path


def _strength_of(source: Scored) -> float:
    """How strongly a hop-1 memory was activated: its text match and its concept coverage."""
    return (source.a1 + source.text) / 2


def _label(neuron: sql.Neuron, prefix: str) -> str:
    # A sealed neuron's key is an HMAC: say so rather than print it.
    return f"{prefix}:(encrypted)" if neuron.kind == SEALED else f"{prefix}:{neuron.key}"


def _holding(db: Database, neuron_ids: list[int], rids: list[int]) -> list[tuple[int, int, float]]:
    """(rid, neuron, weight) for each given memory that holds one of the given neurons."""
    if not neuron_ids or not rids:
        return []
    n_marks = ",".join("?" * len(neuron_ids))
    r_marks = ",".join("?" * len(rids))
    rows = db.execute(
        f"SELECT memory_rid, neuron_id, weight FROM synapses WHERE neuron_id IN ({n_marks})"
        f" AND memory_rid IN ({r_marks})",
        [*neuron_ids, *rids],
    )
    return [(int(rid), int(nid), float(weight)) for rid, nid, weight in rows]


def _idf(df: int, total: int) -> float:
    return math.log(1 + total / max(1, df))


def _specificity(df: int, total: int) -> float:
    """IDF scaled to [0, 1]: a concept in every memory spreads nothing."""
    return _idf(df, total) / math.log(1 + total) if total > 1 else 1.0
