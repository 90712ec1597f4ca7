"""Fixtures for the MCP tests: the event loop backend, and a real hub process (the conformance
suite's `nmem serve` helper) that registers accounts."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from helpers.hub_targets import HubOptions, nmem_serve
from helpers.mcp_client import Hub


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    """`nmem serve` on a free loopback port, API keys required."""
    workdir = tmp_path_factory.mktemp("hub")
    with nmem_serve(f"sqlite://{workdir / 'hub.db'}", HubOptions(auth="keys"), workdir) as running:
        yield Hub(running.url, running.log)
