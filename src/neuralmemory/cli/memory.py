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
    from neuralmemory.core.brain import open_brain

    return open_brain(name)


def _after_write(name: str) -> None:
    """Let auto-sync know (it is debounced, detached, and never fails the command)."""
    from neuralmemory import config

    cfg = config.load_config()
    if cfg.sync_enabled and cfg.auto_sync:
        from neuralmemory.sync import service

        service.after_write(name)


def _table(title: str, columns: list[str], rows: list[list[str]]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*row)
    Console().print(table)


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
        )
        name = opened.name
    if result.created:
        _after_write(name)
    if as_json:
        emit_json(result.to_json())
        return
    memory = result.memory
    verb = "Remembered" if result.created else "Already remembered"
    tags_text = f", tags: {', '.join(memory.tags)}" if memory.tags else ""
    click.echo(f"{verb} {memory.id} ({memory.type}{tags_text})")


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
@brain_option
@json_option
@handled
def recall(
    query: str,
    limit: int,
    tags: tuple[str, ...],
    type_: str | None,
    project: str | None,
    brain: str | None,
    as_json: bool,
) -> None:
    """Recall memories related to QUERY, by association; best first (the project's first)."""
    with _open(brain) as opened:
        hits = opened.recall(
            query, limit=limit, tags=split_tags(tags), type=type_, project=_project(project)
        )
        name = opened.name
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
                " > ".join(hit.path) if hit.via != "text" else "words",
            ]
            for n, hit in enumerate(hits, 1)
        ],
    )


@click.command()
@click.argument("memory_id")
@click.option("--content", help="New content.")
@tags_option
@click.option("--priority", type=int, help="0 to 10.")
@click.option("--type", "type_", type=click.Choice(TYPES), help="New type.")
@brain_option
@json_option
@handled
def edit(
    memory_id: str,
    content: str | None,
    tags: tuple[str, ...],
    priority: int | None,
    type_: str | None,
    brain: str | None,
    as_json: bool,
) -> None:
    """Edit a memory: a new version of the same memory (what sync arbitrates)."""
    with _open(brain) as opened:
        memory = opened.edit(
            memory_id, content=content, tags=split_tags(tags), priority=priority, type=type_
        )
        name = opened.name
    _after_write(name)
    if as_json:
        emit_json(memory.to_json())
        return
    click.echo(f"Edited {memory.id}")


@click.command()
@click.argument("memory_id")
@brain_option
@json_option
@handled
def forget(memory_id: str, brain: str | None, as_json: bool) -> None:
    """Forget a memory (a tombstone that syncs, so it never comes back)."""
    with _open(brain) as opened:
        opened.forget(memory_id)
        name = opened.name
    _after_write(name)
    if as_json:
        emit_json({"id": memory_id, "forgotten": True})
        return
    click.echo(f"Forgot {memory_id}")


@click.command()
@brain_option
@json_option
@handled
def stats(brain: str | None, as_json: bool) -> None:
    """Counts of memories, neurons, synapses, pending changes, and the database size."""
    with _open(brain) as opened:
        data: dict[str, Any] = opened.stats().to_json()
    if as_json:
        emit_json(data)
        return
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
        + [
            [f"  project {name or '(none)'}", f"{count:,}"]
            for name, count in data["projects"].items()
        ],
    )
