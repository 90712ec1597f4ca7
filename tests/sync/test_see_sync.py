"""Imports and supersessions sync like any write. A supersession is a new version of the old
memory naming its replacement, so every device keeps the old one, marks it, and leaves it out
of recall; its history there names the device that superseded it."""

from __future__ import annotations

from pathlib import Path

from helpers.devices import Device, edit_on_both
from neuralmemory.core.browse import list_memories, show
from neuralmemory.core.export import export_lines
from neuralmemory.core.importer import import_read, read_jsonl


def test_supersede_reaches_a_second_device_through_the_hub(devices: dict[str, Device]) -> None:
    a, b = devices["a"], devices["b"]
    with a.brain() as brain:
        old = brain.remember("The staging database is pg-staging-2").memory.id
    a.sync()
    b.sync()
    with b.brain() as brain:
        assert [h.memory.id for h in brain.recall("staging database", reinforce=False)] == [old]
    with a.brain() as brain:
        new = brain.remember("The staging database is pg-staging-3", supersedes=old).memory.id
        a_device = brain.device_id
    assert a.sync()["verified"] is True
    assert b.sync()["verified"] is True
    with b.brain() as brain:
        hits = brain.recall("staging database", reinforce=False)
        assert [h.memory.id for h in hits] == [new]
        assert brain.get(old).superseded_by == new
        assert [m.id for m in list_memories(brain).memories] == [new]
        history = show(brain, old).history
        assert [c.what for c in history] == [["created"], [f"superseded by {new}"]]
        assert {c.device_id for c in history} == {a_device}
        assert show(brain, new).supersedes == [old]


def test_show_lists_the_conflict_copy_of_a_memory(devices: dict[str, Device]) -> None:
    a, b = devices["a"], devices["b"]
    mid = edit_on_both(a, b)
    a.sync()
    assert b.sync()["conflicts"] == 1
    with b.brain() as brain:
        detail = show(brain, mid)
    (copy,) = detail.conflicts
    assert copy.content == "The release train leaves on Wednesday" and copy.id.startswith("cf-")
    assert detail.history[0].what == ["created"]
    assert ["content changed"] in [c.what for c in detail.history]


def test_imported_memories_sync_like_any_other(devices: dict[str, Device], tmp_path: Path) -> None:
    a, b = devices["a"], devices["b"]
    with a.brain() as brain:
        brain.remember("Billing deploys happen on Fridays", tags=["billing"])
        exported = tmp_path / "a.jsonl"
        exported.write_text("".join(f"{line}\n" for line in export_lines(brain)))
    with b.brain() as brain:
        assert import_read(brain, "nmem", read_jsonl(exported)).imported == 1
    pushed = b.sync()
    assert pushed["pushed"] >= 1 and pushed["verified"] is True
    c = devices["c"]
    c.sync()
    with c.brain() as brain:
        assert [m.content for m in list_memories(brain).memories] == [
            "Billing deploys happen on Fridays"
        ]
