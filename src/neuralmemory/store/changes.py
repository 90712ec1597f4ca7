"""Change tracking: the current version of every record, the pending mark, the local digest.

This is the sync engine's view of a brain (docs/architecture.md#versions-vhash-and-parent).
Every local write to a record goes through `ChangeLog.write`, which makes a new protocol.Version
and stores it as the record's current version with pending = 1. Coalescing keeps exactly one
pending version per record:

* the current version is still pending (never acknowledged by the hub) -> the new version
  REPLACES it and inherits its parent (the last vhash the hub knows, or null for a new record);
* otherwise the new version's parent is the current vhash (a fast-forward on the hub);
* a record never seen before gets parent null.

So repeated touches (recall reinforcing one memory a hundred times) cost one pending version.
Deletes are tombstones: deleted=True with body {}. Remote versions are stored with `store()`
(pending = 0). The Merkle digest (256 bucket digests + root, protocol.bucket_of / item_digest /
xor_digest) is updated in the same transaction as every record write, so reading it is O(1).

Every method that writes must run inside `Database.transaction()`; the HLC state is read from and
written back to the brain file in that transaction, so stamps never go backwards, even across
processes sharing the brain.

Longer than ~400 lines on purpose: coalescing, the HLC and the Merkle digest must change in the
same transaction as every record write, so ChangeLog keeps them in one class; in separate
modules a write could update one of them and miss another.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from neuralmemory import protocol
from neuralmemory.clock import MAX_CLOCK_SKEW_MS, HybridClock, Stamp, stamp_ms, wall_ms
from neuralmemory.protocol import (
    BUCKETS,
    EMPTY_DIGEST,
    bucket_of,
    item_hash,
)
from neuralmemory.store import meta, replaced
from neuralmemory.store.db import Database
from neuralmemory.store.history import drop_version, history_stamp

if TYPE_CHECKING:
    from neuralmemory.protocol import Version

HLC_KEY = "hlc"
ROOT_KEY = "merkle_root"
KEYS_PER_QUERY = 400  # ids per IN list, well under every SQLite's parameter limit

log = logging.getLogger(__name__)


_INSERT = "INSERT INTO records (kind, id, vhash, hlc, bucket, deleted, pending, version)"
_ON_CONFLICT = (
    "ON CONFLICT (kind, id) DO UPDATE SET vhash = excluded.vhash, hlc = excluded.hlc,"
    " deleted = excluded.deleted, pending = excluded.pending, version = excluded.version"
)


@dataclass(frozen=True)
class Current:
    """A record's current local version and whether it still waits to be pushed."""

    version: Version
    pending: bool


Change = tuple[dict[str, Any], int]  # a record's new (body, strength), for update_many


@dataclass(frozen=True)
class Pending:
    """A pending version as stored: `data` is its canonical JSON, exactly what a push sends, so
    pushing never decodes, re-validates or re-encodes it."""

    kind: str
    id: str
    vhash: str
    hlc: str
    data: bytes

    def version(self) -> Version:
        return _load(self.data)


@dataclass(frozen=True)
class Digest:
    root: str
    buckets: list[str]  # BUCKETS digests, index = bucket number
    records: int


@dataclass(frozen=True)
class BucketEntry:
    bucket: int
    kind: str
    id: str
    vhash: str


class Sealer(Protocol):
    """How an end-to-end encrypted brain's versions are sealed and opened (core/e2e.py)."""

    def seal(self, fields: dict[str, Any], *, deleted: bool, body: dict[str, Any]) -> Version:
        """A new version's view; `fields`: kind, id, hlc, device_id, parent, strength."""
        ...

    def open(self, wire: Version) -> Version: ...


