"""tests/conftest.py keeps every test in its own home, and its guards catch a test that does not:
each guard is shown failing an inner pytest session (pytester) that breaks the rule."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from neuralmemory import config

CONFTEST = Path(__file__).with_name("conftest.py").read_text(encoding="utf-8")


def test_each_test_has_its_own_home_and_the_library_uses_it(home: Path, tmp_path: Path) -> None:
    assert config.home() == home and home.parent == tmp_path
    assert Path.home().parent == tmp_path
    for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
        assert Path(os.environ[name]).is_relative_to(Path.home())
    assert config.device_id().startswith("dev-") and (home / "device_id").exists()


def test_using_home_points_the_library_elsewhere_for_the_block_only(
    home: Path, tmp_path: Path
) -> None:
    other = tmp_path / "other"
    with config.using_home(other):
        assert config.home() == other and os.environ["NMEM_HOME"] == str(home)
        made = config.device_id()
    assert (other / "device_id").read_text(encoding="utf-8").strip() == made
    assert config.home() == home and not home.exists()


def inner_session(pytester: pytest.Pytester, test: str) -> pytest.RunResult:
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_inner=test)
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", timeout=120)


def test_a_test_writing_into_the_home_the_run_started_with_fails_the_run(
    pytester: pytest.Pytester, home: Path
) -> None:
    # The inner session is started with NMEM_HOME=home: for it, that is the real home.
    leak = home / "brains" / "default.db"
    result = inner_session(
        pytester,
        "from pathlib import Path\n"
        "def test_leaks():\n"
        f"    Path({str(leak)!r}).parent.mkdir(parents=True)\n"
        f"    Path({str(leak)!r}).write_bytes(b'x')\n",
    )
    result.assert_outcomes(passed=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*tests wrote into the home this run was started with*"])
    result.stdout.fnmatch_lines([f"*{leak}: new*"])


def test_a_test_using_the_library_leaves_the_started_home_alone(
    pytester: pytest.Pytester, home: Path
) -> None:
    result = inner_session(
        pytester,
        "from neuralmemory.core.brains import open_brain\n"
        "def test_writes():\n"
        "    with open_brain() as brain:\n"
        "        brain.remember('The deploy uses blue-green rollout')\n",
    )
    result.assert_outcomes(passed=1)
    assert result.ret == pytest.ExitCode.OK
    assert not home.exists()


def test_a_test_leaving_an_auto_sync_timer_alive_fails(pytester: pytest.Pytester) -> None:
    result = inner_session(
        pytester,
        "from neuralmemory.sync.auto import AutoSync\n"
        "def test_arms_and_leaves():\n"
        "    AutoSync(lambda brain: None, delay=600).notify('default')\n",
    )
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*auto-sync timers still alive after the test*nmem-autosync-*"])
