"""The long reliability run: the convergence model for many schedules, then schemathesis.

    .venv/bin/python benchmarks/reliability_run.py [--hub sqlite|postgres-pair|worker]
        [--schedules 300] [--steps 60] [--fuzz 300] [--far-clocks] [--seed N] [--no-ledger]
    .venv/bin/python benchmarks/reliability_run.py --summary

--hub: the in-process hub on SQLite (default), two PostgreSQL-backed `nmem serve` replicas behind
a round-robin proxy, or the Worker under `wrangler dev` (tests/helpers/model_hubs.py).
--far-clocks: clocks beyond the 24 h skew bound too (SyncModel: 30 h back, 3 days to a year
ahead, which the hubs accept); without it the model keeps clocks within the bound, but for jumps
of 225 years, which every hub refuses (WithinSkewModel).

--seed: the hypothesis seed of this batch; by default the next one the ledger has not used for
this hub, profile and schedule length, so batches run one after another never repeat a schedule.

Prints schedules run (those that ran to their end and passed every check, but hypothesis'
simplest one, which every batch runs first: sync_model.Stats, batch_of), steps, faults injected
by kind, divergences, versions lost, fuzz cases run, 5xx replies and CPU, and appends them as a
line to the ledger (benchmarks/reliability_ledger.py, benchmarks/results/reliability.csv) when
the batch ends; `--summary` prints the ledger's totals per hub, the figures the README's
Reliability section quotes. Exit status 1 when any property failed (the failing schedule is
printed, shrunk, with the seed that replays it).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import traceback
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

from hypothesis import HealthCheck, seed, settings
from hypothesis.stateful import run_state_machine_as_test

import machine
import reliability_ledger as ledger
from group_cpu import group_cpu
from helpers.hub_fuzz import schemathesis_run, server_errors
from helpers.hub_targets import TARGETS, HubOptions
from helpers.model_hubs import HUBS, remote_hub
from helpers.sync_model import (
    STATS,
    RemoteHubModel,
    SyncModel,
    WithinSkewModel,
)


def convergence(
    hub: str, schedules: int, steps: int, *, far_clocks: bool, batch: int
) -> tuple[bool, float]:
    """(whether every schedule passed, CPU seconds of the hub's processes not waited for)."""
    model: type[SyncModel] = SyncModel if far_clocks else WithinSkewModel
    if hub == "sqlite":
        return run_model(model, schedules, steps, batch), 0.0
    with (
        tempfile.TemporaryDirectory() as tmp,
        remote_hub(hub, Path(tmp)) as running,
        group_cpu(running.groups) as grandchildren,
    ):
        RemoteHubModel.hub = running
        passed = run_model(RemoteHubModel, schedules, steps, batch)
    return passed, grandchildren.seconds


def run_model(model: type[SyncModel], schedules: int, steps: int, batch: int) -> bool:
    run = settings(
        max_examples=schedules + 1,  # and the simplest schedule, which batch_of does not count
        stateful_step_count=steps,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        print_blob=True,
    )
    try:
        run_state_machine_as_test(batch_of(model, batch), settings=run)
    except Exception:
        traceback.print_exc()
        return False
    return True


def batch_of(model: type[SyncModel], batch: int) -> type[SyncModel]:
    """`model` with this batch's seed (the class given stays unseeded), not counting the first
    schedule that passes: hypothesis runs its simplest schedule first, the same in every batch."""
    first = True

    def count_schedule(self: SyncModel) -> None:
        nonlocal first
        if not first:
            model.count_schedule(self)
        first = False

    batch_model: type[SyncModel] = type(
        model.__name__, (model,), {"count_schedule": count_schedule}
    )
    return seed(batch)(batch_model)


def fuzz(examples: int) -> tuple[int, int, int]:
    """(cases run, checks failed, 5xx replies in the hub's own log)."""
    with ExitStack() as stack, tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        hub = stack.enter_context(TARGETS["python-sqlite"].start(HubOptions(auth="local"), work))
        result = schemathesis_run(
            hub, work / "report", examples=examples, phases="examples,coverage,fuzzing,stateful"
        )
        errors = len(server_errors(hub))
    return result["test_cases"]["generated"], result["test_cases"]["with_failures"], errors


def positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not a positive number")
    return value


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hub", choices=HUBS, default="sqlite")
    parser.add_argument("--far-clocks", action="store_true", help="clocks beyond the 24 h bound")
    parser.add_argument("--schedules", type=positive, default=300)
    parser.add_argument("--steps", type=positive, default=60)
    parser.add_argument(
        "--fuzz", type=int, default=300, help="schemathesis cases per operation (0: none)"
    )
    parser.add_argument("--seed", type=positive, help="default: the ledger's next unused one")
    parser.add_argument("--no-ledger", action="store_true", help="record nothing")
    parser.add_argument("--ledger", type=Path, default=ledger.LEDGER, help="the ledger's file")
    parser.add_argument("--summary", action="store_true", help="the ledger's totals, then exit")
    args = parser.parse_args()
    if args.summary:
        print(ledger.summary(ledger.read(args.ledger)))
        return 0
    profile = "far-clocks" if args.far_clocks else "within-skew"
    batch = args.seed or ledger.next_seed(args.hub, profile, args.steps, args.ledger)
    # best of 2, not 5: 2-3 s of CPU a batch, which the batch's own figures do not scale by
    print(machine.describe(reference_runs=2))
    print(f"seed:                 {batch} ({args.hub}, {profile}, {args.steps} steps)")
    revision = ledger.revision()  # the code this batch runs, read before it runs
    load = os.getloadavg()[0]
    cpu = os.times()
    started = time.monotonic()
    converged, grandchildren_s = convergence(
        args.hub, args.schedules, args.steps, far_clocks=args.far_clocks, batch=batch
    )
    model_s = time.monotonic() - started
    cases, failed, five_xx = fuzz(args.fuzz) if args.fuzz else (0, 0, 0)
    used = os.times()
    cpu_s = used.user - cpu.user + used.system - cpu.system
    hub_cpu_s = (
        used.children_user
        - cpu.children_user
        + used.children_system
        - cpu.children_system
        + grandchildren_s
    )
    faults = ", ".join(f"{kind} {n}" for kind, n in sorted(STATS.faults.items()))
    print(f"hub:                  {args.hub}")
    print(f"schedules run:        {STATS.schedules} ({STATS.steps} steps, {model_s:.0f} s)")
    print(f"faults injected:      {sum(STATS.faults.values())} ({faults})")
    print(f"operations:           {dict(sorted(STATS.operations.items()))}")
    print(f"versions written:     {STATS.versions_written} ({STATS.versions_checked} checked)")
    print(f"conflict copies made: {STATS.conflict_copies}")
    print(f"divergences:          {STATS.divergences + (0 if converged else 1)}")
    print(f"versions lost:        {STATS.versions_lost}")
    print(f"counter entries lost: {STATS.counters_lost}")
    print(f"fuzz cases run:       {cases} ({failed} with a failed check)")
    print(f"5xx replies:          {five_xx}")
    per = (cpu_s + hub_cpu_s) / max(STATS.schedules, 1)
    print(f"CPU:                  {cpu_s:.1f} s + hub {hub_cpu_s:.1f} s ({per:.3f} s a schedule)")
    if not converged:
        print(f"replay:               --hub {args.hub} --seed {batch} --steps {args.steps}")
    if not args.no_ledger:
        ledger.append(
            ledger.Batch(
                date=datetime.now(UTC).isoformat(timespec="seconds"),
                commit=revision,
                hub=args.hub,
                profile=profile,
                seed=batch,
                steps_per_schedule=args.steps,
                schedules=STATS.schedules,
                steps=STATS.steps,
                faults=sum(STATS.faults.values()),
                versions_written=STATS.versions_written,
                conflict_copies=STATS.conflict_copies,
                divergences=STATS.divergences + (0 if converged else 1),
                versions_lost=STATS.versions_lost,
                counters_lost=STATS.counters_lost,
                failures=0 if converged else 1,
                fuzz_cases=cases,
                five_xx=five_xx,
                cpu_s=round(cpu_s, 1),
                hub_cpu_s=round(hub_cpu_s, 1),
                wall_s=round(time.monotonic() - started, 1),
                load=f"{load:.1f} {os.getloadavg()[0]:.1f}",
                faults_by_kind=json.dumps(dict(sorted(STATS.faults.items()))),
                operations=json.dumps(dict(sorted(STATS.operations.items()))),
            ),
            args.ledger,
        )
        print(f"ledger:               {args.ledger} (+1 line)")
    return 0 if converged and failed == 0 and five_xx == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
