"""`nmem hub backup`: a consistent copy of a live SQLite hub, taken while it serves.

SQLite's online backup API copies the database page by page under its own locking, so the copy is
one committed state even while devices push (a plain `cp` of a WAL database can catch it halfway
through a checkpoint). The copy is written beside the destination and renamed into place, so a
failed or interrupted backup never leaves a half-written file under the name asked for.
PostgreSQL hubs use pg_dump instead (docs/hub.md, Backups).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from neuralmemory.errors import (
    HINT_NO_HUB_DB_TO_BACK_UP,
    MSG_BACKUP_EXISTS,
    MSG_BACKUP_FAILED,
    MSG_NO_HUB_DB_TO_BACK_UP,
    MSG_NOT_A_HUB_DB,
    InvalidInput,
    StoreError,
)

PAGES_PER_STEP = 1024  # 4 MiB at a time: writers get the database back between steps


@dataclass(frozen=True)
class Backup:
    path: Path
    bytes: int
    accounts: int
    brains: int
    records: int


def backup_sqlite(source: Path, destination: Path) -> Backup:
    """Copy the hub database at `source` to `destination` (which must not exist yet)."""
    if not source.is_file():
        raise StoreError(
            MSG_NO_HUB_DB_TO_BACK_UP.format(path=source), hint=HINT_NO_HUB_DB_TO_BACK_UP
        )
    if destination.exists():
        raise InvalidInput(MSG_BACKUP_EXISTS.format(path=destination))
    partial = destination.with_name(destination.name + ".partial")
    try:
        with contextlib.closing(sqlite3.connect(source)) as live:
            _require_hub(live, source)
            with contextlib.closing(sqlite3.connect(partial)) as copy:
                live.backup(copy, pages=PAGES_PER_STEP)
                counts = _counts(copy)
                copy.execute("PRAGMA journal_mode = DELETE")  # one self-contained file
        os.replace(partial, destination)
    except sqlite3.Error as exc:
        raise StoreError(MSG_BACKUP_FAILED.format(path=source, reason=exc)) from None
    finally:
        partial.unlink(missing_ok=True)
    return Backup(destination, destination.stat().st_size, *counts)


def _require_hub(conn: sqlite3.Connection, source: Path) -> None:
    found = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'records'"
    ).fetchone()
    if found is None:
        raise StoreError(MSG_NOT_A_HUB_DB.format(path=source))


def _counts(conn: sqlite3.Connection) -> tuple[int, int, int]:
    row = conn.execute(
        "SELECT (SELECT COUNT(*) FROM accounts), (SELECT COUNT(*) FROM brains),"
        " (SELECT COALESCE(SUM(records), 0) FROM brains)"
    ).fetchone()
    return int(row[0]), int(row[1]), int(row[2])
