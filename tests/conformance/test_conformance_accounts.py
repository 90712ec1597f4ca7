"""Accounts, API keys, local mode, info and status, over HTTP against every hub target."""

from __future__ import annotations

import re
import subprocess
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from helpers.hub_api import Account, error, pull, pushed, register, uid, version
from helpers.hub_targets import RunningHub
from neuralmemory.clock import MAX_CLOCK_SKEW_MS
from neuralmemory.errors import MSG_DEVICE_KEY, MSG_KEY_LIMIT, MSG_LAST_ADMIN_KEY
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
        "max_keys_per_account",
        "account_rate_limit_per_minute",
        "max_account_records",
        "max_account_bytes",
        "max_clock_skew_ms",
    }
    assert info["limits"]["max_clock_skew_ms"] == MAX_CLOCK_SKEW_MS == 24 * 3600 * 1000
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
    assert second["scope"] == "device"
    work = {"Authorization": f"Bearer {second['api_key']}"}
    assert client.get("/v1/status", headers=work).json()["account_id"] == ada.account_id

    listed = client.get("/v1/auth/keys", headers=ada.auth).json()["keys"]
    assert [(k["name"], k["scope"]) for k in listed] == [
        ("default", "admin"),
        ("work-laptop", "device"),
    ]
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


def make_key(client: httpx.Client, owner: Account, name: str, **fields: str) -> Account:
    """A new key of `owner`'s account, made with `owner`'s key."""
    made = client.post("/v1/auth/keys", json={"name": name, **fields}, headers=owner.auth)
    assert made.status_code == 201, made.text
    body = made.json()
    return Account(owner.account_id, body["api_key"], body["key_id"])


def test_a_device_key_syncs_but_cannot_manage_keys(client: httpx.Client) -> None:
    ada = register(client)
    phone = make_key(client, ada, "phone")
    for answer in (
        client.post("/v1/auth/keys", json={"name": "mine", "scope": "admin"}, headers=phone.auth),
        client.post("/v1/auth/keys", json={"name": "mine"}, headers=phone.auth),
        client.get("/v1/auth/keys", headers=phone.auth),
        client.delete(f"/v1/auth/keys/{ada.key_id}", headers=phone.auth),
        client.delete(f"/v1/auth/keys/{phone.key_id}", headers=phone.auth),
    ):
        assert error(answer, 403, "access_denied") == MSG_DEVICE_KEY
    keys = client.get("/v1/auth/keys", headers=ada.auth).json()["keys"]
    assert [(k["key_id"], k["revoked"]) for k in keys] == [
        (ada.key_id, False),
        (phone.key_id, False),
    ]
    brain = uid("brain-")
    pushed(client, phone, brain, version("m-1"))
    assert [r["id"] for r in pull(client, phone, brain, dev="dev-b")["records"]] == ["m-1"]
    assert client.get("/v1/status", headers=phone.auth).status_code == 200
    bad = client.post("/v1/auth/keys", json={"name": "x", "scope": "root"}, headers=ada.auth)
    assert "body.scope" in error(bad, 400, "invalid_request")


def test_an_admin_key_makes_admin_keys_and_the_last_one_stays(client: httpx.Client) -> None:
    ada = register(client)
    alone = client.delete(f"/v1/auth/keys/{ada.key_id}", headers=ada.auth)
    assert error(alone, 409, "conflict") == MSG_LAST_ADMIN_KEY
    ops = make_key(client, ada, "ops", scope="admin")
    listed = client.get("/v1/auth/keys", headers=ops.auth).json()["keys"]
    assert [(k["name"], k["scope"]) for k in listed] == [("default", "admin"), ("ops", "admin")]
    assert client.delete(f"/v1/auth/keys/{ada.key_id}", headers=ops.auth).status_code == 200
    last = client.delete(f"/v1/auth/keys/{ops.key_id}", headers=ops.auth)
    assert error(last, 409, "conflict") == MSG_LAST_ADMIN_KEY
    assert client.get("/v1/auth/keys", headers=ops.auth).status_code == 200  # still usable


