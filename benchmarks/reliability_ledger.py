"""The long reliability run's ledger: one CSV line per finished batch, totals per hub.

benchmarks/reliability_run.py appends a line when a batch ends (a batch killed before its end
records nothing), so the long run accumulates over many commands, machines and days, and the
README quotes `--summary`. Each batch runs its own hypothesis seed: a seed is used once per hub,
profile and schedule length, so no schedule is counted twice. A batch's first schedule is
hypothesis' simplest one, the same in every batch: batches recorded before reliability_run.py's
batch_of counted it (once each), and schedules hypothesis cut short (never checked for
convergence); since then `schedules` counts neither (sync_model.Stats).
"""

from __future__ import annotations

import csv
import json
import subprocess
from collections import Counter
from dataclasses import dataclass, field, fields
from pathlib import Path

LEDGER = Path(__file__).parent / "results" / "reliability.csv"
REPOSITORY = Path(__file__).resolve().parents[1]


@dataclass
class Batch:
    """One finished run of reliability_run.py (`cpu_s`: the run's own process; `hub_cpu_s`:
    the hub processes it started and their children -- workerd's only in batches run since
    benchmarks/group_cpu.py -- not a PostgreSQL server it did not start)."""

    date: str
    commit: str
    hub: str
    profile: str  # within-skew or far-clocks (reliability_run.py --far-clocks)
    seed: int
    steps_per_schedule: int
    schedules: int
    steps: int
    faults: int
    versions_written: int
    conflict_copies: int
    divergences: int
    versions_lost: int
    counters_lost: int
    failures: int  # 1 when a property failed (the shrunk schedule was printed)
    fuzz_cases: int
    five_xx: int
    cpu_s: float
    hub_cpu_s: float
    wall_s: float
    load: str  # the 1-minute load average at the start and at the end
    faults_by_kind: str  # JSON {kind: count}
    operations: str  # JSON {operation: count}

    def key(self) -> tuple[str, str, int, int]:
        return self.hub, self.profile, self.steps_per_schedule, self.seed


COLUMNS = [f.name for f in fields(Batch)]
INTS = {f.name for f in fields(Batch) if f.type == "int"}
FLOATS = {f.name for f in fields(Batch) if f.type == "float"}


def revision(repository: Path = REPOSITORY) -> str:
    """HEAD's short hash, with "+changes" when tracked code (src, tests, benchmarks) differs
    from it; the ledger itself does not count."""

    def git(*args: str) -> str:
        # run from the top: pathspecs are relative to the folder git runs in
        return subprocess.run(
            ["git", *args], capture_output=True, text=True, cwd=repository
        ).stdout.strip()

    code = ("src", "tests", "benchmarks", ":(exclude)benchmarks/results")
    changed = git("status", "--porcelain", "--untracked-files=no", "--", *code)
    return git("rev-parse", "--short", "HEAD") + ("+changes" if changed else "")


def read(path: Path = LEDGER) -> list[Batch]:
    if not path.exists():
        return []
    with path.open(newline="") as file:
        rows = list(csv.DictReader(file))
    return [_batch(row, path, n) for n, row in enumerate(rows, start=2)]


def _batch(row: dict[str, str], path: Path, line: int) -> Batch:
    if list(row) != COLUMNS:
        raise ValueError(f"{path}:{line}: columns {list(row)}, expected {COLUMNS}")
    values: dict[str, object] = {}
    for name, text in row.items():
        try:
            values[name] = int(text) if name in INTS else float(text) if name in FLOATS else text
        except (TypeError, ValueError):
            raise ValueError(f"{path}:{line}: {name} is {text!r}, not a number") from None
    return Batch(**values)  # type: ignore[arg-type]


def next_seed(hub: str, profile: str, steps: int, path: Path = LEDGER) -> int:
    """The lowest seed above every one this hub, profile and schedule length has used."""
    used = [b.seed for b in read(path) if b.key()[:3] == (hub, profile, steps)]
    return max(used, default=0) + 1


def append(batch: Batch, path: Path = LEDGER) -> None:
    """Add a finished batch; a seed already recorded (same hub, profile, length) is refused."""
    if any(b.key() == batch.key() for b in read(path)):
        raise ValueError(f"seed {batch.seed} is in {path} already for {batch.key()[:3]}")
    path.parent.mkdir(parents=True, exist_ok=True)
    new = not path.exists()
    with path.open("a", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=COLUMNS, lineterminator="\n")
        if new:
            writer.writeheader()
        writer.writerow({name: getattr(batch, name) for name in COLUMNS})


@dataclass
class Total:
    batches: int = 0
    schedules: int = 0
    steps: int = 0
    faults: int = 0
    versions_written: int = 0
    conflict_copies: int = 0
    divergences: int = 0
    versions_lost: int = 0
    counters_lost: int = 0
    failures: int = 0
    five_xx: int = 0
    cpu_s: float = 0.0
    hub_cpu_s: float = 0.0
    faults_by_kind: Counter[str] = field(default_factory=Counter)
    operations: Counter[str] = field(default_factory=Counter)
    commits: list[str] = field(default_factory=list)
    loads: list[float] = field(default_factory=list)
    dates: list[str] = field(default_factory=list)


def totals(batches: list[Batch]) -> dict[tuple[str, str, int], Total]:
    """Sums per (hub, profile, steps per schedule), in the order they first appear."""
    found: dict[tuple[str, str, int], Total] = {}
    for b in batches:
        total = found.setdefault(b.key()[:3], Total())
        total.batches += 1
        for name in (
            "schedules",
            "steps",
            "faults",
            "versions_written",
            "conflict_copies",
            "divergences",
            "versions_lost",
            "counters_lost",
            "failures",
            "five_xx",
            "cpu_s",
            "hub_cpu_s",
        ):
            setattr(total, name, getattr(total, name) + getattr(b, name))
        total.faults_by_kind.update(json.loads(b.faults_by_kind))
        total.operations.update(json.loads(b.operations))
        if b.commit not in total.commits:
            total.commits.append(b.commit)
        total.loads += [float(x) for x in b.load.split()]
        total.dates.append(b.date[:10])
    return found


def summary(batches: list[Batch]) -> str:
    lines = []
    for (hub, profile, length), t in totals(batches).items():
        per = t.cpu_s / t.schedules if t.schedules else 0.0
        faults = ", ".join(f"{k} {n}" for k, n in sorted(t.faults_by_kind.items()))
        operations = ", ".join(f"{k} {n}" for k, n in sorted(t.operations.items()))
        lines += [
            f"{hub} ({profile}, {length} steps a schedule): {t.batches} batches, "
            f"{min(t.dates)} to {max(t.dates)}, commits {' '.join(t.commits)}",
            f"  schedules {t.schedules:,} ({t.steps:,} steps)",
            f"  faults {t.faults:,} ({faults})",
            f"  operations: {operations}",
            f"  versions written {t.versions_written:,}, conflict copies {t.conflict_copies:,}",
            f"  divergences {t.divergences}, versions lost {t.versions_lost}, counters lost "
            f"{t.counters_lost}, failed batches {t.failures}, 5xx {t.five_xx}",
            f"  CPU {t.cpu_s:,.0f} s ({per:.2f} s a schedule) + hub processes {t.hub_cpu_s:,.0f} s;"
            f" load average {min(t.loads):.1f} to {max(t.loads):.1f}",
        ]
    return "\n".join(lines) if lines else "no batches recorded"
