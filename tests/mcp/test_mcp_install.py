"""`nmem mcp install`: the printed client config, and writing it without losing other servers."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
import tomllib
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
    assert data["mcpServers"]["nmem"] == {"command": "nmem", "args": ["mcp"]}  # committed: no path
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


USER_FILES = {
    "cursor-user": (".cursor/mcp.json", "mcpServers"),
    "claude-desktop": (
        "Library/Application Support/Claude/claude_desktop_config.json"
        if sys.platform == "darwin"
        else ".config/Claude/claude_desktop_config.json",
        "mcpServers",
    ),
    "windsurf": (".codeium/windsurf/mcp_config.json", "mcpServers"),
    "gemini": (".gemini/settings.json", "mcpServers"),
}
PROJECT_FILES = {
    "claude-code": (".mcp.json", "mcpServers", {}),
    "cursor": (".cursor/mcp.json", "mcpServers", {}),
    "vscode": (".vscode/mcp.json", "servers", {"type": "stdio"}),
}


@pytest.mark.parametrize("target", sorted(USER_FILES))
def test_a_user_file_names_this_installation_and_its_home(
    target: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("NMEM_HOME", str(tmp_path / "nmem"))
    code, output = _install("--write", target)
    assert code == 0, output
    name, key = USER_FILES[target]
    entry = json.loads((tmp_path / "home" / name).read_text())[key]["nmem"]
    assert entry == {"command": NMEM, "args": ["mcp"], "env": {"NMEM_HOME": str(tmp_path / "nmem")}}


@pytest.mark.parametrize("target", sorted(PROJECT_FILES))
def test_a_project_file_to_commit_holds_no_personal_path(
    target: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("NMEM_HOME", str(tmp_path / "nmem"))
    code, output = _install("--write", target, "--project-dir", str(tmp_path / "p"))
    assert code == 0, output
    name, key, extra = PROJECT_FILES[target]
    text = (tmp_path / "p" / name).read_text()
    assert str(tmp_path) not in text and NMEM not in text
    assert json.loads(text)[key]["nmem"] == {**extra, "command": "nmem", "args": ["mcp"]}


def test_codex_gets_a_toml_table_and_keeps_the_rest_of_its_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("NMEM_HOME", raising=False)
    path = tmp_path / ".codex" / "config.toml"
    path.parent.mkdir()
    original = '# mine\nmodel = "o3"\n\n[mcp_servers.other]\ncommand = "npx"\n'
    path.write_text(original)
    assert _install("--write", "codex")[0] == 0
    text = path.read_text()
    assert text.startswith(original)
    assert tomllib.loads(text)["mcp_servers"]["nmem"] == {"command": NMEM, "args": ["mcp"]}
    assert _install("--write", "codex")[0] == 0 and path.read_text() == text  # once
    path.write_text("model = [unclosed\n")
    code, output = _install("--write", "codex")
    assert code != 0 and "is not valid TOML" in output and "it was not changed" in output
    assert path.read_text() == "model = [unclosed\n"
    path.write_text('mcp_servers = "a string"\n')
    code, output = _install("--write", "codex")
    assert code != 0 and "expected 'mcp_servers' to be a table" in output
