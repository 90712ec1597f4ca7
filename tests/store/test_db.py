"""Opening a brain file: pragmas, atomic transactions, and clear errors for bad files."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from neuralmemory.errors import StoreError
from neuralmemory.store.db import Database, connect
from neuralmemory.store.migrations import migrate


def test_pragmas_wal_and_foreign_keys(db: Database) -> None:
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert db.execute("PRAGMA busy_timeout").fetchone()[0] == 5000


def test_a_new_brain_has_pages_a_sealed_version_fits_in_and_an_older_one_keeps_its_own(
    tmp_path: Path,
) -> None:
    """`records` keeps whole versions in a WITHOUT ROWID b-tree, whose rows spill to overflow
    pages past (page - 12) * 64 / 255 - 23 bytes: 1,001 of a 4 KiB page, less than the ~1,100
    of an end-to-end sealed memory's row. A new brain gets 8 KiB pages; a brain made with other
    pages keeps them (SQLite changes them only by rewriting the file)."""
    new = connect(tmp_path / "new.db")
    migrate(new)
    assert new.execute("PRAGMA page_size").fetchone()[0] == 8192
    new.close()
    older = sqlite3.connect(tmp_path / "older.db")  # a brain as nmem made it before
    older.execute("PRAGMA page_size = 4096")
    older.execute(
        "CREATE TABLE _migrations"
        " (number INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)"
    )
    older.close()
    db = connect(tmp_path / "older.db")
    migrate(db)
    assert db.execute("PRAGMA page_size").fetchone()[0] == 4096
    db.close()


def test_a_failed_transaction_changes_nothing(db: Database) -> None:
    with pytest.raises(RuntimeError), db.transaction():
        db.execute("INSERT INTO sync_state VALUES ('a', '1')")
        raise RuntimeError("boom")
    assert db.execute("SELECT count(*) FROM sync_state").fetchone()[0] == 0


def in_transaction(db: Database) -> bool:
    """Asked afresh each time (mypy would take a second `db.conn.in_transaction` to be the
    first, narrowed by the assert on it)."""
    return db.conn.in_transaction


def test_nested_transactions_commit_once(db: Database) -> None:
    with db.transaction():
        db.execute("INSERT INTO sync_state VALUES ('a', '1')")
        with db.transaction():
            db.execute("INSERT INTO sync_state VALUES ('b', '2')")
        assert in_transaction(db)
    assert not in_transaction(db)
    assert db.execute("SELECT count(*) FROM sync_state").fetchone()[0] == 2


def test_a_corrupt_file_is_a_clear_store_error_and_is_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "corrupt.db"
    garbage = b"this is not a database at all" * 100
    path.write_bytes(garbage)
    with pytest.raises(StoreError, match="not a readable brain database"):
        connect(path)
    assert path.read_bytes() == garbage


def test_an_unopenable_path_is_a_clear_store_error(tmp_path: Path) -> None:
    folder = tmp_path / "a-folder.db"
    folder.mkdir()
    with pytest.raises(StoreError, match="cannot open"):
        connect(folder)


@pytest.mark.parametrize("count", [1, 2, 3, 511, 512, 513, 1500])
def test_insert_many_writes_every_row_in_order(db: Database, count: int) -> None:
    rows = [(f"k{n:05d}", str(n)) for n in range(count)]
    with db.transaction():
        db.insert_many("INSERT INTO sync_state (key, value)", rows)
    assert db.execute("SELECT key, value FROM sync_state ORDER BY key").fetchall() == rows


def test_insert_many_upserts_a_key_twice_in_one_call_the_last_row_winning(db: Database) -> None:
    with db.transaction():
        db.insert_many(
            "INSERT INTO sync_state (key, value)",
            [("a", "1"), ("b", "2"), ("a", "3")],
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
    assert dict(db.execute("SELECT key, value FROM sync_state").fetchall()) == {"a": "3", "b": "2"}


@pytest.mark.parametrize("count", [0, 1, 513])
def test_insert_many_returns_what_returning_names_for_inserted_and_updated_rows(
    db: Database, count: int
) -> None:
    with db.transaction():
        db.insert_many("INSERT INTO sync_state (key, value)", [("k00000", "old")])
        returned = db.insert_many(
            "INSERT INTO sync_state (key, value)",
            [(f"k{n:05d}", f"new{n}") for n in range(count)],
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value RETURNING key, value",
        )
    assert sorted(returned) == [(f"k{n:05d}", f"new{n}") for n in range(count)]
    assert db.insert_many("INSERT INTO sync_state (key, value)", [("plain", "v")]) == []


def test_insert_many_prepares_few_distinct_statements_whatever_the_row_counts(db: Database) -> None:
    """Each statement's compiled form grows with its rows and stays cached: row counts from 1 to
    1,000 must not leave a thousand large statements behind."""
    seen: set[str] = set()
    db.conn.set_trace_callback(seen.add)
    with db.transaction():
        for count in range(1, 1001):
            db.insert_many("INSERT OR REPLACE INTO sync_state (key, value)", [("k", "v")] * count)
    db.conn.set_trace_callback(None)
    assert len({sql for sql in seen if sql.startswith("INSERT")}) == 10  # 1, 2, 4, .., 512


def test_insert_many_keeps_under_a_small_parameter_limit(db: Database) -> None:
    db.conn.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 999)
    reopened = Database(db.path, db.conn)
    rows = [(f"k{n:04d}", "v") for n in range(2000)]
    with reopened.transaction():
        reopened.insert_many("INSERT INTO sync_state (key, value)", rows)
    assert db.execute("SELECT count(*) FROM sync_state").fetchone()[0] == 2000


def _foreign_bytes(folder: Path) -> bytes:
    """Another program's SQLite database (a table, no _migrations), as bytes."""
    theirs = folder / "theirs.db"
    other = sqlite3.connect(theirs)
    other.execute("CREATE TABLE fibers (id TEXT PRIMARY KEY, data TEXT)")
    other.execute("INSERT INTO fibers VALUES ('f1', 'their memory')")
    other.commit()
    other.close()
    return theirs.read_bytes()


