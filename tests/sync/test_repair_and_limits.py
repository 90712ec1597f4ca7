"""Repair by digest, brains joining across devices, byte batching and quarantine (in-process)."""

from __future__ import annotations

import random
import shutil
from collections import Counter
from pathlib import Path

import httpx
import pytest

from helpers.devices import LOCAL_URL, Device, in_process_hub
from neuralmemory.core import crypto
from neuralmemory.core.brains import import_key, open_brain
from neuralmemory.errors import CryptoError
from neuralmemory.protocol import DEFAULT_LIMITS
from neuralmemory.sync import service


def memory_ids(device: Device) -> set[str]:
    with device.brain() as brain:
        return {v.id for v in brain.changes.versions("memory") if not v.deleted}


def test_repair_after_restoring_an_old_device_backup(
    devices: dict[str, Device], tmp_path: Path
) -> None:
    a, b = devices["a"], devices["b"]
    with a.brain() as brain:
        first = brain.remember("Backups run nightly at two").memory.id
    a.sync()
    shutil.copytree(a.home, tmp_path / "backup")
    with a.brain() as brain:
        later = brain.remember("Restores are tested every quarter").memory.id
    a.sync()
    b.sync()
    with b.brain() as brain:
        brain.edit(first, content="Backups run nightly at three")
    b.sync()
    shutil.rmtree(a.home)
    shutil.copytree(tmp_path / "backup", a.home)
    assert memory_ids(a) == {first}
    result = a.sync()
    assert result["verified"] is True
    assert memory_ids(a) == {first, later} == memory_ids(b)
    with a.brain() as brain:
        assert brain.get(first).content == "Backups run nightly at three"
    assert a.sync("verify")["verified"] is True


