"""`nmem hook EVENT` runs on every prompt, as a new process: its start-up is its cost. Pinned
without timing: the hook path, run as the console script runs it, must not load what it does not
need (cli/entry.py answers hooks before click; the core loads cryptography, tomlkit and pydantic
only when a key, a config write, a record version or a record body needs them)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from helpers.hook_process import fixture

#: What a hook never needs: the command line's libraries, the MCP SDK, the HTTP client and the
#: hub's server, the cryptography of keys (no memory here is encrypted), tomlkit (config.toml
#: is only read), the sync engine, pydantic (it reads memories, never a record's version or
#: body: protocol.py's shapes and core/bodies.py).
HEAVY = (
    "pydantic",
    "neuralmemory.shapes",
    "neuralmemory.core.bodies",
    "click",
    "rich",
    "mcp",
    "mcp_types",
    "httpx",
    "anyio",
    "uvicorn",
    "starlette",
    "cryptography",
    "tomlkit",
    "neuralmemory.cli.main",
    "neuralmemory.sync.engine",
    "neuralmemory.sync.service",
)

RUN = """
import io, json, sys
event, payload, heavy = sys.argv[1], sys.argv[2], sys.argv[3:]
sys.argv = ["nmem", "hook", event]
sys.stdin = io.StringIO(payload)
from neuralmemory.cli.entry import main
main()
loaded = sorted(m for m in sys.modules if m in heavy or m.split(".")[0] in heavy)
print(json.dumps(loaded), file=sys.stderr)
"""


@pytest.mark.parametrize(
    ("event", "name"),
    [
        ("session-start", "session_start"),
        ("user-prompt-submit", "user_prompt_submit"),
        ("stop", "stop"),
    ],
)
def test_a_hook_loads_none_of_the_heavy_modules(
    memories: dict[str, str], home: Path, project: Path, event: str, name: str
) -> None:
    # Past its time limit a hook answers nothing and exits at once: a loaded machine must not
    # make this test about time.
    (home / "config.toml").write_text("[hooks]\ntimeout_ms = 60000\n")
    payload = fixture(name, cwd=str(project))
    if event == "user-prompt-submit":
        payload["prompt"] = "Why did we choose PostgreSQL for billing?"
    done = subprocess.run(
        [sys.executable, "-c", RUN, event, json.dumps(payload), *HEAVY],
        capture_output=True,
        text=True,
        cwd=project,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    if event != "stop":
        assert "additionalContext" in done.stdout  # it did its work
    assert json.loads(done.stderr.splitlines()[-1]) == []
