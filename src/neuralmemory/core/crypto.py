"""Per-brain encryption: a Fernet key on this disk, and passphrase-protected key export.

What is protected where (also in the README):
* The key lives in $NMEM_HOME/keys/{brain_id}.key (mode 0600) and is never uploaded.
* An encrypted memory's content is stored only as a Fernet token: in the brain database
  (memories.ciphertext) and in every synced record (body.ciphertext). Type, tags, priority and
  times stay readable metadata.
* Its local search index holds HMAC-SHA256 tokens of its words, keyed by a subkey of the brain
  key: the terms never reach the disk in clear, yet the same device can still find the memory.
* An exported key file is the key encrypted with a key derived from a passphrase by scrypt.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from neuralmemory import config, perms
from neuralmemory.errors import CryptoError, InvalidInput, NotFound

EXPORT_FORMAT = "nmem-key/1"
SCRYPT_N = 2**15  # ~32 MiB and ~0.1 s per attempt: cheap once, costly to brute-force
SCRYPT_R = 8
SCRYPT_P = 1
MIN_PASSPHRASE = 8


class BrainKey:
    """A brain's Fernet key, and the HMAC subkey that seals its search terms.

    `others` are further keys it can decrypt with: a brain merged into another one holds
    memories encrypted with either brain's key. `raw` encrypts and seals; the local index is
    sealed with it alone, so it is rebuilt whenever `raw` changes.
    """

    def __init__(self, raw: bytes, *others: bytes) -> None:
        try:
            self._fernet = MultiFernet([Fernet(key) for key in (raw, *others)])
        except ValueError:
            raise CryptoError("the key file is not a valid Fernet key") from None
        self.raw = raw
        self._seal_key = hmac.new(raw, b"nmem index v1", hashlib.sha256).digest()

    def encrypt(self, text: str) -> str:
        return self._fernet.encrypt(text.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeError):
            raise CryptoError(
                "this brain's key cannot decrypt the memory (wrong key)",
                hint="import the key the memory was written with: nmem keys import",
            ) from None

    def can_decrypt(self, token: str) -> bool:
        try:
            self.decrypt(token)
        except CryptoError:
            return False
        return True

    def seal(self, term: str) -> str:
        """A term as it may sit in the local index: an alphanumeric HMAC token."""
        return "h" + hmac.new(self._seal_key, term.encode("utf-8"), hashlib.sha256).hexdigest()[:20]


def key_path(brain_id: str) -> Path:
    return config.home() / "keys" / f"{brain_id}.key"


def load_key(brain_id: str) -> BrainKey | None:
    path = key_path(brain_id)
    if path.exists():
        perms.private_dir(path.parent)
        perms.private_file(path)  # a key file others could read is fixed, with a note
    try:
        raw = path.read_bytes().strip()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise CryptoError(f"cannot read {path}: {exc}") from None
    try:
        return BrainKey(raw)
    except CryptoError:
        raise CryptoError(
            f"{path} is not a valid key file (truncated or damaged)",
            hint="it was not changed; import the brain's key again: nmem keys import",
        ) from None


def load_keyring(brain_ids: list[str]) -> BrainKey | None:
    """One key that decrypts with the key of every id in `brain_ids` found on this device; the
    first one found encrypts and seals. None when none is here."""
    found = [key.raw for key in map(load_key, brain_ids) if key is not None]
    return BrainKey(*found) if found else None


def ensure_key(brain_id: str) -> BrainKey:
    """The brain's key, made on first use with mode 0600."""
    existing = load_key(brain_id)
    if existing is not None:
        return existing
    raw = Fernet.generate_key()
    _write_key(brain_id, raw)
    return BrainKey(raw)


def _write_key(brain_id: str, raw: bytes) -> None:
    path = key_path(brain_id)
    perms.private_dir(config.home())
    perms.private_dir(path.parent)
    config.atomic_write(path, raw + b"\n", mode=0o600)


def _kdf(passphrase: str, salt: bytes) -> bytes:
    derived = Scrypt(salt=salt, length=32, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P).derive(
        passphrase.encode("utf-8")
    )
    return base64.urlsafe_b64encode(derived)


def export_key(brain_id: str, passphrase: str, destination: Path) -> Path:
    """Write the brain's key, sealed with the passphrase, to `destination` (mode 0600)."""
    if len(passphrase) < MIN_PASSPHRASE:
        raise InvalidInput(f"the passphrase must be at least {MIN_PASSPHRASE} characters")
    key = load_key(brain_id)
    if key is None:
        raise NotFound(
            f"no key for brain {brain_id} on this device",
            hint="a key is made by the first encrypted memory, or imported",
        )
    salt = os.urandom(16)
    document = {
        "format": EXPORT_FORMAT,
        "brain_id": brain_id,
        "kdf": {"name": "scrypt", "n": SCRYPT_N, "r": SCRYPT_R, "p": SCRYPT_P},
        "salt": base64.b64encode(salt).decode("ascii"),
        "sealed_key": Fernet(_kdf(passphrase, salt)).encrypt(key.raw).decode("ascii"),
    }
    config.atomic_write(destination, json.dumps(document, indent=2).encode("utf-8"), mode=0o600)
    return destination


def read_export(source: Path, passphrase: str) -> tuple[str, BrainKey]:
    """(brain id, key) from an exported key file; CryptoError for a wrong passphrase."""
    try:
        document = json.loads(source.read_text(encoding="utf-8"))
        if document.get("format") != EXPORT_FORMAT:
            raise ValueError("unknown format")
        brain_id = str(document["brain_id"])
        salt = base64.b64decode(document["salt"])
        sealed = str(document["sealed_key"]).encode("ascii")
    except FileNotFoundError:
        raise NotFound(f"no such key file: {source}") from None
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        raise CryptoError(f"{source} is not an nmem key export") from None
    try:
        raw = Fernet(_kdf(passphrase, salt)).decrypt(sealed)
    except InvalidToken:
        raise CryptoError(
            "wrong passphrase for this key file", hint="nothing was changed"
        ) from None
    return brain_id, BrainKey(raw)


def install_key(brain_id: str, key: BrainKey) -> bool:
    """Store an imported key; False when the same key is already there. Never replaces another."""
    existing = load_key(brain_id)
    if existing is not None:
        if existing.raw == key.raw:
            return False
        raise CryptoError(
            f"a different key for brain {brain_id} already exists at {key_path(brain_id)}",
            hint="nothing was changed; move that file aside first if you mean to replace it",
        )
    _write_key(brain_id, key.raw)
    return True
