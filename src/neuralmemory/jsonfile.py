"""Other programs' JSON config files (an MCP client's mcp.json, Claude Code's settings.json),
changed in place: read as one object, edited, written back whole.

A file that is not valid JSON, or not an object, or whose named members are not objects, is
refused and left exactly as it was: rewriting it would lose the user's other settings. The write
is atomic (a crash never leaves half a file) and keeps the file's permissions.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from neuralmemory.config import atomic_write
from neuralmemory.errors import (
    HINT_FILE_UNCHANGED,
    MSG_CANNOT_READ,
    MSG_FILE_NOT_JSON,
    MSG_NOT_JSON_OBJECT,
    ConfigError,
)

NEW_FILE_MODE = 0o644


def read_object(path: Path, *, members: tuple[str, ...] = ()) -> dict[str, Any]:
    """The file's JSON object ({} when the file is missing or empty); each of `members` that is
    present must be an object too."""
    if not path.exists():
        return {}
    try:
        loaded = json.loads(path.read_text(encoding="utf-8") or "{}")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(
            MSG_CANNOT_READ.format(path=path, reason=exc), hint=HINT_FILE_UNCHANGED
        ) from None
    except json.JSONDecodeError as exc:
        raise ConfigError(
            MSG_FILE_NOT_JSON.format(path=path, line=exc.lineno, column=exc.colno),
            hint=HINT_FILE_UNCHANGED,
        ) from None
    if not isinstance(loaded, dict) or any(
        not isinstance(loaded.get(name, {}), dict) for name in members
    ):
        shape = "".join(f" with an '{name}' object" for name in members)
        raise ConfigError(
            MSG_NOT_JSON_OBJECT.format(path=path, shape=shape), hint=HINT_FILE_UNCHANGED
        )
    return loaded


def edit_object(
    path: Path, change: Callable[[dict[str, Any]], None], *, members: tuple[str, ...] = ()
) -> dict[str, Any]:
    """Read the file's object, let `change` edit it in place, and write it back when it changed.

    `change` may raise (a ConfigError for a shape it cannot edit): the file is then untouched.
    Returns the object as written (or as read, when nothing changed).
    """
    data = read_object(path, members=members)
    before = json.dumps(data, sort_keys=True)
    change(data)
    if json.dumps(data, sort_keys=True) != before or not path.exists():
        mode = path.stat().st_mode & 0o777 if path.exists() else NEW_FILE_MODE
        atomic_write(path, (json.dumps(data, indent=2) + "\n").encode("utf-8"), mode=mode)
    return data
