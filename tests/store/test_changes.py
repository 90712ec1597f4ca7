"""The change log: one pending version per changed record, with the right parent, and a digest
that always equals the XOR fold of the current records."""

from __future__ import annotations

import shutil
from functools import reduce
from itertools import pairwise
from pathlib import Path
from typing import Any

from neuralmemory.clock import MAX_CLOCK_SKEW_MS, Stamp, wall_ms
from neuralmemory.protocol import (
    EMPTY_DIGEST,
    Version,
    bucket_of,
    canonical_json,
    item_digest,
    xor_digest,
)
from neuralmemory.store.changes import ChangeLog, Current
from neuralmemory.store.db import Database, connect
from neuralmemory.store.migrations import migrate


def log(db: Database, device: str = "dev-a") -> ChangeLog:
    return ChangeLog(db, device)


def write(changes: ChangeLog, id: str = "m-1", kind: str = "memory", **kwargs: Any) -> Version:
    with changes.db.transaction():
        return changes.write(kind, id, **kwargs)


def expected_root(db: Database) -> str:
    items = [item_digest(k, i, v) for k, i, v in db.execute("SELECT kind, id, vhash FROM records")]
    return reduce(xor_digest, items, EMPTY_DIGEST)


def test_a_new_record_is_pending_with_no_parent(db: Database) -> None:
    changes = log(db)
    version = write(changes, body={"content": "x"})
    assert version.parent is None
    current = changes.current("memory", "m-1")
    assert current is not None and current.pending and current.version == version
    assert changes.pending() == [version]


def test_writes_while_pending_coalesce_into_one_version_keeping_the_parent(db: Database) -> None:
    changes = log(db)
    first = write(changes, body={"n": 1})
    second = write(changes, body={"n": 2})
    third = write(changes, body={"n": 3})
    assert changes.pending() == [third]
    assert third.parent is None  # the hub still knows nothing of m-1
    assert first.hlc < second.hlc < third.hlc


def test_after_a_push_the_next_version_fast_forwards_from_it(db: Database) -> None:
    changes = log(db)
    pushed = write(changes, body={"n": 1})
    with db.transaction():
        assert changes.mark_pushed("memory", "m-1", pushed.vhash)
    assert changes.pending() == []
    edit = write(changes, body={"n": 2})
    again = write(changes, body={"n": 3})
    assert edit.parent == pushed.vhash
    assert again.parent == pushed.vhash
    assert changes.pending() == [again]


def test_mark_pushed_keeps_a_newer_local_write_pending(db: Database) -> None:
    changes = log(db)
    in_flight = write(changes, body={"n": 1})
    newer = write(changes, body={"n": 2})
    with db.transaction():
        assert not changes.mark_pushed("memory", "m-1", in_flight.vhash)
    assert changes.pending() == [newer]


def test_a_delete_is_a_tombstone_with_an_empty_body(db: Database) -> None:
    changes = log(db)
    created = write(changes, body={"n": 1})
    with db.transaction():
        changes.mark_pushed("memory", "m-1", created.vhash)
    tombstone = write(changes, deleted=True)
    assert tombstone.deleted and tombstone.body == {}
    assert tombstone.parent == created.vhash


def test_remote_versions_are_current_but_not_pending_and_push_the_clock(db: Database) -> None:
    changes = log(db)
    future = Stamp(wall_ms() + 3_600_000, 5, "dev-b")  # an hour ahead: inside the skew bound
    remote = Version.create(
        kind="memory", id="m-2", hlc=str(future), device_id="dev-b", body={"n": 1}
    )
    with db.transaction():
        changes.store(remote)
    current = changes.current("memory", "m-2")
    assert current is not None and not current.pending
    local = write(changes, id="m-2", body={"n": 2})
    assert Stamp.parse(local.hlc) > future
    assert local.parent == remote.vhash


def test_a_stamp_beyond_the_skew_bound_is_stored_but_never_adopted(db: Database) -> None:
    """A write stamped in 2250, or an activation stamped at the very end of the stamp space,
    is stored as it came (brains converge), but this device keeps stamping at its own time, and
    can still write: before, the clock jumped to 2250 or overflowed and every write failed."""
    changes = log(db)
    for hlc in ("9000000000000-0000-dev-b", "9999999999999-ffff-dev-x"):
        device = hlc.split("-", 2)[2]
        remote = Version.create(
            kind="activation", id="a-" + device, hlc=hlc, device_id=device, body={"n": 1}
        )
        with db.transaction():
            changes.store(remote)
        current = changes.current("activation", "a-" + device)
        assert current is not None and current.version == remote
    before = wall_ms()
    local = [write(changes, id=f"m-{n}", body={"n": n}) for n in range(3)]
    assert [v.hlc for v in local] == sorted(v.hlc for v in local)
    assert all(before <= Stamp.parse(v.hlc).ms <= wall_ms() for v in local)
    # A fresh process reading the stored clock state is not pinned either.
    again = write(log(db), id="m-9", body={"n": 9})
    assert Stamp.parse(again.hlc).ms <= wall_ms()


