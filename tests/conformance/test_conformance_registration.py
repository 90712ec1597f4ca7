"""Who may register (open, closed, invite) and invite codes, over HTTP against every hub target.

Invites are made with each hub's own operator tool: `nmem hub invite --db` for `nmem serve`,
`node sync-hub/scripts/invite.mjs` (wrangler d1 execute) for the Worker.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import httpx

from helpers.hub_api import error, uid
from helpers.hub_targets import RunningHub, Target
from neuralmemory.errors import (
    MSG_INVALID_INVITE,
    MSG_INVALID_PAIR_CODE,
    MSG_INVITE_REQUIRED,
    MSG_REGISTRATION_CLOSED,
)

REGISTER = "/v1/auth/register"


def email() -> str:
    return uid("reg-") + "@example.com"


def test_info_says_who_may_register(
    client: httpx.Client, closed: RunningHub, invited: RunningHub
) -> None:
    assert client.get("/v1/hub/info").json()["registration"] == "open"
    assert httpx.get(closed.url + "/v1/hub/info").json()["registration"] == "closed"
    assert httpx.get(invited.url + "/v1/hub/info").json()["registration"] == "invite"


def test_a_closed_hub_refuses_every_registration(closed: RunningHub) -> None:
    with httpx.Client(base_url=closed.url) as client:
        for body in ({"email": email()}, {"email": email(), "invite": closed.invite("7d")}):
            refused = client.post(REGISTER, json=body)
            assert error(refused, 403, "registration_closed") == MSG_REGISTRATION_CLOSED
        # a malformed body is still a 400, as anywhere
        assert error(client.post(REGISTER, json={"email": 7}), 400, "invalid_request")


def test_an_invite_registers_once(invited: RunningHub) -> None:
    with httpx.Client(base_url=invited.url) as client:
        missing = client.post(REGISTER, json={"email": email()})
        assert error(missing, 403, "invalid_invite") == MSG_INVITE_REQUIRED
        unknown = client.post(REGISTER, json={"email": email(), "invite": "ABCD-EFGH-JKMN-PQRS"})
        assert error(unknown, 403, "invalid_invite") == MSG_INVALID_INVITE
        for bad in (7, "has space", "x" * 65):
            answer = client.post(REGISTER, json={"email": email(), "invite": bad})
            assert error(answer, 400, "invalid_request")

        code = invited.invite("7d")
        made = client.post(REGISTER, json={"email": email(), "invite": code})
        assert made.status_code == 201, made.text
        key = made.json()["api_key"]
        status = client.get("/v1/status", headers={"Authorization": f"Bearer {key}"})
        assert status.json()["account_id"] == made.json()["account_id"]
        again = client.post(REGISTER, json={"email": email(), "invite": code})
        assert error(again, 403, "invalid_invite") == MSG_INVALID_INVITE


def test_an_invite_is_typed_loosely_and_kept_when_the_email_is_taken(
    invited: RunningHub,
) -> None:
    with httpx.Client(base_url=invited.url) as client:
        taken = email()
        first = client.post(REGISTER, json={"email": taken, "invite": invited.invite("7d")})
        assert first.status_code == 201, first.text
        code = invited.invite("7d")
        refused = client.post(REGISTER, json={"email": taken, "invite": code})
        assert error(refused, 409, "conflict") == "Email already registered"
        # not used up by the refused registration; lower case, without dashes, still the code
        typed = code.replace("-", "").lower()
        assert client.post(REGISTER, json={"email": email(), "invite": typed}).status_code == 201


def test_an_expired_invite_is_refused(invited: RunningHub) -> None:
    code = invited.invite("1s")
    made_by = time.time()
    time.sleep(max(0.0, made_by + 1.5 - time.time()))  # it was made before made_by: expired now
    answer = httpx.post(invited.url + REGISTER, json={"email": email(), "invite": code})
    assert error(answer, 403, "invalid_invite") == MSG_INVALID_INVITE


def test_registrations_racing_for_one_invite_make_one_account(invited: RunningHub) -> None:
    code = invited.invite("7d")

    def attempt(n: int) -> int:
        body = {"email": email(), "invite": code}
        return httpx.post(invited.url + REGISTER, json=body, timeout=60).status_code

    with ThreadPoolExecutor(max_workers=4) as pool:
        statuses = sorted(pool.map(attempt, range(4)))
    assert statuses == [201, 403, 403, 403]


def test_pairing_is_for_the_python_hub_only(target: Target, client: httpx.Client) -> None:
    answer = client.post("/v1/auth/pair", json={"code": "ABCD-EFGH-JKMN-PQRS", "name": "laptop"})
    if target.local_mode:  # nmem serve: a code nobody issued
        assert error(answer, 403, "invalid_pair_code") == MSG_INVALID_PAIR_CODE
    else:  # the Worker has no local account, hence no pairing
        assert error(answer, 404, "not_found") == "Not found"
