"""Per-account quotas and rate limits: what one account may store over all its brains, and how
many requests all its keys may make together (docs/protocol.md, Quotas)."""

from __future__ import annotations

from typing import Any

import httpx

from helpers.hub_api import Account, error, push, pushed, register, uid, version
from helpers.hub_targets import ACCOUNT_RATE_LIMIT, LOW_RATE_LIMIT, QUOTA_BYTES, QUOTA_RECORDS


def digest(client: httpx.Client, account: Account, brain: str) -> dict[str, Any]:
    answer = client.get(f"/v1/brains/{brain}/digest", headers=account.auth)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def usage(client: httpx.Client, account: Account) -> dict[str, Any]:
    status: dict[str, Any] = client.get("/v1/status", headers=account.auth).json()
    return status


def test_the_quota_is_advertised(quota_client: httpx.Client) -> None:
    limits = quota_client.get("/v1/hub/info").json()["limits"]
    assert (limits["max_account_records"], limits["max_account_bytes"]) == (
        QUOTA_RECORDS,
        QUOTA_BYTES,
    )
    assert usage(quota_client, register(quota_client))["limits"] == limits


def test_a_push_past_the_record_quota_is_refused_whole(quota_client: httpx.Client) -> None:
    client, ada, brain = quota_client, register(quota_client), uid("brain-")
    first = [version(f"m-{n}") for n in range(4)]
    pushed(client, ada, brain, *first)
    before = digest(client, ada, brain)
    over = push(client, ada, brain, *(version(f"m-{n}") for n in range(4, 7)))  # 4 + 3 > 6
    message = error(over, 413, "quota_exceeded")
    assert message.startswith("Record quota exceeded: this account holds 4 records")
    assert f"may hold {QUOTA_RECORDS}" in message and "operator" in message
    assert digest(client, ada, brain) == before  # nothing written

    pushed(client, ada, brain, version("m-4"), version("m-5"))  # exactly at the quota
    other = uid("brain-")  # a second brain counts against the same quota, and is not claimed
    error(push(client, ada, other, version("n-1")), 413, "quota_exceeded")
    assert client.get(f"/v1/brains/{other}", headers=ada.auth).status_code == 404

    # At the quota, what adds no record still lands: a deletion (its tombstone is the same
    # record), an edit, and a retry of both.
    gone = version("m-0", parent=first[0].vhash, counter=1, deleted=True, body={})
    edited = version("m-1", parent=first[1].vhash, counter=1, body={"content": "short"})
    for expected in ("accepted", "unchanged"):
        reply = pushed(client, ada, brain, gone, edited)
        assert [r["status"] for r in reply["results"]] == [expected, expected]
    assert usage(client, ada)["usage"]["records"] == QUOTA_RECORDS

    bob = register(client)  # another account has a quota of its own
    pushed(client, bob, uid("brain-"), *(version(f"m-{n}") for n in range(QUOTA_RECORDS)))


def test_a_push_past_the_byte_quota_waits_for_deletions(quota_client: httpx.Client) -> None:
    client, ada, brain = quota_client, register(quota_client), uid("brain-")
    big = [version(f"b-{n}", body={"content": "x" * 2000}) for n in range(4)]
    size = big[0].size()
    assert 3 * size <= QUOTA_BYTES < 4 * size
    pushed(client, ada, brain, *big[:3])
    before = digest(client, ada, brain)
    message = error(push(client, ada, brain, big[3]), 413, "quota_exceeded")
    assert message.startswith(f"Storage quota exceeded: this account holds {3 * size:,} bytes")
    assert f"may hold {QUOTA_BYTES:,}; this push would add {size:,}" in message
    assert "nmem forget" in message
    room = QUOTA_BYTES - 3 * size
    grown = version("b-0", parent=big[0].vhash, counter=1, body={"content": "x" * (2000 + room)})
    error(push(client, ada, brain, grown), 413, "quota_exceeded")
    assert digest(client, ada, brain) == before

    # What shrinks the account lands at the quota, and makes room for what was refused.
    gone = version("b-1", parent=big[1].vhash, counter=1, deleted=True, body={})
    shrunk = version("b-2", parent=big[2].vhash, counter=1, body={"content": "x"})
    for expected in ("accepted", "unchanged"):
        reply = pushed(client, ada, brain, gone, shrunk)
        assert [r["status"] for r in reply["results"]] == [expected, expected]
    assert pushed(client, ada, brain, big[3])["results"][0]["status"] == "accepted"
    assert usage(client, ada)["usage"]["bytes"] <= QUOTA_BYTES


def test_all_keys_of_an_account_share_its_rate_limit(account_limited_client: httpx.Client) -> None:
    client, ada = account_limited_client, register(account_limited_client)
    made = client.post("/v1/auth/keys", json={"name": "laptop"}, headers=ada.auth)
    assert made.status_code == 201, made.text
    keys = [ada.auth, {"Authorization": f"Bearer {made.json()['api_key']}"}]
    # Twice the account's limit and one more, taking turns: whichever minute they fall in, one
    # minute holds more than the limit, while neither key nears its own.
    count = 2 * ACCOUNT_RATE_LIMIT + 1
    assert count // 2 + 2 <= LOW_RATE_LIMIT
    answers = [client.get("/v1/status", headers=keys[n % 2]) for n in range(count)]
    refused = [answer for answer in answers if answer.status_code == 429]
    assert refused and all(answer.status_code in (200, 429) for answer in answers)
    assert error(refused[0], 429, "rate_limited") == "Rate limited"
    seconds = int(refused[0].headers["Retry-After"])
    assert 1 <= seconds <= 60 and refused[0].json()["retry_after"] == seconds

    bob = register(client)  # another account is not affected
    assert client.get("/v1/status", headers=bob.auth).status_code == 200


def test_the_account_limit_is_four_keys_unless_set(limited_client: httpx.Client) -> None:
    limits = limited_client.get("/v1/hub/info").json()["limits"]
    assert limits["account_rate_limit_per_minute"] == 4 * LOW_RATE_LIMIT
