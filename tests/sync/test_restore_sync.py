"""`nmem sync restore` as users run it (a subprocess, against a real `nmem serve`): with auto-sync
on, the restored version reaches the hub before the command returns -- a command's own timers
would die with it -- and a hub that cannot be reached never undoes the restore."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

from sync_devices import NMEM, Device, Hub

from neuralmemory.sync import service


def nmem_json(home: Path, *args: str) -> Any:
    done = subprocess.run(
        [NMEM, *args, "--json"],
        env={**os.environ, "NMEM_HOME": str(home)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, (done.stdout, done.stderr)
    return json.loads(done.stdout)


def content(device: Device, memory_id: str) -> str | None:
    with device.brain() as brain:
        return brain.get(memory_id).content


def lost_edit(hub: Hub, tmp_path: Path) -> tuple[Device, Device, str, str]:
    """a and b edit one memory between syncs; b's later edit wins, a's is a conflict copy.
    Returns both devices, the memory and the conflict copy's id (as `nmem` on a lists it)."""
    a, b = Device(tmp_path / "a", hub.url), Device(tmp_path / "b", hub.url)
    for device in (a, b):
        device.configure(hub_url=hub.url)  # auto-sync on: the default
    with a.brain() as brain:
        mid = brain.remember("The release train leaves on Tuesday").memory.id
    a.sync()
    b.sync()
    with a.brain() as brain:
        brain.edit(mid, content="The release train leaves on Wednesday")
    with b.brain() as brain:
        brain.edit(mid, content="The release train leaves on Thursday")
    a.sync()
    assert b.sync()["conflicts"] == 1
    a.sync()
    (conflict,) = nmem_json(a.home, "sync", "conflicts")["conflicts"]
    assert "Wednesday" in conflict["loser"]["preview"]
    return a, b, mid, conflict["id"]


def test_cli_restore_with_auto_sync_reaches_the_hub_before_it_returns(
    hub: Hub, tmp_path: Path
) -> None:
    a, b, mid, conflict = lost_edit(hub, tmp_path)
    restored = nmem_json(a.home, "sync", "restore", conflict)
    b.sync("pull")  # a syncs nothing more: the command itself pushed the restored version
    assert content(b, mid) == "The release train leaves on Wednesday"
    assert restored["restored"] == conflict and restored["sync"]["pushed"] >= 1
    assert restored["sync"]["verified"] is True
    with b.use():
        (swapped,) = service.list_conflicts()
    assert "Thursday" in swapped["loser"]["preview"]


def test_cli_restore_keeps_the_restore_when_the_hub_is_down(hub: Hub, tmp_path: Path) -> None:
    a, b, mid, conflict = lost_edit(hub, tmp_path)
    hub.stop()
    restored = nmem_json(a.home, "sync", "restore", conflict)
    assert restored["sync"]["code"] == "hub_unavailable"
    assert content(a, mid) == "The release train leaves on Wednesday"
    with a.use():
        last_error = service.status()["last_error"]
    assert last_error is not None and last_error["code"] == "hub_unavailable"
    hub.start()
    assert nmem_json(a.home, "sync", "full")["pushed"] >= 1
    b.sync("pull")
    assert content(b, mid) == "The release train leaves on Wednesday"
