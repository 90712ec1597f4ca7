"""The brain's `meta` table: its identity and the device's bookkeeping, as text by key.

Identity (brain_id, created_at) is written once, when the file is made. store/changes.py keeps
its clock and digest here under names of its own; the brain's other keys are these.
"""

from __future__ import annotations

from neuralmemory.store.db import Database

BRAIN_ID = "brain_id"
CREATED_AT = "created_at"
SYNC_ID = "sync_id"  # the hub brain a non-empty brain was merged into
INDEX_KEY = "index_key"  # the fingerprint of the key that sealed the local index
EXTRACTION = "extraction"  # the extract.VERSION the local graph was derived with
E2E = "e2e"  # "1" once the brain is end-to-end encrypted (never turned off)


def get(db: Database, key: str) -> str | None:
    row = db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return None if row is None else str(row[0])


def put(db: Database, key: str, value: str | None) -> None:
    """Set `key` to `value`; None removes it. In the caller's transaction."""
    if value is None:
        db.execute("DELETE FROM meta WHERE key = ?", (key,))
        return
    db.execute(
        "INSERT INTO meta (key, value) VALUES (?, ?)"
        " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (key, value),
    )


def has_identity(db: Database) -> bool:
    return get(db, BRAIN_ID) is not None


def init_identity(db: Database, brain_id: str, created_at: int) -> None:
    """Give a new brain its id and birth time; an existing one keeps its own."""
    with db.transaction():
        for key, value in ((BRAIN_ID, brain_id), (CREATED_AT, str(created_at))):
            db.execute("INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)", (key, value))
