"""The storage the hub needs, as one small interface; tests/hub runs one contract suite on each.

Methods take the caller's account id and enforce ownership themselves (raising AccessDenied or
NotFound), so no route can forget to. Times are milliseconds since the epoch, given by the caller.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from neuralmemory.protocol import (
    BrainInfo,
    BucketPage,
    BucketPosition,
    DeviceInfo,
    DeviceRecord,
    DigestReply,
    KeyScope,
    PullReply,
    PushReply,
    RecordKey,
    StoredVersion,
    Usage,
    Version,
)


@dataclass(frozen=True)
class KeyRow:
    """An API key as stored: its hash and display prefix, never the key itself."""

    key_id: str
    account_id: str
    name: str
    key_hash: str
    key_prefix: str
    created_at: int
    last_used_at: int | None = None
    revoked_at: int | None = None
    scope: KeyScope = "device"


@dataclass(frozen=True)
class AccountRow:
    """An account as its hub's operator sees it (`nmem hub accounts`): what it holds, and when it
    last did anything (a key used, a brain written, a device synced)."""

    account_id: str
    email: str | None  # None: the built-in local account
    created_at: int
    admin_keys: int  # unrevoked
    device_keys: int  # unrevoked
    brains: int
    records: int
    bytes: int
    last_active_at: int | None


@dataclass(frozen=True)
class OwnedBrain:
    """A brain with its owner, for the operator (`nmem hub brains`)."""

    brain: BrainInfo
    account_id: str
    email: str | None


CodeKind = Literal["invite", "pair"]


@dataclass(frozen=True)
class CodeRow:
    """A one-time code as stored: its hash, never the code (hub/codes.py makes them)."""

    code_hash: str
    kind: CodeKind
    created_at: int
    expires_at: int


@dataclass(frozen=True)
class Incoming:
    """A pushed version with its canonical body text and wire size, both kept from the vhash
    check the edge ran (Version caches its encodings): a push encodes each record once."""

    version: Version
    body_text: str
    size: int
    #: the vhashes its device replaced before pushing it (the push's `replaces`): kept in the
    #: record's history when it is accepted (docs/protocol.md, "History")
    replaces: tuple[str, ...] = ()

    @classmethod
    def of(cls, version: Version, replaces: Sequence[str] = ()) -> Incoming:
        return cls(version, version.body_json(), version.size(), tuple(replaces))


@dataclass(frozen=True)
class Quota:
    """What one account may store over all its brains (Limits.max_account_*); 0: no bound."""

    records: int = 0
    bytes: int = 0


NO_QUOTA = Quota()


class Backend(Protocol):
    async def close(self) -> None: ...

    # accounts and keys
    async def create_account(
        self, account_id: str, email: str, key: KeyRow, invite_hash: str | None = None
    ) -> bool:
        """False (and nothing written) when the email is already registered. With an invite,
        the invite is used up in the same transaction: of two registrations racing for one, one
        wins; CodeRefused (invalid_invite), nothing written, when it is unknown, used or expired."""
        ...

    async def add_code(self, code: CodeRow) -> None: ...

    async def pair(self, code_hash: str, key: KeyRow) -> bool:
        """Use up a pairing code and add `key` in one transaction; False (nothing written) when
        the code is unknown, used or expired (at `key.created_at`)."""
        ...

    async def add_key(self, key: KeyRow, max_keys: int | None) -> None:
        """Conflict when the account already holds `max_keys` unrevoked keys; None: no cap (the
        operator's recovery key, which must always be possible)."""
        ...

    async def key(self, key_id: str) -> KeyRow | None:
        """The key with this id, of any account (the operator's `nmem hub keys revoke`)."""
        ...

    async def find_key(self, key_hash: str, now: int) -> KeyRow | None:
        """The key with this hash (revoked or not), marking it used when the database can take
        the write (a lookup never fails for want of it)."""
        ...

    async def list_keys(self, account_id: str) -> list[KeyRow]: ...

    async def revoke_key(
        self, account_id: str, key_id: str, now: int, *, keep_last_admin: bool = True
    ) -> KeyRow | None:
        """None when the account has no such key; revoking twice keeps the first time.
        Conflict for the account's last unrevoked admin key, decided atomically, unless
        `keep_last_admin` is False (the operator's --force)."""
        ...

    async def accounts(
        self, *, email: str | None = None, account_id: str | None = None
    ) -> list[AccountRow]:
        """Every account, oldest first; or the one with this email, or this id (none: [])."""
        ...

    async def hit(
        self, subjects: Sequence[str], window_start: int, account_id: str | None, day: str
    ) -> list[int] | None:
        """Count one request, in one write: against each subject's window (a key or an address,
        and its account) and in the account's usage for the day (None: no account). Best-effort:
        each subject's hits in this window, or None when not counted (the database could not take
        the write: the request is then served unlimited)."""
        ...

    async def usage(self, account_id: str, day: str) -> Usage: ...

    # the record store
    async def push(
        self,
        account_id: str,
        brain_id: str,
        brain_name: str,
        device: DeviceInfo,
        records: Sequence[Incoming],
        now: int,
        quota: Quota = NO_QUOTA,
    ) -> PushReply:
        """CAS every version in one transaction. Records claim an unknown brain for the
        account; a push of none to an unknown brain writes nothing. QuotaExceeded, nothing
        written, when the accepted versions would grow the account past `quota`."""
        ...

    async def pull(
        self,
        account_id: str,
        brain_id: str,
        brain_name: str,
        device: DeviceInfo,
        cursor: int,
        limit: int,
        exclude_device: bool,
        now: int,
    ) -> PullReply:
        """The changes feed; an unknown brain is an empty page, and nothing is written."""
        ...

    async def brains(self, account_id: str) -> list[BrainInfo]: ...

    async def owned_brains(self, account_id: str | None = None) -> list[OwnedBrain]:
        """Every account's brains with their owners (or one account's), for the operator."""
        ...

    async def brain(self, account_id: str, brain_id: str) -> BrainInfo: ...

    async def digest(self, account_id: str, brain_id: str) -> DigestReply: ...

    async def bucket_entries(
        self,
        account_id: str,
        brain_id: str,
        buckets: Sequence[int],
        after: BucketPosition | None,
        limit: int,
    ) -> BucketPage:
        """The records of these buckets after `after` in (bucket, kind, id) order (strings in
        byte order), at most `limit`; each page is an index range scan whatever the brain's size."""
        ...

    async def fetch(
        self, account_id: str, brain_id: str, keys: Sequence[RecordKey]
    ) -> list[StoredVersion]: ...

    async def devices(self, account_id: str, brain_id: str) -> list[DeviceRecord]: ...

    # key shares (nmem keys share / receive): sealed on the device, opaque here
    async def put_share(
        self,
        account_id: str,
        share_id: str,
        sealed: str,
        now: int,
        expires_at: int,
        max_shares: int,
    ) -> None:
        """Store (or replace: a retried request) the account's share under `share_id`, deleting
        every expired share first. Conflict when another account holds the id, or when the
        account already has `max_shares` waiting."""
        ...

    async def take_share(self, account_id: str, share_id: str, now: int) -> str | None:
        """The sealed text of the account's unexpired share, deleted in the same transaction
        (it is taken once); None when there is none."""
        ...
