"""A block run without coverage tracing, for building a test's data in bulk (thousands of
remembers on paths other tests trace), where tracing costs more than the block itself. The
same pause as pytest-cov's `no_cover` marker, which covers only a test's call, not a fixture."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import coverage


@contextmanager
def untraced() -> Iterator[None]:
    running = coverage.Coverage.current()
    if running is None:  # a run without --cov
        yield
        return
    running.stop()
    try:
        yield
    finally:
        running.start()
