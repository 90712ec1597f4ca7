"""Fixtures for the hook tests: a git project, and a brain with memories of two projects."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from neuralmemory.core.brains import open_brain


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A git checkout of github.com/ada/falcon (its remote written as scp-style SSH)."""
    folder = tmp_path / "falcon-checkout"
    folder.mkdir()
    subprocess.run(["git", "init", "-q", str(folder)], check=True)
    subprocess.run(
        ["git", "-C", str(folder), "remote", "add", "origin", "git@github.com:Ada/Falcon.git"],
        check=True,
    )
    return folder


FALCON = "github.com/ada/falcon"
HERON = "github.com/ada/heron"


@pytest.fixture
def memories(home: Path) -> dict[str, str]:
    """A brain with memories of project falcon (the `project` checkout), of project heron, and
    of no project: guiding ones and facts; name -> id."""
    ids = {}
    with open_brain() as brain:
        for name, content, kind, project in (
            ("rule", "Always run make test before committing", "instruction", FALCON),
            ("db", "We chose PostgreSQL for billing because it has JSONB", "decision", FALCON),
            ("tabs", "Ada prefers tabs in Go code", "preference", None),
            ("deploys", "Billing deploys happen on Fridays after the 14:00 freeze", "fact", None),
            ("heron", "Heron's billing API is served by Caddy on port 8443", "fact", HERON),
            ("heron-rule", "Never deploy heron on a Friday", "instruction", HERON),
            ("cat", "The office cat is called Tom", "fact", None),
        ):
            ids[name] = brain.remember(content, type=kind, project=project).memory.id
    return ids
