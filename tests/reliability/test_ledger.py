"""The long run's ledger (benchmarks/reliability_ledger.py): a line per finished batch, a seed
used once per hub, profile and schedule length, totals per hub, and a clear error for a file
that is not a ledger."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from types import ModuleType

import pytest

from helpers.sync_model import STATS, WithinSkewModel

ROOT = Path(__file__).parents[2]


def benchmark_module(name: str) -> ModuleType:
    """A script of benchmarks/ as a module of that name, as the scripts import each other when
    run (without adding benchmarks/ to sys.path)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # its dataclasses look it up
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def ledger() -> ModuleType:
    return benchmark_module("reliability_ledger")


def batch(ledger: ModuleType, **changed: object) -> object:
    base = ledger.Batch(
        date="2026-12-06T01:00:00+00:00",
        commit="abc1234",
        hub="sqlite",
        profile="within-skew",
        seed=1,
        steps_per_schedule=20,
        schedules=200,
        steps=3900,
        faults=700,
        versions_written=2500,
        conflict_copies=9,
        divergences=0,
        versions_lost=0,
        counters_lost=0,
        failures=0,
        fuzz_cases=0,
        five_xx=0,
        cpu_s=210.5,
        hub_cpu_s=0.0,
        wall_s=400.0,
        load="5.1 6.2",
        faults_by_kind=json.dumps({"duplicate": 300, "hub disk full": 400}),
        operations=json.dumps({"first syncs at once": 80}),
    )
    return replace(base, **changed)


def test_batches_accumulate_and_sum_per_hub(ledger: ModuleType, tmp_path: Path) -> None:
    path = tmp_path / "results" / "reliability.csv"
    assert ledger.next_seed("sqlite", "within-skew", 20, path) == 1
    ledger.append(batch(ledger), path)
    ledger.append(batch(ledger, seed=2, cpu_s=190.0, load="7.0 3.9"), path)
    ledger.append(batch(ledger, hub="worker", schedules=50, steps=990, hub_cpu_s=300.0), path)
    assert ledger.next_seed("sqlite", "within-skew", 20, path) == 3
    assert ledger.next_seed("sqlite", "within-skew", 60, path) == 1  # another length
    assert ledger.next_seed("worker", "within-skew", 20, path) == 2
    read = ledger.read(path)
    assert [b.seed for b in read] == [1, 2, 1] and read[0] == batch(ledger)
    totals = ledger.totals(read)
    sqlite = totals[("sqlite", "within-skew", 20)]
    assert (sqlite.batches, sqlite.schedules, sqlite.steps) == (2, 400, 7800)
    assert sqlite.cpu_s == pytest.approx(400.5)
    assert sqlite.faults_by_kind == {"duplicate": 600, "hub disk full": 800}
    assert (min(sqlite.loads), max(sqlite.loads)) == (3.9, 7.0)
    text = ledger.summary(read)
    assert "sqlite (within-skew, 20 steps a schedule): 2 batches" in text
    assert "schedules 400 (7,800 steps)" in text and "schedules 50 (990 steps)" in text
    assert "CPU 400 s (1.00 s a schedule)" in text


def test_a_seed_is_recorded_once_per_hub_profile_and_length(
    ledger: ModuleType, tmp_path: Path
) -> None:
    path = tmp_path / "reliability.csv"
    ledger.append(batch(ledger), path)
    with pytest.raises(ValueError, match=r"seed 1 is in .* already"):
        ledger.append(batch(ledger, commit="def5678"), path)
    ledger.append(batch(ledger, profile="far-clocks"), path)
    assert len(ledger.read(path)) == 2


