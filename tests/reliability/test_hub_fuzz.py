"""Fuzzing the Python hub (SQLite) through its OpenAPI schema, and hand-written hostile inputs.

schemathesis runs as its own CLI process (`st run`) against a real `nmem serve` on loopback,
with a JSON report: no check may fail (no 5xx, status codes, content types and bodies as the
schema says), and the hub's own request log must show no 5xx. The hand-written cases go where
a generator rarely does: deep nesting, 10 MB strings, NUL and unicode in ids, cursors at and past
the integer limits, wrong content types, and bodies that arrive half-way and stall.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from helpers.hub_api import Account, device, pushed, register, uid, version
from helpers.hub_fuzz import requests_logged, schemathesis_run, server_errors
from helpers.hub_targets import HubOptions, RunningHub, StartedHubs


@pytest.fixture(scope="module")
def fuzz_hub(real_hubs: StartedHubs) -> RunningHub:
    """The SQLite hub in local mode: requests without a key act as the local account, so every
    generated call reaches the record store, not only the auth check."""
    return real_hubs.get("python-sqlite", HubOptions(auth="local"))


def check_fuzz(hub: RunningHub, tmp_path: Path, examples: int, phases: str) -> dict[str, Any]:
    before = len(server_errors(hub))
    result = schemathesis_run(hub, tmp_path / "report", examples=examples, phases=phases)
    cases = result["test_cases"]
    assert result["exit_code"] == 0 and cases["with_failures"] == 0, result["output"]
    assert cases["errored"] == 0 and result["errors"] == [], result["output"]
    assert cases["generated"] > 0
    assert server_errors(hub)[before:] == []
    return result


def test_schemathesis_finds_no_5xx_and_replies_match_the_schema(
    fuzz_hub: RunningHub, tmp_path: Path
) -> None:
    result = check_fuzz(fuzz_hub, tmp_path, examples=8, phases="fuzzing,stateful")
    assert result["operations"]["tested"] == result["operations"]["total"] >= 15


@pytest.mark.slow
@pytest.mark.timeout(0)
def test_schemathesis_long(fuzz_hub: RunningHub, tmp_path: Path) -> None:
    check_fuzz(fuzz_hub, tmp_path, examples=300, phases="examples,coverage,fuzzing,stateful")


# ------------------------------------------------------------------ hand-written hostile inputs


@pytest.fixture(scope="module")
def keyed_hub(real_hubs: StartedHubs) -> RunningHub:
    return real_hubs.get("python-sqlite")


@pytest.fixture
def http(keyed_hub: RunningHub) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=keyed_hub.url, timeout=60) as client:
        yield client


@pytest.fixture
def owner(http: httpx.Client) -> tuple[Account, str, dict[str, Any]]:
    account = register(http)
    brain = uid("b-hostile-")
    pushed(http, account, brain, version("m-1"), version("m-2"))
    return account, brain, digest(http, account, brain)


def digest(http: httpx.Client, account: Account, brain: str) -> dict[str, Any]:
    answer: dict[str, Any] = http.get(f"/v1/brains/{brain}/digest", headers=account.auth).json()
    return answer


def client_error(answer: httpx.Response, *codes: int) -> None:
    assert 400 <= answer.status_code < 500, (answer.status_code, answer.text[:300])
    if codes:
        assert answer.status_code in codes, (answer.status_code, answer.text[:300])
    body = answer.json()
    assert set(body) == {"error", "code"} and isinstance(body["error"], str), body


def post_raw(
    http: httpx.Client, path: str, data: bytes, account: Account, ctype: str = "application/json"
) -> httpx.Response:
    headers = {**account.auth, "Content-Type": ctype}
    return http.post(path, content=data, headers=headers)


def test_deeply_nested_json(http: httpx.Client, owner: tuple[Account, str, dict[str, Any]]) -> None:
    account, brain, before = owner
    for depth in (33, 1000, 100_000, 1_000_000):
        nested = b"[" * depth + b"]" * depth
        client_error(post_raw(http, f"/v1/brains/{brain}/push", nested, account), 400)
        body = b'{"device":' + b'{"a":' * depth + b"1" + b"}" * depth + b"}"
        client_error(post_raw(http, f"/v1/brains/{brain}/pull", body, account), 400, 413)
    record = version("m-deep").model_dump()
    record["body"] = {"x": json.loads("[" * 40 + "]" * 40)}
    answer = http.post(
        f"/v1/brains/{brain}/push",
        json={"device": device(), "records": [record]},
        headers=account.auth,
    )
    client_error(answer, 400)
    assert digest(http, account, brain) == before


def test_ten_megabyte_strings(
    http: httpx.Client, owner: tuple[Account, str, dict[str, Any]]
) -> None:
    account, brain, before = owner
    huge = "x" * (10 * 1024 * 1024)
    client_error(http.post("/v1/auth/register", json={"email": huge + "@example.com"}), 413)
    client_error(
        http.post(
            f"/v1/brains/{brain}/pull",
            json={"device": device(), "brain_name": huge},
            headers=account.auth,
        ),
        413,
    )
    big = "y" * (3 * 1024 * 1024)  # under the body limit: refused by validation, not size
    client_error(
        http.post(
            f"/v1/brains/{brain}/pull",
            json={"device": device(), "brain_name": big},
            headers=account.auth,
        ),
        400,
    )
    for length in (129, 10_000, 60_000):
        try:  # a very long path: refused by validation, or by the HTTP parser, never a crash
            answer = http.get(f"/v1/brains/{'b' * length}/digest", headers=account.auth)
            client_error(answer, 400, 404, 414)
        except httpx.TransportError:
            pass
    try:  # a 10 MB header: the server may refuse it or drop the connection, never crash
        answer = http.get("/v1/status", headers={"Authorization": "Bearer " + huge})
        assert answer.status_code < 500
    except httpx.TransportError:
        pass
    assert http.get("/v1/health").status_code == 200
    assert digest(http, account, brain) == before


@pytest.mark.parametrize(
    "bad_id",
    ["%00", "m%00", "%C3%A9", "%E2%80%AE", "%F0%9F%A7%A0", "%EF%BF%BF", "%ED%A0%80", "%FF"],
)
def test_unicode_and_nul_in_path_ids(
    http: httpx.Client, owner: tuple[Account, str, dict[str, Any]], bad_id: str
) -> None:
    account, brain, before = owner
    for method, path in [
        ("GET", f"/v1/brains/{bad_id}/digest"),
        ("POST", f"/v1/brains/{bad_id}/pull"),
        ("GET", f"/v1/brains/{bad_id}"),
        ("DELETE", f"/v1/auth/keys/{bad_id}"),
    ]:
        answer = http.request(method, path, json={"device": device()}, headers=account.auth)
        client_error(answer, 400, 404)
    assert digest(http, account, brain) == before


@pytest.mark.parametrize(
    "text", ["\u0000", "m-\u0000", "\u00e9t\u00e9", "\u202e", "\U0001f9e0", "\ud800", "\uffff"]
)
def test_unicode_and_nul_in_body_ids(
    http: httpx.Client, owner: tuple[Account, str, dict[str, Any]], text: str
) -> None:
    account, brain, before = owner
    record = {**version("m-1").model_dump(), "id": text}
    answers = [
        post_raw(
            http,
            f"/v1/brains/{brain}/push",
            json.dumps({"device": device(), "records": [record]}).encode(),
            account,
        ),
        post_raw(
            http,
            f"/v1/brains/{brain}/pull",
            json.dumps({"device": {**device(), "device_id": text}}).encode(),
            account,
        ),
        post_raw(
            http,
            f"/v1/brains/{brain}/pull",
            json.dumps({"device": {**device(), "name": text}}).encode(),
            account,
        ),
        post_raw(
            http,
            f"/v1/brains/{brain}/fetch",
            json.dumps({"keys": [{"kind": "memory", "id": text}]}).encode(),
            account,
        ),
        post_raw(http, "/v1/auth/keys", json.dumps({"name": text}).encode(), account),
    ]
    for answer in answers:
        assert answer.status_code < 500, answer.text
        if answer.status_code >= 400:
            client_error(answer)
    assert digest(http, account, brain) == before


@pytest.mark.parametrize(
    "cursor", [-1, -(2**63), 2**53, 2**63, 2**64, 10**400, 1.5, -0.5, "1", None, True, [], {}]
)
def test_negative_and_huge_cursors(
    http: httpx.Client, owner: tuple[Account, str, dict[str, Any]], cursor: Any
) -> None:
    account, brain, before = owner
    raw = f'{{"device": {json.dumps(device())}, "cursor": {json.dumps(cursor)}}}'
    client_error(post_raw(http, f"/v1/brains/{brain}/pull", raw.encode(), account), 400)
    limit = f'{{"device": {json.dumps(device())}, "limit": {json.dumps(cursor)}}}'
    answer = post_raw(http, f"/v1/brains/{brain}/pull", limit.encode(), account)
    if cursor is None or (type(cursor) is int and cursor > 0):
        assert answer.status_code == 200  # no limit, or one past the page size: clamped
        assert len(answer.json()["records"]) == 2
    else:
        client_error(answer, 400)
    assert digest(http, account, brain) == before


def test_cursors_at_the_limits_answer_normally(
    http: httpx.Client, owner: tuple[Account, str, dict[str, Any]]
) -> None:
    account, brain, _ = owner
    for cursor, expected in ((0, 2), (2, 0), (2**53 - 1, 0), (1e3, 0)):
        answer = http.post(
            f"/v1/brains/{brain}/pull",
            json={"device": device("dev-z"), "cursor": cursor},
            headers=account.auth,
        )
        assert answer.status_code == 200, answer.text
        assert len(answer.json()["records"]) == expected


@pytest.mark.parametrize(
    "ctype",
    [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/xml",
        "",
        "application/jsonx",
        "application/json; charset=latin-1",
    ],
)
def test_wrong_content_types(
    http: httpx.Client, owner: tuple[Account, str, dict[str, Any]], ctype: str
) -> None:
    account, brain, before = owner
    body = json.dumps({"device": device(), "brain_name": "caf\u00e9"}).encode("latin-1")
    answer = post_raw(http, f"/v1/brains/{brain}/pull", body, account, ctype)
    client_error(answer, 400, 415)
    client_error(post_raw(http, "/v1/auth/register", b"email=a@b.co", account, ctype), 400, 415)
    assert digest(http, account, brain) == before


def raw_request(port: int, head: bytes, body: bytes) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(head + body)
    return sock


def test_partial_and_stalled_bodies_do_not_hang_other_requests(
    keyed_hub: RunningHub, http: httpx.Client, owner: tuple[Account, str, dict[str, Any]]
) -> None:
    account, brain, before = owner
    port = int(keyed_hub.url.rsplit(":", 1)[1])
    body = json.dumps({"device": device(), "cursor": 0}).encode()
    head = (
        f"POST /v1/brains/{brain}/pull HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: Bearer {account.key}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body) * 4}\r\n\r\n"
    ).encode()
    stalled = [raw_request(port, head, body[: len(body) // 2]) for _ in range(30)]
    slow_headers = [
        raw_request(port, b"POST /v1/auth/register HTTP/1.1\r\nHost: x", b"") for _ in range(10)
    ]
    chunked = raw_request(
        port,
        head.replace(f"Content-Length: {len(body) * 4}".encode(), b"Transfer-Encoding: chunked"),
        b"10\r\n" + body[:16] + b"\r\n",
    )
    try:
        started = time.monotonic()
        for _ in range(5):  # other clients are served at once, while those sockets hang
            assert http.get("/v1/health", timeout=5).status_code == 200
            answer = http.post(
                f"/v1/brains/{brain}/pull",
                json={"device": device("dev-y"), "cursor": 0},
                headers=account.auth,
                timeout=5,
            )
            assert answer.status_code == 200
        assert time.monotonic() - started < 5
    finally:
        for sock in [*stalled, *slow_headers, chunked]:
            sock.close()  # the clients go away half-way
    # a body cut short and closed, racing normal traffic from threads
    errors: list[BaseException] = []

    def traffic() -> None:
        try:
            with httpx.Client(base_url=keyed_hub.url, timeout=10) as other:
                for _ in range(10):
                    assert other.get("/v1/health").status_code == 200
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=traffic) for _ in range(4)]
    for thread in threads:
        thread.start()
    for _ in range(20):
        raw_request(port, head, body[:7]).close()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert http.get("/v1/health").status_code == 200
    assert digest(http, account, brain) == before
    assert server_errors(keyed_hub) == []


def test_no_5xx_in_the_hub_logs_after_the_hostile_inputs(
    keyed_hub: RunningHub, fuzz_hub: RunningHub
) -> None:
    assert requests_logged(keyed_hub) > 0
    assert server_errors(keyed_hub) == [] and server_errors(fuzz_hub) == []
