"""Brains and memories through the library API: remember, edit, forget, change tracking."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from neuralmemory import config
from neuralmemory.core.brain import Brain
from neuralmemory.core.brains import create_brain, delete_brain, list_brains, open_brain, use_brain
from neuralmemory.core.checks import MAX_CONTENT_BYTES
from neuralmemory.errors import InvalidInput, NotFound, StoreError
from neuralmemory.protocol import Version


def snapshot(brain: Brain) -> tuple[object, ...]:
    """Everything a write could change."""
    return (
        brain.db.execute("SELECT * FROM records ORDER BY kind, id").fetchall(),
        brain.db.execute("SELECT * FROM memories ORDER BY rid").fetchall(),
        brain.db.execute("SELECT count(*) FROM neurons").fetchone(),
        brain.changes.digest().root,
    )


def test_remember_returns_the_new_memory_and_deduplicates_the_same_text(brain: Brain) -> None:
    first = brain.remember("We decided to use PostgreSQL for billing.", tags=["DB", " db", "x"])
    assert first.created
    memory = first.memory
    assert memory.id.startswith("m-")
    assert memory.type == "decision"  # auto-detected
    assert memory.tags == ["db", "x"]
    assert memory.priority == 5
    again = brain.remember("  we decided to use postgresql   for billing. ")
    assert not again.created and again.memory.id == memory.id
    assert brain.get(memory.id).content == "We decided to use PostgreSQL for billing."
    assert brain.stats().memories == 1


def test_explicit_type_priority_and_expiry(brain: Brain) -> None:
    memory = brain.remember("Ship it", type="todo", priority=9, expires_days=2).memory
    assert (memory.type, memory.priority) == ("todo", 9)
    assert memory.expires_at == memory.created_at + 2 * 86_400_000


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"content": ""}, "non-empty"),
        ({"content": "   \n\t "}, "non-empty"),
        ({"content": "x" * (MAX_CONTENT_BYTES + 1)}, "limit is 65,536"),
        ({"content": "ok", "type": "gossip"}, "unknown type"),
        ({"content": "ok", "priority": 11}, "out of range"),
        ({"content": "ok", "priority": -1}, "out of range"),
        ({"content": "ok", "priority": True}, "integer"),
        ({"content": "ok", "tags": ["fine", 3]}, "strings"),
        ({"content": "ok", "tags": "not-a-list"}, "list of strings"),
        ({"content": "ok", "tags": [""]}, "1 to 64"),
        ({"content": "ok", "expires_days": 0}, "expires_days"),
        ({"content": 42}, "non-empty text"),
    ],
)
def test_bad_input_is_refused_and_changes_nothing(
    brain: Brain, kwargs: dict[str, Any], message: str
) -> None:
    brain.remember("an existing memory")
    before = snapshot(brain)
    content = kwargs.pop("content")
    with pytest.raises(InvalidInput, match=message):
        brain.remember(content, **kwargs)
    assert snapshot(brain) == before


def test_edit_makes_a_new_version_of_the_same_memory(brain: Brain) -> None:
    memory = brain.remember("The staging database lives on hydra.").memory
    created = brain.changes.current("memory", memory.id)
    assert created is not None
    brain.changes.mark_pushed("memory", memory.id, created.version.vhash)

    edited = brain.edit(memory.id, content="The staging database lives on kraken.", priority=8)
    assert edited.id == memory.id
    assert (edited.content, edited.priority) == ("The staging database lives on kraken.", 8)
    current = brain.changes.current("memory", memory.id)
    assert current is not None and current.pending
    assert current.version.parent == created.version.vhash
    assert brain.recall("kraken", reinforce=False)[0].memory.id == memory.id
    assert brain.recall("hydra", reinforce=False) == []


def test_an_edit_that_changes_nothing_writes_nothing(brain: Brain) -> None:
    memory = brain.remember("Tabs, not spaces", tags=["style"]).memory
    before = snapshot(brain)
    brain.edit(memory.id, tags=["style"])
    assert snapshot(brain) == before


def test_forget_leaves_tombstones_for_the_memory_its_activation_and_links(brain: Brain) -> None:
    brain.remember("Alice Moreno leads Project Falcon.")
    target = brain.remember("Project Falcon ships the billing service.").memory
    hits = brain.recall("Alice Moreno")  # reinforces both, links them
    assert {h.memory.id for h in hits} >= {target.id}
    assert brain.db.execute("SELECT count(*) FROM links").fetchone()[0] == 1

    brain.forget(target.id)
    with pytest.raises(NotFound):
        brain.get(target.id)
    tombstones = {(v.kind, v.deleted, v.body == {}) for v in brain.changes.pending() if v.deleted}
    assert tombstones == {("memory", True, True), ("activation", True, True), ("link", True, True)}
    assert brain.db.execute("SELECT count(*) FROM links").fetchone()[0] == 0
    assert all(h.memory.id != target.id for h in brain.recall("billing service"))
    with pytest.raises(NotFound):
        brain.forget(target.id)


def test_change_log_holds_one_pending_version_per_changed_record(brain: Brain) -> None:
    ids = [brain.remember(f"Note number {n} about the deploy pipeline").memory.id for n in range(5)]
    for _ in range(10):
        brain.recall("deploy pipeline")  # reinforcement: coalesced, never a flood
    brain.edit(ids[0], priority=1)
    brain.forget(ids[1])
    pending = brain.changes.pending(limit=1000)
    keys = [(v.kind, v.id) for v in pending]
    assert len(keys) == len(set(keys))
    assert {k for k in keys if k[0] == "memory"} == {("memory", i) for i in ids}
    assert {k for k in keys if k[0] == "activation"} == {("activation", i) for i in ids}
    assert all(v.parent is None for v in pending)  # nothing was ever pushed
    survivors = [v for v in pending if v.kind == "activation" and not v.deleted]
    assert all(sum(d["count"] for d in v.body["devices"].values()) == 10 for v in survivors)


def test_missing_brain_is_not_found_and_default_is_created(home: Path) -> None:
    with pytest.raises(NotFound, match="Brain not found: work"):
        open_brain("work")
    with open_brain() as brain:
        assert brain.name == "default"
    assert (home / "brains" / "default.db").exists()


def test_a_corrupt_brain_file_is_a_store_error_and_left_alone(home: Path) -> None:
    path = home / "brains" / "default.db"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"\x00garbage" * 512)
    with pytest.raises(StoreError, match="not a readable brain database"):
        open_brain()
    assert path.read_bytes() == b"\x00garbage" * 512


def test_brain_create_list_use_delete(home: Path) -> None:
    create_brain("work").close()
    with pytest.raises(InvalidInput, match="already exists"):
        create_brain("work")
    with pytest.raises(InvalidInput, match="invalid brain name"):
        create_brain("../evil")
    open_brain().close()
    names = {info.name: info for info in list_brains()}
    assert set(names) == {"default", "work"}
    assert names["default"].current and not names["work"].current
    assert names["work"].brain_id != names["default"].brain_id
    use_brain("work")
    assert config.load_config().brain == "work"
    with open_brain() as brain:
        assert brain.name == "work"
    delete_brain("work")
    assert not (home / "brains" / "work.db").exists()
    with pytest.raises(NotFound):
        use_brain("work")


def test_brain_id_is_kept_in_the_file(home: Path) -> None:
    with open_brain() as brain:
        first = brain.id
    with open_brain() as brain:
        assert brain.id == first == brain.brain_id


def test_an_empty_brain_can_take_a_remote_id_and_a_full_one_cannot(brain: Brain) -> None:
    brain.rekey("b-remote0001")
    assert brain.id == "b-remote0001"
    brain.remember("something")
    with pytest.raises(InvalidInput, match="only an empty brain"):
        brain.rekey("b-remote0002")
    with pytest.raises(InvalidInput):
        brain.rekey("not a valid id!")


def test_apply_remote_materializes_and_write_record_is_pending(brain: Brain, home: Path) -> None:
    remote = Version.create(
        kind="memory",
        id="m-remote",
        hlc="1700000000000-0000-dev-other",
        device_id="dev-other",
        body={
            "content": "Kafka carries the Falcon event bus.",
            "encrypted": False,
            "type": "fact",
            "tags": [],
            "priority": 5,
            "created_at": 1_700_000_000_000,
            "event_at": None,
            "expires_at": None,
        },
    )
    brain.apply_remote(remote)
    current = brain.changes.current("memory", "m-remote")
    assert current is not None and not current.pending
    assert brain.recall("kafka", reinforce=False)[0].memory.id == "m-remote"

    tombstone = brain.write_record("memory", "m-remote", deleted=True)
    assert tombstone.parent == remote.vhash
    assert brain.recall("kafka", reinforce=False) == []


def test_recent_and_strongest_list_live_memories_and_write_nothing(brain: Brain) -> None:
    rule = brain.remember("Always run make test", type="instruction").memory.id
    fact = brain.remember("The office cat is called Tom").memory.id
    brief = brain.remember("The demo runs today", expires_days=1).memory.id
    brain.recall("office cat")  # one use of the cat memory
    records = brain.changes.count()
    assert [m.id for m in brain.recent(10)] == [brief, fact, rule]  # newest first
    assert [m.id for m in brain.recent(2)] == [brief, fact]
    assert [m.id for m in brain.recent(10, types=["instruction"])] == [rule]
    assert [m.id for m in brain.strongest(10)] == [fact]
    assert brain.changes.count() == records  # read-only: nothing reinforced
    later = brain.now() + 2 * 86_400_000
    brain._now = lambda: later
    assert [m.id for m in brain.recent(10)] == [fact, rule]  # the expired one is left out
    with pytest.raises(InvalidInput, match="limit"):
        brain.recent(0)
    with pytest.raises(InvalidInput, match="unknown type"):
        brain.recent(5, types=["rumour"])
