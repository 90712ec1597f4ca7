"""The memory commands through the CLI: --json contracts, human output, errors at the edge."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from conftest import Nmem  # this folder's fixture (the name pytest gives conftest modules)


def test_remember_recall_edit_forget_stats(nmem: Nmem) -> None:
    made = nmem.json("remember", "Alice Moreno leads Project Falcon.", "--tags", "team,People")
    assert made["created"] is True
    assert made["memory"]["tags"] == ["people", "team"]
    kafka = nmem.json("remember", "Project Falcon streams its events through Kafka.")["id"]
    assert nmem.json("remember", "Alice Moreno leads Project Falcon.")["created"] is False

    found = nmem.json("recall", "What is Alice working on?")
    assert found["brain"] == "default"
    ids = [r["id"] for r in found["results"]]
    assert ids[0] == made["id"] and kafka in ids
    by_concept = found["results"][ids.index(kafka)]
    assert by_concept["via"] == "concept"
    assert set(by_concept) == {"id", "score", "via", "path", "memory"}

    edited = nmem.json("edit", kafka, "--priority", "9", "--type", "decision")
    assert (edited["priority"], edited["type"]) == (9, "decision")
    gone = nmem.json("forget", kafka)
    assert (gone["id"], gone["forgotten"], gone["dry_run"]) == (kafka, True, False)
    stats = nmem.json("stats")
    assert stats["memories"] == 1 and stats["pending"] >= 3


def test_human_output(nmem: Nmem) -> None:
    assert (
        "Remembered m-" in nmem("remember", "Deploys happen on Tuesdays", "--type", "fact").output
    )
    table = nmem("recall", "deploys").output
    assert "Tuesdays" in table
    assert "No memories found." in nmem("recall", "zebra").output
    assert "memories" in nmem("stats").output


def test_errors_are_clear_and_exit_1(nmem: Nmem) -> None:
    result = nmem("remember", "   ", code=1)
    assert "Error: content must be non-empty text" in result.stderr
    assert nmem.json("remember", "x", "--priority", "11", code=1) == {
        "error": "priority 11 is out of range (0 to 10)",
        "code": "invalid_request",
    }
    assert nmem.json("forget", "m-nope", code=1)["code"] == "not_found"
    assert nmem.json("recall", "x", "--brain", "nope", code=1)["code"] == "not_found"
    nmem("remember", "x", "--type", "gossip", code=2)  # click refuses it: a usage error


def test_brain_commands(nmem: Nmem, home: Path) -> None:
    created = nmem.json("brain", "create", "work")
    assert created["name"] == "work"
    assert nmem.json("brain", "use", "work") == {"current": "work"}
    nmem("remember", "Only in the work brain")
    listed = nmem.json("brain", "list")
    assert listed["current"] == "work"
    assert [b["name"] for b in listed["brains"]] == ["work"]
    assert nmem.json("recall", "work brain")["brain"] == "work"
    nmem("brain", "delete", "work", input="n\n", code=1)  # declined: aborted
    assert (home / "brains" / "work.db").exists()
    assert nmem.json("brain", "delete", "work", "--yes")["deleted"] == "work"
    assert not (home / "brains" / "work.db").exists()


def test_keys_export_import_and_a_wrong_passphrase(nmem: Nmem, home: Path, tmp_path: Path) -> None:
    nmem("remember", "The safe code is 4417", "--encrypted")
    brain_id = nmem.json("stats")["brain_id"]
    out = tmp_path / "key.nmemkey"
    exported = nmem.json("keys", "export", "-o", str(out), "--passphrase", "a good passphrase")
    assert exported["path"] == str(out)
    key_file = home / "keys" / f"{brain_id}.key"
    key = key_file.read_bytes()
    key_file.unlink()
    assert nmem.json("recall", "safe code")["results"] == []  # no key: not searchable

    wrong = nmem.json("keys", "import", str(out), "--passphrase", "not the passphrase", code=1)
    assert wrong["code"] == "crypto_error" and "wrong passphrase" in wrong["error"]
    assert not key_file.exists()

    result = nmem("keys", "import", str(out), input="a good passphrase\n")
    assert f"Installed the key of brain {brain_id}" in result.output
    assert key_file.read_bytes() == key
    hits = nmem.json("recall", "safe code")["results"]
    assert hits[0]["memory"]["content"] == "The safe code is 4417"


def test_a_real_process_remembers_and_recalls(home: Path) -> None:
    env = {**os.environ, "NMEM_HOME": str(home)}
    nmem = [str(Path(sys.executable).parent / "nmem")]
    run = subprocess.run(
        [*nmem, "remember", "The release train leaves every Thursday", "--json"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    memory_id = json.loads(run.stdout)["id"]
    run = subprocess.run(
        [*nmem, "recall", "release train", "--json"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(run.stdout)["results"][0]["id"] == memory_id
