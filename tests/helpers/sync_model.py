"""The convergence model: 2-4 devices and one hub, random writes, syncs and faults (hypothesis).

Used by test_convergence.py (fast, in CI), test_convergence_real_hub.py (a real `nmem serve` that
is killed between commit and reply) and benchmarks/reliability_run.py (the long run).

A device is an NMEM_HOME folder (helpers.devices.Device) with its own wall clock, its own
conflict strategy and a transport that injects faults between it and the hub. Every operation
opens the brain with the device's clock (the ChangeLog clock seam) and syncs through the real
SyncEngine and HubClient: the retries, backoff (never sleeping) and errors are the real ones.

What "lost" means -- the bookkeeping the model keeps while the schedule runs:

* Every user write of a memory gets a unique *token*: (memory id, content) -- each remember or
  edit writes content no other write uses (a serial number), except remembers from a small shared
  pool, which two devices may write independently -- or (memory id, None) for a forget.
* A token is *superseded* when a user deliberately replaced it: an edit or a forget on a device
  whose current version of that memory carried the token (the user saw it and changed it).
* A token is *rolled back* when a device is restored from an old copy of its folder and the token
  existed only on that device (never pushed, never pulled by anyone) and not in the copy: the
  user threw it away with the restore, not sync.
* A memory token is *lost* when it is none of: current somewhere (a device or the hub), the loser
  kept in a conflict copy somewhere, superseded, rolled back. Checked after every step, and after
  the final sync rounds it must be current or kept *everywhere* (convergence).
* Counter kinds (activation, link) merge and never conflict, so no version of them is kept:
  for them, "lost" is about counts. Each device only ever raises its own entry in a counter
  body ({"devices": {device: {"count", "last"}}}) and merges take the per-device maximum, so for
  every counter record that was never deleted (forget drops a memory's counters everywhere),
  the converged count of every device entry must EQUAL the highest count that device ever wrote
  for it: lower is a lost reinforcement, higher a double count.
* A deleted memory *came back* when it is live at the end with a token that a forget superseded
  (the forgetting device had seen exactly that version), unless a restored folder brought that
  token back as an unpushed edit (then it is a concurrent edit against the delete, which the
  strategy decides, as docs/architecture.md#conflicts-and-strategies says).
* Conflict copies are not duplicated: one live copy per (record, loser token) at most. Every
  text the model writes is unique, so a token is one write -- except a delete's: two devices'
  deletes of one memory that both lose to an edit are two losers with one token, and each is
  kept, as every loser is (docs/architecture.md#conflicts-and-strategies). A deleted loser is
  told apart by its stamp.
* Restored backups (issue 22): a restored pending version the hub had accepted (seen as its
  current version after some step) is an ancestor of what the hub holds, not a concurrent edit:
  it is not "revived", so the checks above say that no delete comes back and no newer version is
  reverted. And no conflict copy keeps a version its winner descends from (spurious), except the
  copies kept on purpose (remote_delete, refused_downgrade; docs/sync.md).
"""

from __future__ import annotations

import itertools
import shutil
import sys
import tempfile
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from helpers.devices import LOCAL_URL, Device, PortalTransport, in_process_hub
from helpers.model_hubs import HubDisk, RemoteHub, SqlitePageLimit
from neuralmemory import config
from neuralmemory.config import STRATEGIES
from neuralmemory.core.brain import Brain
from neuralmemory.core.brains import brain_path, open_brain
from neuralmemory.errors import ProtocolError, StorageFull
from neuralmemory.protocol import EMPTY_DIGEST, KINDS, DeviceInfo, Version
from neuralmemory.store import memories as sql
from neuralmemory.store.db import Database, connect
from neuralmemory.sync import state
from neuralmemory.sync.engine import SyncEngine, named
from neuralmemory.sync.plan import DOWNGRADE, REMOTE_DELETE
from neuralmemory.sync.state import SyncState
from neuralmemory.sync.transport import MAX_ATTEMPTS, HubClient

HOUR_MS = 3_600_000
T0 = 1_750_000_000_000  # 2025-06-15, the simulated clock's start
TOPICS = ("falcon deploy", "billing ledger", "grafana dashboard", "release train", "cache jitter")
SHARED = (  # the same text remembered on two devices is one memory, not a conflict
    "The falcon deploy uses blue-green rollout",
    "The billing ledger closes at midnight UTC",
    "Grafana dashboard panels live in the ops repository",
)
SYNC_ACTIONS = ("push", "pull", "full")
FAULTS = ("drop_reply", "duplicate")
LOCAL_FAULTS = ("clock_back", "clock_ahead", "clock_reset", "snapshot", "restore")
ENDPOINTS = ("push", "pull", "digest", "buckets", "fetch", "any")
COUNTER_KINDS = ("activation", "link")
MAX_DEVICES = 5  # devices join during a schedule up to this many
BARRIER_S = 30  # syncs "at the same moment" wait this long for each other at most
DAY_MS = 24 * HOUR_MS
FAR_AHEAD_MS = {"3 days": 3 * DAY_MS, "1 year": 365 * DAY_MS, "225 years": 225 * 365 * DAY_MS}

Token = tuple[str, str | None]  # (memory id, content), content None for a forget

#: The final rounds of `nmem sync full` on every device, one after the other, stop after a round
#: that moved nothing (MOVED: what a sync report counts), FINAL_ROUNDS at most. Two are not always
#: enough: a write pushed in the first round by a later device can make an earlier one write in
#: the second (a remote delete of a memory it wrote last keeps that version as a conflict copy,
#: docs/sync.md), which the devices before it see only in a third.
FINAL_ROUNDS = 4
MOVED = ("pulled", "applied", "pushed", "acknowledged", "conflicts", "repaired")


# ------------------------------------------------------------------ run statistics


