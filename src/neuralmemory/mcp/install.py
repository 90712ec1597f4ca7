"""The client config that starts `nmem mcp`: the snippets `nmem mcp install` prints, and the
clients' files `--write` merges the `nmem` server into.

| target          | file                                   | servers under   | scope            |
|-----------------|----------------------------------------|-----------------|------------------|
| claude-code     | .mcp.json                              | mcpServers      | project          |
| cursor          | .cursor/mcp.json                       | mcpServers      | project          |
| vscode          | .vscode/mcp.json                       | servers (stdio) | project          |
| cursor-user     | ~/.cursor/mcp.json                     | mcpServers      | user             |
| claude-desktop  | Claude's claude_desktop_config.json    | mcpServers      | user             |
| windsurf        | ~/.codeium/windsurf/mcp_config.json    | mcpServers      | user             |
| gemini          | ~/.gemini/settings.json                | mcpServers      | user             |
| codex           | ~/.codex/config.toml (TOML)            | mcp_servers     | user             |

A user file names the absolute path of this environment's `nmem`, because an editor starts
servers with its own PATH, and passes `NMEM_HOME` when it is set, so the agent uses the same
brains as the shell. A project file is meant to be committed and shared, so it holds no personal
path: `nmem` from PATH, no NMEM_HOME. Claude Code keeps its user-wide servers in a file it
manages itself, so for those we print the `claude mcp add` command instead. Every other server
and key in a file is kept; a file that cannot be read is refused unchanged. This module never
imports the MCP SDK: `nmem mcp install` starts fast.
"""

from __future__ import annotations

import json
import shlex
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from neuralmemory.config import ENV_HOME, atomic_write, env_flag
from neuralmemory.errors import (
    HINT_FILE_UNCHANGED,
    HINT_NO_NMEM_EXECUTABLE,
    MSG_CANNOT_READ,
    MSG_EXPECTED_TABLE,
    MSG_FILE_NOT_TOML,
    MSG_NO_NMEM_EXECUTABLE,
    ConfigError,
)
from neuralmemory.jsonfile import NEW_FILE_MODE, edit_object

SERVER_NAME = "nmem"

Target = Literal[
    "claude-code",
    "cursor",
    "vscode",
    "cursor-user",
    "claude-desktop",
    "windsurf",
    "gemini",
    "codex",
]


@dataclass(frozen=True)
class Client:
    file: str  # relative to the project (project scope) or to the home folder
    servers: str  # the key the servers are under
    project: bool  # a project file, meant to be committed: no personal path
    vscode: bool = False  # VS Code's entries name their transport


def _desktop_file() -> str:
    if sys.platform == "darwin":
        return "Library/Application Support/Claude/claude_desktop_config.json"
    return ".config/Claude/claude_desktop_config.json"


CLIENTS: dict[Target, Client] = {
    "claude-code": Client(".mcp.json", "mcpServers", project=True),
    "cursor": Client(".cursor/mcp.json", "mcpServers", project=True),
    "vscode": Client(".vscode/mcp.json", "servers", project=True, vscode=True),
    "cursor-user": Client(".cursor/mcp.json", "mcpServers", project=False),
    "claude-desktop": Client(_desktop_file(), "mcpServers", project=False),
    "windsurf": Client(".codeium/windsurf/mcp_config.json", "mcpServers", project=False),
    "gemini": Client(".gemini/settings.json", "mcpServers", project=False),
    "codex": Client(".codex/config.toml", "mcp_servers", project=False),
}
TARGETS: tuple[Target, ...] = tuple(CLIENTS)


def nmem_executable() -> Path:
    """This environment's `nmem` console script, so the client starts the same installation."""
    found = shutil.which("nmem", path=str(Path(sys.executable).parent)) or shutil.which("nmem")
    if found is None:
        raise ConfigError(MSG_NO_NMEM_EXECUTABLE, hint=HINT_NO_NMEM_EXECUTABLE)
    return Path(found).absolute()


def server_entry(executable: Path) -> dict[str, Any]:
    """The `mcpServers.nmem` entry of a user's file: this installation, this NMEM_HOME."""
    entry: dict[str, Any] = {"command": str(executable), "args": ["mcp"]}
    nmem_home = env_flag(ENV_HOME)
    if nmem_home:
        entry["env"] = {ENV_HOME: str(Path(nmem_home).expanduser().absolute())}
    return entry


def project_entry() -> dict[str, Any]:
    """The entry of a project's committed file: `nmem` from each user's PATH."""
    return {"command": SERVER_NAME, "args": ["mcp"]}


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
    client = CLIENTS[target]
    return (project_dir if client.project else Path.home()) / client.file


def write_target(target: Target, project_dir: Path, executable: Path) -> Path:
    """Merge the nmem server into `target`'s file; the file's path."""
    client = CLIENTS[target]
    path = target_path(target, project_dir).absolute()
    entry = project_entry() if client.project else server_entry(executable)
    if client.vscode:
        entry = {"type": "stdio", **entry}
    if path.suffix == ".toml":
        _write_toml(path, client.servers, entry)
    else:
        write_entry(path, entry, servers=client.servers)
    return path


def write_entry(path: Path, entry: dict[str, Any], *, servers: str = "mcpServers") -> None:
    """Merge our entry into `path`, keeping every other server and key, replacing the file whole.

    A file that is not a JSON object with a `servers` object is refused and left unchanged:
    rewriting it would lose the user's other servers.
    """

    def put(data: dict[str, Any]) -> None:
        data.setdefault(servers, {})[SERVER_NAME] = entry

    edit_object(path, put, members=(servers,))


def _write_toml(path: Path, servers: str, entry: dict[str, Any]) -> None:
    """The same for a TOML file (Codex CLI's `[mcp_servers.nmem]`), comments kept."""
    # imported here: every `nmem` command registers `nmem mcp install`, few write TOML
    import tomlkit
    from tomlkit.exceptions import ParseError

    try:
        document = tomlkit.parse(path.read_text(encoding="utf-8")) if path.exists() else None
    except ParseError as exc:
        raise ConfigError(
            MSG_FILE_NOT_TOML.format(path=path, line=exc.line, column=exc.col),
            hint=HINT_FILE_UNCHANGED,
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(
            MSG_CANNOT_READ.format(path=path, reason=exc), hint=HINT_FILE_UNCHANGED
        ) from None
    document = document if document is not None else tomlkit.document()
    table = document.setdefault(servers, tomlkit.table(is_super_table=True))
    if not isinstance(table, dict):
        raise ConfigError(
            MSG_EXPECTED_TABLE.format(path=path, name=servers), hint=HINT_FILE_UNCHANGED
        )
    server = tomlkit.table()
    server.update({k: v for k, v in entry.items() if k != "env"})
    if "env" in entry:
        env = tomlkit.inline_table()
        env.update(entry["env"])
        server["env"] = env
    table[SERVER_NAME] = server
    mode = path.stat().st_mode & 0o777 if path.exists() else NEW_FILE_MODE
    atomic_write(path, tomlkit.dumps(document).encode("utf-8"), mode=mode)
