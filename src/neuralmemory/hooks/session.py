"""What one agent session already got: the memories injected into it, and whether it was asked
to save. One small JSON file per session under $NMEM_HOME/hooks/sessions, named by a hash of the
client's session id (which is the client's to choose: never a path); files of sessions idle for a
week are removed at the next session start.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

from neuralmemory import config

KEEP_SECONDS = 7 * 86_400


def sessions_dir() -> Path:
    return config.home() / "hooks" / "sessions"


@dataclass
class SessionState:
    path: Path | None  # None: the client sent no session id, nothing is kept
    injected: set[str] = field(default_factory=set)
    asked: bool = False

    def save(self) -> None:
        if self.path is None:
            return
        data = {"injected": sorted(self.injected), "asked": self.asked}
        config.atomic_write(self.path, json.dumps(data).encode("utf-8"))


def load_session(session_id: object) -> SessionState:
    """The session's state; a fresh one for a new session or an unreadable file."""
    if not isinstance(session_id, str) or not session_id:
        return SessionState(None)
    name = hashlib.sha256(session_id.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    path = sessions_dir() / f"{name}.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        injected = {i for i in data.get("injected", []) if isinstance(i, str)}
        return SessionState(path, injected, data.get("asked") is True)
    except (OSError, ValueError, AttributeError):
        return SessionState(path)


def prune_sessions(now: float | None = None) -> int:
    """Remove the state of sessions untouched for KEEP_SECONDS; how many were removed."""
    cutoff = (time.time() if now is None else now) - KEEP_SECONDS
    removed = 0
    for path in sessions_dir().glob("*.json") if sessions_dir().exists() else ():
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink()
                removed += 1
        except OSError:
            continue  # another session start removed it first
    return removed
