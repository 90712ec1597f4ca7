from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from neuralmemory.core.brain import Brain, open_brain


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh NMEM_HOME: one device, no config, no brains."""
    path = tmp_path / "home"
    monkeypatch.setenv("NMEM_HOME", str(path))
    return path


@pytest.fixture
def brain(home: Path) -> Iterator[Brain]:
    with open_brain() as opened:
        yield opened
