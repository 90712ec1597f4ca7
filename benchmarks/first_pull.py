"""A new device's first pull of a realistic brain: how soon it answers, when it is complete.

    .venv/bin/python benchmarks/first_pull.py [--size 10000] [--devices 3] [--e2e]

A source device pushes `size` realistic memories (benchmarks/texts.py) to a real `nmem serve` on
loopback; then each new device pulls them all, as `nmem sync full` does: the graph indexer
(sync/indexer.py) is started on the other core as the pull begins, the pull stores memories text
first, and the indexer builds the concept graph behind it. Measured from the start of the pull:

  text recall      the pull has returned and a recall in the same process has answered, by text
  `nmem recall`    an `nmem recall` process started then has answered (interpreter start included)
  complete         the indexer has built the whole graph
  one core         the same pull with the graph built in the pulling process right after

and the floor: SQLite inserting the rows the finished pull left (records, memories, FTS rows,
neurons, synapses, relations) into an empty brain, a page of 500 memories per transaction, from
tuples made beforehand; `complete / floor` is the goal's ratio (at most 2). The first recall, the
one-core pull and the floor are also given in CPU time of the process that ran them, which a
loaded machine moves far less than wall time (the hub's and the indexer's CPU not included).
sync_bench.py prints the same figures among its own. `--e2e`: the brain is end-to-end encrypted
(core/e2e.py; the new devices hold its key), so every pulled record is opened on the device.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import machine
from neuralmemory.core.brains import open_brain
from neuralmemory.store.db import Database, connect
from neuralmemory.store.migrations import migrate
from neuralmemory.sync import indexer, service

PAGE = 500
RECORD_COLUMNS = "kind, id, vhash, hlc, bucket, deleted, pending, version"
QUERY = "billing service incident"  # words the texts share: recall answers by text


@dataclass(frozen=True)
class Pull:
    pulled_s: float  # run_sync returned
    recall_s: float  # an in-process recall answered
    cli_s: float  # an `nmem recall` process answered
    complete_s: float  # the graph was complete
    floor_s: float  # SQLite inserting the same rows alone
    one_core_s: float  # pull, then the whole graph, in one process
    recall_cpu_s: float  # CPU time of the pulling process until its recall answered
    floor_cpu_s: float
    one_core_cpu_s: float


def new_device(device: Path, home: Any, nmem: Path) -> tuple[float, float, float, float, float]:
    """One new device's first pull with the indexer on the other core: (pulled, text recall,
    `nmem recall`, complete) in seconds from the start of the pull, and the CPU time this
    process spent until its recall answered."""
    with home(device):
        start, cpu = time.perf_counter(), time.process_time()
        indexer.start("default", force=True)  # as `nmem sync` does when the first page arrives
        service.run_sync("full")
        pulled = time.perf_counter() - start
        with open_brain() as brain:
            hits = brain.recall(QUERY, reinforce=False)
        recalled, recall_cpu = time.perf_counter() - start, time.process_time() - cpu
        assert hits, "recall found nothing after the pull"
        env = {"NMEM_HOME": str(device), "PATH": str(nmem.parent)}
        command = [str(nmem), "recall", QUERY, "--json"]
        subprocess.run(command, env=env, check=True, capture_output=True)
        cli = time.perf_counter() - start
        while indexer.waiting("default"):
            time.sleep(0.005)
        return pulled, recalled, cli, time.perf_counter() - start, recall_cpu


def one_core(device: Path, home: Any) -> tuple[float, float]:
    """The same first pull with no indexer process: the graph built here, after the pull (wall
    and CPU seconds)."""
    with home(device):
        start, cpu = time.perf_counter(), time.process_time()
        service.run_sync("full")
        with open_brain() as brain:
            while brain.build_graph():
                pass
        return time.perf_counter() - start, time.process_time() - cpu


def floor(device: Path, home: Any) -> tuple[float, float]:
    """Seconds SQLite takes to insert the rows the device's finished pull left, alone (wall
    and CPU)."""
    with home(device), open_brain() as brain:
        pages = _pages(brain.db)
    with tempfile.TemporaryDirectory() as scratch:
        db = connect(Path(scratch) / "floor.db")
        migrate(db)
        start, cpu = time.perf_counter(), time.process_time()
        for page in pages:
            with db.transaction():
                for head, rows in page:
                    db.insert_many(head, rows)
        elapsed = time.perf_counter() - start, time.process_time() - cpu
        db.close()
    return elapsed


Page = list[tuple[str, list[tuple[Any, ...]]]]


def _pages(db: Database) -> list[Page]:
    """Every row of the pulled tables, cut into pages of PAGE memories (by rid); the records and
    the neurons in as many equal slices, in the order they were written."""
    rids = [rid for (rid,) in db.execute("SELECT rid FROM memories ORDER BY rid")]
    bounds = [rids[i] for i in range(0, len(rids), PAGE)] + [rids[-1] + 1]
    count = len(bounds) - 1

    def by_rid(sql: str, rid_at: int) -> list[list[tuple[Any, ...]]]:
        cut: list[list[tuple[Any, ...]]] = [[] for _ in range(count)]
        page = 0
        for row in sorted(db.execute(sql).fetchall(), key=lambda r: r[rid_at]):
            while row[rid_at] >= bounds[page + 1]:
                page += 1
            cut[page].append(tuple(row))
        return cut

    def slices(rows: list[tuple[Any, ...]]) -> list[list[tuple[Any, ...]]]:
        size = -(-len(rows) // count)
        return [rows[i * size : (i + 1) * size] for i in range(count)]

    records = slices(db.execute("SELECT * FROM records ORDER BY kind, id").fetchall())
    neurons = slices(db.execute("SELECT id, key, kind, df FROM neurons ORDER BY id").fetchall())
    memories = by_rid("SELECT * FROM memories", 0)
    fts = by_rid("SELECT rowid, terms FROM memory_fts", 0)
    synapses = by_rid("SELECT neuron_id, memory_rid, weight FROM synapses", 1)
    relations = by_rid("SELECT src, dst, kind, memory_rid FROM relations", 3)
    columns = ", ".join(row[1] for row in db.execute("PRAGMA table_info(memories)"))
    return [
        [
            (f"INSERT INTO records ({RECORD_COLUMNS})", records[n]),
            (f"INSERT INTO memories ({columns})", memories[n]),
            ("INSERT INTO memory_fts (rowid, terms)", fts[n]),
            ("INSERT INTO neurons (id, key, kind, df)", neurons[n]),
            ("INSERT INTO synapses (neuron_id, memory_rid, weight)", synapses[n]),
            ("INSERT INTO relations (src, dst, kind, memory_rid)", relations[n]),
        ]
        for n in range(count)
    ]


def measure(devices: list[Path], single: Path, home: Any) -> Pull:
    """The new devices' first pulls (medians), the one-core pull, and the floor of the first."""
    nmem = Path(sys.executable).parent / "nmem"
    runs = [new_device(device, home, nmem) for device in devices]
    pulled, recalled, cli, complete, cpu = (
        statistics.median(run[i] for run in runs) for i in range(5)
    )
    (floor_s, floor_cpu), (single_s, single_cpu) = floor(devices[0], home), one_core(single, home)
    return Pull(pulled, recalled, cli, complete, floor_s, single_s, cpu, floor_cpu, single_cpu)


