"""The graph indexer as a real process (sync/indexer.py): killed at several points, it resumes
with nothing lost and nothing built twice, and ends with the graph a from-scratch build makes."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from helpers.graph_snapshot import graph, pulled
from neuralmemory import config
from neuralmemory.core.brains import open_brain
from neuralmemory.sync import indexer

SIZE = 1_000
BATCH = "10"  # many small transactions: many points to be killed between, or inside


def _waiting(home: Path) -> int:
    with sqlite3.connect(home / "brains" / "default.db", timeout=10) as db:
        return int(db.execute("SELECT count(*) FROM graph_backlog").fetchone()[0])


def _command(home: Path) -> list[str]:
    return [sys.executable, "-m", "neuralmemory.sync.indexer", str(home), "default", BATCH]


def _wait_for(condition: object, proc: subprocess.Popen[bytes] | None = None) -> None:
    assert callable(condition)
    deadline = time.monotonic() + 60
    while not condition() and (proc is None or proc.poll() is None):
        assert time.monotonic() < deadline, "the indexer made no progress in 60 s"
        time.sleep(0.002)


def test_a_killed_indexer_resumes_without_loss_or_double_work(home: Path, tmp_path: Path) -> None:
    versions = pulled(tmp_path / "source", SIZE)
    with config.using_home(tmp_path / "scratch"), open_brain() as scratch:
        for start in range(0, SIZE, 50):  # pages too small to be stored text first
            scratch.apply_remote(*versions[start : start + 50])
        reference = graph(scratch)
    with open_brain() as brain:
        brain.apply_remote(*versions[:500])
        brain.apply_remote(*versions[500:])
    assert _waiting(home) == SIZE

    mid_way = 0
    for left in (SIZE, 900, 600, 300):  # SIZE: killed as soon as it started
        proc = subprocess.Popen(_command(home))
        _wait_for(lambda left=left: _waiting(home) < left or left == SIZE, proc)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        mid_way += 0 < _waiting(home) < SIZE
    assert mid_way >= 1  # most kills land part way through the backlog
    subprocess.run(_command(home), check=True)  # the next one resumes, to the end

    assert _waiting(home) == 0
    with open_brain() as brain:
        assert graph(brain) == reference  # each neuron's df counts each memory once


def test_a_command_after_a_pull_starts_the_indexer_that_builds_the_graph(
    home: Path, tmp_path: Path
) -> None:
    versions = pulled(tmp_path / "source", 300)
    assert not indexer.start("default")  # no brain yet: nothing to build
    with open_brain() as brain:
        brain.apply_remote(*versions)
    assert indexer.start("default")
    _wait_for(lambda: _waiting(home) == 0)
    with open_brain() as brain:
        assert brain.stats().graph_waiting == 0
        assert brain.stats().synapses > 0
    assert not indexer.start("default")  # nothing left to build


def test_recall_while_a_real_indexer_writes_never_fails(home: Path, tmp_path: Path) -> None:
    """Recall from this process while the indexer process builds the graph: every answer holds
    memories that exist, found by their words from the first moment."""
    versions = pulled(tmp_path / "source", SIZE)
    exists = {v.id for v in versions}
    with open_brain() as brain:
        brain.apply_remote(*versions)
        proc = subprocess.Popen(_command(home))
        answers = 0
        while proc.poll() is None or answers == 0:
            hits = brain.recall("Dana billing service outage", reinforce=False)
            assert hits and {hit.memory.id for hit in hits} <= exists
            answers += 1
        assert proc.wait() == 0
        assert brain.stats().graph_waiting == 0
