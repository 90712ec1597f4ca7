"""Per-brain encryption: a keyring of Fernet keys on this disk, and passphrase-protected export.

What is protected where (also in the README):
* The keys live in $NMEM_HOME/keys/{brain_id}.key (mode 0600), one per line, and are never
  uploaded. A brain has one key; a ring holds more only after two devices each made one before
  they synced (docs/sync.md, "Keys"), and every key of it decrypts.
* What travels is a key's *fingerprint*, in a `key` record: an HMAC of a fixed text by the key
  (it reveals nothing of the key), the time the key was made, and a MAC by the key over both, so
  a hub can neither forge one for a key it lacks nor change its time.
* An encrypted memory's content is stored only as a Fernet token: in the brain database
  (memories.ciphertext) and in every synced record (body.ciphertext). The text is padded to a
  length bucket before it is encrypted (PAD_BUCKETS), so a token tells only its bucket. Tags,
  priority and times stay readable metadata; the type is never guessed from the text.
* Its local search index holds HMAC-SHA256 tokens of its words, keyed by a subkey of the brain
  key: the terms never reach the disk in clear, yet the same device can still find the memory.
* An exported key file is the key encrypted with a key derived from a passphrase by scrypt.

`cryptography` is imported by the functions that use a key, not by this module: every brain
imports it, and a hook or a read of a brain without encrypted memories never needs it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from pathlib import Path

from neuralmemory import config, perms
from neuralmemory.errors import (
    HINT_KEY_FILE_DAMAGED,
    HINT_NO_KEY_TO_EXPORT,
    HINT_WRONG_KEY,
    HINT_WRONG_PHRASE,
    MSG_KEY_FILE_DAMAGED,
    MSG_KEY_FILE_EMPTY,
    MSG_KEY_FILE_INVALID,
    MSG_KEY_FILE_UNREADABLE,
    MSG_NO_KEY_FILE,
    MSG_NO_KEY_TO_EXPORT,
    MSG_NOT_A_KEY_EXPORT,
    MSG_PHRASE_TOO_SHORT,
    MSG_WRONG_KEY,
    MSG_WRONG_PHRASE,
    CryptoError,
    InvalidInput,
    NotFound,
)
from neuralmemory.protocol import canonical_json

EXPORT_FORMAT = "nmem-key/1"
SCRYPT_N = 2**15  # ~32 MiB and ~0.1 s per attempt: cheap once, costly to brute-force
SCRYPT_R = 8
SCRYPT_P = 1
MIN_PASSPHRASE = 8
#: Padded plaintexts are 256 bytes, then each power of two up to the largest content's bucket.
PAD_MIN = 256
PAD_MARK = b"\x00np1"  # starts every padded plaintext; tokens made before padding have none
KEY_RECORD_PREFIX = "k-"


def padded(data: bytes) -> bytes:
    """`data` with the mark and ISO/IEC 7816-4 padding (0x80 then zeros) to its bucket: the
    smallest power of two of at least PAD_MIN bytes that holds it."""
    size = len(PAD_MARK) + len(data) + 1
    bucket = max(PAD_MIN, 1 << (size - 1).bit_length())
    return PAD_MARK + data + b"\x80" + b"\x00" * (bucket - size)


def unpadded(data: bytes) -> bytes:
    if not data.startswith(PAD_MARK):
        return data  # written before padding existed
    end = data.rfind(b"\x80")
    # zeros after the 0x80, counted: strip(b"\x00") costs a memchr per byte (a pull opens each
    # record: core/e2e.py)
    if end < len(PAD_MARK) or data.count(0, end + 1) != len(data) - end - 1:
        raise ValueError("bad padding")
    return data[len(PAD_MARK) : end]


def fingerprint(raw: bytes) -> str:
    """A key's public name: 128 bits of an HMAC by the key, which tell nothing of the key."""
    return hmac.new(raw, b"nmem key fingerprint v1", hashlib.sha256).hexdigest()[:32]


def key_record_id(raw: bytes) -> str:
    return KEY_RECORD_PREFIX + fingerprint(raw)


def _record_mac(raw: bytes, fingerprint_: str, created_at: int) -> str:
    mac_key = hmac.new(raw, b"nmem key record v1", hashlib.sha256).digest()
    signed = canonical_json({"created_at": created_at, "fingerprint": fingerprint_})
    return hmac.new(mac_key, signed, hashlib.sha256).hexdigest()


