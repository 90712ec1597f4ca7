"""Restores. `nmem sync restore` as users run it (a subprocess, against a real `nmem serve`): with
auto-sync on, the restored version reaches the hub before the command returns -- a command's own
timers would die with it -- and a hub that cannot be reached never undoes the restore. And a
device folder restored from a backup (issue 22): under every strategy, no delete comes back, no
newer edit is reverted, and no conflict copy is made for a version the hub had moved past."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from helpers.devices import LOCAL_URL, Device, Hub, edit_on_both, in_process_hub
from helpers.nmem import nmem_json
from neuralmemory.config import STRATEGIES
from neuralmemory.protocol import Version
from neuralmemory.sync import service
from neuralmemory.sync.engine import apply_plan
from neuralmemory.sync.plan import ConflictCopy, Plan
from neuralmemory.sync.resolve import conflict_body, conflict_id


def content(device: Device, memory_id: str) -> str | None:
    with device.brain() as brain:
        return brain.get(memory_id).content


@dataclass
class LostEdit:
    a: Device
    b: Device
    memory: str
    conflict: str  # the id of the conflict copy holding a's edit, as `nmem` on a lists it


@pytest.fixture
def lost_edit(hub: Hub, tmp_path: Path) -> LostEdit:
    """a and b on the real hub, auto-sync on (the default), edit one memory between syncs; b's
    later edit wins, a's is a conflict copy."""
    a, b = Device(tmp_path / "a", hub.url), Device(tmp_path / "b", hub.url)
    for device in (a, b):
        device.configure(hub_url=hub.url)
    mid = edit_on_both(a, b)
    a.sync()
    assert b.sync()["conflicts"] == 1
    a.sync()
    (conflict,) = nmem_json(a.home, "sync", "conflicts")["conflicts"]
    assert "Wednesday" in conflict["loser"]["preview"]
    return LostEdit(a, b, mid, conflict["id"])


def test_cli_restore_with_auto_sync_reaches_the_hub_before_it_returns(
    lost_edit: LostEdit,
) -> None:
    a, b, mid = lost_edit.a, lost_edit.b, lost_edit.memory
    restored = nmem_json(a.home, "sync", "restore", lost_edit.conflict)
    b.sync("pull")  # a syncs nothing more: the command itself pushed the restored version
    assert content(b, mid) == "The release train leaves on Wednesday"
    assert restored["restored"] == lost_edit.conflict and restored["sync"]["pushed"] >= 1
    assert restored["sync"]["verified"] is True
    with b.use():
        (swapped,) = service.list_conflicts()
    assert "Thursday" in swapped["loser"]["preview"]


def test_cli_restore_keeps_the_restore_when_the_hub_is_down(hub: Hub, lost_edit: LostEdit) -> None:
    a, b, mid = lost_edit.a, lost_edit.b, lost_edit.memory
    hub.stop()
    restored = nmem_json(a.home, "sync", "restore", lost_edit.conflict)
    assert restored["sync"]["code"] == "hub_unavailable"
    assert content(a, mid) == "The release train leaves on Wednesday"
    with a.use():
        last_error = service.status()["last_error"]
    assert last_error is not None and last_error["code"] == "hub_unavailable"
    hub.start()
    assert nmem_json(a.home, "sync", "full")["pushed"] >= 1
    b.sync("pull")
    assert content(b, mid) == "The release train leaves on Wednesday"


# ---------------------------------------------------------------- a device restored from a backup


