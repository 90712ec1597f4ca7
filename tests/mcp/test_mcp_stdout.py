"""stdout is the transport: nothing but JSON-RPC messages may ever appear on it.

Spoken by hand, line by line, so that any stray byte on stdout fails the test (the SDK's client
would log and skip it). The second server variant adds a tool that prints, as a careless library
might, to show such output lands on stderr instead.
"""

from __future__ import annotations

import json
import os
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
