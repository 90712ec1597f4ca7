"""Pairing through the hub: a brain's keyring sealed under a one-time code the hub never sees.

`nmem keys share` makes a code of SHARE_CODE_CHARS Crockford base32 characters (80 bits), seals
the ring with AES-256-GCM under a key derived from the code by scrypt, and stores the sealed text
on the hub under an id derived from the same code. `nmem keys receive CODE` derives both again,
takes the share (the hub deletes it as it sends it, or at expiry) and opens it. The hub holds an
id and a ciphertext: without the code it can find neither the key nor which code they belong to,
and a guess costs a scrypt derivation plus a rate-limited request.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from neuralmemory.core.crypto import SCRYPT_N, SCRYPT_P, SCRYPT_R, BrainKey
from neuralmemory.errors import HINT_NOTHING_CHANGED, MSG_SHARE_CODE_WRONG, CryptoError
from neuralmemory.protocol import canonical_json, normal_code, random_code

SHARE_FORMAT = "nmem-key-share/1"
SHARE_CODE_CHARS = 16  # 80 bits
SALT = b"nmem key share v1"
NONCE_BYTES = 12


def new_code() -> str:
    return random_code(SHARE_CODE_CHARS)


def _derive(code: str) -> tuple[str, bytes]:
    """(share id, sealing key) of a code: one scrypt derivation, split in two."""
    text = normal_code(code).encode("ascii", errors="replace")
    derived = Scrypt(salt=SALT, length=48, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P).derive(text)
    return "s-" + derived[:16].hex(), derived[16:]


def share_id(code: str) -> str:
    return _derive(code)[0]


def seal(code: str, brain_id: str, key: BrainKey) -> tuple[str, str]:
    """(share id, sealed text) of the brain's keyring under `code`."""
    ident, secret = _derive(code)
    document = {
        "format": SHARE_FORMAT,
        "brain_id": brain_id,
        "keys": [raw.decode("ascii") for raw in key.raws],
    }
    nonce = os.urandom(NONCE_BYTES)
    sealed = AESGCM(secret).encrypt(nonce, canonical_json(document), ident.encode("ascii"))
    return ident, base64.b64encode(nonce + sealed).decode("ascii")


def unseal(code: str, sealed: str) -> tuple[str, BrainKey]:
    """(brain id, keyring) from a share; CryptoError when the code does not open it."""
    ident, secret = _derive(code)
    try:
        data = base64.b64decode(sealed, validate=True)
        plain = AESGCM(secret).decrypt(data[:NONCE_BYTES], data[NONCE_BYTES:], ident.encode())
        document: Any = json.loads(plain)
        if document.get("format") != SHARE_FORMAT:
            raise ValueError("unknown format")
        brain_id = str(document["brain_id"])
        raws = [str(raw).encode("ascii") for raw in document["keys"]]
        return brain_id, BrainKey(*raws)
    except (binascii.Error, InvalidTag, ValueError, KeyError, TypeError, AttributeError):
        raise CryptoError(MSG_SHARE_CODE_WRONG, hint=HINT_NOTHING_CHANGED) from None
