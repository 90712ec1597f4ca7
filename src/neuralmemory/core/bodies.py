"""The schema of every record body, the one place it is written down (docs/sync.md repeats it).

The hub checks vhashes, never bodies, so a faulty or hostile client can put anything in one and
every device pulls it. Each body is validated here before anything reads it: one that fails is
still stored and synced (brains converge, nothing is lost) but *quarantined* -- never
materialized, listed by `nmem sync status` -- until a valid version of its record replaces it.
Whatever reads a stored body later (materialization, recall's counters, conflict listings) goes
through these models too, so a quarantined body is skipped there instead of raising.

  memory      {"content" | "ciphertext", "encrypted", "type", "tags", "priority",
               "created_at", "event_at", "expires_at", "project"?, "superseded_by"?}
  activation  {"devices": {device_id: {"count", "last"}}}
  link        {"a", "b", "devices": {...}}
  conflict    {"record": {"kind", "id"}, "loser": version, "winner", "strategy"}
  key         {"fingerprint", "created_at", "mac"}            id = "k-" + fingerprint
A tombstone (deleted version) has an empty body and needs no check.
"""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    StrictStr,
    ValidationError,
    model_validator,
)

from neuralmemory.core import e2e
from neuralmemory.core.extract import MEMORY_TYPES
from neuralmemory.core.project import MAX_PROJECT_CHARS
from neuralmemory.errors import MSG_E2E_NO_KEY
from neuralmemory.protocol import ID_PATTERN, KINDS, MAX_SAFE_INTEGER, VHASH_PATTERN, Version

#: Times are epoch milliseconds that have a calendar day: 1970 to 9999-12-31.
LAST_MS = 253_402_300_799_999
#: Devices counted in one activation or link body. With counts and times bounded by 2^53-1,
#: a body's total stays below SQLite's 2^63 (1,024 x 2^53 = 2^63).
MAX_DEVICES = 1000

Ms = Annotated[StrictInt, Field(ge=0, le=LAST_MS)]
Count = Annotated[StrictInt, Field(ge=0, le=MAX_SAFE_INTEGER)]
Id = Annotated[StrictStr, Field(pattern=ID_PATTERN)]


class _Body(BaseModel):
    # Fields a later version may add are kept (extra="allow"): bodies are validated, not rewritten.
    model_config = ConfigDict(extra="allow", frozen=True, defer_build=True)


class MemoryBody(_Body):
    content: StrictStr | None = None
    ciphertext: StrictStr | None = None
    type: StrictStr
    tags: list[StrictStr] = Field(default_factory=list)
    priority: Annotated[StrictInt, Field(ge=-MAX_SAFE_INTEGER, le=MAX_SAFE_INTEGER)] = 5
    created_at: Ms
    event_at: Ms | None = None
    expires_at: Ms | None = None
    project: Annotated[StrictStr, Field(min_length=1, max_length=MAX_PROJECT_CHARS)] | None = None
    superseded_by: Id | None = None  # the memory that replaced this one (nmem --supersedes)

    @model_validator(mode="after")
    def _consistent(self) -> MemoryBody:
        if (self.content is None) == (self.ciphertext is None):
            raise ValueError("a memory holds exactly one of content and ciphertext")
        if self.type not in MEMORY_TYPES:
            raise ValueError(f"unknown memory type {self.type!r}")
        return self


class Counter(_Body):
    count: Count = 0
    last: Count = 0


class CountersBody(_Body):
    """An activation body; a link's adds its two ends."""

    devices: Annotated[dict[Id, Counter], Field(max_length=MAX_DEVICES)] = Field(
        default_factory=dict
    )


class LinkBody(CountersBody):
    a: Id
    b: Id


class RecordRef(_Body):
    kind: StrictStr
    id: Id


class ConflictBody(_Body):
    record: RecordRef
    loser: Version
    winner: Annotated[StrictStr, Field(pattern=VHASH_PATTERN)] | None = None
    strategy: StrictStr | None = None


class KeyBody(_Body):
    """A key record: the fingerprint of a brain key and when it was made (core/crypto.py). Its
    MAC is checked by a device holding the key; any device sees from it that the brain is keyed."""

    fingerprint: Annotated[StrictStr, Field(pattern=r"^[0-9a-f]{32}$")]
    created_at: Ms
    mac: Annotated[StrictStr, Field(pattern=r"^[0-9a-f]{64}$")]


B = TypeVar("B", bound=_Body)

SCHEMAS: dict[str, type[_Body]] = {
    "memory": MemoryBody,
    "activation": CountersBody,
    "link": LinkBody,
    "conflict": ConflictBody,
    "key": KeyBody,
}
assert set(SCHEMAS) == set(KINDS)


def problem(
    kind: str, body: dict[str, Any], *, deleted: bool = False, id: str | None = None
) -> str | None:
    """Why this body cannot be used (one line, for `sync status`), or None when it is valid.
    With the record's `id`, a key record's must name its fingerprint."""
    if deleted:
        return None
    why = e2e.rejected(body)
    if why is not None:  # an end-to-end encrypted brain's version that did not open
        return why
    if e2e.is_sealed(body):
        return MSG_E2E_NO_KEY  # sealed by a device of an E2E brain: opened once its key is here
    schema = SCHEMAS.get(kind)
    if schema is None:
        return f"unknown record kind {kind!r}"
    try:
        parsed = schema.model_validate(body)
    except ValidationError as exc:
        return _reason(exc)
    if isinstance(parsed, KeyBody) and id is not None and id != "k-" + parsed.fingerprint:
        return "invalid body: fingerprint: a key record's id is k- and its fingerprint"
    return None


def parse(schema: type[B], body: dict[str, Any]) -> B | None:
    """The body as `schema`, or None for a quarantined one (the reader skips it)."""
    try:
        return schema.model_validate(body)
    except ValidationError:
        return None


def counters(body: dict[str, Any]) -> dict[str, dict[str, int]]:
    """An activation or link body's counters; none for a quarantined body, so recall's next
    bump writes a valid version over it instead of failing."""
    parsed = parse(CountersBody, body)
    if parsed is None:
        return {}
    return {device: {"count": c.count, "last": c.last} for device, c in parsed.devices.items()}


def _reason(exc: ValidationError) -> str:
    first = exc.errors(include_url=False)[0]
    where = ".".join(str(part) for part in first["loc"]) or "body"
    more = exc.error_count() - 1
    tail = f" (and {more} more)" if more else ""
    return f"invalid body: {where}: {first['msg']}{tail}"
