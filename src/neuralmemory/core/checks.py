"""What the Brain API accepts: the limits of a memory and of a query, and their checks.

Each check returns the clean value or raises InvalidInput saying what is wrong; the importers
(core/from_*.py) and browse (core/browse.py) hold their input to the same limits.
"""

from __future__ import annotations

from collections.abc import Sequence

from neuralmemory.core import privacy
from neuralmemory.core.extract import MEMORY_TYPES
from neuralmemory.core.project import ALL, check_project
from neuralmemory.errors import (
    HINT_CONTENT_ALL_PRIVATE,
    HINT_CONTENT_CREDENTIAL,
    HINT_ONE_OF,
    HINT_WINDOW_BACKWARDS,
    MSG_BAD_EXPIRES,
    MSG_BAD_LIMIT,
    MSG_CONTENT_ALL_PRIVATE,
    MSG_CONTENT_CREDENTIAL,
    MSG_CONTENT_EMPTY,
    MSG_CONTENT_NOT_TEXT,
    MSG_CONTENT_TOO_LARGE,
    MSG_PRIORITY_NOT_INT,
    MSG_PRIORITY_RANGE,
    MSG_QUERY_EMPTY,
    MSG_QUERY_TOO_LONG,
    MSG_TAG_LENGTH,
    MSG_TAG_NOT_TEXT,
    MSG_TAGS_NOT_LIST,
    MSG_TOO_MANY_TAGS,
    MSG_UNKNOWN_TYPE,
    MSG_WINDOW_BACKWARDS,
    InvalidInput,
)

MAX_CONTENT_BYTES = 65_536  # UTF-8 bytes; encrypted, it still fits protocol max_record_bytes
MAX_TAGS = 32
MAX_TAG_CHARS = 64
MAX_PRIORITY = 10
DEFAULT_PRIORITY = 5
MAX_EXPIRES_DAYS = 36_500
MAX_QUERY_CHARS = 2_000
MAX_LIMIT = 100

#: (since, until) in epoch ms: created at or after `since`, before `until`; None: open
Window = tuple[int | None, int | None]
OPEN: Window = (None, None)


def check_content(content: object) -> str:
    if not isinstance(content, str) or not content.strip():
        raise InvalidInput(MSG_CONTENT_EMPTY)
    size = len(content.encode("utf-8", errors="surrogatepass"))
    if size > MAX_CONTENT_BYTES:
        raise InvalidInput(MSG_CONTENT_TOO_LARGE.format(size=size, limit=MAX_CONTENT_BYTES))
    try:
        content.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInput(MSG_CONTENT_NOT_TEXT) from None
    text = privacy.strip_private(content.strip())
    if not text:
        raise InvalidInput(MSG_CONTENT_ALL_PRIVATE, hint=HINT_CONTENT_ALL_PRIVATE)
    secret = privacy.find_secret(text)
    if secret is not None:
        raise InvalidInput(
            MSG_CONTENT_CREDENTIAL.format(secret=secret), hint=HINT_CONTENT_CREDENTIAL
        )
    return text


def check_type(type_: object) -> str:
    if type_ not in MEMORY_TYPES:
        raise InvalidInput(
            MSG_UNKNOWN_TYPE.format(type=type_),
            hint=HINT_ONE_OF.format(names=", ".join(MEMORY_TYPES)),
        )
    return str(type_)


def check_tags(tags: object) -> list[str]:
    if tags is None:
        return []
    if isinstance(tags, str) or not isinstance(tags, Sequence | set | frozenset):
        raise InvalidInput(MSG_TAGS_NOT_LIST)
    clean = set()
    for tag in tags:
        if not isinstance(tag, str):
            raise InvalidInput(MSG_TAG_NOT_TEXT.format(kind=type(tag).__name__))
        tag = tag.strip().casefold()
        if not tag or len(tag) > MAX_TAG_CHARS:
            raise InvalidInput(MSG_TAG_LENGTH.format(limit=MAX_TAG_CHARS))
        clean.add(tag)
    if len(clean) > MAX_TAGS:
        raise InvalidInput(MSG_TOO_MANY_TAGS.format(limit=MAX_TAGS))
    return sorted(clean)


def check_priority(priority: object) -> int:
    if isinstance(priority, bool) or not isinstance(priority, int):
        raise InvalidInput(MSG_PRIORITY_NOT_INT.format(limit=MAX_PRIORITY))
    if not 0 <= priority <= MAX_PRIORITY:
        raise InvalidInput(MSG_PRIORITY_RANGE.format(priority=priority, limit=MAX_PRIORITY))
    return priority


def check_query(query: object) -> None:
    if not isinstance(query, str) or not query.strip():
        raise InvalidInput(MSG_QUERY_EMPTY)
    if len(query) > MAX_QUERY_CHARS:
        raise InvalidInput(MSG_QUERY_TOO_LONG.format(limit=MAX_QUERY_CHARS))


def check_limit(limit: object) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(MSG_BAD_LIMIT.format(limit=MAX_LIMIT))
    return limit


def project_scope(project: str | None) -> str | None:
    """The project a read keeps (with the memories of none), or None: every project."""
    return None if project is None or project == ALL else check_project(project)


def check_window(since: int | None, until: int | None) -> Window:
    if since is not None and until is not None and since >= until:
        raise InvalidInput(MSG_WINDOW_BACKWARDS, hint=HINT_WINDOW_BACKWARDS)
    return since, until


def check_expires(days: object) -> int | None:
    if days is None:
        return None
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_EXPIRES_DAYS:
        raise InvalidInput(MSG_BAD_EXPIRES.format(limit=MAX_EXPIRES_DAYS))
    return days
