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

BM25 is bounded the same way. FTS5 counts every posting of each word of a MATCH (for IDF) and
scores every match before it sorts, so a word held by a tenth of a large brain would make recall
linear. BM25 ranks by the rarest query words whose postings fit POSTINGS; a word left out is read
from the graph like any concept, its newest holders first (and bridges converge with the query
there, not in FTS5). A small brain fits the bound, and gets the exact BM25 ranking.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import Any

from neuralmemory.core.extract import extract
from neuralmemory.store import memories as sql
from neuralmemory.store.db import Database

DECAY = 0.5  # activation kept per hop
THRESHOLD = 0.02  # below this a bridge does not spread
TEXT_ACTIVATION = 0.5  # weight of hop-1 coverage next to BM25
MAX_SEEDS = 8
POOL = 100  # BM25 candidates
POSTINGS = 1_500  # postings a BM25 search may count and score (the rarest words')
SCAN = 128  # newest holders of a bridge checked for query concepts, when BM25 is bounded
FAN_OUT = 16  # memories read per bridge neuron
SOURCES = 16  # hop-1 memories that spread further
PER_SEED = 2  # of which at most this many per query concept
CONVERGE = 4  # bridges whose intersection with the query words is searched
CONVERGE_LIMIT = 16
ROUTES_PER_BRIDGE = 4
RESCORE = 40  # top candidates whose BM25 is looked up when spreading found them
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
    held: set[int] = field(default_factory=set)  # ids of the seed neurons it holds
    path: list[str] = field(default_factory=list)  # steps of its strongest hop-2 route
    best: float = 0.0  # activation that route carried


