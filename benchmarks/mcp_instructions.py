"""Instructions per recall through `nmem mcp` against the same recall in process.

    .venv/bin/python benchmarks/mcp_instructions.py [--size 10000] [--calls 40]

Wall times on a shared 2-core VM move by a third between identical runs (mcp_bench.py's ratio
went from 1.22x to 1.53x in one quiet hour); an instruction count does not move with load. A
brain of `size` realistic memories (hook_bench.fill) is copied afresh for every run, so each
recalls the same queries on the same data (recall strengthens what it returns):
  - in process: `Brain.recall` (as nmem_recall calls it) in a process under valgrind's callgrind;
  - through MCP: `nmem mcp` under callgrind, called by the official SDK client (not measured:
    only the server is ours), started outside any git repository as mcp_bench.py does.
Each side runs twice, with 0 and with `calls` recalls after the same 5 warm-up ones; the
difference over `calls` is the cost of one recall, start-up and imports taken off. The server's
per-call cost minus the in-process one is what MCP adds. Needs valgrind; a few minutes.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import machine
from core_bench import queries

NMEM = str(Path(sys.executable).parent / "nmem")
WARM_UP = 5


def callgrind(out: Path) -> list[str]:
    return ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}"]


def totals(out: Path) -> int:
    found = re.search(r"^totals: (\d+)", out.read_text(errors="replace"), re.MULTILINE)
    assert found, f"no totals in {out}"
    return int(found.group(1))


def child(asked: list[str]) -> None:
    """What runs under callgrind in process: the recalls, as mcp_bench.py's local side."""
    from neuralmemory.core.brains import open_brain

    with open_brain() as brain:
        for query in asked:
            brain.recall(query, limit=5)


async def served(home: Path, asked: list[str], out: Path, nmem: str) -> list[int]:
    """Call nmem_recall for each of `asked` on a server under callgrind; memories found each."""
    import mcp.client.stdio

    from mcp import ClientSession, StdioServerParameters, stdio_client

    # The client kills a server that has not exited 2 s after its stdin closed; under callgrind
    # the exit alone takes longer, and a killed callgrind writes no totals.
    mcp.client.stdio.PROCESS_TERMINATION_TIMEOUT = 600.0
    params = StdioServerParameters(
        command=callgrind(out)[0],
        args=[*callgrind(out)[1:], nmem, "mcp"],
        env={"NMEM_HOME": str(home), "PATH": os.environ.get("PATH", "")},
        cwd=home.parent,
    )
    found = []
    with open(os.devnull, "w") as errlog:
        async with (
            stdio_client(params, errlog=errlog) as (read, write),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            for query in asked:
                result = await session.call_tool("nmem_recall", {"query": query})
                assert not result.is_error and result.structured_content, result.content
                found.append(len(result.structured_content["memories"]))
    return found


def run(kept: Path, asked: list[str], where: str, nmem: str, keep: Path | None) -> int:
    """Instructions of one run recalling `asked`, on a fresh copy of the brain at `kept`; its
    callgrind file copied into `keep` when given (for callgrind_annotate)."""
    work = Path(tempfile.mkdtemp(prefix="nmem-mcp-instructions-"))
    try:
        home = work / "nmem"
        shutil.copytree(kept, home)
        out = work / "callgrind.out"
        if where == "mcp":
            asyncio.run(served(home, asked, out, nmem))
        else:
            command = [*callgrind(out), sys.executable, __file__, "--child", *asked]
            env = {**os.environ, "NMEM_HOME": str(home)}
            subprocess.run(command, env=env, check=True, capture_output=True, cwd=work)
        if keep is not None:
            keep.mkdir(parents=True, exist_ok=True)
            shutil.copy(out, keep / f"callgrind.{where}.{len(asked)}")
        return totals(out)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", type=int, default=10_000, help="memories in the brain")
    parser.add_argument("--calls", type=int, default=40, help="recalls measured per side")
    parser.add_argument("--nmem", default=NMEM, help="the nmem that serves MCP")
    parser.add_argument("--keep", type=Path, help="a folder to keep the callgrind files in")
    parser.add_argument("--child", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        child(args.child)
        return
    from hook_bench import fill

    print(machine.describe(), "(callgrind)")
    asked = queries(WARM_UP + args.calls)
    random.Random(7).shuffle(asked)
    with tempfile.TemporaryDirectory() as root:
        kept = Path(root) / "nmem"
        os.environ["NMEM_HOME"] = str(kept)
        fill(args.size)
        per_call = {}
        for where in ("local", "mcp"):
            idle = run(kept, asked[:WARM_UP], where, args.nmem, args.keep)
            busy = run(kept, asked, where, args.nmem, args.keep)
            per_call[where] = (busy - idle) / args.calls
    local, mcp = per_call["local"], per_call["mcp"]
    print("| memories | in process, per recall | through MCP (server) | MCP adds | ratio |")
    print("|---:|---:|---:|---:|---:|")
    print(
        f"| {args.size:,} | {local / 1e6:.2f} M | {mcp / 1e6:.2f} M "
        f"| {(mcp - local) / 1e6:.2f} M | {mcp / local:.2f}x |"
    )


if __name__ == "__main__":
    main()
