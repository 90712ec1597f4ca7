"""The package as a user installs it (pipx / uv tool install make the same kind of environment):
a wheel built from this tree, installed into a fresh venv, started by its own `nmem` script, not
the checkout's. It remembers, recalls, answers an MCP initialize, and serves the web UI with its
templates, stylesheet and script (package data, which only a wheel that ships them has).

The wheel's dependencies are taken from this test's environment (a path line, not its .pth
files, so the checkout's editable install cannot shadow the wheel), which keeps the test offline;
pip installs into the fresh environment only (`--python`), before that line exists, so it can
never touch this one.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import httpx
import pytest
from mcp.client.stdio import stdio_client

from mcp import ClientSession, StdioServerParameters

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _run(*args: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
    done: subprocess.CompletedProcess[str] = subprocess.run(  # type: ignore[call-overload]
        args, capture_output=True, text=True, check=True, timeout=120, **kwargs
    )
    return done


async def test_a_wheel_in_a_fresh_environment_works_on_its_own(tmp_path: Path, home: Path) -> None:
    _run(sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(REPO))
    [wheel] = tmp_path.glob("neuralmemory-*.whl")
    venv = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", "--without-pip", str(venv))
    fresh = venv / "bin" / "python"
    # pip drives the fresh environment (never this one), before it can see this one's packages
    _run(
        sys.executable,
        "-m",
        "pip",
        "--python",
        str(fresh),
        "install",
        "--no-deps",
        "-q",
        str(wheel),
    )
    site = _run(str(fresh), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])")
    (Path(site.stdout.strip()) / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    nmem = str(venv / "bin" / "nmem")
    where = _run(str(fresh), "-c", "import neuralmemory; print(neuralmemory.__file__)").stdout
    assert where.startswith(str(venv)), where  # the wheel, not the checkout

    assert _run(nmem, "--version").stdout.startswith("nmem, version ")
    saved = json.loads(_run(nmem, "remember", "Falcon streams through Kafka", "--json").stdout)
    found = json.loads(_run(nmem, "recall", "kafka", "--json").stdout)
    assert [hit["id"] for hit in found["results"]] == [saved["id"]]
    params = StdioServerParameters(command=nmem, args=["mcp"], env={"NMEM_HOME": str(home)})
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        result = await session.initialize()
    assert result.server_info.name == "nmem"
    _serves_the_ui(nmem, home)


def _serves_the_ui(nmem: str, home: Path) -> None:
    with subprocess.Popen(
        [nmem, "ui", "--port", "0"],
        env={**os.environ, "NMEM_HOME": str(home)},
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    ) as ui:
        try:
            assert ui.stdout is not None
            url = ui.stdout.readline().split()[3]
            with httpx.Client(base_url=url.split("/?")[0], timeout=30) as client:
                client.get(url)  # the token, exchanged for the session cookie
                page = client.get("/", params={"q": "kafka"})
                assert page.status_code == 200 and "Falcon streams through Kafka" in page.text
                assert "<svg" in page.text
                for asset in ("/static/ui.css", "/static/ui.js", "/static/icon.svg"):
                    assert client.get(asset).status_code == 200, asset
        finally:
            ui.terminate()
