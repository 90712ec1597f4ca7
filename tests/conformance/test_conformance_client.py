"""The real client against every hub: `nmem` as users run it, two devices as two NMEM_HOMEs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

from helpers.hub_api import register
from helpers.hub_targets import RunningHub

NMEM = str(Path(sys.executable).parent / "nmem")


def nmem(home: Path, *args: str) -> Any:
    done = subprocess.run(
        [NMEM, *args, "--json"],
        env={**os.environ, "NMEM_HOME": str(home)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, f"nmem {' '.join(args)}: {done.stdout}{done.stderr}"
    return json.loads(done.stdout)


def test_two_devices_sync_through_the_hub(
    hub: RunningHub, client: httpx.Client, tmp_path: Path
) -> None:
    key = register(client).key
    laptop, desktop = tmp_path / "laptop", tmp_path / "desktop"
    for home in (laptop, desktop):
        nmem(home, "sync", "config", "set", "--hub-url", hub.url, "--api-key", key)

    made = nmem(laptop, "remember", "The staging database runs on pg-staging-2")
    first = nmem(laptop, "sync", "full")
    assert first["pushed"] >= 1 and first["verified"] is True

    joined = nmem(desktop, "sync", "full")
    assert joined["joined"] == first["brain_id"] and joined["verified"] is True
    found = nmem(desktop, "recall", "staging database")["results"]
    assert [r["id"] for r in found] == [made["id"]]

    nmem(desktop, "edit", made["id"], "--content", "The staging database moved to pg-staging-3")
    assert nmem(desktop, "sync", "full")["verified"] is True
    assert nmem(laptop, "sync", "full")["verified"] is True
    [result] = nmem(laptop, "recall", "staging database")["results"]
    assert result["memory"]["content"] == "The staging database moved to pg-staging-3"

    assert nmem(laptop, "sync", "full")["verified"] is True  # recall's reinforcement syncs too
    status = nmem(laptop, "sync", "status")
    assert status["pending"] == 0 and len(status["hub"]["devices"]) == 2
