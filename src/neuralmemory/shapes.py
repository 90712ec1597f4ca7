"""The wire's shapes as pydantic models: a record version (Version), what a hub accepts (Limits),
and every request and reply of the protocol. docs/protocol.md is the normative text; the
canonical bytes, hashes, patterns and limits they check are protocol.py's.

protocol.py re-exports every name here on first use (`from neuralmemory.protocol import
Version` works as before): pydantic and these models cost a process more CPU than a hook's whole
work, and a reader of a brain (a hook, `nmem list`) never builds a version.

Longer than ~400 lines on purpose: it is the protocol's whole vocabulary, one small model per
request and reply, read side by side with docs/protocol.md; split by endpoint, a change to the
protocol would be spread over several files.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    model_validator,
)

from neuralmemory.clock import MAX_CLOCK_SKEW_MS
from neuralmemory.errors import (
    MSG_HLC_DEVICE,
    MSG_REPLACES_UNKNOWN,
    MSG_TOMBSTONE_BODY,
    MSG_VHASH_MISMATCH,
)
from neuralmemory.protocol import (
    BUCKETS,
    CODE_PATTERN,
    DEFAULT_MAX_ACCOUNT_RECORDS,
    DIGEST_PATTERN,
    EMAIL_PATTERN,
    HISTORY_DEPTH,
    HLC_PATTERN,
    ID_PATTERN,
    LABEL_PATTERN,
    MAX_SAFE_INTEGER,
    MAX_SHARE_CHARS,
    NAME_PATTERN,
    STRENGTH_SCALE,
    VHASH_PATTERN,
    Registration,
    _encode,
    _vhash,
    _with_vhash,
    version_hash,
)

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
    max_account_records: int = DEFAULT_MAX_ACCOUNT_RECORDS
    max_account_bytes: int = 1024**3
    max_clock_skew_ms: int = MAX_CLOCK_SKEW_MS  # how far ahead a pushed hlc may be
    #: how many vhashes a pushed version may name in the push's `replaces`; 0 (what a hub from
    #: before `replaces` advertises, by its absence): send none, that hub refuses the field
    max_replaced: int = 0


#: what this hub advertises: the defaults (built without the validator), and `replaces` taken
DEFAULT_LIMITS = Limits.model_construct(max_replaced=HISTORY_DEPTH)


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
    held = wire.__dict__
    view = constructed(
        {
            "kind": held["kind"],
            "id": held["id"],
            "hlc": held["hlc"],
            "device_id": held["device_id"],
            "parent": held["parent"],
            "deleted": deleted,
            "strength": strength,
            "body": body,
            "vhash": held["vhash"],
        }
    )
    object.__setattr__(view, "_encoded", wire._encodings())  # what the wire holds, unchanged
    return view


#: a Version's fields, every one of which `constructed` is given
VERSION_FIELDS = (
    "kind",
    "id",
    "hlc",
    "device_id",
    "parent",
    "deleted",
    "strength",
    "body",
    "vhash",
)


def constructed(values: dict[str, Any]) -> Version:
    """`Version.model_construct(**values)` for a value of every field (VERSION_FIELDS), trusted:
    the same instance, made without model_construct's walk over each field's aliases and
    defaults, which cost a pull of an end-to-end encrypted brain (one view per record) three
    times what decrypting the record does. tests/test_protocol.py holds the two equal."""
    version = object.__new__(Version)
    object.__setattr__(version, "__dict__", values)
    object.__setattr__(version, "__pydantic_fields_set__", set(VERSION_FIELDS))
    object.__setattr__(version, "__pydantic_extra__", None)
    object.__setattr__(version, "__pydantic_private__", None)
    return version


class StoredVersion(Version):
    """A version as the hub holds it: stamped with the brain's sequence number."""

    model_config = ConfigDict(extra="ignore", frozen=True, defer_build=True)
    seq: Annotated[int, Field(ge=1)]


Label = Annotated[str, Field(min_length=1, max_length=64, pattern=LABEL_PATTERN)]


class DeviceInfo(_Request):
    device_id: Id
    name: Label
    platform: Label = "unknown"


Replaced = Annotated[list[VHash], Field(min_length=1, max_length=HISTORY_DEPTH)]


class PushRequest(_Request):
    device: DeviceInfo
    brain_name: Name = "default"
    records: list[Version]
    #: for a pushed version (by vhash), the versions of its record its device replaced before
    #: pushing it (coalesced, rewritten, or lost to a hub version): its hub keeps them in the
    #: record's history when it accepts that version (docs/protocol.md, "History")
    replaces: dict[VHash, Replaced] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _names_pushed(self) -> PushRequest:
        pushed = {version.vhash for version in self.records}
        if any(vhash not in pushed for vhash in self.replaces):
            raise ValueError(MSG_REPLACES_UNKNOWN)
        return self


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
