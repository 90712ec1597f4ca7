"""`nmem mcp`: the nmem_* tools over stdio, each a few lines over the library.

A tool parses (the SDK checks the arguments against the tool's JSON schema), calls one library
function, and returns its result as compact JSON text plus the same data as structured content.
A library error becomes an MCP tool error (an isError result) carrying the CLI's message, and the
server keeps serving. Every tool error (the SDK's argument errors too, which quote the rejected
value) and log line has its API keys masked (config.redact_keys). stdout is the transport: logs
go to stderr, and mcp/stdio.py claims the wire before anything else loads, answers `initialize`
while the SDK is imported, and keeps a stray print from anywhere off it. The API key never leaves
the sync service unmasked.

The tools always work on the current brain (config.toml `brain`, `nmem brain use`), kept open
across calls and refreshed whenever another process changed it (core/live.py). After a write,
a recall or a restore, `service.after_write` schedules the debounced background sync on the
server's own AUTO_SYNC when auto-sync is on; it returns at once, so no tool result waits for the
hub; those syncs and nmem_sync share one hub client kept open (sync/kept.py). serve() drains and
stops AUTO_SYNC and closes the hub client when the client hangs up (mcp/session.py).

Longer than ~400 lines on purpose: it is the tool list the client sees -- each tool's name,
signature and docstring are the MCP contract, a few lines each over the library -- together with
the one adapter that turns them into results and errors; split up, the contract would no longer
be reviewable in one file.
"""

from __future__ import annotations

import functools
import gc
import inspect
import json
import logging
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, cast

import anyio
import anyio.to_thread
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.stdio import stdio_server
from mcp.types import CallToolResult, InputRequiredResult, TextContent, ToolAnnotations
from mcp.types import Tool as ListedTool
from pydantic import BaseModel, Field, ValidationError

from neuralmemory import __version__
from neuralmemory.clock import wall_ms
from neuralmemory.config import STRATEGIES, RedactKeys, redact_keys
from neuralmemory.core.brains import current_brain_name
from neuralmemory.core.browse import list_memories
from neuralmemory.core.browse import show as show_memory
from neuralmemory.core.checks import (
    DEFAULT_PRIORITY,
    MAX_CONTENT_BYTES,
    MAX_EXPIRES_DAYS,
    MAX_LIMIT,
    MAX_PRIORITY,
    MAX_QUERY_CHARS,
    MAX_TAG_CHARS,
    MAX_TAGS,
)
from neuralmemory.core.extract import MEMORY_TYPES
from neuralmemory.core.project import MAX_PROJECT_CHARS, resolve_project
from neuralmemory.core.timespan import parse_window
from neuralmemory.errors import (
    HINT_ACTION_NO_SETTINGS,
    MSG_ACTION_NO_SETTINGS,
    InternalError,
    InvalidInput,
    NmemError,
)
from neuralmemory.mcp import offers, schemas, stdio
from neuralmemory.mcp.hints import as_calls
from neuralmemory.mcp.results import ForgetOut, MemoryOut, RecallOut, RememberOut
from neuralmemory.mcp.session import AUTO_SYNC, HUB, LIVE
from neuralmemory.protocol import ID_PATTERN
from neuralmemory.sync import indexer, keyshare, service

if TYPE_CHECKING:
    MemoryType = str
    Strategy = str
else:
    # The enums are the library's own tuples, so a schema can never drift from what the library
    # accepts. mypy cannot read a Literal built from a tuple, so it sees plain str.
    MemoryType = Literal[MEMORY_TYPES]
    Strategy = Literal[STRATEGIES]

