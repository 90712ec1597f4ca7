"""What the MCP tests share: a real MCP client (the SDK's own stdio client launching this
environment's `nmem mcp`), a server spoken to by hand over its pipes (start_server), and a handle
on the hub process the `hub` fixture starts."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import httpx
from mcp.types import TextContent

from mcp import ClientSession, StdioServerParameters, stdio_client

NMEM = Path(sys.executable).parent / "nmem"


@dataclass(frozen=True)
class Hub:
    url: str
    log: Path

    def register(self) -> str:
        """A new account (so tests never share brains); returns its API key."""
        email = f"mcp-{secrets.token_hex(4)}@example.com"
        reply = httpx.post(f"{self.url}/v1/auth/register", json={"email": email})
        assert reply.status_code == 201, reply.text
        key: str = reply.json()["api_key"]
        return key


@asynccontextmanager
async def mcp_session(home: Path, cwd: Path | None = None) -> AsyncIterator[ClientSession]:
    """`nmem mcp` with NMEM_HOME=home, started in `cwd` (default: this process's); its stderr
    goes to home/mcp-stderr.log for inspection.

    A traceback there fails the test: every failure must be a tool error, never a crash.
    """
    home.mkdir(parents=True, exist_ok=True)
    params = StdioServerParameters(
        command=str(NMEM), args=["mcp"], env={"NMEM_HOME": str(home)}, cwd=cwd
    )
    log = home / "mcp-stderr.log"
    with log.open("a", encoding="utf-8") as errlog:
        async with (
            stdio_client(params, errlog=errlog) as (read, write),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            yield session
    assert "Traceback" not in log.read_text(encoding="utf-8")


def _text(content: list[Any]) -> str:
    assert len(content) == 1
    block = content[0]
    assert isinstance(block, TextContent)
    return block.text


async def call(session: ClientSession, tool: str, **arguments: Any) -> dict[str, Any]:
    """Call a tool that must succeed; its text is the structured result as compact JSON."""
    result = await session.call_tool(tool, arguments)
    text = _text(result.content)
    assert not result.is_error, text
    assert result.structured_content is not None
    assert json.loads(text) == result.structured_content
    assert "\n" not in text  # compact for an agent's context
    data: dict[str, Any] = result.structured_content
    return data


async def call_error(session: ClientSession, tool: str, **arguments: Any) -> str:
    """Call a tool that must fail with a tool error (not a protocol error); return its message."""
    result = await session.call_tool(tool, arguments)
    assert result.is_error
    return _text(result.content)


@contextmanager
def start_server(
    home: Path,
    command: Sequence[str] = (str(NMEM), "mcp"),
    *,
    env: Mapping[str, str] | None = None,
    stderr: IO[str] | int = subprocess.DEVNULL,
) -> Iterator[subprocess.Popen[str]]:
    """`nmem mcp` (or another server command) with NMEM_HOME=home and this environment (or
    `env`), spoken to by hand: every byte on its stdout is the test's to read (send, request).
    Killed if it still runs when the block ends; its pipes are closed either way."""
    proc = subprocess.Popen(
        list(command),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=stderr,
        env={**(os.environ if env is None else env), "NMEM_HOME": str(home)},
        text=True,
        encoding="utf-8",
    )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for pipe in (proc.stdin, proc.stdout):
            if pipe is not None and not pipe.closed:
                pipe.close()


def line(message: dict[str, Any]) -> str:
    """A JSON-RPC message as one line of the stdio transport."""
    return json.dumps({"jsonrpc": "2.0", **message}) + "\n"


def send(proc: subprocess.Popen[str], message: dict[str, Any]) -> None:
    assert proc.stdin is not None
    proc.stdin.write(line(message))
    proc.stdin.flush()


def request(proc: subprocess.Popen[str], id: int, method: str, **params: Any) -> dict[str, Any]:
    """Send a request and read the next line, which must be its answer."""
    assert proc.stdout is not None
    send(proc, {"id": id, "method": method, "params": params})
    reply: dict[str, Any] = json.loads(proc.stdout.readline())
    assert reply["jsonrpc"] == "2.0" and reply["id"] == id, reply
    return reply
