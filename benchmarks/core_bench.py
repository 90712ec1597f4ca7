"""Memory-core performance: remember and recall latency, and disk use, at 10K and 100K memories.

    .venv/bin/python benchmarks/core_bench.py [sizes...]

The brain is filled through Brain.remember (batched into transactions of 1,000 so the build
takes minutes, not an hour; its cost is also given per memory); then remember is timed on the
real API, one call and one commit per memory, and recall on the real API, reinforcement
included: its wall time, and its CPU time (on a loaded machine the steadier one). The memories
are realistic notes and conversation turns of 80-300 characters (benchmarks/texts.py); the
queries ask about the gold set's people, projects and components (benchmarks/goldset.py), which
those texts name.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
from pathlib import Path

import machine
import texts
from goldset import ASPECTS, COMPONENTS, PROJECTS, people

BATCH = 1_000
TIMED_REMEMBERS = 500
TIMED_RECALLS = 300


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def queries(count: int) -> list[str]:
    rng = random.Random(5)
    staff = [person for person, _ in people(rng)]
    shapes = [
        lambda: f"what does {rng.choice(staff)} work on",
        lambda: f"{rng.choice(list(ASPECTS))} for {rng.choice(PROJECTS)}",
        lambda: f"why was the {rng.choice(COMPONENTS)} down",
        lambda: f"{rng.choice(staff)} {rng.choice(COMPONENTS)} review",
    ]
    return [rng.choice(shapes)() for _ in range(count)]


def run(size: int) -> str:
    from neuralmemory.core.brains import open_brain

    contents = texts.memories(size + TIMED_REMEMBERS)
    with tempfile.TemporaryDirectory() as home:
        os.environ["NMEM_HOME"] = home
        with open_brain() as brain:
            started = time.perf_counter()
            for start in range(0, size, BATCH):
                with brain.db.transaction():
                    for text in contents[start : start + BATCH]:
                        brain.remember(text)
            build_s = time.perf_counter() - started

            remember_ms = []
            for text in contents[size:]:
                t0 = time.perf_counter()
                brain.remember(text)
                remember_ms.append((time.perf_counter() - t0) * 1000)

            recall_ms, recall_cpu_ms = [], []
            for query in queries(TIMED_RECALLS):
                t0, c0 = time.perf_counter(), time.process_time()
                brain.recall(query, limit=10)
                recall_ms.append((time.perf_counter() - t0) * 1000)
                recall_cpu_ms.append((time.process_time() - c0) * 1000)

            brain.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            memories = brain.stats().memories
            per_memory = Path(brain.path).stat().st_size / memories
    return (
        f"| {size:,} | {statistics.median(remember_ms):.2f} | {percentile(remember_ms, 95):.2f} "
        f"| {statistics.median(recall_ms):.2f} | {percentile(recall_ms, 95):.2f} "
        f"| {statistics.median(recall_cpu_ms):.2f} | {percentile(recall_cpu_ms, 95):.2f} "
        f"| {per_memory:,.0f} | {build_s:.0f} s ({build_s * 1e6 / size:,.0f} µs/memory) |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("sizes", nargs="*", type=int, default=[10_000, 100_000], help="memories")
    sizes = parser.parse_args().sizes
    print(machine.describe())
    print(
        "| memories | remember p50 ms | remember p95 ms | recall p50 ms | recall p95 ms "
        "| recall CPU p50 ms | recall CPU p95 ms | DB bytes/memory | build |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for size in sizes:
        print(run(size), flush=True)


if __name__ == "__main__":
    main()
