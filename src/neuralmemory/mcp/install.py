"""The client config that starts `nmem mcp`: Claude Code and Cursor snippets, and writing them.

Both clients read one shape, `{"mcpServers": {"nmem": {"command", "args", "env"}}}`: Claude Code in
a project's `.mcp.json`, Cursor in `.cursor/mcp.json` (one project) or `~/.cursor/mcp.json` (all
projects). Claude Code keeps its user-wide settings in a file it manages itself, so for those we
print the `claude mcp add` command instead of editing that file.

The entry names the absolute path of this environment's `nmem`, because an editor starts servers
with its own PATH, and passes `NMEM_HOME` when it is set, so the agent uses the same brains as the
shell. This module never imports the MCP SDK: `nmem mcp install` starts fast.
"""

from __future__ import annotations

import json
import shlex
import shutil
import sys
from pathlib import Path
from typing import Any, Literal

from neuralmemory.config import ENV_HOME, env_flag
from neuralmemory.errors import ConfigError
from neuralmemory.jsonfile import edit_object

SERVER_NAME = "nmem"

Target = Literal["claude-code", "cursor", "cursor-user"]
TARGETS: tuple[Target, ...] = ("claude-code", "cursor", "cursor-user")


def nmem_executable() -> Path:
    """This environment's `nmem` console script, so the client starts the same installation."""
    found = shutil.which("nmem", path=str(Path(sys.executable).parent)) or shutil.which("nmem")
    if found is None:
        raise ConfigError(
            "cannot find the nmem executable",
            hint="install neuralmemory so that `nmem` is on PATH",
        )
    return Path(found).absolute()


def server_entry(executable: Path) -> dict[str, Any]:
    """The `mcpServers.nmem` entry both clients understand."""
    entry: dict[str, Any] = {"command": str(executable), "args": ["mcp"]}
    nmem_home = env_flag(ENV_HOME)
    if nmem_home:
        entry["env"] = {ENV_HOME: str(Path(nmem_home).expanduser().absolute())}
    return entry


def claude_command(entry: dict[str, Any]) -> str:
    """`claude mcp add ...` for every project of this user; options must precede the name."""
    parts = ["claude", "mcp", "add", "--transport", "stdio", "--scope", "user"]
    for name, value in entry.get("env", {}).items():
        parts += ["--env", f"{name}={value}"]
    parts += [SERVER_NAME, "--", entry["command"], *entry["args"]]
    return shlex.join(parts)


def json_snippet(entry: dict[str, Any]) -> str:
    return json.dumps({"mcpServers": {SERVER_NAME: entry}}, indent=2)


def target_path(target: Target, project_dir: Path) -> Path:
    if target == "claude-code":
        return project_dir / ".mcp.json"
    if target == "cursor":
        return project_dir / ".cursor" / "mcp.json"
    return Path.home() / ".cursor" / "mcp.json"


def write_entry(path: Path, entry: dict[str, Any]) -> None:
    """Merge our entry into `path`, keeping every other server and key, replacing the file whole.

    A file that is not a JSON object with an `mcpServers` object is refused and left unchanged:
    rewriting it would lose the user's other servers.
    """

    def put(data: dict[str, Any]) -> None:
        data.setdefault("mcpServers", {})[SERVER_NAME] = entry

    edit_object(path, put, members=("mcpServers",))
