"""One exception tree for the whole product; the exact user-facing messages live here.

    NmemError                      base: every error the library raises on purpose
    ├── InvalidInput               bad argument from a user or a client (HTTP 400)
    ├── NotFound                   no such memory, brain, key, conflict copy (HTTP 404)
    ├── ConfigError                config.toml unreadable or invalid (names file and line)
    ├── StoreError                 a brain database cannot be opened, read or written
    ├── CryptoError                key missing, wrong key, wrong passphrase
    └── HubError                   an answer from (or a failure to reach) a sync hub
        ├── AuthError              401 Invalid or expired API key
        ├── AccessDenied           403 Access denied (or a device key asking to manage keys)
        ├── CodeRefused            403 registration closed, or an invite/pairing code refused
        ├── Conflict               409 the last admin key, the key limit
        ├── PayloadTooLarge        413 Payload too large
        ├── RateLimited            429 Rate limited (carries retry_after seconds)
        ├── HubBusy                503 Hub busy, retry (carries retry_after seconds)
        ├── StorageRefused         the hub's database refused a write (not the client's fault)
        │   ├── StorageFull        507 the hub's disk is full: nothing written
        │   └── StorageReadOnly    503 the hub's database is read-only: nothing written
        ├── InsecureHubURL         client-side refusal of a non-local http:// hub URL
        ├── TLSFailure             the hub's certificate is not trusted, or TLS failed
        ├── HubUnavailable         network error, timeout or 5xx: retryable
        └── ProtocolError          the hub said something this client cannot understand

`retryable` is a property of the error: only transport failures, 5xx and 429 are worth a retry.
Adapters (CLI, MCP, hub routes) map these to exit codes, tool errors or HTTP statuses; nothing
below them formats errors for a user.
"""

from __future__ import annotations

# The messages users see word for word (DESIGN.md section 1). The hub and the Worker send the same.
MSG_INVALID_KEY = "Invalid or expired API key"
MSG_ACCESS_DENIED = "Access denied"
MSG_PAYLOAD_TOO_LARGE = "Payload too large"
MSG_RATE_LIMITED = "Rate limited"
MSG_HTTPS_REQUIRED = "Cloud hub requires HTTPS"
MSG_BRAIN_NOT_FOUND = "Brain not found"
MSG_NOT_FOUND = "Not found"
MSG_REGISTRATION_CLOSED = (
    "Registration is closed on this hub: ask its operator for an invite code (nmem hub invite)"
)
MSG_INVITE_REQUIRED = (
    "An invite code is required to register on this hub: ask its operator for one (nmem hub invite)"
)
MSG_INVALID_INVITE = (
    "Invalid invite code: it is unknown, already used or expired; ask the hub's operator for a"
    " new one (nmem hub invite)"
)
MSG_INVALID_PAIR_CODE = (
    "Invalid pairing code: it is unknown, already used or expired; run `nmem hub pair` on the"
    " hub for a new one"
)
MSG_METRICS_REFUSED = (
    "Metrics are served only on the hub's own machine, or with the token given to"
    " nmem serve --metrics-token-file"
)
MSG_KEY_REQUIRED = (
    "API key required: this hub serves requests without a key only to programs on its own"
    " machine, never through a proxy, a tunnel or a web page"
)
# Refusals of the Python hub's HTTP server (hub/server.py, hub/edge.py), before any route runs.
MSG_REQUEST_TIMEOUT = (
    "Request timeout: the hub stopped waiting for the rest of the request; send it again without "
    "pausing"
)
MSG_HEADERS_TOO_LARGE = (
    "Request headers too large: send at most {max_bytes} bytes of request line and headers, in "
    "at most {max_headers} header lines"
)
MSG_BUSY = "Hub busy, retry"  # the Worker's words for its 503 too
MSG_STORAGE_FULL = (
    "The hub's disk is full: nothing was written. Reads still work; ask its operator to free"
    " space, then sync again"
)
MSG_READ_ONLY = (
    "The hub's database is read-only: nothing was written. Reads still work; ask its operator"
    " to make it writable, then sync again"
)
#: a pushed version stamped beyond max_clock_skew_ms; {where} is e.g. "records.0.hlc"
MSG_CLOCK_AHEAD = (
    "{where}: stamped {ahead} ahead of the hub's clock, more than max_clock_skew_ms"
    " ({limit_h} h) allows: set this device's clock right and sync again (its pending"
    " changes are stamped again then)"
)
MSG_DEVICE_KEY = (
    "This is a device key: it can only sync. Manage keys with an admin key (the one made at "
    "registration, or `nmem hub keys create` on the hub machine)."
)
MSG_LAST_ADMIN_KEY = "Cannot revoke the last admin key: create another admin key first"
MSG_KEY_LIMIT = (
    "Key limit reached: an account may hold {limit} active keys; revoke unused ones first"
)

