"""`nmem mcp` answers `initialize` before it loads the MCP SDK (mcp/stdio.py), with exactly the
answer the SDK then gives, for every protocol revision a client may ask for."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from mcp_types import version

from helpers.mcp_client import line, start_server
from neuralmemory.mcp import stdio

ASKED = [*version.HANDSHAKE_PROTOCOL_VERSIONS, *version.MODERN_PROTOCOL_VERSIONS, "1999-01-01"]


def _initialize(asked: str, id: int | str = 1) -> str:
    client = {"name": "raw", "version": "0"}
    params = {"protocolVersion": asked, "capabilities": {}, "clientInfo": client}
    return line({"id": id, "method": "initialize", "params": params})


def test_the_handshake_revisions_are_the_sdks() -> None:
    assert stdio.HANDSHAKE_VERSIONS == version.HANDSHAKE_PROTOCOL_VERSIONS
    assert stdio.HANDSHAKE_VERSIONS[-1] == version.LATEST_HANDSHAKE_VERSION


@pytest.mark.parametrize("asked", ASKED)
def test_the_early_answer_is_the_sdks_and_is_given_once(tmp_path: Path, asked: str) -> None:
    stderr = tmp_path / "stderr.log"
    with stderr.open("w") as errlog, start_server(tmp_path, stderr=errlog) as proc:
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(_initialize(asked, id="first"))
        proc.stdin.flush()
        hello = json.loads(proc.stdout.readline())
        # The SDK answers the next request only once it has handled (and answered) initialize.
        proc.stdin.write(line({"method": "notifications/initialized"}))
        proc.stdin.write(line({"id": 2, "method": "tools/list"}))
        proc.stdin.flush()
        tools = json.loads(proc.stdout.readline())
        proc.stdin.close()
        rest = proc.stdout.read()
        assert proc.wait(timeout=30) == 0
    expected = asked if asked in version.HANDSHAKE_PROTOCOL_VERSIONS else "2025-11-25"
    assert hello["id"] == "first"
    assert hello["result"]["protocolVersion"] == expected
    assert hello["result"]["instructions"] == stdio.INSTRUCTIONS
    assert tools["id"] == 2 and tools["result"]["tools"]
    assert rest == ""  # the SDK's own answer to initialize was dropped, not sent twice
    assert "differed" not in stderr.read_text()  # ... and it was the same answer


def test_anything_but_initialize_first_is_left_to_the_sdk(tmp_path: Path) -> None:
    with start_server(tmp_path) as proc:
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write("not json\n" + _initialize("2025-06-18"))
        proc.stdin.flush()
        hello = json.loads(proc.stdout.readline())  # the SDK's: the first line was not initialize
        proc.stdin.write(line({"method": "notifications/initialized"}))
        proc.stdin.write(line({"id": 2, "method": "ping"}))
        proc.stdin.flush()
        pong = json.loads(proc.stdout.readline())
        proc.stdin.close()
        assert proc.stdout.read() == ""
        assert proc.wait(timeout=30) == 0
    assert hello["id"] == 1 and hello["result"]["protocolVersion"] == "2025-06-18"
    assert pong == {"jsonrpc": "2.0", "id": 2, "result": {}}


@pytest.mark.parametrize(
    "message",
    [
        {"jsonrpc": "2.0", "id": 1, "method": "ping"},
        {"jsonrpc": "2.0", "method": "initialize", "params": {}},  # a notification
        {"jsonrpc": "2.0", "id": True, "method": "initialize", "params": {}},
        {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": 5}},
        {"jsonrpc": "2.0", "id": 1, "method": "initialize"},
        {"jsonrpc": "1.0", "id": 1, "method": "initialize", "params": {}},
        ["a batch"],
    ],
)
def test_only_a_well_formed_initialize_is_answered_early(message: object) -> None:
    assert stdio.early_answer(message) is None


#: Modules `nmem mcp` must not have loaded when it answers initialize: the SDK (its client and
#: transports, and the models of every revision), pydantic, the memory core and its crypto.
HEAVY = (
    "mcp",
    "mcp_types",
    "pydantic",
    "anyio",
    "httpx",
    "cryptography",
    "click",
    "rich",
    "tomlkit",
    "neuralmemory.core.brain",
    "neuralmemory.config",
)

PROBE = """
import sys
from neuralmemory.mcp import stdio
answer = stdio.early_answer({
    "jsonrpc": "2.0", "id": 1, "method": "initialize",
    "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {}},
})
assert answer is not None
heavy = sys.argv[1:]
print(sorted(m for m in sys.modules if m in heavy or m.split(".")[0] in heavy))
"""


def test_the_early_answer_needs_none_of_the_heavy_modules() -> None:
    """What runs before the answer is cli/entry.py's `mcp` branch up to stdio.start()."""
    done = subprocess.run(
        [sys.executable, "-c", "import neuralmemory.cli.entry\n" + PROBE, *HEAVY],
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.strip() == "[]", done.stdout
