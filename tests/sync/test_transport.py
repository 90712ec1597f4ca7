"""The hub client's failure policy, against scripted replies (httpx.MockTransport)."""

from __future__ import annotations

import logging
from collections.abc import Callable

import httpx
import pytest

from neuralmemory.errors import (
    AccessDenied,
    AuthError,
    HubBusy,
    HubUnavailable,
    InsecureHubURL,
    PayloadTooLarge,
    ProtocolError,
    RateLimited,
)
from neuralmemory.protocol import DeviceInfo
from neuralmemory.sync.transport import HubClient, check_hub_url

KEY = "nmk_" + "s3cr3t" * 6
DEVICE = DeviceInfo(device_id="dev-1", name="test")
DIGEST = {"root": "0" * 64, "seq": 0, "records": 0, "buckets": ["0" * 64] * 256}


def client(handler: Callable[[httpx.Request], httpx.Response]) -> tuple[HubClient, list[float]]:
    slept: list[float] = []
    hub = HubClient(
        "https://hub.example.com/",
        KEY,
        DEVICE,
        transport=httpx.MockTransport(handler),
        sleep=slept.append,
    )
    return hub, slept


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:8000", "http://localhost:1", "http://192.168.1.20", "https://hub.example"],
)
def test_https_rule_allows_loopback_lan_and_https(url: str) -> None:
    assert check_hub_url(url + "/") == url


@pytest.mark.parametrize("url", ["http://hub.example.com", "http://8.8.8.8:8000"])
def test_plain_http_to_a_cloud_hub_is_refused(url: str) -> None:
    with pytest.raises(InsecureHubURL, match="Cloud hub requires HTTPS"):
        check_hub_url(url)


@pytest.mark.parametrize(
    ("status", "error"), [(401, AuthError), (403, AccessDenied), (413, PayloadTooLarge)]
)
def test_permanent_errors_raise_at_once(status: int, error: type[Exception]) -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(status, json={"error": "x", "code": "x"})

    hub, slept = client(handler)
    with pytest.raises(error):
        hub.digest("b1")
    assert len(calls) == 1 and slept == []


def test_rate_limit_waits_retry_after_with_jitter() -> None:
    replies = iter(
        [httpx.Response(429, headers={"Retry-After": "3"}, json={"error": "Rate limited"})]
    )

    def handler(request: httpx.Request) -> httpx.Response:
        return next(replies, httpx.Response(200, json=DIGEST))

    hub, slept = client(handler)
    assert hub.digest("b1").seq == 0
    assert len(slept) == 1 and 3 <= slept[0] <= 4


def test_network_errors_and_5xx_retry_with_backoff_then_say_so() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused")

    hub, slept = client(handler)
    with pytest.raises(HubUnavailable, match="Cannot reach the hub") as info:
        hub.digest("b1")
    assert info.value.retryable
    assert len(slept) == 3 and slept == sorted(slept)

    hub, slept = client(lambda request: httpx.Response(503, json={"error": "down"}))
    with pytest.raises(HubUnavailable, match="HTTP 503"):
        hub.digest("b1")


def test_a_busy_hub_is_retried_after_retry_after_then_said_to_be_busy() -> None:
    busy = {"error": "Hub busy, retry", "code": "busy", "retry_after": 4}
    replies = iter([httpx.Response(503, headers={"Retry-After": "4"}, json=busy)])

    def handler(request: httpx.Request) -> httpx.Response:
        return next(replies, httpx.Response(200, json=DIGEST))

    hub, slept = client(handler)
    assert hub.digest("b1").seq == 0
    assert len(slept) == 1 and 4 <= slept[0] <= 5  # what the hub asked, not a backoff guess

    hub, slept = client(
        lambda request: httpx.Response(503, headers={"Retry-After": "1"}, json=busy)
    )
    with pytest.raises(HubBusy, match="Hub busy, retry"):
        hub.digest("b1")
    assert len(slept) == 3


def test_a_listing_page_with_more_but_no_entries_is_a_protocol_error() -> None:
    """A hub that said `more` with nothing in the page would keep a client asking forever."""
    hub, _ = client(lambda request: httpx.Response(200, json={"entries": [], "more": True}))
    with pytest.raises(ProtocolError, match="empty bucket listing page"):
        list(hub.bucket_entries("b1", [0, 1]))


def test_rate_limited_forever_gives_up() -> None:
    hub, _ = client(lambda request: httpx.Response(429, headers={"Retry-After": "1"}))
    with pytest.raises(RateLimited):
        hub.digest("b1")


def test_the_key_travels_only_in_the_header_and_never_in_logs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(500) if len(seen) == 1 else httpx.Response(200, json=DIGEST)

    caplog.set_level(logging.DEBUG)
    hub, _ = client(handler)
    hub.digest("b1")
    assert seen[0].headers["Authorization"] == f"Bearer {KEY}"
    assert KEY not in caplog.text and caplog.text
