"""Failing schedules the convergence model found, pinned as plain tests (each names its fix)."""

from __future__ import annotations

import httpx
from sync_devices import Device


def test_two_fresh_devices_meet_in_one_brain_when_the_first_sync_sent_nothing(
    devices: dict[str, Device],
) -> None:
    """Found by sync_model: `a` pushed with nothing pending (no request reached the hub) and
    bound itself to its own brain id anyway; `b` found no brain on the hub and kept its own id.
    Two brains named `default` on one account, never converging. Fixed in SyncEngine._join:
    a device binds only to a brain the hub holds."""
    a, b = devices["a"], devices["b"]
    assert a.sync("push")["pushed"] == 0
    b.sync("full")
    with a.brain() as brain:
        mid = brain.remember("The falcon deploy uses blue-green rollout").memory.id
    first = a.sync("full")
    second = b.sync("full")
    assert first["joined"] == second["brain_id"]  # a merged into the brain b created
    assert first["verified"] and second["verified"] and first["root"] == second["root"]
    with b.brain() as brain:
        assert brain.get(mid).content == "The falcon deploy uses blue-green rollout"


def test_a_trailing_slash_is_a_404_error_not_a_redirect(hub_transport) -> None:
    """Found by test_attacks: /v1/brains/%2E%2E%2F (`../`) got FastAPI's 307 to /v1/brains/..,
    an empty 3xx where every malformed path gets the protocol's 4xx. Fixed in hub/app.py:
    redirect_slashes=False."""
    with httpx.Client(transport=hub_transport, base_url="http://hub") as http:
        for method, path in [
            ("GET", "/v1/health/"),
            ("GET", "/v1/brains/%2E%2E%2F"),
            ("POST", "/v1/brains/b-1/pull/"),
        ]:
            answer = http.request(method, path, json={})
            assert answer.status_code == 404, (path, answer.status_code)
            assert answer.json() == {"error": "Not found", "code": "not_found"}
