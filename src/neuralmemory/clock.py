"""Hybrid logical clock: wall-clock milliseconds, a counter and the device id, totally ordered.

A stamp is the string ``"{ms:013d}-{counter:04x}-{device_id}"``. The fixed-width prefix makes the
string order equal the (ms, counter, device_id) order, so SQL, Python and TypeScript compare stamps
as plain strings. The clock never goes backwards: when the wall clock does (skew, NTP step, a
device set an hour back), the counter carries the order, and every stamp received from another
device pushes this clock past it (`observe`).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass

MAX_COUNTER = 0xFFFF
_STAMP = re.compile(r"^([0-9]{13})-([0-9a-f]{4})-(.+)$")


@dataclass(frozen=True, order=True)
class Stamp:
    ms: int
    counter: int
    device_id: str

    def __str__(self) -> str:
        return f"{self.ms:013d}-{self.counter:04x}-{self.device_id}"

    @classmethod
    def parse(cls, text: str) -> Stamp:
        match = _STAMP.match(text)
        if match is None:
            raise ValueError(f"not an HLC stamp: {text!r}")
        return cls(int(match[1]), int(match[2], 16), match[3])


def wall_ms() -> int:
    return time.time_ns() // 1_000_000


class HybridClock:
    """One device's clock. Not thread-safe by itself: callers hold the store's write lock."""

    def __init__(
        self, device_id: str, last: Stamp | None = None, now: Callable[[], int] = wall_ms
    ) -> None:
        self.device_id = device_id
        self._now = now
        self._ms = last.ms if last else 0
        self._counter = last.counter if last else 0

    def tick(self) -> Stamp:
        """A new stamp, greater than every stamp this clock has issued or observed."""
        now = self._now()
        if now > self._ms:
            self._ms, self._counter = now, 0
        else:
            self._advance_counter()
        return Stamp(self._ms, self._counter, self.device_id)

    def observe(self, stamp: Stamp | str) -> None:
        """Move past a stamp seen from another device, so our next tick orders after it."""
        seen = Stamp.parse(stamp) if isinstance(stamp, str) else stamp
        if seen.ms > self._ms:
            self._ms, self._counter = seen.ms, seen.counter
        elif seen.ms == self._ms and seen.counter > self._counter:
            self._counter = seen.counter

    def _advance_counter(self) -> None:
        if self._counter < MAX_COUNTER:
            self._counter += 1
        else:  # 65,536 stamps in one millisecond: borrow the next millisecond
            self._ms, self._counter = self._ms + 1, 0
