"""`nmem serve`: the sync hub on this machine (SQLite by default, PostgreSQL by URL)."""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

import click

from neuralmemory.errors import (
    MSG_BEARER_FILE_WITHOUT_METRICS,
    MSG_LAN_WITH_TLS,
    MSG_METRICS_BEARER_SHORT,
    MSG_NO_AUTH_CONTRADICTS,
    MSG_NOT_A_NETWORK,
    MSG_NOT_A_SIZE,
    MSG_TLS_PAIR,
)
from neuralmemory.hub.settings import ServerLimits
from neuralmemory.protocol import DEFAULT_MAX_ACCOUNT_RECORDS, REGISTRATION_MODES, Registration

if TYPE_CHECKING:
    from neuralmemory.hub.backends import Backend
    from neuralmemory.protocol import Limits

LOG_LEVELS = ("debug", "info", "warning", "error")
MIN_TOKEN_CHARS = 32  # a guessable token would expose the hub's traffic figures
#: all keys of an account may together make this many times one key's requests (a few devices)
ACCOUNT_RATE_FACTOR = 4


def _networks(values: tuple[str, ...]) -> list[str]:
    """Each --trusted-proxy as a network; anything else is a usage error, not a silent no-op."""
    shown = []
    for value in values:
        try:
            shown.append(str(ipaddress.ip_network(value, strict=False)))
        except ValueError:
            raise click.BadParameter(MSG_NOT_A_NETWORK.format(value=value)) from None
    return shown


def _metrics_token(metrics: bool, token_file: Path | None) -> str | None:
    """The scraper's bearer token from --metrics-token-file, refused when guessable."""
    if token_file is None:
        return None
    if not metrics:
        raise click.UsageError(MSG_BEARER_FILE_WITHOUT_METRICS)
    token = token_file.read_text(encoding="utf-8").strip()
    if len(token) < MIN_TOKEN_CHARS:
        raise click.UsageError(MSG_METRICS_BEARER_SHORT.format(limit=MIN_TOKEN_CHARS))
    return token


def _size(value: str | None) -> int | None:
    """A size such as 1GiB, 500MB or 1048576 (bytes), as pydantic's ByteSize reads it."""
    from pydantic import ByteSize, TypeAdapter, ValidationError

    if value is None:
        return None
    try:
        return int(TypeAdapter(ByteSize).validate_python(value))
    except ValidationError:
        raise click.BadParameter(MSG_NOT_A_SIZE.format(value=value)) from None


def _limits(
    rate_limit: int | None,
    account_rate_limit: int | None,
    quota_records: int | None,
    quota_bytes: int | None,
) -> Limits:
    """The defaults with what the options changed; the account's rate follows the key's."""
    from neuralmemory.protocol import DEFAULT_LIMITS

    limits = DEFAULT_LIMITS
    per_key = limits.rate_limit_per_minute if rate_limit is None else rate_limit
    changes = {
        "rate_limit_per_minute": per_key,
        "account_rate_limit_per_minute": (
            ACCOUNT_RATE_FACTOR * per_key if account_rate_limit is None else account_rate_limit
        ),
        "max_account_records": quota_records,
        "max_account_bytes": quota_bytes,
    }
    return limits.model_copy(update={k: v for k, v in changes.items() if v is not None})


def _shown(url: str) -> str:
    """The database URL without its password, fit for a log line."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = f"{parts.username}:****@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def _lan_host() -> str:
    from neuralmemory.cli.hub import lan_hosts

    found = lan_hosts()
    if not found:
        click.echo("No LAN address found on this machine: serving on loopback only.", err=True)
        return "127.0.0.1"
    if len(found) > 1:
        others = ", ".join(found[1:])
        click.echo(
            f"Serving on {found[0]}; this machine also has {others} (pick with --host).", err=True
        )
    return found[0]


def _announce(host: str, port: int) -> Callable[[Backend], Awaitable[None]]:
    """Prints a line pairing one more device, on stdout: the operator's terminal, not the log."""
    from neuralmemory.cli.hub import pair_line, pairing_text
    from neuralmemory.hub import codes
    from neuralmemory.hub.routes import now_ms

    async def announce(backend: Backend) -> None:
        issued = await codes.issue(backend, "pair", now_ms(), codes.PAIR_TTL_MS)
        click.echo(pairing_text(pair_line(issued.code, host, port), issued))

    return announce


