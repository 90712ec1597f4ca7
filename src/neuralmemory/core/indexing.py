"""Text first, graph after: how a large pull makes a brain useful at once.

Materializing a memory writes its row, its full-text row and its concept graph (neurons,
synapses, relations). The graph costs the most (extraction, then some 25 synapses a memory),
and recall needs only the text to answer. So a batch of at least TEXT_FIRST_AT pulled memories
is materialized *text first*: rows and FTS now, and the memories listed in the graph backlog
(store/backlog.py); `build_some` then builds their graph a batch at a time, each batch in one
transaction with its removal from the backlog, so a crash or a kill loses nothing and repeats
nothing. Recall works at every moment: memories in the backlog are found by their words, and
by association once their graph is built. The result is the same graph the inline path builds
(tests/core/test_indexing.py holds them equal); what runs `build_some` in the background is
sync/indexer.py.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from neuralmemory.store import backlog, meta
from neuralmemory.store import memories as sql
from neuralmemory.store.db import Database
from neuralmemory.store.memories import MemoryRow

TEXT_FIRST_AT = 200  # pulled memories in one batch from which their graph is built afterwards
BATCH = 1_000  # memories whose graph one build_some transaction writes

#: a memory's graph and FTS text (None: it has none here), as Brain derives it
Derive = Callable[[MemoryRow, int], sql.Derived | None]


@dataclass(frozen=True)
class Progress:
    """How far the concept graph is: `waiting` memories of `memories` still lack it."""

    memories: int
    waiting: int

    @property
    def done(self) -> bool:
        return self.waiting == 0


def text_first(memories: int) -> bool:
    """Whether a batch of this many pulled memories is materialized text first."""
    return memories >= TEXT_FIRST_AT


def index(db: Database, rows: Sequence[MemoryRow], rids: Sequence[int], derive: Derive) -> None:
    """The inline path: memories' graph and FTS rows, now (rows[i] has rid rids[i])."""
    derived = map(derive, rows, rids)
    sql.index_many(db, [entry for entry in derived if entry is not None])


def index_text_first(
    db: Database, rows: Sequence[MemoryRow], rids: Sequence[int], derive: Derive
) -> None:
    """The text-first path: FTS rows now, the graph later (the backlog). A plaintext memory's
    FTS text is its content and tags, no extraction needed; an encrypted one's is made of its
    sealed words, so it is indexed inline (rare, and its key is at hand); a superseded one has
    neither."""
    texts: list[tuple[int, str]] = []
    inline: list[tuple[MemoryRow, int]] = []
    for row, rid in zip(rows, rids, strict=True):
        if row.superseded_by is not None:
            continue
        if row.encrypted or row.content is None:
            inline.append((row, rid))
        else:
            texts.append((rid, " ".join([row.content, *row.tags])))
    sql.index_text(db, texts)
    backlog.defer(db, [rid for rid, _ in texts])
    index(db, [row for row, _ in inline], [rid for _, rid in inline], derive)


def rederive(db: Database, derive: Derive, version: str) -> int:
    """Derive the whole graph again after extraction changed (`version` is the new one): the
    index is dropped, every memory's text indexed at once and its graph left to the backlog, the
    text-first path a large pull takes; returns how many memories wait for their graph."""
    with db.transaction():
        sql.clear_index(db)
        rows = sql.all_memories(db)
        index_text_first(db, rows, [row.rid for row in rows], derive)
        meta.put(db, meta.EXTRACTION, version)
        return backlog.count(db)


def build_some(db: Database, derive: Derive, limit: int = BATCH) -> int:
    """Build the graph of the first `limit` memories of the backlog; returns how many left it.

    Extraction runs outside any transaction (another process may write meanwhile); the graph is
    then written, and the memories taken out of the backlog, in one transaction, for those whose
    row did not change in between (a changed one stays for the next round)."""
    rids = backlog.waiting(db, limit)
    if not rids:
        return 0
    read = sql.memories_by_rid(db, rids)
    derived = {rid: derive(row, rid) for rid, row in read.items()}
    with db.transaction():
        now = sql.memories_by_rid(db, backlog.among(db, rids))
        settled = [rid for rid, row in now.items() if read.get(rid) == row]
        sql.index_graph(db, [entry for rid in settled if (entry := derived[rid]) is not None])
        backlog.drop(db, settled)
    return len(settled)


def progress(db: Database) -> Progress:
    with db.reading():
        return Progress(sql.memory_count(db), backlog.count(db))
