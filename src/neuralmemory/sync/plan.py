"""From versions the hub holds and the local state of the same records: what to do. Pure: no I/O.

One rule set serves the three ways a hub version reaches the client -- a pull, a push refused as
`conflict` (the reply carries the hub's current version), and a repair by buckets -- so they can
never disagree. For each hub version `remote` and local state `local` of the same record, the
first rule that matches:

  local missing                         -> apply remote
  same vhash                            -> in sync (a pending one is acknowledged)
  remote makes a memory encrypted here  -> apply remote, which the brain stores but quarantines
    plaintext, and this device did not     (never materialized, never resolved into a local
    write it                               write); ours is kept as a conflict copy, whose
                                           restore makes it current everywhere again
  remote.parent == local.vhash          -> remote descends from ours: apply it
  local pending, local.parent == remote -> ours fast-forwards the hub: push as planned
  local not pending (stored), the hub's -> ours is stored, so the hub held it once, and what it
    version from the same hub brain        holds now descends from it -- unless the hub went
                                           back (restored from a backup, reset). Ancestry
                                           decides, never the stamp order alone:
    . this device held remote before ours  -> the hub went back: ours is rewritten on top of
      (its local history: `held`)             remote and pushed (not a conflict)
    . remote's stamp is the newer one, or   -> the hub moved on (the only way it can, short of
      either is beyond the skew bound         losing data): apply remote. A stamp beyond the
                                              bound orders nothing, and asking would mean
                                              pushing such a stamp (refused by every hub) or
                                              stamping ours again (a new edit, which would win)
    . remote's stamp is the older one       -> not an order anyone can trust: a descendant written
                                              by a clock more than 24 h behind carries a smaller
                                              stamp than its ancestor. A memory is marked pending
                                              again and the push asks the hub, whose reply says
                                              `superseded` (apply remote) or not (the rules for
                                              pending versions below: the strategy decides, the
                                              loser is kept); a counter, key or conflict record
                                              is merged at once (resolve.py: order-free)
  local pending, the hub said it holds  -> ours is an ANCESTOR of remote, or a version this
    remote on top of it (`superseded`)     device replaced before the hub held it (a later push
                                           named it: `replaces`): a folder restored from a
                                           backup, or a copy of it. Apply remote, no conflict
                                           copy: whatever ours said was decided, here, already
  local pending, remote written by THIS -> remote is this device's own past: the version ours
    device, saying what a version ours       replaced, rewritten (a conflict it won) or stamped
    replaced here before the hub held it   again by this folder before it was restored from a
    (`replaced_here`)                      copy, or by a copy of it. Ours goes on top of it (or
                                           remote is applied when it says the same), no copy:
                                           what remote says, ours replaced knowingly
  local pending, remote written by THIS -> ours was written here on top of remote while remote
    device from the same parent            was pending (a push whose reply was lost, a backup
                                           restored with it unpushed), and replaced it
                                           (coalescing keeps the old parent): ours is rewritten
                                           on top of remote, whatever the strategy; remote is
                                           kept as a copy when it differs (a folder cloned to a
                                           second machine writes as the same device). When it
                                           says the same (ours is remote stamped again: a clock
                                           that was far ahead), remote is applied: a rewrite
                                           would be a new version that the next restore of the
                                           same backup meets as a rival, not as its own
  local pending memory, the hub not     -> left as it is (`defer`, on a pull or a repair): the
    asked yet                              push asks the hub, whose reply says which it is. Not
                                           one stamped beyond the skew bound (the engine stamps
                                           those again in place as each sync starts: this is
                                           one written since by a clock still wrong): every hub
                                           refused it, so it is no hub's ancestor, and it is
                                           decided now, before the push stamps it again
  local pending, anything else          -> concurrent edits: resolve.resolve() decides; the
                                           loser becomes a conflict copy
And whenever a remote tombstone replaces a live memory whose local version THIS device wrote
(pushed or not), that version is also kept as a conflict copy (strategy `remote_delete`), so a
delete -- even one forged by a hub with the right parent -- can be undone with `nmem sync restore`;
but not a pending version the hub called `superseded` when the tombstone replaced a later one
(ours rewritten, or edited since): the device that wrote that one keeps it, and ours kept too
would be one write kept twice, under two vhashes.
Versions from ANOTHER brain of the name (`foreign`: converge() merging a split) share no history
with what is stored here: over a stored version, one is applied and pushed to this device's hub
brain, which holds a descendant of the stored one and answers as for any push (accepted,
`superseded`: an ancestor, or a conflict the strategy decides, the loser kept).
Stamps are never trusted to say that ours is the descendant: a clock more than 24 h behind
never adopts the stamps it sees (clock.py), so its edits can carry smaller stamps than the
versions they replace (docs/architecture.md#conflicts-and-strategies).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from neuralmemory.clock import runaway, wall_ms
from neuralmemory.protocol import Version
from neuralmemory.store.changes import Current
from neuralmemory.sync import resolve

Key = tuple[str, str]

#: The `strategy` of a conflict copy kept because a remote delete replaced this device's version,
#: and of one kept because a remote version made an encrypted memory plaintext.
REMOTE_DELETE = "remote_delete"
DOWNGRADE = "refused_downgrade"

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
    #: local versions to mark pending again, so that the push asks the hub where they stand
    requeue: list[Version] = field(default_factory=list)
    #: records whose pending local version is left for the push to settle: it fast-forwards the
    #: hub, or (deferred) only the hub can tell an ancestor from a concurrent edit
    unchanged: int = 0

    @property
    def conflicts(self) -> int:
        return len(self.copies)

    def is_empty(self) -> bool:
        return not (self.apply or self.rewrite or self.copies or self.acknowledged or self.requeue)


@dataclass(frozen=True)
class Context:
    """What a plan knows besides the versions: the strategy, this device's wall clock (ms, it
    bounds what counts as recent: clock.recency), this device's id (`me`; None: no rule that
    depends on who wrote a version), the local vhashes the hub said it holds a descendant of
    (`superseded`), whether to `defer` a pending memory the hub was not asked about, the hub
    vhashes this device held before its current version of their record (`held`, its local
    history), whether the versions come from another brain of the name (`foreign`), and for a
    memory pending here, the versions its pending one replaced before the hub held them
    (`replaced_here`, store/replaced.py)."""

    strategy: str
    now: int
    me: str | None = None
    superseded: Collection[str] = frozenset()
    defer: bool = False
    held: Collection[str] = frozenset()
    foreign: bool = False
    replaced_here: Mapping[str, Sequence[Version]] = field(default_factory=dict)


def plan_incoming(
    remotes: Iterable[Version],
    local: Mapping[Key, Local],
    strategy: str,
    now: int | None = None,
    *,
    me: str | None = None,
    superseded: Collection[str] = frozenset(),
    defer: bool = False,
    held: Collection[str] = frozenset(),
    foreign: bool = False,
    replaced_here: Mapping[str, Sequence[Version]] | None = None,
) -> Plan:
    """Reconcile hub versions with the local state (see the module docstring for the rules)."""
    plan = Plan()
    clock = wall_ms() if now is None else now
    context = Context(strategy, clock, me, superseded, defer, held, foreign, replaced_here or {})
    for remote in remotes:
        _reconcile(plan, remote, local.get((remote.kind, remote.id)), context)
    return plan


def _reconcile(plan: Plan, remote: Version, local: Local | None, context: Context) -> None:
    if local is None:
        plan.apply.append(remote)
        return
    mine = local.version
    if mine.vhash == remote.vhash:
        if local.pending:
            plan.acknowledged.append(mine)
        return
    if _downgrade(mine, remote, context.me):
        plan.apply.append(remote)
        _keep(plan, mine, remote.vhash, DOWNGRADE)
        return
    if remote.parent == mine.vhash:
        _take(plan, remote, mine, context.me)
        return
    if local.pending and mine.parent == remote.vhash:
        plan.unchanged += 1
        return
    if not local.pending:
        if context.foreign:
            plan.apply.append(remote)  # pushed next: this brain's hub says what it is
        else:
            _stored(plan, remote, mine, context)
        return
    if mine.vhash in context.superseded:
        # a delete of a later version (ours rewritten, or edited since) is that version's to
        # keep, by the device that wrote it: ours kept too would be one write kept twice
        _take(plan, remote, mine, context.me if remote.parent == mine.vhash else None)
        return
    if remote.device_id == context.me and _own_past(plan, remote, mine, context):
        return
    if context.defer and mine.kind == "memory" and not runaway(mine.hlc, context.now):
        plan.unchanged += 1
        return
    _resolve(plan, mine, remote, context)


def _own_past(plan: Plan, remote: Version, mine: Version, context: Context) -> bool:
    """Our pending version against a hub version this device wrote: whether it is this
    device's own past (then planned: module docstring), not a rival."""
    replaced_here = _replaced_here(remote, context)
    if not replaced_here and remote.parent != mine.parent:
        return False
    if resolve.same_substance(mine, remote):
        plan.apply.append(remote)  # ours already: rewritten, it would be a rival of itself
        return True
    plan.rewrite.append(_rewrite(remote, mine.deleted, mine.body, mine.strength))
    if not replaced_here:  # what remote says, ours replaced knowingly: nothing to keep
        _keep(plan, remote, mine.vhash, context.strategy)
    return True


