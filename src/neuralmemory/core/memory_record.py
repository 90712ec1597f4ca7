"""A memory's record as the API writes it: a new memory's id and body, and an edit's body.

Record bodies (what syncs; docs/cli.md repeats them; core/bodies.py checks them):
  memory      {"content" | "ciphertext", "encrypted", "type", "tags", "priority",
               "created_at", "event_at", "expires_at", "project"?, "superseded_by"?}
                                                                   strength = activation at write
  activation  {"devices": {device_id: {"count", "last"}}}          id = the memory's id
  link        {"a", "b", "devices": {...}}                          id = reinforce.link_id(a, b)
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable
from typing import Any

from neuralmemory.core import crypto
from neuralmemory.core.checks import (
    check_content,
    check_expires,
    check_priority,
    check_tags,
    check_type,
)
from neuralmemory.core.extract import content_digest, detect_type, extract
from neuralmemory.core.project import check_project
from neuralmemory.errors import MSG_ENCRYPTED_NOT_BOOL, InvalidInput

DAY_MS = 86_400_000
ENCRYPTED_TYPE = "fact"  # an encrypted memory's type unless one is given

#: the brain's key (Keyring.require): made on first use when `create`, else CryptoError
KeyFor = Callable[..., crypto.BrainKey]


def new_memory(
    content: object,
    *,
    type: str | None,
    tags: Iterable[str] | None,
    priority: int,
    expires_days: int | None,
    encrypted: bool,
    project: str | None,
    now: int,
    e2e: bool,
    key: KeyFor,
) -> tuple[str, dict[str, Any]]:
    """The id and body of a memory remembered at `now`, every field checked (InvalidInput)."""
    text = check_content(content)
    if not isinstance(encrypted, bool):
        raise InvalidInput(MSG_ENCRYPTED_NOT_BOOL)
    owner = None if project is None else check_project(project)
    # The type of an encrypted memory is never guessed from its text: it is readable
    # metadata, and "decision" or "error" would say what the secret is about.
    guessed = ENCRYPTED_TYPE if encrypted else detect_type(text)
    kind = guessed if type is None else check_type(type)
    clean_tags = check_tags(tags)
    level = check_priority(priority)
    days = check_expires(expires_days)
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
        body["ciphertext"] = key(create=True).encrypt(text)
        body["event_at"] = None  # a date read from the text would leak it
    elif e2e:
        # Keyed by the brain key: the same text is one memory, and the hub cannot confirm
        # a guess of it.
        memory_id = "m-" + key(create=False).name(text)[:24]
        body["content"] = text
        body["event_at"] = extract(text, now_ms=now).event_at
    else:
        memory_id = "m-" + content_digest(text)[:24]
        body["content"] = text
        body["event_at"] = extract(text, now_ms=now).event_at
    return memory_id, body


def edited(
    current: dict[str, Any],
    *,
    text: str | None,
    tags: list[str] | None,
    priority: int | None,
    type: str | None,
    key: KeyFor,
) -> dict[str, Any]:
    """The body `current` becomes with the (checked) fields given; None keeps a field."""
    body = dict(current)
    if text is not None:
        if body.get("encrypted"):
            found = key(create=False)
            found.decrypt(body["ciphertext"])  # a wrong key is said here, not elsewhere later
            body["ciphertext"] = found.encrypt(text)
        else:
            body["content"] = text
            body["event_at"] = extract(text, now_ms=body["created_at"]).event_at
    if tags is not None:
        body["tags"] = tags
    if priority is not None:
        body["priority"] = priority
    if type is not None:
        body["type"] = type
    return body
