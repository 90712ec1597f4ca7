"""Schema migrations: numbered, named, append-only SQL files, recorded in the database.

`store/sql/NNNN_name.sql` files run in number order, each in its own transaction together with
the row that records it in `_migrations`, so a crash leaves a migration fully applied or not at
all. Opening a brain migrates it. Never edit a shipped file: add the next number instead.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from importlib import resources

from neuralmemory.clock import wall_ms
from neuralmemory.errors import (
    HINT_UPGRADE_NMEM,
    MSG_INCOMPLETE_SQL,
    MSG_MIGRATION_FAILED,
    MSG_NEWER_SCHEMA,
    StoreError,
)
from neuralmemory.store.db import Database

_FILE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True)
class Migration:
    number: int
    name: str
    sql: str


def migrations() -> list[Migration]:
    """Every shipped migration, in order."""
    found = []
    for entry in resources.files("neuralmemory.store").joinpath("sql").iterdir():
        match = _FILE.match(entry.name)
        if match:
            found.append(Migration(int(match[1]), match[2], entry.read_text(encoding="utf-8")))
    return sorted(found, key=lambda m: m.number)


def applied(db: Database) -> list[int]:
    db.execute(
        "CREATE TABLE IF NOT EXISTS _migrations ("
        " number INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)"
    )
    return [row[0] for row in db.execute("SELECT number FROM _migrations ORDER BY number")]


def up_to_date(db: Database) -> bool:
    """Whether the schema is exactly the shipped one, read without writing anything: false for
    a new file, an older schema, and one a newer nmem wrote (migrate says so)."""
    found = db.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_migrations'"
    ).fetchone()
    if found is None:
        return False
    done = {row[0] for row in db.execute("SELECT number FROM _migrations")}
    return done == {m.number for m in migrations()}


def migrate(db: Database) -> list[str]:
    """Bring the schema up to date; returns the names of the migrations it applied."""
    done = set(applied(db))
    known = migrations()
    newest = max((m.number for m in known), default=0)
    if done and max(done) > newest:
        raise StoreError(
            MSG_NEWER_SCHEMA.format(path=db.path, found=max(done), known=newest),
            hint=HINT_UPGRADE_NMEM,
        )
    ran = []
    for migration in known:
        if migration.number in done:
            continue
        with db.transaction():
            # Another process may have migrated while we waited for the write lock.
            if db.execute(
                "SELECT 1 FROM _migrations WHERE number = ?", (migration.number,)
            ).fetchone():
                continue
            try:
                for statement in statements(migration.sql):
                    db.conn.execute(statement)
            except sqlite3.Error as exc:
                raise StoreError(
                    MSG_MIGRATION_FAILED.format(
                        path=db.path, number=migration.number, name=migration.name, reason=exc
                    )
                ) from exc
            db.execute(
                "INSERT INTO _migrations (number, name, applied_at) VALUES (?, ?, ?)",
                (migration.number, migration.name, wall_ms()),
            )
        ran.append(f"{migration.number:04d}_{migration.name}")
    return ran


def statements(script: str) -> list[str]:
    """Split a SQL script into complete statements (sqlite3 runs one statement per execute)."""
    found, current = [], ""
    for line in script.splitlines(keepends=True):
        if not current and (not line.strip() or line.lstrip().startswith("--")):
            continue
        current += line
        if sqlite3.complete_statement(current):
            found.append(current.strip())
            current = ""
    if current.strip():
        raise StoreError(MSG_INCOMPLETE_SQL.format(start=current.strip()[:60]))
    return found
