"""Convergence under random schedules and faults, with an in-process hub (sync_model.py).

The fast profile runs in `make test` (derandomized, no example database, so CI is stable); the
long one is marked `slow` (`make test-long`), and benchmarks/reliability_run.py runs it with
figures. NMEM_RELIABILITY_EXAMPLES scales the long run.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings
from hypothesis.stateful import run_state_machine_as_test
from sync_model import STATS, WithinSkewModel

FAST = settings(
    max_examples=10,
    stateful_step_count=30,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    print_blob=True,
)

LONG = settings(
    FAST,
    max_examples=int(os.environ.get("NMEM_RELIABILITY_EXAMPLES", "300")),
    stateful_step_count=60,
    derandomize=False,
)


@pytest.mark.timeout(300)
def test_sync_converges_and_loses_nothing() -> None:
    before = STATS.schedules, sum(STATS.faults.values())
    run_state_machine_as_test(WithinSkewModel, settings=FAST)
    assert STATS.schedules - before[0] >= FAST.max_examples
    assert sum(STATS.faults.values()) > before[1]  # faults were injected


@pytest.mark.slow
@pytest.mark.timeout(0)
def test_sync_converges_and_loses_nothing_long() -> None:
    run_state_machine_as_test(WithinSkewModel, settings=LONG)
