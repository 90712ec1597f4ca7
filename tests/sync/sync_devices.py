"""Devices and in-process hubs for the sync tests (a module of its own: conftest names collide).

A device is an NMEM_HOME folder; `Device.use()` points the library at it for the calls inside.
The in-process hub is the app on a real SQLite file, served through an event loop in a helper
thread (fast, for everything where no socket or process death matters); test_real_hub.py runs
real `nmem serve` processes on free loopback ports.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from anyio.from_thread import BlockingPortal, start_blocking_portal

from neuralmemory.core.brain import Brain, open_brain
from neuralmemory.hub.app import create_app
from neuralmemory.hub.backends import open_backend
from neuralmemory.hub.settings import Settings
from neuralmemory.protocol import DEFAULT_LIMITS, Limits
from neuralmemory.sync import service

# test_real_hub.py reuses the conformance suite's helpers (free_port)
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "conformance"))

LOCAL_URL = "http://127.0.0.1:9"  # what in-process devices are configured with (never dialled)


@dataclass
class Device:
    home: Path
    hub_url: str
    transport: httpx.BaseTransport | None = None

    @contextmanager
    def use(self) -> Iterator[None]:
        old = os.environ.get("NMEM_HOME")
        os.environ["NMEM_HOME"] = str(self.home)
        try:
            yield
        finally:
            if old is None:
                os.environ.pop("NMEM_HOME", None)
            else:
                os.environ["NMEM_HOME"] = old

    @contextmanager
    def brain(self, name: str | None = None) -> Iterator[Brain]:
        """The device's brain, with NMEM_HOME pointing at the device while it is used (key
        files are looked up lazily)."""
        with self.use(), open_brain(name) as brain:
            yield brain

    def sync(self, action: str = "full", **kwargs: Any) -> dict[str, Any]:
        with self.use():
            return service.run_sync(action, transport=self.transport, **kwargs)

    def configure(self, **kwargs: Any) -> dict[str, Any]:
        with self.use():
            return service.configure(**kwargs)


class PortalTransport(httpx.BaseTransport):
    """A sync httpx transport onto the ASGI app, run on an event loop in a helper thread."""

    def __init__(self, app: Any, portal: BlockingPortal) -> None:
        self._asgi = httpx.ASGITransport(app=app)
        self._portal = portal

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()

        async def call() -> httpx.Response:
            inner = httpx.Request(
                request.method, request.url, headers=request.headers, content=body
            )
            reply = await self._asgi.handle_async_request(inner)
            content = await reply.aread()
            return httpx.Response(reply.status_code, headers=reply.headers, content=content)

        return self._portal.call(call)


@contextmanager
def in_process_hub(db: Path, limits: Limits = DEFAULT_LIMITS) -> Iterator[httpx.BaseTransport]:
    """The hub app in-process on a real SQLite file, local (keyless) mode."""
    settings = Settings(db_url="unused", auth="local", limits=limits)
    with start_blocking_portal() as portal:
        backend = portal.call(open_backend, f"sqlite://{db}")
        try:
            yield PortalTransport(create_app(settings, backend), portal)
        finally:
            portal.call(backend.close)
