"""Migrations: numbered, named, append-only, recorded; a blank database reaches the final schema."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from neuralmemory.errors import StoreError
from neuralmemory.store.db import Database, connect
from neuralmemory.store.migrations import migrate, migrations, statements

FINAL_SCHEMA = {
    "_migrations": ["number", "name", "applied_at"],
    "meta": ["key", "value"],
    "sync_state": ["key", "value"],
    "records": ["kind", "id", "vhash", "hlc", "bucket", "deleted", "pending", "version"],
    "merkle": ["bucket", "digest"],
    "memories": [
        "rid",
        "id",
        "content",
        "ciphertext",
        "encrypted",
        "type",
        "tags",
        "priority",
        "created_at",
        "event_at",
        "expires_at",
        "project",
        "superseded_by",
    ],
    "activations": ["memory_id", "count", "last_at"],
    "links": ["id", "a", "b", "count", "last_at"],
    "neurons": ["id", "key", "kind", "df"],
    "synapses": ["neuron_id", "memory_rid", "weight"],
    "relations": ["src", "dst", "kind", "memory_rid"],
    "memory_fts": ["terms"],
    "quarantine": ["kind", "id", "vhash", "reason"],
    "history": ["id", "vhash", "hlc", "version"],
    "graph_backlog": ["rid"],
    "replaced": ["id", "vhash", "hlc"],
}


def test_blank_database_migrates_to_the_final_schema(tmp_path: Path) -> None:
    db = connect(tmp_path / "blank.db")
    assert migrate(db) == [
        "0001_initial",
        "0002_quarantine",
        "0003_project",
        "0004_history",
        "0005_history_trigger",
        "0006_graph_backlog",
        "0007_replaced",
    ]
    tables = {
        row[0]
        for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        if not row[0].startswith("memory_fts_")  # FTS5 shadow tables
    }
    assert tables == set(FINAL_SCHEMA)
    for table, columns in FINAL_SCHEMA.items():
        assert [row[1] for row in db.execute(f"PRAGMA table_info({table})")] == columns
    assert db.execute("SELECT count(*) FROM merkle").fetchone()[0] == 256
    recorded = db.execute("SELECT number, name FROM _migrations").fetchall()
    assert recorded == [
        (1, "initial"),
        (2, "quarantine"),
        (3, "project"),
        (4, "history"),
        (5, "history_trigger"),
        (6, "graph_backlog"),
        (7, "replaced"),
    ]
    db.close()


def test_migrating_again_applies_nothing(db: Database) -> None:
    assert migrate(db) == []


def test_migrations_are_numbered_from_one_without_gaps_and_named_uniquely() -> None:
    found = migrations()
    assert [m.number for m in found] == list(range(1, len(found) + 1))
    assert len({m.name for m in found}) == len(found)
    for migration in found:
        assert statements(migration.sql), migration.name


def test_a_database_from_a_newer_nmem_is_refused(tmp_path: Path) -> None:
    db = connect(tmp_path / "newer.db")
    migrate(db)
    db.execute("INSERT INTO _migrations VALUES (9999, 'future', 0)")
    with pytest.raises(StoreError, match="newer nmem"):
        migrate(db)
    db.close()


def test_a_failing_migration_leaves_nothing_half_applied(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from neuralmemory.store import migrations as module

    broken = [module.Migration(1, "broken", "CREATE TABLE t (x);\nNOT SQL AT ALL;")]
    monkeypatch.setattr(module, "migrations", lambda: broken)
    db = connect(tmp_path / "broken.db")
    with pytest.raises(StoreError, match="0001_broken"):
        migrate(db)
    names = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
    assert "t" not in names
    assert db.execute("SELECT count(*) FROM _migrations").fetchone()[0] == 0
    db.close()


def test_statements_split_scripts_on_complete_statements() -> None:
    script = (
        "-- comment\nCREATE TABLE a (x);\n\n"
        "CREATE TRIGGER t AFTER INSERT ON a BEGIN\n  SELECT 1;\nEND;\n"
    )
    assert len(statements(script)) == 2
    assert sqlite3.complete_statement(statements(script)[1])


def _read_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, field: str, value: str) -> None:
    """A device before migration N stored other devices' bodies whole (extra fields are kept)
    but had no column for `field`: migration N (the last) fills it from those bodies."""
    from neuralmemory.store import migrations as module

    every = migrations()
    number = next(m.number for m in every if field in m.sql)
    monkeypatch.setattr(module, "migrations", lambda: every[: number - 1])
    db = connect(tmp_path / "old.db")
    migrate(db)
    with db.transaction():
        for id_, body in (("m-a", json.dumps({field: value})), ("m-b", "{}")):
            db.execute(
                "INSERT INTO records VALUES ('memory', ?, 'v', 'h', 0, 0, 0, ?)",
                (id_, f'{{"body": {body}}}'),
            )
            db.execute(
                "INSERT INTO memories (id, content, encrypted, type, tags, priority, created_at)"
                " VALUES (?, 'x', 0, 'fact', '[]', 5, 1)",
                (id_,),
            )
    monkeypatch.setattr(module, "migrations", lambda: every[:number])
    assert migrate(db) == [f"{m.number:04d}_{m.name}" for m in every if m.number == number]
    rows = db.execute(f"SELECT id, {field} FROM memories ORDER BY id").fetchall()
    assert rows == [("m-a", value), ("m-b", None)]
    db.close()


def test_projects_synced_before_the_column_existed_are_read_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _read_back(tmp_path, monkeypatch, "project", "github.com/ada/falcon")


def test_supersessions_synced_before_the_column_existed_are_read_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _read_back(tmp_path, monkeypatch, "superseded_by", "m-b")
