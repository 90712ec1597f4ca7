"""Clocks ahead (docs/sync.md, "Clocks"): devices whose wall clock runs a year ahead, through a
hub on a real SQLite file. A device's clock is the ChangeLog seam (`now`), as in the reliability
model; everything else -- the brain, the engine, the hub -- is the real thing."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from helpers.devices import Device
from helpers.nmem import cli
from neuralmemory import config
from neuralmemory.clock import Stamp, wall_ms
from neuralmemory.config import STRATEGIES
from neuralmemory.core.brain import Brain
from neuralmemory.core.brains import brain_path, open_brain
from neuralmemory.errors import ProtocolError
from neuralmemory.protocol import DeviceInfo
from neuralmemory.store.db import connect
from neuralmemory.sync import keyshare
from neuralmemory.sync.engine import SyncEngine
from neuralmemory.sync.transport import HubClient

YEAR_MS = 365 * 24 * 3_600_000


@contextmanager
def brain_at(device: Device, offset_ms: int) -> Iterator[Brain]:
    """The device's brain with its wall clock `offset_ms` off the real one."""
    with device.use():
        open_brain().close()
        db = connect(brain_path("default"))
        brain = Brain(
            "default", db, device_id=config.device_id(), now=lambda: wall_ms() + offset_ms
        )
        try:
            yield brain
        finally:
            brain.close()


def sync_at(
    device: Device, offset_ms: int = 0, action: str = "full", strategy: str = "prefer_recent"
) -> dict[str, Any]:
    with brain_at(device, offset_ms) as brain:
        info = DeviceInfo(device_id=brain.changes.device_id, name="device", platform="test")
        with HubClient(device.hub_url, None, info, transport=device.transport) as hub:
            return SyncEngine(brain, hub, strategy=strategy).run(action).as_dict()


def content(device: Device, memory_id: str) -> str | None:
    with brain_at(device, 0) as brain:
        current = brain.changes.current("memory", memory_id)
        assert current is not None
        return current.version.body.get("content")


def test_a_device_a_year_ahead_cannot_outrank_a_later_edit(devices: dict[str, Device]) -> None:
    """The issue: a device a year ahead edits, another edits 1.5 s later, and the earlier edit
    won every time, then every device stayed a year ahead. Now the hub refuses the runaway push
    with a message saying what to do, the later edit wins, the year-ahead edit is kept as a
    conflict copy once that device's clock is right, and nobody's clock moved a year."""
    a, b = devices["a"], devices["b"]
    with brain_at(a, 0) as brain:
        mid = brain.remember("The release train leaves on Tuesday").memory.id
    sync_at(a)
    sync_at(b)
    with brain_at(a, YEAR_MS) as brain:
        brain.edit(mid, content="The release train leaves on Wednesday")
    with pytest.raises(ProtocolError) as refused:
        sync_at(a, YEAR_MS)
    assert "max_clock_skew_ms (24 h)" in str(refused.value)
    assert "set this device's clock right" in str(refused.value)
    with brain_at(b, 0) as brain:
        brain.edit(mid, content="The release train leaves on Thursday")
    assert sync_at(b)["pushed"] == 1
    # Its clock set right, a pushes (no pull asked for): the stuck edit meets b's on the way,
    # as the older one, before it is stamped again.
    assert sync_at(a, action="push")["conflicts"] == 1
    assert sync_at(a)["verified"] is True
    assert sync_at(b)["verified"] is True
    for device in (a, b):
        assert content(device, mid) == "The release train leaves on Thursday"
        with brain_at(device, 0) as brain:
            copies = list(brain.changes.versions("conflict"))
            assert [c.body["loser"]["body"]["content"] for c in copies] == [
                "The release train leaves on Wednesday"
            ]
            stamp = Stamp.parse(brain.changes.write("memory", "probe", body={"n": 1}).hlc)
            assert stamp.ms <= wall_ms() + 1  # no clock was dragged a year ahead


