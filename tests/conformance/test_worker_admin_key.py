"""sync-hub/scripts/admin-key.mjs, the Worker operator's way back into a locked-out account: the
key it prints and the one statement it gives `wrangler d1 execute`, run here on a real SQLite
database made by the Worker's own migrations (D1 is SQLite). The script against a running Worker
and its local D1 is in test_conformance_accounts.py."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import pytest

from helpers.worker_target import ADMIN_KEY, SYNC_HUB
from neuralmemory.protocol import KEY_RE

pytestmark = pytest.mark.worker
NOW = 1_800_000_000_000


def made(email: str, name: str = "recovery") -> Any:
    """What the script's adminKey() returns: {key, keyId, sql}, or {error}."""
    program = (
        f"import {{ adminKey }} from {json.dumps(ADMIN_KEY.as_uri())};"
        "const [email, name, now] = process.argv.slice(1);"
        "try { console.log(JSON.stringify(adminKey(email, name, Number(now)))); }"
        "catch (e) { console.log(JSON.stringify({ error: e.message })); }"
    )
    done = subprocess.run(
        ["node", "--input-type=module", "-e", program, email, name, str(NOW)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(done.stdout)


@pytest.fixture
def d1(tmp_path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(tmp_path / "d1.sqlite", isolation_level=None)
    for migration in sorted((SYNC_HUB / "migrations").glob("*.sql")):
        db.executescript(migration.read_text(encoding="utf-8"))
    db.executemany(
        "INSERT INTO accounts (account_id, email, created_at) VALUES (?, ?, 1)",
        [("acc_ada", "ada@example.com"), ("acc_quote", "o'hara@example.com")],
    )
    return db


def test_the_statement_stores_an_admin_key_by_its_hash_only(d1: sqlite3.Connection) -> None:
    for account_id, email in (("acc_ada", "ada@example.com"), ("acc_quote", "o'hara@example.com")):
        out = made(email)
        key, sql = out["key"], out["sql"]
        assert KEY_RE.match(key) and len(key) == 44 and key not in sql and key[12:] not in sql
        assert d1.execute(sql).fetchall() == [(out["keyId"],)]
        row = d1.execute(
            "SELECT account_id, name, key_hash, key_prefix, created_at, scope, revoked_at"
            " FROM api_keys WHERE key_id = ?",
            (out["keyId"],),
        ).fetchone()
        digest = hashlib.sha256(key.encode()).hexdigest()
        assert row == (account_id, "recovery", digest, key[:12], NOW, "admin", None)


def test_an_unknown_email_stores_nothing_and_nothing_else_is_touched(
    d1: sqlite3.Connection,
) -> None:
    for email in ("nobody@example.com", "x'OR'1'='1@example.com"):
        assert d1.execute(made(email)["sql"]).fetchall() == []
    assert d1.execute("SELECT COUNT(*) FROM api_keys").fetchone() == (0,)


@pytest.mark.parametrize(
    ("email", "name"),
    [
        ("not-an-email", "recovery"),
        ("a b@example.com", "recovery"),
        ("ada@example.com", "line\nbreak"),
        ("ada@example.com", ""),
    ],
)
def test_bad_input_makes_no_statement(email: str, name: str) -> None:
    assert set(made(email, name)) == {"error"}


def test_the_script_needs_an_email_and_prints_no_key_without_one() -> None:
    done = subprocess.run(
        ["node", str(ADMIN_KEY), "--name", "x"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2 and done.stdout == ""
    assert "--email EMAIL is required" in done.stderr
