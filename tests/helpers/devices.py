"""Devices and in-process hubs for the sync tests (a module of its own: conftest names collide).

A device is an NMEM_HOME folder; `Device.use()` points the library at it for the calls inside
(config.using_home: the environment is never touched, so nothing outside the block sees it).
The in-process hub is the app on a real SQLite file, served through an event loop in a helper
thread (fast, for everything where no socket or process death matters); `Hub` is a real
`nmem serve` process on a free loopback port, which a test may kill and start again.
"""

from __future__ import annotations

import asyncio
import os
import signal
import ssl
import subprocess
import threading
import time
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
from fastapi import FastAPI

from helpers.hub_targets import die_with_parent as die_with_parent  # re-exported for the tests here
from helpers.hub_targets import free_port as free_port
from helpers.nmem import NMEM as NMEM  # re-exported for the tests here
from neuralmemory import config
from neuralmemory.core.brain import Brain
from neuralmemory.core.brains import open_brain
from neuralmemory.hub.app import create_app
from neuralmemory.hub.backends import open_backend
from neuralmemory.hub.routes import Hub as AppHub
from neuralmemory.hub.settings import Settings
from neuralmemory.protocol import DEFAULT_LIMITS, Limits
from neuralmemory.sync import service
from neuralmemory.sync.results import ConfigView, SyncResult

T = TypeVar("T")
LOCAL_URL = "http://127.0.0.1:9"  # what in-process devices are configured with (never dialled)


@dataclass
class Device:
    home: Path
    hub_url: str
    transport: httpx.BaseTransport | None = None

    @contextmanager
    def use(self) -> Iterator[None]:
        """The library calls made inside, in this thread, work on this device's home."""
        with config.using_home(self.home):
            yield

    @contextmanager
    def brain(self, name: str | None = None) -> Iterator[Brain]:
        """The device's brain, with the library pointing at the device while it is used (key
        files are looked up lazily)."""
        with self.use(), open_brain(name) as brain:
            yield brain

    def sync(self, action: str = "full", **kwargs: Any) -> SyncResult:
        with self.use():
            return service.run_sync(action, transport=self.transport, **kwargs)

    def configure(self, **kwargs: Any) -> ConfigView:
        with self.use():
            return service.configure(**kwargs)


def edit_on_both(a: Device, b: Device) -> str:
    """One memory both devices hold, then edited on each before either syncs again: a's edit
    says Wednesday, b's Thursday. Returns its id. Whichever syncs second meets the conflict."""
    with a.brain() as brain:
        memory_id = brain.remember("The release train leaves on Tuesday").memory.id
    a.sync()
    b.sync()
    with a.brain() as brain:
        brain.edit(memory_id, content="The release train leaves on Wednesday")
    with b.brain() as brain:
        brain.edit(memory_id, content="The release train leaves on Thursday")
    return memory_id


class PortalTransport(httpx.BaseTransport):
    """A sync httpx transport onto the ASGI app, run on an event loop in a helper thread: one
    asyncio hand-off a request (anyio's blocking portal took twice the CPU for it)."""

    def __init__(self, app: FastAPI, loop: asyncio.AbstractEventLoop) -> None:
        self.app = app  # the hub itself, for tests that reach into its backend
        self._asgi = httpx.ASGITransport(app=app)
        self._loop = loop

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()

        async def call() -> httpx.Response:
            inner = httpx.Request(
                request.method, request.url, headers=request.headers, content=body
            )
            reply = await self._asgi.handle_async_request(inner)
            content = await reply.aread()
            return httpx.Response(reply.status_code, headers=reply.headers, content=content)

        return self.call(call())

    def call(self, job: Coroutine[Any, Any, T]) -> T:
        """Run `job` on the hub's event loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(job, self._loop).result()


#: Idle hub apps and their settings: building the app (its routes, then its middleware on the
#: first request) and a portal for each hub was 5% of a model schedule's CPU. An app keeps no
#: state of a hub's own but app.state.hub, which in_process_hub sets anew; one app serves one
#: open hub at a time.
_IDLE_APPS: list[tuple[Settings, FastAPI]] = []


@contextmanager
def _hub_app(settings: Settings) -> Iterator[FastAPI]:
    found = next((idle for idle in _IDLE_APPS if idle[0] == settings), None)
    if found is not None:
        _IDLE_APPS.remove(found)
    app = found[1] if found is not None else create_app(settings)
    try:
        yield app
    finally:
        _IDLE_APPS.append((settings, app))


@contextmanager
def _event_loop() -> Iterator[asyncio.AbstractEventLoop]:
    """A new event loop running in a helper thread until the block ends."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="in-process-hub", daemon=True)
    thread.start()
    try:
        yield loop
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        loop.close()


@contextmanager
def in_process_hub(db: Path, limits: Limits = DEFAULT_LIMITS) -> Iterator[PortalTransport]:
    """The hub app in-process on a real SQLite file, local (keyless) mode."""
    settings = Settings(db_url="unused", auth="local", limits=limits)
    with _event_loop() as loop, _hub_app(settings) as app:
        transport = PortalTransport(app, loop)
        backend = transport.call(open_backend(f"sqlite://{db}"))
        app.state.hub = AppHub(settings, backend)  # as create_app(settings, backend) sets it
        try:
            yield transport
        finally:
            transport.call(backend.close())


# Hubs are started from this one thread, which lives as long as the test process: the parent
# death signal (die_with_parent) fires when the *thread* that started a process ends, and a
# test may restart a hub from a sync's short-lived worker thread (a fault on a pushed batch).
_LAUNCHER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hub-launcher")


class Hub:
    """`nmem serve` on a fixed port and database, which a test may kill and start again."""

    def __init__(
        self,
        db: Path,
        log: Path,
        *,
        keys: bool = False,
        tls: tuple[Path, Path] | None = None,
        options: tuple[str, ...] = (),
        db_url: str | None = None,
    ) -> None:
        """tls: (certificate, key) PEM files to serve https with (`--tls-cert/--tls-key`);
        options: more `nmem serve` options; db_url: another database (PostgreSQL) instead of
        the SQLite file `db`."""
        self.port = free_port()
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"
        self.db, self.log, self.keys, self.tls = db, log, keys, tls
        self.options = options
        self.db_url = db_url or f"sqlite://{db}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = _LAUNCHER.submit(self._spawn).result()
        verify = ssl.create_default_context(cafile=self.tls[0]) if self.tls else True
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                health = httpx.get(self.url + "/v1/health", timeout=1, verify=verify)
                if health.status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.05)
        raise RuntimeError(self.log.read_text())

    def _spawn(self) -> subprocess.Popen[bytes]:
        args = [NMEM, "serve", "--port", str(self.port), "--db", self.db_url]
        args += ["--rate-limit", "0", "--log-level", "debug", *self.options]
        if self.keys:
            args.append("--require-keys")
        if self.tls:
            args += ["--tls-cert", str(self.tls[0]), "--tls-key", str(self.tls[1])]
        env = {**os.environ, "NMEM_HOME": str(self.db.parent / "hub-home")}
        with self.log.open("ab") as out:
            return subprocess.Popen(
                args,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=die_with_parent,
            )

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()

    def db_bytes(self) -> bytes:
        return b"".join(
            Path(f"{self.db}{suffix}").read_bytes()
            for suffix in ("", "-wal")
            if Path(f"{self.db}{suffix}").exists()
        )
