"""Failing schedules the convergence model found, pinned as plain tests (each names its fix)."""

from __future__ import annotations

import subprocess
import threading
from pathlib import Path

import httpx
import pytest

from helpers.devices import Device, Hub
from helpers.model_draws import Draws
from helpers.sync_model import SyncModel, WithinSkewModel, scan_device
from neuralmemory.sync.transport import MAX_ATTEMPTS


def test_two_fresh_devices_meet_in_one_brain_when_the_first_sync_sent_nothing(
    devices: dict[str, Device],
) -> None:
    """Found by sync_model: `a` pushed with nothing pending (no request reached the hub) and
    bound itself to its own brain id anyway; `b` found no brain on the hub and kept its own id.
    Two brains named `default` on one account, never converging. Fixed in SyncEngine._join:
    a device binds only to a brain the hub holds. Since only a push with records claims a brain,
    `b`'s empty first sync leaves none either: `a` makes it with its first record, `b` joins."""
    a, b = devices["a"], devices["b"]
    assert a.sync("push")["pushed"] == 0
    b.sync("full")
    with a.brain() as brain:
        mid = brain.remember("The falcon deploy uses blue-green rollout").memory.id
    first = a.sync("full")
    second = b.sync("full")
    assert second["joined"] == first["brain_id"] == second["brain_id"]
    assert first["verified"] and second["verified"] and first["root"] == second["root"]
    with b.brain() as brain:
        assert brain.get(mid).content == "The falcon deploy uses blue-green rollout"


def test_a_trailing_slash_is_a_404_error_not_a_redirect(hub_transport: httpx.BaseTransport) -> None:
    """Found by test_attacks: /v1/brains/%2E%2E%2F (`../`) got FastAPI's 307 to /v1/brains/..,
    an empty 3xx where every malformed path gets the protocol's 4xx. Fixed in hub/app.py:
    redirect_slashes=False."""
    with httpx.Client(transport=hub_transport, base_url="http://127.0.0.1") as http:
        for method, path in [
            ("GET", "/v1/health/"),
            ("GET", "/v1/brains/%2E%2E%2F"),
            ("POST", "/v1/brains/b-1/pull/"),
        ]:
            answer = http.request(method, path, json={})
            assert answer.status_code == 404, (path, answer.status_code)
            assert answer.json() == {"error": "Not found", "code": "not_found"}


def _memory_ids(model: SyncModel, index: int) -> list[str]:
    return sorted(v.id for v in scan_device(model.pick(index)).rows.values() if v.kind == "memory")


def test_model_a_restore_takes_back_local_edits_that_only_replaced_each_other() -> None:
    """Found by benchmarks/reliability_run.py, as "versions lost": after a snapshot, a device
    edited one memory twice and was then restored from the snapshot. Both edits lived only on
    that device; the model rolled back the second but counted the first -- replaced by the
    second, so not on the device when the restore came -- as lost. Fixed in SyncModel.restore:
    a token replaced only by writes the restore threw away goes with them."""
    model = SyncModel()
    try:
        model.make_devices(strategies=["prefer_recent", "prefer_recent"])
        model.remember(index=0, shared=0, topic="falcon deploy")
        (memory_id,) = _memory_ids(model, 0)
        model.fault(index=0, data=Draws(fault="snapshot"))
        for priority in (0, 2):
            edit = Draws(model.pick(0), which=memory_id, topic="release train", priority=priority)
            model.edit(index=0, data=edit)
        model.fault(index=0, data=Draws(fault="restore"))
        model.nothing_lost_so_far()
        assert len(model.rolled_back) == 2
    finally:
        model.teardown()


def test_model_two_deletes_that_lose_to_one_edit_are_two_conflict_copies() -> None:
    """Found by benchmarks/reliability_run.py, as "duplicated conflict copies": two devices
    forgot one memory while a third edited it; the edit won, so each delete lost and was kept
    as a conflict copy. Two losers, two copies, as docs/architecture.md asks -- but both have the
    token of a delete, and the model took them for one loser copied twice. Fixed in the model: a
    deleted loser is told apart by its stamp."""
    model = SyncModel()
    try:
        model.make_devices(strategies=["prefer_recent"] * 3)
        model.remember(index=0, shared=0, topic="falcon deploy")
        model.remember(index=2, shared=0, topic="falcon deploy")  # the same memory
        model.sync_two(action="push", index=0)
        (memory_id,) = _memory_ids(model, 0)
        model.forget(index=0, data=Draws(model.pick(0), which=memory_id))
        model.forget(index=2, data=Draws(model.pick(2), which=memory_id))
        edit = Draws(model.pick(1), which=memory_id, topic="falcon deploy", priority=0)
        model.edit(index=1, data=edit)
        model.nothing_lost_so_far()
        model.check_converged()
        copies = [
            v
            for v in scan_device(model.pick(0)).rows.values()
            if v.kind == "conflict" and not v.deleted
        ]
        assert len(copies) == 2
        assert all(copy.body["loser"]["deleted"] for copy in copies)
    finally:
        model.healthy = False  # checked above
        model.teardown()


