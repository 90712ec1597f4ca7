"""The operator's actions on a hub's database: `nmem hub accounts`, `keys ...` and `brains`.

Whoever can open the hub's database runs the hub, so these need no API key. That is what gets an
account back whose keys were all revoked or lost: the operator makes it a new admin key here.
They act on the database directly, beside any running hub: keys are looked up on every request,
so a key made or revoked here holds from the hub's next request on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from neuralmemory.errors import (
    HINT_KEY_ID,
    HINT_LIST_ACCOUNTS,
    HINT_LIST_KEYS,
    HINT_OPERATOR_LAST_ADMIN,
    MSG_ACCOUNT_REQUIRED,
    MSG_API_KEY_NOT_KEY_ID,
    MSG_BAD_KEY_NAME,
    MSG_EMAIL_OR_ACCOUNT,
    MSG_NOT_A_KEY_ID,
    MSG_OPERATOR_LAST_ADMIN,
    MSG_UNKNOWN_ACCOUNT,
    MSG_UNKNOWN_EMAIL,
    MSG_UNKNOWN_KEY,
    Conflict,
    InvalidInput,
    NotFound,
)
from neuralmemory.hub import auth
from neuralmemory.hub.backends import AccountRow, Backend, KeyRow, OwnedBrain
from neuralmemory.protocol import API_KEY_PREFIX, LABEL_PATTERN

#: what auth.new_id makes; checked before any lookup, so a pasted API key is refused unsaid
KEY_ID_RE = re.compile(r"^key_[0-9a-f]{20}$")
LABEL_RE = re.compile(LABEL_PATTERN)
MAX_NAME_CHARS = 64  # as protocol.Label
RECOVERY_KEY_NAME = "recovery"


def account_name(account: AccountRow) -> str:
    """How the operator's output names an account: its email (only the local account has none:
    registration requires one)."""
    return account.email or "the local account"


async def find_account(
    backend: Backend, *, email: str | None = None, account_id: str | None = None
) -> AccountRow:
    """The one account named by exactly one of `email` and `account_id`."""
    if email is not None and account_id is not None:
        raise InvalidInput(MSG_EMAIL_OR_ACCOUNT, hint=HINT_LIST_ACCOUNTS)
    if email is None and account_id is None:
        raise InvalidInput(MSG_ACCOUNT_REQUIRED, hint=HINT_LIST_ACCOUNTS)
    found = await backend.accounts(email=email, account_id=account_id)
    if not found:
        message = (
            MSG_UNKNOWN_EMAIL.format(email=email)
            if email is not None
            else MSG_UNKNOWN_ACCOUNT.format(account_id=account_id)
        )
        raise NotFound(message, hint=HINT_LIST_ACCOUNTS)
    return found[0]


async def account_keys(
    backend: Backend, *, email: str | None = None, account_id: str | None = None
) -> tuple[AccountRow, list[KeyRow]]:
    account = await find_account(backend, email=email, account_id=account_id)
    return account, await backend.list_keys(account.account_id)


async def brains(
    backend: Backend, *, email: str | None = None, account_id: str | None = None
) -> list[OwnedBrain]:
    """Every brain on the hub, or (given either) one account's."""
    if email is None and account_id is None:
        return await backend.owned_brains()
    account = await find_account(backend, email=email, account_id=account_id)
    return await backend.owned_brains(account.account_id)


async def create_admin_key(
    backend: Backend, account: AccountRow, name: str, now: int
) -> tuple[str, KeyRow]:
    """A new admin key for the account: the secret (to show once) and its stored row.

    The account's key cap does not apply: recovery must work even for an account that holds the
    most keys it may (they may all be lost). Its owner revokes the keys it no longer needs."""
    if not (0 < len(name) <= MAX_NAME_CHARS and LABEL_RE.match(name)):
        raise InvalidInput(MSG_BAD_KEY_NAME)
    secret, key = auth.new_key(account.account_id, name, now, "admin")
    await backend.add_key(key, max_keys=None)
    return secret, key


def check_key_id(key_id: str) -> None:
    if key_id.startswith(API_KEY_PREFIX):
        # Never quote it back: it may be a working key, pasted where its id belongs.
        raise InvalidInput(MSG_API_KEY_NOT_KEY_ID, hint=HINT_KEY_ID)
    if not KEY_ID_RE.match(key_id):
        raise InvalidInput(MSG_NOT_A_KEY_ID.format(key_id=key_id[:80]), hint=HINT_KEY_ID)


@dataclass(frozen=True)
class Revoked:
    key: KeyRow
    account: AccountRow  # as it is after the revocation
    already: bool  # it was revoked before (its first revocation time is kept)


async def revoke_key(backend: Backend, key_id: str, now: int, *, force: bool) -> Revoked:
    """Revoke any account's key. The account's last admin key only with `force`: without one,
    the account can no longer manage its keys, until `create_admin_key` makes another."""
    check_key_id(key_id)
    key = await backend.key(key_id)
    if key is None:
        raise NotFound(MSG_UNKNOWN_KEY.format(key_id=key_id), hint=HINT_LIST_KEYS)
    try:
        revoked = await backend.revoke_key(key.account_id, key_id, now, keep_last_admin=not force)
    except Conflict:
        account = await find_account(backend, account_id=key.account_id)
        raise Conflict(
            MSG_OPERATOR_LAST_ADMIN.format(key_id=key_id, account=account_name(account)),
            hint=HINT_OPERATOR_LAST_ADMIN.format(account_id=key.account_id),
        ) from None
    assert revoked is not None  # keys are never deleted
    account = await find_account(backend, account_id=key.account_id)
    return Revoked(revoked, account, already=key.revoked_at is not None)
