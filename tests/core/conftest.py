from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from neuralmemory.core.brain import Brain
from neuralmemory.core.brains import open_brain


@pytest.fixture
def brain(home: Path) -> Iterator[Brain]:
    with open_brain() as opened:
        yield opened
