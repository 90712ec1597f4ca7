"""The HTTP client for every hub endpoint: auth header, the HTTPS rule, retries, error mapping.

The HTTPS rule: plain http only to loopback and private LAN addresses (networks.LAN_NETWORKS). An
IP address is judged as written; a host name (http://nas:8000) by what it resolves to: every
address must be loopback/LAN. The client resolves it once and then dials only those addresses
(the Host header stays the name), so a later DNS answer cannot swap in a public address.

Policy for failures (errors.py decides what is retryable):
  * 401/403 raise at once: a bad key is something the user must fix, never a retry loop.
  * TLS failures (an untrusted certificate) raise at once and say so: retrying cannot fix trust.
  * 429, and 503 `busy` (a saturated hub), wait `Retry-After` (plus jitter, so devices do not
    return in lockstep), a bounded number of times.
  * network errors and 5xx retry with exponential backoff and jitter, then raise HubUnavailable.
  * a reply is read as a stream, within an overall deadline (`deadline`, not only the per-read
    `timeout`: a hub dripping a byte every 20 s never trips a 30 s read timeout) and up to a size
    cap (`max_reply_bytes`, set from the hub's advertised limits): past either, the request fails
    at once with a clear error instead of hanging or filling memory.
    Every hub write is idempotent (a re-pushed vhash is "unchanged"), so retrying a push whose
    reply was lost is safe.
The key is only ever placed in the Authorization header; it is never logged or put in a message.

Longer than ~400 lines on purpose: the HTTPS rule, the retries, the reply limits and the
mapping of every failure to one errors.py class are one policy that every endpoint method goes
through (`_call`); split from the methods, an endpoint could be reached without it.
"""

from __future__ import annotations

import contextlib
import functools
import ipaddress
import json
import logging
import random
import re
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx
from pydantic import BaseModel, ValidationError

from neuralmemory import errors as msg
from neuralmemory import protocol
from neuralmemory.config import tls_env
from neuralmemory.errors import (
    AccessDenied,
    AuthError,
    ConfigError,
    HubBusy,
    HubError,
    HubTooSlow,
    HubUnavailable,
    InsecureHubURL,
    NotFoundOnHub,
    PayloadTooLarge,
    ProtocolError,
    QuotaExceeded,
    RateLimited,
    StorageFull,
    StorageReadOnly,
    TLSFailure,
)
from neuralmemory.networks import is_lan_ip
from neuralmemory.protocol import (
    API_KEY_PATTERN,
    BrainInfo,
    BrainsReply,
    BucketEntry,
    BucketsReply,
    DeviceInfo,
    DevicesReply,
    DigestReply,
    FetchReply,
    HubInfo,
    KeyCreated,
    PullReply,
    PushReply,
    ShareCreated,
    ShareReply,
    StatusReply,
)

log = logging.getLogger(__name__)

Reply = TypeVar("Reply", bound=BaseModel)

MAX_ATTEMPTS = 4
BACKOFF_BASE = 0.25  # seconds; doubled per attempt
BACKOFF_CAP = 8.0
RETRY_AFTER_CAP = 120.0  # never sleep longer than this on one 429, whatever the hub says
REQUEST_DEADLINE = 120.0  # seconds for one whole request and its reply, however it trickles
#: the reply size cap until the hub's limits are known (its /v1/hub/info, a brain listing)
DEFAULT_REPLY_BYTES = 16 * 1024 * 1024
#: headers httpx would apply again to a body already read and decoded
_READ_HEADERS = frozenset({"content-encoding", "content-length", "transfer-encoding"})
KEY_IN_TEXT = re.compile(API_KEY_PATTERN.strip("^$"))
# OpenSSL's X509_V_ERR_* codes that have their own advice
X509_CERT_HAS_EXPIRED = 10
X509_HOSTNAME_MISMATCH = 62


#: host name -> its addresses; the system resolver unless a test injects answers (the sandbox has
#: no DNS, and /etc/hosts cannot be edited by a test)
Resolver = Callable[[str], Sequence[str]]


