"""The hubs the conformance suite runs against, each started as a real server on loopback.

A target is a name, a factory that starts one hub with given options and yields its base URL
(and where its log goes), and what it can do. To add a hub (the Worker under `wrangler dev`),
write its factory and add one entry to TARGETS; every test then runs against it too.
"""

from __future__ import annotations

import ctypes
import errno
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Literal

import httpx
import psycopg
import pytest

PG_ADMIN_URL = os.environ.get("NMEM_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
START_DEADLINE_S = 60
LOW_RATE_LIMIT = 10  # per minute, for the target that must answer 429
#: all keys of one account together, per minute: under half a key's, so two keys can reach it
#: while neither reaches its own
ACCOUNT_RATE_LIMIT = 4
QUOTA_RECORDS, QUOTA_BYTES = 6, 8000  # per account, for the target that must answer 413
#: the `nmem serve` option for each of the Worker's variables
SERVE_OPTIONS = {
    "ACCOUNT_RATE_LIMIT_PER_MINUTE": "--account-rate-limit",
    "QUOTA_RECORDS": "--quota-records",
    "QUOTA_BYTES": "--quota-bytes",
}


@dataclass(frozen=True)
class HubOptions:
    #: keys: every request needs a key. local: a request without one is the local account.
    auth: Literal["keys", "local"] = "keys"
    #: requests per minute per key or address; 0 turns limiting off (the suite is chatty)
    rate_limit: int = 0
    #: the conformance suite reads the debug log to prove it holds no secrets
    log_level: str = "debug"
    #: who may register: many tests register accounts, so open unless a test asks otherwise
    registration: Literal["open", "closed", "invite"] = "open"
    #: requests handled at once (`nmem serve --max-concurrent`); None: the hub's default
    max_concurrent: int | None = None
    #: requests per minute of all keys of one account together; None: the hub's default
    account_rate_limit: int | None = None
    #: records and bytes one account may store; None: the hub's default
    quota_records: int | None = None
    quota_bytes: int | None = None

    def settings(self) -> dict[str, int]:
        """The limits these options set, by the Worker's variable name (None: not set)."""
        chosen = {
            "ACCOUNT_RATE_LIMIT_PER_MINUTE": self.account_rate_limit,
            "QUOTA_RECORDS": self.quota_records,
            "QUOTA_BYTES": self.quota_bytes,
        }
        return {name: value for name, value in chosen.items() if value is not None}


@dataclass(frozen=True)
class RunningHub:
    url: str
    log: Path  # everything the hub process wrote, at debug level
    #: a new invite code, made with the hub operator's own tool; takes how long it stays valid
    invite: Callable[[str], str]
    #: a new admin key for the account with this email, made with the operator's own tool
    #: (CalledProcessError when it refuses)
    admin_key: Callable[[str], str]
    #: the server's process id (it leads its own process group)
    pid: int | None = None


@dataclass(frozen=True)
class Target:
    name: str
    start: Callable[[HubOptions, Path], AbstractContextManager[RunningHub]]
    local_mode: bool  # can serve requests without a key as a local account
    marks: tuple[pytest.MarkDecorator, ...] = ()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def throwaway_postgres() -> Iterator[str]:
    """A fresh database on the local PostgreSQL, dropped afterwards. Fails loudly, never skips."""
    name = "nmem_test_" + secrets.token_hex(6)
    try:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as exc:
        raise RuntimeError(
            f"PostgreSQL at {PG_ADMIN_URL} is needed (run scripts/ensure-postgres.sh): {exc}"
        ) from exc
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def on_small_disk(args: list[str], folder: Path, size: int) -> list[str]:
    """`args` run in a mount namespace of their own (`unshare -rm`, no root needed) with a tmpfs
    of `size` bytes on `folder`: a real disk that a test can fill through /proc/PID/root."""
    mount = f'mount -t tmpfs -o size={size} tmpfs "{folder}" && exec "$@"'
    return ["unshare", "-rm", "sh", "-c", mount, "sh", *args]


def small_disks_work() -> bool:
    """Whether on_small_disk can run here (unprivileged mount namespaces)."""
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(["unshare", "-rm", "true"], capture_output=True, check=False)
    return probe.returncode == 0


def fill(folder: Path, chunk: int = 64 * 1024) -> Path:
    """Fill the file system holding `folder` to the last byte (a file named filler in it, which
    frees the space again when deleted); returns that file."""
    filler = folder / "filler"
    block = b"\0" * chunk
    with filler.open("ab", buffering=0) as out:
        size = chunk
        while size:
            try:
                out.write(block[:size])
            except OSError as exc:
                assert exc.errno == errno.ENOSPC
                size //= 2  # the last few blocks, as small as the file system allows
    return filler


def die_with_parent() -> None:
    """preexec_fn: the server gets SIGTERM when the test process dies (Linux), so a pytest run
    killed by a timeout never leaves hubs running on the machine."""
    if sys.platform == "linux":
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG


@contextmanager
def process(
    args: list[str],
    env: dict[str, str],
    log: Path,
    ready_url: str,
    preexec: Callable[[], None] | None = None,
) -> Iterator[subprocess.Popen[bytes]]:
    """Run a server in its own session; wait until ready_url answers 200; always stop it.
    `preexec` runs in the child before the server starts (to set its resource limits, say)."""

    def before() -> None:
        die_with_parent()
        if preexec is not None:
            preexec()

    with log.open("wb") as out:
        proc = subprocess.Popen(
            args,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=before,
        )
    try:
        _wait_ready(proc, args[0], log, ready_url)
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def _wait_ready(proc: subprocess.Popen[bytes], name: str, log: Path, ready_url: str) -> None:
    """Poll ready_url until it answers 200, on one client: httpx.get made a client, and loaded
    the CA certificates, every 50 ms (30 ms of CPU each: a second per Worker started)."""
    deadline = time.monotonic() + START_DEADLINE_S
    with httpx.Client(timeout=1) as client:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited with {proc.returncode}:\n{log.read_text()}")
            try:
                if client.get(ready_url).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name} not ready in {START_DEADLINE_S}s:\n{log.read_text()}")
            time.sleep(0.05)


