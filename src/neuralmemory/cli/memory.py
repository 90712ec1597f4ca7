"""`nmem remember | recall | edit | forget | stats`: parse, call the Brain, format.

Heavy imports (the memory core, rich) happen inside the commands so that starting nmem stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from neuralmemory.cli.common import brain_option, emit_json, handled, json_option, split_tags
from neuralmemory.core.extract import MEMORY_TYPES as TYPES

if TYPE_CHECKING:
    from neuralmemory.core.brain import Brain

tags_option = click.option(
    "--tags", multiple=True, help="Comma-separated tags (repeatable), e.g. --tags billing,db."
)


def _project(value: str | None) -> str | None:
    from pathlib import Path

    from neuralmemory.core.project import resolve_project

    return resolve_project(value, Path.cwd())


def _open(name: str | None) -> Brain:
    from neuralmemory.core.brains import open_brain

    return open_brain(name)


def _resume_indexing(name: str) -> None:
    """A brain whose concept graph is still being built (a pull stored it text first) gets its
    indexer back if none runs: after a kill or a crash, the next command resumes it."""
    from neuralmemory.sync import indexer

    indexer.start(name)


def _after_write(name: str) -> None:
    """Let auto-sync know (it is debounced, detached, and never fails the command)."""
    from neuralmemory import config

    cfg = config.load_config()
    if cfg.sync_enabled and cfg.auto_sync:
        from neuralmemory.sync import service

        service.after_write(name)


supersedes_option = click.option(
    "--supersedes",
    metavar="OLD_ID",
    help="This memory replaces OLD_ID: kept in history, marked superseded, out of recall.",
)
# list filters on when a memory was remembered; recall on the day its text names, if any.
since_option = click.option(
    "--since", help="Only memories of then or later: 7d, 12h, 30m, 2w or a date (UTC)."
)
until_option = click.option(
    "--until", help="Only memories of before then (a date: to its end), as --since."
)


def _window(since: str | None, until: str | None) -> tuple[int | None, int | None]:
    from neuralmemory.clock import wall_ms
    from neuralmemory.core.timespan import parse_window

    return parse_window(since, until, wall_ms())


def _table(title: str, columns: list[str], rows: list[list[str]]) -> None:
    """A table at most 80 columns wide (or the terminal's width): a column named `id` is never
    wrapped, so an id can be copied whole; the others fold."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for n, column in enumerate(columns):
        if column == "id":
            widest = max((len(row[n]) for row in rows), default=2)
            table.add_column(column, no_wrap=True, min_width=widest)
        else:
            table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*row)
    console = Console()
    if not console.is_terminal:
        console.width = 80
    console.print(table)


@click.command()
@click.argument("content")
@click.option("--type", "type_", type=click.Choice(TYPES), help="Memory type (auto-detected).")
@tags_option
@click.option("--priority", type=int, default=5, show_default=True, help="0 to 10.")
@click.option("--expires-days", type=int, help="Forget it after this many days.")
@click.option("--encrypted", is_flag=True, help="Encrypt the content with the brain's key.")
@click.option(
    "--project",
    help="The project it belongs to (default: the current folder's git remote or top folder;"
    ' "" for none).',
)
@supersedes_option
@brain_option
@json_option
@handled
def remember(
    content: str,
    type_: str | None,
    tags: tuple[str, ...],
    priority: int,
    expires_days: int | None,
    encrypted: bool,
    project: str | None,
    supersedes: str | None,
    brain: str | None,
    as_json: bool,
) -> None:
    """Remember CONTENT; prints the new memory's id."""
    if encrypted:
        from neuralmemory.sync import keyshare

        keyshare.before_encrypting(brain)  # another device may have keyed the brain already
    with _open(brain) as opened:
        result = opened.remember(
            content,
            type=type_,
            tags=split_tags(tags),
            priority=priority,
            expires_days=expires_days,
            encrypted=encrypted,
            project=_project(project),
            supersedes=supersedes,
        )
        name = opened.name
    if result.created or supersedes:
        _after_write(name)
    if as_json:
        emit_json(result.to_json())
        return
    memory = result.memory
    verb = "Remembered" if result.created else "Already remembered"
    tags_text = f", tags: {', '.join(memory.tags)}" if memory.tags else ""
    click.echo(f"{verb} {memory.id} ({memory.type}{tags_text})")
    if supersedes:
        click.echo(f"It supersedes {supersedes} (kept, out of recall: nmem show {supersedes})")


