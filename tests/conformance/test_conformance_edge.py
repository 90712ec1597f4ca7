"""Limits and malformed input: 413 (by header and by stream), 429, and never a 5xx."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from helpers.hub_api import (
    device,
    error,
    push,
    pushed,
    register,
    uid,
    version,
)
from helpers.hub_targets import LOW_RATE_LIMIT

JSON = {"content-type": "application/json"}


def limits(client: httpx.Client) -> dict[str, int]:
    found: dict[str, int] = client.get("/v1/hub/info").json()["limits"]
    return found


def test_413_by_content_length_before_the_body_is_sent(client: httpx.Client) -> None:
    url = urlsplit(str(client.base_url))
    size = limits(client)["max_body_bytes"] + 1
    with socket.create_connection((url.hostname, url.port), timeout=10) as sock:
        sock.sendall(
            f"POST /v1/brains/b-1/push HTTP/1.1\r\nHost: {url.netloc}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {size}\r\n\r\n".encode()
        )
        # answered with no byte of the body sent. Read the reply by its own Content-Length, not
        # to EOF: workerd (wrangler dev) keeps the connection open, waiting for the body.
        reply = b""
        while b"\r\n\r\n" not in reply and (chunk := sock.recv(65536)):
            reply += chunk
        head, _, body = reply.decode("latin-1").partition("\r\n\r\n")
        fields = dict(line.split(":", 1) for line in head.split("\r\n")[1:] if ":" in line)
        length = int({k.strip().lower(): v.strip() for k, v in fields.items()}["content-length"])
        while len(body.encode("latin-1")) < length and (chunk := sock.recv(65536)):
            body += chunk.decode("latin-1")
    assert head.startswith("HTTP/1.1 413")
    assert json.loads(body)["code"] == "payload_too_large"


def test_413_for_a_streamed_body_without_length(client: httpx.Client) -> None:
    # With a key: a hub may check the key before it reads a body (the Python hub does).
    ada = register(client)
    size = limits(client)["max_body_bytes"] + 1024

    def chunks() -> Iterator[bytes]:
        sent = 0
        while sent < size:
            yield b" " * 65536
            sent += 65536

    headers = {**JSON, **ada.auth}
    answer = client.post("/v1/brains/b-1/push", content=chunks(), headers=headers)
    assert error(answer, 413, "payload_too_large") == "Payload too large"


def test_413_for_too_many_records_or_one_too_big(client: httpx.Client) -> None:
    ada = register(client)
    hub = limits(client)
    brain = uid("brain-")
    many = [version(f"m-{i}") for i in range(hub["max_records_per_push"] + 1)]
    assert error(push(client, ada, brain, *many), 413, "payload_too_large") == "Payload too large"
    big = version("big", body={"content": "x" * (hub["max_record_bytes"] + 1)})
    assert error(push(client, ada, brain, big), 413, "payload_too_large") == "Payload too large"
    keys = [{"kind": "memory", "id": f"k{i}"} for i in range(hub["max_fetch_keys"] + 1)]
    pushed(client, ada, brain, version("m-1"))
    answer = client.post(f"/v1/brains/{brain}/fetch", json={"keys": keys}, headers=ada.auth)
    assert error(answer, 413, "payload_too_large") == "Payload too large"
    digest = client.get(f"/v1/brains/{brain}/digest", headers=ada.auth).json()
    assert digest["records"] == 1  # nothing of the refused pushes was written


def test_429_with_retry_after(limited_client: httpx.Client) -> None:
    """Rate windows are calendar minutes of the hub's own clock, which a test against a running
    hub cannot move (tests/hub/test_hub_app.py drives it in-process): twice the limit and one
    more, however they fall over two windows, overflow one."""
    ada = register(limited_client)
    answers = [
        limited_client.get("/v1/status", headers=ada.auth) for _ in range(2 * LOW_RATE_LIMIT + 1)
    ]
    statuses = [answer.status_code for answer in answers]
    # a window's first LOW_RATE_LIMIT are served, and a new window only starts the count again
    assert statuses[:LOW_RATE_LIMIT] == [200] * LOW_RATE_LIMIT
    assert set(statuses) == {200, 429}
    refused = answers[statuses.index(429)]
    assert error(refused, 429, "rate_limited") == "Rate limited"
    seconds = int(refused.headers["Retry-After"])
    assert 1 <= seconds <= 60 and refused.json()["retry_after"] == seconds
    # the limit is per key: another account is not slowed down by this one
    bob = register(limited_client)
    assert limited_client.get("/v1/status", headers=bob.auth).status_code == 200


def _bad_bodies() -> list[tuple[str, Any]]:
    v = version("m-1").model_dump()
    dev = device()
    return [
        ("push", b"{not json"),
        ("push", b"[" * 50_000 + b"]" * 50_000),
        ("push", {"device": dev, "records": [{**v, "kind": "neuron"}]}),
        ("push", {"device": dev, "records": [{**v, "id": ""}]}),
        ("push", {"device": dev, "records": [{**v, "id": "x" * 100_000}]}),
        ("push", {"device": dev, "records": [{**v, "id": "a\u0000b"}]}),
        ("push", {"device": dev, "records": [{**v, "strength": 1.5}]}),
        ("push", {"device": dev, "records": [{**v, "strength": 10**30}]}),
        ("push", {"device": dev, "records": [{**v, "deleted": "yes"}]}),
        ("push", {"device": dev, "records": [{**v, "body": {"a": 0.5}}]}),
        ("push", {"device": dev, "records": [{**v, "body": [1, 2]}]}),
        ("push", {"device": dev, "records": [{**v, "vhash": "v1:" + "0" * 64}]}),
        ("push", {"device": dev, "records": [{**v, "hlc": "yesterday"}]}),
        ("push", {"device": dev, "records": "all of them"}),
        ("push", {"device": {**dev, "name": "tab\there"}, "records": []}),
        ("push", {"device": {**dev, "name": "\u0000"}, "records": []}),
        ("push", {"records": []}),
        ("push", "a string"),
        ("push", None),
        ("push", 12),
        ("pull", {"device": dev, "cursor": -1}),
        ("pull", {"device": dev, "cursor": 2**63}),
        ("pull", {"device": dev, "cursor": 1.5}),
        ("pull", {"device": dev, "limit": 0}),
        ("pull", {"device": dev, "limit": "ten"}),
        ("pull", {"device": dev, "brain_name": "bad name!"}),
        ("pull", {"device": dev, "exclude_device": "true"}),
        ("buckets", {"buckets": [256]}),
        ("buckets", {"buckets": [-1]}),
        ("buckets", {"buckets": []}),
        ("buckets", {"buckets": list(range(300))}),
        ("fetch", {"keys": []}),
        ("fetch", {"keys": [{"kind": "memory"}]}),
        ("fetch", {"keys": [{"kind": "memory", "id": "\ud800"}]}),
    ]


@pytest.mark.parametrize(("endpoint", "body"), _bad_bodies())
def test_malformed_input_is_4xx_never_5xx(client: httpx.Client, endpoint: str, body: Any) -> None:
    ada = register(client)
    brain = uid("brain-")
    pushed(client, ada, brain, version("m-1"))
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    answer = client.post(
        f"/v1/brains/{brain}/{endpoint}", content=content, headers={**JSON, **ada.auth}
    )
    assert error(answer, 400, "invalid_request").startswith("Invalid request")
    digest = client.get(f"/v1/brains/{brain}/digest", headers=ada.auth).json()
    assert (digest["seq"], digest["records"]) == (1, 1)


POSITION = {"bucket": 0, "kind": "memory", "id": "m-1"}


@pytest.mark.parametrize(
    "paging",
    [
        {"limit": 0},
        {"limit": -5},
        {"limit": "10"},
        {"limit": 2.5},
        {"after": 3},
        {"after": {**POSITION, "bucket": 256}},
        {"after": {**POSITION, "bucket": "0"}},
        {"after": {**POSITION, "kind": "neuron"}},
        {"after": {**POSITION, "id": "-x"}},
        {"after": {"bucket": 0, "kind": "memory"}},
        {"after": {**POSITION, "extra": 1}},
        {"page": 2},
    ],
)
def test_bucket_paging_fields_are_checked(client: httpx.Client, paging: dict[str, Any]) -> None:
    ada = register(client)
    brain = uid("brain-")
    pushed(client, ada, brain, version("m-1"))
    path = f"/v1/brains/{brain}/buckets"
    good = {"buckets": [0, 1], "after": POSITION, "limit": 1}
    assert client.post(path, json=good, headers=ada.auth).status_code == 200
    answer = client.post(path, json={"buckets": [0, 1], **paging}, headers=ada.auth)
    assert error(answer, 400, "invalid_request").startswith("Invalid request: body.")


@pytest.mark.parametrize(
    ("method", "path", "headers", "content"),
    [
        ("POST", "/v1/brains/b-1/pull", {"content-type": "text/plain"}, b"{}"),
        ("POST", "/v1/brains/b-1/pull", {}, b"{}"),
        ("POST", "/v1/brains/%00/pull", JSON, b"{}"),
        ("GET", "/v1/brains/%E2%9C%93/digest", {}, b""),
        ("GET", "/v1/brains/" + "x" * 5000 + "/digest", {}, b""),
        ("GET", "/v1/brains/..%2F..%2Fetc/digest", {}, b""),
        ("DELETE", "/v1/auth/keys/%0A", {}, b""),
        ("PUT", "/v1/brains/b-1/push", JSON, b"{}"),
        ("GET", "/v1/no-such-endpoint", {}, b""),
        ("POST", "/v1/auth/register", {"content-type": "application/xml"}, b"<a/>"),
    ],
)
def test_odd_requests_are_4xx_never_5xx(
    client: httpx.Client, method: str, path: str, headers: dict[str, str], content: bytes
) -> None:
    ada = register(client)
    answer = client.request(method, path, content=content, headers={**headers, **ada.auth})
    assert 400 <= answer.status_code < 500, answer.text
    body = answer.json()
    assert isinstance(body["error"], str) and isinstance(body["code"], str)


@pytest.mark.parametrize("path", ["/v1/health/", "/v1/hub/info/", "/v1/brains/b-1/digest/"])
def test_a_trailing_slash_is_a_404_in_the_error_shape(client: httpx.Client, path: str) -> None:
    answer = client.get(path, follow_redirects=False)
    assert error(answer, 404, "not_found")
