"""The MCP server as a client sees it: its start-up, and recall through it against the library.

    .venv/bin/python benchmarks/mcp_bench.py [--runs N] [--sizes 10000 100000] [--queries N]
        [--nmem PATH]

Start-up: each run starts a new `nmem mcp` (the way Claude Code or Cursor does, stdio), writes
an initialize request and then, at once, the initialized notification and tools/list (as
clients do), and times the wait for each answer from the start of the process; then closes stdin
and lets the server exit. p50 and p95 in milliseconds of wall time, and of the server's CPU
(user + system) for the whole run.

Recall: a brain of each size is filled with realistic text (benchmarks/goldset.py), then the
same queries are recalled in this process (Brain.recall, as nmem_recall calls it) and through
`nmem mcp` with the official SDK client (`nmem_recall`, one call after the other on one
session), alternating the two in rounds; p50 and p95 of each, and their ratio. Both sides recall
the same queries, warmed up alike, and must return as many memories each. --nmem serves MCP
with another build's `nmem` (e.g. a checkout of main's), to compare two against one library.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import machine
from core_bench import percentile, queries

NMEM = str(Path(sys.executable).parent / "nmem")
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "mcp_bench", "version": "1"},
    },
}
INITIALIZED = {"jsonrpc": "2.0", "method": "notifications/initialized"}
TOOLS_LIST = {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}
ROUNDS = 4  # in-process and MCP recalls alternate in this many rounds


def start_once(home: str, nmem: str) -> tuple[float, float, float]:
    """Wall ms to the initialize answer and to the tools/list answer; the server's CPU ms."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    server = subprocess.Popen(
        [nmem, "mcp"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "NMEM_HOME": home},
    )
    assert server.stdin is not None and server.stdout is not None
    lines = b"".join(json.dumps(m).encode() + b"\n" for m in (INITIALIZE, INITIALIZED, TOOLS_LIST))
    server.stdin.write(lines)
    server.stdin.flush()
    hello = json.loads(server.stdout.readline())
    initialized = (time.perf_counter() - start) * 1000
    tools = json.loads(server.stdout.readline())
    listed = (time.perf_counter() - start) * 1000
    assert hello["id"] == 1 and "result" in hello, hello
    assert tools["id"] == 2 and tools["result"]["tools"], tools
    server.stdin.close()
    server.wait(timeout=30)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime) * 1000
    return initialized, listed, cpu  # cpu: the whole process, its exit included


def start_up(runs: int, nmem: str) -> None:
    with tempfile.TemporaryDirectory() as home:
        start_once(home, nmem)  # warm-up: the OS file cache
        results = [start_once(home, nmem) for _ in range(runs)]
    print("| start-up | p50 ms | p95 ms |")
    print("|---|---:|---:|")
    for label, column in (
        ("wall, start to the initialize answer", 0),
        ("wall, start to the tools/list answer", 1),
        ("server CPU, whole run", 2),
    ):
        values = [row[column] for row in results]
        print(f"| {label} | {statistics.median(values):.0f} | {percentile(values, 95):.0f} |")


async def mcp_recalls(home: Path, asked: list[str], nmem: str) -> tuple[list[float], list[int]]:
    """Wall ms of each nmem_recall, and how many memories each returned."""
    from mcp import ClientSession, StdioServerParameters, stdio_client

    # Started outside any git repository, as the in-process side recalls: of every project (a
    # server started in this checkout would recall only its project's memories, of which the
    # filled brain has none).
    params = StdioServerParameters(
        command=nmem, args=["mcp"], env={"NMEM_HOME": str(home)}, cwd=home.parent
    )
    timings, found = [], []
    with open(os.devnull, "w") as errlog:
        async with (
            stdio_client(params, errlog=errlog) as (read, write),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            for query in asked[:5]:  # warm-up: the first call imports the tools' modules
                await session.call_tool("nmem_recall", {"query": query})
            for query in asked:
                start = time.perf_counter()
                result = await session.call_tool("nmem_recall", {"query": query})
                timings.append((time.perf_counter() - start) * 1000)
                assert not result.is_error and result.structured_content, result.content
                found.append(len(result.structured_content["memories"]))
    return timings, found


def local_recalls(asked: list[str]) -> tuple[list[float], list[int]]:
    from neuralmemory.core.brains import open_brain

    timings, found = [], []
    with open_brain() as brain:
        for query in asked[:5]:
            brain.recall(query, limit=5)
        for query in asked:
            start = time.perf_counter()
            hits = brain.recall(query, limit=5)
            timings.append((time.perf_counter() - start) * 1000)
            found.append(len(hits))
    return timings, found


def recall_row(size: int, count: int, nmem: str) -> str:
    from hook_bench import fill

    with tempfile.TemporaryDirectory() as root:
        home = Path(root) / "nmem"
        os.environ["NMEM_HOME"] = str(home)
        fill(size)
        asked = queries(count * ROUNDS)
        random.Random(7).shuffle(asked)
        local: list[float] = []
        served: list[float] = []
        for n in range(ROUNDS):
            part = asked[n * count : (n + 1) * count]
            times, found_here = local_recalls(part)
            local += times
            times, found_there = asyncio.run(mcp_recalls(home, part, nmem))
            served += times
            # like with like: the same queries, each answered with as many memories
            assert found_here == found_there, (found_here, found_there)
    ratio = statistics.median(served) / statistics.median(local)
    return (
        f"| {size:,} | {statistics.median(local):.2f} | {percentile(local, 95):.2f} "
        f"| {statistics.median(served):.2f} | {percentile(served, 95):.2f} | {ratio:.2f}x |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=20, help="server starts measured (0: none)")
    parser.add_argument(
        "--sizes", type=int, nargs="*", default=[10_000, 100_000], help="brain sizes for recall"
    )
    parser.add_argument("--queries", type=int, default=50, help="recalls per round and side")
    parser.add_argument("--nmem", default=NMEM, help="the nmem that serves MCP")
    args = parser.parse_args()
    print(machine.describe())
    if args.runs:
        start_up(args.runs, args.nmem)
    if args.sizes:
        print()
        print(
            "| memories | in-process recall p50 ms | p95 ms | MCP nmem_recall p50 ms | p95 ms "
            "| MCP / in-process (p50) |"
        )
        print("|---:|---:|---:|---:|---:|---:|")
        for size in args.sizes:
            print(recall_row(size, args.queries, args.nmem), flush=True)


if __name__ == "__main__":
    main()
