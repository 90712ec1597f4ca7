"""`nmem hub accounts`, `keys create|list|revoke` and `brains`, end to end through the CLI on a
real hub database (a SQLite file, and a throwaway PostgreSQL database of its own per test)."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from helpers.hub_records import DEVICE, OTHER_DEVICE, incoming, version
from helpers.hub_targets import throwaway_postgres
from neuralmemory.cli.main import cli
from neuralmemory.errors import (
    MSG_API_KEY_NOT_KEY_ID,
    MSG_EMAIL_OR_ACCOUNT,
    MSG_UNKNOWN_ACCOUNT,
    MSG_UNKNOWN_EMAIL,
    MSG_UNKNOWN_KEY,
)
from neuralmemory.hub.auth import hash_key, new_key
from neuralmemory.hub.backends import Backend, KeyRow, open_backend

NOW = 1_800_000_000_000  # 2027-01-15T08:00:00Z
ADA = "ada@example.com"
BRAIN = "b-" + "4" * 32


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def hub_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A hub database of this test's own, so listings hold exactly what it made."""
    if request.param == "sqlite":
        yield f"sqlite://{tmp_path / 'hub.db'}"
        return
    with throwaway_postgres() as url:
        yield url


@dataclass
class Seeded:
    admin: KeyRow
    phone: KeyRow
    secrets: list[str]


async def _seed(url: str) -> Seeded:
    """ada: her registration key, a phone key, a revoked key and a brain of 3 records that two
    devices sync; bob: nothing; the local account: one paired key."""
    store = await open_backend(url)
    try:
        ada_secret, admin = new_key("acc_ada", "default", NOW, "admin")
        assert await store.create_account("acc_ada", ADA, admin)
        _, bob = new_key("acc_bob", "default", NOW + 1, "admin")
        assert await store.create_account("acc_bob", "bob@example.com", bob)
        phone_secret, phone = new_key("acc_ada", "phone", NOW + 2)
        old_secret, old = new_key("acc_ada", "old-laptop", NOW + 3)
        paired_secret, paired = new_key("local", "den-pc", NOW + 4)
        for key in (phone, old, paired):
            await store.add_key(key, 100)
        await store.revoke_key("acc_ada", old.key_id, NOW + 5)
        records = incoming(version("m-1"), version("m-2"), version("m-3"))
        await store.push("acc_ada", BRAIN, "default", DEVICE, records, NOW + 60_000)
        await store.pull("acc_ada", BRAIN, "default", OTHER_DEVICE, 0, 10, True, NOW + 120_000)
        return Seeded(admin, phone, [ada_secret, phone_secret, old_secret, paired_secret])
    finally:
        await store.close()


def seed(url: str) -> Seeded:
    return asyncio.run(_seed(url))


def on_store(url: str, work: Any) -> Any:
    async def run() -> Any:
        store: Backend = await open_backend(url)
        try:
            return await work(store)
        finally:
            await store.close()

    return asyncio.run(run())


def hub(url: str, *args: str) -> Result:
    return CliRunner().invoke(cli, ["hub", *args, "--db", url])


def hub_json(url: str, *args: str) -> Any:
    done = hub(url, *args, "--json")
    assert done.exit_code == 0, done.output
    return json.loads(done.output)


def refused(url: str, *args: str) -> tuple[str, dict[str, str]]:
    """The message of a refused command, and its --json error."""
    human, machine = hub(url, *args), hub(url, *args, "--json")
    assert human.exit_code == machine.exit_code == 1, human.output
    return human.stderr, json.loads(machine.stdout)


def fits(text: str) -> str:
    assert all(len(line) <= 80 for line in text.splitlines()), text
    return text


def test_accounts_lists_every_account_with_its_figures(hub_db: str) -> None:
    seed(hub_db)
    listed = {a["account_id"]: a for a in hub_json(hub_db, "accounts")["accounts"]}
    assert set(listed) == {"local", "acc_ada", "acc_bob"}
    ada = listed["acc_ada"]
    assert ada["email"] == ADA and ada["created_at"] == "2027-01-15T08:00:00.000Z"
    assert ada["keys"] == {"admin": 1, "device": 1}  # the revoked key is not counted
    assert (ada["brains"], ada["records"]) == (1, 3) and ada["bytes"] > 0
    assert ada["last_active_at"] == "2027-01-15T08:02:00.000Z"  # the other device's sync
    local = listed["local"]
    assert (local["email"], local["created_at"], local["keys"]) == (
        None,
        None,
        {"admin": 0, "device": 1},
    )
    assert listed["acc_bob"]["last_active_at"] is None

    text = fits(hub(hub_db, "accounts").output)
    lines = text.splitlines()
    assert lines[0].split() == ["ACCOUNT", "BRAINS", "RECORDS", "BYTES", "LAST", "ACTIVE", "(UTC)"]
    at = lines.index(next(line for line in lines if line.startswith("acc_ada ")))
    assert lines[at].split()[1:3] == ["1", "3"] and lines[at].endswith("2027-01-15 08:02")
    assert lines[at + 1] == f"  {ADA}, since 2027-01-15; keys: 1 admin, 1 device"
    assert "  the built-in local account (no email); keys: 0 admin, 1 device" in lines


