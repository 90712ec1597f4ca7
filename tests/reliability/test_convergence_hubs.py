"""The convergence model against the other two hubs (model_hubs.py): two PostgreSQL-backed
`nmem serve` replicas behind a round-robin proxy, and the Worker under `wrangler dev` with its D1
on a small disk of its own. Each hub is started once; each schedule is an account of its own.
A few schedules per hub in `make test`; the long run is `slow`, and
benchmarks/reliability_run.py --hub runs it with figures.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings
from hypothesis.stateful import run_state_machine_as_test
from test_convergence import FAST

from helpers.hub_targets import small_disks_work
from helpers.model_hubs import RemoteHub, remote_hub
from helpers.sync_model import STATS, RemoteHubModel

HUBS = [
    pytest.param("postgres-pair", marks=pytest.mark.postgres, id="postgres-pair"),
    pytest.param("worker", marks=pytest.mark.worker, id="worker"),
]

FEW = settings(FAST, max_examples=3, stateful_step_count=20)


@pytest.fixture(scope="module", params=HUBS)
def hub(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RemoteHub]:
    if request.param == "worker" and not small_disks_work():
        pytest.skip("needs unprivileged mount namespaces (unshare -rm) for the Worker's disk")
    workdir: Path = tmp_path_factory.mktemp(request.param)
    with remote_hub(request.param, workdir) as running:
        yield running


def run(hub: RemoteHub, run_settings: settings) -> None:
    RemoteHubModel.hub = hub
    try:
        run_state_machine_as_test(RemoteHubModel, settings=run_settings)
    finally:
        RemoteHubModel.hub = None


@pytest.mark.timeout(600)
def test_sync_converges_on_every_hub(hub: RemoteHub) -> None:
    before = STATS.schedules, STATS.faults["hub disk full"]
    run(hub, FEW)
    assert STATS.schedules - before[0] >= FEW.max_examples


@pytest.mark.slow
@pytest.mark.timeout(0)
def test_sync_converges_on_every_hub_long(hub: RemoteHub) -> None:
    examples = int(os.environ.get("NMEM_RELIABILITY_EXAMPLES", "100"))
    run(hub, settings(FEW, max_examples=examples, derandomize=False))
