# The README's two commands are `make run` and `make test`; each makes its own virtual environment.
PYTHON ?= python3
# pipefail: the Worker's test output goes through a filter, and its exit status must not be lost
SHELL  := /bin/bash
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test test-long lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test]"
	@# benchmarks run as plain scripts import the tests' shared helpers (tests/helpers) by this path
	echo "$(CURDIR)/tests" > "$$($(BIN)/python -c 'import sysconfig; print(sysconfig.get_path("purelib"))')/neuralmemory-tests.pth"
	touch $(STAMP)

# The Worker (sync-hub/): npm dependencies exactly as package-lock.json pins them, reinstalled only
# when the lock file changes; every wrangler and vitest run offline (docs in sync-hub/README.md).
NPM_STAMP   := sync-hub/node_modules/.installed
WRANGLER_ENV := WRANGLER_SEND_METRICS=false CLOUDFLARE_CF_FETCH_ENABLED=false WRANGLER_HIDE_BANNER=true CI=true

$(NPM_STAMP): sync-hub/package-lock.json
	cd sync-hub && npm ci --no-audit --no-fund
	touch $(NPM_STAMP)

# The MCP Inspector's CLI, which tests/mcp/test_mcp_inspector.py drives `nmem mcp` through: pinned
# the same way, installed once per lock file, run offline.
INSPECTOR_STAMP := tests/mcp/inspector/node_modules/.installed

$(INSPECTOR_STAMP): tests/mcp/inspector/package-lock.json
	cd tests/mcp/inspector && npm ci --no-audit --no-fund
	touch $(INSPECTOR_STAMP)

## run: the local hub on an embedded SQLite file under $NMEM_HOME/hub, ready for devices
run: $(STAMP)
	$(BIN)/nmem serve

# workerd prints this line whenever a test's Worker closes its connection to vitest: not a failure
WORKERD_NOISE := WebSocket peer disconnected

# The files with serial tests: the pass after the parallel one collects only these, not the
# ~2,000 tests of the whole suite again (none found: it collects tests/, as pyproject says)
SERIAL_TESTS = $(shell grep -rlE '^\s*(@pytest\.mark\.serial|pytestmark.*serial)' tests --include='*.py')

## test: lint, type-check and every test (real SQLite, PostgreSQL, hub processes, MCP, Worker),
## spread over the cores, with the coverage of src/neuralmemory
# Bytecode is cached even where the shell sets PYTHONDONTWRITEBYTECODE: without the cache every
# pytest process rewrites the asserts of ~400 modules (the tests, and the plugins' packages:
# hypothesis, schemathesis) and every `nmem` the tests start compiles src/ again.
test: export PYTHONDONTWRITEBYTECODE :=
test: lint $(NPM_STAMP) $(INSPECTOR_STAMP)
	@echo "cd sync-hub && npm run typecheck && npm test"
	@set -o pipefail; cd sync-hub && $(WRANGLER_ENV) npm run --silent typecheck \
		&& $(WRANGLER_ENV) npm test 2>&1 | { grep -v "$(WORKERD_NOISE)" || true; }
	scripts/ensure-postgres.sh
	$(BIN)/pytest -m "not slow and not serial" -n auto --dist loadgroup --cov --cov-report=
	$(BIN)/pytest -m "serial and not slow" -q --no-header --cov --cov-append --cov-report= $(SERIAL_TESTS)
	@echo "coverage: $$($(BIN)/coverage report --format=total)% of src/neuralmemory (lines and branches, in-process)"

## test-long: the long property runs as well
test-long: $(STAMP)
	$(BIN)/pytest

## lint: the gates pre-commit runs too (.pre-commit-config.yaml): ruff, ruff format, mypy --strict
## over src/ and tests/, prettier for the Worker
lint: $(STAMP) $(NPM_STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy
	scripts/typecheck-tests.sh
	cd sync-hub && npm run --silent format:check

bench: $(STAMP)
	$(BIN)/python benchmarks/core_bench.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .coverage
