"""End-to-end encrypted brains: every record body sealed on the device, opened on the device.

For a brain in E2E mode (`nmem brain create --e2e`, `nmem brain encrypt`) a record's version
travels and is stored -- on the hub and in the device's own record log -- as

    {kind, id, hlc, device_id, parent, deleted: false, strength: 0, body: {"sealed": B64}, vhash}

where B64 is a 12-byte nonce and the AES-256-GCM ciphertext of {"b": body, "d": deleted,
"s": strength}, padded to a length bucket (crypto.padded), under a subkey of the brain key
(HKDF-SHA256, "nmem e2e v1"). The nonce is synthetic: an HMAC-SHA256, under a second subkey
("nmem e2e nonce v1"), of the associated data and the padded plaintext, so a nonce repeats only
with the very same version (the SIV construction). A version's seal is then a function of the
version: a runaway memory stamped again in place from two copies of one folder is the same
version twice, as in a plaintext brain (docs/sync.md, "Clocks"). The associated data is the
canonical JSON of the version's kind, id, hlc, device_id and parent: a sealed body cannot be
moved to another record or kind, nor put under another stamp or parent. The hub sees ids,
stamps, parents, vhashes and padded sizes, which is what sync needs; deletions, strengths and
every body field are sealed.

A device opens each version it reads into a *view* (protocol.version_view): the plaintext
body, deletion and strength, with the sealed version's vhash and bytes, so Merkle digests, CAS
parents, conflicts and counter merges work unchanged, on the device. A version that does not
open -- forged, changed, moved, or plain text where the brain is E2E (a downgrade) -- becomes a
view whose body is {"_rejected": why}: bodies.problem quarantines it, it is never applied.
`key` records stay readable (a device without the key must see that the brain is keyed).
"""

from __future__ import annotations

import base64
import binascii
import functools
import hmac
from collections.abc import Callable
from json.encoder import encode_basestring as _string
from typing import TYPE_CHECKING, Any

from neuralmemory import protocol
from neuralmemory.core import crypto
from neuralmemory.errors import (
    HINT_E2E_KEY_MISSING,
    MSG_E2E_KEY_MISSING,
    MSG_E2E_NO_KEY,
    MSG_E2E_NOT_OPENED,
    MSG_E2E_NOT_SEALED,
    CryptoError,
)
from neuralmemory.protocol import (
    STRENGTH_SCALE,
    canonical_json,
)

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    from neuralmemory.protocol import Version

ENVELOPE = "sealed"
REJECTED = "_rejected"
CLEAR_KINDS = frozenset({"key"})
NONCE_BYTES = 12


def is_sealed(body: dict[str, Any]) -> bool:
    return len(body) == 1 and isinstance(body.get(ENVELOPE), str)


def rejected(body: dict[str, Any]) -> str | None:
    """Why a view was rejected (quarantine's reason), or None."""
    why = body.get(REJECTED)
    return why if isinstance(why, str) and len(body) == 1 else None


def _subkeys(raw: bytes) -> tuple[AESGCM, bytes]:
    """The AES-GCM subkey of a brain key, and the subkey of its synthetic nonces."""
    # cryptography is loaded by the first sealed record, not by every brain (core/crypto.py)
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    return AESGCM(_derived(raw, b"nmem e2e v1")), _derived(raw, b"nmem e2e nonce v1")


def _derived(raw: bytes, info: bytes) -> bytes:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(raw)


def _nonce(key: bytes, aad: bytes, plain: bytes) -> bytes:
    """The synthetic nonce of a seal: the same inputs alone give the same nonce (module
    docstring); the length prefix keeps (aad, plain) pairs from running into each other."""
    message = len(aad).to_bytes(8, "big") + aad + plain
    return hmac.digest(key, message, "sha256")[:NONCE_BYTES]


def _aad(kind: str, id: str, hlc: str, device_id: str, parent: str | None) -> bytes:
    """canonical_json of {kind, id, hlc, device_id, parent} (strings, parent maybe None),
    written out: its keys in sorted order, each string as the canonical encoder writes it
    (ensure_ascii off). A pull builds one per record, and json's encoder took five times as
    long; tests/sync/test_e2e.py holds the two equal."""
    held = "null" if parent is None else _string(parent)
    return (
        f'{{"device_id":{_string(device_id)},"hlc":{_string(hlc)},"id":{_string(id)},'
        f'"kind":{_string(kind)},"parent":{held}}}'
    ).encode()


