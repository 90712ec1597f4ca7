"""`nmem list | show`, `--supersedes`, `forget --dry-run`, `recall --since`, `brain delete` of
the current brain, and tables that fit 80 columns with whole ids."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

Nmem = Any  # tests/cli/conftest.py: runs nmem in-process

ID = re.compile(r"m-[0-9a-f]{24}")


def _fits(output: str) -> None:
    assert all(len(line) <= 80 for line in output.splitlines()), output


def test_list_show_and_supersede_from_the_command_line(nmem: Nmem) -> None:
    kafka = nmem.json("remember", "Project Falcon streams its events through Kafka.")["id"]
    alice = nmem.json("remember", "Alice Moreno leads Project Falcon.", "--tags", "team")["id"]
    made = nmem(
        "remember", "Project Falcon streams its events through Redpanda.", "--supersedes", kafka
    )
    assert f"It supersedes {kafka}" in made.output
    listed = nmem("list")
    _fits(listed.output)
    assert ID.findall(listed.output)[1] == alice and kafka not in listed.output
    assert kafka in nmem("list", "--all").output
    page = nmem.json("list", "--limit", "1")
    assert len(page["memories"]) == 1 and page["next_before"] == page["memories"][0]["id"]
    rest = nmem.json("list", "--before", page["next_before"])
    assert [m["id"] for m in rest["memories"]] == [alice] and rest["next_before"] is None
    assert nmem.json("list", "--tags", "team")["memories"][0]["id"] == alice
    shown = nmem("show", kafka).output
    assert "superseded by" in shown and "this device: created" in shown
    detail = nmem.json("show", kafka)
    assert [h["what"] for h in detail["history"]][-1][0].startswith("superseded by m-")
    assert kafka not in nmem("recall", "Kafka").output


def test_tables_fit_80_columns_and_never_wrap_an_id(nmem: Nmem) -> None:
    for n in range(3):
        nmem("remember", f"Note {n}: the billing service deploys through a long pipeline " * 3)
    for args in (("list",), ("recall", "billing pipeline", "--limit", "3")):
        output = nmem(*args).output
        _fits(output)
        assert len(ID.findall(output)) >= 3, output  # each id whole on one line


def test_edit_with_nothing_and_forget_dry_run(nmem: Nmem) -> None:
    mid = nmem.json("remember", "The VPN config lives in the team vault")["id"]
    failed = nmem("edit", mid, code=1)
    assert "nothing to change" in failed.output and "--" not in failed.output.split("(")[0]
    assert nmem.json("edit", mid, code=1)["code"] == "invalid_request"
    would = nmem("forget", mid, "--dry-run").output
    assert f"Would forget {mid}" in would and "Nothing was deleted" in would
    assert nmem.json("list")["memories"][0]["id"] == mid
    assert nmem.json("forget", mid, "--dry-run")["forgotten"] is False
    assert nmem.json("forget", mid)["forgotten"] is True
    assert nmem.json("list")["memories"] == []


def test_recall_and_list_since_until(nmem: Nmem) -> None:
    nmem("remember", "Billing deploys happen on Fridays")
    assert nmem.json("recall", "billing", "--since", "1h")["results"]
    assert nmem.json("recall", "billing", "--until", "1h")["results"] == []
    assert nmem.json("list", "--since", "2020-01-01", "--until", "2999-12-31")["memories"]
    bad = nmem("list", "--since", "yesterday", code=1)
    assert "'yesterday' is not a time" in bad.output and "7d" in bad.output


def test_deleting_the_current_brain_switches_and_says_which(nmem: Nmem, home: Path) -> None:
    nmem("brain", "create", "work")
    nmem("brain", "use", "work")
    said = nmem("brain", "delete", "work", "--yes").output
    assert "Now using brain default" in said
    assert nmem.json("brain", "list")["current"] == "default"
    nmem("remember", "still works")
    said = nmem("brain", "delete", "default", "--yes").output
    assert "Now using brain default (an empty one, made anew)" in said
    assert nmem.json("list")["memories"] == []
    nmem("brain", "create", "zeta")
    assert nmem.json("brain", "delete", "zeta", "--yes")["current"] is None  # not the current one


def test_a_reader_that_stops_early_gets_no_error(home: Path) -> None:
    """`nmem list | true`: a reader that closed the pipe ends nmem quietly."""
    env = {**os.environ, "NMEM_HOME": str(home), "COLUMNS": "80"}
    subprocess.run([sys.executable, "-c", _REMEMBER_MANY], env=env, check=True)
    nmem = Path(sys.executable).with_name("nmem")
    for command in ("list", "recall ledger", "stats", "export"):
        # `true` exits without reading: nmem's first write meets a closed pipe
        shell = f"'{nmem}' {command} | true; exit ${{PIPESTATUS[0]}}"
        done = subprocess.run(["bash", "-c", shell], env=env, capture_output=True, text=True)
        assert (done.returncode, done.stderr) == (1, ""), command


_REMEMBER_MANY = """
from neuralmemory.core.brains import open_brain
with open_brain() as brain:
    for n in range(30):
        brain.remember(f"note {n}: the nightly export of ledger {n} ran long")
"""
