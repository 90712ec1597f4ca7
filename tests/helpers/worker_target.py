"""The Cloudflare Worker (sync-hub/) as a conformance target: `wrangler dev --local` on loopback.

workerd serves the Worker with a local D1 in a fresh --persist-to folder, fully offline with the
environment of sync-hub/README.md#development. wrangler is called directly, not through npx
(ending npx would leave workerd running), in its own process group; SIGTERM to wrangler stops
workerd too, and the target waits until the whole group is gone, killing it only as a fallback.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import httpx

from helpers.hub_targets import HubOptions, RunningHub, free_port, on_small_disk, process

SYNC_HUB = Path(__file__).resolve().parents[2] / "sync-hub"
WRANGLER = SYNC_HUB / "node_modules" / ".bin" / "wrangler"
INVITE = SYNC_HUB / "scripts" / "invite.mjs"
ADMIN_KEY = SYNC_HUB / "scripts" / "admin-key.mjs"
DEV_SERVER = Path(__file__).with_name("wrangler_dev.mjs")
#: no metrics, no fetch of Cloudflare's request metadata, no banner: nothing leaves loopback
OFFLINE = {
    "WRANGLER_SEND_METRICS": "false",
    "CLOUDFLARE_CF_FETCH_ENABLED": "false",
    "WRANGLER_HIDE_BANNER": "true",
    "CI": "true",
}
GROUP_EXIT_S = 10


@contextmanager
def worker(
    options: HubOptions,
    workdir: Path,
    *,
    disk_bytes: int | None = None,
    inspector: bool = True,
) -> Iterator[RunningHub]:
    """disk_bytes: the local D1 on a tmpfs of this size (hub_targets.on_small_disk).
    inspector=False: through wrangler's own API without the DevTools inspector (DEV_SERVER),
    for the suites' long-lived hubs (hub_targets.TARGETS) and the long reliability run; the same
    Worker, D1 and logs at a third of the CPU."""
    if options.auth != "keys":
        raise ValueError("the Worker always requires keys (it has no local mode)")
    if not WRANGLER.exists():
        raise RuntimeError(f"{WRANGLER} is missing: run `npm ci` in {SYNC_HUB} (make test does)")
    port = free_port()
    variables = {
        "RATE_LIMIT_PER_MINUTE": str(options.rate_limit),
        "REGISTRATION": options.registration,
        **{name: str(value) for name, value in options.settings().items()},
    }
    # The Worker's own log (one console.log line per request) shows from level "log" on; debug
    # would add wrangler's inspector traffic, D1 results included, which is not the hub's log.
    if inspector:
        args = [str(WRANGLER), "dev", "--config", str(SYNC_HUB / "wrangler.toml"), "--local"]
        args += ["--ip", "127.0.0.1", "--port", str(port), "--inspector-port", str(free_port())]
        args += ["--show-interactive-dev-session=false", "--persist-to", str(workdir / "state")]
        for name, value in variables.items():
            args += ["--var", f"{name}:{value}"]
        args += ["--log-level", "log"]
    else:
        spec = {
            "wrangler": str(WRANGLER.parents[1] / "wrangler"),
            "config": str(SYNC_HUB / "wrangler.toml"),
            "ip": "127.0.0.1",
            "port": port,
            "persist": str(workdir / "state"),
            "logLevel": "log",
            "vars": variables,
        }
        args = ["node", str(DEV_SERVER), json.dumps(spec)]
    if disk_bytes is not None:
        (workdir / "state").mkdir(parents=True, exist_ok=True)
        args = on_small_disk(args, workdir / "state", disk_bytes)
    url = f"http://127.0.0.1:{port}"
    log = workdir / "hub.log"
    env = {**os.environ, **OFFLINE}

    def operator(script: Path, *args: str) -> str:
        """The operator's script, on the local D1 of this wrangler dev (the same --persist-to);
        what it printed on stdout."""
        httpx.get(url + "/v1/hub/info", timeout=30)  # the Worker migrates D1 on first use
        state = str(workdir / "state")
        done = subprocess.run(
            ["node", str(script), *args, "--local", "--persist-to", state],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        return done.stdout.strip()

    def invite(expires: str) -> str:
        return operator(INVITE, "--expires", expires)

    def admin_key(email: str) -> str:
        return operator(ADMIN_KEY, "--email", email)

    group = None
    try:
        with process(args, env, log, url + "/v1/health") as proc:
            group = proc.pid  # it leads its own session, hence its own process group
            yield RunningHub(url, log, invite, admin_key, proc.pid)
    finally:
        if group is not None:
            _wait_for_group(group)


def _wait_for_group(group: int) -> None:
    """process() has ended wrangler; wait for workerd, its child, to follow."""
    deadline = time.monotonic() + GROUP_EXIT_S
    while time.monotonic() < deadline:
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    os.killpg(group, signal.SIGKILL)


def user_worker_url(group: int) -> str:
    """The loopback URL of the workerd that runs the Worker itself, behind wrangler's proxy
    worker (another workerd, on the --port): wrangler starts it with an entry socket on a
    port of its choice (`entry=127.0.0.1:0`), its only listening socket without the inspector.
    Requests sent there skip the proxy's hop and its request log: a third of the hub side's
    CPU. RuntimeError when there is no single such process and port."""
    found = []
    for pid in _group(group):
        try:
            args = (Path("/proc") / pid / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if any(arg.endswith(b"entry=127.0.0.1:0") for arg in args):
            found += [f"http://127.0.0.1:{port}" for port in _listening(pid)]
    if len(found) != 1:
        raise RuntimeError(f"not one user Worker socket in process group {group}: {found}")
    return found[0]


def _group(group: int) -> list[str]:
    """The processes in a process group."""
    pids = []
    for pid in os.listdir("/proc"):
        try:
            stat = (Path("/proc") / pid / "stat").read_text()
        except OSError:
            continue
        if pid.isdigit() and int(stat.rsplit(")", 1)[1].split()[2]) == group:
            pids.append(pid)
    return pids


def _listening(pid: str) -> list[int]:
    """The TCP ports (IPv4) a process listens on: its socket inodes in /proc/net/tcp."""
    sockets = set()
    for fd in (Path("/proc") / pid / "fd").iterdir():
        with suppress(OSError):
            target = os.readlink(fd)
            if target.startswith("socket:["):
                sockets.add(target[len("socket:[") : -1])
    ports = []
    for line in (Path("/proc") / pid / "net" / "tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[3] == "0A" and fields[9] in sockets:  # 0A: LISTEN
            ports.append(int(fields[1].rsplit(":", 1)[1], 16))
    return ports
