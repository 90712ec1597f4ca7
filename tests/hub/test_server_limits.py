"""`nmem serve` against clients that send too much, too slowly or too often (hub/server.py and
the body limits in hub/edge.py), on real hub processes on loopback, through raw sockets where a
well-behaved HTTP client could not misbehave the way an attacker does.

Every wait on a socket is bounded by WAIT: a hub that never answers fails the test, it does not
hang it. Nothing here asserts how fast anything is; the hubs run with short timeouts so the suite
is quick, and CPU is compared as a ratio to ordinary requests on the same process.
"""

from __future__ import annotations

import http.client
import json
import os
import resource
import select
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from helpers.hub_targets import free_port, process, throwaway_postgres
from helpers.nmem import NMEM

READ_TIMEOUT = 1.0  # --read-timeout of the test hubs, seconds
BODY_TIMEOUT = 2.0  # --body-timeout
WAIT = 15.0  # the longest a test waits on a socket before it fails
MAX_HEADER_BYTES = 64 * 1024
MAX_HEADERS = 100
PULL = "/v1/brains/b0000000000000001/pull"
PUSH = "/v1/brains/b0000000000000001/push"
MIB = 1024 * 1024


@dataclass(frozen=True)
class Served:
    port: int
    pid: int
    log: Path


@contextmanager
def nmem_serve(
    workdir: Path,
    *options: str,
    db_url: str | None = None,
    open_files: tuple[int, int] | None = None,
) -> Iterator[Served]:
    """A hub process; `open_files` is the (soft, hard) limit it starts with."""
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    args = [NMEM, "serve", "--host", "127.0.0.1", "--port", str(port), "--rate-limit", "0"]
    args += ["--db", db_url or f"sqlite://{workdir / 'hub.db'}", *options]
    env = {**os.environ, "NMEM_HOME": str(workdir / "home")}
    ready = f"http://127.0.0.1:{port}/v1/health"

    def limit_files() -> None:
        if open_files is not None:
            resource.setrlimit(resource.RLIMIT_NOFILE, open_files)

    with process(args, env, workdir / "hub.log", ready, limit_files) as proc:
        yield Served(port, proc.pid, workdir / "hub.log")


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """Local mode (no key needed), short timeouts, the default caps."""
    timeouts = ("--read-timeout", str(READ_TIMEOUT), "--body-timeout", str(BODY_TIMEOUT))
    with nmem_serve(tmp_path_factory.mktemp("local"), *timeouts) as served:
        yield served


@pytest.fixture(scope="module")
def small_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """Room for four connections and one request at a time."""
    caps = ("--max-connections", "4", "--max-concurrent", "1", "--read-timeout", "5")
    with nmem_serve(tmp_path_factory.mktemp("small"), *caps) as served:
        yield served


# ---------------------------------------------------------------- raw HTTP


def connect(served: Served) -> socket.socket:
    return socket.create_connection(("127.0.0.1", served.port), timeout=WAIT)


def send(sock: socket.socket, data: bytes) -> None:
    """Send what the hub will take; a hub that hung up mid-way has still sent its answer."""
    with suppress(BrokenPipeError, ConnectionResetError):
        sock.sendall(data)


