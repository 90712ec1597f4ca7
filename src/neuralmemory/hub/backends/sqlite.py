"""The hub on one SQLite file: WAL mode, one connection per process, BEGIN IMMEDIATE for writes.

Statements run on the event loop itself: each takes microseconds, and an asyncio lock keeps one
transaction on the connection at a time, which is all the isolation a single connection needs.
Several processes may share the file (SQLite's own lock and busy timeout arbitrate).
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from neuralmemory.hub.backends.migrations import SCHEMA_MIGRATIONS, migrations
from neuralmemory.hub.backends.sqlstore import Mode, Row, SqlStore, in_lists

BUSY_TIMEOUT_MS = 10_000


class SqliteTx:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        self.conn.execute(sql, params)

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self.conn.executemany(sql, rows)

    async def one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        row: Row | None = self.conn.execute(sql, params).fetchone()
        return row

    async def all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        return self.conn.execute(sql, params).fetchall()


class SqliteDatabase:
    lock_clause = ""  # BEGIN IMMEDIATE has already locked the whole database for writing
    lookups = staticmethod(in_lists)

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: transactions are exactly the BEGIN/COMMIT issued below.
        self.conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        self.conn.execute("PRAGMA journal_mode = WAL")
        # NORMAL: a commit is safe from corruption but may be lost in a power cut, which is
        # fine for counters; transactions that acknowledge data switch to FULL.
        self.conn.execute("PRAGMA synchronous = NORMAL")
        self.conn.execute("PRAGMA foreign_keys = ON")
        self.lock = asyncio.Lock()

    @asynccontextmanager
    async def transaction(self, mode: Mode) -> AsyncIterator[SqliteTx]:
        async with self.lock:
            if mode == "read":
                # Each statement reads on its own, as on PostgreSQL: no BEGIN/COMMIT round.
                yield SqliteTx(self.conn)
                return
            if mode == "durable":  # WAL + FULL: this commit is fsynced before it returns
                self.conn.execute("PRAGMA synchronous = FULL")
            # Writers take the write lock up front: a reader upgrading later could fail to.
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield SqliteTx(self.conn)
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            else:
                self.conn.execute("COMMIT")
            finally:
                if mode == "durable":
                    self.conn.execute("PRAGMA synchronous = NORMAL")

    def migrate(self) -> None:
        self.conn.execute(SCHEMA_MIGRATIONS)
        for migration in migrations("sqlite"):
            # Claiming the version row inside the migration's own transaction makes a second
            # process that races us fail on the primary key and roll back instead of applying twice.
            script = (
                "BEGIN IMMEDIATE;"
                " INSERT INTO schema_migrations (version, name, applied_at)"
                f" VALUES ({migration.version}, '{migration.name}', {int(time.time() * 1000)});\n"
                f"{migration.sql}\nCOMMIT;"
            )
            applied = self.conn.execute(
                "SELECT 1 FROM schema_migrations WHERE version = ?", (migration.version,)
            ).fetchone()
            if applied:
                continue
            try:
                self.conn.executescript(script)
            except sqlite3.IntegrityError:
                self.conn.execute("ROLLBACK")

    async def close(self) -> None:
        self.conn.close()


async def open_sqlite(path: Path) -> SqlStore:
    db = SqliteDatabase(path)
    db.migrate()
    return SqlStore(db)
