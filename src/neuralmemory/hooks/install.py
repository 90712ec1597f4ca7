"""Claude Code's hook entries for nmem: merged into, listed from and removed from its settings.

The file is Claude Code's settings.json (user: ~/.claude/settings.json; project:
.claude/settings.json). Each event gets one matcher group of its own holding one command hook,
`nmem hook EVENT`; every other key, event, group and hook in the file is kept, and the file is
replaced atomically (jsonfile.edit_object), or refused unchanged when it cannot be read or its
`hooks` are not the shape Claude Code documents. An entry is ours when its command runs an
executable named `nmem` with the arguments `hook EVENT` (after any VAR=value prefixes), so
uninstall removes exactly those, and the groups and events they leave empty.

The user file names this installation's nmem by its absolute path (and NMEM_HOME when set), like
`nmem mcp install`. The project file is meant to be committed, so it holds no personal path:
`nmem` is found on PATH.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from neuralmemory.config import ENV_HOME, env_flag
from neuralmemory.errors import HINT_FILE_UNCHANGED, MSG_HOOKS_NOT_GROUPS, ConfigError
from neuralmemory.hooks.runner import EVENTS
from neuralmemory.jsonfile import edit_object, read_object

Scope = Literal["user", "project"]
SCOPES: tuple[Scope, ...] = ("user", "project")
CLIENTS = ("claude-code",)
#: Claude Code's own limit on the command, in seconds: a backstop behind nmem's own (1 s)
CLIENT_TIMEOUT_S = 10


def settings_path(scope: Scope, project_dir: Path) -> Path:
    if scope == "user":
        return Path.home() / ".claude" / "settings.json"
    return project_dir / ".claude" / "settings.json"


def hook_command(event: str, executable: str, *, with_home: bool) -> str:
    """The shell command Claude Code runs for `event` (an `nmem hook` name)."""
    parts = [executable, "hook", event]
    home = env_flag(ENV_HOME) if with_home else None
    prefix = f"{ENV_HOME}={shlex.quote(str(Path(home).expanduser().absolute()))} " if home else ""
    return prefix + shlex.join(parts)


def our_event(command: object) -> str | None:
    """The `nmem hook` event a command runs, or None when it is not one of ours."""
    if not isinstance(command, str):
        return None
    try:
        words = shlex.split(command)
    except ValueError:
        return None
    while words and "=" in words[0] and not words[0].startswith("="):
        words = words[1:]  # VAR=value prefixes
    if len(words) == 3 and Path(words[0]).name == "nmem" and words[1] == "hook":
        return words[2] if words[2] in EVENTS else None
    return None


@dataclass(frozen=True)
class Change:
    path: Path
    events: list[str]  # Claude Code event names added (install) or removed from (uninstall)
    removed: int  # entries of ours taken out (install: older ones it replaced)


def install(scope: Scope, project_dir: Path, executable: str) -> Change:
    path = settings_path(scope, project_dir)
    with_home = scope == "user"
    runner = executable if scope == "user" else "nmem"
    removed: list[int] = []

    def put(data: dict[str, Any]) -> None:
        hooks = _hooks_of(data, path)
        removed.append(_remove_ours(hooks))
        for event, name in EVENTS.items():
            entry = {
                "type": "command",
                "command": hook_command(event, runner, with_home=with_home),
                "timeout": CLIENT_TIMEOUT_S,
            }
            hooks.setdefault(name, []).append({"hooks": [entry]})

    edit_object(path, put, members=("hooks",))
    return Change(path, list(EVENTS.values()), removed[0])


def uninstall(scope: Scope, project_dir: Path) -> Change:
    path = settings_path(scope, project_dir)
    if not path.exists():
        return Change(path, [], 0)
    found: list[str] = []
    removed = [0]

    def take(data: dict[str, Any]) -> None:
        if "hooks" not in data:
            return
        hooks = _hooks_of(data, path)
        found.extend(sorted(installed_events(hooks)))
        removed[0] = _remove_ours(hooks)
        if not hooks and removed[0]:
            del data["hooks"]

    edit_object(path, take, members=("hooks",))
    return Change(path, found, removed[0])


def status(scope: Scope, project_dir: Path) -> dict[str, Any]:
    """What this scope's file holds of ours: {"scope", "path", "exists", "events": {event:
    command}, "error"}; a file that cannot be read is reported, never changed."""
    path = settings_path(scope, project_dir)
    report: dict[str, Any] = {
        "scope": scope,
        "path": str(path),
        "exists": path.exists(),
        "events": {},
        "error": None,
    }
    try:
        hooks = _hooks_of(read_object(path, members=("hooks",)), path)
    except ConfigError as exc:
        report["error"] = str(exc)
        return report
    report["events"] = installed_events(hooks)
    return report


def installed_events(hooks: dict[str, Any]) -> dict[str, str]:
    """Claude Code event -> the command of ours it runs."""
    found = {}
    for name, groups in hooks.items():
        for group in groups:
            for entry in group.get("hooks", []):
                if our_event(entry.get("command")) is not None:
                    found[name] = entry["command"]
    return found


def _hooks_of(data: dict[str, Any], path: Path) -> dict[str, Any]:
    """data["hooks"] (made when missing), checked to be {event: [{"hooks": [{...}]}]}."""
    hooks: dict[str, Any] = data.setdefault("hooks", {})
    for name, groups in hooks.items():
        ok = isinstance(groups, list) and all(
            isinstance(g, dict)
            and isinstance(g.get("hooks", []), list)
            and all(isinstance(e, dict) for e in g.get("hooks", []))
            for g in groups
        )
        if not ok:
            raise ConfigError(
                MSG_HOOKS_NOT_GROUPS.format(path=path, name=name), hint=HINT_FILE_UNCHANGED
            )
    return hooks


def _remove_ours(hooks: dict[str, Any]) -> int:
    """Take our entries out, then the groups and events that only held ours; how many."""
    removed = 0
    for name in list(hooks):
        groups = []
        for group in hooks[name]:
            kept = [e for e in group.get("hooks", []) if our_event(e.get("command")) is None]
            removed += len(group.get("hooks", [])) - len(kept)
            if kept or not group.get("hooks"):
                groups.append({**group, "hooks": kept} if "hooks" in group else group)
        if groups:
            hooks[name] = groups
        elif hooks[name]:
            del hooks[name]
    return removed
