"""Reliability suite: the real hubs the attacks and the fuzzing run against (the in-process hub
with three devices, for the pinned regressions, is helpers.fixtures')."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack

import pytest

from helpers.hub_targets import StartedHubs


@pytest.fixture(scope="session")
def real_hubs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StartedHubs]:
    with ExitStack() as stack:
        yield StartedHubs(tmp_path_factory.mktemp("reliability-hubs"), stack)
