"""`nmem ui`: the local web page (docs/ui.md). Parse, bind, print the address, serve."""

from __future__ import annotations

import click

from neuralmemory.cli.common import handled
from neuralmemory.errors import MSG_UI_BAD_PORT

DEFAULT_PORT = 8765


def _port(_ctx: click.Context, _param: click.Parameter, value: str) -> int:
    try:
        port = int(value)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise click.BadParameter(MSG_UI_BAD_PORT.format(value=value))
    return port


@click.command()
@click.option(
    "--port",
    default=str(DEFAULT_PORT),
    show_default=True,
    callback=_port,
    metavar="PORT",
    help="Port on 127.0.0.1; 0 takes any free one.",
)
@click.option("--open", "open_browser", is_flag=True, help="Open the page in the web browser.")
@handled
def ui(port: int, open_browser: bool) -> None:
    """A web page on 127.0.0.1 to search, browse and correct memories; Ctrl-C stops it."""
    import sys
    import webbrowser

    from neuralmemory.ui.guard import Secrets
    from neuralmemory.ui.server import listen, serve

    sock = listen(port)
    keys = Secrets(port=sock.getsockname()[1])

    def ready() -> None:
        click.echo(f"nmem ui on {keys.url()}")
        click.echo("Open that address: it holds this run's token. Ctrl-C stops the server.")
        sys.stdout.flush()
        if open_browser and not webbrowser.open(keys.url()):
            click.echo("No web browser found: open the address yourself.", err=True)

    serve(sock, keys, ready=ready)
