"""A brain belongs to the account that first synced it: everyone else gets 403 everywhere."""

from __future__ import annotations

import httpx

from helpers.hub_api import device, error, pull, push, pushed, register, uid, version
from neuralmemory.protocol import EMPTY_DIGEST


def test_every_brain_scoped_endpoint_refuses_another_account(client: httpx.Client) -> None:
    owner, stranger = register(client), register(client)
    brain = uid("brain-")
    pushed(client, owner, brain, version("m-1"))
    v = version("m-2").model_dump()
    calls = [
        ("POST", "push", {"device": device(), "records": [v]}),
        ("POST", "pull", {"device": device()}),
        ("GET", "digest", None),
        ("POST", "buckets", {"buckets": [0, 1]}),
        ("POST", "fetch", {"keys": [{"kind": "memory", "id": "m-1"}]}),
        ("GET", "devices", None),
        ("GET", "", None),
    ]
    for method, name, body in calls:
        path = f"/v1/brains/{brain}/{name}".rstrip("/")
        answer = client.request(method, path, json=body, headers=stranger.auth)
        assert error(answer, 403, "access_denied") == "Access denied", path
    assert client.get("/v1/brains", headers=stranger.auth).json() == {"brains": []}
    # and nothing the stranger sent changed the brain
    digest = client.get(f"/v1/brains/{brain}/digest", headers=owner.auth).json()
    assert digest["records"] == 1 and digest["seq"] == 1


def test_only_a_push_with_records_claims_a_brain(client: httpx.Client) -> None:
    early, owner = register(client), register(client)
    brain = uid("brain-")
    # Whoever learns an id first gets an empty page and an empty push, and takes nothing.
    empty = pull(client, early, brain, cursor=4)
    assert empty == {"records": [], "cursor": 0, "more": False, "seq": 0, "root": EMPTY_DIGEST}
    assert pushed(client, early, brain) == {"results": [], "seq": 0, "root": EMPTY_DIGEST}
    assert client.get("/v1/brains", headers=early.auth).json() == {"brains": []}
    devices = client.get(f"/v1/brains/{brain}/devices", headers=early.auth)
    assert error(devices, 404, "not_found") == "Brain not found"

    mine = version("m-1")
    assert pushed(client, owner, brain, mine)["results"][0]["status"] == "accepted"
    for answer in (
        client.post(f"/v1/brains/{brain}/pull", json={"device": device()}, headers=early.auth),
        push(client, early, brain),
        push(client, early, brain, version("m-2")),
    ):
        assert error(answer, 403, "access_denied") == "Access denied"
    page = pull(client, owner, brain, dev="dev-b")
    assert [r["vhash"] for r in page["records"]] == [mine.vhash] and page["seq"] == 1
    found = client.get(f"/v1/brains/{brain}/devices", headers=owner.auth).json()["devices"]
    assert sorted(d["device_id"] for d in found) == ["dev-a", "dev-b"]


def test_unknown_brains_are_404_where_nothing_is_claimed(client: httpx.Client) -> None:
    ada = register(client)
    brain = uid("nobody-")
    for method, name, body in [
        ("GET", "digest", None),
        ("POST", "buckets", {"buckets": [0]}),
        ("POST", "fetch", {"keys": [{"kind": "memory", "id": "m"}]}),
        ("GET", "devices", None),
        ("GET", "", None),
    ]:
        path = f"/v1/brains/{brain}/{name}".rstrip("/")
        answer = client.request(method, path, json=body, headers=ada.auth)
        assert error(answer, 404, "not_found") == "Brain not found", path
