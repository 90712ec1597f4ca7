"""The SQL for materialized memories and their derived graph (neurons, synapses, relations, FTS5).

Materialized tables (memories, activations, links) mirror the current record versions kept by
store/changes.py. The graph tables and the FTS index are derived: core/materialize.py rebuilds them
from the memories alone, and none of them ever syncs. Functions here take a Database and run
inside the caller's transaction; they know nothing of versions, extraction or encryption.

Longer than ~400 lines on purpose: it is the one place that knows the columns and indexes of the
materialized tables and their derived graph, which are written together (a memory, its FTS row
and its neurons) and read together by recall; split by table, a query would be separated from the
writes whose shape it relies on.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from neuralmemory.store.db import Database

_MEMORY_COLUMNS = (
    "rid, id, content, ciphertext, encrypted, type, tags, priority,"
    " created_at, event_at, expires_at, project, superseded_by"
)
_JOINED_COLUMNS = ", ".join(f"m.{column.strip()}" for column in _MEMORY_COLUMNS.split(","))


class MemoryRow(NamedTuple):
    """A memories row. A named tuple, not a dataclass: a pull makes one per memory, and a
    frozen dataclass costs ten times as much to build."""

    rid: int
    id: str
    content: str | None
    ciphertext: str | None
    encrypted: bool
    type: str
    tags: list[str]
    priority: int
    created_at: int
    event_at: int | None
    expires_at: int | None
    project: str | None = None
    superseded_by: str | None = None  # the memory that replaced it: out of recall, kept


@dataclass(frozen=True)
class Concept:
    """A neuron as a memory uses it: its key, its kind and the synapse weight."""

    key: str
    kind: str
    weight: float


@dataclass(frozen=True)
class Neuron:
    id: int
    key: str
    kind: str
    df: int


def _row(values: Any) -> MemoryRow:
    (
        rid,
        id_,
        content,
        ciphertext,
        encrypted,
        type_,
        tags,
        priority,
        created,
        event,
        expires,
        project,
        superseded_by,
    ) = values
    return MemoryRow(
        rid=rid,
        id=id_,
        content=content,
        ciphertext=ciphertext,
        encrypted=bool(encrypted),
        type=type_,
        tags=json.loads(tags),
        priority=priority,
        created_at=created,
        event_at=event,
        expires_at=expires,
        project=project,
        superseded_by=superseded_by,
    )


# ---------------------------------------------------------------------------- memories


_MEMORY_VALUES = (
    "content, ciphertext, encrypted, type, tags, priority, created_at, event_at, expires_at,"
    " project, superseded_by"
)


def upsert_memories(
    db: Database, rows: Sequence[MemoryRow], rids: Sequence[int | None]
) -> list[int]:
    """Write memories' rows (their `rid` field is ignored): `rids[i]` is row i's rid when it
    exists (its row is updated in place: a rid is stable across updates), None for a new
    memory. Returns every row's rid.

    New memories are inserted with the rid SQLite would have given them (one past the largest
    in use, the documented rowid algorithm), numbered here so that no query has to read them
    back. The caller must already have deleted whatever it deletes in the same batch."""
    updates: list[tuple[Any, ...]] = []
    inserts: list[tuple[Any, ...]] = []
    assigned: list[int] = []
    top = last_rid(db)
    tag_texts: dict[tuple[str, ...], str] = {}  # a page's memories share a few tag lists
    for row, rid in zip(rows, rids, strict=True):
        tags = tuple(row.tags)
        tags_text = tag_texts.get(tags)
        if tags_text is None:
            tags_text = tag_texts[tags] = json.dumps(row.tags)
        values = (
            row.content,
            row.ciphertext,
            int(row.encrypted),
            row.type,
            tags_text,
            row.priority,
            row.created_at,
            row.event_at,
            row.expires_at,
            row.project,
            row.superseded_by,
        )
        if rid is None:
            top += 1
            assigned.append(top)
            inserts.append((top, row.id, *values))
        else:
            assigned.append(rid)
            updates.append((*values, rid))
    if updates:
        db.executemany(
            "UPDATE memories SET content = ?, ciphertext = ?, encrypted = ?, type = ?, tags = ?,"
            " priority = ?, created_at = ?, event_at = ?, expires_at = ?, project = ?,"
            " superseded_by = ? WHERE rid = ?",
            updates,
        )
    if inserts:
        db.insert_many(f"INSERT INTO memories (rid, id, {_MEMORY_VALUES})", inserts)
    return assigned


def last_rid(db: Database) -> int:
    """The largest rid in use (0 for none): one lookup at the end of the rowid b-tree."""
    return int(db.execute("SELECT max(rid) FROM memories").fetchone()[0] or 0)


def get_memory(db: Database, id: str) -> MemoryRow | None:
    row = db.execute(f"SELECT {_MEMORY_COLUMNS} FROM memories WHERE id = ?", (id,)).fetchone()
    return None if row is None else _row(row)


def recent_ciphertexts(db: Database, limit: int) -> list[str]:
    """The ciphertexts of the newest encrypted memories: samples to check a key against."""
    rows = db.execute(
        "SELECT ciphertext FROM memories WHERE encrypted = 1 AND ciphertext IS NOT NULL"
        " ORDER BY rid DESC LIMIT ?",
        (limit,),
    )
    return [row[0] for row in rows]


def newest_memories(
    db: Database, limit: int, now: int, types: Sequence[str] = (), project: str | None = None
) -> list[MemoryRow]:
    """The live memories stored last on this device (largest rid first), of `types` if given;
    with a project, its own first, then those of no project. Each part walks an index (rowid,
    or project then rowid) backwards: no sort, however large the brain."""
    where = "(expires_at IS NULL OR expires_at > ?) AND superseded_by IS NULL"
    params: list[object] = [now]
    if types:
        where += f" AND type IN ({','.join('?' * len(types))})"
        params += list(types)
    parts = (
        [("", [])]
        if project is None
        else [(" AND project = ?", [project]), (" AND project IS NULL", [])]
    )
    found: list[MemoryRow] = []
    for scoped, scope_params in parts:
        rows = db.execute(
            f"SELECT {_MEMORY_COLUMNS} FROM memories WHERE {where}{scoped}"
            " ORDER BY rid DESC LIMIT ?",
            [*params, *scope_params, limit - len(found)],
        )
        found += map(_row, rows)
        if len(found) >= limit:
            break
    return found


def most_used_memories(
    db: Database, limit: int, now: int, project: str | None = None
) -> list[MemoryRow]:
    """The live memories recall returned most often (their activation counts), most first; of
    `project` (and of none) if given, the project's first."""
    scoped, scope_params, lead = "", [], ""
    if project is not None:
        scoped, scope_params = " AND (m.project = ? OR m.project IS NULL)", [project]
        lead = "m.project IS NULL, "
    rows = db.execute(
        f"SELECT {_JOINED_COLUMNS} FROM activations a JOIN memories m ON m.id = a.memory_id"
        f" WHERE (m.expires_at IS NULL OR m.expires_at > ?) AND m.superseded_by IS NULL{scoped}"
        f" ORDER BY {lead}a.count DESC, a.last_at DESC LIMIT ?",
        [now, *scope_params, limit],
    )
    return [_row(row) for row in rows]


