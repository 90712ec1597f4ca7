"""Fixtures for the hub's in-process tests: each backend on a real database, the app over httpx."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from helpers.hub_targets import throwaway_postgres
from neuralmemory.hub import routes
from neuralmemory.hub.app import create_app
from neuralmemory.hub.backends import Backend, open_backend
from neuralmemory.hub.settings import AuthMode, Settings
from neuralmemory.protocol import DEFAULT_LIMITS


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    with throwaway_postgres() as url:
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Every backend, for the contract suite: a fresh SQLite file, or the session's PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite://{tmp_path / 'hub.db'}"
    url: str = request.getfixturevalue("pg_url")
    return url


@pytest.fixture
async def store(db_url: str) -> AsyncIterator[Backend]:
    backend = await open_backend(db_url)
    try:
        yield backend
    finally:
        await backend.close()


@pytest.fixture
async def make_client(tmp_path: Path) -> AsyncIterator[Callable[..., httpx.AsyncClient]]:
    """httpx clients on the app in-process, over a real SQLite file (one per test); `clock` is the
    hub's (a test that counts requests in a rate window drives its own)."""
    backend = await open_backend(f"sqlite://{tmp_path / 'app.db'}")
    clients: list[httpx.AsyncClient] = []

    def make(
        auth: AuthMode = "keys",
        account_concurrency: int = 4,
        clock: routes.Clock = routes.now_ms,
        **limits: Any,
    ) -> httpx.AsyncClient:
        settings = Settings(
            db_url="unused",
            auth=auth,
            limits=DEFAULT_LIMITS.model_copy(update=limits),
            account_concurrency=account_concurrency,
            account_wait_s=0,
        )
        transport = httpx.ASGITransport(app=create_app(settings, backend, clock=clock))
        client = httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1")
        clients.append(client)
        return client

    try:
        yield make
    finally:
        for client in clients:
            await client.aclose()
        await backend.close()
