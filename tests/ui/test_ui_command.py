"""`nmem ui` as a command: a port in use or a bad port is a clear error with a non-zero exit;
the server listens on 127.0.0.1 and nowhere else; --open hands the address to the browser; it
stops cleanly on Ctrl-C."""

from __future__ import annotations

import os
import signal
import socket
import stat
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from helpers.nmem import NMEM, cli
from helpers.ui_server import UiServer


def nmem(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [NMEM, *args], capture_output=True, text=True, timeout=60, check=False, env=os.environ
    )


def test_a_port_in_use_is_a_clear_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = nmem("ui", "--port", str(port))
    assert done.returncode == 1
    assert done.stderr.strip() == (
        f"Error: Port {port} on 127.0.0.1 is already in use by another program"
        " (pick another with --port, or --port 0 for any free one)"
    )
    assert done.stdout == ""


def test_a_bad_port_is_a_usage_error(home: Path) -> None:
    for value in ("70000", "-1", "http", "80.5"):  # parsing only: in-process, same exit and text
        done = cli(home, "ui", "--port", value)
        assert done.returncode == 2, value
        assert done.stderr.endswith(
            f"Error: Invalid value for '--port': '{value}' is not a port: give a number from 0 to"
            " 65535 (0 takes any free one)\n"
        )


def _listening(pid: int) -> list[tuple[str, int]]:
    """The (address, port) of every socket the process listens on, from /proc (IPv4 and IPv6)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except FileNotFoundError:  # closed since it was listed (a file the process read)
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    found = []
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state == "0A" and inode in inodes:  # 0A: LISTEN
                address, port = local.split(":")
                if table == "tcp":
                    shown = socket.inet_ntop(socket.AF_INET, bytes.fromhex(address)[::-1])
                else:
                    shown = address
                found.append((shown, int(port, 16)))
    return found


def _other_addresses() -> list[str]:
    """This machine's addresses that are not loopback (what a LAN peer would dial)."""
    done = subprocess.run(["hostname", "-I"], capture_output=True, text=True, check=False)
    return [a for a in done.stdout.split() if ":" not in a and not a.startswith("127.")]


def test_it_listens_on_loopback_only(ui: UiServer, home: Path) -> None:
    ui.start()
    assert ui.proc is not None
    assert _listening(ui.proc.pid) == [("127.0.0.1", ui.port)]
    for address in _other_addresses():
        with socket.socket() as probe:
            probe.settimeout(5)
            assert probe.connect_ex((address, ui.port)) != 0, address
    with ui.client() as client:
        assert client.get("/").status_code == 200


def test_open_hands_the_address_with_its_token_to_the_browser(home: Path, tmp_path: Path) -> None:
    seen = tmp_path / "opened.txt"
    browser = tmp_path / "browser.sh"
    browser.write_text(f'#!/bin/sh\nprintf "%s" "$1" > {seen}\n')
    browser.chmod(browser.stat().st_mode | stat.S_IXUSR)
    ui = UiServer(home, tmp_path / "ui.log", options=("--open",))
    try:
        ui.start(env={"BROWSER": str(browser)})
        deadline = time.monotonic() + 30  # the browser is started after the address prints
        while not (seen.exists() and seen.read_text()) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert seen.read_text() == ui.url
        assert httpx.get(seen.read_text()).status_code == 303
    finally:
        ui.stop()


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_ctrl_c_or_sigterm_stops_it_cleanly(ui: UiServer, home: Path, stop: int) -> None:
    ui.start()
    assert ui.proc is not None
    ui.proc.send_signal(stop)
    assert ui.proc.wait(timeout=20) == 0
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", ui.port)) != 0
