"""Recall quality on the shipped synthetic gold set: our recall vs plain FTS5 BM25.

    .venv/bin/python benchmarks/recall_quality.py [--sizes 1000 10000 50000] [--half both]

Prints hit@1, hit@5, hit@10 and MRR (over the top 10) of each question set:
  gold          benchmarks/goldset.py: 1-hop and 2-hop questions about projects and people
  look-alikes   benchmarks/lookalikes.py: questions about people and project weeks, asked of a
                brain without their look-alike neighbours and of one where half the memories
                are look-alikes (same templates, other names, values and dates)
  conversations benchmarks/dialogues.py: single-hop, temporal and two-hop questions about
                multi-session dialogues, one memory per turn, remembered at its turn's time
Look-alikes and conversations come in a tuning half and a held-out half (disjoint templates and
names); `--half` picks which to score. The baseline is an FTS5 table with the same tokenizer
queried with the same words (OR), ranked by bm25(): exactly our recall without its graph.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import tempfile
from collections.abc import Mapping, Sequence

import dialogues
import goldset
import lookalikes
import machine
from neuralmemory.core.extract import extract
from neuralmemory.core.recall import fts_expression

TOP = 10
Asked = tuple[str, str]  # (question, the memory holding its answer)
Scores = tuple[float, float, float, float]  # hit@1, hit@5, hit@10, MRR


def baseline(memories: Sequence[str]) -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE VIRTUAL TABLE t USING fts5(body, tokenize='porter unicode61')")
    conn.executemany("INSERT INTO t (rowid, body) VALUES (?, ?)", enumerate(memories, 1))
    return conn


def bm25_top(conn: sqlite3.Connection, memories: Sequence[str], query: str) -> list[str]:
    words = list(dict.fromkeys(extract(query, now_ms=0).words))
    if not words:
        return []
    rows = conn.execute(
        "SELECT rowid FROM t WHERE t MATCH ? ORDER BY bm25(t) LIMIT ?",
        (fts_expression(words), TOP),
    )
    return [memories[rowid - 1] for (rowid,) in rows]


def score(asked: Sequence[Asked], ranked: Sequence[list[str]]) -> Scores:
    rows = []
    for (_, answer), results in zip(asked, ranked, strict=True):
        rank = results.index(answer) + 1 if answer in results else 0
        rows.append((rank == 1, 1 <= rank <= 5, rank >= 1, 1 / rank if rank else 0.0))
    n = max(1, len(rows))
    return tuple(sum(float(row[col]) for row in rows) / n for col in range(4))  # type: ignore[return-value]


class Engines:
    """One brain and one BM25 table over the same memories, each remembered at its time."""

    def __init__(self, memories: Sequence[tuple[int, str]]) -> None:
        from neuralmemory.core.brain import Brain
        from neuralmemory.core.brains import open_brain

        self._home = tempfile.TemporaryDirectory()
        os.environ["NMEM_HOME"] = self._home.name
        self.clock = memories[-1][0] if memories else 0
        opened = open_brain()
        self.brain = Brain(opened.name, opened.db, device_id="d-bench", now=lambda: self.clock)
        self.texts: dict[str, str] = {}
        with self.brain.db.transaction():
            for at, text in memories:
                self.clock = at
                self.texts.setdefault(self.brain.remember(text).memory.id, text)
        self.clock = max(at for at, _ in memories) + 3_600_000
        self.memories = [text for _, text in memories]
        self.bm25 = baseline(self.memories)

    def run(self, asked: Sequence[Asked]) -> tuple[Scores, Scores]:
        ours = [
            [self.texts[h.memory.id] for h in self.brain.recall(q, limit=TOP, reinforce=False)]
            for q, _ in asked
        ]
        theirs = [bm25_top(self.bm25, self.memories, q) for q, _ in asked]
        return score(asked, ours), score(asked, theirs)

    def close(self) -> None:
        self.brain.close()
        self.bm25.close()
        self._home.cleanup()


def untimed(texts: Sequence[str]) -> list[tuple[int, str]]:
    """Memories with no time of their own, all remembered at 2024-03-05T00:00Z."""
    return [(1_709_596_800_000, text) for text in texts]


def rows(label: str, size: int, sets: Mapping[str, Sequence[Asked]], engines: Engines) -> list[str]:
    out = []
    for name, asked in sets.items():
        ours, theirs = engines.run(asked)
        for engine, (h1, h5, h10, mrr) in (("nmem recall", ours), ("FTS5 BM25", theirs)):
            out.append(
                f"| {label} | {size:,} | {name} ({len(asked)}) | {engine} "
                f"| {h1:.2f} | {h5:.2f} | {h10:.2f} | {mrr:.3f} |"
            )
    return out


def gold(size: int) -> list[str]:
    built = goldset.build(size)
    engines = Engines(untimed(built.memories))
    sets = {
        f"{hops}-hop": [(q.text, q.answer) for q in built.questions if q.hops == hops]
        for hops in (1, 2)
    }
    try:
        return rows("gold", len(set(built.memories)), sets, engines)
    finally:
        engines.close()


def alike(size: int, halves: Sequence[str]) -> list[str]:
    asked = lookalikes.questions()
    sets = {half: [(q.text, q.answer) for q in asked.questions[half]] for half in halves}
    out = []
    for with_alike in (False, True):
        engines = Engines(untimed(lookalikes.corpus(size, asked, alike=with_alike)))
        label = "with look-alikes" if with_alike else "no look-alikes"
        try:
            out += rows(label, size, sets, engines)
        finally:
            engines.close()
    return out


def conversations(halves: Sequence[str]) -> list[str]:
    built = dialogues.build()
    engines = Engines(built.turns)
    sets = {
        f"{half}, {kind}": [
            (q.text, q.answer) for q in built.questions if q.half == half and q.kind == kind
        ]
        for half in halves
        for kind in ("single-hop", "temporal", "two-hop")
    }
    for half in halves:
        sets[f"{half}, all"] = [(q.text, q.answer) for q in built.questions if q.half == half]
    try:
        return rows("conversations", len(engines.texts), sets, engines)
    finally:
        engines.close()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description="Recall quality vs FTS5 BM25 on the shipped gold sets (hit@1/5/10, MRR).",
    )
    parser.add_argument(
        "--sizes",
        type=int,
        nargs="+",
        default=[1_000, 10_000, 50_000],
        help="brain sizes for the look-alike sets (default: 1000 10000 50000)",
    )
    parser.add_argument(
        "--half",
        choices=["tuning", "held-out", "both"],
        default="both",
        help="which half of the look-alike and conversation questions to score (default: both)",
    )
    parser.add_argument(
        "--sets",
        nargs="+",
        choices=["gold", "look-alikes", "conversations"],
        default=["gold", "look-alikes", "conversations"],
        help="question sets (default: all)",
    )
    args = parser.parse_args(argv)
    halves = lookalikes.HALVES if args.half == "both" else (args.half,)
    print(machine.describe())
    print("| set | memories | questions | engine | hit@1 | hit@5 | hit@10 | MRR |")
    print("|---|---:|---|---|---:|---:|---:|---:|")
    for line in conversations(halves) if "conversations" in args.sets else []:
        print(line, flush=True)
    for size in args.sizes:
        if "gold" in args.sets and size <= 10_000:
            for line in gold(size):
                print(line, flush=True)
        if "look-alikes" in args.sets:
            for line in alike(size, halves):
                print(line, flush=True)


if __name__ == "__main__":
    main()
