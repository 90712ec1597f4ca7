"""The conformance suite's fixtures: every test runs once per hub target in hub_targets.TARGETS.

Hubs start once per session for each (target, options) pair and are always stopped at the end.
The tests speak HTTP only; the protocol module is used just as a client would (to build records).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest

from helpers.hub_targets import (
    ACCOUNT_RATE_LIMIT,
    LOW_RATE_LIMIT,
    QUOTA_BYTES,
    QUOTA_RECORDS,
    TARGETS,
    HubOptions,
    RunningHub,
    StartedHubs,
    Target,
)

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under pytest-xdist (make test: --dist loadgroup) each worker process starts the hubs of
    the tests it runs: one worker runs all of a target's tests, so each hub (a `wrangler dev`
    takes seconds to start) is started once, while the targets run side by side. A test of local
    mode is not run against a target that has none (deselected, not skipped: nothing is missing)."""
    kept, dropped = [], []
    for item in items:
        callspec = getattr(item, "callspec", None)
        if (
            not item.path.is_relative_to(HERE)
            or callspec is None
            or "target" not in callspec.params
        ):
            kept.append(item)
            continue
        name = callspec.params["target"]
        if "local_client" in getattr(item, "fixturenames", ()) and not TARGETS[name].local_mode:
            dropped.append(item)
            continue
        item.add_marker(pytest.mark.xdist_group(f"hub-{name}"))
        kept.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


@pytest.fixture(
    scope="session",
    params=[pytest.param(name, marks=t.marks, id=name) for name, t in TARGETS.items()],
)
def target(request: pytest.FixtureRequest) -> Target:
    return TARGETS[request.param]


@pytest.fixture(scope="session")
def hubs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StartedHubs]:
    with ExitStack() as stack:
        yield StartedHubs(tmp_path_factory.mktemp("hubs"), stack)


def _client(hub: RunningHub) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=hub.url, timeout=30) as client:
        yield client


@pytest.fixture
def hub(target: Target, hubs: StartedHubs) -> RunningHub:
    """The target requiring keys on every request, without a rate limit."""
    return hubs.get(target.name, HubOptions())


@pytest.fixture
def client(hub: RunningHub) -> Iterator[httpx.Client]:
    yield from _client(hub)


@pytest.fixture
def local_client(target: Target, hubs: StartedHubs) -> Iterator[httpx.Client]:
    """The target in local mode: a request without a key is the local account (only targets
    that have one: pytest_collection_modifyitems)."""
    yield from _client(hubs.get(target.name, HubOptions(auth="local")))


@pytest.fixture
def limited_client(target: Target, hubs: StartedHubs) -> Iterator[httpx.Client]:
    """The target started with a rate limit of LOW_RATE_LIMIT requests per minute."""
    yield from _client(hubs.get(target.name, HubOptions(rate_limit=LOW_RATE_LIMIT)))


@pytest.fixture
def account_limited_client(target: Target, hubs: StartedHubs) -> Iterator[httpx.Client]:
    """The target limiting each key to LOW_RATE_LIMIT requests a minute and all keys of an
    account together to ACCOUNT_RATE_LIMIT."""
    options = HubOptions(rate_limit=LOW_RATE_LIMIT, account_rate_limit=ACCOUNT_RATE_LIMIT)
    yield from _client(hubs.get(target.name, options))


@pytest.fixture
def quota_client(target: Target, hubs: StartedHubs) -> Iterator[httpx.Client]:
    """The target with a quota of QUOTA_RECORDS records and QUOTA_BYTES bytes per account."""
    options = HubOptions(quota_records=QUOTA_RECORDS, quota_bytes=QUOTA_BYTES)
    yield from _client(hubs.get(target.name, options))


@pytest.fixture
def closed(target: Target, hubs: StartedHubs) -> RunningHub:
    """The target with registration closed."""
    return hubs.get(target.name, HubOptions(registration="closed"))


@pytest.fixture
def invited(target: Target, hubs: StartedHubs) -> RunningHub:
    """The target registering only with an invite code."""
    return hubs.get(target.name, HubOptions(registration="invite"))
