"""`nmem ui` as users start it: a process on a device's home, on a free port it picks itself
(`--port 0`), whose address (with the token) is read from the line it prints."""

from __future__ import annotations

import os
import select
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx

from helpers.hub_targets import die_with_parent
from helpers.nmem import NMEM

CHROMIUM = "/usr/bin/chromium"  # Debian's package (.ci/run installs it): nothing is downloaded


class UiServer:
    def __init__(self, home: Path, log: Path, *, options: tuple[str, ...] = ()) -> None:
        self.home, self.log, self.options = home, log, options
        self.proc: subprocess.Popen[str] | None = None
        self.url = ""  # the printed address, token included

    def start(self, env: dict[str, str] | None = None) -> UiServer:
        with self.log.open("a") as errors:
            self.proc = subprocess.Popen(
                [NMEM, "ui", "--port", "0", *self.options],
                env={**os.environ, "NMEM_HOME": str(self.home), **(env or {})},
                stdout=subprocess.PIPE,
                stderr=errors,
                text=True,
                start_new_session=True,
                preexec_fn=die_with_parent,
            )
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], 30)
        line = self.proc.stdout.readline() if ready else ""
        assert line.startswith("nmem ui on http://127.0.0.1:"), (line, self.log.read_text())
        self.url = line.split()[3]
        return self

    @property
    def port(self) -> int:
        port = urlsplit(self.url).port
        assert port is not None
        return port

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def token(self) -> str:
        return parse_qs(urlsplit(self.url).query)["token"][0]

    @contextmanager
    def client(self) -> Iterator[httpx.Client]:
        """An HTTP client holding the session cookie, as a browser does once it opened the URL."""
        with httpx.Client(base_url=self.base, timeout=30) as client:
            assert client.get(self.url).status_code == 303
            yield client

    def stop(self) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        return self.proc.returncode