Supersedes = Annotated[
    str | None,
    Field(
        pattern=ID_PATTERN,
        description="The id of a memory this one replaces: it is kept, marked superseded, and "
        "recall no longer returns it.",
    ),
]
When = Annotated[
    str | None,
    Field(
        max_length=40,
        description='A span back from now ("7d", "12h", "30m", "2w") or a UTC date '
        '("2026-12-01", "2026-12-01T09:30").',
    ),
]
MemoryId = Annotated[
    str, Field(pattern=ID_PATTERN, description="A memory id, as nmem_recall returns it (m-...).")
]
Tags = Annotated[
    list[Annotated[str, Field(min_length=1, max_length=MAX_TAG_CHARS)]],
    Field(max_length=MAX_TAGS, description="Short labels, e.g. the project or topic."),
]
Priority = Annotated[
    int, Field(ge=0, le=MAX_PRIORITY, description="0 (trivia) to 10 (critical); 5 is normal.")
]
TypeField = Annotated[
    MemoryType | None, Field(description="The kind of memory; detected from the text when omitted.")
]
TagFilter = Annotated[Tags | None, Field(description="Only memories carrying all of these tags.")]
TypeFilter = Annotated[MemoryType | None, Field(description="Only memories of this type.")]
# list filters on when a memory was remembered; recall on the day its text names, if any.
Since = Annotated[When, Field(description="Only memories of then or later.")]
Until = Annotated[When, Field(description="Only memories of before then.")]

log = logging.getLogger(__name__)

# ---------------------------------------------------------------------------- memory tools


def nmem_remember(
    content: Annotated[
        str,
        Field(
            min_length=1,
            max_length=MAX_CONTENT_BYTES,
            description="The memory, self-contained: it must make sense without this chat.",
        ),
    ],
    type: TypeField = None,
    tags: Tags | None = None,
    priority: Priority = DEFAULT_PRIORITY,
    expires_days: Annotated[
        int | None,
        Field(ge=1, le=MAX_EXPIRES_DAYS, description="Forget it after this many days."),
    ] = None,
    encrypted: Annotated[
        bool,
        Field(description="Encrypt the text on this device before it is stored or synced."),
    ] = False,
    project: Annotated[
        str | None,
        Field(
            max_length=MAX_PROJECT_CHARS,
            description="The project it belongs to. Default: the project your client started "
            'this server in (its git remote); "" for none (a fact of no one project).',
        ),
    ] = None,
    supersedes: Supersedes = None,
) -> RememberOut:
    """Save one thing worth knowing in a later session to the user's long-term memory.

    Use it when the user states a preference or an instruction, when a decision is made (and why),
    when a bug is solved (the error and its fix), when a todo is agreed, or when you learn a
    project fact that a future session would otherwise have to rediscover. One self-contained idea
    per call. Set encrypted=true for anything sensitive; secrets (API keys, private keys) are
    refused, and text inside <private>...</private> is not stored. Remembering the same text
    twice is harmless (created=false). Returns the new memory's id.
    """
    if encrypted:
        keyshare.before_encrypting()  # another device may have keyed the brain already
    with LIVE.use() as brain:
        done = brain.remember(
            content,
            type=type,
            tags=tags,
            priority=priority,
            expires_days=expires_days,
            encrypted=encrypted,
            project=resolve_project(project, Path.cwd()),
            supersedes=supersedes,
        )
    service.after_write(brain.name, AUTO_SYNC)
    return RememberOut.of(done)


def nmem_recall(
    query: Annotated[
        str,
        Field(
            min_length=1,
            max_length=MAX_QUERY_CHARS,
            description="What you want to know, in words: a question, a topic, an error message.",
        ),
    ],
    limit: Annotated[int, Field(ge=1, le=MAX_LIMIT, description="How many memories.")] = 5,
    tags: TagFilter = None,
    type: TypeFilter = None,
    project: Annotated[
        str | None,
        Field(
            max_length=MAX_PROJECT_CHARS,
            description="Only this project's memories (first) and those of no project. Default: "
            'the project your client started this server in; "*" for every project.',
        ),
    ] = None,
    since: Since = None,
    until: Until = None,
) -> RecallOut:
    """Search the user's long-term memory by association; the best matches come first.

    Use it at the start of a task and before answering anything that may depend on earlier work:
    the user's preferences, past decisions, known errors and their fixes, project context. It finds
    memories sharing the query's words and also memories linked to them only through shared
    concepts (via/path say how). Pass a memory's id to nmem_edit or nmem_forget. Recalling
    strengthens the memories it returns.
    """
    start, end = parse_window(since, until, wall_ms())
    with LIVE.use() as brain:
        hits = brain.recall(
            query,
            limit=limit,
            tags=tags,
            type=type,
            project=resolve_project(project, Path.cwd()),
            since=start,
            until=end,
        )
    service.after_write(brain.name, AUTO_SYNC)
    return RecallOut.of(query, hits)


