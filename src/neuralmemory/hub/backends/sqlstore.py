"""The record store in SQL, written once for SQLite and PostgreSQL.

Statements use `?` placeholders and SQL both databases speak (upserts, RETURNING, row values); a
backend supplies transactions and the one thing that differs: how a push locks its brain row.
SQLite's BEGIN IMMEDIATE already serialises writers; PostgreSQL locks the row with FOR UPDATE, so
seq stays gapless and monotonic per brain and two CAS on one record can never both win.

Longer than ~400 lines on purpose: it is every statement over the hub's one schema (accounts,
keys, codes, shares, brains, records, devices), and a push or a pairing touches several tables
under the same transaction and row locks; split by table, the order of those locks could no
longer be read in one place.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, replace
from typing import Any, Literal, Protocol

from neuralmemory.errors import (
    MSG_BRAIN_NOT_FOUND,
    MSG_INVALID_INVITE,
    MSG_KEY_LIMIT,
    MSG_LAST_ADMIN_KEY,
    MSG_SHARE_LIMIT,
    MSG_SHARE_TAKEN,
    AccessDenied,
    CodeRefused,
    Conflict,
    HubBusy,
    NotFound,
    StorageRefused,
)
from neuralmemory.hub.backends.base import (
    NO_QUOTA,
    AccountRow,
    CodeKind,
    CodeRow,
    Incoming,
    KeyRow,
    OwnedBrain,
    Quota,
)
from neuralmemory.hub.backends.cas import Head, PushPlan, RecordId, check_quota, plan_push
from neuralmemory.protocol import (
    BUCKETS,
    EMPTY_DIGEST,
    BrainInfo,
    BucketPage,
    BucketPosition,
    BucketRow,
    DeviceInfo,
    DeviceRecord,
    DigestReply,
    PullReply,
    PushReply,
    RecordKey,
    StoredVersion,
    Usage,
    bucket_of,
    iso_ms,
    xor_digest,
)

Row = tuple[Any, ...]
log = logging.getLogger("neuralmemory.hub")
#: read: no writes. soft: writes a crash may lose without harm (rate counters, last use, device
#: cursors) and that need not land together, committed without waiting for the disk. durable:
#: what a reply acknowledges (accounts, keys, records): atomic, and on disk before the reply.
Mode = Literal["read", "soft", "durable"]
CHUNK = 400  # keys per row-value IN list: well under SQLite's bound-parameter limit
LAST_USED_RESOLUTION_MS = 1_000  # a key used many times a second is written once a second


class Tx(Protocol):
    async def execute(self, sql: str, params: Sequence[Any] = ()) -> None: ...

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None: ...

    async def one(self, sql: str, params: Sequence[Any] = ()) -> Row | None: ...

    async def all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]: ...


class Database(Protocol):
    #: appended to the SELECT of the brain row a push is about to change
    lock_clause: str
    #: appended to a text column to compare it byte by byte (the protocol's order of ids)
    byte_order: str

    def lookups(
        self, columns: str, brain_id: str, ids: Sequence[RecordId]
    ) -> Iterator[tuple[str, list[Any]]]:
        """Statements (with their parameters) selecting `columns` of these records, each found by
        its primary key: a lookup must cost the same in a brain of any size."""
        ...

    def transaction(self, mode: Mode) -> AbstractAsyncContextManager[Tx]: ...

    async def close(self) -> None: ...


@dataclass(frozen=True)
class BrainRow:
    id: str
    account_id: str
    name: str
    seq: int
    records: int
    bytes: int
    root: str
    created_at: int
    last_write_at: int | None


BRAIN_COLUMNS = "id, account_id, name, seq, records, bytes, root, created_at, last_write_at"
VERSION_COLUMNS = "kind, id, hlc, device_id, parent, deleted, strength, body, vhash, seq"
KEY_COLUMNS = (
    "id, account_id, name, key_hash, key_prefix, created_at, last_used_at, revoked_at, scope"
)
ACTIVE_KEYS = "SELECT COUNT(*) FROM api_keys WHERE account_id = ? AND revoked_at IS NULL"

# The operator's view of accounts (`nmem hub accounts`): one pass over accounts, each figure a
# subquery on the tables' account_id indexes. Last activity is the latest of three times, taken
# in Python: SQLite's max() and PostgreSQL's GREATEST() disagree about NULL.
ACCOUNT_SUMMARY = """
SELECT a.id, a.email, a.created_at,
    (SELECT COUNT(*) FROM api_keys k
     WHERE k.account_id = a.id AND k.revoked_at IS NULL AND k.scope = 'admin'),
    (SELECT COUNT(*) FROM api_keys k
     WHERE k.account_id = a.id AND k.revoked_at IS NULL AND k.scope = 'device'),
    (SELECT COUNT(*) FROM brains b WHERE b.account_id = a.id),
    (SELECT COALESCE(SUM(b.records), 0) FROM brains b WHERE b.account_id = a.id),
    (SELECT COALESCE(SUM(b.bytes), 0) FROM brains b WHERE b.account_id = a.id),
    (SELECT MAX(k.last_used_at) FROM api_keys k WHERE k.account_id = a.id),
    (SELECT MAX(b.last_write_at) FROM brains b WHERE b.account_id = a.id),
    (SELECT MAX(d.last_sync_at) FROM devices d JOIN brains b ON b.id = d.brain_id
     WHERE b.account_id = a.id)
