"""`nmem mcp`'s stdio: the wire claimed at start, `initialize` answered before the SDK is loaded.

Importing the MCP SDK costs about half a second of CPU (it loads its client, its HTTP transports
and every protocol revision's models), longer than a client should wait for the answer to
`initialize`. So the process claims stdin and stdout first, then a reader thread answers the
first message -- when it is an `initialize` request of the handshake era -- at once, while the
main thread imports the SDK and the tools. The SDK is then handed the same messages, the
`initialize` included (its session must see it), and its own answer to that request is dropped:
the client already has one. The two are compared, and a difference is logged as a warning
(tests/mcp/test_mcp_startup.py runs every protocol revision through both), so the early answer
cannot drift from the SDK's.

The wire: fd 0 and fd 1 are duplicated for the protocol, then pointed at /dev/null and stderr,
so that a stray print() from any library, or a child process, can never reach the client.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
import sys
import threading
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from neuralmemory import __version__

if TYPE_CHECKING:
    import asyncio

log = logging.getLogger(__name__)

NAME, TITLE = "nmem", "Neural Memory"

INSTRUCTIONS = """\
Neural Memory is the user's long-term memory, kept on their machine and synced to their other
devices through a hub they host. Call nmem_recall at the start of a task and whenever earlier
decisions, preferences or fixes may matter. Call nmem_remember when something is decided, learned
or fixed that a later session should know. Keep one idea per memory. Correct stale memories with
nmem_edit, delete wrong ones with nmem_forget. Never store secrets (API keys, passwords, private
keys: remember refuses them); text inside <private>...</private> is never stored."""

#: The revisions the SDK negotiates through `initialize` (mcp_types.version, pinned by a test):
#: a client asking for one gets it, any other gets the newest.
HANDSHAKE_VERSIONS = ("2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25")
#: What the server offers: tools, prompts and resources, none of them announcing changes.
CAPABILITIES: dict[str, Any] = {
    "prompts": {"listChanged": False},
    "resources": {"listChanged": False, "subscribe": False},
    "tools": {"listChanged": False},
}


def early_answer(message: object) -> dict[str, Any] | None:
    """The answer to `message` when it is an `initialize` request this module can answer
    exactly as the SDK would; None for anything else (the SDK answers it)."""
    if not isinstance(message, dict) or message.get("method") != "initialize":
        return None
    params = message.get("params")
    request_id = message.get("id")
    if message.get("jsonrpc") != "2.0" or not isinstance(params, dict):
        return None
    if isinstance(request_id, bool) or not isinstance(request_id, int | str):
        return None
    asked = params.get("protocolVersion")
    if not isinstance(asked, str) or not isinstance(params.get("clientInfo"), dict):
        return None
    version = asked if asked in HANDSHAKE_VERSIONS else HANDSHAKE_VERSIONS[-1]
    result = {
        "capabilities": CAPABILITIES,
        "instructions": INSTRUCTIONS,
        "protocolVersion": version,
        "serverInfo": {"name": NAME, "title": TITLE, "version": __version__},
    }
    return {"jsonrpc": "2.0", "id": request_id, "result": result}


class Wire:
    """The protocol's output, as the async text file the SDK writes to: whole lines to the
    claimed stdout; the SDK's answer to the request answered early is compared with the early
    one and dropped.

    Written straight from the event loop, not through a worker thread as anyio.wrap_file would
    (two thread hops per answer, a large part of a tool call's cost). A write blocks the loop
    only while the client is not reading its answers; the input is read by its own thread
    meanwhile, so the two can never wait on each other."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._lock = threading.Lock()  # the reader thread writes the early answer
        self._early: dict[str, Any] | None = None

    def send_early(self, answer: dict[str, Any]) -> None:
        with self._lock:
            self._early = answer
            self._put(json.dumps(answer, ensure_ascii=False, separators=(",", ":")) + "\n")

    async def write(self, text: str) -> int:
        with self._lock:
            if self._early is not None and self._is_early(text):
                return len(text)
            self._put(text)
        return len(text)

    def _is_early(self, text: str) -> bool:
        try:
            answer = json.loads(text)
        except ValueError:
            return False
        early, self._early = self._early, None
        assert early is not None
        if not isinstance(answer, dict) or answer.get("id") != early["id"]:
            self._early = early  # not the answer to that request: keep waiting for it
            return False
        if answer != early:
            log.warning("the early initialize answer differed from the SDK's: %s", answer)
        return True

    def _put(self, text: str) -> None:
        data = memoryview(text.encode("utf-8"))
        while data:
            data = data[os.write(self._fd, data) :]

    async def flush(self) -> None:
        """Every write is already out."""


class Lines:
    """The protocol's input, as the async text file the SDK reads: the lines the reader thread
    queued, awaited on the event loop (anyio.wrap_file would hop to a worker thread for each).
    The reader thread wakes a waiting loop itself."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._lines: deque[str] = deque()
        self._wake: Callable[[], None] | None = None  # set while the loop waits for a line

    def put(self, line: str) -> None:
        """Queue a line (from the reader thread); "" at the end of the input."""
        with self._lock:
            self._lines.append(line)
            wake, self._wake = self._wake, None
        if wake is not None:
            wake()

    def __aiter__(self) -> Lines:
        return self

    async def __anext__(self) -> str:
        # Loaded with the SDK by the time it reads; this module loads before both (docstring).
        import asyncio

        loop = asyncio.get_running_loop()  # serve() runs anyio on asyncio (uvloop's, or its own)
        while True:
            with self._lock:
                if self._lines:
                    if not self._lines[0]:
                        raise StopAsyncIteration  # the end stays queued for any later read
                    return self._lines.popleft()
                arrived: asyncio.Future[None] = loop.create_future()
                wake = functools.partial(_wake, loop, arrived)
                self._wake = wake
            try:
                await arrived
            finally:
                with self._lock:
                    if self._wake is wake:
                        self._wake = None


def _wake(loop: asyncio.AbstractEventLoop, arrived: asyncio.Future[None]) -> None:
    """Resolve `arrived` on `loop`, from the reader thread, without waiting for the loop: the
    reader never stops reading, whatever the loop does."""
    # RuntimeError: the loop is closed, the server stopped; nobody is left to read the line
    with contextlib.suppress(RuntimeError):
        loop.call_soon_threadsafe(_resolve, arrived)


def _resolve(arrived: asyncio.Future[None]) -> None:
    if not arrived.done():  # not cancelled meanwhile
        arrived.set_result(None)


def claim_stdio() -> tuple[int, int]:
    """Duplicates of fd 0 and fd 1 for the protocol; fd 0 then reads /dev/null and fd 1 writes
    to stderr, for as long as the process lives."""
    sys.stdout.flush()
    wire_in = os.dup(0)
    wire_out = os.dup(1)
    os.set_inheritable(wire_in, False)
    os.set_inheritable(wire_out, False)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    os.dup2(2, 1)
    return wire_in, wire_out


def read_wire(fd: int, lines: Lines, wire: Wire) -> None:
    """Queue every line of the input; answer the first one early when it is `initialize`."""
    first = True
    with os.fdopen(fd, "rb", closefd=False) as stream:
        for data in stream:
            line = data.decode("utf-8", errors="replace")
            if first:
                first = False
                try:
                    answer = early_answer(json.loads(line))
                except ValueError:
                    answer = None
                if answer is not None:
                    wire.send_early(answer)
            lines.put(line)
    lines.put("")


def start() -> tuple[Lines, Wire]:
    """Claim the wire and start answering; returns the SDK's input and output."""
    wire_in, wire_out = claim_stdio()
    lines, wire = Lines(), Wire(wire_out)
    reader = threading.Thread(
        target=read_wire, args=(wire_in, lines, wire), name="nmem-mcp-stdin", daemon=True
    )
    reader.start()
    return lines, wire