def nmem_edit(
    memory_id: MemoryId,
    content: Annotated[
        str | None, Field(min_length=1, max_length=MAX_CONTENT_BYTES, description="New text.")
    ] = None,
    tags: Annotated[Tags | None, Field(description="Replaces all the memory's tags.")] = None,
    priority: Priority | None = None,
    type: Annotated[MemoryType | None, Field(description="The new type.")] = None,
    supersedes: Supersedes = None,
) -> MemoryOut:
    """Correct or update an existing memory in place, instead of adding one that contradicts it.

    Use it when nmem_recall shows a memory that is out of date or imprecise. Only the fields given
    change. The edit syncs to the user's other devices. Returns the memory as it now is.
    """
    with LIVE.use() as brain:
        memory = brain.edit(
            memory_id,
            content=content,
            tags=tags,
            priority=priority,
            type=type,
            supersedes=supersedes,
        )
    service.after_write(brain.name, AUTO_SYNC)
    return MemoryOut.of(memory)


def nmem_forget(memory_id: MemoryId) -> ForgetOut:
    """Delete a memory by its id.

    Use it when a memory is wrong or obsolete, or when the user asks you to forget something. The
    deletion reaches the user's other devices and never comes back. To fix a memory, prefer
    nmem_edit.
    """
    with LIVE.use() as brain:
        brain.forget(memory_id)
    service.after_write(brain.name, AUTO_SYNC)
    return ForgetOut(id=memory_id, forgotten=True)


def nmem_list(
    limit: Annotated[int, Field(ge=1, le=MAX_LIMIT, description="How many memories.")] = 20,
    tags: TagFilter = None,
    type: TypeFilter = None,
    project: Annotated[
        str | None,
        Field(max_length=MAX_PROJECT_CHARS, description="Only memories of this project."),
    ] = None,
    since: Since = None,
    until: Until = None,
    before: Annotated[
        str | None,
        Field(pattern=ID_PATTERN, description="The next page: the next_before of the last one."),
    ] = None,
) -> dict[str, Any]:
    """List the user's memories, newest first, without searching.

    Use it when the user wants to review what is stored (today's, a project's, a tag's), or to
    find a memory to correct. Filters by tags, type, project and time; pages with `before`.
    Superseded and expired memories are left out. Reading strengthens nothing. To search by
    meaning use nmem_recall.
    """
    start, end = parse_window(since, until, wall_ms())
    with LIVE.use() as brain:
        page = list_memories(
            brain,
            limit=limit,
            tags=tags,
            type=type,
            project=project,
            since=start,
            until=end,
            before=before,
        )
    memories = [MemoryOut.of(memory).model_dump(exclude_none=True) for memory in page.memories]
    return {"memories": memories, "next_before": page.next_before}


def nmem_show(memory_id: MemoryId) -> dict[str, Any]:
    """One memory in full, with its past.

    Use it before correcting or forgetting a memory whose past matters, or when the user asks
    where a memory came from: its text and metadata, its version history (which device changed
    what, when), open sync-conflict copies of it, what it superseded or what superseded it, and
    the concepts and memories it is linked to.
    """
    with LIVE.use() as brain:
        return show_memory(brain, memory_id).to_json()


def nmem_stats() -> dict[str, Any]:
    """Counts and health of the current brain.

    Memories (and how many are encrypted), concepts (neurons), synapses, relations, learned links,
    sync records and changes pending a push, database size and path. Use it when the user asks how
    much is remembered, or to check that memory works.
    """
    with LIVE.use() as brain:
        return brain.stats().to_json()


# ---------------------------------------------------------------------------- sync tools
# Each returns the sync service's result (a TypedDict, sync/results.py) as the plain dict its
# annotation names: the SDK derives the tool's output schema from that annotation.


