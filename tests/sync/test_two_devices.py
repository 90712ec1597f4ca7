"""Two and three devices through one hub (in-process): propagation, deletes, conflicts, counters."""

from __future__ import annotations

import gc
import time
from typing import Any

import pytest

from helpers.devices import Device
from neuralmemory.core.brain import Brain
from neuralmemory.sync import service
from neuralmemory.sync.engine import SyncEngine
from neuralmemory.sync.results import SyncResult


def contents(device: Device) -> dict[str, str | None]:
    with device.brain() as brain:
        return {
            v.id: v.body.get("content") for v in brain.changes.versions("memory") if not v.deleted
        }


def test_a_remembers_100_b_pulls_and_recalls_them(devices: dict[str, Device]) -> None:
    a, b = devices["a"], devices["b"]
    with a.brain() as brain:
        for n in range(100):
            brain.remember(f"Project falcon note {n}: the deploy uses blue-green rollout {n}")
    pushed = a.sync("push")
    assert pushed["pushed"] == 100 and pushed["pending"] == 0
    pulled = b.sync("pull")
    assert pulled["pulled"] == 100
    with b.brain() as brain:
        hits = brain.recall("falcon deploy rollout", limit=5)
        assert hits and "falcon" in (hits[0].memory.content or "")
    assert b.sync("full")["verified"] is True
    assert contents(a) == contents(b)


def live(device: Device) -> dict[str, str | None]:
    return contents(device)


def test_edits_and_deletes_propagate_both_ways_and_deletes_never_return(
    devices: dict[str, Device],
) -> None:
    a, b = devices["a"], devices["b"]
    with a.brain() as brain:
        one = brain.remember("Alice owns the billing service").memory.id
        two = brain.remember("Bob reviews the search ranking code").memory.id
    a.sync()
    b.sync()
    with b.brain() as brain:
        brain.edit(one, content="Alice and Carol own the billing service")
        brain.forget(two)
    b.sync()
    a.sync()
    assert live(a) == {one: "Alice and Carol own the billing service"}
    with a.brain() as brain:
        brain.edit(one, content="Carol owns the billing service")
    a.sync()
    b.sync()
    assert live(b) == {one: "Carol owns the billing service"}
    # the tombstone holds through more rounds and a re-seed from either side
    for device in (a, b):
        device.sync("seed")
        device.sync()
    assert two not in live(a) and two not in live(b)
    assert a.sync()["conflicts"] == 0


def copies(device: Device) -> dict[str, str]:
    """The device's live conflict copies: id -> strategy."""
    with device.brain() as brain:
        return {
            v.id: v.body["strategy"] for v in brain.changes.versions("conflict") if not v.deleted
        }


def roots(*devices: Device) -> set[str]:
    found = set()
    for device in devices:
        with device.brain() as brain:
            found.add(brain.changes.root())
    return found


def test_a_remote_delete_copy_made_in_the_second_round_reaches_the_others_next_sync(
    devices: dict[str, Device],
) -> None:
    """The sync side of the convergence model's intermittent divergence (issue 22; the model
    now runs final rounds until one moves nothing): c forgets a memory b wrote last, then a, b,
    c run `nmem sync full` twice in that order. The delete reaches b in round two, and b keeps
    its version as a `remote_delete` copy (docs/sync.md) after a is done: a lacks it, nothing
    pending. Not lost state but a sync still to run: verify on a says the roots differ, and
    a's next full sync takes the copy."""
    a, b, c = devices["a"], devices["b"], devices["c"]
    with b.brain() as brain:
        mid = brain.remember("The cache jitter is 40 ms").memory.id
    for device in (b, a, c):
        device.sync()
    with c.brain() as brain:
        brain.forget(mid)
    rounds = [[device.sync()["pushed"] for device in (a, b, c)] for _ in range(2)]
    assert rounds == [[0, 0, 1], [0, 1, 0]]  # b's copy goes out in round two, after a's sync
    (copy,) = copies(b)
    assert copies(b) == copies(c) == {copy: "remote_delete"}
    assert copies(a) == {} and len(roots(a, b, c)) == 2 and roots(b) == roots(c)
    report = a.sync("verify")
    assert report["verified"] is False and report["pending"] == 0
    assert a.sync()["verified"] is True
    assert copies(a) == {copy: "remote_delete"} and len(roots(a, b, c)) == 1
    assert all(device.sync("verify")["verified"] for device in (a, b, c))


