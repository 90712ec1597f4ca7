"""The `nmem` console script.

`nmem hook EVENT` runs on every prompt of a Claude Code session, so it is answered here without
loading click and the other commands (about a third of its start-up); every other command line
goes to the click CLI (cli/main.py), which also lists `nmem hook` and parses it the same way.
"""

from __future__ import annotations

import os
import sys

from neuralmemory.hooks.runner import EVENTS, run_hook


def main() -> None:
    args = sys.argv[1:]
    if len(args) == 2 and args[0] == "hook" and args[1] in EVENTS:
        answer_event(args[1])
        return
    from neuralmemory.cli.main import cli

    cli()


def answer_event(event: str) -> None:
    """Read the client's event JSON on stdin, print the answer (or nothing), never fail."""
    outcome = run_hook(event, sys.stdin.read())
    if outcome.output:
        sys.stdout.write(outcome.output + "\n")
    sys.stdout.flush()
    if not outcome.finished:
        os._exit(0)  # the work thread outlived the limit: do not wait for it
