"""Stand-ins for hypothesis' data object when a test runs the convergence model's rules by hand
(sync_model.py: every draw of a rule carries a label, and a rule draws the same labels in the
same order whatever the devices hold)."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from helpers.sync_model import SimDevice, live_memories


class Draws:
    """Answers each draw by its label: a replayed schedule's values. A memory id given for
    `which` stands for the index that picks it among `device`'s live memories at the draw (the
    rules draw `which` just before they list them); `labels` are the draws asked for, in order."""

    def __init__(self, device: SimDevice | None = None, **answers: Any) -> None:
        self.device = device
        self.answers = answers
        self.labels: list[str | None] = []

    def draw(self, strategy: object, label: str | None = None) -> Any:
        self.labels.append(label)
        assert label in self.answers, f"no answer for the draw labelled {label!r}"
        value = self.answers[label]
        if label == "which" and isinstance(value, str):
            assert self.device is not None, "a memory id for `which` needs the device"
            with self.device.brain() as brain:
                return live_memories(brain).index(value)
        return value


class Recorded:
    """Hypothesis' data object, with the labels of the draws made through it, in order."""

    def __init__(self, data: st.DataObject) -> None:
        self.data = data
        self.labels: list[str | None] = []

    def draw(self, strategy: st.SearchStrategy[Any], label: str | None = None) -> Any:
        self.labels.append(label)
        return self.data.draw(strategy, label=label)
