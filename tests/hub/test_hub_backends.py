"""One contract suite for every storage backend (SQLite and PostgreSQL), litestream-style.

Each test gets a fresh store through the parametrized `store` fixture; ids are random so the
PostgreSQL tests can share one throwaway database per session.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import sqlite3
from collections.abc import Iterator
from contextlib import ExitStack, closing, contextmanager
from dataclasses import replace
from pathlib import Path

import psycopg
import pytest

from helpers.hub_records import DEVICE, OTHER_DEVICE, incoming, version
from helpers.hub_targets import throwaway_postgres
from neuralmemory.errors import (
    MSG_KEY_LIMIT,
    MSG_LAST_ADMIN_KEY,
    MSG_QUOTA_RECORDS,
    AccessDenied,
    Conflict,
    HubBusy,
    NotFound,
    QuotaExceeded,
)
from neuralmemory.hub import edge
from neuralmemory.hub.auth import hash_key, new_key
from neuralmemory.hub.backends import Backend, Incoming, Quota, open_backend
from neuralmemory.hub.backends import postgres as postgres_backend
from neuralmemory.hub.backends import sqlite as sqlite_backend
from neuralmemory.hub.backends.migrations import SCHEMA_MIGRATIONS, migrations
from neuralmemory.hub.backends.sqlstore import bucket_page_sql
from neuralmemory.protocol import (
    BUCKETS,
    EMPTY_DIGEST,
    BucketPage,
    BucketPosition,
    DeviceInfo,
    Kind,
    RecordKey,
    bucket_of,
    canonical_json,
    item_digest,
    xor_digest,
)

pytestmark = pytest.mark.anyio
NOW = 1_800_000_000_000
MAX_KEYS = 100


def uid(prefix: str) -> str:
    return prefix + secrets.token_hex(6)


async def account(store: Backend) -> str:
    account_id = uid("acc_")
    _, key = new_key(account_id, "default", NOW, "admin")
    assert await store.create_account(account_id, f"{account_id}@example.com", key)
    return account_id


def root_of(*versions: tuple[str, str, str]) -> str:
    root = EMPTY_DIGEST
    for kind, id_, vhash in versions:
        root = xor_digest(root, item_digest(kind, id_, vhash))
    return root


# ---------------------------------------------------------------- schema


TABLES = {"accounts", "api_keys", "brains", "buckets", "records", "devices", "rate_limits"}


def schema(db_url: str) -> tuple[list[int], set[str]]:
    """The applied migration versions and the tables, read straight from the database."""
    if db_url.startswith("sqlite://"):
        with closing(sqlite3.connect(db_url.removeprefix("sqlite://"))) as db:
            versions = [v for (v,) in db.execute("SELECT version FROM schema_migrations")]
            tables = {t for (t,) in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    else:
        with psycopg.connect(db_url) as db:
            versions = [v for (v,) in db.execute("SELECT version FROM schema_migrations")]
            tables = {
                t
                for (t,) in db.execute(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
                )
            }
    return sorted(versions), tables


async def test_a_blank_database_opened_twice_at_once_migrates_once(
    db_url: str, tmp_path: Path
) -> None:
    with ExitStack() as stack:
        if db_url.startswith("sqlite://"):
            url = f"sqlite://{tmp_path / 'blank.db'}"
        else:
            url = stack.enter_context(throwaway_postgres())
        first, second = await asyncio.gather(open_backend(url), open_backend(url))
        await first.close()
        await second.close()
        versions, tables = schema(url)
        every = [m.version for m in migrations("sqlite")]
        assert versions == every == [m.version for m in migrations("postgres")]
        assert tables >= TABLES | {"usage_daily", "schema_migrations"}
        third = await open_backend(url)  # nothing left to apply
        await third.close()
        assert schema(url)[0] == versions


# Accounts and keys as a hub before key scopes (migration 0001 only) held them:
# ada: registration key, a later device key; bob: registration key revoked, two later keys;
# cy: every key revoked; the local account: one key made after its creation.
OLD_ROWS = """
INSERT INTO schema_migrations (version, name, applied_at) VALUES (1, 'init', 0);
INSERT INTO accounts (id, email, created_at) VALUES
    ('acc_ada', 'ada@example.com', 1000), ('acc_bob', 'bob@example.com', 2000),
    ('acc_cy', 'cy@example.com', 3000);
INSERT INTO api_keys (id, account_id, name, key_hash, key_prefix, created_at, revoked_at) VALUES
    ('key_ada1', 'acc_ada', 'default', 'h1', 'nmk_1', 1000, NULL),
    ('key_ada2', 'acc_ada', 'laptop', 'h2', 'nmk_2', 1500, NULL),
    ('key_bob1', 'acc_bob', 'default', 'h3', 'nmk_3', 2000, 2100),
    ('key_bob3', 'acc_bob', 'phone', 'h5', 'nmk_5', 2300, NULL),
    ('key_bob2', 'acc_bob', 'laptop', 'h4', 'nmk_4', 2200, NULL),
    ('key_cy1', 'acc_cy', 'default', 'h6', 'nmk_6', 3000, 3100),
    ('key_loc1', 'local', 'desktop', 'h7', 'nmk_7', 5000, NULL);
