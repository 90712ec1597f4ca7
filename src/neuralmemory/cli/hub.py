"""`nmem hub ...`: the operator's commands, acting on the hub's database directly.

Whoever can open the hub's database runs the hub; these commands need no key and no running hub.
Each takes --db (default: the database `nmem serve` uses) and runs one library call on it through
`on_hub_db`.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from neuralmemory.cli.common import emit_json, handled, json_option

if TYPE_CHECKING:
    from neuralmemory.hub.backends import Backend, CodeKind
    from neuralmemory.hub.codes import Issued

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])

DEFAULT_PORT = 8000
UNITS_MS = {"s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}


def default_db_url() -> str:
    """The local hub's database: what `nmem serve` and `nmem hub ...` use without --db."""
    from neuralmemory import config

    return f"sqlite://{config.home() / 'hub' / 'hub.db'}"


def db_option(command: F) -> F:
    return click.option(
        "--db",
        "db_url",
        metavar="URL",
        help="The hub's database: sqlite:///path/hub.db or postgresql://user@host/db  "
        "[default: $NMEM_HOME/hub/hub.db]",
    )(command)


def on_hub_db(db_url: str | None, work: Callable[[Backend], Awaitable[T]]) -> T:
    """Open the hub's database (migrating it, as `nmem serve` would), run `work`, close it."""
    from neuralmemory.hub.backends import open_backend

    async def run() -> T:
        try:
            backend = await open_backend(db_url or default_db_url())
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--db") from None
        try:
            return await work(backend)
        finally:
            await backend.close()

    return asyncio.run(run())


def duration(ctx: click.Context, param: click.Parameter, value: str) -> int:
    """30s, 10m, 12h, 7d: milliseconds (an option callback)."""
    match = re.fullmatch(r"\s*(\d{1,6})\s*([smhd])\s*", value)
    if not match or int(match[1]) == 0:
        raise click.BadParameter(f"{value!r} is not a duration such as 30s, 10m, 12h or 7d")
    return int(match[1]) * UNITS_MS[match[2]]


def issue_code(db_url: str | None, kind: CodeKind, ttl_ms: int) -> Issued:
    from neuralmemory.hub import codes
    from neuralmemory.hub.routes import now_ms

    return on_hub_db(db_url, lambda backend: codes.issue(backend, kind, now_ms(), ttl_ms))


def pair_line(code: str, host: str, port: int) -> str:
    from neuralmemory.protocol import PAIR_COMMAND, pair_target

    return f"{PAIR_COMMAND} {pair_target(code, host, port)}"


def lan_hosts() -> list[str]:
    """This machine's LAN addresses, the one to serve first."""
    from neuralmemory.hub.lan import interface_addresses, lan_addresses

    return lan_addresses(interface_addresses())


@click.group()
def hub() -> None:
    """Run the hub: invite codes, pairing lines, backups (acts on the hub's database directly)."""


@hub.command()
@db_option
@click.option(
    "--expires",
    callback=duration,
    default="7d",
    show_default=True,
    help="How long the code stays valid (30s, 10m, 12h, 7d).",
)
@json_option
@handled
def invite(db_url: str | None, expires: int, as_json: bool) -> None:
    """Print a new invite code (shown once): one registration on a hub in invite mode."""
    from neuralmemory.protocol import iso_ms

    issued = issue_code(db_url, "invite", expires)
    expires_at = iso_ms(issued.expires_at)
    if as_json:
        emit_json({"invite": issued.code, "expires_at": expires_at})
        return
    click.echo(f"Invite code (shown once, valid once until {expires_at}):\n  {issued.code}")
    click.echo('Register with it: POST /v1/auth/register {"email": "...", "invite": "<code>"}')


@hub.command()
@db_option
@click.option(
    "--host", help="The hub's address as devices reach it  [default: this machine's LAN address]"
)
@click.option(
    "--port",
    default=DEFAULT_PORT,
    show_default=True,
    type=click.IntRange(1, 65535),
    help="The port `nmem serve` listens on.",
)
@click.option(
    "--expires",
    callback=duration,
    default="10m",
    show_default=True,
    help="How long the code stays valid.",
)
@json_option
@handled
def pair(db_url: str | None, host: str | None, port: int, expires: int, as_json: bool) -> None:
    """Print a line that pairs one more device with this hub (a one-time code, shown once)."""
    from neuralmemory.protocol import iso_ms

    where = host or next(iter(lan_hosts()), None)
    if where is None:
        raise click.UsageError("this machine has no LAN address; give the hub's with --host")
    issued = issue_code(db_url, "pair", expires)
    line = pair_line(issued.code, where, port)
    if as_json:
        emit_json({"command": line, "expires_at": iso_ms(issued.expires_at)})
        return
    click.echo(pairing_text(line, issued))


def pairing_text(line: str, issued: Issued) -> str:
    from neuralmemory.protocol import iso_ms

    until = iso_ms(issued.expires_at)
    return f"To pair a device, run this on it (works once, until {until}):\n  {line}"


@hub.command()
@db_option
@click.argument("destination", type=click.Path(dir_okay=False, path_type=Path))
@json_option
@handled
def backup(db_url: str | None, destination: Path, as_json: bool) -> None:
    """Copy a SQLite hub to DESTINATION, consistently, while it keeps serving."""
    from neuralmemory.hub.backup import backup_sqlite

    url = db_url or default_db_url()
    if not url.startswith("sqlite://"):
        raise click.UsageError(
            "nmem hub backup copies SQLite hubs; for PostgreSQL use pg_dump (docs/hub.md, Backups)"
        )
    made = backup_sqlite(Path(url.removeprefix("sqlite://")), destination)
    if as_json:
        emit_json({**asdict(made), "path": str(made.path)})
        return
    click.echo(
        f"Backed up {made.accounts} accounts, {made.brains} brains and {made.records:,} records"
        f" to {made.path} ({made.bytes:,} bytes)"
    )