def nmem_sync(
    action: Annotated[
        Literal["seed", "push", "pull", "full"],
        Field(
            description="full: pull, resolve conflicts, push, verify (the usual). pull: fetch "
            "other devices' changes. push: send local changes. seed: once, after sync was first "
            "configured, make memories written before then eligible for push."
        ),
    ] = "full",
    strategy: Annotated[
        Strategy | None,
        Field(description="Conflict strategy for this call only (default: the configured one)."),
    ] = None,
) -> dict[str, Any]:
    """Sync the current brain with the user's hub now.

    Use it when the user asks to sync, before they switch machines, or after fixing a sync error;
    auto-sync normally does this in the background after writes. Needs sync configured (see
    nmem_sync_config). Returns what was pulled, pushed, resolved and whether the result verified.
    """
    result = service.run_sync(action, strategy=strategy, kept=HUB)
    indexer.start(result["brain"])  # a large pull's concept graph, on another core
    return dict(result)


def nmem_sync_config(
    action: Annotated[
        Literal["get", "set", "setup"],
        Field(
            description="get: show the settings. set: change the fields given. setup: "
            "step-by-step instructions for the user's current state."
        ),
    ],
    hub_url: Annotated[
        str | None,
        Field(
            max_length=2048,
            description="The hub, e.g. https://nmem.example.workers.dev or http://127.0.0.1:8000 "
            "(plain http only for loopback and LAN addresses). Empty string clears it.",
        ),
    ] = None,
    # No length or pattern here: a schema error would quote the value back, and this is a key.
    # The sync service checks it and says what is wrong without repeating it.
    api_key: Annotated[
        str | None, Field(description="The account's key, nmk_... Empty string clears it.")
    ] = None,
    ca_cert: Annotated[
        str | None,
        Field(
            max_length=4096,
            description="Path of a PEM CA certificate to trust for an https hub with a "
            "self-signed certificate. Empty string clears it.",
        ),
    ] = None,
    conflict_strategy: Annotated[
        Strategy | None,
        Field(description="Who wins when two devices edited the same memory."),
    ] = None,
    auto_sync: Annotated[
        bool | None, Field(description="Sync in the background after remember and recall.")
    ] = None,
) -> dict[str, Any]:
    """Read or change how this device syncs its memory; the API key is only ever shown masked.

    Sync turns on once hub_url and api_key are both set (a hub that needs no key: no key);
    setting hub_url asks the hub, and `warning` says what is still missing. Use it with
    action="setup" when the user wants their memory on another machine or asks how sync works:
    it explains the next steps (start or deploy a hub, register, connect, first sync). Use
    action="set" only with values the user gave you.
    """
    if action == "set":
        return dict(
            service.configure(
                hub_url=hub_url,
                api_key=api_key,
                ca_cert=ca_cert,
                conflict_strategy=conflict_strategy,
                auto_sync=auto_sync,
            )
        )
    if (hub_url, api_key, ca_cert, conflict_strategy, auto_sync) != (None,) * 5:
        raise InvalidInput(
            MSG_ACTION_NO_SETTINGS.format(action=action), hint=HINT_ACTION_NO_SETTINGS
        )
    return dict(service.get_config() if action == "get" else service.setup_instructions())


def nmem_sync_status() -> dict[str, Any]:
    """Whether sync is on and healthy.

    Shows: enabled, hub URL, the API key masked, conflict strategy, auto-sync, this device, the
    hub's registered devices with their last sync time, changes pending a push, open conflicts,
    quarantined records, the last sync result and last error, hub tier and usage (when the hub
    answers). Use it when the user asks about sync or a sync failed.
    """
    return dict(service.status())


def nmem_sync_conflicts() -> dict[str, Any]:
    """List the open sync conflicts of the current brain, newest first.

    When two devices edited the same memory before syncing, the conflict strategy picked a winner;
    the loser was kept as a conflict copy, never dropped. Each entry shows both sides (a preview,
    the device, the clock). Use it when nmem_sync_status reports conflicts or the user misses an
    edit; bring a loser back with nmem_sync_restore.
    """
    return {"conflicts": service.list_conflicts()}


