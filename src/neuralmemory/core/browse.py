"""Looking at what a brain holds: `nmem list` (newest first, filtered, paged) and `nmem show`
(one memory with its history, its conflict copies, what it supersedes and what it links to).

Read-only: nothing here reinforces a memory or writes a record.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from neuralmemory.clock import stamp_ms
from neuralmemory.core import bodies
from neuralmemory.core.brain import Brain
from neuralmemory.core.checks import check_limit, check_tags, check_type, check_window
from neuralmemory.core.history import Change, changes
from neuralmemory.core.models import Memory
from neuralmemory.core.project import check_project
from neuralmemory.core.recall import SEALED
from neuralmemory.errors import (
    HINT_GIVE_LISTED_ID,
    HINT_LIST_SHOWS_IDS,
    MSG_NO_MEMORY_ID,
    CryptoError,
    NotFound,
)
from neuralmemory.protocol import Version, iso_ms
from neuralmemory.store import history as stored
from neuralmemory.store import memories as sql


@dataclass(frozen=True)
class Page:
    memories: list[Memory]
    next_before: str | None  # pass as `before` for the next page; None: this was the last

    def to_json(self) -> dict[str, Any]:
        return {
            "memories": [memory.to_json() for memory in self.memories],
            "next_before": self.next_before,
        }


@dataclass(frozen=True)
class ConflictCopy:
    id: str  # cf-..., for `nmem sync restore`
    at: int
    device_id: str  # whose version lost
    strategy: str | None
    deleted: bool  # the losing side was a deletion
    content: str | None  # the losing text (None: deleted, or encrypted without the key)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "at": iso_ms(self.at),
            "device_id": self.device_id,
            "strategy": self.strategy,
            "deleted": self.deleted,
            "content": self.content,
        }


@dataclass(frozen=True)
class Detail:
    memory: Memory
    device_id: str  # this device, to tell its own versions apart
    history: list[Change]
    conflicts: list[ConflictCopy]
    supersedes: list[str]  # ids of the memories this one replaced
    concepts: list[str]  # concept names; "(encrypted)" stands for sealed ones
    links: list[tuple[str, int]] = field(default_factory=list)  # learned: (memory id, uses)

    def to_json(self) -> dict[str, Any]:
        return {
            "memory": self.memory.to_json(),
            "this_device": self.device_id,
            "history": [change.to_json() for change in self.history],
            "conflicts": [copy.to_json() for copy in self.conflicts],
            "supersedes": self.supersedes,
            "concepts": self.concepts,
            "links": [{"id": other, "count": count} for other, count in self.links],
        }


def list_memories(
    brain: Brain,
    *,
    limit: int = 20,
    tags: Iterable[str] | None = None,
    type: str | None = None,
    project: str | None = None,
    since: int | None = None,
    until: int | None = None,
    before: str | None = None,
    everything: bool = False,
) -> Page:
    """Memories newest first (by when they were remembered). `before`: a memory id, the page
    starts after it (what `next_before` gives). `everything`: superseded and expired ones too."""
    ask = sql.Listing(
        limit=check_limit(limit) + 1,  # one more says whether a next page exists
        tags=check_tags(tags),
        type=None if type is None else check_type(type),
        project=None if project is None else check_project(project),
        since=check_window(since, until)[0],
        until=until,
        now=None if everything else brain.now(),
    )
    with brain.db.reading():
        if before is not None:
            after = sql.get_memory(brain.db, before) if isinstance(before, str) else None
            if after is None:
                raise NotFound(MSG_NO_MEMORY_ID.format(id=before), hint=HINT_GIVE_LISTED_ID)
            ask = replace(ask, before=(after.created_at, after.rid))
        rows = sql.list_memories(brain.db, ask)
        memories = [brain.memory(row) for row in rows[:limit]]
    more = len(rows) > limit
    return Page(memories, memories[-1].id if more else None)


def show(brain: Brain, memory_id: str) -> Detail:
    """One memory with everything known about it on this device."""
    with brain.db.reading():
        row = sql.get_memory(brain.db, memory_id) if isinstance(memory_id, str) else None
        if row is None:
            raise NotFound(MSG_NO_MEMORY_ID.format(id=memory_id), hint=HINT_LIST_SHOWS_IDS)
        versions = stored.memory_versions(brain.db, memory_id)
        copies = [_copy(brain, copy) for copy in stored.conflict_copies(brain.db, memory_id)]
        replaced = stored.superseded_by(brain.db, memory_id)
        neurons = sql.concepts_of(brain.db, [row.rid])
        links = [(other, count) for _, _, other, count in sql.links_of(brain.db, [memory_id])]
        memory = brain.memory(row)
    sealed = sum(1 for _, neuron, _ in neurons if neuron.kind == SEALED)
    concepts = sorted(neuron.key for _, neuron, _ in neurons if neuron.kind != SEALED)
    concepts += ["(encrypted)"] * bool(sealed)
    return Detail(
        memory,
        brain.device_id,
        changes(versions),
        copies,
        replaced,
        concepts,
        sorted(links, key=lambda pair: -pair[1]),
    )


def _copy(brain: Brain, copy: Version) -> ConflictCopy:
    parsed = bodies.parse(bodies.ConflictBody, copy.body)
    if parsed is None:  # quarantined: listed, never read
        return ConflictCopy(copy.id, stamp_ms(copy.hlc), copy.device_id, None, False, None)
    loser = parsed.loser
    text = None if loser.deleted else _plain(brain, loser.body)
    return ConflictCopy(
        copy.id, stamp_ms(loser.hlc), loser.device_id, parsed.strategy, loser.deleted, text
    )


def _plain(brain: Brain, body: dict[str, Any]) -> str | None:
    content = body.get("content")
    if isinstance(content, str):
        return content
    key = brain.keys.current()
    try:
        return key.decrypt(str(body.get("ciphertext"))) if key else None
    except CryptoError:
        return None
