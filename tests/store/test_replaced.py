"""What a memory replaced before its hub held it (store/replaced.py): kept by a trigger for every
pending memory version that is replaced, named newest first, dropped once a later version is
held by the hub."""

from __future__ import annotations

from typing import Any

from neuralmemory.clock import MAX_CLOCK_SKEW_MS
from neuralmemory.protocol import Version
from neuralmemory.store import replaced
from neuralmemory.store.changes import ChangeLog
from neuralmemory.store.db import Database


def write(changes: ChangeLog, id: str = "m-1", kind: str = "memory", **fields: Any) -> Version:
    with changes.db.transaction():
        return changes.write(kind, id, body={"content": "x"} | fields.pop("body", {}), **fields)


def test_pending_memory_versions_replaced_here_are_named_newest_first(db: Database) -> None:
    changes = ChangeLog(db, "dev-a")
    first = write(changes, body={"content": "one"})
    second = write(changes, body={"content": "two"})  # coalesced: replaces the first
    write(changes, body={"content": "three"})
    write(changes, "m-2")
    assert replaced.names(db, ["m-1", "m-2"], 32) == {"m-1": [second.vhash, first.vhash]}
    assert replaced.names(db, ["m-1"], 1) == {"m-1": [second.vhash]}
    assert replaced.names(db, ["m-1"], 0) == {}


def test_a_version_the_hub_held_is_not_named_and_counters_keep_none(db: Database) -> None:
    changes = ChangeLog(db, "dev-a")
    pushed = write(changes)
    changes.mark_pushed("memory", "m-1", pushed.vhash)
    write(changes, body={"content": "edited"})  # replaces a version the hub holds
    write(changes, "a-1", kind="activation")
    write(changes, "a-1", kind="activation", body={"content": "y"})
    assert replaced.names(db, ["m-1", "a-1"], 32) == {}


def test_a_pending_version_displaced_by_a_hub_version_is_named(db: Database) -> None:
    changes = ChangeLog(db, "dev-a")
    mine = write(changes)
    theirs = Version.create(
        kind="memory",
        id="m-1",
        hlc=f"{int(mine.hlc[:13]) + 1:013d}-0000-dev-b",
        device_id="dev-b",
        body={"content": "theirs"},
    )
    with db.transaction():
        changes.store(theirs)
    assert replaced.names(db, ["m-1"], 32) == {"m-1": [mine.vhash]}


def test_names_leave_once_the_hub_holds_them_or_a_later_version(db: Database) -> None:
    changes = ChangeLog(db, "dev-a")
    first = write(changes)
    second = write(changes, body={"content": "two"})
    third = write(changes, body={"content": "three"})
    never = "9" * 13
    with db.transaction():
        replaced.held(db, [("m-1", first.hlc)], never)
    assert replaced.names(db, ["m-1"], 32) == {"m-1": [second.vhash]}
    with db.transaction():
        replaced.held(db, [("m-1", third.hlc)], never)
    assert replaced.names(db, ["m-1"], 32) == {}


def test_names_stamped_past_the_skew_bound_leave_with_the_next_held_version(
    db: Database,
) -> None:
    """A version stamped while the clock was far ahead and replaced there (an edit coalesced
    into it) would never leave by stamp order: the next held version of its memory takes it.
    The one stamped again in place is no name at all: the same version, its stamp set right."""
    clock = [10**12]
    changes = ChangeLog(db, "dev-a", now=lambda: clock[0])
    clock[0] += MAX_CLOCK_SKEW_MS * 10**4
    ahead = write(changes, body={"content": "far ahead"})
    write(changes, body={"content": "far ahead, edited"})
    clock[0] = 10**12 + 1000  # set right again
    with db.transaction():
        (again,) = changes.restamp_runaway()
    assert replaced.names(db, ["m-1"], 32) == {"m-1": [ahead.vhash]}
    with db.transaction():
        replaced.held(db, [("m-1", again.hlc)], f"{clock[0] + MAX_CLOCK_SKEW_MS + 1:013d}")
    assert replaced.names(db, ["m-1"], 32) == {}
