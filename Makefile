# Two commands do all set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
HOST ?= 127.0.0.1
STAMP := $(VENV)/.installed

.PHONY: run test lint unit install lock migrate demo bench clean web mutation

# Every dependency, the test tools included, at the versions and file hashes of the lock file;
# then the project itself, which brings nothing of its own (`pip check` fails if pyproject.toml
# asks for something the lock lacks: run `make lock`).
LOCK := requirements.lock
# The same versions without the test tools, for the container image.
RUNTIME_LOCK := requirements-runtime.lock
UV_VERSION := 0.13.9

$(STAMP): pyproject.toml $(LOCK)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes -r $(LOCK)
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	$(BIN)/python -m pip check
	touch $(STAMP)

install: $(STAMP)

# Write the lock files from pyproject.toml (with uv), keeping every version already locked that
# still fits; `make lock UPGRADE=--upgrade` moves everything to the newest versions that fit.
# setuptools is locked too: the project is built with it, without fetching one.
UV_COMPILE = $(VENV)/lock-tools/bin/uv pip compile --universal --python-version 3.11 \
	--generate-hashes --quiet $(UPGRADE)

lock:
	test -x $(VENV)/lock-tools/bin/python || $(PYTHON) -m venv $(VENV)/lock-tools
	$(VENV)/lock-tools/bin/python -m pip install --quiet uv==$(UV_VERSION)
	printf 'setuptools>=69\n' | $(UV_COMPILE) --extra test pyproject.toml - -o $(LOCK)
	printf 'setuptools>=69\n' | $(UV_COMPILE) -c $(LOCK) pyproject.toml - -o $(RUNTIME_LOCK)

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
