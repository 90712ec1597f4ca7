"""No API key in any log or output stream, and no encrypted memory's plaintext on the hub.

The whole flow -- register, configure two devices, remember (one memory encrypted), sync both
ways, a conflict, status, keys listing, a refused key -- runs with every logger at DEBUG in this
process (the client, httpx, httpcore) and the hub at --log-level debug; then every stream is
searched: captured logs, this process's stdout and stderr (file descriptors, so subprocess and C
level writes count), the CLI's output, the hub's log, and the hub's database bytes.
"""

from __future__ import annotations

import logging
from pathlib import Path

import httpx
import pytest

from helpers.devices import Device
from helpers.hub_targets import StartedHubs
from helpers.nmem import nmem

SECRET = "quartz-harbor-plaintext-5519"


def cli(home: Path, *args: str) -> str:
    done = nmem(home, *args)
    return done.stdout + done.stderr


def test_keys_and_plaintext_never_leak(
    real_hubs: StartedHubs,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    hub = real_hubs.get("python-sqlite")  # keys required, --log-level debug
    registered = httpx.post(hub.url + "/v1/auth/register", json={"email": "s@example.com"})
    key = registered.json()["api_key"]
    extra = httpx.post(
        hub.url + "/v1/auth/keys",
        json={"name": "laptop"},
        headers={"Authorization": f"Bearer {key}"},
    ).json()["api_key"]
    a, b = Device(tmp_path / "a", hub.url), Device(tmp_path / "b", hub.url)
    a.configure(hub_url=hub.url, api_key=key)
    b.configure(hub_url=hub.url, api_key=extra)
    outputs: list[str] = []
    with a.brain() as brain:
        plain = brain.remember("The release train leaves on Tuesday").memory.id
        brain.remember(f"Vault passphrase: {SECRET}", encrypted=True)
    outputs += [str(a.sync()), str(b.sync())]
    with a.brain() as brain:
        brain.edit(plain, content="The release train leaves on Wednesday")
    with b.brain() as brain:
        brain.edit(plain, content="The release train leaves on Thursday")
        brain.recall("release train")
    outputs += [str(a.sync()), str(b.sync()), str(a.sync("verify")), str(b.sync("repair"))]
    for home in (a.home, b.home):
        outputs.append(cli(home, "sync", "status"))
        outputs.append(cli(home, "sync", "status", "--json"))
        outputs.append(cli(home, "sync", "config", "get", "--json"))
        outputs.append(cli(home, "sync", "config", "setup"))
        outputs.append(cli(home, "sync", "full", "--json"))
        outputs.append(cli(home, "sync", "conflicts", "--json"))
    wrong = key[:-1] + ("A" if key[-1] != "A" else "B")
    outputs.append(cli(a.home, "sync", "config", "set", "--api-key", wrong))
    outputs.append(cli(a.home, "sync", "full"))  # refused: Invalid or expired API key
    assert "Invalid or expired API key" in outputs[-1]
    outputs.append(cli(a.home, "sync", "config", "set", "--api-key", "not-a-key-" + key))
    captured = capfd.readouterr()
    streams = {
        "logs": caplog.text,
        "stdout": captured.out,
        "stderr": captured.err,
        "cli": "\n".join(outputs),
        "hub log": hub.log.read_text(errors="replace"),
    }
    assert "/push" in streams["hub log"] and "DEBUG" in streams["logs"]  # both really logged
    for secret in (key, extra, wrong):
        for name, text in streams.items():
            assert secret not in text, f"an API key in the {name}"
            assert secret[12:] not in text, f"the secret part of an API key in the {name}"
    hub_db = b"".join(
        path.read_bytes() for path in hub.log.parent.glob("hub.db*") if path.is_file()
    )
    assert hub_db and SECRET.encode() not in hub_db and SECRET not in streams["hub log"]
    assert key.encode() not in hub_db and extra.encode() not in hub_db  # only hashes stored