@dataclass
class Stats:
    """Totals over every schedule this process ran (benchmarks/reliability_run.py prints them).

    `schedules` and `steps` count the schedules that ran to their end and passed the final
    checks (SyncModel.count_schedule), not one hypothesis cut short because it ran out of
    choices (an overrun: never checked for convergence); faults and operations count every
    one injected or run, each checked by the checks after its step."""

    schedules: int = 0
    steps: int = 0
    faults: Counter[str] = field(default_factory=Counter)
    operations: Counter[str] = field(default_factory=Counter)
    versions_written: int = 0
    versions_checked: int = 0
    conflict_copies: int = 0
    divergences: int = 0
    versions_lost: int = 0
    counters_lost: int = 0
    e2e_records: int = 0  # sealed records read from the hub by the E2E model


STATS = Stats()


# ------------------------------------------------------------------ fault injection


class FaultyTransport(httpx.BaseTransport):
    """Between one device and the hub: faults armed by the schedule, each used once.

    drop_reply  the request reaches the hub and commits, the reply never arrives (ReadError);
                the HubClient's own retry sends it again.
    duplicate   the request is delivered twice (a proxy that retried); the second reply is used.
    kill        (real hub only) the request commits, then the hub process is killed and
                restarted before the reply is sent; the client's retry reaches the new process.

    At most MAX_ATTEMPTS - 1 faults are armed at a time, so every request can still get
    through on its last attempt: a request that fails MAX_ATTEMPTS times in a row is the
    client giving up as designed (HubUnavailable), not a fault sync must survive.

    `sent` counts the requests that reached the hub (shared by a schedule's devices).
    """

    def __init__(
        self,
        inner: httpx.BaseTransport,
        *,
        restart: Callable[[], None] | None = None,
        sent: Counter[str] | None = None,
    ) -> None:
        self.inner = inner
        self.restart = restart
        self.armed: list[tuple[str, str]] = []
        self.sent = Counter[str]() if sent is None else sent

    def arm(self, kind: str, endpoint: str) -> None:
        if len(self.armed) < MAX_ATTEMPTS - 1:
            self.armed.append((kind, endpoint))

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        for index, (kind, endpoint) in enumerate(self.armed):
            if endpoint == "any" or request.url.path.endswith("/" + endpoint):
                del self.armed[index]
                return self._faulty(kind, request)
        return self._send(request)

    def _send(self, request: httpx.Request) -> httpx.Response:
        self.sent["requests"] += 1
        return self.inner.handle_request(request)

    def _faulty(self, kind: str, request: httpx.Request) -> httpx.Response:
        STATS.faults[kind] += 1
        if kind == "duplicate":
            self._send(request).read()
            return self._send(request)
        self._send(request).read()  # the hub has committed
        if kind == "kill":
            assert self.restart is not None
            self.restart()
        raise httpx.ReadError(f"{kind}: the reply was lost after the hub committed")

    def close(self) -> None:
        self.inner.close()


class ListingGate(FaultyTransport):
    """A device's first listing of the account's brains waits until every racing device has
    listed (a barrier): all look before any pushes. Faults stay with the device's own
    transport, inside."""

    def __init__(self, inner: FaultyTransport, barrier: threading.Barrier) -> None:
        super().__init__(inner)
        self.barrier, self.waited = barrier, False

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/v1/brains") and not self.waited:
            self.waited = True
            # BrokenBarrierError: another device's sync ended before it listed; no need to wait
            with suppress(threading.BrokenBarrierError):
                self.barrier.wait(timeout=BARRIER_S)
        return self.inner.handle_request(request)


# ------------------------------------------------------------------ devices


class SimClock:
    """Simulated wall time shared by the devices: deterministic (so hypothesis can replay a
    schedule exactly), moving forward a few milliseconds with every reading."""

    def __init__(self, start: int = T0) -> None:
        self.ms = start

    def now(self) -> int:
        self.ms += 3
        return self.ms


@dataclass
class SimDevice:
    index: int
    device: Device
    strategy: str
    transport: FaultyTransport
    clock: SimClock
    offset_ms: int = 0  # this device's wall clock = the shared clock + offset
    snapshot: Path | None = None
    device_id: str = ""
    db: Database | None = None  # the brain file's connection, kept between operations (brain)

    def now(self) -> int:
        return self.clock.now() + self.offset_ms

    @property
    def home(self) -> Path:
        return self.device.home

    @contextmanager
    def brain(self) -> Iterator[Brain]:
        """The device's default brain with the device's clock, NMEM_HOME pointing at it: a Brain
        of its own for every operation, as every command opens one, on one SQLite connection
        kept open between operations -- opening the file (its schema read) and closing it (the
        WAL checkpointed) each time was a quarter of a schedule's CPU. `release()` closes it
        before the folder is copied or replaced, so copies are of a closed brain, as before."""
        with self.device.use():
            if self.db is None:
                self.db = connect(brain_path("default"))
            db = self.db
            try:
                yield Brain("default", db, device_id=self.device_id, now=self.now)
            finally:
                if db.conn.in_transaction:  # never carried into the next operation
                    self.release()

    def release(self) -> None:
        """Close the brain's connection (the next operation opens the file again)."""
        if self.db is not None:
            self.db.close()
            self.db = None

    def sync(self, action: str) -> dict[str, Any]:
        info = DeviceInfo(device_id=self.device_id, name=f"device {self.index}", platform="test")
        with (
            self.brain() as brain,
            HubClient(
                self.device.hub_url, None, info, transport=self.transport, sleep=_no_sleep
            ) as hub,
        ):
            return SyncEngine(brain, hub, strategy=self.strategy).run(action).as_dict()


def _no_sleep(seconds: float) -> None:
    return None


@dataclass
class Scan:
    """What one replica (a device or the hub) holds."""

    rows: dict[tuple[str, str], Version]
    root: str | None = None
    remote_id: str | None = None  # a device's: the hub brain it syncs (its sync state)

    def tokens(self) -> set[Token]:
        found = set()
        for (kind, _), version in self.rows.items():
            if kind == "memory":
                found.add(token_of(version))
            elif kind == "conflict" and not version.deleted:
                loser = version.body["loser"]
                if loser["kind"] == "memory":
                    found.add(_token(loser["id"], loser["deleted"], loser["body"]))
        return found

    def current(self, memory_id: str) -> Version | None:
        return self.rows.get(("memory", memory_id))


def token_of(version: Version) -> Token:
    return _token(version.id, version.deleted, version.body)