@contextmanager
def nmem_serve(db_url: str, options: HubOptions, workdir: Path) -> Iterator[RunningHub]:
    port = free_port()
    args = [str(Path(sys.executable).parent / "nmem"), "serve", "--host", "127.0.0.1"]
    args += ["--port", str(port), "--db", db_url, "--rate-limit", str(options.rate_limit)]
    args += ["--log-level", options.log_level, "--registration", options.registration]
    if options.max_concurrent is not None:
        args += ["--max-concurrent", str(options.max_concurrent)]
    for name, value in options.settings().items():
        args += [SERVE_OPTIONS[name], str(value)]
    if options.auth == "keys":
        args.append("--require-keys")
    env = {**os.environ, "NMEM_HOME": str(workdir / "home")}
    url = f"http://127.0.0.1:{port}"
    log = workdir / "hub.log"

    def invite(expires: str) -> str:
        done = subprocess.run(
            [args[0], "hub", "invite", "--db", db_url, "--expires", expires, "--json"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        code: str = json.loads(done.stdout)["invite"]
        return code

    def admin_key(email: str) -> str:
        done = subprocess.run(
            [args[0], "hub", "keys", "create", "--email", email, "--db", db_url, "--json"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        key: str = json.loads(done.stdout)["api_key"]
        return key

    with process(args, env, log, url + "/v1/health") as proc:
        yield RunningHub(url, log, invite, admin_key, proc.pid)


@contextmanager
def python_sqlite(options: HubOptions, workdir: Path) -> Iterator[RunningHub]:
    with nmem_serve(f"sqlite://{workdir / 'hub.db'}", options, workdir) as hub:
        yield hub


@contextmanager
def python_postgres(options: HubOptions, workdir: Path) -> Iterator[RunningHub]:
    with throwaway_postgres() as url, nmem_serve(url, options, workdir) as hub:
        yield hub


TARGETS: dict[str, Target] = {
    "python-sqlite": Target("python-sqlite", python_sqlite, local_mode=True),
    "python-postgres": Target(
        "python-postgres", python_postgres, local_mode=True, marks=(pytest.mark.postgres,)
    ),
}

from helpers.worker_target import worker  # noqa: E402  (it builds on the helpers above)

# The Worker's hubs of the conformance and reliability suites serve thousands of requests and stay
# up for the whole run: without wrangler's DevTools inspector (worker_target.worker says why), at
# a third of the CPU. The `wrangler dev` command itself is run by tests/sync/test_e2e_hubs.py and
# tests/hub/test_storage_full.py.
TARGETS["worker"] = Target(
    "worker", partial(worker, inspector=False), local_mode=False, marks=(pytest.mark.worker,)
)

#: the Python hub on both of its backends
PYTHON_TARGETS = [
    pytest.param(name, marks=TARGETS[name].marks, id=name)
    for name in ("python-sqlite", "python-postgres")
]


class StartedHubs:
    """Hubs by (target, options), each started when first asked for and stopped with `stack`
    (a session fixture's: the conformance suite's `hubs`, the reliability suite's `real_hubs`).

    They are stopped side by side: each stop waits for its process group to exit (a `wrangler
    dev` takes a second or more), and a session's hubs stop only after the last test of the
    xdist worker has run, while the other workers may already be idle."""

    def __init__(self, root: Path, stack: ExitStack) -> None:
        self.root = root
        self.running: dict[tuple[str, HubOptions], RunningHub] = {}
        self._stops: list[ExitStack] = []
        stack.callback(self._stop_all)

    def get(self, target: str, options: HubOptions | None = None) -> RunningHub:
        key = (target, options or HubOptions())
        if key not in self.running:
            workdir = self.root / f"{target}-{len(self.running)}"
            workdir.mkdir(parents=True)
            stop = ExitStack()
            self._stops.append(stop)
            self.running[key] = stop.enter_context(TARGETS[target].start(key[1], workdir))
        return self.running[key]

    def _stop_all(self) -> None:
        """Every hub stopped, each in a thread of its own; the first failure is raised once all
        have been stopped."""
        with ThreadPoolExecutor(max_workers=max(1, len(self._stops))) as pool:
            stopping = [pool.submit(stop.close) for stop in self._stops]
        for stopped in stopping:
            stopped.result()
