"""API keys: made here, shown once, stored only as SHA-256 plus a display prefix.

No key is cached: every request looks its key up, so a revocation holds from the next request on,
in every hub process sharing the database.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string
from dataclasses import dataclass

from neuralmemory.errors import MSG_KEYLESS_REFUSED, AuthError
from neuralmemory.hub.backends import Backend, KeyRow
from neuralmemory.hub.settings import LOCAL_ACCOUNT, AuthMode
from neuralmemory.protocol import (
    API_KEY_PREFIX,
    KEY_DISPLAY_CHARS,
    KEY_RE,
    KeyCreated,
    KeyInfo,
    KeyScope,
    iso_ms,
)

KEY_ALPHABET = string.ascii_letters + string.digits
KEY_RANDOM_CHARS = 40  # about 238 bits


@dataclass(frozen=True)
class Caller:
    account_id: str
    key_id: str | None  # None: the local account, served without a key
    admin: bool  # may manage the account's keys (the local account may)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("ascii")).hexdigest()


def new_id(prefix: str) -> str:
    return prefix + secrets.token_hex(10)


def new_key(account_id: str, name: str, now: int, scope: KeyScope = "device") -> tuple[str, KeyRow]:
    """A fresh key (to show once) and the row that stores it without the secret."""
    key = API_KEY_PREFIX + "".join(secrets.choice(KEY_ALPHABET) for _ in range(KEY_RANDOM_CHARS))
    row = KeyRow(
        key_id=new_id("key_"),
        account_id=account_id,
        name=name,
        key_hash=hash_key(key),
        key_prefix=key[:KEY_DISPLAY_CHARS],
        created_at=now,
        scope=scope,
    )
    return key, row


def key_created(key: KeyRow, secret: str) -> KeyCreated:
    """A new key as its owner sees it, this once: with the secret."""
    return KeyCreated(
        key_id=key.key_id,
        name=key.name,
        key_prefix=key.key_prefix,
        scope=key.scope,
        api_key=secret,
        created_at=iso_ms(key.created_at) or "",
    )


def key_info(key: KeyRow) -> KeyInfo:
    """A key as listed: never the secret, which is not stored."""
    return KeyInfo(
        key_id=key.key_id,
        name=key.name,
        key_prefix=key.key_prefix,
        scope=key.scope,
        created_at=iso_ms(key.created_at) or "",
        last_used_at=iso_ms(key.last_used_at),
        revoked=key.revoked_at is not None,
        revoked_at=iso_ms(key.revoked_at),
    )


def bearer(header: str | None) -> str | None:
    """The key in `Authorization: Bearer nmk_...`; a present but malformed header is a 401."""
    if header is None:
        return None
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not KEY_RE.match(token):
        raise AuthError()
    return token


async def authenticate(
    backend: Backend, mode: AuthMode, header: str | None, now: int, *, keyless_ok: bool
) -> Caller:
    """The caller a request's key names; without a key, the local account when `mode` and the
    request allow it (loopback.keyless_allowed)."""
    key = bearer(header)
    if key is None:
        if mode == "keys":
            raise AuthError()
        if not keyless_ok:
            raise AuthError(MSG_KEYLESS_REFUSED)
        return Caller(LOCAL_ACCOUNT, None, admin=True)
    digest = hash_key(key)
    row = await backend.find_key(digest, now)
    # The lookup is by hash; comparing again in constant time keeps timing from saying anything.
    if row is None or not hmac.compare_digest(row.key_hash, digest) or row.revoked_at is not None:
        raise AuthError()
    return Caller(row.account_id, row.key_id, admin=row.scope == "admin")