class Counting(httpx.BaseTransport):
    """Counts the requests to each endpoint (the last part of the path) on their way through."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.calls: Counter[str] = Counter()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.calls[request.url.path.rsplit("/", 1)[-1]] += 1
        return self.inner.handle_request(request)


def memory_body(text: str) -> dict[str, object]:
    return {
        "content": text,
        "encrypted": False,
        "type": "fact",
        "tags": [],
        "priority": 5,
        "created_at": 1_700_000_000_000,
        "event_at": None,
        "expires_at": None,
    }


def test_repair_pages_through_bucket_listings_larger_than_one_reply(tmp_path: Path) -> None:
    """A device restored from a backup lacks 300 of its own records, which no pull brings back
    (a device's own versions are skipped): repair lists them, at most 5 entries a reply."""
    paged = DEFAULT_LIMITS.model_copy(update={"max_bucket_entries": 5})
    with in_process_hub(tmp_path / "hub.db", paged) as hub:
        counting = Counting(hub)
        a = Device(tmp_path / "a", LOCAL_URL, counting)
        a.configure(hub_url=LOCAL_URL)
        with a.brain() as brain:
            brain.remember("The release train leaves every second Tuesday")
        a.sync()
        shutil.copytree(a.home, tmp_path / "backup")
        with a.brain() as brain, brain.db.transaction():
            for n in range(300):
                brain.changes.write(
                    "memory", f"m-page{n:04d}", body=memory_body(f"Note {n}"), strength=500_000
                )
        assert a.sync()["pushed"] == 300
        shutil.rmtree(a.home)
        shutil.copytree(tmp_path / "backup", a.home)
        counting.calls.clear()
        result = a.sync()
        assert result["verified"] is True and result["repaired"] >= 300
        assert len(memory_ids(a)) == 301
        assert counting.calls["buckets"] >= 300 / 5  # page after page, while `more`


def test_repair_after_the_hub_lost_everything(tmp_path: Path) -> None:
    with in_process_hub(tmp_path / "hub1.db") as hub:
        a = Device(tmp_path / "a", LOCAL_URL, hub)
        a.configure(hub_url=LOCAL_URL)
        with a.brain() as brain:
            for n in range(20):
                brain.remember(f"Runbook step {n}: check the queue depth {n}")
        assert a.sync()["pushed"] >= 20
    with in_process_hub(tmp_path / "hub2.db") as fresh:  # same URL, empty database
        a.transport = fresh
        assert a.sync("verify")["verified"] is False
        result = a.sync()
        assert result["verified"] is True and result["repaired"] >= 20
        b = Device(tmp_path / "b", LOCAL_URL, fresh)
        b.configure(hub_url=LOCAL_URL)
        b.sync()
        assert memory_ids(b) == memory_ids(a) and len(memory_ids(b)) == 20


def test_an_empty_brain_joins_the_remote_one_and_a_full_one_merges(
    devices: dict[str, Device],
) -> None:
    a, b, c = devices["a"], devices["b"], devices["c"]
    with a.brain() as brain:
        brain.remember("Shared fact: the VPN gateway is vpn.internal")
        a_id = brain.id
    a.sync()
    joined = b.sync()
    assert joined["joined"] == a_id and joined["brain_id"] == a_id
    with c.brain() as brain:
        brain.remember("Shared fact: the VPN gateway is vpn.internal")  # same text as a's
        brain.remember("Only on c: the printer is on floor 3")
    merged = c.sync()
    assert merged["joined"] == a_id and merged["conflicts"] == 0
    a.sync()
    b.sync()
    assert memory_ids(a) == memory_ids(b) == memory_ids(c)
    assert len(memory_ids(a)) == 2  # the same memory on two devices is one memory


def words(n: int, rng: random.Random) -> str:
    return " ".join(f"w{rng.randrange(10**6)}" for _ in range(n))


def test_a_20_mb_brain_is_chunked_under_the_body_limit(devices: dict[str, Device]) -> None:
    """340 memory records of ~62 KB each. They are written straight into the change log: the
    concept extraction of 20 MB of text would take a minute and is not what is tested here."""
    a = devices["a"]
    rng = random.Random(4)
    with a.brain() as brain, brain.db.transaction():
        for n in range(340):
            body = {
                "content": f"Attachment {n}: "
                + " ".join(rng.randbytes(500).hex() for _ in range(62)),
                "encrypted": False,
                "type": "reference",
                "tags": [],
                "priority": 5,
                "created_at": 1_700_000_000_000,
                "event_at": None,
                "expires_at": None,
            }
            brain.changes.write("memory", f"m-big{n:04d}", body=body, strength=500_000)
    result = a.sync()
    assert result["bytes_sent"] > 20 * 1024 * 1024
    assert result["pushed"] == 340 and result["pending"] == 0 and result["quarantined"] == 0
    assert result["verified"] is True  # the hub holds all of it: no request was refused


def test_one_oversized_record_is_quarantined_and_never_blocks_the_rest(tmp_path: Path) -> None:
    small = DEFAULT_LIMITS.model_copy(update={"max_record_bytes": 20_000})
    with in_process_hub(tmp_path / "hub.db", small) as hub:
        a = Device(tmp_path / "a", LOCAL_URL, hub)
        a.configure(hub_url=LOCAL_URL)
        with a.brain() as brain:
            big = brain.remember("Huge log excerpt " + words(4_000, random.Random(1))).memory.id
            for n in range(5):
                brain.remember(f"Small note {n} about the cache layer")
        result = a.sync()
        assert result["pushed"] == 5 and result["quarantined"] == 1
        assert result["verified"] is True  # everything that can reach the hub did
        with a.use():
            status = service.status(transport=hub)
        (item,) = status["quarantined"]
        assert item["record"] == f"memory/{big}"
        assert "the hub accepts at most 20,000 bytes per record" in item["reason"]
        assert status["pending"] == 1


def test_a_merged_brain_reads_the_joined_brains_encrypted_memories_once_its_key_is_imported(
    devices: dict[str, Device], tmp_path: Path
) -> None:
    a, b = devices["a"], devices["b"]
    with a.brain() as brain:
        a_secret = brain.remember("Vault code on a: lapis-7781", encrypted=True).memory.id
        a_id = brain.id
    a.sync()
    with b.brain() as brain:  # not empty: b keeps its id and is merged into a's brain
        b_secret = brain.remember("Locker code on b: onyx-2290", encrypted=True).memory.id
        b_id = brain.id
    merged = b.sync()
    assert merged["joined"] == a_id and b_id != a_id
    with b.brain() as brain:
        assert brain.id == b_id and brain.keys.ids == [a_id, b_id]
        with pytest.raises(CryptoError, match="wrong key"):  # a's key is not here yet
            brain.get(a_secret)
        assert brain.get(b_secret).content == "Locker code on b: onyx-2290"

    with a.use():
        with open_brain() as brain:
            assert brain.keys.encrypting_id == a_id
        crypto.export_key(a_id, "pass-phrase-1", tmp_path / "a.nmemkey")
    with b.use():
        imported = import_key(tmp_path / "a.nmemkey", "pass-phrase-1")
    # b's memory was written under its own key, which lost to a's older one: b encrypts it
    # again under a's, so a reads it without ever holding b's key.
    assert imported == {
        "brain_id": a_id,
        "installed": True,
        "keys": 1,
        "reindexed": 2,
        "reencrypted": 1,
    }
    with b.brain() as brain:
        assert brain.get(a_secret).content == "Vault code on a: lapis-7781"
        assert brain.get(b_secret).content == "Locker code on b: onyx-2290"  # its own key too
        assert a_secret in [hit.memory.id for hit in brain.recall("vault code", reinforce=False)]
        assert brain.keys.encrypting_id == a_id  # what b writes encrypted from now on, a can read
        later = brain.remember("Safe code on b: jade-1138", encrypted=True).memory.id
    b.sync()
    a.sync()
    with a.brain() as brain:
        assert brain.get(later).content == "Safe code on b: jade-1138"
        assert brain.get(b_secret).content == "Locker code on b: onyx-2290"
