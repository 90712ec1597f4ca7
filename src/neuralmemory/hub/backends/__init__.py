"""Hub storage: one interface (base.Backend), one SQL implementation, two databases."""

from __future__ import annotations

from pathlib import Path

from neuralmemory.errors import MSG_BAD_HUB_DB_URL
from neuralmemory.hub.backends.base import (
    AccountRow,
    Backend,
    CodeKind,
    CodeRow,
    Incoming,
    KeyRow,
    OwnedBrain,
    Quota,
)

__all__ = [
    "AccountRow",
    "Backend",
    "CodeKind",
    "CodeRow",
    "Incoming",
    "KeyRow",
    "OwnedBrain",
    "Quota",
    "open_backend",
]


async def open_backend(url: str) -> Backend:
    """sqlite:///abs/path/hub.db (or sqlite://relative.db), postgresql://user@host/db.

    Opening migrates the schema.
    """
    if url.startswith(("postgresql://", "postgres://")):
        from neuralmemory.hub.backends.postgres import open_postgres

        return await open_postgres(url)
    if url.startswith("sqlite://") and len(url) > len("sqlite://"):
        from neuralmemory.hub.backends.sqlite import open_sqlite

        return await open_sqlite(Path(url.removeprefix("sqlite://")))
    raise ValueError(MSG_BAD_HUB_DB_URL)
