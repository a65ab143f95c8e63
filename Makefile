# Every target bootstraps .venv itself; nothing is installed globally except the
# Debian packages scripts/sysdeps.sh adds when they are missing.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
export QT_QPA_PLATFORM ?=

.PHONY: run serve test lint bench package clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $@

run: $(STAMP)
	scripts/sysdeps.sh run
	$(BIN)/lattice-rt-tray

serve: $(STAMP)
	$(BIN)/lattice-rt serve

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

test: $(STAMP)
	scripts/sysdeps.sh test
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/pytest

BENCH_STAMP := $(VENV)/.bench-stamp

$(BENCH_STAMP): $(STAMP)
	$(BIN)/python -m pip install -q -e '.[dev,bench]'
	touch $@

# All benchmark figures, project against the reference design; writes
# BENCHMARKS.md and docs/bench.png (a few minutes; see bench/run.py).
bench: $(BENCH_STAMP)
	scripts/sysdeps.sh run
	$(BIN)/python -m bench.run

clean:
	rm -rf $(VENV) build dist *.egg-info .mypy_cache .ruff_cache .pytest_cache