def test_a_device_whose_own_clock_ran_ahead_recovers_and_restamps(db: Database) -> None:
    """A device stamps a year ahead, then its clock is set right: its next stamps follow the
    wall clock again (not the stored year-ahead state), and its pending year-ahead versions are
    stamped again with the same substance and parent, so the hub takes them: a memory 1 ms after
    its parent (a new one at 0), a version of another kind with the current time."""
    year = 365 * 24 * 3_600_000
    now = wall_ms()
    base = write(log(db), id="m-1", body={"n": 0})
    log(db).mark_pushed("memory", "m-1", base.vhash)
    ahead = ChangeLog(db, "dev-a", now=lambda: now + year)
    wrong = write(ahead, id="m-1", body={"n": 1})
    new = write(ahead, id="m-3", body={"n": 3})
    counter = write(ahead, id="a-1", kind="activation", body={"devices": {"dev-a": 1}})
    assert Stamp.parse(wrong.hlc).ms >= now + year
    fixed = ChangeLog(db, "dev-a", now=lambda: now)
    other = write(fixed, id="m-2", body={"n": 2})
    assert Stamp.parse(other.hlc).ms == now
    with db.transaction():
        in_place = fixed.restamp_runaway(in_place_only=True)
    assert {v.id for v in in_place} == {"m-1", "m-3"}
    assert {v.vhash for v in in_place} < {v.vhash for v in fixed.pending()}
    with db.transaction():
        (restamped_counter,) = fixed.restamp_runaway()
    edited, created = (fixed.current("memory", id) for id in ("m-1", "m-3"))
    assert edited is not None and created is not None
    assert (edited.version.body, edited.version.parent) == (wrong.body, base.vhash)
    assert Stamp.parse(edited.version.hlc).ms == Stamp.parse(base.hlc).ms + 1
    assert (created.version.body, Stamp.parse(created.version.hlc).ms) == (new.body, 0)
    assert restamped_counter.body == counter.body
    assert now <= Stamp.parse(restamped_counter.hlc).ms <= now + MAX_CLOCK_SKEW_MS
    assert len(fixed.pending()) == 4
    with db.transaction():
        assert fixed.restamp_runaway() == []


def test_a_memory_stamped_again_in_place_is_the_same_version_from_every_copy(
    tmp_path: Path,
) -> None:
    """Two copies of one folder holding a memory stamped a year ahead (a backup and the folder
    it was taken from) stamp it again identically: the hub meets one version, not two rivals."""
    year = 365 * 24 * 3_600_000
    now = wall_ms()
    first = connect(tmp_path / "a.db")
    migrate(first)
    write(ChangeLog(first, "dev-a", now=lambda: now + year), id="m-1", body={"n": 1})
    first.close()
    shutil.copy(tmp_path / "a.db", tmp_path / "b.db")
    again = []
    for name in ("a.db", "b.db"):
        db = connect(tmp_path / name)
        with db.transaction():
            again += ChangeLog(db, "dev-a", now=lambda: now).restamp_runaway()
        db.close()
    assert len(again) == 2 and again[0] == again[1]


def test_the_clock_never_goes_backwards_across_processes(db: Database) -> None:
    first = write(log(db), body={"n": 1})
    # A second process whose wall clock is an hour behind.
    behind = ChangeLog(db, "dev-a")
    behind._clock._now = lambda: Stamp.parse(first.hlc).ms - 3_600_000
    later = write(behind, id="m-9", body={"n": 2})
    assert Stamp.parse(later.hlc) > Stamp.parse(first.hlc)


def test_the_digest_is_the_xor_of_all_current_records(db: Database) -> None:
    changes = log(db)
    for n in range(40):
        write(changes, id=f"m-{n}", body={"n": n})
    for n in range(0, 40, 3):
        write(changes, id=f"m-{n}", body={"n": -n})
    write(changes, id="m-5", deleted=True)
    digest = changes.digest()
    assert digest.root == expected_root(db)
    assert digest.records == 40
    for bucket in {bucket_of("memory", f"m-{n}") for n in range(40)}:
        entries = changes.bucket_entries([bucket])
        fold = reduce(
            xor_digest, (item_digest(e.kind, e.id, e.vhash) for e in entries), EMPTY_DIGEST
        )
        assert digest.buckets[bucket] == fold
    assert reduce(xor_digest, digest.buckets, EMPTY_DIGEST) == digest.root


