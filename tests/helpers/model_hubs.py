"""The hubs the reliability model runs against, and a disk that fills and frees on each.

sqlite         the in-process hub (devices.in_process_hub, the model's default). Its disk
               fills by SQLite's own page limit on the writer connection (PRAGMA max_page_count
               set to the pages it has): a write that needs one more page fails with SQLITE_FULL,
               the error a full disk gives; one that fits in free pages still lands, as on a disk
               with a few free blocks.
postgres-pair  two `nmem serve` processes on one PostgreSQL database behind a round-robin loopback
               TCP proxy (every request a new connection, so they take turns). PostgreSQL's disk
               "fills" by a trigger on every table raising its own disk-full error (SQLSTATE
               53100), which only a real full disk on the server could produce otherwise.
worker         the Worker under `wrangler dev` (without its DevTools inspector, and reached
               directly, not through wrangler's proxy worker: most of the CPU a request
               cost), its local D1 on a small tmpfs of its own (`unshare -rm`), filled for
               real through /proc/PID/root.

The remote hubs live for a whole run; each schedule registers an account of its own, so its
devices start on a hub where their account has no brain yet (a fresh hub, as far as they see).
"""

from __future__ import annotations

import itertools
import secrets
import socket
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import httpx
import psycopg

from helpers.devices import PortalTransport
from helpers.hub_targets import HubOptions, fill, nmem_serve, throwaway_postgres
from helpers.worker_target import user_worker_url, worker
from neuralmemory.hub.backends.sqlite import SqliteDatabase
from neuralmemory.hub.backends.sqlstore import SqlStore

HUBS = ("sqlite", "postgres-pair", "worker")
#: the Worker's D1 folder: room for a long run's accounts, small enough to fill in a moment
WORKER_DISK_BYTES = 48 * 1024 * 1024
CHUNK = 256 * 1024
#: `nmem serve` at info: the debug log of a long run would be most of its time
OPTIONS = HubOptions(auth="keys", log_level="info")


class HubDisk(Protocol):
    """The hub's storage, which a schedule fills (writes are refused) and frees again."""

    #: reads still work while it is full (not under `wrangler dev`: TmpfsDisk)
    serves_reads: bool

    def fill(self) -> None: ...

    def free(self) -> None: ...


# ------------------------------------------------------------------ the in-process SQLite hub


class SqlitePageLimit:
    """The in-process hub's database capped at the pages it holds (see the module docstring)."""

    serves_reads = True

    def __init__(self, transport: PortalTransport) -> None:
        backend = transport.app.state.hub.backend
        assert isinstance(backend, SqlStore) and isinstance(backend.db, SqliteDatabase)
        self.conn = backend.db.conn  # the writer: the only connection that writes
        (self.unlimited,) = self.conn.execute("PRAGMA max_page_count").fetchone()

    def fill(self) -> None:
        (pages,) = self.conn.execute("PRAGMA page_count").fetchone()
        self.conn.execute(f"PRAGMA max_page_count = {int(pages)}")

    def free(self) -> None:
        self.conn.execute(f"PRAGMA max_page_count = {int(self.unlimited)}")


# ------------------------------------------------------------------ remote hubs


class KeyedTransport(httpx.BaseTransport):
    """Every request with one account's key: the model's devices and observer send none."""

    def __init__(self, inner: httpx.BaseTransport, key: str) -> None:
        self.inner, self.key = inner, key

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.headers["Authorization"] = f"Bearer {self.key}"
        return self.inner.handle_request(request)


@dataclass
class RemoteHub:
    name: str
    url: str
    transport: httpx.BaseTransport
    disk: HubDisk
    #: the process groups its processes run in (benchmarks/group_cpu.py counts their CPU)
    groups: tuple[int, ...] = ()

    def account(self) -> httpx.BaseTransport:
        """A fresh account on this hub: the transport its devices use (with its key)."""
        email = f"model-{secrets.token_hex(8)}@example.com"
        reply = httpx.Client(transport=self.transport, base_url=self.url, timeout=60).post(
            "/v1/auth/register", json={"email": email}
        )
        assert reply.status_code == 201, reply.text
        return KeyedTransport(self.transport, reply.json()["api_key"])


class RoundRobinProxy:
    """A loopback TCP proxy that hands each new connection to the next of its backends."""

    def __init__(self, backends: list[tuple[str, int]]) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port: int = self.server.getsockname()[1]
        self.turns = itertools.cycle(backends)
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, name="rr-proxy", daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return  # closed
            with self.lock:
                backend = next(self.turns)
            threading.Thread(target=self._relay, args=(client, backend), daemon=True).start()

    def _relay(self, client: socket.socket, backend: tuple[str, int]) -> None:
        with client, socket.create_connection(backend) as upstream:
            back = threading.Thread(target=_pump, args=(upstream, client), daemon=True)
            back.start()
            _pump(client, upstream)
            back.join()

    def close(self) -> None:
        self.server.close()