@dataclass(frozen=True)
class Listing:
    """What `nmem list` asks for; None: no such filter. Times are epoch ms, `until` exclusive."""

    limit: int
    tags: Sequence[str] = ()
    type: str | None = None
    project: str | None = None
    since: int | None = None
    until: int | None = None
    before: tuple[int, int] | None = None  # (created_at, rid) of the memory to page after
    now: int | None = None  # given: leave out memories expired by then, and superseded ones


def list_memories(db: Database, ask: Listing) -> list[MemoryRow]:
    """Memories newest first (created_at, then rid) passing the filters, at most `ask.limit`;
    the memories_created index is walked backwards, so a page costs its size."""
    where: list[str] = []
    params: list[object] = []
    for tag in ask.tags:
        where.append("EXISTS (SELECT 1 FROM json_each(tags) WHERE value = ?)")
        params.append(tag)
    for clause, value in (
        ("type = ?", ask.type),
        ("project = ?", ask.project),
        ("created_at >= ?", ask.since),
        ("created_at < ?", ask.until),
    ):
        if value is not None:
            where.append(clause)
            params.append(value)
    if ask.before is not None:
        where.append("(created_at, rid) < (?, ?)")
        params += list(ask.before)
    if ask.now is not None:
        where.append("(expires_at IS NULL OR expires_at > ?) AND superseded_by IS NULL")
        params.append(ask.now)
    rows = db.execute(
        f"SELECT {_MEMORY_COLUMNS} FROM memories WHERE {' AND '.join(where) or '1'}"
        " ORDER BY created_at DESC, rid DESC LIMIT ?",
        [*params, ask.limit],
    )
    return [_row(row) for row in rows]


