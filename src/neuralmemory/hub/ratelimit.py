"""Per-key request limits (per client address without a key), counted in the database.

Fixed one-minute windows: one upsert per request, shared by every hub process on the database,
and none at all with the limit off (0). The counts are bookkeeping a request never depends on:
when the database cannot take them (disk full, read-only) the request is served uncounted.
"""

from __future__ import annotations

import math
import time

from neuralmemory.errors import RateLimited
from neuralmemory.hub.backends import Backend
from neuralmemory.hub.settings import RATE_WINDOW_MS


def day_of(now: int) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(now / 1000))


async def admit(
    backend: Backend, per_minute: int, subject: str, account_id: str | None, now: int
) -> None:
    """Count the request (and the account's requests today); 429 past the limit (0: no limit)."""
    limited = per_minute > 0
    if not limited and account_id is None:
        return  # nothing to count: no write at all
    window = now - now % RATE_WINDOW_MS
    hits = await backend.hit(subject if limited else None, window, account_id, day_of(now))
    if hits is not None and hits > per_minute:
        raise RateLimited(retry_after=max(1, math.ceil((window + RATE_WINDOW_MS - now) / 1000)))
