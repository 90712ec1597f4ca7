"""Materialization: the local tables made to reflect records' current versions.

A memory version becomes its memories row, and the memory's derived concept graph (neurons,
synapses, relations, FTS) is rebuilt from its text (sealed words for an encrypted one); an
activation or link version sets its counter. Local writes and versions pulled from a hub go
through here alike, so the graph is always derivable from the memory records alone. A version
whose body fails its schema (core/bodies.py) is stored but quarantined, never materialized.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING

from neuralmemory.core import crypto, indexing, reinforce
from neuralmemory.core.checks import DEFAULT_PRIORITY
from neuralmemory.core.extract import VERSION, extract
from neuralmemory.core.recall import SEALED
from neuralmemory.errors import MSG_DOWNGRADE, CryptoError
from neuralmemory.store import backlog, meta
from neuralmemory.store import memories as sql
from neuralmemory.store.db import Database
from neuralmemory.store.memories import Concept, MemoryRow

if TYPE_CHECKING:
    from neuralmemory.protocol import Version

#: the brain's key when this device holds it (Keyring.current), asked only when needed
KeySource = Callable[[], crypto.BrainKey | None]
#: a quarantine row: (kind, id, vhash, reason)
Refusal = tuple[str, str, str, str]


def materialize(
    db: Database,
    versions: Iterable[Version],
    key: KeySource,
    refused: Sequence[Refusal] = (),
    *,
    text_first: bool = False,
) -> None:
    """Make the local tables reflect these versions, in the caller's transaction.

    A page of pulled versions is materialized together, so the concept graph of all its
    memories is written in a few bulk statements. Only a record's last version matters:
    materializing a version replaces whatever an earlier one left. `refused`: quarantine
    rows of versions refused for a reason of their own. `text_first`: the memories' concept
    graph is left to the backlog (core/indexing.py).
    """
    latest = {(v.kind, v.id): v for v in versions}
    poison = _quarantine(latest.values())
    poison.update({(row[0], row[1]): row for row in refused})
    sql.release(db, [found for found in latest if found not in poison])
    sql.quarantine(db, list(poison.values()))
    # A quarantined version is stored, never materialized: what an earlier valid version
    # of its record left (a memory, its counters) stays as it was, recallable.
    usable = [v for found, v in latest.items() if found not in poison]
    _memories(db, [v for v in usable if v.kind == "memory"], key, text_first=text_first)
    for version in usable:
        body = version.body
        if version.kind == "activation":
            if version.deleted:
                sql.delete_activation(db, version.id)
            else:
                count, last = reinforce.totals(reinforce.counters_of(body))
                sql.set_activation(db, version.id, count, last)
        elif version.kind == "link":
            if version.deleted:
                sql.delete_link(db, version.id)
            else:
                count, last = reinforce.totals(reinforce.counters_of(body))
                sql.set_link(db, version.id, str(body["a"]), str(body["b"]), count, last)
        # "conflict" records are kept as versions only; the sync layer lists them.


def downgrades(db: Database, versions: Sequence[Version], device_id: str) -> list[Refusal]:
    """Quarantine rows of the versions, from other devices than `device_id`, that would make
    a memory encrypted here plaintext: no edit does, so only a faulty or hostile writer."""
    plain = {
        v.id: v
        for v in versions
        if v.kind == "memory"
        and not v.deleted
        and "ciphertext" not in v.body
        and v.device_id != device_id
    }
    return [
        ("memory", id, plain[id].vhash, MSG_DOWNGRADE.format(device=plain[id].device_id))
        for id in sorted(sql.encrypted_among(db, plain))
    ]


def rebuild_index(db: Database, key: KeySource) -> int:
    """Drop and re-derive the whole concept graph and FTS index from the memories."""
    with db.transaction():
        sql.clear_index(db)
        rows = sql.all_memories(db)
        sql.index_many(db, [entry for row in rows if (entry := _derive(row, row.rid, key))])
        found = key()
        meta.put(db, meta.INDEX_KEY, None if found is None else crypto.fingerprint(found.raw))
        meta.put(db, meta.EXTRACTION, str(VERSION))
    return len(rows)


def _memory_row(version: Version) -> MemoryRow:
    """The memory a version's body describes; the body passed bodies.MemoryBody."""
    body = version.body
    ciphertext = body.get("ciphertext")
    # Positional: a named tuple takes 40% longer to build by keyword, and a pull builds 10K.
    return MemoryRow(
        0,  # rid: given when the row is written
        version.id,
        body.get("content"),
        ciphertext,
        ciphertext is not None,  # encrypted
        body["type"],
        list(body.get("tags", [])),
        body.get("priority", DEFAULT_PRIORITY),
        body["created_at"],
        body.get("event_at"),
        body.get("expires_at"),
        body.get("project"),
        body.get("superseded_by"),
    )


