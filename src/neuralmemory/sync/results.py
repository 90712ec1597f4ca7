"""What the sync service returns: the stable JSON shapes of `nmem sync ... --json` and of the
`nmem_sync*` MCP tools (docs/sync.md), as TypedDicts.

TypedDicts rather than dataclasses because these are JSON documents: a result is emitted and
stored as it is (the last sync's report is kept in the brain and shown again by `status`), and
type-checking the keys is what is wanted, not a second representation to convert. The shapes a
union may hold are final, so that `"error" in result` tells them apart for the type checker too.
"""

from __future__ import annotations

from typing import Any, Literal, TypedDict, final

from neuralmemory.core.models import KeyStatus


class ConfigView(TypedDict):
    """The sync settings as shown to users: the key masked, never whole."""

    enabled: bool
    hub_url: str | None
    api_key: str | None
    ca_cert: str | None
    hub_auth: str | None
    conflict_strategy: str
    auto_sync: bool
    device_id: str
    device_name: str
    config_file: str
    #: what is still missing (a key the hub requires), or that the hub could not be asked
    warning: str | None


class Paired(ConfigView):
    paired: bool


class Setup(TypedDict):
    stage: Literal["no_hub", "no_key", "ready"]
    config: ConfigView
    steps: list[str]


@final
class SyncResult(TypedDict):
    """One sync's report: engine.SyncReport's fields (a test holds them equal)."""

    action: str
    brain: str
    brain_id: str
    hub_url: str
    pulled: int
    applied: int
    pushed: int
    acknowledged: int
    conflicts: int
    quarantined: int
    repaired: int
    seeded: int
    verified: bool | None
    pending: int
    cursor: int
    root: str
    bytes_sent: int
    joined: str | None
    hub_brain: str | None
    split: list[str] | None
    elsewhere: list[dict[str, str | None]] | None
    alone: bool | None
    started_at: str | None
    duration_ms: int


@final
class SyncFailed(TypedDict):
    """The auto-sync after a restore, failed (it is also the brain's last_error)."""

    error: str
    code: str


@final
class BrainSyncFailed(TypedDict):
    """One brain of `--all` whose sync failed."""

    brain: str
    action: str
    error: str
    code: str


class LastError(TypedDict):
    at: str | None
    action: str
    code: str
    error: str


class DeviceView(TypedDict):
    device_id: str
    name: str


class BrainView(TypedDict):
    name: str
    brain_id: str
    #: the hub brain this one syncs with (another device's, once joined)
    remote_id: str
    #: end-to-end encrypted: every record sealed for the hub (docs/sync.md)
    e2e: bool


class Quarantined(TypedDict):
    record: str
    kind: str
    id: str
    reason: str


@final
class HubView(TypedDict):
    """The hub's part of `status`, when it answered."""

    reachable: bool
    name: str
    version: str
    implementation: str
    auth: str
    tier: str
    usage: dict[str, Any]
    limits: dict[str, Any]
    devices: list[dict[str, Any]]
    brains_named: list[str]
    split: list[str]


@final
class HubUnanswered(TypedDict):
    """The hub's part of `status` when asking it failed; reachable when it answered with an
    error (a 401 is an answer, not an outage)."""

    reachable: bool
    error: str
    code: str
    status: int | None


class Status(TypedDict):
    enabled: bool
    hub_url: str | None
    api_key: str | None
    conflict_strategy: str
    warning: str | None
    auto_sync: bool
    device: DeviceView
    brain: BrainView
    pending: int
    conflicts: int
    quarantined: list[Quarantined]
    keys: KeyStatus  # core/models.py
    cursor: int
    graph_waiting: int  # memories whose concept graph is still being built (core/indexing.py)
    last_sync: SyncResult | None
    last_error: LastError | None
    hub: HubView | HubUnanswered | None


class RecordKey(TypedDict):
    kind: str
    id: str


class SideView(TypedDict):
    """One side of a conflict: never decrypted, never ciphertext (service.preview)."""

    vhash: str
    hlc: str
    device_id: str
    deleted: bool
    preview: str


class ConflictView(TypedDict):
    id: str
    record: RecordKey
    strategy: str | None
    resolved_by: str
    loser: SideView
    current: SideView | None


class Restored(TypedDict):
    restored: str
    record: RecordKey
    #: the new current version (None: the restored side was a deletion of a record never seen)
    vhash: str | None
    #: the conflict copy kept of the version the restore replaced
    kept: str | None
