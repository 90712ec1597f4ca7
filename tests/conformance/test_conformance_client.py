"""The real client against every hub: `nmem`'s commands (in-process: the same exit codes and
output), two devices as two NMEM_HOMEs."""

from __future__ import annotations

from pathlib import Path

import httpx

from helpers.hub_api import register
from helpers.hub_targets import RunningHub
from helpers.nmem import cli_json


def test_two_devices_sync_through_the_hub(
    hub: RunningHub, client: httpx.Client, tmp_path: Path
) -> None:
    key = register(client).key
    laptop, desktop = tmp_path / "laptop", tmp_path / "desktop"
    # auto-sync off: the explicit syncs below are what the test reads (a detached auto-sync child
    # racing them on a slow machine pushed first, and the first `sync full` pushed 0)
    args = ("--hub-url", hub.url, "--api-key", key, "--auto-sync", "off")
    for home in (laptop, desktop):
        cli_json(home, "sync", "config", "set", *args)

    made = cli_json(laptop, "remember", "The staging database runs on pg-staging-2")
    first = cli_json(laptop, "sync", "full")
    assert first["pushed"] >= 1 and first["verified"] is True

    joined = cli_json(desktop, "sync", "full")
    assert joined["joined"] == first["brain_id"] and joined["verified"] is True
    found = cli_json(desktop, "recall", "staging database")["results"]
    assert [r["id"] for r in found] == [made["id"]]

    cli_json(desktop, "edit", made["id"], "--content", "The staging database moved to pg-staging-3")
    assert cli_json(desktop, "sync", "full")["verified"] is True
    assert cli_json(laptop, "sync", "full")["verified"] is True
    [result] = cli_json(laptop, "recall", "staging database")["results"]
    assert result["memory"]["content"] == "The staging database moved to pg-staging-3"

    assert cli_json(laptop, "sync", "full")["verified"] is True  # recall's reinforcement syncs too
    status = cli_json(laptop, "sync", "status")
    assert status["pending"] == 0 and len(status["hub"]["devices"]) == 2
