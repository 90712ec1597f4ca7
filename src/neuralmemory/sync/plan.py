"""From versions the hub holds and the local state of the same records: what to do. Pure: no I/O.

One rule set serves the three ways a hub version reaches the client -- a pull, a push refused as
`conflict` (the reply carries the hub's current version), and a repair by buckets -- so they can
never disagree. For each hub version `remote` and local state `local` of the same record:

  local missing                         -> apply remote
  same vhash                            -> in sync (a pending one is acknowledged)
  remote.parent == local.vhash          -> remote descends from ours: apply it
  local pending, local.parent == remote -> ours fast-forwards the hub: push as planned
  local not pending                     -> the newer stamp wins: an older hub version means the
                                           hub lost ours (restored or reset), so ours is rewritten
                                           on top of it and pushed; not a conflict: ours was
                                           accepted once, so it descends from the hub's
  local pending, anything else          -> concurrent edits: resolve.resolve() decides; the
                                           loser becomes a conflict copy
Ancestors always carry smaller stamps than descendants (the clock observes every version it
applies), which is why the stamp order is safe to use for records that are not pending.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from neuralmemory.clock import recency, wall_ms
from neuralmemory.protocol import Version
from neuralmemory.store.changes import Current
from neuralmemory.sync import resolve

Key = tuple[str, str]

#: A record's local state as a plan sees it: exactly the change log's own `Current`.
Local = Current


@dataclass(frozen=True)
class Rewrite:
    """A new pending local version with this substance, written on top of `base` -- the hub's
    version it replaces, stored first so it becomes the parent and the clock orders past it --
    or, when base is None, on top of whatever is current here (a local edit)."""

    kind: str
    id: str
    base: Version | None
    deleted: bool
    body: dict[str, Any]
    strength: int


@dataclass(frozen=True)
class ConflictCopy:
    """A losing version kept as a record of kind `conflict`, pending, unless it already exists."""

    id: str
    body: dict[str, Any]
    loser: Version


@dataclass
class Plan:
    apply: list[Version] = field(default_factory=list)
    rewrite: list[Rewrite] = field(default_factory=list)
    copies: list[ConflictCopy] = field(default_factory=list)
    acknowledged: list[Version] = field(default_factory=list)
    #: records whose local version is pending and fast-forwards the hub: nothing to do now
    unchanged: int = 0

    @property
    def conflicts(self) -> int:
        return len(self.copies)

    def is_empty(self) -> bool:
        return not (self.apply or self.rewrite or self.copies or self.acknowledged)


def plan_incoming(
    remotes: Iterable[Version], local: Mapping[Key, Local], strategy: str, now: int | None = None
) -> Plan:
    """Reconcile hub versions with the local state (see the module docstring for the rules);
    `now`, this device's wall clock (ms), bounds what counts as recent (clock.recency)."""
    plan = Plan()
    clock = wall_ms() if now is None else now
    for remote in remotes:
        _reconcile(plan, remote, local.get((remote.kind, remote.id)), strategy, clock)
    return plan


def _reconcile(plan: Plan, remote: Version, local: Local | None, strategy: str, now: int) -> None:
    if local is None:
        plan.apply.append(remote)
        return
    mine = local.version
    if mine.vhash == remote.vhash:
        if local.pending:
            plan.acknowledged.append(mine)
        return
    if remote.parent == mine.vhash:
        plan.apply.append(remote)
        return
    if local.pending and mine.parent == remote.vhash:
        plan.unchanged += 1
        return
    if not local.pending:
        if recency(mine.hlc, now) > recency(remote.hlc, now):
            plan.rewrite.append(_rewrite(remote, mine.deleted, mine.body, mine.strength))
        else:
            plan.apply.append(remote)
        return
    outcome = resolve.resolve(mine, remote, strategy, now)
    if (outcome.deleted, outcome.body) == (remote.deleted, remote.body):
        plan.apply.append(remote)
    else:
        plan.rewrite.append(_rewrite(remote, outcome.deleted, outcome.body, outcome.strength))
    if outcome.loser is not None:
        winner = mine if outcome.keep == "local" else remote
        plan.copies.append(
            ConflictCopy(
                id=resolve.conflict_id(outcome.loser),
                body=resolve.conflict_body(outcome.loser, winner.vhash, strategy),
                loser=outcome.loser,
            )
        )


def _rewrite(remote: Version, deleted: bool, body: dict[str, Any], strength: int) -> Rewrite:
    return Rewrite(remote.kind, remote.id, remote, deleted, body, strength)


def plan_restore(copy: Version, current: Version | None, strategy: str = "restore") -> Plan:
    """Make a conflict copy's loser current again, as a new version of its record.

    The copy is retired (tombstoned) and the version it displaces is kept as a new conflict copy,
    so a restore can itself be undone: nothing is lost either way.
    """
    loser = resolve.loser_of(copy)
    plan = Plan()
    if current is None or not resolve.same_substance(current, loser):
        plan.rewrite.append(
            Rewrite(loser.kind, loser.id, None, loser.deleted, loser.body, loser.strength)
        )
        if current is not None:
            plan.copies.append(
                ConflictCopy(
                    id=resolve.conflict_id(current),
                    body=resolve.conflict_body(current, loser.vhash, strategy),
                    loser=current,
                )
            )
    plan.rewrite.append(Rewrite(copy.kind, copy.id, None, True, {}, 0))
    return plan
