"""schemathesis against a hub, and the 5xx a hub's own request log shows (the fuzz tests in
tests/reliability and benchmarks/reliability_run.py)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from helpers.hub_targets import RunningHub

ST = str(Path(sys.executable).parent / "st")
CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,"
CHECKS += "response_schema_conformance"
REQUEST_LINE = re.compile(r" (GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS|TRACE) (\S+) (\d{3}) ")


def server_errors(hub: RunningHub) -> list[str]:
    """Requests the hub answered with a 5xx, from its own request log."""
    return [
        f"{m[1]} {m[2]} {m[3]}"
        for m in REQUEST_LINE.finditer(hub.log.read_text(errors="replace"))
        if m[3].startswith("5")
    ]


def requests_logged(hub: RunningHub) -> int:
    return len(REQUEST_LINE.findall(hub.log.read_text(errors="replace")))


def schemathesis_run(
    hub: RunningHub, report: Path, *, examples: int, phases: str, seed: int = 1
) -> dict[str, Any]:
    """`st run` against the hub; returns its JSON report (plus the exit code and output)."""
    args = [ST, "run", hub.url + "/openapi.json", "-c", CHECKS, "-n", str(examples)]
    args += ["--phases", phases, "--seed", str(seed), "--generation-database", "none"]
    args += ["--report", "json", "--report-dir", str(report), "--no-color", "-w", "1"]
    args += ["--request-timeout", "30", "--suppress-health-check", "all"]
    done = subprocess.run(args, capture_output=True, text=True, timeout=1800, check=False)
    (found,) = report.glob("json-*.json")
    result: dict[str, Any] = json.loads(found.read_text())
    result["output"] = done.stdout[-6000:] + done.stderr[-2000:]
    return result