def memories_by_rid(db: Database, rids: Iterable[int]) -> dict[int, MemoryRow]:
    return {row.rid: row for row in map(_row, _where_in(db, _MEMORY_COLUMNS, "rid", rids))}


def ids_by_rid(db: Database, rids: Iterable[int]) -> dict[int, str]:
    """rid -> memory id, without reading (or decoding) the rest of the rows."""
    return {int(rid): str(id_) for rid, id_ in _where_in(db, "rid, id", "rid", rids)}


def rids_of(db: Database, ids: Iterable[str]) -> dict[str, int]:
    return {str(id_): int(rid) for id_, rid in _where_in(db, "id, rid", "id", ids)}


def encrypted_among(db: Database, ids: Iterable[str]) -> set[str]:
    """Which of these memories are encrypted here."""
    return {str(id_) for id_, encrypted in _where_in(db, "id, encrypted", "id", ids) if encrypted}


def _where_in(db: Database, columns: str, key: str, values: Iterable[Any]) -> list[Any]:
    """Rows of memories whose `key` column is one of `values` (none asked: no query)."""
    wanted = list(values)
    if not wanted:
        return []
    marks = ",".join("?" * len(wanted))
    return list(db.execute(f"SELECT {columns} FROM memories WHERE {key} IN ({marks})", wanted))


def all_memories(db: Database) -> list[MemoryRow]:
    return [_row(row) for row in db.execute(f"SELECT {_MEMORY_COLUMNS} FROM memories ORDER BY rid")]


def delete_memory(db: Database, rid: int) -> None:
    unindex(db, rid)
    db.execute("DELETE FROM memories WHERE rid = ?", (rid,))


def memory_count(db: Database) -> int:
    return int(db.execute("SELECT count(*) FROM memories").fetchone()[0])


def indexed_count(db: Database) -> int:
    """How many memories the FTS index holds (the N of BM25's IDF), in O(1) where a count(*)
    reads the whole table. FTS5 keeps it as the first varint of its averages record (rowid 1
    of the %_data table, part of SQLite's stable file format); 0 for an empty index."""
    row = db.execute("SELECT block FROM memory_fts_data WHERE id = 1").fetchone()
    value = 0
    for byte in row[0][:8] if row else b"":  # the 9-byte form would mean 2**56 memories
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            break
    return value


# ---------------------------------------------------------------------------- derived graph


class Derived(NamedTuple):
    """What one memory contributes to the derived graph (a named tuple, as MemoryRow is)."""

    rid: int
    concepts: Sequence[Concept]
    relations: Sequence[tuple[str, str, str]]  # (concept key, concept key, relation kind)
    fts_text: str


def index_many(db: Database, memories: Sequence[Derived]) -> None:
    """Attach memories to their neurons (created on first use, df counted), their relations
    and the FTS index: a few bulk statements for a whole page of memories."""
    index_graph(db, memories)
    index_text(db, [(m.rid, m.fts_text) for m in memories])


def index_text(db: Database, texts: Sequence[tuple[int, str]]) -> None:
    """The FTS rows of memories, (rid, text): what recall by text reads."""
    db.insert_many("INSERT INTO memory_fts (rowid, terms)", texts)