def _token(id: str, deleted: bool, body: dict[str, Any]) -> Token:
    return (id, None if deleted else str(body.get("content")))


def scan_device(device: SimDevice) -> Scan:
    with device.brain() as brain:
        rows: dict[tuple[str, str], Version] = {
            (v.kind, v.id): v for kind in KINDS for v in brain.changes.versions(kind)
        }
        return Scan(rows, brain.changes.root(), _remote_id(brain))


def _remote_id(brain: Brain) -> str | None:
    value = SyncState(brain.db).get(state.REMOTE_ID)
    return value if isinstance(value, str) else None


def scan_hub(transport: httpx.BaseTransport, url: str, brain_id: str) -> Scan:
    """Every current record on the hub (tombstones included) and its root digest."""
    observer = DeviceInfo(device_id="observer", name="model observer", platform="test")
    rows: dict[tuple[str, str], Version] = {}
    with HubClient(url, None, observer, transport=transport, sleep=_no_sleep) as hub:
        cursor = 0
        while True:
            reply = hub.pull(brain_id, "default", cursor, limit=1000)
            for record in reply.records:
                version = Version.model_construct(
                    **{name: getattr(record, name) for name in Version.model_fields}
                )
                rows[(version.kind, version.id)] = version
            cursor = reply.cursor
            if not reply.more:
                return Scan(rows, reply.root)


# ------------------------------------------------------------------ draws
# A rule draws the same values, in the same order, whatever the devices hold: what they hold
# differs between hypothesis generating a schedule and replaying or shrinking it (races, a
# reordered step), and a draw that depends on it breaks the replay (FlakyStrategyDefinition).
# A memory is picked by an index into the live ones, modulo how many there are.

WHICH = st.integers(0, 63)


@dataclass(frozen=True)
class EditDraw:
    which: int  # the live memory: pick_live
    topic: str  # the new text's
    priority: int


def draw_which(data: st.DataObject) -> int:
    return data.draw(WHICH, label="which")


def draw_edit(data: st.DataObject) -> EditDraw:
    return EditDraw(
        which=draw_which(data),
        topic=data.draw(st.sampled_from(TOPICS), label="topic"),
        priority=data.draw(st.integers(0, 10), label="priority"),
    )


def live_memories(brain: Brain) -> list[str]:
    return sorted(v.id for v in brain.changes.versions("memory") if not v.deleted)


def pick_live(brain: Brain, which: int) -> str | None:
    """The live memory a `which` draw picks, None when there is none."""
    live = live_memories(brain)
    return live[which % len(live)] if live else None


# ------------------------------------------------------------------ the state machine


