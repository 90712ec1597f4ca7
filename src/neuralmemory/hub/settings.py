"""What one hub process is configured with: where its data lives, who may call it, its limits."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from neuralmemory.hub.loopback import is_loopback_name

if TYPE_CHECKING:
    from neuralmemory.hub.backends import Backend
    from neuralmemory.protocol import Limits, Registration

#: keys: every request needs a key. local: a request without a key is the local account (loopback,
#: the default there). none: the same on any address, which the user asked for with --no-auth.
AuthMode = Literal["keys", "local", "none"]

LOCAL_ACCOUNT = "local"  # created by the first migration
RATE_WINDOW_MS = 60_000  # limits are per minute (Limits.rate_limit_per_minute)


@dataclass(frozen=True)
class ServerLimits:
    """What a client may hold of one hub process: connections, requests, bytes and seconds.

    Not part of the protocol (a hub behind another front end has that front end's limits); the
    reasons for each default are in docs/hub.md, "Connections and timeouts".
    """

    #: open connections; one more is closed at once, before a byte of it is read
    max_connections: int = 1000
    #: requests being handled at once; one more gets 503 `busy`
    max_concurrent: int = 64
    #: seconds for a request's headers (from the connection opening or the previous reply), and
    #: the longest pause inside a body
    read_timeout: float = 10.0
    #: seconds for a whole body, from when the hub starts reading it
    body_timeout: float = 60.0
    #: request line and headers together; more gets 431
    max_header_bytes: int = 64 * 1024
    max_headers: int = 100


def _default_limits() -> Limits:
    # imported here: the pydantic shapes would cost every `nmem` command their import at start
    from neuralmemory.protocol import DEFAULT_LIMITS

    return DEFAULT_LIMITS


@dataclass(frozen=True)
class Settings:
    db_url: str
    auth: AuthMode = "keys"
    limits: Limits = field(default_factory=_default_limits)
    name: str = "nmem hub"
    registration: Registration = "open"
    #: called after each successful pairing (`nmem serve --lan` prints the next pairing line)
    on_paired: Callable[[Backend], Awaitable[None]] | None = None
    #: serve GET /metrics (hub/metrics.py); off by default
    metrics: bool = False
    #: a bearer token that lets a scraper elsewhere read /metrics (never logged)
    metrics_token: str | None = field(default=None, repr=False)
    server: ServerLimits = field(default_factory=ServerLimits)
    #: requests of one account in the database at once in this process (gate.py), and how long
    #: one more waits for a slot before it is refused with 503 busy
    account_concurrency: int = 4
    account_wait_s: float = 2.0


def auth_mode(host: str, *, require_keys: bool, no_auth: bool) -> AuthMode:
    """Keyless on loopback unless keys are asked for, elsewhere only on an explicit opt-out."""
    if require_keys:
        return "keys"
    if no_auth:
        return "none"
    return "local" if is_loopback_name(host) else "keys"


def registration_mode(host: str, chosen: Registration | None) -> Registration:
    """Open on loopback, where only this machine can register; closed elsewhere unless chosen."""
    if chosen is not None:
        return chosen
    return "open" if is_loopback_name(host) else "closed"
