"""Fixtures for the hook tests: a git project, and a brain with memories of two projects."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from neuralmemory.core.brain import open_brain


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


@pytest.fixture
def memories(home: Path) -> dict[str, str]:
    """A brain with guiding memories, facts, and memories of another project; name -> id."""
    ids = {}
    with open_brain() as brain:
        for name, content, kind, tags in (
            ("rule", "Always run make test before committing", "instruction", ["falcon"]),
            ("db", "We chose PostgreSQL for billing because it has JSONB", "decision", ["falcon"]),
            ("tabs", "Ada prefers tabs in Go code", "preference", []),
            ("deploys", "Billing deploys happen on Fridays after the 14:00 freeze", "fact", []),
            ("heron", "Heron's API is served by Caddy on port 8443", "fact", ["heron"]),
            ("cat", "The office cat is called Tom", "fact", []),
        ):
            ids[name] = brain.remember(content, type=kind, tags=tags).memory.id
    return ids