def index_graph(db: Database, memories: Sequence[Derived]) -> None:
    """Attach memories to their neurons (created on first use, df counted) and their relations
    (their `fts_text` is not read: index_text writes it)."""
    if not memories:
        return
    # Neurons are created in the order of their first use, which numbers them: keep it.
    counts: dict[str, int] = {}  # key -> number of uses in this batch
    kinds: dict[str, str] = {}  # key -> kind of its first use
    for memory in memories:
        for concept in memory.concepts:
            key = concept.key
            if key in counts:
                counts[key] += 1
            else:
                counts[key] = 1
                kinds[key] = concept.kind
    ids: dict[str, int] = dict(
        db.insert_many(
            "INSERT INTO neurons (key, kind, df)",
            [(key, kinds[key], count) for key, count in counts.items()],
            "ON CONFLICT (key) DO UPDATE SET df = df + excluded.df RETURNING key, id",
        )
    )
    db.insert_many(
        "INSERT INTO synapses (neuron_id, memory_rid, weight)",
        [(ids[c.key], m.rid, c.weight) for m in memories for c in m.concepts],
    )
    # A relation is kept only between two of its memory's own concepts; most memories state
    # none, so the set of their concept keys is built only for those that do.
    db.executemany(
        "INSERT OR IGNORE INTO relations (src, dst, kind, memory_rid) VALUES (?, ?, ?, ?)",
        [
            (ids[a], ids[b], kind, m.rid)
            for m in memories
            if m.relations
            for own in [{c.key for c in m.concepts}]
            for a, b, kind in m.relations
            if a in own and b in own
        ],
    )


def unindex(db: Database, rid: int) -> None:
    """Detach a memory from the derived graph; neurons nobody uses any more are dropped."""
    own = "SELECT neuron_id FROM synapses WHERE memory_rid = ?"
    db.execute(f"UPDATE neurons SET df = df - 1 WHERE id IN ({own})", (rid,))
    # Only this memory's neurons can have dropped to 0: never scan the whole neurons table.
    db.execute(f"DELETE FROM neurons WHERE df <= 0 AND id IN ({own})", (rid,))
    db.execute("DELETE FROM synapses WHERE memory_rid = ?", (rid,))
    db.execute("DELETE FROM relations WHERE memory_rid = ?", (rid,))
    db.execute("DELETE FROM memory_fts WHERE rowid = ?", (rid,))


def clear_index(db: Database) -> None:
    for table in ("synapses", "relations", "neurons", "memory_fts", "graph_backlog"):
        db.execute(f"DELETE FROM {table}")


def neurons_by_key(db: Database, keys: Iterable[str]) -> list[Neuron]:
    wanted = sorted(set(keys))
    if not wanted:
        return []
    marks = ",".join("?" * len(wanted))
    rows = db.execute(f"SELECT id, key, kind, df FROM neurons WHERE key IN ({marks})", wanted)
    return [Neuron(int(i), str(k), str(kind), int(df)) for i, k, kind, df in rows]


def fan_out(db: Database, neuron_id: int, limit: int) -> list[tuple[int, float]]:
    """At most `limit` memories holding a neuron, newest first: bounded fan-out per hop."""
    rows = db.execute(
        "SELECT memory_rid, weight FROM synapses WHERE neuron_id = ?"
        " ORDER BY memory_rid DESC LIMIT ?",
        (neuron_id, limit),
    )
    return [(int(rid), float(weight)) for rid, weight in rows]


def converging(db: Database, neuron_id: int, others: list[int], limit: int, scan: int) -> list[int]:
    """Of the newest `scan` memories holding a neuron, at most `limit` that also hold one of
    `others`, newest first: a bounded posting-list intersection."""
    if not others:
        return []
    marks = ",".join("?" * len(others))
    rows = db.execute(
        "SELECT b.memory_rid FROM (SELECT memory_rid FROM synapses WHERE neuron_id = ?"
        " ORDER BY memory_rid DESC LIMIT ?) b WHERE EXISTS (SELECT 1 FROM synapses s"
        f" WHERE s.memory_rid = b.memory_rid AND s.neuron_id IN ({marks}))"
        " ORDER BY b.memory_rid DESC LIMIT ?",
        [neuron_id, scan, *others, limit],
    )
    return [int(rid) for (rid,) in rows]


