"""Per-key request limits (per client address without a key), and per account over all its keys,
counted in the database.

Fixed one-minute windows: one upsert per limited subject and request, in one transaction, shared
by every hub process on the database, and none at all with the limits off (0) and no account to
count. The counts are bookkeeping a request never depends on: when the database cannot take them
(disk full, read-only) the request is served uncounted.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence

from neuralmemory.errors import RateLimited
from neuralmemory.hub.backends import Backend
from neuralmemory.hub.settings import RATE_WINDOW_MS

#: a subject and its limit per minute (0: counted, not limited)
Budget = tuple[str, int]


def day_of(now: int) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(now / 1000))


def account_subject(account_id: str) -> str:
    """The counter every key of one account shares (Limits.account_rate_limit_per_minute)."""
    return "acct:" + account_id


async def admit(
    backend: Backend, budgets: Sequence[Budget], account_id: str | None, now: int
) -> None:
    """Count the request against every budget with a limit (and the account's requests today);
    429 once any of them is spent. Budgets of 0 are not written at all."""
    limited = [(subject, limit) for subject, limit in budgets if limit > 0]
    if not limited and account_id is None:
        return  # nothing to count: no write at all
    window = now - now % RATE_WINDOW_MS
    hits = await backend.hit([subject for subject, _ in limited], window, account_id, day_of(now))
    if hits is not None and any(n > limit for (_, limit), n in zip(limited, hits, strict=True)):
        raise RateLimited(retry_after=max(1, math.ceil((window + RATE_WINDOW_MS - now) / 1000)))