FROM accounts a
"""

UPSERT_RECORD = """
INSERT INTO records (brain_id, kind, id, seq, bucket, vhash, hlc, device_id, parent, deleted,
                     strength, body, size, history)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (brain_id, kind, id) DO UPDATE SET
    seq = excluded.seq, vhash = excluded.vhash, hlc = excluded.hlc,
    device_id = excluded.device_id, parent = excluded.parent, deleted = excluded.deleted,
    strength = excluded.strength, body = excluded.body, size = excluded.size,
    history = excluded.history
"""

UPSERT_BUCKET = """
INSERT INTO buckets (brain_id, bucket, digest) VALUES (?, ?, ?)
ON CONFLICT (brain_id, bucket) DO UPDATE SET digest = excluded.digest
"""

# Fixed windows; a process with a slower clock can never move a window back.
HIT = """
INSERT INTO rate_limits (subject, window_start, hits) VALUES (?, ?, 1)
ON CONFLICT (subject) DO UPDATE SET
    hits = CASE WHEN rate_limits.window_start >= excluded.window_start
                THEN rate_limits.hits + 1 ELSE 1 END,
    window_start = CASE WHEN rate_limits.window_start >= excluded.window_start
                        THEN rate_limits.window_start ELSE excluded.window_start END
RETURNING hits
"""

# A conditional update is the whole race: of two transactions using one code, the second finds
# used_at set (PostgreSQL re-checks the row once the first commits) and changes nothing.
USE_CODE = """
UPDATE codes SET used_at = ?, used_by = ?
WHERE code_hash = ? AND kind = ? AND used_at IS NULL AND expires_at > ?
RETURNING code_hash
"""

COUNT_REQUEST = """
INSERT INTO usage_daily (account_id, day, requests) VALUES (?, ?, 1)
ON CONFLICT (account_id, day) DO UPDATE SET requests = usage_daily.requests + 1
"""


def _device_upsert(*, move_cursor: bool) -> str:
    cursor = "excluded.cursor" if move_cursor else "devices.cursor"
    return f"""
INSERT INTO devices (brain_id, device_id, name, platform, first_seen_at, last_sync_at, cursor)
VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (brain_id, device_id) DO UPDATE SET
    name = excluded.name, platform = excluded.platform,
    last_sync_at = excluded.last_sync_at, cursor = {cursor}
