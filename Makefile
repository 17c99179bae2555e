# The two commands of the README: `make run` and `make test`. Both build .venv on first use.
PYTHON ?= python3
# The suite waits on PostgreSQL more than on the CPU: four workers keep two cores busy.
PYTEST_ARGS ?= -n 4
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: run test migrate bench clean

$(BIN)/.installed: requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

## run: start the service on :8000 with demo data (embedded PostgreSQL unless DATABASE_URL is set)
run: $(BIN)/.installed
	$(BIN)/python scripts/run_demo.py

## test: the whole test suite against a real PostgreSQL (TEST_DATABASE_URL, else embedded)
test: $(BIN)/.installed
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## bench: the benchmark suite at 1,000,000 ratings (see benchmarks/README.md)
bench: $(BIN)/.installed
	$(BIN)/python benchmarks/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) var .pytest_cache
