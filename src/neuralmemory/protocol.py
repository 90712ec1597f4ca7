"""The sync wire protocol, defined once for Python (sync-hub/src/protocol.ts is its TS twin).

docs/protocol.md is the normative text; tests/golden/ holds vectors both languages must reproduce.

Canonical bytes (version 1) -- do *not* change without bumping PROTOCOL_VERSION and VHASH_PREFIX:
  * JSON with object keys sorted by Unicode code point, no insignificant whitespace,
    non-ASCII characters written as UTF-8 (not escaped), the escapes JSON.stringify and
    Python's json.dumps agree on.
  * Numbers must be integral and within +-(2**53 - 1); 1.0 is written 1. Fractions are refused:
    their shortest text differs between languages, so they cannot be hashed portably.
  * Strings must not contain lone surrogates; nesting is at most MAX_DEPTH deep.
  * vhash = "v1:" + sha256(canonical(version without vhash)) in lowercase hex.
Merkle digest: a record's item hash is sha256("{kind}:{id}:{vhash}"); its bucket is the first byte
of sha256("{kind}:{id}"); a bucket's digest is the XOR of its item hashes and the root is the XOR of
all of them, so one write updates both in O(1) and the order of writes does not matter.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from neuralmemory.clock import stamp_ms
from neuralmemory.errors import (
    MSG_FRACTION,
    MSG_KEY_NOT_STRING,
    MSG_LONE_SURROGATES,
    MSG_NOT_JSON_VALUE,
    MSG_PAIR_PORT,
    MSG_PAIR_TARGET,
    MSG_TOO_DEEP,
    MSG_UNSAFE_INTEGER,
)

PROTOCOL_VERSION = 1
VHASH_PREFIX = "v1:"
BUCKETS = 256
MAX_DEPTH = 32
MAX_SAFE_INTEGER = 2**53 - 1
EMPTY_DIGEST = "0" * 64
STRENGTH_SCALE = 1_000_000  # strength is an activation in [0, 1] carried as integer millionths

#: What syncs (docs/architecture.md#records-and-derived-data). The concept graph is derived
#: locally and never travels. A `key` record carries an encryption key's fingerprint, never the
#: key (docs/sync.md, "Keys").
KINDS = ("memory", "activation", "link", "conflict", "key")

#: Hubs remember, for each record of these kinds, the vhashes it held before its current version
#: (newest first, at most HISTORY_DEPTH): a push of one of them is answered `superseded`, so the
#: device takes the hub's version instead of treating its own stale one as a rival edit
#: (docs/protocol.md, "History"). Counters and conflict copies merge without a copy: no need.
HISTORY_KINDS = ("memory",)
HISTORY_DEPTH = 32

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
VHASH_PATTERN = r"^v1:[0-9a-f]{64}$"
HLC_PATTERN = r"^[0-9]{13}-[0-9a-f]{4}-[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"
DIGEST_PATTERN = r"^[0-9a-f]{64}$"
# Free text (device and key names) and emails carry no control characters: PostgreSQL text
# cannot hold NUL, and a newline has no business in a log line or a listing.
LABEL_PATTERN = r"^[^\x00-\x1f\x7f]+$"
EMAIL_PATTERN = r"^[^@\x00-\x20\x7f]{1,64}@[^@\x00-\x20\x7f]+\.[^@\x00-\x20\x7f]+$"
API_KEY_PREFIX = "nmk_"
API_KEY_PATTERN = r"^nmk_[A-Za-z0-9]{32,128}$"
KEY_DISPLAY_CHARS = 12  # "nmk_" + 8 characters are shown, the rest masked
# One-time codes (invites, pairing codes): Crockford base32 in dash-separated groups of 4, so a
# code survives being read aloud or retyped; a hub compares them without dashes and in upper case.
CODE_PATTERN = r"^[A-Za-z0-9-]{1,64}$"
#: Crockford base32: no I, L, O or U, so a code read aloud or retyped cannot be misread.
CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_MISREAD = str.maketrans({"O": "0", "I": "1", "L": "1", "-": None})


def random_code(chars: int) -> str:
    """A new one-time code of `chars` random characters in dash-separated groups of 4."""
    text = "".join(secrets.choice(CODE_ALPHABET) for _ in range(chars))
    return "-".join(text[i : i + 4] for i in range(0, chars, 4))


def normal_code(code: str) -> str:
    """A code as compared: without dashes, in upper case, O read as 0 and I, L as 1."""
    return code.strip().upper().translate(_MISREAD)


#: who may POST /v1/auth/register: anyone, nobody, or whoever holds an invite code
REGISTRATION_MODES = ("open", "closed", "invite")
# Key shares (`nmem keys share` / `nmem keys receive`): a brain key sealed under a one-time code
# the hub never sees, stored under an id derived from that code (docs/protocol.md, "Key shares").
SHARE_ID_PATTERN = r"^s-[0-9a-f]{32}$"
#: the sealed text of one share, base64: a few keys fit many times over
MAX_SHARE_CHARS = 4096
#: how long a share waits for its code (the hub deletes it then, or on its first fetch)
SHARE_TTL_MS = 10 * 60 * 1000
#: shares one account may have waiting at once
MAX_SHARES_PER_ACCOUNT = 10
Registration = Literal["open", "closed", "invite"]
#: Limits.max_account_records' default, here so `nmem serve --help` shows it without loading the
#: pydantic shapes (shapes.py), which every other command would then pay for at start
DEFAULT_MAX_ACCOUNT_RECORDS = 1_000_000


def next_history(kind: str, history: str, replaced: str | None, named: Sequence[str] = ()) -> str:
    """A record's history once an accepted version replaces its current one, `replaced` (None: a
    new record), and names the versions its device replaced before pushing it (`named`: the
    push's `replaces`): space-separated vhashes, newest first, each once, at most HISTORY_DEPTH;
    empty for kinds not kept (docs/protocol.md, "History")."""
    if kind not in HISTORY_KINDS:
        return ""
    head = [] if replaced is None else [replaced]
    return " ".join(list(dict.fromkeys([*head, *named, *history.split()]))[:HISTORY_DEPTH])


def in_history(history: str, vhash: str) -> bool:
    """Whether the hub held `vhash` for this record before its current version: the current
    version descends from it (a record's accepted versions form one chain)."""
    return vhash in history.split()


def clock_ahead(hlc: str, now: int) -> int:
    """How far (ms) a stamp is ahead of `now`: a hub refuses a pushed version stamped more than
    max_clock_skew_ms ahead of its clock (docs/protocol.md, "Clock skew")."""
    return stamp_ms(hlc) - now


# Endpoint paths, the single place they are spelled in Python.
PATH_HEALTH = "/v1/health"
PATH_INFO = "/v1/hub/info"
PATH_METRICS = "/metrics"  # the Python hub's, for operators; not part of the sync protocol
PATH_REGISTER = "/v1/auth/register"
PATH_PAIR = "/v1/auth/pair"
PATH_KEYS = "/v1/auth/keys"
PATH_KEY = "/v1/auth/keys/{key_id}"
PATH_STATUS = "/v1/status"
PATH_BRAINS = "/v1/brains"
PATH_BRAIN = "/v1/brains/{brain_id}"
PATH_PUSH = "/v1/brains/{brain_id}/push"
PATH_PULL = "/v1/brains/{brain_id}/pull"
PATH_DIGEST = "/v1/brains/{brain_id}/digest"
PATH_BUCKETS = "/v1/brains/{brain_id}/buckets"
PATH_FETCH = "/v1/brains/{brain_id}/fetch"
PATH_DEVICES = "/v1/brains/{brain_id}/devices"
PATH_SHARE = "/v1/shares/{share_id}"
PATH_SHARE_TAKE = "/v1/shares/{share_id}/take"


# ---------------------------------------------------------------- canonical bytes and hashes


_ENCODER = json.JSONEncoder(
    ensure_ascii=False, separators=(",", ":"), sort_keys=True, allow_nan=False
)


#: base64's punctuation mapped to a letter: a text that is then all letters and digits is one
#: JSON writes as it is, with no escape
_BASE64_AS_LETTERS = bytes.maketrans(b"+/=", b"AAA")


def canonical_json(value: Any) -> bytes:
    """The canonical UTF-8 bytes of a JSON value; ValueError when it has no canonical form."""
    sealed = value.get("sealed") if type(value) is dict and len(value) == 1 else None
    if type(sealed) is str and sealed.isascii():
        # An end-to-end sealed body (core/e2e.py), encoded once per record pulled: its base64
        # written as it is, after a check that costs a third of json escaping it.
        text = sealed.encode()
        if text.translate(_BASE64_AS_LETTERS).isalnum():
            return b'{"sealed":"' + text + b'"}'
    if _scan(value, 0):
        value = _canonical(value, 0)
    try:
        return _ENCODER.encode(value).encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(MSG_LONE_SURROGATES) from None


def _scan(value: Any, depth: int) -> bool:
    """Check a value has a canonical form, without copying it: True when the C encoder cannot
    write it as it is (an integral float, or a subclass of a JSON type), so `_canonical` must
    rewrite it first. Strings are checked by the final encode. This walk runs once per version
    pushed or pulled, on both ends, and is the costliest part of a sync's bookkeeping."""
    kind = type(value)
    if kind is str or kind is bool or value is None:
        return False
    if kind is int:
        if value > MAX_SAFE_INTEGER or value < -MAX_SAFE_INTEGER:
            raise ValueError(MSG_UNSAFE_INTEGER)
        return False
    if kind is not dict and kind is not list and kind is not tuple:
        return True  # a float or a subclass: `_canonical` checks and rewrites it
    if value and depth >= MAX_DEPTH:
        raise ValueError(MSG_TOO_DEEP.format(depth=MAX_DEPTH))
    # One loop per kind, inline: a call per container would cost this walk 10-20%.
    rewrite = False
    if kind is dict:
        for key, item in value.items():
            if type(key) is not str:
                raise ValueError(MSG_KEY_NOT_STRING)
            if type(item) is not str and _scan(item, depth + 1):
                rewrite = True
    else:
        for item in value:
            if type(item) is not str and _scan(item, depth + 1):
                rewrite = True
    return rewrite


def _canonical(value: Any, depth: int) -> Any:
    if depth > MAX_DEPTH:
        raise ValueError(MSG_TOO_DEEP.format(depth=MAX_DEPTH))
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        if abs(value) > MAX_SAFE_INTEGER:
            raise ValueError(MSG_UNSAFE_INTEGER)
        return value
    if isinstance(value, float):
        if not math.isfinite(value) or not value.is_integer():
            raise ValueError(MSG_FRACTION)
        return _canonical(int(value), depth)
    if isinstance(value, str):
        return value
    if isinstance(value, list | tuple):
        return [_canonical(item, depth + 1) for item in value]
    if isinstance(value, dict):
        for key in value:
            if not isinstance(key, str):
                raise ValueError(MSG_KEY_NOT_STRING)
        return {key: _canonical(item, depth + 1) for key, item in value.items()}
    raise ValueError(MSG_NOT_JSON_VALUE.format(kind=type(value).__name__))


def version_hash(
    *,
    kind: str,
    id: str,
    hlc: str,
    device_id: str,
    parent: str | None,
    deleted: bool,
    strength: int,
    body: dict[str, Any],
) -> str:
    return _vhash(_encode(kind, id, hlc, device_id, parent, deleted, strength, body)[1])


def _encode(
    kind: str,
    id: str,
    hlc: str,
    device_id: str,
    parent: str | None,
    deleted: bool,
    strength: int,
    body: dict[str, Any],
    *,
    checked: bool = False,
) -> tuple[bytes, bytes]:
    """A version's canonical body, and the canonical bytes of all its fields but vhash (what
    vhash hashes), the body encoded once: "body" sorts before every other field, so the whole
    is the body spliced in front of the rest. `checked`: the fields other than body passed
    validation, so each is text JSON writes as it is (ids, stamps and vhashes match their
    patterns, kind is one of KINDS) or a strict bool or int, and the rest needs no walk."""
    encoded_body = canonical_json(body)
    if checked:
        rest = _REST % (
            b"true" if deleted else b"false",
            device_id.encode(),
            hlc.encode(),
            id.encode(),
            kind.encode(),
            b"null" if parent is None else b'"' + parent.encode() + b'"',
            strength,
        )
    else:
        rest = canonical_json(
            {
                "kind": kind,
                "id": id,
                "hlc": hlc,
                "device_id": device_id,
                "parent": parent,
                "deleted": deleted,
                "strength": strength,
            }
        )[1:]
    return encoded_body, b'{"body":' + encoded_body + b"," + rest


_REST = b'"deleted":%b,"device_id":"%b","hlc":"%b","id":"%b","kind":"%b","parent":%b,"strength":%d}'


def _vhash(hashed: bytes) -> str:
    return VHASH_PREFIX + hashlib.sha256(hashed).hexdigest()


def _with_vhash(hashed: bytes, vhash: str) -> bytes:
    """The whole version's canonical bytes: "vhash" sorts after every other field."""
    return hashed[:-1] + b',"vhash":"' + vhash.encode() + b'"}'


def bucket_of(kind: str, id: str) -> int:
    return hashlib.sha256(f"{kind}:{id}".encode()).digest()[0]


def item_digest(kind: str, id: str, vhash: str) -> str:
    return item_hash(kind, id, vhash).hex()


def item_hash(kind: str, id: str, vhash: str) -> bytes:
    """A record's item hash as bytes (item_digest is its hex), for callers folding it as an int."""
    return hashlib.sha256(f"{kind}:{id}:{vhash}".encode()).digest()


def xor_digest(a: str, b: str) -> str:
    """Fold an item hash into (or out of: XOR is its own inverse) a bucket or root digest."""
    return f"{int(a, 16) ^ int(b, 16):064x}"


def iso_ms(ms: int | None) -> str | None:
    """Milliseconds since the epoch as the wire's timestamp text, e.g. 2026-11-24T15:30:00.123Z."""
    if ms is None:
        return None
    moment = datetime.fromtimestamp(ms / 1000, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def mask_key(key: str | None) -> str | None:
    """nmk_a1b2c3d4**** -- the only form in which a key is ever shown after it is created."""
    if not key:
        return None
    return key[:KEY_DISPLAY_CHARS] + "****"


KEY_RE = re.compile(API_KEY_PATTERN)


# ---------------------------------------------------------------- pairing lines

PAIR_COMMAND = "nmem sync pair"


def pair_target(code: str, host: str, port: int) -> str:
    """`CODE@HOST:PORT`, what `nmem serve --lan` and `nmem hub pair` print for a new device."""
    shown = f"[{host}]" if ":" in host else host
    return f"{code}@{shown}:{port}"


def parse_pair_target(text: str) -> tuple[str, str]:
    """(code, hub URL) from `CODE@HOST:PORT`; ValueError when it is not one. A LAN hub speaks
    plain http (the device's HTTPS rule allows it only on private and loopback addresses)."""
    code, at, where = text.strip().partition("@")
    host, colon, port = where.rpartition(":")
    if not (at and colon and re.fullmatch(CODE_PATTERN, code) and port.isdigit() and host):
        raise ValueError(MSG_PAIR_TARGET)
    if not 0 < int(port) < 65536:
        raise ValueError(MSG_PAIR_PORT)
    return code, f"http://{host}:{int(port)}"


# ---------------------------------------------------------------- the wire's shapes

if TYPE_CHECKING:
    from neuralmemory.shapes import *  # noqa: F403


def __getattr__(name: str) -> Any:
    """The pydantic shapes (shapes.py: Version, Limits, the requests and replies), imported on
    first use: `from neuralmemory.protocol import Version` works, and costs nothing until then."""
    if name.startswith("__"):
        raise AttributeError(name)
    from neuralmemory import shapes

    try:
        value = getattr(shapes, name)
    except AttributeError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    globals()[name] = value  # the next lookup is a plain one
    return value
