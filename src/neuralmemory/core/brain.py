"""Brains and the Brain object: the library API the CLI, the MCP server and the sync engine call.

A brain is one SQLite file, $NMEM_HOME/brains/{name}.db, with a globally unique id kept inside it.
Every write to a record goes through store/changes.py (one pending version per changed record)
and is then *materialized*: the memory row, its activation or learned link, and the derived
concept graph (neurons, synapses, relations, FTS) rebuilt from the memory's text. The same
materialization applies versions pulled from a hub (`Brain.apply_remote`), so the graph is always
derivable from the memory records alone.

Record bodies (what syncs; docs/cli.md repeats them):
  memory      {"content" | "ciphertext", "encrypted", "type", "tags", "priority",
               "created_at", "event_at", "expires_at", "project"?, "superseded_by"?}
                                                                   strength = activation at write
  activation  {"devices": {device_id: {"count", "last"}}}          id = the memory's id
  link        {"a", "b", "devices": {...}}                          id = reinforce.link_id(a, b)
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from neuralmemory import config, perms
from neuralmemory.clock import wall_ms
from neuralmemory.core import bodies, crypto, e2e, indexing, privacy, reinforce
from neuralmemory.core.extract import MEMORY_TYPES, content_digest, detect_type, extract
from neuralmemory.core.models import (
    BrainInfo,
    DeletedBrain,
    Forgotten,
    Hit,
    KeyStatus,
    Memory,
    Remembered,
    Stats,
)
from neuralmemory.core.project import ALL, check_project
from neuralmemory.core.recall import SEALED, TEXT_ACTIVATION, Scored, build_query, rank
from neuralmemory.errors import (
    MSG_BRAIN_NOT_FOUND,
    MSG_DOWNGRADE,
    CryptoError,
    InvalidInput,
    NotFound,
)
from neuralmemory.protocol import ID_PATTERN, NAME_PATTERN, Version
from neuralmemory.store import backlog
from neuralmemory.store import memories as sql
from neuralmemory.store.changes import ChangeLog
from neuralmemory.store.db import Database, connect, refuse_foreign
from neuralmemory.store.memories import Concept, MemoryRow
from neuralmemory.store.migrations import migrate

MAX_CONTENT_BYTES = 65_536  # UTF-8 bytes; encrypted, it still fits protocol max_record_bytes
MAX_TAGS = 32
MAX_TAG_CHARS = 64
MAX_PRIORITY = 10
DEFAULT_PRIORITY = 5
MAX_EXPIRES_DAYS = 36_500
MAX_QUERY_CHARS = 2_000
MAX_LIMIT = 100
DEFAULT_BRAIN = "default"
DAY_MS = 86_400_000
ENCRYPTED_TYPE = "fact"  # an encrypted memory's type unless one is given
KEY_CHECK_SAMPLES = 20  # newest encrypted memories a key must decrypt one of before it encrypts
REINFORCED = 5  # recall strengthens its best few hits, not the tail of the list

SYNC_ID = "sync_id"  # meta key: the hub brain a non-empty brain was merged into
INDEX_KEY = "index_key"  # meta key: the fingerprint of the key that sealed the local index
E2E = "e2e"  # meta key: "1" once the brain is end-to-end encrypted (never turned off)

HINT_GET_KEY = (
    "get it from a device that has it: `nmem keys share` there, then `nmem keys receive CODE`"
    " here (or nmem keys export / nmem keys import)"
)

log = logging.getLogger(__name__)

_NAME = re.compile(NAME_PATTERN)
_ID = re.compile(ID_PATTERN)


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


def _quarantine(versions: Iterable[Version]) -> dict[tuple[str, str], tuple[str, str, str, str]]:
    """The versions whose body fails its schema (core/bodies.py), as quarantine rows by key."""
    found: dict[tuple[str, str], tuple[str, str, str, str]] = {}
    for v in versions:
        why = bodies.problem(v.kind, v.body, deleted=v.deleted, id=v.id)
        if why is not None:
            found[(v.kind, v.id)] = (v.kind, v.id, v.vhash, why)
    return found


# ------------------------------------------------------------------------------ brains


def brains_dir() -> Path:
    return config.home() / "brains"


def brain_path(name: str) -> Path:
    if not isinstance(name, str) or not _NAME.match(name):
        raise InvalidInput(
            f"invalid brain name {name!r}",
            hint="letters, digits, '.', '_' and '-', starting with a letter or digit, at most 64",
        )
    return brains_dir() / f"{name}.db"


def current_brain_name() -> str:
    return config.load_config().brain


def open_brain(name: str | None = None, *, create: bool | None = None) -> Brain:
    """Open a brain by name (default: the current one from config.toml).

    A missing brain is created when `create` is true; by default only the `default` brain is
    created on first use, any other name must exist (NotFound otherwise).
    """
    name = name or current_brain_name()
    path = brain_path(name)
    if create is None:
        create = name == DEFAULT_BRAIN
    if not path.exists() and not create:
        raise NotFound(f"{MSG_BRAIN_NOT_FOUND}: {name}", hint=f"nmem brain create {name}")
    return Brain._open(name, path)


def create_brain(name: str) -> Brain:
    path = brain_path(name)
    if path.exists():
        raise InvalidInput(f"brain '{name}' already exists")
    return Brain._open(name, path)


def list_brains() -> list[BrainInfo]:
    current = current_brain_name()
    found = []
    for path in sorted(brains_dir().glob("*.db")):
        with Brain._open(path.stem, path) as brain:
            found.append(
                BrainInfo(path.stem, brain.id, str(path), path.stem == current, brain.db_bytes())
            )
    return found


def use_brain(name: str) -> None:
    """Make `name` the current brain (config.toml `brain`)."""
    if not brain_path(name).exists():
        raise NotFound(f"{MSG_BRAIN_NOT_FOUND}: {name}", hint=f"nmem brain create {name}")
    cfg = config.load_config()
    cfg.brain = name
    config.save_config(cfg)


def delete_brain(name: str) -> DeletedBrain:
    """Delete a brain's file (its key file is kept: other devices may still need it). Deleting
    the current brain makes another one current (the first by name), or recreates an empty
    `default` when none is left, so every command keeps working."""
    path = brain_path(name)
    if not path.exists():
        raise NotFound(f"{MSG_BRAIN_NOT_FOUND}: {name}", hint="`nmem brain list` names them")
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    if name != current_brain_name():
        return DeletedBrain(name, str(path), None, recreated=False)
    left = sorted(found.stem for found in brains_dir().glob("*.db"))
    current = left[0] if left else DEFAULT_BRAIN
    if not left:
        open_brain(DEFAULT_BRAIN, create=True).close()
    use_brain(current)
    return DeletedBrain(name, str(path), current, recreated=not left)


def import_key(source: Path, passphrase: str) -> dict[str, Any]:
    """Install a brain key from an exported file (a wrong passphrase changes nothing)."""
    brain_id, key = crypto.read_export(source, passphrase)
    return install_key(brain_id, key)


def install_key(brain_id: str, key: crypto.BrainKey) -> dict[str, Any]:
    """Add a key (or a ring) to the brain's keyring, and settle every local brain that uses it
    (settle_keys): its encrypted memories become searchable, and those this device wrote under
    a key that lost the race are encrypted again under the one that won."""
    installed = crypto.install_key(brain_id, key)
    reindexed = reencrypted = 0
    for path in sorted(brains_dir().glob("*.db")):
        with Brain._open(path.stem, path) as brain:
            if brain_id in brain.key_ids:
                settled = brain.settle_keys(force_index=True)
                reindexed += settled["reindexed"]
                reencrypted += settled["reencrypted"]
    return {
        "brain_id": brain_id,
        "installed": installed,
        "keys": len(key.raws),
        "reindexed": reindexed,
        "reencrypted": reencrypted,
    }


# ------------------------------------------------------------------------------ validation


def _check_content(content: object) -> str:
    if not isinstance(content, str) or not content.strip():
        raise InvalidInput("content must be non-empty text")
    size = len(content.encode("utf-8", errors="surrogatepass"))
    if size > MAX_CONTENT_BYTES:
        raise InvalidInput(f"content is {size:,} bytes; the limit is {MAX_CONTENT_BYTES:,}")
    try:
        content.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInput("content must be valid text (no lone surrogates)") from None
    text = privacy.strip_private(content.strip())
    if not text:
        raise InvalidInput(
            "content is all inside <private>...</private>, which is never stored",
            hint="put what may be stored outside the tags",
        )
    secret = privacy.find_secret(text)
    if secret is not None:
        raise InvalidInput(
            f"content holds {secret}; secrets are never stored",
            hint="remove it (keep it in a password manager) and remember the rest",
        )
    return text


def _check_type(type_: object) -> str:
    if type_ not in MEMORY_TYPES:
        raise InvalidInput(f"unknown type {type_!r}", hint="one of " + ", ".join(MEMORY_TYPES))
    return str(type_)


def _check_tags(tags: object) -> list[str]:
    if tags is None:
        return []
    if isinstance(tags, str) or not isinstance(tags, Sequence | set | frozenset):
        raise InvalidInput("tags must be a list of strings")
    clean = set()
    for tag in tags:
        if not isinstance(tag, str):
            raise InvalidInput(f"tags must be strings, not {type(tag).__name__}")
        tag = tag.strip().casefold()
        if not tag or len(tag) > MAX_TAG_CHARS:
            raise InvalidInput(f"a tag must be 1 to {MAX_TAG_CHARS} characters")
        clean.add(tag)
    if len(clean) > MAX_TAGS:
        raise InvalidInput(f"at most {MAX_TAGS} tags")
    return sorted(clean)


def _check_priority(priority: object) -> int:
    if isinstance(priority, bool) or not isinstance(priority, int):
        raise InvalidInput("priority must be an integer from 0 to 10")
    if not 0 <= priority <= MAX_PRIORITY:
        raise InvalidInput(f"priority {priority} is out of range (0 to {MAX_PRIORITY})")
    return priority


def _check_query(query: object) -> None:
    if not isinstance(query, str) or not query.strip():
        raise InvalidInput("the query must be non-empty text")
    if len(query) > MAX_QUERY_CHARS:
        raise InvalidInput(f"the query is longer than {MAX_QUERY_CHARS:,} characters")


def _check_limit(limit: object) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit must be an integer from 1 to {MAX_LIMIT}")
    return limit


def _scope(project: str | None) -> str | None:
    """The project a read keeps (with the memories of none), or None: every project."""
    return None if project is None or project == ALL else check_project(project)


#: (since, until) in epoch ms: created at or after `since`, before `until`; None: open
Window = tuple[int | None, int | None]
OPEN: Window = (None, None)


def check_window(since: int | None, until: int | None) -> Window:
    if since is not None and until is not None and since >= until:
        raise InvalidInput("--since must be earlier than --until", hint="swap them")
    return since, until


def _wanted(
    row: MemoryRow,
    now: int,
    tags: set[str],
    type_: str | None,
    scope: str | None,
    window: Window = OPEN,
) -> bool:
    """A recall filter: the memory has not expired, has the type and all the tags asked for, was
    created within the window, and is of the project in scope or of none."""
    if row.expires_at is not None and row.expires_at <= now:
        return False
    since, until = window
    if (since is not None and row.created_at < since) or (
        until is not None and row.created_at >= until
    ):
        return False
    if (type_ and row.type != type_) or (tags and not tags <= set(row.tags)):
        return False
    return scope is None or row.project in (scope, None)


def _check_expires(days: object) -> int | None:
    if days is None:
        return None
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_EXPIRES_DAYS:
        raise InvalidInput(f"expires_days must be an integer from 1 to {MAX_EXPIRES_DAYS}")
    return days


# ------------------------------------------------------------------------------ the brain


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
        self._key: crypto.BrainKey | None = None
        self._key_checked = False  # checked against the brain's encrypted memories (_brain_key)
        if self.e2e:
            self.changes.sealer = e2e.Codec(self._maybe_key)
        self.changes.on_sealed = self._adopt_e2e

    @classmethod
    def _open(cls, name: str, path: Path) -> Brain:
        if path.exists():
            refuse_foreign(path)  # before its folders' modes change, too
        perms.private_dir(config.home())
        perms.private_dir(path.parent)
        db = connect(path)
        try:
            migrate(db)
            with db.transaction():
                db.execute(
                    "INSERT OR IGNORE INTO meta (key, value) VALUES ('brain_id', ?)",
                    (_new_brain_id(),),
                )
                db.execute(
                    "INSERT OR IGNORE INTO meta (key, value) VALUES ('created_at', ?)",
                    (str(wall_ms()),),
                )
            return cls(name, db, device_id=config.device_id())
        except BaseException:
            db.close()
            raise

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

    @property
    def id(self) -> str:
        row = self.db.execute("SELECT value FROM meta WHERE key = 'brain_id'").fetchone()
        return str(row[0])

    @property
    def path(self) -> Path:
        return self.db.path

    @property
    def e2e(self) -> bool:
        """Whether the brain is end-to-end encrypted (core/e2e.py): remembered by the device,
        so a hub serving plaintext cannot turn it back."""
        return self._meta(E2E) == "1"

    @property
    def brain_id(self) -> str:
        """The sync engine's name for `id`."""
        return self.id

    @property
    def sync_id(self) -> str | None:
        """The id of the brain this one was merged into on a hub (None: it syncs as itself)."""
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (SYNC_ID,)).fetchone()
        return None if row is None else str(row[0])

    @property
    def key_ids(self) -> list[str]:
        """Whose keys this brain uses: the brain it was merged into first (other devices wrote
        its encrypted memories with that key), then its own id (its memories from before)."""
        merged = self.sync_id
        return [self.id] if merged is None else [merged, self.id]

    @property
    def key_id(self) -> str:
        """The id of the key that encrypts new memories here: what `nmem keys export` exports."""
        return next((i for i in self.key_ids if crypto.key_path(i).exists()), self.key_ids[0])

    def db_bytes(self) -> int:
        return sum(
            Path(f"{self.path}{suffix}").stat().st_size
            for suffix in ("", "-wal")
            if Path(f"{self.path}{suffix}").exists()
        )

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
        text = _check_content(content)
        if not isinstance(encrypted, bool):
            raise InvalidInput("encrypted must be true or false")
        owner = None if project is None else check_project(project)
        # The type of an encrypted memory is never guessed from its text: it is readable
        # metadata, and "decision" or "error" would say what the secret is about.
        guessed = ENCRYPTED_TYPE if encrypted else detect_type(text)
        kind = guessed if type is None else _check_type(type)
        clean_tags = _check_tags(tags)
        level = _check_priority(priority)
        days = _check_expires(expires_days)
        now = self._now()
        body: dict[str, Any] = {
            "encrypted": encrypted,
            "type": kind,
            "tags": clean_tags,
            "priority": level,
            "created_at": now,
            "expires_at": None if days is None else now + days * DAY_MS,
        }
        if owner is not None:
            body["project"] = owner
        if encrypted:
            # A random id: a hash of the text would let anyone confirm a guess of it.
            memory_id = "m-" + secrets.token_hex(12)
            body["ciphertext"] = self._brain_key(create=True).encrypt(text)
            body["event_at"] = None  # a date read from the text would leak it
        elif self.e2e:
            # Keyed by the brain key: the same text is one memory, and the hub cannot confirm
            # a guess of it.
            memory_id = "m-" + self._brain_key(create=False).name(text)[:24]
            body["content"] = text
            body["event_at"] = extract(text, now_ms=now).event_at
        else:
            memory_id = "m-" + content_digest(text)[:24]
            body["content"] = text
            body["event_at"] = extract(text, now_ms=now).event_at
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
        return Remembered(self._memory(row), created=created)

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
            raise InvalidInput(
                "nothing to change", hint="give content, tags, priority, type or supersedes"
            )
        text = None if content is None else _check_content(content)
        clean_tags = None if tags is None else _check_tags(tags)
        level = None if priority is None else _check_priority(priority)
        kind = None if type is None else _check_type(type)
        with self.db.transaction():
            current = self._live("memory", id)
            body = dict(current.body)
            if text is not None:
                if body.get("encrypted"):
                    key = self._brain_key(create=False)
                    key.decrypt(body["ciphertext"])  # a wrong key is said here, not elsewhere later
                    body["ciphertext"] = key.encrypt(text)
                else:
                    body["content"] = text
                    body["event_at"] = extract(text, now_ms=body["created_at"]).event_at
            if clean_tags is not None:
                body["tags"] = clean_tags
            if level is not None:
                body["priority"] = level
            if kind is not None:
                body["type"] = kind
            if body != current.body:
                self.materialize(
                    self.changes.write("memory", id, body=body, strength=self._strength_now(id))
                )
            if supersedes is not None:
                self._supersede(supersedes, id)
            row = sql.get_memory(self.db, id)
        assert row is not None
        return self._memory(row)

    def _supersede(self, old: str, new: str) -> None:
        """Mark memory `old` as replaced by `new` (a new version of it, which syncs); in the
        caller's transaction, after `new` exists."""
        if not isinstance(old, str) or old == new:
            raise InvalidInput("a memory cannot supersede itself", hint="give another memory's id")
        body = dict(self._live("memory", old).body)
        replacing = sql.get_memory(self.db, new)
        if replacing is not None and replacing.superseded_by is not None:
            raise InvalidInput(
                f"{new} is itself superseded by {replacing.superseded_by}",
                hint=f"supersede {old} with {replacing.superseded_by} instead",
            )
        if body.get("superseded_by") != new:
            body["superseded_by"] = new
            version = self.changes.write("memory", old, body=body, strength=self._strength_now(old))
            self.materialize(version)

    def forget(self, id: str, *, dry_run: bool = False) -> Forgotten:
        """Delete a memory: tombstones for it, its activation and its learned links. With
        `dry_run`, only says what would be deleted."""
        with self.db.transaction():
            self._live("memory", id)
            activation = self.changes.current("activation", id)
            links = [link_id for link_id, _, _, _ in sql.links_of(self.db, [id])]
            row = sql.get_memory(self.db, id)
            gone = Forgotten(id, None if row is None else self._memory(row), len(links), dry_run)
            if dry_run:
                return gone
            self.materialize(self.changes.write("memory", id, deleted=True))
            if activation is not None and not activation.version.deleted:
                self.materialize(self.changes.write("activation", id, deleted=True))
            for link_id in links:
                self.materialize(self.changes.write("link", link_id, deleted=True))
        return gone

    def _live(self, kind: str, id: str) -> Version:
        if not isinstance(id, str):
            raise InvalidInput("a memory id must be text")
        current = self.changes.current(kind, id)
        if current is None or current.version.deleted:
            raise NotFound(f"no memory with id {id}")
        return current.version

    # -------------------------------------------------------------------- reads

    def get(self, id: str) -> Memory:
        row = sql.get_memory(self.db, id) if isinstance(id, str) else None
        if row is None:
            raise NotFound(f"no memory with id {id}")
        return self._memory(row)

    def recent(
        self, limit: int = 20, *, types: Iterable[str] = (), project: str | None = None
    ) -> list[Memory]:
        """The newest memories on this device (of `types`, when given), newest first; with a
        project, its memories and those of no project, its own first. Read-only: nothing is
        reinforced (what an agent's session start reads)."""
        kinds = [_check_type(t) for t in types]
        scope = _scope(project)
        with self.db.reading():
            rows = sql.newest_memories(self.db, _check_limit(limit), self._now(), kinds, scope)
            return [self._memory(row) for row in rows]

    def strongest(self, limit: int = 20, *, project: str | None = None) -> list[Memory]:
        """The memories recall returned most often, most first; a project as for recent().
        Read-only."""
        scope = _scope(project)
        with self.db.reading():
            rows = sql.most_used_memories(self.db, _check_limit(limit), self._now(), scope)
            return [self._memory(row) for row in rows]

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
        created in that window.

        Recall reinforces what it returns (Hebbian): each of the best REINFORCED hits gains one
        use on its activation counter, and so does the learned link along its hop-2 path;
        `reinforce=False` makes it read-only.
        """
        _check_query(query)
        _check_limit(limit)
        wanted_tags = set(_check_tags(tags))
        wanted_type = None if type is None else _check_type(type)
        scope = _scope(project)
        window = check_window(since, until)
        now = self._now()
        # With the brain's key the query is also sealed, to meet encrypted memories; without
        # any, the sealed words match nothing. Asking whether any memory is encrypted would
        # scan the table on every recall.
        key = self._maybe_key()
        parsed = build_query(query, now_ms=now, seal=key.seal if key else None)
        with self.db.reading():
            ranked = rank(
                self.db,
                parsed,
                links=self._links_by_rid,
                strength=lambda rids: self._strengths(rids, now),
            )
            picked = self._pick(ranked, limit, now, wanted_tags, wanted_type, scope, window)
            hits, sources = self._hits(picked)
        if reinforce and hits:
            self._reinforce(hits, sources)
        return hits

    def _pick(
        self,
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
            rows = sql.memories_by_rid(self.db, [s.rid for s in chunk])
            kept = [(item, rows[item.rid]) for item in chunk]
            picked += [pair for pair in kept if _wanted(pair[1], now, tags, type_, scope, window)]
            if len(picked) >= limit:
                break
        if scope is not None:
            picked.sort(key=lambda pair: pair[1].project is None)
        return picked[:limit]

    def _hits(self, picked: list[tuple[Scored, MemoryRow]]) -> tuple[list[Hit], list[str | None]]:
        """The API's hits, and for each the id of the memory its hop-2 path went through (None
        for a direct match, or when that memory is gone)."""
        path_rids = {step.rid for item, _ in picked for step in item.path if step.kind == "memory"}
        ids = sql.ids_by_rid(self.db, path_rids)
        inputs = sql.strength_inputs(self.db, [row.rid for _, row in picked])
        hits: list[Hit] = []
        sources: list[str | None] = []
        for item, row in picked:
            source, via = None, "text"
            if item.path and item.best > item.text + TEXT_ACTIVATION * item.a1:
                path, via = [step.text(ids) for step in item.path], str(item.path[-1].kind)
                source = next((ids.get(s.rid) for s in item.path if s.kind == "memory"), None)
            else:
                path = [step.text(ids) for step in item.matched[:6]] or ["text"]
            hits.append(Hit(self._memory(row, inputs[row.rid]), item.score, path, via))
            sources.append(source)
        return hits, sources

    def _reinforce(self, hits: list[Hit], sources: list[str | None]) -> None:
        """Each of the best hits gains a use, and so does the learned link from the memory its
        hop-2 path went through (`sources`, as _hits gives them)."""
        now = self._now()
        keys: list[tuple[str, str]] = []
        ends: dict[str, dict[str, Any]] = {}  # link id -> its {"a", "b"}
        for hit, source in zip(hits[:REINFORCED], sources, strict=False):
            keys.append(("activation", hit.memory.id))
            if hit.via in ("concept", "link") and source:
                a, b = sorted((source, hit.memory.id))
                link = reinforce.link_id(a, b)
                keys.append(("link", link))
                ends[link] = {"a": a, "b": b}

        def bump(kind: str, id: str, live: Version | None) -> tuple[dict[str, Any], int]:
            counters = reinforce.counters_of(live.body) if live else {}
            counters = reinforce.bump(counters, self.device_id, now)
            count, last = reinforce.totals(counters)
            strength = reinforce.millionths(reinforce.activation(count, last, now))
            extra = ends[id] if kind == "link" else {}
            return {**extra, "devices": counters}, strength

        with self.db.transaction():
            self.materialize(*self.changes.update_many(keys, bump))

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
        self,
        *versions: Version,
        refused: Sequence[tuple[str, str, str, str]] = (),
        text_first: bool = False,
    ) -> None:
        """Make the local tables reflect records' current versions (local or pulled).

        A page of pulled versions is materialized together, so the concept graph of all its
        memories is written in a few bulk statements. Only a record's last version matters:
        materializing a version replaces whatever an earlier one left. `refused`: quarantine
        rows (kind, id, vhash, reason) of versions refused for a reason of their own.
        `text_first`: the memories' concept graph is left to the backlog (core/indexing.py).
        """
        latest = {(v.kind, v.id): v for v in versions}
        poison = _quarantine(latest.values())
        poison.update({(row[0], row[1]): row for row in refused})
        sql.release(self.db, [key for key in latest if key not in poison])
        sql.quarantine(self.db, list(poison.values()))
        # A quarantined version is stored, never materialized: what an earlier valid version
        # of its record left (a memory, its counters) stays as it was, recallable.
        usable = [v for key, v in latest.items() if key not in poison]
        memories = [v for v in usable if v.kind == "memory"]
        self._materialize_memories(memories, text_first=text_first)
        for version in usable:
            body = version.body
            if version.kind == "activation":
                if version.deleted:
                    sql.delete_activation(self.db, version.id)
                else:
                    count, last = reinforce.totals(reinforce.counters_of(body))
                    sql.set_activation(self.db, version.id, count, last)
            elif version.kind == "link":
                if version.deleted:
                    sql.delete_link(self.db, version.id)
                else:
                    count, last = reinforce.totals(reinforce.counters_of(body))
                    sql.set_link(self.db, version.id, str(body["a"]), str(body["b"]), count, last)
            # "conflict" records are kept as versions only; the sync layer lists them.

    def _materialize_memories(self, versions: Sequence[Version], *, text_first: bool) -> None:
        """Upsert or delete memory rows, then derive the graph of the live ones in bulk."""
        existing = sql.rids_of(self.db, [v.id for v in versions])
        rows: list[MemoryRow] = []
        rids: list[int | None] = []  # the existing row's rid, None for a new memory
        for version in versions:
            rid = existing.get(version.id)
            row = None if version.deleted else _memory_row(version)
            if row is not None:
                if rid is not None:
                    sql.unindex(self.db, rid)
                rows.append(row)
                rids.append(rid)
            elif rid is not None:  # deleted
                sql.delete_memory(self.db, rid)
        # After the deletes: new memories are numbered past the largest rid they left.
        placed = sql.upsert_memories(self.db, rows, rids)
        backlog.drop(self.db, [rid for rid in rids if rid is not None])  # unindexed above
        index = indexing.index_text_first if text_first else indexing.index
        index(self.db, rows, placed, self._derive)

    def build_graph(self, limit: int = indexing.BATCH) -> int:
        """Build the concept graph of up to `limit` memories of the backlog (core/indexing.py);
        returns how many it built (0: the graph is complete)."""
        return indexing.build_some(self.db, self._derive, limit)

    def _derive(self, row: MemoryRow, rid: int) -> sql.Derived | None:
        """Memory `rid`'s concepts, relations and FTS text (sealed for an encrypted one); None
        for an encrypted memory this device cannot read, and for a superseded one (kept, but
        recall neither returns it nor spreads through it)."""
        if row.superseded_by is not None:
            return None
        if not row.encrypted:
            assert row.content is not None
            found = extract(row.content, now_ms=row.created_at, tags=row.tags)
            return sql.Derived(
                rid, found.concepts, found.relations, " ".join([row.content, *row.tags])
            )
        key = self._maybe_key()
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

    def rebuild_index(self) -> int:
        """Drop and re-derive the whole concept graph and FTS index from the memories."""
        with self.db.transaction():
            sql.clear_index(self.db)
            rows = sql.all_memories(self.db)
            sql.index_many(
                self.db, [entry for row in rows if (entry := self._derive(row, row.rid))]
            )
            key = self._maybe_key()
            self._set_meta(INDEX_KEY, None if key is None else crypto.fingerprint(key.raw))
        return len(rows)

    # -------------------------------------------------------------------- keys

    def key_records(self) -> list[tuple[int, str, dict[str, Any]]]:
        """The brain's valid key records as (created_at, fingerprint, body), oldest first: the
        first names the key that wins when two devices each made one (docs/sync.md, "Keys")."""
        found = []
        for version in self.changes.versions("key"):
            parsed = bodies.parse(bodies.KeyBody, version.body)
            if version.deleted or parsed is None:
                continue
            if version.id == crypto.KEY_RECORD_PREFIX + parsed.fingerprint:
                found.append((parsed.created_at, parsed.fingerprint, version.body))
        return sorted(found, key=lambda record: (record[0], record[1]))

    def key_status(self) -> KeyStatus:
        """What `sync status` says of the brain's keys: whether it is keyed, by which key, and
        whether this device holds that key."""
        records = self.key_records()
        key = self._maybe_key()
        held = {crypto.fingerprint(raw) for raw in key.raws} if key else set()
        winner = records[0][1] if records else None
        return KeyStatus(
            keyed=bool(records) or key is not None,
            fingerprint=winner or (crypto.fingerprint(key.raw) if key else None),
            keys_held=len(held),
            missing_key=winner is not None and winner not in held,
        )

    def settle_keys(self, *, force_index: bool = False) -> dict[str, int]:
        """Bring this device in line with the brain's key records (after a sync or a new key):
        give the key that encrypts here a record if it has none; re-seal the local index when
        the encrypting key changed (or `force_index`); and once this device holds the key that
        won the race, encrypt again under it the memories it wrote under another one."""
        self._key, self._key_checked = None, False
        key = self._maybe_key()
        result = {"reindexed": 0, "reencrypted": 0}
        if key is None:
            return result
        self._record_key(key.raw)
        waiting = [(kind, id) for kind, id, _, _ in sql.quarantined(self.db)]
        if waiting:  # sealed records may wait for this key
            with self.db.transaction():
                if self.e2e:
                    self._reopen_quarantined()
                else:
                    found = self.changes.currents(waiting)
                    self._adopt_e2e([current.version for current in found.values()])
        fingerprint = crypto.fingerprint(key.raw)
        if force_index or self._meta(INDEX_KEY) != fingerprint:
            if force_index or sql.recent_ciphertexts(self.db, 1):
                result["reindexed"] = self.rebuild_index()
            else:  # nothing sealed in the index (no encrypted memory): nothing to re-seal
                with self.db.transaction():
                    self._set_meta(INDEX_KEY, fingerprint)
        records = self.key_records()
        if len(key.raws) > 1 and records and records[0][1] == crypto.fingerprint(key.raw):
            result["reencrypted"] = self._reencrypt(key)
        return result

    def _reencrypt(self, key: crypto.BrainKey) -> int:
        """New versions, under `key.raw`, of this device's encrypted memories made with another
        key of the ring (and, in an E2E brain, of the records it sealed with one); only its
        own, so two devices never rewrite one record at once."""
        done = self._reseal(key) if self.e2e else 0
        with self.db.transaction():
            for row in sql.all_memories(self.db):
                if row.ciphertext is None or key.encrypted_by_primary(row.ciphertext):
                    continue
                current = self.changes.current("memory", row.id)
                if current is None or current.version.device_id != self.device_id:
                    continue
                if not key.can_decrypt(row.ciphertext):
                    continue  # a key this device lacks: left as it is
                plaintext = key.decrypt(row.ciphertext)
                body = {**current.version.body, "ciphertext": key.encrypt(plaintext)}
                version = self.changes.write(
                    "memory", row.id, body=body, strength=self._strength_now(row.id)
                )
                self.materialize(version)
                done += 1
        return done

    def _reseal(self, key: crypto.BrainKey) -> int:
        """Seal again, with `key.raw`, the records this device sealed with another key."""
        first = e2e.Codec(lambda: crypto.BrainKey(key.raw))
        done = 0
        with self.db.transaction():
            for view in list(self.changes.versions(None)):
                if view.kind in e2e.CLEAR_KINDS or view.device_id != self.device_id:
                    continue
                if e2e.rejected(view.body) is not None:
                    continue  # not opened with any key here: nothing to seal again
                wire = Version.model_validate_json(view.canonical())
                if e2e.rejected(first.open(wire).body) is None:
                    continue  # sealed with the winner already
                body = None if view.deleted else view.body
                self.changes.write(
                    view.kind, view.id, body=body, deleted=view.deleted, strength=view.strength
                )
                done += 1
        return done

    def _record_key(self, raw: bytes) -> None:
        """The key record of `raw`, written once: the brain is keyed, for every device."""
        record_id = crypto.key_record_id(raw)
        current = self.changes.current("key", record_id)
        if current is None or current.version.deleted:
            self.write_record("key", record_id, body=crypto.key_record_body(raw, self._now()))

    # -------------------------------------------------------------------- end-to-end encryption

    def encrypt_brain(self) -> int:
        """Make the brain end-to-end encrypted (core/e2e.py): from now on every record is stored
        and synced sealed, and this device refuses plaintext versions of it. Every record it
        holds is written again, sealed, to be pushed: the hub's plaintext versions are replaced.
        The brain key is made when there is none (checked against its key records first).
        Returns how many records were sealed; 0 when it already was end-to-end encrypted."""
        if self.e2e:
            return 0
        self._brain_key(create=True)
        with self.db.transaction():
            return self._seal_all()

    def _seal_all(self) -> int:
        """Turn the sealer on and write every record again through it; in a transaction."""
        records = list(self.changes.versions(None))
        self._set_meta(E2E, "1")
        self.changes.sealer = e2e.Codec(self._maybe_key)
        sealed = 0
        for version in records:
            if version.kind in e2e.CLEAR_KINDS or e2e.is_sealed(version.body):
                continue
            body = None if version.deleted else version.body
            self.changes.write(
                version.kind,
                version.id,
                body=body,
                deleted=version.deleted,
                strength=version.strength,
            )
            sealed += 1
        self._reopen_quarantined()
        return sealed

    def _adopt_e2e(self, versions: Sequence[Version]) -> None:
        """Sealed versions arrived for a brain this device keeps in plaintext: another device
        turned it end-to-end encrypted. With the brain key here and a version that opens with
        it (a hub cannot make one), this device turns it too; without, they stay quarantined
        until the key comes (settle_keys)."""
        key = self._maybe_key()
        if key is None:
            return
        codec = e2e.Codec(lambda: key)
        if any(e2e.rejected(codec.open(v).body) is None for v in versions if e2e.is_sealed(v.body)):
            log.warning("brain %s is end-to-end encrypted by another device: here too", self.name)
            self._seal_all()

    def _reopen_quarantined(self) -> None:
        """Materialize again every quarantined record: those that open or validate now (a key
        arrived, the brain turned end-to-end encrypted) are applied and leave quarantine."""
        keys = [(kind, id) for kind, id, _, _ in sql.quarantined(self.db)]
        found = self.changes.currents(keys)
        self.materialize(*(current.version for current in found.values()))

    def _meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def _set_meta(self, key: str, value: str | None) -> None:
        if value is None:
            self.db.execute("DELETE FROM meta WHERE key = ?", (key,))
            return
        self.db.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

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
            refused = self._downgrades(versions)
            self.changes.store_many(versions)
            memories = sum(v.kind == "memory" for v in versions)
            self.materialize(*versions, refused=refused, text_first=indexing.text_first(memories))

    def _downgrades(self, versions: Sequence[Version]) -> list[tuple[str, str, str, str]]:
        """Quarantine rows of the versions that would make a memory encrypted here plaintext."""
        plain = {
            v.id: v
            for v in versions
            if v.kind == "memory"
            and not v.deleted
            and "ciphertext" not in v.body
            and v.device_id != self.changes.device_id
        }
        return [
            ("memory", id, plain[id].vhash, MSG_DOWNGRADE.format(device=plain[id].device_id))
            for id in sorted(sql.encrypted_among(self.db, plain))
        ]

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
            raise InvalidInput(f"invalid brain id {brain_id!r}")
        with self.db.transaction():
            if not self.is_empty():
                raise InvalidInput(
                    f"brain {self.name} holds records; only an empty brain can take another id",
                    hint="sync it into the remote brain instead",
                )
            self.db.execute("UPDATE meta SET value = ? WHERE key = 'brain_id'", (brain_id,))
            self.db.execute("DELETE FROM meta WHERE key = ?", (SYNC_ID,))
            self.db.execute("DELETE FROM sync_state")
        self._key, self._key_checked = None, False  # key files are named by brain id

    def sync_as(self, brain_id: str) -> None:
        """Record that this (non-empty) brain was merged into the hub brain `brain_id`: it keeps
        its own id, and uses that brain's key too (`key_ids`), so importing the key of the brain
        it joined makes the memories other devices encrypted readable here."""
        if not isinstance(brain_id, str) or not _ID.match(brain_id):
            raise InvalidInput(f"invalid brain id {brain_id!r}")
        if brain_id in (self.id, self.sync_id):
            return
        with self.db.transaction():
            self.db.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (SYNC_ID, brain_id),
            )
        self._key, self._key_checked = None, False

    # -------------------------------------------------------------------- helpers

    def _brain_key(self, *, create: bool) -> crypto.BrainKey:
        """The brain's key; made on first use when `create`, else CryptoError when missing."""
        key = self._maybe_key()
        if create and not self._key_checked:
            # Encrypting with the wrong key, or a fresh one while the brain already holds memories
            # sealed elsewhere, writes what the other devices can never read: refuse instead.
            records = self.key_records()
            if key is None and records:
                # Another device keyed this brain: a second key would split it in two.
                raise CryptoError(
                    f"brain {self.name} is already encrypted with a key this device does not"
                    f" hold (fingerprint {records[0][1][:8]})",
                    hint=HINT_GET_KEY,
                )
            samples = sql.recent_ciphertexts(self.db, KEY_CHECK_SAMPLES)
            if samples and key is None:
                raise CryptoError(
                    f"brain {self.name} holds encrypted memories but their key is not on this"
                    " device",
                    hint=HINT_GET_KEY,
                )
            if samples and key is not None and not any(map(key.can_decrypt, samples)):
                raise CryptoError(
                    f"the key for brain {self.name} does not decrypt its encrypted memories"
                    " (wrong key)",
                    hint="import the right key: nmem keys receive CODE or nmem keys import",
                )
            self._key_checked = True
        if key is None and create:
            key = crypto.ensure_key(self.key_ids[0])
            with self.db.transaction():
                self._record_key(key.raw)
                self._set_meta(INDEX_KEY, crypto.fingerprint(key.raw))
        if key is None:
            raise CryptoError(
                f"no key for brain {self.name} ({self.id}) on this device", hint=HINT_GET_KEY
            )
        self._key = key
        return key

    def _maybe_key(self) -> crypto.BrainKey | None:
        """The keyring, the key that encrypts first: of the keys held, the one whose proved
        record is oldest (the race's winner), else the first found. Cached once found; looked
        up again while missing, since an import may add it."""
        if self._key is None:
            ring = crypto.load_keyring(self.key_ids)
            if ring is not None and len(ring.raws) > 1:
                proved = [
                    raw
                    for _, _, body in self.key_records()
                    if (raw := crypto.record_key(ring.raws, body)) is not None
                ]
                if proved:
                    ring = crypto.BrainKey(proved[0], *ring.raws)
            self._key = ring
        return self._key

    def _memory(self, row: MemoryRow, inputs: tuple[int, int, int | None] | None = None) -> Memory:
        """The API's Memory for a row; `inputs` are its strength_inputs when already read."""
        created, count, last = inputs or sql.strength_inputs(self.db, [row.rid])[row.rid]
        content = row.content
        if row.encrypted and row.ciphertext is not None:
            key = self._maybe_key()
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
            strength=reinforce.activation(count, last or created, self._now()),
            access_count=count,
            project=row.project,
            superseded_by=row.superseded_by,
        )

    def _strengths(self, rids: list[int], now: int) -> dict[int, float]:
        return {
            rid: reinforce.activation(count, last or created, now)
            for rid, (created, count, last) in sql.strength_inputs(self.db, rids).items()
        }

    def _strength_now(self, id: str) -> int:
        activation = sql.activations(self.db, [id]).get(id)
        now = self._now()
        row = sql.get_memory(self.db, id)
        created = row.created_at if row else now
        count, last = activation or (0, created)
        return reinforce.millionths(reinforce.activation(count, last, now))

    def _links_by_rid(self, rids: list[int]) -> list[tuple[int, int, int]]:
        ids = {id_: rid for rid, id_ in sql.ids_by_rid(self.db, rids).items()}
        found = sql.links_of(self.db, list(ids))
        targets = sql.rids_of(self.db, [dst for _, _, dst, _ in found])
        return [(ids[src], targets[dst], count) for _, src, dst, count in found if dst in targets]


def _new_brain_id() -> str:
    return "b-" + secrets.token_hex(16)