def _pump(source: socket.socket, sink: socket.socket) -> None:
    with suppress(OSError):  # a side that closed ends the relay; the other learns by EOF
        while data := source.recv(CHUNK):
            sink.sendall(data)
    with suppress(OSError):
        sink.shutdown(socket.SHUT_WR)


class PostgresDiskFull:
    """Every write to the hub's tables fails as a full disk does on PostgreSQL (53100)."""

    serves_reads = True
    FUNCTION = (
        "CREATE OR REPLACE FUNCTION nmem_model_disk_full() RETURNS trigger LANGUAGE plpgsql AS"
        " $$ BEGIN RAISE EXCEPTION 'could not extend file: No space left on device'"
        " USING ERRCODE = 'disk_full'; END $$"
    )

    def __init__(self, url: str) -> None:
        self.url = url
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(self.FUNCTION)
            rows = conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
                " AND tablename <> 'schema_migrations'"
            ).fetchall()
        self.tables = [row[0] for row in rows]

    def _each_table(self, statement: str) -> None:
        with psycopg.connect(self.url) as conn, conn.transaction():
            for table in self.tables:
                conn.execute(statement.format(table=table))

    def fill(self) -> None:
        self._each_table(
            'CREATE TRIGGER nmem_model_disk_full BEFORE INSERT OR UPDATE OR DELETE ON "{table}"'
            " FOR EACH STATEMENT EXECUTE FUNCTION nmem_model_disk_full()"
        )

    def free(self) -> None:
        self._each_table('DROP TRIGGER IF EXISTS nmem_model_disk_full ON "{table}"')


@contextmanager
def postgres_pair(workdir: Path) -> Iterator[RemoteHub]:
    """Two `nmem serve` on one PostgreSQL database behind the round-robin proxy."""
    with ExitStack() as stack:
        url = stack.enter_context(throwaway_postgres())
        ports, groups = [], []
        for n in (1, 2):  # one after the other: the first migrates the database
            (workdir / f"replica{n}").mkdir(parents=True)
            hub = stack.enter_context(nmem_serve(url, OPTIONS, workdir / f"replica{n}"))
            ports.append(int(hub.url.rsplit(":", 1)[1]))
            groups += [hub.pid] if hub.pid is not None else []
        proxy = RoundRobinProxy([("127.0.0.1", port) for port in ports])
        stack.callback(proxy.close)
        # no keep-alive: every request is a new connection, so the replicas take turns
        transport = httpx.HTTPTransport(limits=httpx.Limits(max_keepalive_connections=0))
        stack.callback(transport.close)
        yield RemoteHub(
            "postgres-pair",
            f"http://127.0.0.1:{proxy.port}",
            transport,
            PostgresDiskFull(url),
            tuple(groups),
        )


class TmpfsDisk:
    """A tmpfs mounted in a hub process's own mount namespace, filled through /proc/PID/root.

    The Worker writes nothing for a read, but the local D1 of `wrangler dev` (workerd's SQLite)
    fails even a SELECT with SQLITE_FULL on a full disk: reads are 507 storage_full too."""

    serves_reads = False

    def __init__(self, pid: int, folder: Path) -> None:
        self.filler = Path(f"/proc/{pid}/root") / folder.relative_to("/") / "filler"

    def fill(self) -> None:
        fill(self.filler.parent)

    def free(self) -> None:
        self.filler.unlink(missing_ok=True)


@contextmanager
def worker_hub(workdir: Path) -> Iterator[RemoteHub]:
    """The Worker under `wrangler dev`, its D1 on a tmpfs of WORKER_DISK_BYTES."""
    with worker(HubOptions(), workdir, disk_bytes=WORKER_DISK_BYTES, inspector=False) as hub:
        assert hub.pid is not None
        transport = httpx.HTTPTransport()
        try:
            disk = TmpfsDisk(hub.pid, workdir / "state")
            url = user_worker_url(hub.pid)
            yield RemoteHub("worker", url, transport, disk, (hub.pid,))
        finally:
            transport.close()


@contextmanager
def remote_hub(name: str, workdir: Path) -> Iterator[RemoteHub]:
    start = {"postgres-pair": postgres_pair, "worker": worker_hub}[name]
    with start(workdir) as hub:
        yield hub
