# jobsync developer commands. Every target sets up what it needs itself.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.DEFAULT_GOAL := help
.PHONY: help install demo test lint bench crash fuzz drills clean

help: ## list the targets
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP) ## create .venv and install jobsync with its dev tools

demo: $(STAMP) ## run the main job end to end against the built-in Xero sandbox
	$(BIN)/python -m jobsync.app.demo

test: $(STAMP) ## run the whole test suite
	sh scripts/ensure-chromium.sh
	sh scripts/ensure-postgres.sh
	sh scripts/ensure-tool.sh tmux
	$(BIN)/python -m pytest -n 2

lint: $(STAMP) ## ruff check, ruff format --check and mypy --strict
	$(BIN)/ruff check jobsync tests scripts benchmarks
	$(BIN)/ruff format --check jobsync tests scripts benchmarks
	$(BIN)/mypy --strict jobsync

crash: $(STAMP) ## SIGKILL `jobsync run` at every crash point over 30 seeds, rerun, check exactly-once
	$(BIN)/python scripts/crash.py --seeds 30

fuzz: $(STAMP) ## hypothesis over configs and job payloads: >= 10,000 cases of each, no traceback
	$(BIN)/python scripts/fuzz.py --cases 10000

drills: $(STAMP) ## a practice on real PostgreSQL: 4 workers x 50 orgs, a SIGKILLed worker, a database restart
	sh scripts/ensure-postgres.sh
	$(BIN)/python scripts/drills.py

bench: $(STAMP) ## print call-count, time and memory figures
	$(BIN)/python -m benchmarks.run

clean: ## remove the virtualenv and caches
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache demo-work
