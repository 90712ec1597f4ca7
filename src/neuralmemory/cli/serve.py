"""`nmem serve`: the sync hub on this machine (SQLite by default, PostgreSQL by URL)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import click

from neuralmemory.hub.settings import ServerLimits

LOG_LEVELS = ("debug", "info", "warning", "error")


def _shown(url: str) -> str:
    """The database URL without its password, fit for a log line."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = f"{parts.username}:****@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
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
    host: str,
    port: int,
    db_url: str | None,
    require_keys: bool,
    no_auth: bool,
    tls_cert: Path | None,
    tls_key: Path | None,
    rate_limit: int | None,
    max_connections: int,
    max_concurrent: int,
    read_timeout: float,
    body_timeout: float,
    log_level: str,
) -> None:
    """Run the sync hub. On loopback it needs no API key unless --require-keys is given."""
    # Deferred so the rest of the CLI starts without loading the web stack.
    from neuralmemory import config
    from neuralmemory.hub import server
    from neuralmemory.hub.settings import Settings, auth_mode, is_loopback
    from neuralmemory.protocol import DEFAULT_LIMITS

    if require_keys and no_auth:
        raise click.UsageError("--require-keys and --no-auth contradict each other")
    if (tls_cert is None) != (tls_key is None):
        raise click.UsageError("--tls-cert and --tls-key go together")
    auth = auth_mode(host, require_keys=require_keys, no_auth=no_auth)
    if auth == "none" and not is_loopback(host):
        click.echo(
            f"warning: --no-auth on {host}: anyone who can reach this address can read and "
            "write the local account's brains",
            err=True,
        )
    url = db_url or f"sqlite://{config.home() / 'hub' / 'hub.db'}"
    limits = DEFAULT_LIMITS
    if rate_limit is not None:
        limits = limits.model_copy(update={"rate_limit_per_minute": rate_limit})
    guards = ServerLimits(
        max_connections=max_connections,
        max_concurrent=max_concurrent,
        read_timeout=read_timeout,
        body_timeout=body_timeout,
    )
    settings = Settings(db_url=url, auth=auth, limits=limits, server=guards)
    scheme = "https" if tls_cert else "http"
    click.echo(f"nmem hub on {scheme}://{host}:{port} (auth: {auth}, db: {_shown(url)})", err=True)
    server.run(
        settings, host=host, port=port, log_level=log_level, tls_cert=tls_cert, tls_key=tls_key
    )
