"""The typed shapes of the sync service's results (sync/results.py) match what it returns."""

from __future__ import annotations

from dataclasses import fields

from neuralmemory.sync.engine import SyncReport
from neuralmemory.sync.results import SyncResult


def test_a_sync_result_names_every_field_of_the_report_in_its_order() -> None:
    """service._result hands a SyncReport's dict on as a SyncResult: the two must not drift."""
    assert list(SyncResult.__annotations__) == [field.name for field in fields(SyncReport)]
    assert SyncResult.__required_keys__ == {field.name for field in fields(SyncReport)}
