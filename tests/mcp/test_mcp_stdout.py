"""stdout is the transport: nothing but JSON-RPC messages may ever appear on it.

Spoken by hand, line by line, so that any stray byte on stdout fails the test (the SDK's client
would log and skip it). The second server variant adds a tool that prints, as a careless library
might, to show such output lands on stderr instead.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from helpers.mcp_client import NMEM, line, request, send, start_server

NOISY_SERVER = '''
import sys
import threading
from neuralmemory.mcp import server

def nmem_noisy() -> dict:
    """Prints to stdout, as a careless library might. Use it in tests only."""
    print("stray line")
    print("partial", end="")
    sys.stdout.write("-more")
    return {"ok": True}

server.TOOLS = (*server.TOOLS, (nmem_noisy, None))
server.main()
'''

SERVERS = {
    "nmem mcp": [str(NMEM), "mcp"],
    "a tool that prints": [sys.executable, "-c", NOISY_SERVER],
}


@pytest.mark.parametrize("server", SERVERS, ids=list(SERVERS))
def test_stdout_carries_only_protocol_messages(tmp_path: Path, server: str) -> None:
    # As an editor starts it: buffered stdout (this test run may have PYTHONUNBUFFERED set).
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    with (
        (tmp_path / "stderr.log").open("w") as errlog,
        start_server(tmp_path, SERVERS[server], env=env, stderr=errlog) as proc,
    ):
        assert proc.stdin is not None and proc.stdout is not None
        client = {"name": "raw", "version": "0"}
        hello = request(
            proc, 1, "initialize", protocolVersion="2025-11-25", capabilities={}, clientInfo=client
        )
        assert hello["result"]["serverInfo"]["name"] == "nmem"
        send(proc, {"method": "notifications/initialized"})
        names = {t["name"] for t in request(proc, 2, "tools/list")["result"]["tools"]}
        assert "nmem_recall" in names

        calls: list[tuple[str, dict[str, Any]]] = [
            ("nmem_remember", {"content": "Coffee beans come from the market on Saturdays"}),
            ("nmem_recall", {"query": "where do the coffee beans come from?"}),
            ("nmem_remember", {"content": "x", "priority": 99}),
            ("nmem_sync", {"action": "full"}),
            ("nmem_sync_config", {"action": "setup"}),
            ("nmem_stats", {}),
        ]
        if "nmem_noisy" in names:
            calls.append(("nmem_noisy", {}))
        for id, (tool, arguments) in enumerate(calls, start=3):
            reply = request(proc, id, "tools/call", name=tool, arguments=arguments)
            assert "result" in reply, reply  # a tool error is a result, never a protocol error
        proc.stdin.close()
        rest = proc.stdout.read()
        assert proc.wait(timeout=30) == 0
    # Whatever came after the last reply must be protocol too (nothing, in practice).
    for extra in rest.splitlines():
        assert json.loads(extra)["jsonrpc"] == "2.0", extra
    if server == "a tool that prints":
        assert "stray line" in (tmp_path / "stderr.log").read_text()


def test_a_client_that_writes_everything_before_reading_is_answered(tmp_path: Path) -> None:
    """More requests than a pipe holds, written before any answer is read, answered by more than
    a pipe holds: the server writes its answers from its event loop (mcp/stdio.py), which blocks
    while the client does not read -- and must keep reading the client's input meanwhile, or
    both would wait on each other forever."""
    count = 3000  # ~180 KB each way; a pipe holds 64 KB
    with start_server(tmp_path) as proc:
        assert proc.stdin is not None and proc.stdout is not None
        request(proc, 0, "initialize", protocolVersion="2025-11-25", capabilities={}, clientInfo={})
        send(proc, {"method": "notifications/initialized"})
        padding = "p" * 20  # a ping's params may carry _meta; it makes each request longer
        requests = "".join(
            line({"id": n, "method": "ping", "params": {"_meta": {padding: n}}})
            for n in range(1, count + 1)
        )
        stdin = proc.stdin

        def write_all() -> None:
            stdin.write(requests)
            stdin.flush()

        writer = threading.Thread(target=write_all)
        writer.start()
        writer.join(timeout=120)
        assert not writer.is_alive(), "the server stopped reading while its answers waited"
        answered = {json.loads(proc.stdout.readline())["id"] for _ in range(count)}
        assert answered == set(range(1, count + 1))
        proc.stdin.close()
        assert proc.wait(timeout=60) == 0


def _session_lines() -> str:
    """A whole session, as a client writes it: the handshake, a list, a call, a ping."""
    client = {"name": "raw", "version": "0"}
    messages: list[dict[str, Any]] = [
        {
            "id": 1,
            "method": "initialize",
            "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": client},
        },
        {"method": "notifications/initialized"},
        {"id": 2, "method": "tools/list"},
        {"id": 3, "method": "tools/call", "params": {"name": "nmem_stats", "arguments": {}}},
        {"id": 4, "method": "ping"},
    ]
    return "".join(json.dumps({"jsonrpc": "2.0", **m}) + "\n" for m in messages)


def test_a_socket_pair_is_served(tmp_path: Path) -> None:
    """A Node.js client (Claude Code) starts a server on a socket pair, not pipes as the other
    tests here: the event loop reads it itself after the first message (mcp/stdio.py), and
    answers every message until the input ends."""
    ours, theirs = socket.socketpair()
    with ours, theirs:
        proc = subprocess.Popen(
            [str(NMEM), "mcp"],
            stdin=theirs.fileno(),
            stdout=theirs.fileno(),
            env={**os.environ, "NMEM_HOME": str(tmp_path)},
        )
        theirs.close()
        ours.settimeout(60)
        ours.sendall(_session_lines().encode("utf-8"))
        received = b""
        while received.count(b"\n") < 4:
            chunk = ours.recv(65536)
            assert chunk, received
            received += chunk
        ours.shutdown(socket.SHUT_WR)
        assert proc.wait(timeout=60) == 0
    replies = [json.loads(line) for line in received.decode("utf-8").splitlines()]
    assert sorted(reply["id"] for reply in replies) == [1, 2, 3, 4]
    assert all("result" in reply for reply in replies), replies


def test_a_file_is_read_to_its_end(tmp_path: Path) -> None:
    """Input the event loop cannot watch (a file) the reader thread reads to the end: the
    server answers and stops there. (The SDK drops what is still running when its input ends,
    so only the handshake's answer is certain.)"""
    requests = tmp_path / "requests.jsonl"
    requests.write_text(_session_lines(), encoding="utf-8")
    with requests.open("rb") as stdin:
        done = subprocess.run(
            [str(NMEM), "mcp"],
            stdin=stdin,
            capture_output=True,
            env={**os.environ, "NMEM_HOME": str(tmp_path)},
            timeout=120,
            check=True,
        )
    replies = [json.loads(line) for line in done.stdout.decode("utf-8").splitlines()]
    assert replies[0]["id"] == 1 and replies[0]["result"]["serverInfo"]["name"] == "nmem"
