"""Opening a brain writes nothing unless it must (core/brains.py): reads never take the lock.

An up-to-date brain opens without a transaction, so every read (recall without reinforcing,
list, show with its history, stats, export, brain list) answers while another process holds a write
transaction on the same file, and changes nothing in it. Recall reinforces what it returns, a
write: when the lock is still held after the busy timeout, it answers without counting the uses.
A brain at an older schema is migrated once, by the first command that opens it, which then reads
as usual.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from click.testing import CliRunner

from neuralmemory.cli.main import cli
from neuralmemory.core import browse, export
from neuralmemory.core.brains import brain_path, list_brains, open_brain
from neuralmemory.errors import StoreError
from neuralmemory.store import db as store_db
from neuralmemory.store.migrations import migrations

FACTS = [
    "The deploy uses blue-green rollout on the staging cluster",
    "Postgres backups run nightly at 02:00 UTC",
    "The staging cluster runs Kubernetes 1.29",
]


@pytest.fixture
def made(home: Path) -> tuple[Path, list[str]]:
    """A brain with a few memories, closed: its file and the memories' ids."""
    with open_brain() as brain:
        ids = [brain.remember(text).memory.id for text in FACTS]
    return brain_path("default"), ids


@contextmanager
def write_lock_held(db: Path) -> Iterator[None]:
    """Another process with an open, uncommitted write transaction on the file."""
    script = (
        "import sqlite3, sys\n"
        f"c = sqlite3.connect({str(db)!r}, isolation_level=None)\n"
        "c.execute('BEGIN IMMEDIATE')\n"
        "c.execute(\"INSERT OR REPLACE INTO meta (key, value) VALUES ('x-lock', 'held')\")\n"
        "print('locked', flush=True)\n"
        "sys.stdin.read()\n"  # until the test closes it
        "c.rollback()\n"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert holder.stdin is not None and holder.stdout is not None
    try:
        assert holder.stdout.readline().strip() == "locked"
        yield
    finally:
        holder.stdin.close()
        assert holder.wait(timeout=30) == 0
        holder.stdout.close()


class Watch:
    """What a connection of its own sees of the file: `PRAGMA data_version` changes when any
    other connection commits a change to it."""

    def __init__(self, db: Path) -> None:
        self.conn = sqlite3.connect(db, isolation_level=None)
        self.start = self.version()
        self.applied = self.migrations()

    def version(self) -> int:
        return int(self.conn.execute("PRAGMA data_version").fetchone()[0])

    def migrations(self) -> list[int]:
        return [row[0] for row in self.conn.execute("SELECT number FROM _migrations ORDER BY 1")]

    def unchanged(self) -> bool:
        return self.version() == self.start and self.migrations() == self.applied


def read_everything(ids: list[str]) -> list[str]:
    """Every read the library offers, through fresh opens; what they found."""
    seen = []
    with open_brain() as brain:
        hits = brain.recall("staging cluster", reinforce=False)
        seen += [hit.memory.id for hit in hits]
        assert brain.stats().memories == len(FACTS)
        assert {m.id for m in brain.recent()} == set(ids)
        assert brain.get(ids[0]).content == FACTS[0]
        assert len(browse.list_memories(brain).memories) == len(FACTS)
        assert browse.show(brain, ids[1]).memory.content == FACTS[1]
        assert len(list(export.export_lines(brain))) == 1 + len(FACTS)  # a header, then each
        assert brain.keys.status()["keyed"] is False
    assert [info.name for info in list_brains()] == ["default"]
    return seen


def test_reads_answer_while_another_process_holds_the_write_lock(
    made: tuple[Path, list[str]],
) -> None:
    db, ids = made
    with write_lock_held(db):
        seen = read_everything(ids)
    assert set(seen) >= {ids[0], ids[2]}  # both memories of the staging cluster


def test_read_commands_answer_while_another_process_holds_the_write_lock(
    made: tuple[Path, list[str]],
) -> None:
    db, ids = made
    runner = CliRunner()
    commands = [
        ["list"],
        ["show", ids[0]],
        ["stats"],
        ["export"],
        ["brain", "list"],
    ]
    with write_lock_held(db):
        for args in commands:
            result = runner.invoke(cli, args, catch_exceptions=False)
            assert result.exit_code == 0, (args, result.output)
            assert "locked" not in result.output


def test_recall_answers_when_its_uses_cannot_be_counted(
    made: tuple[Path, list[str]], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    db, ids = made
    monkeypatch.setattr(store_db, "BUSY_TIMEOUT_MS", 50)  # the wait for the lock, shortened
    with write_lock_held(db), open_brain() as brain:
        hits = brain.recall("staging cluster")
        assert {hit.memory.id for hit in hits} >= {ids[0], ids[2]}
    assert "this recall answered, its uses were not counted" in caplog.text
    with open_brain() as brain:  # nothing was reinforced
        assert all(memory.access_count == 0 for memory in brain.recent())
        brain.recall("staging cluster")  # and with the lock free, it counts them
        assert {m.id for m in brain.recent() if m.access_count == 1} >= {ids[0], ids[2]}


def test_opening_and_reading_write_nothing(made: tuple[Path, list[str]]) -> None:
    db, ids = made
    watch = Watch(db)
    read_everything(ids)
    assert watch.unchanged()


def test_an_older_brain_is_migrated_once_then_read_without_writing(
    made: tuple[Path, list[str]],
) -> None:
    db, ids = made
    newest = max(m.number for m in migrations())
    with sqlite3.connect(db) as older:  # as a brain from before the newest migration
        older.execute("DELETE FROM _migrations WHERE number = ?", (newest,))
    watch = Watch(db)
    assert newest not in watch.applied

    with open_brain() as brain:  # a read-only command meets it: migrated, then it reads
        assert brain.stats().memories == len(FACTS)
    assert watch.version() != watch.start
    assert newest in watch.migrations()

    again = Watch(db)
    read_everything(ids)
    assert again.unchanged()


def test_a_brain_from_a_newer_nmem_is_still_refused(made: tuple[Path, list[str]]) -> None:
    db, _ = made
    with sqlite3.connect(db) as newer:
        newer.execute("INSERT INTO _migrations (number, name, applied_at) VALUES (9999, 'x', 0)")
    with pytest.raises(StoreError, match="newer nmem"):
        open_brain()