def holding(db: Database, neuron_ids: list[int], rids: list[int]) -> list[tuple[int, int, float]]:
    """(memory rid, neuron, synapse weight) for each given memory that holds one of the given
    neurons."""
    if not neuron_ids or not rids:
        return []
    n_marks = ",".join("?" * len(neuron_ids))
    r_marks = ",".join("?" * len(rids))
    rows = db.execute(
        f"SELECT memory_rid, neuron_id, weight FROM synapses WHERE neuron_id IN ({n_marks})"
        f" AND memory_rid IN ({r_marks})",
        [*neuron_ids, *rids],
    )
    return [(int(rid), int(nid), float(weight)) for rid, nid, weight in rows]


def holding_kind(db: Database, kind: str, rids: list[int]) -> set[int]:
    """The given memories that hold a neuron of `kind` (a time reference, for one)."""
    if not rids:
        return set()
    marks = ",".join("?" * len(rids))
    rows = db.execute(
        "SELECT DISTINCT s.memory_rid FROM synapses s JOIN neurons n ON n.id = s.neuron_id"
        f" WHERE s.memory_rid IN ({marks}) AND n.kind = ?",
        [*rids, kind],
    )
    return {int(rid) for (rid,) in rows}


def concepts_of(db: Database, rids: Iterable[int]) -> list[tuple[int, Neuron, float]]:
    """(memory rid, neuron, synapse weight) for every neuron the given memories hold."""
    wanted = list(rids)
    if not wanted:
        return []
    marks = ",".join("?" * len(wanted))
    rows = db.execute(
        "SELECT s.memory_rid, n.id, n.key, n.kind, n.df, s.weight FROM synapses s"
        f" JOIN neurons n ON n.id = s.neuron_id WHERE s.memory_rid IN ({marks})",
        wanted,
    )
    return [
        (int(rid), Neuron(int(nid), str(key), str(kind), int(df)), float(weight))
        for rid, nid, key, kind, df, weight in rows
    ]


def shared_concepts(
    db: Database, rids: list[int], skip: list[int]
) -> list[tuple[int, Neuron, float]]:
    """(memory rid, neuron, synapse weight) for every neuron the given memories hold that some
    other memory holds too, time references and the `skip` neurons aside."""
    if not rids:
        return []
    r_marks = ",".join("?" * len(rids))
    s_marks = ",".join("?" * len(skip))
    rows = db.execute(
        "SELECT s.memory_rid, n.id, n.key, n.kind, n.df, s.weight FROM synapses s"
        f" JOIN neurons n ON n.id = s.neuron_id WHERE s.memory_rid IN ({r_marks})"
        f" AND n.df > 1 AND n.kind != 'time' AND n.id NOT IN ({s_marks})",
        [*rids, *skip],
    )
    return [
        (int(rid), Neuron(int(nid), str(key), str(kind), int(df)), float(weight))
        for rid, nid, key, kind, df, weight in rows
    ]


def related(db: Database, neuron_ids: Iterable[int]) -> list[tuple[int, int, str]]:
    """Typed relations touching the given neurons, either direction: (from, to, kind)."""
    wanted = list(neuron_ids)
    if not wanted:
        return []
    marks = ",".join("?" * len(wanted))
    rows = db.execute(
        f"SELECT DISTINCT src, dst, kind FROM relations WHERE src IN ({marks})"
        f" UNION SELECT DISTINCT dst, src, kind FROM relations WHERE dst IN ({marks})",
        wanted + wanted,
    )
    return [(int(a), int(b), str(kind)) for a, b, kind in rows]


def neurons_by_id(db: Database, ids: Iterable[int]) -> dict[int, Neuron]:
    wanted = list(ids)
    if not wanted:
        return {}
    marks = ",".join("?" * len(wanted))
    rows = db.execute(f"SELECT id, key, kind, df FROM neurons WHERE id IN ({marks})", wanted)
    return {int(i): Neuron(int(i), str(k), str(kind), int(df)) for i, k, kind, df in rows}


