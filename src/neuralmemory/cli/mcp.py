"""`nmem mcp`: the stdio MCP server, and `nmem mcp install`: the client config that starts it.

The MCP SDK is imported only when the server starts, so `nmem mcp install` and every other command
stay fast.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from neuralmemory.errors import NmemError
from neuralmemory.mcp.install import (
    TARGETS,
    Target,
    claude_command,
    json_snippet,
    nmem_executable,
    server_entry,
    write_target,
)


@click.group(invoke_without_command=True)
@click.option(
    "--log-level",
    type=click.Choice(("debug", "info", "warning", "error")),
    default="warning",
    show_default=True,
    help="What the server logs to stderr.",
)
@click.pass_context
def mcp(ctx: click.Context, log_level: str) -> None:
    """Serve the nmem_* tools to an agent over stdio (Claude Code, Cursor, any MCP client).

    stdout carries the protocol; logs go to stderr. `nmem mcp install` prints the set-up.
    """
    if ctx.invoked_subcommand is None:
        from neuralmemory.mcp.server import main

        main(log_level)


@mcp.command()
@click.option(
    "--write",
    "targets",
    type=click.Choice(TARGETS),
    multiple=True,
    help="Merge the nmem server into this client's config file (repeatable): the project's "
    ".mcp.json (claude-code), .cursor/mcp.json (cursor), .vscode/mcp.json (vscode); the user's "
    "~/.cursor/mcp.json (cursor-user), Claude Desktop's, Windsurf's, Gemini CLI's "
    "~/.gemini/settings.json, Codex CLI's ~/.codex/config.toml.",
)
@click.option(
    "--project-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path(),
    show_default=True,
    help="The project whose files --write claude-code, cursor or vscode edits.",
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def install(targets: tuple[Target, ...], project_dir: Path, as_json: bool) -> None:
    """Print the Claude Code and Cursor config that starts `nmem mcp`; --write merges it into
    a client's file (a project's committed file names `nmem` on PATH, no personal path).

    Writing keeps every other server in the file and replaces the file atomically.
    """
    try:
        executable = nmem_executable()
        entry = server_entry(executable)
        written = [str(write_target(t, project_dir, executable)) for t in targets]
    except NmemError as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        document = {
            "claude_code_command": claude_command(entry),
            "mcp_json": {"mcpServers": {"nmem": entry}},
            "written": written,
        }
        click.echo(json.dumps(document, indent=2))
        return
    click.echo("Claude Code, for every project (run once):\n")
    click.echo(f"  {claude_command(entry)}\n")
    click.echo(
        "Cursor (.cursor/mcp.json in a project, ~/.cursor/mcp.json for all) "
        "or a Claude Code project (.mcp.json):\n"
    )
    click.echo(json_snippet(entry))
    click.echo()
    for path_text in written:
        click.echo(f"Wrote {path_text} (other servers kept).")
    if not written:
        click.echo(f"To write it for you: nmem mcp install --write {'|'.join(TARGETS)}")
