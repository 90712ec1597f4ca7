"""Key shares on every backend: taken once (also when two devices race for one), and gone at
expiry whether or not anyone asks for them."""

from __future__ import annotations

import asyncio
import secrets

import pytest

from neuralmemory.errors import Conflict
from neuralmemory.hub.backends import Backend
from neuralmemory.protocol import SHARE_TTL_MS

pytestmark = pytest.mark.anyio
NOW = 1_800_000_000_000


def share_id() -> str:
    return "s-" + secrets.token_hex(16)


async def test_a_share_is_gone_at_expiry(store: Backend) -> None:
    first, second = share_id(), share_id()
    await store.put_share("acc_a", first, "c2VhbGVk", NOW, NOW + SHARE_TTL_MS, 10)
    await store.put_share("acc_a", second, "c2VhbGVk", NOW, NOW + SHARE_TTL_MS, 10)
    assert await store.take_share("acc_a", first, NOW + SHARE_TTL_MS) is None  # expired
    # Another account's request, after expiry, deleted the other one too: nothing lingers.
    await store.put_share(
        "acc_b", share_id(), "c2VhbGVk", NOW + SHARE_TTL_MS, NOW + 2 * SHARE_TTL_MS, 10
    )
    assert await store.take_share("acc_a", second, NOW) is None


async def test_devices_racing_for_one_share_get_it_once(store: Backend) -> None:
    ident = share_id()
    await store.put_share("acc_a", ident, "c2VhbGVk", NOW, NOW + SHARE_TTL_MS, 10)
    taken = await asyncio.gather(*(store.take_share("acc_a", ident, NOW + 1) for _ in range(6)))
    assert taken.count("c2VhbGVk") == 1 and taken.count(None) == 5


async def test_share_limits_and_owners(store: Backend) -> None:
    ident = share_id()
    await store.put_share("acc_a", ident, "YQ==", NOW, NOW + SHARE_TTL_MS, 1)
    with pytest.raises(Conflict, match="Share limit reached"):
        await store.put_share("acc_a", share_id(), "YQ==", NOW, NOW + SHARE_TTL_MS, 1)
    with pytest.raises(Conflict, match="share id is taken"):
        await store.put_share("acc_b", ident, "Yg==", NOW, NOW + SHARE_TTL_MS, 1)
    assert await store.take_share("acc_a", ident, NOW) == "YQ=="
