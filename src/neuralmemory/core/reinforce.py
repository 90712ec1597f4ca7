"""Reinforcement that merges without conflicts: per-device counters, strength with time decay.

An activation or link record's body holds ``{"devices": {device_id: {"count": n, "last": ms}}}``.
Each device only ever increments its own entry, so two bodies merge by taking, per device, the
max of count and the max of last: the merge is commutative, associative and idempotent, which is
why recalling the same memory on two devices never conflicts and re-syncing never double-counts.
`merge_counters` is the function the sync engine applies to activation and link records.
"""

from __future__ import annotations

import hashlib
import math
from typing import Any

from neuralmemory.protocol import STRENGTH_SCALE

Counters = dict[str, dict[str, int]]

HALF_LIFE_DAYS = 30.0  # strength falls toward its floor with this half-life since last access
DAY_MS = 86_400_000


def merge_counters(a: Counters, b: Counters) -> Counters:
    """Per-device max of count and of last access; sorted by device for stable bodies."""
    merged: Counters = {}
    for device in sorted(set(a) | set(b)):
        left, right = a.get(device, {}), b.get(device, {})
        merged[device] = {
            "count": max(left.get("count", 0), right.get("count", 0)),
            "last": max(left.get("last", 0), right.get("last", 0)),
        }
    return merged


def bump(counters: Counters, device_id: str, now_ms: int) -> Counters:
    """This device touched the record once more."""
    mine = counters.get(device_id, {"count": 0, "last": 0})
    updated = dict(counters)
    updated[device_id] = {"count": mine["count"] + 1, "last": max(mine["last"], now_ms)}
    return dict(sorted(updated.items()))


def totals(counters: Counters) -> tuple[int, int]:
    """(total count over all devices, last access over all devices)."""
    count = sum(entry.get("count", 0) for entry in counters.values())
    last = max((entry.get("last", 0) for entry in counters.values()), default=0)
    return count, last


def counters_of(body: dict[str, Any]) -> Counters:
    """A body's counters; none for a body that fails its schema (a quarantined one)."""
    from neuralmemory.core import bodies  # pydantic: loaded by the first body read

    return bodies.counters(body)


def activation(count: int, last_ms: int, now_ms: int) -> float:
    """Strength in [0.25, 1]: grows with use, decays toward its floor with time since last use."""
    use = 1.0 - 0.5 * math.exp(-count / 3.0)  # 0.5 for a fresh memory, toward 1 with recalls
    age_days = max(0.0, (now_ms - last_ms) / DAY_MS)
    recency = 0.5 + 0.5 * math.pow(0.5, age_days / HALF_LIFE_DAYS)
    return use * recency


def millionths(value: float) -> int:
    """An activation as protocol.Version.strength."""
    return max(0, min(STRENGTH_SCALE, round(value * STRENGTH_SCALE)))


def link_id(a: str, b: str) -> str:
    """The learned link between two memories, the same whichever way it was walked."""
    low, high = sorted((a, b))
    return "l-" + hashlib.sha256(f"{low}\n{high}".encode()).hexdigest()[:32]
