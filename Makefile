# The two commands: `make run` and `make test`. Everything else is a step of theirs.
# Without DATABASE_URL / REDIS_URL the shop starts an embedded PostgreSQL and Valkey
# under ./.shop-data; with them set, it uses those servers.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
PYTEST_ARGS ?=

.PHONY: run test install lint typecheck unit delivery bench lock clean help

help:
	@echo "make run    set up and serve the shop on http://127.0.0.1:8080"
	@echo "make test   set up and run every test (lint, types, unit, integration, e2e, k6, delivery)"
	@echo "make bench  run the load benchmarks and write docs/benchmarks.md"
	@echo "make lock   re-resolve requirements.lock from setup.cfg (after changing a dependency)"

# Exact versions come from requirements.lock (a constraints file); the extras bring the
# embedded PostgreSQL/Valkey and the test and dev tools (see requirements-dev.txt).
$(STAMP): setup.cfg setup.py pyproject.toml requirements.lock requirements-dev.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "Python 3.11+ is required")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip setuptools wheel
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	@if [ -d examples/shop-reviews ]; then $(BIN)/python -m pip install --quiet -c requirements.lock -e examples/shop-reviews; fi
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/shop seed --demo --if-empty
	SHOP_DEMO=1 $(BIN)/shop serve --host 127.0.0.1 --port 8080

lint: install
	$(BIN)/ruff check .

typecheck: install
	$(BIN)/mypy kernel plugins

delivery: install
	bash scripts/check_delivery.sh

# Two pytest processes side by side (scripts/run_tests.py says why); PYTEST_ARGS naming tests runs one.
unit: install
	$(BIN)/python scripts/run_tests.py $(PYTEST_ARGS)

test: lint typecheck delivery unit

bench: install
	$(BIN)/python scripts/bench.py

# uv resolves in seconds and writes one universal file (every platform's markers) that
# plain pip reads as constraints: only this target needs uv (the [dev] extra).
lock: install
	$(BIN)/uv pip compile setup.cfg --all-extras --universal --python-version 3.11 \
		--annotation-style line --custom-compile-command "make lock" -o requirements.lock

clean:
	rm -rf $(VENV) .shop-data build *.egg-info