def system_resolve(host: str) -> list[str]:
    """The addresses getaddrinfo gives for `host`, in its order, each once."""
    found = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in found))


def check_hub_url(url: str, resolve: Resolver = system_resolve) -> str:
    """The URL without a trailing slash; refuses plain http to anything but loopback or a LAN.

    A host name that does not resolve now (a laptop away from home) is let through: every client
    applies the rule again, to a fresh answer, before it sends anything.
    """
    cleaned, scheme, host = _parse(url)
    if scheme == "http":
        with contextlib.suppress(OSError):  # no answer now: judged again at connect time
            lan_addresses(host, resolve)
    return cleaned


def _parse(url: str) -> tuple[str, str, str]:
    """(the URL without a trailing slash, its scheme, its host) of an http(s) URL."""
    cleaned = url.strip().rstrip("/")
    if KEY_IN_TEXT.search(cleaned):  # pasted into the wrong field: say so, and never echo it
        raise HubError(msg.MSG_KEY_NOT_URL, hint=msg.HINT_KEY_NOT_URL)
    scheme = cleaned.split("://", 1)[0].lower() if "://" in cleaned else ""
    try:
        host = urlsplit(cleaned).hostname
    except ValueError:  # a malformed [IPv6] address
        host = None
    if scheme not in {"http", "https"} or not host:
        raise HubError(msg.MSG_NOT_A_HUB_URL.format(url=cleaned), hint=msg.HINT_NOT_A_HUB_URL)
    return cleaned, scheme, host


def lan_addresses(host: str, resolve: Resolver = system_resolve) -> tuple[str, ...]:
    """The addresses plain http may dial for `host`: itself when it is a LAN address, else what
    the name resolves to, if every answer is loopback/LAN. Raises InsecureHubURL otherwise, and
    OSError (socket.gaierror) when the name does not resolve."""
    if is_lan_ip(host):
        return (host,)
    if _is_ip(host):
        raise InsecureHubURL(hint=msg.HINT_NAME_NOT_LAN)
    addresses = tuple(resolve(host))
    if not addresses:
        raise OSError(msg.MSG_NO_ADDRESS.format(host=host))
    public = [address for address in addresses if not is_lan_ip(address)]
    if public:
        named = msg.MSG_NAME_NOT_LAN.format(host=host, address=public[0])
        raise InsecureHubURL(hint=msg.HINT_NAME_NOT_LAN_AT.format(named=named))
    return addresses


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    return True


class PinnedTransport(httpx.BaseTransport):
    """Plain http to a host name: resolve it once (checking the HTTPS rule), then dial only those
    addresses, the next one when one refuses. The request keeps its Host header (the name)."""

    def __init__(self, inner: httpx.BaseTransport, host: str, resolve: Resolver) -> None:
        self._inner = inner
        self._host = host
        self._resolve = resolve
        self._addresses: tuple[str, ...] = ()
        self._lock = threading.Lock()

    def addresses(self, request: httpx.Request) -> tuple[str, ...]:
        with self._lock:
            if not self._addresses:
                try:
                    self._addresses = lan_addresses(self._host, self._resolve)
                except OSError as exc:  # no answer: a network failure like any other
                    reason = msg.MSG_CANNOT_RESOLVE.format(host=self._host, reason=exc)
                    raise httpx.ConnectError(reason, request=request) from exc
            return self._addresses

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        addresses = self.addresses(request)
        for n, address in enumerate(addresses):
            request.url = request.url.copy_with(host=address)
            try:
                response = self._inner.handle_request(request)
            except httpx.ConnectError:  # nothing was sent: the next address is safe to try
                if n == len(addresses) - 1:
                    raise
                continue
            if n:  # dial the address that answered first from now on
                with self._lock:
                    self._addresses = (address, *addresses[:n], *addresses[n + 1 :])
            return response
        raise AssertionError("lan_addresses never returns an empty tuple")

    def close(self) -> None:
        self._inner.close()


