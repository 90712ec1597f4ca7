"""X-Forwarded-For is believed only from the proxies named with --trusted-proxy.

Without that, a client could give every request a new made-up address and so never meet the
per-address rate limit (registrations, failed key guesses).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from helpers.hub_targets import free_port, process
from neuralmemory.cli.main import cli

LIMIT = 6
TRIES = 2 * LIMIT + 1  # however they fall over two minute windows, one window overflows


@contextmanager
def hub(workdir: Path, *extra: str) -> Iterator[str]:
    port = free_port()
    args = [str(Path(sys.executable).parent / "nmem"), "serve", "--require-keys"]
    args += ["--port", str(port), "--db", f"sqlite://{workdir / 'hub.db'}"]
    args += ["--rate-limit", str(LIMIT), *extra]
    env = {**os.environ, "NMEM_HOME": str(workdir / "home")}
    with process(args, env, workdir / "hub.log", f"http://127.0.0.1:{port}/v1/health"):
        yield f"http://127.0.0.1:{port}"


def statuses(url: str, source: str) -> list[int]:
    """TRIES key guesses from `source`, each claiming to forward for a different address."""
    transport = httpx.HTTPTransport(local_address=source)
    with httpx.Client(base_url=url, transport=transport) as client:
        return [
            client.get(
                "/v1/status",
                headers={
                    "X-Forwarded-For": f"198.51.100.{n}",
                    "Authorization": "Bearer nmk_" + "A" * 40,
                },
            ).status_code
            for n in range(TRIES)
        ]


def test_a_made_up_forwarded_for_does_not_escape_the_rate_limit(tmp_path: Path) -> None:
    with hub(tmp_path) as url:
        assert 429 in statuses(url, "127.0.0.1")


def test_a_trusted_proxy_passes_on_its_clients_addresses(tmp_path: Path) -> None:
    with hub(tmp_path, "--trusted-proxy", "127.0.0.2") as url:
        assert set(statuses(url, "127.0.0.2")) == {401}  # each client its own limit
        assert 429 in statuses(url, "127.0.0.3")  # not the proxy: its header is ignored


@pytest.mark.parametrize("bad", ["proxy.example", "10.0.0.300", ""])
def test_a_bad_trusted_proxy_is_refused(bad: str) -> None:
    result = CliRunner().invoke(cli, ["serve", "--trusted-proxy", bad])
    assert result.exit_code == 2 and "not an IP address or network" in result.output
