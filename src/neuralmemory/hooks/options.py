"""The [hooks] table of config.toml: budgets, the relevance floor, capture mode, the time limit.

[hooks]
capture = "remind"        # "off": Stop and PreCompact never ask the agent to save
context_tokens = 2000     # the SessionStart block's budget
prompt_tokens = 500       # the budget of what one prompt gets
min_score = 0.5           # recall hits below it are never injected
timeout_ms = 1000         # a hook still working after this answers nothing
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from neuralmemory import config
from neuralmemory.errors import (
    MSG_OPTION_CHOICE,
    MSG_OPTION_NUMBER,
    MSG_OPTION_RANGE,
    MSG_OPTION_WHOLE,
    ConfigError,
)

CAPTURE_MODES = ("off", "remind")
SECTION = "hooks"

# (lowest, highest) accepted for each number
_RANGES: dict[str, tuple[float, float]] = {
    "context_tokens": (0, 20_000),
    "prompt_tokens": (0, 5_000),
    "min_score": (0.0, 100.0),
    "timeout_ms": (100, 60_000),
}


@dataclass(frozen=True)
class HookOptions:
    capture: str = "remind"
    context_tokens: int = 2000
    prompt_tokens: int = 500
    min_score: float = 0.5
    timeout_ms: int = 1000


def load_options() -> HookOptions:
    """The [hooks] settings; a wrong one is a ConfigError naming the key and what it takes."""
    table = config.load_section(SECTION)
    values: dict[str, Any] = {}
    for item in fields(HookOptions):
        if item.name in table:
            values[item.name] = _checked(item.name, table[item.name])
    return HookOptions(**values)


def _checked(name: str, value: object) -> object:
    where = f"{config.config_path()}: [hooks] {name}"
    if name == "capture":
        if value not in CAPTURE_MODES:
            raise ConfigError(
                MSG_OPTION_CHOICE.format(where=where, choices=", ".join(CAPTURE_MODES))
            )
        return value
    low, high = _RANGES[name]
    wanted = float if name == "min_score" else int
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(MSG_OPTION_NUMBER.format(where=where, low=low, high=high))
    if wanted is int and not isinstance(value, int):
        raise ConfigError(MSG_OPTION_WHOLE.format(where=where, low=low, high=high))
    if not low <= value <= high:
        raise ConfigError(MSG_OPTION_RANGE.format(where=where, value=value, low=low, high=high))
    return wanted(value)
