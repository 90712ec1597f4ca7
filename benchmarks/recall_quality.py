"""Recall quality on the shipped synthetic gold set: our recall vs plain FTS5 BM25.

    .venv/bin/python benchmarks/recall_quality.py

Prints hit@1, hit@5 and MRR (over the top 10) per question type, at 1K and 10K memories. The
baseline is an FTS5 table with the same tokenizer queried with the same words (OR), ranked by
bm25(): exactly our recall without spreading activation.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

import machine
from goldset import GoldSet, Question, build
from neuralmemory.core.extract import extract
from neuralmemory.core.recall import fts_expression


def baseline(memories: list[str]) -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE VIRTUAL TABLE t USING fts5(body, tokenize='porter unicode61')")
    conn.executemany("INSERT INTO t (rowid, body) VALUES (?, ?)", enumerate(memories, 1))
    return conn


def bm25_top(conn: sqlite3.Connection, memories: list[str], query: str) -> list[str]:
    words = list(dict.fromkeys(extract(query, now_ms=0).words))
    rows = conn.execute(
        "SELECT rowid FROM t WHERE t MATCH ? ORDER BY bm25(t) LIMIT 10", (fts_expression(words),)
    )
    return [memories[rowid - 1] for (rowid,) in rows]


def score(ranked: dict[Question, list[str]]) -> dict[int, tuple[float, float, float]]:
    per_hops: dict[int, list[tuple[int, int, float]]] = defaultdict(list)
    for question, results in ranked.items():
        rank = results.index(question.answer) + 1 if question.answer in results else 0
        per_hops[question.hops].append(
            (int(rank == 1), int(1 <= rank <= 5), 1 / rank if rank else 0.0)
        )
    return {
        hops: tuple(sum(col) / len(rows) for col in zip(*rows, strict=True))  # type: ignore[misc]
        for hops, rows in sorted(per_hops.items())
    }


def evaluate(gold: GoldSet) -> tuple[dict[int, tuple[float, float, float]], ...]:
    with tempfile.TemporaryDirectory() as home:
        os.environ["NMEM_HOME"] = home
        from neuralmemory.core.brains import open_brain

        with open_brain() as brain:
            with brain.db.transaction():
                ids = {brain.remember(text).memory.id: text for text in gold.memories}
            ours = {
                q: [ids[h.memory.id] for h in brain.recall(q.text, limit=10, reinforce=False)]
                for q in gold.questions
            }
    conn = baseline(gold.memories)
    theirs = {q: bm25_top(conn, gold.memories, q.text) for q in gold.questions}
    return score(ours), score(theirs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "sizes", type=int, nargs="*", default=[1_000, 10_000], help="gold set sizes (memories)"
    )
    sizes = parser.parse_args().sizes
    print(machine.describe())
    print("| memories | questions | engine | hit@1 | hit@5 | MRR |")
    print("|---:|---|---|---:|---:|---:|")
    for size in sizes:
        gold = build(size)
        counts = {h: sum(q.hops == h for q in gold.questions) for h in (1, 2)}
        ours, theirs = evaluate(gold)
        for hops in (1, 2):
            for name, result in (("nmem recall", ours), ("FTS5 BM25", theirs)):
                h1, h5, mrr = result[hops]
                print(
                    f"| {size:,} | {hops}-hop ({counts[hops]}) | {name} "
                    f"| {h1:.2f} | {h5:.2f} | {mrr:.3f} |"
                )


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    main()
