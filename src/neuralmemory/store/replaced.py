"""The versions of each memory this device replaced before its hub held them.

`replaced` is filled by a trigger on `records` (store/sql/0007_replaced.sql); a push names a
memory's rows beside its pending version (`replaces`), and once the hub holds that version they
are dropped. Why: docs/protocol.md, "History".
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence

from neuralmemory.protocol import Version
from neuralmemory.store.db import Database

IDS_PER_QUERY = 400  # ids per IN list, well under every SQLite's parameter limit


def names(db: Database, ids: Sequence[str], limit: int) -> dict[str, list[str]]:
    """For those of these memory ids that have any, the vhashes they replaced unpushed: newest
    first, at most `limit` each (the hub keeps no more: protocol.HISTORY_DEPTH)."""
    if limit <= 0 or db.execute("SELECT 1 FROM replaced LIMIT 1").fetchone() is None:
        return {}
    found: dict[str, list[str]] = {}
    unique = sorted(set(ids))
    for start in range(0, len(unique), IDS_PER_QUERY):
        chunk = unique[start : start + IDS_PER_QUERY]
        rows = db.execute(
            f"SELECT id, vhash FROM replaced WHERE id IN ({','.join('?' * len(chunk))})"
            " ORDER BY id, hlc DESC, vhash",
            chunk,
        )
        for id, vhash in rows:
            held = found.setdefault(str(id), [])
            if len(held) < limit:
                held.append(str(vhash))
    return found


def versions(db: Database, ids: Sequence[str]) -> dict[str, list[Version]]:
    """For those of these memory ids that have any, the versions they replaced unpushed, as
    stored (the change log's `history` keeps every replaced version whole)."""
    if db.execute("SELECT 1 FROM replaced LIMIT 1").fetchone() is None:
        return {}
    found: dict[str, list[Version]] = {}
    unique = sorted(set(ids))
    for start in range(0, len(unique), IDS_PER_QUERY):
        chunk = unique[start : start + IDS_PER_QUERY]
        rows = db.execute(
            "SELECT r.id, h.version FROM replaced r JOIN history h"
            " ON h.id = r.id AND h.vhash = r.vhash"
            f" WHERE r.id IN ({','.join('?' * len(chunk))})",
            chunk,
        )
        for id, text in rows:
            found.setdefault(str(id), []).append(Version.model_construct(**json.loads(text)))
    return found


def held(db: Database, pushed: Iterable[tuple[str, str]], runaway: str) -> None:
    """The hub holds these (memory id, hlc) versions: the rows they replaced, written before
    them, have been named to it (or never will be of use to it), and so have rows stamped at or
    past `runaway` (ChangeLog.runaway_pending's bound: no hub took such a version, and it is
    stamped again before any push, so nothing pushes it); in a transaction."""
    db.executemany(
        "DELETE FROM replaced WHERE id = ? AND (hlc <= ? OR hlc >= ?)",
        [(id, hlc, runaway) for id, hlc in pushed],
    )
