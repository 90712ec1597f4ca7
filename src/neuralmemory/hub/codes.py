"""One-time codes: invites (to register on a hub whose registration is "invite") and pairing codes
(a new LAN device exchanges one for a key of the local account).

A code is random, shown once to whoever asked for it, stored only as its SHA-256 with an expiry,
and used up by the backend in the same transaction as what it grants, so it works exactly once.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from neuralmemory.hub.backends import Backend, CodeKind, CodeRow
from neuralmemory.protocol import normal_code, random_code

CHARS: dict[CodeKind, int] = {
    "invite": 20,  # 100 bits, valid for days
    "pair": 16,  # 80 bits, valid for minutes, and guesses are rate limited per address
}
INVITE_TTL_MS = 7 * 24 * 3600 * 1000
PAIR_TTL_MS = 10 * 60 * 1000
#: POST /v1/auth/pair attempts per client address per minute, whatever --rate-limit says
PAIR_ATTEMPTS_PER_MINUTE = 10


def hash_code(code: str) -> str:
    """What is stored and looked up: the SHA-256 of the code without dashes, in upper case."""
    return hashlib.sha256(normal_code(code).encode("ascii")).hexdigest()


def new_code(kind: CodeKind) -> str:
    return random_code(CHARS[kind])


@dataclass(frozen=True)
class Issued:
    code: str  # shown once, never stored
    expires_at: int


async def issue(backend: Backend, kind: CodeKind, now: int, ttl_ms: int) -> Issued:
    """A new code of this kind, stored hashed, usable once until now + ttl_ms."""
    code = new_code(kind)
    await backend.add_code(CodeRow(hash_code(code), kind, now, now + ttl_ms))
    return Issued(code, now + ttl_ms)