@pytest.fixture
def pair(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[tuple[Device, Device]]:
    """Two devices of one brain on an in-process hub, both with the strategy under test."""
    with in_process_hub(tmp_path / "hub.db") as transport:
        a, b = (Device(tmp_path / name, LOCAL_URL, transport) for name in ("a", "b"))
        for device in (a, b):
            device.configure(hub_url=LOCAL_URL, conflict_strategy=request.param, auto_sync=False)
        yield a, b


def edit(device: Device, memory_id: str, text: str) -> None:
    with device.brain() as brain:
        brain.edit(memory_id, content=text)


def backup_then_move_on(a: Device, b: Device, tmp_path: Path) -> tuple[str, str, Path]:
    """The issue's scenario: a's folder is copied while its edits of two memories are unpushed;
    a then pushes them; b edits one and deletes it, and edits the other twice, syncing each
    time, so the hub is two versions past what the copy holds. Returns (deleted, edited, copy)."""
    with a.brain() as brain:
        gone = brain.remember("The falcon deploy runs on Fridays").memory.id
        kept = brain.remember("The billing ledger closes at noon").memory.id
    a.sync()
    b.sync()
    edit(a, gone, "The falcon deploy runs on Thursdays")
    edit(a, kept, "The billing ledger closes at one")
    copy = tmp_path / "a-backup"
    shutil.copytree(a.home, copy)  # two edits not pushed yet
    a.sync()
    b.sync()
    for text in ("The falcon deploy runs on Mondays", None):
        if text is None:
            with b.brain() as brain:
                brain.forget(gone)
        else:
            edit(b, gone, text)
        b.sync()
    for text in ("The billing ledger closes at two", "The billing ledger closes at three"):
        edit(b, kept, text)
        b.sync()
    return gone, kept, copy


def restore_folder(device: Device, copy: Path) -> None:
    shutil.rmtree(device.home)
    shutil.copytree(copy, device.home)


def assert_newest_everywhere(devices: tuple[Device, ...], gone: str, kept: str) -> None:
    for device in devices:
        with device.brain() as brain:
            current = brain.changes.current("memory", gone)
            assert current is not None and current.version.deleted, "a delete came back"
            assert brain.get(kept).content == "The billing ledger closes at three"
        with device.use():
            copies = service.list_conflicts()
        # No copy: the backup's versions are ancestors, not rivals, and the delete replaced b's
        # later edit, not a's version (which b's user saw and changed)
        assert copies == []


@pytest.mark.parametrize("steps", [("full",), ("pull", "push")], ids=" then ".join)
@pytest.mark.parametrize("pair", STRATEGIES, indirect=True)
def test_a_restored_backup_brings_no_delete_back_and_reverts_no_edit(
    pair: tuple[Device, Device], steps: tuple[str, ...], tmp_path: Path
) -> None:
    """`sync full`, and `sync pull` then `sync push` (which used to show deleted memories live
    until the next full sync)."""
    a, b = pair
    gone, kept, copy = backup_then_move_on(a, b, tmp_path)
    restore_folder(a, copy)
    for step in steps:
        a.sync(step)
    b.sync("pull")
    assert_newest_everywhere((a, b), gone, kept)
    assert a.sync("verify")["verified"] is True


def test_a_write_that_loses_twice_under_two_vhashes_is_kept_once(tmp_path: Path) -> None:
    """The same substance lost as pushed and as rewritten (a restored backup brings back the
    first after the second lost too): one conflict copy, not two."""
    with Device(tmp_path / "a", LOCAL_URL).brain() as brain:
        mid = brain.remember("The release train leaves on Tuesday").memory.id
        first = brain.changes.current("memory", mid)
        assert first is not None
        brain.edit(mid, content="The release train leaves on Friday")
        rewritten = brain.changes.current("memory", mid)
        assert rewritten is not None
        twin = Version.create(
            **{f: getattr(first.version, f) for f in ("kind", "id", "device_id", "body")},
            hlc=rewritten.version.hlc,
            parent="v1:" + "0" * 64,
        )
        for loser in (first.version, twin):  # two vhashes, one substance
            copy = ConflictCopy(
                conflict_id(loser), conflict_body(loser, "v1:" + "1" * 64, "x"), loser
            )
            apply_plan(brain, Plan(copies=[copy]))
        assert len([v for v in brain.changes.versions("conflict") if not v.deleted]) == 1


def test_two_copies_of_one_write_made_on_two_devices_end_as_one(tmp_path: Path) -> None:
    """Found by `make test-long`: a restored device's write, kept as a copy once it lost, came
    back and lost again on another device, which kept it a second time before it had pulled
    the first copy. Whichever device holds both retires all but the one of the smallest id."""
    with in_process_hub(tmp_path / "hub.db") as transport:
        a, b = (Device(tmp_path / name, LOCAL_URL, transport) for name in ("a", "b"))
        for device in (a, b):
            device.configure(hub_url=LOCAL_URL, auto_sync=False)
        with a.brain() as brain:
            mid = brain.remember("The release train leaves on Tuesday").memory.id
            first = brain.changes.current("memory", mid)
            assert first is not None
        a.sync()
        b.sync()
        losers = [first.version, Version.create(**twin_fields(first.version))]
        for device, loser in zip((a, b), losers, strict=True):  # one write, two vhashes
            body = conflict_body(loser, "v1:" + "1" * 64, "prefer_remote")
            with device.brain() as brain:
                apply_plan(brain, Plan(copies=[ConflictCopy(conflict_id(loser), body, loser)]))
        for device in (a, b, a):
            device.sync()
        kept = [min(conflict_id(loser) for loser in losers)]
        for device in (a, b):
            assert copies_of(device, mid) == kept
        assert a.sync("verify")["verified"] is True


def twin_fields(version: Version) -> dict[str, Any]:
    """The fields of another version saying what `version` says (another parent and stamp)."""
    same = {f: getattr(version, f) for f in ("kind", "id", "device_id", "body")}
    return {**same, "hlc": version.hlc.replace("-0000-", "-0001-", 1), "parent": "v1:" + "0" * 64}


def conflict_after_copy(a: Device, b: Device, tmp_path: Path) -> tuple[str, Path]:
    """a's edit of a memory, unpushed when a's folder is copied, meets b's edit on the hub (the
    strategy decides; under prefer_local and prefer_recent a's wins and is written again on top
    of b's). Returns (the memory, the copy)."""
    with a.brain() as brain:
        mid = brain.remember("The release train leaves on Tuesday").memory.id
    a.sync()
    b.sync()
    edit(b, mid, "The release train leaves on Wednesday")
    b.sync()
    edit(a, mid, "The release train leaves on Thursday")
    copy = tmp_path / "a-backup"
    shutil.copytree(a.home, copy)
    a.sync()
    return mid, copy


def won_then_moved_past(a: Device, b: Device, tmp_path: Path) -> tuple[str, Path]:
    """conflict_after_copy, then b edits the memory twice more."""
    mid, copy = conflict_after_copy(a, b, tmp_path)
    b.sync()
    for day in ("Friday", "Saturday"):
        edit(b, mid, f"The release train leaves on {day}")
        b.sync()
    return mid, copy


def copies_of(device: Device, memory_id: str) -> list[str]:
    with device.use():
        return sorted(c["id"] for c in service.list_conflicts() if c["record"]["id"] == memory_id)


def assert_forgotten(devices: tuple[Device, ...], memory_id: str, kept: list[str]) -> None:
    """The memory is deleted on every device, with exactly the conflict copies `kept`."""
    for device in devices:
        with device.brain() as brain:
            current = brain.changes.current("memory", memory_id)
            assert current is not None and current.version.deleted, "a forget was undone"
        assert copies_of(device, memory_id) == kept, "a copy too many, or one missing"


@pytest.mark.parametrize("pair", STRATEGIES, indirect=True)
def test_a_restored_edit_that_won_a_conflict_reverts_no_later_edit(
    pair: tuple[Device, Device], tmp_path: Path
) -> None:
    """Found by the long run (make test-long): restored, a pushed its edit again; the hub did not
    know it (a had pushed it rewritten on top of b's, as a new version), so it was a rival
    of b's later edits, and under prefer_local it won again. Fixed by `replaces`
    (docs/protocol.md, "History"): the rewritten version's push named the one it replaced."""
    a, b = pair
    mid, copy = won_then_moved_past(a, b, tmp_path)
    kept = copies_of(b, mid)
    assert len(kept) == 1  # the first conflict's loser, whichever it was
    restore_folder(a, copy)
    for device in (a, b, a):
        device.sync()
    for device in (a, b):
        assert content(device, mid) == "The release train leaves on Saturday"
        assert copies_of(device, mid) == kept, "a copy was made again, or twice"


@pytest.mark.parametrize("pair", STRATEGIES, indirect=True)
def test_a_restored_edit_its_device_replaced_before_pushing_reverts_nothing(
    pair: tuple[Device, Device], tmp_path: Path
) -> None:
    """A backup taken between two edits of a memory that were never pushed apart (the second
    replaced the first): restored, the first is superseded, not a rival of b's later edit."""
    a, b = pair
    with a.brain() as brain:
        mid = brain.remember("The release train leaves on Tuesday").memory.id
    a.sync()
    b.sync()
    edit(a, mid, "The release train leaves on Wednesday")
    copy = tmp_path / "a-backup"
    shutil.copytree(a.home, copy)
    edit(a, mid, "The release train leaves on Thursday")
    a.sync()
    b.sync()
    edit(b, mid, "The release train leaves on Friday")
    b.sync()
    restore_folder(a, copy)
    a.sync()
    b.sync()
    for device in (a, b):
        assert content(device, mid) == "The release train leaves on Friday"
        assert copies_of(device, mid) == []


def test_a_copy_of_a_device_folder_takes_the_edit_its_original_pushed_since(
    tmp_path: Path,
) -> None:
    """A folder copied to a second machine (the same device id) while an edit was unpushed; the
    original edited the memory again and pushed. The copy's edit is the original's past: before
    `replaces` it was rewritten on top, putting the older text back everywhere."""
    with in_process_hub(tmp_path / "hub.db") as transport:
        a = Device(tmp_path / "a", LOCAL_URL, transport)
        a.configure(hub_url=LOCAL_URL, auto_sync=False)
        with a.brain() as brain:
            mid = brain.remember("The release train leaves on Tuesday").memory.id
        a.sync()
        edit(a, mid, "The release train leaves on Wednesday")
        clone = Device(tmp_path / "clone", LOCAL_URL, transport)
        shutil.copytree(a.home, clone.home)
        edit(a, mid, "The release train leaves on Thursday")
        a.sync()
        clone.sync()
        a.sync()
        for device in (a, clone):
            assert content(device, mid) == "The release train leaves on Thursday"
            assert copies_of(device, mid) == []


@pytest.mark.parametrize("pair", ["prefer_local", "prefer_recent"], indirect=True)
def test_a_forget_after_a_restore_wins_over_its_own_edit_rewritten(
    pair: tuple[Device, Device], tmp_path: Path
) -> None:
    """Found by `make test-long`: a's edit won a conflict and went to the hub rewritten on top of
    b's; a's folder, restored from a copy holding that edit unpushed, then forgot the memory. The
    hub's version was a's own edit, rewritten: no rival of the forget, which replaced that very
    edit here. It was decided as a conflict, and the forgotten memory came back."""
    a, b = pair
    mid, copy = conflict_after_copy(a, b, tmp_path)  # a's wins: b's is kept as a copy
    kept = copies_of(a, mid)
    restore_folder(a, copy)
    with a.brain() as brain:
        brain.forget(mid)
    for device in (a, b, a):
        device.sync()
    assert_forgotten((a, b), mid, kept)


@pytest.mark.parametrize("pair", ["prefer_local", "prefer_recent"], indirect=True)
def test_a_restored_edit_deleted_since_its_rewrite_is_kept_once(
    pair: tuple[Device, Device], tmp_path: Path
) -> None:
    """Found by `make test-long` (E2E): a's edit won a conflict and went to the hub rewritten; b
    forgot it, and a kept the rewrite as this device's version a remote delete replaced. a's
    folder, restored with the edit unpushed, pushed it: `superseded`, and the delete was taken
    -- keeping the edit again, as first written, under a second vhash. A delete keeps ours only
    when it replaced ours itself."""
    a, b = pair
    mid, copy = conflict_after_copy(a, b, tmp_path)
    b.sync()
    with b.brain() as brain:
        brain.forget(mid)
    b.sync()
    a.sync()
    kept = copies_of(a, mid)
    assert len(kept) == 2  # b's edit (the conflict's loser), a's edit (the delete's)
    restore_folder(a, copy)
    for device in (a, b, a):
        device.sync()
    assert_forgotten((a, b), mid, kept)
