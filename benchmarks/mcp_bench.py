"""MCP start-up as a client sees it: from starting `nmem mcp` to the initialize result.

    .venv/bin/python benchmarks/mcp_bench.py [runs]

Each run starts a new `nmem mcp` (the way Claude Code or Cursor does, stdio), writes one
initialize request and times the wait for its result; then closes stdin and lets the server
exit. Prints p50 and p95 in milliseconds of wall time and of the server's CPU (user + system).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import machine
from core_bench import percentile

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


def once(home: str) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    server = subprocess.Popen(
        [NMEM, "mcp"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "NMEM_HOME": home},
    )
    assert server.stdin is not None and server.stdout is not None
    server.stdin.write((json.dumps(INITIALIZE) + "\n").encode())
    server.stdin.flush()
    reply = json.loads(server.stdout.readline())
    wall = (time.perf_counter() - start) * 1000
    assert reply["id"] == 1 and "result" in reply, reply
    server.stdin.close()
    server.wait(timeout=30)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime) * 1000
    return wall, cpu  # cpu: the whole process, its exit included


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("runs", nargs="?", type=int, default=20, help="server starts measured")
    runs = parser.parse_args().runs
    print(machine.describe())
    with tempfile.TemporaryDirectory() as home:
        once(home)  # warm-up: the OS file cache
        results = [once(home) for _ in range(runs)]
    wall = [w for w, _ in results]
    cpu = [c for _, c in results]
    print("| initialize | p50 ms | p95 ms |")
    print("|---|---:|---:|")
    print(f"| wall, start to result | {statistics.median(wall):.0f} | {percentile(wall, 95):.0f} |")
    print(f"| server CPU, whole run | {statistics.median(cpu):.0f} | {percentile(cpu, 95):.0f} |")


if __name__ == "__main__":
    main()
