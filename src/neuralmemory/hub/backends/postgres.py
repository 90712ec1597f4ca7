"""The hub on PostgreSQL (psycopg 3, an async connection pool); several hub processes may share it.

Each request is one READ COMMITTED transaction on a pooled connection. A push locks its brain row
(FOR UPDATE) before it reads heads, so concurrent pushes to one brain queue up, seq is given out
gaplessly, and a seq becomes visible only after every smaller one. psycopg prepares statements a
connection runs repeatedly, so the hot path is not parsed again.

Saturation is a 503 the client retries, never a 500: a request that finds every pooled connection
busy for POOL_WAIT_S, or a statement cut off by the server's statement timeout, is refused as
`busy` (the hub's per-account bound, app.py, keeps one account from taking the whole pool). A
write the server has no disk space for is `storage_full` (507); one to a read-only database (a
standby, default_transaction_read_only) is `read_only` (503).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlsplit

import psycopg
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from neuralmemory.errors import (
    HINT_POSTGRES_UNREACHABLE,
    MSG_POSTGRES_UNREACHABLE,
    HubBusy,
    StorageFull,
    StorageReadOnly,
    StoreError,
)
from neuralmemory.hub.backends.cas import RecordId
from neuralmemory.hub.backends.migrations import SCHEMA_MIGRATIONS, migrations
from neuralmemory.hub.backends.sqlstore import Mode, Row, SqlStore

POOL_MAX = 10
POOL_WAIT_S = 5  # a request waits this long for a pooled connection, then gets 503 busy
STATEMENT_TIMEOUT_MS = 10_000  # a statement running longer is cancelled by the server: 503 busy
CONNECT_TIMEOUT_S = 10
PROBES = 1000  # keys per lookup statement
MIGRATION_LOCK = 0x6E6D656D  # "nmem": one advisory lock id, held while a process migrates

_converted: dict[str, str] = {}


def _pg(sql: str) -> str:
    """The store's `?` placeholders as psycopg's `%s` (its statements contain no other ? or %)."""
    text = _converted.get(sql)
    if text is None:
        text = _converted[sql] = sql.replace("?", "%s")
    return text


class PostgresTx:
    def __init__(self, conn: psycopg.AsyncConnection[Row]) -> None:
        self.conn = conn

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        await self.conn.execute(_pg(sql), params)

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        async with self.conn.cursor() as cur:
            await cur.executemany(_pg(sql), rows)

    async def one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        cur = await self.conn.execute(_pg(sql), params)
        return await cur.fetchone()

    async def all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        cur = await self.conn.execute(_pg(sql), params)
        return await cur.fetchall()


def probes(columns: str, brain_id: str, ids: Sequence[RecordId]) -> Iterator[tuple[str, list[Any]]]:
    """One primary-key probe per record, whatever the planner's statistics say.

    With `id IN (...)` PostgreSQL may pick a scan of the whole brain and filter it (it does while
    a big push is outrunning ANALYZE); the LIMIT inside LATERAL keeps each key its own lookup.
    """
    for start in range(0, len(ids), PROBES):
        part = ids[start : start + PROBES]
        sql = (
            "SELECT r.* FROM unnest(?::text[], ?::text[]) AS k(kind, id),"
            f" LATERAL (SELECT {columns} FROM records"
            " WHERE brain_id = ? AND kind = k.kind AND id = k.id LIMIT 1) AS r"
        )
        yield sql, [[kind for kind, _ in part], [id_ for _, id_ in part], brain_id]


class PostgresDatabase:
    lock_clause = " FOR UPDATE"
    # Byte order whatever the database's locale, as SQLite and the Worker compare text.
    byte_order = ' COLLATE "C"'
    lookups = staticmethod(probes)

    def __init__(self, url: str) -> None:
        # Autocommit: a read is one round trip, not BEGIN, SELECT, COMMIT (and READ COMMITTED
        # gives a transaction of reads no common snapshot anyway). Commits do not wait for the
        # disk unless a transaction asks to (see transaction).
        self.pool: AsyncConnectionPool[psycopg.AsyncConnection[Row]] = AsyncConnectionPool(
            url,
            min_size=2,
            max_size=POOL_MAX,
            timeout=POOL_WAIT_S,
            open=False,
            kwargs={
                "autocommit": True,
                "options": f"-c synchronous_commit=off -c statement_timeout={STATEMENT_TIMEOUT_MS}",
            },
        )

    @asynccontextmanager
    async def transaction(self, mode: Mode) -> AsyncIterator[PostgresTx]:
        try:
            async with self.pool.connection() as conn:
                if mode != "durable":
                    # Reads and soft writes need no atomicity across statements: each commits
                    # alone.
                    yield PostgresTx(conn)
                    return
                async with conn.transaction():
                    await conn.execute("SET LOCAL synchronous_commit TO on")
                    yield PostgresTx(conn)
        except (PoolTimeout, psycopg.errors.QueryCanceled):
            raise HubBusy() from None
        except psycopg.errors.DiskFull:  # 53100: "could not extend file": no space left
            raise StorageFull() from None
        except psycopg.errors.ReadOnlySqlTransaction:  # 25006: a standby, or made read-only
            raise StorageReadOnly() from None

    async def migrate(self) -> None:
        async with self.pool.connection() as conn, conn.transaction():
            # Held to the end of this transaction: a second process starting now waits, then
            # finds every migration applied. DDL is transactional, so a failure applies nothing.
            await conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
            # A migration may build an index over every record: no statement timeout here.
            await conn.execute("SET LOCAL statement_timeout = 0")
            await conn.execute(SCHEMA_MIGRATIONS)
            cur = await conn.execute("SELECT version FROM schema_migrations")
            applied = {row[0] for row in await cur.fetchall()}
            for migration in migrations("postgres"):
                if migration.version in applied:
                    continue
                await conn.execute(migration.sql.encode("utf-8"))
                await conn.execute(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (%s, %s, %s)",
                    (migration.version, migration.name, int(time.time() * 1000)),
                )

    async def close(self) -> None:
        await self.pool.close()


async def open_postgres(url: str) -> SqlStore:
    db = PostgresDatabase(url)
    try:
        await db.pool.open(wait=True, timeout=CONNECT_TIMEOUT_S)
    except PoolTimeout:
        await db.pool.close()
        where = urlsplit(url)
        raise StoreError(
            MSG_POSTGRES_UNREACHABLE.format(
                host=where.hostname, port=where.port or 5432, path=where.path
            ),
            hint=HINT_POSTGRES_UNREACHABLE,
        ) from None
    try:
        await db.migrate()
    except BaseException:
        await db.pool.close()
        raise
    return SqlStore(db)
