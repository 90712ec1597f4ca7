"""`nmem import`: memories from a file into a brain, all of them or none.

Every source (our own JSONL export, the other Neural Memory product's brain, the MCP reference
memory server's knowledge graph) is first read into `Incoming` memories and a list of bad lines;
nothing is written while a single line is bad (unless the caller skips bad lines). Then every
memory is written in one transaction, through the change log like any local write, so imported
memories sync like any other. A memory whose id the brain already holds (live) is a duplicate
and left as the brain has it: importing the same file twice changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr, ValidationError

from neuralmemory.core import reinforce
from neuralmemory.core.brain import Brain
from neuralmemory.core.checks import MAX_PRIORITY, check_content, check_tags, check_type
from neuralmemory.core.export import FORMAT, VERSION
from neuralmemory.core.project import check_project
from neuralmemory.errors import (
    HINT_EXPORT_VERSION,
    HINT_NOT_AN_EXPORT,
    MSG_CANNOT_READ,
    MSG_CIPHERTEXT_NEEDS_FLAG,
    MSG_CONTENT_OR_CIPHERTEXT,
    MSG_EXPORT_VERSION,
    MSG_NO_FILE,
    MSG_NOT_AN_EXPORT,
    MSG_NOT_UTC_TIME,
    MSG_NOT_UTF8_TEXT,
    InvalidInput,
    NmemError,
    NotFound,
)
from neuralmemory.protocol import ID_PATTERN

BATCH = 500  # memories materialized together (one progress step)
SHOWN_BAD = 10  # bad lines named in the error; the --json report has them all
Progress = Callable[[int, int], None]  # (memories written, memories to write)


@dataclass
class Incoming:
    """A memory to import: its synced body as remember would write it (without content or
    ciphertext), and its text. `encrypt`: the text must be encrypted with this brain's key."""

    line: int
    id: str
    body: dict[str, Any]
    content: str | None = None
    ciphertext: str | None = None
    encrypt: bool = False
    activation: dict[str, dict[str, int]] = field(default_factory=dict)


@dataclass(frozen=True)
class BadLine:
    line: int
    error: str

    def to_json(self) -> dict[str, Any]:
        return {"line": self.line, "error": self.error}


@dataclass
class Read:
    """What a reader made of a source: the memories, the bad lines, and notes for the user."""

    memories: list[Incoming] = field(default_factory=list)
    bad: list[BadLine] = field(default_factory=list)
    read: int = 0  # items read (lines, or the other product's memories)
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Report:
    source: str
    read: int
    imported: int
    duplicates: int
    bad: list[BadLine]
    notes: list[str]

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "read": self.read,
            "imported": self.imported,
            "duplicates": self.duplicates,
            "bad": len(self.bad),
            "errors": [bad.to_json() for bad in self.bad],
            "notes": self.notes,
        }


def import_read(
    brain: Brain,
    source: str,
    read: Read,
    *,
    skip_bad: bool = False,
    progress: Progress | None = None,
) -> Report:
    """Write what a reader read; InvalidInput naming the bad lines (and nothing written) when
    there are any, unless `skip_bad`."""
    read.bad += _key_problems(brain, read.memories)
    if read.bad and not skip_bad:
        raise InvalidInput(_bad_summary(read.bad), hint=_BAD_HINT)
    bad_lines = {bad.line for bad in read.bad}
    wanted = [memory for memory in read.memories if memory.line not in bad_lines]
    imported = _write(brain, wanted, progress)
    return Report(source, read.read, imported, len(wanted) - imported, read.bad, read.notes)


_BAD_HINT = "nothing was imported; fix those lines, or pass --skip-bad to import the others"


def _bad_summary(bad: Sequence[BadLine]) -> str:
    shown = "; ".join(f"line {b.line}: {b.error}" for b in bad[:SHOWN_BAD])
    more = f"; and {len(bad) - SHOWN_BAD} more bad lines" if len(bad) > SHOWN_BAD else ""
    return f"{len(bad)} bad line{'s' * (len(bad) != 1)}: {shown}{more}"


def _key_problems(brain: Brain, memories: Sequence[Incoming]) -> list[BadLine]:
    """Ciphertext this brain's key cannot read would block every later encrypted remember (the
    key check samples the newest ciphertexts): refused before anything is written. Without a
    key here it is kept as it is, as a pulled record would be."""
    sealed = [m for m in memories if m.ciphertext is not None]
    key = brain.keys.current() if sealed else None
    if key is None:
        return []
    return [
        BadLine(m.line, "encrypted with another brain's key (export it with --decrypt instead)")
        for m in sealed
        if m.ciphertext is not None and not key.can_decrypt(m.ciphertext)
    ]


def _write(brain: Brain, memories: Sequence[Incoming], progress: Progress | None) -> int:
    """Write the memories the brain does not hold yet, in one transaction; returns how many."""
    key = brain.keys.require(create=True) if any(m.encrypt for m in memories) else None
    now = brain.now()
    written = 0
    seen: set[str] = set()
    with brain.db.transaction():
        for start in range(0, len(memories), BATCH):
            chunk = memories[start : start + BATCH]
            held = brain.changes.currents([("memory", m.id) for m in chunk])
            versions = []
            for memory in chunk:
                current = held.get(("memory", memory.id))
                if memory.id in seen or (current is not None and not current.version.deleted):
                    continue
                seen.add(memory.id)
                versions += _versions(brain, memory, key, now)
                written += 1
            brain.materialize(*versions)
            if progress is not None:
                progress(min(start + BATCH, len(memories)), len(memories))
    return written


