"""The nmem_* tools through a real MCP client over stdio: schemas, the memory loop, tool errors.

The tests about what a tool does share one `nmem mcp` (the module's `server`), each on a brain of
its own; starting the server is the subject of tests/mcp/test_mcp_startup.py, not of these."""

from __future__ import annotations

import secrets
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from helpers.mcp_client import call, call_error, mcp_session
from helpers.nmem import cli
from mcp import ClientSession
from neuralmemory.config import STRATEGIES
from neuralmemory.core.extract import MEMORY_TYPES

pytestmark = pytest.mark.anyio

TOOLS = {
    "nmem_remember",
    "nmem_recall",
    "nmem_edit",
    "nmem_forget",
    "nmem_list",
    "nmem_show",
    "nmem_stats",
    "nmem_sync",
    "nmem_sync_config",
    "nmem_sync_status",
    "nmem_sync_conflicts",
    "nmem_sync_restore",
}


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"  # module scope: the shared server's session lives across the tests


@pytest.fixture(scope="module")
async def server(
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[tuple[Path, ClientSession]]:
    """One `nmem mcp` for the module's tests, with its home."""
    home = tmp_path_factory.mktemp("mcp-shared") / "home"
    async with mcp_session(home) as session:
        yield home, session


def own_brain(server: tuple[Path, ClientSession]) -> tuple[ClientSession, str]:
    """The shared server on a new brain, made current for this test (the server sees the switch
    as it sees any made by the CLI: tests/mcp/test_mcp_live.py); and the brain's name."""
    home, session = server
    name = f"t-{secrets.token_hex(4)}"
    for args in (("brain", "create", name), ("brain", "use", name)):
        done = cli(home, *args)
        assert done.returncode == 0, done.stderr
    return session, name


def _enum(prop: dict[str, Any]) -> list[str]:
    """The enum of a property, whether optional (anyOf with null) or not."""
    for branch in prop.get("anyOf", [prop]):
        if "enum" in branch:
            return list(branch["enum"])
    raise AssertionError(f"no enum in {prop}")


def _bounds(prop: dict[str, Any]) -> tuple[int, int]:
    for branch in prop.get("anyOf", [prop]):
        if "minimum" in branch:
            return branch["minimum"], branch["maximum"]
    raise AssertionError(f"no bounds in {prop}")


async def test_tools_are_listed_with_schemas_enums_and_bounds(
    server: tuple[Path, ClientSession],
) -> None:
    listed = {tool.name: tool for tool in (await server[1].list_tools()).tools}
    assert set(listed) == TOOLS
    for tool in listed.values():
        assert tool.description and "Use it" in tool.description, tool.name
        assert tool.output_schema is not None and tool.output_schema["type"] == "object"

    def props(name: str) -> dict[str, Any]:
        schema: dict[str, Any] = listed[name].input_schema
        properties: dict[str, Any] = schema["properties"]
        return properties

    remember = props("nmem_remember")
    assert listed["nmem_remember"].input_schema["required"] == ["content"]
    assert remember["content"]["minLength"] == 1
    assert _enum(remember["type"]) == list(MEMORY_TYPES)
    assert _bounds(remember["priority"]) == (0, 10)
    assert _bounds(remember["expires_days"])[0] == 1
    assert remember["encrypted"]["type"] == "boolean"
    assert set(remember) == {
        "content",
        "type",
        "tags",
        "priority",
        "expires_days",
        "encrypted",
        "project",
        "supersedes",
    }
    recall = props("nmem_recall")
    assert set(recall) == {"query", "limit", "tags", "type", "project", "since", "until"}
    assert _bounds(recall["limit"])[0] == 1
    assert set(props("nmem_edit")) == {
        "memory_id",
        "content",
        "tags",
        "priority",
        "type",
        "supersedes",
    }
    assert _bounds(props("nmem_edit")["priority"]) == (0, 10)
    assert _enum(props("nmem_sync")["action"]) == ["seed", "push", "pull", "full"]
    assert _enum(props("nmem_sync")["strategy"]) == list(STRATEGIES)
    config = props("nmem_sync_config")
    assert _enum(config["action"]) == ["get", "set", "setup"]
    assert _enum(config["conflict_strategy"]) == list(STRATEGIES)
    assert set(config) == {
        "action",
        "hub_url",
        "api_key",
        "ca_cert",
        "conflict_strategy",
        "auto_sync",
    }
    assert props("nmem_sync_status") == props("nmem_sync_conflicts") == {}
    assert set(props("nmem_sync_restore")) == {"conflict_id"}
    assert listed["nmem_stats"].annotations is not None
    assert listed["nmem_stats"].annotations.read_only_hint is True


async def test_remember_recall_edit_forget_and_stats(server: tuple[Path, ClientSession]) -> None:
    session, brain = own_brain(server)
    db = await call(
        session,
        "nmem_remember",
        content="We chose PostgreSQL for the billing service because of JSONB support",
        tags=["billing"],
        priority=8,
    )
    assert db["created"] is True and db["id"].startswith("m-")
    deploy = await call(
        session, "nmem_remember", content="Deploys of billing happen on Fridays", type="fact"
    )
    again = await call(
        session,
        "nmem_remember",
        content="We chose PostgreSQL for the billing service because of JSONB support",
    )
    assert again == {**db, "created": False}
    secret = await call(
        session,
        "nmem_remember",
        content="The staging password hint is the cat's name",
        encrypted=True,
        expires_days=30,
    )
    assert "expires_at" in secret

    found = await call(session, "nmem_recall", query="which database does billing use?")
    assert found["query"] == "which database does billing use?"
    best = found["memories"][0]
    assert best["id"] == db["id"]
    assert best["content"].startswith("We chose PostgreSQL")
    assert best["tags"] == ["billing"] and best["priority"] == 8
    assert best["score"] > 0 and best["via"] in {"text", "concept", "relation", "link"}
    assert "expires_at" not in best  # null fields are left out
    scores = [hit["score"] for hit in found["memories"]]
    assert scores == sorted(scores, reverse=True)

    only_facts = await call(session, "nmem_recall", query="billing", type="fact", limit=1)
    assert [hit["id"] for hit in only_facts["memories"]] == [deploy["id"]]
    tagged = await call(session, "nmem_recall", query="billing", tags=["billing"])
    assert {hit["id"] for hit in tagged["memories"]} == {db["id"]}

    # Encrypted on disk, readable on this device that holds the brain key.
    hint = await call(session, "nmem_recall", query="staging password hint")
    assert hint["memories"][0]["id"] == secret["id"]
    assert hint["memories"][0]["encrypted"] is True
    assert hint["memories"][0]["content"] == "The staging password hint is the cat's name"

    tuesdays = "Deploys of billing happen on Tuesdays"
    edited = await call(session, "nmem_edit", memory_id=deploy["id"], content=tuesdays)
    assert edited["content"] == tuesdays
    assert edited["type"] == "fact" and edited["id"] == deploy["id"]
    retagged = await call(session, "nmem_edit", memory_id=deploy["id"], tags=["ops"], priority=2)
    assert (retagged["tags"], retagged["priority"]) == (["ops"], 2)
    assert retagged["content"] == edited["content"]

    stats = await call(session, "nmem_stats")
    assert (stats["memories"], stats["encrypted"]) == (3, 1)
    assert stats["neurons"] > 0 and stats["db_bytes"] > 0 and stats["brain"] == brain

    assert await call(session, "nmem_forget", memory_id=deploy["id"]) == {
        "id": deploy["id"],
        "forgotten": True,
    }
    after = await call(session, "nmem_recall", query="Tuesdays deploys", limit=10)
    assert deploy["id"] not in {hit["id"] for hit in after["memories"]}
    assert (await call(session, "nmem_stats"))["memories"] == 2


async def test_bad_arguments_are_tool_errors_and_the_server_keeps_serving(
    server: tuple[Path, ClientSession],
) -> None:
    session, _ = own_brain(server)
    wrong_enum = await call_error(session, "nmem_remember", content="x", type="rumour")
    assert "nmem_remember" in wrong_enum and "type" in wrong_enum
    assert "content" in await call_error(session, "nmem_remember")
    assert "priority" in await call_error(session, "nmem_remember", content="x", priority=11)
    assert "limit" in await call_error(session, "nmem_recall", query="x", limit=0)
    assert "action" in await call_error(session, "nmem_sync", action="everything")
    assert "action" in await call_error(session, "nmem_sync_config", action="delete")
    assert "memory_id" in await call_error(session, "nmem_forget", memory_id="no spaces")
    # The library's own messages, word for word as the CLI shows them.
    assert (
        await call_error(session, "nmem_remember", content="   ")
        == "Error executing tool nmem_remember: content must be non-empty text"
    )
    assert (
        await call_error(session, "nmem_forget", memory_id="m-missing")
        == "Error executing tool nmem_forget: no memory with id m-missing"
    )
    assert "nothing to change" in await call_error(session, "nmem_edit", memory_id="m-x")
    assert await call_error(session, "nmem_remember", content="deploy key ghp_" + "a" * 36) == (
        "Error executing tool nmem_remember: content holds a GitHub token; secrets are never"
        " stored (remove it (keep it in a password manager) and remember the rest)"
    )
    assert "Sync is not configured" in await call_error(session, "nmem_sync", action="push")
    assert "Cloud hub requires HTTPS" in await call_error(
        session, "nmem_sync_config", action="set", hub_url="http://203.0.113.7:8000"
    )
    not_a_key = "nmk_" + "Z" * 300
    refused = await call_error(session, "nmem_sync_config", action="set", api_key=not_a_key)
    assert "not an API key" in refused and "nmk_ZZZZ" not in refused
    assert "takes no settings" in await call_error(
        session, "nmem_sync_config", action="get", auto_sync=False
    )
    assert "no open conflict" in await call_error(
        session, "nmem_sync_restore", conflict_id="c-none"
    )
    unknown = await session.call_tool("nmem_teleport", {})
    assert unknown.is_error
    # Still serving.
    assert (await call(session, "nmem_remember", content="still here"))["created"] is True
    assert (await call(session, "nmem_stats"))["memories"] == 1


async def test_sync_config_without_a_hub_explains_the_setup(
    server: tuple[Path, ClientSession],
) -> None:
    session, _ = own_brain(server)
    setup = await call(session, "nmem_sync_config", action="setup")
    assert setup["stage"] == "no_hub"
    assert any("nmem serve" in step for step in setup["steps"])
    shown = await call(session, "nmem_sync_config", action="get")
    assert shown["enabled"] is False and shown["api_key"] is None
    status = await call(session, "nmem_sync_status")
    assert status["enabled"] is False and status["hub"] is None
    assert await call(session, "nmem_sync_conflicts") == {"conflicts": []}
    seeded = await call(session, "nmem_sync", action="seed")
    assert seeded["action"] == "seed"


async def test_the_project_is_the_folder_the_client_started_the_server_in(tmp_path: Path) -> None:
    home = tmp_path / "home"
    falcon, heron = tmp_path / "falcon", tmp_path / "heron"
    for folder in (falcon, heron):
        subprocess.run(["git", "init", "-q", str(folder)], check=True)
        remote = f"git@github.com:ada/{folder.name}.git"
        subprocess.run(["git", "-C", str(folder), "remote", "add", "origin", remote], check=True)
    async with mcp_session(home, cwd=falcon) as session:
        mine = await call(session, "nmem_remember", content="Falcon billing runs on PostgreSQL")
        general = await call(
            session, "nmem_remember", content="Billing reports are due on Mondays", project=""
        )
        found = await call(session, "nmem_recall", query="billing")
        assert [m["id"] for m in found["memories"]] == [mine["id"], general["id"]]
        assert found["memories"][0]["project"] == "github.com/ada/falcon"
        assert "project" not in found["memories"][1]  # none: left out
    async with mcp_session(home, cwd=heron) as session:
        found = await call(session, "nmem_recall", query="billing")
        assert [m["id"] for m in found["memories"]] == [general["id"]]
        every = await call(session, "nmem_recall", query="billing", project="*")
        assert {m["id"] for m in every["memories"]} == {mine["id"], general["id"]}
        assert "a project must be" in await call_error(
            session, "nmem_remember", content="x", project="*"
        )
