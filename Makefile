# Haven: the two commands a new user needs are `make run` and `make test`.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
PYTHON ?= python3
PYTEST_ARGS ?=

.PHONY: install run test test-sqlite test-postgres lint format bench bench-full clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $@

run: install
	@mkdir -p -m 700 var
	$(BIN)/haven migrate
	$(BIN)/haven bootstrap --username admin --generate-password --if-empty
	@echo "==> Haven API on http://$${HAVEN_HOST:-127.0.0.1}:$${HAVEN_PORT:-8000}  (docs: /docs, stop: Ctrl-C)"
	$(BIN)/haven serve

test: install test-sqlite
	@if $(PY) -m tests.databases --probe; then \
		$(MAKE) --no-print-directory test-postgres; \
	elif [ -n "$$REQUIRE_POSTGRES" ]; then \
		echo "PostgreSQL is required (REQUIRE_POSTGRES) but does not answer" >&2; exit 1; \
	else \
		echo "PostgreSQL does not answer on $${HAVEN_TEST_DATABASE_URL:-127.0.0.1:5432}: PostgreSQL pass skipped"; \
	fi

test-sqlite: install
	HAVEN_TEST_BACKEND=sqlite $(BIN)/pytest $(PYTEST_ARGS)

test-postgres: install
	HAVEN_TEST_BACKEND=postgresql $(BIN)/pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy api services models

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: install
	$(PY) -m bench --profile bench

bench-full: install
	$(PY) -m bench --profile bench-full

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
