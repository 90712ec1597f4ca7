#!/usr/bin/env bash
# mypy --strict over tests/, as pytest imports them: one run per folder.
#
# Test folders are not packages: pytest imports each test file and conftest.py by its bare name, so
# every folder has its own `conftest` module. One mypy run over all of tests/ would see eight
# modules named `conftest`; one run per folder sees each folder as pytest does. The helpers they
# share are the package tests/helpers (`helpers`, on mypy_path: pyproject.toml, [tool.mypy]),
# checked in a run of its own. The same strict settings as src/, nothing relaxed.
set -euo pipefail
cd "$(dirname "$0")/.."
MYPY="${MYPY:-.venv/bin/mypy}"
status=0
"$MYPY" --no-error-summary tests/*.py || status=1
for folder in tests/*/; do
    compgen -G "${folder}*.py" >/dev/null || continue # golden/: data only
    "$MYPY" --no-error-summary "$folder" || status=1
done
exit "$status"
