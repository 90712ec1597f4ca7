"""nmem_list, nmem_show and the correcting options (supersedes, since/until) through a real MCP
client over stdio."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers.mcp_client import call, call_error, mcp_session

pytestmark = pytest.mark.anyio


async def test_list_show_supersede_and_time_windows(tmp_path: Path) -> None:
    async with mcp_session(tmp_path) as session:
        old = (await call(session, "nmem_remember", content="Deploys freeze at 14:00"))["id"]
        new = await call(
            session, "nmem_remember", content="Deploys freeze at 15:00", supersedes=old
        )
        listed = await call(session, "nmem_list")
        assert [m["id"] for m in listed["memories"]] == [new["id"]]
        assert listed["next_before"] is None
        recalled = await call(session, "nmem_recall", query="deploys freeze", project="*")
        assert [m["id"] for m in recalled["memories"]] == [new["id"]]
        assert (await call(session, "nmem_recall", query="deploys", until="1h"))["memories"] == []
        shown = await call(session, "nmem_show", memory_id=old)
        assert shown["memory"]["superseded_by"] == new["id"]
        assert [h["what"] for h in shown["history"]][-1] == [f"superseded by {new['id']}"]
        page = await call(session, "nmem_list", limit=1, since="1d")
        assert len(page["memories"]) == 1
        bad = await call_error(session, "nmem_list", since="yesterday")
        assert "'yesterday' is not a time" in bad and "7d" in bad
        nothing = await call_error(session, "nmem_edit", memory_id=new["id"])
        assert "nothing to change" in nothing
        missing = await call_error(session, "nmem_show", memory_id="m-nope")
        assert "no memory with id m-nope" in missing
