"""Fixtures for the sync tests: a real hub process, an in-process hub and three devices on it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sync_devices import LOCAL_URL, Device, Hub, in_process_hub


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
def hub_transport(tmp_path: Path) -> Iterator[httpx.BaseTransport]:
    with in_process_hub(tmp_path / "hub.db") as transport:
        yield transport


@pytest.fixture
def devices(tmp_path: Path, hub_transport: httpx.BaseTransport) -> Iterator[dict[str, Device]]:
    made: dict[str, Device] = {}
    for name in ("a", "b", "c"):
        device = Device(tmp_path / name, LOCAL_URL, hub_transport)
        device.configure(hub_url=LOCAL_URL)
        made[name] = device
    yield made
