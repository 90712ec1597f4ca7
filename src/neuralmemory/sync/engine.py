"""Executes a sync: pull -> resolve -> push -> verify -> repair, for one brain and one hub.

What to do is decided by the pure modules (plan.py, resolve.py, merkle.py, batching.py); this
module only moves data between them, the brain file and the hub. Every step is safe to repeat:
a page of pulled records is applied in the same transaction as the cursor that covers it, a
push is idempotent on the hub (a re-sent vhash is "unchanged"), and repair converges from
whatever state the two sides are in.

Cost grows with what changed: a no-op full sync is one pull request, one listing of the
account's brains (one brain per name: converge()), a comparison of the pull reply's root digest
with the local one (both kept incrementally) and nothing else.

Longer than ~400 lines on purpose: it is one sync round (pull, push, verify, repair, converging
same-named brains) over one SyncEngine's state -- cursor, limits, deadline, quarantine. The
decisions already live in the pure modules; split by step, that state would be handed between
modules instead of living in one object.
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections.abc import Callable, Collection, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from neuralmemory import errors as msg
from neuralmemory.clock import MAX_CLOCK_SKEW_MS, wall_ms
from neuralmemory.core import bodies
from neuralmemory.errors import NotFoundOnHub, PayloadTooLarge, ProtocolError, SyncTimeout
from neuralmemory.protocol import (
    BUCKETS,
    EMPTY_DIGEST,
    BrainInfo,
    DeviceRecord,
    Limits,
    PullReply,
    PushReply,
    Version,
    bucket_of,
    iso_ms,
    item_digest,
    xor_digest,
)
from neuralmemory.store import history, replaced
from neuralmemory.store import memories as memories_sql
from neuralmemory.store.changes import ChangeLog, Pending
from neuralmemory.store.db import Database
from neuralmemory.sync import merkle, resolve, state
from neuralmemory.sync.batching import plan_batches
from neuralmemory.sync.plan import Key, Plan, plan_incoming
from neuralmemory.sync.state import SyncState
from neuralmemory.sync.transport import DEFAULT_REPLY_BYTES, HubClient

log = logging.getLogger(__name__)

ACTIONS = ("push", "pull", "full", "verify", "repair")  # seed needs no hub: service.py
MAX_PUSH_ROUNDS = 5  # push -> conflict -> resolve -> push again, at most this many times
PENDING_PAGE = 2000
# Bounds one bucket listing on a large brain even from a hub that does not page its listings
# (one that does sends at most its max_bucket_entries per reply, `more` telling there are others).
BUCKETS_PER_REQUEST = 32
#: seconds one sync may take before it stops (what it applied is kept; the next one goes on)
SYNC_DEADLINE = 900.0
#: the largest reply read from a hub whatever limits it advertises; a page is asked for at most
#: half of it, so a hub with huge records is pulled in smaller pages, not read into memory whole
MAX_REPLY_BYTES = 512 * 1024 * 1024
#: a hub's cached limits are read again after a day, so what an upgraded hub takes (a larger
#: batch, `replaces`) is used without waiting for a refused push; the cache says when (device ms)
LIMITS_TTL_MS = 24 * 3_600_000
LIMITS_FETCHED = "fetched_at"

#: progress(phase, done, total): total is None while unknown
Progress = Callable[[str, int, int | None], None]


class Replica(Protocol):
    """The local side of one brain, as the engine needs it (core.brain.Brain provides it)."""

    @property
    def id(self) -> str: ...

    @property
    def name(self) -> str: ...

    @property
    def db(self) -> Database: ...

    @property
    def changes(self) -> ChangeLog: ...

    def apply_remote(self, *versions: Version) -> None:
        """Store hub versions as current (not pending) and materialize them; in a transaction."""

    def write_record(
        self, kind: str, id: str, *, body: dict[str, Any], deleted: bool, strength: int
    ) -> Version:
        """A new local (pending) version with this substance, materialized; in a transaction."""

    def is_empty(self) -> bool: ...

    def rekey(self, brain_id: str) -> None:
        """Give an EMPTY brain another id (a remote brain of the same name it joins)."""

    def sync_as(self, brain_id: str) -> None:
        """Record the hub brain a non-empty brain was merged into (its key is used too)."""


@dataclass
class SyncReport:
    """What one sync did; `nmem sync ... --json` and nmem_sync() return it as a dict."""

    action: str
    brain: str
    brain_id: str
    hub_url: str
    pulled: int = 0
    applied: int = 0
    pushed: int = 0
    acknowledged: int = 0
    conflicts: int = 0
    quarantined: int = 0
    repaired: int = 0
    seeded: int = 0
    verified: bool | None = None
    pending: int = 0
    cursor: int = 0
    root: str = EMPTY_DIGEST
    bytes_sent: int = 0
    joined: str | None = None
    hub_brain: str | None = None
    split: list[str] | None = None
    #: the account's other devices whose latest sync of a brain of this name was with another
    #: brain than this device's (verify and repair look; null when the action does not)
    elsewhere: list[dict[str, str | None]] | None = None
    #: true when `elsewhere` holds every other device of the account: this one is alone on its
    #: brain of the hub (run `nmem sync full` here to merge it)
    alone: bool | None = None
    started_at: str | None = None
    duration_ms: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


@contextmanager
def _brain_lock(brain_id: str) -> Iterator[None]:
    """One sync per brain at a time in this process (auto-sync and a manual sync may meet)."""
    with _locks_guard:
        lock = _locks.setdefault(brain_id, threading.Lock())
    with lock:
        yield


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cycle collector off while a pull or a push moves pages of records. Each record
    makes several objects (decoded JSON, Version, rows, concepts; canonical bytes on a push),
    none in a reference cycle, and the collector's passes over them were measured at 7-11% of a
    first pull of 10K memories (0.17 s of 2.2 s; 0.47-0.78 s of 5.2-7.0 s on loaded cores) and
    6-9% of a first push (0.14 s of 1.7 s), with benchmarks/sync_bench.py's set-up against a hub
    on loopback; paused, under 0.01 s. Reference counting still frees each page once applied.
    Only there: the switch is process-wide, so every other thread runs without the collector
    meanwhile, and the rest of a sync (prepare, converge, verify, repair, waiting on the hub)
    makes few objects. Left alone when something else already turned it off."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


@dataclass
class _Round:
    """Hub facts learned during one run."""

    root: str | None = None
    conflicts: list[Version] = field(default_factory=list)
    #: vhashes of pushed versions the hub answered `superseded` (it holds a descendant)
    superseded: set[str] = field(default_factory=set)


class SyncEngine:
    def __init__(
        self,
        local: Replica,
        hub: HubClient,
        *,
        strategy: str,
        progress: Progress | None = None,
        deadline: float = SYNC_DEADLINE,
    ) -> None:
        self.local = local
        self.deadline = deadline
        self._until = time.monotonic() + deadline
        self.hub = hub
        self.strategy = strategy
        self.progress = progress or (lambda phase, done, total: None)
        self.state = SyncState(local.db)
        self.changes = local.changes
        self.report = SyncReport("", local.name, local.id, hub.url)
        self._round = _Round()
        self.remote_id = local.id
        self.limits = Limits()
        self.page = self.limits.page_size

    # ------------------------------------------------------------ entry point

    def run(self, action: str) -> SyncReport:
        if action not in ACTIONS:
            raise ValueError(f"unknown sync action {action!r}; one of {', '.join(ACTIONS)}")
        started = time.perf_counter()
        self._until = time.monotonic() + self.deadline
        self.report.action = action
        self.report.started_at = iso_ms(wall_ms())
        with _brain_lock(self.local.id):
            self._prepare()
            if action != "verify":
                self._restamp_runaway(in_place_only=True)
            if action == "pull":
                self.pull()
            elif action == "push":
                self.push()
            elif action == "full":
                self.full()
            elif action == "verify":
                self.report.verified = self.verify(ask_hub=True) and self._one_brain()
            else:
                self.repair()
                self.report.verified = self.verify(ask_hub=True) and self._one_brain()
        self.report.pending = self.changes.pending_count()
        self.report.quarantined = len(self.state.quarantine()) + len(
            memories_sql.quarantined(self.local.db)
        )
        self.report.cursor = self.state.cursor
        self.report.root = self.changes.root()
        self.report.brain_id = self.local.id
        self.report.hub_brain = self.remote_id
        self.report.bytes_sent = self.hub.bytes_sent
        self.report.duration_ms = round((time.perf_counter() - started) * 1000)
        return self.report

    def _prepare(self) -> None:
        """Bind the brain to this hub: cursor, remote brain id and limits, fetched only once."""
        if self.state.get(state.HUB) != self.hub.url:
            # Another hub knows none of our versions: start from scratch, everything pending.
            with self.local.db.transaction():
                for key in (state.CURSOR, state.REMOTE_ID, state.LIMITS, state.QUARANTINE):
                    self.state.set(key, None)
                self.changes.mark_all_pending()
                self.state.set(state.HUB, self.hub.url)
        remote_id = self.state.get(state.REMOTE_ID)
        self.remote_id = remote_id if isinstance(remote_id, str) else self._join()
        if self.remote_id != self.local.id:
            self.local.sync_as(self.remote_id)  # also for brains merged before it was recorded
        cached = self.state.get(state.LIMITS)
        fresh = isinstance(cached, dict) and (
            0 <= self.changes.now() - cached.get(LIMITS_FETCHED, 0) < LIMITS_TTL_MS
        )
        self._use_limits(Limits.model_validate(cached) if fresh else self._refresh_limits())

    def _join(self) -> str:
        """First sync with this hub: join the account's brain of the same name, if there is one.

        An empty local brain takes the remote id (so key files and ids line up on every device);
        a non-empty one syncs into the remote brain, all its records pending, so they are merged
        as new versions: nothing lost, nothing duplicated.
        """
        brains = self.hub.brains()
        remote_id = self.local.id
        known = any(b.brain_id == remote_id for b in brains)
        if not known:
            same = named(brains, self.local.name)
            if same:
                best = same[0]  # the brain of the name: the rule every device computes alike
                with self.local.db.transaction():
                    if self.local.is_empty():
                        self.local.rekey(best.brain_id)
                        self.state = SyncState(self.local.db)
                    remote_id = best.brain_id
                    self.report.joined = best.brain_id
                known = True
        # Bound only to a brain the hub holds. A first sync that sends nothing (a push with
        # nothing pending) leaves no brain on the hub; bound anyway, this device would keep its
        # own id while the next device, finding no brain, kept *its* own: one account, two
        # brains of one name, never converging. Unbound, the next sync looks again.
        if known:
            with self.local.db.transaction():
                self.state.set(state.REMOTE_ID, remote_id)
                self.state.set(state.HUB, self.hub.url)
        return remote_id

    # ------------------------------------------------------------ one brain per name

    def _one_brain(self) -> bool:
        """Whether every device of the account syncs one brain of this name: this one syncs
        with the oldest and has merged every other one (report.split lists those it has not),
        and no other device last synced another brain of the name (report.elsewhere)."""
        brains = named(self.hub.brains(), self.local.name)
        self.report.split = unmerged(brains, self.remote_id, self._absorbed())
        self.report.elsewhere = self._devices_elsewhere(brains)
        return not self.report.split and not self.report.elsewhere

    def _devices_elsewhere(self, brains: Sequence[BrainInfo]) -> list[dict[str, str | None]]:
        """The account's other devices whose latest sync (push or pull) of a brain of this
        name was with another brain than this device's: each brain lists the devices that
        synced it, and a device that moved on syncs its new brain later than its old one. One
        brain of the name: nothing to ask."""
        if len(brains) < 2 or not any(b.brain_id == self.remote_id for b in brains):
            return []
        latest: dict[str, tuple[str, str, DeviceRecord]] = {}
        for brain in brains:
            try:
                devices = self.hub.devices(brain.brain_id).devices
            except NotFoundOnHub:
                continue
            for device in devices:
                seen = (device.last_sync_at or device.first_seen_at, brain.brain_id, device)
                if device.device_id not in latest or seen[:2] > latest[device.device_id][:2]:
                    latest[device.device_id] = seen
        me = self.hub.device.device_id
        others = [s for s in latest.values() if s[2].device_id != me]
        self.report.alone = bool(others) and all(s[1] != self.remote_id for s in others)
        return [
            {
                "device_id": device.device_id,
                "name": device.name,
                "brain_id": brain_id,
                "last_sync_at": device.last_sync_at,
            }
            for _, brain_id, device in sorted(latest.values(), key=lambda s: s[2].device_id)
            if brain_id != self.remote_id and device.device_id != me
        ]

    def converge(self) -> bool:
        """Make the account's brains of this name one: the oldest (by created_at, then id: a
        rule every device computes alike from the same listing). A device on another one moves
        to it (its records pending, so they are pushed there); every other brain's records not
        merged yet are pulled here, pending too, and the caller's push takes them to the oldest.
        Two first syncs racing each create a brain; whichever device lists last sees both, and
        every later full sync of any device looks again, so a split cannot outlive one sync.
        Other brains are left on the hub as they are (nothing is deleted). True when anything
        moved or was taken."""
        brains = named(self.hub.brains(), self.local.name)
        if not any(b.brain_id == self.remote_id for b in brains):
            # Not on the hub yet (nothing pushed) or lost by it: the next sync joins or looks.
            self.report.split = []
            return False
        changed = False
        if brains[0].brain_id != self.remote_id:
            self._move_to(brains[0].brain_id)
            changed = True
        for other in brains[1:]:
            changed |= self._absorb(other)
        self.report.split = unmerged(brains, self.remote_id, self._absorbed())
        return changed

    def _absorbed(self) -> dict[str, int]:
        value = self.state.get(state.ABSORBED)
        return value if isinstance(value, dict) else {}

    def _move_to(self, brain_id: str) -> None:
        """Leave this device's brain of the hub for `brain_id`: what it pulled from the one it
        leaves counts as merged; every local record goes to the new one, from cursor 0."""
        with self.local.db.transaction():
            absorbed = self._absorbed()
            absorbed[self.remote_id] = self.state.cursor
            self.state.set(state.ABSORBED, absorbed)
            self.state.set(state.REMOTE_ID, brain_id)
            self.state.set(state.CURSOR, None)
            self.changes.mark_all_pending()
        self.local.sync_as(brain_id)
        self.remote_id = brain_id
        self.report.joined = brain_id
        self._round.root = None

    def _absorb(self, other: BrainInfo) -> bool:
        """Pull what `other` holds beyond what was merged from it, reconciled like any pull and
        left pending (for the oldest brain); its cursor there moves with each page."""
        cursor = self._absorbed().get(other.brain_id, 0)
        if cursor >= other.seq:
            return False
        while True:
            reply = self.hub.pull(
                other.brain_id, self.local.name, cursor, limit=self.limits.page_size
            )
            self.report.pulled += len(reply.records)
            with self.local.db.transaction():
                self._reconcile(reply.records, foreign=True)
                for version in reply.records:
                    current = self.changes.current(version.kind, version.id)
                    if current is not None and not current.pending:
                        self.changes.store(current.version, pending=True)
                absorbed = self._absorbed()
                absorbed[other.brain_id] = cursor = max(reply.cursor, cursor)
                self.state.set(state.ABSORBED, absorbed)
            if not reply.more:
                return True

    def _refresh_limits(self) -> Limits:
        limits = self.hub.info().limits
        with self.local.db.transaction():
            fetched = {LIMITS_FETCHED: self.changes.now()}
            self.state.set(state.LIMITS, limits.model_dump() | fetched)
        self._use_limits(limits)
        return limits

    def _use_limits(self, limits: Limits) -> None:
        """Size pages and the reply cap from the hub's limits: a pulled page holds at most
        `page` records of at most max_record_bytes each; twice that leaves room for the
        envelope and JSON escapes, and anything bigger is a faulty hub, refused while read."""
        record = max(1, limits.max_record_bytes)
        self.page = max(1, min(limits.page_size, MAX_REPLY_BYTES // (2 * record)))
        self.hub.max_reply_bytes = max(DEFAULT_REPLY_BYTES, 2 * self.page * record)
        self.limits = limits

    # ------------------------------------------------------------ actions

    def full(self) -> None:
        """Pull, push, verify; one cheap catch-up round for writes that raced ours; then repair.
        After the first push (which may have just created this brain on the hub) the account's
        brains of this name are merged into one (converge)."""
        for round_ in range(2):
            self.pull()
            self.push()
            if round_ == 0 and self.converge():
                self.pull()
                self.push()
            if self.verify():
                self.report.verified = True
                return
        self.repair()
        self.report.verified = self.verify(ask_hub=True)

    def pull(self, *, defer: bool = True) -> None:
        """Apply the hub's pages in order, each with its cursor. The next page is requested
        while this one is applied (the hub serves it meanwhile): the cursor a reply names
        does not depend on applying it. `defer`: a pending memory the hub's version does not
        simply descend from or precede is left for the push, whose reply tells an ancestor
        (a restored backup) from a concurrent edit (plan.py)."""
        cursor = start = self.state.cursor
        with (
            _collector_paused(),
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="nmem-pull") as ahead,
        ):
            reply = self._pull_page(cursor)
            while True:
                self._check_deadline()
                if reply.seq < cursor and start > 0:
                    # The hub has fewer writes than we have seen: it lost data (reset or
                    # restored). Start over from 0, once; verify/repair puts back what it lost.
                    cursor = start = 0
                    with self.local.db.transaction():
                        self.state.set(state.CURSOR, 0)
                    reply = self._pull_page(cursor)
                    continue
                _check_advance(cursor, reply)
                following = ahead.submit(self._pull_page, reply.cursor) if reply.more else None
                self.report.pulled += len(reply.records)
                self._reconcile(reply.records, cursor=reply.cursor, defer=defer)
                cursor = reply.cursor
                self._round.root = reply.root
                self.progress("pull", cursor - start, reply.seq - start)
                if following is None:
                    return
                reply = following.result()

    def _pull_page(self, cursor: int) -> PullReply:
        return self.hub.pull(
            self.remote_id,
            self.local.name,
            cursor,
            limit=self.page,
            exclude_device=True,
        )

    def push(self) -> None:
        self._restamp_runaway()
        for _ in range(MAX_PUSH_ROUNDS):
            self._check_deadline()
            self._round.conflicts, self._round.superseded = [], set()
            with _collector_paused():
                if not self._push_pending():
                    return
            if not self._round.conflicts:
                return
            # Refused as `conflict`: the replies carried the hub's versions; resolve, push again.
            self._reconcile(self._round.conflicts, superseded=self._round.superseded)

    def _restamp_runaway(self, *, in_place_only: bool = False) -> None:
        """Versions stamped while this device's clock was far ahead are refused by the hub
        (400); once the clock is right again they are stamped again, so the sync goes through
        instead of failing the same way forever (docs/sync.md, "Clocks"). A memory's is
        stamped in place, before anything else (`in_place_only`, as each sync starts): just
        after the version it edits, older than every believable edit, and the same each time,
        so it is a pending version like any other, which the push asks the hub about. Any other
        is stamped anew after the hub's versions are pulled, so concurrent edits meet it as
        what it is: older (the pull decides it at once, plan.py)."""
        if not self.changes.runaway_pending():
            return
        if not in_place_only:
            self.pull()
        with self.local.db.transaction():
            restamped = self.changes.restamp_runaway(in_place_only=in_place_only)
        if restamped:
            log.warning(
                "%d pending change(s) were stamped while this device's clock was far ahead:"
                " stamped again",
                len(restamped),
            )

    def verify(self, *, ask_hub: bool = False) -> bool:
        """True when this brain and the hub hold exactly the same current records."""
        hub_root = self._round.root
        if ask_hub or hub_root is None:
            hub_root = self._hub_digest()[0]
            self._round.root = hub_root
        return self._expected_root() == hub_root

    def repair(self) -> None:
        """Exchange only the records of the buckets whose digests differ."""
        _, hub_buckets = self._hub_digest()
        quarantined = self._quarantined_items()
        local_buckets = list(self.changes.digest().buckets)
        for kind, id, vhash in quarantined:
            bucket = bucket_of(kind, id)
            local_buckets[bucket] = xor_digest(local_buckets[bucket], item_digest(kind, id, vhash))
        differing = merkle.differing_buckets(local_buckets, hub_buckets)
        if not differing:
            return
        skip = {(kind, id) for kind, id, _ in quarantined}
        hub_entries = self._hub_entries(differing)
        local_entries = {
            (e.kind, e.id): e.vhash
            for e in self.changes.bucket_entries(differing)
            if (e.kind, e.id) not in skip
        }
        exchange = merkle.plan_exchange(local_entries, hub_entries)
        for chunk in _chunks(exchange.fetch, self.limits.max_fetch_keys):
            self._check_deadline()
            fetched = self.hub.fetch(self.remote_id, chunk).records
            self._reconcile(list(fetched), defer=True)  # the push below settles what is left
        with self.local.db.transaction():
            for kind, id in exchange.push:
                current = self.changes.current(kind, id)
                if current is not None and not current.pending:
                    self.changes.store(current.version, pending=True)
        self.report.repaired += len(exchange.fetch) + len(exchange.push)
        self._round.root = None
        self.push()

    # ------------------------------------------------------------ machinery

    def _reconcile(
        self,
        versions: Sequence[Version],
        *,
        cursor: int | None = None,
        superseded: Collection[str] = frozenset(),
        defer: bool = False,
        foreign: bool = False,
    ) -> None:
        """Plan and apply hub versions in one transaction (with the cursor that covers them);
        `superseded`, `defer` and `foreign` as plan.plan_incoming takes them."""
        with self.local.db.transaction():
            versions = self.changes.opened(versions)  # an E2E brain's: opened here, or rejected
            local = self.changes.currents([(v.kind, v.id) for v in versions])
            differing = [  # local history keeps memories only (store/sql/0004_history.sql)
                (v.id, v.vhash)
                for v in versions
                if v.kind == "memory"
                and (held := local.get((v.kind, v.id))) is not None
                and held.version.vhash != v.vhash
            ]
            ours = [id for id, _ in differing if local[("memory", id)].pending]
            before = replaced.versions(self.local.db, ours)
            plan = plan_incoming(
                versions,
                local,
                self.strategy,
                self.changes.now(),
                me=self.changes.device_id,
                superseded=superseded,
                defer=defer,
                held=history.held_before(self.local.db, differing),
                replaced_here={id: self.changes.opened(v) for id, v in before.items()},
                foreign=foreign,
            )
            self._execute(plan)
            if cursor is not None:
                self.state.set(state.CURSOR, cursor)

    def _check_deadline(self) -> None:
        if time.monotonic() > self._until:
            raise SyncTimeout(
                msg.MSG_SYNC_DEADLINE.format(brain=self.local.name, seconds=self.deadline),
                hint=msg.HINT_SYNC_DEADLINE,
            )

    def _execute(self, plan: Plan) -> None:
        apply_plan(self.local, plan)
        self.report.applied += len(plan.apply) + len(plan.rewrite)
        self.report.conflicts += plan.conflicts

    def _pending_pages(self) -> Iterator[list[Pending]]:
        after: str | None = None
        while page := self.changes.pending_encoded(limit=PENDING_PAGE, after=after):
            yield page
            after = page[-1].hlc

    def _push_pending(self) -> bool:
        """Push every pending version once; False when there was nothing to push.

        Batches go out back to back from one worker thread, the first as soon as its records
        are read: while this thread reads the next records, or records the hub's reply to one
        batch, the hub is already working on the next."""
        pending: dict[Key, Pending] = {}
        names: dict[Key, list[str]] = {}  # what each replaced unpushed (store/replaced.py)
        quarantined: dict[Key, tuple[str, str]] = {}
        too_large: list[list[Key]] = []
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="nmem-push") as ahead:
            sent: list[tuple[list[Key], Future[PushReply]]] = []
            try:
                for page in self._pending_pages():
                    items = {(p.kind, p.id): p for p in page}
                    pending.update(items)
                    names.update(self._replaced(page))
                    sizes = [(k, len(p.data) + _names_size(names.get(k))) for k, p in items.items()]
                    batches = plan_batches(sizes, self.limits)
                    for key, why in batches.quarantined:
                        quarantined[key] = (items[key].vhash, why)
                    for batch in batches.batches:
                        payload = _payload(batch, pending, names)
                        sent.append((batch, ahead.submit(self._request, *payload)))
                total, done = sum(len(batch) for batch, _ in sent), 0
                for batch, reply in sent:
                    try:
                        self._settle(reply.result(), pending)
                    except PayloadTooLarge:
                        too_large.append(batch)
                        continue
                    done += len(batch)
                    self.progress("push", done, total)
            except BaseException:
                for _, reply in sent:
                    reply.cancel()  # nothing more goes out after a failure
                raise
        self._set_quarantine(quarantined)
        for batch in too_large:  # with every request settled: the halving path is sequential
            self._send(batch, pending, names)
        return bool(sent)

    def _replaced(self, page: Sequence[Pending]) -> dict[Key, list[str]]:
        """What the page's memories replaced unpushed, to name to a hub that keeps it."""
        ids = [p.id for p in page if p.kind == "memory"]
        found = replaced.names(self.local.db, ids, self.limits.max_replaced)
        return {("memory", id): named for id, named in found.items()}

    def _request(self, records: list[bytes], replaces: dict[str, list[str]]) -> PushReply:
        return self.hub.push(self.remote_id, self.local.name, records, replaces)

    def _send(
        self, batch: list[Key], pending: dict[Key, Pending], names: dict[Key, list[str]]
    ) -> None:
        try:
            reply = self._request(*_payload(batch, pending, names))
        except PayloadTooLarge:
            # The hub's limits are smaller than advertised (or changed): re-read them and halve
            # the batch; a single record the hub still refuses is quarantined, never retried.
            self._refresh_limits()
            if len(batch) == 1:
                (key,) = batch
                quarantine = self.state.quarantine()
                quarantine[_qkey(key)] = {
                    "vhash": pending[key].vhash,
                    "reason": "hub: Payload too large",
                }
                with self.local.db.transaction():
                    self.state.set(state.QUARANTINE, quarantine)
                return
            middle = len(batch) // 2
            self._send(batch[:middle], pending, names)
            self._send(batch[middle:], pending, names)
            return
        self._settle(reply, pending)

    def _settle(self, reply: PushReply, pending: dict[Key, Pending]) -> None:
        """Record the hub's verdict on a pushed batch: clear what it holds, keep conflicts."""
        with self.local.db.transaction():
            held = []
            for result in reply.results:
                sent = pending[(result.kind, result.id)]
                if result.status == "conflict" and result.current is not None:
                    self._round.conflicts.append(result.current)
                    if result.superseded:
                        self._round.superseded.add(result.vhash)
                    continue
                if result.status == "accepted":
                    self.report.pushed += 1
                else:
                    self.report.acknowledged += 1
                held.append(sent)
            cleared = self.changes.mark_pushed_many((p.kind, p.id, p.vhash) for p in held)
            runaway = f"{self.changes.now() + MAX_CLOCK_SKEW_MS + 1:013d}"
            replaced.held(
                self.local.db, [(p.id, p.hlc) for p in held if p.kind == "memory"], runaway
            )
            if cleared < len(held):
                for sent in held:
                    self._rebase_if_replaced(sent)
        self._round.root = reply.root

    def _rebase_if_replaced(self, sent: Pending) -> None:
        """The hub holds `sent`; if a local write replaced it while it was in flight
        (coalescing kept the old parent), rebase that newer write onto it -- otherwise the next
        push would refuse our own history as a conflict."""
        current = self.changes.current(sent.kind, sent.id)
        if current is None or not current.pending or current.version.vhash == sent.vhash:
            return
        version = self.changes.opened([sent.version()])[0]
        if current.version.parent == version.parent:
            newer = current.version
            self.changes.store(version)
            self.changes.write(
                newer.kind,
                newer.id,
                body=newer.body,
                deleted=newer.deleted,
                strength=newer.strength,
            )

    def _set_quarantine(self, found: dict[Key, tuple[str, str]]) -> None:
        """Quarantine is recomputed on every push: a record that shrank or a hub whose limits
        grew lets it through again."""
        value = {_qkey(k): {"vhash": vhash, "reason": why} for k, (vhash, why) in found.items()}
        if value != self.state.quarantine():
            with self.local.db.transaction():
                self.state.set(state.QUARANTINE, value or None)

    def _quarantined_items(self) -> list[tuple[str, str, str]]:
        items = []
        for qkey, entry in self.state.quarantine().items():
            kind, id = qkey.split("/", 1)
            current = self.changes.current(kind, id)
            if current is not None and current.version.vhash == entry["vhash"]:
                items.append((kind, id, entry["vhash"]))
        return items

    def _expected_root(self) -> str:
        """The local root without quarantined records, which can never reach the hub."""
        return merkle.root_without(self.changes.root(), self._quarantined_items())

    def _hub_entries(self, buckets: Sequence[int]) -> dict[Key, str]:
        """The hub's records in these buckets, by key. None when the hub holds no such brain
        (it lost it): only a push with records creates one again, and repair is what pushes."""
        entries: dict[Key, str] = {}
        try:
            for chunk in _chunks(buckets, BUCKETS_PER_REQUEST):
                for entry in self.hub.bucket_entries(self.remote_id, chunk):
                    entries[(entry.kind, entry.id)] = entry.vhash
        except NotFoundOnHub:
            return {}
        return entries

    def _hub_digest(self) -> tuple[str, list[str]]:
        try:
            digest = self.hub.digest(self.remote_id)
        except NotFoundOnHub:
            return EMPTY_DIGEST, [EMPTY_DIGEST] * BUCKETS  # the hub lost the whole brain
        return digest.root, digest.buckets


