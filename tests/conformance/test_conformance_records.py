"""The record store: CAS push, the changes feed, digests, buckets, fetch and devices."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from helpers.hub_api import Account, error, pull, push, pushed, register, root_of, uid, version
from neuralmemory.clock import MAX_CLOCK_SKEW_MS, wall_ms
from neuralmemory.protocol import EMPTY_DIGEST, bucket_of


def test_cas_accepts_acks_and_refuses(client: httpx.Client) -> None:
    ada = register(client)
    brain = uid("brain-")
    v1 = version("m-1")
    first = pushed(client, ada, brain, v1)
    assert first["results"] == [
        {
            "kind": "memory",
            "id": "m-1",
            "vhash": v1.vhash,
            "status": "accepted",
            "seq": 1,
            "current": None,
            "superseded": False,
        }
    ]
    assert first["seq"] == 1 and first["root"] == root_of(v1)
    retry = pushed(client, ada, brain, v1)
    assert [(r["status"], r["seq"]) for r in retry["results"]] == [("unchanged", 1)]
    assert retry["root"] == first["root"]

    v2 = version("m-1", parent=v1.vhash, counter=1, body={"content": "edited"})
    rival = version("m-1", parent=v1.vhash, device_id="dev-b", body={"content": "rival"})
    reply = pushed(client, ada, brain, v2, rival)
    assert [r["status"] for r in reply["results"]] == ["accepted", "conflict"]
    current = reply["results"][1]["current"]
    assert current["vhash"] == v2.vhash and current["body"] == {"content": "edited"}
    assert current["seq"] == 2 and reply["seq"] == 2 and reply["root"] == root_of(v2)


def test_a_push_is_all_or_nothing(client: httpx.Client) -> None:
    ada = register(client)
    brain = uid("brain-")
    pushed(client, ada, brain, version("m-0"))
    good = version("m-1").model_dump()
    forged = version("m-2").model_dump() | {"body": {"content": "changed after hashing"}}
    answer = client.post(
        f"/v1/brains/{brain}/push",
        json={"device": {"device_id": "dev-a", "name": "a"}, "records": [good, forged]},
        headers=ada.auth,
    )
    assert answer.status_code == 400 and "records.1" in answer.json()["error"]
    digest = client.get(f"/v1/brains/{brain}/digest", headers=ada.auth).json()
    assert (digest["seq"], digest["records"]) == (1, 1)


def test_a_version_stamped_beyond_the_clock_skew_bound_is_refused(client: httpx.Client) -> None:
    """One device set a year ahead must not push stamps that win every conflict for a year:
    more than max_clock_skew_ms ahead of the hub's clock is a 400 naming the field and the
    rule, and nothing of the push is kept; a clock just inside the bound is accepted."""
    ada = register(client)
    brain = uid("brain-")
    hour = 3_600_000
    inside = version("m-1", ms=wall_ms() + MAX_CLOCK_SKEW_MS - hour)
    pushed(client, ada, brain, inside)
    ahead = version("m-2", ms=wall_ms() + 365 * 24 * hour + hour // 2)
    message = error(push(client, ada, brain, version("m-3"), ahead), 400, "invalid_request")
    assert "records.1.hlc" in message and "max_clock_skew_ms (24 h)" in message
    assert "8760 h ahead of the hub's clock" in message and "set this device's clock" in message
    overflow = version("m-4", ms=9_999_999_999_999, counter=0xFFFF)
    message = error(push(client, ada, brain, overflow), 400, "invalid_request")
    assert "records.0.hlc" in message
    digest = client.get(f"/v1/brains/{brain}/digest", headers=ada.auth).json()
    assert (digest["seq"], digest["records"]) == (1, 1)


def test_concurrent_cas_on_one_record_has_one_winner(client: httpx.Client) -> None:
    ada = register(client)
    brain = uid("brain-")
    base = version("shared")
    pushed(client, ada, brain, base)

    def edit(n: int) -> tuple[str, list[str]]:
        mine = [version(f"own-{n}-{i}", device_id=f"dev-{n}") for i in range(3)]
        rival = version("shared", parent=base.vhash, device_id=f"dev-{n}", body={"n": n})
        reply = pushed(client, ada, brain, *mine, rival, dev=f"dev-{n}")
        return reply["results"][-1]["status"], [r["status"] for r in reply["results"][:-1]]

    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(edit, range(8)))
    assert sorted(status for status, _ in outcomes) == ["accepted"] + ["conflict"] * 7
    assert all(rest == ["accepted"] * 3 for _, rest in outcomes)
    feed = pull(client, ada, brain, limit=1000)
    seqs = [r["seq"] for r in feed["records"]]
    assert feed["seq"] == 1 + 8 * 3 + 1 and seqs == sorted(seqs) and len(set(seqs)) == 25


def test_pull_pages_with_cursor_and_more(client: httpx.Client) -> None:
    ada = register(client)
    brain = uid("brain-")
    mine = [version(f"a-{i}") for i in range(5)]
    theirs = [version(f"b-{i}", device_id="dev-b") for i in range(4)]
    pushed(client, ada, brain, *mine)
    pushed(client, ada, brain, *theirs, dev="dev-b")

    seen, cursor = [], 0
    while True:
        page = pull(client, ada, brain, cursor=cursor, limit=4)
        seen += [(r["id"], r["seq"]) for r in page["records"]]
        cursor = page["cursor"]
        if not page["more"]:
            break
    assert [i for i, _ in seen] == [f"a-{i}" for i in range(5)] + [f"b-{i}" for i in range(4)]
    assert [s for _, s in seen] == list(range(1, 10)) and cursor == 9
    record = pull(client, ada, brain, cursor=5, limit=1)["records"][0]
    assert record == theirs[0].model_dump() | {"seq": 6}  # exactly as pushed, stamped with seq

    others = pull(client, ada, brain, exclude_device=True)
    assert [r["id"] for r in others["records"]] == [f"b-{i}" for i in range(4)]
    assert others["cursor"] == 9 and others["more"] is False and others["seq"] == 9
    noop = pull(client, ada, brain, cursor=9)
    assert noop["records"] == [] and noop["cursor"] == 9 and noop["more"] is False
    assert noop["root"] == root_of(*mine, *theirs)
    capped = pull(client, ada, brain, limit=10**9)
    assert len(capped["records"]) == 9

    devices = client.get(f"/v1/brains/{brain}/devices", headers=ada.auth).json()["devices"]
    by_id = {d["device_id"]: d for d in devices}
    assert set(by_id) == {"dev-a", "dev-b"} and by_id["dev-a"]["cursor"] == 9
    assert by_id["dev-b"]["name"] == "dev-b laptop" and by_id["dev-b"]["platform"] == "linux"
    assert by_id["dev-a"]["last_sync_at"] is not None and by_id["dev-a"]["first_seen_at"]


def test_digest_is_order_independent_and_matches_the_client(client: httpx.Client) -> None:
    ada = register(client)
    v = [version(f"r-{i}", kind=k) for i, k in enumerate(["memory", "link", "activation"] * 3)]
    edit = version("r-0", parent=v[0].vhash, counter=1, body={"content": "second"})
    one, two = uid("brain-"), uid("brain-")
    pushed(client, ada, one, *v, edit)
    pushed(client, ada, two, *reversed(v[1:]))
    pushed(client, ada, two, v[0])
    pushed(client, ada, two, edit)
    first = client.get(f"/v1/brains/{one}/digest", headers=ada.auth).json()
    second = client.get(f"/v1/brains/{two}/digest", headers=ada.auth).json()
    expected = root_of(edit, *v[1:])
    assert first["root"] == second["root"] == expected
    assert first["buckets"] == second["buckets"] and len(first["buckets"]) == 256
    assert first["records"] == 9

    wanted = sorted({bucket_of("memory", "r-0"), bucket_of("link", "r-1")})
    entries = client.post(
        f"/v1/brains/{one}/buckets", json={"buckets": wanted}, headers=ada.auth
    ).json()["entries"]
    assert {(e["kind"], e["id"]) for e in entries} >= {("memory", "r-0"), ("link", "r-1")}
    assert all(e["bucket"] in wanted for e in entries)
    assert {e["vhash"] for e in entries if e["id"] == "r-0"} == {edit.vhash}
    for n, digest in enumerate(first["buckets"]):
        in_bucket = [x for x in (edit, *v[1:]) if bucket_of(x.kind, x.id) == n]
        assert digest == (root_of(*in_bucket) if in_bucket else EMPTY_DIGEST)

    fetched = client.post(
        f"/v1/brains/{one}/fetch",
        json={"keys": [{"kind": "link", "id": "r-1"}, {"kind": "memory", "id": "absent"}]},
        headers=ada.auth,
    ).json()["records"]
    assert [(r["kind"], r["id"], r["vhash"]) for r in fetched] == [("link", "r-1", v[1].vhash)]


def list_buckets(client: httpx.Client, account: Account, brain: str, **body: Any) -> dict[str, Any]:
    answer = client.post(f"/v1/brains/{brain}/buckets", json=body, headers=account.auth)
    assert answer.status_code == 200, answer.text
    reply: dict[str, Any] = answer.json()
    return reply


def test_bucket_listings_come_in_pages_in_byte_order(client: httpx.Client) -> None:
    ada = register(client)
    brain = uid("brain-")
    kinds = ("memory", "link", "activation", "conflict")
    # Case and punctuation: byte order differs from a locale's, so the order is pinned.
    v = [version(f, kind=kinds[n % 4]) for n in range(40) for f in (f"m-{n}", f"M{n}", f"m_{n}")]
    for start in range(0, len(v), 60):
        pushed(client, ada, brain, *v[start : start + 60])
    every = list(range(256))
    expected = sorted((bucket_of(x.kind, x.id), x.kind, x.id, x.vhash) for x in v)

    pages = [list_buckets(client, ada, brain, buckets=every, limit=7)]
    while pages[-1]["more"]:
        last = pages[-1]["entries"][-1]
        after = {"bucket": last["bucket"], "kind": last["kind"], "id": last["id"]}
        pages.append(list_buckets(client, ada, brain, buckets=every, after=after, limit=7))
    listed = [(e["bucket"], e["kind"], e["id"], e["vhash"]) for p in pages for e in p["entries"]]
    assert listed == expected  # each entry once, in (bucket, kind, id) byte order
    assert [len(p["entries"]) for p in pages[:-1]] == [7] * (len(pages) - 1)
    assert 0 < len(pages[-1]["entries"]) <= 7
    assert any(len({e["bucket"] for e in p["entries"]}) > 1 for p in pages)  # across a boundary
    assert all(isinstance(e["seq"], int) and e["seq"] >= 1 for p in pages for e in p["entries"])

    # A client that sends no `after` (one from before paging) gets the first page and `more`.
    first = list_buckets(client, ada, brain, buckets=every, limit=7)
    assert first == pages[0] and first["more"] is True
    whole = list_buckets(client, ada, brain, buckets=every, after=None, limit=len(v))
    assert len(whole["entries"]) == len(v) and whole["more"] is False
    tail = {"bucket": 255, "kind": "memory", "id": "zzz"}  # past every entry
    assert list_buckets(client, ada, brain, buckets=[255], after=tail) == {
        "entries": [],
        "more": False,
    }


def test_a_new_device_finds_the_accounts_brains(client: httpx.Client) -> None:
    ada: Account = register(client)
    brains = {uid("brain-"): name for name in ("default", "work")}
    for brain, name in brains.items():
        answer = push(client, ada, brain, version("m-1"))
        assert answer.status_code == 200
        client.post(
            f"/v1/brains/{brain}/pull",
            json={"device": {"device_id": "dev-a", "name": "a"}, "brain_name": name},
            headers=ada.auth,
        )
    listed = client.get("/v1/brains", headers=ada.auth).json()["brains"]
    assert {b["brain_id"] for b in listed} == set(brains)
