"""The hub app in-process (httpx over ASGI, a real SQLite file): the HTTP edge and the log line.

The full endpoint contract runs against real processes in tests/conformance; these tests cover
what is cheaper to see in-process: error shapes, limits, auth modes and what gets logged.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from click.testing import CliRunner

from helpers.hub_records import version
from neuralmemory.cli.main import cli
from neuralmemory.hub import routes
from neuralmemory.hub.app import create_app
from neuralmemory.hub.backends import open_backend
from neuralmemory.hub.settings import RATE_WINDOW_MS, Settings, auth_mode
from neuralmemory.protocol import PATH_PULL, PATH_PUSH

pytestmark = pytest.mark.anyio
ClientFactory = Callable[..., httpx.AsyncClient]  # the make_client fixture
DEVICE = {"device_id": "dev-a", "name": "laptop", "platform": "linux"}


async def register(client: httpx.AsyncClient, email: str = "ada@example.com") -> dict[str, str]:
    answer = await client.post("/v1/auth/register", json={"email": email})
    assert answer.status_code == 201, answer.text
    body: dict[str, str] = answer.json()
    return {"Authorization": f"Bearer {body['api_key']}"}


def is_error(answer: httpx.Response, status: int, code: str) -> str:
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert set(body) <= {"error", "code", "retry_after"} and body["code"] == code
    message: str = body["error"]
    return message


async def test_openapi_schema_documents_every_route_and_body(make_client: ClientFactory) -> None:
    schema = (await make_client().get("/openapi.json")).json()
    assert PATH_PUSH in schema["paths"] and PATH_PULL in schema["paths"]
    body = schema["paths"][PATH_PUSH]["post"]["requestBody"]["content"]["application/json"]
    assert body["schema"] == {"$ref": "#/components/schemas/PushRequest"}
    assert {"PushRequest", "Version", "DeviceInfo", "ErrorReply"} <= set(
        schema["components"]["schemas"]
    )


@pytest.mark.parametrize(
    ("content", "headers", "status", "code", "says"),
    [
        (b"{", {}, 400, "invalid_request", "malformed JSON at line 1"),
        (b"[" * 100_000 + b"]" * 100_000, {}, 400, "invalid_request", "nested too deeply"),
        (b'{"device": NaN}', {}, 400, "invalid_request", "not valid UTF-8 JSON"),
        (b"\xff\xfe{}", {}, 400, "invalid_request", "Invalid request"),
        (b"[]", {}, 400, "invalid_request", "body: Input should be"),
        (b"", {}, 400, "invalid_request", "malformed JSON"),
        (b"{}", {"content-type": "text/plain"}, 415, "unsupported_media_type", "Content-Type"),
        (b"{}", {"content-type": ""}, 415, "unsupported_media_type", "application/json"),
    ],
)
async def test_malformed_bodies_are_clear_4xx(
    make_client: ClientFactory,
    content: bytes,
    headers: dict[str, str],
    status: int,
    code: str,
    says: str,
) -> None:
    client = make_client(auth="local")
    answer = await client.post(
        "/v1/brains/b-1/pull",
        content=content,
        headers={"content-type": "application/json", **headers},
    )
    assert says in is_error(answer, status, code)


async def test_validation_errors_say_where_and_what(make_client: ClientFactory) -> None:
    client = make_client(auth="local")
    pull = "/v1/brains/b-1/pull"
    cases = {
        "body.cursor: Input should be greater than or equal to 0": {"device": DEVICE, "cursor": -1},
        "body.cursor: Input should be less than or equal to": {"device": DEVICE, "cursor": 2**80},
        "body.cursor: Input should be a valid integer": {"device": DEVICE, "cursor": "7"},
        "body.device.device_id: String should match pattern": {
            "device": {**DEVICE, "device_id": "a\u0000b"}
        },
        "body.device.name: String should have at most 64 characters": {
            "device": {**DEVICE, "name": "x" * 100_000}
        },
        "body.surprise: Extra inputs are not permitted": {"device": DEVICE, "surprise": 1},
    }
    for says, body in cases.items():
        assert says in is_error(await client.post(pull, json=body), 400, "invalid_request")

    bad = version("m-1").model_dump() | {"kind": "neuron"}
    message = is_error(
        await client.post("/v1/brains/b-1/push", json={"device": DEVICE, "records": [bad]}),
        400,
        "invalid_request",
    )
    assert message.startswith("Invalid request: body.records.0.kind: Input should be 'memory'")
    forged = version("m-1").model_dump() | {"strength": 7}
    message = is_error(
        await client.post("/v1/brains/b-1/push", json={"device": DEVICE, "records": [forged]}),
        400,
        "invalid_request",
    )
    assert "vhash does not match" in message


@pytest.mark.parametrize("path", ["/v1/brains/a%00b/digest", "/v1/brains/%C3%A9t%C3%A9/digest"])
async def test_bad_ids_in_paths_are_400(make_client: ClientFactory, path: str) -> None:
    assert "brain_id" in is_error(await make_client(auth="local").get(path), 400, "invalid_request")


async def test_unknown_routes_and_methods(make_client: ClientFactory) -> None:
    client = make_client(auth="local")
    assert is_error(await client.get("/v1/nothing"), 404, "not_found") == "Not found"
    answer = await client.put("/v1/brains")
    assert is_error(answer, 405, "method_not_allowed") == "Method not allowed"


async def test_payload_limits(make_client: ClientFactory) -> None:
    client = make_client(auth="local", max_body_bytes=5_000, max_records_per_push=3)
    records = [version(f"m-{i}").model_dump() for i in range(4)]
    too_many = await client.post("/v1/brains/b-1/push", json={"device": DEVICE, "records": records})
    assert is_error(too_many, 413, "payload_too_large") == "Payload too large"
    huge = version("m-1", body={"content": "x" * 6_000}).model_dump()
    answer = await client.post("/v1/brains/b-1/push", json={"device": DEVICE, "records": [huge]})
    assert is_error(answer, 413, "payload_too_large") == "Payload too large"

    roomy = make_client(auth="local", max_record_bytes=1_000)
    big = version("m-1", body={"content": "x" * 1_500}).model_dump()
    answer = await roomy.post("/v1/brains/b-1/push", json={"device": DEVICE, "records": [big]})
    assert is_error(answer, 413, "payload_too_large") == "Payload too large"

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as it streams
        for _ in range(10):
            yield b" " * 1_000

    streamed = await client.post(
        "/v1/brains/b-1/pull", content=chunks(), headers={"content-type": "application/json"}
    )
    assert is_error(streamed, 413, "payload_too_large") == "Payload too large"


async def test_bucket_listings_are_capped_at_max_bucket_entries(make_client: ClientFactory) -> None:
    client = make_client(auth="local", max_bucket_entries=3)
    assert (await client.get("/v1/hub/info")).json()["limits"]["max_bucket_entries"] == 3
    records = [version(f"m-{i}").model_dump() for i in range(10)]
    pushed = await client.post("/v1/brains/b-1/push", json={"device": DEVICE, "records": records})
    assert pushed.status_code == 200
    every = list(range(256))
    for asked, size in [(None, 3), (10**9, 3), (2, 2)]:
        body = {"buckets": every} if asked is None else {"buckets": every, "limit": asked}
        page = (await client.post("/v1/brains/b-1/buckets", json=body)).json()
        assert len(page["entries"]) == size and page["more"] is True


async def test_an_account_past_its_bound_is_told_to_retry_while_others_are_served(
    make_client: ClientFactory,
) -> None:
    client = make_client(auth="keys", account_concurrency=1)  # and no wait for a slot
    ada = await register(client, "ada@example.com")
    bob = await register(client, "bob@example.com")
    ada_id = (await client.get("/v1/status", headers=ada)).json()["account_id"]
    hub = client._transport.app.state.hub  # type: ignore[attr-defined]
    async with hub.gate.admit(ada_id):  # one of ada's requests is in the database
        busy = await client.get("/v1/brains", headers=ada)
        assert (await client.get("/v1/brains", headers=bob)).status_code == 200
        pushed = await client.post(
            PATH_PUSH.format(brain_id="b-1"),
            json={"device": DEVICE, "records": [version("m-1").model_dump()]},
            headers=ada,
        )
    assert is_error(busy, 503, "busy") == "Hub busy, retry"
    assert busy.headers["Retry-After"] == "1" and busy.json()["retry_after"] == 1
    assert is_error(pushed, 503, "busy")  # refused once its body was read, nothing written
    assert (await client.get("/v1/brains", headers=ada)).json()["brains"] == []
    assert (await client.get("/v1/brains", headers=ada)).status_code == 200  # slots come back


async def test_keys_mode_and_local_mode(make_client: ClientFactory) -> None:
    keys = make_client(auth="keys")
    local = make_client(auth="local")
    assert (await keys.get("/v1/hub/info")).json()["auth"] == "keys"
    assert (
        is_error(await keys.get("/v1/status"), 401, "invalid_key") == "Invalid or expired API key"
    )
    assert (await local.get("/v1/status")).json()["account_id"] == "local"
    auth = await register(local)
    mine = (await local.get("/v1/status", headers=auth)).json()["account_id"]
    assert mine.startswith("acc_")  # a key on a local hub is checked like anywhere
    bad = {"Authorization": "Bearer nmk_" + "x" * 40}
    assert is_error(await local.get("/v1/status", headers=bad), 401, "invalid_key")
    for header in ("Basic abc", "Bearer", "Bearer nmk_short", "nmk_" + "a" * 40):
        answer = await keys.get("/v1/status", headers={"Authorization": header})
        assert is_error(answer, 401, "invalid_key")


class Clock:
    """The hub's clock, moved by the test: rate windows are calendar minutes."""

    def __init__(self, now: int) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