def rows(size: int, pull: Pull) -> list[tuple[str, float]]:
    """(what, seconds) lines for a table; µs per memory is seconds * 1e6 / size."""
    return [
        ("first pull returned", pull.pulled_s),
        ("first recall by text (in process)", pull.recall_s),
        ("first `nmem recall` answered", pull.cli_s),
        ("graph complete (indexer on the other core)", pull.complete_s),
        ("graph complete, one core", pull.one_core_s),
        ("floor: SQLite inserting the same rows alone", pull.floor_s),
        ("CPU time: pulling process until its first recall", pull.recall_cpu_s),
        ("CPU time: the pull and its graph in one process", pull.one_core_cpu_s),
        ("CPU time: the floor", pull.floor_cpu_s),
    ]


def main() -> None:
    import sync_bench

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=10_000, help="memories in the brain")
    parser.add_argument("--devices", type=int, default=3, help="new devices (medians)")
    parser.add_argument("--e2e", action="store_true", help="an end-to-end encrypted brain")
    args = parser.parse_args()
    print(machine.describe(), "(SQLite hub on loopback)")
    work = Path(tempfile.mkdtemp(prefix="nmem-first-pull-"))
    with sync_bench.hub_process(work) as url:
        devices = [work / f"new-{n}" for n in range(args.devices)]
        for device in (work / "a", work / "single", *devices):
            with sync_bench.home(device):
                service.configure(hub_url=url, auto_sync=False)
        sync_bench.build(work / "a", args.size, e2e=args.e2e)
        if args.e2e:
            sync_bench.share_key(work / "a", [work / "single", *devices])
        sync_bench.timed(work / "a")
        pull = measure(devices, work / "single", sync_bench.home)
    print(f"| {args.size:,} memories{', E2E' if args.e2e else ''} | ms | µs per memory |")
    print("|:---|---:|---:|")
    for what, seconds in rows(args.size, pull):
        print(f"| {what} | {seconds * 1000:,.0f} | {seconds * 1e6 / args.size:,.0f} |")
    print(
        f"complete / floor: {pull.complete_s / pull.floor_s:.2f}x (one core:"
        f" {pull.one_core_s / pull.floor_s:.2f}x; in CPU time"
        f" {pull.one_core_cpu_s / pull.floor_cpu_s:.2f}x)"
    )


if __name__ == "__main__":
    main()
