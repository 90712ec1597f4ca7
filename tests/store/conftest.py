from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from neuralmemory.store.db import Database, connect
from neuralmemory.store.migrations import migrate


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = connect(tmp_path / "brain.db")
    migrate(database)
    yield database
    database.close()
