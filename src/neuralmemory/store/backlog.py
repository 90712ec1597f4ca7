"""The graph backlog: memories whose concept graph is not built yet (migration 0006).

A memory is either in the backlog, with its full-text row and no graph, or out of it, with both
(or neither, when superseded or unreadable here). Functions run inside the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Iterable

from neuralmemory.store.db import Database


def defer(db: Database, rids: Iterable[int]) -> None:
    """Put memories in the backlog (their graph is built later)."""
    db.executemany("INSERT OR IGNORE INTO graph_backlog (rid) VALUES (?)", [(r,) for r in rids])


def drop(db: Database, rids: Iterable[int]) -> None:
    """Take memories out of the backlog (their graph was just built, or is rebuilt otherwise)."""
    if is_empty(db):
        return  # the common case: no lookup per memory
    db.executemany("DELETE FROM graph_backlog WHERE rid = ?", [(r,) for r in rids])


def waiting(db: Database, limit: int) -> list[int]:
    """The first `limit` memories of the backlog, oldest rid first: the order a pull stored them."""
    rows = db.execute("SELECT rid FROM graph_backlog ORDER BY rid LIMIT ?", (limit,))
    return [int(rid) for (rid,) in rows]


def among(db: Database, rids: Iterable[int]) -> list[int]:
    """Those of `rids` still in the backlog."""
    wanted = list(rids)
    if not wanted:
        return []
    marks = ",".join("?" * len(wanted))
    rows = db.execute(f"SELECT rid FROM graph_backlog WHERE rid IN ({marks})", wanted)
    return [int(rid) for (rid,) in rows]


def waiting_any(db: Database) -> bool:
    """Whether any memory waits for its graph (False in a brain not migrated to 0006 yet)."""
    found = db.execute("SELECT 1 FROM sqlite_master WHERE name = 'graph_backlog'").fetchone()
    return found is not None and not is_empty(db)


def is_empty(db: Database) -> bool:
    return db.execute("SELECT 1 FROM graph_backlog LIMIT 1").fetchone() is None


def count(db: Database) -> int:
    return int(db.execute("SELECT count(*) FROM graph_backlog").fetchone()[0])


def clear(db: Database) -> None:
    db.execute("DELETE FROM graph_backlog")
