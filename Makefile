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

# Ports and bind address of `make up` / `make up-team` (issue 16): make up PREFECT_PORT=4300 ...
HOST         ?= $(or $(SAFESHIP_HOST),127.0.0.1)
PREFECT_PORT ?= $(or $(SAFESHIP_PREFECT_PORT),4200)
GATEWAY_PORT ?= $(or $(SAFESHIP_GATEWAY_PORT),8700)
WORKERS      ?= 2
REPLICAS     ?= 3

.PHONY: setup lint browser test test-fast demo up up-team team-deps bench clean reliability

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

# Browser tests (tests/e2e) drive Debian's Chromium with Playwright; never a browser download.
browser:
	test -x /usr/bin/chromium || { apt-get update -q && apt-get install -y -q chromium chromium-driver; }

test: lint browser team-deps
	$(BIN)/python -m pytest -q -n 2 --dist loadgroup

test-fast: setup
	$(BIN)/python -m pytest -q -m "not slow"

# Full-count reliability suite (crash, concurrency, fuzzing); CI runs a bounded subset in `make test`.
reliability: setup
	SAFESHIP_RELIABILITY_FULL=1 SAFESHIP_RELIABILITY_REPORT=$(CURDIR)/reports/reliability \
		$(BIN)/python -m pytest -q tests/reliability
	cat reports/reliability/summary.md

demo: setup browser
	$(BIN)/python -m scripts.demo

up: setup
	$(BIN)/safeship init
	$(BIN)/python -m safeship.stack up --host $(HOST) --prefect-port $(PREFECT_PORT) --gateway-port $(GATEWAY_PORT)

# Team mode (issue 16): PostgreSQL for the registry and Prefect, workers, replicas + HAProxy.
# export SAFESHIP_DB_URL=postgresql://... PREFECT_API_DATABASE_CONNECTION_URL=postgresql+asyncpg://...
up-team: setup team-deps
	$(BIN)/python -m scripts.deployments check
	$(BIN)/safeship init
	$(BIN)/python -m safeship.team --host $(HOST) --prefect-port $(PREFECT_PORT) --gateway-port $(GATEWAY_PORT) --workers $(WORKERS) --replicas $(REPLICAS)

# the load balancer of the replicas (Debian's haproxy); the team tests skip, saying so, without it
team-deps:
	@command -v haproxy >/dev/null || test -x /usr/sbin/haproxy || \
	  apt-get install -y -q haproxy >/dev/null 2>&1 || \
	  (apt-get update -q >/dev/null 2>&1 && apt-get install -y -q haproxy >/dev/null 2>&1) || \
	  echo "haproxy could not be installed: the load-balancer tests will skip"

bench: setup
	for script in benchmarks/bench_*.py; do $(BIN)/python $$script || exit 1; done

clean:
	rm -rf .safeship reports/*/ .pytest_cache .mypy_cache .ruff_cache
