"""Fixtures for the sync tests: real hub processes (the in-process hub and its three devices are
helpers.fixtures')."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from helpers.devices import Hub


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[Hub]:
    """A real `nmem serve` process on loopback, on a SQLite file (keyless: local mode)."""
    running = Hub(tmp_path / "hub.db", tmp_path / "hub.log")
    running.start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def keyed_hub(tmp_path: Path) -> Iterator[Hub]:
    """A real `nmem serve --require-keys` process on loopback, on a SQLite file."""
    running = Hub(tmp_path / "khub.db", tmp_path / "khub.log", keys=True)
    running.start()
    try:
        yield running
    finally:
        running.stop()
