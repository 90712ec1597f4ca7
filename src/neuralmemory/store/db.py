"""Open a brain's SQLite file: WAL, foreign keys, a busy timeout, and atomic transactions.

Every failure to open or read the file becomes a StoreError that names the file, so a corrupt,
unreadable or locked brain is reported clearly instead of as a raw sqlite3 traceback.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from itertools import chain
from pathlib import Path
from typing import Any

from neuralmemory.errors import (
    HINT_BRAIN_CORRUPT,
    HINT_BRAIN_LOCKED,
    HINT_BRAIN_UNREADABLE,
    HINT_CHECK_PATH,
    HINT_OWN_HOME,
    MSG_BRAIN_CORRUPT,
    MSG_BRAIN_LOCKED,
    MSG_CANNOT_OPEN,
    MSG_NOT_OUR_BRAIN,
    MSG_PATH_FAILED,
    StoreError,
    StoreLocked,
)
from neuralmemory.perms import private_sqlite

BUSY_TIMEOUT_MS = 5000
ROWS_PER_STATEMENT = 512  # insert_many's largest statement


class Database:
    """One connection to one brain file, shared by the threads of one process.

    Writes go through `transaction()`: BEGIN IMMEDIATE takes the write lock up front (so two
    processes never deadlock upgrading read locks), and nested calls join the outer transaction,
    which is how a batch of writes becomes one commit. A re-entrant lock serialises threads.
    """

    def __init__(self, path: Path, conn: sqlite3.Connection) -> None:
        self.path = path
        self.conn = conn
        self._lock = threading.RLock()
        self._depth = 0
        self._max_params = conn.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield self.conn
                finally:
                    self._depth -= 1
                return
            self._run("BEGIN IMMEDIATE")
            self._depth = 1
            try:
                yield self.conn
            except BaseException:
                self._depth = 0
                self.conn.rollback()
                raise
            self._depth = 0
            self._run("COMMIT")

    @contextmanager
    def reading(self) -> Iterator[sqlite3.Connection]:
        """Hold the lock while reading, so a reader never sees another thread's open write."""
        with self._lock:
            yield self.conn

    def execute(self, sql: str, params: Any = ()) -> sqlite3.Cursor:
        with self._lock:
            try:
                return self.conn.execute(sql, params)
            except sqlite3.IntegrityError:
                raise  # a bug in our SQL, not a property of the file
            except sqlite3.DatabaseError as exc:
                raise _store_error(self.path, exc) from exc

    def executemany(self, sql: str, rows: Any) -> int:
        """Run `sql` once per row; returns the number of rows it changed, summed."""
        with self._lock:
            try:
                return self.conn.executemany(sql, rows).rowcount
            except sqlite3.IntegrityError:
                raise
            except sqlite3.DatabaseError as exc:
                raise _store_error(self.path, exc) from exc

    def insert_many(
        self, head: str, rows: Sequence[Sequence[Any]], tail: str = ""
    ) -> list[tuple[Any, ...]]:
        """`{head} VALUES (?, ..), (?, ..), .. {tail}` for every row, in few statements.

        One statement runs in C from its first row to its last, where executemany returns to
        Python after every row (and, on a busy process, waits for the GIL): a third faster on
        a pulled page's synapses. Each statement holds a power of two of rows, at most
        ROWS_PER_STATEMENT, so a few distinct statements, prepared once and then cached, serve
        every number of rows: a statement's compiled form grows with its rows.

        Returns the rows a `RETURNING` tail yields (SQLite gives them in no set order)."""
        if not rows:
            return []
        returned: list[tuple[Any, ...]] = []
        width = len(rows[0])
        group = "(" + ",".join("?" * width) + ")"
        size = ROWS_PER_STATEMENT
        while size * width > self._max_params:
            size //= 2
        start = 0
        while start < len(rows):
            while size > len(rows) - start:
                size //= 2
            values = list(chain.from_iterable(rows[start : start + size]))
            returned += self.execute(f"{head} VALUES {','.join([group] * size)} {tail}", values)
            start += size
        return returned

    def _run(self, sql: str) -> None:
        try:
            self.conn.execute(sql)
        except sqlite3.DatabaseError as exc:
            raise _store_error(self.path, exc) from exc

    def data_version(self) -> int:
        """SQLite's `PRAGMA data_version`: it changes when another connection (another process's
        too) commits to the file, never for this connection's own commits."""
        return int(self.execute("PRAGMA data_version").fetchone()[0])

    def schema_version(self) -> int:
        """SQLite's `PRAGMA schema_version`: it changes with every change to the schema (a
        migration, by any connection)."""
        return int(self.execute("PRAGMA schema_version").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self.conn.close()


def connect(path: Path) -> Database:
    """Open (creating if needed) the SQLite file at `path` with the pragmas every brain uses;
    the file (and its -wal, -shm) readable by its owner only. A database another program made
    is refused before anything of it changes (its mode, its journal)."""
    existed = path.exists()
    if existed:
        refuse_foreign(path)
    else:
        _private(path)  # made 0600 before SQLite writes a byte of it
    try:
        conn = sqlite3.connect(
            path,
            timeout=BUSY_TIMEOUT_MS / 1000,
            isolation_level=None,  # we issue BEGIN/COMMIT ourselves
            check_same_thread=False,  # guarded by Database._lock
        )
    except sqlite3.Error as exc:
        raise _store_error(path, exc) from exc
    try:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        # Reading the schema is what detects a file that is not a database at all.
        tables = _tables(conn)
        # A file taken for ours that another program's database replaced in place (same
        # inode): refused on this connection, which has read but not written.
        _refuse_tables(path, tables)
        if existed:
            _private(path)
        if not tables:
            # A new brain's pages are 8 KiB, not 4: `records` holds whole versions in a WITHOUT
            # ROWID b-tree, where a row past a quarter page spills to overflow pages that every
            # lookup passing it reads -- an end-to-end sealed version is about 1 KB
            # (docs/architecture.md#records-and-derived-data).
            conn.execute("PRAGMA page_size = 8192")
        conn.execute("PRAGMA journal_mode = WAL").fetchone()
        conn.execute("PRAGMA foreign_keys = ON")
        # WAL + NORMAL: a commit survives a process crash; only an OS crash can lose the last
        # commits, never corrupt the file. This keeps remember in the low milliseconds.
        conn.execute("PRAGMA synchronous = NORMAL")
    except sqlite3.Error as exc:
        conn.close()
        raise _store_error(path, exc) from exc
    except StoreError:  # another program's file, or no permission to fix its mode
        conn.close()
        raise
    if MIGRATIONS_TABLE in tables:
        _OURS.add(_identity(path))
    return Database(path, conn)


#: (device, inode) of the files this process has found holding _migrations: brains of this nmem.
#: refuse_foreign's read-only connection (a second open and schema read: a third of an open's
#: cost) runs once per file, not on every open (docs/architecture.md#habits-the-code-keeps).
_OURS: set[tuple[int, int]] = set()
MIGRATIONS_TABLE = "_migrations"  # store/migrations.py's bookkeeping


def _private(path: Path) -> None:
    try:
        private_sqlite(path)
    except OSError as exc:  # no such folder, no permission: say which file
        raise StoreError(
            MSG_CANNOT_OPEN.format(path=path, reason=exc.strerror or exc), hint=HINT_CHECK_PATH
        ) from None


def _identity(path: Path) -> tuple[int, int]:
    found = path.stat()
    return found.st_dev, found.st_ino


def _tables(conn: sqlite3.Connection) -> set[str]:
    return {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def refuse_foreign(path: Path) -> None:
    """StoreError when `path` is a database with tables and none of this nmem's bookkeeping
    (store/migrations.py's _migrations); read only, so the file is left exactly as it is.
    A file this process already found to be its own (same device and inode) is not read again."""
    try:
        identity = _identity(path)
    except OSError:
        return  # gone or unreadable: connect says why
    if identity in _OURS:
        return
    try:
        reader = sqlite3.connect(f"{path.absolute().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error:
        return  # not openable: connect says why
    try:
        tables = _tables(reader)
    except sqlite3.Error:
        return  # not a database at all: connect says so
    finally:
        reader.close()
    _refuse_tables(path, tables)
    if MIGRATIONS_TABLE in tables:
        _OURS.add(identity)


def _refuse_tables(path: Path, tables: set[str]) -> None:
    if tables and MIGRATIONS_TABLE not in tables:
        shown = ", ".join(sorted(tables)[:4]) + (", ..." if len(tables) > 4 else "")
        raise StoreError(MSG_NOT_OUR_BRAIN.format(path=path, tables=shown), hint=HINT_OWN_HOME)


def _store_error(path: Path, exc: sqlite3.Error) -> StoreError:
    text = str(exc).lower()
    if "locked" in text or "busy" in text:
        return StoreLocked(MSG_BRAIN_LOCKED.format(path=path), hint=HINT_BRAIN_LOCKED)
    if "not a database" in text or "malformed" in text or "encrypted" in text:
        return StoreError(MSG_BRAIN_CORRUPT.format(path=path), hint=HINT_BRAIN_CORRUPT)
    if "unable to open" in text or "readonly" in text or "permission" in text:
        return StoreError(MSG_CANNOT_OPEN.format(path=path, reason=exc), hint=HINT_BRAIN_UNREADABLE)
    return StoreError(MSG_PATH_FAILED.format(path=path, reason=exc))
