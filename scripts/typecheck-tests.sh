#!/usr/bin/env bash
# mypy --strict over tests/, as pytest imports them: one run per folder.
#
# Test folders are not packages: pytest puts each test file's folder on sys.path, so helpers are
# imported by their bare names (`from sync_devices import Device`) and every folder has its own
# `conftest` module. One mypy run over all of tests/ would see eight modules named `conftest`;
# one run per folder sees each folder as pytest does, with the folders holding shared helpers
# on mypy_path (pyproject.toml, [tool.mypy]). The same strict settings as src/, nothing relaxed.
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
