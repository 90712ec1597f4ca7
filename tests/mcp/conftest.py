"""Fixtures for the MCP tests: the event loop backend, and a real hub process (the conformance
suite's `nmem serve` helper) with one registered account."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "conformance"))
from hub_targets import HubOptions, nmem_serve


@dataclass(frozen=True)
class Hub:
    url: str
    api_key: str
    log: Path


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    """`nmem serve` on a free loopback port, keys required, with one registered account."""
    workdir = tmp_path_factory.mktemp("hub")
    with nmem_serve(f"sqlite://{workdir / 'hub.db'}", HubOptions(auth="keys"), workdir) as running:
        reply = httpx.post(f"{running.url}/v1/auth/register", json={"email": "mcp@example.com"})
        assert reply.status_code == 201, reply.text
        yield Hub(running.url, reply.json()["api_key"], running.log)
