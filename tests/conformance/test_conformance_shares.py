"""Key shares (`nmem keys share` / `nmem keys receive`), the same on every hub: stored opaque per
account under an id derived from a one-time code, taken once, bounded, and gone at expiry."""

from __future__ import annotations

import base64
import secrets

import httpx

from helpers.hub_api import Account, error, register
from helpers.hub_targets import LOW_RATE_LIMIT
from neuralmemory.protocol import (
    MAX_SHARE_CHARS,
    MAX_SHARES_PER_ACCOUNT,
    PATH_SHARE,
    PATH_SHARE_TAKE,
)


def new_share_id() -> str:
    return "s-" + secrets.token_hex(16)


def sealed(size: int = 120) -> str:
    return base64.b64encode(secrets.token_bytes(size)).decode()


def put(client: httpx.Client, who: Account, share_id: str, text: str) -> httpx.Response:
    return client.put(PATH_SHARE.format(share_id=share_id), json={"sealed": text}, headers=who.auth)


def take(client: httpx.Client, who: Account, share_id: str) -> httpx.Response:
    return client.post(PATH_SHARE_TAKE.format(share_id=share_id), json={}, headers=who.auth)


def test_a_share_is_taken_once_by_its_account_only(client: httpx.Client) -> None:
    owner, stranger = register(client), register(client)
    share_id, text = new_share_id(), sealed()
    created = put(client, owner, share_id, text)
    assert created.status_code == 201, created.text
    assert created.json()["share_id"] == share_id and created.json()["expires_at"].endswith("Z")
    # A retried request replaces it (same account): idempotent.
    assert put(client, owner, share_id, text).status_code == 201
    # Another account can neither take it nor overwrite it.
    assert "wrong, expired" in error(take(client, stranger, share_id), 404, "not_found")
    assert error(put(client, stranger, share_id, sealed()), 409, "conflict")
    answer = take(client, owner, share_id)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"share_id": share_id, "sealed": text}
    # Taken: gone.
    assert "already used" in error(take(client, owner, share_id), 404, "not_found")


def test_share_requests_are_validated(client: httpx.Client) -> None:
    owner = register(client)
    for bad_id in ("s-xyz", "b-" + "0" * 32, "s-" + "A" * 32):
        assert error(put(client, owner, bad_id, sealed()), 400, "invalid_request")
        assert error(take(client, owner, bad_id), 400, "invalid_request")
    share_id = new_share_id()
    too_big = "A" * (MAX_SHARE_CHARS + 1)
    for body in ({"sealed": too_big}, {"sealed": ""}, {"sealed": "not base64!"}, {"sealed": 5}, {}):
        answer = client.put(PATH_SHARE.format(share_id=share_id), json=body, headers=owner.auth)
        assert error(answer, 400, "invalid_request"), body
    extra = {"sealed": sealed(), "code": "ABCD"}  # a client sends no code, and none is taken
    answer = client.put(PATH_SHARE.format(share_id=share_id), json=extra, headers=owner.auth)
    assert error(answer, 400, "invalid_request")
    assert error(take(client, owner, share_id), 404, "not_found")  # nothing was stored
    keyless = client.put(PATH_SHARE.format(share_id=share_id), json={"sealed": sealed()})
    assert keyless.status_code == 401


def test_an_account_has_a_bounded_number_of_shares_waiting(client: httpx.Client) -> None:
    owner, other = register(client), register(client)
    ids = [new_share_id() for _ in range(MAX_SHARES_PER_ACCOUNT)]
    for share_id in ids:
        assert put(client, owner, share_id, sealed()).status_code == 201
    refused = put(client, owner, new_share_id(), sealed())
    assert "Share limit reached" in error(refused, 409, "conflict")
    assert put(client, other, new_share_id(), sealed()).status_code == 201  # per account
    assert take(client, owner, ids[0]).status_code == 200  # taking one makes room
    assert put(client, owner, new_share_id(), sealed()).status_code == 201


def test_taking_shares_is_rate_limited_like_every_keyed_request(
    limited_client: httpx.Client,
) -> None:
    """Guessing codes means asking for shares: each try counts against the key's limit (twice
    the limit and one more overflow one window, however they fall over two)."""
    ada = register(limited_client)
    answers = [take(limited_client, ada, new_share_id()) for _ in range(2 * LOW_RATE_LIMIT + 1)]
    statuses = [answer.status_code for answer in answers]
    assert statuses[:LOW_RATE_LIMIT] == [404] * LOW_RATE_LIMIT
    assert set(statuses) == {404, 429}
    assert error(answers[statuses.index(429)], 429, "rate_limited")
