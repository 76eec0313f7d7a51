# Two commands do all set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
HOST ?= 127.0.0.1
STAMP := $(VENV)/.installed

.PHONY: run test lint unit install migrate demo bench clean web mutation

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

# The web front (/app/, /dashboard/): plain ES modules; npm installs the QR decoder (jsQR).
WEB_STAMP := web/node_modules/.package-lock.json
$(WEB_STAMP): web/package.json web/package-lock.json
	cd web && npm ci --no-audit --no-fund
	touch $(WEB_STAMP)

web: $(WEB_STAMP)

migrate: $(STAMP)
	$(BIN)/medwaste migrate

demo: migrate
	$(BIN)/medwaste demo

# Serve on an embedded SQLite database, with the demo region loaded on first run.
run: demo web
	$(BIN)/medwaste serve --host $(HOST) --port $(PORT)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

unit: $(STAMP) web
	$(BIN)/pytest

# The whole suite: lint, types, tests (on PostgreSQL too when TEST_DATABASE_URL is set).
test: lint unit

# Mutation testing of the pure core (takes minutes, not part of `make test`): mutmut over the
# functions, tools/mutation.py over the module-level tables; prints the score per module.
MUTATION_STAMP := $(VENV)/.mutation-installed
$(MUTATION_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,mutation]'
	touch $(MUTATION_STAMP)

mutation: $(MUTATION_STAMP)
	$(BIN)/python tools/mutation.py all

bench: $(STAMP)
	$(BIN)/python bench/ingest.py

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache mutants