def test_model_arms_no_more_faults_than_one_request_can_retry_through() -> None:
    """Found by test_real_hub_long: the schedule armed four kills on one device, all on "any"
    endpoint, and its next request (GET /v1/brains) lost its reply four times in a row; the
    client gave up after MAX_ATTEMPTS, as designed, and the model took that for a sync
    failure. Fixed in FaultyTransport.arm: at most MAX_ATTEMPTS - 1 faults wait at a time."""
    model = SyncModel()
    try:
        model.make_devices(strategies=["prefer_recent", "prefer_recent"])
        model.remember(index=0, shared=0, topic="falcon deploy")
        for _ in range(MAX_ATTEMPTS + 2):
            model.fault(index=0, data=Draws(fault="drop_reply", endpoint="any"))
        assert len(model.pick(0).transport.armed) == MAX_ATTEMPTS - 1
        model.sync_one(index=0, action="full")  # every armed fault hits its first requests
        assert model.pick(0).transport.armed == []
        model.nothing_lost_so_far()
        model.check_converged()
    finally:
        model.healthy = False  # checked above
        model.teardown()


def test_model_finds_the_hub_brain_when_every_device_is_restored_from_before_its_first_sync() -> (
    None
):
    """Found by benchmarks/reliability_run.py (sqlite, seed 8), as "versions lost": both devices
    were restored from copies taken before their first sync, so neither named the hub brain any
    more, and the model read the hub as empty while it still held their edits. Fixed in the
    model: it keeps the hub brain a device last named (SyncModel._hub_scan)."""
    model = WithinSkewModel()
    try:
        model.make_devices(strategies=["prefer_recent", "prefer_recent"])
        model.fault(index=0, data=Draws(fault="snapshot"))
        model.restore_backup(index=0)
        model.restore_after_others_moved_on(
            index=1, strategy="prefer_recent", forget=False, action="full",
            data=Draws(which=0, topic="falcon", priority=0),
        )  # fmt: skip
        model.restore_backup(index=1)
        model.fault(index=0, data=Draws(fault="restore"))
        assert all(model._remote_id(device) is None for device in model.devices)
        assert model._hub_scan().tokens()  # the hub still holds what the devices pushed
        model.nothing_lost_so_far()
        model.check_converged()
    finally:
        model.healthy = False  # checked above
        model.teardown()


def test_a_hub_started_from_a_short_lived_thread_outlives_it(tmp_path: Path) -> None:
    """Found as the flaky test_sync_converges_with_a_real_hub_killed_between_commit_and_reply
    (HubUnavailable: ConnectError): a `kill` fault on a pushed batch restarted the hub from the
    engine's push thread, and the hub's parent death signal, which Linux ties to the thread
    that started it, stopped the new hub as soon as that thread ended. Fixed in helpers/devices.py:
    hubs are started from one thread that lives as long as the test process."""
    hub = Hub(tmp_path / "hub.db", tmp_path / "hub.log")
    try:
        worker = threading.Thread(target=hub.start)
        worker.start()
        worker.join()
        assert hub.proc is not None
        with pytest.raises(subprocess.TimeoutExpired):
            hub.proc.wait(timeout=2)  # still running after its starting thread ended
        assert httpx.get(hub.url + "/v1/health", timeout=5).status_code == 200
    finally:
        hub.stop()


def test_model_a_remote_delete_copy_made_in_the_last_round_reaches_every_device() -> None:
    """Found by the model with restores after far clocks (root differs from the hub): device 2
    forgot a memory device 1 wrote, unpushed when the final rounds began. Device 2 pushed the
    delete in the first round; device 1 met it in the second and kept its version as a conflict
    copy (remote_delete, docs/sync.md); device 0, which synced before it, never saw the copy.
    Nothing wrong in sync: a write can make an earlier device write once more. Fixed in
    SyncModel.check_converged: the final rounds go on until one moves nothing."""
    model = SyncModel()
    try:
        model.make_devices(strategies=["prefer_recent"] * 3)
        model.remember(index=1, shared=-5, topic="grafana dashboard")
        model.sync_two(index=1, action="full")
        model.sync_one(index=0, action="full")
        (memory_id,) = _memory_ids(model, 0)
        model.forget(index=2, data=Draws(model.pick(2), which=memory_id))
        model.nothing_lost_so_far()
        model.check_converged()
        copies = [v for v in scan_device(model.pick(0)).rows.values() if v.kind == "conflict"]
        assert [c.body["strategy"] for c in copies] == ["remote_delete"]
    finally:
        model.healthy = False  # checked above
        model.teardown()


