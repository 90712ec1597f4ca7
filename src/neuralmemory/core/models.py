"""What the library hands back: memories, recall hits, stats. Their `to_json` is the stable
shape the CLI's --json and the MCP tools print (docs/cli.md)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, TypedDict

from neuralmemory.protocol import iso_ms


@dataclass(frozen=True)
class Memory:
    id: str
    content: str | None  # None: encrypted and this device has no key for it
    encrypted: bool
    type: str
    tags: list[str]
    priority: int
    created_at: int  # ms since the epoch
    event_at: int | None
    expires_at: int | None
    strength: float  # activation in [0, 1] now
    access_count: int
    project: str | None = None  # the project it belongs to (core/project.py); None: none
    superseded_by: str | None = None  # the memory that replaced it (out of recall, kept)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("created_at", "event_at", "expires_at"):
            data[key] = iso_ms(data[key])
        data["strength"] = round(self.strength, 4)
        return data


@dataclass(frozen=True)
class Remembered:
    memory: Memory
    created: bool  # False: the same text was already remembered, nothing was written

    def to_json(self) -> dict[str, Any]:
        return {"id": self.memory.id, "created": self.created, "memory": self.memory.to_json()}


@dataclass(frozen=True)
class Forgotten:
    id: str
    memory: Memory | None  # as it was (None: a row this device never materialized)
    links: int  # learned links deleted with it, or that would be
    dry_run: bool  # True: nothing was deleted

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "forgotten": not self.dry_run,
            "dry_run": self.dry_run,
            "links": self.links,
            "memory": None if self.memory is None else self.memory.to_json(),
        }


@dataclass(frozen=True)
class Hit:
    memory: Memory
    score: float
    path: list[str]  # steps from the query to the memory (docs/cli.md, "recall")
    via: str  # "text" (the query's own words or concepts), "concept", "relation" or "link"

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.memory.id,
            "score": round(self.score, 4),
            "via": self.via,
            "path": self.path,
            "memory": self.memory.to_json(),
        }


@dataclass(frozen=True)
class Stats:
    brain: str
    brain_id: str
    path: str
    memories: int
    encrypted: int
    neurons: int
    synapses: int
    relations: int
    links: int
    records: int
    pending: int
    db_bytes: int
    #: memories per project, largest first ("" for those of no project)
    projects: dict[str, int]
    #: memories whose concept graph is still being built (core/indexing.py); 0: complete
    graph_waiting: int = 0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class BrainInfo:
    name: str
    brain_id: str
    path: str
    current: bool
    db_bytes: int

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class DeletedBrain:
    deleted: str
    path: str
    current: str | None  # the brain now current, when the deleted one was (else None)
    recreated: bool  # the deleted brain was the last one: an empty `default` was made

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class KeyStatus(TypedDict):
    """A brain's keys as `nmem sync status` shows them (Keyring.status)."""

    keyed: bool  # a key record, or a key on this device
    fingerprint: str | None  # the brain's key: the oldest key record's, else the key here
    keys_held: int
    missing_key: bool  # the brain's key is not among those held here
