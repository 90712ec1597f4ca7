"""Attacks on a hub that requires keys, on SQLite and PostgreSQL: zero successes, and the
victim's brain afterwards is byte-for-byte what it was (digest, records, seq compared).

Brain-scoped endpoints are tried with another account's key, a revoked key, a key with one
character changed, malformed headers and no key; brain ids crafted to traverse or collide; SQL
significant characters in every field a client controls; registration flooding.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from helpers.hub_api import Account, device, pushed, register, uid, version
from helpers.hub_targets import PYTHON_TARGETS, HubOptions, StartedHubs

BRAIN_CALLS: list[tuple[str, str, Any]] = [
    ("GET", "", None),
    ("POST", "push", "push"),
    ("POST", "pull", {"device": device("dev-x"), "cursor": 0}),
    ("GET", "digest", None),
    ("POST", "buckets", {"buckets": list(range(256))}),
    ("POST", "fetch", {"keys": [{"kind": "memory", "id": "m-1"}]}),
    ("GET", "devices", None),
]

SQL_TEXT = ["'", '";--', "%", "_", "' OR '1'='1", "%_%", "\\", "'); DROP TABLE records;--"]


@pytest.fixture(params=PYTHON_TARGETS)
def client(request: pytest.FixtureRequest, real_hubs: StartedHubs) -> Iterator[httpx.Client]:
    hub = real_hubs.get(request.param)
    with httpx.Client(base_url=hub.url, timeout=30) as http:
        yield http


def snapshot(client: httpx.Client, owner: Account, brain: str) -> dict[str, Any]:
    """Everything the owner can read of the brain (devices' last-seen times aside)."""
    digest = client.get(f"/v1/brains/{brain}/digest", headers=owner.auth).json()
    pulled = client.post(
        f"/v1/brains/{brain}/pull",
        json={"device": device("dev-a"), "cursor": 0, "limit": 1000},
        headers=owner.auth,
    ).json()
    buckets = client.post(
        f"/v1/brains/{brain}/buckets", json={"buckets": list(range(256))}, headers=owner.auth
    ).json()
    return {"digest": digest, "records": pulled["records"], "buckets": buckets}


@pytest.fixture
def victim(client: httpx.Client) -> tuple[Account, str, dict[str, Any]]:
    owner = register(client)
    brain = uid("b-victim-")
    pushed(client, owner, brain, *(version(f"m-{n}") for n in range(5)))
    return owner, brain, snapshot(client, owner, brain)


def attack_calls(brain: str) -> list[tuple[str, str, Any]]:
    calls = []
    for method, name, body in BRAIN_CALLS:
        if body == "push":
            body = {"device": device("dev-x"), "records": [version("m-1").model_dump()]}
        calls.append((method, f"/v1/brains/{brain}/{name}".rstrip("/"), body))
    return calls


def refused(answer: httpx.Response, *statuses: int) -> None:
    assert answer.status_code in statuses, (answer.status_code, answer.text[:200])
    assert "records" not in answer.json() and "entries" not in answer.json()


def one_char_changed(key: str) -> str:
    last = key[-1]
    return key[:-1] + ("A" if last != "A" else "B")


def test_no_other_key_reaches_the_brain_and_the_brain_is_unchanged(
    client: httpx.Client, victim: tuple[Account, str, dict[str, Any]]
) -> None:
    owner, brain, before = victim
    stranger = register(client)
    spare = client.post("/v1/auth/keys", json={"name": "spare"}, headers=owner.auth).json()
    revoked = client.delete(f"/v1/auth/keys/{spare['key_id']}", headers=owner.auth)
    assert revoked.status_code == 200
    headers: list[tuple[dict[str, str], int]] = [
        (stranger.auth, 403),
        ({"Authorization": f"Bearer {spare['api_key']}"}, 401),  # revoked
        ({"Authorization": f"Bearer {one_char_changed(owner.key)}"}, 401),
        ({"Authorization": f"Bearer {owner.key[:-1]}"}, 401),  # truncated
        ({"Authorization": f"Basic {owner.key}"}, 401),
        ({"Authorization": owner.key}, 401),
        ({"Authorization": "Bearer"}, 401),
        ({"Authorization": "Bearer nmk_" + "!'%_" * 10}, 401),
        ({"Authorization": f"Bearer {owner.key.upper()}"}, 401),
        ({"Authorization": f"Bearer {owner.key}, Bearer {stranger.key}"}, 401),
        ({}, 401),
    ]
    successes = []
    for auth, status in headers:
        for method, path, body in attack_calls(brain):
            answer = client.request(method, path, json=body, headers=auth)
            if answer.status_code < 400:
                successes.append((auth, method, path))
            refused(answer, status)
    assert successes == []
    # the stranger's listings hold nothing of the victim; its key cannot revoke the victim's
    assert brain not in client.get("/v1/brains", headers=stranger.auth).text
    listed = client.get("/v1/auth/keys", headers=stranger.auth).json()["keys"]
    assert {k["key_id"] for k in listed} == {stranger.key_id}
    refused(client.delete(f"/v1/auth/keys/{owner.key_id}", headers=stranger.auth), 404)
    assert client.get("/v1/status", headers=owner.auth).status_code == 200  # still valid
    assert snapshot(client, owner, brain) == before


@pytest.mark.parametrize(
    "crafted",
    [
        "..",
        "%2e%2e",
        "%2E%2E%2F",
        "..%2f..%2fetc%2fpasswd",
        "%2e%2e%2fv1%2fstatus",
        "b" * 129,
        "b" * 5000,
        "%00",
        "b-victim%00",
        "%C3%A9t%C3%A9",
        "%E2%80%AE",
    ],
)
def test_traversal_and_malformed_brain_ids_are_refused(
    client: httpx.Client, victim: tuple[Account, str, dict[str, Any]], crafted: str
) -> None:
    owner, brain, before = victim
    stranger = register(client)
    for key in (stranger, owner):
        for method, path, body in attack_calls(crafted):
            answer = client.request(method, path, json=body, headers=key.auth)
            assert 400 <= answer.status_code < 500, (path, answer.status_code, answer.text[:200])
    assert snapshot(client, owner, brain) == before


def test_case_variants_and_near_ids_never_reach_the_victims_brain(
    client: httpx.Client, victim: tuple[Account, str, dict[str, Any]]
) -> None:
    owner, brain, before = victim
    stranger = register(client)
    for variant in (brain.upper(), brain.capitalize(), brain + ".", brain + "-", brain[:-1]):
        for method, path, body in attack_calls(variant):
            answer = client.request(method, path, json=body, headers=stranger.auth)
            assert answer.status_code < 500, answer.text
            if answer.status_code < 300:  # a brain of the stranger's own, never the victim's
                text = answer.text
                assert brain not in text and "memory m-0" not in text, (path, text[:300])
    assert snapshot(client, owner, brain) == before


@pytest.mark.parametrize("text", SQL_TEXT)
def test_sql_significant_characters_everywhere(
    client: httpx.Client, victim: tuple[Account, str, dict[str, Any]], text: str
) -> None:
    owner, brain, before = victim
    stranger = register(client)
    label = f"x{text}y"
    answers = [
        client.post("/v1/auth/register", json={"email": f"a{text}b@example.com"}),
        client.post("/v1/auth/register", json={"email": f"{text}@{text}.{text}"}),
        client.post("/v1/auth/keys", json={"name": label}, headers=stranger.auth),
        client.delete(f"/v1/auth/keys/{text}", headers=stranger.auth),
        client.delete(f"/v1/auth/keys/key_{text}", headers=stranger.auth),
        client.post(
            f"/v1/brains/{brain}/pull",
            json={"device": {"device_id": "dev-x", "name": label, "platform": label}},
            headers=stranger.auth,
        ),
    ]
    mine = uid("b-mine-")
    for path_id in (f"{mine}{text}", f"{brain}{text}", text, f"b{text}%"):
        for method, path, body in attack_calls(path_id):
            answers.append(client.request(method, path, json=body, headers=stranger.auth))
    answers += [
        client.post(
            f"/v1/brains/{mine}/push",
            json={
                "device": {"device_id": "dev-x", "name": label, "platform": label},
                "brain_name": f"n{text}",
                "records": [{**version("m-1").model_dump(), "id": f"m{text}"}],
            },
            headers=stranger.auth,
        ),
        client.post(
            f"/v1/brains/{mine}/fetch",
            json={"keys": [{"kind": "memory", "id": f"m-{text}"}, {"kind": text, "id": "m-1"}]},
            headers=stranger.auth,
        ),
        client.post(
            f"/v1/brains/{mine}/pull",
            json={"device": device(f"dev{text}"), "cursor": 0},
            headers=stranger.auth,
        ),
    ]
    # an account of the stranger's own, a brain of its own with a legal id full of `_` and `.`
    own = f"b_{secrets.token_hex(4)}_._"
    pushed(client, stranger, own, version("m_1"), version("m_2"))
    like = client.post(
        f"/v1/brains/{own}/fetch",
        json={"keys": [{"kind": "memory", "id": "m__"}, {"kind": "memory", "id": "m_%"}]},
        headers=stranger.auth,
    )
    answers.append(like)
    assert all(answer.status_code < 500 for answer in answers), [
        (a.request.url.path, a.status_code) for a in answers if a.status_code >= 500
    ]
    assert like.status_code in (200, 400) and "m_1" not in like.text  # no LIKE wildcards
    for answer in answers:
        if answer.status_code < 300:
            assert "memory m-0" not in answer.text  # nothing of the victim
    assert snapshot(client, owner, brain) == before


@pytest.mark.parametrize("target", PYTHON_TARGETS)
def test_registration_flooding_hits_the_rate_limit(real_hubs: StartedHubs, target: str) -> None:
    hub = real_hubs.get(target, HubOptions(rate_limit=10))
    statuses = []
    with httpx.Client(base_url=hub.url, timeout=30) as http:
        for _ in range(25):
            answer = http.post("/v1/auth/register", json={"email": uid("flood-") + "@ex.com"})
            statuses.append(answer.status_code)
            if answer.status_code == 429:
                assert answer.json()["error"] == "Rate limited"
                assert int(answer.headers["Retry-After"]) >= 1
    assert statuses.count(201) <= 10 and statuses.count(429) >= 15, statuses
