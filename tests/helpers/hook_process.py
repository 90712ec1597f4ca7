"""Run `nmem hook EVENT` as Claude Code does: a new process, the event's JSON on stdin, this
test's own NMEM_HOME and HOME (tests/conftest.py), the answer read from stdout."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from helpers.nmem import NMEM

FIXTURES = Path(__file__).resolve().parents[1] / "hooks" / "fixtures"


def fixture(name: str, **changes: Any) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text())
    event.update(changes)
    return event


@dataclass
class Ran:
    stdout: str
    stderr: str
    code: int

    def json(self) -> Any:
        return json.loads(self.stdout)


def run_hook(event: str, payload: dict[str, Any] | str) -> Ran:
    text = payload if isinstance(payload, str) else json.dumps(payload)
    done = subprocess.run(
        [NMEM, "hook", event], input=text, capture_output=True, text=True, timeout=60
    )
    return Ran(done.stdout, done.stderr, done.returncode)


def log_lines(home: Path) -> list[str]:
    path = home / "logs" / "hooks.log"
    return path.read_text().splitlines() if path.exists() else []


def write_config(home: Path, text: str) -> None:
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text(text)
