"""Convergence with a real `nmem serve` killed and restarted between commit and reply.

The same model as test_convergence.py (sync_model.SyncModel), with the hub a real process on a
loopback port: the `kill` fault lets a request commit, SIGKILLs the hub, starts it again on the
same database and port, and drops the reply; the client's retry reaches the new process.
Smaller than the in-process run: every restart costs a process start.
"""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import initialize, rule, run_state_machine_as_test

from helpers.devices import Hub
from helpers.sync_model import STATS, WithinSkewModel
from neuralmemory.config import STRATEGIES


class RealHubModel(WithinSkewModel):
    fault_kinds = ("kill",)  # drop_reply and duplicate: test_convergence.py, in-process
    # The kill restarts the hub from the thread of the request that armed it; another device's
    # sync in flight at that moment is not what this model checks (the others run concurrent
    # syncs against hubs that stay up).
    concurrent = False

    @initialize(strategies=st.lists(st.sampled_from(STRATEGIES), min_size=2, max_size=4))
    def make_devices(self, strategies: list[str]) -> None:
        """As the model's, and the first device's first request kills the hub: every schedule
        has at least one kill, however many other rules the model's schedules draw."""
        super().make_devices(strategies)
        self.pick(0).transport.arm("kill", "any")

    @rule(index=st.integers(0, 3), endpoint=st.sampled_from(["push", "pull", "any"]))
    def kill_hub(self, index: int, endpoint: str) -> None:
        """The hub dies after committing the device's next such request, before replying."""
        self.pick(index).transport.arm("kill", endpoint)

    def start_hub(self) -> tuple[httpx.BaseTransport, str, Callable[[], None] | None]:
        hub = Hub(self.root / "hub.db", self.root / "hub.log")
        hub.start()
        self.stack.callback(hub.stop)
        transport = httpx.HTTPTransport()
        self.stack.callback(transport.close)

        def restart() -> None:
            hub.kill()
            hub.start()

        return transport, hub.url, restart


REAL = settings(
    max_examples=3,
    stateful_step_count=20,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)


@pytest.mark.timeout(300)
def test_sync_converges_with_a_real_hub_killed_between_commit_and_reply() -> None:
    kills = STATS.faults["kill"]
    run_state_machine_as_test(RealHubModel, settings=REAL)
    assert STATS.faults["kill"] > kills  # the schedule really killed the hub mid-request


@pytest.mark.slow
@pytest.mark.timeout(0)
def test_real_hub_long() -> None:
    run_state_machine_as_test(
        RealHubModel, settings=settings(REAL, max_examples=30, derandomize=False)
    )