class SyncModel(RuleBasedStateMachine):
    """Random schedules over devices and one hub; see the module docstring for the checks.

    Subclasses provide the hub: `start_hub()` returns (transport, url, restart or None).
    """

    fault_kinds: tuple[str, ...] = FAULTS
    #: how far the `fault` rule sets a device's clock back or ahead; `far_clocks` (below)
    hours_back: tuple[int, ...] = (1, 6, 30)
    hours_ahead: tuple[int, ...] = (2, 30 * 24)
    #: how far ahead clock_far_ahead sets a clock (FAR_AHEAD_MS)
    far_ahead: tuple[str, ...] = tuple(FAR_AHEAD_MS)

    def __init__(self) -> None:
        super().__init__()
        self.stack = ExitStack()
        self.root = Path(tempfile.mkdtemp(prefix="nmem-model-"))
        self.stack.callback(shutil.rmtree, self.root, ignore_errors=True)
        self.devices: list[SimDevice] = []
        self.serial = itertools.count()
        self.written: Counter[Token] = Counter()
        self.replaced_by: dict[Token, set[Token]] = {}  # token -> the writes that replaced it
        self.rolled_back: set[Token] = set()
        #: each forget's tombstone (vhash) -> the token it replaced; and the tombstones a restore
        #: threw away unpushed. Tokens of deletes are (id, None) whoever deleted, so "is the
        #: delete still anywhere" cannot tell a forget a restore undid from another delete of the
        #: memory kept as a conflict copy.
        self.forgets: dict[str, Token] = {}
        self.thrown_forgets: set[str] = set()
        self.revived: set[Token] = set()
        self.counter_max: dict[tuple[str, str, str], int] = {}
        self.counter_deleted: set[tuple[str, str]] = set()
        self.clock = SimClock()
        self.healthy = False  # True once the last step and its checks passed
        self.steps_run = 0
        self.sent = Counter[str]()  # requests the devices sent the hub (FaultyTransport)
        #: the last scan of the hub: (brain id, requests sent before it), Scan
        self.hub_seen: tuple[tuple[str, int], Scan] | None = None

    # -------------------------------------------------------------- the hub (overridden)

    def start_hub(self) -> tuple[httpx.BaseTransport, str, Callable[[], None] | None]:
        transport = self.stack.enter_context(in_process_hub(self.root / "hub.db"))
        return transport, LOCAL_URL, None

    def teardown(self) -> None:
        """After a schedule that ran cleanly: the final rounds and every end-state check."""
        try:
            if self.healthy and sys.exc_info()[1] is None:  # not while a failure propagates
                self.check_converged()
                self.count_schedule()
        finally:
            self.stack.close()

    # -------------------------------------------------------------- set-up

    @initialize(
        strategies=st.lists(st.sampled_from(STRATEGIES), min_size=2, max_size=4),
    )
    def make_devices(self, strategies: list[str]) -> None:
        self.hub_transport, self.hub_url, self.hub_restart = self.start_hub()
        for strategy in strategies:
            self.add_device(strategy)
        self.prepare_brains()

    def prepare_brains(self) -> None:
        """What the devices' brains are before the schedule (overridden: end-to-end encrypted)."""

    def add_device(self, strategy: str) -> SimDevice:
        index = len(self.devices)
        home = self.root / f"dev{index}"
        transport = FaultyTransport(self.hub_transport, restart=self.hub_restart, sent=self.sent)
        device = Device(home, self.hub_url, transport)
        device.configure(hub_url=self.hub_url, conflict_strategy=strategy)
        with device.use():
            open_brain().close()
            device_id = config.device_id()
        added = SimDevice(index, device, strategy, transport, self.clock, device_id=device_id)
        self.stack.callback(added.release)  # before the folders are removed (registered first)
        self.devices.append(added)
        return added

    def pick(self, index: int) -> SimDevice:
        return self.devices[index % len(self.devices)]

    # -------------------------------------------------------------- user operations

    @rule(index=st.integers(0, 3), topic=st.sampled_from(TOPICS), shared=st.integers(-6, 2))
    def remember(self, index: int, topic: str, shared: int) -> None:
        device = self.pick(index)
        text = SHARED[shared] if shared >= 0 else self._unique(topic, device)
        with device.brain() as brain:
            before = {v.id: v for v in brain.changes.versions("memory")}
            done = brain.remember(text)
        current = before.get(done.memory.id)
        if done.created:
            if current is not None:  # a forgotten text remembered again
                self._replace(token_of(current), (done.memory.id, done.memory.content))
            self._wrote((done.memory.id, done.memory.content))
        STATS.operations["remember"] += 1

    @rule(index=st.integers(0, 3), data=st.data())
    def edit(self, index: int, data: st.DataObject) -> None:
        self.edit_drawn(index, draw_edit(data))

    def edit_drawn(self, index: int, drawn: EditDraw) -> bool:
        """The edit `drawn` on a device; False when it holds no live memory."""
        device = self.pick(index)
        with device.brain() as brain:
            memory_id = pick_live(brain, drawn.which)
            if memory_id is None:
                return False
            current = brain.changes.current("memory", memory_id)
            assert current is not None
            text = self._unique(drawn.topic, device)
            brain.edit(memory_id, content=text, priority=drawn.priority)
        self._replace(token_of(current.version), (memory_id, text))
        self._wrote((memory_id, text))
        STATS.operations["edit"] += 1
        return True

    @rule(index=st.integers(0, 3), data=st.data())
    def forget(self, index: int, data: st.DataObject) -> None:
        device = self.pick(index)
        which = draw_which(data)
        with device.brain() as brain:
            memory_id = pick_live(brain, which)
            if memory_id is None:
                return
            current = brain.changes.current("memory", memory_id)
            assert current is not None
            self._forget(brain, current.version)
        STATS.operations["forget"] += 1

    @rule(index=st.integers(0, 3), topic=st.sampled_from(TOPICS))
    def recall(self, index: int, topic: str) -> None:
        with self.pick(index).brain() as brain:
            brain.recall(topic, limit=5)
        STATS.operations["recall"] += 1

    @rule(index=st.integers(0, 3), action=st.sampled_from(SYNC_ACTIONS))
    def sync_one(self, index: int, action: str) -> None:
        report = self.pick(index).sync(action)
        STATS.conflict_copies += report["conflicts"]
        STATS.operations[f"sync {action}"] += 1

    @rule(index=st.integers(0, 3), action=st.sampled_from(SYNC_ACTIONS))
    def sync_two(self, index: int, action: str) -> None:
        """Two devices in a row (syncs are half the schedule: conflicts need them)."""
        self.sync_one(index, action)
        self.sync_one(index + 1, "full")

    # -------------------------------------------------------------- faults

    @rule(index=st.integers(0, 3), data=st.data())
    def fault(self, index: int, data: st.DataObject) -> None:
        """One fault, drawn from every kind the model injects."""
        device = self.pick(index)
        kind = data.draw(st.sampled_from(self.fault_kinds + LOCAL_FAULTS), label="fault")
        if kind in self.fault_kinds:
            device.transport.arm(kind, data.draw(st.sampled_from(ENDPOINTS), label="endpoint"))
        elif kind == "clock_back":
            hours = data.draw(st.sampled_from(self.hours_back), label="hours back")
            device.offset_ms = -hours * HOUR_MS
            STATS.faults[kind] += 1
        elif kind == "clock_ahead":
            # Within the 24 h skew bound, and far beyond it (a wall clock set a month ahead):
            # the others never adopt such stamps, and after clock_reset this device recovers
            # and stamps its stuck changes again (docs/sync.md, "Clocks").
            hours = data.draw(st.sampled_from(self.hours_ahead), label="hours ahead")
            device.offset_ms = hours * HOUR_MS
            STATS.faults[kind] += 1
        elif kind == "clock_reset":
            device.offset_ms = 0
        elif kind == "snapshot":
            self.snapshot(device)
        elif device.snapshot is not None:
            self.restore(device)

    def snapshot(self, device: SimDevice) -> None:
        copy = self.root / f"snapshot{device.index}"
        shutil.rmtree(copy, ignore_errors=True)
        device.release()
        shutil.copytree(device.home, copy)
        device.snapshot = copy

    def restore(self, device: SimDevice) -> None:
        """The device's folder is replaced by an old copy of itself (a restored backup)."""
        assert device.snapshot is not None
        with self.one_view():
            before = self.scan(device).tokens()
            elsewhere = self._tokens_outside(device)
        superseded = self.superseded
        with device.brain() as brain:
            held = brain.changes.pending(limit=100_000)
        unpushed = {v.vhash for v in held if v.kind == "memory" and v.deleted}
        device.release()
        shutil.rmtree(device.home)
        shutil.copytree(device.snapshot, device.home)
        restored = scan_device(device)
        # A forget this device had not pushed, now held nowhere, went with the old folder.
        self.thrown_forgets |= (unpushed & self.forgets.keys()) - self._vhashes_anywhere()
        kept = restored.tokens() | elsewhere
        self.rolled_back |= before - kept - superseded
        # A token replaced only by writes the restore threw away goes with them: had it left
        # this device it would be elsewhere. Chains of such edits unwind one link per round.
        while unwound := (superseded - self.superseded) - kept - self.rolled_back:
            self.rolled_back |= unwound
        self.revived |= restored.tokens() - before  # the copy brings old versions back
        with device.brain() as brain:
            stale = brain.changes.pending(limit=100_000)
        pending = {token_of(v) for v in stale}
        self.revived |= {t for t in pending if t[1] is not None}
        self._restored_ancestors(stale)
        # Reinforcements that never left the device are rolled back with it too: what a device
        # is owed from now on is the highest count still held anywhere.
        self.counter_max = {}
        with self.one_view():  # the hub's brain is the one the devices sync now
            self._observe_counters(extra=[self.hub_view()])
        STATS.faults["restore_old_copy"] += 1

    # -------------------------------------------------------------- checks

    #: While the checks after a step run (`one_view`): each replica scanned once, by device
    #: index ("hub" for the hub). The checks only read, so what they read is the same.
    _view: dict[int | str, Scan] | None = None

    @contextmanager
    def one_view(self) -> Iterator[None]:
        if self._view is not None:  # within one already
            yield
            return
        self._view = {}
        try:
            yield
        finally:
            self._view = None

    def scan(self, device: SimDevice) -> Scan:
        if self._view is None:
            return scan_device(device)
        if device.index not in self._view:
            self._view[device.index] = scan_device(device)
        return self._view[device.index]

    def hub_view(self) -> Scan:
        if self._view is None:
            return self._hub_scan()
        if "hub" not in self._view:
            self._view["hub"] = self._hub_scan()
        return self._view["hub"]

    @invariant()
    def after_every_step(self) -> None:
        """The checks after every step, on one scan of every replica; and whether some device
        has bound to a hub brain yet (`fresh`: the preconditions are drawn between steps)."""
        with self.one_view():
            self.nothing_lost_so_far()
            self.track_hub_versions()
            self.synced_once = self.synced_once or any(
                self._remote_id(d) is not None for d in self.devices
            )

    def nothing_lost_so_far(self) -> None:
        """After every step: every version written is still somewhere (or legitimately gone)."""
        self.healthy = False
        if not self.devices:
            return
        self.steps_run += 1
        self._observe_counters()
        present = set().union(*(self.scan(d).tokens() for d in self.devices))
        present |= self.hub_view().tokens()
        lost = set(self.written) - present - self.superseded - self.rolled_back
        if lost:
            STATS.versions_lost += len(lost)
        assert not lost, f"versions lost: {sorted(lost, key=str)}"
        self.healthy = True

    def count_schedule(self) -> None:
        """This schedule ran to its end and passed every check (see Stats)."""
        STATS.schedules += 1
        STATS.steps += self.steps_run

    def check_converged(self) -> None:
        """Final full rounds until one moves nothing (FINAL_ROUNDS at most), then every
        convergence and no-loss property."""
        for _ in range(FINAL_ROUNDS):
            reports = [device.sync("full") for device in self.devices]
            if not any(report[moved] for report in reports for moved in MOVED):
                break
        with self.one_view():
            hub = self.hub_view()
            scans = [self.scan(d) for d in self.devices]
            try:
                remote = {scan.remote_id for scan in scans}
                assert len(remote) == 1, f"the devices sync different hub brains: {remote}"
                for device, scan in zip(self.devices, scans, strict=True):
                    differs = f"device {device.index}: root differs from the hub"
                    assert scan.root == hub.root, differs
                    assert _rows(scan) == _rows(hub), f"device {device.index}: rows differ"
                    self._check_materialized(device, scan)
            except AssertionError:
                STATS.divergences += 1
                raise
            self._check_no_loss(hub)
        self._check_one_brain()
        self._check_restores(hub)

    def _check_no_loss(self, hub: Scan) -> None:
        self._check_versions_kept(hub)
        self._check_no_revival(hub)
        self._check_copies_unique(hub)
        self._check_counters(hub)

    def _check_versions_kept(self, hub: Scan) -> None:
        kept = hub.tokens()
        STATS.versions_written += sum(self.written.values())
        STATS.versions_checked += len(self.written)
        lost = set(self.written) - kept - self.superseded - self.rolled_back
        STATS.versions_lost += len(lost)
        assert not lost, f"versions lost: {sorted(lost, key=str)}"

    def _check_no_revival(self, hub: Scan) -> None:
        """No deleted memory came back, and no replaced version is current again."""
        for (kind, id), version in hub.rows.items():
            if kind != "memory" or version.deleted:
                continue
            token = token_of(version)
            if self.written[token] == 1 and token not in self.revived:
                assert token not in self.forgotten, f"deleted memory {id} came back"
                assert token not in self.superseded, f"memory {id}: a replaced version is back"

    def _check_copies_unique(self, hub: Scan) -> None:
        copies = Counter(
            (
                v.body["record"]["kind"],
                v.body["record"]["id"],
                str(v.body["loser"]["body"]),
                v.body["loser"]["hlc"] if v.body["loser"]["deleted"] else None,
            )
            for (kind, _), v in hub.rows.items()
            if kind == "conflict" and not v.deleted
        )
        duplicated = [key for key, n in copies.items() if n > 1]
        assert not duplicated, f"duplicated conflict copies: {duplicated}"

    def _check_counters(self, hub: Scan) -> None:
        """Every device's count is exactly the highest it wrote (never lost or doubled)."""
        self._observe_counters()
        for (kind, id), version in hub.rows.items():
            if kind not in COUNTER_KINDS or (kind, id) in self.counter_deleted:
                continue
            assert not version.deleted
            merged = {dev: entry["count"] for dev, entry in version.body["devices"].items()}
            wrote = {d: n for (k, i, d), n in self.counter_max.items() if (k, i) == (kind, id)}
            if merged != wrote:
                STATS.counters_lost += 1
            assert merged == wrote, f"{kind} {id}: counts {merged}, devices wrote {wrote}"

    def _check_materialized(self, device: SimDevice, scan: Scan) -> None:
        """The memories table shows exactly the live memory records (derived state agrees)."""
        with device.brain() as brain:
            shown = {row.id: row.content for row in sql.all_memories(brain.db)}
        live = {
            id: v.body.get("content")
            for (kind, id), v in scan.rows.items()
            if kind == "memory" and not v.deleted
        }
        assert shown == live, f"device {device.index}: memories table differs from its records"

    def _observe_counters(self, extra: list[Scan] | None = None) -> None:
        for scan in [self.scan(d) for d in self.devices] + (extra or []):
            for (kind, id), version in scan.rows.items():
                if kind not in COUNTER_KINDS:
                    continue
                if version.deleted:
                    self.counter_deleted.add((kind, id))
                    continue
                for dev, entry in version.body.get("devices", {}).items():
                    key = (kind, id, dev)
                    self.counter_max[key] = max(self.counter_max.get(key, 0), int(entry["count"]))

    # -------------------------------------------------------------- helpers

    def _unique(self, topic: str, device: SimDevice) -> str:
        return f"{topic.capitalize()} note {next(self.serial)} written on device {device.index}"

    def _wrote(self, token: Token) -> None:
        self.written[token] += 1
        self.rolled_back.discard(token)

    def _replace(self, old: Token, new: Token) -> None:
        self.replaced_by.setdefault(old, set()).add(new)
        self.revived.discard(old)  # replaced again after a restore brought it back

    @property
    def superseded(self) -> set[Token]:
        """Tokens a user replaced, by a write that was not itself rolled back by a restore."""
        thrown = self._thrown_forgets()
        return {old for old, new in self.replaced_by.items() if self._standing(old, new, thrown)}

    def _standing(self, old: Token, new: set[Token], thrown: set[Token]) -> set[Token]:
        """The writes that replaced `old` and still stand: not rolled back by a restore, and
        not a forget of it that every restore since threw away (`thrown`)."""
        return {t for t in new - self.rolled_back if not (t[1] is None and old in thrown)}

    def _thrown_forgets(self) -> set[Token]:
        """Tokens every forget of which a restore threw away unpushed."""
        kept = {old for vhash, old in self.forgets.items() if vhash not in self.thrown_forgets}
        return set(self.forgets.values()) - kept

    @property
    def forgotten(self) -> set[Token]:
        """Tokens a forget replaced (a forget that was not rolled back, nor thrown away)."""
        thrown = self._thrown_forgets()
        return {
            old
            for old, new in self.replaced_by.items()
            if (old[0], None) in self._standing(old, new, thrown)
        }

    def _hub_scan(self) -> Scan:
        """The hub's brain: the one the devices synced (they all join the first one)."""
        ids = (self._remote_id(d) for d in self.devices)  # opened until one has synced
        brain_id = next((id for id in ids if id is not None), None) or self.hub_brain_id
        # Every device may be restored to a copy from before its first sync: none then names
        # the hub brain, which still holds what they pushed (found by reliability seed 8).
        self.hub_brain_id = brain_id
        if brain_id is None:
            # No device pushed a record, so the hub holds no brain (only such a push makes one):
            # the empty set of records, whose digest is the empty one.
            return Scan({}, EMPTY_DIGEST)
        # Only a request changes what the hub holds (each schedule has the hub, or an account
        # on it, to itself): while no device sent one, the last scan is what a pull would read.
        seen = (brain_id, self.sent["requests"])
        if self.hub_seen is None or self.hub_seen[0] != seen:
            self.hub_seen = seen, scan_hub(self.hub_transport, self.hub_url, brain_id)
        return self.hub_seen[1]

    def _remote_id(self, device: SimDevice) -> str | None:
        if self._view is not None:
            return self.scan(device).remote_id
        with device.brain() as brain:
            return _remote_id(brain)

    def _vhashes_anywhere(self) -> set[str]:
        """Every version a replica holds as current, or keeps as a conflict copy's loser."""
        found: set[str] = set()
        for scan in [self.hub_view(), *(self.scan(d) for d in self.devices)]:
            for (kind, _), version in scan.rows.items():
                found.add(version.vhash)
                if kind == "conflict" and not version.deleted:
                    found.add(str(version.body["loser"].get("vhash")))
        return found

    def _tokens_outside(self, device: SimDevice) -> set[Token]:
        found = self.hub_view().tokens()
        for other in self.devices:
            if other is not device:
                found |= self.scan(other).tokens()
        return found

    # -------------------------------------------------------------- races, runaway clocks and a
    # full hub disk (issue 22): first syncs at the same moment, devices joining while others
    # sync, clocks days and years ahead, the hub's disk filling and freeing

    disk: HubDisk | None = None
    concurrent = True  # syncs of several devices at the same moment (threads)
    synced_once = False  # some device has bound to a hub brain: first syncs are over
    hub_brain_id: str | None = None  # the hub brain a device last said it syncs

    def fresh(self) -> bool:
        """No device has synced with a brain of the hub yet (as the checks after the last step
        saw: a precondition is evaluated between steps)."""
        return bool(self.devices) and not self.synced_once

    @precondition(lambda self: self.concurrent and self.fresh())
    @rule(gate=st.booleans())
    def first_syncs_at_once(self, gate: bool) -> None:
        """Every device writes a memory, then all run `nmem sync full` at the same moment, each
        in its own thread. With `gate`, every first listing of the account's brains waits for
        the others', so all look before any pushes: one brain each, which converge() heals."""
        for device in self.devices:
            self.remember(device.index, TOPICS[device.index % len(TOPICS)], -1)
        self.at_once([(device, "full") for device in self.devices], gate=gate)
        STATS.operations["first syncs at once"] += 1

    @precondition(lambda self: self.concurrent and 0 < len(self.devices) < MAX_DEVICES)
    @rule(
        strategy=st.sampled_from(STRATEGIES),
        index=st.integers(0, 3),
        action=st.sampled_from(SYNC_ACTIONS),
    )
    def join_while_others_sync(self, strategy: str, index: int, action: str) -> None:
        """A new device with a memory of its own runs its first sync while another device, with
        a new memory too, runs `action` at the same moment."""
        other = self.pick(index)
        device = self.add_device(strategy)
        self.remember(device.index, "release train", -1)
        self.remember(other.index, "cache jitter", -1)
        self.at_once([(device, "full"), (other, action)], gate=False)
        STATS.operations["device joined while others synced"] += 1

    def at_once(self, runs: list[tuple[SimDevice, str]], *, gate: bool) -> None:
        start = threading.Barrier(len(runs))
        listing = threading.Barrier(len(runs)) if gate else None
        saved = [device.transport for device, _ in runs]
        if listing is not None:
            for device, _ in runs:
                device.transport = ListingGate(device.transport, listing)

        def run(device: SimDevice, action: str) -> dict[str, Any]:
            start.wait(timeout=BARRIER_S)
            return device.sync(action)

        try:
            with ThreadPoolExecutor(len(runs), thread_name_prefix="model-device") as pool:
                started = [pool.submit(run, device, action) for device, action in runs]
                reports = [future.result() for future in started]
        finally:
            for (device, _), transport in zip(runs, saved, strict=True):
                device.transport = transport
        STATS.conflict_copies += sum(report["conflicts"] for report in reports)
        self.settle([device for device, _ in runs])

    def settle(self, devices: list[SimDevice]) -> None:
        """Two rounds of `nmem sync full` by `devices`, one after the other. What a race left
        (which device pushed first, a split of one brain) differs from run to run; settled, the
        devices hold the same memories every time, so the schedule's later steps (the memory an
        edit's `which` picks among the live ones) do the same when hypothesis replays it."""
        for _ in range(2):
            for device in devices:
                self.sync_one(device.index, "full")

    @rule(
        index=st.integers(0, 3),
        topic=st.sampled_from(TOPICS),
        data=st.data(),
        action=st.sampled_from(("push", "full")),
    )
    def clock_far_ahead(
        self, index: int, topic: str, data: st.DataObject, action: str = "push"
    ) -> None:
        """A device's wall clock runs days or years ahead: it writes and syncs (`push`, or `full`:
        it pulls while far off too), then the user sets it right. Years ahead of the hub's clock,
        its push is refused with the clock-skew message, and a later sync stamps its writes again
        (docs/sync.md, "Clocks"). (The simulated clock starts in 2025: days and a year ahead of it
        are still behind the hub's real clock, so those pushes land, and the other devices hold
        stamps far ahead of theirs: they are the devices far behind.)"""
        ahead = data.draw(st.sampled_from(self.far_ahead), label="ahead")
        device = self.pick(index)
        device.offset_ms = FAR_AHEAD_MS[ahead]
        STATS.faults[f"clock {ahead} ahead"] += 1
        self.remember(device.index, topic, -1)
        self.edit(device.index, data)
        try:
            self.sync_one(device.index, action)
        except ProtocolError as refused:
            assert "max_clock_skew_ms" in str(refused), refused
            STATS.operations["push refused: clock ahead"] += 1
        device.offset_ms = 0

    def hub_disk(self) -> HubDisk | None:
        """The hub's disk, if the model can fill it (not the hub killed mid-request)."""
        transport = getattr(self, "hub_transport", None)
        if self.disk is None and isinstance(transport, PortalTransport):
            self.disk = SqlitePageLimit(transport)
        return self.disk

    @precondition(lambda self: self.devices and self.hub_disk() is not None)
    @rule(index=st.integers(0, 3), action=st.sampled_from(SYNC_ACTIONS))
    def hub_disk_fills_and_frees(self, index: int, action: str) -> None:
        """The hub's disk fills while two devices have something to push: their syncs end in
        507 storage_full or go through (what fits), never another error; reads still work;
        then the operator frees space and the schedule goes on."""
        disk = self.hub_disk()
        assert disk is not None
        for device in (self.pick(index), self.pick(index + 1)):
            self.remember(device.index, "grafana dashboard", -1)
        disk.fill()
        STATS.faults["hub disk full"] += 1
        try:
            for device in (self.pick(index), self.pick(index + 1)):
                try:
                    self.sync_one(device.index, action)
                except StorageFull as full:
                    assert full.code == "storage_full" and not full.retryable
                    STATS.operations["push refused: storage full"] += 1
            try:
                self.hub_seen = None
                self._hub_scan()  # pulls: a full disk serves reads
            except StorageFull:
                assert not disk.serves_reads, "a read failed on a full disk"
        finally:
            disk.free()
        # What fitted on the full disk depends on how the hub's pages were laid out
        self.settle([self.pick(index), self.pick(index + 1)])

    def _check_one_brain(self) -> None:
        """After the final rounds: every device syncs the oldest brain named default (the hub
        keeps any other, merged), and each device's `verify` says so -- of every device."""
        observer = DeviceInfo(device_id="observer", name="model observer", platform="test")
        with HubClient(
            self.hub_url, None, observer, transport=self.hub_transport, sleep=_no_sleep
        ) as hub:
            brains = named(hub.brains(), "default")
        STATS.operations["brains split by a race"] += max(0, len(brains) - 1)
        oldest = brains[0].brain_id if brains else None
        for device in self.devices:
            assert self._remote_id(device) == oldest, f"device {device.index}: not on {oldest}"
            report = device.sync("verify")
            assert report["verified"], f"device {device.index}: verify says {report}"
            assert not report["split"] and not report.get("elsewhere"), report

    # -------------------------------------------------------------- restored backups (issue 22):
    # a device folder copied while it held unpushed versions, restored after the others moved on

    # Made on first use, so the shared set-up (__init__) stays as it is.
    _hub_held: set[str] | None = None
    _parents: dict[str, str | None] | None = None
    _backups: dict[int, Path] | None = None
    _unpushed: list[str] | None = None  # memories the last backup holds unpushed edits of

    @property
    def hub_held(self) -> set[str]:
        """Vhashes of memory versions seen as the hub's current one after some step: each was
        accepted, so whatever the hub holds of its record later descends from it."""
        if self._hub_held is None:
            self._hub_held = set()
        return self._hub_held

    @property
    def parents(self) -> dict[str, str | None]:
        """vhash -> parent of every memory version seen on the hub, current or kept in a copy."""
        if self._parents is None:
            self._parents = {}
        return self._parents

    def track_hub_versions(self) -> None:
        if not self.devices:
            return
        for (kind, _), version in self.hub_view().rows.items():
            if kind == "memory":
                self.hub_held.add(version.vhash)
                self.parents[version.vhash] = version.parent
            elif (
                kind == "conflict"
                and not version.deleted
                and version.body["loser"]["kind"] == "memory"
            ):
                loser = version.body["loser"]
                self.parents[loser["vhash"]] = loser["parent"]

    @rule(index=st.integers(0, 3), strategy=st.sampled_from(STRATEGIES), data=st.data())
    def backup_while_unpushed(self, index: int, strategy: str, data: st.DataObject) -> None:
        """The device (now running `strategy`, so restores meet every strategy) edits or
        remembers, its folder is copied with that version unpushed, and then it pushes: a later
        restore brings back a pending version the hub accepted long ago."""
        device = self.pick(index)
        device.strategy = strategy
        if self._remote_id(device) is None:
            self.sync_one(index, "full")  # a device that syncs (the model finds the hub by it)
        drawn = draw_edit(data)
        if not self.edit_drawn(index, drawn):
            self.remember(index, drawn.topic, -1)
        with device.brain() as brain:
            pending = brain.changes.pending(limit=100_000)
        self._unpushed = sorted(v.id for v in pending if v.kind == "memory")
        if self._backups is None:
            self._backups = {}
        copy = self._backups[device.index] = self.root / f"backup{device.index}"
        shutil.rmtree(copy, ignore_errors=True)
        device.release()
        shutil.copytree(device.home, copy)
        self.sync_one(index, "push")
        self.track_hub_versions()  # what the push made current, before a later step moves on
        STATS.faults["backup_while_unpushed"] += 1

    @rule(index=st.integers(0, 3))
    def restore_backup(self, index: int) -> None:
        device = self.pick(index)
        backup = (self._backups or {}).get(device.index)
        if backup is not None:
            device.snapshot = backup
            self.restore(device)

    @rule(
        index=st.integers(0, 3),
        strategy=st.sampled_from(STRATEGIES),
        forget=st.booleans(),
        action=st.sampled_from(("full", "pull then push")),
        data=st.data(),
    )
    def restore_after_others_moved_on(
        self, index: int, strategy: str, forget: bool, action: str, data: st.DataObject
    ) -> None:
        """The issue's scenario in one step: a backup holding an unpushed edit (then pushed);
        the next device edits that memory, then edits it again or forgets it, syncing each time,
        so the hub is two versions past the backup; the backup is restored and synced."""
        other = self.pick(index + 1)
        self.backup_while_unpushed(index, strategy, data)
        self.sync_one(other.index, "full")
        for last in (False, True):
            memory_id = next(iter(self._unpushed or []), None)
            if memory_id is None or not self._write_as_user(other, memory_id, last and forget):
                break
            self.sync_one(other.index, "full")
            self.track_hub_versions()
        self.restore_backup(index)
        for step in ("full",) if action == "full" else ("pull", "push"):
            self.sync_one(index, step)

    def _write_as_user(self, device: SimDevice, memory_id: str, forget: bool) -> bool:
        """Edit or forget one memory on a device, as the edit and forget rules do; False when
        it is not live there."""
        with device.brain() as brain:
            current = brain.changes.current("memory", memory_id)
            if current is None or current.version.deleted:
                return False
            if forget:
                self._forget(brain, current.version)
                return True
            text = self._unique("release train", device)
            brain.edit(memory_id, content=text)
        self._replace(token_of(current.version), (memory_id, text))
        self._wrote((memory_id, text))
        return True

    def _forget(self, brain: Brain, live: Version) -> None:
        """Forget a live memory on a device, recording its tombstone."""
        brain.forget(live.id)
        tombstone = brain.changes.current("memory", live.id)
        assert tombstone is not None and tombstone.version.deleted
        self.forgets[tombstone.version.vhash] = token_of(live)
        self._replace(token_of(live), (live.id, None))
        self._wrote((live.id, None))

    def _restored_ancestors(self, pending: list[Version]) -> None:
        """A restored pending version the hub had accepted is an ANCESTOR of what the hub holds,
        not a concurrent edit: it must never win again (no delete comes back, no newer version
        is reverted). One that never reached the hub (a later local edit replaced it before a
        push, or a conflict rewrote it) is a concurrent edit, which the strategy decides."""
        self.revived -= {token_of(v) for v in pending if v.vhash in self.hub_held}

    def _check_restores(self, hub: Scan) -> None:
        """No spurious conflict copies: a copy keeps the loser of two edits that really were
        concurrent -- never a version its winner descends from (a restored backup's stale one)
        -- except the copies kept on purpose: this device's version replaced by a remote delete
        (remote_delete) or by a plaintext downgrade (refused_downgrade)."""
        for (kind, id), version in hub.rows.items():
            if kind != "conflict" or version.deleted:
                continue
            body = version.body
            if body["strategy"] in (REMOTE_DELETE, DOWNGRADE):
                continue
            assert not self._descends(body["winner"], body["loser"]["vhash"]), (
                f"spurious conflict copy {id}: the winner descends from the loser"
            )

    def _descends(self, vhash: str | None, ancestor: str) -> bool:
        seen: set[str] = set()
        while vhash is not None and vhash not in seen:
            seen.add(vhash)
            vhash = self.parents.get(vhash)
            if vhash == ancestor:
                return True
        return False


def _rows(scan: Scan) -> dict[tuple[str, str], str]:
    return {key: version.vhash for key, version in scan.rows.items()}


class WithinSkewModel(SyncModel):
    """Every clock within the 24 h skew bound but for jumps of 225 years, which every hub
    refuses: the profile of `make test` and of the README's per-hub figures. SyncModel
    (benchmarks/reliability_run.py --far-clocks) adds clocks 30 h back and 3 days to a year
    ahead, which the hubs accept, so the others hold stamps far beyond their own clocks."""

    hours_back = (1, 6)
    hours_ahead = (2,)
    far_ahead = ("225 years",)  # beyond every hub's clock: refused, never seen by the others


class RemoteHubModel(WithinSkewModel):
    """The model against a remote hub (model_hubs: the PostgreSQL pair, the Worker) that lives
    for the whole run; each schedule is an account of its own on it."""

    hub: RemoteHub | None = None  # set by the caller before the run

    def start_hub(self) -> tuple[httpx.BaseTransport, str, Callable[[], None] | None]:
        assert self.hub is not None, "set RemoteHubModel.hub to a running model_hubs.RemoteHub"
        self.disk = self.hub.disk
        return self.hub.account(), self.hub.url, None
