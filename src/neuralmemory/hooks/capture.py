"""Capture without an LLM of our own: ask the agent, once per session, to save what it learned.

A session *did work* when its transcript (the JSONL file Claude Code names in every event) holds
tool calls other than nmem's own; it *saved* when one of them was nmem_remember (the MCP tool, or
`nmem remember` in a shell command). A session that did work and saved nothing is asked once:

- at Stop, by blocking the stop with a reason the agent reads and acts on (never when the stop
  is already the continuation of a Stop hook's block: `stop_hook_active`);
- at a manual PreCompact (`/compact`), by blocking that compaction once, with a reason the user
  reads; running /compact again compacts. An automatic compaction is never blocked: the context
  is full and blocking it could leave the session nowhere to go.

capture = "off" in [hooks] turns both off. An unreadable transcript counts as no work.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from neuralmemory.hooks.session import SessionState

OWN_TOOLS = "mcp__nmem__"  # Claude Code's name for the nmem server's tools
SAVE_TOOL = "nmem_remember"

SAVE_REQUEST = (
    "Save what a later session should know from this one (a decision and why, a fix for an "
    "error, a preference or instruction from the user, a project fact), each as one "
    "self-contained memory with nmem_remember, with a type and tags (it files them under this "
    "project). Never save secrets; wrap anything private in <private>...</private>."
)
STOP_REASON = (
    "Before you finish: this session did work and saved nothing to Neural Memory. "
    + SAVE_REQUEST
    + " If nothing is worth keeping, just finish. You will not be asked again in this session."
)
PRECOMPACT_REASON = (
    "Neural Memory held this compaction once: this session did work and saved nothing. Ask the "
    "agent to save its durable learnings (decisions, fixes, preferences) with nmem_remember, "
    "then run /compact again (it will not be held twice)."
)


@dataclass(frozen=True)
class Activity:
    tool_calls: int
    saved: bool


def transcript_activity(path: object) -> Activity:
    """Tool calls (nmem's own left out) and whether any saved a memory; nothing for a missing
    or unreadable transcript."""
    calls, saved = 0, False
    if not isinstance(path, str) or not path:
        return Activity(0, False)
    try:
        with Path(path).open("rb") as handle:
            for raw in handle:
                if b'"tool_use"' not in raw:
                    continue
                for name, command in _tool_uses(raw):
                    saved = saved or name.endswith(SAVE_TOOL) or "nmem remember" in command
                    calls += not name.startswith(OWN_TOOLS)
    except OSError:
        return Activity(0, False)
    return Activity(calls, saved)


def _tool_uses(raw: bytes) -> list[tuple[str, str]]:
    """(tool name, shell command or "") of each tool_use in one transcript line."""
    try:
        entry = json.loads(raw)
        content = entry["message"]["content"]
    except (ValueError, KeyError, TypeError):
        return []
    found = []
    for item in content if isinstance(content, list) else []:
        if isinstance(item, dict) and item.get("type") == "tool_use":
            tool_input = item.get("input")
            command = tool_input.get("command") if isinstance(tool_input, dict) else None
            found.append((str(item.get("name", "")), command if isinstance(command, str) else ""))
    return found


def should_ask(state: SessionState, transcript: object) -> bool:
    """True once per session: when it did work and saved nothing (then it is marked asked)."""
    if state.asked:
        return False
    activity = transcript_activity(transcript)
    if activity.tool_calls == 0 or activity.saved:
        return False
    state.asked = True
    return True