def nmem_sync_restore(
    conflict_id: Annotated[
        str, Field(pattern=ID_PATTERN, description="A conflict id from nmem_sync_conflicts.")
    ],
) -> dict[str, Any]:
    """Make the losing side of a sync conflict current again, as a new version that syncs.

    Use it only when the user wants the version that lost a conflict back; the version it replaces
    is itself kept as a conflict copy.
    """
    restored = service.restore(conflict_id)
    service.after_write(current_brain_name(), AUTO_SYNC)
    return dict(restored)


# ---------------------------------------------------------------------------- serving

READ_ONLY = ToolAnnotations(read_only_hint=True)
TOOLS: tuple[tuple[Callable[..., BaseModel | dict[str, Any]], ToolAnnotations | None], ...] = (
    (nmem_remember, ToolAnnotations(destructive_hint=False, idempotent_hint=True)),
    (nmem_recall, ToolAnnotations(destructive_hint=False)),
    (nmem_edit, ToolAnnotations(idempotent_hint=True)),
    (nmem_forget, ToolAnnotations(destructive_hint=True, idempotent_hint=False)),
    (nmem_list, READ_ONLY),
    (nmem_show, READ_ONLY),
    (nmem_stats, READ_ONLY),
    (nmem_sync, ToolAnnotations(destructive_hint=False, open_world_hint=True)),
    (nmem_sync_config, ToolAnnotations(destructive_hint=False)),
    (nmem_sync_status, READ_ONLY),
    (nmem_sync_conflicts, READ_ONLY),
    (nmem_sync_restore, ToolAnnotations(destructive_hint=False)),
)


#: The tools that only read and write this machine's brain, a few milliseconds each: run on the
#: event loop itself. The SDK runs a plain function in a worker thread, and the two thread
#: hand-overs (and their wake-ups) were a large part of a recall's cost over MCP. The loop is
#: blocked meanwhile, which costs nothing here: one client on stdio, and what it sends meanwhile
#: (a cancel, a ping) waits in the pipe and is read a few milliseconds later, as it would be for
#: a call that came first. The tools that may wait for the hub (remember too, for an encrypted
#: brain's first key) still run in a worker thread, so the server keeps answering meanwhile.
ON_LOOP = frozenset({nmem_recall, nmem_edit, nmem_forget, nmem_list, nmem_show, nmem_stats})


def _adapted(
    tool: Callable[..., BaseModel | dict[str, Any]],
) -> Callable[..., Awaitable[CallToolResult]]:
    """Map library errors to tool errors and render the result; the SDK reads `tool`'s signature.

    The text is the structured content as compact JSON: agents read the text, and indentation
    would only spend their context.
    """
    on_loop = tool in ON_LOOP

    @functools.wraps(tool)
    async def run(**arguments: Any) -> CallToolResult:
        try:
            if on_loop:
                result = tool(**arguments)
            else:
                result = await anyio.to_thread.run_sync(functools.partial(tool, **arguments))
        except NmemError as exc:
            # The CLI's message with its hint, its commands as tool calls; the SDK prefixes
            # the tool's name.
            raise ToolError(as_calls(str(exc))) from exc
        except Exception as exc:  # a bug: one clear line for the agent, the trace in the log
            log.debug("tool %s failed", tool.__name__, exc_info=True)
            raise ToolError(str(InternalError.of(exc))) from exc
        data = (
            result.model_dump(mode="json", exclude_none=True)
            if isinstance(result, BaseModel)
            else result
        )
        text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
        return CallToolResult(
            content=[TextContent(type="text", text=text)], structured_content=data
        )

    return run


def _description(tool: Callable[..., object]) -> str:
    """The docstring as paragraphs, its source line wrapping undone."""
    paragraphs = inspect.cleandoc(tool.__doc__ or "").split("\n\n")
    return "\n\n".join(" ".join(paragraph.split()) for paragraph in paragraphs)


