"""What the Brain API accepts: the limits of a memory and of a query, and their checks.

Each check returns the clean value or raises InvalidInput saying what is wrong; the importers
(core/from_*.py) and browse (core/browse.py) hold their input to the same limits.
"""

from __future__ import annotations

from collections.abc import Sequence

from neuralmemory.core import privacy
from neuralmemory.core.extract import MEMORY_TYPES
from neuralmemory.core.project import ALL, check_project
from neuralmemory.errors import InvalidInput

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


def check_type(type_: object) -> str:
    if type_ not in MEMORY_TYPES:
        raise InvalidInput(f"unknown type {type_!r}", hint="one of " + ", ".join(MEMORY_TYPES))
    return str(type_)


def check_tags(tags: object) -> list[str]:
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


def check_priority(priority: object) -> int:
    if isinstance(priority, bool) or not isinstance(priority, int):
        raise InvalidInput("priority must be an integer from 0 to 10")
    if not 0 <= priority <= MAX_PRIORITY:
        raise InvalidInput(f"priority {priority} is out of range (0 to {MAX_PRIORITY})")
    return priority


def check_query(query: object) -> None:
    if not isinstance(query, str) or not query.strip():
        raise InvalidInput("the query must be non-empty text")
    if len(query) > MAX_QUERY_CHARS:
        raise InvalidInput(f"the query is longer than {MAX_QUERY_CHARS:,} characters")


def check_limit(limit: object) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit must be an integer from 1 to {MAX_LIMIT}")
    return limit


def project_scope(project: str | None) -> str | None:
    """The project a read keeps (with the memories of none), or None: every project."""
    return None if project is None or project == ALL else check_project(project)


def check_window(since: int | None, until: int | None) -> Window:
    if since is not None and until is not None and since >= until:
        raise InvalidInput("--since must be earlier than --until", hint="swap them")
    return since, until


def check_expires(days: object) -> int | None:
    if days is None:
        return None
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_EXPIRES_DAYS:
        raise InvalidInput(f"expires_days must be an integer from 1 to {MAX_EXPIRES_DAYS}")
    return days
