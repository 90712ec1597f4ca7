"""The sync tools against a real hub process: config, sync, status, conflicts, and two MCP servers
(two NMEM_HOME folders) sharing one brain through the hub."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest

from helpers.mcp_client import Hub, call, call_error, mcp_session
from mcp import ClientSession

pytestmark = pytest.mark.anyio


async def _connect(session: ClientSession, hub: Hub, api_key: str, *, auto: bool) -> dict[str, Any]:
    return await call(
        session, "nmem_sync_config", action="set", hub_url=hub.url, api_key=api_key, auto_sync=auto
    )


@asynccontextmanager
async def _two_devices(
    tmp_path: Path, hub: Hub, *, auto_a: bool = False
) -> AsyncIterator[tuple[ClientSession, ClientSession]]:
    """Two MCP servers (NMEM_HOME a and b) connected to the hub with one new account."""
    key = hub.register()
    async with mcp_session(tmp_path / "a") as a, mcp_session(tmp_path / "b") as b:
        await _connect(a, hub, key, auto=auto_a)
        await _connect(b, hub, key, auto=False)
        yield a, b


async def test_config_sync_and_status_against_a_real_hub(tmp_path: Path, hub: Hub) -> None:
    key = hub.register()
    shown: list[dict[str, Any]] = []
    async with mcp_session(tmp_path / "a") as session:
        config = await _connect(session, hub, key, auto=False)
        shown.append(config)
        assert config["enabled"] is True and config["hub_url"] == hub.url
        assert config["api_key"] == key[:12] + "****"
        shown.append(await call(session, "nmem_sync_config", action="get"))
        setup = await call(session, "nmem_sync_config", action="setup")
        shown.append(setup)
        assert setup["stage"] == "ready"

        await call(session, "nmem_remember", content="The hub runs on the NAS in the hallway")
        report = await call(session, "nmem_sync", action="full")
        shown.append(report)
        assert report["action"] == "full" and report["pushed"] >= 1
        assert report["verified"] is True and report["pending"] == 0

        status = await call(session, "nmem_sync_status")
        shown.append(status)
        assert status["enabled"] is True and status["hub_url"] == hub.url
        assert status["api_key"] == key[:12] + "****"
        assert status["pending"] == 0 and status["last_error"] is None
        assert status["last_sync"]["action"] == "full"
        assert status["hub"]["reachable"] is True
        devices = {d["device_id"]: d for d in status["hub"]["devices"]}
        me = status["device"]["device_id"]
        assert me in devices and devices[me]["last_sync_at"] is not None
        assert status["hub"]["tier"] and "usage" in status["hub"]
    # The key appears nowhere whole: not in a result, not in the server's log.
    assert key not in json.dumps(shown)
    assert key not in (tmp_path / "a" / "mcp-stderr.log").read_text()


async def test_two_servers_share_a_brain_through_one_hub(tmp_path: Path, hub: Hub) -> None:
    async with _two_devices(tmp_path, hub) as (a, b):
        plan = await call(a, "nmem_remember", content="Invoices are numbered per calendar year")
        old = await call(a, "nmem_remember", content="The office wifi is called Meadow")
        await call(a, "nmem_sync", action="full")

        joined = await call(b, "nmem_sync", action="full")
        assert joined["applied"] >= 2
        found = await call(b, "nmem_recall", query="how are invoices numbered?")
        assert found["memories"][0]["id"] == plan["id"]
        assert found["memories"][0]["content"] == "Invoices are numbered per calendar year"

        # Back the other way: B forgets, A no longer recalls it after syncing.
        await call(b, "nmem_forget", memory_id=old["id"])
        await call(b, "nmem_sync", action="full")
        await call(a, "nmem_sync", action="full")
        after = await call(a, "nmem_recall", query="office wifi name", limit=10)
        assert old["id"] not in {hit["id"] for hit in after["memories"]}

        status = await call(a, "nmem_sync_status")
        names = {d["device_id"] for d in status["hub"]["devices"]}
        assert len(names) == 2


async def test_a_conflict_loser_is_listed_and_restorable(tmp_path: Path, hub: Hub) -> None:
    async with _two_devices(tmp_path, hub) as (a, b):
        memory = await call(a, "nmem_remember", content="Standup is at 9:30")
        await call(a, "nmem_sync", action="full")
        await call(b, "nmem_sync", action="full")

        await call(a, "nmem_edit", memory_id=memory["id"], content="Standup is at 9:15")
        await call(b, "nmem_edit", memory_id=memory["id"], content="Standup is at 10:00")
        await call(a, "nmem_sync", action="full")
        resolved = await call(b, "nmem_sync", action="full", strategy="prefer_local")
        assert resolved["conflicts"] == 1

        listed = (await call(b, "nmem_sync_conflicts"))["conflicts"]
        assert len(listed) == 1
        conflict = listed[0]
        assert conflict["record"] == {"kind": "memory", "id": memory["id"]}
        assert conflict["loser"]["preview"] == "Standup is at 9:15"
        assert conflict["current"]["preview"] == "Standup is at 10:00"
        assert (await call(b, "nmem_sync_status"))["conflicts"] == 1

        restored = await call(b, "nmem_sync_restore", conflict_id=conflict["id"])
        assert restored["restored"] == conflict["id"]
        now = await call(b, "nmem_recall", query="when is standup?")
        assert now["memories"][0]["content"] == "Standup is at 9:15"
        await call(b, "nmem_sync", action="full")
        await call(a, "nmem_sync", action="full")
        seen_by_a = await call(a, "nmem_recall", query="when is standup?")
        assert seen_by_a["memories"][0]["content"] == "Standup is at 9:15"


async def test_auto_sync_runs_in_the_background_after_remember(tmp_path: Path, hub: Hub) -> None:
    async with _two_devices(tmp_path, hub, auto_a=True) as (a, b):
        remembered = await call(a, "nmem_remember", content="Backups run nightly at 02:00")
        # The result came back before any sync: the debounced sync has not run yet.
        first = await call(a, "nmem_sync_status")
        assert first["pending"] > 0 and first["last_sync"] is None

        deadline = time.monotonic() + 20
        while (status := await call(a, "nmem_sync_status"))["last_sync"] is None:
            assert time.monotonic() < deadline, status
            await anyio.sleep(0.25)
        assert status["last_error"] is None
        await call(b, "nmem_sync", action="full")
        found = await call(b, "nmem_recall", query="when do backups run?")
        assert found["memories"][0]["id"] == remembered["id"]


async def test_a_key_in_the_wrong_field_is_never_echoed(tmp_path: Path) -> None:
    """The library's errors and the SDK's own argument errors (which quote the rejected value)."""
    key = "nmk_" + "Pa5tedIntoTheWrongField" * 2
    async with mcp_session(tmp_path / "a") as session:
        errors = {
            "hub_url": await call_error(session, "nmem_sync_config", action="set", hub_url=key),
            "strategy": await call_error(
                session, "nmem_sync_config", action="set", conflict_strategy=key
            ),
            "ca_cert": await call_error(session, "nmem_sync_config", action="set", ca_cert=key),
            "sync": await call_error(session, "nmem_sync", strategy=key),
        }
    log = (tmp_path / "a" / "mcp-stderr.log").read_text(encoding="utf-8")
    for text in [*errors.values(), log]:
        assert key not in text and key[12:] not in text
    assert "that looks like an API key, not a hub URL" in errors["hub_url"]
    # an argument error names the field and what it takes, never the value given
    assert errors["strategy"].startswith(
        "Error executing tool nmem_sync_config: conflict_strategy: Input should be"
    )
    assert "nmk_" not in errors["strategy"]
    assert f"cannot use {tmp_path / 'a'}" not in errors["ca_cert"]  # the server's cwd, not ours
    assert "as a CA certificate" in errors["ca_cert"] and key[:12] + "****" in errors["ca_cert"]