def named(brains: Sequence[BrainInfo], name: str) -> list[BrainInfo]:
    """The account's brains of this name, the one they merge into first: the oldest by
    created_at (fixed-width ISO text: string order is time order), then by id."""
    return sorted((b for b in brains if b.name == name), key=lambda b: (b.created_at, b.brain_id))


def unmerged(brains: Sequence[BrainInfo], remote_id: str, absorbed: dict[str, int]) -> list[str]:
    """Ids of the brains of one name (named()) that keep it from being one brain for a device
    syncing with `remote_id`: the oldest when that is not the one it syncs with; else every
    other one holding writes it has not merged (`absorbed`: how far it pulled each)."""
    if not brains or not any(b.brain_id == remote_id for b in brains):
        return []
    if brains[0].brain_id != remote_id:
        return [brains[0].brain_id]  # on another one: moving there is what merges
    return [b.brain_id for b in brains[1:] if absorbed.get(b.brain_id, 0) < b.seq]


def apply_plan(local: Replica, plan: Plan) -> None:
    """Carry out a plan on the brain; the caller holds a transaction."""
    local.apply_remote(*plan.apply)
    for rewrite in plan.rewrite:
        if rewrite.base is not None:
            local.changes.store(rewrite.base)
        local.write_record(
            rewrite.kind,
            rewrite.id,
            body=rewrite.body,
            deleted=rewrite.deleted,
            strength=rewrite.strength,
        )
    for copy in plan.copies:
        if local.changes.current("conflict", copy.id) is None and not _kept(local, copy.loser):
            local.write_record("conflict", copy.id, body=copy.body, deleted=False, strength=0)
    _retire_twins(local, [v for v in plan.apply if v.kind == "conflict" and not v.deleted])
    for version in plan.acknowledged:
        local.changes.mark_pushed(version.kind, version.id, version.vhash)
    for version in plan.requeue:
        local.changes.store(version, pending=True)


