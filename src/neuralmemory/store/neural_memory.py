"""The SQL that reads a brain file of the other product called Neural Memory; what its rows
mean is core/from_neural_memory.py's. Run on a copy of that file only: the original is never
opened.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from neuralmemory.errors import HINT_NOT_THEIR_BRAIN, MSG_NOT_THEIR_BRAIN, InvalidInput

#: one row per memory: (fiber_id, brain_id, type, priority, tags, expires_at, created_at,
#: the anchor neuron's text, the fiber's time_start, the project's name), oldest first
_QUERY = """
SELECT t.fiber_id, t.brain_id, t.memory_type, t.priority, t.tags, t.expires_at, t.created_at,
       n.content, f.time_start, p.name
FROM typed_memories t
JOIN fibers f ON f.brain_id = t.brain_id AND f.id = t.fiber_id
JOIN neurons n ON n.brain_id = f.brain_id AND n.id = f.anchor_neuron_id
LEFT JOIN projects p ON p.brain_id = t.brain_id AND p.id = t.project_id
ORDER BY t.created_at, t.fiber_id
"""


def memory_rows(copy: Path, original: Path) -> list[tuple[Any, ...]]:
    """Every memory row of the copy at `copy`; InvalidInput naming `original` when it is not
    one of their brains."""
    try:
        db = sqlite3.connect(copy)
        try:
            return db.execute(_QUERY).fetchall()
        finally:
            db.close()
    except sqlite3.Error as exc:
        raise InvalidInput(
            MSG_NOT_THEIR_BRAIN.format(path=original, reason=exc), hint=HINT_NOT_THEIR_BRAIN
        ) from None