def test_a_brain_another_programs_database_replaced_in_place_is_refused_untouched(
    tmp_path: Path,
) -> None:
    """A file this process already opened as its own skips the read-only check on later opens;
    its bytes replaced in place (same inode), the open refuses it all the same, unchanged."""
    path = tmp_path / "brain.db"
    ours = connect(path)
    migrate(ours)
    ours.close()
    connect(path).close()  # found to be ours: later opens skip refuse_foreign's reader
    inode = path.stat().st_ino
    foreign = _foreign_bytes(tmp_path)
    with path.open("r+b") as file:
        file.write(foreign)
        file.truncate()
    path.chmod(0o644)
    assert path.stat().st_ino == inode
    with pytest.raises(StoreError, match=r"is not a brain of this nmem \(it holds tables fibers\)"):
        connect(path)
    assert path.read_bytes() == foreign
    assert path.stat().st_mode & 0o777 == 0o644  # not even its mode
    assert not any(Path(f"{path}{suffix}").exists() for suffix in ("-wal", "-shm", "-journal"))


def test_another_programs_database_at_a_brains_path_is_refused_untouched(tmp_path: Path) -> None:
    """A new file (another inode) where a brain was is read again before anything opens it for
    writing."""
    path = tmp_path / "brain.db"
    ours = connect(path)
    migrate(ours)
    ours.close()
    path.unlink()
    path.write_bytes(_foreign_bytes(tmp_path))
    path.chmod(0o644)
    with pytest.raises(StoreError, match="is not a brain of this nmem"):
        connect(path)
    assert path.read_bytes() == (tmp_path / "theirs.db").read_bytes()
    assert path.stat().st_mode & 0o777 == 0o644
