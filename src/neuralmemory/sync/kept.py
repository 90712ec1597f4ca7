"""A hub client kept open across the syncs of a long-lived process (the MCP server).

A sync otherwise makes its own client, and so its own connection to the hub (a TCP and TLS
handshake, the hub's name resolved and checked again). The MCP server keeps one for its
background syncs and nmem_sync instead: lent to one sync at a time, with that sync's own counters;
made again when the settings it was made from change (hub URL, key, CA file, this device);
dropped after a failed sync, so the next one connects afresh (the hub may have moved); closed
when the server stops -- or, when a sync still runs then, as soon as that sync ends.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from neuralmemory import config
from neuralmemory.config import Config
from neuralmemory.sync.transport import DEFAULT_REPLY_BYTES, HubClient


class KeptHub:
    def __init__(self, make: Callable[[Config], HubClient]) -> None:
        self._make = make
        self._turn = threading.Lock()  # one sync at a time on the client
        self._guard = threading.Lock()  # the fields below
        self._client: HubClient | None = None
        self._made_from: tuple[object, ...] = ()
        self._lent = False
        self._closed = False

    @contextmanager
    def lend(self, cfg: Config) -> Iterator[HubClient]:
        """The client for `cfg`'s hub, for the length of one sync."""
        with self._turn:
            with self._guard:
                client = self._for(cfg)
                self._lent = True
            try:
                yield client
            except BaseException:
                with self._guard:
                    self._drop()
                raise
            finally:
                with self._guard:
                    self._lent = False
                    if self._closed:
                        self._drop()

    def close(self) -> None:
        """Close the client now, or when the sync using it ends."""
        with self._guard:
            self._closed = True
            if not self._lent:
                self._drop()

    def _for(self, cfg: Config) -> HubClient:
        made_from = (cfg.hub_url, cfg.api_key, cfg.ca_cert, cfg.device_name, config.device_id())
        if self._client is None or made_from != self._made_from:
            self._drop()
            self._client, self._made_from = self._make(cfg), made_from
        # what a sync reads off its client is its own: the bytes it sent, the reply size it set
        self._client.bytes_sent = 0
        self._client.max_reply_bytes = DEFAULT_REPLY_BYTES
        return self._client

    def _drop(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