def _replaced_here(remote: Version, context: Context) -> bool:
    """Whether remote says what a version ours replaced here said (a restored copy of this
    folder meeting its original's rewrite or new stamp of that version)."""
    replaced = context.replaced_here.get(remote.id, ())
    return any(resolve.same_substance(version, remote) for version in replaced)


def _stored(plan: Plan, remote: Version, mine: Version, context: Context) -> None:
    """Ours is stored (not pending) and the hub's is neither ours nor its child: did the hub
    move on from ours, or go back (module docstring)?"""
    if remote.vhash in context.held:
        plan.rewrite.append(_rewrite(remote, mine.deleted, mine.body, mine.strength))
    elif (
        remote.hlc > mine.hlc or runaway(mine.hlc, context.now) or runaway(remote.hlc, context.now)
    ):
        _take(plan, remote, mine, context.me)
    elif mine.kind == "memory":
        plan.requeue.append(mine)
    else:
        _resolve(plan, mine, remote, context)


def _resolve(plan: Plan, mine: Version, remote: Version, context: Context) -> None:
    strategy, now = context.strategy, context.now
    outcome = resolve.resolve(mine, remote, strategy, now)
    if (outcome.deleted, outcome.body) == (remote.deleted, remote.body):
        plan.apply.append(remote)
    else:
        plan.rewrite.append(_rewrite(remote, outcome.deleted, outcome.body, outcome.strength))
    if outcome.loser is not None:
        winner = mine if outcome.keep == "local" else remote
        _keep(plan, outcome.loser, winner.vhash, strategy)


