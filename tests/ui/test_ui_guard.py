"""The UI's guard over plain HTTP (docs/ui.md#safety): no token, no page; a Host header other
than 127.0.0.1:PORT or localhost:PORT is refused (DNS rebinding); a change is a POST with the
page's CSRF token from no other site; and nothing a client sends makes a 500."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from helpers.ui_server import UiServer
from neuralmemory.core.brains import open_brain

ENDS = ("/", "/memories", "/sync", "/conflicts", "/static/ui.css", "/static/ui.js")


@pytest.fixture
def memory(home: Path) -> str:
    with open_brain() as brain:
        return brain.remember("Alice Moreno leads Project Falcon.").memory.id


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


def test_without_the_token_nothing_is_served(ui: UiServer, memory: str) -> None:
    ui.start()
    for path in (*ENDS, f"/memories/{memory}"):
        refused = httpx.get(ui.base + path)
        assert refused.status_code == 403, path
        assert "open the address `nmem ui` printed" in refused.text
        assert memory not in refused.text
    wrong = httpx.get(ui.base + "/?token=" + "x" * len(ui.token))
    assert wrong.status_code == 403 and "set-cookie" not in wrong.headers
    forged = httpx.get(ui.base + "/", cookies={f"nmem_ui_{ui.port}": ui.token})
    assert forged.status_code == 403  # the cookie holds another secret than the printed token


def test_the_token_becomes_an_http_only_strict_cookie_and_leaves_the_address(
    ui: UiServer, memory: str
) -> None:
    ui.start()
    opened = httpx.get(ui.url.replace("/?", f"/memories/{memory}?"))
    assert opened.status_code == 303
    assert opened.headers["location"] == f"/memories/{memory}"
    cookie = opened.headers["set-cookie"]
    assert cookie.startswith(f"nmem_ui_{ui.port}=")
    assert ui.token not in cookie
    assert {"HttpOnly", "SameSite=Strict", "Path=/"} <= {part.strip() for part in cookie.split(";")}
    with ui.client() as client:
        for path in (*ENDS, f"/memories/{memory}"):
            answer = client.get(path)
            assert answer.status_code == 200, path
            assert "script-src 'self'" in answer.headers["content-security-policy"]
            assert answer.headers["x-frame-options"] == "DENY"
            assert answer.headers["cache-control"] == "no-store"


def test_another_host_name_is_refused_even_with_the_cookie(ui: UiServer, memory: str) -> None:
    ui.start()
    with ui.client() as client:
        for host in (
            f"attacker.example:{ui.port}",  # DNS rebinding: the page's own name
            "127.0.0.1",
            f"127.0.0.1:{ui.port + 1}",
            f"127.0.0.2:{ui.port}",
            f"[::1]:{ui.port}",
            f"localhost.attacker.example:{ui.port}",
        ):
            refused = client.get("/memories", headers={"Host": host})
            assert refused.status_code == 400, host
            assert "answers only to http://127.0.0.1" in refused.text
            assert memory not in refused.text
        assert client.get("/memories", headers={"Host": f"localhost:{ui.port}"}).status_code == 200
        # the token is not taken under another name either
        stolen = httpx.get(ui.url, headers={"Host": f"attacker.example:{ui.port}"})
        assert stolen.status_code == 400 and "set-cookie" not in stolen.headers


def test_a_change_needs_the_csrf_token_and_no_other_site(ui: UiServer, memory: str) -> None:
    ui.start()
    forget = f"/memories/{memory}/forget"
    with ui.client() as client:
        token = csrf_of(client.get(f"/memories/{memory}").text)
        refusals = [
            client.post(forget),
            client.post(forget, data={"csrf": ""}),
            client.post(forget, data={"csrf": token[:-1] + "x"}),
            client.post(forget, json={"csrf": token}),
            client.post(
                forget, data={"csrf": token}, headers={"Origin": "https://attacker.example"}
            ),
            client.post(forget, data={"csrf": token}, headers={"Origin": "null"}),
            client.post(f"/?token={ui.token}", data={"csrf": token}),
        ]
        assert [r.status_code for r in refusals] == [403] * len(refusals)
        assert "a form of this page" in refusals[0].text and "a form" in refusals[3].text
        assert "CSRF token" in refusals[1].text and "CSRF token" in refusals[2].text
        assert "another site" in refusals[4].text
        for method in ("PUT", "DELETE", "PATCH"):
            assert client.request(method, forget, data={"csrf": token}).status_code == 405
        huge = client.post(forget, data={"csrf": token, "pad": "x" * 600_000})
        assert huge.status_code == 413
        with open_brain() as brain:
            assert brain.get(memory).content == "Alice Moreno leads Project Falcon."
        done = client.post(
            forget, data={"csrf": token}, headers={"Origin": f"http://127.0.0.1:{ui.port}"}
        )
        assert done.status_code == 303 and done.headers["location"] == "/memories?done=forgot"


def test_without_the_cookie_a_post_with_the_csrf_token_is_refused(
    ui: UiServer, memory: str
) -> None:
    ui.start()
    with ui.client() as client:
        token = csrf_of(client.get(f"/memories/{memory}").text)
    refused = httpx.post(f"{ui.base}/memories/{memory}/forget", data={"csrf": token})
    assert refused.status_code == 403
    with open_brain() as brain:
        assert brain.get(memory).content is not None


def test_what_a_client_sends_is_a_clear_4xx_never_a_500(ui: UiServer, memory: str) -> None:
    ui.start()
    with ui.client() as client:
        token = csrf_of(client.get("/").text)
        answers = {
            "no such page": client.get("/nowhere"),
            "no such memory": client.get("/memories/m-0000"),
            "bad limit": client.get("/memories", params={"limit": "many"}),
            "limit out of range": client.get("/memories", params={"limit": "1000"}),
            "bad type": client.get("/memories", params={"type": "poem"}),
            "bad since": client.get("/memories", params={"since": "yesterday-ish"}),
            "bad recall limit": client.get("/", params={"q": "Alice", "limit": "0"}),
            "bad priority": client.post(
                f"/memories/{memory}/edit",
                data={"csrf": token, "priority": "high", "type": "fact"},
            ),
            "priority out of range": client.post(
                f"/memories/{memory}/edit",
                data={"csrf": token, "priority": "11", "type": "fact"},
            ),
            "edit a missing memory": client.post(
                "/memories/m-0000/edit", data={"csrf": token, "priority": "5", "type": "fact"}
            ),
            "supersede with nothing": client.post(
                f"/memories/{memory}/supersede", data={"csrf": token}
            ),
            "supersede itself": client.post(
                f"/memories/{memory}/supersede", data={"csrf": token, "existing": memory}
            ),
            "restore no conflict": client.post("/conflicts/cf-0000/restore", data={"csrf": token}),
            "switch to no brain": client.post("/brain", data={"csrf": token, "name": "nope"}),
            "switch to a bad name": client.post("/brain", data={"csrf": token, "name": "../x"}),
            "sync unconfigured": client.post("/sync", data={"csrf": token}),
            "bad cookie header": client.get("/", headers={"Cookie": 'a="\\'}),
        }
    statuses = {what: answer.status_code for what, answer in answers.items()}
    assert all(400 <= status < 500 for status in statuses.values()), statuses
    assert "priority" in answers["bad priority"].text
    assert "Sync is not configured" in answers["sync unconfigured"].text


def test_memory_text_is_shown_as_text_never_as_markup(ui: UiServer, home: Path) -> None:
    hostile = '<script>alert(1)</script><img src=x onerror="alert(2)">'
    with open_brain() as brain:
        mid = brain.remember(hostile, tags=["<b>tag</b>"]).memory.id
    ui.start()
    with ui.client() as client:
        pages = [client.get(f"/memories/{mid}").text, client.get("/memories").text]
        pages.append(client.get("/", params={"q": "alert script"}).text)
    for html in pages:
        assert "<script>alert" not in html and "<img src=x" not in html and "<b>tag" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_a_return_address_elsewhere_is_not_followed(ui: UiServer, home: Path) -> None:
    with open_brain():
        pass  # the default brain exists
    ui.start()
    with ui.client() as client:
        token = csrf_of(client.get("/").text)
        for back in ("https://attacker.example/", "//attacker.example/x", "/\\attacker.example"):
            moved = client.post("/brain", data={"csrf": token, "name": "default", "back": back})
            assert moved.status_code == 303 and moved.headers["location"] == "/?done=switched"
