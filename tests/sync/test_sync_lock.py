"""At most one sync of a brain at a time, across processes, and at most one more waiting.

The detached auto-sync children of CLI writes (sync/background.py) are started here for real,
while the test holds the brain's sync lock as a running sync would.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from helpers.nmem import NMEM
from neuralmemory import config
from neuralmemory.sync.auto import stamp_path
from neuralmemory.sync.lock import RUNNING, held, lock_path


def child(home: Path, stamp: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "NMEM_HOME": str(home), "HOME": str(home)}
    args = [sys.executable, "-m", "neuralmemory.sync.background", str(home), "default", stamp]
    return subprocess.Popen(args, env=env)


@pytest.mark.timeout(120)
def test_one_background_sync_runs_one_waits_and_the_rest_leave(tmp_path: Path) -> None:
    home = tmp_path / "device"
    env = {**os.environ, "NMEM_HOME": str(home), "HOME": str(home)}
    dead_hub = ("--hub-url", "http://127.0.0.1:9", "--auto-sync", "off")
    subprocess.run([NMEM, "sync", "config", "set", *dead_hub], env=env, check=True)
    stamp = str(time.time_ns())
    config.atomic_write(stamp_path(home, "default"), stamp.encode())

    with config.using_home(home), held(lock_path("default", RUNNING)):  # a sync is running
        waiting = child(home, stamp)
        # the child takes the waiting slot after its debounce; later ones find it taken
        while not any(p.name == "default.wait.lock" for p in (home / "locks").glob("*")):
            time.sleep(0.1)
        others = [child(home, stamp) for _ in range(3)]
        assert [p.wait(timeout=60) for p in others] == [0, 0, 0]
        assert waiting.poll() is None, "the waiting child syncs only after the running sync"
        last = subprocess.run(
            [NMEM, "sync", "status", "--json"], env=env, capture_output=True, check=True
        )
        assert json.loads(last.stdout)["last_error"] is None  # nobody synced meanwhile
    assert waiting.wait(timeout=60) == 0
    done = subprocess.run([NMEM, "sync", "status", "--json"], env=env, capture_output=True)
    assert json.loads(done.stdout)["last_error"]["code"] == "hub_unavailable"  # it did sync


def test_a_lock_file_others_could_read_is_fixed_when_taken(tmp_path: Path) -> None:
    with config.using_home(tmp_path):
        path = lock_path("default", RUNNING)
        path.write_bytes(b"")
        path.chmod(0o644)
        with held(path):
            assert path.stat().st_mode & 0o777 == 0o600
