"""Auto-sync: a debounced background sync after remember/recall that never blocks or fails them.

A burst of writes (an agent remembering ten things) becomes one sync, `DEBOUNCE_SECONDS` after the
last of them. The sync runs on a daemon thread; whatever it raises is recorded as the brain's last
error (shown by `nmem sync status`) and never reaches the tool call that triggered it.

A long-lived process (the MCP server) owns one AutoSync and stops it on shutdown; the library arms
no timer of its own. A short-lived one (a CLI command) would take its thread with it when it exits,
so it hands the work to a detached child process instead (`spawn_detached`), which applies the same
debounce across processes through a timestamp file.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from neuralmemory import config, perms

log = logging.getLogger(__name__)

DEBOUNCE_SECONDS = 2.0
THREAD_NAME = "nmem-autosync"  # every timer's thread, so a leftover one can be found by name


class AutoSync:
    """Debounces `run(brain)` per brain on a background thread."""

    def __init__(self, run: Callable[[str], object], delay: float = DEBOUNCE_SECONDS) -> None:
        self._run = run
        self._delay = delay
        self._timers: dict[str, threading.Timer] = {}
        self._guard = threading.Lock()
        self._idle = threading.Condition(self._guard)
        self._running = 0

    def notify(self, brain: str) -> None:
        """A write happened in `brain`: sync it once things are quiet. Returns at once."""
        with self._guard:
            old = self._timers.pop(brain, None)
            if old is not None:
                old.cancel()
            timer = threading.Timer(self._delay, self._fire, args=(brain,))
            timer.name = f"{THREAD_NAME}-{brain}"
            timer.daemon = True
            self._timers[brain] = timer
            timer.start()

    def _fire(self, brain: str) -> None:
        with self._guard:
            self._timers.pop(brain, None)
            self._running += 1
        try:
            self._run(brain)
        except Exception as exc:  # never let a background sync surface in a tool call
            log.debug("auto-sync of %s failed: %s", brain, type(exc).__name__)
        finally:
            with self._guard:
                self._running -= 1
                self._idle.notify_all()

    def wait(self, timeout: float = 30.0) -> bool:
        """Block until no sync is scheduled or running (tests, and a clean MCP shutdown)."""
        deadline = time.monotonic() + timeout
        with self._guard:
            while self._timers or self._running:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._idle.wait(min(left, 0.05))
        return True

    def cancel(self) -> None:
        with self._guard:
            for timer in self._timers.values():
                timer.cancel()
            self._timers.clear()


def stamp_path(home: Path, brain: str) -> Path:
    return home / "run" / f"autosync-{brain}.stamp"


def spawn_detached(home: Path, brain: str) -> None:
    """From a short-lived process: let a detached child run the debounced sync of `home`'s brain.

    The child waits DEBOUNCE_SECONDS and syncs only if no later write re-stamped the file, so a
    burst of CLI calls spawns several children but syncs once. It is given `home` rather than
    inheriting $NMEM_HOME, which config.using_home may have overridden.
    """
    stamp = str(time.time_ns())
    stamp_file = stamp_path(home, brain)
    perms.private_dir(stamp_file.parent)
    config.atomic_write(stamp_file, stamp.encode("utf-8"))
    subprocess.Popen(  # noqa: S603 -- our own interpreter and module, no shell
        [sys.executable, "-m", "neuralmemory.sync.background", str(home), brain, stamp],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
