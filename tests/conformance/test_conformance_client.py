"""The real client against every hub: `nmem` as users run it, two devices as two NMEM_HOMEs."""

from __future__ import annotations

from pathlib import Path

import httpx

from helpers.hub_api import register
from helpers.hub_targets import RunningHub
from helpers.nmem import nmem_json


def test_two_devices_sync_through_the_hub(
    hub: RunningHub, client: httpx.Client, tmp_path: Path
) -> None:
    key = register(client).key
    laptop, desktop = tmp_path / "laptop", tmp_path / "desktop"
    for home in (laptop, desktop):
        nmem_json(home, "sync", "config", "set", "--hub-url", hub.url, "--api-key", key)

    made = nmem_json(laptop, "remember", "The staging database runs on pg-staging-2")
    first = nmem_json(laptop, "sync", "full")
    assert first["pushed"] >= 1 and first["verified"] is True

    joined = nmem_json(desktop, "sync", "full")
    assert joined["joined"] == first["brain_id"] and joined["verified"] is True
    found = nmem_json(desktop, "recall", "staging database")["results"]
    assert [r["id"] for r in found] == [made["id"]]

    nmem_json(
        desktop, "edit", made["id"], "--content", "The staging database moved to pg-staging-3"
    )
    assert nmem_json(desktop, "sync", "full")["verified"] is True
    assert nmem_json(laptop, "sync", "full")["verified"] is True
    [result] = nmem_json(laptop, "recall", "staging database")["results"]
    assert result["memory"]["content"] == "The staging database moved to pg-staging-3"

    assert nmem_json(laptop, "sync", "full")["verified"] is True  # recall's reinforcement syncs too
    status = nmem_json(laptop, "sync", "status")
    assert status["pending"] == 0 and len(status["hub"]["devices"]) == 2
