"""The recall rankings of the shipped gold set (benchmarks/goldset.py), pinned in a fixture.

    .venv/bin/python tests/helpers/rankings.py     # rewrite tests/golden/recall_rankings.json

tests/core/test_rankings.py asserts that recall reproduces the fixture, so a refactor of recall
that changes any ranking fails. Rewrite the fixture only for a change meant to rank differently,
and say in its commit which rankings moved and why (benchmarks/recall_quality.py gives the figures).

Pinned corpora: the gold set at the sizes benchmarks/recall_quality.py reports, the realistic text
and queries of benchmarks/core_bench.py (10K distinct memories: words common enough that BM25 is
bounded and bridges converge through the graph), and a small probe of what neither holds (dates,
today/yesterday, stated relations), so every stage of recall is on some pinned path.

Each corpus is one brain on a fixed clock (strength decays with time: a wall clock would
change the scores from run to run), read in three phases:
  fresh        every question, read-only: BM25, seeds, bridges and relations
  reinforcing  every question with reinforcement, the clock a minute further each time
  learned      every question again, read-only: the learned links and strengths phase 2 made
For each question the fixture keeps the first hits in clear (as "#n", the memory's index in its
corpus: a failure names them) and a digest of every hit up to MAX_LIMIT: memory, score (6
decimals), via and path (its memory steps as "#n" too).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from neuralmemory.core.brain import Brain
from neuralmemory.core.brains import open_brain
from neuralmemory.core.checks import MAX_LIMIT
from neuralmemory.core.models import Hit

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "golden" / "recall_rankings.json"
START_MS = 1_709_596_800_000  # 2024-03-05T00:00Z
MINUTE_MS = 60_000
SHOWN = 10  # hits the fixture keeps in clear
BENCH_SIZE = 10_000
BENCH_QUERIES = 100

PROBE_MEMORIES = [
    "Alice Moreno leads Project Falcon.",
    "Project Falcon streams its events through Kafka.",
    "The checkout outage was caused by connection pool exhaustion.",
    "Raising the pool size to 50 fixed the exhaustion on checkout.",
    "Falcon 2.0 shipped on 2024-03-01 after the Kafka upgrade.",
    "The billing outage yesterday was caused by an expired certificate.",
    "Planning for March 2024: the Falcon migration leads to a new billing service.",
    "Renewing the certificate today resolved the billing outage.",
    "Bob Okafor reviews every Kafka change before the release on 2024-03-08.",
]
PROBE_QUESTIONS = [
    "What is Alice working on?",
    "What happened yesterday?",
    "billing outage",
    "Kafka release 2024-03-08",
    "March 2024 plans",
    "what was the checkout outage caused by",
    "certificate",
    "What does Bob review?",
]

Phases = dict[str, list[dict[str, Any]]]


@dataclass(frozen=True)
class Corpus:
    memories: list[str]
    questions: list[str]


def _load(name: str, folder: Path) -> ModuleType:
    """A module of benchmarks/ (no package: its scripts import each other by name)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, folder / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # its dataclasses and imports look it up
    spec.loader.exec_module(module)
    return module


def corpora() -> dict[str, Callable[[], Corpus]]:
    """Each pinned corpus by name, built on demand."""
    bench = ROOT / "benchmarks"

    def gold(size: int) -> Corpus:
        built = _load("goldset", bench).build(size)
        return Corpus(built.memories, [question.text for question in built.questions])

    def realistic() -> Corpus:
        # core_bench imports machine, goldset and texts by name: load them first, in any order
        _load("machine", bench)
        texts = _load("goldset", bench).realistic_text(BENCH_SIZE)
        _load("texts", bench)
        core_bench = _load("core_bench", bench)
        return Corpus(texts, core_bench.queries(BENCH_QUERIES))

    return {
        "gold-1000": lambda: gold(1_000),
        "gold-10000": lambda: gold(10_000),
        "bench-10000": realistic,
        "probe": lambda: Corpus(PROBE_MEMORIES, PROBE_QUESTIONS),
    }


class Clock:
    def __init__(self) -> None:
        self.ms = START_MS

    def __call__(self) -> int:
        return self.ms


def pinned(hits: list[Hit], index: dict[str, str]) -> dict[str, Any]:
    def step(text: str) -> str:
        kind, _, rest = text.partition(":")
        return f"memory:{index[rest]}" if kind == "memory" else text

    detail = [
        (index[h.memory.id], round(h.score, 6), h.via, [step(s) for s in h.path]) for h in hits
    ]
    digest = hashlib.sha256(json.dumps(detail).encode()).hexdigest()
    return {"top": [index[h.memory.id] for h in hits[:SHOWN]], "digest": digest}


def rankings(corpus: Corpus) -> Phases:
    """The three phases' pins for a corpus, in a brain of its own (the caller points NMEM_HOME
    at an empty folder)."""
    clock = Clock()
    phases: Phases = {"fresh": [], "reinforcing": [], "learned": []}
    with open_brain() as opened:
        brain = Brain(opened.name, opened.db, device_id="d-pinned", now=clock)
        index: dict[str, str] = {}
        with brain.db.transaction():
            for n, text in enumerate(corpus.memories):
                index.setdefault(brain.remember(text).memory.id, f"#{n}")
        for text in corpus.questions:
            hits = brain.recall(text, limit=MAX_LIMIT, reinforce=False)
            phases["fresh"].append(pinned(hits, index))
        for text in corpus.questions:
            clock.ms += MINUTE_MS
            phases["reinforcing"].append(pinned(brain.recall(text, limit=SHOWN), index))
        for text in corpus.questions:
            hits = brain.recall(text, limit=MAX_LIMIT, reinforce=False)
            phases["learned"].append(pinned(hits, index))
    return phases


def main() -> None:
    pins = {}
    for name, corpus in corpora().items():  # each in an empty home, as each test has
        with tempfile.TemporaryDirectory() as home, pytest.MonkeyPatch.context() as patch:
            patch.setenv("NMEM_HOME", home)
            pins[name] = rankings(corpus())
    FIXTURE.write_text(json.dumps(pins, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {FIXTURE.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
