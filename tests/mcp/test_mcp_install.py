"""`nmem mcp install`: the printed client config, and writing it without losing other servers."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from neuralmemory.cli.main import cli

NMEM = str(Path(sys.executable).parent.absolute() / "nmem")


def _install(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["mcp", "install", *args])
    return result.exit_code, result.output


def test_prints_the_claude_command_and_the_json_snippet(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NMEM_HOME", raising=False)
    code, output = _install()
    assert code == 0, output
    command = f"claude mcp add --transport stdio --scope user nmem -- {shlex.quote(NMEM)} mcp"
    assert command in output
    snippet = output[output.index("{") : output.rindex("}") + 1]
    assert json.loads(snippet) == {"mcpServers": {"nmem": {"command": NMEM, "args": ["mcp"]}}}


def test_nmem_home_is_passed_on_when_set(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("NMEM_HOME", str(tmp_path))
    code, output = _install("--json")
    assert code == 0, output
    document = json.loads(output)
    assert document["mcp_json"]["mcpServers"]["nmem"]["env"] == {"NMEM_HOME": str(tmp_path)}
    assert shlex.split(document["claude_code_command"])[7:9] == ["--env", f"NMEM_HOME={tmp_path}"]
    assert document["written"] == []


def test_write_merges_into_an_existing_file_and_keeps_other_servers(tmp_path: Path) -> None:
    path = tmp_path / ".cursor" / "mcp.json"
    path.parent.mkdir()
    other = {"command": "npx", "args": ["-y", "other-server"]}
    path.write_text(json.dumps({"mcpServers": {"other": other}, "extra": 1}))
    path.chmod(0o600)
    code, output = _install("--write", "cursor", "--project-dir", str(tmp_path))
    assert code == 0, output
    assert f"Wrote {path}" in output
    data = json.loads(path.read_text())
    assert data["extra"] == 1
    assert data["mcpServers"]["other"] == other
    assert data["mcpServers"]["nmem"]["command"] == NMEM
    assert path.stat().st_mode & 0o777 == 0o600
    assert list(path.parent.iterdir()) == [path]  # no temporary file left behind


def test_write_creates_project_and_user_files(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    project = tmp_path / "project"
    code, output = _install(
        "--write", "claude-code", "--write", "cursor-user", "--project-dir", str(project)
    )
    assert code == 0, output
    for path in (project / ".mcp.json", tmp_path / "home" / ".cursor" / "mcp.json"):
        assert json.loads(path.read_text())["mcpServers"]["nmem"]["args"] == ["mcp"]


@pytest.mark.parametrize("content", ['{"mcpServers": {', '["not", "an", "object"]'])
def test_a_broken_file_is_refused_and_left_unchanged(tmp_path: Path, content: str) -> None:
    path = tmp_path / ".mcp.json"
    path.write_text(content)
    code, output = _install("--write", "claude-code", "--project-dir", str(tmp_path))
    assert code != 0
    assert str(path) in output
    assert "it was not changed" in output
    assert path.read_text() == content


def test_the_cli_loads_without_the_mcp_sdk() -> None:
    """The SDK is a heavy import: only `nmem mcp` itself may load it."""
    code = (
        "import sys, neuralmemory.cli.main; "
        "sys.exit(any(m == 'mcp' or m.startswith('mcp.') for m in sys.modules))"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
