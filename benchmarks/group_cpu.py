"""CPU of a hub's processes that this process never waits for (Linux /proc).

The run's own children (`nmem serve`, wrangler's node) are counted by os.times() when they are
waited for; their children are not: workerd outlives node and is reaped by init, so its CPU --
most of the Worker's -- went unrecorded. A thread samples /proc for every process in the hubs'
process groups but their leaders and keeps the highest CPU each reached (what it used between
the last sample and its exit, at most SAMPLE_S, is missed).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

SAMPLE_S = 1.0
TICKS = os.sysconf("SC_CLK_TCK")


def _stat(pid: str) -> tuple[int, float] | None:
    """(process group, user + system CPU seconds) of one process, None once it is gone."""
    try:
        fields = (Path("/proc") / pid / "stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return int(fields[2]), (int(fields[11]) + int(fields[12])) / TICKS


class GroupCPU:
    """What group_cpu() measures: the highest CPU seen of each process in `groups`."""

    def __init__(self, groups: tuple[int, ...]) -> None:
        self.groups = set(groups)
        self.seen: dict[str, float] = {}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="group-cpu", daemon=True)

    @property
    def seconds(self) -> float:
        return sum(self.seen.values())

    def sample(self) -> None:
        for pid in os.listdir("/proc"):
            if not pid.isdigit() or int(pid) in self.groups:  # leaders: waited for, counted
                continue
            found = _stat(pid)
            if found is not None and found[0] in self.groups:
                self.seen[pid] = max(self.seen.get(pid, 0.0), found[1])

    def _run(self) -> None:
        while not self.stop.wait(SAMPLE_S):
            self.sample()


@contextmanager
def group_cpu(groups: tuple[int, ...]) -> Iterator[GroupCPU]:
    """Sampling while the block runs; `.seconds` after it."""
    cpu = GroupCPU(groups)
    cpu.thread.start()
    try:
        yield cpu
    finally:
        cpu.stop.set()
        cpu.thread.join()
        cpu.sample()