def fts_search(
    db: Database, match: str, limit: int, bonus: Sequence[tuple[int, float]] = ()
) -> list[tuple[int, float]]:
    """(rid, BM25 relevance >= 0) for the best `limit` FTS5 matches of a MATCH expression. FTS5
    scores every match and counts each word's postings (for IDF) first: cost grows with the
    postings of the expression's words, whatever the limit.

    `bonus` is (neuron id, weight) pairs: a match holding the neuron gains its weight, so the
    ranking counts words the expression leaves out at one synapse seek per match and neuron,
    never reading their own postings."""
    if not bonus:
        rows = db.execute(
            "SELECT rowid, -bm25(memory_fts) FROM memory_fts WHERE memory_fts MATCH ?"
            " ORDER BY bm25(memory_fts) LIMIT ?",
            (match, limit),
        )
    else:
        rows = db.execute(
            f"SELECT rowid, -bm25(memory_fts) + {_held_weight('memory_fts.rowid', bonus)} AS s"
            " FROM memory_fts WHERE memory_fts MATCH ? ORDER BY s DESC, rowid DESC LIMIT ?",
            [*_pairs(bonus), match, limit],
        )
    return [(int(rid), float(score)) for rid, score in rows]


def _held_weight(rid: str, pairs: Sequence[tuple[int, float]]) -> str:
    """SQL for the summed weight of the (neuron id, weight) pairs the memory `rid` holds: one
    primary-key seek per pair (parameters: _pairs)."""
    held = "? * EXISTS (SELECT 1 FROM synapses h WHERE h.neuron_id = ? AND h.memory_rid = {})"
    return "(" + " + ".join([held.format(rid)] * len(pairs) or ["0"]) + ")"


def _pairs(pairs: Sequence[tuple[int, float]]) -> list[float]:
    return [value for neuron_id, weight in pairs for value in (weight, neuron_id)]


def fts_newest(
    db: Database, match: str, limit: int, weights: Sequence[tuple[int, float]]
) -> list[tuple[int, float]]:
    """The newest `limit` memories matching a MATCH expression, unscored, each with the summed
    weight of the (neuron id, weight) pairs it holds. FTS5 intersects an AND by leapfrogging
    its words' posting lists and stops at `limit`, never counting them."""
    rows = db.execute(
        f"SELECT rowid, {_held_weight('memory_fts.rowid', weights)} FROM memory_fts"
        " WHERE memory_fts MATCH ? ORDER BY rowid DESC LIMIT ?",
        [*_pairs(weights), match, limit],
    )
    return [(int(rid), float(weight)) for rid, weight in rows]


def fts_score(db: Database, match: str, rid: int) -> float:
    """One memory's BM25 relevance for a MATCH expression (0 when it does not match); FTS5
    seeks the rowid, but BM25 still counts each word's postings for its IDF."""
    row = db.execute(
        "SELECT -bm25(memory_fts) FROM memory_fts WHERE memory_fts MATCH ? AND rowid = ?",
        (match, rid),
    ).fetchone()
    return 0.0 if row is None else float(row[0])


# ---------------------------------------------------------------------------- reinforcement


def set_activation(db: Database, memory_id: str, count: int, last_at: int) -> None:
    db.execute(
        "INSERT INTO activations (memory_id, count, last_at) VALUES (?, ?, ?)"
        " ON CONFLICT (memory_id) DO UPDATE SET count = excluded.count, last_at = excluded.last_at",
        (memory_id, count, last_at),
    )


def delete_activation(db: Database, memory_id: str) -> None:
    db.execute("DELETE FROM activations WHERE memory_id = ?", (memory_id,))


