"""The library's hints name `nmem ...` commands (the CLI shows them as they are); an agent
talking MCP is told the tool call that does the same instead. Commands without a tool (keys,
brains, the hub operator's) stay as they are: only a person at a shell can run those.
"""

from __future__ import annotations

import re

#: `nmem ...` as written in messages -> the call an agent makes
CALLS = {
    "nmem sync config setup": 'nmem_sync_config(action="setup")',
    "nmem sync config get": 'nmem_sync_config(action="get")',
    "nmem sync status": "nmem_sync_status()",
    "nmem sync conflicts": "nmem_sync_conflicts()",
    "nmem sync full": 'nmem_sync(action="full")',
    "nmem sync push": 'nmem_sync(action="push")',
    "nmem sync pull": 'nmem_sync(action="pull")',
    "nmem sync seed": 'nmem_sync(action="seed")',
    "nmem stats": "nmem_stats()",
}
_COMMAND = re.compile(r"(?:\brun )?`(" + "|".join(map(re.escape, CALLS)) + r")`")


def as_calls(message: str) -> str:
    """`message` with each known command, and the "run" before it, as its MCP call."""

    def call(match: re.Match[str]) -> str:
        verb = "call " if match.group(0).startswith("run ") else ""
        return f"{verb}{CALLS[match.group(1)]}"

    return _COMMAND.sub(call, message)