def test_a_new_record_written_a_year_ahead_is_restamped_once_the_clock_is_right(
    devices: dict[str, Device],
) -> None:
    """The hub refuses the year-ahead version; the device does not retry it forever: the sync
    after its clock is fixed stamps it again (same content; a new memory at 0, its time being
    unknown) and the hub takes it."""
    a, b = devices["a"], devices["b"]
    with brain_at(a, YEAR_MS) as brain:
        mid = brain.remember("Standup moves to 9:30").memory.id
    for _ in range(2):
        with pytest.raises(ProtocolError):
            sync_at(a, YEAR_MS)
    report = sync_at(a)
    assert report["pushed"] == 1 and report["pending"] == 0 and report["verified"] is True
    sync_at(b)
    assert content(b, mid) == "Standup moves to 9:30"
    with brain_at(b, 0) as brain:
        current = brain.changes.current("memory", mid)
        assert current is not None
        assert Stamp.parse(current.version.hlc).ms == 0
    for device in (a, b):  # one entry: not 1970-01-01, and not the version a year ahead
        shown = cli(device.home, "show", mid).stdout
        (entry,) = [line for line in shown.splitlines() if "this device" in line or "dev-" in line]
        assert entry.startswith("  time unknown      ") and entry.endswith(": created")


def test_edits_from_a_clock_two_days_behind_are_not_reverted(devices: dict[str, Device]) -> None:
    a, b = devices["a"], devices["b"]
    behind = -2 * 24 * 3_600_000
    with brain_at(a, 0) as brain:
        mid = brain.remember("The release train leaves on Tuesday").memory.id
    sync_at(a)
    sync_at(b, behind)
    for day in ("Wednesday", "Thursday"):  # two edits: the hub's version is a's grandchild
        with brain_at(b, behind) as brain:
            brain.edit(mid, content=f"The release train leaves on {day}")
        sync_at(b, behind)
    sync_at(a)
    sync_at(b, behind)
    for device in (a, b):
        assert content(device, mid) == "The release train leaves on Thursday"


def test_a_restored_folder_with_a_runaway_change_reverts_no_newer_edit(
    devices: dict[str, Device], tmp_path: Path
) -> None:
    """A folder copied while it held a change stamped 225 years ahead (refused by the hub) and an
    edit the hub later took, restored after another device edited that memory twice: the push
    that stamps the runaway change again pulls first, and that pull must leave the stale edit for
    the push to ask about (`superseded`), not resolve it as a rival -- under `prefer_local` the
    stale text won and the newer edit survived only as a conflict copy."""
    a, b = devices["a"], devices["b"]
    with brain_at(a, 0) as brain:
        mid = brain.remember("The release train leaves on Tuesday").memory.id
    sync_at(a)
    sync_at(b)
    with brain_at(a, 225 * YEAR_MS) as brain:
        brain.remember("Standup moves to 9:30")
    with brain_at(a, 0) as brain:
        brain.edit(mid, content="The release train leaves on Wednesday")
    copy = tmp_path / "copy"
    shutil.copytree(a.home, copy)
    assert sync_at(a, action="push")["pushed"] == 2
    sync_at(b)
    for day in ("Thursday", "Friday"):
        with brain_at(b, 0) as brain:
            brain.edit(mid, content=f"The release train leaves on {day}")
        sync_at(b)
    shutil.rmtree(a.home)
    shutil.copytree(copy, a.home)
    sync_at(a, action="push", strategy="prefer_local")
    assert sync_at(a, strategy="prefer_local")["verified"] is True
    sync_at(b)
    for device in (a, b):
        assert content(device, mid) == "The release train leaves on Friday"
        with brain_at(device, 0) as brain:
            copies = [v.body for v in brain.changes.versions("conflict") if not v.deleted]
            assert copies == []


def test_a_device_two_days_behind_takes_later_edits_of_a_version_it_stores(
    devices: dict[str, Device],
) -> None:
    """Seen from a device two days behind, a stored version written by a right clock is stamped
    beyond the skew bound. When the hub's version is two edits past it, asking the hub would mean
    marking it pending -- and the push stamped it again as a stuck change: a new edit, which
    under prefer_local wrote the old text back over the later ones (found by the reliability
    model). The hub's version is taken, with no copy."""
    a, b = devices["a"], devices["b"]
    behind = -2 * 24 * 3_600_000
    with brain_at(a, 0) as brain:
        mid = brain.remember("The release train leaves on Tuesday").memory.id
    sync_at(a)
    sync_at(b, behind, strategy="prefer_local")
    for day in ("Wednesday", "Thursday"):
        with brain_at(a, 0) as brain:
            brain.edit(mid, content=f"The release train leaves on {day}")
        sync_at(a)
    assert sync_at(b, behind, strategy="prefer_local")["verified"] is True
    sync_at(a)
    for device in (a, b):
        assert content(device, mid) == "The release train leaves on Thursday"
        with brain_at(device, 0) as brain:
            assert [v for v in brain.changes.versions("conflict") if not v.deleted] == []


