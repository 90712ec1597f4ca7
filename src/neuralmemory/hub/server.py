"""`nmem serve`'s HTTP server: uvicorn with httptools, bounded against a client that sends too
much, too slowly or too often (docs/hub.md, "Connections and timeouts").

uvicorn bounds none of these itself, so a subclass of its httptools protocol does:
- A request's head (URL and header lines) is at most `max_header_bytes` in at most
  `max_headers` lines, else 431 and the connection closes. httptools joins the pieces of one
  header as they arrive, at a cost growing with the square of its length, so the bytes of an
  unfinished head are counted as they come and parsing stops once the bound is crossed: a head of
  any size costs about what one of the bound's size does.
- A head must be complete within `read_timeout` of the connection opening or of the previous
  reply, else 408 (when part of it came; when none did the connection just closes, as an idle
  one does after uvicorn's keep-alive timeout).
- At most `max_connections` are open; one more is closed before a byte of it is read.
The limits on a body and on requests in flight are the app's (edge.py), applied only when a route
reads the body, so the body of a refused caller is never read at all.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httptools
import uvicorn
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol
from uvicorn.server import ServerState

from neuralmemory.errors import MSG_HEADERS_TOO_LARGE, MSG_REQUEST_TIMEOUT
from neuralmemory.hub.app import create_app
from neuralmemory.hub.edge import error_body, json_bytes
from neuralmemory.hub.settings import ServerLimits, Settings

log = logging.getLogger("neuralmemory.hub")

#: descriptors kept free of connections: the database, the listening socket, log files
FD_RESERVE = 128
#: the least time between two "connection cap reached" warnings
CAP_WARNING_EVERY_S = 60.0
#: uvicorn's status when it cannot start (its STARTUP_FAILURE)
STARTUP_FAILURE = 3


class _HeadTooLarge(Exception):
    """Raised in a parser callback to stop parsing a head that is over its bounds."""


class HubProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, with the head bounds, head timeout and connection cap."""

    def __init__(
        self,
        config: uvicorn.Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        assert isinstance(config, HubConfig)
        self.hub_config = config
        self.limits = config.limits
        self.head_timer: asyncio.TimerHandle | None = None
        self.in_head = False  # a request has begun and its headers are not all here yet
        self.began_in_chunk = False  # ... and it began in the chunk being parsed
        self.head_chunks = 0  # bytes of the chunks that lay wholly inside that head
        self.head_parsed = 0  # bytes of its URL and complete header lines
        self.header_lines = 0
        self.head_too_large = False

    # ------------------------------------------------------------ connections

    def connection_made(  # type: ignore[override]
        self, transport: asyncio.Transport
    ) -> None:
        if len(self.connections) >= self.limits.max_connections:
            self.transport = transport  # for connection_lost, which follows
            transport.close()
            self.hub_config.warn_full(self.loop.time())
            return
        super().connection_made(transport)
        self._arm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self.transport.is_closing():
            return  # refused or answered: nothing more of it is parsed
        self._unset_keepalive_if_required()
        self.began_in_chunk = False
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._unsupported_upgrade_warning()  # no WebSocket here: served as plain HTTP
        except httptools.HttpParserError:
            if self.head_too_large:
                self._refuse_head()
            else:
                message = "Invalid HTTP request received."  # as uvicorn answers
                self.logger.warning(message)
                self.send_400_response(message)
            return
        if self.in_head and not self.began_in_chunk:
            # The whole chunk is head. One header that never ends is seen by no callback until
            # it does, so its bytes are counted here.
            self.head_chunks += len(data)
            if self.head_chunks > self.limits.max_header_bytes:
                self._refuse_head()

    # ------------------------------------------------------------ the head of a request

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.in_head = self.began_in_chunk = True
        self.head_chunks = self.head_parsed = self.header_lines = 0

    def on_url(self, url: bytes) -> None:
        self._count_head(len(url), lines=0)
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count_head(len(name) + len(value) + len(b": \r\n"), lines=1)
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self.in_head = False
        self._cancel_head_timer()
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        waiting_for_next = not self.pipeline  # else the next request's head is already here
        super().on_response_complete()
        if waiting_for_next and not self.transport.is_closing():
            self._arm_head_timer()

    def _count_head(self, size: int, lines: int) -> None:
        self.head_parsed += size
        self.header_lines += lines
        if (
            self.head_parsed > self.limits.max_header_bytes
            or self.header_lines > self.limits.max_headers
        ):
            self.head_too_large = True
            raise _HeadTooLarge

    def _refuse_head(self) -> None:
        message = MSG_HEADERS_TOO_LARGE.format(
            max_bytes=self.limits.max_header_bytes, max_headers=self.limits.max_headers
        )
        self._answer_and_close(431, error_body(message, "headers_too_large"))

    # ------------------------------------------------------------ the head timeout

    def _arm_head_timer(self) -> None:
        self._cancel_head_timer()
        self.head_timer = self.loop.call_later(self.limits.read_timeout, self._head_timed_out)

    def _cancel_head_timer(self) -> None:
        if self.head_timer is not None:
            self.head_timer.cancel()
            self.head_timer = None

    def _head_timed_out(self) -> None:
        self.head_timer = None
        if self.transport.is_closing():
            return
        if self.in_head:
            self._answer_and_close(408, error_body(MSG_REQUEST_TIMEOUT, "request_timeout"))
        else:
            self.transport.close()

    # ------------------------------------------------------------ replies

    def _answer_and_close(self, status: int, body: dict[str, Any]) -> None:
        """Reply outside any request (it is refused before the app sees it), then hang up."""
        log.info("%d %s; connection closed", status, body["code"])
        if self.cycle is not None and not self.cycle.response_complete:
            self.transport.close()  # a reply to an earlier request is under way: no second one
            return
        data = json_bytes(body)
        head = [STATUS_LINE[status]]
        for name, value in self.server_state.default_headers:
            head += [name, b": ", value, b"\r\n"]
        head += [
            b"content-type: application/json\r\n",
            b"content-length: %d\r\n" % len(data),
            b"connection: close\r\n\r\n",
        ]
        self.transport.write(b"".join(head) + data)
        self.transport.close()


class HubConfig(uvicorn.Config):
    """uvicorn's settings plus the hub's bounds, which every connection's protocol reads."""

    def __init__(self, app: Any, limits: ServerLimits, **options: Any) -> None:
        super().__init__(app, http=HubProtocol, ws="none", **options)
        self.limits = limits
        self.warned_full_at: float | None = None

    def warn_full(self, now: float) -> None:
        if self.warned_full_at is None or now - self.warned_full_at >= CAP_WARNING_EVERY_S:
            self.warned_full_at = now
            log.warning(
                "%d connections open (--max-connections): closing new ones until some end",
                self.limits.max_connections,
            )


def raise_fd_limit() -> int | None:
    """Raise the soft limit on open files to the hard one, so that the connection cap, not
    this limit, is what turns clients away. Returns the soft limit now in force."""
    if sys.platform == "win32":
        return None
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    except (ValueError, OSError):  # an unlimited hard limit cannot be the soft one (macOS)
        return soft
    return hard


def fit_to_fd_limit(limits: ServerLimits, fd_limit: int | None) -> ServerLimits:
    """The limits with the connection cap lowered, with a warning, to what the fd limit allows."""
    if fd_limit is None or limits.max_connections <= fd_limit - FD_RESERVE:
        return limits
    fitted = max(1, fd_limit - FD_RESERVE)
    log.warning(
        "--max-connections %d lowered to %d: this process may open %d files (ulimit -n)",
        limits.max_connections,
        fitted,
        fd_limit,
    )
    return dataclasses.replace(limits, max_connections=fitted)


def run(
    settings: Settings,
    *,
    host: str,
    port: int,
    log_level: str,
    tls_cert: Path | None = None,
    tls_key: Path | None = None,
    trusted_proxies: Sequence[str] = (),
) -> None:
    """Serve the hub until interrupted. X-Forwarded-For is believed only from `trusted_proxies`
    (uvicorn would otherwise trust any local process, and per-address limits would be spoofable)."""
    logging.basicConfig(
        level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    limits = fit_to_fd_limit(settings.server, raise_fd_limit())
    config = HubConfig(
        create_app(settings),
        limits,
        host=host,
        port=port,
        log_level=log_level,
        access_log=False,  # the hub logs one line per request itself, without keys or bodies
        ssl_certfile=tls_cert,
        ssl_keyfile=tls_key,
        server_header=False,
        proxy_headers=bool(trusted_proxies),
        forwarded_allow_ips=list(trusted_proxies),
    )
    server = uvicorn.Server(config)
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C is how one stops it, not an error
        server.run()
    if not server.started:
        sys.exit(STARTUP_FAILURE)