def test_model_edits_on_top_of_a_version_stamped_days_ahead_are_not_lost() -> None:
    """Found by benchmarks/reliability_run.py --far-clocks as "versions lost" (seed
    331594432252565412420581998602694548247, 100 schedules of 60 steps): device 0, its clock
    3 days ahead, edited a memory and pushed (the hub took it: within its bound); device 1, on
    the right clock, never adopted that stamp, so its two edits on top carried smaller stamps.
    Device 0, holding its 3-days-ahead version stored, took them for an older hub version ("the
    newer stamp wins") and wrote its own text back over them: here device 1's edit survives only
    as a conflict copy; in the long run's schedule, with more devices syncing in between, it was
    gone everywhere. Fixed in sync/plan.py: a stored version is settled by ancestry (the push
    asks the hub, which answers `superseded`), never by stamp order."""
    model = SyncModel()
    try:
        model.make_devices(strategies=["prefer_recent", "prefer_recent"])
        model.remember(index=0, shared=-1, topic="release train")
        model.sync_two(index=0, action="push")
        (memory_id,) = _memory_ids(model, 0)
        far = Draws(
            model.pick(0), ahead="3 days", which=memory_id, topic="release train", priority=2
        )
        model.clock_far_ahead(index=0, topic="falcon deploy", data=far)
        model.sync_one(index=1, action="full")
        for topic in ("cache jitter", "billing ledger"):
            model.edit(index=1, data=Draws(model.pick(1), which=memory_id, topic=topic, priority=1))
            model.sync_one(index=1, action="full")
        model.sync_one(index=0, action="full")
        model.nothing_lost_so_far()
        model.check_converged()
        hub = model._hub_scan().current(memory_id)
        assert hub is not None and "written on device 1" in str(hub.body["content"])
    finally:
        model.healthy = False  # checked above
        model.teardown()


def test_model_a_backup_restored_twice_keeps_the_edit_made_after_the_second_restore() -> None:
    """Found by benchmarks/reliability_run.py (seed 15, PostgreSQL pair and Worker alike), as "a
    replaced version is back": device 1 edited a memory with its clock 225 years ahead (push
    refused), was backed up with that edit pending, then pushed it stamped again (V). Restored,
    its pull met V -- its own write, same parent, same text -- and rewrote the restored copy on
    top of V as a new version W. Restored from the same backup again, it edited the memory:
    that edit's parent is no longer W's, so W looked like a rival, and under prefer_remote the
    hub's W (the old text) won over the newer edit. Fixed in plan._reconcile: a pending version
    that says the same as our own write on the hub applies it instead of rewriting it."""
    model = WithinSkewModel()
    shared = "m-eac7fd18725c591abe9ab4b8"  # SHARED[1]
    try:
        model.make_devices(strategies=["prefer_recent", "prefer_recent"])
        model.remember(index=0, shared=1, topic="falcon deploy")
        model.first_syncs_at_once(gate=False)
        first = "m-36d7a466bcf7c49cd1b408b7"
        model.edit(
            index=0, data=Draws(model.pick(0), which=first, topic="falcon deploy", priority=0)
        )
        model.restore_after_others_moved_on(
            index=0, strategy="prefer_recent", forget=True, action="full",
            data=Draws(model.pick(0), which=first, topic="falcon deploy", priority=0),
        )  # fmt: skip
        model.clock_far_ahead(
            index=3, topic="falcon deploy", action="push",
            data=Draws(
                model.pick(3), ahead="225 years", which=shared, topic="cache jitter", priority=6
            ),
        )  # fmt: skip
        model.restore_after_others_moved_on(
            index=3, strategy="prefer_remote", forget=True, action="pull then push",
            data=Draws(
                model.pick(3), which="m-5e237986850fc6f9baafd8e0", topic="release train",
                priority=0,
            ),
        )  # fmt: skip
        model.join_while_others_sync(strategy="prefer_recent", index=0, action="pull")
        model.fault(index=1, data=Draws(fault="restore"))
        model.backup_while_unpushed(
            index=1, strategy="prefer_remote",
            data=Draws(model.pick(1), which=shared, topic="cache jitter", priority=5),
        )  # fmt: skip
        model.after_every_step()
        model.check_converged()
    finally:
        model.teardown()


def test_model_a_forget_a_restore_threw_away_is_not_taken_for_a_kept_delete() -> None:
    """Found by `make test-long` as "deleted memory came back": a device forgot a memory and was
    restored from a copy taken before, so the forget never left it; the memory stayed live, as
    it should. But an earlier delete of that memory, which had lost to an edit, was kept as a
    conflict copy, and a delete's token names no version, so the model took the forget for still
    held. Fixed in the model: a restore that throws away an unpushed forget's tombstone, held
    nowhere else, rolls that forget back."""
    model = SyncModel()
    try:
        model.make_devices(strategies=["prefer_recent", "prefer_remote"])
        model.remember(index=0, shared=0, topic="falcon deploy")
        (memory_id,) = _memory_ids(model, 0)
        model.sync_one(index=0, action="full")
        model.sync_one(index=1, action="full")
        model.fault(index=1, data=Draws(fault="snapshot"))  # it holds the first version
        model.forget(index=1, data=Draws(model.pick(1), which=memory_id))
        edit = Draws(model.pick(0), which=memory_id, topic="release train", priority=1)
        model.edit(index=0, data=edit)
        model.sync_one(index=0, action="full")
        model.sync_one(index=1, action="full")  # the edit wins, the delete is a conflict copy
        model.forget(index=1, data=Draws(model.pick(1), which=memory_id))  # the edit, unpushed
        model.fault(index=1, data=Draws(fault="restore"))
        model.check_converged()
    finally:
        model.teardown()
