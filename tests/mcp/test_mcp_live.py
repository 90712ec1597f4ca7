"""The MCP server keeps the brain open across calls and still sees what other processes do to
it meanwhile: the CLI remembering, forgetting, editing, switching brains, turning end-to-end
encryption on (core/live.py)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from helpers.mcp_client import NMEM, call, call_error, mcp_session
from neuralmemory.core import e2e
from neuralmemory.core.brains import open_brain

pytestmark = pytest.mark.anyio


def nmem(home: Path, *args: str) -> str:
    """The CLI as another process, on the same home."""
    done = subprocess.run(
        [str(NMEM), *args],
        env={**os.environ, "NMEM_HOME": str(home)},
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


def _ids(found: dict[str, object]) -> list[str]:
    hits = found["memories"]
    assert isinstance(hits, list)
    return [hit["id"] for hit in hits]


async def test_writes_by_the_cli_while_the_server_runs_are_seen(tmp_path: Path) -> None:
    async with mcp_session(tmp_path) as session:
        kept = await call(session, "nmem_remember", content="Alice Moreno leads Project Falcon.")
        assert _ids(await call(session, "nmem_recall", query="Kafka")) == []

        written = nmem(tmp_path, "remember", "Project Falcon streams its events through Kafka.")
        kafka = written.split()[1]
        assert _ids(await call(session, "nmem_recall", query="Kafka"))[0] == kafka

        nmem(tmp_path, "edit", kafka, "--content", "Project Falcon moved its events to Redpanda.")
        assert _ids(await call(session, "nmem_recall", query="Kafka")) == []
        assert _ids(await call(session, "nmem_recall", query="Redpanda"))[0] == kafka

        nmem(tmp_path, "forget", kafka)
        assert _ids(await call(session, "nmem_recall", query="Redpanda")) == []
        assert "no memory with id" in await call_error(session, "nmem_show", memory_id=kafka)
        assert _ids(await call(session, "nmem_recall", query="Alice")) == [kept["id"]]


async def test_switching_brains_from_the_cli_is_seen(tmp_path: Path) -> None:
    async with mcp_session(tmp_path) as session:
        await call(session, "nmem_remember", content="The default brain holds this.")
        nmem(tmp_path, "brain", "create", "work")
        nmem(tmp_path, "brain", "use", "work")
        assert (await call(session, "nmem_stats"))["memories"] == 0
        assert _ids(await call(session, "nmem_recall", query="default brain")) == []
        nmem(tmp_path, "brain", "use", "default")
        assert (await call(session, "nmem_stats"))["memories"] == 1


async def test_end_to_end_encryption_turned_on_by_the_cli_is_seen(home: Path) -> None:
    """The key made before the server starts, so only the brain file changes under the open
    brain: a memory the server writes afterwards must still leave it sealed."""
    nmem(home, "remember", "--encrypted", "The brain key is made with this memory.")
    async with mcp_session(home) as session:
        assert (await call(session, "nmem_stats"))["memories"] == 1  # the brain, open
        nmem(home, "brain", "encrypt")
        done = await call(session, "nmem_remember", content="Written once the brain is sealed.")
        assert _ids(await call(session, "nmem_recall", query="sealed"))[0] == done["id"]
    with open_brain() as brain:
        assert brain.e2e
        stored = brain.changes.current("memory", done["id"], opened=False)
        assert stored is not None and e2e.is_sealed(stored.version.body)
