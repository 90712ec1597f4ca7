"""benchmarks/group_cpu.py: the CPU of a hub's grandchildren (workerd), which the run never
waits for, is counted; the group's leader (waited for, counted by os.times) is not."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[2]
spec = importlib.util.spec_from_file_location("group_cpu", ROOT / "benchmarks" / "group_cpu.py")
assert spec is not None and spec.loader is not None
group_cpu = importlib.util.module_from_spec(spec)
spec.loader.exec_module(group_cpu)

#: a grandchild that uses 0.3 s of CPU, then sleeps past the next sample; the leader only waits
BURN = "import time\nwhile time.process_time() < 0.3: pass\ntime.sleep(2.5)"


def test_the_cpu_of_a_grandchild_is_counted_and_the_leader_is_not() -> None:
    leader = subprocess.Popen(
        ["sh", "-c", f'"{sys.executable}" -c "$0"; exit 0', BURN], start_new_session=True
    )
    try:
        with group_cpu.group_cpu((leader.pid,)) as cpu:
            leader.wait(timeout=60)
    finally:
        leader.kill()
    assert 0.25 <= cpu.seconds < 5  # its 0.3 s (in clock ticks), sampled before it exited
    assert str(leader.pid) not in cpu.seen