def _kept(local: Replica, loser: Version) -> bool:
    """Whether a live conflict copy already keeps this live loser's substance (one loser, one
    copy: the same write can lose twice under two vhashes -- as pushed, and as rewritten on top
    of a rival it beat -- when a restored backup brings the first back). Deletes are not merged:
    two devices' deletes that lose to one edit are two losers, each kept."""
    if loser.deleted:
        return False
    held = _live_copies(local, {(loser.kind, loser.id)})
    copies = held.get((loser.kind, loser.id), [])
    return any(resolve.same_substance(kept, loser) for _, kept in copies)


def _retire_twins(local: Replica, arrived: list[Version]) -> None:
    """The copies that arrived from the hub, and the live ones held here, that keep the same
    live loser's substance (made on two devices before either saw the other's, `_kept`): all
    but the one of the smallest id are retired -- the same choice on every device, so one is
    left everywhere, and the substance is still kept."""
    records: set[tuple[str, str]] = set()
    for version in arrived:
        body = bodies.parse(bodies.ConflictBody, version.body)
        if body is not None and not body.loser.deleted:
            records.add((body.loser.kind, body.loser.id))
    if not records:
        return
    for copies in _live_copies(local, records).values():
        for id in _twins(copies):
            local.write_record("conflict", id, body={}, deleted=True, strength=0)


