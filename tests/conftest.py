"""Isolation for every test (README, "Tests").

Each test gets its own NMEM_HOME (`home`, not created until written), HOME and XDG folders in its
temporary directory; fixtures wider than one test (hubs started once per module or session) get a
session-wide set. Subprocesses inherit them. No test can touch the real home or another test's.

Two guards prove it: a test that leaves an auto-sync timer alive fails, and the run fails when
anything appeared or changed under the home it was started with ($NMEM_HOME, and
$HOME/.neuralmemory).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from neuralmemory.sync.auto import THREAD_NAME

# pytester: tests/test_isolation.py runs this conftest in an inner session
pytest_plugins = ["pytester", "helpers.fixtures", "helpers.xdist_groups"]

# The XDG base directories, relative to HOME as their defaults are: tools that honour them (npm,
# wrangler) must not fall back on a real ~/.config named by the calling shell.
XDG = {
    "XDG_CONFIG_HOME": ".config",
    "XDG_DATA_HOME": ".local/share",
    "XDG_STATE_HOME": ".local/state",
    "XDG_CACHE_HOME": ".cache",
}

Snapshot = dict[str, tuple[int, int]]


def _started_homes() -> list[Path]:
    """The folders nmem would have used had the run not been isolated (read at import, before
    any fixture changes the environment)."""
    homes = [Path.home() / ".neuralmemory"]
    if os.environ.get("NMEM_HOME"):
        homes.append(Path(os.environ["NMEM_HOME"]).expanduser())
    return list(dict.fromkeys(path.resolve() for path in homes))


def _snapshot(root: Path) -> Snapshot:
    """Every path under root with its size and modification time; empty when root is missing."""
    found: Snapshot = {}
    if root.exists():
        found["."] = (0, root.stat().st_mtime_ns)
        for path in root.rglob("*"):
            stat = path.lstat()
            found[str(path.relative_to(root))] = (stat.st_size, stat.st_mtime_ns)
    return found


STARTED = {path: _snapshot(path) for path in _started_homes()}


def _point_home_at(patch: pytest.MonkeyPatch, nmem_home: Path, user_home: Path) -> None:
    user_home.mkdir(parents=True, exist_ok=True)
    patch.setenv("NMEM_HOME", str(nmem_home))
    patch.setenv("HOME", str(user_home))
    for name, relative in XDG.items():
        patch.setenv(name, str(user_home / relative))


@pytest.fixture(autouse=True, scope="session")
def _session_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """For module- and session-scoped fixtures, which start before any test's own home."""
    root = tmp_path_factory.mktemp("session-home")
    with pytest.MonkeyPatch.context() as patch:
        _point_home_at(patch, root / "nmem", root / "user")
        yield


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    nmem_home = tmp_path / "home"
    _point_home_at(monkeypatch, nmem_home, tmp_path / "user")
    yield nmem_home
    _no_auto_sync_left()


@pytest.fixture
def home(_isolated: Path) -> Path:
    """This test's NMEM_HOME: one device, no config, no brains until something is written."""
    return _isolated


def _no_auto_sync_left() -> None:
    """A timer left behind would fire into whichever test runs next."""
    alive = [t.name for t in threading.enumerate() if t.name.startswith(THREAD_NAME)]
    assert not alive, f"auto-sync timers still alive after the test: {alive}"


def _changes(root: Path, before: Snapshot) -> list[str]:
    after = _snapshot(root)
    return sorted(
        f"{root / path}: "
        + ("new" if path not in before else "gone" if path not in after else "changed")
        for path in before.keys() | after.keys()
        if before.get(path) != after.get(path)
    )


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    changed = [line for root, before in STARTED.items() for line in _changes(root, before)]
    if not changed:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    lines = ["tests wrote into the home this run was started with (they must use `home`):"]
    lines += [f"  {line}" for line in changed]
    if reporter is not None:
        reporter.write_line("\n".join(lines), red=True, bold=True)
    session.exitstatus = pytest.ExitCode.TESTS_FAILED
