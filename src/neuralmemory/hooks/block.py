"""A block of memories as the agent reads it: a heading, then one line per memory, within a
token budget. Tokens are estimated as characters / 4 (no tokenizer on the hook path).

A memory is left out when it cannot be shown safely: encrypted without the key here, holding a
secret (stored before remember refused them, or synced from an older device), or nothing left
once its `<private>` spans are cut.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field

from neuralmemory.core.models import Memory
from neuralmemory.core.privacy import find_secret, strip_private

CHARS_PER_TOKEN = 4
MAX_LINE_CHARS = 400  # one long memory must not take the whole budget
_SPACE = re.compile(r"\s+")


def tokens(text: str) -> int:
    return -(-len(text) // CHARS_PER_TOKEN)


def shown_text(memory: Memory) -> str | None:
    """The memory's text as it may be injected (one line, shortened), or None: never shown."""
    if memory.content is None or find_secret(memory.content) is not None:
        return None
    text = _SPACE.sub(" ", strip_private(memory.content)).strip()
    if not text:
        return None
    return text if len(text) <= MAX_LINE_CHARS else text[: MAX_LINE_CHARS - 1].rstrip() + "…"


def line(memory: Memory, text: str) -> str:
    tags = f"; tags: {', '.join(memory.tags)}" if memory.tags else ""
    return f"- [{memory.type}] {text} ({memory.id}{tags})"


@dataclass
class Block:
    """Lines under headings, filled while the budget lasts."""

    budget: int
    lines: list[str] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    used: int = 0

    def add_section(
        self,
        heading: str,
        memories: Iterable[Memory],
        *,
        skip: Collection[str] = (),
        most: int = 1000,
    ) -> int:
        """Add `heading` and the memories that fit (none fit: no heading); how many were added."""
        section: list[str] = []
        cost = tokens(heading) + 1
        for memory in memories:
            if len(section) >= most or memory.id in skip or memory.id in self.ids:
                continue
            text = shown_text(memory)
            if text is None:
                continue
            entry = line(memory, text)
            if self.used + cost + tokens(entry) + 1 > self.budget:
                break
            section.append(entry)
            self.ids.append(memory.id)
            cost += tokens(entry) + 1
        if section:
            self.lines += [heading, *section]
            self.used += cost
        return len(section)

    def add_note(self, note: str) -> None:
        """A closing line (sync state): only under memories, and only within the budget."""
        if self.ids and self.used + tokens(note) + 1 <= self.budget:
            self.lines.append(note)
            self.used += tokens(note) + 1

    def text(self) -> str | None:
        return "\n".join(self.lines) if self.ids else None
