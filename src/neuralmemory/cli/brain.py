"""`nmem brain list | create | encrypt | use | delete`."""

from __future__ import annotations

import click

from neuralmemory.cli.common import emit_json, handled, json_option


@click.group()
def brain() -> None:
    """Manage brains: one SQLite file each under $NMEM_HOME/brains/."""


@brain.command("list")
@json_option
@handled
def list_(as_json: bool) -> None:
    """List brains; the current one is marked."""
    from neuralmemory.core.brains import current_brain_name, list_brains

    found = list_brains()
    if as_json:
        emit_json({"current": current_brain_name(), "brains": [b.to_json() for b in found]})
        return
    if not found:
        click.echo("No brains yet; `nmem remember` creates the default one.")
        return
    for info in found:
        mark = "*" if info.current else " "
        click.echo(f"{mark} {info.name:<20} {info.brain_id}  {info.db_bytes:,} bytes")


@brain.command()
@click.argument("name")
@click.option("--e2e", is_flag=True, help="End-to-end encrypted: the hub gets only sealed records.")
@json_option
@handled
def create(name: str, e2e: bool, as_json: bool) -> None:
    """Create a brain called NAME."""
    from neuralmemory.core.brains import create_brain, open_brain

    with create_brain(name):
        pass
    if e2e:
        from neuralmemory.sync import keyshare

        keyshare.encrypt_brain(name, sync=False)
    with open_brain(name) as made:
        data = {"name": made.name, "brain_id": made.id, "path": str(made.path), "e2e": made.e2e}
    if as_json:
        emit_json(data)
        return
    kind = " (end-to-end encrypted)" if e2e else ""
    click.echo(f"Created brain {name}{kind} ({data['brain_id']})")


@brain.command()
@click.argument("name", required=False)
@json_option
@handled
def encrypt(name: str | None, as_json: bool) -> None:
    """Make brain NAME (default: the current one) end-to-end encrypted, and sync it sealed."""
    from neuralmemory.sync import keyshare

    result = keyshare.encrypt_brain(name)
    if as_json:
        emit_json(result)
        return
    if not result["sealed"] and result["already"]:
        click.echo(f"Brain {result['brain']} is already end-to-end encrypted")
        return
    sealed = result["sealed"]
    click.echo(f"Brain {result['brain']} is end-to-end encrypted: {sealed} records sealed")
    sync = result["sync"]
    if sync is None:
        click.echo("Sync is not configured: they go to the hub, sealed, with the first sync")
    elif "error" in sync:
        click.echo(f"Sync failed ({sync['error']}): run `nmem sync full` to send them")
    else:
        click.echo(f"Synced: {sync['pushed']} records sent sealed to the hub")


@brain.command()
@click.argument("name")
@json_option
@handled
def use(name: str, as_json: bool) -> None:
    """Make NAME the current brain."""
    from neuralmemory.core.brains import use_brain

    use_brain(name)
    if as_json:
        emit_json({"current": name})
        return
    click.echo(f"Now using brain {name}")


@brain.command()
@click.argument("name")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@json_option
@handled
def delete(name: str, yes: bool, as_json: bool) -> None:
    """Delete brain NAME from this device (its key file is kept)."""
    from neuralmemory.core.brains import brain_path, delete_brain

    brain_path(name)  # validates the name before asking
    if not yes:
        click.confirm(f"Delete brain {name} and all its memories on this device?", abort=True)
    done = delete_brain(name)
    if as_json:
        emit_json(done.to_json())
        return
    click.echo(f"Deleted brain {name}")
    if done.current is not None:
        made = " (an empty one, made anew)" if done.recreated else ""
        click.echo(f"Now using brain {done.current}{made}")
