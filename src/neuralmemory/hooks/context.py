"""The SessionStart block: what an agent should know before its first prompt.

First the instructions, preferences and decisions (newest first), then the strongest and the most
recent of the rest: in a project, only its memories and those of no project, its own first in
each part; all within the budget (HookOptions.context_tokens); then one line of sync state when a
hub is configured. A brain with nothing for the project, or nothing that may be shown, gives no
block at all.
"""

from __future__ import annotations

from datetime import UTC, datetime

from neuralmemory.config import Config, redact_keys
from neuralmemory.core.brain import Brain
from neuralmemory.core.project import Project
from neuralmemory.hooks.block import Block
from neuralmemory.sync.resolve import CONFLICT_KIND
from neuralmemory.sync.state import LAST_ERROR, LAST_RESULT, SyncState

GUIDING_TYPES = ("instruction", "preference", "decision")
GUIDING_READ = 60  # newest guiding memories considered
OTHERS_READ = 40  # strongest, and newest, considered for the second part


def session_block(
    brain: Brain, project: Project | None, budget: int, cfg: Config
) -> tuple[str, list[str]] | None:
    """The block's text and the ids it shows, or None when there is nothing to show."""
    where = f" for project {project.name}" if project else ""
    key = project.key if project else None
    block = Block(budget)
    block.add_section(
        f"Neural Memory{where}: instructions, preferences and decisions (newest first):",
        brain.recent(GUIDING_READ, types=GUIDING_TYPES, project=key),
    )
    read = [*brain.strongest(OTHERS_READ, project=key), *brain.recent(OTHERS_READ, project=key)]
    others = sorted({m.id: m for m in read}.values(), key=lambda m: (m.strength, m.created_at))
    others.reverse()
    others.sort(key=lambda m: m.project is None)  # stable: the project's own first
    block.add_section(f"Neural Memory{where}: strongest and most recent memories:", others)
    if cfg.sync_enabled:
        block.add_note(sync_line(brain))
    text = block.text()
    if text is None:
        return None
    footer = "(nmem_recall finds more; nmem_remember saves what a later session should know.)"
    return f"{text}\n{footer}", block.ids


def sync_line(brain: Brain) -> str:
    """One line: changes not pushed yet, the last sync, open conflicts, the last failure."""
    state = SyncState(brain.db)
    pending = brain.changes.pending_count()
    parts = [f"{pending} change{'s' * (pending != 1)} not pushed yet" if pending else "all pushed"]
    last = state.get(LAST_RESULT)
    started = last.get("started_at") if isinstance(last, dict) else None
    parts.append(f"last synced {_when(started)}" if isinstance(started, str) else "never synced")
    conflicts = sum(1 for v in brain.changes.versions(CONFLICT_KIND) if not v.deleted)
    if conflicts:
        parts.append(
            f"{conflicts} conflict{'s' * (conflicts != 1)} waiting (nmem_sync_conflicts lists them)"
        )
    failure = state.get(LAST_ERROR)
    if isinstance(failure, dict) and failure.get("error"):
        parts.append(f"the last sync failed: {redact_keys(str(failure['error']))}")
    return "Sync: " + "; ".join(parts) + "."


def _when(iso: str) -> str:
    try:
        moment = datetime.fromisoformat(iso.replace("Z", "+00:00")).astimezone(UTC)
    except ValueError:
        return iso
    return moment.strftime("%Y-%m-%d %H:%M UTC")
