"""What the MCP server offers besides tools: prompts and resources.

Prompts (a client lists them for the user, e.g. as slash commands):
  session_context   the block the SessionStart hook adds (hooks/context.py), on demand
  save_learnings    the request the Stop hook makes (hooks/capture.py), on demand

Resources (read-only, JSON):
  nmem://memory/{id}      one memory, as nmem_recall shows it
  nmem://memories/recent  the project's 20 newest memories (and those of no project)
  nmem://stats            the brain's counts, as nmem_stats returns them

Like the tools, they work on the current brain (kept open: mcp/session.py) and the project of
the folder the client started the server in. A library error is a resource error with the CLI's
message.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ResourceError

from neuralmemory import config
from neuralmemory.core.brain import Brain
from neuralmemory.core.project import detect_project, resolve_project
from neuralmemory.errors import NmemError
from neuralmemory.hooks.capture import SAVE_REQUEST
from neuralmemory.hooks.context import session_block
from neuralmemory.hooks.options import load_options
from neuralmemory.mcp.hints import as_calls
from neuralmemory.mcp.results import MemoryOut
from neuralmemory.mcp.session import LIVE

RECENT = 20
NOTHING_YET = (
    "Neural Memory holds nothing for this project yet. Save what a later session should know "
    "with nmem_remember."
)


def session_context() -> str:
    """What the user's memory holds for this project: instructions, preferences and decisions
    first, then the strongest and newest memories (what the SessionStart hook adds)."""
    with _brain() as brain:
        found = session_block(
            brain,
            detect_project(Path.cwd()),
            load_options().context_tokens,
            config.load_config(),
        )
    return NOTHING_YET if found is None else found[0]


def save_learnings() -> str:
    """Ask the agent to save this session's durable learnings to Neural Memory."""
    return SAVE_REQUEST


def memory(id: str) -> str:
    """One memory by its id."""
    with _brain() as brain:
        return _json(MemoryOut.of(brain.get(id)).model_dump(mode="json", exclude_none=True))


def recent() -> str:
    """This project's newest memories (and those of no project), newest first."""
    with _brain() as brain:
        found = brain.recent(RECENT, project=resolve_project(None, Path.cwd()))
    return _json(
        {"memories": [MemoryOut.of(m).model_dump(mode="json", exclude_none=True) for m in found]}
    )


def stats() -> str:
    """The brain's counts (as nmem_stats returns them)."""
    with _brain() as brain:
        return _json(brain.stats().to_json())


@contextmanager
def _brain() -> Iterator[Brain]:
    try:
        with LIVE.use() as brain:
            yield brain
    except NmemError as exc:
        raise ResourceError(as_calls(str(exc))) from exc


def _json(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


PROMPTS: tuple[Callable[[], str], ...] = (session_context, save_learnings)
RESOURCES: tuple[tuple[str, Callable[..., str]], ...] = (
    ("nmem://memory/{id}", memory),
    ("nmem://memories/recent", recent),
    ("nmem://stats", stats),
)


def register(server: MCPServer, describe: Callable[[Callable[..., object]], str]) -> None:
    for prompt in PROMPTS:
        server.prompt(name=prompt.__name__, description=describe(prompt))(prompt)
    for uri, reader in RESOURCES:
        server.resource(
            uri, name=reader.__name__, description=describe(reader), mime_type="application/json"
        )(reader)