def test_keys_list_shows_every_key_but_never_a_secret(hub_db: str) -> None:
    made = seed(hub_db)
    listed = hub_json(hub_db, "keys", "list", "--email", ADA)
    assert (listed["account_id"], listed["email"]) == ("acc_ada", ADA)
    assert [(k["name"], k["scope"], k["revoked"]) for k in listed["keys"]] == [
        ("default", "admin", False),
        ("phone", "device", False),
        ("old-laptop", "device", True),
    ]
    assert listed["keys"][0]["key_prefix"] == made.admin.key_prefix
    text = fits(hub(hub_db, "keys", "list", "--email", ADA).output)
    assert f"{made.phone.key_id}  {made.phone.key_prefix}  device  active   phone" in text
    assert "revoked 2027-01-15 08:00" in text and "never used" in text
    local = hub_json(hub_db, "keys", "list", "--account", "local")
    assert [k["name"] for k in local["keys"]] == ["den-pc"]
    for output in (json.dumps(listed), text, json.dumps(local)):
        assert not any(secret[12:] in output for secret in made.secrets)
        assert "api_key" not in output


def test_keys_create_makes_an_admin_key_shown_once_and_stored_hashed(hub_db: str) -> None:
    seed(hub_db)
    done = hub(hub_db, "keys", "create", "--email", ADA, "--name", "ada-recovery")
    assert done.exit_code == 0, done.output
    fits(done.output)
    [secret] = re.findall(r"nmk_[A-Za-z0-9]{40}", done.output)
    assert done.output.count(secret) == 1 and "shown this once" in done.output
    stored = on_store(hub_db, lambda store: store.find_key(hash_key(secret), NOW))
    assert (stored.account_id, stored.scope, stored.name) == ("acc_ada", "admin", "ada-recovery")
    assert stored.key_hash != secret and secret not in repr(stored)

    made = hub_json(hub_db, "keys", "create", "--account", "local")
    assert (made["account_id"], made["email"], made["scope"], made["name"]) == (
        "local",
        None,
        "admin",
        "recovery",
    )
    assert made["api_key"].startswith(made["key_prefix"])
    listed = hub_json(hub_db, "keys", "list", "--account", "local")["keys"]
    assert (made["key_id"], "admin") in [(k["key_id"], k["scope"]) for k in listed]

    bad_name = hub(hub_db, "keys", "create", "--email", ADA, "--name", "line\nbreak")
    assert bad_name.exit_code == 1 and "A key name is 1 to 64 characters" in bad_name.stderr


def test_keys_create_is_not_held_back_by_the_key_cap(hub_db: str) -> None:
    """Recovery always works: an account at the cap (all its keys lost) still gets one."""
    seed(hub_db)

    async def fill(store: Backend) -> None:
        for n in range(3):
            await store.add_key(new_key("acc_bob", f"device-{n}", NOW + n)[1], 4)

    on_store(hub_db, fill)
    made = hub_json(hub_db, "keys", "create", "--email", "bob@example.com")
    bob = [a for a in hub_json(hub_db, "accounts")["accounts"] if a["account_id"] == "acc_bob"]
    assert bob[0]["keys"] == {"admin": 2, "device": 3} and made["scope"] == "admin"


