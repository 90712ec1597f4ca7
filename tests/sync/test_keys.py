"""One key per brain, moved safely, against a real `nmem serve` process on loopback: two devices
racing to encrypt first end with one readable brain; pairing through the hub moves the key
under a one-time code the hub never sees; a wrong or expired code changes nothing."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import pytest

from helpers.devices import Device, Hub
from helpers.nmem import cli, cli_json
from neuralmemory.core import crypto, keyshare
from neuralmemory.errors import CryptoError, NotFound
from neuralmemory.sync import keyshare as sharing

A_SECRET = "Vault code on a: lapis-7781 behind the clock"
B_SECRET = "Locker code on b: onyx-2290 under the stairs"


def device(hub: Hub, root: Path, name: str) -> Device:
    made = Device(root / name, hub.url)
    made.configure(hub_url=hub.url, auto_sync=False)
    return made


def joined_pair(hub: Hub, root: Path) -> tuple[Device, Device]:
    """Two devices on one plain brain, already synced (same brain id), no key anywhere."""
    a, b = device(hub, root, "a"), device(hub, root, "b")
    with a.brain() as brain:
        brain.remember("The staging database is pg-staging-2")
    a.sync()
    b.sync()
    return a, b


def share_code(dev: Device) -> str:
    with dev.use():
        code: str = sharing.share()["code"]
    return code


def receive(dev: Device, code: str) -> dict[str, object]:
    with dev.use():
        return sharing.receive(code)


def ciphertexts(dev: Device) -> list[str]:
    with dev.brain() as brain:
        return [
            row[0]
            for row in brain.db.execute("SELECT ciphertext FROM memories WHERE encrypted = 1")
        ]


def race(hub: Hub, root: Path) -> tuple[Device, Device, bytes]:
    """a and b each make a key for the same brain before either syncs one; a's is older."""
    a, b = joined_pair(hub, root)
    with a.brain() as brain:
        brain.remember(A_SECRET, encrypted=True)
        brain_id = brain.id
    with b.brain() as brain:
        assert brain.id == brain_id
        brain.remember(B_SECRET, encrypted=True)
    for dev in (a, b, a):
        dev.sync()
    with a.use():
        winner = crypto.load_key(brain_id)
    assert winner is not None
    for dev in (a, b):
        with dev.brain() as brain:
            records = brain.keys.records()
            assert len(records) == 2  # both keys are known to both devices, neither key travelled
            assert records[0][1] == crypto.fingerprint(winner.raw)  # a's is older: it wins
    return a, b, winner.raw


def test_two_devices_racing_to_encrypt_end_with_one_readable_brain(
    hub: Hub, tmp_path: Path
) -> None:
    a, b, winner = race(hub, tmp_path)
    with b.brain() as brain:
        status = brain.keys.status()
        assert status["missing_key"] and status["keys_held"] == 1
    # Only the loser gets the winner's key: it encrypts its memories again under it, so a,
    # which never gets b's key, reads the whole brain.
    received = receive(b, share_code(a))
    assert received["installed"] and received["reencrypted"] == 1
    for dev in (b, a, b):
        dev.sync()
    for dev in (a, b):
        with dev.brain() as brain:
            contents = {hit.memory.content for hit in brain.recall("code", reinforce=False)}
            assert {A_SECRET, B_SECRET} <= contents
            assert not brain.keys.status()["missing_key"]
        winner_only = crypto.BrainKey(winner)
        assert all(map(winner_only.encrypted_by_primary, ciphertexts(dev)))
    # From now on both encrypt under the winner.
    with b.brain() as brain:
        later = brain.remember("Safe code on b: jade-1138", encrypted=True).memory.id
    b.sync()
    a.sync()
    with a.brain() as brain:
        assert brain.get(later).content == "Safe code on b: jade-1138"


def test_exchanging_keys_both_ways_also_converges(hub: Hub, tmp_path: Path) -> None:
    a, b, winner = race(hub, tmp_path)
    from_a, from_b = share_code(a), share_code(b)
    assert receive(a, from_b)["reencrypted"] == 0  # a won: nothing of its own to change
    assert receive(b, from_a)["reencrypted"] == 1
    for dev in (a, b, a):
        dev.sync()
    for dev in (a, b):
        with dev.brain() as brain:
            assert len(crypto.load_keyring(brain.keys.ids).raws) == 2  # type: ignore[union-attr]
            contents = {hit.memory.content for hit in brain.recall("code", reinforce=False)}
            assert {A_SECRET, B_SECRET} <= contents
        assert all(map(crypto.BrainKey(winner).encrypted_by_primary, ciphertexts(dev)))


def test_a_device_that_sees_the_brain_keyed_makes_no_second_key(hub: Hub, tmp_path: Path) -> None:
    a, b = joined_pair(hub, tmp_path)
    with a.brain() as brain:
        brain.remember(A_SECRET, encrypted=True)
        brain_id = brain.id
    a.sync()
    # b has not pulled since: the CLI asks the hub first, sees the key record and refuses.
    done = cli(b.home, "remember", "Another secret", "--encrypted")
    assert done.returncode != 0, done.stdout
    assert "already encrypted with a key" in done.stderr and "nmem keys receive" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (b.home / "keys" / f"{brain_id}.key").exists()
    # Paired, it encrypts under the brain's one key.
    receive(b, share_code(a))
    memory = cli_json(b.home, "remember", "Another secret", "--encrypted")["id"]
    b.sync()
    a.sync()
    with a.brain() as brain:
        assert brain.get(memory).content == "Another secret"
        assert len(brain.keys.records()) == 1


