"""Against a real `nmem serve` process on loopback: lost replies, a lost hub database, keys,
encryption, and the CLI's commands on two devices with their own NMEM_HOME (run in-process: the
same exit codes and output, without a process start-up per command)."""

from __future__ import annotations

import json
import logging
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from helpers.devices import Device, Hub
from helpers.nmem import cli
from neuralmemory.errors import HubUnavailable
from neuralmemory.protocol import PATH_PUSH, PATH_REGISTER


class LoseReplyAfterCommit(httpx.BaseTransport):
    """Delivers the first push to the hub, then kills the hub before the reply gets back."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.inner = httpx.HTTPTransport()
        self.armed = True

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if self.armed and request.url.path.endswith("/push"):
            response.read()  # the hub has committed
            self.armed = False
            self.hub.kill()
            raise httpx.ReadError("connection reset before the reply arrived")
        return response

    def close(self) -> None:
        self.inner.close()


def test_a_push_whose_reply_is_lost_then_retried_duplicates_nothing(
    hub: Hub, tmp_path: Path
) -> None:
    a = Device(tmp_path / "a", hub.url, LoseReplyAfterCommit(hub))
    a.configure(hub_url=hub.url)
    with a.brain() as brain:
        for n in range(30):
            brain.remember(f"Incident {n}: the cache stampede was fixed by jitter {n}")
    with pytest.raises(HubUnavailable):
        a.sync("push")
    hub.start()  # same database file, same port
    result = a.sync()
    assert result["pushed"] == 0 and result["acknowledged"] >= 30
    assert result["verified"] is True and result["conflicts"] == 0
    b = Device(tmp_path / "b", hub.url)
    b.configure(hub_url=hub.url)
    assert b.sync()["pulled"] == result["acknowledged"]
    with b.brain() as brain:
        assert brain.stats().memories == 30


def test_repair_after_deleting_the_hub_database_file(hub: Hub, tmp_path: Path) -> None:
    a = Device(tmp_path / "a", hub.url)
    a.configure(hub_url=hub.url)
    with a.brain() as brain:
        for n in range(15):
            brain.remember(f"Service {n} exposes metrics on port 90{n:02d}")
    a.sync()
    hub.stop()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{hub.db}{suffix}").unlink(missing_ok=True)
    hub.start()
    result = a.sync()
    assert result["verified"] is True and result["repaired"] >= 15
    b = Device(tmp_path / "b", hub.url)
    b.configure(hub_url=hub.url)
    b.sync()
    with b.brain() as brain:
        assert brain.stats().memories == 15


def nmem(home: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = cli(home, *args)
    if check and done.returncode != 0:
        raise AssertionError(f"nmem {' '.join(args)}: {done.returncode}\n{done.stderr}")
    return done


SECRET = "zebra-quartz-plaintext-7731"


def test_keys_encryption_and_the_cli_on_two_devices(
    keyed_hub: Hub, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    key = httpx.post(keyed_hub.url + PATH_REGISTER, json={"email": "me@example.com"}).json()[
        "api_key"
    ]
    a_home, b_home = tmp_path / "dev-a", tmp_path / "dev-b"
    outputs: list[str] = []

    def run(home: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        done = nmem(home, *args, check=check)
        outputs.extend([done.stdout, done.stderr])
        return done

    for home in (a_home, b_home):
        configured = json.loads(
            run(
                home,
                "sync",
                "config",
                "set",
                "--hub-url",
                keyed_hub.url,
                "--api-key",
                key,
                # The explicit `sync full` below is what this test counts: a detached auto-sync
                # child racing it (a slow machine takes > 2 s per CLI call) would push first.
                "--auto-sync",
                "off",
                "--json",
            ).stdout
        )
        assert configured["api_key"] == key[:12] + "****" and configured["enabled"]
    run(a_home, "remember", "The staging database is pg-staging-2", "--json")
    secret = json.loads(
        run(a_home, "remember", f"Vault passphrase: {SECRET}", "--encrypted", "--json").stdout
    )["id"]
    pushed = json.loads(run(a_home, "sync", "full", "--json").stdout)
    assert pushed["pushed"] >= 2 and pushed["verified"] is True
    assert SECRET.encode() not in keyed_hub.db_bytes()

    pulled = json.loads(run(b_home, "sync", "full", "--json").stdout)
    assert pulled["joined"] == pushed["brain_id"] and pulled["verified"] is True
    b = Device(b_home, keyed_hub.url)
    with b.brain() as brain:
        missing = brain.get(secret)
        assert missing.encrypted and missing.content is None  # key missing: kept, not readable
    run(
        a_home, "keys", "export", "-o", str(tmp_path / "k.nmemkey"), "--passphrase", "pass-phrase-1"
    )
    run(b_home, "keys", "import", str(tmp_path / "k.nmemkey"), "--passphrase", "pass-phrase-1")
    with b.brain() as brain:
        assert brain.get(secret).content == f"Vault passphrase: {SECRET}"

    status = json.loads(run(b_home, "sync", "status", "--json").stdout)
    assert status["api_key"] == key[:12] + "****" and status["hub"]["reachable"]
    assert {d["device_id"] for d in status["hub"]["devices"]} >= {status["device"]["device_id"]}
    assert len(status["hub"]["devices"]) == 2 and status["pending"] == 0
    run(b_home, "sync", "status")  # the human form, also checked for the key below

    # the whole flow once more in-process, with every logger at DEBUG
    caplog.set_level(logging.DEBUG)
    b.transport = None
    b.sync("full")
    b.sync("verify")

    # a bad key fails at once with the exact message: one request refused, and no retry loop
    run(b_home, "sync", "config", "set", "--api-key", "nmk_" + "x" * 40)
    seen = len(hub_lines(keyed_hub))
    bad = run(b_home, "sync", "full", check=False)
    assert bad.returncode == 1 and "Invalid or expired API key" in bad.stderr
    refused = [line for line in hub_lines(keyed_hub, more_than=seen) if " 401 " in line]
    assert len(refused) == 1, refused

    for text in [*outputs, caplog.text, keyed_hub.log.read_text(errors="replace")]:
        assert key not in text and key[12:] not in text
    # device A's pushes reached the hub, as that brain's, under A's account
    push_path = PATH_PUSH.format(brain_id=pushed["brain_id"])
    accepted = [line for line in hub_lines(keyed_hub) if line.startswith(f"POST {push_path} 200 ")]
    assert accepted and all("account=acc_" in line for line in accepted)


def hub_lines(hub: Hub, more_than: int = 0) -> list[str]:
    """The hub's request log lines (`METHOD PATH STATUS ms account=...`), once it holds more than
    `more_than` of them: it writes a request's line just after the reply, so it may lag a little."""
    for _ in range(100):
        text = hub.log.read_text(errors="replace")
        lines = [
            line.split("neuralmemory.hub: ", 1)[1]
            for line in text.splitlines()
            if "neuralmemory.hub: " in line
        ]
        if len(lines) > more_than:
            return lines
        time.sleep(0.05)
    raise AssertionError(f"the hub logged no request after its first {more_than}")
