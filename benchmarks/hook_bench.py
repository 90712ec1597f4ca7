"""Hook latency as Claude Code sees it: `nmem hook EVENT` as a new process, the event's JSON on
stdin, timed from start to exit, on 10K and 100K brains.

    .venv/bin/python benchmarks/hook_bench.py [sizes...]

The brain is filled through Brain.remember (transactions of 1,000) with deterministic realistic
text (benchmarks/goldset.py), an eighth of it typed instruction, preference or decision and
every memory of one of eight projects; the hooks run from a git checkout of one of
them. Each prompt is a new session, so what a session already got never empties the answer.
Figures are milliseconds (p50, p95) of wall time and of the process's CPU time (user + system:
on a loaded machine the steadier one); the first line says how loaded the machine was. Every
run must exit 0 with nothing on stderr; `answered` counts those that printed something (a prompt
with nothing relevant in the project rightly prints nothing), and the last line counts the runs
that hit the time limit.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import machine
from core_bench import BATCH, percentile, queries
from goldset import PROJECTS, realistic_text

NMEM = str(Path(sys.executable).parent / "nmem")
RUNS = 40
GUIDING = ("instruction", "preference", "decision")
TRANSCRIPT = Path(__file__).resolve().parents[1] / "tests/hooks/fixtures/transcript_worked.jsonl"


def fill(size: int) -> float:
    from neuralmemory.core.brains import open_brain

    rng = random.Random(3)
    started = time.perf_counter()
    with open_brain() as brain:
        texts = realistic_text(size)
        for start in range(0, size, BATCH):
            with brain.db.transaction():
                for text in texts[start : start + BATCH]:
                    kind = rng.choice(GUIDING) if rng.random() < 0.125 else None
                    project = f"github.com/ada/{rng.choice(PROJECTS).lower()}"
                    brain.remember(text, type=kind, project=project)
        brain.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # as a brain is between sessions
    return time.perf_counter() - started


def _children_cpu() -> float:
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def timed(
    event: str, payloads: list[dict[str, object]], cwd: Path
) -> tuple[list[float], list[float], int]:
    """Wall and CPU (user + system) milliseconds of each run, and how many answered."""
    wall, cpu, answered = [], [], 0
    for payload in payloads:
        text = json.dumps(payload)
        start, start_cpu = time.perf_counter(), _children_cpu()
        done = subprocess.run(
            [NMEM, "hook", event], input=text, capture_output=True, text=True, cwd=cwd
        )
        wall.append((time.perf_counter() - start) * 1000)
        cpu.append((_children_cpu() - start_cpu) * 1000)
        assert done.returncode == 0 and not done.stderr, done.stderr
        answered += bool(done.stdout)
    return wall, cpu, answered


def run(size: int) -> list[str]:
    with tempfile.TemporaryDirectory() as root:
        os.environ["NMEM_HOME"] = str(Path(root) / "nmem")
        checkout = Path(root) / "falcon"
        subprocess.run(["git", "init", "-q", str(checkout)], check=True)
        subprocess.run(
            ["git", "-C", str(checkout), "remote", "add", "origin", "git@github.com:ada/falcon"],
            check=True,
        )
        build_s = fill(size)
        common = {"cwd": str(checkout), "transcript_path": str(TRANSCRIPT)}
        rows = {
            "session-start": timed(
                "session-start",
                [{**common, "session_id": f"s{n}", "source": "startup"} for n in range(RUNS)],
                checkout,
            ),
            "user-prompt-submit": timed(
                "user-prompt-submit",
                [
                    {**common, "session_id": f"p{n}", "prompt": query}
                    for n, query in enumerate(queries(RUNS))
                ],
                checkout,
            ),
            "stop": timed(
                "stop", [{**common, "session_id": f"t{n}"} for n in range(RUNS)], checkout
            ),
        }
        log = Path(os.environ["NMEM_HOME"]) / "logs" / "hooks.log"
        gave_up = log.read_text().count("gave up after") if log.exists() else 0
    return [
        f"| {size:,} | {event} | {statistics.median(wall):.0f} | {percentile(wall, 95):.0f} "
        f"| {statistics.median(cpu):.0f} | {percentile(cpu, 95):.0f} | {answered}/{RUNS} "
        f"| {build_s:.0f} s |"
        for event, (wall, cpu, answered) in rows.items()
    ] + [f"(runs that hit the 1 s limit: {gave_up})"]


HEADER = (
    "| memories | hook | wall p50 ms | wall p95 ms | CPU p50 ms | CPU p95 ms | answered"
    " | brain build |\n|---:|---|---:|---:|---:|---:|---:|---:|"
)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("sizes", nargs="*", type=int, default=[10_000, 100_000], help="memories")
    sizes = parser.parse_args().sizes
    print(machine.describe(), HEADER, sep="\n")
    for size in sizes:
        print("\n".join(run(size)), flush=True)


if __name__ == "__main__":
    main()
