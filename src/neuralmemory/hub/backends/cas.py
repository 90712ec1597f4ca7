"""The compare-and-swap rule of a push, as a pure function over the heads it touches.

Kept apart from SQL so both backends share it and tests can table-test it without a database.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from neuralmemory.errors import MSG_QUOTA_BYTES, MSG_QUOTA_RECORDS, QuotaExceeded
from neuralmemory.hub.backends.base import Incoming, Quota
from neuralmemory.protocol import (
    EMPTY_DIGEST,
    PushResult,
    PushStatus,
    StoredVersion,
    bucket_of,
    in_history,
    item_digest,
    next_history,
    xor_digest,
)

RecordId = tuple[str, str]  # (kind, id)


@dataclass(frozen=True)
class Head:
    """A record's current version as CAS needs it; `pushed` when this batch wrote it;
    `history` the vhashes the record held before (protocol.next_history)."""

    vhash: str
    seq: int
    size: int
    pushed: Incoming | None = None
    history: str = ""

    def stored(self) -> StoredVersion | None:
        if self.pushed is None:
            return None
        return StoredVersion.model_construct(**dict(self.pushed.version), seq=self.seq)


@dataclass
class PushPlan:
    results: list[PushResult]
    #: the last accepted version of each record, with the seq it was given and its history
    writes: dict[RecordId, tuple[Incoming, int, str]] = field(default_factory=dict)
    #: XOR of the items leaving and entering each touched bucket
    deltas: dict[int, str] = field(default_factory=dict)
    seq: int = 0
    new_records: int = 0
    new_bytes: int = 0
    #: conflicts whose current version is in the database rather than at hand
    fetch_current: list[RecordId] = field(default_factory=list)


def plan_push(seq: int, heads: Mapping[RecordId, Head], records: Sequence[Incoming]) -> PushPlan:
    """Accept a new record or a fast-forward, ack an identical vhash, refuse anything else --
    as `superseded` when the record held the refused version before (its current descends from
    it). Versions apply in order, so a batch may carry several successive edits of one record.
    """
    state = dict(heads)
    plan = PushPlan(results=[], seq=seq)
    for incoming in records:
        v = incoming.version
        key = (v.kind, v.id)
        head = state.get(key)
        if head is not None and head.vhash == v.vhash:
            plan.results.append(_result(incoming, "unchanged", head.seq))
            continue
        if head is not None and head.vhash != v.parent:
            current = head.stored()
            superseded = in_history(head.history, v.vhash)
            plan.results.append(_result(incoming, "conflict", None, current, superseded))
            if current is None:
                plan.fetch_current.append(key)
            continue
        plan.seq += 1
        bucket = bucket_of(v.kind, v.id)
        delta = plan.deltas.get(bucket, EMPTY_DIGEST)
        if head is None:
            plan.new_records += 1
        else:
            delta = xor_digest(delta, item_digest(v.kind, v.id, head.vhash))
            plan.new_bytes -= head.size
        plan.deltas[bucket] = xor_digest(delta, item_digest(v.kind, v.id, v.vhash))
        plan.new_bytes += incoming.size
        if head is None:
            history = next_history(v.kind, "", None, incoming.replaces)
        else:
            history = next_history(v.kind, head.history, head.vhash, incoming.replaces)
        state[key] = Head(v.vhash, plan.seq, incoming.size, incoming, history)
        plan.writes[key] = (incoming, plan.seq, history)
        plan.results.append(_result(incoming, "accepted", plan.seq))
    return plan


def check_quota(quota: Quota, held_records: int, held_bytes: int, plan: PushPlan) -> None:
    """Refuse a push that takes the account past a quota. Each total must end within its quota or
    not grow: at the quota, edits that shrink, retries and deletions still go through, so a
    full account can always sync its deletions."""
    if quota.records and plan.new_records > 0 and held_records + plan.new_records > quota.records:
        raise QuotaExceeded(
            MSG_QUOTA_RECORDS.format(
                used=held_records,
                limit=quota.records,
                added=plan.new_records,
                setting="nmem serve --quota-records",
            )
        )
    if quota.bytes and plan.new_bytes > 0 and held_bytes + plan.new_bytes > quota.bytes:
        raise QuotaExceeded(
            MSG_QUOTA_BYTES.format(
                used=held_bytes,
                limit=quota.bytes,
                added=plan.new_bytes,
                setting="nmem serve --quota-bytes",
            )
        )


def _result(
    incoming: Incoming,
    status: PushStatus,
    seq: int | None,
    current: StoredVersion | None = None,
    superseded: bool = False,
) -> PushResult:
    v = incoming.version
    # Validated construction: for these few plain fields it is quicker than model_construct.
    return PushResult(
        kind=v.kind,
        id=v.id,
        vhash=v.vhash,
        status=status,
        seq=seq,
        current=current,
        superseded=superseded,
    )
