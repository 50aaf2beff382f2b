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
# Slow tests (API fuzzing, a PostgreSQL restart mid-burst) are left to `make test-slow`.
test: install
	$(BIN)/python -m pytest -q -m "not slow"
	@if [ -n "$$TEST_DATABASE_URL" ]; then \
		echo "== again on PostgreSQL ($$TEST_DATABASE_URL) =="; \
		CAREPACT_TEST_DATABASE_URL="$$TEST_DATABASE_URL" $(BIN)/python -m pytest -q -m "not slow"; \
	elif [ "$$CI" = "true" ]; then \
		echo "CI=true but TEST_DATABASE_URL is not set: the PostgreSQL run is required in CI." >&2; exit 1; \
	else \
		echo "(PostgreSQL run skipped: set TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test to run it.)"; \
	fi

# The slow tests only (marked `slow`): schemathesis over every operation as every role, a private
# PostgreSQL restarted during a burst of check-ins. On SQLite, then the fuzzing again on PostgreSQL
# (stricter about what a column holds) when TEST_DATABASE_URL is set. CI runs it after `make test`.
test-slow: install
	$(BIN)/python -m pytest -q -m slow
	@if [ -n "$$TEST_DATABASE_URL" ]; then \
		echo "== API fuzzing again on PostgreSQL ($$TEST_DATABASE_URL) =="; \
		CAREPACT_TEST_DATABASE_URL="$$TEST_DATABASE_URL" $(BIN)/python -m pytest -q -m slow tests/platform/test_api_fuzz.py; \
	fi

# Each figure a ratio to a plain baseline measured in the same run (tests/perf/; results in var/bench/):
# the agreement engine and the audit dashboard over a city year, the visit API, photos and door cards,
# jobs on arq (needs Redis); the dashboard over the province data set when BENCH_PROVINCE_DATABASE_URL names a
# PostgreSQL database it may fill (loaded once, ~20 minutes; without it the script prints that it skips).
# Not part of `make test`; see docs/PERFORMANCE.md.
bench: install
	$(BIN)/python tests/perf/bench_engine.py
	$(BIN)/python tests/perf/bench_dashboard.py
	$(BIN)/python tests/perf/bench_web.py
	$(BIN)/python tests/perf/bench_media.py
	$(BIN)/python tests/perf/bench_jobs.py
	$(BIN)/python tests/perf/bench_province.py

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy platform/carepact contracts providers

clean:
	rm -rf $(VENV) var .pytest_cache
