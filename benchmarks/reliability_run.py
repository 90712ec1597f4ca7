"""The long reliability run: the convergence model for many schedules, then schemathesis.

    .venv/bin/python benchmarks/reliability_run.py [--hub sqlite|postgres-pair|worker]
        [--schedules 300] [--steps 60] [--fuzz 300] [--far-clocks]

--hub: the in-process hub on SQLite (default), two PostgreSQL-backed `nmem serve` replicas behind
a round-robin proxy, or the Worker under `wrangler dev` (tests/helpers/model_hubs.py).
--far-clocks: clocks beyond the 24 h skew bound too (SyncModel: 30 h back, 3 days to a year
ahead, which the hubs accept); without it the model keeps clocks within the bound, but for jumps
of 225 years, which every hub refuses (WithinSkewModel).

Prints schedules run, steps, faults injected by kind, divergences, versions lost, fuzz cases run
and 5xx replies -- the figures the README's Reliability section quotes. Exit status 1 when any
property failed (the failing schedule is printed, shrunk).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import traceback
from contextlib import ExitStack
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis.stateful import run_state_machine_as_test

import machine
from helpers.hub_fuzz import schemathesis_run, server_errors
from helpers.hub_targets import TARGETS, HubOptions
from helpers.model_hubs import HUBS, remote_hub
from helpers.sync_model import (
    STATS,
    RemoteHubModel,
    SyncModel,
    WithinSkewModel,
)


def convergence(hub: str, schedules: int, steps: int, *, far_clocks: bool) -> bool:
    model: type[SyncModel] = SyncModel if far_clocks else WithinSkewModel
    if hub == "sqlite":
        return run_model(model, schedules, steps)
    with tempfile.TemporaryDirectory() as tmp, remote_hub(hub, Path(tmp)) as running:
        RemoteHubModel.hub = running
        return run_model(RemoteHubModel, schedules, steps)


def run_model(model: type[SyncModel], schedules: int, steps: int) -> bool:
    run = settings(
        max_examples=schedules,
        stateful_step_count=steps,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    try:
        run_state_machine_as_test(model, settings=run)
    except Exception:
        traceback.print_exc()
        return False
    return True


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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hub", choices=HUBS, default="sqlite")
    parser.add_argument("--far-clocks", action="store_true", help="clocks beyond the 24 h bound")
    parser.add_argument("--schedules", type=int, default=300)
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument(
        "--fuzz", type=int, default=300, help="schemathesis cases per operation (0: none)"
    )
    args = parser.parse_args()
    print(machine.describe())
    started = time.monotonic()
    converged = convergence(args.hub, args.schedules, args.steps, far_clocks=args.far_clocks)
    model_s = time.monotonic() - started
    cases, failed, five_xx = fuzz(args.fuzz) if args.fuzz else (0, 0, 0)
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
    return 0 if converged and failed == 0 and five_xx == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