def test_a_file_that_is_not_a_ledger_is_named_with_its_line(
    ledger: ModuleType, tmp_path: Path
) -> None:
    path = tmp_path / "reliability.csv"
    path.write_text("date,hub\n2026-12-06,sqlite\n")
    with pytest.raises(ValueError, match=r"reliability.csv:2: columns \['date', 'hub'\]"):
        ledger.read(path)
    ledger.append(batch(ledger), tmp_path / "good.csv")
    lines = (tmp_path / "good.csv").read_text().splitlines()
    (tmp_path / "bad.csv").write_text(lines[0] + "\n" + lines[1].replace(",200,", ",many,") + "\n")
    with pytest.raises(ValueError, match=r"bad\.csv:2: schedules is 'many', not a number"):
        ledger.read(tmp_path / "bad.csv")


def test_no_ledger_yet_is_no_batches(ledger: ModuleType, tmp_path: Path) -> None:
    assert ledger.read(tmp_path / "none.csv") == []
    assert ledger.summary([]) == "no batches recorded"


@pytest.mark.parametrize("option", ["--seed", "--schedules", "--steps"])
def test_reliability_run_refuses_a_count_below_one(option: str, tmp_path: Path) -> None:
    script = ROOT / "benchmarks" / "reliability_run.py"
    ledger_file = tmp_path / "reliability.csv"
    args = [sys.executable, str(script), option, "0", "--ledger", str(ledger_file)]
    done = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert f"argument {option}: 0 is not a positive number" in done.stderr
    assert not ledger_file.exists()


def test_reliability_run_summary_reads_the_ledger(ledger: ModuleType, tmp_path: Path) -> None:
    ledger_file = tmp_path / "reliability.csv"
    ledger.append(batch(ledger, hub="postgres-pair"), ledger_file)
    script = ROOT / "benchmarks" / "reliability_run.py"
    args = [sys.executable, str(script), "--summary", "--ledger", str(ledger_file)]
    done = subprocess.run(args, capture_output=True, text=True, timeout=120, check=True)
    assert done.stdout.startswith("postgres-pair (within-skew, 20 steps a schedule): 1 batches")


def test_a_batch_run_on_changed_code_says_so_whatever_folder_changed(
    ledger: ModuleType, tmp_path: Path
) -> None:
    """A batch records the commit it ran, marked "+changes" when src, tests or benchmarks differ
    from it (the ledger itself does not count): the pathspecs once only matched inside
    benchmarks/, so edits of the model in tests/ went unmarked."""

    assert ROOT.resolve() == ledger.REPOSITORY  # by default, this repository from its top

    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)

    files = ["src/a.py", "tests/helpers/b.py", "benchmarks/c.py", "benchmarks/results/d.csv"]
    for name in files:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("one\n")
    git("init", "-q")
    git("add", *files)
    git("-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "first")
    clean = ledger.revision(tmp_path)
    assert len(clean) >= 7 and "+" not in clean
    (tmp_path / "benchmarks/results/d.csv").write_text("two\n")
    assert ledger.revision(tmp_path) == clean
    for name in files[:3]:
        (tmp_path / name).write_text("two\n")
        assert ledger.revision(tmp_path) == clean + "+changes", name
        (tmp_path / name).write_text("one\n")


class CountedStarts(WithinSkewModel):
    """The model, counting every schedule hypothesis starts (counted or not)."""

    started = 0

    def __init__(self) -> None:
        super().__init__()
        CountedStarts.started += 1


def test_a_batch_counts_the_schedules_asked_for_not_hypothesis_simplest_one() -> None:
    """Every batch first runs hypothesis' simplest schedule, the same in each: the run asks for
    one schedule more and leaves that one out, so a batch counts what it was asked for."""
    for sibling in ("machine", "reliability_ledger", "group_cpu"):  # what the script imports
        benchmark_module(sibling)
    runner = benchmark_module("reliability_run")
    before = STATS.schedules, STATS.steps
    assert runner.run_model(CountedStarts, 3, 4, 11)
    assert STATS.schedules - before[0] == 3
    assert CountedStarts.started >= 4  # the simplest one ran, and any hypothesis cut short
    assert 0 < STATS.steps - before[1] <= 3 * 4
