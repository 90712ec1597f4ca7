"""hub/backup.py: copies of a live SQLite hub taken during pushes are each one committed state."""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from helpers.hub_api import pushed, uid, version
from helpers.hub_targets import HubOptions, python_sqlite
from neuralmemory.cli.main import cli
from neuralmemory.errors import InvalidInput, StoreError
from neuralmemory.hub.backup import backup_sqlite
from neuralmemory.protocol import EMPTY_DIGEST, item_digest, xor_digest


def consistent(path: Path) -> int:
    """Every brain's counters and Merkle root agree with its records; returns the record count."""
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        total = 0
        for brain_id, records, seq, root in conn.execute(
            "SELECT id, records, seq, root FROM brains"
        ).fetchall():
            rows = conn.execute(
                "SELECT kind, id, vhash, seq FROM records WHERE brain_id = ?", (brain_id,)
            ).fetchall()
            folded = EMPTY_DIGEST
            for kind, id_, vhash, _ in rows:
                folded = xor_digest(folded, item_digest(kind, id_, vhash))
            assert (len(rows), max((r[3] for r in rows), default=0), folded) == (records, seq, root)
            total += records
    return total


def test_backups_taken_during_pushes_are_consistent_and_serve(tmp_path: Path) -> None:
    workdir = tmp_path / "live"
    workdir.mkdir()
    with python_sqlite(HubOptions(auth="local"), workdir) as hub:
        brain = uid("backup-")
        stop, first = threading.Event(), threading.Event()

        def push_forever() -> None:
            with httpx.Client(base_url=hub.url) as client:
                n = 0
                while not stop.is_set():
                    pushed(client, None, brain, *(version(f"m-{n}-{i}") for i in range(20)))
                    n += 1
                    first.set()

        writer = threading.Thread(target=push_forever)
        writer.start()
        first.wait(timeout=30)
        try:
            counts = []
            for n in range(5):
                copy = backup_sqlite(workdir / "hub.db", tmp_path / f"copy-{n}.db")
                counts.append(consistent(copy.path))
                assert copy.records == counts[-1] and copy.brains == 1
        finally:
            stop.set()
            writer.join()
    assert counts == sorted(counts) and counts[-1] > 0
    assert not list(tmp_path.glob("*.partial"))

    served = tmp_path / "served"
    served.mkdir()
    (tmp_path / "copy-4.db").rename(served / "hub.db")
    with python_sqlite(HubOptions(auth="local"), served) as restored:
        digest = httpx.get(f"{restored.url}/v1/brains/{brain}/digest").json()
        assert digest["records"] == counts[-1]


def test_refuses_to_overwrite_or_to_copy_what_is_not_a_hub(tmp_path: Path) -> None:
    tmp_path = tmp_path / "files"  # the conftest keeps the test's home beside it
    tmp_path.mkdir()
    (tmp_path / "taken.db").write_bytes(b"")
    other = tmp_path / "brain.db"
    sqlite3.connect(other).execute("CREATE TABLE memories (id TEXT)").connection.close()
    with pytest.raises(StoreError, match="no hub database"):
        backup_sqlite(tmp_path / "missing.db", tmp_path / "a.db")
    with pytest.raises(StoreError, match="not a hub database"):
        backup_sqlite(other, tmp_path / "b.db")
    with pytest.raises(InvalidInput, match="already exists"):
        backup_sqlite(other, tmp_path / "taken.db")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["brain.db", "taken.db"]


def test_the_cli_copies_the_default_hub_and_refuses_postgres(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NMEM_HOME", str(tmp_path / "home"))
    with (
        python_sqlite(HubOptions(auth="local"), tmp_path) as hub,
        httpx.Client(base_url=hub.url) as client,
    ):
        pushed(client, None, uid("cli-"), version("m-1"))
    (tmp_path / "home" / "hub").mkdir(parents=True)
    (tmp_path / "hub.db").rename(tmp_path / "home" / "hub" / "hub.db")  # where nmem serve keeps it
    runner = CliRunner()
    made = runner.invoke(cli, ["hub", "backup", "--json", str(tmp_path / "copy.db")])
    assert made.exit_code == 0, made.output
    assert json.loads(made.output)["records"] == 1 == consistent(tmp_path / "copy.db")
    again = runner.invoke(cli, ["hub", "backup", str(tmp_path / "copy.db")])
    assert again.exit_code == 1 and "already exists" in again.output
    pg = runner.invoke(cli, ["hub", "backup", "--db", "postgresql://u@127.0.0.1/x", "y.db"])
    assert pg.exit_code == 2 and "pg_dump" in pg.output
