"""Local mode serves keyless requests only to programs on this machine (hub/loopback.py).

Each attack runs against a real `nmem serve` in its default (local) mode, on SQLite and
PostgreSQL: a DNS-rebinding page (foreign Host and Origin), a cross-site page (foreign Origin), a
reverse proxy on another loopback address adding X-Forwarded-For, and a plain TCP forwarder
relaying a remote client's request. Each must get 401 and change nothing; a key still works.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from helpers.hub_api import device, error, pushed, register, uid, version
from helpers.hub_targets import TARGETS, HubOptions, RunningHub
from neuralmemory.errors import MSG_KEYLESS_REFUSED
from neuralmemory.hub.loopback import from_this_machine, keyless_allowed

LOOPBACK = ("127.0.0.1", [("host", "127.0.0.1:8000")])


@pytest.mark.parametrize(
    ("peer", "headers", "allowed"),
    [
        (*LOOPBACK, True),
        ("127.0.0.1", [("host", "localhost:8000")], True),
        ("127.0.0.1", [("host", "localhost")], True),
        ("::1", [("host", "[::1]:8000")], True),
        ("127.0.0.1", [("host", "127.0.0.1:8000"), ("origin", "http://localhost:5173")], True),
        ("127.0.0.1", [("host", "rebind.attacker.example:8000")], False),
        ("127.0.0.1", [("host", "localhost.attacker.example")], False),
        ("127.0.0.1", [("host", "127.0.0.1.nip.io:8000")], False),
        ("127.0.0.1", [("host", "127.0.0.1"), ("origin", "https://evil.example")], False),
        ("127.0.0.1", [("host", "127.0.0.1"), ("origin", "null")], False),
        ("127.0.0.1", [("host", "127.0.0.1"), ("host", "evil.example")], False),
        ("127.0.0.1", [("host", "127.0.0.1"), ("x-forwarded-for", "127.0.0.1")], False),
        ("127.0.0.1", [("host", "127.0.0.1"), ("forwarded", "for=127.0.0.1")], False),
        ("127.0.0.1", [("host", "127.0.0.1"), ("x-real-ip", "10.0.0.5")], False),
        ("127.0.0.1", [("host", "127.0.0.1"), ("via", "1.1 proxy")], False),
        ("127.0.0.1", [], False),  # no Host at all
        ("192.168.1.20", [("host", "127.0.0.1")], False),  # a peer elsewhere
        (None, [("host", "127.0.0.1")], False),
    ],
)
def test_only_requests_from_this_machine_are_keyless(
    peer: str | None, headers: list[tuple[str, str]], allowed: bool
) -> None:
    assert from_this_machine(peer, headers) is allowed


def test_no_auth_still_refuses_web_pages_and_keys_mode_refuses_all() -> None:
    lan = [("host", "nas.lan:8000")]
    assert keyless_allowed("none", "192.168.1.20", lan)
    assert not keyless_allowed("none", "192.168.1.20", [*lan, ("origin", "https://evil.example")])
    assert not keyless_allowed("keys", *LOOPBACK)
    assert keyless_allowed("local", *LOOPBACK)


@pytest.fixture(
    scope="module",
    params=["python-sqlite", pytest.param("python-postgres", marks=pytest.mark.postgres)],
)
def local_hub(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningHub]:
    """`nmem serve` as `make run` starts it: loopback, no --require-keys."""
    workdir = tmp_path_factory.mktemp(request.param)
    with TARGETS[request.param].start(HubOptions(auth="local"), workdir) as hub:
        yield hub


@pytest.fixture
def hub(local_hub: RunningHub) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=local_hub.url, timeout=30) as client:
        yield client


def _brain_with_a_memory(hub: httpx.Client) -> tuple[str, str]:
    brain = uid("local-")
    reply = pushed(hub, None, brain, version("m-1"))
    return brain, reply["root"]


def test_a_rebinding_page_can_neither_read_nor_write(hub: httpx.Client) -> None:
    brain, root = _brain_with_a_memory(hub)
    page = {"Host": "rebind.attacker.example:8000", "Origin": "http://rebind.attacker.example:8000"}
    for answer in (
        hub.get("/v1/brains", headers=page),
        hub.get(f"/v1/brains/{brain}/digest", headers=page),
        hub.post(f"/v1/brains/{brain}/pull", headers=page, json=_pull()),
        hub.post(f"/v1/brains/{brain}/push", headers=page, json=_push("m-evil")),
        hub.get("/v1/status", headers={"Host": "rebind.attacker.example"}),  # same-origin GET
    ):
        assert error(answer, 401, "invalid_key") == MSG_KEYLESS_REFUSED
    assert hub.get(f"/v1/brains/{brain}/digest").json()["root"] == root


def test_a_cross_site_page_is_refused_even_with_a_loopback_host(hub: httpx.Client) -> None:
    brain, root = _brain_with_a_memory(hub)
    for origin in ("https://evil.example", "null"):
        answer = hub.post(
            f"/v1/brains/{brain}/push", headers={"Origin": origin}, json=_push("m-evil")
        )
        assert error(answer, 401, "invalid_key") == MSG_KEYLESS_REFUSED
    assert hub.get(f"/v1/brains/{brain}/digest").json()["root"] == root
    local_page = hub.get("/v1/status", headers={"Origin": "http://localhost:3000"})
    assert local_page.json()["account_id"] == "local"


def test_a_reverse_proxy_adding_forwarded_for_is_not_the_local_account(
    hub: httpx.Client, local_hub: RunningHub
) -> None:
    brain, _ = _brain_with_a_memory(hub)
    with reverse_proxy(local_hub.url) as proxy, httpx.Client(base_url=proxy) as remote:
        answer = remote.get(f"/v1/brains/{brain}/digest")
        assert error(answer, 401, "invalid_key") == MSG_KEYLESS_REFUSED
        # what the proxy's docs (docs/hub.md) say to do: send a key
        ada = register(hub)
        assert remote.get("/v1/status", headers=ada.auth).json()["account_id"] == ada.account_id


def test_a_tcp_forwarder_relaying_a_remote_client_is_refused(
    hub: httpx.Client, local_hub: RunningHub
) -> None:
    brain, _ = _brain_with_a_memory(hub)
    port = int(local_hub.url.rsplit(":", 1)[1])
    with (
        tcp_forwarder(port) as (host, relay_port),
        httpx.Client(
            base_url=f"http://{host}:{relay_port}", headers={"Host": "nas.example:8000"}
        ) as remote,
    ):
        answer = remote.get(f"/v1/brains/{brain}/digest")
        assert error(answer, 401, "invalid_key") == MSG_KEYLESS_REFUSED


def test_programs_on_this_machine_are_served_by_every_loopback_name(
    hub: httpx.Client, local_hub: RunningHub
) -> None:
    port = local_hub.url.rsplit(":", 1)[1]
    for host in ("localhost", f"localhost:{port}", f"127.0.0.1:{port}"):
        assert hub.get("/v1/status", headers={"Host": host}).json()["account_id"] == "local"


def _pull() -> dict[str, object]:
    return {"device": device(), "cursor": 0}


def _push(memory: str) -> dict[str, object]:
    return {"device": device(), "records": [version(memory).model_dump()]}


class _Relay(BaseHTTPRequestHandler):
    """A reverse proxy as nginx or Caddy is set up: the Host is kept, X-Forwarded-For added."""

    upstream = ""

    def _relay(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        headers = {k: v for k, v in self.headers.items() if k.lower() != "content-length"}
        headers["X-Forwarded-For"] = "203.0.113.9"
        with httpx.Client(base_url=self.upstream) as upstream:
            answer = upstream.request(
                self.command, self.path, headers=headers, content=self.rfile.read(length)
            )
        self.send_response(answer.status_code)
        self.send_header("Content-Type", answer.headers.get("content-type", "text/plain"))
        self.send_header("Content-Length", str(len(answer.content)))
        self.end_headers()
        self.wfile.write(answer.content)

    do_GET = do_POST = _relay

    def log_message(self, format: str, *args: object) -> None:
        pass


def _serve_in_thread(server: ThreadingHTTPServer) -> threading.Thread:
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return thread


@contextmanager
def reverse_proxy(upstream: str) -> Iterator[str]:
    handler = type("Relay", (_Relay,), {"upstream": upstream})
    server = ThreadingHTTPServer(("127.0.0.2", 0), handler)
    thread = _serve_in_thread(server)
    try:
        yield f"http://127.0.0.2:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@contextmanager
def tcp_forwarder(target_port: int) -> Iterator[tuple[str, int]]:
    """socat's TCP-LISTEN,fork TCP:127.0.0.1:port: bytes both ways, nothing added."""
    listener = socket.create_server(("127.0.0.3", 0))
    stop = threading.Event()

    def pipe(src: socket.socket, dst: socket.socket) -> None:
        with src, dst:
            while data := src.recv(65536):
                dst.sendall(data)

    def accept() -> None:
        while not stop.is_set():
            try:
                client, _ = listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", target_port))
            threading.Thread(target=pipe, args=(client, upstream.dup()), daemon=True).start()
            threading.Thread(target=pipe, args=(upstream, client.dup()), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield "127.0.0.3", listener.getsockname()[1]
    finally:
        stop.set()
        listener.close()
        thread.join(timeout=5)