def test_pending_pages_in_hlc_order(db: Database) -> None:
    changes = log(db)
    written = [write(changes, id=f"m-{n}", body={"n": n}) for n in range(7)]
    pages, after = [], None
    while page := changes.pending(limit=3, after=after):
        pages.append(page)
        after = page[-1].hlc
    assert [len(p) for p in pages] == [3, 3, 1]
    assert [v for p in pages for v in p] == written


def test_mark_all_pending_is_idempotent(db: Database) -> None:
    changes = log(db)
    for n in range(3):
        version = write(changes, id=f"m-{n}", body={"n": n})
        with db.transaction():
            changes.mark_pushed("memory", version.id, version.vhash)
    with db.transaction():
        assert changes.mark_all_pending() == 3
        assert changes.mark_all_pending() == 0
    assert changes.pending_count() == 3


def test_update_many_coalesces_like_write_and_keeps_the_digest(db: Database) -> None:
    changes = log(db)
    pushed = write(changes, "m-1", body={"n": 1})
    with db.transaction():
        changes.mark_pushed("memory", "m-1", pushed.vhash)
    write(changes, "m-2", body={"n": 1})
    gone = write(changes, "m-3", body={"n": 1})
    gone = write(changes, "m-3", deleted=True)
    seen: list[tuple[str, dict[str, Any] | None]] = []

    def change(kind: str, id: str, live: Version | None) -> tuple[dict[str, Any], int]:
        seen.append((id, None if live is None else live.body))
        n = live.body["n"] + 1 if live else 1
        return {"n": n}, 7

    keys = [("memory", "m-1"), ("memory", "m-2"), ("memory", "m-3"), ("memory", "m-4")]
    with db.transaction():
        made = changes.update_many([*keys, ("memory", "m-1")], change)
    # a record twice sees its first write; a tombstone and a new record are not live
    assert seen == [
        ("m-1", {"n": 1}),
        ("m-2", {"n": 1}),
        ("m-3", None),
        ("m-4", None),
        ("m-1", {"n": 2}),
    ]
    assert [v.parent for v in made] == [pushed.vhash, None, gone.parent, None, pushed.vhash]
    assert all(a.hlc < b.hlc for a, b in pairwise(made))
    assert made[-1].body == {"n": 3}
    # stored exactly as validated versions, canonical JSON and all
    for version in made[1:]:
        assert Version.model_validate(version.model_dump()) == version
        assert changes.current(version.kind, version.id) == Current(version, pending=True)
    assert changes.pending_count() == 4
    assert sorted(p.data for p in changes.pending_encoded()) == sorted(
        canonical_json(v.model_dump(mode="json")) for v in made[1:]
    )
    assert changes.root() == expected_root(db) == changes.digest().root
    later = write(changes, "m-9", body={})
    assert later.hlc > made[-1].hlc  # the clock state was written back


def test_a_trusted_version_equals_a_validated_one() -> None:
    fields: dict[str, Any] = dict(
        kind="link", id="l-1", hlc="0000000000001-0000-dev-a", device_id="dev-a"
    )
    body = {"a": "m-1", "b": "m-2", "devices": {"dev-a": {"count": 2, "last": 5}}}
    version = Version.trusted(**fields, parent=None, strength=10, body=body)
    assert version == Version.create(**fields, strength=10, body=body)
    assert version.canonical() == canonical_json(version.model_dump(mode="json"))


def test_reading_many_records_looks_each_up_by_key_never_scanning(db: Database) -> None:
    changes = log(db)
    keys = [("memory", f"m-{n}") for n in range(450)] + [("link", "l-1"), ("memory", "m-x")]
    with db.transaction():
        made = changes.update_many(keys[:-1], lambda kind, id, live: ({"n": 1}, 0))
    statements: list[str] = []
    db.conn.set_trace_callback(statements.append)
    try:
        found = changes.currents(keys)
        with db.transaction():
            changes.store_many(made[:3])
    finally:
        db.conn.set_trace_callback(None)
    assert sorted(found) == sorted(keys[:-1])
    assert all(found[v.kind, v.id].version == v for v in made)
    reads = [sql for sql in statements if sql.startswith("SELECT") and "FROM records" in sql]
    assert len(reads) == 4  # currents: 2 memory chunks + 1 link; store_many: 1
    for sql in reads:
        plan = " ".join(row[3] for row in db.execute("EXPLAIN QUERY PLAN " + sql))
        assert "SCAN" not in plan, plan
