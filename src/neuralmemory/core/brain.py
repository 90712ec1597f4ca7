"""The Brain object: one open brain, the library API the CLI, the MCP server and the sync engine
call. core/brains.py names and opens brains; `from neuralmemory.core.brain import Brain`.

Every write to a record goes through store/changes.py (one pending version per changed record)
and is then materialized (core/materialize.py): the memory row, its activation or learned link,
and the derived concept graph rebuilt from the memory's text. The same materialization applies
versions pulled from a hub (`Brain.apply_remote`), so the graph is always derivable from the
memory records alone. The brain's keys are core/keyring.py's; re-encryption and end-to-end
encryption core/sealing.py's; recall's results core/hits.py's; a memory's record body
core/memory_record.py's. What is left here is the API itself, a little over 400 lines: each
method checks its input and runs its transaction over those modules.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from neuralmemory import errors as msg
from neuralmemory.clock import wall_ms
from neuralmemory.core import e2e, extract, hits, indexing, memory_record, reinforce, sealing
from neuralmemory.core.checks import (
    DEFAULT_PRIORITY,
    check_content,
    check_limit,
    check_priority,
    check_query,
    check_tags,
    check_type,
    check_window,
    project_scope,
)
from neuralmemory.core.keyring import Keyring
from neuralmemory.core.materialize import Refusal, deriver, downgrades, materialize, rebuild_index
from neuralmemory.core.models import Forgotten, Hit, Memory, Remembered, Stats
from neuralmemory.core.recall import build_query, rank
from neuralmemory.core.strength import links_by_rid, strength_now, strengths
from neuralmemory.errors import InvalidInput, NotFound, StoreLocked
from neuralmemory.protocol import ID_PATTERN
from neuralmemory.store import backlog, meta, sync_state
from neuralmemory.store import memories as sql
from neuralmemory.store.changes import ChangeLog
from neuralmemory.store.db import Database
from neuralmemory.store.memories import MemoryRow

if TYPE_CHECKING:
    from neuralmemory.protocol import Version

_ID = re.compile(ID_PATTERN)
log = logging.getLogger(__name__)


class Brain:
    """One open brain. Use as a context manager, or call close()."""

    def __init__(
        self, name: str, db: Database, *, device_id: str, now: Callable[[], int] = wall_ms
    ) -> None:
        self.name = name
        self.db = db
        self.device_id = device_id
        self.changes = ChangeLog(db, device_id, now=now)  # one clock for content and stamps
        self._now = now
        self.keys = Keyring(
            db, self.changes, name, now=self.now, materialize=lambda v: self.materialize(v)
        )
        if self.e2e:
            self.changes.sealer = e2e.Codec(self.keys.current)
        self.changes.on_sealed = lambda versions: sealing.adopt_e2e(self, versions)

    def refresh(self) -> None:
        """Another connection committed to the file (core/live.py): forget what this object
        keeps of the brain besides SQLite -- its key, whether it seals what it writes -- so it
        works as if opened again, keeping its connection."""
        self.keys.forget()
        self.changes.sealer = e2e.Codec(self.keys.current) if self.e2e else None

    def __enter__(self) -> Brain:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self.db.close()

    def now(self) -> int:
        """The brain's clock (epoch ms): what stamps and ages its memories."""
        return self._now()

    @property
    def id(self) -> str:
        return str(meta.get(self.db, meta.BRAIN_ID))

    @property
    def path(self) -> Path:
        return self.db.path

    @property
    def e2e(self) -> bool:
        """Whether the brain is end-to-end encrypted (core/e2e.py): remembered by the device,
        so a hub serving plaintext cannot turn it back."""
        return meta.get(self.db, meta.E2E) == "1"

    @property
    def brain_id(self) -> str:
        """The sync engine's name for `id`."""
        return self.id

    def db_bytes(self) -> int:
        return sum(
            Path(f"{self.path}{suffix}").stat().st_size
            for suffix in ("", "-wal")
            if Path(f"{self.path}{suffix}").exists()
        )

    def memory(self, row: MemoryRow, inputs: hits.Inputs | None = None) -> Memory:
        """The API's Memory for a memories row (decrypted when this device holds the key);
        `inputs`: its strength inputs, when already read."""
        return hits.memory_of(self.db, row, self.keys.current, self._now(), inputs)

    # -------------------------------------------------------------------- writes

    def remember(
        self,
        content: str,
        *,
        type: str | None = None,
        tags: Iterable[str] | None = None,
        priority: int = DEFAULT_PRIORITY,
        expires_days: int | None = None,
        encrypted: bool = False,
        project: str | None = None,
        supersedes: str | None = None,
    ) -> Remembered:
        """Store a memory, of `project` when given; the same plaintext remembered twice is one
        memory (created=False, and its project stays the first one's). `supersedes`: the id of
        a memory this one replaces (kept, marked superseded, out of recall)."""
        now = self._now()
        memory_id, body = memory_record.new_memory(
            content,
            type=type,
            tags=tags,
            priority=priority,
            expires_days=expires_days,
            encrypted=encrypted,
            project=project,
            now=now,
            e2e=self.e2e,
            key=self.keys.require,
        )
        with self.db.transaction():
            created = sql.get_memory(self.db, memory_id) is None
            if created:
                strength = reinforce.millionths(reinforce.activation(0, now, now))
                version = self.changes.write("memory", memory_id, body=body, strength=strength)
                self.materialize(version)
            if supersedes is not None:
                self._supersede(supersedes, memory_id)
            row = sql.get_memory(self.db, memory_id)
        assert row is not None
        return Remembered(self.memory(row), created=created)

    def edit(
        self,
        id: str,
        *,
        content: str | None = None,
        tags: Iterable[str] | None = None,
        priority: int | None = None,
        type: str | None = None,
        supersedes: str | None = None,
    ) -> Memory:
        """A new version of the same memory (what sync's conflict strategies arbitrate); with
        `supersedes`, this memory replaces that one. Asking to change nothing is an error."""
        if (content, tags, priority, type, supersedes) == (None,) * 5:
            raise InvalidInput(msg.MSG_NOTHING_TO_CHANGE, hint=msg.HINT_NOTHING_TO_CHANGE)
        text = None if content is None else check_content(content)
        clean_tags = None if tags is None else check_tags(tags)
        level = None if priority is None else check_priority(priority)
        kind = None if type is None else check_type(type)
        with self.db.transaction():
            current = self._live("memory", id)
            body = memory_record.edited(
                current.body,
                text=text,
                tags=clean_tags,
                priority=level,
                type=kind,
                key=self.keys.require,
            )
            if body != current.body:
                self.materialize(
                    self.changes.write("memory", id, body=body, strength=self._strength(id))
                )
            if supersedes is not None:
                self._supersede(supersedes, id)
            row = sql.get_memory(self.db, id)
        assert row is not None
        return self.memory(row)

    def _supersede(self, old: str, new: str) -> None:
        """Mark memory `old` as replaced by `new` (a new version of it, which syncs); in the
        caller's transaction, after `new` exists."""
        if not isinstance(old, str) or old == new:
            raise InvalidInput(msg.MSG_SUPERSEDES_ITSELF, hint=msg.HINT_SUPERSEDES_ITSELF)
        body = dict(self._live("memory", old).body)
        replacing = sql.get_memory(self.db, new)
        if replacing is not None and replacing.superseded_by is not None:
            newer = replacing.superseded_by
            raise InvalidInput(
                msg.MSG_SUPERSEDED_ALREADY.format(new=new, newer=newer),
                hint=msg.HINT_SUPERSEDED_ALREADY.format(old=old, newer=newer),
            )
        if body.get("superseded_by") != new:
            body["superseded_by"] = new
            version = self.changes.write("memory", old, body=body, strength=self._strength(old))
            self.materialize(version)

    def forget(self, id: str, *, dry_run: bool = False) -> Forgotten:
        """Delete a memory: tombstones for it, its activation and its learned links. With
        `dry_run`, only says what would be deleted."""
        with self.db.transaction():
            self._live("memory", id)
            activation = self.changes.current("activation", id)
            links = [link_id for link_id, _, _, _ in sql.links_of(self.db, [id])]
            row = sql.get_memory(self.db, id)
            gone = Forgotten(id, None if row is None else self.memory(row), len(links), dry_run)
            if dry_run:
                return gone
            self.materialize(self.changes.write("memory", id, deleted=True))
            if activation is not None and not activation.version.deleted:
                self.materialize(self.changes.write("activation", id, deleted=True))
            for link_id in links:
                self.materialize(self.changes.write("link", link_id, deleted=True))
        return gone

    def _strength(self, id: str) -> int:
        return strength_now(self.db, id, self._now())

    def _live(self, kind: str, id: str) -> Version:
        if not isinstance(id, str):
            raise InvalidInput(msg.MSG_MEMORY_ID_NOT_TEXT)
        current = self.changes.current(kind, id)
        if current is None or current.version.deleted:
            raise NotFound(msg.MSG_NO_MEMORY.format(id=id))
        return current.version

    def get(self, id: str) -> Memory:
        row = sql.get_memory(self.db, id) if isinstance(id, str) else None
        if row is None:
            raise NotFound(msg.MSG_NO_MEMORY.format(id=id))
        return self.memory(row)

    def recent(
        self, limit: int = 20, *, types: Iterable[str] = (), project: str | None = None
    ) -> list[Memory]:
        """The newest memories on this device (of `types`, when given), newest first; with a
        project, its memories and those of no project, its own first. Read-only: nothing is
        reinforced (what an agent's session start reads)."""
        kinds = [check_type(t) for t in types]
        scope = project_scope(project)
        with self.db.reading():
            rows = sql.newest_memories(self.db, check_limit(limit), self._now(), kinds, scope)
            return [self.memory(row) for row in rows]

    def strongest(self, limit: int = 20, *, project: str | None = None) -> list[Memory]:
        """The memories recall returned most often, most first; a project as for recent().
        Read-only."""
        scope = project_scope(project)
        with self.db.reading():
            rows = sql.most_used_memories(self.db, check_limit(limit), self._now(), scope)
            return [self.memory(row) for row in rows]

    def recall(
        self,
        query: str,
        *,
        limit: int = 10,
        tags: Iterable[str] | None = None,
        type: str | None = None,
        reinforce: bool = True,
        project: str | None = None,
        since: int | None = None,
        until: int | None = None,
    ) -> list[Hit]:
        """Memories related to `query`, best first, each with its score and linking path.

        With a project, only its memories and those of no project, its own first (each part
        best first); None or "*": every memory. `since`/`until` (epoch ms) keep the memories
        of that window: by the day their text names (event_at), else by when they were created.

        Recall reinforces what it returns (Hebbian): each of the best few hits (hits.REINFORCED)
        gains one use on its activation counter, and so does the learned link along its hop-2
        path; `reinforce=False` makes it read-only.
        """
        check_query(query)
        check_limit(limit)
        wanted_tags = set(check_tags(tags))
        wanted_type = None if type is None else check_type(type)
        scope = project_scope(project)
        window = check_window(since, until)
        now = self._now()
        # With the brain's key the query is also sealed, to meet encrypted memories; without
        # any, the sealed words match nothing. Asking whether any memory is encrypted would
        # scan the table on every recall.
        key = self.keys.current()
        parsed = build_query(query, now_ms=now, seal=key.seal if key else None)
        with self.db.reading():
            ranked = rank(
                self.db,
                parsed,
                links=lambda rids: links_by_rid(self.db, rids),
                strength=lambda rids: strengths(self.db, rids, now),
            )
            picked = hits.pick(self.db, ranked, limit, now, wanted_tags, wanted_type, scope, window)
            found, sources = hits.hits(self.db, picked, self.memory)
        if reinforce and found:
            self._reinforce(found, sources)
        return found

    def _reinforce(self, found: list[Hit], sources: list[str | None]) -> None:
        keys, bump = hits.reinforcements(found, sources, self.device_id, self._now())
        try:
            with self.db.transaction():
                self.materialize(*self.changes.update_many(keys, bump))
        except StoreLocked:
            # Another process held the write lock past the busy timeout: the answer matters
            # more than counting this one use of its memories.
            log.warning(msg.MSG_RECALL_UNCOUNTED.format(name=self.name))

    def stats(self) -> Stats:
        with self.db.reading():
            counts = sql.counts(self.db)
            return Stats(
                brain=self.name,
                brain_id=self.id,
                path=str(self.path),
                records=self.changes.count(),
                pending=self.changes.pending_count(),
                db_bytes=self.db_bytes(),
                projects={p or "": n for p, n in sql.project_counts(self.db).items()},
                graph_waiting=backlog.count(self.db),
                **counts,
            )

    # -------------------------------------------------------------------- materialization

    def materialize(
        self, *versions: Version, refused: Sequence[Refusal] = (), text_first: bool = False
    ) -> None:
        """Make the local tables reflect records' current versions (core/materialize.py);
        `text_first`: their concept graph is left to the backlog (core/indexing.py)."""
        materialize(self.db, versions, self.keys.current, refused, text_first=text_first)

    def build_graph(self, limit: int = indexing.BATCH) -> int:
        """Build the concept graph of up to `limit` memories of the backlog (core/indexing.py);
        returns how many it built (0: the graph is complete)."""
        return indexing.build_some(self.db, deriver(self.keys.current), limit)

    def rederive_if_stale(self) -> int:
        """Re-derive the graph once when it was derived by an older extraction (core/extract.py
        VERSION): text at once, the graph through the backlog; returns the memories waiting.
        Another process holding the write lock defers it to the next open."""
        if meta.get(self.db, meta.EXTRACTION) == str(extract.VERSION):
            return 0
        try:
            return indexing.rederive(self.db, deriver(self.keys.current), str(extract.VERSION))
        except StoreLocked:
            return 0

    def rebuild_index(self) -> int:
        """Drop and re-derive the whole concept graph and FTS index from the memories."""
        return rebuild_index(self.db, self.keys.current)

    # -------------------------------------------------------------------- keys (core/sealing.py)

    def settle_keys(self, *, force_index: bool = False) -> dict[str, int]:
        """Bring this device in line with the brain's key records (after a sync or a new key)."""
        return sealing.settle_keys(self, force_index=force_index)

    def encrypt_brain(self) -> int:
        """Make the brain end-to-end encrypted; how many records were sealed (0: it was)."""
        return sealing.encrypt_brain(self)

    # -------------------------------------------------------------------- sync-facing
    # The sync engine drives these, together with `changes` (store/changes.py) and `db`.
    # Policy (conflict strategies, merging counters) is the engine's: these only store.

    def apply_remote(self, *versions: Version) -> None:
        """Store hub versions as their records' current ones (not pending) and materialize them,
        in one transaction: create, update or delete memories and rebuild their derived graph,
        or set counters. A whole pulled page goes through here at once. A plaintext version of a
        memory encrypted here, written by another device, is stored but quarantined: no edit
        makes an encrypted memory plaintext, so only a faulty or hostile writer does."""
        with self.db.transaction():
            refused = downgrades(self.db, versions, self.changes.device_id)
            self.changes.store_many(versions)
            memories = sum(v.kind == "memory" for v in versions)
            self.materialize(*versions, refused=refused, text_first=indexing.text_first(memories))

    def write_record(
        self,
        kind: str,
        id: str,
        *,
        body: dict[str, Any] | None = None,
        deleted: bool = False,
        strength: int = 0,
    ) -> Version:
        """A new local, pending version of any record (a merge, a conflict copy, a restore)."""
        with self.db.transaction():
            version = self.changes.write(kind, id, body=body, deleted=deleted, strength=strength)
            self.materialize(version)
        return version

    def is_empty(self) -> bool:
        with self.db.reading():
            return self.changes.count() == 0 and sql.memory_count(self.db) == 0

    def rekey(self, brain_id: str) -> None:
        """Take a remote brain's id: a new device joining an account. Only an EMPTY brain may
        (its records would otherwise belong to two brains); its sync state is cleared."""
        if not isinstance(brain_id, str) or not _ID.match(brain_id):
            raise InvalidInput(msg.MSG_BAD_BRAIN_ID.format(brain_id=brain_id))
        with self.db.transaction():
            if not self.is_empty():
                raise InvalidInput(
                    msg.MSG_REKEY_NOT_EMPTY.format(name=self.name), hint=msg.HINT_REKEY_NOT_EMPTY
                )
            meta.put(self.db, meta.BRAIN_ID, brain_id)
            meta.put(self.db, meta.SYNC_ID, None)
            sync_state.clear(self.db)
        self.keys.forget()  # key files are named by brain id

    def sync_as(self, brain_id: str) -> None:
        """Record that this (non-empty) brain was merged into the hub brain `brain_id`: it keeps
        its own id, and uses that brain's key too (Keyring.ids), so importing the key of the brain
        it joined makes the memories other devices encrypted readable here."""
        if not isinstance(brain_id, str) or not _ID.match(brain_id):
            raise InvalidInput(msg.MSG_BAD_BRAIN_ID.format(brain_id=brain_id))
        if brain_id in (self.id, meta.get(self.db, meta.SYNC_ID)):
            return
        with self.db.transaction():
            meta.put(self.db, meta.SYNC_ID, brain_id)
        self.keys.forget()
