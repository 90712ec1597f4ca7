"""An end-to-end encrypted brain through each real hub -- `nmem serve` on SQLite and on
PostgreSQL, and the Worker on D1 under workerd -- leaves none of its memories' words, tags or
types in the hub's database or log; the same memories in a plain brain do (the search works).
And a byte flipped in a record the hub stores (its vhash made anew, as whoever holds the database
could) is rejected by the next device that pulls it: quarantined, never applied."""

from __future__ import annotations

import base64
import json
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import psycopg
import pytest

from helpers.devices import Device
from helpers.hub_targets import HubOptions, RunningHub, nmem_serve, throwaway_postgres
from helpers.worker_target import worker
from neuralmemory.core import e2e
from neuralmemory.core.brains import create_brain
from neuralmemory.protocol import Version
from neuralmemory.store import memories as memories_sql
from neuralmemory.sync import keyshare

MEMORIES = [
    ("We decided the quokkaflume deploys on Thursdays", "decision", ["zirconvale"]),
    ("I prefer marblewisp tea over coffee", "preference", ["teakettleon"]),
    ("Rotate the brindlecog certificates: step one, stop glimmerhaven", "workflow", ["opsmoth"]),
]
WORDS = sorted(
    {w.strip(":,.") for text, _, _ in MEMORIES for w in text.split() if len(w) > 8}
    | {tag for _, _, tags in MEMORIES for tag in tags}
)
TYPES = ["decision", "preference", "workflow"]


Flip = Callable[[str], None]


@contextmanager
def started(target: str, workdir: Path) -> Iterator[tuple[RunningHub, Callable[[], bytes], Flip]]:
    """The hub, what it stores (its database and log) as bytes to search, and how to flip a
    byte of a memory record where it stores it."""
    options = HubOptions()
    workdir.mkdir()
    if target == "python-sqlite":
        with nmem_serve(f"sqlite://{workdir / 'hub.db'}", options, workdir) as hub:
            yield (
                hub,
                lambda: files(workdir) + hub.log.read_bytes(),
                lambda id: flip_in_sqlite(workdir, id),
            )
    elif target == "python-postgres":
        with throwaway_postgres() as url, nmem_serve(url, options, workdir) as hub:
            yield hub, lambda: tables(url) + hub.log.read_bytes(), lambda id: flip_in_pg(url, id)
    else:
        with worker(options, workdir) as hub:
            yield (
                hub,
                lambda: files(workdir / "state") + hub.log.read_bytes(),
                lambda id: flip_in_sqlite(workdir / "state", id),
            )


def files(folder: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file())


def tables(url: str) -> bytes:
    """Every row of every table of the hub's PostgreSQL database, as text."""
    with psycopg.connect(url) as conn:
        names = [
            r[0]
            for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        ]
        rows = [
            str(row[0])
            for name in names
            for row in conn.execute(f'SELECT row_to_json(t)::text FROM "{name}" t')
        ]
    return "\n".join(rows).encode()


Row = tuple[str, str, str, str | None, object, int, str]  # hlc .. body, as the hub stores them
SELECT = "SELECT hlc, device_id, vhash, parent, deleted, strength, body FROM records"


def flipped(kind: str, id: str, row: Row) -> tuple[str, str]:
    """(body, vhash) of the stored version `row` with one byte of its ciphertext flipped."""
    hlc, device_id, _, parent, deleted, strength, body = row
    raw = bytearray(base64.b64decode(json.loads(body)["sealed"]))
    raw[40] ^= 0x01
    changed = Version.create(
        kind=kind,
        id=id,
        hlc=hlc,
        device_id=device_id,
        parent=parent,
        deleted=bool(deleted),
        strength=strength,
        body={"sealed": base64.b64encode(bytes(raw)).decode()},
    )
    return changed.body_json(), changed.vhash


WHERE = " WHERE kind = 'memory' AND id = ?"


