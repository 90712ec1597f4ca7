"""What the pages' forms send, read as the library takes it."""

from __future__ import annotations

from urllib.parse import urlsplit


def tag_list(text: str) -> list[str] | None:
    """'a, b' -> ['a', 'b']; nothing typed -> None (no filter)."""
    tags = [tag.strip() for tag in text.split(",") if tag.strip()]
    return tags or None


def local_path(target: str, fallback: str = "/") -> str:
    """A page of this UI to go back to; anything else (another site, //host) is the fallback."""
    parts = urlsplit(target)
    # a browser reads "/\\host" as "//host": another site
    if parts.scheme or parts.netloc or not target.startswith("/") or "\\" in target:
        return fallback
    return target