class NmemServer(MCPServer):
    """The SDK's server, stricter and plainer about arguments: an argument the tool does not
    take is refused (the SDK would drop it silently), an argument error is one line naming the
    field (the SDK's is pydantic's report, with library URLs), and keys are masked in every tool
    error (the SDK's argument errors quote the rejected value, and a key may be pasted into any
    field)."""

    async def call_tool(
        self, name: str, arguments: dict[str, Any], context: Any = None
    ) -> CallToolResult | InputRequiredResult:
        tool = self._tool_manager.get_tool(name)
        if tool is not None:
            taken = list(tool.parameters.get("properties", {}))
            unknown = sorted(set(arguments or {}) - set(taken))
            if unknown:
                raise ToolError(
                    redact_keys(
                        f"Error executing tool {name}: unknown argument"
                        f"{'s' * (len(unknown) > 1)} {', '.join(unknown)}"
                        f" ({name} takes {', '.join(taken) or 'no arguments'})"
                    )
                )
        try:
            return await super().call_tool(name, arguments, context)
        except ToolError as exc:
            message = redact_keys(_plain(name, exc))
            if message == str(exc):
                raise
            # the same class and cause: the SDK logs argument errors by field names only
            raise type(exc)(message) from exc.__cause__

    async def list_tools(self) -> list[ListedTool]:
        """The SDK's list, each output schema published flat (mcp/schemas.py)."""
        return [
            tool.model_copy(update={"output_schema": schemas.flat(tool.output_schema)})
            if tool.output_schema
            else tool
            for tool in await super().list_tools()
        ]

    async def run_on(self, lines: stdio.Lines, out: stdio.Wire) -> None:
        """Serve the messages of `lines`, answering on `out` (mcp/stdio.py)."""
        # Both are the async files stdio_server reads and writes, minus anyio.wrap_file's thread
        # hop per line (mcp/stdio.py).
        stdin = cast(anyio.AsyncFile[str], lines)
        stdout = cast(anyio.AsyncFile[str], out)
        async with stdio_server(stdin, stdout) as (read_stream, write_stream):
            lowlevel = self._lowlevel_server
            await lowlevel.run(read_stream, write_stream, lowlevel.create_initialization_options())


def _plain(name: str, exc: ToolError) -> str:
    """An argument error as one line, `field: what is wrong` per field; others as they are."""
    cause = exc.__cause__
    if not isinstance(cause, ValidationError):
        return str(exc)
    problems = [
        f"{'.'.join(str(part) for part in error['loc']) or 'arguments'}: {error['msg']}"
        for error in cause.errors(include_url=False)
    ]
    return f"Error executing tool {name}: {'; '.join(problems)}"


def build_server() -> NmemServer:
    server = NmemServer(
        stdio.NAME, title=stdio.TITLE, version=__version__, instructions=stdio.INSTRUCTIONS
    )
    for tool, hints in TOOLS:
        server.add_tool(_adapted(tool), description=_description(tool), annotations=hints)
    offers.register(server, _description)
    return server


def main(log_level: str = "warning") -> None:
    """Serve over stdio until the client closes stdin."""
    serve(stdio.start(), log_level)


def serve(wire: tuple[stdio.Lines, stdio.Wire], log_level: str = "warning") -> None:
    """Serve on a wire stdio.start() claimed (`nmem mcp` claims it before importing this)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RedactKeys())
    logging.basicConfig(
        handlers=[handler],
        level=log_level.upper(),
        format="%(asctime)s nmem-mcp %(levelname)s %(name)s: %(message)s",
    )
    lines, out = wire
    server = build_server()
    # What is loaded by now (the SDK's and pydantic's models, the tools) lives as long as the
    # process: keep it out of the collector's later passes, each of which would walk it all
    # again while recalls allocate (200 recalls at 100K: 531 ms collecting, 76 ms frozen).
    gc.freeze()
    try:
        # uvloop (a dependency where it builds: not on Windows) runs the SDK's many small
        # tasks and wake-ups per call in C.
        anyio.run(
            server.run_on,
            lines,
            out,
            backend_options={"use_uvloop": sys.platform != "win32"},
        )
    finally:
        # A write just before the client hung up still reaches the hub, if the client lets us
        # finish; what has not started by then is dropped (the next sync carries it).
        AUTO_SYNC.wait(timeout=10.0)
        AUTO_SYNC.cancel()
        HUB.close()
        LIVE.close()
