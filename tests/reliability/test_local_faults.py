"""Faults on the device: a corrupt config, a damaged or wrong key, a locked or truncated brain, a
full disk. Each is a clear message naming the file, exit status 1, and nothing overwritten or
half-written: the bytes of every file involved are compared before and after.

The CLI runs as users run it (a subprocess with its own NMEM_HOME); a full disk is a file size
limit (RLIMIT_FSIZE, SIGXFSZ ignored so writes fail with EFBIG) set in that subprocess only.
"""

from __future__ import annotations

import json
import resource
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from helpers.nmem import cli
from helpers.nmem import nmem as run_nmem


def nmem(
    home: Path, *args: str, limit: int | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    def preexec() -> None:
        if limit is not None:
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return run_nmem(home, *args, timeout=timeout, preexec_fn=preexec if limit is not None else None)


def files(home: Path) -> dict[str, object]:
    """Every file under the device folder by relative path: its bytes, or for a brain database
    its logical content (a WAL checkpoint on close may move pages without changing a row)."""
    found: dict[str, object] = {}
    for path in sorted(home.rglob("*")):
        if not path.is_file() or path.name.endswith(("-shm", "-wal")):
            continue
        name = str(path.relative_to(home))
        found[name] = logical(path) if path.suffix == ".db" else path.read_bytes()
    return found


def logical(db: Path) -> list[str] | bytes:
    """A readable database's rows (after an integrity check), else its raw bytes."""
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
            if conn.execute("PRAGMA integrity_check").fetchone() != ("ok",):
                return db.read_bytes()
            return list(conn.iterdump())
    except sqlite3.DatabaseError:
        return db.read_bytes()


def failed_clearly(done: subprocess.CompletedProcess[str], *words: str) -> None:
    assert done.returncode == 1, (done.returncode, done.stdout, done.stderr)
    assert done.stderr.startswith("Error: "), done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    for word in words:
        assert word in done.stderr, (word, done.stderr)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A device with a brain and a config, made in this process (what the tests run, and fail,
    is a real `nmem`; making the device is not under test)."""
    device = tmp_path / "device"
    assert cli(device, "remember", "The staging database is pg-staging-2").returncode == 0
    # auto-sync off: a detached auto-sync child of one step (it waits 2 s, then fails to reach
    # port 9 and records that) would otherwise write the brain while a later step is compared
    configured = cli(
        device, "sync", "config", "set", "--hub-url", "http://127.0.0.1:9", "--auto-sync", "off"
    )
    assert configured.returncode == 0
    return device


def brain_file(home: Path) -> Path:
    return home / "brains" / "default.db"


def key_file(home: Path) -> Path:
    (found,) = (home / "keys").glob("*.key")
    return found


def test_a_corrupt_config_is_named_and_never_overwritten(home: Path) -> None:
    config = home / "config.toml"
    config.write_text('hub_url = "http://127.0.0.1:9"\nconflict_strategy = [unclosed\n')
    before = files(home)
    for args in (
        ("remember", "A new fact"),
        ("recall", "staging"),
        ("sync", "config", "set", "--hub-url", "http://127.0.0.1:8000"),
        ("sync", "status"),
        ("sync", "full"),
    ):
        failed_clearly(nmem(home, *args), "config.toml is not valid TOML at line 2", "not changed")
    config.write_text('conflict_strategy = "prefer_nothing"\n')
    before = files(home)
    failed_clearly(nmem(home, "sync", "config", "set", "--auto-sync", "off"), "prefer_nothing")
    assert files(home) == before


def test_a_truncated_key_file_is_named_and_never_replaced(home: Path) -> None:
    assert nmem(home, "remember", "Vault passphrase: zebra-7731", "--encrypted").returncode == 0
    key = key_file(home)
    key.write_bytes(key.read_bytes()[:17])
    before = files(home)
    for args in (("remember", "Another vault secret", "--encrypted"), ("recall", "vault")):
        failed_clearly(nmem(home, *args), str(key), "not a valid key file", "not changed")
    assert files(home) == before


def test_a_wrong_key_is_said_clearly(home: Path) -> None:
    done = nmem(home, "remember", "Vault passphrase: zebra-7731", "--encrypted", "--json")
    memory_id = json.loads(done.stdout)["id"]
    key_file(home).write_bytes(Fernet.generate_key())
    before = files(home)
    failed_clearly(
        nmem(home, "edit", memory_id, "--content", "Vault passphrase: changed"), "wrong key"
    )
    assert files(home) == before


def hold_write_lock(db: Path) -> subprocess.Popen[str]:
    """Another process with an open write transaction on the brain."""
    script = (
        "import sqlite3, sys, time\n"
        f"c = sqlite3.connect({str(db)!r}, isolation_level=None)\n"
        "c.execute('BEGIN IMMEDIATE')\n"
        "c.execute(\"INSERT OR REPLACE INTO meta (key, value) VALUES ('x-lock', 'held')\")\n"
        "print('locked', flush=True)\n"
        "time.sleep(60)\n"
    )
    holder = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
    return holder


def test_a_brain_locked_by_another_process(home: Path) -> None:
    before = files(home)
    holder = hold_write_lock(brain_file(home))
    try:
        started = time.monotonic()
        done = nmem(home, "remember", "Written while another process holds the lock")
        failed_clearly(done, str(brain_file(home)), "locked by another process")
        assert time.monotonic() - started < 30  # the busy timeout, not a hang
    finally:
        holder.kill()
        holder.wait()
        assert holder.stdout is not None
        holder.stdout.close()
    assert files(home) == before  # the holder's transaction never committed either
    assert nmem(home, "remember", "Written after the lock is gone").returncode == 0


@pytest.mark.parametrize("keep", [0.5, 0.02])
def test_a_truncated_brain_is_named_and_left_as_it_is(home: Path, keep: float) -> None:
    db = brain_file(home)
    data = db.read_bytes()
    db.write_bytes(data[: max(1, int(len(data) * keep))])
    before = files(home)
    for args in (("remember", "A new fact"), ("recall", "staging"), ("stats",)):
        done = nmem(home, *args)
        failed_clearly(done, str(db))
        assert "not a readable brain database" in done.stderr or "malformed" in done.stderr
    assert files(home) == before


@pytest.mark.parametrize(
    ("action", "room"),
    [
        (("remember", "x" * 60_000 + " filler for the full disk"), 1),
        (("sync", "config", "set", "--hub-url", "http://127.0.0.1:8000"), -60),
    ],
    ids=["brain-write", "config-write"],
)
def test_a_full_disk_leaves_nothing_half_written(
    home: Path, action: tuple[str, ...], room: int
) -> None:
    before = files(home)
    sizes = [path.stat().st_size for path in home.rglob("*") if path.is_file()]
    # no file may grow past this: the biggest file now (brain), or less than config.toml needs
    limit = max(sizes) + room if room > 0 else (home / "config.toml").stat().st_size + room
    done = nmem(home, *action, limit=max(limit, 1))
    failed_clearly(done)
    text = done.stderr.lower()
    assert "full" in text or "too large" in text, done.stderr
    assert "not changed" in text or "disk" in text, done.stderr
    after = files(home)
    assert after == before  # config, keys, device id bytes; the brain's rows
    assert not [name for name in after if name.endswith(".tmp")]  # no stray temporary file
    assert nmem(home, "remember", "Written once there is room again").returncode == 0