"""


DEVICE_PUSHED = _device_upsert(move_cursor=False)
DEVICE_PULLED = _device_upsert(move_cursor=True)


def bucket_page_sql(byte_order: str) -> str:
    """One bucket's entries after (kind, id), in order: brain_id, bucket, kind, id, limit.

    Migration 0002's index on (brain_id, bucket, kind, id) holding vhash and seq answers it as
    one range scan that never visits the table."""
    return (
        "SELECT bucket, kind, id, vhash, seq FROM records"
        f" WHERE brain_id = ? AND bucket = ? AND (kind{byte_order}, id{byte_order}) > (?, ?)"
        f" ORDER BY kind{byte_order}, id{byte_order} LIMIT ?"
    )


def in_lists(
    columns: str, brain_id: str, ids: Sequence[RecordId]
) -> Iterator[tuple[str, list[Any]]]:
    """`kind = ? AND id IN (...)`, one kind and CHUNK ids at a time: SQLite probes the primary key
    for each id. (Not `(kind, id) IN (VALUES ...)`, which SQLite answers by scanning the brain.)"""
    by_kind: dict[str, list[str]] = {}
    for kind, id_ in ids:
        by_kind.setdefault(kind, []).append(id_)
    for kind, names in by_kind.items():
        for start in range(0, len(names), CHUNK):
            part = names[start : start + CHUNK]
            marks = ", ".join(["?"] * len(part))
            sql = (
                f"SELECT {columns} FROM records WHERE brain_id = ? AND kind = ? AND id IN ({marks})"
            )
            yield sql, [brain_id, kind, *part]


def _version(row: Row) -> StoredVersion:
    # Rows were validated when pushed; rebuilding them unchecked keeps a big pull cheap.
    kind, id_, hlc, device_id, parent, deleted, strength, body, vhash, seq = row
    return StoredVersion.model_construct(
        kind=kind,
        id=id_,
        hlc=hlc,
        device_id=device_id,
        parent=parent,
        deleted=bool(deleted),
        strength=strength,
        body=json.loads(body),
        vhash=vhash,
        seq=seq,
    )


class _Rollback(Exception):
    """Raised inside a transaction to undo it: its caller answers without an error."""


class SqlStore:
    """Implements base.Backend over any Database."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def close(self) -> None:
        await self.db.close()

    # ------------------------------------------------------------ accounts and keys

    async def create_account(
        self, account_id: str, email: str, key: KeyRow, invite_hash: str | None = None
    ) -> bool:
        try:
            async with self.db.transaction("durable") as tx:
                # The invite first: whoever holds none learns nothing about registered emails.
                if invite_hash is not None and not await self._use_code(
                    tx, invite_hash, "invite", account_id, key.created_at
                ):
                    raise CodeRefused("invalid_invite", MSG_INVALID_INVITE)
                created = await tx.one(
                    "INSERT INTO accounts (id, email, created_at) VALUES (?, ?, ?)"
                    " ON CONFLICT (email) DO NOTHING RETURNING id",
                    (account_id, email, key.created_at),
                )
                if created is None:
                    raise _Rollback()  # the email is taken: the invite stays unused
                await self._insert_key(tx, key)
        except _Rollback:
            return False
        return True

    async def add_code(self, code: CodeRow) -> None:
        async with self.db.transaction("durable") as tx:
            await tx.execute(
                "INSERT INTO codes (code_hash, kind, created_at, expires_at) VALUES (?, ?, ?, ?)",
                (code.code_hash, code.kind, code.created_at, code.expires_at),
            )

    async def pair(self, code_hash: str, key: KeyRow) -> bool:
        async with self.db.transaction("durable") as tx:
            if not await self._use_code(tx, code_hash, "pair", key.key_id, key.created_at):
                return False
            await self._insert_key(tx, key)
        return True

    async def put_share(
        self,
        account_id: str,
        share_id: str,
        sealed: str,
        now: int,
        expires_at: int,
        max_shares: int,
    ) -> None:
        async with self.db.transaction("durable") as tx:
            await tx.execute("DELETE FROM key_shares WHERE expires_at <= ?", (now,))
            await self._lock_account(tx, account_id)  # the count below holds until commit
            owner = await tx.one("SELECT account_id FROM key_shares WHERE id = ?", (share_id,))
            if owner is not None and owner[0] != account_id:
                raise Conflict(MSG_SHARE_TAKEN)
            if owner is None:
                waiting = await tx.one(
                    "SELECT COUNT(*) FROM key_shares WHERE account_id = ?", (account_id,)
                )
                assert waiting is not None  # an aggregate always returns a row
                if int(waiting[0]) >= max_shares:
                    raise Conflict(MSG_SHARE_LIMIT.format(limit=max_shares))
            await tx.execute(
                "INSERT INTO key_shares (id, account_id, sealed, created_at, expires_at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET sealed = excluded.sealed,"
                " created_at = excluded.created_at, expires_at = excluded.expires_at",
                (share_id, account_id, sealed, now, expires_at),
            )

    async def take_share(self, account_id: str, share_id: str, now: int) -> str | None:
        async with self.db.transaction("durable") as tx:
            await tx.execute("DELETE FROM key_shares WHERE expires_at <= ?", (now,))
            row = await tx.one(
                "DELETE FROM key_shares WHERE id = ? AND account_id = ? RETURNING sealed",
                (share_id, account_id),
            )
        return None if row is None else str(row[0])

    async def _use_code(
        self, tx: Tx, code_hash: str, kind: CodeKind, used_by: str, now: int
    ) -> bool:
        return await tx.one(USE_CODE, (now, used_by, code_hash, kind, now)) is not None

    async def add_key(self, key: KeyRow, max_keys: int | None) -> None:
        async with self.db.transaction("durable") as tx:
            await self._lock_account(tx, key.account_id)
            if max_keys is not None:
                active = await tx.one(ACTIVE_KEYS, (key.account_id,))
                assert active is not None  # an aggregate always returns a row
                if int(active[0]) >= max_keys:
                    raise Conflict(MSG_KEY_LIMIT.format(limit=max_keys))
            await self._insert_key(tx, key)

    async def key(self, key_id: str) -> KeyRow | None:
        async with self.db.transaction("read") as tx:
            row = await tx.one(f"SELECT {KEY_COLUMNS} FROM api_keys WHERE id = ?", (key_id,))
        return None if row is None else KeyRow(*row)

    async def _lock_account(self, tx: Tx, account_id: str) -> None:
        """Serialise changes to one account's keys, so a count checked before a write still
        holds when the write commits (PostgreSQL's READ COMMITTED would otherwise let two
        revocations each see the other's admin key; SQLite's BEGIN IMMEDIATE already has)."""
        await tx.one("SELECT id FROM accounts WHERE id = ?" + self.db.lock_clause, (account_id,))

    async def _insert_key(self, tx: Tx, key: KeyRow) -> None:
        await tx.execute(
            f"INSERT INTO api_keys ({KEY_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                key.key_id,
                key.account_id,
                key.name,
                key.key_hash,
                key.key_prefix,
                key.created_at,
                key.last_used_at,
                key.revoked_at,
                key.scope,
            ),
        )

    async def find_key(self, key_hash: str, now: int) -> KeyRow | None:
        async with self.db.transaction("read") as tx:
            row = await tx.one(
                f"SELECT {KEY_COLUMNS} FROM api_keys WHERE key_hash = ?", (key_hash,)
            )
        if row is None:
            return None
        key = KeyRow(*row)
        stale = key.last_used_at is None or now - key.last_used_at >= LAST_USED_RESOLUTION_MS
        if key.revoked_at is None and stale:
            # Most requests only read; the write happens at most once a second per key.
            async with self._bookkeeping("the key's last use") as tx:
                await tx.execute(
                    "UPDATE api_keys SET last_used_at = ? WHERE id = ? AND revoked_at IS NULL",
                    (now, key.key_id),
                )
                key = replace(key, last_used_at=now)
        return key

    @asynccontextmanager
    async def _bookkeeping(self, what: str) -> AsyncIterator[Tx]:
        """A soft transaction for a write no request depends on (a key's last use, a device's
        cursor, request counters): when the database cannot take it (disk full, read-only,
        locked past the timeout), the rest of its block is skipped and the request is served
        without it (docs/hub.md, "A full disk, a read-only database")."""
        try:
            async with self.db.transaction("soft") as tx:
                yield tx
        except (StorageRefused, HubBusy) as exc:
            log.warning("could not record %s (%s): served without it", what, exc.code)

    async def list_keys(self, account_id: str) -> list[KeyRow]:
        async with self.db.transaction("read") as tx:
            rows = await tx.all(
                f"SELECT {KEY_COLUMNS} FROM api_keys WHERE account_id = ? ORDER BY created_at, id",
                (account_id,),
            )
        return [KeyRow(*row) for row in rows]

    async def revoke_key(
        self, account_id: str, key_id: str, now: int, *, keep_last_admin: bool = True
    ) -> KeyRow | None:
        async with self.db.transaction("durable") as tx:
            await self._lock_account(tx, account_id)
            row = await tx.one(
                f"SELECT {KEY_COLUMNS} FROM api_keys WHERE id = ? AND account_id = ?",
                (key_id, account_id),
            )
            if row is None:
                return None
            key = KeyRow(*row)
            if key.revoked_at is not None:
                return key
            if key.scope == "admin" and keep_last_admin:
                admins = await tx.one(ACTIVE_KEYS + " AND scope = 'admin'", (account_id,))
                assert admins is not None
                if int(admins[0]) <= 1:
                    raise Conflict(MSG_LAST_ADMIN_KEY)
            await tx.execute("UPDATE api_keys SET revoked_at = ? WHERE id = ?", (now, key_id))
        return replace(key, revoked_at=now)

    async def accounts(
        self, *, email: str | None = None, account_id: str | None = None
    ) -> list[AccountRow]:
        where, params = "", []
        if email is not None:
            where, params = " WHERE a.email = ?", [email]
        elif account_id is not None:
            where, params = " WHERE a.id = ?", [account_id]
        async with self.db.transaction("read") as tx:
            rows = await tx.all(ACCOUNT_SUMMARY + where + " ORDER BY a.created_at, a.id", params)
        return [_account(row) for row in rows]

    async def hit(
        self, subjects: Sequence[str], window_start: int, account_id: str | None, day: str
    ) -> list[int] | None:
        hits = None
        async with self._bookkeeping("a request's counts") as tx:
            counted = []
            for subject in subjects:
                row = await tx.one(HIT, (subject, window_start))
                assert row is not None  # an upsert with RETURNING always returns its row
                counted.append(int(row[0]))
            if account_id is not None:
                await tx.execute(COUNT_REQUEST, (account_id, day))
            hits = counted  # not reached when the write was refused
        return hits

    async def usage(self, account_id: str, day: str) -> Usage:
        async with self.db.transaction("read") as tx:
            totals = await tx.one(
                "SELECT COUNT(*), COALESCE(SUM(records), 0), COALESCE(SUM(bytes), 0)"
                " FROM brains WHERE account_id = ?",
                (account_id,),
            )
            devices = await tx.one(
                "SELECT COUNT(DISTINCT d.device_id) FROM devices d"
                " JOIN brains b ON b.id = d.brain_id WHERE b.account_id = ?",
                (account_id,),
            )
            requests = await tx.one(
                "SELECT requests FROM usage_daily WHERE account_id = ? AND day = ?",
                (account_id, day),
            )
        assert totals is not None and devices is not None  # aggregates always return a row
        return Usage(
            brains=int(totals[0]),
            records=int(totals[1]),  # PostgreSQL sums BIGINT as NUMERIC
            bytes=int(totals[2]),
            devices=int(devices[0]),
            requests_today=0 if requests is None else int(requests[0]),
        )

    # ------------------------------------------------------------ brains and ownership

    async def _brain_row(self, tx: Tx, brain_id: str, *, lock: bool = False) -> BrainRow | None:
        row = await tx.one(
            f"SELECT {BRAIN_COLUMNS} FROM brains WHERE id = ?"
            + (self.db.lock_clause if lock else ""),
            (brain_id,),
        )
        return None if row is None else BrainRow(*row)

    async def _claim(self, tx: Tx, account_id: str, brain_id: str, name: str, now: int) -> BrainRow:
        """The brain, locked, created for this account if nobody pushed to it yet; 403 if
        another account owns it."""
        brain = await self._brain_row(tx, brain_id, lock=True)
        if brain is None:
            # Two first syncs may race: the loser's insert does nothing; it reads the winner's row.
            await tx.execute(
                f"INSERT INTO brains ({BRAIN_COLUMNS}) VALUES (?, ?, ?, 0, 0, 0, ?, ?, NULL)"
                " ON CONFLICT (id) DO NOTHING",
                (brain_id, account_id, name, EMPTY_DIGEST, now),
            )
            brain = await self._brain_row(tx, brain_id, lock=True)
            assert brain is not None  # inserted or already there
        if brain.account_id != account_id:
            raise AccessDenied()
        return brain

    async def _known(self, tx: Tx, account_id: str, brain_id: str) -> BrainRow | None:
        """The caller's brain, None if nobody has pushed to it; 403 if another owns it."""
        brain = await self._brain_row(tx, brain_id)
        if brain is not None and brain.account_id != account_id:
            raise AccessDenied()
        return brain

    async def _owned(self, tx: Tx, account_id: str, brain_id: str) -> BrainRow:
        brain = await self._known(tx, account_id, brain_id)
        if brain is None:
            raise NotFound(MSG_BRAIN_NOT_FOUND)
        return brain

    async def _info(self, tx: Tx, brain: BrainRow) -> BrainInfo:
        devices = await tx.one("SELECT COUNT(*) FROM devices WHERE brain_id = ?", (brain.id,))
        assert devices is not None
        return _brain_info(brain, int(devices[0]))

    async def brains(self, account_id: str) -> list[BrainInfo]:
        async with self.db.transaction("read") as tx:
            rows = await tx.all(
                f"SELECT {BRAIN_COLUMNS},"
                " (SELECT COUNT(*) FROM devices d WHERE d.brain_id = brains.id)"
                " FROM brains WHERE account_id = ? ORDER BY created_at, id",
                (account_id,),
            )
        return [_brain_info(BrainRow(*row[:-1]), int(row[-1])) for row in rows]

    async def owned_brains(self, account_id: str | None = None) -> list[OwnedBrain]:
        where = "" if account_id is None else " WHERE b.account_id = ?"
        columns = ", ".join(f"b.{column}" for column in BRAIN_COLUMNS.split(", "))
        async with self.db.transaction("read") as tx:
            rows = await tx.all(
                f"SELECT {columns}, a.email,"
                " (SELECT COUNT(*) FROM devices d WHERE d.brain_id = b.id)"
                f" FROM brains b JOIN accounts a ON a.id = b.account_id{where}"
                " ORDER BY a.created_at, a.id, b.created_at, b.id",
                () if account_id is None else (account_id,),
            )
        owned = []
        for *values, email, devices in rows:
            brain = BrainRow(*values)
            owned.append(OwnedBrain(_brain_info(brain, int(devices)), brain.account_id, email))
        return owned

    async def brain(self, account_id: str, brain_id: str) -> BrainInfo:
        async with self.db.transaction("read") as tx:
            return await self._info(tx, await self._owned(tx, account_id, brain_id))

    async def devices(self, account_id: str, brain_id: str) -> list[DeviceRecord]:
        async with self.db.transaction("read") as tx:
            await self._owned(tx, account_id, brain_id)
            rows = await tx.all(
                "SELECT device_id, name, platform, first_seen_at, last_sync_at, cursor"
                " FROM devices WHERE brain_id = ? ORDER BY first_seen_at, device_id",
                (brain_id,),
            )
        return [
            DeviceRecord(
                device_id=device_id,
                name=name,
                platform=platform,
                first_seen_at=iso_ms(first_seen) or "",
                last_sync_at=iso_ms(last_sync),
                cursor=cursor,
            )
            for device_id, name, platform, first_seen, last_sync, cursor in rows
        ]

    # ------------------------------------------------------------ the record store

    async def push(
        self,
        account_id: str,
        brain_id: str,
        brain_name: str,
        device: DeviceInfo,
        records: Sequence[Incoming],
        now: int,
        quota: Quota = NO_QUOTA,
    ) -> PushReply:
        if not records:
            # Claiming needs a record: an empty push must not let whoever learns an id first
            # take it from its owner. It registers no device either.
            async with self.db.transaction("read") as tx:
                known = await self._known(tx, account_id, brain_id)
            if known is None:
                return PushReply.model_construct(results=[], seq=0, root=EMPTY_DIGEST)
        async with self.db.transaction("durable") as tx:
            brain = await self._claim(tx, account_id, brain_id, brain_name, now)
            ids = list(dict.fromkeys((r.version.kind, r.version.id) for r in records))
            plan = plan_push(brain.seq, await self._heads(tx, brain_id, ids), records)
            results = plan.results
            if plan.fetch_current:
                current = {
                    (v.kind, v.id): v for v in await self._fetch(tx, brain_id, plan.fetch_current)
                }
                results = [
                    r.model_copy(update={"current": current[(r.kind, r.id)]})
                    if r.status == "conflict" and r.current is None
                    else r
                    for r in results
                ]
            await self._check_quota(tx, account_id, quota, plan)
            root = brain.root
            if plan.writes:
                await tx.executemany(
                    UPSERT_RECORD,
                    [_record_row(brain_id, r, seq, h) for r, seq, h in plan.writes.values()],
                )
                root = await self._fold_buckets(tx, brain_id, root, plan.deltas)
                await tx.execute(
                    "UPDATE brains SET seq = ?, root = ?, records = records + ?,"
                    " bytes = bytes + ?, last_write_at = ? WHERE id = ?",
                    (plan.seq, root, plan.new_records, plan.new_bytes, now, brain_id),
                )
            await tx.execute(DEVICE_PUSHED, _device_row(brain_id, device, now, 0))
        return PushReply.model_construct(results=results, seq=plan.seq, root=root)

    async def _check_quota(self, tx: Tx, account_id: str, quota: Quota, plan: PushPlan) -> None:
        """QuotaExceeded (the transaction rolls back: nothing written) past the account's quota.

        The totals are read under this brain's lock, not the account's other brains': pushes to
        two brains of one account at once may both pass and overshoot by at most one push each
        (SQLite runs one writer at a time, so only PostgreSQL can). Locking the account would
        make every push of an account wait for the others."""
        grows = plan.new_records > 0 or plan.new_bytes > 0
        if not grows or not (quota.records or quota.bytes):
            return  # nothing to check: not even the totals need reading
        totals = await tx.one(
            "SELECT COALESCE(SUM(records), 0), COALESCE(SUM(bytes), 0)"
            " FROM brains WHERE account_id = ?",
            (account_id,),
        )
        assert totals is not None  # an aggregate always returns a row
        check_quota(quota, int(totals[0]), int(totals[1]), plan)

    async def _heads(self, tx: Tx, brain_id: str, ids: Sequence[RecordId]) -> dict[RecordId, Head]:
        heads: dict[RecordId, Head] = {}
        for sql, params in self.db.lookups("kind, id, vhash, seq, size, history", brain_id, ids):
            for kind, id_, vhash, seq, size, history in await tx.all(sql, params):
                heads[(kind, id_)] = Head(vhash, seq, size, history=history or "")
        return heads

    async def _fold_buckets(self, tx: Tx, brain_id: str, root: str, deltas: dict[int, str]) -> str:
        """XOR each touched bucket's delta into its row and into the root: O(touched buckets)."""
        touched = sorted(deltas)
        marks = ", ".join(["?"] * len(touched))
        rows = await tx.all(
            f"SELECT bucket, digest FROM buckets WHERE brain_id = ? AND bucket IN ({marks})",
            (brain_id, *touched),
        )
        old: dict[int, str] = dict(rows)
        updates = []
        for bucket in touched:
            updates.append(
                (brain_id, bucket, xor_digest(old.get(bucket, EMPTY_DIGEST), deltas[bucket]))
            )
            root = xor_digest(root, deltas[bucket])
        await tx.executemany(UPSERT_BUCKET, updates)
        return root

    async def pull(
        self,
        account_id: str,
        brain_id: str,
        brain_name: str,
        device: DeviceInfo,
        cursor: int,
        limit: int,
        exclude_device: bool,
        now: int,
    ) -> PullReply:
        async with self.db.transaction("read") as tx:
            # Read the brain before its records: every seq up to brain.seq is committed (seq is
            # given out under the brain's lock), so the query below cannot miss one of them.
            brain = await self._known(tx, account_id, brain_id)
            if brain is None:
                # Nobody pushed to it: an empty page, and no claim (only a push with records
                # claims a brain), so learning an id lets nobody lock its owner out.
                return PullReply.model_construct(
                    records=[], cursor=0, more=False, seq=0, root=EMPTY_DIGEST
                )
            mine = " AND device_id <> ?" if exclude_device else ""
            rows = await tx.all(
                f"SELECT {VERSION_COLUMNS} FROM records WHERE brain_id = ? AND seq > ?{mine}"
                " ORDER BY seq LIMIT ?",
                (brain_id, cursor, *((device.device_id,) if exclude_device else ()), limit + 1),
            )
            more = len(rows) > limit
            records = [_version(row) for row in rows[:limit]]
            last = records[-1].seq if records else 0
            next_cursor = last if more else max(brain.seq, last)
        # After the read, on its own: a pull must never need a write (docs/hub.md).
        async with self._bookkeeping("the device's cursor") as tx:
            await tx.execute(DEVICE_PULLED, _device_row(brain_id, device, now, next_cursor))
        return PullReply.model_construct(
            records=records, cursor=next_cursor, more=more, seq=brain.seq, root=brain.root
        )

    async def digest(self, account_id: str, brain_id: str) -> DigestReply:
        async with self.db.transaction("read") as tx:
            brain = await self._owned(tx, account_id, brain_id)
            rows = await tx.all(
                "SELECT bucket, digest FROM buckets WHERE brain_id = ?", (brain_id,)
            )
        buckets = [EMPTY_DIGEST] * BUCKETS
        for bucket, digest in rows:
            buckets[bucket] = digest
        return DigestReply(root=brain.root, seq=brain.seq, records=brain.records, buckets=buckets)

    async def bucket_entries(
        self,
        account_id: str,
        brain_id: str,
        buckets: Sequence[int],
        after: BucketPosition | None,
        limit: int,
    ) -> BucketPage:
        # One statement per bucket, each a range scan of the (brain_id, bucket, kind, id) index
        # that stops at the page's end: PostgreSQL cannot walk an IN list of buckets in index
        # order, and reads every entry of the brain to sort them instead.
        sql = bucket_page_sql(self.db.byte_order)
        start = (after.bucket, after.kind, after.id) if after else (-1, "", "")
        rows: list[BucketRow] = []
        async with self.db.transaction("read") as tx:
            await self._owned(tx, account_id, brain_id)
            for bucket in sorted(b for b in set(buckets) if b >= start[0]):
                kind, id_ = start[1:] if bucket == start[0] else ("", "")
                rows += await tx.all(sql, (brain_id, bucket, kind, id_, limit + 1 - len(rows)))
                if len(rows) > limit:
                    break
        return BucketPage(rows[:limit], more=len(rows) > limit)

    async def fetch(
        self, account_id: str, brain_id: str, keys: Sequence[RecordKey]
    ) -> list[StoredVersion]:
        async with self.db.transaction("read") as tx:
            await self._owned(tx, account_id, brain_id)
            found = await self._fetch(tx, brain_id, [(key.kind, key.id) for key in keys])
        order = {(key.kind, key.id): n for n, key in enumerate(keys)}
        return sorted(found, key=lambda v: order[(v.kind, v.id)])

    async def _fetch(self, tx: Tx, brain_id: str, ids: Sequence[RecordId]) -> list[StoredVersion]:
        found: list[StoredVersion] = []
        for sql, params in self.db.lookups(VERSION_COLUMNS, brain_id, list(dict.fromkeys(ids))):
            found.extend(_version(row) for row in await tx.all(sql, params))
        return found


