"""The hub client's failure policy and messages, against scripted replies (httpx.MockTransport),
and the HTTPS rule for host names.

Names are resolved through an injected resolver (the `resolve` seam, whose default is the real
getaddrinfo): the sandbox has no DNS and a test cannot edit /etc/hosts, so "a name that resolves
to a LAN address" can only be produced that way. "localhost" runs through the real getaddrinfo.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import httpx
import pytest

from neuralmemory.errors import (
    AccessDenied,
    AuthError,
    HubBusy,
    HubError,
    HubUnavailable,
    InsecureHubURL,
    PayloadTooLarge,
    ProtocolError,
    RateLimited,
)
from neuralmemory.protocol import DeviceInfo
from neuralmemory.sync.transport import (
    HubClient,
    check_hub_url,
    lan_addresses,
    system_resolve,
)

KEY = "nmk_" + "s3cr3t" * 6
DEVICE = DeviceInfo(device_id="dev-1", name="test")
DIGEST = {"root": "0" * 64, "seq": 0, "records": 0, "buckets": ["0" * 64] * 256}


def client(
    handler: Callable[[httpx.Request], httpx.Response], key: str | None = KEY
) -> tuple[HubClient, list[float]]:
    slept: list[float] = []
    hub = HubClient(
        "https://hub.example.com/",
        key,
        DEVICE,
        transport=httpx.MockTransport(handler),
        sleep=slept.append,
    )
    return hub, slept


# What the injected resolver answers: names on a LAN, names on the internet, a mix.
DNS = {
    "nas": ["192.168.1.20"],
    "desktop.lan": ["fd12:3456::5", "10.0.0.7"],
    "printer.local": ["169.254.7.7", "fe80::1%eth0"],
    "hub.example.com": ["93.184.216.34"],
    "split.example": ["192.168.1.2", "93.184.216.34"],
    "tailnet-box": ["100.64.0.9"],  # CGNAT: not a LAN (networks.LAN_NETWORKS says why)
}


def fake_dns(host: str) -> list[str]:
    return DNS[host] if host in DNS else system_resolve(host)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000",
        "http://localhost:1",
        "http://192.168.1.20",
        "http://[fd00::2]:8000",
        "http://nas:8000",
        "http://desktop.lan:8000",
        "http://printer.local",
        "https://hub.example",
    ],
)
def test_https_rule_allows_loopback_lan_and_https(url: str) -> None:
    assert check_hub_url(url + "/", resolve=fake_dns) == url


@pytest.mark.parametrize(
    "url",
    [
        "http://hub.example.com",
        "http://split.example:8000",
        "http://tailnet-box:8000",
        "http://8.8.8.8:8000",
        "http://100.64.0.9:8000",
        "http://192.0.2.1",  # documentation range: ipaddress calls it private, it is no LAN
        "http://[::ffff:8.8.8.8]",
    ],
)
def test_plain_http_to_a_cloud_hub_is_refused_with_what_to_do(url: str) -> None:
    with pytest.raises(InsecureHubURL, match="Cloud hub requires HTTPS") as refused:
        check_hub_url(url, resolve=fake_dns)
    assert "use https://, or the hub's LAN IP address" in str(refused.value)
    if "example" in url:  # a name: the message says what it resolved to
        assert "resolves to 93.184.216.34, which is not a loopback or private LAN" in str(
            refused.value
        )


def test_localhost_through_the_real_resolver_is_loopback_only() -> None:
    addresses = system_resolve("localhost")
    assert addresses and set(addresses) <= {"127.0.0.1", "::1"}
    assert lan_addresses("localhost") == tuple(addresses)  # the default resolver is the real one
    assert check_hub_url("http://localhost:8000") == "http://localhost:8000"


def test_a_name_is_resolved_once_and_dialled_by_address_with_its_own_host_header() -> None:
    seen: list[httpx.Request] = []
    asked: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=DIGEST)

    def dns(host: str) -> list[str]:
        asked.append(host)
        # the first answer is a LAN; a later one (never asked for) would be public
        return ["192.168.1.20"] if len(asked) == 1 else ["93.184.216.34"]

    mock = httpx.MockTransport(handler)
    with HubClient("http://nas:8000", None, DEVICE, transport=mock, resolve=dns) as hub:
        for _ in range(3):
            hub.digest("b1")
    assert asked == ["nas"]
    assert [(r.url.host, r.headers["Host"]) for r in seen] == [("192.168.1.20", "nas:8000")] * 3


def test_a_public_answer_at_connect_time_sends_nothing() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200)

    mock = httpx.MockTransport(answer)
    with (
        HubClient("http://hub.example.com", KEY, DEVICE, transport=mock, resolve=fake_dns) as hub,
        pytest.raises(InsecureHubURL),
    ):
        hub.digest("b1")
    assert seen == []


@pytest.mark.parametrize(
    ("status", "key", "body", "error", "says"),
    [
        (401, KEY, {"error": "x"}, AuthError, "Invalid or expired API key (the hub does not know"),
        (401, None, {"error": "x"}, AuthError, "This hub requires an API key (set one with"),
        (
            403,
            KEY,
            {"error": "Access denied"},
            AccessDenied,
            "use a key of the account that owns the brain",
        ),
        (404, KEY, None, HubError, "answered 404 to /v1/brains/b1/digest: is it a Neural Memory"),
        (429, KEY, {"error": "x"}, RateLimited, "Rate limited (the hub limits requests per key"),
        (502, KEY, None, HubUnavailable, "the hub failed with HTTP 502 (a fault in the hub"),
    ],
)
def test_each_hub_answer_has_its_own_message(
    status: int, key: str | None, body: object, error: type[Exception], says: str
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if body is None:
            return httpx.Response(status, text="<html>nope</html>")
        return httpx.Response(status, json=body, headers={"Retry-After": "2"})

    hub, _ = client(handler, key)
    with pytest.raises(error) as raised:
        hub.digest("b1")
    assert says in str(raised.value)
    assert "unreachable" not in str(raised.value).lower()


@pytest.mark.parametrize(
    ("fault", "says"),
    [
        (
            httpx.ConnectError("[Errno 111] Connection refused"),
            "Cannot reach the hub at https://hub.example.com ([Errno 111] Connection refused; is",
        ),
        (httpx.ConnectTimeout("timed out"), "did not answer within 30 s (ConnectTimeout"),
        (httpx.ReadTimeout("timed out"), "did not answer within 30 s (ReadTimeout"),
    ],
)
def test_no_answer_says_which_kind(fault: httpx.TransportError, says: str) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise fault

    hub, _ = client(handler)
    with pytest.raises(HubUnavailable) as raised:
        hub.digest("b1")
    assert says in str(raised.value)


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


def test_a_request_the_hub_timed_out_is_sent_again() -> None:
    slow = {"error": "Request timeout: the hub stopped waiting", "code": "request_timeout"}
    replies = iter([httpx.Response(408, json=slow)])

    def handler(request: httpx.Request) -> httpx.Response:
        return next(replies, httpx.Response(200, json=DIGEST))

    hub, slept = client(handler)
    assert hub.digest("b1").seq == 0 and len(slept) == 1


def test_a_403_keeps_the_hubs_own_words_when_it_says_more() -> None:
    device_key = {"error": "This is a device key: it can only sync.", "code": "access_denied"}
    hub, _ = client(lambda request: httpx.Response(403, json=device_key), "nmk_" + "a" * 40)
    with pytest.raises(AccessDenied, match="This is a device key") as raised:
        hub.digest("b1")
    assert "another account" not in str(raised.value)


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
