"""Owner-only files and folders: brains, keys, config and the hub's database hold memories and
secrets, and nothing under NMEM_HOME is for the machine's other users. A leaf module (it imports
nothing of the project), so the hub uses it as well as the client.

Files are made 0600 and folders 0700; an existing one that others could open is fixed when it is
opened, with a one-line note in the log (stderr from the command line).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

log = logging.getLogger("neuralmemory.perms")

PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700


def private_dir(path: Path) -> Path:
    """Make `path` (and any missing parent) a folder only its owner can open; an existing one
    that others could open is fixed, with a note in the log. Brains, keys and config hold
    memories and secrets: nothing under NMEM_HOME is for other users of the machine."""
    missing = [p for p in (path, *path.parents) if not p.exists()]
    path.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR)
    for folder in missing:  # parents are made with the umask's mode: made private quietly
        folder.chmod(PRIVATE_DIR)
    if path not in missing:
        restrict(path, PRIVATE_DIR)
    return path


def private_file(path: Path) -> Path:
    """Create `path` empty with mode 0600 if missing, else fix its mode (noting it) when others
    could read it: a SQLite file, its -wal and -shm, a lock file."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE))
    except FileExistsError:
        if path.is_file():  # not a folder or a device someone named by mistake
            restrict(path, PRIVATE_FILE)
    return path


def private_sqlite(path: Path) -> Path:
    """A SQLite database file private to its owner, with its -wal and -shm (SQLite gives those
    the database file's mode when it makes them; older ones are fixed here)."""
    private_file(path)
    for suffix in ("-wal", "-shm"):
        sidecar = Path(f"{path}{suffix}")
        if sidecar.exists():
            restrict(sidecar, PRIVATE_FILE)
    return path


def restrict(path: Path, mode: int) -> None:
    try:
        current = path.stat().st_mode & 0o777
        if current & 0o077:
            path.chmod(mode)
            log.warning("nmem: %s was %03o; made it %03o (owner only)", path, current, mode)
    except OSError as exc:  # not ours to change (another owner): leave it, say so
        log.warning("nmem: cannot restrict the permissions of %s: %s", path, exc.strerror)
