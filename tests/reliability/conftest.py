"""Reliability suite: the helpers of tests/sync and tests/conformance are importable here, and
the in-process hub with three devices (as in tests/sync) serves the pinned regressions."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest

TESTS = Path(__file__).resolve().parents[1]
for folder in ("sync", "conformance", "reliability"):
    if str(TESTS / folder) not in sys.path:
        sys.path.insert(0, str(TESTS / folder))

from sync_devices import LOCAL_URL, Device, in_process_hub  # noqa: E402


@pytest.fixture
def hub_transport(tmp_path: Path) -> Iterator[httpx.BaseTransport]:
    with in_process_hub(tmp_path / "hub.db") as transport:
        yield transport


@pytest.fixture
def devices(tmp_path: Path, hub_transport: httpx.BaseTransport) -> dict[str, Device]:
    made: dict[str, Device] = {}
    for name in ("a", "b", "c"):
        made[name] = Device(tmp_path / name, LOCAL_URL, hub_transport)
        made[name].configure(hub_url=LOCAL_URL)
    return made


# ------------------------------------------------------------------ real hubs (attacks, fuzzing)

from reliability_hubs import RealHubs  # noqa: E402


@pytest.fixture(scope="session")
def real_hubs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealHubs]:
    with ExitStack() as stack:
        yield RealHubs(tmp_path_factory.mktemp("reliability-hubs"), stack)
