"""The hub on one SQLite file: WAL mode, statements in worker threads, BEGIN IMMEDIATE for writes.

No statement runs on the event loop: a long read or a write waiting for another process's lock
must not stall every other request. Reads run on a small pool of reader connections, each owned
by one thread (WAL lets them read while a write is under way), so one account's reads never queue
behind another's unless every reader is busy; the hub's per-account bound (app.py) keeps any one
account from holding more than half of them. Writes run on one writer connection in one thread,
one transaction at a time (an asyncio lock), taking the write lock up front with BEGIN IMMEDIATE.
Several processes may share the file (SQLite's own lock and busy timeout arbitrate); a write
still locked out when the busy timeout ends is refused as busy (503), never a 500; a write the
disk has no room for is refused as storage_full (507), one to a read-only file as read_only.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from neuralmemory.errors import HubBusy, StorageFull, StorageReadOnly, StorageRefused
from neuralmemory.hub.backends.migrations import SCHEMA_MIGRATIONS, migrations
from neuralmemory.hub.backends.sqlstore import Mode, Row, SqlStore, in_lists
from neuralmemory.perms import private_dir, private_sqlite

BUSY_TIMEOUT_MS = 10_000
READERS = 8  # reader connections (threads); twice the per-account bound of app.py
T = TypeVar("T")
Job = Callable[[sqlite3.Connection], T]


def _connect(path: Path) -> sqlite3.Connection:
    # isolation_level=None: transactions are exactly the BEGIN/COMMIT issued below.
    # check_same_thread=False: each connection is used by one thread, but closed by close().
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA foreign_keys = ON")
    return conn


def _all(sql: str, params: Sequence[Any], conn: sqlite3.Connection) -> list[Row]:
    return conn.execute(sql, params).fetchall()


def _one(sql: str, params: Sequence[Any], conn: sqlite3.Connection) -> Row | None:
    row: Row | None = conn.execute(sql, params).fetchone()
    return row


def _execute(sql: str, params: Sequence[Any], conn: sqlite3.Connection) -> None:
    conn.execute(sql, params)


def _executemany(sql: str, rows: Sequence[Sequence[Any]], conn: sqlite3.Connection) -> None:
    conn.executemany(sql, rows)


def _begin(durable: bool, conn: sqlite3.Connection) -> None:
    if durable:  # WAL + FULL: this commit is fsynced before it returns
        conn.execute("PRAGMA synchronous = FULL")
    # Writers take the write lock up front: a reader upgrading later could fail to.
    conn.execute("BEGIN IMMEDIATE")


def _finish(durable: bool, commit: bool, conn: sqlite3.Connection) -> None:
    """COMMIT (or ROLLBACK) whatever _begin left open, and leave the connection as it was."""
    try:
        if commit:
            conn.execute("COMMIT")
    finally:
        try:
            if conn.in_transaction:  # a failed COMMIT, a failed statement, or no commit asked
                conn.execute("ROLLBACK")
        finally:
            if durable:
                conn.execute("PRAGMA synchronous = NORMAL")


class SqliteTx:
    def __init__(self, run: Callable[[Job[Any]], Any]) -> None:
        self.run = run

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        await self.run(partial(_execute, sql, params))

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        await self.run(partial(_executemany, sql, rows))

    async def one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        row: Row | None = await self.run(partial(_one, sql, params))
        return row

    async def all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        rows: list[Row] = await self.run(partial(_all, sql, params))
        return rows


class SqliteDatabase:
    lock_clause = ""  # BEGIN IMMEDIATE has already locked the whole database for writing
    byte_order = ""  # SQLite compares text byte by byte unless told otherwise
    lookups = staticmethod(in_lists)

    def __init__(self, path: Path) -> None:
        if not path.parent.exists():  # a folder of the operator's own choosing is left as it is
            private_dir(path.parent)
        self.path = private_sqlite(path)  # accounts, key hashes and every brain's records
        self.conn = _connect(path)  # the writer
        self.conn.execute("PRAGMA journal_mode = WAL")
        # NORMAL: a commit is safe from corruption but may be lost in a power cut, which is
        # fine for counters; transactions that acknowledge data switch to FULL.
        self.conn.execute("PRAGMA synchronous = NORMAL")
        self.lock = asyncio.Lock()
        self.writer = ThreadPoolExecutor(1, thread_name_prefix="nmem-hub-writer")
        self.readers = ThreadPoolExecutor(READERS, thread_name_prefix="nmem-hub-reader")
        self._local = threading.local()
        self._reader_conns: list[sqlite3.Connection] = []
        self._conns_lock = threading.Lock()

    def _reader(self) -> sqlite3.Connection:
        """This reader thread's own connection, opened on its first read."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = _connect(self.path)
            conn.execute("PRAGMA query_only = ON")
            with self._conns_lock:
                self._reader_conns.append(conn)
        return conn

    def _read(self, job: Job[T]) -> T:
        return job(self._reader())

    async def _on_reader(self, job: Job[T]) -> T:
        return await _run(self.readers, partial(self._read, job))

    async def _on_writer(self, job: Job[T]) -> T:
        return await _run(self.writer, partial(job, self.conn))

    @asynccontextmanager
    async def transaction(self, mode: Mode) -> AsyncIterator[SqliteTx]:
        if mode == "read":
            # Each statement reads on its own, as on PostgreSQL: no BEGIN/COMMIT round.
            yield SqliteTx(self._on_reader)
            return
        durable = mode == "durable"
        async with self.lock:
            try:
                await self._on_writer(partial(_begin, durable))
                yield SqliteTx(self._on_writer)
            except BaseException:
                # Jobs run in order on the writer thread, and each runs even if its request was
                # cancelled meanwhile (_run): this follows every statement of the transaction.
                await self._on_writer(partial(_finish, durable, False))
                raise
            await self._on_writer(partial(_finish, durable, True))

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
        # Let running statements finish (their requests are gone), then close every connection.
        await asyncio.get_running_loop().run_in_executor(None, self._shutdown)

    def _shutdown(self) -> None:
        self.readers.shutdown(wait=True)
        self.writer.shutdown(wait=True)
        for conn in [*self._reader_conns, self.conn]:
            conn.close()


async def _run(pool: ThreadPoolExecutor, call: Callable[[], T]) -> T:
    """Run `call` on `pool`. Shielded: a cancelled request stops waiting, but a statement it
    queued still runs, so a transaction's COMMIT or ROLLBACK is never skipped. A database
    another process kept locked past the busy timeout is a 503 the client retries, not a crash."""
    try:
        return await asyncio.shield(asyncio.get_running_loop().run_in_executor(pool, call))
    except sqlite3.OperationalError as exc:
        refused = _refusal(exc)
        if refused is None:
            raise
        raise refused from None


def _refusal(exc: sqlite3.OperationalError) -> HubBusy | StorageRefused | None:
    """The clear error for a write SQLite could not make, by its primary result code: busy
    (locked past the timeout), the disk full, or the file read-only. None: a real failure."""
    primary = exc.sqlite_errorcode & 0xFF
    if primary in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
        return HubBusy()
    if primary == sqlite3.SQLITE_FULL:
        return StorageFull()
    if primary == sqlite3.SQLITE_READONLY:
        return StorageReadOnly()
    return None


async def open_sqlite(path: Path) -> SqlStore:
    db = SqliteDatabase(path)
    db.migrate()
    return SqlStore(db)
