"""`nmem hooks install | uninstall | status`: nmem's entries in Claude Code's settings, and
`nmem hook EVENT`: what Claude Code runs for each event. Parse, call the hooks layer, print.

`nmem hook` is on the path of every prompt: the console script (cli/entry.py) answers it without
loading click, and the work runs under the hooks layer's time limit (hooks/runner.py).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import click

from neuralmemory.cli.common import emit_json, handled, json_option
from neuralmemory.cli.entry import answer_event
from neuralmemory.hooks.install import CLIENTS, SCOPES, Scope, install, status, uninstall
from neuralmemory.hooks.runner import EVENTS

client_argument = click.argument(
    "client", type=click.Choice(CLIENTS), default="claude-code", required=False
)
scope_option = click.option(
    "--scope",
    type=click.Choice(SCOPES),
    default="user",
    show_default=True,
    help="user = ~/.claude/settings.json (every project), "
    "project = .claude/settings.json of --project-dir (meant to be committed).",
)
project_option = click.option(
    "--project-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path(),
    show_default=True,
    help="The project whose .claude/settings.json --scope project edits.",
)


@click.group()
def hooks() -> None:
    """Claude Code hooks: context at session start, recall on each prompt, a reminder to save."""


@hooks.command("install")
@client_argument
@scope_option
@project_option
@json_option
@handled
def install_command(client: str, scope: Scope, project_dir: Path, as_json: bool) -> None:
    """Add nmem's hooks to CLIENT's settings, keeping every other setting and hook."""
    from neuralmemory.mcp.install import nmem_executable

    change = install(scope, project_dir.absolute(), str(nmem_executable()))
    if as_json:
        emit_json({"client": client, "scope": scope, **_change_json(change)})
        return
    again = " (replacing the ones installed before)" if change.removed else ""
    click.echo(f"Installed nmem hooks in {change.path}{again}:")
    for name, command in status(scope, project_dir.absolute())["events"].items():
        click.echo(f"  {name:<17} {command}")
    click.echo("Claude Code runs them from its next session (`/hooks` in Claude Code lists them).")
    if scope == "project" and shutil.which("nmem") is None:
        click.echo(
            "Note: `nmem` is not on this shell's PATH, and the project's hooks run `nmem` from"
            " PATH: put it there (e.g. a link in ~/.local/bin) or use --scope user."
        )


@hooks.command("uninstall")
@client_argument
@scope_option
@project_option
@json_option
@handled
def uninstall_command(client: str, scope: Scope, project_dir: Path, as_json: bool) -> None:
    """Remove exactly the hooks `nmem hooks install` added; nothing else changes."""
    change = uninstall(scope, project_dir.absolute())
    if as_json:
        emit_json({"client": client, "scope": scope, **_change_json(change)})
        return
    if not change.removed:
        click.echo(f"No nmem hooks in {change.path}; nothing changed.")
        return
    events = ", ".join(change.events)
    click.echo(f"Removed {change.removed} nmem hook(s) from {change.path}: {events}")


@hooks.command("status")
@project_option
@json_option
@handled
def status_command(project_dir: Path, as_json: bool) -> None:
    """Show which nmem hooks are installed, for the user and for the project."""
    reports = [status(scope, project_dir.absolute()) for scope in SCOPES]
    if as_json:
        emit_json({"client": "claude-code", "scopes": reports})
        return
    for report in reports:
        click.echo(f"{report['scope']}: {report['path']}")
        if report["error"]:
            click.echo(f"  cannot read it: {report['error']}")
        elif not report["events"]:
            click.echo("  no nmem hooks (nmem hooks install" + _scope_flag(report) + ")")
        for name, command in report["events"].items():
            click.echo(f"  {name:<17} {command}")
        missing = [e for e in EVENTS.values() if report["events"] and e not in report["events"]]
        if missing:
            click.echo(f"  missing: {', '.join(missing)} (nmem hooks install{_scope_flag(report)})")


def _scope_flag(report: dict[str, Any]) -> str:
    return " --scope project" if report["scope"] == "project" else ""


def _change_json(change: Any) -> dict[str, Any]:
    return {"path": str(change.path), "events": change.events, "removed": change.removed}


@click.command()
@click.argument("event", type=click.Choice(tuple(EVENTS)))
def hook(event: str) -> None:
    """What Claude Code runs for EVENT: reads its JSON on stdin, prints the answer (or nothing).

    Never fails the client: every problem is one line in $NMEM_HOME/logs/hooks.log.
    """
    answer_event(event)
