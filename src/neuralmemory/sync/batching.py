"""Push batches sized by bytes under the hub's advertised limits. Pure: no I/O.

`Payload too large` must never reach a user in normal use, so a batch is closed before its
encoded body would pass `max_body_bytes` (less the envelope) or `max_records_per_push`. A record
that cannot fit in any request is quarantined with a reason instead of blocking the queue behind it.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from neuralmemory.protocol import Limits

K = TypeVar("K", bound=Hashable)

#: Bytes kept free in every request for the envelope ({"device": ..., "brain_name": ...}) and
#: slack; a DeviceInfo is at most ~300 bytes, so this is generous.
ENVELOPE_BYTES = 2048


@dataclass(frozen=True)
class Batches(Generic[K]):
    batches: list[list[K]] = field(default_factory=list)
    quarantined: list[tuple[K, str]] = field(default_factory=list)


def too_large_reason(size: int, limits: Limits) -> str | None:
    """Why a record of `size` encoded bytes can never be pushed to this hub, or None."""
    if size > limits.max_record_bytes:
        return (
            f"record is {size:,} bytes; the hub accepts at most "
            f"{limits.max_record_bytes:,} bytes per record"
        )
    if size + ENVELOPE_BYTES > limits.max_body_bytes:
        return (
            f"record is {size:,} bytes; the hub accepts requests of at most "
            f"{limits.max_body_bytes:,} bytes"
        )
    return None


def plan_batches(items: Sequence[tuple[K, int]], limits: Limits) -> Batches[K]:
    """Split (key, encoded size) items, in order, into batches that each fit one push request."""
    budget = limits.max_body_bytes - ENVELOPE_BYTES
    result: Batches[K] = Batches()
    current: list[K] = []
    used = 0
    for key, size in items:
        reason = too_large_reason(size, limits)
        if reason is not None:
            result.quarantined.append((key, reason))
            continue
        cost = size + 1  # the comma between records
        if current and (used + cost > budget or len(current) >= limits.max_records_per_push):
            result.batches.append(current)
            current, used = [], 0
        current.append(key)
        used += cost
    if current:
        result.batches.append(current)
    return result
