"""The HTTP client for every hub endpoint: auth header, the HTTPS rule, retries, error mapping.

Policy for failures (errors.py decides what is retryable):
  * 401/403 raise at once: a bad key is something the user must fix, never a retry loop.
  * 429, and 503 `busy` (a saturated hub), wait `Retry-After` (plus jitter, so devices do not
    return in lockstep), a bounded number of times.
  * network errors and 5xx retry with exponential backoff and jitter, then raise HubUnavailable.
    Every hub write is idempotent (a re-pushed vhash is "unchanged"), so retrying a push whose
    reply was lost is safe.
The key is only ever placed in the Authorization header; it is never logged or put in a message.
"""

from __future__ import annotations

import functools
import json
import logging
import random
import ssl
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from neuralmemory import protocol
from neuralmemory.config import is_local_url
from neuralmemory.errors import (
    MSG_NOT_FOUND,
    AccessDenied,
    AuthError,
    HubBusy,
    HubError,
    HubUnavailable,
    InsecureHubURL,
    NotFound,
    PayloadTooLarge,
    ProtocolError,
    RateLimited,
)
from neuralmemory.protocol import (
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
    StatusReply,
)

log = logging.getLogger(__name__)

Reply = TypeVar("Reply", bound=BaseModel)

MAX_ATTEMPTS = 4
BACKOFF_BASE = 0.25  # seconds; doubled per attempt
BACKOFF_CAP = 8.0
RETRY_AFTER_CAP = 120.0  # never sleep longer than this on one 429, whatever the hub says


def check_hub_url(url: str) -> str:
    """The URL without a trailing slash; refuses plain http to anything but loopback or a LAN."""
    cleaned = url.strip().rstrip("/")
    scheme = cleaned.split("://", 1)[0].lower() if "://" in cleaned else ""
    if scheme not in {"http", "https"}:
        raise HubError(
            f"not a hub URL: {cleaned!r}", hint="use https://your-hub or http://127.0.0.1:8000"
        )
    if scheme == "http" and not is_local_url(cleaned):
        raise InsecureHubURL(hint="use https:// (plain http is only allowed on loopback or a LAN)")
    return cleaned


@functools.cache
def _tls(https: bool) -> ssl.SSLContext:
    """One TLS context per process: loading the CA bundle costs ~70-110 ms, more than a whole
    no-op sync, so it must not happen per client -- nor at all for a plain-http hub (loopback
    or LAN), which never does TLS: that one gets a context without the bundle."""
    if https:
        return ssl.create_default_context()
    return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)


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
        max_attempts: int = MAX_ATTEMPTS,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.url = check_hub_url(url)
        self.device = device
        self._max_attempts = max_attempts
        self._sleep = sleep
        headers = {"Accept": "application/json", "User-Agent": "nmem-sync"}
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        self._http = httpx.Client(
            base_url=self.url,
            headers=headers,
            timeout=timeout,
            transport=transport,
            verify=_tls(self.url.startswith("https://")),
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

    def push(self, brain_id: str, brain_name: str, records: Sequence[bytes]) -> PushReply:
        """Push versions already encoded as JSON (batching measured them in these bytes)."""
        head = json.dumps(
            {"device": self.device.model_dump(), "brain_name": brain_name}, separators=(",", ":")
        ).encode()
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
                raise ProtocolError("the hub sent an empty bucket listing page with more to come")
            after = page.entries[-1]

    def fetch(self, brain_id: str, keys: Sequence[tuple[str, str]]) -> FetchReply:
        payload = {"keys": [{"kind": kind, "id": id} for kind, id in keys]}
        path = protocol.PATH_FETCH.format(brain_id=brain_id)
        return self._call("POST", path, FetchReply, content=_json(payload))

    def devices(self, brain_id: str) -> DevicesReply:
        return self._call("GET", protocol.PATH_DEVICES.format(brain_id=brain_id), DevicesReply)

    # ------------------------------------------------------------ machinery

    def _call(
        self, method: str, path: str, reply: type[Reply], *, content: bytes | None = None
    ) -> Reply:
        response = self._send(method, path, content)
        try:
            return reply.model_validate_json(response.content)
        except ValidationError as exc:
            raise ProtocolError(
                f"the hub sent a reply this client cannot read ({method} {path})",
                status=response.status_code,
                hint=str(exc.errors()[0]["msg"]) if exc.errors() else None,
            ) from None

    def _send(self, method: str, path: str, content: bytes | None) -> httpx.Response:
        headers = {"Content-Type": "application/json"} if content is not None else None
        attempt = 0
        while True:
            attempt += 1
            try:
                response = self._http.request(method, path, content=content, headers=headers)
                if content is not None:
                    self.bytes_sent += len(content)
                error = _error_for(response)
            except httpx.TransportError as exc:
                error = HubUnavailable(
                    f"Cannot reach the hub at {self.url}",
                    hint=f"{type(exc).__name__}; is it running? `nmem sync status` shows the URL",
                )
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


def _json(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def _error_for(response: httpx.Response) -> HubError | None:
    """The errors.py exception for a non-2xx reply, None for success."""
    status = response.status_code
    if status < 400:
        return None
    message = _message(response)
    if status == 401:
        return AuthError(hint="check api_key (`nmem sync config get`); make a new key if revoked")
    if status == 403:
        return AccessDenied(hint="this brain belongs to another account on the hub")
    if status == 413:
        return PayloadTooLarge()
    if status == 429:
        return RateLimited(_retry_after(response))
    if status == 503 and _code(response) == HubBusy.code:
        return HubBusy(_retry_after(response))
    if status == 404:
        return NotFoundOnHub(message or MSG_NOT_FOUND)
    if status >= 500:
        return HubUnavailable(f"the hub failed with HTTP {status}", status=status, hint=message)
    return ProtocolError(f"the hub refused the request: {message or status}", status=status)


class NotFoundOnHub(HubError):
    """404 from the hub (an unknown brain on digest, fetch or devices)."""

    code = NotFound.code

    def __init__(self, message: str) -> None:
        super().__init__(message, status=404)


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
