"""Encrypted memories: ciphertext only on disk and on the wire, findable on this device; keys
move between devices as passphrase-protected files, and a wrong passphrase changes nothing."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from neuralmemory.core import crypto
from neuralmemory.core.brain import Brain
from neuralmemory.core.brains import open_brain
from neuralmemory.errors import CryptoError

SECRET = "The vault combination is zanzibar-quokka-7741, keep it on the blue shelf."


def disk_bytes(brain: Brain) -> bytes:
    brain.db.execute("PRAGMA wal_checkpoint(PASSIVE)")
    return b"".join(
        Path(f"{brain.path}{suffix}").read_bytes()
        for suffix in ("", "-wal")
        if Path(f"{brain.path}{suffix}").exists()
    )


def test_encrypted_content_is_only_ciphertext_on_disk_and_in_records(brain: Brain) -> None:
    memory = brain.remember(SECRET, encrypted=True, tags=["vault"]).memory
    brain.remember("A plaintext note about quokkas in Perth.")
    assert memory.encrypted and memory.content == SECRET
    data = disk_bytes(brain)
    # Not "7741" alone: four hex digits turn up by chance among the file's hashes and digests.
    for word in (b"zanzibar", b"combination", b"shelf", b"quokka-7741"):
        assert word not in data
    assert b"quokkas" in data  # the plaintext memory is there: the check itself works

    version = brain.changes.current("memory", memory.id)
    assert version is not None
    body = version.version.body
    assert "content" not in body and body["encrypted"] is True
    assert body["event_at"] is None
    assert "zanzibar" not in str(version.version.model_dump())
    assert not memory.id.endswith(SECRET[:4])


def test_an_encrypted_memory_is_found_on_the_same_device(brain: Brain) -> None:
    memory = brain.remember(SECRET, encrypted=True).memory
    hits = brain.recall("vault combination", reinforce=False)
    assert [h.memory.id for h in hits] == [memory.id]
    assert hits[0].memory.content == SECRET
    assert all("zanzibar" not in step for step in hits[0].path)


def test_the_key_file_is_private(brain: Brain, home: Path) -> None:
    brain.remember(SECRET, encrypted=True)
    path = home / "keys" / f"{brain.id}.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_key_export_import_and_a_wrong_passphrase(brain: Brain, home: Path, tmp_path: Path) -> None:
    memory = brain.remember(SECRET, encrypted=True).memory
    exported = crypto.export_key(brain.id, "correct horse battery", tmp_path / "brain.nmemkey")
    assert SECRET.encode() not in exported.read_bytes()
    key_file = home / "keys" / f"{brain.id}.key"
    original = key_file.read_bytes()

    # Device two: received the records, not the key.
    key_file.unlink()
    with open_brain("device-two", create=True) as other:
        other.rekey(brain.id)
        current = brain.changes.current("memory", memory.id)
        assert current is not None
        other.apply_remote(current.version)
        assert other.get(memory.id).content is None  # kept, unreadable, unsearchable
        assert other.recall("vault combination", reinforce=False) == []

        with pytest.raises(CryptoError, match="wrong passphrase"):
            crypto.read_export(exported, "wrong passphrase!")
        assert not key_file.exists()

        brain_id, key = crypto.read_export(exported, "correct horse battery")
        assert crypto.install_key(brain_id, key)
        assert key_file.read_bytes() == original
        other.rebuild_index()
        assert other.recall("vault combination", reinforce=False)[0].memory.content == SECRET


def test_importing_a_second_key_adds_it_to_the_keyring(brain: Brain, tmp_path: Path) -> None:
    mine = brain.remember(SECRET, encrypted=True).memory
    theirs = crypto.BrainKey(Fernet.generate_key())  # another device's, from the race
    token = theirs.encrypt("Their secret: the boat is moored at pier nine.")
    before = crypto.key_path(brain.id).read_bytes()
    assert crypto.install_key(brain.id, theirs)
    assert not crypto.install_key(brain.id, theirs)  # already there: nothing to add
    ring = crypto.load_key(brain.id)
    assert ring is not None and len(ring.raws) == 2
    assert crypto.key_path(brain.id).read_bytes().startswith(before)  # kept first, unchanged
    assert ring.decrypt(token).startswith("Their secret")
    brain.settle_keys()
    assert brain.get(mine.id).content == SECRET


def test_a_key_ring_survives_export_and_import(brain: Brain, tmp_path: Path) -> None:
    brain.remember(SECRET, encrypted=True)
    crypto.install_key(brain.id, crypto.BrainKey(Fernet.generate_key()))
    exported = crypto.export_key(brain.id, "correct horse battery", tmp_path / "ring.nmemkey")
    brain_id, key = crypto.read_export(exported, "correct horse battery")
    assert brain_id == brain.id and key.raws == crypto.load_key(brain.id).raws  # type: ignore[union-attr]


def test_a_wrong_key_is_said_clearly(brain: Brain) -> None:
    memory = brain.remember(SECRET, encrypted=True).memory
    row = brain.db.execute("SELECT ciphertext FROM memories WHERE id = ?", (memory.id,)).fetchone()
    stranger = crypto.BrainKey(Fernet.generate_key())
    with pytest.raises(CryptoError, match="wrong key"):
        stranger.decrypt(row[0])


def test_a_short_passphrase_and_a_missing_key_are_refused(home: Path, tmp_path: Path) -> None:
    from neuralmemory.errors import InvalidInput, NotFound

    with pytest.raises(InvalidInput, match="at least 8"):
        crypto.export_key("b-x", "short", tmp_path / "k")
    with pytest.raises(NotFound, match="no key"):
        crypto.export_key("b-x", "long enough passphrase", tmp_path / "k")
    assert not (tmp_path / "k").exists()


def test_a_replaced_key_file_does_not_encrypt_new_memories(brain: Brain, home: Path) -> None:
    brain.remember(SECRET, encrypted=True)
    brain_id, name = brain.id, brain.name
    brain.close()
    key_file = crypto.key_path(brain_id)
    key_file.write_bytes(Fernet.generate_key())  # not the key the memory was sealed with
    with open_brain(name) as again:
        count_before = again.stats().memories
        with pytest.raises(CryptoError, match="wrong key"):
            again.remember("Another secret: the spare key is under the mat.", encrypted=True)
        assert again.stats().memories == count_before


def test_no_new_key_is_made_while_the_brain_holds_memories_sealed_elsewhere(
    brain: Brain, home: Path
) -> None:
    brain.remember(SECRET, encrypted=True)
    brain_id, name = brain.id, brain.name
    brain.close()
    key_file = crypto.key_path(brain_id)
    key_file.unlink()  # as on a device that synced the memory but never imported the key
    with open_brain(name) as again, pytest.raises(CryptoError, match="this device"):
        again.remember("Another secret: the spare key is under the mat.", encrypted=True)
    assert not key_file.exists()


def test_encrypted_texts_are_padded_to_length_buckets() -> None:
    key = crypto.BrainKey(Fernet.generate_key())
    short, longer = key.encrypt("pin 1234"), key.encrypt("x" * 200)
    assert len(short) == len(longer)  # both in the 256-byte bucket
    assert len(key.encrypt("x" * 300)) > len(longer)  # the next bucket: 512
    for size in (0, 1, 250, 251, 252, 256, 1000, 65_536):
        text = "é" * (size // 2) + "a" * (size % 2)
        assert key.decrypt(key.encrypt(text)) == text
    sizes = {len(crypto.padded(b"a" * n)) for n in range(0, 5000, 7)}
    assert sizes == {256, 512, 1024, 2048, 4096, 8192}
    assert crypto.unpadded(crypto.padded(b"ab\x80\x00")) == b"ab\x80\x00"
    with pytest.raises(ValueError, match="bad padding"):  # past the end mark, zeros only
        crypto.unpadded(crypto.padded(b"ab")[:-2] + b"\x01\x00")
    # A token made before padding existed still reads.
    legacy = Fernet(key.raw).encrypt(b"written by an older version").decode()
    assert key.decrypt(legacy) == "written by an older version"
    with pytest.raises(CryptoError):
        key.decrypt(Fernet(key.raw).encrypt(crypto.PAD_MARK + b"no end mark").decode())


def test_an_encrypted_memory_type_is_not_guessed_from_its_text(brain: Brain) -> None:
    said = "We decided to use PostgreSQL because the error rate fell; I prefer it."
    assert brain.remember(said).memory.type != "fact"  # guessed for a plain memory
    secret = brain.remember(said + " (secret)", encrypted=True).memory
    assert secret.type == "fact"
    assert (
        brain.remember("Rotate the signing key", encrypted=True, type="todo").memory.type == "todo"
    )


def test_the_first_encrypted_memory_writes_a_key_record_a_hub_cannot_forge(brain: Brain) -> None:
    brain.remember(SECRET, encrypted=True)
    key = crypto.load_key(brain.id)
    assert key is not None
    [(created_at, fingerprint, body)] = brain.keys.records()
    assert fingerprint == crypto.fingerprint(key.raw) and crypto.record_key(key.raws, body)
    assert brain.changes.current("key", "k-" + fingerprint) is not None
    text = str(body).encode()
    assert key.raw not in text and key.raw.decode() not in str(body)
    # Changed by anyone without the key (the time made older, to win), it proves nothing.
    assert crypto.record_key(key.raws, {**body, "created_at": created_at - 1}) is None
    assert crypto.record_key(key.raws, {**body, "mac": "0" * 64}) is None


def test_no_second_key_is_made_for_a_brain_another_device_keyed(brain: Brain, home: Path) -> None:
    other = Fernet.generate_key()
    body = crypto.key_record_body(other, 1_700_000_000_000)
    brain.write_record("key", crypto.key_record_id(other), body=body)  # as pulled from a hub
    with pytest.raises(CryptoError, match="already encrypted with a key") as caught:
        brain.remember(SECRET, encrypted=True)
    assert "nmem keys receive" in str(caught.value.hint)
    assert not crypto.key_path(brain.id).exists() and brain.stats().memories == 0
    assert brain.keys.status()["missing_key"]


def test_invalid_key_records_are_quarantined(brain: Brain) -> None:
    raw = Fernet.generate_key()
    body = crypto.key_record_body(raw, 1_700_000_000_000)
    brain.write_record("key", "k-" + "0" * 32, body=body)  # another key's fingerprint
    brain.write_record("key", "k-bad", body={"fingerprint": "nope"})
    reasons = [row[3] for row in brain.db.execute("SELECT * FROM quarantine")]
    assert len(reasons) == 2 and any("fingerprint" in r for r in reasons)
    assert brain.keys.records() == []