def key_record_body(raw: bytes, created_at: int) -> dict[str, object]:
    """The body of a key's `key` record: what tells other devices the brain is keyed."""
    fp = fingerprint(raw)
    return {"fingerprint": fp, "created_at": created_at, "mac": _record_mac(raw, fp, created_at)}


def record_key(raws: list[bytes], body: dict[str, object]) -> bytes | None:
    """The key of `raws` whose record `body` is, when its MAC proves it; None when this device
    holds no such key, or the body was not made with it (forged, or changed on the way)."""
    fp, created_at, mac = body.get("fingerprint"), body.get("created_at"), body.get("mac")
    if not isinstance(created_at, int) or not isinstance(mac, str):
        return None
    for raw in raws:
        if fingerprint(raw) == fp and hmac.compare_digest(_record_mac(raw, fp, created_at), mac):
            return raw
    return None


class BrainKey:
    """A brain's Fernet key, and the HMAC subkey that seals its search terms.

    `others` are further keys it can decrypt with: a brain merged into another one, or a ring
    from two devices that each made a key, holds memories encrypted with either. `raw` encrypts
    and seals; the local index is sealed with it alone, so it is rebuilt whenever `raw` changes.
    """

    def __init__(self, raw: bytes, *others: bytes) -> None:
        from cryptography.fernet import Fernet, MultiFernet

        self.raws = list(dict.fromkeys((raw, *others)))  # in order, each once
        try:
            self._fernet = MultiFernet([Fernet(key) for key in self.raws])
            self._primary = Fernet(raw)
        except ValueError:
            raise CryptoError(MSG_KEY_FILE_INVALID) from None
        self.raw = raw
        self._seal_key = hmac.new(raw, b"nmem index v1", hashlib.sha256).digest()

    def encrypt(self, text: str) -> str:
        return self._fernet.encrypt(padded(text.encode("utf-8"))).decode("ascii")

    def encrypted_by_primary(self, token: str) -> bool:
        """Whether `raw` itself made this token (a ring's other keys made the rest)."""
        from cryptography.fernet import InvalidToken

        try:
            self._primary.decrypt(token.encode("ascii"))
        except InvalidToken:
            return False
        return True

    def decrypt(self, token: str) -> str:
        from cryptography.fernet import InvalidToken

        try:
            return unpadded(self._fernet.decrypt(token.encode("ascii"))).decode("utf-8")
        except (InvalidToken, UnicodeError, ValueError):
            raise CryptoError(MSG_WRONG_KEY, hint=HINT_WRONG_KEY) from None

    def can_decrypt(self, token: str) -> bool:
        try:
            self.decrypt(token)
        except CryptoError:
            return False
        return True

    def name(self, text: str) -> str:
        """A hex name for `text` that only holders of the key can compute: an end-to-end
        encrypted brain's memory ids, so a hub cannot confirm a guess of a memory's text."""
        id_key = hmac.new(self.raw, b"nmem e2e ids v1", hashlib.sha256).digest()
        return hmac.new(id_key, text.encode("utf-8"), hashlib.sha256).hexdigest()

    def seal(self, term: str) -> str:
        """A term as it may sit in the local index: an alphanumeric HMAC token."""
        return "h" + hmac.new(self._seal_key, term.encode("utf-8"), hashlib.sha256).hexdigest()[:20]


def keys_dir() -> Path:
    return config.home() / "keys"


def key_path(brain_id: str) -> Path:
    return keys_dir() / f"{brain_id}.key"


def load_key(brain_id: str) -> BrainKey | None:
    """The brain's keyring: every key in its key file, the first one encrypting."""
    path = key_path(brain_id)
    if path.exists():
        perms.private_dir(path.parent)
        perms.private_file(path)  # a key file others could read is fixed, with a note
    try:
        raws = path.read_bytes().split()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise CryptoError(MSG_KEY_FILE_UNREADABLE.format(path=path, reason=exc)) from None
    try:
        if not raws:
            raise CryptoError(MSG_KEY_FILE_EMPTY)
        return BrainKey(*raws)
    except CryptoError:
        raise CryptoError(
            MSG_KEY_FILE_DAMAGED.format(path=path), hint=HINT_KEY_FILE_DAMAGED
        ) from None


