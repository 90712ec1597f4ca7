"""The brain's `sync_state` table: what the sync engine keeps per brain, JSON text by key.

sync/state.py names the keys and says what each holds; this is only their storage.
"""

from __future__ import annotations

from neuralmemory.store.db import Database


def get(db: Database, key: str) -> str | None:
    row = db.execute("SELECT value FROM sync_state WHERE key = ?", (key,)).fetchone()
    return None if row is None else str(row[0])


def put(db: Database, key: str, value: str | None) -> None:
    """Set `key` to `value`; None removes it. In the caller's transaction."""
    if value is None:
        db.execute("DELETE FROM sync_state WHERE key = ?", (key,))
        return
    db.execute(
        "INSERT INTO sync_state (key, value) VALUES (?, ?)"
        " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (key, value),
    )


def clear(db: Database) -> None:
    """Forget all of it (a brain that takes another id starts its sync over)."""
    db.execute("DELETE FROM sync_state")
