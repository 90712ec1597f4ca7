"""One contract suite for every storage backend (SQLite and PostgreSQL), litestream-style.

Each test gets a fresh store through the parametrized `store` fixture; ids are random so the
PostgreSQL tests can share one throwaway database per session.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import sqlite3
from contextlib import ExitStack, closing
from dataclasses import replace
from pathlib import Path

import psycopg
import pytest
from hub_records import DEVICE, OTHER_DEVICE, incoming, version
from hub_targets import throwaway_postgres

from neuralmemory.errors import AccessDenied, NotFound
from neuralmemory.hub import edge
from neuralmemory.hub.auth import hash_key, new_key
from neuralmemory.hub.backends import Backend, Incoming, open_backend
from neuralmemory.hub.backends.migrations import migrations
from neuralmemory.protocol import (
    BUCKETS,
    EMPTY_DIGEST,
    DeviceInfo,
    RecordKey,
    bucket_of,
    canonical_json,
    item_digest,
    xor_digest,
)

pytestmark = pytest.mark.anyio
NOW = 1_800_000_000_000


def uid(prefix: str) -> str:
    return prefix + secrets.token_hex(6)


async def account(store: Backend) -> str:
    account_id = uid("acc_")
    _, key = new_key(account_id, "default", NOW)
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
        assert versions == [m.version for m in migrations("sqlite")]
        assert tables >= TABLES | {"usage_daily", "schema_migrations"}
        third = await open_backend(url)  # nothing left to apply
        await third.close()
        assert schema(url)[0] == versions


# ---------------------------------------------------------------- accounts and keys


async def test_accounts_keys_and_revocation(store: Backend) -> None:
    account_id = uid("acc_")
    secret, key = new_key(account_id, "default", NOW)
    email = f"{account_id}@example.com"
    assert await store.create_account(account_id, email, key)
    _, again = new_key(uid("acc_"), "default", NOW)
    assert not await store.create_account(uid("acc_"), email, again)  # email taken

    found = await store.find_key(hash_key(secret), NOW + 5_000)
    assert found is not None and found.account_id == account_id
    assert found.last_used_at == NOW + 5_000
    assert await store.find_key(hash_key(secret + "x"), NOW) is None

    _, second = new_key(account_id, "work-laptop", NOW + 1)
    await store.add_key(second)
    assert [k.name for k in await store.list_keys(account_id)] == ["default", "work-laptop"]

    other = await account(store)
    assert await store.revoke_key(other, second.key_id, NOW) is None  # not theirs
    revoked = await store.revoke_key(account_id, second.key_id, NOW + 7)
    assert revoked is not None and revoked.revoked_at == NOW + 7
    again_revoked = await store.revoke_key(account_id, second.key_id, NOW + 99)
    assert again_revoked is not None and again_revoked.revoked_at == NOW + 7
    stored = await store.find_key(second.key_hash, NOW + 100)
    assert stored is not None and stored.revoked_at == NOW + 7


async def test_hits_count_per_window_and_requests_per_day(store: Backend) -> None:
    account_id = await account(store)
    subject = uid("key:")
    counts = [await store.hit(subject, 60_000, account_id, "2027-01-15") for _ in range(3)]
    assert counts == [1, 2, 3]
    assert await store.hit(subject, 120_000, account_id, "2027-01-15") == 1  # next window
    assert await store.hit(subject, 60_000, account_id, "2027-01-15") == 2  # never moves back
    usage = await store.usage(account_id, "2027-01-15")
    assert usage.requests_today == 5
    assert (await store.usage(account_id, "2027-01-16")).requests_today == 0


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


async def test_pull_claims_an_unknown_brain(store: Backend) -> None:
    owner = await account(store)
    brain = uid("brain-")
    empty = await store.pull(owner, brain, "work", DEVICE, 0, 10, False, NOW)
    assert (empty.records, empty.cursor, empty.more, empty.root) == ([], 0, False, EMPTY_DIGEST)
    [info] = await store.brains(owner)
    assert (info.brain_id, info.name, info.devices, info.records) == (brain, "work", 1, 0)


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
    entries = await store.bucket_entries(owner, one, wanted)
    assert {(e.kind, e.id, e.vhash) for e in entries} == {
        ("memory", "m-0", edit.vhash),
        ("link", "m-1", v[1].vhash),
    }
    for entry in entries:
        assert first.buckets[entry.bucket] != EMPTY_DIGEST


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
        store.bucket_entries(stranger, brain, [0]),
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
    await store.add_key(key)
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
