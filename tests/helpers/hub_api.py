"""A tiny client for the conformance tests: accounts, records and assertions on error replies."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

import httpx

from neuralmemory.protocol import EMPTY_DIGEST, Version, item_digest, xor_digest

T0 = 1_732_460_000_000


def uid(prefix: str) -> str:
    return prefix + secrets.token_hex(6)


@dataclass(frozen=True)
class Account:
    account_id: str
    key: str
    key_id: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


def register(client: httpx.Client) -> Account:
    answer = client.post("/v1/auth/register", json={"email": uid("user-") + "@example.com"})
    assert answer.status_code == 201, answer.text
    body = answer.json()
    return Account(body["account_id"], body["api_key"], body["key_id"])


def device(name: str = "dev-a") -> dict[str, str]:
    return {"device_id": name, "name": f"{name} laptop", "platform": "linux"}


def version(
    id: str,
    *,
    parent: str | None = None,
    device_id: str = "dev-a",
    counter: int = 0,
    body: dict[str, Any] | None = None,
    kind: str = "memory",
    deleted: bool = False,
    ms: int = T0,
) -> Version:
    """A valid version (its vhash computed as a device would); a tombstone when deleted."""
    return Version.create(
        kind=kind,
        id=id,
        hlc=f"{ms:013d}-{counter:04x}-{device_id}",
        device_id=device_id,
        parent=parent,
        deleted=deleted,
        strength=250_000,
        body=body if body is not None else {"content": f"memory {id}", "tags": ["t"]},
    )


def push(
    client: httpx.Client,
    account: Account | None,
    brain: str,
    *versions: Version,
    dev: str = "dev-a",
    replaces: dict[str, list[str]] | None = None,
) -> httpx.Response:
    """POST a push of `versions`; `replaces` as the protocol's field (absent when None)."""
    payload: dict[str, Any] = {"device": device(dev), "records": [v.model_dump() for v in versions]}
    if replaces is not None:
        payload["replaces"] = replaces
    return client.post(
        f"/v1/brains/{brain}/push", json=payload, headers=account.auth if account else {}
    )


def pushed(
    client: httpx.Client,
    account: Account | None,
    brain: str,
    *versions: Version,
    dev: str = "dev-a",
    replaces: dict[str, list[str]] | None = None,
) -> dict[str, Any]:
    answer = push(client, account, brain, *versions, dev=dev, replaces=replaces)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def pull(
    client: httpx.Client, account: Account | None, brain: str, dev: str = "dev-a", **fields: Any
) -> dict[str, Any]:
    answer = client.post(
        f"/v1/brains/{brain}/pull",
        json={"device": device(dev), **fields},
        headers=account.auth if account else {},
    )
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def root_of(*versions: Version) -> str:
    root = EMPTY_DIGEST
    for v in versions:
        root = xor_digest(root, item_digest(v.kind, v.id, v.vhash))
    return root


def error(answer: httpx.Response, status: int, code: str) -> str:
    """The reply is the protocol's error shape with this status and code; returns its message."""
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert body["code"] == code and isinstance(body["error"], str), body
    message: str = body["error"]
    return message