@dataclass(frozen=True)
class Route:
    """Activation arriving at a bridge neuron from one hop-1 memory (or a seed's relation)."""

    source: int | None  # rid of the memory it came from
    spread: float
    cap: float  # the most this source can pass on to one memory
    held: frozenset[int]  # the seed neurons that memory matched
    path: list[str]


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
    total = max(1, sql.indexed_count(db))
    neurons = sql.neurons_by_key(db, query.keys)
    seeds = sorted(neurons, key=lambda n: (-_idf(n.df, total), n.key))[:MAX_SEEDS]
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

    # Hop 1: BM25 pool, plus the newest memories holding each seed concept BM25 does not see.
    ranked_words = affordable(query.words, {n.key: n.df for n in neurons})
    exact = len(ranked_words) == len(query.words)
    expression = fts_expression(ranked_words)
    best = 1.0
    if expression:
        pool = sql.fts_search(db, expression, POOL)
        best = max((score for _, score in pool), default=0.0) or 1.0
        for rid, score in pool:
            hit(rid).text = score / best
    for neuron in seeds:
        # FTS cannot see time references; a word too common for BM25 is left to the graph too.
        if neuron.kind == "time" or not (exact or neuron.key in ranked_words):
            for rid, _ in sql.fan_out(db, neuron.id, FAN_OUT):
                hit(rid)

    def admit(rids: list[int]) -> None:
        """Seed coverage of newly reached memories (their BM25 is looked up at the end)."""
        fresh = [rid for rid in dict.fromkeys(rids) if rid not in scored]
        for rid in fresh:
            hit(rid)
        for rid, neuron_id, weight in _holding(db, list(seed_weight), fresh):
            item = scored[rid]
            item.a1 += seed_weight[neuron_id] * weight / weight_sum
            item.matched.append(labels[neuron_id])
            item.held.add(neuron_id)

    for rid, neuron_id, weight in _holding(db, list(seed_weight), list(scored)):
        if neuron_id not in scored[rid].held:
            item = scored[rid]
            item.a1 += seed_weight[neuron_id] * weight / weight_sum
            item.matched.append(labels[neuron_id])
            item.held.add(neuron_id)

    # Hop 2: the strongest hop-1 memories spread through the concepts they hold. A route only
    # carries what the source adds: the share of the query the source matched and the target
    # did not (novelty). So siblings matching the same words do not inflate each other, and a
    # memory never activates itself; complementary evidence (a person's memory bridging to their
    # project's fact) is what spreads.
    sources = _sources(scored, [n.id for n in seeds])
    routes: dict[int, list[Route]] = defaultdict(list)  # bridge neuron -> routes into it
    # What every route out of one source shares: its cap, its seed set, the start of its path.
    starts = {
        s.rid: (DECAY * _strength_of(s), frozenset(s.held), [*s.matched[:1], f"memory:{s.rid}"])
        for s in sources
    }
    for rid, neuron, weight in sql.concepts_of(db, list(starts)):
        if neuron.id in seed_weight:
            continue
        cap, matched, start = starts[rid]
        spread = cap * weight * _specificity(neuron.df, total)
        path = [*start, _label(neuron, "concept")]
        routes[neuron.id].append(Route(rid, spread, cap, matched, path))
    for src, dst, kind in sql.related(db, list(seed_weight)):
        if dst not in seed_weight:
            spread = DECAY * RELATION_WEIGHT * seed_weight[src]
            path = [labels[src], f"relation:{kind}"]
            routes[dst].append(Route(None, spread, spread, frozenset({src}), path))
    for nid, found in routes.items():  # the strongest few routes into each bridge suffice
        routes[nid] = sorted(found, key=lambda r: -r.spread)[:ROUTES_PER_BRIDGE]
    chosen = dict(
        sorted(
            (
                (nid, total_spread)
                for nid, found in routes.items()
                if (total_spread := sum(r.spread for r in found)) >= THRESHOLD
            ),
            key=lambda item: (-item[1], item[0]),
        )[:MAX_BRIDGES]
    )
    reached: list[int] = []
    names = sql.neurons_by_id(db, list(chosen))
    for rank_, nid in enumerate(chosen):
        reached += [rid for rid, _ in sql.fan_out(db, nid, FAN_OUT)]
        term = _fts_term(names[nid])
        if query.words and term and rank_ < CONVERGE:
            # Where activation converges: memories holding this bridge AND query words. A
            # posting-list intersection inside FTS5, bounded by CONVERGE_LIMIT; when BM25 is
            # bounded, the newest SCAN holders of the bridge that hold a query concept.
            if exact:
                match = f"{term} AND ({expression})"
                reached += [rid for rid, _ in sql.fts_search(db, match, CONVERGE_LIMIT)]
            else:
                reached += sql.converging(db, nid, list(seed_weight), CONVERGE_LIMIT, SCAN)
    admit(reached)
    # Several concepts shared with one source add up, but a source never passes on more than
    # its own activation times DECAY: so a hop-2 memory cannot outrank what led to it.
    # pair (source, target) -> [gained, cap, best spread, its path]
    pairs: dict[tuple[int | None, int], list[Any]] = {}
    # Few distinct (source, target) seed sets recur across hundreds of routes: compute each once.
    novelties: dict[tuple[frozenset[int], frozenset[int]], float] = {}
    held_by: dict[int, frozenset[int]] = {}
    into = {
        nid: [(r.source, r.spread, r.cap, r.held, r.path) for r in routes[nid]] for nid in chosen
    }
    for rid, nid, weight in _holding(db, list(chosen), list(scored)):
        held = held_by.get(rid)
        if held is None:
            held = held_by[rid] = frozenset(scored[rid].held)
        for origin, spread, cap, from_held, path in into[nid]:
            if origin == rid:
                continue
            novelty = novelties.get((from_held, held))
            if novelty is None:
                novelty = novelties[from_held, held] = _novelty(from_held, held, seed_weight)
            spread *= weight
            pair = pairs.get((origin, rid))
            if pair is None:
                pairs[origin, rid] = (
                    [spread * novelty, cap * novelty, spread, path]
                    if spread > 0.0
                    else [spread * novelty, cap * novelty, 0.0, None]
                )
            else:
                pair[0] += spread * novelty
                pair[1] = cap * novelty
                if spread > pair[2]:
                    pair[2] = spread
                    pair[3] = path
    for (_, rid), (gained, cap, _, path) in pairs.items():
        _reach(scored[rid], min(gained, cap), path)

    # Learned links: associations earlier recalls (or the user) made between two memories.
    learned = links([s.rid for s in sources])
    admit([dst for _, dst, _ in learned])
    for src, dst, count in learned:
        source, target = scored[src], scored[dst]
        novelty = _novelty(frozenset(source.held), target.held, seed_weight)
        gained = DECAY * LINK_WEIGHT * min(1.0, 0.3 + 0.1 * count) * _strength_of(source)
        if gained * novelty >= THRESHOLD:
            _reach(target, gained * novelty, [*source.matched[:1], f"memory:{src}", "link"])

    def base(item: Scored) -> float:
        return item.text + TEXT_ACTIVATION * item.a1 + item.a3

    # Strength only scales a score: a memory with no base score has none, whatever its strength.
    strengths = strength([item.rid for item in scored.values() if base(item) > 0])

    def final(item: Scored) -> float:
        return base(item) * (0.9 + 0.1 * strengths.get(item.rid, 0.5))

    for item in scored.values():
        item.score = final(item)
    ranked = sorted((s for s in scored.values() if s.score > 0), key=lambda s: (-s.score, s.rid))
    # Memories reached by spreading have no BM25 yet: look it up for the ones that could rank.
    if expression:
        for item in ranked[:RESCORE]:
            if not item.text and item.held:
                item.text = sql.fts_score(db, expression, item.rid) / best
                item.score = final(item)
        ranked.sort(key=lambda s: (-s.score, s.rid))
    return ranked


def _fts_term(neuron: sql.Neuron) -> str | None:
    """The FTS5 query for a neuron: a word or a phrase; a time reference has none."""
    if neuron.kind == "time":
        return None
    return '"' + neuron.key.replace('"', '""') + '"'


def _sources(scored: dict[int, Scored], seeds: list[int]) -> list[Scored]:
    """The hop-1 memories that spread: the best few for each query concept (rarest first), so
    every facet of the query gets to spread, not only the one most memories match."""
    ranked = sorted(scored.values(), key=lambda s: (-(s.a1 + s.text), s.rid))
    chosen: dict[int, Scored] = {}
    for seed in seeds:
        for item in [s for s in ranked if seed in s.held][:PER_SEED]:
            chosen.setdefault(item.rid, item)
    for item in ranked[:PER_SEED]:  # the best text matches, whatever concepts they hold
        chosen.setdefault(item.rid, item)
    return list(chosen.values())[:SOURCES]


def _novelty(held: frozenset[int], target: AbstractSet[int], weights: dict[int, float]) -> float:
    """Share of a source's query weight that the target does not already match (1 for a route
    that starts at no query concept at all)."""
    mine = sum(weights[n] for n in held)
    if not mine:
        return 1.0
    return sum(weights[n] for n in held - target) / mine


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
