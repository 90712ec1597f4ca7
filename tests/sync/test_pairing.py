"""LAN pairing and invites, end to end: real `nmem serve` processes on loopback (the stand-in for a
LAN address), the operator's `nmem hub` commands on the hub's database, and devices that pair with
`nmem sync pair` and then sync through the hub (the commands in-process, the hubs real processes).
No code and no key ever reaches the hub's log."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from helpers.devices import NMEM, Device, die_with_parent, free_port
from helpers.nmem import cli
from neuralmemory.errors import MSG_INVALID_INVITE, MSG_INVALID_PAIR_CODE

PAIR_LINE = re.compile(r"^  (nmem sync pair (\S+))$", re.MULTILINE)


@dataclass
class Served:
    url: str
    port: int
    out: Path  # stdout: what the operator is shown (pairing lines)
    log: Path  # stderr: the start-up line and the request log, at debug level

    def pairing_lines(self) -> list[str]:
        return [match[1] for match in PAIR_LINE.finditer(self.out.read_text())]


@contextmanager
def serve(home: Path, tmp: Path, *args: str) -> Iterator[Served]:
    """`nmem serve` with this NMEM_HOME (so its default database), stopped at the end."""
    port = free_port()
    served = Served(f"http://127.0.0.1:{port}", port, tmp / "serve.out", tmp / "serve.log")
    command = [NMEM, "serve", "--port", str(port), "--log-level", "debug", "--rate-limit", "0"]
    with served.out.open("wb") as out, served.log.open("wb") as err:
        proc = subprocess.Popen(
            [*command, *args],
            env={**os.environ, "NMEM_HOME": str(home)},
            stdout=out,
            stderr=err,
            start_new_session=True,
            preexec_fn=die_with_parent,
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, served.log.read_text()
            try:
                if httpx.get(served.url + "/v1/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, served.log.read_text()
            time.sleep(0.05)
        yield served
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def config_of(home: Path) -> dict[str, object]:
    path = home / "config.toml"
    return tomllib.loads(path.read_text()) if path.exists() else {}


def wait_for_lines(served: Served, count: int) -> list[str]:
    """The pairing lines printed so far, once there are `count` (a pairing prints the next)."""
    deadline = time.monotonic() + 30
    while len(lines := served.pairing_lines()) < count:
        assert time.monotonic() < deadline, served.out.read_text()
        time.sleep(0.05)
    return lines


def test_devices_pair_with_a_lan_hub_and_sync_through_it(tmp_path: Path) -> None:
    hub_home, a, b, c = (tmp_path / name for name in ("hub", "a", "b", "c"))
    with serve(hub_home, tmp_path, "--lan", "--host", "127.0.0.1") as hub:
        started = hub.log.read_text()
        assert "(auth: keys, registration: open," in started  # keys required, as on a LAN
        assert httpx.get(hub.url + "/v1/status").status_code == 401
        first = wait_for_lines(hub, 1)[0]
        assert first.endswith(f"@127.0.0.1:{hub.port}")

        paired = cli(a, *first.split()[1:])  # nmem sync pair CODE@127.0.0.1:PORT
        assert paired.returncode == 0, paired.stderr
        assert paired.stdout.rstrip().endswith("paired")
        assert f"hub_url:           {hub.url}" in paired.stdout
        assert "enabled:           yes" in paired.stdout
        key_a = str(config_of(a)["api_key"])
        assert key_a.startswith("nmk_") and key_a not in paired.stdout  # shown masked only

        # the hub printed the next device's line; the operator can also ask for one any time
        second = wait_for_lines(hub, 2)[1]
        assert second != first
        asked = cli(hub_home, "hub", "pair", "--host", "127.0.0.1", "--port", str(hub.port))
        assert asked.returncode == 0, asked.stderr
        third = PAIR_LINE.findall(asked.stdout)[0][0]

        as_json = cli(b, "sync", "pair", second.split()[-1], "--json")
        assert as_json.returncode == 0, as_json.stderr
        shown = json.loads(as_json.stdout)
        assert shown["paired"] is True and shown["enabled"] is True
        assert shown["hub_url"] == hub.url and shown["api_key"].endswith("****")

        # a used, a wrong or a malformed code: a clear message, and nothing stored
        for target in (first.split()[-1], f"ABCD-EFGH-JKMN-PQRS@127.0.0.1:{hub.port}", "junk"):
            refused = cli(c, "sync", "pair", target)
            assert refused.returncode == 1 and config_of(c) == {}, refused.stderr
        assert MSG_INVALID_PAIR_CODE in cli(c, "sync", "pair", first.split()[-1]).stderr
        assert "not a pairing line" in cli(c, "sync", "pair", "junk").stderr
        assert cli(c, *third.split()[1:]).returncode == 0  # the operator's line works

        # the paired devices are keys of one account (the hub's local one): they sync together
        device_a, device_b = Device(a, hub.url), Device(b, hub.url)
        with device_a.brain() as brain:
            brain.remember("The LAN hub lives in the hall cupboard")
        assert device_a.sync()["pushed"] >= 1
        device_b.sync()
        with device_b.brain() as brain:
            found = brain.recall("hall cupboard")
        assert [r.memory.content for r in found][:1] == ["The LAN hub lives in the hall cupboard"]

        keys = [str(config_of(home)["api_key"]) for home in (a, b, c)]
        codes = [line.split()[-1].split("@")[0] for line in (first, second, third)]
    log = hub.log.read_text()
    assert "POST /v1/auth/pair 201" in log and "DEBUG" in log  # really logged, at debug level
    stored = b"".join(path.read_bytes() for path in (hub_home / "hub").glob("hub.db*"))
    assert stored
    for secret in keys + codes + [code.replace("-", "") for code in codes]:
        assert secret not in log and secret.encode() not in stored  # only hashes are stored
    assert all(key[12:] not in log for key in keys)


def test_nmem_hub_invite_registers_once_on_the_default_hub_database(tmp_path: Path) -> None:
    """`nmem hub invite` with no --db acts on the database `nmem serve` uses by default."""
    home = tmp_path / "hub"
    made = cli(home, "hub", "invite")
    assert made.returncode == 0, made.stderr
    code = re.findall(r"^  (\S+)$", made.stdout, re.MULTILINE)[0]
    expiring = json.loads(cli(home, "hub", "invite", "--expires", "1s", "--json").stdout)
    made_by = time.time()
    with serve(home, tmp_path, "--registration", "invite") as hub:
        assert "registration: invite" in hub.log.read_text()
        register = hub.url + "/v1/auth/register"
        ok = httpx.post(register, json={"email": "ada@example.com", "invite": code})
        assert ok.status_code == 201, ok.text
        again = httpx.post(register, json={"email": "bob@example.com", "invite": code})
        assert again.status_code == 403 and again.json()["error"] == MSG_INVALID_INVITE
        time.sleep(max(0.0, made_by + 1.5 - time.time()))  # it was made before made_by: expired
        expired = {"email": "cy@example.com", "invite": expiring["invite"]}
        late = httpx.post(register, json=expired)
        assert late.status_code == 403 and late.json()["code"] == "invalid_invite"
        key = ok.json()["api_key"]
    log = hub.log.read_text()
    assert "POST /v1/auth/register 201" in log
    for secret in (code, expiring["invite"], key, key[12:]):
        assert secret not in log


def test_registration_defaults_to_open_on_loopback_only(tmp_path: Path) -> None:
    with serve(tmp_path / "hub", tmp_path) as hub:
        assert httpx.get(hub.url + "/v1/hub/info").json()["registration"] == "open"
    refused = cli(tmp_path / "hub", "serve", "--lan", "--no-auth")
    assert refused.returncode == 2 and "--no-auth" in refused.stderr


@pytest.mark.parametrize("expires", ["0d", "7", "1w", "-1h"])
def test_hub_commands_refuse_a_bad_duration(tmp_path: Path, expires: str) -> None:
    refused = cli(tmp_path, "hub", "invite", "--expires", expires)
    assert refused.returncode == 2 and "not a duration" in refused.stderr
