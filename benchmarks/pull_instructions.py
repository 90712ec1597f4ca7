"""Instructions a new device's first pull and first recall execute, plain and end-to-end encrypted.

    .venv/bin/python benchmarks/pull_instructions.py [--size 10000] [--modes plain e2e]

Wall and CPU times on a shared VM moved by a third between identical runs (sync_bench.py's floor,
the same SQLite work in both modes, measured 0.76x E2E/plain at load 12); an instruction count
does not move with load. For each mode a source device pushes `size` realistic memories to a real
`nmem serve` on loopback, as sync_bench.py does (an E2E brain's key is copied to the new device);
then a new device pulls them all in a process run under valgrind's callgrind (`run_sync("full")`
with no indexer: the graph stays in the backlog, as it does for the pulling process) and recalls
once by text. Another process under callgrind only opens a brain: its count, the interpreter's
start and the imports, is taken off. Needs valgrind; a few minutes per mode.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import first_pull
import machine
import sync_bench
from neuralmemory.core.brains import open_brain
from neuralmemory.sync import service


def child(what: str) -> None:
    """What runs under callgrind: the pull and a recall ("pull"), or only opening ("open")."""
    if what == "pull":
        service.run_sync("full")
    with open_brain() as brain:
        if what == "pull":
            assert brain.recall(first_pull.QUERY, reinforce=False), "recall found nothing"


def instructions(device: Path, what: str, work: Path) -> int:
    out = work / f"callgrind.{device.name}.{what}"
    command = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}"]
    command += [sys.executable, __file__, "--child", what]
    env = {**os.environ, "NMEM_HOME": str(device)}
    subprocess.run(command, env=env, check=True, capture_output=True)
    found = re.search(r"^totals: (\d+)", out.read_text(errors="replace"), re.MULTILINE)
    assert found, f"no totals in {out}"
    return int(found.group(1))


def measure(size: int, mode: str) -> int:
    """Instructions of the first pull and first recall of `size` memories, start-up taken off."""
    work = Path(tempfile.mkdtemp(prefix="nmem-pull-instructions-"))
    with sync_bench.hub_process(work) as url:
        source, new, idle = work / "a", work / "new", work / "idle"
        for device in (source, new, idle):
            with sync_bench.home(device):
                service.configure(hub_url=url, auto_sync=False)
        sync_bench.build(source, size, mode == "e2e")
        if mode == "e2e":
            sync_bench.share_key(source, [new, idle])
        sync_bench.timed(source)
        return instructions(new, "pull", work) - instructions(idle, "open", work)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=10_000, help="memories in the brain")
    parser.add_argument("--modes", nargs="+", choices=sync_bench.MODES, default=sync_bench.MODES)
    parser.add_argument("--child", choices=("pull", "open"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    print(machine.describe(), "(SQLite hub on loopback, callgrind)")
    print("| memories | mode | first pull + first recall | per memory | E2E / plain |")
    print("|---:|:---|---:|---:|---:|")
    counts: dict[str, int] = {}
    for mode in args.modes:
        counts[mode] = measure(args.size, mode)
        ratio = f"{counts[mode] / counts['plain']:.2f}x" if "plain" in counts else ""
        ratio = "" if mode == "plain" else ratio
        per = counts[mode] / args.size
        line = f"| {args.size:,} | {mode} | {counts[mode] / 1e9:.3f} G instructions | {per:,.0f} |"
        print(f"{line} {ratio} |")


if __name__ == "__main__":
    main()
