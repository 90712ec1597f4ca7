"""What to keep when a local and a remote version of one record disagree. Pure: no I/O.

Three families of records, three rules (docs/architecture.md#conflicts-and-strategies):
  * memory -- what a person or an agent wrote: a real conflict, arbitrated by one of the four
    strategies; the loser is kept whole as a conflict copy, never dropped.
  * activation, link -- what the brain learned: per-device counters merged by max, so the merge
    is idempotent, commutative and never a conflict (two devices recalling one memory is normal).
  * conflict -- a conflict copy: its id is derived from the loser's vhash, so two copies of one
    loser are the same record; a tombstone (restored or dismissed) wins over a live copy.
Two sides with the same substance (deleted flag and body) are not a conflict, whatever their stamps.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from neuralmemory import protocol
from neuralmemory.clock import recency, wall_ms
from neuralmemory.config import STRATEGIES as STRATEGY_NAMES
from neuralmemory.core import reinforce

if TYPE_CHECKING:
    from neuralmemory.protocol import Version

Side = Literal["local", "remote"]
Strategy = Callable[["Version", "Version", int], Side]

COUNTER_KINDS = frozenset({"activation", "link"})
CONFLICT_KIND = "conflict"
KEY_KIND = "key"


def prefer_recent(local: Version, remote: Version, now: int) -> Side:
    # HLC stamps compare as strings (fixed-width prefix), and the device id breaks ties, so two
    # devices always pick the same winner. A stamp beyond the clock-skew bound (a device whose
    # clock was far ahead) is older than any believable one: docs/sync.md, "Clocks".
    return "local" if recency(local.hlc, now) > recency(remote.hlc, now) else "remote"


def prefer_local(local: Version, remote: Version, now: int) -> Side:
    return "local"


def prefer_remote(local: Version, remote: Version, now: int) -> Side:
    return "remote"


def prefer_stronger(local: Version, remote: Version, now: int) -> Side:
    mine, theirs = (
        (local.strength, recency(local.hlc, now)),
        (remote.strength, recency(remote.hlc, now)),
    )
    return "local" if mine > theirs else "remote"


_RULES = {
    rule.__name__: rule for rule in (prefer_recent, prefer_local, prefer_remote, prefer_stronger)
}
#: each name of config.STRATEGIES (the one list of them) to the rule of that name; a name
#: without one fails here, at import
STRATEGIES: dict[str, Strategy] = {name: _RULES[name] for name in STRATEGY_NAMES}


@dataclass(frozen=True)
class Outcome:
    """The substance to keep, and the loser to keep as a conflict copy (None: nothing lost)."""

    keep: Side
    deleted: bool
    body: dict[str, Any]
    strength: int
    loser: Version | None = None


#: Memory fields stamped at creation, not written by anyone: the same text remembered on two
#: devices differs only in these, and that is not a conflict.
CREATION_FIELDS = frozenset({"created_at", "event_at", "expires_at"})


def same_substance(a: Version, b: Version) -> bool:
    if a.deleted != b.deleted:
        return False
    if a.kind != "memory":
        return a.body == b.body
    return _written(a.body) == _written(b.body)


def _written(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k not in CREATION_FIELDS}


def merge_counters(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """An activation or link body merged with another: counters by per-device max
    (core/reinforce.py); other fields (a link's endpoints) never change after creation, and on
    a difference the second argument -- the hub's side -- is kept, so every device agrees."""
    devices = reinforce.merge_counters(reinforce.counters_of(a), reinforce.counters_of(b))
    return {**a, **b, "devices": devices}


def resolve(local: Version, remote: Version, strategy: str, now: int | None = None) -> Outcome:
    """Decide between a local pending version and the hub's current one for the same record;
    `now` is this device's wall clock (ms), which bounds what counts as recent."""
    if local.kind in COUNTER_KINDS:
        if local.deleted or remote.deleted:  # forgetting a memory drops its counters everywhere
            return Outcome("remote", True, {}, 0)
        body = merge_counters(local.body, remote.body)
        return Outcome("remote", False, body, max(local.strength, remote.strength))
    if local.kind == KEY_KIND:
        # Two devices holding one key may each write its record: the oldest stands, everywhere,
        # and nothing is lost (a key record says only that a key exists, and since when).
        oldest = min((local, remote), key=_key_record_order)
        return Outcome(
            "local" if oldest is local else "remote", oldest.deleted, oldest.body, oldest.strength
        )
    if local.kind == CONFLICT_KIND:
        keep: Side = "local" if local.deleted and not remote.deleted else "remote"
        kept = local if keep == "local" else remote
        return Outcome(keep, kept.deleted, kept.body, kept.strength)
    if same_substance(local, remote):
        return Outcome("remote", remote.deleted, remote.body, remote.strength)
    try:
        choose = STRATEGIES[strategy]
    except KeyError:
        raise ValueError(f"unknown conflict strategy {strategy!r}") from None
    picked = choose(local, remote, wall_ms() if now is None else now)
    winner, loser = (local, remote) if picked == "local" else (remote, local)
    side: Side = "local" if winner is local else "remote"
    return Outcome(side, winner.deleted, winner.body, winner.strength, loser)


def _key_record_order(version: Version) -> tuple[bool, int, str]:
    """Live before deleted, then the oldest `created_at`, then the vhash: every device agrees."""
    created = version.body.get("created_at")
    return (version.deleted, created if type(created) is int else 2**63, version.vhash)


# ---------------------------------------------------------------- conflict copies


def conflict_id(loser: Version) -> str:
    """One loser, one copy: the id is a function of the losing version alone."""
    return "cf-" + hashlib.sha256(loser.vhash.encode()).hexdigest()[:32]


def conflict_body(loser: Version, winner_vhash: str, strategy: str) -> dict[str, Any]:
    """A conflict copy holds the losing version whole, so it can be listed and restored. An
    end-to-end encrypted brain's loser is a view (core/e2e.py): it is kept as its plaintext
    twin, hashed anew, since the copy is itself sealed when it is written."""
    fields = loser.model_dump(mode="json", include=set(protocol.Version.model_fields) - {"vhash"})
    twin = protocol.Version.create(**fields)
    return {
        "record": {"kind": loser.kind, "id": loser.id},
        "loser": twin.model_dump(mode="json", include=set(protocol.Version.model_fields)),
        "winner": winner_vhash,
        "strategy": strategy,
    }


def loser_of(copy: Version) -> Version:
    """The losing version kept in a conflict copy's body."""
    return protocol.Version.model_validate(copy.body["loser"])
