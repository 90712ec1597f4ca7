"""How many requests of one account may be in the database at once, per hub process.

The database has few connections (SQLite's readers, PostgreSQL's pool): without a bound, one
account's burst (a loop of big listings, a script with many threads) could hold them all while
every other account waits. A request past its account's bound waits up to `wait_s` for one of
the account's slots, then is refused with 503 busy and Retry-After: the retry is that account's,
and other accounts never queue behind it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from neuralmemory.errors import HubBusy


@dataclass
class _Slots:
    free: asyncio.Semaphore
    users: int = 0  # requests holding or waiting for a slot; the entry goes at zero


class AccountGate:
    def __init__(self, per_account: int, wait_s: float) -> None:
        if per_account < 1:
            raise ValueError("per_account must be at least 1")
        self.per_account = per_account
        self.wait_s = wait_s
        self._accounts: dict[str, _Slots] = {}

    @asynccontextmanager
    async def admit(self, account_id: str) -> AsyncIterator[None]:
        """Hold one of the account's slots for the body of the `async with`; HubBusy when none
        frees up in time."""
        slots = self._accounts.get(account_id)
        if slots is None:
            slots = self._accounts[account_id] = _Slots(asyncio.Semaphore(self.per_account))
        slots.users += 1
        try:
            try:
                async with asyncio.timeout(self.wait_s):
                    await slots.free.acquire()
            except TimeoutError:
                raise HubBusy() from None
            try:
                yield
            finally:
                slots.free.release()
        finally:
            slots.users -= 1
            if slots.users == 0:
                del self._accounts[account_id]