def test_keys_revoke_any_key_and_the_last_admin_key_only_with_force(hub_db: str) -> None:
    made = seed(hub_db)
    done = hub_json(hub_db, "keys", "revoke", made.phone.key_id)
    assert (done["account_id"], done["revoked"], done["already_revoked"]) == (
        "acc_ada",
        True,
        False,
    )
    again = hub(hub_db, "keys", "revoke", made.phone.key_id)
    assert again.exit_code == 0 and "was already revoked" in again.output
    assert done["revoked_at"] in json.dumps(hub_json(hub_db, "keys", "list", "--email", ADA))

    message, error = refused(hub_db, "keys", "revoke", made.admin.key_id)
    assert f"{made.admin.key_id} is the last admin key of {ADA}" in message
    assert "nmem hub keys create --account acc_ada" in message and "--force" in message
    assert error["code"] == "conflict"
    still = hub_json(hub_db, "keys", "list", "--email", ADA)["keys"][0]
    assert still["key_id"] == made.admin.key_id and not still["revoked"]

    forced = hub(hub_db, "keys", "revoke", made.admin.key_id, "--force")
    assert forced.exit_code == 0, forced.output
    assert fits(forced.output).splitlines()[1:] == [
        f'  the admin key "default" of {ADA}',
        "The account has no admin key left; make one with:",
        "  nmem hub keys create --account acc_ada",
    ]
    ada = [a for a in hub_json(hub_db, "accounts")["accounts"] if a["account_id"] == "acc_ada"]
    assert ada[0]["keys"] == {"admin": 0, "device": 0}


def test_brains_lists_every_brain_or_one_accounts_with_its_owner(hub_db: str) -> None:
    seed(hub_db)
    [brain] = hub_json(hub_db, "brains")["brains"]
    assert (brain["brain_id"], brain["account_id"], brain["email"]) == (BRAIN, "acc_ada", ADA)
    assert (brain["records"], brain["devices"]) == (3, 2) and brain["bytes"] > 0
    assert brain["last_write_at"] == "2027-01-15T08:01:00.000Z"
    assert hub_json(hub_db, "brains", "--email", ADA)["brains"] == [brain]
    assert hub_json(hub_db, "brains", "--account", "acc_bob")["brains"] == []
    text = fits(hub(hub_db, "brains").output)
    assert text.splitlines()[1].split()[0] == BRAIN
    assert text.splitlines()[1].endswith("2027-01-15 08:01")
    assert f'  "default" of {ADA} (acc_ada)' in text.splitlines()


def test_bad_input_is_refused_naming_how_to_list(hub_db: str) -> None:
    seed(hub_db)
    for command in (["keys", "list"], ["keys", "create"], ["brains"]):
        message, error = refused(hub_db, *command, "--email", "eve@example.com")
        assert MSG_UNKNOWN_EMAIL.format(email="eve@example.com") in message
        assert "`nmem hub accounts` lists every account" in message
        assert error["code"] == "not_found"
        message, _ = refused(hub_db, *command, "--account", "acc_nobody")
        assert MSG_UNKNOWN_ACCOUNT.format(account_id="acc_nobody") in message
        message, error = refused(hub_db, *command, "--email", ADA, "--account", "acc_ada")
        assert MSG_EMAIL_OR_ACCOUNT in message and error["code"] == "invalid_request"
    message, _ = refused(hub_db, "keys", "list")
    assert "Name the account: --email EMAIL, or --account ID" in message

    unknown = "key_" + "0" * 20
    message, error = refused(hub_db, "keys", "revoke", unknown)
    assert MSG_UNKNOWN_KEY.format(key_id=unknown) in message and error["code"] == "not_found"
    assert "`nmem hub keys list --email EMAIL`" in message
    for shape in ("key_123", "acc_ada", "KEY_" + "0" * 20, "key_" + "0" * 20 + "; DROP"):
        message, error = refused(hub_db, "keys", "revoke", shape)
        assert "is not a key id: key ids are key_ and 20 hex digits" in message
        assert error["code"] == "invalid_request"
    api_key = "nmk_" + "S3cr3t" * 7
    message, error = refused(hub_db, "keys", "revoke", api_key)
    assert MSG_API_KEY_NOT_KEY_ID in message and api_key[12:] not in message + json.dumps(error)
    accounts = hub_json(hub_db, "accounts")["accounts"]
    assert [a["keys"] for a in accounts if a["account_id"] == "acc_ada"] == [
        {"admin": 1, "device": 1}
    ]  # nothing changed


def test_a_hub_database_that_is_not_there_is_named_not_made(tmp_path: Path) -> None:
    missing = tmp_path / "typo" / "hub.db"
    for command in (
        ["accounts"],
        ["brains"],
        ["keys", "list", "--account", "local"],
        ["keys", "create", "--account", "local"],
        ["keys", "revoke", "key_" + "0" * 20],
    ):
        message, error = refused(f"sqlite://{missing}", *command)
        assert f"No hub database at {missing}" in message and "--db" in message
        assert error["code"] == "store_error"
    assert not missing.parent.exists()