def _record_row(brain_id: str, incoming: Incoming, seq: int, history: str) -> Row:
    v = incoming.version
    bucket = bucket_of(v.kind, v.id)
    return (
        *(brain_id, v.kind, v.id, seq, bucket, v.vhash, v.hlc, v.device_id, v.parent),
        *(v.deleted, v.strength, incoming.body_text, incoming.size, history),
    )


def _device_row(brain_id: str, device: DeviceInfo, now: int, cursor: int) -> Row:
    return (brain_id, device.device_id, device.name, device.platform, now, now, cursor)


def _account(row: Row) -> AccountRow:
    account_id, email, created_at, admins, devices, brains, records, size, *times = row
    active = [int(t) for t in times if t is not None]
    return AccountRow(
        account_id=account_id,
        email=email,
        created_at=int(created_at),
        admin_keys=int(admins),
        device_keys=int(devices),
        brains=int(brains),
        records=int(records),  # PostgreSQL sums BIGINT as NUMERIC
        bytes=int(size),
        last_active_at=max(active, default=None),
    )


def _brain_info(brain: BrainRow, devices: int) -> BrainInfo:
    return BrainInfo(
        brain_id=brain.id,
        name=brain.name,
        records=brain.records,
        bytes=brain.bytes,
        seq=brain.seq,
        root=brain.root,
        devices=devices,
        created_at=iso_ms(brain.created_at) or "",
        last_write_at=iso_ms(brain.last_write_at),
    )