async def test_rate_limit_answers_429_with_retry_after(make_client: ClientFactory) -> None:
    window = (routes.now_ms() // RATE_WINDOW_MS + 1) * RATE_WINDOW_MS  # the next minute's start
    clock = Clock(window + 45_000)  # 15 s before the window ends
    client = make_client(auth="keys", rate_limit_per_minute=3, clock=clock)
    auth = await register(client)
    answers = [await client.get("/v1/status", headers=auth) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert is_error(answers[-1], 429, "rate_limited") == "Rate limited"
    assert answers[-1].headers["Retry-After"] == "15" and answers[-1].json()["retry_after"] == 15
    clock.now += 14_500  # half a second left: never "retry in 0 s"
    late = await client.get("/v1/status", headers=auth)
    assert late.status_code == 429 and late.headers["Retry-After"] == "1"
    assert (await client.get("/v1/health")).status_code == 200  # health is never limited
    clock.now = window + RATE_WINDOW_MS  # the next minute: the key is served again
    again = [await client.get("/v1/status", headers=auth) for _ in range(4)]
    assert [a.status_code for a in again] == [200, 200, 200, 429]


async def test_without_a_rate_limit_no_request_writes_a_rate_counter(
    make_client: ClientFactory, tmp_path: Path
) -> None:
    """A read must not need a write: with --rate-limit 0 nothing is counted per window (a full
    disk turned every request into a 500 when each wrote its counter first); today's usage is
    still counted, best-effort."""
    client = make_client(auth="keys", rate_limit_per_minute=0, account_rate_limit_per_minute=0)
    auth = await register(client)
    for _ in range(3):
        assert (await client.get("/v1/status", headers=auth)).status_code == 200
    status = (await client.get("/v1/status", headers=auth)).json()
    assert status["usage"]["requests_today"] == 4
    with sqlite3.connect(tmp_path / "app.db") as db:
        assert db.execute("SELECT count(*) FROM rate_limits").fetchone() == (0,)


async def test_one_log_line_per_request_without_keys_or_bodies(
    make_client: ClientFactory, caplog: pytest.LogCaptureFixture
) -> None:
    client = make_client(auth="keys")
    caplog.set_level(logging.DEBUG)
    auth = await register(client)
    secret = auth["Authorization"].removeprefix("Bearer ")
    record = version("m-1", body={"content": "the secret plan"}).model_dump()
    pushed = await client.post(
        "/v1/brains/b-1/push", json={"device": DEVICE, "records": [record]}, headers=auth
    )
    assert pushed.status_code == 200
    lines = [r.getMessage() for r in caplog.records if r.name == "neuralmemory.hub"]
    assert len(lines) == 2
    assert lines[1].startswith("POST /v1/brains/b-1/push 200 ") and "account=acc_" in lines[1]
    assert all(secret not in line and "secret plan" not in line for line in caplog.messages)


@pytest.mark.parametrize(
    ("host", "require_keys", "no_auth", "mode"),
    [
        ("127.0.0.1", False, False, "local"),
        ("::1", False, False, "local"),
        ("localhost", False, False, "local"),
        ("127.0.0.1", True, False, "keys"),
        ("0.0.0.0", False, False, "keys"),
        ("192.168.1.20", False, False, "keys"),
        ("0.0.0.0", False, True, "none"),
    ],
)
def test_keys_are_required_off_loopback_unless_opted_out(
    host: str, require_keys: bool, no_auth: bool, mode: str
) -> None:
    assert auth_mode(host, require_keys=require_keys, no_auth=no_auth) == mode


def test_serve_refuses_contradictory_options() -> None:
    runner = CliRunner()
    both = runner.invoke(cli, ["serve", "--require-keys", "--no-auth"])
    assert both.exit_code == 2 and "contradict" in both.output
    half = runner.invoke(cli, ["serve", "--tls-cert", __file__])
    assert half.exit_code == 2 and "--tls-key" in half.output


async def test_no_request_can_forge_a_log_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Control characters and U+2028 in a path stay escaped in the request line and in the crash
    report. No client request crashes the hub, so the crash comes from a route added here."""
    backend = await open_backend(f"sqlite://{tmp_path / 'hub.db'}")
    app = create_app(Settings(db_url="unused", auth="local"), backend)

    async def crash(part: str) -> None:
        raise RuntimeError("a bug")

    app.add_api_route("/crash/{part}", crash)
    caplog.set_level(logging.INFO)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    forged = "x\r\n2026-12-04 INFO neuralmemory.hub: DELETE v1 200\u2028\x1b[2J"
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            assert (await client.get("/crash/" + quote(forged, safe=""))).status_code == 500
            assert (await client.get("/v1/" + quote(forged, safe=""))).status_code == 404
    finally:
        await backend.close()
    lines = [r.getMessage() for r in caplog.records if r.name == "neuralmemory.hub"]
    assert any(line.startswith("unhandled RuntimeError in GET /crash/x") for line in lines)
    assert len(lines) == 3  # the crash, and one line per request
    for line in lines:
        assert line.isprintable(), line  # no newline, escape or line separator got through