def activations(db: Database, memory_ids: Iterable[str]) -> dict[str, tuple[int, int]]:
    """memory id -> (total count, last access ms)."""
    wanted = list(memory_ids)
    if not wanted:
        return {}
    marks = ",".join("?" * len(wanted))
    rows = db.execute(
        f"SELECT memory_id, count, last_at FROM activations WHERE memory_id IN ({marks})", wanted
    )
    return {str(mid): (int(count), int(last)) for mid, count, last in rows}


def set_link(db: Database, id: str, a: str, b: str, count: int, last_at: int) -> None:
    db.execute(
        "INSERT INTO links (id, a, b, count, last_at) VALUES (?, ?, ?, ?, ?)"
        " ON CONFLICT (id) DO UPDATE SET count = excluded.count, last_at = excluded.last_at",
        (id, a, b, count, last_at),
    )


def delete_link(db: Database, id: str) -> None:
    db.execute("DELETE FROM links WHERE id = ?", (id,))


def links_of(db: Database, memory_ids: Iterable[str]) -> list[tuple[str, str, str, int]]:
    """(link id, from memory, to memory, count) for learned links touching the given memories."""
    wanted = list(memory_ids)
    if not wanted:
        return []
    marks = ",".join("?" * len(wanted))
    rows = db.execute(
        f"SELECT id, a, b, count FROM links WHERE a IN ({marks})"
        f" UNION ALL SELECT id, b, a, count FROM links WHERE b IN ({marks})",
        wanted + wanted,
    )
    return [(str(i), str(a), str(b), int(c)) for i, a, b, c in rows]


# ---------------------------------------------------------------------------- stats


def counts(db: Database) -> dict[str, int]:
    """Sizes of the local tables, for `nmem stats`."""
    result = {}
    for name, sql in (
        ("memories", "SELECT count(*) FROM memories"),
        ("encrypted", "SELECT count(*) FROM memories WHERE encrypted = 1"),
        ("neurons", "SELECT count(*) FROM neurons"),
        ("synapses", "SELECT count(*) FROM synapses"),
        ("relations", "SELECT count(*) FROM relations"),
        ("links", "SELECT count(*) FROM links"),
    ):
        result[name] = int(db.execute(sql).fetchone()[0])
    return result


def project_counts(db: Database) -> dict[str | None, int]:
    """Memories per project (None: of no project), largest first."""
    rows = db.execute(
        "SELECT project, count(*) FROM memories GROUP BY project ORDER BY count(*) DESC, project"
    )
    return {project: int(count) for project, count in rows}


def strength_inputs(db: Database, rids: Iterable[int]) -> dict[int, tuple[int, int, int | None]]:
    """rid -> (created_at, access count, last access or None) for strength computation."""
    wanted = list(rids)
    if not wanted:
        return {}
    marks = ",".join("?" * len(wanted))
    rows = db.execute(
        "SELECT m.rid, m.created_at, coalesce(a.count, 0), a.last_at FROM memories m"
        f" LEFT JOIN activations a ON a.memory_id = m.id WHERE m.rid IN ({marks})",
        wanted,
    )
    return {int(rid): (int(created), int(count), last) for rid, created, count, last in rows}


# ------------------------------------------------------------------------------ quarantine


def quarantine(db: Database, items: Sequence[tuple[str, str, str, str]]) -> None:
    """(kind, id, vhash, reason) of records whose current body fails its schema."""
    db.executemany(
        "INSERT INTO quarantine (kind, id, vhash, reason) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (kind, id) DO UPDATE SET vhash = excluded.vhash, reason = excluded.reason",
        items,
    )


def release(db: Database, keys: Iterable[tuple[str, str]]) -> None:
    """A valid version (or a tombstone) replaced these records' quarantined ones."""
    if db.execute("SELECT 1 FROM quarantine LIMIT 1").fetchone() is None:
        return  # the common case: nothing quarantined, nothing to look up per record
    db.executemany("DELETE FROM quarantine WHERE kind = ? AND id = ?", keys)


def quarantined(db: Database) -> list[tuple[str, str, str, str]]:
    rows = db.execute("SELECT kind, id, vhash, reason FROM quarantine ORDER BY kind, id")
    return [(str(k), str(i), str(v), str(r)) for k, i, v, r in rows.fetchall()]
