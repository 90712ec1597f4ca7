"""`nmem hooks install | uninstall | status`: merging into Claude Code's settings.json without
losing anything of anyone else's, refusing a file it cannot read, and taking out only its own."""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from neuralmemory.cli.main import cli

NMEM = str(Path(sys.executable).parent.absolute() / "nmem")
EVENTS = ["SessionStart", "UserPromptSubmit", "Stop", "PreCompact"]
OTHER_TOOL = {"matcher": "Bash", "hooks": [{"type": "command", "command": "./lint.sh"}]}


def nmem(*args: str, code: int = 0) -> str:
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == code, result.output
    return result.output


def user_settings() -> Path:
    return Path.home() / ".claude" / "settings.json"


def read(path: Path) -> Any:
    return json.loads(path.read_text())


def test_install_into_no_file_writes_one_group_per_event(home: Path) -> None:
    output = nmem("hooks", "install", "claude-code")
    path = user_settings()
    assert f"Installed nmem hooks in {path}" in output
    hooks = read(path)["hooks"]
    assert list(hooks) == EVENTS
    command = hooks["SessionStart"][0]["hooks"][0]
    assert command == {
        "type": "command",
        "command": f"NMEM_HOME={home} {shlex.quote(NMEM)} hook session-start",
        "timeout": 10,
    }
    assert shlex.split(hooks["Stop"][0]["hooks"][0]["command"])[1:] == [NMEM, "hook", "stop"]


def test_install_keeps_every_other_setting_and_hook_and_uninstall_restores_the_file(
    home: Path,
) -> None:
    path = user_settings()
    path.parent.mkdir(parents=True)
    original: dict[str, Any] = {
        "model": "opus",
        "permissions": {"allow": ["Bash(make test)"]},
        "hooks": {
            "PreToolUse": [OTHER_TOOL],
            "Stop": [{"hooks": [{"type": "command", "command": "notify-send done"}]}],
        },
    }
    path.write_text(json.dumps(original, indent=4))
    path.chmod(0o600)
    nmem("hooks", "install")
    data = read(path)
    assert data["model"] == "opus" and data["permissions"] == original["permissions"]
    assert data["hooks"]["PreToolUse"] == [OTHER_TOOL]
    assert data["hooks"]["Stop"][0] == original["hooks"]["Stop"][0]  # theirs first, then ours
    assert len(data["hooks"]["Stop"]) == 2
    assert path.stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in path.parent.iterdir()) == ["settings.json"]  # no temp file
    output = nmem("hooks", "uninstall")
    assert f"Removed 4 nmem hook(s) from {path}" in output
    assert read(path) == original


def test_installing_twice_replaces_instead_of_adding(home: Path) -> None:
    nmem("hooks", "install")
    output = nmem("hooks", "install")
    assert "replacing the ones installed before" in output
    hooks = read(user_settings())["hooks"]
    assert [len(hooks[event]) for event in EVENTS] == [1, 1, 1, 1]


def test_uninstall_leaves_a_hook_someone_added_beside_ours(home: Path) -> None:
    nmem("hooks", "install")
    path = user_settings()
    data = read(path)
    data["hooks"]["Stop"][0]["hooks"].append({"type": "command", "command": "say done"})
    path.write_text(json.dumps(data))
    nmem("hooks", "uninstall")
    assert read(path) == {
        "hooks": {"Stop": [{"hooks": [{"type": "command", "command": "say done"}]}]}
    }
    assert "No nmem hooks" in nmem("hooks", "uninstall")


def test_project_scope_holds_no_personal_path(home: Path, tmp_path: Path) -> None:
    project = tmp_path / "falcon"
    project.mkdir()
    output = nmem("hooks", "install", "--scope", "project", "--project-dir", str(project), "--json")
    report = json.loads(output)
    path = project / ".claude" / "settings.json"
    assert report == {
        "client": "claude-code",
        "scope": "project",
        "path": str(path),
        "events": EVENTS,
        "removed": 0,
    }
    text = path.read_text()
    assert str(home) not in text and str(Path.home()) not in text and NMEM not in text
    commands = [groups[0]["hooks"][0]["command"] for groups in read(path)["hooks"].values()]
    assert commands[0] == "nmem hook session-start"
    assert not user_settings().exists()


@pytest.mark.parametrize(
    "content",
    [
        '{"hooks": {',  # not JSON
        '["a", "list"]',  # not an object
        '{"hooks": []}',  # hooks not an object
        '{"hooks": {"Stop": {"command": "x"}}}',  # an event not a list of groups
        '{"hooks": {"Stop": [{"hooks": "x"}]}}',  # a group's hooks not a list
    ],
)
def test_a_file_it_cannot_read_is_refused_and_left_unchanged(home: Path, content: str) -> None:
    path = user_settings()
    path.parent.mkdir(parents=True)
    path.write_text(content)
    for command in ("install", "uninstall"):
        output = nmem("hooks", command, code=1)
        assert str(path) in output and "it was not changed" in output
        assert path.read_text() == content
    status = json.loads(nmem("hooks", "status", "--json"))["scopes"][0]
    assert status["error"] and status["events"] == {}


def test_status_shows_both_scopes(home: Path, tmp_path: Path) -> None:
    nmem("hooks", "install")
    report = json.loads(nmem("hooks", "status", "--project-dir", str(tmp_path), "--json"))
    user, project = report["scopes"]
    assert (user["scope"], user["exists"], list(user["events"])) == ("user", True, EVENTS)
    assert (project["scope"], project["exists"], project["events"]) == ("project", False, {})
    text = nmem("hooks", "status", "--project-dir", str(tmp_path))
    assert f"user: {user_settings()}" in text
    assert "no nmem hooks (nmem hooks install --scope project)" in text
