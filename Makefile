# carepact — the two commands a newcomer needs are `make run` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run test test-sqlite test-postgres test-slow lint worker migrate demo bench clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

migrate: install
	$(BIN)/carepact migrate

demo: migrate
	$(BIN)/carepact demo-data

# Embedded default: SQLite file under var/, jobs in-process, photos on disk.
run: demo
	$(BIN)/carepact serve --host $(HOST) --port $(PORT)

worker: install
	$(BIN)/carepact worker

# The whole suite on SQLite, then again on PostgreSQL when TEST_DATABASE_URL is set (CI sets it).
test: install
	$(BIN)/python -m pytest -q
	@if [ -n "$$TEST_DATABASE_URL" ]; then \
		echo "== again on PostgreSQL ($$TEST_DATABASE_URL) =="; \
		CAREPACT_TEST_DATABASE_URL="$$TEST_DATABASE_URL" $(BIN)/python -m pytest -q; \
	elif [ "$$CI" = "true" ]; then \
		echo "CI=true but TEST_DATABASE_URL is not set: the PostgreSQL run is required in CI." >&2; exit 1; \
	else \
		echo "(PostgreSQL run skipped: set TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test to run it.)"; \
	fi

# The agreement engine over a synthetic city year (5,565 households, ~300,000 visits) in a temporary
# SQLite database, timed against a plain SQL count of the same visits. Not part of `make test`.
bench: install
	$(BIN)/python tests/perf/bench_engine.py

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy platform/carepact contracts providers

clean:
	rm -rf $(VENV) var .pytest_cache