@functools.cache
def _tls(https: bool, ca_cert: str | None = None) -> ssl.SSLContext:
    """One TLS context per process and CA file: loading the CA bundle costs ~70-110 ms, more than
    a whole no-op sync, so it must not happen per client -- nor at all for a plain-http hub
    (loopback or LAN), which never does TLS: that one gets a context without the bundle.

    Trusted: the system's CAs, plus SSL_CERT_FILE / SSL_CERT_DIR, plus `ca_cert` (--ca-cert).
    OpenSSL reads those two variables itself when it loads its defaults; they are loaded here
    explicitly as well, so they add to the system store on every platform and a bad path is an
    error that names it instead of a silent "not trusted".
    """
    if not https:
        return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context = ssl.create_default_context()
    env_file, env_dir = tls_env()
    for cafile, capath in ((env_file, None), (None, env_dir), (ca_cert, None)):
        if cafile or capath:
            load_ca(context, cafile=cafile, capath=capath)
    return context


def load_ca(context: ssl.SSLContext, *, cafile: str | None, capath: str | None = None) -> None:
    """Add a PEM CA file (or an OpenSSL hashed directory) to `context`; ConfigError naming it."""
    try:
        context.load_verify_locations(cafile=cafile, capath=capath)
    except (OSError, ssl.SSLError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ConfigError(
            msg.MSG_BAD_CA_CERT.format(path=cafile or capath, reason=reason),
            hint=msg.HINT_BAD_CA_CERT,
        ) from None


def backoff(attempt: int) -> float:
    """Seconds to wait before retry number `attempt` (1-based): exponential, capped, jittered."""
    ceiling = min(BACKOFF_CAP, BACKOFF_BASE * 2.0 ** (attempt - 1))
    return ceiling / 2 + random.uniform(0, ceiling / 2)


class HubClient:
    """One device's connection to one hub. Pass `transport` to run against an in-process app."""

    def __init__(
        self,
        url: str,
        api_key: str | None,
        device: DeviceInfo,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 30.0,
        deadline: float = REQUEST_DEADLINE,
        max_attempts: int = MAX_ATTEMPTS,
        sleep: Callable[[float], None] = time.sleep,
        ca_cert: str | None = None,
        resolve: Resolver = system_resolve,
    ) -> None:
        self.url, scheme, host = _parse(url)
        self.device = device
        self._has_key = bool(api_key)
        self._timeout = timeout
        self._deadline = deadline
        #: the largest reply read; the sync engine sets it from the hub's advertised limits
        self.max_reply_bytes = DEFAULT_REPLY_BYTES
        self._max_attempts = max_attempts
        self._sleep = sleep
        headers = {"Accept": "application/json", "User-Agent": "nmem-sync"}
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        tls = _tls(scheme == "https", ca_cert)
        if scheme == "http":
            if _is_ip(host):
                lan_addresses(host)  # the HTTPS rule for an address as written
            else:  # a name: checked and pinned on the first request
                inner = transport or httpx.HTTPTransport(verify=tls)
                transport = PinnedTransport(inner, host, resolve)
        self._http = httpx.Client(
            base_url=self.url, headers=headers, timeout=timeout, transport=transport, verify=tls
        )
        #: bytes of request bodies sent, for the benchmark and the sync report
        self.bytes_sent = 0

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> HubClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------ endpoints

    def info(self) -> HubInfo:
        return self._call("GET", protocol.PATH_INFO, HubInfo)

    def pair(self, code: str, name: str) -> KeyCreated:
        """A key for this device from a LAN hub, for a one-time pairing code (needs no key)."""
        payload = {"code": code, "name": name}
        return self._call("POST", protocol.PATH_PAIR, KeyCreated, content=_json(payload))

    def status(self) -> StatusReply:
        return self._call("GET", protocol.PATH_STATUS, StatusReply)

    def brains(self) -> list[BrainInfo]:
        return self._call("GET", protocol.PATH_BRAINS, BrainsReply).brains

    def push(
        self,
        brain_id: str,
        brain_name: str,
        records: Sequence[bytes],
        replaces: Mapping[str, Sequence[str]] | None = None,
    ) -> PushReply:
        """Push versions already encoded as JSON (batching measured them in these bytes), with
        the vhashes each one replaced unpushed (`replaces`, by its vhash; docs/protocol.md)."""
        fields: dict[str, Any] = {"device": self.device.model_dump(), "brain_name": brain_name}
        if replaces:
            fields["replaces"] = {vhash: list(named) for vhash, named in replaces.items()}
        head = json.dumps(fields, separators=(",", ":")).encode()
        body = head[:-1] + b',"records":[' + b",".join(records) + b"]}"
        path = protocol.PATH_PUSH.format(brain_id=brain_id)
        return self._call("POST", path, PushReply, content=body)

    def pull(
        self,
        brain_id: str,
        brain_name: str,
        cursor: int,
        *,
        limit: int | None = None,
        exclude_device: bool = False,
    ) -> PullReply:
        payload: dict[str, Any] = {
            "device": self.device.model_dump(),
            "brain_name": brain_name,
            "cursor": cursor,
            "exclude_device": exclude_device,
        }
        if limit is not None:
            payload["limit"] = limit
        path = protocol.PATH_PULL.format(brain_id=brain_id)
        return self._call("POST", path, PullReply, content=_json(payload))

    def digest(self, brain_id: str) -> DigestReply:
        return self._call("GET", protocol.PATH_DIGEST.format(brain_id=brain_id), DigestReply)

    def buckets(
        self, brain_id: str, buckets: Sequence[int], *, after: BucketEntry | None = None
    ) -> BucketsReply:
        """One page of the listing: the entries after `after` (the previous page's last)."""
        payload: dict[str, Any] = {"buckets": list(buckets)}
        if after is not None:
            payload["after"] = {"bucket": after.bucket, "kind": after.kind, "id": after.id}
        path = protocol.PATH_BUCKETS.format(brain_id=brain_id)
        return self._call("POST", path, BucketsReply, content=_json(payload))

    def bucket_entries(self, brain_id: str, buckets: Sequence[int]) -> Iterator[BucketEntry]:
        """Every entry of these buckets, page after page while the hub says there is `more`."""
        after: BucketEntry | None = None
        while True:
            page = self.buckets(brain_id, buckets, after=after)
            yield from page.entries
            if not page.more:
                return
            if not page.entries:
                raise ProtocolError(msg.MSG_EMPTY_LISTING_PAGE)
            last = page.entries[-1]
            if after is not None and _position(last) <= _position(after):
                # the same page again (or an earlier one) would be asked for forever
                raise ProtocolError(msg.MSG_LISTING_STUCK, hint=msg.HINT_HUB_FAULT)
            after = last

    def fetch(self, brain_id: str, keys: Sequence[tuple[str, str]]) -> FetchReply:
        payload = {"keys": [{"kind": kind, "id": id} for kind, id in keys]}
        path = protocol.PATH_FETCH.format(brain_id=brain_id)
        return self._call("POST", path, FetchReply, content=_json(payload))

    def devices(self, brain_id: str) -> DevicesReply:
        return self._call("GET", protocol.PATH_DEVICES.format(brain_id=brain_id), DevicesReply)

    def put_share(self, share_id: str, sealed: str) -> ShareCreated:
        """Leave a sealed key on the hub for `nmem keys receive` (core/keyshare.py)."""
        path = protocol.PATH_SHARE.format(share_id=share_id)
        return self._call("PUT", path, ShareCreated, content=_json({"sealed": sealed}))

    def take_share(self, share_id: str) -> ShareReply:
        """The sealed key left under this id, deleted from the hub as it is sent."""
        path = protocol.PATH_SHARE_TAKE.format(share_id=share_id)
        return self._call("POST", path, ShareReply, content=b"{}")

    # ------------------------------------------------------------ machinery

    def _call(
        self, method: str, path: str, reply: type[Reply], *, content: bytes | None = None
    ) -> Reply:
        response = self._send(method, path, content)
        try:
            return reply.model_validate_json(response.content)
        except ValidationError as exc:
            raise ProtocolError(
                msg.MSG_UNREADABLE_REPLY.format(method=method, path=path),
                status=response.status_code,
                hint=str(exc.errors()[0]["msg"]) if exc.errors() else None,
            ) from None

    def _send(self, method: str, path: str, content: bytes | None) -> httpx.Response:
        headers = {"Content-Type": "application/json"} if content is not None else None
        attempt = 0
        while True:
            attempt += 1
            try:
                response = self._exchange(method, path, content, headers)
                if content is not None:
                    self.bytes_sent += len(content)
                error = _error_for(response, self._has_key, self.url)
            except httpx.TransportError as exc:
                error = _transport_error(exc, self.url, self._timeout)
            if error is None:
                return response
            if not error.retryable or attempt >= self._max_attempts:
                raise error
            wait = (
                min(error.retry_after, RETRY_AFTER_CAP) + random.uniform(0, 1)
                if isinstance(error, RateLimited | HubBusy)
                else backoff(attempt)
            )
            log.debug("%s %s: %s; retry %d in %.2fs", method, path, error.code, attempt, wait)
            self._sleep(wait)

    def _exchange(
        self, method: str, path: str, content: bytes | None, headers: dict[str, str] | None
    ) -> httpx.Response:
        """One request, its reply read whole within the deadline and the size cap."""
        until = time.monotonic() + self._deadline
        request = self._http.build_request(method, path, content=content, headers=headers)
        response = self._http.send(request, stream=True)
        try:
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > self.max_reply_bytes:
                raise self._too_large()
            body = bytearray()
            for chunk in response.iter_bytes():  # decoded: a compressed bomb is capped too
                body += chunk
                if len(body) > self.max_reply_bytes:
                    raise self._too_large()
                if time.monotonic() > until:
                    raise HubTooSlow(
                        msg.MSG_REQUEST_DEADLINE.format(url=self.url, seconds=self._deadline),
                        hint=msg.HINT_REQUEST_DEADLINE,
                    )
        finally:
            response.close()
        kept = [(k, v) for k, v in response.headers.multi_items() if k not in _READ_HEADERS]
        return httpx.Response(
            response.status_code, headers=kept, content=bytes(body), request=request
        )

    def _too_large(self) -> ProtocolError:
        return ProtocolError(
            msg.MSG_REPLY_TOO_LARGE.format(url=self.url, limit=self.max_reply_bytes),
            hint=msg.HINT_HUB_FAULT,
        )


def _position(entry: BucketEntry) -> tuple[int, str, str]:
    """Where an entry sits in a listing: hubs list by bucket, then kind, then id."""
    return entry.bucket, entry.kind, entry.id


def _json(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def _error_for(response: httpx.Response, has_key: bool, url: str) -> HubError | None:
    """The errors.py exception for a non-2xx reply, None for success; each says what to do."""
    status = response.status_code
    if status < 400:
        return None
    message = _message(response)
    return _by_code(response, message) or _by_status(response, message, has_key, url)


def _by_code(response: httpx.Response, message: str | None) -> HubError | None:
    """Refusals the hub names by their code, each handled its own way."""
    code, status = _code(response) or "", response.status_code
    if status == 413 and code == QuotaExceeded.code:
        # Not "too big": a smaller batch grows the account just the same; the hub's message
        # says which quota, how full it is and what to do.
        return QuotaExceeded(message or msg.MSG_QUOTA_EXCEEDED)
    if status == 503 and code == HubBusy.code:
        return HubBusy(_retry_after(response))
    refusal = {StorageFull.code: StorageFull, StorageReadOnly.code: StorageReadOnly}.get(code)
    if refusal is not None:  # the hub's storage: not retried, an operator must act first
        return refusal(message) if message else refusal()
    return None


def _by_status(response: httpx.Response, message: str | None, has_key: bool, url: str) -> HubError:
    status = response.status_code
    if status == 401:
        if not has_key:
            return AuthError(msg.MSG_KEY_REQUIRED, hint=msg.HINT_KEY_REQUIRED)
        return AuthError(hint=msg.HINT_INVALID_KEY)
    if status == 403:
        if message in (None, msg.MSG_ACCESS_DENIED):
            return AccessDenied(hint=msg.HINT_ACCESS_DENIED)
        return AccessDenied(message)  # a device key, a closed registration: the hub's words
    if status == 408:  # the hub gave up on a request that came too slowly: a slow link, retry
        return HubUnavailable(message or msg.MSG_HUB_GAVE_UP, status=status)
    if status == 413:
        return PayloadTooLarge()
    if status == 429:
        wait = _retry_after(response)
        return RateLimited(wait, hint=msg.HINT_RATE_LIMITED.format(seconds=wait))
    if status == 404:
        if message is None:  # not a hub's JSON error: some other server at that address
            path = response.request.url.path
            return NotFoundOnHub(
                msg.MSG_NOT_A_HUB.format(url=url, path=path), hint=msg.HINT_NOT_A_HUB
            )
        return NotFoundOnHub(message)
    if status >= 500:
        return HubUnavailable(
            msg.MSG_HUB_FAILED.format(status=status) + (f": {message}" if message else ""),
            status=status,
            hint=msg.HINT_SERVER_ERROR,
        )
    reason = message or status
    return ProtocolError(msg.MSG_HUB_REFUSED.format(reason=reason), status=status)


def _transport_error(exc: httpx.TransportError, url: str, timeout: float) -> HubError:
    """No HTTP answer: an untrusted certificate, another TLS failure, a timeout, or no
    connection at all -- four different things to fix, so four different messages."""
    cause = _ssl_cause(exc)
    if isinstance(cause, ssl.SSLCertVerificationError):
        hint = {
            X509_HOSTNAME_MISMATCH: msg.HINT_TLS_HOSTNAME,
            X509_CERT_HAS_EXPIRED: msg.HINT_TLS_EXPIRED,
        }.get(cause.verify_code, msg.HINT_TLS_UNTRUSTED)
        return TLSFailure(
            msg.MSG_TLS_UNTRUSTED_BECAUSE.format(reason=cause.verify_message), hint=hint
        )
    if cause is not None:
        reason = cause.reason or type(cause).__name__
        return TLSFailure(
            msg.MSG_TLS_FAILED.format(url=url, reason=reason), hint=msg.HINT_TLS_FAILED
        )
    if isinstance(exc, httpx.TimeoutException):
        return HubUnavailable(
            msg.MSG_TIMEOUT.format(url=url, seconds=timeout),
            hint=msg.HINT_TIMEOUT.format(kind=type(exc).__name__),
        )
    detail = str(exc) or type(exc).__name__
    return HubUnavailable(
        msg.MSG_UNREACHABLE.format(url=url), hint=msg.HINT_UNREACHABLE.format(detail=detail)
    )


def _ssl_cause(exc: BaseException) -> ssl.SSLError | None:
    """The ssl error under httpx's wrapping (httpx error <- httpcore error <- ssl error)."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def _field(response: httpx.Response, name: str) -> str | None:
    """A text field of the hub's error reply ({"error", "code"}), None if there is none."""
    try:
        data = response.json()
    except ValueError:
        return None
    value = data.get(name) if isinstance(data, dict) else None
    return value if isinstance(value, str) else None


def _message(response: httpx.Response) -> str | None:
    return _field(response, "error")


def _code(response: httpx.Response) -> str | None:
    return _field(response, "code")


def _retry_after(response: httpx.Response) -> float:
    raw = response.headers.get("Retry-After")
    try:
        return max(0.0, float(raw)) if raw is not None else 1.0
    except ValueError:
        return 1.0
