"""Sync cost against a real `nmem serve` on loopback: prints figures, asserts nothing.

The memories are realistic notes and conversation turns (benchmarks/texts.py, 80-300
characters). For each brain size: the first full push, the first full pull on a new device (the
median of three new devices), an incremental sync of 10 changed memories, a no-op sync, and the
bytes sent -- each through service.run_sync, which opens and closes the brain and the hub client
per call; then the same incremental and no-op syncs on a brain and hub client kept open (as a
long-lived process can), and a no-op `nmem sync full` as a whole process. The source brain's
records are written straight into its change log (what sync moves); remember() itself is
core_bench.py's subject.

A first pull stores memories text first and leaves their concept graph to the indexer
(core/indexing.py), started as `nmem sync` starts it, on the other core. For the new devices it
reports: when recall first answered by text (in process, and as an `nmem recall` process),
counted from the start of the pull; when the graph was complete; the same pull with the graph
built in the pulling process afterwards (one core); and the floor: SQLite inserting the rows the
finished pull left (records, memories, FTS, neurons, synapses, relations) into an empty brain,
a page of memories per transaction, from tuples made beforehand -- measured in the same run,
with the ratio of the completion to it.

Each size runs twice in the same run: a plain brain, then an end-to-end encrypted one (every
record sealed on the device, opened on the device: core/e2e.py; the new devices hold its key),
and the E2E figures are given as a ratio of the plain ones. The first syncs and the incremental
one also give their CPU time, of this process and the hub's together (/proc): on a loaded
machine wall times mostly measure the wait for a core, CPU times the work, so the E2E / plain
ratio of the CPU is the one to trust there.

    .venv/bin/python benchmarks/sync_bench.py [--sizes 10000 100000] [--no-pull-above N]
        [--modes plain e2e]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

import first_pull
import machine
import texts
from neuralmemory import config
from neuralmemory.core import crypto
from neuralmemory.core.brains import open_brain
from neuralmemory.sync import service
from neuralmemory.sync.engine import SyncEngine
from neuralmemory.sync.results import SyncResult

TOPICS = ["billing", "search", "deploy", "cache", "oncall", "vpn", "backup", "metrics"]
NEW_DEVICES = 3  # each pulls the whole brain once: one run alone moves by +-30 ms on a shared VM
MODES = ("plain", "e2e")
HUB_PID: list[int] = []  # the running hub's, for its CPU time
CPU: list[float] = []  # the CPU seconds of each timed() step, in order


@contextmanager
def home(path: Path) -> Iterator[None]:
    old = os.environ.get("NMEM_HOME")
    os.environ["NMEM_HOME"] = str(path)
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("NMEM_HOME", None)
        else:
            os.environ["NMEM_HOME"] = old


@contextmanager
def hub_process(workdir: Path) -> Iterator[str]:
    with socket_port() as port:
        pass
    url = f"http://127.0.0.1:{port}"
    log = (workdir / "hub.log").open("wb")
    proc = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "nmem"),
            "serve",
            "--port",
            str(port),
            "--db",
            f"sqlite://{workdir / 'hub.db'}",
            "--rate-limit",
            "0",
            "--log-level",
            "warning",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        env={**os.environ, "NMEM_HOME": str(workdir / "hub-home")},
    )
    HUB_PID[:] = [proc.pid]
    try:
        for _ in range(600):
            try:
                if httpx.get(url + "/v1/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.05)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()


@contextmanager
def socket_port() -> Iterator[int]:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


def memory_body(content: str, n: int, now: int) -> dict[str, Any]:
    return {
        "content": content,
        "encrypted": False,
        "type": "fact",
        "tags": [TOPICS[n % len(TOPICS)]],
        "priority": 5,
        "created_at": now,
        "event_at": None,
        "expires_at": None,
    }


def build(device: Path, size: int, e2e: bool) -> None:
    now = int(time.time() * 1000)
    with home(device), open_brain() as brain:
        if e2e:
            brain.encrypt_brain()
    with home(device), open_brain() as brain, brain.db.transaction():
        for n, content in enumerate(texts.memories(size)):
            brain.changes.write(
                "memory", f"m-bench{n:07d}", body=memory_body(content, n, now), strength=500_000
            )


def cpu_seconds() -> float:
    """CPU time used so far by this process (all its threads) and the hub's process."""
    stat = Path(f"/proc/{HUB_PID[0]}/stat").read_text().rsplit(")", 1)[1].split()
    hub = (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime
    return time.process_time() + hub


def timed(device: Path, action: str = "full") -> tuple[float, SyncResult]:
    with home(device):
        cpu = cpu_seconds()
        start = time.perf_counter()
        result = service.run_sync(action)
        seconds = time.perf_counter() - start
        CPU.append(cpu_seconds() - cpu)
        return seconds, result


def edit_ten(device: Path, round_: int) -> None:
    with home(device), open_brain() as brain:
        for n in range(10):
            brain.edit(f"m-bench{n * 7:07d}", content=f"Edited in round {round_}: item {n}")


def share_key(source: Path, devices: list[Path]) -> None:
    """What `nmem keys share` / `receive` do, without the hub: the brain's key file copied."""
    with home(source), open_brain() as brain:
        path = crypto.key_path(brain.id)
    for device in devices:
        (device / "keys").mkdir(parents=True, exist_ok=True, mode=0o700)
        shutil.copy2(path, device / "keys" / path.name)


def bench(size: int, pull: bool, mode: str) -> list[str]:
    work = Path(tempfile.mkdtemp(prefix="nmem-sync-bench-"))
    rows: list[str] = []
    try:
        with hub_process(work) as url:
            a, single = work / "a", work / "single"
            new = [work / f"new-{n}" for n in range(NEW_DEVICES)]
            for device in (a, single, *new):
                with home(device):
                    service.configure(hub_url=url, auto_sync=False)  # each sync is the bench's
            build(a, size, mode == "e2e")
            if mode == "e2e":
                share_key(a, [single, *new])
            seconds, first = timed(a)
            rows.append(row(size, mode, "first full push", seconds, first["bytes_sent"], CPU[-1]))
            if pull:
                rows.extend(first_pulls(size, mode, new, single))
            incremental, sent = [], []
            for round_ in range(5):
                edit_ten(a, round_)
                seconds, result = timed(a)
                incremental.append(seconds)
                sent.append(result["bytes_sent"])
            rows.append(
                row(
                    size,
                    mode,
                    "incremental, 10 changed (median of 5)",
                    statistics.median(incremental),
                    int(statistics.median(sent)),
                    statistics.median(CPU[-5:]),
                )
            )
            noop = [timed(a)[0] for _ in range(20)]
            rows.append(row(size, mode, "no-op sync (median of 20)", statistics.median(noop), 0))
            rows.extend(long_lived(a, size, mode))
            rows.extend(cli_process(a, size, mode))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return rows


def first_pulls(size: int, mode: str, new: list[Path], single: Path) -> list[str]:
    """The new devices' first pulls (benchmarks/first_pull.py): medians, from the pull's start."""
    pull = first_pull.measure(new, single, home)
    lines = [
        row(size, mode, f"{what} (median of {NEW_DEVICES})" if n < 4 else what, seconds, 0)
        for n, (what, seconds) in enumerate(first_pull.rows(size, pull))
    ]
    FLOOR[(size, mode)] = (
        pull.complete_s / pull.floor_s,
        pull.one_core_s / pull.floor_s,
        pull.one_core_cpu_s / pull.floor_cpu_s,
    )
    return lines


def long_lived(device: Path, size: int, mode: str) -> list[str]:
    """The engine on a Brain and a HubClient kept open, as a long-lived process (the MCP
    server's auto-sync) could hold them: no open, close or client set-up per sync."""
    with home(device), open_brain() as brain:
        cfg = config.load_config()
        with service.hub_client(cfg, None) as hub:

            def once() -> tuple[float, int]:
                sent = hub.bytes_sent
                start = time.perf_counter()
                SyncEngine(brain, hub, strategy=cfg.conflict_strategy).run("full")
                return time.perf_counter() - start, hub.bytes_sent - sent

            noop = [once()[0] for _ in range(20)]
            incremental, sent = [], []
            for round_ in range(5):
                for n in range(10):
                    brain.edit(f"m-bench{n * 7:07d}", content=f"Edited live, round {round_}: {n}")
                seconds, bytes_ = once()
                incremental.append(seconds)
                sent.append(bytes_)
    return [
        row(
            size,
            mode,
            "incremental, long-lived (median of 5)",
            statistics.median(incremental),
            int(statistics.median(sent)),
        ),
        row(size, mode, "no-op, long-lived (median of 20)", statistics.median(noop), 0),
    ]


def cli_process(device: Path, size: int, mode: str) -> list[str]:
    """`nmem sync full` as a user runs it: a whole process, interpreter start-up included."""
    nmem = str(Path(sys.executable).parent / "nmem")
    env = {**os.environ, "NMEM_HOME": str(device)}
    times = []
    for _ in range(5):
        start = time.perf_counter()
        subprocess.run([nmem, "sync", "full", "--json"], env=env, capture_output=True, check=True)
        times.append(time.perf_counter() - start)
    return [row(size, mode, "no-op, `nmem sync full` (median of 5)", statistics.median(times), 0)]


#: (size, mode, step) -> seconds and CPU seconds, for the E2E / plain ratios
TIMES: dict[tuple[int, str, str], float] = {}
#: (size, mode) -> first pull's completion / floor: with the indexer, on one core, the same in CPU
FLOOR: dict[tuple[int, str], tuple[float, float, float]] = {}
CPUS: dict[tuple[int, str, str], float] = {}


def row(size: int, mode: str, what: str, seconds: float, sent: int, cpu: float = 0.0) -> str:
    TIMES[(size, mode, what)] = seconds
    CPUS[(size, mode, what)] = cpu
    ratio = cpu_ratio = ""
    if mode == "e2e" and (size, "plain", what) in TIMES:
        ratio = f"{seconds / TIMES[(size, 'plain', what)]:.2f}x"
        if cpu and CPUS[(size, "plain", what)]:
            cpu_ratio = f"{cpu / CPUS[(size, 'plain', what)]:.2f}x"
    per = f"{seconds * 1e6 / size:,.0f}"
    line = f"| {size:>7,} | {mode:<5} | {what:<56} | {seconds * 1000:>9.1f} ms | {per:>6} |"
    cpu_ms = f"{cpu * 1000:.1f} ms" if cpu else ""
    return line + f" {sent:>12,} | {ratio:>6} | {cpu_ms:>10} | {cpu_ratio:>6} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument(
        "--no-pull-above",
        type=int,
        default=10**9,
        help="skip the new-device pull for brains larger than this",
    )
    parser.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES))
    args = parser.parse_args()
    print(machine.describe(), "(SQLite hub on loopback)")
    print(
        f"| memories | mode  | {'step':<56} |        time | µs/memory |   bytes sent | e2e/plain |"
        "        CPU | e2e/plain |"
    )
    print(
        f"|---------:|:------|:{'-' * 56}-|------------:|-------:|-------------:|----------:|"
        "-----------:|----------:|"
    )
    for size in args.sizes:
        for mode in args.modes:
            for line in bench(size, pull=size <= args.no_pull_above, mode=mode):
                print(line, flush=True)
    for (size, mode), (indexer, one_core, cpu) in FLOOR.items():
        print(
            f"{size:,} {mode}: first pull complete / SQLite floor {indexer:.2f}x with the"
            f" indexer on the other core, {one_core:.2f}x on one core ({cpu:.2f}x in CPU time)"
        )


if __name__ == "__main__":
    main()
