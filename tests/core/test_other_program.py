"""A NMEM_HOME another program wrote into (another product is also named Neural Memory and uses
~/.neuralmemory): every command says so in one line, naming what it found and the way out, and
changes nothing of the other program's files."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from click.testing import CliRunner

from neuralmemory.cli.main import cli


def _snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    """Every file's bytes and mode, and every folder's mode."""
    return {
        str(p.relative_to(folder)): (p.read_bytes() if p.is_file() else b"", p.stat().st_mode)
        for p in sorted([folder, *folder.rglob("*")])
    }


def test_a_brain_file_another_program_made_is_refused_untouched(home: Path) -> None:
    (home / "brains").mkdir(parents=True)
    theirs = home / "brains" / "default.db"
    other = sqlite3.connect(theirs)
    other.execute("CREATE TABLE fibers (id TEXT PRIMARY KEY, data TEXT)")
    other.execute("INSERT INTO fibers VALUES ('f1', 'their memory')")
    other.commit()
    other.close()
    for made in (home, home / "brains", theirs):
        made.chmod(0o755)
    before = _snapshot(home)
    for args in (["remember", "hello"], ["recall", "hello"], ["stats"]):
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 1
        assert result.output.count("\n") == 1, result.output  # one line
        assert f"{theirs} is not a brain of this nmem (it holds tables fibers)" in result.output
        assert "it was not changed" in result.output and "NMEM_HOME=" in result.output
    assert _snapshot(home) == before  # not even its mode or journal


def test_a_config_file_another_program_wrote_is_named_and_left_as_it_is(home: Path) -> None:
    home.mkdir(parents=True)
    config = home / "config.toml"
    config.write_text('[brain]\nname = "theirs"\n')
    config.chmod(0o644)
    before = config.read_text()
    result = CliRunner().invoke(cli, ["stats"])
    assert result.exit_code == 1 and result.output.count("\n") == 1, result.output
    assert f"{config}: 'brain' must be a str; the file was not changed" in result.output
    assert "another product is also named Neural Memory" in result.output
    assert "export NMEM_HOME=~/.nmem" in result.output
    assert config.read_text() == before and config.stat().st_mode & 0o777 == 0o644
