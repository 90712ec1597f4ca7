"""The MCP server's hub client, kept open across syncs (sync/kept.py): its syncs share one
connection to the hub, each reports its own counters, and closing it waits for the sync using
it. A loopback TCP proxy in front of the real hub counts the connections."""

from __future__ import annotations

import functools
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from helpers.mcp_client import Hub, call, mcp_session
from neuralmemory import config
from neuralmemory.core.brains import open_brain
from neuralmemory.sync import service

pytestmark = pytest.mark.anyio


class Proxy:
    """Forwards each connection to the hub; counts those accepted and those still open."""

    def __init__(self, target: str) -> None:
        parts = urlsplit(target)
        self._target = (parts.hostname or "127.0.0.1", parts.port or 80)
        self._server = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._server.getsockname()[1]}"
        self._guard = threading.Lock()
        self.accepted = 0
        self.open = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                near, _ = self._server.accept()
            except OSError:
                return  # closed
            far = socket.create_connection(self._target)
            with self._guard:
                self.accepted += 1
                self.open += 1
            done = threading.Barrier(2, action=functools.partial(self._closed, near, far))
            for source, sink in ((near, far), (far, near)):
                threading.Thread(target=_pump, args=(source, sink, done), daemon=True).start()

    def _closed(self, *ends: socket.socket) -> None:
        for end in ends:
            end.close()
        with self._guard:
            self.open -= 1

    def close(self) -> None:
        self._server.close()


def _pump(source: socket.socket, sink: socket.socket, done: threading.Barrier) -> None:
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    for end in (sink, source):
        with suppress(OSError):
            end.shutdown(socket.SHUT_RDWR)
    done.wait()


@contextmanager
def proxy_to(hub: Hub) -> Iterator[Proxy]:
    proxy = Proxy(hub.url)
    try:
        yield proxy
    finally:
        proxy.close()


def test_syncs_through_a_kept_client_share_one_connection(home: Path, hub: Hub) -> None:
    with proxy_to(hub) as proxy:
        service.configure(hub_url=proxy.url, api_key=hub.register(), auto_sync=False)
        with open_brain() as brain:
            brain.remember("The hub runs on the NAS in the hallway.")
        before = proxy.accepted
        kept = service.kept_hub()
        try:
            first = service.run_sync("full", kept=kept)
            second = service.run_sync("full", kept=kept)
        finally:
            kept.close()
        assert first["pushed"] >= 1 and second["pushed"] == 0
        assert proxy.accepted == before + 1
        alone = service.run_sync("full")  # a client of its own, as the CLI's: one more
        assert proxy.accepted == before + 2
        assert second["bytes_sent"] == alone["bytes_sent"]  # its own bytes, not the first's too


def test_a_kept_client_closed_during_a_sync_closes_when_the_sync_ends(home: Path, hub: Hub) -> None:
    service.configure(hub_url=hub.url, api_key=hub.register(), auto_sync=False)
    kept = service.kept_hub()
    with kept.lend(config.load_config()) as client:
        kept.close()  # the server stopping while a background sync runs
        assert client.info().version  # the sync goes on
    with pytest.raises(RuntimeError, match="closed"):
        client.info()
    with kept.lend(config.load_config()) as again:  # a late sync gets a client of its own
        assert again is not client and again.info().version
    kept.close()


async def test_the_server_s_syncs_share_one_connection_closed_when_it_stops(
    tmp_path: Path, hub: Hub
) -> None:
    with proxy_to(hub) as proxy:
        async with mcp_session(tmp_path) as session:
            await call(
                session,
                "nmem_sync_config",
                action="set",
                hub_url=proxy.url,
                api_key=hub.register(),
                auto_sync=False,
            )
            before = proxy.accepted
            await call(session, "nmem_remember", content="The hub runs on the NAS.")
            assert (await call(session, "nmem_sync", action="full"))["pushed"] >= 1
            await call(session, "nmem_remember", content="The NAS sits in the hallway.")
            assert (await call(session, "nmem_sync", action="full"))["pushed"] >= 1
            assert proxy.accepted == before + 1
