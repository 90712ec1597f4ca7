"""The model's devices keep their brain's SQLite connection open between operations
(sync_model.SimDevice.brain): nothing of it may leak into a copy of the device's folder, a
restored folder, the next operation or the next schedule."""

from __future__ import annotations

import pytest

from helpers.model_draws import Draws
from helpers.sync_model import SyncModel, scan_device


def _memories(model: SyncModel, index: int) -> int:
    return sum(1 for v in scan_device(model.pick(index)).rows.values() if v.kind == "memory")


def test_copies_are_of_a_closed_brain_and_a_restore_is_read_from_the_restored_folder() -> None:
    model = SyncModel()
    try:
        model.make_devices(strategies=["prefer_recent", "prefer_recent"])
        device = model.pick(0)
        model.remember(index=0, shared=0, topic="falcon deploy")
        model.snapshot(device)
        assert device.snapshot is not None
        # checkpointed and closed, as a folder no program has open: no WAL beside the brain
        assert not list(device.snapshot.rglob("*-wal"))
        model.remember(index=0, shared=1, topic="billing ledger")
        assert device.db is not None and _memories(model, 0) == 2
        model.restore(device)
        assert _memories(model, 0) == 1  # the copy's brain, not what the old connection saw
        nothing_live = Draws(which=0, topic="release train", priority=0)  # so it remembers
        model.backup_while_unpushed(index=1, strategy="prefer_recent", data=nothing_live)
        assert model._backups is not None and not list(model._backups[1].rglob("*-wal"))
    finally:
        model.teardown()
    assert all(d.db is None for d in model.devices)  # the next schedule inherits no connection


def test_an_operation_that_fails_mid_write_leaves_no_transaction_for_the_next() -> None:
    model = SyncModel()
    try:
        model.make_devices(strategies=["prefer_recent", "prefer_recent"])
        device = model.pick(0)
        with pytest.raises(RuntimeError), device.brain() as brain:
            brain.db.conn.execute("BEGIN IMMEDIATE")
            brain.db.conn.execute("DELETE FROM _migrations")
            raise RuntimeError("the operation failed half-way")
        assert device.db is None  # closed: SQLite rolled the write back
        with device.brain() as brain:
            assert not brain.db.conn.in_transaction
            assert brain.db.conn.execute("SELECT count(*) FROM _migrations").fetchone()[0] > 0
    finally:
        model.teardown()