def test_pairing_through_the_hub_and_what_the_hub_holds(
    hub: Hub, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    a, b = joined_pair(hub, tmp_path)
    with a.brain() as brain:
        brain.remember(A_SECRET, encrypted=True)
        brain_id = brain.id
    a.sync()
    b.sync()
    shared = cli(a.home, "keys", "share")
    assert shared.returncode == 0, shared.stderr
    code = next(w for w in shared.stdout.split() if w.count("-") == 3)
    with a.use():
        raw = crypto.load_key(brain_id).raw  # type: ignore[union-attr]
    # While it waits, the hub holds an id and a ciphertext: not the key, not the code.
    with sqlite3.connect(hub.db) as db:
        rows = db.execute("SELECT id, sealed FROM key_shares").fetchall()
    assert [r[0] for r in rows] == [keyshare.share_id(code)]
    stored = hub.db_bytes() + hub.log.read_bytes()
    normal = code.replace("-", "").encode()
    for secret in (raw, code.encode(), normal, A_SECRET.encode()):
        assert secret not in stored

    # A wrong code changes nothing, and says so; the right one works once.
    wrong = code[:-1] + ("0" if code[-1] != "0" else "1")
    before = held(b)
    with pytest.raises(NotFound, match="wrong, expired or already used"):
        receive(b, wrong)
    assert held(b) == before  # a wrong code changes nothing on the device
    assert not (b.home / "keys" / f"{brain_id}.key").exists()
    got = cli(b.home, "keys", "receive", code.lower())  # typed in lower case: the same code
    assert got.returncode == 0, got.stderr
    assert f"Installed the key of brain {brain_id}" in got.stdout
    with b.brain() as brain:
        assert brain.recall("vault clock", reinforce=False)[0].memory.content == A_SECRET
    with sqlite3.connect(hub.db) as db:
        assert db.execute("SELECT COUNT(*) FROM key_shares").fetchone() == (0,)  # taken: gone
    again = cli(b.home, "keys", "receive", code)
    assert again.returncode != 0 and "already used" in again.stderr
    assert "Traceback" not in again.stderr
    # No secret anywhere but the one line `keys share` printed.
    seen = got.stdout + got.stderr + again.stdout + again.stderr + shared.stderr + caplog.text
    seen += hub.log.read_text()
    for secret in (raw.decode(), code, code.replace("-", ""), code.lower()):
        assert secret not in seen
    with pytest.raises(CryptoError):
        keyshare.unseal(wrong, rows[0][1])  # the sealed text opens only with the code


def held(dev: Device) -> dict[str, bytes]:
    """Everything a device holds: each file of its home, by path."""
    return {
        str(p.relative_to(dev.home)): p.read_bytes() for p in dev.home.rglob("*") if p.is_file()
    }


def test_an_expired_share_is_refused_and_deleted(hub: Hub, tmp_path: Path) -> None:
    a, b = joined_pair(hub, tmp_path)
    with a.brain() as brain:
        memory = brain.remember(A_SECRET, encrypted=True).memory.id
    a.sync()
    b.sync()
    code = share_code(a)
    with sqlite3.connect(hub.db) as db:  # ten minutes pass
        db.execute("UPDATE key_shares SET expires_at = expires_at - 600001")
    before = held(b)
    with pytest.raises(NotFound, match="expired"):
        receive(b, code)
    assert held(b) == before  # an expired code changes nothing on the device
    with b.brain() as brain:
        assert brain.get(memory).content is None  # still unreadable here: no key came
    with sqlite3.connect(hub.db) as db:
        assert db.execute("SELECT COUNT(*) FROM key_shares").fetchone() == (0,)


def test_two_records_of_one_key_converge_on_the_oldest_without_a_conflict(
    devices: dict[str, Device],
) -> None:
    """b gets the key before it pulls a's record of it, and writes its own (a newer one)."""
    a, b = devices["a"], devices["b"]
    with a.brain() as brain:
        brain.remember("The staging database is pg-staging-2")
    a.sync()
    b.sync()
    with a.brain() as brain:
        brain.remember(A_SECRET, encrypted=True)
        brain_id = brain.id
        [(created_at, fingerprint, _)] = brain.keys.records()
    with a.use():
        key = crypto.load_key(brain_id)
    assert key is not None
    with b.use():
        crypto.install_key(brain_id, key)
    with b.brain() as brain:
        brain.settle_keys()  # as after `nmem keys receive`: records the key it now holds
        [(mine, same, _)] = brain.keys.records()
        assert same == fingerprint and mine > created_at
    a.sync()
    report = b.sync()
    assert report["conflicts"] == 0
    a.sync()
    for dev in (a, b):
        with dev.brain() as brain:
            assert [(c, f) for c, f, _ in brain.keys.records()] == [(created_at, fingerprint)]
            assert list(brain.changes.versions("conflict")) == []
