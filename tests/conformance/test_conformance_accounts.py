"""Accounts, API keys, local mode, info and status, over HTTP against every hub target."""

from __future__ import annotations

import re

import httpx
from hub_api import error, pushed, register, uid, version

from neuralmemory.protocol import API_KEY_PATTERN, DIGEST_PATTERN


def test_health_and_info(client: httpx.Client) -> None:
    assert client.get("/v1/health").json() == {"status": "ok"}
    info = client.get("/v1/hub/info").json()
    assert info["protocol"] == 1 and info["buckets"] == 256 and info["auth"] == "keys"
    assert set(info["limits"]) >= {
        "max_body_bytes",
        "max_records_per_push",
        "max_record_bytes",
        "page_size",
        "max_page_size",
        "max_fetch_keys",
        "rate_limit_per_minute",
    }
    assert isinstance(info["version"], str) and isinstance(info["implementation"], str)


def test_register_shows_the_key_once_and_refuses_the_same_email(client: httpx.Client) -> None:
    email = uid("ada-") + "@example.com"
    answer = client.post("/v1/auth/register", json={"email": email})
    assert answer.status_code == 201
    body = answer.json()
    assert re.match(API_KEY_PATTERN, body["api_key"]) and len(body["api_key"]) >= 36
    assert body["key_prefix"] == body["api_key"][:12] and body["email"] == email
    assert body["created_at"].endswith("Z")
    again = client.post("/v1/auth/register", json={"email": email})
    assert error(again, 409, "conflict") == "Email already registered"
    for bad in ({"email": "not-an-email"}, {"email": 7}, {}, {"email": "a@b.c", "extra": 1}):
        assert error(client.post("/v1/auth/register", json=bad), 400, "invalid_request")


def test_keys_create_list_revoke(client: httpx.Client) -> None:
    ada, bob = register(client), register(client)
    made = client.post("/v1/auth/keys", json={"name": "work-laptop"}, headers=ada.auth)
    assert made.status_code == 201
    second = made.json()
    assert second["name"] == "work-laptop" and second["api_key"] != ada.key
    work = {"Authorization": f"Bearer {second['api_key']}"}
    assert client.get("/v1/status", headers=work).json()["account_id"] == ada.account_id

    listed = client.get("/v1/auth/keys", headers=ada.auth).json()["keys"]
    assert [k["name"] for k in listed] == ["default", "work-laptop"]
    for key in listed:
        assert set(key) >= {"key_id", "key_prefix", "created_at", "last_used_at", "revoked"}
        assert "api_key" not in key and ada.key not in str(key) and not key["revoked"]
    assert listed[1]["last_used_at"] is not None  # used for /v1/status above

    # another account sees only its own keys and cannot revoke ours
    assert [k["key_id"] for k in client.get("/v1/auth/keys", headers=bob.auth).json()["keys"]] == [
        bob.key_id
    ]
    refused = client.delete(f"/v1/auth/keys/{second['key_id']}", headers=bob.auth)
    assert error(refused, 404, "not_found") == "Key not found"
    assert client.get("/v1/status", headers=work).status_code == 200

    revoked = client.delete(f"/v1/auth/keys/{second['key_id']}", headers=ada.auth)
    assert revoked.status_code == 200
    assert revoked.json()["revoked"] is True and revoked.json()["key_id"] == second["key_id"]
    # effective at once, on every endpoint
    for answer in (
        client.get("/v1/status", headers=work),
        client.get("/v1/auth/keys", headers=work),
        client.post("/v1/brains/b-1/pull", json={"device": {}}, headers=work),
    ):
        assert error(answer, 401, "invalid_key") == "Invalid or expired API key"
    after = client.get("/v1/auth/keys", headers=ada.auth).json()["keys"]
    assert [(k["name"], k["revoked"]) for k in after] == [
        ("default", False),
        ("work-laptop", True),
    ]
    assert after[1]["revoked_at"] is not None
    missing = client.delete("/v1/auth/keys/key_nothing", headers=ada.auth)
    assert error(missing, 404, "not_found") == "Key not found"


def test_keys_are_required_unless_local(client: httpx.Client, local_client: httpx.Client) -> None:
    for path in ("/v1/status", "/v1/brains", "/v1/auth/keys", "/v1/brains/b-1/digest"):
        assert error(client.get(path), 401, "invalid_key") == "Invalid or expired API key"
        bad = {"Authorization": "Bearer nmk_" + "A" * 40}
        assert error(client.get(path, headers=bad), 401, "invalid_key")

    assert local_client.get("/v1/hub/info").json()["auth"] == "local"
    status = local_client.get("/v1/status").json()
    assert status["account_id"] == "local" and status["tier"] == "free"
    brain = uid("local-")
    pushed(local_client, None, brain, version("m-1"))
    assert brain in [b["brain_id"] for b in local_client.get("/v1/brains").json()["brains"]]
    # with a key, a local hub checks it like any other
    ada = register(local_client)
    assert local_client.get("/v1/status", headers=ada.auth).json()["account_id"] == ada.account_id
    wrong = {"Authorization": "Bearer nmk_" + "B" * 40}
    assert error(local_client.get("/v1/status", headers=wrong), 401, "invalid_key")
    denied = local_client.get(f"/v1/brains/{brain}/digest", headers=ada.auth)
    assert error(denied, 403, "access_denied") == "Access denied"


def test_status_and_brains_show_usage(client: httpx.Client) -> None:
    ada = register(client)
    fresh = client.get("/v1/status", headers=ada.auth).json()
    assert fresh["usage"]["brains"] == 0 and fresh["usage"]["requests_today"] >= 1
    brain = uid("brain-")
    reply = pushed(client, ada, brain, version("m-1"), version("m-2"))
    status = client.get("/v1/status", headers=ada.auth).json()
    usage = status["usage"]
    assert (usage["brains"], usage["records"], usage["devices"]) == (1, 2, 1)
    assert usage["bytes"] > 0 and usage["requests_today"] > fresh["usage"]["requests_today"]
    assert status["limits"] == client.get("/v1/hub/info").json()["limits"]

    [listed] = client.get("/v1/brains", headers=ada.auth).json()["brains"]
    one = client.get(f"/v1/brains/{brain}", headers=ada.auth).json()
    assert listed == one
    assert (one["brain_id"], one["name"], one["records"], one["seq"]) == (brain, "default", 2, 2)
    assert one["root"] == reply["root"] and re.match(DIGEST_PATTERN, one["root"])
    assert one["devices"] == 1 and one["last_write_at"] is not None and one["bytes"] > 0
