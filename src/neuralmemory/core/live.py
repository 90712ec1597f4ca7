"""The current brain kept open by a long-lived process (the MCP server), never stale.

Opening a brain costs more than a recall in it (the connection, its pragmas, the migration
check), so a process that serves many calls keeps one open. Other processes change it meanwhile
-- the CLI, the hooks, another device's changes pulled by a sync -- and a Brain holds a little
state of its own besides SQLite's (whether it is end-to-end encrypted, its keyring). So each call
first looks, for a few microseconds, at what would make the open brain stale:
  - a commit by any other connection to the file: SQLite's `PRAGMA data_version` (commits made
    through this connection do not change it, and need nothing). SQLite itself already serves
    such a commit to the next read, so the Brain only drops its own state (Brain.refresh) and
    keeps its connection -- unless the commit changed the schema (`PRAGMA schema_version`: a
    newer nmem migrated it), when it is opened again, as for what follows;
  - the file itself (its device and inode): deleted, replaced, moved back from a backup;
  - config.toml (`nmem brain use` changes the current brain) and the keys folder (a key
    imported or received), by their modification times.
The version is taken when a call starts: a commit made by another process while the call runs
is then seen by the next one.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from neuralmemory import config
from neuralmemory.core import crypto
from neuralmemory.core.brain import Brain
from neuralmemory.core.brains import brain_path, current_brain_name, open_brain

Stamp = tuple[int, ...]


def _file_stamp(path: os.PathLike[str] | str) -> Stamp:
    try:
        found = os.stat(path)
    except OSError:
        return (0,)
    return (found.st_dev, found.st_ino, found.st_mtime_ns, found.st_size)


class LiveBrain:
    """`with live.use() as brain:` the current brain, open since an earlier call unless it went
    stale (module docstring). Calls are served one at a time; close() when the process ends."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._brain: Brain | None = None
        self._settings: Stamp = ()  # config.toml and the keys folder when the brain was opened
        self._file: Stamp = ()  # the brain file's device and inode
        self._version = -1  # data_version when the last call started
        self._schema = -1  # schema_version when the brain was opened

    @contextmanager
    def use(self) -> Iterator[Brain]:
        with self._lock:
            yield self._current()

    def close(self) -> None:
        with self._lock:
            self._drop()

    def _current(self) -> Brain:
        settings = _file_stamp(config.config_path()) + _file_stamp(crypto.keys_dir())
        brain = self._brain
        if (
            brain is not None
            and settings == self._settings
            and _file_stamp(brain.path)[:2] == self._file
        ):
            version = brain.db.data_version()
            if version == self._version:
                return brain
            if brain.db.schema_version() == self._schema:
                brain.refresh()
                self._version = version
                return brain
        self._drop()
        name = current_brain_name()
        brain = open_brain(name)
        self._brain, self._settings = brain, settings
        self._file = _file_stamp(brain_path(name))[:2]
        self._version = brain.db.data_version()
        self._schema = brain.db.schema_version()
        return brain

    def _drop(self) -> None:
        if self._brain is not None:
            self._brain.close()
            self._brain = None
