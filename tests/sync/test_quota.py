"""A full account, as a user meets it: `nmem sync` against a real `nmem serve --quota-bytes`
stops with the hub's message (no retry, no smaller batches), and syncs again once the user has
forgotten enough."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from helpers.devices import Device, Hub
from helpers.nmem import cli
from neuralmemory.protocol import PATH_STATUS

QUOTA_BYTES = 12_000  # two of the memories below fit, five do not
RUNBOOK = "restart the worker pool and drain the queue. " * 60  # a record of about 3 KB


@pytest.fixture
def full_hub(tmp_path: Path) -> Iterator[Hub]:
    running = Hub(tmp_path / "hub.db", tmp_path / "hub.log", options=("--quota-bytes", "12KB"))
    running.start()
    try:
        yield running
    finally:
        running.stop()


def hub_bytes(hub: Hub) -> int:
    used: int = httpx.get(hub.url + PATH_STATUS).json()["usage"]["bytes"]
    return used


def test_a_full_account_stops_the_sync_until_memories_are_forgotten(
    full_hub: Hub, tmp_path: Path
) -> None:
    home = tmp_path / "laptop"
    configured = cli(home, "sync", "config", "set", "--hub-url", full_hub.url, "--auto-sync", "off")
    assert configured.returncode == 0, configured.stderr
    device = Device(home, full_hub.url)
    with device.brain() as brain:
        old = [brain.remember(f"Runbook {n}: {RUNBOOK}").memory.id for n in range(2)]
    assert cli(home, "sync", "full").returncode == 0
    held = hub_bytes(full_hub)

    with device.brain() as brain:
        for n in range(3):
            brain.remember(f"Postmortem {n}: {RUNBOOK}")
    refused = cli(home, "sync", "full")
    assert refused.returncode == 1
    assert "Storage quota exceeded: this account holds" in refused.stderr
    assert f"may hold {QUOTA_BYTES:,}" in refused.stderr and "nmem forget" in refused.stderr
    assert hub_bytes(full_hub) == held  # nothing of the refused push was written
    pushes = [line for line in full_hub.log.read_text().splitlines() if "/push " in line]
    assert [line for line in pushes if " 413 " in line] == pushes[-1:]  # one try, never halved

    with device.brain() as brain:
        for memory_id in old:
            brain.forget(memory_id)
    again = cli(home, "sync", "full")
    assert again.returncode == 0, again.stderr
    assert "in sync" in again.stdout
    assert hub_bytes(full_hub) <= QUOTA_BYTES
