"""The MCP server beyond tools, through the official SDK client over stdio: instructions,
prompts, resources; unknown arguments refused, argument errors in one line, hints as calls."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from mcp.shared.exceptions import MCPError
from mcp.types import TextContent, TextResourceContents

from helpers.mcp_client import call, call_error, mcp_session

pytestmark = pytest.mark.anyio


def _checkout(folder: Path) -> Path:
    subprocess.run(["git", "init", "-q", str(folder)], check=True)
    remote = "git@github.com:ada/falcon.git"
    subprocess.run(["git", "-C", str(folder), "remote", "add", "origin", remote], check=True)
    return folder


async def test_prompts_build_the_session_block_and_ask_to_save(tmp_path: Path) -> None:
    home, falcon = tmp_path / "home", _checkout(tmp_path / "falcon")
    async with mcp_session(home, cwd=falcon) as session:
        listed = {p.name: p for p in (await session.list_prompts()).prompts}
        assert set(listed) == {"session_context", "save_learnings"}
        assert all(p.description for p in listed.values())
        empty = await session.get_prompt("session_context")
        assert "holds nothing for this project yet" in _prompt_text(empty)
        rule = await call(
            session, "nmem_remember", content="Always run make test", type="instruction"
        )
        block = _prompt_text(await session.get_prompt("session_context"))
        assert block.startswith("Neural Memory for project falcon: instructions")
        assert rule["id"] in block
        save = _prompt_text(await session.get_prompt("save_learnings"))
        assert "nmem_remember" in save and "Never save secrets" in save


def _prompt_text(result: object) -> str:
    [message] = result.messages  # type: ignore[attr-defined]
    assert isinstance(message.content, TextContent)
    return message.content.text


async def test_resources_read_a_memory_the_recent_ones_and_the_stats(tmp_path: Path) -> None:
    home, falcon = tmp_path / "home", _checkout(tmp_path / "falcon")
    async with mcp_session(home, cwd=falcon) as session:
        saved = await call(session, "nmem_remember", content="Falcon streams through Kafka")
        uris = {str(r.uri) for r in (await session.list_resources()).resources}
        assert uris == {"nmem://memories/recent", "nmem://stats"}
        templates = (await session.list_resource_templates()).resource_templates
        assert [t.uri_template for t in templates] == ["nmem://memory/{id}"]

        async def read(uri: str) -> Any:
            [content] = (await session.read_resource(uri)).contents
            assert isinstance(content, TextResourceContents)
            assert content.mime_type == "application/json"
            return json.loads(content.text)

        one = await read(f"nmem://memory/{saved['id']}")
        assert one["content"] == "Falcon streams through Kafka"
        assert one["project"] == "github.com/ada/falcon"
        assert [m["id"] for m in (await read("nmem://memories/recent"))["memories"]] == [
            saved["id"]
        ]
        assert (await read("nmem://stats"))["memories"] == 1
        with pytest.raises(MCPError, match="no memory with id m-missing"):
            await session.read_resource("nmem://memory/m-missing")


async def test_instructions_say_when_to_recall_remember_and_what_never_to_store(
    tmp_path: Path,
) -> None:
    async with mcp_session(tmp_path) as session:
        result = await session.initialize()
    text = result.instructions or ""
    assert "nmem_recall" in text and "nmem_remember" in text
    assert "secret" in text.lower() and len(text) < 1200


async def test_unknown_arguments_are_refused_and_argument_errors_are_one_line(
    tmp_path: Path,
) -> None:
    async with mcp_session(tmp_path) as session:
        unknown = await call_error(session, "nmem_remember", content="x", colour="blue")
        assert unknown == (
            "Error executing tool nmem_remember: unknown argument colour (nmem_remember takes"
            " content, type, tags, priority, expires_days, encrypted, project,"
            " supersedes)"
        )
        assert "unknown argument " in await call_error(session, "nmem_stats", verbose=True)
        assert (await call(session, "nmem_stats"))["memories"] == 0  # nothing ran
        wrong = await call_error(session, "nmem_remember", content="x", priority=11)
        assert wrong == (
            "Error executing tool nmem_remember: priority: Input should be less than or equal to 10"
        )
        hint = await call_error(session, "nmem_sync", action="push")
        assert 'call nmem_sync_config(action="setup")' in hint and "`nmem" not in hint
