"""A brain belongs to the account that first synced it: everyone else gets 403 everywhere."""

from __future__ import annotations

import httpx
from hub_api import device, error, pushed, register, uid, version


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
