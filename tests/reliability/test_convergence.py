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

from helpers.sync_model import STATS, Scan, WithinSkewModel
from neuralmemory.core import crypto, e2e

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


class E2EModel(WithinSkewModel):
    """The same schedules on an end-to-end encrypted brain: every device holds its key, every
    record travels sealed, and the hub is read as a device reads it (opened)."""

    def prepare_brains(self) -> None:
        first = self.devices[0]
        with first.brain() as brain:
            brain.encrypt_brain()
            brain_id = brain.id
        with first.device.use():
            key = crypto.load_key(brain_id)
        assert key is not None
        self.codec = e2e.Codec(lambda: key)
        for device in self.devices[1:]:
            with device.brain() as brain:
                brain.rekey(brain_id)  # one brain from the start, as after joining
            with device.device.use():
                crypto.install_key(brain_id, key)
            with device.brain() as brain:
                brain.encrypt_brain()

    def _hub_scan(self) -> Scan:
        scan = super()._hub_scan()
        assert all(e2e.is_sealed(v.body) for v in scan.rows.values() if v.kind != "key")
        STATS.e2e_records += len(scan.rows)
        return Scan({k: self.codec.open(v) for k, v in scan.rows.items()}, scan.root)


@pytest.mark.slow  # after main's record history it overran 300 s on a loaded VM: not yet known why
@pytest.mark.timeout(0)
def test_sync_of_an_e2e_brain_converges_and_loses_nothing() -> None:
    before = STATS.schedules, STATS.e2e_records
    run_state_machine_as_test(E2EModel, settings=settings(FAST, max_examples=5))
    assert STATS.schedules - before[0] >= 5
    assert STATS.e2e_records > before[1]  # the hub held sealed records, read opened
