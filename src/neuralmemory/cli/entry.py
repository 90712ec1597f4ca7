"""The `nmem` console script.

Two command lines are started by an agent's client and waited for, so they are served here
without loading click and the other commands: `nmem hook EVENT`, on every prompt of a Claude Code
session, and `nmem mcp`, whose wire is claimed and whose `initialize` is answered before the MCP
SDK is imported (mcp/stdio.py). Every other command line goes to the click CLI (cli/main.py),
which also lists both and parses them the same way.
"""

from __future__ import annotations

import os
import sys


def main() -> None:
    args = sys.argv[1:]
    if len(args) == 2 and args[0] == "hook":
        from neuralmemory.hooks.runner import EVENTS

        if args[1] in EVENTS:
            answer_event(args[1])
            return
    if args == ["mcp"]:
        from neuralmemory.mcp import stdio

        wire = stdio.start()
        from neuralmemory.mcp.server import serve

        serve(wire)
        return
    from neuralmemory.cli.main import cli

    cli()


def answer_event(event: str) -> None:
    """Read the client's event JSON on stdin, print the answer (or nothing), never fail."""
    from neuralmemory.hooks.runner import run_hook

    outcome = run_hook(event, sys.stdin.read())
    if outcome.output:
        sys.stdout.write(outcome.output + "\n")
    sys.stdout.flush()
    if not outcome.finished:
        os._exit(0)  # the work thread outlived the limit: do not wait for it