def memory_copies(device: Device, memory_id: str) -> list[str]:
    with brain_at(device, 0) as brain:
        return sorted(
            v.id
            for v in brain.changes.versions("conflict")
            if not v.deleted and v.body["record"]["id"] == memory_id
        )


def restore(device: Device, copy: Path) -> None:
    shutil.rmtree(device.home)
    shutil.copytree(copy, device.home)


def edited_far_ahead(a: Device, b: Device) -> str:
    """A memory both devices hold, then edited on `a` while its clock is 225 years ahead."""
    with brain_at(a, 0) as brain:
        mid = brain.remember("The release train leaves on Tuesday").memory.id
    sync_at(a)
    sync_at(b)
    with brain_at(a, 225 * YEAR_MS) as brain:
        brain.edit(mid, content="The release train leaves on Wednesday")
    return mid


@pytest.fixture(params=["plain", "e2e"])
def pair(
    request: pytest.FixtureRequest, devices: dict[str, Device], hub_transport: httpx.BaseTransport
) -> tuple[Device, Device]:
    """Devices a and b of one brain: plain, or end-to-end encrypted (b received the key). A
    sealed version's seal is a function of the version (core/e2e.py), so an encrypted brain
    restores as a plain one does."""
    a, b = devices["a"], devices["b"]
    if request.param == "e2e":
        with brain_at(a, 0) as brain:
            brain.remember("The heron nests by the weir")
        with a.use():
            assert keyshare.encrypt_brain(transport=hub_transport)["sealed"] == 1
            code = keyshare.share(transport=hub_transport)["code"]
        with b.use():
            keyshare.receive(code, transport=hub_transport)
        sync_at(b)
        with brain_at(b, 0) as brain:
            assert brain.e2e
    return a, b


def sync_after_restore(a: Device, b: Device, strategy: str) -> None:
    for device, way in ((a, strategy), (b, "prefer_recent"), (a, strategy)):
        sync_at(device, strategy=way)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_a_folder_restored_with_a_runaway_edit_brings_no_delete_back(
    pair: tuple[Device, Device], tmp_path: Path, strategy: str
) -> None:
    """Found by the long run: a folder copied while it held an edit stamped 225 years ahead; the
    edit was stamped again and pushed, then another device forgot the memory. Restored, the edit
    was stamped again under a new vhash, a rival nobody knew, and (prefer_stronger) it brought
    the forgotten memory back. Stamped in place (1 ms after its parent), it is the same version
    again, which the hub's history knows."""
    a, b = pair
    mid = edited_far_ahead(a, b)
    copy = tmp_path / "copy"
    shutil.copytree(a.home, copy)
    sync_at(a, strategy=strategy)
    sync_at(b)
    with brain_at(b, 0) as brain:
        brain.forget(mid)
    sync_at(b)
    sync_at(a, strategy=strategy)
    kept = memory_copies(a, mid)  # a's edit, which the delete replaced (remote_delete)
    restore(a, copy)
    sync_after_restore(a, b, strategy)
    for device in (a, b):
        assert content(device, mid) is None, "a delete came back"
        assert memory_copies(device, mid) == kept


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_a_runaway_edit_that_lost_is_kept_once_however_often_it_is_restored(
    pair: tuple[Device, Device], tmp_path: Path, strategy: str
) -> None:
    """The long run found a folder holding an edit stamped far ahead, restored again and again,
    keeping that edit as one more conflict copy each time it lost (stamped again under a new
    vhash each time). Here: however often it is restored, one copy, the same on both devices."""
    a, b = pair
    mid = edited_far_ahead(a, b)
    with brain_at(b, 0) as brain:
        brain.edit(mid, content="The release train leaves on Thursday")
    sync_at(b)
    copy = tmp_path / "copy"
    shutil.copytree(a.home, copy)
    for _ in range(3):  # the first sync decides; each restore must change nothing
        restore(a, copy)
        sync_after_restore(a, b, strategy)
        assert len(memory_copies(a, mid)) == 1
    assert content(a, mid) == content(b, mid)
    assert memory_copies(a, mid) == memory_copies(b, mid)
