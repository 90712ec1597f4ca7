"""Serving the UI: a socket bound to 127.0.0.1 only (there is no option for another address), the
app behind its guard, and the auto-sync the changes arm, drained when the server stops.

The socket is bound here, before uvicorn starts, so that a port in use is a clear error and
`--port 0` knows its port before the address (with its token) is printed.
"""

from __future__ import annotations

import errno
import signal
import socket
from collections.abc import Callable
from types import FrameType

from neuralmemory import errors as msg
from neuralmemory.errors import InvalidInput
from neuralmemory.ui.guard import Secrets

HOST = "127.0.0.1"
BACKLOG = 64


def listen(port: int) -> socket.socket:
    """A listening socket on 127.0.0.1:port (0: any free port)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a port left in TIME_WAIT is free
    try:
        sock.bind((HOST, port))
        sock.listen(BACKLOG)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise InvalidInput(
                msg.MSG_UI_PORT_IN_USE.format(port=port), hint=msg.HINT_UI_PORT_IN_USE
            ) from None
        raise InvalidInput(
            msg.MSG_UI_PORT_REFUSED.format(port=port, reason=exc.strerror or exc),
            hint=msg.HINT_UI_PORT_REFUSED,
        ) from None
    return sock


def serve(sock: socket.socket, keys: Secrets, *, ready: Callable[[], None] = lambda: None) -> None:
    """Serve until Ctrl-C or SIGTERM; `ready` runs once the socket accepts."""
    import uvicorn

    from neuralmemory.sync import service
    from neuralmemory.ui.app import create_app

    scheduler = service.auto_scheduler()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(keys, scheduler),
            log_level="warning",
            access_log=False,  # the first request's address holds the token
            proxy_headers=False,
            server_header=False,
        )
    )

    def stop(_signum: int, _frame: FrameType | None) -> None:
        # uvicorn's own way to stop, which it checks as it starts and while it runs. Not a
        # KeyboardInterrupt: one raised while uvicorn starts can land in a callback that
        # swallows it, and the server would then never stop.
        server.should_exit = True

    # uvicorn takes the signals while it runs and gives them back to these handlers after.
    previous = {number: signal.signal(number, stop) for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        ready()
        server.run(sockets=[sock])
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        # a change made just before the stop still reaches the hub, if it is quick about it
        scheduler.wait(timeout=10.0)
        scheduler.cancel()
        sock.close()