def concurrent_edit(
    a: Device, b: Device, strategy: str
) -> tuple[str, SyncResult, dict[str, str | None]]:
    """a and b edit one memory between syncs; a recalls it first, so a's edit is stronger."""
    with a.brain() as brain:
        mid = brain.remember("The release train leaves on Tuesday").memory.id
    a.sync()
    b.sync()
    with a.brain() as brain:
        assert brain.recall("release train", limit=1)[0].memory.id == mid
        brain.edit(mid, content="The release train leaves on Wednesday", priority=2)
    with b.brain() as brain:
        brain.edit(mid, content="The release train leaves on Thursday", priority=9)
    a.sync()
    result = b.sync(strategy=strategy)
    a.sync()
    return mid, result, live(b)


@pytest.mark.parametrize(
    ("strategy", "winner", "loser"),
    [
        ("prefer_recent", "Thursday", "Wednesday"),  # b edited last
        ("prefer_local", "Thursday", "Wednesday"),  # b resolves: local is b
        ("prefer_remote", "Wednesday", "Thursday"),
        ("prefer_stronger", "Wednesday", "Thursday"),  # a reinforced it before editing
    ],
)
def test_each_strategy_on_a_real_concurrent_edit_loser_listed_and_restorable(
    devices: dict[str, Device], strategy: str, winner: str, loser: str
) -> None:
    a, b = devices["a"], devices["b"]
    mid, result, after = concurrent_edit(a, b, strategy)
    assert result["conflicts"] == 1
    assert winner in (after[mid] or "")
    assert live(a) == live(b)
    for device in (a, b):
        with device.use():
            (conflict,) = service.list_conflicts()
        assert conflict["current"] is not None
        assert loser in conflict["loser"]["preview"] and winner in conflict["current"]["preview"]
    with a.use():
        restored = service.restore(conflict["id"])
    assert restored["kept"]
    a.sync()
    b.sync()
    assert loser in (live(b)[mid] or "") and live(a) == live(b)
    with b.use():
        (swapped,) = service.list_conflicts()
    assert winner in swapped["loser"]["preview"]


def test_recall_on_two_devices_merges_activation_without_conflict_or_double_count(
    devices: dict[str, Device],
) -> None:
    a, b = devices["a"], devices["b"]
    with a.brain() as brain:
        mid = brain.remember("Grafana dashboards live in the ops repository").memory.id
    a.sync()
    b.sync()
    for device in (a, b):
        with device.brain() as brain:
            assert brain.recall("grafana dashboards", limit=1)[0].memory.id == mid
    results = [a.sync(), b.sync(), a.sync(), b.sync()]
    assert sum(r["conflicts"] for r in results) == 0
    for device in (a, b):
        with device.brain() as brain:
            assert brain.get(mid).access_count == 2  # one recall per device, counted once
            with device.use():
                assert service.list_conflicts() == []


