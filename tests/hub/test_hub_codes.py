"""One-time codes on every backend: invites make one account, pairing codes one key, each once,
before they expire, also when used concurrently; and the pair endpoint's attempt budget."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable

import httpx
import pytest

from neuralmemory.errors import MSG_INVALID_INVITE, CodeRefused
from neuralmemory.hub import codes
from neuralmemory.hub.auth import new_key
from neuralmemory.hub.backends import Backend
from neuralmemory.hub.settings import LOCAL_ACCOUNT
from neuralmemory.protocol import CODE_ALPHABET

pytestmark = pytest.mark.anyio
NOW = 1_800_000_000_000
DAY = 86_400_000


def uid(prefix: str) -> str:
    return prefix + secrets.token_hex(6)


async def register(store: Backend, invite: str | None, now: int = NOW) -> bool:
    account_id = uid("acc_")
    _, key = new_key(account_id, "default", now)
    invite_hash = None if invite is None else codes.hash_code(invite)
    return await store.create_account(account_id, f"{account_id}@example.com", key, invite_hash)


async def refused(store: Backend, invite: str, now: int = NOW) -> str:
    with pytest.raises(CodeRefused) as caught:
        await register(store, invite, now)
    assert caught.value.code == "invalid_invite" and caught.value.status == 403
    return caught.value.message


async def test_an_invite_makes_one_account_before_it_expires(store: Backend) -> None:
    issued = await codes.issue(store, "invite", NOW, DAY)
    assert issued.expires_at == NOW + DAY
    assert len(issued.code.replace("-", "")) == 20 and set(issued.code) <= set(CODE_ALPHABET + "-")
    assert await refused(store, codes.new_code("invite")) == MSG_INVALID_INVITE  # never issued
    assert await refused(store, issued.code, now=NOW + DAY)  # expired at expires_at
    assert await register(store, issued.code.lower(), now=NOW + DAY - 1)  # any case
    assert await refused(store, issued.code)  # used


async def test_an_invite_survives_a_refused_registration(store: Backend) -> None:
    issued = await codes.issue(store, "invite", NOW, DAY)
    account_id = uid("acc_")
    email = f"{account_id}@example.com"
    _, key = new_key(account_id, "default", NOW)
    assert await store.create_account(account_id, email, key)
    _, again = new_key(uid("acc_"), "default", NOW)
    # the email is taken: nothing is written, the invite is not used up
    invite_hash = codes.hash_code(issued.code)
    assert not await store.create_account(again.account_id, email, again, invite_hash)
    assert await register(store, issued.code)


async def test_registrations_racing_for_one_invite_make_one_account(store: Backend) -> None:
    issued = await codes.issue(store, "invite", NOW, DAY)
    outcomes = await asyncio.gather(
        *(register(store, issued.code) for _ in range(6)), return_exceptions=True
    )
    assert outcomes.count(True) == 1
    assert all(isinstance(o, CodeRefused) for o in outcomes if o is not True), outcomes


async def test_a_pairing_code_makes_one_key_of_the_local_account(store: Backend) -> None:
    issued = await codes.issue(store, "pair", NOW, codes.PAIR_TTL_MS)
    invite = await codes.issue(store, "invite", NOW, DAY)
    secret, key = new_key(LOCAL_ACCOUNT, "laptop", NOW + 1)
    assert not await store.pair(codes.hash_code(invite.code), key)  # an invite is no pairing code
    assert await refused(store, issued.code)  # nor a pairing code an invite
    assert await store.pair(codes.hash_code(issued.code), key)
    found = await store.find_key(key.key_hash, NOW + 2)
    assert found is not None and found.account_id == LOCAL_ACCOUNT and found.name == "laptop"
    _, other = new_key(LOCAL_ACCOUNT, "desktop", NOW + 3)
    assert not await store.pair(codes.hash_code(issued.code), other)  # used
    assert await store.find_key(other.key_hash, NOW + 4) is None
    assert secret not in str(found)


async def test_an_expired_pairing_code_makes_nothing(store: Backend) -> None:
    issued = await codes.issue(store, "pair", NOW, codes.PAIR_TTL_MS)
    _, key = new_key(LOCAL_ACCOUNT, "laptop", NOW + codes.PAIR_TTL_MS)
    assert not await store.pair(codes.hash_code(issued.code), key)
    assert await store.find_key(key.key_hash, NOW) is None


async def test_devices_racing_for_one_pairing_code_get_one_key(store: Backend) -> None:
    issued = await codes.issue(store, "pair", NOW, codes.PAIR_TTL_MS)
    keys = [new_key(LOCAL_ACCOUNT, f"device-{n}", NOW)[1] for n in range(6)]
    outcomes = await asyncio.gather(*(store.pair(codes.hash_code(issued.code), k) for k in keys))
    assert outcomes.count(True) == 1


def test_codes_read_aloud_are_the_same_code() -> None:
    code = codes.new_code("pair")
    assert len(code) == 19 and code.count("-") == 3
    for typed in (code.lower(), code.replace("-", ""), code.replace("0", "O").replace("1", "l")):
        assert codes.hash_code(typed) == codes.hash_code(code)
    assert codes.hash_code(codes.new_code("pair")) != codes.hash_code(code)


async def test_pairing_attempts_are_limited_per_address(
    make_client: Callable[..., httpx.AsyncClient],
) -> None:
    """Whatever the hub's rate limit (here none), an address gets PAIR_ATTEMPTS_PER_MINUTE
    guesses a minute: of 2 * that + 1 attempts (at most two windows), at least one is a 429."""
    client = make_client(rate_limit_per_minute=0)
    statuses = []
    for _ in range(2 * codes.PAIR_ATTEMPTS_PER_MINUTE + 1):
        body = {"code": codes.new_code("pair"), "name": "laptop"}
        statuses.append((await client.post("/v1/auth/pair", json=body)).status_code)
    assert set(statuses) == {403, 429}
    assert statuses.count(403) <= 2 * codes.PAIR_ATTEMPTS_PER_MINUTE
