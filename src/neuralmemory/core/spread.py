"""Hop 2 of recall (core/recall.py): the strongest hop-1 memories spread activation through the
concepts they hold (bridges), the seeds' typed relations and the learned links.

A route only carries what its source adds: the share of the query the source matched and the
target did not (novelty). So siblings matching the same words do not inflate each other, and a
memory never activates itself; complementary evidence (a person's memory bridging to their
project's fact) is what spreads. Several concepts shared with one source add up, but a source
never passes on more than its own activation times DECAY: so a hop-2 memory cannot outrank what
led to it. Except along a chain: when the target holds query concepts its
source lacks and they share a concept rarer than any the query names (a brother's name, where
"Ana: My brother Tiago ..." leads to "Rosa: I saw Tiago at the vet, he adopted ..."), the pair
says together what the question asks, so the target gains the source's hop-1 score for the
concepts it lacks, times that link's specificity: it may then outrank both its source and the
memories that match more of the query's words but not all of them.

The sources are the best few holders of each query concept, and, when many memories match the
query alike (a speaker's turns that all say "my brother"), the one of them holding a concept far
more specific than the picks', or a name rarer than any the query names (the brother's), through
that concept only; a day does not count for that (it says when, not what about). A concept
only one memory holds is no bridge: it leads nowhere (such bridges used to fill MAX_BRIDGES in
notes with unique words and ids).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

from neuralmemory.core.candidates import (
    FAN_OUT,
    LINK,
    Candidates,
    Path,
    Scored,
    Seeds,
    Step,
    concept_step,
)
from neuralmemory.core.extract import ENTITY_WEIGHT
from neuralmemory.store import memories as sql
from neuralmemory.store.db import Database

DECAY = 0.5  # activation kept per hop
THRESHOLD = 0.02  # below this a bridge does not spread
SCAN = 128  # newest holders of a bridge checked for query concepts, when BM25 is bounded
SOURCES = 16  # hop-1 memories that spread further
PER_SEED = 2  # of which at most this many per query concept
CONVERGE = 4  # bridges whose intersection with the query words is searched
CONVERGE_LIMIT = 16
ROUTES_PER_BRIDGE = 4
MAX_BRIDGES = 8
RELATION_WEIGHT = 0.8
LINK_WEIGHT = 0.6

CONTENDERS = 32  # best holders of each query concept searched for a look-alike to spread too
TIE = 0.95  # a look-alike holds the query concepts of a pick, at least this share of its coverage
SHARPER = 2.0  # and holds a concept this many times as specific as any of the picks' (or a name)

Shared = tuple[int, sql.Neuron, float]  # (memory rid, concept, synapse weight)
Held = list[Shared]
Links = Callable[[list[int]], list[tuple[int, int, int]]]  # rids -> (from rid, to rid, count)


class Route(NamedTuple):
    """Activation arriving at a bridge neuron from one hop-1 memory (or a seed's relation)."""

    source: int | None  # rid of the memory it came from
    spread: float
    cap: float  # the most this source can pass on to one memory
    held: frozenset[int]  # the seed neurons that memory matched
    path: Path
    sure: float = 0.0  # a bridge rarer than every query concept: its specificity, else 0


@dataclass(frozen=True)
class Words:
    """What hop 1 left for hop 2 to search with: the query's FTS5 words."""

    any: bool  # the query has words at all
    expression: str  # the FTS5 query BM25 ranks by ("" for none)
    exact: bool  # it holds every query word: BM25 saw the whole query


class _Pair:
    """What one source passed on to one target, over every bridge they share."""

    __slots__ = ("best", "cap", "chain", "gained", "path")

    def __init__(self) -> None:
        self.gained = 0.0
        self.cap = 0.0
        self.chain = 0.0  # the surest link's specificity times novelty, when the target completes
        self.best = 0.0  # the strongest single spread, whose path is shown
        self.path: Path = ()


def spread(db: Database, found: Candidates, words: Words) -> list[Scored]:
    """Hop 2 through bridges and relations; returns the sources (the memories that spread)."""
    seeds = found.seeds
    sources, held = _sources(db, found)
    routes = _routes(db, seeds, sources, held)
    bridges = _bridges(routes)
    found.admit(_reached(db, seeds, bridges, words))
    _deliver(db, found, {nid: routes[nid] for nid in bridges})
    return sources


def learned(found: Candidates, sources: list[Scored], links: Links) -> None:
    """Hop 2 through learned links: associations earlier recalls (or the user) made between two
    memories."""
    found_links = links([s.rid for s in sources])
    found.admit([dst for _, dst, _ in found_links])
    for src, dst, count in found_links:
        source, target = found[src], found[dst]
        novelty = found.seeds.novelty(frozenset(source.held), target.held)
        gained = DECAY * LINK_WEIGHT * min(1.0, 0.3 + 0.1 * count) * source.strength
        if gained * novelty >= THRESHOLD:
            path = (*source.matched[:1], Step("memory", rid=src), LINK)
            target.reach(gained * novelty, path)


def _sources(db: Database, found: Candidates) -> tuple[list[Scored], Held]:
    """The hop-1 memories that spread, and the concepts they spread through: the best few
    holders of each query concept (rarest first), so every facet of the query gets to spread,
    not only the one most memories match; and of their look-alikes (the same query concepts,
    nearly the same coverage, whatever their length), the one holding a concept much more
    specific than any of theirs, or a name rarer than the query's, through that concept alone:
    of many turns that match "Ana's brother" equally, the one naming him."""
    groups = _groups(found)
    chosen = {s.rid: s for group in groups for s in group[:PER_SEED]}
    held = sql.concepts_of(db, list(chosen))
    wanted = _wanted(groups, _reach(found.seeds, chosen, held))
    for best, concept in _sharper(db, found.seeds, wanted, chosen):
        if best.rid not in chosen:  # two groups may name the same look-alike
            chosen[best.rid] = best
            held.append(concept)
    sources = list(chosen.values())[:SOURCES]
    kept = {s.rid for s in sources}
    return sources, [concept for concept in held if concept[0] in kept]


def _groups(found: Candidates) -> list[list[Scored]]:
    """The best CONTENDERS holders of each query concept, and the best text matches whatever
    concepts they hold; the first PER_SEED of each group are its picks."""
    ranked = sorted(found.by_rid.values(), key=lambda s: (-(s.a1 + s.text), s.rid))
    groups = [[s for s in ranked if seed.id in s.held][:CONTENDERS] for seed in found.seeds.neurons]
    groups.append(ranked[:PER_SEED])
    return [group for group in groups if group]


def _reach(seeds: Seeds, chosen: dict[int, Scored], held: Held) -> dict[int, float]:
    """How specific the sharpest concept of each pick is (seeds, times and one-holder concepts,
    which lead nowhere, excepted)."""
    reach = dict.fromkeys(chosen, 0.0)
    for rid, neuron, weight in held:
        if neuron.df > 1 and neuron.kind != "time" and neuron.id not in seeds.weight:
            reach[rid] = max(reach[rid], weight * seeds.specificity(neuron.df))
    return reach


def _wanted(
    groups: list[list[Scored]], reach: dict[int, float]
) -> list[tuple[float, list[Scored]]]:
    """For each group whose picks hold nothing sharp, its look-alikes and how sharp a concept
    one of them must hold to spread too. The other groups' look-alikes are not read."""
    wanted: list[tuple[float, list[Scored]]] = []
    for group in groups:
        floor = SHARPER * max(reach[pick.rid] for pick in group[:PER_SEED])
        alike = [s for s in group[PER_SEED:] if any(_alike(s, p) for p in group[:PER_SEED])]
        if alike and floor < ENTITY_WEIGHT:
            wanted.append((floor, alike))
    return wanted


def _sharper(
    db: Database, seeds: Seeds, wanted: list[tuple[float, list[Scored]]], chosen: dict[int, Scored]
) -> list[tuple[Scored, Shared]]:
    """Of each group's look-alikes, the one holding the sharpest shared concept that clears the
    group's floor or is a name rarer than any query concept, with that concept."""
    sharpest: dict[int, tuple[float, Shared]] = {}  # rid -> its sharpest concept
    named: dict[int, tuple[float, Shared]] = {}  # rid -> its sharpest name rarer than the query's
    rids = list(dict.fromkeys(s.rid for _, alike in wanted for s in alike if s.rid not in chosen))
    for rid, neuron, weight in sql.shared_concepts(db, rids, list(seeds.weight)):
        sharp = weight * seeds.specificity(neuron.df)
        for kept in (sharpest, named) if _names(neuron, seeds) else (sharpest,):
            if sharp > kept.get(rid, (0.0,))[0]:
                kept[rid] = (sharp, (rid, neuron, weight))

    def fit(item: Scored, floor: float) -> tuple[float, Shared] | None:
        top = sharpest.get(item.rid)
        return top if top is not None and top[0] >= floor else named.get(item.rid)

    found = []
    for floor, alike in wanted:
        fits = [(held, item) for item in alike if (held := fit(item, floor)) is not None]
        if fits:
            (_, concept), best = max(fits, key=lambda pair: pair[0][0])  # the first of equals
            found.append((best, concept))
    return found


def _names(neuron: sql.Neuron, seeds: Seeds) -> bool:
    """A name that says more surely than the query whom it is about (a brother's, where it asks
    for "Ana's brother")."""
    return neuron.kind == "entity" and _sure(neuron, seeds)


def _sure(neuron: sql.Neuron, seeds: Seeds) -> bool:
    """A link that names something more surely than the query does: rarer than any query
    concept, and held by so few memories that a bridge's FAN_OUT reaches them all."""
    return neuron.df <= FAN_OUT and neuron.df < seeds.rarest


def _alike(item: Scored, pick: Scored) -> bool:
    """A look-alike of a pick: it holds the same query concepts, nearly as strongly. Not its
    BM25: a longer turn saying the same words (the one naming the brother) is no less alike."""
    return item.held == pick.held and item.a1 >= TIE * pick.a1


def _routes(
    db: Database, seeds: Seeds, sources: list[Scored], held: Held
) -> dict[int, list[Route]]:
    """Routes into each bridge neuron, the strongest few: from the concepts the sources hold
    (seeds excepted) and from the seeds' typed relations."""
    routes: dict[int, list[Route]] = defaultdict(list)
    # What every route out of one source shares: its cap, its seed set, the start of its path.
    starts = {
        s.rid: (DECAY * s.strength, frozenset(s.held), (*s.matched[:1], Step("memory", rid=s.rid)))
        for s in sources
    }
    for rid, neuron, weight in held:
        if neuron.id in seeds.weight or neuron.df < 2:
            continue  # a seed is no bridge; a concept only its source holds leads nowhere
        cap, matched, start = starts[rid]
        specific = seeds.specificity(neuron.df)
        sure = specific if _sure(neuron, seeds) else 0.0
        path = (*start, concept_step(neuron))
        routes[neuron.id].append(Route(rid, cap * weight * specific, cap, matched, path, sure))
    for src, dst, kind in sql.related(db, list(seeds.weight)):
        if dst not in seeds.weight:
            flow = DECAY * RELATION_WEIGHT * seeds.weight[src]
            path = (seeds.terms[src], Step("relation", kind))
            routes[dst].append(Route(None, flow, flow, frozenset({src}), path))
    return {
        nid: sorted(found, key=lambda r: -r.spread)[:ROUTES_PER_BRIDGE]
        for nid, found in routes.items()
    }


def _bridges(routes: dict[int, list[Route]]) -> list[int]:
    """The bridge neurons that spread: those whose routes carry the most, above THRESHOLD."""
    strong = [
        (nid, total)
        for nid, found in routes.items()
        if (total := sum(r.spread for r in found)) >= THRESHOLD
    ]
    return [nid for nid, _ in sorted(strong, key=lambda item: (-item[1], item[0]))[:MAX_BRIDGES]]


def _reached(db: Database, seeds: Seeds, bridges: list[int], words: Words) -> list[int]:
    """The memories holding each bridge (newest first), and where activation converges: those
    holding the bridge AND query words, for the strongest CONVERGE bridges. A posting-list
    intersection inside FTS5, bounded by CONVERGE_LIMIT; when BM25 is bounded, the newest SCAN
    holders of the bridge that hold a query concept."""
    reached: list[int] = []
    names = sql.neurons_by_id(db, bridges)
    for position, nid in enumerate(bridges):
        reached += [rid for rid, _ in sql.fan_out(db, nid, FAN_OUT)]
        if not words.any or position >= CONVERGE or names[nid].kind == "time":
            continue  # FTS5 has no term for a time reference
        if words.exact:
            term = '"' + names[nid].key.replace('"', '""') + '"'
            match = f"{term} AND ({words.expression})"
            reached += [rid for rid, _ in sql.fts_search(db, match, CONVERGE_LIMIT)]
        else:
            reached += sql.converging(db, nid, list(seeds.weight), CONVERGE_LIMIT, SCAN)
    return reached


def _deliver(db: Database, found: Candidates, into: dict[int, list[Route]]) -> None:
    """Each route's activation to every reached memory holding its bridge, summed per (source,
    target) pair and capped by what the source may pass on; or, for a chain (module docstring),
    the source's hop-1 score times the surest link's specificity and novelty, if more."""
    pairs: dict[tuple[int | None, int], _Pair] = {}
    # Few distinct (source, target) seed sets recur across hundreds of routes: compute each once.
    novelties: dict[tuple[frozenset[int], frozenset[int]], float] = {}
    held_by: dict[int, frozenset[int]] = {}
    seeds = found.seeds
    for rid, nid, weight in sql.holding(db, list(into), list(found.by_rid)):
        held = held_by.get(rid)
        if held is None:
            held = held_by[rid] = frozenset(found[rid].held)
        for origin, flow, cap, from_held, path, sure in into[nid]:
            if origin == rid:
                continue
            novelty = novelties.get((from_held, held))
            if novelty is None:
                novelty = novelties[from_held, held] = seeds.novelty(from_held, held)
            flow *= weight
            pair = pairs.get((origin, rid))
            if pair is None:
                pair = pairs[origin, rid] = _Pair()
            pair.gained += flow * novelty
            pair.cap = cap * novelty
            if not held <= from_held:  # the target holds query concepts its source lacks
                pair.chain = max(pair.chain, sure * novelty)
            if flow > pair.best:
                pair.best, pair.path = flow, path
    for (origin, rid), pair in pairs.items():
        chained = pair.chain * found[origin].direct if origin is not None else 0.0
        found[rid].reach(max(min(pair.gained, pair.cap), chained), pair.path)
