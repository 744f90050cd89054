# The README's two commands: `make run` (the main job on the embedded default) and
# `make test` (install, lint, type-check, test). Both set everything up on a fresh machine.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
SAMPLE ?= sample_archive

.PHONY: run test install lint typecheck pytest bench clean

run: $(VENV)/.installed
	$(BIN)/assistant ingest $(SAMPLE)
	$(BIN)/assistant stats

test: $(VENV)/.installed lint typecheck pytest

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

lint:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck:
	$(BIN)/mypy

pytest:
	$(BIN)/pytest

bench: $(VENV)/.installed
	$(BIN)/python benchmarks/ingest.py
	$(BIN)/python benchmarks/embedders.py

clean:
	rm -rf $(VENV) dist build .pytest_cache .mypy_cache .ruff_cache
