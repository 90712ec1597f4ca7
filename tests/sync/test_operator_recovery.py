"""An account locked out of a real `nmem serve --require-keys` hub, and got back by its operator.

Two devices sync an account's brain with device keys. Then the owner's keys are all gone: the
device keys revoked, the admin key lost. The devices get a clear 401 and registering again is
refused; the operator runs `nmem hub keys create --email` on the hub's database; with that admin
key the owner makes new device keys, sets them with `nmem sync config set --api-key`, and both
devices sync again with every memory intact. The keys never reach the hub's debug log, and the
database holds only their hashes. On a SQLite file and on PostgreSQL; each device its own
NMEM_HOME, the commands as users type them (run in-process: the same exit codes and output).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import nullcontext
from pathlib import Path

import httpx
import psycopg
import pytest

from helpers.devices import Device, Hub
from helpers.hub_targets import throwaway_postgres
from helpers.nmem import cli, cli_json
from neuralmemory.hub.auth import hash_key
from neuralmemory.protocol import PATH_KEYS, PATH_REGISTER

ADA = "ada@example.com"
NOTES = [
    "The staging database is pg-staging-2",
    "Deploys freeze on Fridays after 15:00",
    "The VPN certificate expires in March",
]


def device_key(hub: Hub, admin: str, name: str) -> tuple[str, str]:
    """A device key made with an admin key: (its id, the key)."""
    made = httpx.post(
        hub.url + PATH_KEYS, json={"name": name}, headers={"Authorization": f"Bearer {admin}"}
    )
    assert made.status_code == 201, made.text
    return made.json()["key_id"], made.json()["api_key"]


def use_key(home: Path, hub: Hub, key: str) -> None:
    # auto-sync off: the explicit syncs below are what the test counts on
    args = ["sync", "config", "set", "--hub-url", hub.url, "--api-key", key, "--auto-sync", "off"]
    assert cli_json(home, *args)["enabled"] is True


def stored_key_text(hub: Hub) -> str:
    """Everything the database holds about keys (PostgreSQL) or the whole file (SQLite)."""
    if hub.db_url.startswith("sqlite://"):
        return hub.db_bytes().decode("latin-1")
    with psycopg.connect(hub.db_url) as db:
        return repr(db.execute("SELECT * FROM api_keys").fetchall())


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def hub(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Hub]:
    database = throwaway_postgres() if request.param == "postgres" else nullcontext(None)
    with database as url:
        running = Hub(tmp_path / "hub.db", tmp_path / "hub.log", keys=True, db_url=url)
        running.start()
        try:
            yield running
        finally:
            running.stop()


@pytest.mark.timeout(300)
def test_the_operator_gets_a_locked_out_account_back_with_every_memory(
    hub: Hub, tmp_path: Path
) -> None:
    lost_admin = httpx.post(hub.url + PATH_REGISTER, json={"email": ADA}).json()["api_key"]
    laptop, desktop = tmp_path / "laptop", tmp_path / "desktop"
    old_keys = [device_key(hub, lost_admin, name) for name in ("laptop", "desktop")]
    for home, (_, key) in zip((laptop, desktop), old_keys, strict=True):
        use_key(home, hub, key)
    ids = [cli_json(laptop, "remember", note)["id"] for note in NOTES]
    assert cli_json(laptop, "sync", "full")["verified"] is True
    assert cli_json(desktop, "sync", "full")["verified"] is True

    # Locked out: the device keys revoked (a stolen laptop, say), the admin key lost.
    for key_id, _ in old_keys:
        revoked = httpx.delete(
            f"{hub.url}{PATH_KEYS}/{key_id}", headers={"Authorization": f"Bearer {lost_admin}"}
        )
        assert revoked.status_code == 200, revoked.text
    del lost_admin
    for home in (laptop, desktop):
        failed = cli(home, "sync", "full")
        assert failed.returncode == 1
        assert "Error: Invalid or expired API key" in failed.stderr
        assert "the hub's operator makes one with `nmem hub keys create`" in failed.stderr
    again = httpx.post(hub.url + PATH_REGISTER, json={"email": ADA})
    assert again.status_code == 409 and again.json()["error"] == "Email already registered"

    # The operator, on the hub's machine, while the hub keeps serving.
    operator = tmp_path / "operator"
    made = cli_json(operator, "hub", "keys", "create", "--email", ADA, "--db", hub.db_url)
    assert made["scope"] == "admin" and made["email"] == ADA
    admin = made["api_key"]

    # The owner, with the new admin key: a device key per device, set on each.
    new_keys = [device_key(hub, admin, name)[1] for name in ("laptop-2", "desktop-2")]
    for home, key in zip((laptop, desktop), new_keys, strict=True):
        use_key(home, hub, key)
    added = cli_json(desktop, "remember", "The on-call rota moved to Opsgenie")["id"]
    assert cli_json(desktop, "sync", "full")["verified"] is True
    assert cli_json(laptop, "sync", "full")["verified"] is True
    for home in (laptop, desktop):
        with Device(home, hub.url).brain() as brain:
            assert [brain.get(i).content for i in ids] == NOTES
            assert brain.get(added).content == "The on-call rota moved to Opsgenie"
        assert cli_json(home, "stats")["memories"] == 4
    listed = cli_json(operator, "hub", "keys", "list", "--email", ADA, "--db", hub.db_url)
    assert [(k["scope"], k["revoked"]) for k in listed["keys"]] == [
        ("admin", False),  # the lost one: still valid, the owner may revoke it now
        ("device", True),
        ("device", True),
        ("admin", False),
        ("device", False),
        ("device", False),
    ]
    hub.stop()

    log = hub.log.read_text()
    assert "POST /v1/auth/keys 201" in log  # the request log (Hub runs at --log-level debug)
    stored = stored_key_text(hub)
    for secret in [admin, *new_keys]:
        assert secret not in log and secret[12:] not in log
        assert secret not in stored and secret[12:] not in stored
    assert hash_key(admin) in stored  # only the hash is kept
