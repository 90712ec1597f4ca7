"""`nmem` as a user runs it: a new process of this environment's script, on one device folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

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
