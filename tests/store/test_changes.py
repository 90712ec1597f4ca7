"""The change log: one pending version per changed record, with the right parent, and a digest
that always equals the XOR fold of the current records."""

from __future__ import annotations

from functools import reduce

from neuralmemory.clock import Stamp
from neuralmemory.protocol import EMPTY_DIGEST, Version, bucket_of, item_digest, xor_digest
from neuralmemory.store.changes import ChangeLog
from neuralmemory.store.db import Database


def log(db: Database, device: str = "dev-a") -> ChangeLog:
    return ChangeLog(db, device)


def write(changes: ChangeLog, id: str = "m-1", **kwargs) -> Version:
    with changes.db.transaction():
        return changes.write("memory", id, **kwargs)


def expected_root(db: Database) -> str:
    items = [item_digest(k, i, v) for k, i, v in db.execute("SELECT kind, id, vhash FROM records")]
    return reduce(xor_digest, items, EMPTY_DIGEST)


def test_a_new_record_is_pending_with_no_parent(db) -> None:
    changes = log(db)
    version = write(changes, body={"content": "x"})
    assert version.parent is None
    current = changes.current("memory", "m-1")
    assert current is not None and current.pending and current.version == version
    assert changes.pending() == [version]


def test_writes_while_pending_coalesce_into_one_version_keeping_the_parent(db) -> None:
    changes = log(db)
    first = write(changes, body={"n": 1})
    second = write(changes, body={"n": 2})
    third = write(changes, body={"n": 3})
    assert changes.pending() == [third]
    assert third.parent is None  # the hub still knows nothing of m-1
    assert first.hlc < second.hlc < third.hlc


def test_after_a_push_the_next_version_fast_forwards_from_it(db) -> None:
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


def test_mark_pushed_keeps_a_newer_local_write_pending(db) -> None:
    changes = log(db)
    in_flight = write(changes, body={"n": 1})
    newer = write(changes, body={"n": 2})
    with db.transaction():
        assert not changes.mark_pushed("memory", "m-1", in_flight.vhash)
    assert changes.pending() == [newer]


def test_a_delete_is_a_tombstone_with_an_empty_body(db) -> None:
    changes = log(db)
    created = write(changes, body={"n": 1})
    with db.transaction():
        changes.mark_pushed("memory", "m-1", created.vhash)
    tombstone = write(changes, deleted=True)
    assert tombstone.deleted and tombstone.body == {}
    assert tombstone.parent == created.vhash


def test_remote_versions_are_current_but_not_pending_and_push_the_clock(db) -> None:
    changes = log(db)
    future = Stamp(9_999_999_999_999, 5, "dev-b")
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


def test_the_clock_never_goes_backwards_across_processes(db) -> None:
    first = write(log(db), body={"n": 1})
    # A second process whose wall clock is an hour behind.
    behind = ChangeLog(db, "dev-a")
    behind._clock._now = lambda: Stamp.parse(first.hlc).ms - 3_600_000
    later = write(behind, id="m-9", body={"n": 2})
    assert Stamp.parse(later.hlc) > Stamp.parse(first.hlc)


def test_the_digest_is_the_xor_of_all_current_records(db) -> None:
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


def test_pending_pages_in_hlc_order(db) -> None:
    changes = log(db)
    written = [write(changes, id=f"m-{n}", body={"n": n}) for n in range(7)]
    pages, after = [], None
    while page := changes.pending(limit=3, after=after):
        pages.append(page)
        after = page[-1].hlc
    assert [len(p) for p in pages] == [3, 3, 1]
    assert [v for p in pages for v in p] == written


def test_mark_all_pending_is_idempotent(db) -> None:
    changes = log(db)
    for n in range(3):
        version = write(changes, id=f"m-{n}", body={"n": n})
        with db.transaction():
            changes.mark_pushed("memory", version.id, version.vhash)
    with db.transaction():
        assert changes.mark_all_pending() == 3
        assert changes.mark_all_pending() == 0
    assert changes.pending_count() == 3
