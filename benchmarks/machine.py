"""The line every benchmark prints first: what machine, how loaded, and how fast its CPU ran.

VMs of one kind run the same code up to 3x apart from one session to the next, so a figure
means little without the CPU reference beside it: the best of five runs of a fixed
pure-Python loop, to scale one run's figures against another's.
"""

from __future__ import annotations

import os
import platform
import sqlite3
import sys
import time


def cpu_reference_ms(runs: int = 5) -> float:
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        sum(range(10_000_000))
        best = min(best, time.perf_counter() - start)
    return best * 1000


def describe(reference_runs: int = 5) -> str:
    """reference_runs: how many runs the CPU reference is the best of (each 0.3-1 s of CPU)."""
    return (
        f"machine: {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {sys.version.split()[0]}, SQLite {sqlite3.sqlite_version}, "
        f"load average {os.getloadavg()[0]:.1f} at start, "
        f"CPU reference {cpu_reference_ms(reference_runs):.0f} ms (sum(range(10**7)), "
        f"best of {reference_runs})"
    )
