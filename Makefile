# One command to set up and run the platform locally (make run), one to set up and pass the tests (make test).
# Needs only Python 3.11+, Node 20+ and the package registries.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
NODE_STAMP := node_modules/.installed-stamp
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION := 1
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export PYTHONPATH := $(CURDIR)

.PHONY: setup run test lint typecheck unit integration infra e2e synth bench bench-search bench-flash-sale bench-order-path schemas clean

$(STAMP): pyproject.toml
	@$(PY) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is required"'
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[infra,dev]'
	@touch $@

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

setup: $(STAMP) $(NODE_STAMP)

run: setup
	$(BIN)/python -m local

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy functions infra local bench clients ops

unit: $(STAMP)
	$(BIN)/pytest tests/unit -q

integration: $(STAMP)
	$(BIN)/pytest tests/integration -q

infra: setup
	$(BIN)/pytest tests/infra -q

e2e: setup
	$(BIN)/pytest tests/e2e -q

# Two workers: the machine (and CI) has two cores; every test is isolated (own moto, own ports, own temp dirs).
# loadgroup keeps the end-to-end tests on one worker, whose platform then stops after the last of them (tests/e2e).
test: setup lint typecheck
	$(BIN)/pytest tests -q -n 2 --dist loadgroup

synth: setup
	npx --no-install cdk synth --quiet -c stage=$${STAGE:-dev}

bench: $(STAMP)
	$(BIN)/python bench/cold_start.py
	$(BIN)/python bench/calls.py

# Keyword search against a naive scan at 1k/10k/100k products (most of an hour here; --sizes for a quicker run).
bench-search: $(STAMP)
	$(BIN)/python bench/search.py

# A flash sale over HTTP against the local platform (starts it itself); exits 1 on any oversell or 5xx.
bench-flash-sale: setup
	$(BIN)/python bench/flash_sale.py

# One order from checkout to delivery and back: Lambda invocations, DynamoDB requests and events per order (~10 s).
bench-order-path: $(STAMP)
	$(BIN)/python bench/order_path.py

schemas: $(STAMP)
	$(BIN)/python -m events.generate

clean:
	rm -rf $(VENV) node_modules cdk.out .pytest_cache .mypy_cache .ruff_cache .local
