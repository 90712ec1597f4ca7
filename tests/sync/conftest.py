"""Fixtures for the sync tests: a real hub process (the in-process hub and its three devices are
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
