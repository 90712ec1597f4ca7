"""The versions a memory had on this device, and the conflict copies that name it.

`history` is filled by a trigger on `records` (store/sql/0004_history.sql): every version a
memory record had before its current one. Read-only helpers; core/history.py says what changed.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING

from neuralmemory import protocol
from neuralmemory.store.db import Database

if TYPE_CHECKING:  # the pydantic shapes load only when a version is read (hooks never do)
    from neuralmemory.protocol import Version

IDS_PER_QUERY = 400  # ids per IN list, well under every SQLite's parameter limit


def memory_versions(db: Database, memory_id: str) -> list[Version]:
    """Every version of a memory this device held, oldest first, the current one last."""
    rows = db.execute(
        "SELECT hlc, version FROM history WHERE id = ?"
        " UNION ALL SELECT hlc, version FROM records WHERE kind = 'memory' AND id = ?"
        " ORDER BY hlc",
        (memory_id, memory_id),
    ).fetchall()
    return [protocol.Version.model_construct(**json.loads(text)) for _, text in rows]


def conflict_copies(db: Database, memory_id: str) -> list[Version]:
    """The open (not restored, not dismissed) conflict copies of a memory, newest first."""
    rows = db.execute(
        "SELECT version FROM records WHERE kind = 'conflict' AND deleted = 0"
        " AND json_extract(version, '$.body.record.id') = ?"
        " AND json_extract(version, '$.body.record.kind') = 'memory' ORDER BY hlc DESC",
        (memory_id,),
    ).fetchall()
    return [protocol.Version.model_construct(**json.loads(text)) for (text,) in rows]


def superseded_by(db: Database, memory_id: str) -> list[str]:
    """The memories `memory_id` replaced (their superseded_by names it)."""
    rows = db.execute("SELECT id FROM memories WHERE superseded_by = ? ORDER BY id", (memory_id,))
    return [str(row[0]) for row in rows]


def drop_version(db: Database, id: str, vhash: str) -> None:
    """Leave a replaced version out of its memory's history."""
    db.execute("DELETE FROM history WHERE id = ? AND vhash = ?", (id, vhash))


def held_before(db: Database, versions: Sequence[tuple[str, str]]) -> set[str]:
    """Of these (memory id, vhash) pairs, the vhashes this device held before the memory's
    current version: the sync planner's sign that a hub went back (sync/plan.py)."""
    wanted = set(versions)
    found: set[str] = set()
    ids = sorted({id for id, _ in wanted})
    for start in range(0, len(ids), IDS_PER_QUERY):
        chunk = ids[start : start + IDS_PER_QUERY]
        rows = db.execute(
            f"SELECT id, vhash FROM history WHERE id IN ({','.join('?' * len(chunk))})", chunk
        )
        found |= {str(vhash) for id, vhash in rows if (id, vhash) in wanted}
    return found


def history_stamp(db: Database, version: Version) -> str | None:
    """The stamp of the version `version` replaced here (its parent), if this device held it."""
    row = db.execute(
        "SELECT hlc FROM history WHERE id = ? AND vhash = ?", (version.id, version.parent)
    ).fetchone()
    return None if row is None else str(row[0])
