"""Convergence under random schedules and faults, with an in-process hub (sync_model.py).

The fast profiles run in `make test` (derandomized, no example database, so CI is stable); the
long ones are marked `slow` (`make test-long`), and benchmarks/reliability_run.py runs it with
figures. NMEM_RELIABILITY_EXAMPLES scales the long runs. Each runs on a plain brain and on an
end-to-end encrypted one (E2EModel).
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings
from hypothesis.stateful import run_state_machine_as_test

from helpers.sync_model import STATS, Scan, SimDevice, WithinSkewModel
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
            self.brain_id = brain.id
        with first.device.use():
            key = crypto.load_key(self.brain_id)
        assert key is not None
        self.key = key
        self.codec = e2e.Codec(lambda: key)
        for device in self.devices[1:]:
            self._join_e2e(device)

    def add_device(self, strategy: str) -> SimDevice:
        added = super().add_device(strategy)
        if hasattr(self, "key"):  # a device joining later: key received, brain made --e2e
            self._join_e2e(added)
        return added

    def _join_e2e(self, device: SimDevice) -> None:
        """As `nmem keys receive CODE`, then `nmem brain create --e2e` of the hub's brain."""
        with device.brain() as brain:
            brain.rekey(self.brain_id)  # one brain from the start, as after joining
        with device.device.use():
            crypto.install_key(self.brain_id, self.key)
        with device.brain() as brain:
            brain.encrypt_brain()

    def _hub_scan(self) -> Scan:
        scan = super()._hub_scan()
        assert all(e2e.is_sealed(v.body) for v in scan.rows.values() if v.kind != "key")
        STATS.e2e_records += len(scan.rows)
        return Scan({k: self.codec.open(v) for k, v in scan.rows.items()}, scan.root)


#: The E2E model in CI: shorter schedules than FAST (every step seals and opens records on every
#: device): 8 of 15 steps took 70 s on the shared 2-core VM at load average 15, and still reach
#: races, joins, restores, a full hub disk, faults and clocks far ahead.
E2E_FAST = settings(FAST, max_examples=8, stateful_step_count=15)


def run_e2e_model(profile: settings) -> None:
    before = STATS.schedules, STATS.e2e_records
    run_state_machine_as_test(E2EModel, settings=profile)
    assert STATS.schedules - before[0] >= profile.max_examples
    assert STATS.e2e_records > before[1]  # the hub held sealed records, read opened


@pytest.mark.timeout(300)
def test_sync_of_an_e2e_brain_converges_and_loses_nothing() -> None:
    run_e2e_model(E2E_FAST)


@pytest.mark.slow
@pytest.mark.timeout(0)
def test_sync_of_an_e2e_brain_converges_and_loses_nothing_long() -> None:
    run_e2e_model(LONG)