"""


async def test_key_scopes_migrate_to_one_admin_key_per_account(db_url: str, tmp_path: Path) -> None:
    with ExitStack() as stack:
        if db_url.startswith("sqlite://"):
            url = f"sqlite://{tmp_path / 'old.db'}"
            with closing(sqlite3.connect(url.removeprefix("sqlite://"))) as db:
                db.executescript(SCHEMA_MIGRATIONS + ";" + migrations("sqlite")[0].sql + OLD_ROWS)
        else:
            url = stack.enter_context(throwaway_postgres())
            with psycopg.connect(url) as db:
                db.execute(SCHEMA_MIGRATIONS.encode())
                db.execute(migrations("postgres")[0].sql.encode())
                db.execute(OLD_ROWS.encode())
        store = await open_backend(url)
        try:
            scopes = {
                key.key_id: key.scope
                for account_id in ("acc_ada", "acc_bob", "acc_cy", "local")
                for key in await store.list_keys(account_id)
            }
        finally:
            await store.close()
    assert scopes == {
        "key_ada1": "admin",  # made at registration
        "key_ada2": "device",
        "key_bob1": "admin",  # made at registration, though revoked
        "key_bob2": "admin",  # bob's oldest unrevoked key, so bob keeps an admin key
        "key_bob3": "device",
        "key_cy1": "admin",
        "key_loc1": "admin",
    }


# ---------------------------------------------------------------- accounts and keys


async def test_accounts_keys_and_revocation(store: Backend) -> None:
    account_id = uid("acc_")
    secret, key = new_key(account_id, "default", NOW)  # a device key: no admin rule applies
    email = f"{account_id}@example.com"
    assert await store.create_account(account_id, email, key)
    _, again = new_key(uid("acc_"), "default", NOW)
    assert not await store.create_account(uid("acc_"), email, again)  # email taken

    found = await store.find_key(hash_key(secret), NOW + 5_000)
    assert found is not None and found.account_id == account_id
    assert found.last_used_at == NOW + 5_000
    assert await store.find_key(hash_key(secret + "x"), NOW) is None

    _, second = new_key(account_id, "work-laptop", NOW + 1)
    await store.add_key(second, MAX_KEYS)
    listed = await store.list_keys(account_id)
    assert [(k.name, k.scope) for k in listed] == [("default", "device"), ("work-laptop", "device")]

    other = await account(store)
    assert await store.revoke_key(other, second.key_id, NOW) is None  # not theirs
    revoked = await store.revoke_key(account_id, second.key_id, NOW + 7)
    assert revoked is not None and revoked.revoked_at == NOW + 7
    again_revoked = await store.revoke_key(account_id, second.key_id, NOW + 99)
    assert again_revoked is not None and again_revoked.revoked_at == NOW + 7
    stored = await store.find_key(second.key_hash, NOW + 100)
    assert stored is not None and stored.revoked_at == NOW + 7


async def admin_keys(store: Backend, account_id: str, count: int) -> list[str]:
    """Add `count` admin keys to the account; their ids."""
    ids = []
    for n in range(count):
        _, key = new_key(account_id, f"admin-{n}", NOW + n + 1, "admin")
        await store.add_key(key, MAX_KEYS)
        ids.append(key.key_id)
    return ids


async def test_the_last_admin_key_cannot_be_revoked(store: Backend) -> None:
    account_id = await account(store)
    [first] = [k.key_id for k in await store.list_keys(account_id)]
    _, device = new_key(account_id, "phone", NOW + 1)
    await store.add_key(device, MAX_KEYS)
    with pytest.raises(Conflict) as refused:
        await store.revoke_key(account_id, first, NOW + 2)
    assert refused.value.message == MSG_LAST_ADMIN_KEY and refused.value.status == 409
    assert await store.revoke_key(account_id, device.key_id, NOW + 3) is not None  # device: fine

    [second] = await admin_keys(store, account_id, 1)
    revoked = await store.revoke_key(account_id, first, NOW + 4)
    assert revoked is not None and revoked.revoked_at == NOW + 4 and revoked.scope == "admin"
    again = await store.revoke_key(account_id, first, NOW + 5)  # already revoked: no conflict
    assert again is not None and again.revoked_at == NOW + 4
    with pytest.raises(Conflict):
        await store.revoke_key(account_id, second, NOW + 6)
    active = [k for k in await store.list_keys(account_id) if k.revoked_at is None]
    assert [(k.key_id, k.scope) for k in active] == [(second, "admin")]


async def test_concurrent_revokes_of_the_last_two_admin_keys_leave_one(db_url: str) -> None:
    # Two stores on one database: two connections (two processes' worth) racing for real.
    first, second = await open_backend(db_url), await open_backend(db_url)
    try:
        for _ in range(10):
            account_id = await account(first)
            registration = (await first.list_keys(account_id))[0].key_id
            [other] = await admin_keys(first, account_id, 1)
            outcomes = await asyncio.gather(
                first.revoke_key(account_id, registration, NOW + 9),
                second.revoke_key(account_id, other, NOW + 9),
                return_exceptions=True,
            )
            assert sorted(type(o).__name__ for o in outcomes) == ["Conflict", "KeyRow"]
            active = [k for k in await first.list_keys(account_id) if k.revoked_at is None]
            assert [k.scope for k in active] == ["admin"]
    finally:
        await first.close()
        await second.close()


async def test_an_account_holds_at_most_max_keys_unrevoked_keys(store: Backend) -> None:
    account_id = await account(store)
    [spare, *_] = await admin_keys(store, account_id, 2)  # 3 keys now
    _, extra = new_key(account_id, "one-too-many", NOW + 10)
    with pytest.raises(Conflict) as refused:
        await store.add_key(extra, 3)
    assert refused.value.message == MSG_KEY_LIMIT.format(limit=3)
    assert len(await store.list_keys(account_id)) == 3  # nothing written
    await store.revoke_key(account_id, spare, NOW + 11)  # revoked keys do not count
    await store.add_key(extra, 3)
    assert len(await store.list_keys(account_id)) == 4


async def test_the_operator_adds_keys_beyond_the_cap_and_may_revoke_the_last_admin_key(
    store: Backend,
) -> None:
    account_id = await account(store)
    [registration] = await store.list_keys(account_id)
    assert await store.key(registration.key_id) == registration
    assert await store.key("key_" + "0" * 20) is None
    _, extra = new_key(account_id, "recovery", NOW + 1, "admin")
    with pytest.raises(Conflict):
        await store.add_key(extra, 1)
    await store.add_key(extra, None)  # the operator's recovery key: no cap
    assert [k.key_id for k in await store.list_keys(account_id)][-1] == extra.key_id

    await store.revoke_key(account_id, registration.key_id, NOW + 2)
    with pytest.raises(Conflict):
        await store.revoke_key(account_id, extra.key_id, NOW + 3)
    forced = await store.revoke_key(account_id, extra.key_id, NOW + 3, keep_last_admin=False)
    assert forced is not None and forced.revoked_at == NOW + 3
    [summary] = await store.accounts(account_id=account_id)
    assert (summary.admin_keys, summary.device_keys) == (0, 0)


async def test_accounts_and_brains_as_the_operator_sees_them(store: Backend) -> None:
    ada, bob = await account(store), await account(store)
    _, phone = new_key(ada, "phone", NOW + 1)
    _, old = new_key(ada, "old-laptop", NOW + 2)
    await store.add_key(phone, MAX_KEYS)
    await store.add_key(old, MAX_KEYS)
    await store.revoke_key(ada, old.key_id, NOW + 3)  # revoked keys are not counted
    notes, work = uid("notes-"), uid("work-")
    await store.push(ada, notes, "notes", DEVICE, incoming(version("a"), version("b")), NOW + 10)
    await store.push(ada, work, "work", DEVICE, incoming(version("c")), NOW + 20)
    await store.pull(ada, notes, "notes", OTHER_DEVICE, 0, 10, True, NOW + 30)
    await store.find_key(phone.key_hash, NOW + 25)

    [summary] = await store.accounts(email=f"{ada}@example.com")
    sizes = {b.brain_id: b.bytes for b in await store.brains(ada)}
    assert summary.account_id == ada and summary.email == f"{ada}@example.com"
    assert (summary.admin_keys, summary.device_keys) == (1, 1)
    assert (summary.brains, summary.records) == (2, 3)
    assert summary.bytes == sum(sizes.values()) > 0
    assert summary.created_at == NOW
    assert summary.last_active_at == NOW + 30  # the latest of key use, write and sync
    [quiet] = await store.accounts(account_id=bob)
    assert (quiet.brains, quiet.records, quiet.bytes, quiet.last_active_at) == (0, 0, 0, None)
    assert await store.accounts(email="nobody@example.com") == []
    everyone = {a.account_id: a for a in await store.accounts()}
    assert {ada, bob, "local"} <= set(everyone) and everyone["local"].email is None

    owned = await store.owned_brains(ada)
    assert [(o.brain.brain_id, o.brain.name, o.brain.records) for o in owned] == [
        (notes, "notes", 2),
        (work, "work", 1),
    ]
    assert [o.brain.devices for o in owned] == [2, 1]
    assert {(o.account_id, o.email) for o in owned} == {(ada, f"{ada}@example.com")}
    assert await store.owned_brains(bob) == []
    assert {notes, work} <= {o.brain.brain_id for o in await store.owned_brains()}


async def test_hits_count_per_window_and_requests_per_day(store: Backend) -> None:
    account_id = await account(store)
    subject = uid("key:")
    counts = [await store.hit([subject], 60_000, account_id, "2027-01-15") for _ in range(3)]
    assert counts == [[1], [2], [3]]
    assert await store.hit([subject], 120_000, account_id, "2027-01-15") == [1]  # next window
    assert await store.hit([subject], 60_000, account_id, "2027-01-15") == [2]  # never back
    assert await store.hit([], 60_000, account_id, "2027-01-15") == []  # usage only
    usage = await store.usage(account_id, "2027-01-15")
    assert usage.requests_today == 6
    assert (await store.usage(account_id, "2027-01-16")).requests_today == 0


async def test_one_request_counts_against_its_key_and_its_account(store: Backend) -> None:
    account_id = await account(store)
    key_a, key_b, shared = uid("key:"), uid("key:"), "acct:" + account_id
    assert await store.hit([key_a, shared], 60_000, account_id, "2027-01-15") == [1, 1]
    assert await store.hit([key_b, shared], 60_000, account_id, "2027-01-15") == [1, 2]
    assert await store.hit([key_a, shared], 60_000, account_id, "2027-01-15") == [2, 3]
    # one request is one of the account's requests today, however many subjects it counts for
    assert (await store.usage(account_id, "2027-01-15")).requests_today == 3


# ---------------------------------------------------------------- push: quotas


async def test_a_push_past_the_account_quota_writes_nothing(store: Backend) -> None:
    owner = await account(store)
    first, second = uid("brain-"), uid("brain-")
    await store.push(owner, first, "default", DEVICE, incoming(version("m-1")), NOW, Quota(2, 0))
    before = await store.usage(owner, "2027-01-15")
    # the second brain is counted with the first: 1 + 2 records > 2
    with pytest.raises(QuotaExceeded) as refused:
        two = incoming(version("m-2"), version("m-3"))
        await store.push(owner, second, "default", DEVICE, two, NOW, Quota(2, 0))
    assert refused.value.status == 413 and refused.value.code == "quota_exceeded"
    assert refused.value.message == MSG_QUOTA_RECORDS.format(
        used=1, limit=2, added=2, setting="nmem serve --quota-records"
    )
    assert await store.usage(owner, "2027-01-15") == before  # not even the brain was claimed
    assert [b.brain_id for b in await store.brains(owner)] == [first]


async def test_at_the_quota_a_push_that_does_not_grow_the_account_is_accepted(
    store: Backend,
) -> None:
    owner = await account(store)
    brain = uid("brain-")
    big = version("m-1", body={"content": "x" * 1000})
    await store.push(owner, brain, "default", DEVICE, incoming(big), NOW)
    full = Quota(1, (await store.usage(owner, "2027-01-15")).bytes)
    with pytest.raises(QuotaExceeded):  # one byte more
        grown = version("m-1", parent=big.vhash, counter=1, body={"content": "x" * 1001})
        await store.push(owner, brain, "default", DEVICE, incoming(grown), NOW, full)
    shrunk = version("m-1", parent=big.vhash, counter=1, body={"content": "x" * 10})
    gone = version("m-1", parent=shrunk.vhash, counter=2, deleted=True, body={})
    for edit in (shrunk, shrunk, gone):  # an edit that shrinks, its retry, a deletion
        reply = await store.push(owner, brain, "default", DEVICE, incoming(edit), NOW, full)
        assert reply.results[0].status in ("accepted", "unchanged")
    usage = await store.usage(owner, "2027-01-15")
    assert usage.records == 1 and usage.bytes < full.bytes


# ---------------------------------------------------------------- push: compare-and-swap


async def test_push_accepts_acks_fast_forwards_and_refuses_stale(store: Backend) -> None:
    owner = await account(store)
    brain = uid("brain-")
    v1 = version("m-1")
    reply = await store.push(owner, brain, "default", DEVICE, incoming(v1), NOW)
    assert [(r.status, r.seq) for r in reply.results] == [("accepted", 1)]
    assert reply.seq == 1 and reply.root == root_of(("memory", "m-1", v1.vhash))

    retry = await store.push(owner, brain, "default", DEVICE, incoming(v1), NOW)
    assert [(r.status, r.seq) for r in retry.results] == [("unchanged", 1)]
    assert retry.seq == 1 and retry.root == reply.root

    v2 = version("m-1", parent=v1.vhash, counter=1, body={"content": "edited"})
    stale = version("m-1", parent=None, device_id="dev-b", body={"content": "concurrent"})
    both = await store.push(owner, brain, "default", DEVICE, incoming(v2, stale), NOW)
    assert [r.status for r in both.results] == ["accepted", "conflict"]
    current = both.results[1].current
    assert current is not None and current.vhash == v2.vhash and current.seq == 2
    assert current.body == {"content": "edited"}

    # a conflict against the database (not against this batch) carries the stored version too
    late = await store.push(owner, brain, "default", DEVICE, incoming(stale), NOW)
    assert late.results[0].status == "conflict"
    assert late.results[0].current is not None and late.results[0].current.vhash == v2.vhash
    info = await store.brain(owner, brain)
    assert (info.seq, info.records, info.root) == (2, 1, root_of(("memory", "m-1", v2.vhash)))


async def test_successive_edits_in_one_batch_and_tombstones(store: Backend) -> None:
    owner = await account(store)
    brain = uid("brain-")
    v1 = version("m-1")
    v2 = version("m-1", parent=v1.vhash, counter=1, body={"content": "two"})
    gone = version("m-1", parent=v2.vhash, counter=2, deleted=True)
    reply = await store.push(owner, brain, "default", DEVICE, incoming(v1, v2, gone), NOW)
    assert [(r.status, r.seq) for r in reply.results] == [
        ("accepted", 1),
        ("accepted", 2),
        ("accepted", 3),
    ]
    fetched = await store.fetch(owner, brain, [RecordKey(kind="memory", id="m-1")])
    assert [(v.deleted, v.body, v.seq) for v in fetched] == [(True, {}, 3)]
    info = await store.brain(owner, brain)
    assert info.records == 1 and info.bytes == incoming(gone)[0].size
    assert info.root == root_of(("memory", "m-1", gone.vhash))


async def test_a_failing_push_writes_nothing(store: Backend) -> None:
    owner = await account(store)
    brain = uid("brain-")
    await store.push(owner, brain, "default", DEVICE, incoming(version("m-0")), NOW)
    before = await store.digest(owner, brain)
    broken = DeviceInfo.model_construct(device_id="dev-a", name=None, platform="linux")
    with pytest.raises(Exception):  # noqa: B017 - the database refuses NULL; which class is its own
        await store.push(owner, brain, "default", broken, incoming(version("m-1")), NOW)
    assert await store.digest(owner, brain) == before
    assert await store.fetch(owner, brain, [RecordKey(kind="memory", id="m-1")]) == []


async def test_concurrent_pushes_get_gapless_seqs_and_one_cas_winner(store: Backend) -> None:
    owner = await account(store)
    brain = uid("brain-")
    base = version("shared")
    await store.push(owner, brain, "default", DEVICE, incoming(base), NOW)

    async def writer(n: int) -> list[str]:
        own = [version(f"w{n}-{i}", device_id=f"dev-{n}") for i in range(5)]
        edit = version("shared", parent=base.vhash, device_id=f"dev-{n}", body={"by": n})
        device = DeviceInfo(device_id=f"dev-{n}", name=f"device {n}")
        reply = await store.push(owner, brain, "default", device, incoming(*own, edit), NOW)
        return [r.status for r in reply.results]

    statuses = await asyncio.gather(*(writer(n) for n in range(8)))
    assert sorted(s[-1] for s in statuses) == ["accepted"] + ["conflict"] * 7
    assert all(s[:-1] == ["accepted"] * 5 for s in statuses)
    page = await store.pull(owner, brain, "default", DEVICE, 0, 1000, False, NOW)
    # 1 + 8 * 5 + 1 accepted writes; "shared" was rewritten so its first seq is gone from the feed
    assert page.seq == 42
    seqs = [r.seq for r in page.records]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs) == 41


# ---------------------------------------------------------------- pull


async def test_pull_pages_in_seq_order_and_skips_own_writes(store: Backend) -> None:
    owner = await account(store)
    brain = uid("brain-")
    mine = [version(f"a-{i}") for i in range(3)]
    theirs = [version(f"b-{i}", device_id="dev-b") for i in range(3)]
    await store.push(owner, brain, "default", DEVICE, incoming(*mine), NOW)
    await store.push(owner, brain, "default", OTHER_DEVICE, incoming(*theirs), NOW)

    first = await store.pull(owner, brain, "default", DEVICE, 0, 4, False, NOW)
    assert [r.id for r in first.records] == ["a-0", "a-1", "a-2", "b-0"]
    assert (first.cursor, first.more, first.seq) == (4, True, 6)
    second = await store.pull(owner, brain, "default", DEVICE, first.cursor, 4, False, NOW)
    assert [r.id for r in second.records] == ["b-1", "b-2"]
    assert (second.cursor, second.more) == (6, False)
    assert second.records[0].vhash == theirs[1].vhash  # versions come back exactly

    others = await store.pull(owner, brain, "default", DEVICE, 0, 500, True, NOW)
    assert [r.id for r in others.records] == ["b-0", "b-1", "b-2"]
    assert (others.cursor, others.more) == (6, False)
    nothing_new = await store.pull(owner, brain, "default", OTHER_DEVICE, 0, 500, True, NOW)
    assert [r.id for r in nothing_new.records] == ["a-0", "a-1", "a-2"]

    devices = {d.device_id: d for d in await store.devices(owner, brain)}
    assert devices["dev-a"].cursor == 6 and devices["dev-a"].name == "laptop"
    assert devices["dev-b"].platform == "darwin" and devices["dev-b"].last_sync_at is not None


async def test_only_a_push_with_records_claims_a_brain(store: Backend) -> None:
    early, owner = await account(store), await account(store)
    brain = uid("brain-")
    # Whoever learns an id first cannot take it: a pull or an empty push claims nothing.
    empty = await store.pull(early, brain, "work", DEVICE, 7, 10, False, NOW)
    assert (empty.records, empty.cursor, empty.more) == ([], 0, False)
    assert (empty.seq, empty.root) == (0, EMPTY_DIGEST)
    nothing = await store.push(early, brain, "work", DEVICE, [], NOW)
    assert (nothing.results, nothing.seq, nothing.root) == ([], 0, EMPTY_DIGEST)
    assert await store.brains(early) == []
    with pytest.raises(NotFound):
        await store.devices(early, brain)  # no brain row, so no device row either

    v = version("m-1")
    claimed = await store.push(owner, brain, "work", DEVICE, incoming(v), NOW)
    assert [r.status for r in claimed.results] == ["accepted"]
    for refused in (
        store.pull(early, brain, "work", DEVICE, 0, 10, False, NOW),
        store.push(early, brain, "work", DEVICE, [], NOW),
        store.push(early, brain, "work", DEVICE, incoming(version("m-2")), NOW),
    ):
        with pytest.raises(AccessDenied):
            await refused
    [info] = await store.brains(owner)
    assert (info.brain_id, info.name, info.devices, info.records) == (brain, "work", 1, 1)
    page = await store.pull(owner, brain, "work", OTHER_DEVICE, 0, 10, False, NOW)
    assert [r.vhash for r in page.records] == [v.vhash] and page.cursor == 1


# ---------------------------------------------------------------- digest


async def test_digest_is_the_same_whatever_the_order_of_writes(store: Backend) -> None:
    owner = await account(store)
    v = [version(f"m-{i}", kind=kind) for i, kind in enumerate(["memory", "link", "activation"])]
    edit = version("m-0", parent=v[0].vhash, counter=1, body={"content": "new"})
    one, two = uid("brain-"), uid("brain-")
    await store.push(owner, one, "default", DEVICE, incoming(v[0], v[1], v[2], edit), NOW)
    await store.push(owner, two, "default", DEVICE, incoming(v[2], v[0]), NOW)
    await store.push(owner, two, "default", DEVICE, incoming(edit, v[1]), NOW)
    first, second = await store.digest(owner, one), await store.digest(owner, two)
    expected = root_of(("memory", "m-0", edit.vhash), ("link", "m-1", v[1].vhash))
    expected = xor_digest(expected, item_digest("activation", "m-2", v[2].vhash))
    assert first.root == second.root == expected
    assert first.buckets == second.buckets and len(first.buckets) == BUCKETS
    assert first.records == 3

    wanted = sorted({bucket_of("link", "m-1"), bucket_of("memory", "m-0")})
    page = await store.bucket_entries(owner, one, wanted, None, 100)
    assert {row[1:4] for row in page.rows} == {
        ("memory", "m-0", edit.vhash),
        ("link", "m-1", v[1].vhash),
    }
    assert not page.more
    for bucket, *_ in page.rows:
        assert first.buckets[bucket] != EMPTY_DIGEST


# ---------------------------------------------------------------- paged bucket listings

#: ids whose byte order differs from a locale's (case, punctuation), so the order is pinned
ID_FORMS = ("m-{}", "M{}", "m.{}", "m_{}", "a{}z", "Z-{}")


async def bucket_brain(store: Backend) -> tuple[str, str, list[tuple[int, Kind, str, str]]]:
    """A brain of 480 records over every kind; its entries as (bucket, kind, id, vhash), sorted."""
    owner, brain = await account(store), uid("brain-")
    kinds = ("memory", "link", "activation", "conflict")
    versions = [version(form.format(n), kind=kinds[n % 4]) for form in ID_FORMS for n in range(80)]
    await store.push(owner, brain, "default", DEVICE, incoming(*versions), NOW)
    entries = sorted((bucket_of(v.kind, v.id), v.kind, v.id, v.vhash) for v in versions)
    return owner, brain, entries


async def listing(
    store: Backend, owner: str, brain: str, buckets: list[int], limit: int
) -> list[BucketPage]:
    pages = [await store.bucket_entries(owner, brain, buckets, None, limit)]
    while pages[-1].more:
        bucket, kind, id_, *_ = pages[-1].rows[-1]
        after = BucketPosition.model_validate({"bucket": bucket, "kind": kind, "id": id_})
        pages.append(await store.bucket_entries(owner, brain, buckets, after, limit))
    return pages


@pytest.mark.parametrize("limit", [1, 7, 64])
async def test_a_bucket_listing_pages_through_every_entry_once_in_order(
    store: Backend, limit: int
) -> None:
    owner, brain, entries = await bucket_brain(store)
    wanted = list(range(0, BUCKETS, 3))  # some buckets empty, most holding several records
    expected = [e for e in entries if e[0] in wanted]
    pages = await listing(store, owner, brain, list(reversed(wanted)) + wanted[:5], limit)
    listed = [row[:4] for page in pages for row in page.rows]
    assert listed == expected  # every entry exactly once, in (bucket, kind, id) byte order
    assert all(len(p.rows) == limit and p.more for p in pages[:-1])
    assert 0 < len(pages[-1].rows) <= limit and not pages[-1].more
    if limit > 1:  # some page ends one bucket and begins the next
        assert any(len({row[0] for row in page.rows}) > 1 for page in pages)
    seqs = {row[2]: row[4] for page in pages for row in page.rows}
    assert sorted(seqs.values()) == sorted(set(seqs.values())) and min(seqs.values()) >= 1


async def test_a_bucket_listing_ends_exactly_and_resumes_from_any_position(
    store: Backend,
) -> None:
    owner, brain, entries = await bucket_brain(store)
    wanted = sorted({e[0] for e in entries[:40]})
    expected = [e for e in entries if e[0] in wanted]
    whole = await store.bucket_entries(owner, brain, wanted, None, len(expected))
    assert [r[:4] for r in whole.rows] == expected and not whole.more  # a full page, no more
    short = await store.bucket_entries(owner, brain, wanted, None, len(expected) - 1)
    assert short.more
    # A position need not be an entry, nor in a listed bucket: the listing goes on after it.
    for bucket, kind, id_ in [
        (wanted[0], "link", "M"),
        (wanted[1] - 1, "zzz", "z"),
        (255, "z", "z"),
    ]:
        after = BucketPosition.model_construct(bucket=bucket, kind=kind, id=id_)
        page = await store.bucket_entries(owner, brain, wanted, after, 10_000)
        assert [r[:4] for r in page.rows] == [e for e in expected if e[:3] > (bucket, kind, id_)]
        assert not page.more


async def test_a_bucket_page_is_one_range_scan_of_an_index(db_url: str, store: Backend) -> None:
    """No sort, no read of the brain's other buckets, no visit to the table: a page costs the
    same in a brain of any size."""
    _, brain, _ = await bucket_brain(store)
    params = (brain, 7, "link", "M", 101)
    if db_url.startswith("sqlite://"):
        with closing(sqlite3.connect(db_url.removeprefix("sqlite://"))) as db:
            plan = " ".join(
                row[-1] for row in db.execute("EXPLAIN QUERY PLAN " + bucket_page_sql(""), params)
            )
        assert "USING COVERING INDEX" in plan and "(kind,id)>(?,?)" in plan
        assert "B-TREE" not in plan
    else:
        with psycopg.connect(db_url) as db:
            db.execute("SET enable_seqscan = off")  # a tiny table: ask for the plan of a big one
            sql = bucket_page_sql(' COLLATE "C"').replace("?", "%s")
            plan = " ".join(row[0] for row in db.execute("EXPLAIN " + sql, params))
        assert "Index Only Scan" in plan and "ROW(" in plan and "Sort" not in plan, plan


# ---------------------------------------------------------------- saturation is busy, not a crash


async def test_sqlite_locked_past_the_busy_timeout_is_busy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_backend, "BUSY_TIMEOUT_MS", 100)
    path = tmp_path / "hub.db"
    store = await open_backend(f"sqlite://{path}")
    try:
        owner = await account(store)
        with closing(sqlite3.connect(path, isolation_level=None)) as other_process:
            other_process.execute("BEGIN IMMEDIATE")  # holds the write lock
            with pytest.raises(HubBusy):
                await store.push(
                    owner, uid("brain-"), "default", DEVICE, incoming(version("m")), NOW
                )
            assert await store.brains(owner) == []  # reads go on meanwhile (WAL)
            other_process.execute("ROLLBACK")
        brain = uid("brain-")
        reply = await store.push(owner, brain, "default", DEVICE, incoming(version("m")), NOW)
        assert reply.seq == 1  # the writer connection was left clean
    finally:
        await store.close()


@contextmanager
def brain_row_locked(url: str, brain: str) -> Iterator[psycopg.Connection[tuple[int]]]:
    """Another PostgreSQL session holding a push's lock on the brain row."""
    with psycopg.connect(url) as other, other.transaction():
        other.execute("SELECT 1 FROM brains WHERE id = %s FOR UPDATE", (brain,))
        yield other