def _versions(brain: Brain, memory: Incoming, key: Any, now: int) -> list[Any]:
    body = dict(memory.body)
    if memory.encrypt:
        body["ciphertext"] = key.encrypt(memory.content)
    elif memory.ciphertext is not None:
        body["ciphertext"] = memory.ciphertext
    else:
        body["content"] = memory.content
    count, last = reinforce.totals(memory.activation)
    strength = reinforce.millionths(reinforce.activation(count, last or body["created_at"], now))
    made = [brain.changes.write("memory", memory.id, body=body, strength=strength)]
    if memory.activation:
        held = brain.changes.current("activation", memory.id)
        mine = reinforce.counters_of(held.version.body) if held and not held.version.deleted else {}
        counters = reinforce.merge_counters(mine, memory.activation)
        if counters != mine:
            made.append(
                brain.changes.write(
                    "activation", memory.id, body={"devices": counters}, strength=strength
                )
            )
    return made


# ---------------------------------------------------------------------------- our JSONL

Ms = Annotated[StrictStr, Field(max_length=40)]


class _Counter(BaseModel):
    model_config = ConfigDict(extra="forbid")
    count: Annotated[StrictInt, Field(ge=0, le=2**53 - 1)]
    last: Ms


class _Line(BaseModel):
    """One memory line of docs/export.md, version 1."""

    model_config = ConfigDict(extra="forbid")
    id: Annotated[StrictStr, Field(pattern=ID_PATTERN)]
    type: StrictStr
    content: StrictStr | None = None
    ciphertext: StrictStr | None = None
    encrypted: StrictBool = False
    tags: list[StrictStr] = Field(default_factory=list)
    priority: Annotated[StrictInt, Field(ge=0, le=MAX_PRIORITY)] = 5
    project: StrictStr | None = None
    created_at: Ms
    event_at: Ms | None = None
    expires_at: Ms | None = None
    superseded_by: Annotated[StrictStr, Field(pattern=ID_PATTERN)] | None = None
    activation: dict[Annotated[StrictStr, Field(pattern=ID_PATTERN)], _Counter] = Field(
        default_factory=dict, max_length=1000
    )


def read_jsonl(path: Path) -> Read:
    """Our export (docs/export.md): the header line, then a memory per line."""
    read = Read()
    for number, text in _lines(path):
        if number == 1:
            _check_header(text)
            continue
        read.read += 1
        try:
            read.memories.append(_incoming(number, text))
        except (InvalidInput, ValueError) as exc:
            read.bad.append(BadLine(number, _reason(exc)))
    return read


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    """(line number, text) of the non-blank lines; a file that is not UTF-8 text is refused."""
    try:
        with path.open(encoding="utf-8") as handle:
            for number, text in enumerate(handle, 1):
                if text.strip():
                    yield number, text
    except FileNotFoundError:
        raise NotFound(MSG_NO_FILE.format(path=path)) from None
    except UnicodeDecodeError as exc:
        raise InvalidInput(MSG_NOT_UTF8_TEXT.format(path=path, reason=exc.reason)) from None
    except OSError as exc:
        raise InvalidInput(MSG_CANNOT_READ.format(path=path, reason=exc.strerror)) from None


def _check_header(text: str) -> None:
    try:
        header = json.loads(text)
    except ValueError:
        header = None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise InvalidInput(MSG_NOT_AN_EXPORT.format(format=FORMAT), hint=HINT_NOT_AN_EXPORT)
    if header.get("version") != VERSION:
        raise InvalidInput(
            MSG_EXPORT_VERSION.format(found=header.get("version"), version=VERSION),
            hint=HINT_EXPORT_VERSION,
        )


def _incoming(number: int, text: str) -> Incoming:
    line = _Line.model_validate_json(text)
    if (line.content is None) == (line.ciphertext is None):
        raise InvalidInput(MSG_CONTENT_OR_CIPHERTEXT)
    if line.ciphertext is not None and not line.encrypted:
        raise InvalidInput(MSG_CIPHERTEXT_NEEDS_FLAG)
    body: dict[str, Any] = {
        "encrypted": line.encrypted,
        "type": check_type(line.type),
        "tags": check_tags(line.tags),
        "priority": line.priority,
        "created_at": _time("created_at", line.created_at),
        "expires_at": _time("expires_at", line.expires_at),
        "event_at": _time("event_at", line.event_at),
    }
    if line.project is not None:
        body["project"] = check_project(line.project)
    if line.superseded_by is not None:
        body["superseded_by"] = line.superseded_by
    counters = {
        device: {"count": c.count, "last": _time(f"activation.{device}.last", c.last)}
        for device, c in sorted(line.activation.items())
    }
    content = None if line.content is None else check_content(line.content)
    return Incoming(
        number,
        line.id,
        body,
        content,
        line.ciphertext,
        encrypt=line.encrypted and content is not None,
        activation=counters,
    )


def _time(field: str, text: str | None) -> Any:
    """A wire time (ISO 8601 with `Z` or an offset) as epoch ms; None stays None."""
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise InvalidInput(MSG_NOT_UTC_TIME.format(field=field, text=text))
    return round(moment.timestamp() * 1000)


def _reason(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(part) for part in first["loc"]) or "line"
        return f"{where}: {first['msg']}" if first["type"] != "json_invalid" else "not JSON"
    if isinstance(exc, NmemError):
        return exc.message
    return str(exc)
