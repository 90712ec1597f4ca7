"""A hub whose disk is full, or whose database is read-only: reads still work, a write is a clear
refusal (507 storage_full / 503 read_only), never a 500 with a traceback.

The full disk is real: `nmem serve` runs in its own mount namespace (`unshare -rm`, no root
needed) on a small tmpfs holding its SQLite file, and the test fills that tmpfs through
/proc/PID/root. The read-only PostgreSQL database is real too (default_transaction_read_only).
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest

from helpers.hub_api import device, error, pull, push, pushed, register, uid, version
from helpers.hub_targets import (
    HubOptions,
    fill,
    free_port,
    on_small_disk,
    process,
    small_disks_work,
    throwaway_postgres,
)
from helpers.nmem import NMEM
from helpers.worker_target import worker
from neuralmemory.errors import MSG_STORAGE_FULL, StorageFull, StorageReadOnly
from neuralmemory.hub.backends import open_backend
from neuralmemory.hub.backends.postgres import PostgresDatabase
from neuralmemory.hub.backends.sqlstore import SqlStore
from neuralmemory.protocol import DeviceInfo, Version
from neuralmemory.sync.transport import HubClient

TMPFS_BYTES = 8 * 1024 * 1024


@pytest.fixture
def small_disk_hub(tmp_path: Path) -> Iterator[tuple[str, Path, subprocess.Popen[bytes]]]:
    """A SQLite hub on its own 8 MiB tmpfs, counting rate limits: (url, log, process)."""
    if not small_disks_work():
        pytest.skip("needs unprivileged mount namespaces (unshare -rm) for a real small disk")
    disk = tmp_path / "disk"
    disk.mkdir()
    port = free_port()
    serve = [NMEM, "serve", "--host", "127.0.0.1", "--port", str(port)]
    serve += ["--db", f"sqlite://{disk / 'hub.db'}", "--rate-limit", "100000", "--require-keys"]
    args = on_small_disk(serve, disk, TMPFS_BYTES)
    env = {**os.environ, "NMEM_HOME": str(tmp_path / "home")}
    url = f"http://127.0.0.1:{port}"
    log = tmp_path / "hub.log"
    with process(args, env, log, url + "/v1/health") as proc:
        yield url, log, proc


def big(id: str) -> Version:
    return version(id, body={"content": "x" * 200_000})


def test_a_full_disk_serves_reads_and_refuses_writes_with_507(
    small_disk_hub: tuple[str, Path, subprocess.Popen[bytes]],
) -> None:
    url, log, proc = small_disk_hub
    with httpx.Client(base_url=url, timeout=30) as client:
        ada = register(client)
        brain = uid("brain-")
        pushed(client, ada, brain, version("m-1"), version("m-2"))
        filler = fill(Path(f"/proc/{proc.pid}/root") / log.parent.relative_to("/") / "disk")
        for _ in range(3):  # reads, each a rate-limit count and a device cursor the disk refuses
            page = pull(client, ada, brain)
            assert [r["id"] for r in page["records"]] == ["m-1", "m-2"]
            assert client.get(f"/v1/brains/{brain}/digest", headers=ada.auth).status_code == 200
            assert client.get("/v1/status", headers=ada.auth).status_code == 200
        refused = push(client, ada, brain, *(big(f"m-big-{n}") for n in range(4)))
        assert error(refused, 507, "storage_full") == MSG_STORAGE_FULL
        assert pull(client, ada, brain)["seq"] == 2  # nothing of the refused push was kept
        device = DeviceInfo(device_id="dev-a", name="a", platform="test")
        with HubClient(url, ada.key, device) as hub, pytest.raises(StorageFull) as full:
            hub.push(brain, "default", [json.dumps(big("m-big-9").model_dump()).encode()])
        assert full.value.message == MSG_STORAGE_FULL and not full.value.retryable
        filler.unlink()  # the operator frees space: writes work again
        assert pushed(client, ada, brain, big("m-3"))["seq"] == 3
    text = log.read_text()
    assert "storage_full" in text and "Traceback" not in text and "unhandled" not in text


@pytest.mark.postgres
@pytest.mark.anyio
async def test_postgresql_refusals_are_clear_errors() -> None:
    """PostgreSQL's side, on a real throwaway database: made read-only (as a hot standby is), a
    write is read_only and the bookkeeping writes are skipped; a disk-full error (53100, which
    cannot be produced without filling the server's disk) is storage_full."""
    with throwaway_postgres() as url:
        store = await open_backend(url)  # migrated while writable
        try:
            assert isinstance(store, SqlStore)
            with pytest.raises(StorageFull):
                async with store.db.transaction("durable"):
                    raise psycopg.errors.DiskFull("could not extend file: No space left")
            name = url.rsplit("/", 1)[1]
            async with store.db.transaction("soft") as tx:
                await tx.execute(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on')
        finally:
            await store.close()
        db = PostgresDatabase(url)
        await db.pool.open(wait=True)
        store = SqlStore(db)
        try:
            with pytest.raises(StorageReadOnly):
                async with db.transaction("durable") as tx:
                    await tx.execute("INSERT INTO rate_limits VALUES ('s', 0, 1)")
            assert await store.hit("key:k", 60_000, "acct", "2027-01-15") is None  # uncounted
        finally:
            await store.close()


@pytest.mark.worker
def test_the_worker_on_a_full_disk_serves_reads_and_refuses_writes_with_507(
    tmp_path: Path,
) -> None:
    """The Worker under `wrangler dev`, its local D1 on a tmpfs of its own, filled for real:
    writes get the Python hub's answer, word for word, and nothing is ever a 500. Reads are
    200 or that same 507: the Worker writes nothing for a read (sync-hub/test/storage.test.ts),
    but the local D1 of `wrangler dev` (workerd's SQLite) fails even a SELECT with SQLITE_FULL
    on a full disk; D1 itself, full at its size limit, still reads."""
    if not small_disks_work():
        pytest.skip("needs unprivileged mount namespaces (unshare -rm) for a real small disk")
    options = HubOptions(rate_limit=100000)
    with (
        worker(options, tmp_path, disk_bytes=TMPFS_BYTES) as hub,
        httpx.Client(base_url=hub.url, timeout=60) as client,
    ):
        ada = register(client)
        brain = uid("brain-")
        pushed(client, ada, brain, version("m-1"), version("m-2"))
        filler = fill(Path(f"/proc/{hub.pid}/root") / (tmp_path / "state").relative_to("/"))
        for _ in range(3):
            for answer in (
                client.post(
                    f"/v1/brains/{brain}/pull",
                    json={"device": device(), "cursor": 0},
                    headers=ada.auth,
                ),
                client.get(f"/v1/brains/{brain}/digest", headers=ada.auth),
                client.get("/v1/status", headers=ada.auth),
            ):
                if answer.status_code != 200:
                    assert error(answer, 507, "storage_full") == MSG_STORAGE_FULL
        refused = push(client, ada, brain, version("m-big", body={"content": "x" * 150_000}))
        assert error(refused, 507, "storage_full") == MSG_STORAGE_FULL
        filler.unlink()  # the operator frees space: writes work again
        assert pull(client, ada, brain)["seq"] == 2  # nothing of the refused push was kept
        assert pushed(client, ada, brain, version("m-3"))["seq"] == 3
    text = hub.log.read_text()
    assert "storage_full" in text and "internal error" not in text