@click.command()
@click.option("--host", help="Address to listen on  [default: 127.0.0.1; with --lan, the LAN's]")
@click.option(
    "--port", default=8000, show_default=True, type=click.IntRange(1, 65535), help="Port."
)
@click.option(
    "--db",
    "db_url",
    metavar="URL",
    help="sqlite:///path/hub.db or postgresql://user@host/db  [default: $NMEM_HOME/hub/hub.db]",
)
@click.option("--require-keys", is_flag=True, help="Require an API key even on loopback.")
@click.option("--no-auth", is_flag=True, help="Serve requests without a key on any address.")
@click.option(
    "--lan",
    is_flag=True,
    help="Serve this machine's LAN address, keys required, and print a line to pair each device.",
)
@click.option(
    "--registration",
    type=click.Choice(REGISTRATION_MODES),
    help="Who may register an account  [default: open on loopback, closed elsewhere]",
)
@click.option(
    "--tls-cert",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Serve HTTPS with this certificate (PEM); needs --tls-key.",
)
@click.option(
    "--tls-key", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="Its key."
)
@click.option(
    "--rate-limit",
    type=click.IntRange(min=0),
    help="Requests per minute per key (per address without one); 0 turns it off.  [default: 1200]",
)
@click.option(
    "--account-rate-limit",
    type=click.IntRange(min=0),
    help="Requests per minute of all keys of one account together; 0 turns it off."
    f"  [default: {ACCOUNT_RATE_FACTOR} times --rate-limit]",
)
@click.option(
    "--quota-records",
    type=click.IntRange(min=0),
    help="Records one account may store over all its brains (deleted ones too); 0: no quota."
    f"  [default: {DEFAULT_MAX_ACCOUNT_RECORDS:,}]",
)
@click.option(
    "--quota-bytes",
    metavar="SIZE",
    callback=lambda _ctx, _param, value: _size(value),  # click's callback signature
    help="Bytes of records one account may store (1GiB, 500MB, ...); 0: no quota.  [default: 1GiB]",
)
@click.option(
    "--trusted-proxy",
    "trusted_proxies",
    multiple=True,
    metavar="ADDR",
    callback=lambda _ctx, _param, values: _networks(values),  # click's callback signature
    help="A proxy's address or network (repeatable) whose X-Forwarded-For is believed.",
)
@click.option(
    "--metrics", is_flag=True, help="Serve GET /metrics (Prometheus) to this machine's programs."
)
@click.option(
    "--metrics-token-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A file holding a bearer token that lets a scraper elsewhere read /metrics.",
)
@click.option(
    "--max-connections",
    type=click.IntRange(min=1),
    default=ServerLimits.max_connections,
    show_default=True,
    help="Open connections; one more is closed at once.",
)
@click.option(
    "--max-concurrent",
    type=click.IntRange(min=1),
    default=ServerLimits.max_concurrent,
    show_default=True,
    help="Requests handled at once; one more gets 503 (retry).",
)
@click.option(
    "--read-timeout",
    metavar="SECONDS",
    type=click.FloatRange(min=0, min_open=True),
    default=ServerLimits.read_timeout,
    show_default=True,
    help="For a request's headers, and the longest pause in a body; then 408.",
)
@click.option(
    "--body-timeout",
    metavar="SECONDS",
    type=click.FloatRange(min=0, min_open=True),
    default=ServerLimits.body_timeout,
    show_default=True,
    help="For a whole request body; then 408.",
)
@click.option(
    "--log-level",
    type=click.Choice(LOG_LEVELS),
    default="info",
    show_default=True,
    help="info: one line per request (never a key or a record).",
)
def serve(
    host: str | None,
    port: int,
    db_url: str | None,
    require_keys: bool,
    no_auth: bool,
    lan: bool,
    registration: Registration | None,
    tls_cert: Path | None,
    tls_key: Path | None,
    rate_limit: int | None,
    account_rate_limit: int | None,
    quota_records: int | None,
    quota_bytes: int | None,
    trusted_proxies: list[str],
    metrics: bool,
    metrics_token_file: Path | None,
    max_connections: int,
    max_concurrent: int,
    read_timeout: float,
    body_timeout: float,
    log_level: str,
) -> None:
    """Run the sync hub. On loopback it needs no API key unless --require-keys is given."""
    # Deferred so the rest of the CLI starts without loading the web stack.
    from neuralmemory.cli.hub import default_db_url, on_hub_db
    from neuralmemory.hub import server
    from neuralmemory.hub.loopback import is_loopback_name
    from neuralmemory.hub.settings import Settings, auth_mode, registration_mode

    if (require_keys or lan) and no_auth:
        raise click.UsageError(MSG_NO_AUTH_CONTRADICTS)
    if (tls_cert is None) != (tls_key is None):
        raise click.UsageError(MSG_TLS_PAIR)
    if lan and tls_cert:
        raise click.UsageError(MSG_LAN_WITH_TLS)
    server.configure_logging(log_level)
    host = host or (_lan_host() if lan else "127.0.0.1")
    auth = auth_mode(host, require_keys=require_keys or lan, no_auth=no_auth)
    if auth == "none" and not is_loopback_name(host):
        click.echo(
            f"warning: --no-auth on {host}: anyone who can reach this address can read and "
            "write the local account's brains",
            err=True,
        )
    url = db_url or default_db_url()
    limits = _limits(rate_limit, account_rate_limit, quota_records, quota_bytes)
    guards = ServerLimits(
        max_connections=max_connections,
        max_concurrent=max_concurrent,
        read_timeout=read_timeout,
        body_timeout=body_timeout,
    )
    settings = Settings(
        db_url=url,
        auth=auth,
        limits=limits,
        server=guards,
        metrics=metrics,
        metrics_token=_metrics_token(metrics, metrics_token_file),
        registration=registration_mode(host, registration),
        on_paired=_announce(host, port) if lan else None,
    )
    scheme = "https" if tls_cert else "http"
    click.echo(
        f"nmem hub on {scheme}://{host}:{port} (auth: {auth}, registration: "
        f"{settings.registration}, db: {_shown(url)})",
        err=True,
    )
    if settings.on_paired is not None:
        on_hub_db(url, settings.on_paired)  # the first device's line; each pairing prints the next
    server.run(
        settings,
        host=host,
        port=port,
        log_level=log_level,
        tls_cert=tls_cert,
        tls_key=tls_key,
        trusted_proxies=trusted_proxies,
    )
