"""Opening a brain file: pragmas, atomic transactions, and clear errors for bad files."""

from __future__ import annotations

from pathlib import Path

import pytest

from neuralmemory.errors import StoreError
from neuralmemory.store.db import connect


def test_pragmas_wal_and_foreign_keys(db) -> None:
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert db.execute("PRAGMA busy_timeout").fetchone()[0] == 5000


def test_a_failed_transaction_changes_nothing(db) -> None:
    with pytest.raises(RuntimeError), db.transaction():
        db.execute("INSERT INTO sync_state VALUES ('a', '1')")
        raise RuntimeError("boom")
    assert db.execute("SELECT count(*) FROM sync_state").fetchone()[0] == 0


def test_nested_transactions_commit_once(db) -> None:
    with db.transaction():
        db.execute("INSERT INTO sync_state VALUES ('a', '1')")
        with db.transaction():
            db.execute("INSERT INTO sync_state VALUES ('b', '2')")
        assert db.conn.in_transaction
    assert not db.conn.in_transaction
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
