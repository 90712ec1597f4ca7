"""Which project an agent works in, from the folder its client started in.

The project is the git remote's URL, normalized (`git@github.com:Ada/Falcon.git` and
`https://github.com/ada/falcon` are both `github.com/ada/falcon`), else the git top-level folder's
name, else none. Git's files are read directly (no `git` process: a hook must start fast), from
the working tree up, through a worktree's or submodule's `.git` file to the common git folder.

A memory's `project` (its body's optional field) is such a key; `name` (the last part,
lowercased) is for people. ALL ("*") asks recall for every project's memories.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from neuralmemory.errors import HINT_BAD_PROJECT, MSG_BAD_PROJECT, InvalidInput

ALL = "*"
MAX_PROJECT_CHARS = 200
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_SCP_URL = re.compile(r"^(?:[^@/]+@)?(?P<host>[^:/]+):(?P<path>(?!//).+)$")
_URL = re.compile(r"^[a-z][a-z0-9+.-]*://(?:[^@/]+@)?(?P<host>[^/:]+)(?::\d+)?(?P<path>/.*)?$")
_REMOTE = re.compile(r'^\[remote "(?P<name>[^"]+)"\]$')


@dataclass(frozen=True)
class Project:
    key: str  # the normalized remote, or the top-level folder's name
    name: str  # its last part, lowercased: the project's tag

    @classmethod
    def of(cls, key: str) -> Project:
        return cls(key, key.rstrip("/").rsplit("/", 1)[-1].lower())


def check_project(value: object) -> str:
    """A project as a memory may carry it: 1 to MAX_PROJECT_CHARS characters of one line."""
    text = value.strip() if isinstance(value, str) else ""
    if not text or len(text) > MAX_PROJECT_CHARS or _CONTROL.search(text) or text == ALL:
        raise InvalidInput(
            MSG_BAD_PROJECT.format(limit=MAX_PROJECT_CHARS, given=ALL), hint=HINT_BAD_PROJECT
        )
    return text


def resolve_project(value: str | None, cwd: Path) -> str | None:
    """The project a command or tool means: `value` as given ("" for none, "*" for all), else
    the project of `cwd` (where the user, or the client that started us, works), else none."""
    if value is not None:
        return value.strip() or None
    found = detect_project(cwd)
    return found.key if found else None


def detect_project(cwd: Path) -> Project | None:
    top = _worktree_top(cwd)
    if top is None:
        return None
    git_dir = _git_dir(top / ".git")
    remote = _remote_url(git_dir) if git_dir else None
    key = normalize_remote(remote) if remote else None
    return Project.of(key or top.name) if (key or top.name) else None


def normalize_remote(url: str) -> str | None:
    """host/path of a remote URL, lowercased, without credentials, port, `.git` or slashes
    at the ends; a local path's last part."""
    url = url.strip()
    found = _URL.match(url) or (None if "://" in url else _SCP_URL.match(url))
    if found is None:
        path = url.rstrip("/").removesuffix(".git").rstrip("/")
        return path.rsplit("/", 1)[-1].lower() or None
    path = (found.group("path") or "").strip("/").removesuffix(".git").strip("/")
    host = found.group("host").lower()
    return f"{host}/{path}".lower() if path else host


def _worktree_top(cwd: Path) -> Path | None:
    for folder in (cwd, *cwd.parents):
        if (folder / ".git").exists():
            return folder
    return None


def _git_dir(dot_git: Path) -> Path | None:
    """The folder holding the repository's config: .git itself, or where a `.git` file points
    (a worktree's own folder names the shared one in `commondir`)."""
    try:
        if dot_git.is_dir():
            return dot_git
        text = dot_git.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return None
    if not text.startswith("gitdir:"):
        return None
    target = (dot_git.parent / text.removeprefix("gitdir:").strip()).resolve()
    try:
        common = (target / "commondir").read_text(encoding="utf-8").strip()
        return (target / common).resolve()
    except (OSError, UnicodeDecodeError):
        return target


def _remote_url(git_dir: Path) -> str | None:
    """origin's URL in the repository's config, else the first remote's."""
    try:
        lines = (git_dir / "config").read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    urls: dict[str, str] = {}
    remote = None
    for raw in lines:
        line = raw.strip()
        if line.startswith("["):
            match = _REMOTE.match(line)
            remote = match.group("name") if match else None
        elif remote is not None and remote not in urls and line.split("=", 1)[0].strip() == "url":
            urls[remote] = line.split("=", 1)[1].strip()
    return urls.get("origin") or next(iter(urls.values()), None)
