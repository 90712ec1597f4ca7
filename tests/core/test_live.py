"""core/live.py: the current brain kept open across calls, refreshed when another connection or
process committed to it and opened again when its file or the settings changed, so a long-lived
process never works on stale state."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from neuralmemory import config
from neuralmemory.core.brain import Brain
from neuralmemory.core.brains import create_brain, open_brain
from neuralmemory.core.live import LiveBrain


@pytest.fixture
def live(home: Path) -> Iterator[LiveBrain]:
    held = LiveBrain()
    yield held
    held.close()


def _opened(live: LiveBrain) -> Brain:
    with live.use() as brain:
        return brain


def test_the_brain_stays_open_across_calls_and_its_own_writes(live: LiveBrain) -> None:
    with live.use() as brain:
        first = brain
        brain.remember("Alice Moreno leads Project Falcon.")
    with live.use() as brain:
        assert brain is first
        brain.recall("Alice")  # a recall writes its reinforcement through the same connection
    assert _opened(live) is first


def test_a_write_by_another_connection_is_seen(live: LiveBrain) -> None:
    first = _opened(live)
    with open_brain() as other:  # as the CLI or a hook would, in another process
        done = other.remember("Project Falcon streams its events through Kafka.")
    with live.use() as brain:
        assert brain is first  # refreshed, its connection kept
        assert [hit.memory.id for hit in brain.recall("Kafka", reinforce=False)] == [done.memory.id]
    with open_brain() as other:
        other.forget(done.memory.id)
    with live.use() as brain:
        assert brain.recall("Kafka", reinforce=False) == []


def test_turning_end_to_end_on_elsewhere_is_seen(live: LiveBrain) -> None:
    """A Brain decides at open whether it seals what it writes: a brain another process made
    end-to-end encrypted must not get a plaintext write from the one held open."""
    assert not _opened(live).e2e
    with open_brain() as other:
        other.encrypt_brain()
    with live.use() as brain:
        assert brain.e2e
        brain.remember("Sealed before it leaves this device.")
        stored = brain.db.execute("SELECT version FROM records WHERE kind = 'memory'")
        assert all('"sealed"' in row[0] for row in stored)


def test_turning_end_to_end_on_elsewhere_with_the_key_here_is_seen(live: LiveBrain) -> None:
    """The key already here, so only the brain file changes: the Brain held open is refreshed
    (Brain.refresh), not opened again, and must seal from then on, as a newly opened one does."""
    with open_brain() as other:
        other.keys.require(create=True)  # the key, made before the server opened the brain
    first = _opened(live)
    with open_brain() as other:
        other.encrypt_brain()
    with live.use() as brain:
        assert brain is first
        brain.remember("Sealed before it leaves this device.")
        stored = brain.db.execute("SELECT version FROM records WHERE kind = 'memory'")
        assert all('"sealed"' in row[0] for row in stored)
        with open_brain() as fresh:  # the reference: what opening it again would give
            assert (brain.changes.sealer is None) == (fresh.changes.sealer is None)
            held, made = brain.keys.current(), fresh.keys.current()
            assert held is not None and made is not None and held.raws == made.raws


def test_a_commit_made_during_a_call_is_seen_by_the_next(live: LiveBrain) -> None:
    with open_brain() as other:
        other.keys.require(create=True)
    with live.use() as brain:
        with open_brain() as other:  # another process, while this call runs
            other.encrypt_brain()
        assert brain.changes.sealer is None  # this call started before it
    with live.use() as brain:
        assert brain.changes.sealer is not None


def test_a_schema_change_elsewhere_opens_the_brain_again(live: LiveBrain) -> None:
    """A newer nmem migrating the file: the Brain held open was made for the old schema."""
    first = _opened(live)
    with open_brain() as other:
        other.db.execute("CREATE TABLE added_by_a_newer_nmem (x INTEGER)")
    assert _opened(live) is not first


def test_the_current_brain_changing_is_seen(live: LiveBrain) -> None:
    assert _opened(live).name == "default"
    create_brain("work").close()
    cfg = config.load_config()
    cfg.brain = "work"
    config.save_config(cfg)  # what `nmem brain use work` does
    assert _opened(live).name == "work"


def test_a_brain_file_replaced_under_it_is_opened_again(live: LiveBrain) -> None:
    with live.use() as brain:
        brain.remember("Written before the file was replaced.")
        path = brain.path
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    with live.use() as brain:  # a new, empty file at the same path
        assert brain.recall("replaced", reinforce=False) == []
