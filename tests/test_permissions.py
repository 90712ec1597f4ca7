"""Owner-only files: brains, keys, config and the hub database hold memories and secrets.

Everything nmem creates under NMEM_HOME is 0600 (files) or 0700 (folders), and so is the hub's
database; an older install's 0644 files are fixed when they are opened, with a note on stderr.
"""

from __future__ import annotations

import stat
import subprocess
from pathlib import Path

import pytest

from helpers.nmem import nmem as run_nmem
from neuralmemory.hub.backends.sqlite import SqliteDatabase


def nmem(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`nmem` with the device folder as HOME too."""
    return run_nmem(home, *args, env={"HOME": str(home)})


def modes(home: Path) -> dict[str, int]:
    found = {str(home): stat.S_IMODE(home.stat().st_mode)}
    for path in home.rglob("*"):
        found[str(path.relative_to(home))] = stat.S_IMODE(path.stat().st_mode)
    return found


def loose(home: Path) -> dict[str, str]:
    """Whatever others could open, with its mode."""
    return {name: oct(mode) for name, mode in modes(home).items() if mode & 0o077}


@pytest.mark.timeout(120)
def test_everything_made_under_nmem_home_is_owner_only(tmp_path: Path) -> None:
    home = tmp_path / "home"
    for args in (
        ("sync", "config", "set", "--hub-url", "http://127.0.0.1:9", "--auto-sync", "off"),
        ("remember", "The vault code is kept in the red binder.", "--encrypted"),
        ("brain", "create", "work"),
        ("recall", "vault"),
    ):
        done = nmem(home, *args)
        assert done.returncode == 0, done.stderr
    made = modes(home)
    assert {"config.toml", "device_id", "brains/default.db", "brains/work.db"} <= set(made)
    assert any(name.startswith("keys/") for name in made)
    assert loose(home) == {}
    assert all(made[name] == 0o700 for name in made if Path(home, name).is_dir())


@pytest.mark.timeout(120)
def test_files_an_older_install_left_readable_are_fixed_when_opened(tmp_path: Path) -> None:
    home = tmp_path / "home"
    # auto-sync off: a detached sync child of `remember` would race the chmods below
    configured = nmem(
        home, "sync", "config", "set", "--hub-url", "http://127.0.0.1:9", "--auto-sync", "off"
    )
    assert configured.returncode == 0
    assert nmem(home, "remember", "Sealed.", "--encrypted").returncode == 0
    # (Lock files, made by the pull before the first key, are fixed by the sync that next takes
    # them: tests/sync/test_sync_lock.py.)
    for path in (home, *home.rglob("*")):
        if "locks" not in path.relative_to(home).parts:
            path.chmod(0o755 if path.is_dir() else 0o644)
    assert loose(home)

    done = nmem(home, "recall", "Sealed")
    assert done.returncode == 0, done.stderr
    assert loose(home) == {}
    notes = [line for line in done.stderr.splitlines() if "made it" in line]
    assert any("default.db was 644; made it 600" in line for line in notes), done.stderr
    assert any("config.toml was 644" in line for line in notes), done.stderr
    assert any(".key was 644" in line for line in notes), done.stderr


def test_the_hub_database_is_owner_only(tmp_path: Path) -> None:
    fresh, old = tmp_path / "hub" / "hub.db", tmp_path / "old.db"
    old.write_bytes(b"")
    old.chmod(0o644)
    for path in (fresh, old):
        database = SqliteDatabase(path)
        try:
            assert stat.S_IMODE(path.stat().st_mode) == 0o600
        finally:
            database.conn.close()
    assert stat.S_IMODE(fresh.parent.stat().st_mode) == 0o700
