# Two entry points for a fresh machine:
#   make run   - create .venv, install watcher, run the daemon with config.example.toml
#   make test  - create .venv, install watcher with its test tools, lint, type-check, test
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CONFIG ?= config.example.toml

.PHONY: install run demo test lint typecheck unit check-once bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.installed-run

install: $(VENV)/.installed-run
	@echo "watcher is installed in $(VENV); put it on your PATH with:  export PATH=\"$$PWD/$(BIN):$$PATH\""

run: $(VENV)/.installed-run
	$(BIN)/watcher run --config $(CONFIG)

demo: $(VENV)/.installed-run
	$(BIN)/python demo/demo.py

check-once: $(VENV)/.installed-run
	$(BIN)/watcher check --config $(CONFIG)

lint: $(VENV)/.installed-test
	$(BIN)/ruff check watcher tests bench migrations demo
	$(BIN)/lint-imports

typecheck: $(VENV)/.installed-test
	$(BIN)/mypy

unit: $(VENV)/.installed-test
	$(BIN)/pytest tests/unit -q

test: lint typecheck
	$(BIN)/pytest -q

# The whole benchmark (under 10 minutes): prints the figures, writes docs/benchmarks.md;
# then the shared replicas' simulation and measurement, whose figures go into docs/scaling.md.
bench: $(VENV)/.installed-test
	$(BIN)/python bench/harness.py
	$(BIN)/python bench/replicas_sim.py --write docs/scaling.md
	$(BIN)/python bench/replicas_measure.py --write docs/scaling.md

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
