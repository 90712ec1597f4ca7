"""`nmem list | show`: look at what a brain holds. Parse, call core/browse.py, format."""

from __future__ import annotations

import click

from neuralmemory.cli.common import (
    brain_option,
    emit_json,
    handled,
    json_option,
    split_tags,
)
from neuralmemory.cli.memory import _open, _table, _window, since_option, tags_option, until_option
from neuralmemory.core.extract import MEMORY_TYPES as TYPES
from neuralmemory.core.timespan import short_time


@click.command("list")
@tags_option
@click.option("--type", "type_", type=click.Choice(TYPES), help="Only memories of this type.")
@click.option("--project", help="Only memories of this project.")
@since_option
@until_option
@click.option("--limit", type=int, default=20, show_default=True, help="1 to 100 per page.")
@click.option("--before", metavar="ID", help="The page after this memory (what a page ends with).")
@click.option("--all", "everything", is_flag=True, help="Superseded and expired memories too.")
@brain_option
@json_option
@handled
def list_(
    tags: tuple[str, ...],
    type_: str | None,
    project: str | None,
    since: str | None,
    until: str | None,
    limit: int,
    before: str | None,
    everything: bool,
    brain: str | None,
    as_json: bool,
) -> None:
    """List memories, newest first."""
    from neuralmemory.core.browse import list_memories

    start, end = _window(since, until)
    with _open(brain) as opened:
        page = list_memories(
            opened,
            limit=limit,
            tags=split_tags(tags),
            type=type_,
            project=project,
            since=start,
            until=end,
            before=before,
            everything=everything,
        )
    if as_json:
        emit_json(page.to_json())
        return
    if not page.memories:
        click.echo("No memories.")
        return
    _table(
        "",
        ["id", "remembered", "type", "memory"],
        [
            [
                memory.id,
                (memory.to_json()["created_at"] or "")[:10],
                memory.type,
                (memory.content if memory.content is not None else "(encrypted, no key)")
                + (f" [superseded by {memory.superseded_by}]" if memory.superseded_by else ""),
            ]
            for memory in page.memories
        ],
    )
    if page.next_before:
        click.echo(f"More: nmem list --before {page.next_before}")


@click.command()
@click.argument("memory_id")
@brain_option
@json_option
@handled
def show(memory_id: str, brain: str | None, as_json: bool) -> None:
    """Show a memory: its content and metadata, history, conflict copies and concepts."""
    from neuralmemory.core.browse import show as show_memory

    with _open(brain) as opened:
        detail = show_memory(opened, memory_id)
    data = detail.to_json()
    if as_json:
        emit_json(data)
        return
    memory = data["memory"]
    click.echo(memory["id"])
    click.echo(f"  {memory['content'] if memory['content'] is not None else '(encrypted, no key)'}")
    fields = ("type", "tags", "priority", "project", "encrypted", "created_at", "expires_at")
    for name in fields:
        click.echo(f"{name + ':':<15}{_field(memory[name])}")
    uses = memory["access_count"]
    click.echo(f"{'strength:':<15}{memory['strength']} ({uses} recall{'s' * (uses != 1)})")
    if memory["superseded_by"]:
        click.echo(f"{'superseded by:':<15}{memory['superseded_by']} (out of recall)")
    if detail.supersedes:
        click.echo(f"{'supersedes:':<15}{', '.join(detail.supersedes)}")
    click.echo("history:")
    for change in data["history"]:
        who = "this device" if change["device_id"] == detail.device_id else change["device_id"]
        at = "time unknown" if change["at"] is None else short_time(change["at"])
        click.echo(f"  {at:<16}  {who}: {'; '.join(change['what'])}")
    for copy in data["conflicts"]:
        lost = "[deleted]" if copy["deleted"] else copy["content"] or "[encrypted]"
        click.echo(f"conflict copy {copy['id']} from {copy['device_id']}: {lost}")
        click.echo(f"  restore it with: nmem sync restore {copy['id']}")
    click.echo(f"{'concepts:':<15}{', '.join(data['concepts']) or '-'}")
    for link in data["links"]:
        click.echo(f"{'linked:':<15}{link['id']} (recalled together {link['count']}x)")


def _field(value: object) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        value = ", ".join(map(str, value))
    return "-" if value in (None, "") else str(value)