class ChangeLog:
    def __init__(self, db: Database, device_id: str, *, now: Callable[[], int] = wall_ms) -> None:
        self.db = db
        self.device_id = device_id
        self.now = now  # the device's wall clock (ms): what bounds clock skew here
        self._clock = HybridClock(device_id, now=now)
        #: set for an end-to-end encrypted brain: versions are stored and sent sealed, and read
        #: as views with their opened bodies (core/e2e.py)
        self.sealer: Sealer | None = None
        #: called with versions about to be opened while no sealer is set, some of them sealed
        #: (another device turned the brain end-to-end encrypted); it may set one
        self.on_sealed: Callable[[Sequence[Version]], None] | None = None

    def opened(self, versions: Sequence[Version]) -> list[Version]:
        """Versions from a hub as this device reads them: opened views in an end-to-end
        encrypted brain (a version that does not open is a rejected view), else themselves."""
        sealed = any(len(v.body) == 1 and "sealed" in v.body for v in versions)
        if sealed and self.sealer is None and self.on_sealed is not None:
            self.on_sealed(versions)
        sealer = self.sealer
        return list(versions) if sealer is None else [sealer.open(v) for v in versions]

    def _view(self, version: Version) -> Version:
        return version if self.sealer is None else self.sealer.open(version)

    def _make(
        self,
        kind: str,
        id: str,
        hlc: str,
        parent: str | None,
        deleted: bool,
        strength: int,
        body: dict[str, Any] | None,
        *,
        trusted: bool = False,
    ) -> Version:
        fields: dict[str, Any] = dict(
            kind=kind, id=id, hlc=hlc, device_id=self.device_id, parent=parent, strength=strength
        )
        if self.sealer is not None and kind != "key":
            return self.sealer.seal(fields, deleted=deleted, body={} if deleted else body or {})
        if trusted:
            return protocol.Version.trusted(**fields, body=body or {})
        return protocol.Version.create(**fields, deleted=deleted, body=body)

    # ------------------------------------------------------------------ writes (in a transaction)

    def write(
        self,
        kind: str,
        id: str,
        *,
        body: dict[str, Any] | None = None,
        deleted: bool = False,
        strength: int = 0,
    ) -> Version:
        """A new local version of (kind, id), coalesced with an unpushed one (module docstring)."""
        current = self.current(kind, id, opened=False)  # its parent and vhash are all it needs
        if current is None:
            parent = None
        elif current.pending:
            parent = current.version.parent
        else:
            parent = current.version.vhash
        version = self._make(kind, id, self._tick(), parent, deleted, strength, body)
        old = {} if current is None else {(kind, id): current.version.vhash}
        self._put([version], pending=True, old=old)
        return version

    def update_many(
        self, keys: Sequence[tuple[str, str]], change: Callable[[str, str, Version | None], Change]
    ) -> list[Version]:
        """Local writes of several records at once, each coalesced exactly as `write` does: the
        reinforcement path. `change(kind, id, live)` gets the record's current live version
        (None when new or a tombstone; a record twice in `keys` sees its first write) and
        returns the new (body, strength). The bodies must be ones this process built, of ids it
        knows valid (Version.trusted: checked canonical, encoded and hashed once). The current
        versions are read in one query, the clock is read and written once, and the versions
        are stored and folded into the digest together (each bucket and the root once)."""
        if not keys:
            return []
        found = self.currents(keys)
        old = {key: current.version.vhash for key, current in found.items()}
        self._resume()
        versions: list[Version] = []
        for kind, id in keys:
            current = found.get((kind, id))
            if current is None:
                parent, live = None, None
            else:
                parent = current.version.parent if current.pending else current.version.vhash
                live = None if current.version.deleted else current.version
            body, strength = change(kind, id, live)
            hlc = str(self._clock.tick())
            version = self._make(kind, id, hlc, parent, False, strength, body, trusted=True)
            found[(kind, id)] = Current(version, pending=True)
            versions.append(version)
        self._set_meta(HLC_KEY, versions[-1].hlc)
        self._put(versions, pending=True, old=old)
        return versions

    def restamp_runaway(self, *, in_place_only: bool = False) -> list[Version]:
        """Stamp again, with the same substance, every pending version stamped more than
        MAX_CLOCK_SKEW_MS ahead of this device's clock: made while the clock was wrong (and since
        set right), such a version is refused by every hub and would otherwise outrank every
        later edit anywhere. A memory's is stamped in place (`_restamp`), sealed or not (a seal
        is a function of the version: core/e2e.py); any other one anew, now (`in_place_only`:
        left as it is). Returns the new versions; in a transaction."""
        restamped = []
        for v in self.runaway_pending():
            if v.kind == "memory":
                restamped.append(self._restamp(v))
            elif not in_place_only:
                restamped.append(
                    self.write(v.kind, v.id, body=v.body, deleted=v.deleted, strength=v.strength)
                )
        return restamped

    def _restamp(self, version: Version) -> Version:
        """`version` stamped 1 ms after its parent (at 0 for a new record): its true time is
        unknown, and a stamp that depends on the version alone makes the same version restored
        from a copy of this folder the same again -- one the hub holds, or names in its history,
        instead of a rival of this device's own past edit, each time under a new vhash
        (docs/sync.md, "Clocks")."""
        parent = None if version.parent is None else history_stamp(self.db, version)
        ms = 0 if parent is None else stamp_ms(parent) + 1
        counter = Stamp.parse(version.hlc).counter
        hlc = str(Stamp(ms, counter, self.device_id))
        fields = (version.kind, version.id, hlc, version.parent, version.deleted)
        again = self._make(*fields, version.strength, version.body)
        self._put([again], pending=True, old={(version.kind, version.id): version.vhash})
        # the same version, its wrong stamp set right (no hub took that one): neither a step of
        # the memory's history nor a version to name to the hub
        drop_version(self.db, version.id, version.vhash)
        replaced.drop(self.db, version.id, version.vhash)
        return again

    def runaway_pending(self) -> list[Version]:
        """Pending versions stamped more than MAX_CLOCK_SKEW_MS ahead of this device's clock."""
        horizon = self.now() + MAX_CLOCK_SKEW_MS
        rows = self.db.execute(
            "SELECT version FROM records WHERE pending = 1 AND hlc >= ?", (f"{horizon + 1:013d}",)
        ).fetchall()
        return [self._view(_load(row[0])) for row in rows]

    def store(self, version: Version, *, pending: bool = False) -> None:
        """Make `version` (typically pulled from a hub) the record's current version."""
        self.store_many([version], pending=pending)

    def store_many(self, versions: Sequence[Version], *, pending: bool = False) -> None:
        """`store` for a page of versions, in order: the clock is observed once (observing the
        newest stamp is observing them all; stamps order as strings) and each touched Merkle
        bucket and the root are written once per page instead of once per record."""
        if not versions:
            return
        self._observe(max(v.hlc for v in versions))
        self._put(versions, pending=pending, old=self._vhashes([(v.kind, v.id) for v in versions]))

    def mark_pushed(self, kind: str, id: str, vhash: str) -> bool:
        """The hub holds `vhash`: clear the pending mark, unless a newer local write replaced it."""
        return self.mark_pushed_many([(kind, id, vhash)]) == 1

    def mark_pushed_many(self, items: Iterable[tuple[str, str, str]]) -> int:
        """`mark_pushed` for a pushed batch of (kind, id, vhash); returns how many were cleared."""
        return self.db.executemany(
            "UPDATE records SET pending = 0"
            " WHERE kind = ? AND id = ? AND vhash = ? AND pending = 1",
            list(items),
        )

    def mark_all_pending(self) -> int:
        """`seed`: make every record eligible for the next push (idempotent)."""
        return self.db.execute("UPDATE records SET pending = 1 WHERE pending = 0").rowcount

    def _put(
        self,
        versions: Sequence[Version],
        *,
        pending: bool,
        old: dict[tuple[str, str], str],
    ) -> None:
        """Write versions as current, folding each change into the digest; `old` holds the
        vhash each record had (absent: new), and is updated as the versions are written."""
        deltas: dict[int, int] = {}
        rows: list[tuple[Any, ...]] = []
        flag = int(pending)
        for version in versions:
            kind, id, vhash = version.kind, version.id, version.vhash
            key = (kind, id)
            delta = _item(kind, id, vhash)
            previous = old.get(key)
            if previous is not None:
                delta ^= _item(kind, id, previous)
            old[key] = vhash  # a record twice in one page: the second replaces the first
            bucket = bucket_of(kind, id)
            deltas[bucket] = deltas.get(bucket, 0) ^ delta
            # A `records` row, in _INSERT's column order.
            text = version.canonical().decode("utf-8")
            rows.append((kind, id, vhash, version.hlc, bucket, int(version.deleted), flag, text))
        self.db.insert_many(_INSERT, rows, _ON_CONFLICT)
        self._fold(deltas)

    def _fold(self, deltas: dict[int, int]) -> None:
        """XOR each bucket's delta into its digest, and all of them into the root."""
        if not deltas:
            return
        marks = ",".join("?" * len(deltas))
        current = dict(
            self.db.execute(
                f"SELECT bucket, digest FROM merkle WHERE bucket IN ({marks})", list(deltas)
            ).fetchall()
        )
        self.db.insert_many(
            "INSERT INTO merkle (bucket, digest)",
            [(b, _xor(current[b], d)) for b, d in deltas.items()],
            "ON CONFLICT (bucket) DO UPDATE SET digest = excluded.digest",
        )
        total = 0
        for delta in deltas.values():
            total ^= delta
        self._set_meta(ROOT_KEY, _xor(self._meta(ROOT_KEY) or EMPTY_DIGEST, total))

    def _resume(self) -> None:
        """Catch the clock up with the last stamp this brain issued or observed (another
        process may have written since). A last stamp far ahead of the wall clock means this
        device's clock was wrong and has been set right: it is dropped, not followed forever."""
        last = self._meta(HLC_KEY)
        if last and not self._clock.observe(last):
            log.warning(
                "the last clock stamp %s is more than %d h ahead of this device's clock:"
                " its clock was wrong; new stamps start from the current time",
                last,
                MAX_CLOCK_SKEW_MS // 3_600_000,
            )

    def _tick(self) -> str:
        self._resume()
        stamp = str(self._clock.tick())
        self._set_meta(HLC_KEY, stamp)
        return stamp

    def _observe(self, hlc: str) -> None:
        """Move the clock past a stamp from the hub; one beyond the skew bound is stored with its
        record but not adopted (clock.py), so the clock state written is the clock's own."""
        self._resume()
        self._clock.observe(hlc)
        self._set_meta(HLC_KEY, str(self._clock.last))

    def _meta(self, key: str) -> str | None:
        return meta.get(self.db, key)

    def _set_meta(self, key: str, value: str) -> None:
        meta.put(self.db, key, value)

    # ------------------------------------------------------------------ reads

    def current(self, kind: str, id: str, *, opened: bool = True) -> Current | None:
        """The record's current version; `opened=False`: as stored, not opened (an E2E brain's
        sealed version, whose vhash and parent are the view's)."""
        row = self.db.execute(
            "SELECT version, pending FROM records WHERE kind = ? AND id = ?", (kind, id)
        ).fetchone()
        if row is None:
            return None
        version = _load(row[0])
        return Current(self._view(version) if opened else version, bool(row[1]))

    def currents(self, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], Current]:
        """`current` of those of `keys` that exist here, in a query or two for any number."""
        return {
            (kind, id): Current(self._view(_load(text)), bool(pending))
            for kind, id, text, pending in self._rows(keys, "version, pending")
        }

    def pending(self, *, limit: int = 500, after: str | None = None) -> list[Version]:
        """Pending versions in HLC order, `limit` at a time; pass the last one's hlc as `after`."""
        return [self._view(p.version()) for p in self.pending_encoded(limit=limit, after=after)]

    def pending_encoded(self, *, limit: int = 500, after: str | None = None) -> list[Pending]:
        """`pending`, as stored: what a push sends, without decoding a single version."""
        rows = self.db.execute(
            "SELECT kind, id, vhash, hlc, version FROM records WHERE pending = 1 AND hlc > ?"
            " ORDER BY hlc, kind, id LIMIT ?",
            (after or "", limit),
        )
        return [Pending(kind, id, vhash, hlc, text.encode()) for kind, id, vhash, hlc, text in rows]

    def _vhashes(self, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], str]:
        """The current vhash of those of `keys` that exist here."""
        return {(kind, id): str(vhash) for kind, id, vhash in self._rows(keys, "vhash")}

    def _rows(self, keys: Sequence[tuple[str, str]], columns: str) -> list[tuple[Any, ...]]:
        """(kind, id, *columns) of those of `keys` that exist here: one indexed query per kind
        and KEYS_PER_QUERY ids (a row-value IN list, (kind, id) IN (VALUES ...), would scan
        the whole table)."""
        ids: dict[str, list[str]] = {}
        for kind, id in dict.fromkeys(keys):
            ids.setdefault(kind, []).append(id)
        found: list[tuple[Any, ...]] = []
        for kind, of_kind in ids.items():
            for start in range(0, len(of_kind), KEYS_PER_QUERY):
                chunk = of_kind[start : start + KEYS_PER_QUERY]
                found += self.db.execute(
                    f"SELECT kind, id, {columns} FROM records"
                    f" WHERE kind = ? AND id IN ({','.join('?' * len(chunk))})",
                    [kind, *chunk],
                ).fetchall()
        return found

    def pending_count(self) -> int:
        return int(self.db.execute("SELECT count(*) FROM records WHERE pending = 1").fetchone()[0])

    def versions(self, kind: str | None) -> Iterable[Version]:
        """Every current version of one kind (None: of every kind), tombstones included, in
        (kind,) id order."""
        where, params = ("", ()) if kind is None else (" WHERE kind = ?", (kind,))
        rows = self.db.execute(f"SELECT version FROM records{where} ORDER BY kind, id", params)
        for row in rows.fetchall():
            yield self._view(_load(row[0]))

    def count(self, *, include_deleted: bool = True) -> int:
        sql = "SELECT count(*) FROM records" + ("" if include_deleted else " WHERE deleted = 0")
        return int(self.db.execute(sql).fetchone()[0])

    def root(self) -> str:
        """The root digest alone: O(1), for the sync engine's no-op check (digest() also counts
        the records, which scans the table)."""
        return self._meta(ROOT_KEY) or EMPTY_DIGEST

    def digest(self) -> Digest:
        buckets = [EMPTY_DIGEST] * BUCKETS
        for bucket, value in self.db.execute("SELECT bucket, digest FROM merkle"):
            buckets[bucket] = value
        return Digest(self._meta(ROOT_KEY) or EMPTY_DIGEST, buckets, self.count())

    def bucket_entries(self, buckets: Iterable[int]) -> list[BucketEntry]:
        wanted = sorted(set(buckets))
        if not wanted:
            return []
        marks = ",".join("?" * len(wanted))
        rows = self.db.execute(
            f"SELECT bucket, kind, id, vhash FROM records WHERE bucket IN ({marks})"
            " ORDER BY bucket, kind, id",
            wanted,
        )
        return [BucketEntry(*row) for row in rows]


def _item(kind: str, id: str, vhash: str) -> int:
    """protocol.item_digest as the int deltas are folded as, without its hex round trip."""
    return int.from_bytes(item_hash(kind, id, vhash), "big")


def _xor(digest: str, delta: int) -> str:
    """Fold an item hash, as an int (deltas are combined as ints), into a hex digest."""
    return f"{int(digest, 16) ^ delta:064x}"


def _load(text: str | bytes) -> Version:
    # Rows are written only by `_put` from validated Versions, so reading skips re-validation
    # (re-hashing every version would double the cost of each write). `digest` still exposes
    # any row edited by hand, since its items are computed from the stored vhash.
    return protocol.Version.model_construct(**json.loads(text))