def test_two_revocations_of_the_last_two_admin_keys_leave_one(client: httpx.Client) -> None:
    def revoke(who: Account, key_id: str) -> int:
        with httpx.Client(base_url=str(client.base_url), timeout=30) as own:
            return own.delete(f"/v1/auth/keys/{key_id}", headers=who.auth).status_code

    with ThreadPoolExecutor(max_workers=2) as pool:
        for _ in range(5):
            ada = register(client)
            ops = make_key(client, ada, "ops", scope="admin")
            # Each key revokes the other at the same time: exactly one may win. The loser is
            # refused as the last admin key (409), or, if the winner's revocation landed
            # before the loser's key was checked, as a revoked key (401).
            both = [pool.submit(revoke, ada, ops.key_id), pool.submit(revoke, ops, ada.key_id)]
            statuses = sorted(f.result() for f in both)
            assert statuses in ([200, 401], [200, 409])
            keys = client.get("/v1/auth/keys", headers=ada.auth)
            if keys.status_code == 401:  # ada's key was the one revoked
                keys = client.get("/v1/auth/keys", headers=ops.auth)
            assert [k["revoked"] for k in keys.json()["keys"]].count(False) == 1


def test_an_account_holds_at_most_max_keys_per_account(client: httpx.Client) -> None:
    limit = client.get("/v1/hub/info").json()["limits"]["max_keys_per_account"]
    ada = register(client)
    made = [make_key(client, ada, f"k{n}") for n in range(1, limit)]
    over = client.post("/v1/auth/keys", json={"name": "over"}, headers=ada.auth)
    assert error(over, 409, "conflict") == MSG_KEY_LIMIT.format(limit=limit)
    assert len(client.get("/v1/auth/keys", headers=ada.auth).json()["keys"]) == limit
    assert client.delete(f"/v1/auth/keys/{made[0].key_id}", headers=ada.auth).status_code == 200
    make_key(client, ada, "again")  # a revoked key frees its place


def test_the_operators_admin_key_gets_a_locked_out_account_back(
    hub: RunningHub, client: httpx.Client
) -> None:
    """Every hub's operator has a tool that makes an admin key for an email (`nmem hub keys
    create`; the Worker's scripts/admin-key.mjs): the way back for an account whose keys are
    lost, since registering again is refused."""
    email = uid("lost-") + "@example.com"
    made = client.post("/v1/auth/register", json={"email": email}).json()
    lost = Account(made["account_id"], made["api_key"], made["key_id"])
    phone = make_key(client, lost, "phone")
    again = client.post("/v1/auth/register", json={"email": email})
    assert error(again, 409, "conflict") == "Email already registered"

    recovered = {"Authorization": f"Bearer {hub.admin_key(email)}"}
    status = client.get("/v1/status", headers=recovered).json()
    assert status["account_id"] == lost.account_id
    listed = client.get("/v1/auth/keys", headers=recovered).json()["keys"]
    assert [(k["name"], k["scope"]) for k in listed] == [
        ("default", "admin"),
        ("phone", "device"),
        ("recovery", "admin"),
    ]
    # With a second admin key, the lost one may be revoked; the devices' keys keep working.
    gone = client.delete(f"/v1/auth/keys/{lost.key_id}", headers=recovered)
    assert gone.status_code == 200
    assert error(client.get("/v1/status", headers=lost.auth), 401, "invalid_key")
    assert client.get("/v1/status", headers=phone.auth).status_code == 200
    with pytest.raises(subprocess.CalledProcessError):
        hub.admin_key(uid("nobody-") + "@example.com")  # refused: no account has it
    assert len(client.get("/v1/auth/keys", headers=recovered).json()["keys"]) == 3
    log = hub.log.read_text(encoding="utf-8", errors="replace")
    token = recovered["Authorization"].removeprefix("Bearer ")
    assert token not in log and token[12:] not in log


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
    # the local account counts as admin: it manages its keys without one
    made = local_client.post("/v1/auth/keys", json={"name": "desk"})
    assert made.status_code == 201 and made.json()["scope"] == "device"
    assert "desk" in [k["name"] for k in local_client.get("/v1/auth/keys").json()["keys"]]
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
