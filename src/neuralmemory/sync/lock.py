"""One sync per brain at a time across processes: an advisory file lock (flock) per brain.

Every sync holds `$NMEM_HOME/locks/{brain}.sync.lock` while it runs, so a manual sync, the MCP
server's auto-sync and the detached auto-sync children of CLI writes never run on one brain at
once. A detached child first takes the brain's one *waiting* slot (`{brain}.wait.lock`) without
blocking; a child that finds it taken exits at once, since the child already waiting will sync
after the running one and see every write made until then. So at most one sync runs and at most
one waits, however many writes a burst makes. The kernel drops a lock with its process, so a
crashed sync never leaves a brain locked.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from neuralmemory import config, perms

RUNNING = "sync"
WAITING = "wait"


def lock_path(brain: str, role: str) -> Path:
    folder = perms.private_dir(config.home() / "locks")
    return folder / f"{brain}.{role}.lock"


@contextmanager
def held(path: Path, *, wait: bool = True) -> Iterator[bool]:
    """Hold the lock file `path` for the block; yields False (not held) when `wait` is off and
    another holder has it."""
    perms.private_file(path)  # one an older version left readable is fixed, with a note
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)  # closing the descriptor releases the lock
