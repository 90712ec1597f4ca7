"""`nmem serve --metrics`: Prometheus text for this machine, or for a scraper holding the token."""

from __future__ import annotations

import os
import secrets
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from prometheus_client.parser import text_string_to_metric_families

from helpers.hub_api import error, push, pushed, uid, version
from helpers.hub_targets import free_port, process
from neuralmemory.cli.main import cli
from neuralmemory.errors import MSG_METRICS_REFUSED

TOKEN = secrets.token_hex(32)


def _serve(workdir: Path, *extra: str) -> tuple[list[str], dict[str, str], str]:
    port = free_port()
    args = [str(Path(sys.executable).parent / "nmem"), "serve", "--port", str(port)]
    args += ["--db", f"sqlite://{workdir / 'hub.db'}", "--log-level", "debug", *extra]
    return args, {**os.environ, "NMEM_HOME": str(workdir / "home")}, f"http://127.0.0.1:{port}"


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    workdir = tmp_path_factory.mktemp("metrics")
    token_file = workdir / "metrics.token"
    token_file.write_text(TOKEN + "\n")
    args, env, url = _serve(workdir, "--metrics", "--metrics-token-file", str(token_file))
    args += ["--rate-limit", "6"]
    log = workdir / "hub.log"
    with process(args, env, log, url + "/v1/health"):
        yield url, log


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def test_counts_requests_by_route_pushes_and_429s(hub: tuple[str, Path]) -> None:
    url, _ = hub
    with httpx.Client(base_url=url) as client:
        brain = uid("metrics-")
        pushed(client, None, brain, version("m-1"), version("m-2"))
        pushed(client, None, brain, version("m-1"))  # unchanged: not counted again
        client.get(f"/v1/brains/{brain}/nothing-here")
        # 13 tries over a limit of 6: whichever minute windows they fall in, one overflows
        statuses = [push(client, None, brain, version("m-3")).status_code for _ in range(13)]
        assert 429 in statuses
        found = samples(client.get("/metrics").text)
    route = "/v1/brains/{brain_id}/push"
    assert found[("nmem_hub_records_pushed_total", ())] == 3  # m-1, m-2, then m-3 once
    assert (
        found[
            ("nmem_hub_requests_total", (("method", "POST"), ("route", route), ("status", "200")))
        ]
        >= 3
    )
    assert found[("nmem_hub_rate_limited_total", ())] >= 1
    assert (
        found[
            (
                "nmem_hub_requests_total",
                (("method", "GET"), ("route", "unmatched"), ("status", "404")),
            )
        ]
        == 1
    )
    assert found[("nmem_hub_request_duration_seconds_count", (("route", route),))] >= 3


def test_never_keyless_from_elsewhere(hub: tuple[str, Path]) -> None:
    url, log = hub
    elsewhere = {"Host": "hub.example.org"}
    with httpx.Client(base_url=url) as client:
        assert (
            error(client.get("/metrics", headers=elsewhere), 401, "invalid_key")
            == MSG_METRICS_REFUSED
        )
        wrong = {**elsewhere, "Authorization": "Bearer " + secrets.token_hex(32)}
        assert error(client.get("/metrics", headers=wrong), 401, "invalid_key")
        proxied = {"X-Forwarded-For": "203.0.113.9"}
        assert error(client.get("/metrics", headers=proxied), 401, "invalid_key")
        scraper = {**elsewhere, "Authorization": f"Bearer {TOKEN}"}
        answer = client.get("/metrics", headers=scraper)
        assert answer.status_code == 200 and "nmem_hub_requests_total" in answer.text
    assert TOKEN not in log.read_text()


def test_off_unless_asked(tmp_path: Path) -> None:
    args, env, url = _serve(tmp_path)
    with process(args, env, tmp_path / "hub.log", url + "/v1/health"):
        assert error(httpx.get(url + "/metrics"), 404, "not_found")


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--metrics-token-file", "TOKEN"], "--metrics-token-file goes with --metrics"),
        (["--metrics", "--metrics-token-file", "SHORT"], "at least 32 characters"),
    ],
)
def test_bad_token_options_are_refused(tmp_path: Path, extra: list[str], message: str) -> None:
    (tmp_path / "TOKEN").write_text(TOKEN)
    (tmp_path / "SHORT").write_text("abc")
    paths = [str(tmp_path / part) if part in ("TOKEN", "SHORT") else part for part in extra]
    result = CliRunner().invoke(cli, ["serve", *paths])
    assert result.exit_code == 2 and message in result.output