# Client-side messages: what `nmem sync` and the MCP tools say about a hub, each with what to do.
MSG_KEY_REQUIRED = "This hub requires an API key"
HINT_KEY_REQUIRED = (
    "set one with `nmem sync config set --api-key nmk_...`; ask the hub's operator for a key, "
    "or register (`nmem sync config setup` shows how)"
)
HINT_INVALID_KEY = (
    "the hub does not know this key, or it was revoked: make a new key (POST /v1/auth/keys from "
    "a device whose key works, or register again) and `nmem sync config set --api-key nmk_...`"
)
HINT_ACCESS_DENIED = (
    "the hub knows the key, but this brain belongs to another account: use a key of the account "
    "that owns the brain, or sync another brain (--brain)"
)
HINT_RATE_LIMITED = "the hub limits requests per key; try again in {seconds:g} s"
HINT_SERVER_ERROR = "a fault in the hub, not in your data: try again later; its log says more"
MSG_NOT_A_HUB = "{url} answered 404 to {path}: is it a Neural Memory hub?"
HINT_NOT_A_HUB = "check hub_url (`nmem sync config get`): the hub's address, with no extra path"
MSG_UNREACHABLE = "Cannot reach the hub at {url}"
HINT_UNREACHABLE = (
    "{detail}; is the hub running, and is the address right? `nmem sync status` shows the URL"
)
MSG_TIMEOUT = "The hub at {url} did not answer within {seconds:g} s"
HINT_TIMEOUT = "{kind}; a busy or far-away hub, or a firewall dropping the connection"
MSG_TLS_UNTRUSTED = "The hub's TLS certificate is not trusted"
HINT_TLS_UNTRUSTED = (
    "self-signed or from a private CA? pass its CA certificate: `nmem sync config set --ca-cert "
    "FILE` (PEM), or set SSL_CERT_FILE=FILE"
)
HINT_TLS_HOSTNAME = "connect with a name or address the certificate was issued for"
HINT_TLS_EXPIRED = "the hub's operator must renew its certificate"
MSG_TLS_FAILED = "TLS with the hub at {url} failed: {reason}"
HINT_TLS_FAILED = (
    "is the hub serving https? `nmem serve` does only with --tls-cert/--tls-key; "
    "a hub on loopback or a LAN can use http://"
)
MSG_NAME_NOT_LAN = "{host} resolves to {address}, which is not a loopback or private LAN address"
HINT_NAME_NOT_LAN = (
    "use https://, or the hub's LAN IP address (http://192.168.x.y:8000); plain http is only "
    "allowed to loopback and private LAN addresses"
)
MSG_KEY_NOT_URL = "that looks like an API key, not a hub URL"
HINT_KEY_NOT_URL = "give the key as --api-key (MCP: api_key) and the hub's address as --hub-url"
MSG_BAD_CA_CERT = "cannot use {path} as a CA certificate: {reason}"
HINT_BAD_CA_CERT = "give a PEM file holding the certificate of the CA (or the self-signed hub)"


class NmemError(Exception):
    """Base of every error the library raises on purpose."""

    retryable: bool = False
    #: machine-readable code, also used as the hub's `code` field
    code: str = "error"

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class InvalidInput(NmemError):
    code = "invalid_request"


class NotFound(NmemError):
    code = "not_found"


class ConfigError(NmemError):
    code = "config_error"


class StoreError(NmemError):
    code = "store_error"


class CryptoError(NmemError):
    code = "crypto_error"


class HubError(NmemError):
    code = "hub_error"

    def __init__(self, message: str, *, status: int | None = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.status = status


class AuthError(HubError):
    code = "invalid_key"

    def __init__(self, message: str = MSG_INVALID_KEY, *, hint: str | None = None) -> None:
        super().__init__(message, status=401, hint=hint)


class AccessDenied(HubError):
    code = "access_denied"

    def __init__(self, message: str = MSG_ACCESS_DENIED, *, hint: str | None = None) -> None:
        super().__init__(message, status=403, hint=hint)


class CodeRefused(HubError):
    """403 with its own code: registration_closed, invalid_invite or invalid_pair_code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message, status=403)
        self.code = code


class Conflict(HubError):
    code = "conflict"

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message, status=409, hint=hint)


class PayloadTooLarge(HubError):
    code = "payload_too_large"

    def __init__(self, message: str = MSG_PAYLOAD_TOO_LARGE, *, hint: str | None = None) -> None:
        super().__init__(message, status=413, hint=hint)


class RateLimited(HubError):
    code = "rate_limited"
    retryable = True

    def __init__(
        self, retry_after: float, message: str = MSG_RATE_LIMITED, *, hint: str | None = None
    ) -> None:
        super().__init__(message, status=429, hint=hint)
        self.retry_after = retry_after


class HubBusy(HubError):
    """The hub is saturated (its database pool, a statement timeout, or this account's share of
    it): the request may be sent again as it is after `retry_after` seconds (every hub write is
    idempotent, and a refused durable write left nothing behind)."""

    code = "busy"
    retryable = True

    def __init__(self, retry_after: float = 1, message: str = MSG_BUSY) -> None:
        super().__init__(message, status=503)
        self.retry_after = retry_after


class StorageRefused(HubError):
    """The hub's database could not make a write. Not retryable by itself: an operator must
    act first. A hub's reads never depend on a write, so they still work (docs/hub.md)."""


class StorageFull(StorageRefused):
    code = "storage_full"

    def __init__(self, message: str = MSG_STORAGE_FULL) -> None:
        super().__init__(message, status=507)


class StorageReadOnly(StorageRefused):
    code = "read_only"

    def __init__(self, message: str = MSG_READ_ONLY) -> None:
        super().__init__(message, status=503)


class InsecureHubURL(HubError):
    code = "https_required"

    def __init__(self, message: str = MSG_HTTPS_REQUIRED, *, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)


class TLSFailure(HubError):
    """The TLS handshake failed: not retryable, the user must fix trust or the URL."""

    code = "tls_error"


class HubUnavailable(HubError):
    code = "hub_unavailable"
    retryable = True


class ProtocolError(HubError):
    code = "protocol_error"