class Codec:
    """Seals and opens one brain's versions with its keyring, looked up when needed (a key
    received later is used at once); the AES subkeys are derived once per key."""

    def __init__(self, keys: Callable[[], crypto.BrainKey | None]) -> None:
        self._keys = keys
        self._subkeys: dict[bytes, tuple[AESGCM, bytes]] = {}
        self._held: tuple[crypto.BrainKey | None, list[tuple[AESGCM, bytes]]] = (None, [])

    def _ring(self) -> list[tuple[AESGCM, bytes]]:
        key = self._keys()
        if key is None:
            return []
        if key is not self._held[0]:  # a key installed since: its ring, once (a pull opens many)
            for raw in key.raws:
                if raw not in self._subkeys:
                    self._subkeys[raw] = _subkeys(raw)
            self._held = (key, [self._subkeys[raw] for raw in key.raws])
        return self._held[1]

    def seal(self, fields: dict[str, Any], *, deleted: bool, body: dict[str, Any]) -> Version:
        """The view of a new sealed version (sealed with the ring's first key); `fields`: its
        kind, id, hlc, device_id, parent and strength."""
        ring = self._ring()
        if not ring:
            raise CryptoError(MSG_E2E_KEY_MISSING, hint=HINT_E2E_KEY_MISSING)
        strength = fields["strength"]
        payload = canonical_json({"b": body, "d": deleted, "s": strength})
        aad = _aad(
            fields["kind"], fields["id"], fields["hlc"], fields["device_id"], fields["parent"]
        )
        plain = crypto.padded(payload)
        aes, nonce_key = ring[0]
        nonce = _nonce(nonce_key, aad, plain)
        sealed = aes.encrypt(nonce, plain, aad)
        envelope = {ENVELOPE: base64.b64encode(nonce + sealed).decode("ascii")}
        wire = protocol.Version.trusted(**{**fields, "strength": 0}, body=envelope)
        return protocol.version_view(wire, body=body, deleted=deleted, strength=strength)

    def open(self, wire: Version) -> Version:
        """The view of a stored or pulled version; a rejected view when it does not open."""
        if wire.kind in CLEAR_KINDS:
            return wire
        body = wire.body
        sealed = body.get(ENVELOPE) if len(body) == 1 else None
        if not isinstance(sealed, str) or wire.deleted or wire.strength:
            return _rejected(wire, MSG_E2E_NOT_SEALED)
        ring = self._ring()
        if not ring:
            return _rejected(wire, MSG_E2E_NO_KEY)
        data = _decoded(sealed)
        if data is None:
            return _rejected(wire, MSG_E2E_NOT_OPENED)
        aad = _aad(wire.kind, wire.id, wire.hlc, wire.device_id, wire.parent)
        nonce, sealed_bytes = data[:NONCE_BYTES], data[NONCE_BYTES:]
        for aes, _ in ring:
            try:
                plain = aes.decrypt(nonce, sealed_bytes, aad)
            except (_invalid_tag(), ValueError):  # evaluated only when one was raised
                continue
            return _view(wire, plain)
        return _rejected(wire, MSG_E2E_NOT_OPENED)


def _decoded(sealed: str) -> bytes | None:
    """The bytes of an envelope, None unless it is strict base64 (its alphabet only, padding
    only at the end): what b64decode(validate=True) accepts, without the regex pass that cost
    half as much as the decoding (tests/sync/test_e2e.py holds the two equal)."""
    try:
        return binascii.a2b_base64(sealed, strict_mode=True)
    except (binascii.Error, ValueError):  # ValueError: a character outside ASCII
        return None


def _invalid_tag() -> type[Exception]:
    from cryptography.exceptions import InvalidTag

    return InvalidTag


@functools.cache
def _parser() -> Callable[[bytes], Any]:
    # pydantic's JSON reader, the one every plain pulled body goes through (shapes.py), and a
    # third of json.loads' cost; imported on first use, as pydantic is (a hook opens none)
    from pydantic_core import from_json

    return from_json


def _view(wire: Version, plain: bytes) -> Version:
    try:
        payload = _parser()(crypto.unpadded(plain))
        body, deleted, strength = payload["b"], payload["d"], payload["s"]
    except (ValueError, KeyError, TypeError):  # bad JSON or UTF-8: from_json raises ValueError
        return _rejected(wire, MSG_E2E_NOT_OPENED)
    valid = (
        isinstance(body, dict)
        and isinstance(deleted, bool)
        and type(strength) is int
        and 0 <= strength <= STRENGTH_SCALE
        and not (deleted and body)
    )
    if not valid:
        return _rejected(wire, MSG_E2E_NOT_OPENED)
    return protocol.version_view(wire, body=body, deleted=deleted, strength=strength)


def _rejected(wire: Version, why: str) -> Version:
    return protocol.version_view(wire, body={REJECTED: why}, deleted=False, strength=0)