@click.command()
@click.argument("query")
@click.option("--limit", type=int, default=10, show_default=True, help="1 to 100 results.")
@tags_option
@click.option("--type", "type_", type=click.Choice(TYPES), help="Only memories of this type.")
@click.option(
    "--project",
    help="Its memories first, then those of no project (default: the current folder's);"
    ' "*" for every project.',
)
@since_option
@until_option
@brain_option
@json_option
@handled
def recall(
    query: str,
    limit: int,
    tags: tuple[str, ...],
    type_: str | None,
    project: str | None,
    since: str | None,
    until: str | None,
    brain: str | None,
    as_json: bool,
) -> None:
    """Recall memories related to QUERY, by association; best first (the project's first)."""
    start, end = _window(since, until)
    with _open(brain) as opened:
        hits = opened.recall(
            query,
            limit=limit,
            tags=split_tags(tags),
            type=type_,
            project=_project(project),
            since=start,
            until=end,
        )
        name = opened.name
    _resume_indexing(name)
    if hits:
        _after_write(name)  # recall reinforced what it returned
    if as_json:
        emit_json({"query": query, "brain": name, "results": [hit.to_json() for hit in hits]})
        return
    if not hits:
        click.echo("No memories found.")
        return
    _table(
        f"Recall: {query}",
        ["#", "score", "id", "type", "memory", "via"],
        [
            [
                str(n),
                f"{hit.score:.2f}",
                hit.memory.id,
                hit.memory.type,
                hit.memory.content if hit.memory.content is not None else "(encrypted, no key)",
                " > ".join(map(_step, hit.path)) if hit.via != "text" else "words",
            ]
            for n, hit in enumerate(hits, 1)
        ],
    )


def _step(step: str) -> str:
    """A path step as the table shows it: a memory by its id's start (the id column and --json
    have it whole), so the path stays readable at 80 columns."""
    return step[7:17] + "…" if step.startswith("memory:") else step


@click.command()
@click.argument("memory_id")
@click.option("--content", help="New content.")
@tags_option
@click.option("--priority", type=int, help="0 to 10.")
@click.option("--type", "type_", type=click.Choice(TYPES), help="New type.")
@supersedes_option
@brain_option
@json_option
@handled
def edit(
    memory_id: str,
    content: str | None,
    tags: tuple[str, ...],
    priority: int | None,
    type_: str | None,
    supersedes: str | None,
    brain: str | None,
    as_json: bool,
) -> None:
    """Edit a memory: a new version of the same memory (what sync arbitrates)."""
    with _open(brain) as opened:
        memory = opened.edit(
            memory_id,
            content=content,
            tags=split_tags(tags),
            priority=priority,
            type=type_,
            supersedes=supersedes,
        )
        name = opened.name
    _after_write(name)
    if as_json:
        emit_json(memory.to_json())
        return
    click.echo(f"Edited {memory.id}")
    if supersedes:
        click.echo(f"It supersedes {supersedes} (kept, out of recall: nmem show {supersedes})")


@click.command()
@click.argument("memory_id")
@click.option("--dry-run", is_flag=True, help="Say what would be deleted; delete nothing.")
@brain_option
@json_option
@handled
def forget(memory_id: str, dry_run: bool, brain: str | None, as_json: bool) -> None:
    """Forget a memory (a tombstone that syncs, so it never comes back)."""
    with _open(brain) as opened:
        gone = opened.forget(memory_id, dry_run=dry_run)
        name = opened.name
    if not dry_run:
        _after_write(name)
    if as_json:
        emit_json(gone.to_json())
        return
    links = f" and {gone.links} learned link{'s' * (gone.links != 1)}" if gone.links else ""
    if dry_run:
        text = gone.memory.content if gone.memory and gone.memory.content else "(encrypted)"
        click.echo(f"Would forget {memory_id}{links}: {text}")
        click.echo(f"Nothing was deleted; to delete it: nmem forget {memory_id}")
        return
    click.echo(f"Forgot {memory_id}{links}")


@click.command()
@brain_option
@json_option
@handled
def stats(brain: str | None, as_json: bool) -> None:
    """Counts of memories, neurons, synapses, pending changes, and the database size."""
    with _open(brain) as opened:
        data: dict[str, Any] = opened.stats().to_json()
    _resume_indexing(data["brain"])
    if as_json:
        emit_json(data)
        return
    waiting = data["graph_waiting"]  # shown only while a pull's graph is being built
    building = [["  graph to build", f"{waiting:,}"]] if waiting else []
    _table(
        f"Brain {data['brain']}",
        ["", "count"],
        [["brain id", data["brain_id"]]]
        + [
            [label, f"{data[key]:,}"]
            for label, key in (
                ("memories", "memories"),
                ("  encrypted", "encrypted"),
                ("neurons", "neurons"),
                ("synapses", "synapses"),
                ("relations", "relations"),
                ("learned links", "links"),
                ("sync records", "records"),
                ("pending push", "pending"),
                ("database bytes", "db_bytes"),
            )
        ]
        + building
        + [
            [f"  project {name or '(none)'}", f"{count:,}"]
            for name, count in data["projects"].items()
        ],
    )
