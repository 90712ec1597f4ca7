"""The convergence model's rules draw the same labels in the same order whatever the devices hold
(sync_model.py, "draws"). What a device holds differs between hypothesis generating a schedule
and replaying or shrinking it; a rule whose draws followed it (a memory sampled from the live
ones, a topic drawn in one branch only) made long runs fail with FlakyStrategyDefinition."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from helpers.model_draws import Recorded
from helpers.sync_model import SyncModel, live_memories

Rule = Callable[[SyncModel, int, Any], None]  # Any: the data object, or Recorded

#: Every rule that draws from `data` but `fault`, whose later draws follow its first (the kind
#: of fault), never what the devices hold.
RULES: dict[str, Rule] = {
    "edit": lambda model, index, data: model.edit(index=index, data=data),
    "forget": lambda model, index, data: model.forget(index=index, data=data),
    "backup_while_unpushed": lambda model, index, data: model.backup_while_unpushed(
        index=index, strategy="prefer_recent", data=data
    ),
    "restore_after_others_moved_on": lambda model, index, data: model.restore_after_others_moved_on(
        index=index, strategy="prefer_remote", forget=True, action="full", data=data
    ),
    "clock_far_ahead": lambda model, index, data: model.clock_far_ahead(
        index=index, topic="cache jitter", data=data, action="push"
    ),
}


def _live(model: SyncModel, index: int) -> int:
    with model.pick(index).brain() as brain:
        return len(live_memories(brain))


@pytest.mark.timeout(300)
@pytest.mark.parametrize("name", RULES)
def test_a_rule_draws_the_same_whatever_the_device_holds(name: str) -> None:
    """Device 0 holds no live memory, device 1 several: one rule on each draws the same."""

    @settings(
        max_examples=3,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(data=st.data())
    def one_run(data: st.DataObject) -> None:
        model = SyncModel()
        try:
            model.make_devices(strategies=["prefer_recent"] * 3)
            for topic in ("falcon deploy", "billing ledger", "cache jitter"):
                model.remember(index=1, topic=topic, shared=-1)
            assert (_live(model, 0), _live(model, 1)) == (0, 3)
            drawn = []
            for index in (0, 1):
                recorded = Recorded(data)
                RULES[name](model, index, recorded)
                drawn.append(recorded.labels)
            empty, full = drawn
            assert empty == full, f"{name} draws {empty} with nothing live, {full} with three live"
        finally:
            model.healthy = False  # only the draws are checked here
            model.teardown()

    one_run()
