# The README's two commands are `make run` and `make test`; each makes its own virtual environment.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test test-long lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test]"
	touch $(STAMP)

# The Worker (sync-hub/): npm dependencies exactly as package-lock.json pins them, reinstalled only
# when the lock file changes; every wrangler and vitest run offline (docs in sync-hub/README.md).
NPM_STAMP   := sync-hub/node_modules/.installed
WRANGLER_ENV := WRANGLER_SEND_METRICS=false CLOUDFLARE_CF_FETCH_ENABLED=false WRANGLER_HIDE_BANNER=true CI=true

$(NPM_STAMP): sync-hub/package-lock.json
	cd sync-hub && npm ci --no-audit --no-fund
	touch $(NPM_STAMP)

## run: the local hub on an embedded SQLite file under $NMEM_HOME/hub, ready for devices
run: $(STAMP)
	$(BIN)/nmem serve

## test: lint, type-check and every test (real SQLite, PostgreSQL, hub processes, MCP, Worker)
test: $(STAMP) $(NPM_STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy
	cd sync-hub && $(WRANGLER_ENV) npm run --silent typecheck && $(WRANGLER_ENV) npm test
	scripts/ensure-postgres.sh
	$(BIN)/pytest -m "not slow"

## test-long: the long property runs as well
test-long: $(STAMP)
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python benchmarks/core_bench.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
