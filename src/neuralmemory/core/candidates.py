"""The records recall's stages pass along (core/recall.py): the query's seed concepts, the
memories reached so far with the parts of their scores, and the typed steps of the path that
reached each one. A path becomes text only where the API shows it (Brain.recall)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal, NamedTuple

from neuralmemory.store import memories as sql
from neuralmemory.store.db import Database

FAN_OUT = 16  # memories read per neuron (a seed the BM25 pool cannot see, or a bridge)
TEXT_ACTIVATION = 0.5  # weight of hop-1 coverage next to BM25
SEALED = "sealed"  # neuron kind of an encrypted memory's HMAC'd concepts

StepKind = Literal["term", "memory", "concept", "relation", "link"]


class Step(NamedTuple):
    """One step from the query to a memory: a query concept ("term"), a memory that passed
    activation on, the bridge concept or typed relation it went through, or a learned link."""

    kind: StepKind
    name: str = ""  # a term's label, a concept's key ("(encrypted)" when sealed), a relation kind
    rid: int = 0  # a memory step's row id

    def text(self, ids: Mapping[int, str]) -> str:
        """As the API shows it ("term:alice", "memory:m-...", "link"); `ids` maps row ids to
        memory ids ("?" for one that is gone)."""
        if self.kind == "memory":
            return f"memory:{ids.get(self.rid, '?')}"
        return self.kind if self.kind == "link" else f"{self.kind}:{self.name}"


Path = tuple[Step, ...]
LINK = Step("link")


def concept_step(neuron: sql.Neuron) -> Step:
    # A sealed neuron's key is an HMAC: say so rather than show it.
    return Step("concept", "(encrypted)" if neuron.kind == SEALED else neuron.key)


@dataclass(slots=True)
class Scored:
    """One candidate memory, the parts of its score, and the path that reached it."""

    rid: int
    score: float = 0.0
    text: float = 0.0  # BM25, normalized to the best match
    a1: float = 0.0  # hop-1 activation: IDF-weighted share of the query's concepts it holds
    a3: float = 0.0  # hop-2 activation: through bridge concepts, relations and learned links
    matched: list[Step] = field(default_factory=list)  # the seed concepts it holds, as terms
    held: set[int] = field(default_factory=set)  # ids of the seed neurons it holds
    path: Path = ()  # steps of its strongest hop-2 route
    best: float = 0.0  # activation that route carried

    def reach(self, gained: float, path: Path) -> None:
        """Hop-2 activation arriving along `path`; the strongest route is the one shown."""
        self.a3 += gained
        if gained > self.best:
            self.best, self.path = gained, path

    @property
    def direct(self) -> float:
        """Its hop-1 score: BM25 and coverage, before anything spread to it."""
        return self.text + TEXT_ACTIVATION * self.a1

    @property
    def strength(self) -> float:
        """How strongly it was activated at hop 1: its text match and its concept coverage."""
        return (self.a1 + self.text) / 2


@dataclass(frozen=True)
class Seeds:
    """The query's concepts found in the brain; the strongest (rarest) few are its seeds."""

    total: int  # indexed memories
    df: dict[str, int]  # postings of every query concept found, by key
    ids: dict[str, int]  # neuron id of every query concept found, by key
    neurons: list[sql.Neuron]  # the seeds, strongest first
    weight: dict[int, float]  # seed neuron id -> its IDF, normalized to the strongest's
    terms: dict[int, Step]  # seed neuron id -> the step that names it
    weight_sum: float

    @classmethod
    def of(cls, db: Database, keys: list[str], labels: Mapping[str, str], most: int) -> Seeds:
        total = max(1, sql.indexed_count(db))
        found = sql.neurons_by_key(db, keys)
        seeds = sorted(found, key=lambda n: (-idf(n.df, total), n.key))[:most]
        weight = {n.id: idf(n.df, total) for n in seeds}
        if weight:
            top = max(weight.values())
            weight = {nid: w / top for nid, w in weight.items()}
        terms = {n.id: Step("term", labels.get(n.key, n.key)) for n in seeds}
        df = {n.key: n.df for n in found}
        ids = {n.key: n.id for n in found}
        return cls(total, df, ids, seeds, weight, terms, sum(weight.values()) or 1.0)

    def novelty(self, held: frozenset[int], target: Iterable[int]) -> float:
        """Share of a source's query weight that the target does not already match (1 for a
        route that starts at no query concept at all). None for a target that matches only
        concepts the source holds too: a weaker look-alike of the source (the same note about
        another name or date), not a complement of it."""
        mine = sum(self.weight[n] for n in held)
        if not mine:
            return 1.0
        matched = frozenset(target)
        if matched and matched <= held:
            return 0.0
        return sum(self.weight[n] for n in held.difference(matched)) / mine

    @property
    def rarest(self) -> int:
        """Postings of the query's rarest concept found (0 for none): the strongest seed's, as
        seeds are rarest first (read per bridge concept while spreading: no scan)."""
        return self.neurons[0].df if self.neurons else 0

    def specificity(self, df: int) -> float:
        """IDF scaled to [0, 1]: a concept in every memory spreads nothing."""
        total = self.total
        return idf(df, total) / math.log(1 + total) if total > 1 else 1.0


class Candidates:
    """The memories recall has reached, by row id, each with its seed coverage (hop 1)."""

    def __init__(self, db: Database, seeds: Seeds) -> None:
        self.db = db
        self.seeds = seeds
        self.by_rid: dict[int, Scored] = {}

    def __getitem__(self, rid: int) -> Scored:
        return self.by_rid[rid]

    def add(self, rids: Iterable[int]) -> None:
        """Reach memories; their coverage comes with the next `cover`."""
        by_rid = self.by_rid
        for rid in rids:
            if rid not in by_rid:
                by_rid[rid] = Scored(rid)

    def cover(self, rids: list[int]) -> None:
        """The IDF-weighted share of the seeds each of the given memories holds (a1)."""
        seeds = self.seeds
        for rid, neuron_id, weight in sql.holding(self.db, list(seeds.weight), rids):
            item = self.by_rid[rid]
            if neuron_id not in item.held:
                item.a1 += seeds.weight[neuron_id] * weight / seeds.weight_sum
                item.matched.append(seeds.terms[neuron_id])
                item.held.add(neuron_id)

    def admit(self, rids: Iterable[int]) -> None:
        """Reach memories found by spreading, with their coverage (their BM25 comes last)."""
        fresh = [rid for rid in dict.fromkeys(rids) if rid not in self.by_rid]
        self.add(fresh)
        self.cover(fresh)


def idf(df: int, total: int) -> float:
    return math.log(1 + total / max(1, df))
