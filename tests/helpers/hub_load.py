"""One account's load beside another's requests, on a real `nmem serve`: the isolation test's
scenario, also run bigger by benchmarks/hub_bench.py --mode isolation.

Account A's big brain is seeded straight into the hub's database (pushing it would take minutes);
A lists its buckets in a loop from another process; B's small pulls are timed alongside.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg

from helpers.hub_api import Account, device, pushed, register, uid, version
from helpers.hub_targets import HubOptions, RunningHub, nmem_serve, throwaway_postgres

PACE_S = 0.025  # B sends a pull every 25 ms
LOAD_S = 30  # A's loop stops by itself after this long (bounded, as any load)

# A's loop: the listing of all 256 buckets without `after`, as a client from before paging
# sends it, again and again; the reply is read and dropped. It says "ready" after the first.
LOADER = """
import sys, time, httpx
url, key, brain, seconds = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
body = {"buckets": list(range(256))}
headers = {"Authorization": f"Bearer {key}"}
deadline = time.monotonic() + seconds
with httpx.Client(base_url=url, timeout=60) as client:
    for n in range(100_000):
        answer = client.post(f"/v1/brains/{brain}/buckets", json=body, headers=headers)
        assert answer.status_code in (200, 503), answer.status_code
        if n == 0:
            print("ready", flush=True)
        if time.monotonic() > deadline:
            break
"""

SEED = """
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {count})
INSERT INTO records (brain_id, kind, id, seq, bucket, vhash, hlc, device_id, parent, deleted,
                     strength, body, size)
SELECT '{brain}', 'memory', 'big-' || i, i + 1, i % 256, 'v1:{vhash}',
       '1732460000000-0000-dev-a', 'dev-a', NULL, FALSE, 0, '{{}}', 100
FROM n
"""


@dataclass(frozen=True)
class Hub:
    running: RunningHub
    db_url: str


@contextmanager
def serve(backend: str, workdir: Path) -> Iterator[Hub]:
    with ExitStack() as stack:
        if backend == "sqlite":
            url = f"sqlite://{workdir / 'hub.db'}"
        else:
            url = stack.enter_context(throwaway_postgres())
        running = stack.enter_context(nmem_serve(url, HubOptions(log_level="warning"), workdir))
        yield Hub(running, url)


def seed(db_url: str, brain: str, count: int) -> None:
    """`count` records straight into the hub's database (pushing them would take minutes)."""
    sql = SEED.format(count=count, brain=brain, vhash="0" * 64)
    if db_url.startswith("sqlite://"):
        with closing(sqlite3.connect(db_url.removeprefix("sqlite://"))) as db, db:
            db.execute(sql)
    else:
        with psycopg.connect(db_url) as pg:
            pg.execute(sql.encode())


def pull_times(client: httpx.Client, who: Account, brain: str, samples: int) -> list[float]:
    """Seconds per no-op pull of B's small brain: `samples` pulls, one sent every PACE_S whether
    or not the ones before have been answered, as from many devices. (Pulls sent one after
    another would mostly land between A's listings: each stall would delay just one of them.)"""
    body = {"device": device("dev-b"), "cursor": 1}

    def pull(at: float) -> float:
        time.sleep(max(0.0, at - time.monotonic()))
        started = time.perf_counter()
        answer = client.post(f"/v1/brains/{brain}/pull", json=body, headers=who.auth)
        assert answer.status_code == 200, answer.text
        return time.perf_counter() - started

    start = time.monotonic()
    with ThreadPoolExecutor(max_workers=samples) as senders:
        return list(senders.map(pull, [start + n * PACE_S for n in range(samples)]))


@contextmanager
def listing_loop(url: str, who: Account, brain: str) -> Iterator[None]:
    """A's listings from another process (so parsing them costs this one nothing)."""
    args = [sys.executable, "-c", LOADER, url, who.key, brain, str(LOAD_S)]
    with subprocess.Popen(args, stdout=subprocess.PIPE, start_new_session=True) as loader:
        try:
            assert loader.stdout is not None and loader.stdout.readline() == b"ready\n"
            yield
        finally:
            if loader.poll() is None:
                os.killpg(loader.pid, signal.SIGTERM)
            loader.wait(timeout=30)


@dataclass(frozen=True)
class Latencies:
    """B's pull times in seconds, without and with A's listing loop."""

    quiet: list[float]
    loaded: list[float]


def measure(backend: str, workdir: Path, big: int, samples: int) -> Latencies:
    """A hub on `backend`, A's brain of `big` records, B's pulls timed without and with A's loop."""
    with (
        serve(backend, workdir) as hub,
        httpx.Client(base_url=hub.running.url, timeout=LOAD_S) as client,
    ):
        ada, bob = register(client), register(client)
        big_brain, small = uid("brain-"), uid("brain-")
        pushed(client, ada, big_brain, version("m-0"))
        pushed(client, bob, small, version("m-0", device_id="dev-b"), dev="dev-b")
        seed(hub.db_url, big_brain, big)
        quiet = pull_times(client, bob, small, samples)
        with listing_loop(hub.running.url, ada, big_brain):
            loaded = pull_times(client, bob, small, samples)
    return Latencies(quiet, loaded)