def _quarantine(versions: Iterable[Version]) -> dict[tuple[str, str], Refusal]:
    """The versions whose body fails its schema (core/bodies.py), as quarantine rows by key."""
    from neuralmemory.core import bodies  # pydantic: loaded by the first body read

    found: dict[tuple[str, str], Refusal] = {}
    for v in versions:
        why = bodies.problem(v.kind, v.body, deleted=v.deleted, id=v.id)
        if why is not None:
            found[(v.kind, v.id)] = (v.kind, v.id, v.vhash, why)
    return found


def _memories(
    db: Database, versions: Sequence[Version], key: KeySource, *, text_first: bool
) -> None:
    """Upsert or delete memory rows, then derive the graph of the live ones in bulk."""
    existing = sql.rids_of(db, [v.id for v in versions])
    rows: list[MemoryRow] = []
    rids: list[int | None] = []  # the existing row's rid, None for a new memory
    for version in versions:
        rid = existing.get(version.id)
        row = None if version.deleted else _memory_row(version)
        if row is not None:
            if rid is not None:
                sql.unindex(db, rid)
            rows.append(row)
            rids.append(rid)
        elif rid is not None:  # deleted
            sql.delete_memory(db, rid)
    # After the deletes: new memories are numbered past the largest rid they left.
    placed = sql.upsert_memories(db, rows, rids)
    backlog.drop(db, [rid for rid in rids if rid is not None])  # unindexed above
    index = indexing.index_text_first if text_first else indexing.index
    index(db, rows, placed, deriver(key))


def deriver(key: KeySource) -> indexing.Derive:
    """How a memory's graph and FTS text are derived here (with the brain's key when held)."""
    return lambda row, rid: _derive(row, rid, key)


def _derive(row: MemoryRow, rid: int, key_of: KeySource) -> sql.Derived | None:
    """Memory `rid`'s concepts, relations and FTS text (sealed for an encrypted one); None
    for an encrypted memory this device cannot read, and for a superseded one (kept, but
    recall neither returns it nor spreads through it)."""
    if row.superseded_by is not None:
        return None
    if not row.encrypted:
        assert row.content is not None
        found = extract(row.content, now_ms=row.created_at, tags=row.tags)
        return sql.Derived(rid, found.concepts, found.relations, " ".join([row.content, *row.tags]))
    key = key_of()
    if key is None or row.ciphertext is None:
        return None  # no key on this device: kept, not searchable until `nmem keys import`
    try:
        plaintext = key.decrypt(row.ciphertext)
    except CryptoError:
        return None  # written with another key: keep it, unsearchable, rather than block sync
    found = extract(plaintext, now_ms=row.created_at, tags=row.tags)
    concepts = [Concept(key.seal(c.key), SEALED, c.weight) for c in found.concepts]
    relations = [(key.seal(a), key.seal(b), kind) for a, b, kind in found.relations]
    return sql.Derived(rid, concepts, relations, " ".join(map(key.seal, found.words)))
