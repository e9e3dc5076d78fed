# Haven: the two commands a new user needs are `make run` and `make test`; `make help` lists all.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
PYTHON ?= python3
PYTEST_ARGS ?=

# uv installs exactly what uv.lock records (versions and hashes). It is itself pinned and kept in
# its own small venv, .tools/, so the project's venv holds only the project's packages.
UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(TOOLS)/bin/uv
export UV_PROJECT_ENVIRONMENT := $(VENV)
export UV_PYTHON_DOWNLOADS := never
export UV_PYTHON := $(PYTHON)

.DEFAULT_GOAL := help
.PHONY: help install install-runtime run test test-sqlite test-postgres test-pkcs11 test-fast lint \
	format lock upgrade migration-checksums bench bench-full faults faults-sync-cost tracing-eval \
	clean

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  make %-20s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(UV):
	@test -x $(TOOLS)/bin/python || $(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet --disable-pip-version-check 'uv==$(UV_VERSION)'

install: $(VENV)/.installed-dev ## the developer's venv: runtime + test and lint tools, from uv.lock

install-runtime: $(VENV)/.installed-runtime ## the runtime only, from uv.lock (what `make run` uses)

# --locked: refuse when pyproject.toml and uv.lock disagree (run `make lock`) instead of
# silently resolving something else.
$(VENV)/.installed-dev: pyproject.toml uv.lock | $(UV)
	$(UV) sync --locked --extra dev
	@touch $(VENV)/.installed-runtime $@

# --inexact: leave the dev tools of an earlier `make install` in place; a fresh venv gets the
# runtime and nothing else.
$(VENV)/.installed-runtime: pyproject.toml uv.lock | $(UV)
	$(UV) sync --locked --inexact
	@touch $@

run: install-runtime ## migrate ./var/haven.db, create the first admin, serve on :8000
	@mkdir -p -m 700 var
	$(BIN)/haven migrate
	$(BIN)/haven bootstrap --username admin --generate-password --if-empty
	@echo "==> Haven API on http://$${HAVEN_HOST:-127.0.0.1}:$${HAVEN_PORT:-8000}  (docs: /docs, stop: Ctrl-C)"
	$(BIN)/haven serve

test: install test-sqlite ## the whole suite on SQLite, then on PostgreSQL when one answers
	@if $(PY) -m tests.databases --probe; then \
		$(MAKE) --no-print-directory test-postgres; \
	elif [ -n "$$REQUIRE_POSTGRES" ]; then \
		echo "PostgreSQL is required (REQUIRE_POSTGRES) but does not answer" >&2; exit 1; \
	else \
		echo "PostgreSQL does not answer on $${HAVEN_TEST_DATABASE_URL:-127.0.0.1:5432}: PostgreSQL pass skipped"; \
	fi
	@$(MAKE) --no-print-directory test-pkcs11

# Each pass runs on every core (pytest-xdist: each worker makes its own databases) and, when it
# runs the whole suite, fails if line coverage of api/, services/ and models/ drops below the
# floor in pyproject.toml ([tool.coverage.report] fail_under). A subset (PYTEST_ARGS) skips it.
PYTEST_WORKERS ?= auto
COVERAGE := $(if $(PYTEST_ARGS),,--cov --cov-report=term:skip-covered)

test-sqlite: install ## the suite on SQLite only
	HAVEN_TEST_BACKEND=sqlite $(BIN)/pytest -n $(PYTEST_WORKERS) $(COVERAGE) $(PYTEST_ARGS)

test-postgres: install ## the suite on PostgreSQL only (HAVEN_TEST_DATABASE_URL)
	HAVEN_TEST_BACKEND=postgresql $(BIN)/pytest -n $(PYTEST_WORKERS) $(COVERAGE) $(PYTEST_ARGS)

# The keyring, case, erasure and rotation tests once more with the keyring in a SoftHSM token
# (tests/keyrings.py), on SQLite and on PostgreSQL when one answers.
PKCS11_TESTS := tests/pkcs11 tests/services/test_keyring_contract.py tests/services/test_rotation.py \
	tests/services/test_cases_access.py tests/cli/test_keys_cli.py tests/api/test_cases_api.py \
	tests/api/test_cases_erasure_at_rest.py tests/api/test_cases_storage.py tests/api/test_cases_search.py

test-pkcs11: install ## keyring, case, erasure, rotation tests with HAVEN_KEYRING=pkcs11 (SoftHSM)
	HAVEN_TEST_KEYRING=pkcs11 HAVEN_TEST_BACKEND=sqlite $(BIN)/pytest $(PYTEST_ARGS) $(PKCS11_TESTS)
	@if $(PY) -m tests.databases --probe; then \
		HAVEN_TEST_KEYRING=pkcs11 HAVEN_TEST_BACKEND=postgresql $(BIN)/pytest $(PYTEST_ARGS) $(PKCS11_TESTS); \
	elif [ -n "$$REQUIRE_POSTGRES" ]; then \
		echo "PostgreSQL is required (REQUIRE_POSTGRES) but does not answer" >&2; exit 1; \
	fi

test-fast: install ## SQLite, all cores, stop at the first failure, the 20 slowest tests
	HAVEN_TEST_BACKEND=sqlite $(BIN)/pytest -n auto -x -q --durations=20 $(PYTEST_ARGS)

lint: install ## ruff (lint + format check), mypy, the import contracts, and the lock file matches pyproject.toml
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy api services models tests
	$(BIN)/lint-imports
	$(UV) lock --check

format: install ## apply ruff's formatting and safe fixes
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

lock: | $(UV) ## after editing dependencies in pyproject.toml: update uv.lock (keeps other pins)
	$(UV) lock

upgrade: | $(UV) ## move every pin in uv.lock to the newest version pyproject.toml allows
	$(UV) lock --upgrade

migration-checksums: install ## record the checksum of a newly added migration revision
	$(PY) -m migrations.checksums

bench: install ## ratios against a plaintext baseline (~17 min on 2 cores, local PostgreSQL)
	$(PY) -m bench --profile bench

bench-full: install ## the long benchmark: 100,000 cases, 1,000,000 audit events (~45 min)
	$(PY) -m bench --profile bench-full

faults: install ## fault experiments on a private PostgreSQL and SQLite (~10-16 min; docs/resilience.md)
	$(PY) -m bench.faults

faults-sync-cost: install ## SQLite intake with synchronous=FULL against NORMAL (~1 min)
	$(PY) -m bench.faults --sync-cost

# Family-tracing accuracy, cost and leakage on a seeded set built from registry packages.
# `arabic-name-romanizer` is installed without its dependencies: only its names database (a
# SQLite file) is read, never its ONNX model. Smaller runs: TRACING_EVAL_ARGS="--cases 5000".
TRACING_EVAL_ARGS ?=
tracing-eval: | $(UV) ## family-tracing recall, precision, cost and leakage (50,000 cases; long)
	$(UV) sync --locked --extra dev --extra eval
	@touch $(VENV)/.installed-runtime $(VENV)/.installed-dev
	$(UV) pip install --python $(PY) --quiet --no-deps 'arabic-name-romanizer==0.2.0'
	$(PY) -m bench.tracing_eval $(TRACING_EVAL_ARGS)

clean: ## remove the venvs and tool caches
	rm -rf $(VENV) $(TOOLS) .pytest_cache .mypy_cache .ruff_cache .coverage htmlcov
