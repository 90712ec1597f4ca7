"""`nmem hub ...`: the operator's commands, acting on the hub's database directly.

Whoever can open the hub's database runs the hub; these commands need no key and no running hub.
Each takes --db (default: the database `nmem serve` uses) and runs one library call on it through
`on_hub_db`.

Longer than ~400 lines on purpose: it is the one `nmem hub` group (invites, pairing, backup,
accounts, keys, brains), whose commands share --db, `on_hub_db` and the table formatting and
stay a few lines each; split by command, those helpers would be imported back from a sibling.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from neuralmemory.cli.common import emit_json, handled, json_option
from neuralmemory.core.timespan import short_time
from neuralmemory.errors import MSG_BACKUP_SQLITE_ONLY, MSG_NO_LAN_ADDRESS, MSG_NOT_A_DURATION

if TYPE_CHECKING:
    from neuralmemory.hub.backends import AccountRow, Backend, CodeKind, KeyRow
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


def on_hub_db(
    db_url: str | None, work: Callable[[Backend], Awaitable[T]], *, existing: bool = False
) -> T:
    """Open the hub's database (migrating it, as `nmem serve` would), run `work`, close it.

    existing: refuse a SQLite file that is not there, rather than make an empty hub (the
    commands that look an account up: a mistyped --db should say so, not create a file)."""
    import asyncio  # here, like the rest: at the top it would slow every `nmem` command's start

    from neuralmemory.errors import HINT_NO_HUB_DB, MSG_NO_HUB_DB, StoreError
    from neuralmemory.hub.backends import open_backend

    url = db_url or default_db_url()
    path = Path(url.removeprefix("sqlite://"))
    if existing and url.startswith("sqlite://") and not path.is_file():
        raise StoreError(MSG_NO_HUB_DB.format(path=path), hint=HINT_NO_HUB_DB)

    async def run() -> T:
        try:
            backend = await open_backend(url)
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
        raise click.BadParameter(MSG_NOT_A_DURATION.format(value=value))
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
    """Run the hub: invite codes, pairing lines, backups, accounts, keys and brains (acts on the
    hub's database directly)."""


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
        raise click.UsageError(MSG_NO_LAN_ADDRESS)
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
        raise click.UsageError(MSG_BACKUP_SQLITE_ONLY)
    made = backup_sqlite(Path(url.removeprefix("sqlite://")), destination)
    if as_json:
        emit_json({**asdict(made), "path": str(made.path)})
        return
    click.echo(
        f"Backed up {made.accounts} accounts, {made.brains} brains and {made.records:,} records"
        f" to {made.path} ({made.bytes:,} bytes)"
    )


# ---------------------------------------------------------------- accounts, keys and brains
# Tables fit 80 columns: one line of short columns per row, then an indented line of detail.

WIDTH = 80
SIZE_UNITS = ("KiB", "MiB", "GiB", "TiB")


def account_options(command: F) -> F:
    command = click.option(
        "--account", "account_id", metavar="ID", help="The account's id (the local account: local)."
    )(command)
    return click.option("--email", metavar="EMAIL", help="The account's email.")(command)


def when(ms: int | None) -> str:
    from neuralmemory.protocol import iso_ms

    return short_time(iso_ms(ms))


def size(count: int) -> str:
    """1023 B, 9.5 KiB, 312 MiB: at most 7 characters."""
    if count < 1000:
        return f"{count} B"
    value = float(count)
    for unit in SIZE_UNITS:
        value /= 1024
        if value < 1000 or unit == SIZE_UNITS[-1]:
            break
    return f"{value:.1f} {unit}" if value < 9.95 else f"{value:.0f} {unit}"


def clip(text: str, chars: int) -> str:
    return text if len(text) <= chars else text[: chars - 1] + "…"


def table(header: list[str], rows: list[tuple[list[str], str]], left: int = 1) -> str:
    """Columns two spaces apart (the first `left` aligned left, the rest right), each row
    followed by its detail line, indented."""
    widths = [
        max(len(cells[n]) for cells in [header, *(r for r, _ in rows)]) for n in range(len(header))
    ]

    def line(cells: list[str]) -> str:
        return "  ".join(
            cell.ljust(width) if n < left else cell.rjust(width)
            for n, (cell, width) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    out = [line(header)]
    for cells, detail in rows:
        out += [line(cells), clip("  " + detail, WIDTH)]
    return "\n".join(out)


def account_label(account: AccountRow) -> str:
    # Only the local account has no email: registration requires one.
    return account.email or "the built-in local account (no email)"


@hub.command()
@db_option
@json_option
@handled
def accounts(db_url: str | None, as_json: bool) -> None:
    """Every account: its keys, brains, records, bytes and last activity."""
    found = on_hub_db(db_url, lambda backend: backend.accounts(), existing=True)
    if as_json:
        emit_json({"accounts": [account_json(account) for account in found]})
        return
    rows = []
    for a in found:
        since = f", since {when(a.created_at)[:10]}" if a.created_at else ""
        keys = f"keys: {a.admin_keys} admin, {a.device_keys} device"
        cells = [a.account_id, f"{a.brains:,}", f"{a.records:,}", size(a.bytes)]
        rows.append(([*cells, when(a.last_active_at)], f"{account_label(a)}{since}; {keys}"))
    header = ["ACCOUNT", "BRAINS", "RECORDS", "BYTES", "LAST ACTIVE (UTC)"]
    click.echo(table(header, rows))


def account_json(account: AccountRow) -> dict[str, Any]:
    from neuralmemory.protocol import iso_ms

    return {
        "account_id": account.account_id,
        "email": account.email,
        # the local account was made by the first migration, with no real time of its own
        "created_at": iso_ms(account.created_at or None),
        "keys": {"admin": account.admin_keys, "device": account.device_keys},
        "brains": account.brains,
        "records": account.records,
        "bytes": account.bytes,
        "last_active_at": iso_ms(account.last_active_at),
    }


@hub.group()
def keys() -> None:
    """An account's API keys: a new admin key (to recover an account), list, revoke."""


@keys.command("create")
@db_option
@account_options
@click.option(
    "--name",
    default="recovery",
    show_default=True,
    help="The new key's name, as key listings show it.",
)
@json_option
@handled
def keys_create(
    db_url: str | None, email: str | None, account_id: str | None, name: str, as_json: bool
) -> None:
    """Make a new admin key for an account and print it, once (the way back into an account
    whose keys were revoked or lost)."""
    from neuralmemory.hub import auth, operator
    from neuralmemory.hub.routes import now_ms

    async def create(backend: Backend) -> tuple[AccountRow, str, KeyRow]:
        account = await operator.find_account(backend, email=email, account_id=account_id)
        secret, key = await operator.create_admin_key(backend, account, name, now_ms())
        return account, secret, key

    account, secret, key = on_hub_db(db_url, create, existing=True)
    if as_json:
        made = auth.key_created(key, secret).model_dump(mode="json")
        emit_json({"account_id": account.account_id, "email": account.email, **made})
        return
    click.echo(
        f'New admin key {key.key_id} ("{name}") for {operator.account_name(account)},\n'
        f"shown this once (the hub keeps only its hash):\n  {secret}\n"
        "With it, make a device key per device (POST /v1/auth/keys) and set it on each:\n"
        "  nmem sync config set --api-key nmk_..."
    )


@keys.command("list")
@db_option
@account_options
@json_option
@handled
def keys_list(db_url: str | None, email: str | None, account_id: str | None, as_json: bool) -> None:
    """An account's keys, revoked ones too: id, prefix, scope, name and times (never a key)."""
    from neuralmemory.hub import auth, operator

    account, found = on_hub_db(
        db_url,
        lambda backend: operator.account_keys(backend, email=email, account_id=account_id),
        existing=True,
    )
    if as_json:
        listed = [auth.key_info(key).model_dump(mode="json") for key in found]
        emit_json({"account_id": account.account_id, "email": account.email, "keys": listed})
        return
    click.echo(f"Keys of {operator.account_name(account)} ({account.account_id}), times in UTC:")
    if not found:
        click.echo("  none")
        return
    rows = []
    for key in found:
        state = "active" if key.revoked_at is None else "revoked"
        used = "never used" if key.last_used_at is None else f"used {when(key.last_used_at)}"
        detail = f"created {when(key.created_at)}, {used}"
        if key.revoked_at is not None:
            detail += f", revoked {when(key.revoked_at)}"
        rows.append(([key.key_id, key.key_prefix, key.scope, state, clip(key.name, 23)], detail))
    click.echo(table(["KEY", "PREFIX", "SCOPE", "STATE", "NAME"], rows, left=5))


@keys.command("revoke")
@db_option
@click.argument("key_id", metavar="KEY_ID")
@click.option("--force", is_flag=True, help="Revoke it even if it is the account's last admin key.")
@json_option
@handled
def keys_revoke(db_url: str | None, key_id: str, force: bool, as_json: bool) -> None:
    """Revoke any account's key (KEY_ID as `nmem hub keys list` shows it); it stops working at
    the hub's next request."""
    from neuralmemory.hub import operator
    from neuralmemory.hub.routes import now_ms
    from neuralmemory.protocol import iso_ms

    done = on_hub_db(
        db_url,
        lambda backend: operator.revoke_key(backend, key_id, now_ms(), force=force),
        existing=True,
    )
    key, account = done.key, done.account
    if as_json:
        emit_json(
            {
                "key_id": key.key_id,
                "account_id": account.account_id,
                "email": account.email,
                "revoked": True,
                "revoked_at": iso_ms(key.revoked_at),
                "already_revoked": done.already,
                "admin_keys_left": account.admin_keys,
            }
        )
        return
    what = f"{key.key_id} was already revoked" if done.already else f"Revoked {key.key_id}"
    click.echo(
        f"{what} at {when(key.revoked_at)} UTC:\n"
        f'  the {key.scope} key "{key.name}" of {operator.account_name(account)}'
    )
    if account.admin_keys == 0:
        click.echo(
            "The account has no admin key left; make one with:\n"
            f"  nmem hub keys create --account {account.account_id}"
        )


@hub.command()
@db_option
@account_options
@json_option
@handled
def brains(db_url: str | None, email: str | None, account_id: str | None, as_json: bool) -> None:
    """Every brain on the hub (or one account's) with its owner, size, devices and last write."""
    from neuralmemory.hub import operator

    found = on_hub_db(
        db_url,
        lambda backend: operator.brains(backend, email=email, account_id=account_id),
        existing=True,
    )
    if as_json:
        emit_json(
            {
                "brains": [
                    {
                        **b.brain.model_dump(mode="json"),
                        "account_id": b.account_id,
                        "email": b.email,
                    }
                    for b in found
                ]
            }
        )
        return
    if not found:
        click.echo("No brains: none has been pushed to yet.")
        return
    rows = []
    for b in found:
        info = b.brain
        cells = [info.brain_id, f"{info.records:,}", size(info.bytes), str(info.devices)]
        owner = b.account_id if b.email is None else f"{b.email} ({b.account_id})"
        rows.append(([*cells, short_time(info.last_write_at)], f'"{info.name}" of {owner}'))
    header = ["BRAIN", "RECORDS", "BYTES", "DEVICES", "LAST WRITE (UTC)"]
    click.echo(table(header, rows))