def test_a_device_clock_an_hour_back_still_orders_after_what_it_saw(
    devices: dict[str, Device], monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = devices["a"], devices["b"]
    with a.brain() as brain:
        mid = brain.remember("The on-call rotation starts Monday").memory.id
        brain.edit(mid, content="The on-call rotation starts Tuesday")
    a.sync()
    real = time.time_ns
    with monkeypatch.context() as patch:
        patch.setattr(time, "time_ns", lambda: real() - 3_600 * 10**9)
        b.sync()
        with b.brain() as brain:
            brain.edit(mid, content="The on-call rotation starts Friday")
            mine = brain.changes.current("memory", mid)
        b.sync()
    with a.brain() as brain:
        theirs = brain.changes.current("memory", mid)
    assert mine is not None and theirs is not None
    assert int(mine.version.hlc[:13]) > (real() - 3_600 * 10**9) // 10**6  # not b's wall clock
    a.sync()
    with a.brain() as brain:
        now = brain.changes.current("memory", mid)
    assert now is not None and now.version.vhash == mine.version.vhash
    assert now.version.hlc > theirs.version.hlc  # ordered after the edit it replaced
    assert live(a)[mid] == "The on-call rotation starts Friday"
    assert a.sync()["conflicts"] == 0


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"content": 5, "type": "fact", "tags": [], "created_at": 1},
        {"content": "x", "type": "poem", "tags": [], "created_at": 1},
        {"content": "x", "type": "fact", "tags": "kafka", "created_at": 1},
        {"content": "x", "type": "fact", "tags": [], "created_at": "yesterday"},
        {"content": "x", "ciphertext": "y", "type": "fact", "tags": [], "created_at": 1},
        {"content": "x", "type": "fact", "tags": [], "created_at": 1, "priority": True},
    ],
    ids=["empty", "content", "type", "tags", "created_at", "both-texts", "priority"],
)
def test_a_memory_body_no_client_should_write_is_kept_but_blocks_no_sync(
    devices: dict[str, Device], body: dict[str, object]
) -> None:
    """The hub checks vhashes, never bodies: a faulty client's memory record reaches every
    device. It is stored and synced like any record, but makes no memory -- and the good
    memories on the same page still arrive (it used to stop every sync at that page)."""
    a, b = devices["a"], devices["b"]
    with a.brain() as brain:
        good = brain.remember("Kafka carries the Falcon event bus").memory.id
        brain.changes.write("memory", "m-faulty", body=body, strength=0)
    assert a.sync()["pushed"] == 2
    result = b.sync()
    assert result["pulled"] == 2 and result["verified"] is True
    with b.brain() as brain:
        assert [h.memory.id for h in brain.recall("Kafka Falcon", reinforce=False)] == [good]
        faulty = brain.changes.current("memory", "m-faulty")
        assert faulty is not None and faulty.version.body == body
        assert brain.stats().memories == 1
    # a later, valid version of the record becomes a memory as usual
    with a.brain() as brain:
        current = brain.changes.current("memory", good)
        assert current is not None
        fixed = {**current.version.body, "content": "Fixed later"}
        brain.write_record("memory", "m-faulty", body=fixed, strength=0)
    a.sync()
    b.sync()
    with b.brain() as brain:
        assert brain.get("m-faulty").content == "Fixed later"


def test_the_collector_is_paused_only_while_pages_move(
    devices: dict[str, Device], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pull and push run without the cycle collector (sync/engine.py _collector_paused says
    why); verify does not, and a sync leaves it on."""
    seen: dict[str, list[bool]] = {"apply": [], "send": [], "verify": []}

    def spy(name: str, method: Any) -> Any:
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            seen[name].append(gc.isenabled())
            return method(*args, **kwargs)

        return wrapped

    monkeypatch.setattr(Brain, "apply_remote", spy("apply", Brain.apply_remote))
    monkeypatch.setattr(SyncEngine, "_settle", spy("send", SyncEngine._settle))
    monkeypatch.setattr(SyncEngine, "verify", spy("verify", SyncEngine.verify))
    a, b = devices["a"], devices["b"]
    with a.brain() as brain:
        brain.remember("Project falcon uses blue-green deploys")
    a.sync("full")
    b.sync("full")
    assert seen["apply"] and seen["send"] and seen["verify"]
    assert not any(seen["apply"] + seen["send"])
    assert all(seen["verify"]) and gc.isenabled()
