"""Encrypted memories: ciphertext only on disk and on the wire, findable on this device; keys
move between devices as passphrase-protected files, and a wrong passphrase changes nothing."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from neuralmemory.core import crypto
from neuralmemory.core.brain import Brain, open_brain
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


def test_importing_a_different_key_over_an_existing_one_is_refused(
    brain: Brain, tmp_path: Path
) -> None:
    brain.remember(SECRET, encrypted=True)
    stranger = crypto.BrainKey(Fernet.generate_key())
    before = crypto.key_path(brain.id).read_bytes()
    with pytest.raises(CryptoError, match="different key"):
        crypto.install_key(brain.id, stranger)
    assert crypto.key_path(brain.id).read_bytes() == before


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
    with open_brain(name) as again, pytest.raises(CryptoError, match="key is not on this device"):
        again.remember("Another secret: the spare key is under the mat.", encrypted=True)
    assert not key_file.exists()
