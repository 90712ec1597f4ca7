"""Reading a brain of the other product called Neural Memory (PyPI `neural-memory`, also a
command `nmem`, brains at ~/.neuralmemory/brains/NAME.db), for `nmem import --from
neural-memory`. Its file is never written: it is copied (with its -wal) into a temporary folder
and the copy is read.

Its schema (tests/fixtures/neural_memory, made by scripts/make-neural-memory-fixture.sh with its
own commands): a memory is a row of `typed_memories` (type, priority, tags, project, expiry,
creation), whose fiber's anchor neuron holds the text, and whose fiber's `time_start` is the
event time. Times are ISO 8601 without a zone, in UTC. It encrypts a memory's text with a Fernet
key at keys/BRAIN_ID.key beside its brains folder, and marks nothing else: a text that is a
Fernet token is an encrypted memory. Those are decrypted with that key when it is there and
encrypted again with this brain's key; without it they are skipped, with a note.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from neuralmemory.core.checks import MAX_PRIORITY, MAX_TAG_CHARS, MAX_TAGS, check_content
from neuralmemory.core.crypto import BrainKey
from neuralmemory.core.extract import MEMORY_TYPES, content_digest
from neuralmemory.core.importer import BadLine, Incoming, Read
from neuralmemory.core.project import MAX_PROJECT_CHARS
from neuralmemory.errors import (
    HINT_NO_THEIR_BRAIN,
    MSG_NO_THEIR_BRAIN,
    CryptoError,
    NmemError,
    NotFound,
)
from neuralmemory.store.neural_memory import memory_rows

SOURCE = "neural-memory"
DEFAULT_PATH = Path("~/.neuralmemory/brains/default.db")
_FERNET_PREFIX = "gAAAAA"  # version byte 0x80, base64url: every Fernet token starts so


def read_neural_memory(path: Path, now_ms: int) -> Read:
    """The memories of the other product's brain at `path` (a .db file)."""
    path = path.expanduser()
    if not path.is_file():
        raise NotFound(MSG_NO_THEIR_BRAIN.format(path=path), hint=HINT_NO_THEIR_BRAIN)
    with tempfile.TemporaryDirectory(prefix="nmem-import-") as folder:
        rows = memory_rows(_copy(path, Path(folder)), path)
    read = Read(read=len(rows))
    keys: dict[str, BrainKey | None] = {}
    skipped_sealed = expired = 0
    for number, row in enumerate(rows, 1):
        brain_id = str(row[1])
        if brain_id not in keys:
            keys[brain_id] = _their_key(path, brain_id)
        try:
            memory = _incoming(number, row, keys[brain_id], now_ms)
        except NmemError as exc:
            read.bad.append(BadLine(number, f"memory {row[0]}: {exc.message}"))
            continue
        if memory is None:
            skipped_sealed += 1
        elif (memory.body["expires_at"] or now_ms + 1) <= now_ms:
            expired += 1  # its forget is a soft delete: it expires the memory at once
        else:
            read.memories.append(memory)
    if skipped_sealed:
        read.notes.append(
            f"{skipped_sealed} encrypted memories were skipped: their key is not at"
            f" {_keys_dir(path)}/BRAIN_ID.key (copy that folder beside the brain and import again)"
        )
    if expired:
        read.notes.append(f"{expired} expired or forgotten memories were left out")
    return read


def _copy(path: Path, folder: Path) -> Path:
    copy = folder / path.name
    shutil.copyfile(path, copy)
    wal = Path(f"{path}-wal")
    if wal.exists():
        shutil.copyfile(wal, Path(f"{copy}-wal"))
    return copy


def _keys_dir(path: Path) -> Path:
    return path.parent.parent / "keys"


def _their_key(path: Path, brain_id: str) -> BrainKey | None:
    file = _keys_dir(path) / f"{brain_id}.key"
    try:
        return BrainKey(file.read_bytes().strip())
    except (OSError, CryptoError):
        return None


def _incoming(
    number: int, row: tuple[Any, ...], key: BrainKey | None, now_ms: int
) -> Incoming | None:
    fiber, brain_id, kind, priority, tags, expires, created, text, event, project = row
    sealed = isinstance(text, str) and text.startswith(_FERNET_PREFIX) and " " not in text
    if sealed:
        if key is None:
            return None
        text = key.decrypt(text)
    content = check_content(text)
    created_ms = _ms(created) or now_ms
    event_ms = _ms(event)
    body: dict[str, Any] = {
        "encrypted": sealed,
        "type": kind if kind in MEMORY_TYPES else "fact",
        "tags": _tags(tags),
        "priority": max(0, min(MAX_PRIORITY, int(priority or 5))),
        "created_at": created_ms,
        "expires_at": _ms(expires),
        # its time_start is the creation time unless the event was given (--timestamp)
        "event_at": event_ms if event_ms and abs(event_ms - created_ms) > 60_000 else None,
    }
    if sealed:
        body["event_at"] = None  # never read a date off an encrypted memory
    if project:
        body["project"] = str(project).strip()[:MAX_PROJECT_CHARS]
    if sealed:  # a stable id from where it came from: a hash of the text would reveal it
        origin = f"{SOURCE}:{brain_id}:{fiber}".encode()
        memory_id = "m-" + hashlib.sha256(origin).hexdigest()[:24]
    else:
        memory_id = "m-" + content_digest(content)[:24]
    return Incoming(number, memory_id, body, content, encrypt=sealed)


def _tags(text: Any) -> list[str]:
    try:
        found = json.loads(text or "[]")
    except ValueError:
        return []
    tags = sorted(
        {t.strip().casefold() for t in found if isinstance(t, str) and t.strip()}
        if isinstance(found, list)
        else set()
    )
    return [t for t in tags if len(t) <= MAX_TAG_CHARS][:MAX_TAGS]


def _ms(text: Any) -> int | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return round((moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp() * 1000)