def load_keyring(brain_ids: list[str]) -> BrainKey | None:
    """One key that decrypts with every key of every id in `brain_ids` found on this device;
    the first one found encrypts and seals. None when none is here."""
    found = [raw for key in map(load_key, brain_ids) if key is not None for raw in key.raws]
    return BrainKey(*found) if found else None


def ensure_key(brain_id: str) -> BrainKey:
    """The brain's key, made on first use with mode 0600."""
    from cryptography.fernet import Fernet

    existing = load_key(brain_id)
    if existing is not None:
        return existing
    raw = Fernet.generate_key()
    _write_key(brain_id, raw)
    return BrainKey(raw)


def _write_key(brain_id: str, *raws: bytes) -> None:
    path = key_path(brain_id)
    perms.private_dir(config.home())
    perms.private_dir(path.parent)
    config.atomic_write(path, b"".join(raw + b"\n" for raw in raws), mode=0o600)


def put_first(brain_id: str, raw: bytes) -> bool:
    """Make `raw` the key that encrypts in the brain's key file (it holds it); True if moved."""
    key = load_key(brain_id)
    if key is None or raw not in key.raws or key.raw == raw:
        return False
    _write_key(brain_id, raw, *(other for other in key.raws if other != raw))
    return True


def _kdf(passphrase: str, salt: bytes) -> bytes:
    from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

    derived = Scrypt(salt=salt, length=32, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P).derive(
        passphrase.encode("utf-8")
    )
    return base64.urlsafe_b64encode(derived)


def export_key(brain_id: str, passphrase: str, destination: Path) -> Path:
    """Write the brain's key, sealed with the passphrase, to `destination` (mode 0600)."""
    from cryptography.fernet import Fernet

    if len(passphrase) < MIN_PASSPHRASE:
        raise InvalidInput(MSG_PHRASE_TOO_SHORT.format(limit=MIN_PASSPHRASE))
    key = load_key(brain_id)
    if key is None:
        raise NotFound(MSG_NO_KEY_TO_EXPORT.format(brain_id=brain_id), hint=HINT_NO_KEY_TO_EXPORT)
    salt = os.urandom(16)
    document = {
        "format": EXPORT_FORMAT,
        "brain_id": brain_id,
        "kdf": {"name": "scrypt", "n": SCRYPT_N, "r": SCRYPT_R, "p": SCRYPT_P},
        "salt": base64.b64encode(salt).decode("ascii"),
        # The whole ring, one key per line (a file from before rings holds one).
        "sealed_key": Fernet(_kdf(passphrase, salt)).encrypt(b"\n".join(key.raws)).decode("ascii"),
    }
    config.atomic_write(destination, json.dumps(document, indent=2).encode("utf-8"), mode=0o600)
    return destination


def read_export(source: Path, passphrase: str) -> tuple[str, BrainKey]:
    """(brain id, key) from an exported key file; CryptoError for a wrong passphrase."""
    from cryptography.fernet import Fernet, InvalidToken

    try:
        document = json.loads(source.read_text(encoding="utf-8"))
        if document.get("format") != EXPORT_FORMAT:
            raise ValueError("unknown format")
        brain_id = str(document["brain_id"])
        salt = base64.b64decode(document["salt"])
        sealed = str(document["sealed_key"]).encode("ascii")
    except FileNotFoundError:
        raise NotFound(MSG_NO_KEY_FILE.format(path=source)) from None
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        raise CryptoError(MSG_NOT_A_KEY_EXPORT.format(path=source)) from None
    try:
        raw = Fernet(_kdf(passphrase, salt)).decrypt(sealed)
    except InvalidToken:
        raise CryptoError(MSG_WRONG_PHRASE, hint=HINT_WRONG_PHRASE) from None
    return brain_id, BrainKey(*raw.split())


def install_key(brain_id: str, key: BrainKey) -> bool:
    """Add an imported key (a ring: every key it holds) to the brain's keyring, after the keys
    already there; False when it had them all. Never replaces or drops one."""
    existing = load_key(brain_id)
    held = existing.raws if existing is not None else []
    added = [raw for raw in key.raws if raw not in held]
    if added:
        _write_key(brain_id, *held, *added)
    return bool(added)
