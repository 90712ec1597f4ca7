"""One account, one brain per name, against real hub processes (SQLite and PostgreSQL).

Two devices whose first syncs race each create a brain of the same name: both list the account's
brains before either pushes. The race is driven step by step (the engine's own steps, in that
order), not left to luck. A split made earlier (by a client from before the fix) is reported by
`verify` and `status`, and `nmem sync full` on either side heals it, keeping every memory.
"""

from __future__ import annotations

import os
import subprocess
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest

from helpers.devices import NMEM, Device
from helpers.hub_targets import HubOptions, python_postgres, python_sqlite
from neuralmemory import config
from neuralmemory.core.brains import open_brain
from neuralmemory.sync import service, state
from neuralmemory.sync.engine import SyncEngine
from neuralmemory.sync.state import SyncState


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def hub_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    start = python_sqlite if request.param == "sqlite" else python_postgres
    (tmp_path / "hub").mkdir()
    with start(HubOptions(auth="local"), tmp_path / "hub") as hub:
        yield hub.url


def make_device(tmp_path: Path, name: str, url: str, line: str) -> Device:
    device = Device(tmp_path / name, url)
    device.configure(hub_url=url)
    with device.brain() as brain:
        brain.remember(line)
    return device


def memories(device: Device) -> set[str]:
    with device.brain() as brain:
        return {
            str(v.body.get("content"))
            for v in brain.changes.versions("memory")
            if not v.deleted and v.body.get("content")
        }


def named_on_hub(url: str, name: str = "default") -> list[dict[str, object]]:
    brains = httpx.get(f"{url}/v1/brains", timeout=10).json()["brains"]
    return [b for b in brains if b["name"] == name]


def engine(device: Device, stack: ExitStack) -> SyncEngine:
    """The engine `nmem sync` runs, on the device's brain, to call its steps one by one."""
    with device.use():
        brain = stack.enter_context(open_brain(None))
        hub = stack.enter_context(service.hub_client(config.load_config(), None))
    return SyncEngine(brain, hub, strategy="prefer_recent")


def race_first_syncs(a: Device, b: Device) -> None:
    """Both devices look for the account's brain of their name before either pushes (each
    finds none), then each pushes its memory: two brains named `default` on the hub."""
    with ExitStack() as stack:
        first, second = engine(a, stack), engine(b, stack)
        first._prepare()
        second._prepare()
        first.push()
        second.push()


class ListingBarrier(httpx.HTTPTransport):
    """Real HTTP; a device's first listing of the account's brains waits for the other
    device's, so both look before either pushes (the race, every time)."""

    def __init__(self, barrier: threading.Barrier) -> None:
        super().__init__()
        self.barrier, self.waited = barrier, False

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/brains" and not self.waited:
            self.waited = True
            self.barrier.wait(timeout=60)
        return super().handle_request(request)


