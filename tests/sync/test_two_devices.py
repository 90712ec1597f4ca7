"""Two and three devices through one hub (in-process): propagation, deletes, conflicts, counters."""

from __future__ import annotations

from conftest import Device


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