def _take(plan: Plan, remote: Version, mine: Version, me: str | None) -> None:
    """Apply a hub version over ours; a delete of this device's live memory keeps ours too
    (`me` None: it does not)."""
    plan.apply.append(remote)
    if remote.deleted and remote.kind == "memory" and not mine.deleted and mine.device_id == me:
        _keep(plan, mine, remote.vhash, REMOTE_DELETE)


def _downgrade(mine: Version, remote: Version, me: str | None) -> bool:
    """A live plaintext version of a memory that is encrypted here, written by another device:
    no edit makes an encrypted memory plaintext (an edit encrypts again), so only a faulty or
    hostile writer (or hub) does."""
    return (
        me is not None
        and remote.kind == "memory"
        and remote.device_id != me
        and not mine.deleted
        and not remote.deleted
        and "ciphertext" in mine.body
        and "ciphertext" not in remote.body
    )


def _keep(plan: Plan, loser: Version, winner_vhash: str, strategy: str) -> None:
    plan.copies.append(
        ConflictCopy(
            id=resolve.conflict_id(loser),
            body=resolve.conflict_body(loser, winner_vhash, strategy),
            loser=loser,
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
            _keep(plan, current, loser.vhash, strategy)
    plan.rewrite.append(Rewrite(copy.kind, copy.id, None, True, {}, 0))
    return plan
