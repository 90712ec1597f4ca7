"""The brains of this device: names to files, $NMEM_HOME/brains/{name}.db, and opening them.

A brain's name is local; its globally unique id is kept inside the file (store/meta.py).
Opening a brain reads its schema version and identity first and takes the write lock only
when it must: to make a new file, or to migrate an older one (once, then it reads as usual).
So a read (recall, list, stats, export ...) never waits on another process's write.
"""

from __future__ import annotations

import re
import secrets
from pathlib import Path
from typing import Any

from neuralmemory import config, perms
from neuralmemory.clock import wall_ms
from neuralmemory.core import crypto
from neuralmemory.core.brain import Brain
from neuralmemory.core.models import BrainInfo, DeletedBrain
from neuralmemory.errors import (
    HINT_BAD_BRAIN_NAME,
    HINT_CREATE_BRAIN,
    HINT_LIST_BRAINS,
    MSG_BAD_BRAIN_NAME,
    MSG_BRAIN_EXISTS,
    MSG_BRAIN_NOT_FOUND,
    InvalidInput,
    NotFound,
)
from neuralmemory.protocol import NAME_PATTERN
from neuralmemory.store import meta
from neuralmemory.store.db import connect, refuse_foreign
from neuralmemory.store.migrations import migrate, up_to_date

DEFAULT_BRAIN = "default"

_NAME = re.compile(NAME_PATTERN)


def brains_dir() -> Path:
    return config.home() / "brains"


def brain_path(name: str) -> Path:
    if not isinstance(name, str) or not _NAME.match(name):
        raise InvalidInput(MSG_BAD_BRAIN_NAME.format(name=name), hint=HINT_BAD_BRAIN_NAME)
    return brains_dir() / f"{name}.db"


def current_brain_name() -> str:
    return config.load_config().brain


def open_brain(name: str | None = None, *, create: bool | None = None) -> Brain:
    """Open a brain by name (default: the current one from config.toml).

    A missing brain is created when `create` is true; by default only the `default` brain is
    created on first use, any other name must exist (NotFound otherwise).
    """
    name = name or current_brain_name()
    path = brain_path(name)
    if create is None:
        create = name == DEFAULT_BRAIN
    if not path.exists() and not create:
        raise NotFound(f"{MSG_BRAIN_NOT_FOUND}: {name}", hint=HINT_CREATE_BRAIN.format(name=name))
    return _open(name, path)


def create_brain(name: str) -> Brain:
    path = brain_path(name)
    if path.exists():
        raise InvalidInput(MSG_BRAIN_EXISTS.format(name=name))
    return _open(name, path)


def list_brains() -> list[BrainInfo]:
    current = current_brain_name()
    found = []
    for path in sorted(brains_dir().glob("*.db")):
        with _open(path.stem, path) as brain:
            found.append(
                BrainInfo(path.stem, brain.id, str(path), path.stem == current, brain.db_bytes())
            )
    return found


def use_brain(name: str) -> None:
    """Make `name` the current brain (config.toml `brain`)."""
    if not brain_path(name).exists():
        raise NotFound(f"{MSG_BRAIN_NOT_FOUND}: {name}", hint=HINT_CREATE_BRAIN.format(name=name))
    cfg = config.load_config()
    cfg.brain = name
    config.save_config(cfg)


def delete_brain(name: str) -> DeletedBrain:
    """Delete a brain's file (its key file is kept: other devices may still need it). Deleting
    the current brain makes another one current (the first by name), or recreates an empty
    `default` when none is left, so every command keeps working."""
    path = brain_path(name)
    if not path.exists():
        raise NotFound(f"{MSG_BRAIN_NOT_FOUND}: {name}", hint=HINT_LIST_BRAINS)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    if name != current_brain_name():
        return DeletedBrain(name, str(path), None, recreated=False)
    left = sorted(found.stem for found in brains_dir().glob("*.db"))
    current = left[0] if left else DEFAULT_BRAIN
    if not left:
        open_brain(DEFAULT_BRAIN, create=True).close()
    use_brain(current)
    return DeletedBrain(name, str(path), current, recreated=not left)


def import_key(source: Path, passphrase: str) -> dict[str, Any]:
    """Install a brain key from an exported file (a wrong passphrase changes nothing)."""
    brain_id, key = crypto.read_export(source, passphrase)
    return install_key(brain_id, key)


def install_key(brain_id: str, key: crypto.BrainKey) -> dict[str, Any]:
    """Add a key (or a ring) to the brain's keyring, and settle every local brain that uses it
    (settle_keys): its encrypted memories become searchable, and those this device wrote under
    a key that lost the race are encrypted again under the one that won."""
    installed = crypto.install_key(brain_id, key)
    reindexed = reencrypted = 0
    for path in sorted(brains_dir().glob("*.db")):
        with _open(path.stem, path) as brain:
            if brain_id in brain.keys.ids:
                settled = brain.settle_keys(force_index=True)
                reindexed += settled["reindexed"]
                reencrypted += settled["reencrypted"]
    return {
        "brain_id": brain_id,
        "installed": installed,
        "keys": len(key.raws),
        "reindexed": reindexed,
        "reencrypted": reencrypted,
    }


def _open(name: str, path: Path) -> Brain:
    """Open (or make) the file; migrate it and give it an identity only when it lacks them, so
    an up-to-date brain opens without writing anything."""
    if path.exists():
        refuse_foreign(path)  # before its folders' modes change, too
    perms.private_dir(config.home())
    perms.private_dir(path.parent)
    db = connect(path)
    try:
        if not up_to_date(db):
            migrate(db)
        if not meta.has_identity(db):
            meta.init_identity(db, "b-" + secrets.token_hex(16), wall_ms())
        brain = Brain(name, db, device_id=config.device_id())
        brain.rederive_if_stale()  # once, like a migration, after extraction changed
        return brain
    except BaseException:
        db.close()
        raise
