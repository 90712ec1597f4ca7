"""Record history (docs/protocol.md, "History"): a push of a version a memory held before its
current one is refused as a conflict marked `superseded`, so a device restored from a backup
takes the hub's version instead of making a conflict copy of its own stale one. A rival edit
is a plain conflict; counters keep no history; the history is bounded (HISTORY_DEPTH)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from helpers.hub_api import Account, device, pushed, register, uid, version
from neuralmemory.protocol import HISTORY_DEPTH, Version


def chain(client: httpx.Client, ada: Account, brain: str, first: Version, edits: int) -> Version:
    """Push `first` and `edits` successive edits of it, one push each; returns the last."""
    pushed(client, ada, brain, first)
    last = first
    for n in range(1, edits + 1):
        body = {"content": f"edit {n}"} if first.kind == "memory" else {"devices": {"d": n}}
        last = version(first.id, kind=first.kind, parent=last.vhash, counter=n, body=body)
        assert pushed(client, ada, brain, last)["results"][0]["status"] == "accepted"
    return last


def verdict(client: httpx.Client, ada: Account, brain: str, v: Version) -> dict[str, Any]:
    (result,) = pushed(client, ada, brain, v)["results"]
    assert result["status"] == "conflict" and result["seq"] is None, result
    return dict(result)


def test_a_version_the_record_held_before_is_superseded(client: httpx.Client) -> None:
    ada = register(client)
    brain = uid("brain-")
    v1 = version("m-1")
    v2 = version("m-1", parent=v1.vhash, counter=1, body={"content": "edit 1"})
    pushed(client, ada, brain, v1, v2)  # one batch: v1 was accepted, then replaced
    v3 = version("m-1", parent=v2.vhash, counter=2, body={"content": "edit 2"})
    gone = version("m-1", parent=v3.vhash, counter=3, deleted=True)
    pushed(client, ada, brain, v3)
    pushed(client, ada, brain, gone)
    seq = pushed(client, ada, brain)["seq"]
    for stale in (v1, v2, v3):  # a restored backup pushing what the hub already moved past
        result = verdict(client, ada, brain, stale)
        assert result["superseded"] is True
        assert result["current"]["vhash"] == gone.vhash and result["current"]["deleted"]
    rival = version("m-1", parent=v2.vhash, device_id="dev-b", body={"content": "rival"})
    assert verdict(client, ada, brain, rival)["superseded"] is False
    # A superseded push writes nothing.
    digest = client.get(f"/v1/brains/{brain}/digest", headers=ada.auth).json()
    assert digest["seq"] == seq == 4
    accepted = pushed(client, ada, brain, version("m-2"))["results"][0]
    assert (accepted["status"], accepted["superseded"]) == ("accepted", False)


def test_history_is_bounded_and_kept_for_memories_only(client: httpx.Client) -> None:
    ada = register(client)
    brain = uid("brain-")
    first = version("m-1")
    chain(client, ada, brain, first, HISTORY_DEPTH + 1)
    # HISTORY_DEPTH + 1 versions replaced since: the first fell out of the history.
    assert verdict(client, ada, brain, first)["superseded"] is False
    second = version("m-1", parent=first.vhash, counter=1, body={"content": "edit 1"})
    assert verdict(client, ada, brain, second)["superseded"] is True
    counter = version("a-1", kind="activation", body={"devices": {"d": 0}})
    chain(client, ada, brain, counter, 2)
    assert verdict(client, ada, brain, counter)["superseded"] is False


def test_versions_a_push_names_as_replaced_are_superseded(client: httpx.Client) -> None:
    """A device that replaced pending versions before pushing (an edit coalesced into the next,
    a version rewritten after a conflict) names them in `replaces`: the hub keeps them in the
    record's history, so a restored backup still holding one is told it is superseded."""
    assert client.get("/v1/hub/info").json()["limits"]["max_replaced"] == HISTORY_DEPTH
    ada = register(client)
    brain = uid("brain-")
    base = version("m-1")
    pushed(client, ada, brain, base)
    first, second, last = (
        version("m-1", parent=base.vhash, counter=n, body={"content": f"edit {n}"})
        for n in (1, 2, 3)
    )
    names = {last.vhash: [second.vhash, first.vhash]}
    assert pushed(client, ada, brain, last, replaces=names)["results"][0]["status"] == "accepted"
    for stale in (first, second, base):
        result = verdict(client, ada, brain, stale)
        assert result["superseded"] is True and result["current"]["vhash"] == last.vhash
    rival = version("m-1", parent=base.vhash, device_id="dev-b", body={"content": "rival"})
    assert verdict(client, ada, brain, rival)["superseded"] is False
    # A new record's first accepted version brings its names too.
    draft = version("m-2", body={"content": "draft"})
    final = version("m-2", counter=1, body={"content": "final"})
    pushed(client, ada, brain, final, replaces={final.vhash: [draft.vhash]})
    assert verdict(client, ada, brain, draft)["superseded"] is True


def test_names_of_a_refused_or_repeated_version_are_not_kept(client: httpx.Client) -> None:
    ada = register(client)
    brain = uid("brain-")
    base = version("m-1")
    theirs = version("m-1", parent=base.vhash, device_id="dev-b", body={"content": "theirs"})
    pushed(client, ada, brain, base, theirs)
    lost, mine = (
        version("m-1", parent=base.vhash, counter=n, body={"content": f"mine {n}"}) for n in (1, 2)
    )
    (refused,) = pushed(client, ada, brain, mine, replaces={mine.vhash: [lost.vhash]})["results"]
    assert refused["status"] == "conflict"
    assert verdict(client, ada, brain, lost)["superseded"] is False
    # An unchanged retry adds nothing either: only an accepted version's names are kept.
    (same,) = pushed(client, ada, brain, theirs, replaces={theirs.vhash: [lost.vhash]})["results"]
    assert same["status"] == "unchanged"
    assert verdict(client, ada, brain, lost)["superseded"] is False


@pytest.mark.parametrize(
    "names",
    [
        pytest.param(lambda v: [], id="not-an-object"),
        pytest.param(lambda v: {"v1:" + "0" * 64: [v]}, id="key-not-pushed"),
        pytest.param(lambda v: {"not-a-vhash": [v]}, id="key-not-a-vhash"),
        pytest.param(lambda v: {v: []}, id="empty-list"),
        pytest.param(lambda v: {v: ["v1:xyz"]}, id="name-not-a-vhash"),
        pytest.param(lambda v: {v: [v] * (HISTORY_DEPTH + 1)}, id="over-the-depth"),
        pytest.param(lambda v: {v: v}, id="name-list-not-a-list"),
    ],
)
def test_bad_replaces_refuse_the_push_whole(
    client: httpx.Client, names: Callable[[str], Any]
) -> None:
    ada = register(client)
    brain = uid("brain-")
    v = version("m-1")
    answer = client.post(
        f"/v1/brains/{brain}/push",
        json={"device": device("dev-a"), "records": [v.model_dump()], "replaces": names(v.vhash)},
        headers=ada.auth,
    )
    assert answer.status_code == 400, answer.text
    assert answer.json()["code"] == "invalid_request"
    assert "replaces" in answer.json()["error"]
    assert client.get(f"/v1/brains/{brain}/digest", headers=ada.auth).status_code == 404
