"""The app in-process (Starlette's TestClient, which speaks HTTP to it without a socket): the
cases the browser tests do not make, each fast. The guard is in front, as in `nmem ui`."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from neuralmemory.clock import wall_ms
from neuralmemory.core.brain import Brain
from neuralmemory.core.brains import brains_dir, open_brain
from neuralmemory.ui.app import create_app
from neuralmemory.ui.guard import Secrets

PORT = 8765  # never bound: the client calls the app directly


@pytest.fixture
def client(home: Path) -> Iterator[TestClient]:
    keys = Secrets(port=PORT)
    with TestClient(create_app(keys), base_url=f"http://127.0.0.1:{PORT}") as opened:
        assert opened.get(f"/?token={keys.token}", follow_redirects=False).status_code == 303
        yield opened


def csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


def test_every_page_works_on_a_new_home(client: TestClient, home: Path) -> None:
    for path in ("/", "/?q=anything", "/memories", "/conflicts", "/sync"):
        answer = client.get(path)
        assert answer.status_code == 200, path
    assert "No memories." in client.get("/memories").text
    assert "No conflicts." in client.get("/conflicts").text
    assert "Sync is not configured" in client.get("/sync").text
    assert [p.name for p in brains_dir().glob("*.db")] == ["default.db"]


def test_a_websocket_is_refused(client: TestClient) -> None:
    with pytest.raises(WebSocketDisconnect) as refused, client.websocket_connect("/"):
        pass
    assert refused.value.code == 1008


def test_an_encrypted_memory_is_superseded_by_an_encrypted_one(client: TestClient) -> None:
    with open_brain() as brain:
        old = brain.remember("The vault code is 4711", encrypted=True).memory.id
    page = client.get(f"/memories/{old}")
    assert "The vault code is 4711" in page.text  # this device holds the key
    moved = client.post(
        f"/memories/{old}/supersede",
        data={"csrf": csrf(page.text), "content": "The vault code is 9999"},
        follow_redirects=False,
    )
    assert moved.status_code == 303
    with open_brain() as brain:
        new = brain.get(old).superseded_by
        assert new is not None and brain.get(new).encrypted
        assert brain.get(new).content == "The vault code is 9999"
    found = client.get("/", params={"q": "vault code"}).text
    assert found.count('class="hit"') == 1 and "9999" in found


def test_an_edit_of_a_memory_forgotten_meanwhile_says_so(client: TestClient) -> None:
    with open_brain() as brain:
        mid = brain.remember("Lunch is at noon.").memory.id
    token = csrf(client.get(f"/memories/{mid}").text)
    with open_brain() as brain:
        brain.forget(mid)  # another tab, the command line or an agent
    edited = client.post(
        f"/memories/{mid}/edit", data={"csrf": token, "priority": "5", "type": "fact"}
    )
    assert edited.status_code == 404 and f"no memory with id {mid}" in edited.text
    assert client.get(f"/memories/{mid}/forget").status_code == 404
    forgot = client.post(f"/memories/{mid}/forget", data={"csrf": token})
    assert forgot.status_code == 404


def test_a_memory_stamped_again_at_0_shows_its_time_as_unknown(client: TestClient) -> None:
    """Written while the device's clock was a year ahead, stamped again at 0 once it was right
    (docs/sync.md, "Clocks"): its history says so, not 1970, and not the year-ahead version."""
    with open_brain() as brain:
        year_ahead = wall_ms() + 365 * 24 * 3_600_000
        ahead = Brain(brain.name, brain.db, device_id=brain.device_id, now=lambda: year_ahead)
        mid = ahead.remember("Standup moves to 9:30").memory.id
        with brain.db.transaction():
            (restamped,) = brain.changes.restamp_runaway(in_place_only=True)
        assert restamped.hlc.startswith("0000000000000-")
    page = client.get(f"/memories/{mid}").text
    listed = page.split('<ol class="history">')[1].split("</ol>")[0]
    (entry,) = re.findall(r"<li>(.*?)</li>", listed, re.DOTALL)
    assert entry.startswith('<span class="when">time unknown</span>') and "created" in entry
