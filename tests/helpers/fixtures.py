"""Fixtures several test folders use (loaded for all of tests/ by tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from helpers.devices import LOCAL_URL, Device, Hub, in_process_hub


@pytest.fixture
def hub_transport(tmp_path: Path) -> Iterator[httpx.BaseTransport]:
    """The hub app in-process on a real SQLite file, local (keyless) mode."""
    with in_process_hub(tmp_path / "hub.db") as transport:
        yield transport


@pytest.fixture
def devices(tmp_path: Path, hub_transport: httpx.BaseTransport) -> dict[str, Device]:
    """Three devices (a, b, c) of one brain on the in-process hub, auto-sync on (the default)."""
    made: dict[str, Device] = {}
    for name in ("a", "b", "c"):
        made[name] = Device(tmp_path / name, LOCAL_URL, hub_transport)
        made[name].configure(hub_url=LOCAL_URL)
    return made


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
