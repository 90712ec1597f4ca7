"""`nmem` as a user runs it (a new process of this environment's script), or in this process, on
one device folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from neuralmemory import config
from neuralmemory.cli import main

NMEM = str(Path(sys.executable).parent / "nmem")


def nmem(
    home: Path, *args: str, env: Mapping[str, str] | None = None, timeout: float = 120, **run: Any
) -> subprocess.CompletedProcess[str]:
    """`nmem ARGS` with NMEM_HOME=home (env: more variables; run: more subprocess.run options);
    whatever its exit status."""
    done: subprocess.CompletedProcess[str] = subprocess.run(
        [NMEM, *args],
        env={**os.environ, "NMEM_HOME": str(home), **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        **run,
    )
    return done


def nmem_json(home: Path, *args: str, env: Mapping[str, str] | None = None) -> Any:
    """`nmem ARGS --json`, which must succeed: its answer."""
    done = nmem(home, *args, "--json", env=env)
    assert done.returncode == 0, f"nmem {' '.join(args)}: {done.stdout}{done.stderr}"
    return json.loads(done.stdout)


def cli(home: Path, *args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
    """`nmem ARGS` in this process (click's runner), on the device folder `home`: the same exit
    status, stdout and stderr as `nmem` above, without a process start-up per command. For tests
    about what a command does; a test about the process itself (its exit, its threads, what a
    user's shell sees) runs `nmem`."""
    with config.using_home(home):
        result = CliRunner().invoke(main.cli, list(args), input=input, catch_exceptions=False)
    return subprocess.CompletedProcess(
        [NMEM, *args], result.exit_code, result.stdout, result.stderr
    )


def cli_json(home: Path, *args: str) -> Any:
    """`nmem ARGS --json` in this process, which must succeed: its answer."""
    done = cli(home, *args, "--json")
    assert done.returncode == 0, f"nmem {' '.join(args)}: {done.stdout}{done.stderr}"
    return json.loads(done.stdout)