def _live_copies(
    local: Replica, records: set[tuple[str, str]]
) -> dict[tuple[str, str], list[tuple[str, Version]]]:
    """(copy id, loser) of the live copies keeping a live loser of these records, by record."""
    found: dict[tuple[str, str], list[tuple[str, Version]]] = {}
    for held in local.changes.versions("conflict"):
        kept = None if held.deleted else bodies.parse(bodies.ConflictBody, held.body)
        if kept is None or kept.loser.deleted or (kept.loser.kind, kept.loser.id) not in records:
            continue
        found.setdefault((kept.loser.kind, kept.loser.id), []).append((held.id, kept.loser))
    return found


def _twins(copies: list[tuple[str, Version]]) -> list[str]:
    """The ids of copies whose loser says what the loser of a copy of smaller id says."""
    first: list[Version] = []
    twins = []
    for id, loser in sorted(copies, key=lambda copy: copy[0]):
        if any(resolve.same_substance(kept, loser) for kept in first):
            twins.append(id)
        else:
            first.append(loser)
    return twins


def _check_advance(cursor: int, reply: PullReply) -> None:
    """A page must move the cursor on (or end the pull): a hub that sends the same cursor with
    `more`, or one that goes back, would otherwise be asked for the same pages forever."""
    if reply.cursor < cursor:
        raise ProtocolError(
            msg.MSG_CURSOR_BACK.format(previous=cursor, cursor=reply.cursor),
            hint=msg.HINT_HUB_FAULT,
        )
    if reply.more and reply.cursor == cursor:
        raise ProtocolError(
            msg.MSG_CURSOR_STUCK.format(previous=cursor, cursor=reply.cursor),
            hint=msg.HINT_HUB_FAULT,
        )


def _qkey(key: Key) -> str:
    return f"{key[0]}/{key[1]}"


def _chunks(items: Sequence[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), max(1, size)):
        yield list(items[start : start + size])


def _payload(
    batch: list[Key], pending: dict[Key, Pending], names: dict[Key, list[str]]
) -> tuple[list[bytes], dict[str, list[str]]]:
    """A batch's encoded versions, and what they replaced unpushed, by their vhashes."""
    records = [pending[k].data for k in batch]
    return records, {pending[k].vhash: names[k] for k in batch if k in names}


def _names_size(named: list[str] | None) -> int:
    """The bytes a version's `replaces` entry adds to a push: each vhash quoted, with a comma."""
    return 0 if not named else sum(len(vhash) + 3 for vhash in named) + 80