def verify_shown(device: Device) -> subprocess.CompletedProcess[str]:
    """`nmem sync verify` on the device, as a user runs it; it must say "not in sync" (3)."""
    shown = subprocess.run(
        [NMEM, "sync", "verify"],
        env={**os.environ, "NMEM_HOME": str(device.home)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert shown.returncode == 3, shown.stderr
    return shown


def test_two_first_syncs_racing_end_on_one_brain(tmp_path: Path, hub_url: str) -> None:
    a = make_device(tmp_path, "a", hub_url, "The laptop's note: deploys go out on Tuesdays")
    b = make_device(tmp_path, "b", hub_url, "The desktop's note: the VPN profile is corp-2")
    race_first_syncs(a, b)
    assert len(named_on_hub(hub_url)) == 2  # the race happened: one brain each
    converge_and_check(a, b, hub_url)


def test_two_full_syncs_at_once_end_on_one_brain(tmp_path: Path, hub_url: str) -> None:
    """`nmem sync full` on both devices at the same moment, each its whole run."""
    a = make_device(tmp_path, "a", hub_url, "The laptop's note: the on-call rota is weekly")
    b = make_device(tmp_path, "b", hub_url, "The desktop's note: the printer is on floor 3")
    barrier = threading.Barrier(2)
    a.transport, b.transport = ListingBarrier(barrier), ListingBarrier(barrier)
    with ThreadPoolExecutor(max_workers=2) as pool:
        for done in [pool.submit(device.sync, "full") for device in (a, b)]:
            done.result()
    assert len(named_on_hub(hub_url)) == 2  # both looked before either pushed
    a.transport = b.transport = None
    converge_and_check(a, b, hub_url)


def converge_and_check(a: Device, b: Device, hub_url: str) -> None:
    """After the race, ordinary syncs: one brain, both memories, verify true on both."""
    for device in (a, b, a):
        device.sync("full")
    both = memories(a) | memories(b)
    assert len(both) == 2
    assert memories(a) == memories(b) == both
    oldest = named_on_hub(hub_url)[0]["brain_id"]
    for device in (a, b):
        report = device.sync("verify")
        assert report["verified"] is True and report["split"] == []
        assert report["hub_brain"] == oldest
        with device.use():
            hub = service.status()["hub"]
        assert hub is not None and "error" not in hub
        assert hub["split"] == [] and hub["brains_named"][0] == oldest
    # later syncs stay on the one brain and find nothing more to merge
    assert a.sync("full")["pulled"] == 0


def test_a_split_made_earlier_is_reported_and_healed_by_full(tmp_path: Path, hub_url: str) -> None:
    a = make_device(tmp_path, "a", hub_url, "The laptop's note: the staging db is pg-3")
    b = make_device(tmp_path, "b", hub_url, "The desktop's note: backups run at 02:00")
    assert a.sync("full")["verified"] is True
    # b bound to a brain of its own, as a client from before the fix could leave it
    with b.brain() as brain, brain.db.transaction():
        SyncState(brain.db).set(state.HUB, hub_url)
        SyncState(brain.db).set(state.REMOTE_ID, brain.id)
    b.sync("push")
    first, second = (brain["brain_id"] for brain in named_on_hub(hub_url))

    for device, other in ((b, first), (a, second)):  # each sees the other's brain unmerged
        report = device.sync("verify")
        assert report["verified"] is False and report["split"] == [other]
    shown = verify_shown(b)
    assert f"other brains named default ({first})" in shown.stdout
    assert "run `nmem sync full` to merge them into one" in shown.stdout

    healed = a.sync("full")  # from the side of the brain that stays: it takes b's memories
    assert healed["verified"] is True and healed["split"] == []
    assert len(memories(a)) == 2
    assert b.sync("verify")["split"] == [first]  # b still syncs with the other brain
    moved = b.sync("full")
    assert moved["joined"] == first and moved["hub_brain"] == first
    a.sync("full")
    assert memories(a) == memories(b) and len(memories(b)) == 2
    for device in (a, b):
        assert device.sync("verify")["verified"] is True


def test_verify_tells_of_every_device_of_the_account(tmp_path: Path, hub_url: str) -> None:
    """After a merge, the device that took the other brain's memories is not 'in sync' while
    another device still syncs that brain: verify names that device and the command; the device
    left alone on the other brain is told so, with the merge command."""
    a = make_device(tmp_path, "a", hub_url, "The laptop's note: the wiki moved to docs.int")
    b = make_device(tmp_path, "b", hub_url, "The desktop's note: the build cache is 40 GB")
    c = make_device(tmp_path, "c", hub_url, "The phone's note: standup is at 9:45")
    for device in (a, c):
        device.sync("full")
    with b.brain() as brain, brain.db.transaction():  # b on a brain of its own, as in the race
        SyncState(brain.db).set(state.HUB, hub_url)
        SyncState(brain.db).set(state.REMOTE_ID, brain.id)
    b.sync("push")
    first, second = (brain["brain_id"] for brain in named_on_hub(hub_url))
    a.sync("full")  # a takes b's memory: its own view is one brain

    seen = a.sync("verify")
    assert seen["verified"] is False and seen["split"] == [] and seen["alone"] is False
    with b.use():
        b_id = config.device_id()
    elsewhere = seen["elsewhere"] or []
    assert [(d["device_id"], d["brain_id"]) for d in elsewhere] == [(b_id, second)]
    alone = b.sync("verify")
    assert alone["verified"] is False and alone["alone"] is True and alone["split"] == [first]
    shown = verify_shown(b)
    assert f"alone: this device is the only one syncing hub brain {second}" in shown.stdout
    assert "run `nmem sync full` here to merge this device into theirs" in shown.stdout
    shown = verify_shown(a)
    assert f"syncs another brain named default ({second}, last sync" in shown.stdout
    assert "run `nmem sync full` on that device to merge it into this one" in shown.stdout

    for device in (b, a, c):  # b moves to the oldest brain: every device on one brain again
        device.sync("full")
    for device in (a, b, c):
        report = device.sync("verify")
        assert report["verified"] is True and report["elsewhere"] == [], report