def flip_in_pg(url: str, id: str) -> None:
    with psycopg.connect(url) as conn:
        row = conn.execute(SELECT + WHERE.replace("?", "%s"), (id,)).fetchone()
        assert row is not None
        update = "UPDATE records SET body = %s, vhash = %s" + WHERE.replace("?", "%s")
        conn.execute(update, (*flipped("memory", id, row), id))


def flip_in_sqlite(folder: Path, id: str) -> None:
    """In the hub's SQLite file: `nmem serve`'s hub.db, or the Worker's D1 under workerd."""
    for path in sorted(folder.rglob("*.sqlite")) + sorted(folder.glob("hub.db")):
        with sqlite3.connect(path) as db:
            if db.execute("SELECT 1 FROM sqlite_master WHERE name = 'records'").fetchone():
                row = db.execute(SELECT + WHERE, (id,)).fetchone()
                assert row is not None
                update = "UPDATE records SET body = ?, vhash = ?" + WHERE
                db.execute(update, (*flipped("memory", id, row), id))
                return
    raise AssertionError(f"no hub database holds records under {folder}")


def found(stored: bytes) -> list[str]:
    return [w for w in [*WORDS, *TYPES] if w.encode() in stored]


@pytest.mark.parametrize(
    "target",
    [
        "python-sqlite",
        pytest.param("python-postgres", marks=pytest.mark.postgres),
        pytest.param("worker", marks=pytest.mark.worker),
    ],
)
@pytest.mark.timeout(300)
def test_an_e2e_brain_leaves_no_plaintext_on_the_hub(target: str, tmp_path: Path) -> None:
    with started(target, tmp_path / "hub") as (hub, stored, flip):
        reply = httpx.post(hub.url + "/v1/auth/register", json={"email": "me@example.com"})
        key = reply.json()["api_key"]
        a, b = (Device(tmp_path / name, hub.url) for name in ("a", "b"))
        for dev in (a, b):
            dev.configure(hub_url=hub.url, api_key=key, auto_sync=False)
        with a.use():
            create_brain("vault").close()
            keyshare.encrypt_brain("vault")
        with a.brain("vault") as brain:
            ids = [brain.remember(t, type=k, tags=g).memory.id for t, k, g in MEMORIES]
            brain.recall("quokkaflume marblewisp")  # counters
            brain.edit(ids[0], tags=["zirconvale", "opsmoth"])
            brain.forget(ids[2])  # a tombstone
        assert a.sync(brain="vault")["verified"]
        with a.use():
            code = keyshare.share("vault")["code"]
        with b.use():
            keyshare.receive(code)
            create_brain("vault").close()  # plain and empty: it joins, and turns E2E itself
        assert b.sync(brain="vault")["verified"]
        with b.brain("vault") as brain:
            assert brain.e2e and brain.stats().memories == 2
            assert brain.get(ids[1]).content == MEMORIES[1][0]
            assert brain.get(ids[0]).tags == ["opsmoth", "zirconvale"]
        assert found(stored()) == []

        # A byte flipped where the hub stores a record: a new device rejects it on pull.
        flip(ids[1])
        c = Device(tmp_path / "c", hub.url)
        c.configure(hub_url=hub.url, api_key=key, auto_sync=False)
        with a.use():
            code = keyshare.share("vault")["code"]
        with c.use():
            keyshare.receive(code)
            create_brain("vault").close()
        c.sync(brain="vault")
        with c.brain("vault") as brain:
            rejected = memories_sql.quarantined(brain.db)
            assert [(r[0], r[1], r[3]) for r in rejected] == [
                ("memory", ids[1], e2e.MSG_NOT_OPENED)
            ]
            assert brain.e2e and brain.stats().memories == 1  # what failed was not applied
            assert brain.get(ids[0]).content == MEMORIES[0][0]

        # The same memories in a plain brain: the search finds them (it does look at bodies).
        with a.use():
            create_brain("control").close()
        with a.brain("control") as brain:
            for text, kind, tags in MEMORIES:
                brain.remember(text, type=kind, tags=tags)
        a.sync(brain="control")
        missed = set(WORDS + TYPES) - set(found(stored()))
        assert not missed, missed