async def until_waiting_on_locks(session: psycopg.Connection[tuple[int]], count: int) -> None:
    """Until `count` sessions of this database wait on a lock (bounded: 30 s)."""
    for _ in range(3000):
        (waiting,) = session.execute(
            "SELECT COUNT(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND wait_event_type = 'Lock'"
        ).fetchone() or (0,)
        if waiting >= count:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{count} sessions never waited on the lock")


@pytest.mark.postgres
async def test_postgres_statement_timeout_is_busy(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(postgres_backend, "STATEMENT_TIMEOUT_MS", 200)
    store = await open_backend(pg_url)
    try:
        owner, brain = await account(store), uid("brain-")
        await store.push(owner, brain, "default", DEVICE, incoming(version("m-1")), NOW)
        with brain_row_locked(pg_url, brain), pytest.raises(HubBusy):
            await store.push(owner, brain, "default", DEVICE, incoming(version("m-2")), NOW)
        reply = await store.push(owner, brain, "default", DEVICE, incoming(version("m-2")), NOW)
        assert reply.seq == 2  # the cancelled push left nothing behind
    finally:
        await store.close()


@pytest.mark.postgres
async def test_postgres_pool_exhaustion_is_busy(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(postgres_backend, "POOL_MAX", 2)
    monkeypatch.setattr(postgres_backend, "POOL_WAIT_S", 0.2)
    store = await open_backend(pg_url)
    try:
        owner, brain = await account(store), uid("brain-")
        await store.push(owner, brain, "default", DEVICE, incoming(version("m-0")), NOW)
        with brain_row_locked(pg_url, brain) as other:
            # Two pushes wait on the lock, holding both pooled connections.
            held = [
                asyncio.ensure_future(
                    store.push(owner, brain, "default", DEVICE, incoming(version(f"m-{n}")), NOW)
                )
                for n in (1, 2)
            ]
            await until_waiting_on_locks(other, 2)
            with pytest.raises(HubBusy):
                await store.brains(owner)
        assert sorted([(await push).seq for push in held]) == [2, 3]
        assert len(await store.brains(owner)) == 1
    finally:
        await store.close()


# ---------------------------------------------------------------- ownership


async def test_every_brain_scoped_call_refuses_another_account(store: Backend) -> None:
    owner, stranger = await account(store), await account(store)
    brain = uid("brain-")
    await store.push(owner, brain, "default", DEVICE, incoming(version("m-1")), NOW)
    refused = [
        store.push(stranger, brain, "default", DEVICE, incoming(version("m-2")), NOW),
        store.pull(stranger, brain, "default", DEVICE, 0, 10, False, NOW),
        store.brain(stranger, brain),
        store.digest(stranger, brain),
        store.bucket_entries(stranger, brain, [0], None, 10),
        store.fetch(stranger, brain, [RecordKey(kind="memory", id="m-1")]),
        store.devices(stranger, brain),
    ]
    for call in refused:
        with pytest.raises(AccessDenied):
            await call
    assert await store.brains(stranger) == []
    unknown = uid("brain-")
    for missing in (
        store.brain(owner, unknown),
        store.digest(owner, unknown),
        store.devices(owner, unknown),
    ):
        with pytest.raises(NotFound):
            await missing


async def test_usage_adds_up_the_accounts_brains(store: Backend) -> None:
    owner = await account(store)
    records = incoming(version("m-1"), version("m-2"))
    await store.push(owner, uid("brain-"), "default", DEVICE, records, NOW)
    await store.push(owner, uid("brain-"), "work", OTHER_DEVICE, records[:1], NOW)
    usage = await store.usage(owner, "2027-01-15")
    assert (usage.brains, usage.records, usage.devices) == (2, 3, 2)
    assert usage.bytes == records[0].size * 2 + records[1].size


async def test_key_rows_never_hold_the_key(store: Backend) -> None:
    account_id = await account(store)
    secret, key = new_key(account_id, "phone", NOW + 1)
    await store.add_key(key, MAX_KEYS)
    [_, row] = await store.list_keys(account_id)
    assert secret not in repr(replace(row))
    assert row.key_prefix == secret[:12] and row.key_hash == hash_key(secret)


def test_incoming_text_and_size_are_canonical() -> None:
    # The edge reads 1.0 as 1, which makes the fast compact JSON the canonical one.
    raw = '{"content": "caf\\u00e9 \\u2713", "n": 1.0, "big": 1e3, "z": [1, {"b": 2, "a": 3}]}'
    v = version("m-1", body=json.loads(raw, parse_float=edge._number))
    pushed = Incoming.of(v)
    assert pushed.body_text.encode("utf-8") == canonical_json(v.body)
    assert pushed.size == v.size()
