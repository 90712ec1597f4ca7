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
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    model_validator,
)

from neuralmemory.clock import MAX_CLOCK_SKEW_MS, stamp_ms
from neuralmemory.errors import (
    MSG_FRACTION,
    MSG_HLC_DEVICE,
    MSG_KEY_NOT_STRING,
    MSG_LONE_SURROGATES,
    MSG_NOT_JSON_VALUE,
    MSG_PAIR_PORT,
    MSG_PAIR_TARGET,
    MSG_TOMBSTONE_BODY,
    MSG_TOO_DEEP,
    MSG_UNSAFE_INTEGER,
    MSG_VHASH_MISMATCH,
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


# Every model is built on first use (defer_build): building them all at import took most of the
# 0.25 s this module cost every `nmem` command, though a recall or a remember validates none.


class Limits(BaseModel):
    """What a hub accepts; advertised by GET /v1/hub/info so clients size batches to fit."""

    model_config = ConfigDict(extra="ignore", defer_build=True)

    max_body_bytes: int = 4 * 1024 * 1024
    max_records_per_push: int = 500
    max_record_bytes: int = 512 * 1024
    page_size: int = 500
    max_page_size: int = 1000
    max_fetch_keys: int = 500
    max_bucket_entries: int = 5000
    rate_limit_per_minute: int = 1200
    max_keys_per_account: int = 100  # unrevoked API keys
    #: all keys of one account together, per minute; 0: no such limit
    account_rate_limit_per_minute: int = 4 * 1200
    #: what one account may store over all its brains (tombstones included); 0: no quota
    max_account_records: int = 1_000_000
    max_account_bytes: int = 1024**3
    max_clock_skew_ms: int = MAX_CLOCK_SKEW_MS  # how far ahead a pushed hlc may be


def next_history(kind: str, history: str, replaced: str) -> str:
    """A record's history once its current version `replaced` is replaced by an accepted one:
    space-separated vhashes, newest first, at most HISTORY_DEPTH; empty for kinds not kept."""
    if kind not in HISTORY_KINDS:
        return ""
    return " ".join([replaced, *history.split()][:HISTORY_DEPTH])


def in_history(history: str, vhash: str) -> bool:
    """Whether the hub held `vhash` for this record before its current version: the current
    version descends from it (a record's accepted versions form one chain)."""
    return vhash in history.split()


def clock_ahead(hlc: str, now: int) -> int:
    """How far (ms) a stamp is ahead of `now`: a hub refuses a pushed version stamped more than
    max_clock_skew_ms ahead of its clock (docs/protocol.md, "Clock skew")."""
    return stamp_ms(hlc) - now


DEFAULT_LIMITS = Limits.model_construct()  # the defaults, without building the validator

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


def canonical_json(value: Any) -> bytes:
    """The canonical UTF-8 bytes of a JSON value; ValueError when it has no canonical form."""
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


# ---------------------------------------------------------------- wire models

Id = Annotated[str, Field(pattern=ID_PATTERN)]
Name = Annotated[str, Field(pattern=NAME_PATTERN)]
VHash = Annotated[str, Field(pattern=VHASH_PATTERN)]
Digest = Annotated[str, Field(pattern=DIGEST_PATTERN)]
Kind = Literal["memory", "activation", "link", "conflict", "key"]
Strength = Annotated[StrictInt, Field(ge=0, le=STRENGTH_SCALE)]
Cursor = Annotated[StrictInt, Field(ge=0, le=MAX_SAFE_INTEGER)]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class _Reply(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, defer_build=True)


class Version(_Request):
    """One version of one record, exactly as pushed. The hub checks its vhash, never its body."""

    kind: Kind
    id: Id
    hlc: Annotated[str, Field(pattern=HLC_PATTERN)]
    device_id: Id
    parent: VHash | None = None
    deleted: StrictBool = False
    strength: Strength = 0
    body: dict[str, Any] = Field(default_factory=dict)
    vhash: VHash

    # Its canonical encodings, kept from the vhash check (or made on first use) so that
    # storing, sizing or sending a version never encodes it again. Slots, not fields or
    # pydantic private attributes: not part of its value, and free to leave unset (pydantic
    # initialises private attributes on every validation, which cost more than the encoding).
    __slots__ = ("_encoded",)

    @model_validator(mode="after")
    def _consistent(self) -> Version:
        if self.hlc.split("-", 2)[2] != self.device_id:
            raise ValueError(MSG_HLC_DEVICE)
        if self.deleted and self.body:
            raise ValueError(MSG_TOMBSTONE_BODY)
        body, hashed = self._encode(checked=True)
        if _vhash(hashed) != self.vhash:
            raise ValueError(MSG_VHASH_MISMATCH)
        self._keep(body, hashed)
        return self

    def _encode(self, *, checked: bool = False) -> tuple[bytes, bytes]:
        return _encode(
            self.kind,
            self.id,
            self.hlc,
            self.device_id,
            self.parent,
            self.deleted,
            self.strength,
            self.body,
            checked=checked,
        )

    def _keep(self, body: bytes, hashed: bytes) -> tuple[bytes, bytes]:
        encoded = (body, _with_vhash(hashed, self.vhash))
        object.__setattr__(self, "_encoded", encoded)  # a frozen model: set once, never changed
        return encoded

    def _encodings(self) -> tuple[bytes, bytes]:
        """(canonical body, canonical whole version): kept from the vhash check, or made now."""
        encoded: tuple[bytes, bytes] | None = getattr(self, "_encoded", None)
        return self._keep(*self._encode()) if encoded is None else encoded

    def canonical(self) -> bytes:
        """canonical_json of the whole version, vhash included: what is stored and sent."""
        return self._encodings()[1]

    def body_json(self) -> str:
        """canonical_json of the body alone."""
        return self._encodings()[0].decode("utf-8")

    def size(self) -> int:
        """Bytes this version takes on the wire: what max_record_bytes limits."""
        return len(self.canonical())

    @classmethod
    def create(
        cls,
        *,
        kind: str,
        id: str,
        hlc: str,
        device_id: str,
        parent: str | None = None,
        deleted: bool = False,
        strength: int = 0,
        body: dict[str, Any] | None = None,
    ) -> Version:
        """A new version, hashed and validated."""
        fields: dict[str, Any] = dict(
            kind=kind,
            id=id,
            hlc=hlc,
            device_id=device_id,
            parent=parent,
            deleted=deleted,
            strength=strength,
            body={} if deleted else (body or {}),
        )
        return cls.model_validate({**fields, "vhash": version_hash(**fields)})

    @classmethod
    def trusted(
        cls,
        *,
        kind: str,
        id: str,
        hlc: str,
        device_id: str,
        parent: str | None,
        strength: int,
        body: dict[str, Any],
    ) -> Version:
        """`create` for a live version whose fields this process built itself and knows valid
        (ids it minted or read from its own tables, a stamp from its own clock, a strength in
        range): the body is still checked to be canonical JSON, but is encoded and hashed once,
        and the model is not validated again. Data from outside goes through `create` or
        validation.
        """
        encoded_body, hashed = _encode(
            kind, id, hlc, device_id, parent, False, strength, body, checked=True
        )
        vhash = _vhash(hashed)
        version = cls.model_construct(
            kind=kind,
            id=id,
            hlc=hlc,
            device_id=device_id,
            parent=parent,
            deleted=False,
            strength=strength,
            body=body,
            vhash=vhash,
        )
        version._keep(encoded_body, hashed)
        return version


def version_view(wire: Version, *, body: dict[str, Any], deleted: bool, strength: int) -> Version:
    """A device's view of a sealed version (an end-to-end encrypted brain's, core/e2e.py): the
    body, deletion and strength it opened, with everything that is stored, sent and hashed --
    vhash and canonical bytes -- still the sealed `wire` version's."""
    fields = {name: getattr(wire, name) for name in ("kind", "id", "hlc", "device_id", "parent")}
    view = Version.model_construct(
        **fields, deleted=deleted, strength=strength, body=body, vhash=wire.vhash
    )
    object.__setattr__(view, "_encoded", wire._encodings())  # what the wire holds, unchanged
    return view


class StoredVersion(Version):
    """A version as the hub holds it: stamped with the brain's sequence number."""

    model_config = ConfigDict(extra="ignore", frozen=True, defer_build=True)
    seq: Annotated[int, Field(ge=1)]


Label = Annotated[str, Field(min_length=1, max_length=64, pattern=LABEL_PATTERN)]


class DeviceInfo(_Request):
    device_id: Id
    name: Label
    platform: Label = "unknown"


class PushRequest(_Request):
    device: DeviceInfo
    brain_name: Name = "default"
    records: list[Version]


PushStatus = Literal["accepted", "unchanged", "conflict"]


class PushResult(_Reply):
    kind: Kind
    id: Id
    vhash: VHash
    status: PushStatus
    seq: int | None = None
    current: StoredVersion | None = None  # the hub's version, on conflict
    #: on conflict: the pushed version is one the hub held before `current` (an ancestor of it,
    #: e.g. from a device restored from a backup), not a rival edit. A hub from before history
    #: never says so (an old client ignores the field): the device then resolves as before.
    superseded: bool = False


class PushReply(_Reply):
    results: list[PushResult]
    seq: int
    root: Digest


class PullRequest(_Request):
    device: DeviceInfo
    brain_name: Name = "default"
    cursor: Cursor = 0
    limit: Annotated[StrictInt, Field(ge=1)] | None = None
    exclude_device: StrictBool = False


class PullReply(_Reply):
    records: list[StoredVersion]
    cursor: int
    more: bool
    seq: int
    root: Digest


class DigestReply(_Reply):
    root: Digest
    seq: int
    records: int
    buckets: list[Digest]


Bucket = Annotated[StrictInt, Field(ge=0, lt=BUCKETS)]


class BucketPosition(_Request):
    """Where a bucket listing stopped: the last entry of the previous page."""

    bucket: Bucket
    kind: Kind
    id: Id


class BucketsRequest(_Request):
    buckets: Annotated[list[Bucket], Field(min_length=1, max_length=BUCKETS)]
    #: entries after this position in (bucket, kind, id) order; none: from the start
    after: BucketPosition | None = None
    #: at most this many entries (the hub caps it at its max_bucket_entries)
    limit: Annotated[StrictInt, Field(ge=1)] | None = None


class BucketEntry(_Reply):
    bucket: int
    kind: Kind
    id: Id
    vhash: VHash
    seq: int


class BucketsReply(_Reply):
    entries: list[BucketEntry]
    more: bool = False  # a hub from before paging sends every entry and no `more`


#: (bucket, kind, id, vhash, seq): one bucket entry as a hub stores it
BucketRow = tuple[int, str, str, str, int]
_ENTRY = '{"bucket":%d,"kind":"%s","id":"%s","vhash":"%s","seq":%d}'


@dataclass(frozen=True)
class BucketPage:
    """One page of a bucket listing as the hub reads it, in (bucket, kind, id) order.

    A page may hold thousands of entries, so it is written as JSON directly rather than through
    BucketEntry models (ten times the cost). Every text field was checked against its pattern
    when its record was pushed (a kind, an id, a vhash), so each is written as it is.
    """

    rows: list[BucketRow]
    more: bool

    def json(self) -> bytes:
        entries = ",".join([_ENTRY % row for row in self.rows])
        return f'{{"entries":[{entries}],"more":{"true" if self.more else "false"}}}'.encode()


class RecordKey(_Request):
    kind: Kind
    id: Id


class FetchRequest(_Request):
    keys: Annotated[list[RecordKey], Field(min_length=1)]


class FetchReply(_Reply):
    records: list[StoredVersion]


class DeviceRecord(_Reply):
    device_id: str
    name: str
    platform: str
    first_seen_at: str
    last_sync_at: str | None
    cursor: int


class DevicesReply(_Reply):
    devices: list[DeviceRecord]


class BrainInfo(_Reply):
    brain_id: str
    name: str
    records: int
    bytes: int
    seq: int
    root: Digest
    devices: int
    created_at: str
    last_write_at: str | None


class BrainsReply(_Reply):
    brains: list[BrainInfo]


Code = Annotated[str, Field(pattern=CODE_PATTERN)]


class RegisterRequest(_Request):
    email: Annotated[str, Field(max_length=254, pattern=EMAIL_PATTERN)]
    invite: Code | None = None  # needed when the hub's registration is "invite"


class RegisterReply(_Reply):
    account_id: str
    email: str
    key_id: str
    key_prefix: str
    api_key: str  # shown once
    created_at: str


#: admin: may also create, list and revoke the account's keys. device: sync only, so a key
#: stolen from a device cannot take the account over.
KeyScope = Literal["admin", "device"]


class KeyCreateRequest(_Request):
    name: Label
    scope: KeyScope = "device"


class KeyCreated(_Reply):
    key_id: str
    name: str
    key_prefix: str
    scope: KeyScope
    api_key: str  # shown once
    created_at: str


class PairRequest(_Request):
    """A one-time pairing code exchanged for a key of the hub's local account (LAN pairing)."""

    code: Code
    name: Label  # the device's name, given to its key


class KeyInfo(_Reply):
    key_id: str
    name: str
    key_prefix: str
    scope: KeyScope
    created_at: str
    last_used_at: str | None
    revoked: bool
    revoked_at: str | None


class KeysReply(_Reply):
    keys: list[KeyInfo]


class KeyRevoked(_Reply):
    key_id: str
    revoked: bool
    revoked_at: str


class Usage(_Reply):
    brains: int
    records: int
    bytes: int
    devices: int
    requests_today: int


class StatusReply(_Reply):
    account_id: str
    tier: str
    usage: Usage
    limits: Limits


class HubInfo(_Reply):
    name: str
    version: str
    protocol: int
    implementation: str
    auth: Literal["keys", "local", "none"]
    # A hub from before registration modes existed let anyone register.
    registration: Registration = "open"
    buckets: int
    limits: Limits


class ErrorReply(_Reply):
    error: str
    code: str
    retry_after: int | None = None


SEALED_PATTERN = r"^[A-Za-z0-9+/=]+$"  # base64
Sealed = Annotated[str, Field(min_length=1, max_length=MAX_SHARE_CHARS, pattern=SEALED_PATTERN)]


class ShareRequest(_Request):
    """PUT /v1/shares/{share_id}: a key sealed on the device; the hub cannot open it."""

    sealed: Sealed


class ShareCreated(_Reply):
    share_id: str
    expires_at: str


class ShareReply(_Reply):
    """POST /v1/shares/{share_id}/take: the sealed key, deleted from the hub as it is sent."""

    share_id: str
    sealed: str


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
