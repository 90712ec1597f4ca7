"""The versions of each memory this device replaced before its hub held them.

`replaced` is filled by a trigger on `records` (store/sql/0007_replaced.sql); a push names a
memory's rows beside its pending version (`replaces`), and once the hub holds that version they
are dropped. Why: docs/protocol.md, "History".
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from neuralmemory import protocol
from neuralmemory.store.db import Database
from neuralmemory.store.history import IDS_PER_QUERY

if TYPE_CHECKING:  # the pydantic shapes load only when a version is read (hooks never do)
    from neuralmemory.protocol import Version


def names(db: Database, ids: Sequence[str], limit: int) -> dict[str, list[str]]:
    """For those of these memory ids that have any, the vhashes they replaced unpushed: newest
    first, at most `limit` each (the hub keeps no more: protocol.HISTORY_DEPTH)."""
    found: dict[str, list[str]] = {}
    if limit <= 0:
        return found
    for id, vhash in _rows(db, ids, "r.vhash", " ORDER BY r.id, r.hlc DESC, r.vhash"):
        held = found.setdefault(str(id), [])
        if len(held) < limit:
            held.append(str(vhash))
    return found


def versions(db: Database, ids: Sequence[str]) -> dict[str, list[Version]]:
    """For those of these memory ids that have any, the versions they replaced unpushed, as
    stored (the change log's `history` keeps every replaced version whole)."""
    found: dict[str, list[Version]] = {}
    for id, text in _rows(db, ids, "h.version", ""):
        found.setdefault(str(id), []).append(protocol.Version.model_construct(**json.loads(text)))
    return found


def _rows(db: Database, ids: Sequence[str], column: str, order: str) -> Iterator[tuple[Any, Any]]:
    """(id, column) of the rows of these ids, joined with the versions `history` keeps; one
    query per IDS_PER_QUERY ids, none while the table is empty (the usual case)."""
    if db.execute("SELECT 1 FROM replaced LIMIT 1").fetchone() is None:
        return
    unique = sorted(set(ids))
    for start in range(0, len(unique), IDS_PER_QUERY):
        chunk = unique[start : start + IDS_PER_QUERY]
        yield from db.execute(
            f"SELECT r.id, {column} FROM replaced r JOIN history h"
            " ON h.id = r.id AND h.vhash = r.vhash"
            f" WHERE r.id IN ({','.join('?' * len(chunk))}){order}",
            chunk,
        )


def drop(db: Database, id: str, vhash: str) -> None:
    """Name this replaced version no more."""
    db.execute("DELETE FROM replaced WHERE id = ? AND vhash = ?", (id, vhash))


def held(db: Database, pushed: Iterable[tuple[str, str]], runaway: str) -> None:
    """The hub holds these (memory id, hlc) versions: the rows they replaced, written before
    them, have been named to it (or never will be of use to it), and so have rows stamped at or
    past `runaway` (ChangeLog.runaway_pending's bound: no hub took such a version, and it is
    stamped again before any push, so nothing pushes it); in a transaction."""
    db.executemany(
        "DELETE FROM replaced WHERE id = ? AND (hlc <= ? OR hlc >= ?)",
        [(id, hlc, runaway) for id, hlc in pushed],
    )
