"""`nmem mcp`'s stdio: the wire claimed at start, `initialize` answered before the SDK is loaded.

Importing the MCP SDK costs about half a second of CPU (it loads its client, its HTTP transports
and every protocol revision's models), longer than a client should wait for the answer to
`initialize`. So the process claims stdin and stdout first, then a reader thread answers the
first message -- when it is an `initialize` request of the handshake era -- at once, while the
main thread imports the SDK and the tools; after it the event loop reads the input itself
(Lines). The SDK is then handed the same messages, the `initialize` included (its session must
see it), and its own answer to that request is dropped: the client already has one. The two
are compared, and a difference is logged as a warning (tests/mcp/test_mcp_startup.py runs every
protocol revision through both), so the early answer cannot drift from the SDK's.

The wire: fd 0 and fd 1 are duplicated for the protocol, then pointed at /dev/null and stderr,
so that a stray print() from any library, or a child process, can never reach the client.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import select
import stat
import sys
import threading
from collections import deque
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
    (two thread hops per answer, a large part of a tool call's cost). The loop also reads the
    input (Lines), so a write must never block it: a client that writes many requests before it
    reads any answer would wait for us to read while we waited for it to read. So where the
    output can be polled (not on Windows) each piece of at most PIPE_BUF bytes is written only
    once the pipe has room for it, the loop reading meanwhile; on Windows the write blocks, and
    the reader thread keeps reading (Lines)."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._lock = threading.Lock()  # the reader thread writes the early answer
        self._early: dict[str, Any] | None = None
        self._room: select.poll | None = None  # whether the output has room, where it can say
        if hasattr(select, "poll"):
            self._room = select.poll()
            self._room.register(fd, select.POLLOUT)

    def send_early(self, answer: dict[str, Any]) -> None:
        """From the reader thread, before the SDK reads anything: the answer to `initialize`."""
        with self._lock:
            self._early = answer
        text = json.dumps(answer, ensure_ascii=False, separators=(",", ":")) + "\n"
        data = memoryview(text.encode("utf-8"))
        while data:
            data = data[os.write(self._fd, data) :]

    async def write(self, text: str) -> int:
        with self._lock:
            if self._early is not None and self._is_early(text):
                return len(text)
        data = memoryview(text.encode("utf-8"))
        while data:
            if self._room is None:
                data = data[os.write(self._fd, data) :]
                continue
            if not self._room.poll(0):
                await self._has_room()
            data = data[os.write(self._fd, data[: select.PIPE_BUF]) :]
        return len(text)

    async def _has_room(self) -> None:
        import asyncio  # loaded with the SDK by now (Lines.__anext__)

        loop = asyncio.get_running_loop()
        room: asyncio.Future[None] = loop.create_future()
        loop.add_writer(self._fd, _resolve, room)
        try:
            await room
        finally:
            loop.remove_writer(self._fd)

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

    async def flush(self) -> None:
        """Every write is already out."""


class Lines:
    """The protocol's input, as the async text file the SDK reads, awaited on the event loop
    (anyio.wrap_file would hop to a worker thread for each line).

    The reader thread reads the first message, to answer it early (module docstring), and
    queues it. Then, when the input is a pipe or a socket (as every client starts us) and the
    loop can watch it (not on Windows), it hands the descriptor over: the loop reads each later
    message itself when it arrives, one wake-up per message. A thread reading them all would
    then wake the loop for each, a second wake-up and a hand-over of the interpreter lock per
    call. Any other input (a file) the thread reads to the end, waking a waiting loop itself."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._lock = threading.Lock()  # the reader thread queues lines until it is done
        self._lines: deque[str] = deque()
        self._rest = b""  # the start of a line still arriving
        self._handed = False  # the loop reads the descriptor from now on
        self._watched = False  # ... and watches it
        # set while the loop waits for a line: the loop, and what it awaits
        self._waiting: tuple[asyncio.AbstractEventLoop, asyncio.Future[None]] | None = None

    def feed(self, data: bytes) -> None:
        """Queue the complete lines of `data` (from the reader thread); b"" at the end."""
        with self._lock:
            self._queue(data)
            waiting, self._waiting = self._waiting, None
        if waiting is not None:
            _wake(*waiting)

    def hand_over(self) -> None:
        """From the reader thread, done reading: the loop reads the descriptor from now on."""
        with self._lock:
            self._handed = True
            waiting, self._waiting = self._waiting, None
        if waiting is not None:
            _wake(*waiting)

    def _queue(self, data: bytes) -> None:
        if data:
            *complete, self._rest = (self._rest + data).split(b"\n")
            self._lines.extend(_text(line + b"\n") for line in complete)
            return
        if self._rest:  # a last line without its newline
            self._lines.append(_text(self._rest))
            self._rest = b""
        self._lines.append("")

    def _readable(self, loop: asyncio.AbstractEventLoop) -> None:
        """On the loop, when the descriptor has something to read: one read, which cannot
        block (so the descriptor stays in blocking mode, as the client may share it)."""
        data = _read(self._fd)
        if not data:
            loop.remove_reader(self._fd)
        with self._lock:
            self._queue(data)
            waiting, self._waiting = self._waiting, None
        if waiting is not None:
            _resolve(waiting[1])

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
                if self._handed and not self._watched:
                    self._watched = True
                    loop.add_reader(self._fd, self._readable, loop)
                arrived: asyncio.Future[None] = loop.create_future()
                self._waiting = (loop, arrived)
            try:
                await arrived
            finally:
                with self._lock:
                    if self._waiting is not None and self._waiting[1] is arrived:
                        self._waiting = None


def _text(line: bytes) -> str:
    return line.decode("utf-8", errors="replace")


def _read(fd: int) -> bytes:
    """What the input has now, at least a byte (waiting for it); b"" at its end."""
    try:
        return os.read(fd, 65536)
    except OSError:  # the client's end is gone in some way EOF does not say
        return b""


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


def read_wire(fd: int, lines: Lines, wire: Wire, hand_over: bool) -> None:
    """Queue the input's first line, answered early when it is `initialize`; then hand the
    descriptor to the loop (`hand_over`), or queue every later line up to the end."""
    first = b""
    while b"\n" not in first:
        data = _read(fd)
        if not data:
            break
        first += data
    try:
        answer = early_answer(json.loads(first.split(b"\n", 1)[0]))
    except ValueError:
        answer = None
    if answer is not None:
        wire.send_early(answer)
    if first:
        lines.feed(first)
    ended = b"\n" not in first  # the input ended before its first line did
    if not ended and hand_over:
        lines.hand_over()
        return
    while not ended and (data := _read(fd)):
        lines.feed(data)
    lines.feed(b"")


def _watchable(fd: int) -> bool:
    """Whether the event loop can watch `fd` for input: a pipe or a socket, not on Windows
    (its loops watch sockets only; epoll refuses regular files)."""
    mode = os.fstat(fd).st_mode
    return sys.platform != "win32" and (stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode))


def start() -> tuple[Lines, Wire]:
    """Claim the wire and start answering; returns the SDK's input and output."""
    wire_in, wire_out = claim_stdio()
    lines, wire = Lines(wire_in), Wire(wire_out)
    reader = threading.Thread(
        target=read_wire,
        args=(wire_in, lines, wire, _watchable(wire_in)),
        name="nmem-mcp-stdin",
        daemon=True,
    )
    reader.start()
    return lines, wire
