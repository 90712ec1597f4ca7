"""An end-to-end encrypted brain through each real hub -- `nmem serve` on SQLite and on
PostgreSQL, and the Worker on D1 under workerd -- leaves none of its memories' words, tags or
types in the hub's database or log; the same memories in a plain brain do (the search works)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import psycopg
import pytest
from hub_targets import HubOptions, RunningHub, nmem_serve, throwaway_postgres
from sync_devices import Device
from worker_target import worker

from neuralmemory.core.brains import create_brain
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


@contextmanager
def started(target: str, workdir: Path) -> Iterator[tuple[RunningHub, Callable[[], bytes]]]:
    """The hub, and what it stores (its database and log) as bytes to search."""
    options = HubOptions()
    workdir.mkdir()
    if target == "python-sqlite":
        with nmem_serve(f"sqlite://{workdir / 'hub.db'}", options, workdir) as hub:
            yield hub, lambda: files(workdir) + hub.log.read_bytes()
    elif target == "python-postgres":
        with throwaway_postgres() as url, nmem_serve(url, options, workdir) as hub:
            yield hub, lambda: tables(url) + hub.log.read_bytes()
    else:
        with worker(options, workdir) as hub:
            yield hub, lambda: files(workdir / "state") + hub.log.read_bytes()


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
    with started(target, tmp_path / "hub") as (hub, stored):
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

        # The same memories in a plain brain: the search finds them (it does look at bodies).
        with a.use():
            create_brain("control").close()
        with a.brain("control") as brain:
            for text, kind, tags in MEMORIES:
                brain.remember(text, type=kind, tags=tags)
        a.sync(brain="control")
        missed = set(WORDS + TYPES) - set(found(stored()))
        assert not missed, missed
