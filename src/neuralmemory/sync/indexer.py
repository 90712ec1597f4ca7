"""`python -m neuralmemory.sync.indexer HOME BRAIN [BATCH]`: the detached graph indexer.

A large pull stores memories text first and leaves their concept graph to the backlog
(core/indexing.py). This process builds it on another core while the pull goes on, and after:
one batch per transaction, so a kill loses nothing and repeats nothing, and whoever starts the
next one resumes where it stopped. The CLI starts it when a pull begins and after any command
that finds a backlog (`start`); the auto-sync child runs it in its own process (`drain`).

One indexer per brain at a time: it holds `$NMEM_HOME/locks/{brain}.index.lock`; another one
finding it taken exits at once. While the brain's sync runs, an empty backlog only means the
next page has not landed yet, so it waits for it rather than exiting; after releasing its lock
it looks once more, so a page that landed as it was leaving is never left unbuilt.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from pathlib import Path

from neuralmemory import config
from neuralmemory.core import indexing
from neuralmemory.core.brains import brain_path, open_brain
from neuralmemory.errors import NmemError
from neuralmemory.store import backlog
from neuralmemory.store.db import connect
from neuralmemory.sync.lock import RUNNING, held, lock_path

INDEXING = "index"
POLL_SECONDS = 0.05  # while a sync runs and the backlog is empty: the next page's wait
NICENESS = 5  # the pull that feeds it, and recall, come first on a busy machine

#: the indexers this process started, kept until they end: a long-lived process (the MCP server)
#: reaps them as it starts the next, and none is collected while it still runs
_started: list[subprocess.Popen[bytes]] = []


def waiting(brain: str) -> bool:
    """Whether `brain` (of the current home) has memories whose graph is not built yet."""
    path = brain_path(brain)
    if not path.exists():
        return False
    db = connect(path)
    try:
        return backlog.waiting_any(db)
    finally:
        db.close()


def start(brain: str, *, force: bool = False) -> bool:
    """Start a detached indexer for `brain` of the current home when it has a backlog (or
    `force`: a pull is about to make one) and no indexer runs; returns whether it started one."""
    if not (force or waiting(brain)):
        return False
    with held(lock_path(brain, INDEXING), wait=False) as free:
        if not free:
            return False  # one runs, and it looks again before it leaves
    _started[:] = [proc for proc in _started if proc.poll() is None]
    proc = subprocess.Popen(  # noqa: S603 -- our own interpreter and module, no shell
        [sys.executable, "-m", "neuralmemory.sync.indexer", str(config.home()), brain],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    _started.append(proc)
    return True


def drain(brain: str, batch: int = indexing.BATCH) -> int:
    """Build the graph of `brain`'s whole backlog here, unless another indexer does; returns how
    many memories this call built."""
    built = 0
    while True:
        with held(lock_path(brain, INDEXING), wait=False) as mine:
            if not mine:
                return built
            built += _build(brain, batch)
        if not waiting(brain):  # a page may have landed as the lock was let go
            return built


def _build(brain: str, batch: int) -> int:
    built = 0
    with open_brain(brain) as opened:
        while True:
            done = opened.build_graph(batch)
            built += done
            if done == 0 and not _syncing(brain):
                return built
            if done == 0:
                time.sleep(POLL_SECONDS)


def _syncing(brain: str) -> bool:
    with held(lock_path(brain, RUNNING), wait=False) as free:
        return not free


def main(argv: list[str]) -> int:
    home, brain = Path(argv[0]), argv[1]
    batch = int(argv[2]) if len(argv) > 2 else indexing.BATCH
    os.nice(NICENESS)
    with config.using_home(home), contextlib.suppress(NmemError):
        drain(brain, batch)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
