"""What recall returns: ranked memories filtered, shaped into the API's hits, and the uses they
earn (Hebbian reinforcement of the best few and of the links their paths went through).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from neuralmemory.core import crypto, reinforce
from neuralmemory.core.checks import OPEN, Window
from neuralmemory.core.models import Hit, Memory
from neuralmemory.core.recall import TEXT_ACTIVATION, Scored
from neuralmemory.store import memories as sql
from neuralmemory.store.db import Database
from neuralmemory.store.memories import MemoryRow

if TYPE_CHECKING:
    from neuralmemory.protocol import Version

REINFORCED = 5  # recall strengthens its best few hits, not the tail of the list

#: a memory's (created_at, uses, last use) as store/memories.py strength_inputs gives them
Inputs = tuple[int, int, int | None]
#: (kind, id) -> the new (body, strength) of a counter record, as ChangeLog.update_many takes
Bump = Callable[[str, str, "Version | None"], tuple[dict[str, Any], int]]


def memory_of(
    db: Database,
    row: MemoryRow,
    key_of: Callable[[], crypto.BrainKey | None],
    now: int,
    inputs: Inputs | None = None,
) -> Memory:
    """The API's Memory for a row, decrypted when this device holds the key (`key_of` is asked
    only for an encrypted memory); `inputs` are its strength_inputs when already read."""
    created, count, last = inputs or sql.strength_inputs(db, [row.rid])[row.rid]
    content = row.content
    if row.encrypted and row.ciphertext is not None:
        key = key_of()
        content = key.decrypt(row.ciphertext) if key else None
    return Memory(
        id=row.id,
        content=content,
        encrypted=row.encrypted,
        type=row.type,
        tags=row.tags,
        priority=row.priority,
        created_at=row.created_at,
        event_at=row.event_at,
        expires_at=row.expires_at,
        strength=reinforce.activation(count, last or created, now),
        access_count=count,
        project=row.project,
        superseded_by=row.superseded_by,
    )


def wanted(
    row: MemoryRow,
    now: int,
    tags: set[str],
    type_: str | None,
    scope: str | None,
    window: Window = OPEN,
) -> bool:
    """A recall filter: the memory has not expired, has the type and all the tags asked for, is
    of its time within the window (the day its text names, "last Friday" or a date, else when it
    was remembered), and is of the project in scope or of none."""
    if row.expires_at is not None and row.expires_at <= now:
        return False
    since, until = window
    moment = row.created_at if row.event_at is None else row.event_at
    if (since is not None and moment < since) or (until is not None and moment >= until):
        return False
    if (type_ and row.type != type_) or (tags and not tags <= set(row.tags)):
        return False
    return scope is None or row.project in (scope, None)


def pick(
    db: Database,
    ranked: list[Scored],
    limit: int,
    now: int,
    tags: set[str],
    type_: str | None,
    scope: str | None,
    window: Window = OPEN,
) -> list[tuple[Scored, MemoryRow]]:
    """The first `limit` ranked memories that have not expired and pass the filters; with a
    project in scope, its own first, then those of no project (each part in rank order)."""
    picked: list[tuple[Scored, MemoryRow]] = []
    # Filters may reject many of the best: read more rows per chunk then. Without them
    # only an expired memory is skipped, and `limit` rows nearly always suffice.
    step = 4 * limit if tags or type_ or scope or window != OPEN else limit
    for start in range(0, len(ranked), step):
        chunk = ranked[start : start + step]
        rows = sql.memories_by_rid(db, [s.rid for s in chunk])
        kept = [(item, rows[item.rid]) for item in chunk]
        picked += [pair for pair in kept if wanted(pair[1], now, tags, type_, scope, window)]
        if len(picked) >= limit:
            break
    if scope is not None:
        picked.sort(key=lambda pair: pair[1].project is None)
    return picked[:limit]


def hits(
    db: Database,
    picked: list[tuple[Scored, MemoryRow]],
    memory: Callable[[MemoryRow, Inputs], Memory],
) -> tuple[list[Hit], list[str | None]]:
    """The API's hits, and for each the id of the memory its hop-2 path went through (None
    for a direct match, or when that memory is gone)."""
    path_rids = {step.rid for item, _ in picked for step in item.path if step.kind == "memory"}
    ids = sql.ids_by_rid(db, path_rids)
    inputs = sql.strength_inputs(db, [row.rid for _, row in picked])
    found: list[Hit] = []
    sources: list[str | None] = []
    for item, row in picked:
        source, via = None, "text"
        if item.path and item.best > item.text + TEXT_ACTIVATION * item.a1:
            path, via = [step.text(ids) for step in item.path], str(item.path[-1].kind)
            source = next((ids.get(s.rid) for s in item.path if s.kind == "memory"), None)
        else:
            path = [step.text(ids) for step in item.matched[:6]] or ["text"]
        found.append(Hit(memory(row, inputs[row.rid]), item.score, path, via))
        sources.append(source)
    return found, sources


def reinforcements(
    found: list[Hit], sources: list[str | None], device_id: str, now: int
) -> tuple[list[tuple[str, str]], Bump]:
    """What recall's use of `found` writes: each of the best hits gains a use, and so does the
    learned link from the memory its hop-2 path went through (`sources`, as hits() gives
    them). The records to update, and how each changes (for ChangeLog.update_many)."""
    keys: list[tuple[str, str]] = []
    ends: dict[str, dict[str, Any]] = {}  # link id -> its {"a", "b"}
    for hit, source in zip(found[:REINFORCED], sources, strict=False):
        keys.append(("activation", hit.memory.id))
        if hit.via in ("concept", "link") and source:
            a, b = sorted((source, hit.memory.id))
            link = reinforce.link_id(a, b)
            keys.append(("link", link))
            ends[link] = {"a": a, "b": b}

    def bump(kind: str, id: str, live: Version | None) -> tuple[dict[str, Any], int]:
        counters = reinforce.counters_of(live.body) if live else {}
        counters = reinforce.bump(counters, device_id, now)
        count, last = reinforce.totals(counters)
        strength = reinforce.millionths(reinforce.activation(count, last, now))
        extra = ends[id] if kind == "link" else {}
        return {**extra, "devices": counters}, strength

    return keys, bump
