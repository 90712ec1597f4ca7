"""`nmem mcp` through the MCP Inspector's CLI (npm @modelcontextprotocol/inspector --cli), a
client written apart from the Python SDK: tools, a tool call, prompts, a resource, and the
server's instructions (read by the TypeScript SDK client the Inspector runs on: its CLI has no
method for them).

Both are pinned in tests/mcp/inspector/package-lock.json and installed by `make test` (npm ci,
like sync-hub/); nothing is fetched when the tests run.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from helpers.mcp_client import NMEM
from neuralmemory.mcp import stdio

INSPECTOR = Path(__file__).parent / "inspector"
CLI = INSPECTOR / "node_modules" / ".bin" / "mcp-inspector"
INSTALL = "make tests/mcp/inspector/node_modules/.installed (make test does it)"


def inspector(home: Path, method: str, *options: str) -> Any:
    """One Inspector CLI call against a new `nmem mcp` on `home`; its JSON answer."""
    if not CLI.exists():
        pytest.fail(f"the MCP Inspector is not installed: {INSTALL}")
    done = subprocess.run(
        [
            str(CLI),
            "--cli",
            "-e",
            f"NMEM_HOME={home}",
            str(NMEM),
            "mcp",
            "--method",
            method,
            *options,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "NMEM_HOME": str(home)},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout)


def test_tools_a_call_prompts_and_a_resource(tmp_path: Path) -> None:
    tools = {tool["name"]: tool for tool in inspector(tmp_path, "tools/list")["tools"]}
    assert "nmem_recall" in tools and "nmem_remember" in tools
    assert "query" in tools["nmem_recall"]["inputSchema"]["required"]

    content = "Project Falcon streams its events through Kafka."
    called = inspector(
        tmp_path, "tools/call", "--tool-name", "nmem_remember", "--tool-arg", f"content={content}"
    )
    assert not called.get("isError")
    remembered = called["structuredContent"]
    assert remembered["created"] is True

    prompts = {p["name"] for p in inspector(tmp_path, "prompts/list")["prompts"]}
    assert prompts == {"session_context", "save_learnings"}

    uri = f"nmem://memory/{remembered['id']}"
    read = inspector(tmp_path, "resources/read", "--uri", uri)["contents"]
    assert [json.loads(item["text"])["content"] for item in read] == [content]


def test_the_instructions_and_the_server(tmp_path: Path) -> None:
    if not CLI.exists():
        pytest.fail(f"the MCP Inspector is not installed: {INSTALL}")
    done = subprocess.run(
        ["node", str(INSPECTOR / "instructions.mjs"), str(NMEM), "mcp"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=INSPECTOR,
        env={**os.environ, "NMEM_HOME": str(tmp_path)},
    )
    assert done.returncode == 0, done.stderr
    hello = json.loads(done.stdout)
    assert hello["instructions"] == stdio.INSTRUCTIONS
    assert hello["server"]["name"] == "nmem"
    assert set(hello["capabilities"]) == {"tools", "prompts", "resources"}
