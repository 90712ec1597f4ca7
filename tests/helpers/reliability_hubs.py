"""Real `nmem serve` hubs for the reliability tests, from the conformance suite's targets."""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path

import pytest

from helpers.hub_targets import TARGETS, HubOptions, RunningHub

#: the Python hub on both of its backends (the conformance suite's targets)
PYTHON_TARGETS = [
    pytest.param(name, marks=TARGETS[name].marks, id=name)
    for name in ("python-sqlite", "python-postgres")
]


class RealHubs:
    """`nmem serve` processes by (target, options), started once per session, always stopped."""

    def __init__(self, root: Path, stack: ExitStack) -> None:
        self.root, self.stack = root, stack
        self.running: dict[tuple[str, HubOptions], RunningHub] = {}

    def get(self, name: str, options: HubOptions | None = None) -> RunningHub:
        key = (name, options or HubOptions())
        if key not in self.running:
            workdir = self.root / f"{name}-{len(self.running)}"
            workdir.mkdir(parents=True)
            self.running[key] = self.stack.enter_context(TARGETS[name].start(key[1], workdir))
        return self.running[key]
