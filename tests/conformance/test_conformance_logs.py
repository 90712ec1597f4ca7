"""The hub's own log, captured at debug level, never holds an API key or a record body."""

from __future__ import annotations

import time

import httpx

from helpers.hub_api import pull, pushed, register, uid, version
from helpers.hub_targets import RunningHub


def test_log_has_no_key_and_no_body(hub: RunningHub, client: httpx.Client) -> None:
    ada = register(client)
    made = client.post("/v1/auth/keys", json={"name": "phone"}, headers=ada.auth).json()
    marker = "do-not-log-" + uid("")
    brain = uid("brain-")
    pushed(client, ada, brain, version("m-1", body={"content": marker, "tags": [marker]}))
    assert pull(client, ada, brain)["records"][0]["body"]["content"] == marker
    client.get("/v1/status", headers={"Authorization": f"Bearer {made['api_key']}"})
    client.get("/v1/status", headers={"Authorization": f"Bearer {ada.key[:-1]}X"})
    time.sleep(0.3)  # let the hub flush its last lines
    log = hub.log.read_text(encoding="utf-8", errors="replace")
    assert f"/v1/brains/{brain}/push" in log  # the request was logged ...
    for secret in (ada.key, made["api_key"], ada.key[12:], made["api_key"][12:], marker):
        assert secret not in log  # ... but not what it carried


def test_log_has_no_invite_code(invited: RunningHub) -> None:
    code = invited.invite("7d")
    wrong = code[:-1] + ("A" if code[-1] != "A" else "B")
    with httpx.Client(base_url=invited.url) as client:
        bodies = [{"email": uid("log-") + "@example.com", "invite": c} for c in (wrong, code)]
        refused, made = (client.post("/v1/auth/register", json=body) for body in bodies)
    assert refused.status_code == 403 and made.status_code == 201
    key = made.json()["api_key"]
    time.sleep(0.3)  # let the hub flush its last lines
    log = invited.log.read_text(encoding="utf-8", errors="replace")
    assert "/v1/auth/register" in log
    for secret in (code, code.replace("-", ""), wrong, wrong.replace("-", ""), key, key[12:]):
        assert secret not in log
