"""What one hub process is configured with: where its data lives, who may call it, its limits."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Literal

from neuralmemory.protocol import DEFAULT_LIMITS, Limits

#: keys: every request needs a key. local: a request without a key is the local account (loopback,
#: the default there). none: the same on any address, which the user asked for with --no-auth.
AuthMode = Literal["keys", "local", "none"]

LOCAL_ACCOUNT = "local"  # created by the first migration
RATE_WINDOW_MS = 60_000  # limits are per minute (Limits.rate_limit_per_minute)


@dataclass(frozen=True)
class Settings:
    db_url: str
    auth: AuthMode = "keys"
    limits: Limits = field(default_factory=lambda: DEFAULT_LIMITS)
    name: str = "nmem hub"
    #: requests of one account in the database at once in this process (gate.py), and how long
    #: one more waits for a slot before it is refused with 503 busy
    account_concurrency: int = 4
    account_wait_s: float = 2.0


def is_loopback(host: str) -> bool:
    """True for addresses only this machine can reach; the only place a hub may run keyless."""
    host = host.strip("[]").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def auth_mode(host: str, *, require_keys: bool, no_auth: bool) -> AuthMode:
    """Keyless on loopback unless keys are asked for, elsewhere only on an explicit opt-out."""
    if require_keys:
        return "keys"
    if no_auth:
        return "none"
    return "local" if is_loopback(host) else "keys"
