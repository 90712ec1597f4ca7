"""Looking and correcting (core/browse.py, Brain supersede/forget/edit): list, show, supersede."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from neuralmemory.core.brain import Brain
from neuralmemory.core.brains import open_brain
from neuralmemory.core.browse import list_memories, show
from neuralmemory.core.history import Change, changes
from neuralmemory.core.timespan import parse_point, parse_window
from neuralmemory.errors import InvalidInput, NotFound
from neuralmemory.store.history import memory_versions

DAY = 86_400_000
T0 = 1_780_000_000_000  # 2026-05-28


@pytest.fixture
def clocked(home: Path) -> Iterator[tuple[Brain, list[int]]]:
    """A brain whose clock the test moves: now[0] is the time in ms."""
    now = [T0]
    with open_brain() as opened:
        brain = Brain(opened.name, opened.db, device_id=opened.device_id, now=lambda: now[0])
        yield brain, now


def _remember(brain: Brain, now: list[int], text: str, **kwargs: object) -> str:
    now[0] += DAY
    return brain.remember(text, **kwargs).memory.id  # type: ignore[arg-type]


def test_list_is_newest_first_filtered_and_paged(clocked: tuple[Brain, list[int]]) -> None:
    brain, now = clocked
    ids = [
        _remember(brain, now, f"Note {n} about the billing service", tags=["billing"] * (n % 2))
        for n in range(7)
    ]
    page = list_memories(brain, limit=3)
    assert [m.id for m in page.memories] == ids[::-1][:3] and page.next_before == ids[4]
    second = list_memories(brain, limit=3, before=page.next_before)
    assert [m.id for m in second.memories] == ids[::-1][3:6]
    last = list_memories(brain, limit=3, before=second.next_before)
    assert [m.id for m in last.memories] == [ids[0]] and last.next_before is None
    tagged = list_memories(brain, tags=["billing"])
    assert [m.id for m in tagged.memories] == [ids[5], ids[3], ids[1]]
    window = list_memories(brain, since=T0 + 2 * DAY, until=T0 + 4 * DAY)
    assert [m.id for m in window.memories] == [ids[2], ids[1]]
    assert list_memories(brain, type="decision").memories == []
    assert [m.id for m in list_memories(brain, project="nowhere").memories] == []


def test_list_leaves_out_superseded_and_expired_unless_everything(
    clocked: tuple[Brain, list[int]],
) -> None:
    brain, now = clocked
    old = _remember(brain, now, "The staging database is pg-staging-2")
    new = _remember(brain, now, "The staging database is pg-staging-3", supersedes=old)
    brief = _remember(brain, now, "The office is closed today", expires_days=1)
    now[0] += 2 * DAY
    assert [m.id for m in list_memories(brain).memories] == [new]
    every = list_memories(brain, everything=True).memories
    assert [m.id for m in every] == [brief, new, old]
    assert every[2].superseded_by == new


def test_list_refuses_bad_input(clocked: tuple[Brain, list[int]]) -> None:
    brain, _ = clocked
    with pytest.raises(NotFound, match="no memory with id m-nope"):
        list_memories(brain, before="m-nope")
    with pytest.raises(InvalidInput, match="limit must be"):
        list_memories(brain, limit=0)
    with pytest.raises(InvalidInput, match="unknown type"):
        list_memories(brain, type="rumour")
    with pytest.raises(InvalidInput, match="earlier than"):
        list_memories(brain, since=T0, until=T0)
    with pytest.raises(InvalidInput, match="a project must be"):
        list_memories(brain, project=" ")


def test_supersede_keeps_the_old_one_out_of_recall(clocked: tuple[Brain, list[int]]) -> None:
    brain, now = clocked
    old = _remember(brain, now, "Project Falcon streams its events through Kafka")
    assert [h.memory.id for h in brain.recall("Falcon events", reinforce=False)] == [old]
    new = _remember(brain, now, "Project Falcon streams its events through Redpanda")
    brain.edit(new, supersedes=old)
    hits = brain.recall("Falcon events Kafka", reinforce=False)
    assert [h.memory.id for h in hits] == [new]
    assert brain.get(old).superseded_by == new  # kept, marked
    detail = show(brain, old)
    assert [c.what for c in detail.history] == [["created"], [f"superseded by {new}"]]
    assert show(brain, new).supersedes == [old]
    assert [m.id for m in brain.recent()] == [new]  # what an agent's session starts with
    assert brain.rebuild_index() == 2  # a rebuild keeps it out too
    assert [h.memory.id for h in brain.recall("Kafka", reinforce=False)] == []


def test_supersede_refuses_itself_unknown_ids_and_superseded_replacements(
    clocked: tuple[Brain, list[int]],
) -> None:
    brain, now = clocked
    a = _remember(brain, now, "The deploy window is Tuesday")
    b = _remember(brain, now, "The deploy window is Wednesday", supersedes=a)
    with pytest.raises(InvalidInput, match="cannot supersede itself"):
        brain.edit(b, supersedes=b)
    with pytest.raises(NotFound, match="no memory with id m-gone"):
        brain.edit(b, supersedes="m-gone")
    c = _remember(brain, now, "The deploy window is Friday")
    with pytest.raises(InvalidInput, match=f"{a} is itself superseded by {b}"):
        brain.edit(a, supersedes=c)  # a replacement must be current
    with pytest.raises(NotFound):
        brain.remember("The deploy window is Monday", supersedes="m-gone")
    assert "The deploy window is Monday" not in {
        m.content for m in list_memories(brain, everything=True).memories
    }  # one transaction: the new memory is not left behind either


def test_show_tells_history_concepts_and_links(clocked: tuple[Brain, list[int]]) -> None:
    brain, now = clocked
    mid = _remember(brain, now, "Alice Moreno leads Project Falcon", tags=["team"])
    other = _remember(brain, now, "Project Falcon streams its events through Kafka")
    now[0] += DAY
    brain.edit(mid, priority=8, tags=["team", "people"])
    now[0] += DAY
    brain.edit(mid, content="Alice Moreno leads Project Falcon and Project Osprey")
    brain.recall("Alice", limit=5)  # reinforces; a hop-2 hit learns a link
    detail = show(brain, mid)
    assert [c.what for c in detail.history] == [
        ["created"],
        ["tags team -> people,team", "priority 5 -> 8"],
        ["content changed"],
    ]
    assert all(c.device_id == brain.device_id for c in detail.history)
    assert "project falcon" in detail.concepts
    assert detail.conflicts == []
    data = detail.to_json()
    assert data["memory"]["id"] == mid and data["this_device"] == brain.device_id
    assert {link["id"] for link in data["links"]} <= {other}
    with pytest.raises(NotFound, match="`nmem list` shows the ids"):
        show(brain, "m-nope")


def test_forget_dry_run_deletes_nothing(clocked: tuple[Brain, list[int]]) -> None:
    brain, now = clocked
    mid = _remember(brain, now, "The VPN config lives in the team vault")
    pending = brain.changes.pending_count()
    would = brain.forget(mid, dry_run=True)
    assert would.dry_run and would.memory is not None and would.memory.id == mid
    assert brain.changes.pending_count() == pending and brain.get(mid).id == mid
    gone = brain.forget(mid)
    assert gone.to_json()["forgotten"] is True
    with pytest.raises(NotFound):
        brain.forget(mid, dry_run=True)
    assert [c.what for c in show_history_of_forgotten(brain, mid)] == [["created"], ["forgotten"]]


def show_history_of_forgotten(brain: Brain, mid: str) -> list[Change]:
    """`show` needs a live memory; the history of a forgotten one is still kept."""
    return changes(memory_versions(brain.db, mid))


def test_edit_with_nothing_to_change_is_an_error(clocked: tuple[Brain, list[int]]) -> None:
    brain, now = clocked
    mid = _remember(brain, now, "Billing deploys happen on Fridays")
    with pytest.raises(InvalidInput, match="nothing to change"):
        brain.edit(mid)


def test_recall_since_until(clocked: tuple[Brain, list[int]]) -> None:
    brain, now = clocked
    first = _remember(brain, now, "Billing deploys happen on Fridays")
    second = _remember(brain, now, "Billing deploys moved to Thursdays")
    found = brain.recall("billing deploys", reinforce=False, since=T0 + 2 * DAY)
    assert [h.memory.id for h in found] == [second]
    found = brain.recall("billing deploys", reinforce=False, until=T0 + 2 * DAY)
    assert [h.memory.id for h in found] == [first]
    with pytest.raises(InvalidInput, match="earlier than"):
        brain.recall("billing", since=T0 + 5 * DAY, until=T0)


@pytest.mark.parametrize(
    ("text", "end", "expected"),
    [
        ("7d", False, T0 - 7 * DAY),
        ("12h", False, T0 - 12 * 3_600_000),
        ("30m", False, T0 - 30 * 60_000),
        ("2w", False, T0 - 14 * DAY),
        ("2026-05-01", False, 1_777_593_600_000),
        ("2026-05-01", True, 1_777_593_600_000 + DAY),
        ("2026-05-01T09:30", False, 1_777_593_600_000 + 9.5 * 3_600_000),
        ("2026-05-01T09:30+02:00", False, 1_777_593_600_000 + 7.5 * 3_600_000),
        ("2026-05-01T09:30Z", False, 1_777_593_600_000 + 9.5 * 3_600_000),
    ],
)
def test_points_in_time(text: str, end: bool, expected: float) -> None:
    assert parse_point(text, T0, end=end) == expected


@pytest.mark.parametrize("bad", ["yesterday", "7x", "-7d", "2026-13-01", "", "7 d"])
def test_bad_points_in_time_name_the_forms(bad: str) -> None:
    with pytest.raises(InvalidInput, match="is not a time") as caught:
        parse_window(bad, None, T0)
    assert "7d" in (caught.value.hint or "")
