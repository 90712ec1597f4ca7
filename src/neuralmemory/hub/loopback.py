"""Which keyless requests a local hub may serve: those that can only come from this machine.

Binding to loopback is not enough (docs/architecture.md#security-rules). A web page the user visits
can reach a loopback hub by DNS rebinding (its requests then carry the attacker's name in `Host`),
a cross-site page sends its own `Origin`, and any forwarder on the box (a TLS proxy, socat,
`ssh -R`, a tunnel) turns remote callers into loopback peers. So a request without a key is the
local account only when the peer is loopback, `Host` names a loopback address, any `Origin` is
loopback too, and no forwarding header says another machine is behind it. Everything else must
send a key.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:  # settings decides the mode with is_loopback_name, so no import at run time
    from neuralmemory.hub.settings import AuthMode

#: Set by proxies, load balancers and tunnels; their presence means the caller is elsewhere.
FORWARDING_HEADERS = frozenset(
    {
        "forwarded",
        "x-forwarded-for",
        "x-forwarded-host",
        "x-forwarded-proto",
        "x-forwarded-server",
        "x-real-ip",
        "x-client-ip",
        "true-client-ip",
        "cf-connecting-ip",
        "via",
    }
)


def is_loopback_name(host: str) -> bool:
    """`localhost`, an address in 127.0.0.0/8 or ::1, bracketed or not; no port. The only
    addresses a hub may serve keyless on, and the only names local mode accepts in `Host`."""
    host = host.strip().lower().removesuffix(".")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _host_of(authority: str) -> str:
    """The host part of `Host: name:port` or `[::1]:port`."""
    if authority.startswith("["):
        return authority.partition("]")[0] + "]"
    return authority.rpartition(":")[0] if authority.count(":") == 1 else authority


def loopback_host_header(value: str | None) -> bool:
    return value is not None and is_loopback_name(_host_of(value.strip()))


def loopback_origin(value: str | None) -> bool:
    """No Origin (not a browser, or a same-origin GET), or one whose host is loopback; `null`
    (a sandboxed frame, a file:// page) is not."""
    if value is None:
        return True
    parts = urlsplit(value.strip())
    return parts.scheme in ("http", "https") and is_loopback_name(parts.hostname or "")


def from_this_machine(peer: str | None, headers: Iterable[tuple[str, str]]) -> bool:
    """True when a keyless request can only have come from a program on this machine.

    `headers` are (lower-case name, value) pairs as the request carried them; a repeated Host or
    Origin must pass each time.
    """
    if peer is None or not is_loopback_name(peer):
        return False
    seen_host = False
    for name, value in headers:
        if name in FORWARDING_HEADERS:
            return False
        if name == "host":
            seen_host = True
            if not loopback_host_header(value):
                return False
        elif name == "origin" and not loopback_origin(value):
            return False
    return seen_host


def browser_free(headers: Iterable[tuple[str, str]]) -> bool:
    """For a hub opened to every address with --no-auth: at least no web page from elsewhere."""
    return all(name != "origin" or loopback_origin(value) for name, value in headers)


def keyless_allowed(mode: AuthMode, peer: str | None, headers: Iterable[tuple[str, str]]) -> bool:
    """May this request without a key be served as the local account? Never in `keys` mode."""
    if mode == "local":
        return from_this_machine(peer, headers)
    return mode == "none" and browser_free(headers)
