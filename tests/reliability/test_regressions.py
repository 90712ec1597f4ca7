"""Failing schedules the convergence model found, pinned as plain tests (each names its fix)."""

from __future__ import annotations

from sync_devices import Device


def test_two_fresh_devices_meet_in_one_brain_when_the_first_sync_sent_nothing(
    devices: dict[str, Device],
) -> None:
    """Found by sync_model: `a` pushed with nothing pending (no request reached the hub) and
    bound itself to its own brain id anyway; `b` found no brain on the hub and kept its own id.
    Two brains named `default` on one account, never converging. Fixed in SyncEngine._join:
    a device binds only to a brain the hub holds."""
    a, b = devices["a"], devices["b"]
    assert a.sync("push")["pushed"] == 0
    b.sync("full")
    with a.brain() as brain:
        mid = brain.remember("The falcon deploy uses blue-green rollout").memory.id
    first = a.sync("full")
    second = b.sync("full")
    assert first["joined"] == second["brain_id"]  # a merged into the brain b created
    assert first["verified"] and second["verified"] and first["root"] == second["root"]
    with b.brain() as brain:
        assert brain.get(mid).content == "The falcon deploy uses blue-green rollout"
