"""Hybrid logical clock: wall-clock milliseconds, a counter and the device id, totally ordered.

A stamp is the string ``"{ms:013d}-{counter:04x}-{device_id}"``. The fixed-width prefix makes the
string order equal the (ms, counter, device_id) order, so SQL, Python and TypeScript compare stamps
as plain strings. The clock never goes backwards: when the wall clock does (skew, NTP step, a
device set an hour back), the counter carries the order, and every stamp received from another
device pushes this clock past it (`observe`).

Clocks ahead are bounded (docs/sync.md, "Clocks"): a stamp more than MAX_CLOCK_SKEW_MS ahead of
this device's wall clock is never adopted (one device set to the year 2250 must not drag every
other device there), and a clock whose own state ran that far ahead -- its wall clock was wrong,
and has been set right -- starts again from the wall clock instead of staying pinned.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass

MAX_COUNTER = 0xFFFF
#: How far ahead of a clock a stamp may be and still count: the protocol's max_clock_skew_ms.
MAX_CLOCK_SKEW_MS = 24 * 60 * 60 * 1000
_STAMP_MS = 13  # digits of the millisecond field
_STAMP = re.compile(r"^([0-9]{13})-([0-9a-f]{4})-(.+)$")

log = logging.getLogger(__name__)


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


def stamp_ms(hlc: str) -> int:
    """The wall-clock part of a stamp (its first 13 digits), without parsing the rest."""
    return int(hlc[:_STAMP_MS])


def runaway(hlc: str, now: int) -> bool:
    """True when a stamp is more than MAX_CLOCK_SKEW_MS ahead of `now`: made by a clock that
    was wrong, it does not count as recent (docs/sync.md, "Clocks")."""
    return stamp_ms(hlc) > now + MAX_CLOCK_SKEW_MS


def recency(hlc: str, now: int) -> tuple[bool, str]:
    """What `prefer_recent` compares: a runaway stamp is older than every believable one."""
    return (not runaway(hlc, now), hlc)


class HybridClock:
    """One device's clock. Not thread-safe by itself: callers hold the store's write lock."""

    def __init__(
        self, device_id: str, last: Stamp | None = None, now: Callable[[], int] = wall_ms
    ) -> None:
        self.device_id = device_id
        self._now = now
        self._ms = last.ms if last else 0
        self._counter = last.counter if last else 0

    @property
    def last(self) -> Stamp:
        """The newest stamp this clock has issued or observed (its state, to persist)."""
        return Stamp(self._ms, self._counter, self.device_id)

    def tick(self) -> Stamp:
        """A new stamp, greater than every stamp this clock has issued or observed -- unless
        this clock ran more than MAX_CLOCK_SKEW_MS ahead of the wall clock, which it then
        follows again (module docstring)."""
        now = self._now()
        if self._ms > now + MAX_CLOCK_SKEW_MS:
            log.warning(
                "this device's clock state %s is more than %d h ahead of its wall clock:"
                " restarting the clock from the wall clock",
                self.last,
                MAX_CLOCK_SKEW_MS // 3_600_000,
            )
            self._ms = 0
        if now > self._ms:
            self._ms, self._counter = now, 0
        else:
            self._advance_counter()
        return self.last

    def observe(self, stamp: Stamp | str) -> bool:
        """Move past a stamp seen from another device, so our next tick orders after it.
        False (and nothing moved) for a stamp more than MAX_CLOCK_SKEW_MS ahead of the wall
        clock: it stays as stored, but this clock does not adopt it."""
        seen = Stamp.parse(stamp) if isinstance(stamp, str) else stamp
        if seen.ms > self._now() + MAX_CLOCK_SKEW_MS:
            return False
        if seen.ms > self._ms:
            self._ms, self._counter = seen.ms, seen.counter
        elif seen.ms == self._ms and seen.counter > self._counter:
            self._counter = seen.counter
        return True

    def _advance_counter(self) -> None:
        if self._counter < MAX_COUNTER:
            self._counter += 1
        else:  # 65,536 stamps in one millisecond: borrow the next millisecond
            self._ms, self._counter = self._ms + 1, 0
