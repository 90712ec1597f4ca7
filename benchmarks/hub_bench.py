"""Hub throughput: a real `nmem serve` process on loopback, driven by this process.

Prints requests/s for push (100 records) and no-op pull with 1, 10 and 100 concurrent devices,
on SQLite and PostgreSQL; hub bytes stored per record; and the cost of a push into a brain of 10K
and of 1M records (seeded through the backend's own push, in big batches, before the hub starts).

    .venv/bin/python benchmarks/hub_bench.py [--backends sqlite,postgres] [--big 1000000]

--mode isolation instead runs the isolation test's scenario (tests/helpers/hub_load.py) bigger:
account A's brain of --big records (300,000 by default in this mode) listed in a loop by A,
beside account B's no-op pulls, one every 25 ms; it prints B's median and p90 without and with
A's load.

The load generator speaks HTTP/1.1 keep-alive on raw asyncio streams: a full client library would
spend more CPU than the hub on a small machine and measure itself.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import psycopg

import machine

# Starting, waiting for and stopping a hub process, and throwaway PostgreSQL databases, are the
# tests' (tests/helpers): the benchmark runs hubs exactly as the tests do.
from helpers.hub_load import measure
from helpers.hub_targets import HubOptions, nmem_serve, throwaway_postgres
from neuralmemory.hub.auth import new_id, new_key
from neuralmemory.hub.backends import Incoming, open_backend
from neuralmemory.protocol import DeviceInfo, Version

T0 = 1_732_460_000_000
CONCURRENCY = (1, 10, 100)
PULLS = 3000  # no-op pulls per concurrency level
PUSHES = {1: 100, 10: 200, 100: 300}  # pushes of 100 records per concurrency level
BIG_PUSHES = 100


def versions(prefix: str, count: int, device: str = "dev-0") -> list[Version]:
    """Records shaped like a remembered memory (~200 bytes of body)."""
    return [
        Version.create(
            kind="memory",
            id=f"{prefix}-{n}",
            hlc=f"{T0 + n:013d}-0000-{device}",
            device_id=device,
            strength=500_000,
            body={
                "content": f"Decision {n}: keep the hub's SQL in one module; {prefix} note",
                "type": "decision",
                "tags": ["hub", "bench"],
                "priority": 5,
                "created_at": T0 + n,
            },
        )
        for n in range(count)
    ]


class Connection:
    """One keep-alive HTTP/1.1 connection: the least client work per request."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, url: str) -> Connection:
        parts = urlsplit(url)
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
        return cls(reader, writer)

    async def post(self, path: str, body: bytes, key: str) -> tuple[int, bytes]:
        self.writer.write(
            f"POST {path} HTTP/1.1\r\nHost: hub\r\nAuthorization: Bearer {key}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        return status, await self.reader.readexactly(length)

    def close(self) -> None:
        self.writer.close()


async def run(url: str, jobs: list[list[tuple[str, bytes]]], key: str) -> float:
    """Each inner list is one device's requests, sent in order on its own connection; req/s."""
    conns = [await Connection.open(url) for _ in jobs]

    async def device(conn: Connection, requests: list[tuple[str, bytes]]) -> None:
        for path, body in requests:
            status, answer = await conn.post(path, body, key)
            if status != 200:
                raise RuntimeError(f"{path}: {status} {answer[:200]!r}")

    started = time.perf_counter()
    await asyncio.gather(*(device(c, r) for c, r in zip(conns, jobs, strict=True)))
    elapsed = time.perf_counter() - started
    for conn in conns:
        conn.close()
    return sum(len(r) for r in jobs) / elapsed


def push_body(device: str, records: list[Version]) -> bytes:
    return json.dumps(
        {
            "device": {"device_id": device, "name": device},
            "records": [v.model_dump() for v in records],
        }
    ).encode()


def pull_body(device: str, cursor: int) -> bytes:
    return json.dumps({"device": {"device_id": device, "name": device}, "cursor": cursor}).encode()


async def seed(db_url: str, big: int) -> tuple[str, dict[int, str]]:
    """An account and its key, and brains of 10K and `big` records, written by the backend."""
    store = await open_backend(db_url)
    try:
        account = new_id("acc_")
        key, row = new_key(account, "bench", T0)
        await store.create_account(account, f"{account}@bench.example", row)
        brains = {}
        for size in (10_000, big):
            brain = f"big-{size}"
            device = DeviceInfo(device_id="seed", name="seed")
            for start in range(0, size, 10_000):
                batch = versions(f"s{start}", min(10_000, size - start), device="seed")
                await store.push(
                    account, brain, "default", device, [Incoming.of(v) for v in batch], T0
                )
            brains[size] = brain
        return key, brains
    finally:
        await store.close()


def stored_bytes(db_url: str) -> float:
    """Bytes the records take in the database (table and indexes) per record."""
    if db_url.startswith("sqlite://"):
        with sqlite3.connect(db_url.removeprefix("sqlite://")) as db:
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            used = db.execute(
                "SELECT SUM(pgsize - unused) FROM dbstat WHERE name IN"
                " ('records', 'records_seq', 'records_bucket')"
            ).fetchone()[0]
            count = db.execute("SELECT COUNT(*) FROM records").fetchone()[0]
    else:
        with psycopg.connect(db_url, autocommit=True) as db:
            db.execute("VACUUM ANALYZE records")
            row = db.execute(
                "SELECT pg_total_relation_size('records'), COUNT(*) FROM records"
            ).fetchone()
            assert row is not None  # an aggregate always answers one row
            used, count = row
    return int(used) / int(count)


@contextmanager
def database(backend: str, workdir: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite://{workdir / 'hub.db'}"
    else:
        with throwaway_postgres() as url:
            yield url


def push_jobs(n: int) -> list[list[tuple[str, bytes]]]:
    """For each of n devices, its own brain and pushes of 100 new records (made before timing)."""
    per = max(1, PUSHES[n] // n)
    return [
        [
            (
                f"/v1/brains/b{n}-{d}/push",
                push_body(f"d{d}", versions(f"n{n}-{d}-{i}", 100, f"d{d}")),
            )
            for i in range(per)
        ]
        for d in range(n)
    ]


def pull_jobs(n: int) -> list[list[tuple[str, bytes]]]:
    """For each of n devices, pulls of its brain from past the end: nothing new, a no-op sync."""
    return [
        [(f"/v1/brains/b{n}-{d}/pull", pull_body(f"d{d}", 10**9))] * (PULLS // n) for d in range(n)
    ]


async def push_latency(url: str, brain: str, key: str) -> list[float]:
    conn = await Connection.open(url)
    timings = []
    for i in range(BIG_PUSHES):
        body = push_body("d0", versions(f"x-{brain}-{i}", 100, "d0"))
        started = time.perf_counter()
        status, _ = await conn.post(f"/v1/brains/{brain}/push", body, key)
        timings.append((time.perf_counter() - started) * 1000)
        assert status == 200
    conn.close()
    return timings


async def bench(backend: str, big: int) -> None:
    def say(line: str) -> None:
        print(f"{backend:<8} {line}", flush=True)

    with tempfile.TemporaryDirectory() as tmp, database(backend, Path(tmp)) as db_url:
        started = time.perf_counter()
        key, brains = await seed(db_url, big)
        say(f"seeded brains of 10,000 and {big:,} records in {time.perf_counter() - started:.0f} s")
        # Room for every device at once: the point is throughput, not the 503 past the cap.
        options = HubOptions(rate_limit=0, log_level="info", max_concurrent=max(CONCURRENCY))
        with nmem_serve(db_url, options, Path(tmp)) as hub:
            for n in CONCURRENCY:
                rate = await run(hub.url, push_jobs(n), key)
                records = f"{rate * 100:7,.0f} records/s"
                say(f"push of 100 records, {n:>3} devices: {rate:6.1f} req/s = {records}")
            for n in CONCURRENCY:
                rate = await run(hub.url, pull_jobs(n), key)
                say(f"no-op pull,          {n:>3} devices: {rate:6.1f} req/s")
            for size, brain in brains.items():
                ms = await push_latency(hub.url, brain, key)
                p90 = statistics.quantiles(ms, n=10)[-1]
                say(
                    f"push of 100 records into a brain of {size:>9,}: "
                    f"median {statistics.median(ms):5.1f} ms, p90 {p90:5.1f} ms"
                )
        say(f"hub bytes stored per record (table + indexes): {stored_bytes(db_url):.0f}")


ISOLATION_BIG = 300_000  # the security review's brain (a 41.8 MB listing before paging)
ISOLATION_SAMPLES = 200


def isolation(backend: str, big: int) -> None:
    def figures(seconds: list[float]) -> str:
        ms = [s * 1000 for s in seconds]
        p90 = statistics.quantiles(ms, n=10)[-1]
        return f"median {statistics.median(ms):6.1f} ms, p90 {p90:6.1f} ms"

    with tempfile.TemporaryDirectory() as tmp:
        times = measure(backend, Path(tmp), big, ISOLATION_SAMPLES)
    ratio = statistics.median(times.loaded) / statistics.median(times.quiet)
    print(f"{backend:<8} B's no-op pull, quiet:        {figures(times.quiet)}")
    print(f"{backend:<8} B's no-op pull, A listing {big:,}: {figures(times.loaded)}")
    print(f"{backend:<8} B's median under A's load: {ratio:.1f}x", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=("throughput", "isolation"), default="throughput")
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--big", type=int, help="records in the big brain")
    args = parser.parse_args()
    print(machine.describe())
    for backend in args.backends.split(","):
        if args.mode == "isolation":
            isolation(backend, args.big or ISOLATION_BIG)
        else:
            asyncio.run(bench(backend, args.big or 1_000_000))


if __name__ == "__main__":
    main()