def head(method: str, path: str, *headers: str, length: int | None = None) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", *headers]
    if length is not None:
        lines += ["Content-Type: application/json", f"Content-Length: {length}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


@dataclass(frozen=True)
class Reply:
    status: int
    headers: http.client.HTTPMessage
    body: Any


HEALTH = head("GET", "/v1/health")


def reply(sock: socket.socket) -> Reply:
    answer = http.client.HTTPResponse(sock)
    answer.begin()
    data = answer.read()
    return Reply(answer.status, answer.headers, json.loads(data) if data else None)


def closed(sock: socket.socket) -> bool:
    """True once the hub has closed the connection (after anything it sent first)."""
    with suppress(ConnectionResetError):
        while sock.recv(65536):
            pass
    return True


def exchange(sock: socket.socket, request: bytes) -> Reply:
    send(sock, request)
    return reply(sock)


def is_error(answer: Reply, status: int, code: str) -> str:
    assert (answer.status, answer.body["code"]) == (status, code), answer.body
    assert set(answer.body) <= {"error", "code", "retry_after"}
    message: str = answer.body["error"]
    return message


def cpu_ticks(pid: int) -> int:
    """User plus system CPU of a process so far, in clock ticks (/proc/PID/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime, stime: fields 14 and 15 of the line


# ---------------------------------------------------------------- the head of a request


def test_a_huge_head_gets_431_at_the_cost_of_a_few_ordinary_requests(hub: Served) -> None:
    """32 MiB of one header: refused once 64 KiB have come, so the hub's CPU for it does not grow
    with what the client sends (httptools joins a header's pieces at a quadratic cost)."""
    ordinary = 50
    with connect(hub) as sock:
        before = cpu_ticks(hub.pid)
        for _ in range(ordinary):
            assert exchange(sock, HEALTH).status == 200
        per_ordinary = (cpu_ticks(hub.pid) - before) / ordinary
    huge = 4
    before = cpu_ticks(hub.pid)
    for _ in range(huge):
        with connect(hub) as sock:
            send(sock, head("GET", "/v1/health", "X-Big: " + "a" * (32 * MIB)))
            message = is_error(reply(sock), 431, "headers_too_large")
            assert closed(sock)
    per_huge = (cpu_ticks(hub.pid) - before) / huge
    assert "at most 65536 bytes" in message and "at most 100 header lines" in message
    # A tick is 10 ms; an ordinary request takes a fraction of one, so allow a tick of slack.
    assert per_huge <= 10 * per_ordinary + 1, (per_huge, per_ordinary)


def lines(count: int) -> list[str]:
    return [f"X-H{n}: 1" for n in range(count)]


@pytest.mark.parametrize(
    ("served", "refused"),
    [
        (lines(MAX_HEADERS - 1), lines(MAX_HEADERS)),  # with Host: 100 lines, then 101
        (["X-Big: " + "a" * (MAX_HEADER_BYTES - 1024)], ["X-Big: " + "a" * MAX_HEADER_BYTES]),
        (
            ["X-A: " + "a" * 30_000, "X-B: " + "b" * 30_000],
            ["X-A: " + "a" * 33_000, "X-B: " + "b" * 33_000],
        ),
    ],
    ids=["101 headers", "one header of 64 KiB", "two of 33 KB"],
)
def test_too_many_or_too_large_headers_get_431(
    hub: Served, served: list[str], refused: list[str]
) -> None:
    with connect(hub) as sock:
        assert exchange(sock, head("GET", "/v1/health", *served)).status == 200
        is_error(exchange(sock, head("GET", "/v1/health", *refused)), 431, "headers_too_large")
        assert closed(sock)


def test_slow_heads_get_408_and_are_closed_while_the_hub_keeps_answering(hub: Served) -> None:
    with ExitStack() as stack:
        slow = [stack.enter_context(connect(hub)) for _ in range(20)]
        for sock in slow:
            send(sock, b"GET /v1/health HTTP/1.1\r\nHost: hub\r\nX-Slow: ")
        silent = stack.enter_context(connect(hub))  # sends nothing at all
        with connect(hub) as busy:
            for _ in range(5):
                assert exchange(busy, HEALTH).status == 200
        for sock in slow:
            assert "send it again without pausing" in is_error(reply(sock), 408, "request_timeout")
            assert closed(sock)
        assert silent.recv(1) == b""  # closed, with nothing to say


def test_a_kept_alive_connection_must_send_its_next_head_in_time(hub: Served) -> None:
    with connect(hub) as sock:
        assert exchange(sock, HEALTH).status == 200
        send(sock, b"GET /v1/health HTTP/1.1\r\n")
        is_error(reply(sock), 408, "request_timeout")
        assert closed(sock)


# ---------------------------------------------------------------- the body of a request


def test_a_body_that_stops_gets_408(hub: Served) -> None:
    with connect(hub) as sock:
        send(sock, head("POST", PULL, length=200) + b'{"device": ')
        is_error(reply(sock), 408, "request_timeout")
        assert closed(sock)
    # A client that goes away mid-body is no error of the hub's: logged as 499, no traceback.
    with connect(hub) as sock:
        send(sock, head("POST", "/v1/brains/gone/pull", length=200) + b'{"device": ')
    assert eventually(lambda: "POST /v1/brains/gone/pull 499" in hub.log.read_text())
    assert "Traceback" not in hub.log.read_text()


def test_a_body_that_trickles_gets_408_when_its_time_is_up(hub: Served) -> None:
    """One byte at a time, each well within the read timeout, never reaches the end in time."""
    with connect(hub) as sock:
        send(sock, head("POST", PULL, length=1000))
        deadline = time.monotonic() + WAIT
        while not select.select([sock], [], [], READ_TIMEOUT / 4)[0]:
            assert time.monotonic() < deadline, "no answer to a trickling body"
            send(sock, b" ")
        is_error(reply(sock), 408, "request_timeout")
        assert closed(sock)


@pytest.fixture(scope="module")
def keys_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """Keys required, on PostgreSQL (the server module runs that backend too)."""
    with throwaway_postgres() as url:
        workdir = tmp_path_factory.mktemp("keys")
        timeout = ("--read-timeout", str(READ_TIMEOUT))
        with nmem_serve(workdir, "--require-keys", *timeout, db_url=url) as served:
            yield served


def test_a_keyless_push_gets_401_before_its_body_is_read(keys_hub: Served) -> None:
    """The key is checked before the body: a stalled 4 MB body gets its 401 at once, and the
    connection, whose next bytes would be that body, is closed once the read timeout is up."""
    bad_key = "Authorization: Bearer nmk_" + "x" * 40
    for key in ((), (bad_key,)):
        with connect(keys_hub) as sock:
            answer = exchange(sock, head("POST", PUSH, *key, length=4_000_000))
            assert is_error(answer, 401, "invalid_key") == "Invalid or expired API key"
            assert closed(sock)
    with connect(keys_hub) as sock:  # refused by its length alone, as before
        is_error(exchange(sock, head("POST", PUSH, length=5 * MIB)), 413, "payload_too_large")


# ---------------------------------------------------------------- connections and requests


def test_connections_over_the_cap_are_closed_and_the_others_still_work(small_hub: Served) -> None:
    with ExitStack() as stack:
        held = [stack.enter_context(connect(small_hub)) for _ in range(4)]
        for sock in held:
            assert exchange(sock, HEALTH).status == 200
        for _ in range(3):
            with connect(small_hub) as extra:
                send(extra, HEALTH)
                assert hung_up_unanswered(extra)
        for sock in held:
            assert exchange(sock, HEALTH).status == 200
        held.pop().close()
        assert eventually(lambda: fresh_health(small_hub).status == 200)


def hung_up_unanswered(sock: socket.socket) -> bool:
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:  # closed with the request unread
        return True


def fresh_health(served: Served) -> Reply:
    with connect(served) as sock:
        return exchange(sock, HEALTH)


def eventually(check: Callable[[], bool], tries: int = 50) -> bool:
    """For what holds once the hub has seen an event on another connection (a few ms later)."""
    for _ in range(tries):
        try:
            if check():
                return True
        except (http.client.RemoteDisconnected, ConnectionResetError):
            pass
        time.sleep(0.05)
    return False


def test_requests_over_the_concurrency_cap_get_503_with_retry_after(small_hub: Served) -> None:
    body = json.dumps({"device": {"device_id": "dev-1a2b", "name": "x"}, "cursor": 0}).encode()
    answers: list[Reply] = []

    def refused() -> bool:
        answers.append(fresh_health(small_hub))
        return answers[-1].status == 503

    with connect(small_hub) as first:
        send(first, head("POST", PULL, length=len(body)))  # in flight, waiting for its body
        assert eventually(refused), [answer.status for answer in answers]
        assert is_error(answers[-1], 503, "busy") == "Hub busy, retry"
        assert answers[-1].headers["Retry-After"] == "1" and answers[-1].body["retry_after"] == 1
        assert exchange(first, body).status == 200
    with connect(small_hub) as sock:
        assert exchange(sock, HEALTH).status == 200


def open_files_limit(pid: int) -> tuple[int, int]:
    line = next(
        line
        for line in Path(f"/proc/{pid}/limits").read_text().splitlines()
        if line.startswith("Max open files")
    )
    soft, hard = line.split()[3:5]
    return int(soft), int(hard)


def test_the_hub_raises_its_open_files_limit_so_the_connection_cap_binds_first(
    tmp_path: Path,
) -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    with nmem_serve(tmp_path / "raised", open_files=(256, hard)) as served:
        assert open_files_limit(served.pid) == (hard, hard)
    # A hard limit below the cap lowers the cap, keeping files free for the database and logs.
    with nmem_serve(tmp_path / "fitted", open_files=(200, 200)) as served:
        assert open_files_limit(served.pid) == (200, 200)
        assert "--max-connections 1000 lowered to 72" in served.log.read_text()
        with ExitStack() as stack:
            held = [stack.enter_context(connect(served)) for _ in range(72)]
            for sock in held:
                assert exchange(sock, HEALTH).status == 200
            with connect(served) as extra:
                send(extra, HEALTH)
                assert hung_up_unanswered(extra)
