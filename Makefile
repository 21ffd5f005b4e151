# safeship — one command each: `make demo`, `make test`. Each target sets itself up.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

# Offline: no analytics or hub calls from Prefect, DVC, Evidently or transformers.
export DO_NOT_TRACK := 1
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export DVC_NO_ANALYTICS := 1
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export PREFECT_HOME := $(CURDIR)/.safeship/prefect
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: setup lint test test-fast demo up bench clean reliability

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip setuptools wheel
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[dev,hf]'
	touch $(STAMP)

lint: setup
	$(BIN)/ruff check src flows tasks scripts tests benchmarks
	$(BIN)/ruff format --check src flows tasks scripts tests benchmarks
	$(BIN)/mypy

test: lint
	$(BIN)/python -m pytest -q

test-fast: setup
	$(BIN)/python -m pytest -q -m "not slow"

# Full-count reliability suite (crash, concurrency, fuzzing); CI runs a bounded subset in `make test`.
reliability: setup
	SAFESHIP_RELIABILITY_FULL=1 SAFESHIP_RELIABILITY_REPORT=$(CURDIR)/reports/reliability \
		$(BIN)/python -m pytest -q tests/reliability
	cat reports/reliability/summary.md

demo: setup
	$(BIN)/python -m scripts.demo

up: setup
	$(BIN)/safeship init
	$(BIN)/python -m safeship.stack up

bench: setup
	for script in benchmarks/bench_*.py; do $(BIN)/python $$script || exit 1; done

clean:
	rm -rf .safeship reports/*/ .pytest_cache .mypy_cache .ruff_cache
