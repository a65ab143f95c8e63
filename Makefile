# Every target bootstraps .venv itself; nothing is installed globally except the
# Debian packages scripts/sysdeps.sh adds when they are missing.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# What the app needs to run (make run, make serve): the package and its dependencies.
RUN_STAMP := $(VENV)/.run-stamp
# That plus the test, lint and type-check tools (the dev extra): every other target.
STAMP  := $(VENV)/.installed-stamp
PKG_STAMP := $(VENV)/.package-stamp
export QT_QPA_PLATFORM ?=

.PHONY: run serve test lint bench package package-test clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(RUN_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e .
	touch $@

# The dev extra includes everything the run stamp installs, so it satisfies that one too.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $@ $(RUN_STAMP)

run: $(RUN_STAMP)
	scripts/sysdeps.sh run
	$(BIN)/lattice-rt-tray

serve: $(RUN_STAMP)
	$(BIN)/lattice-rt serve

# The idle sources of Windows and macOS are type-checked as those platforms see them.
PLATFORM_MYPY = $(BIN)/mypy --platform win32 app/lattice_rt_tray/system/idle/windows.py && \
	$(BIN)/mypy --platform darwin app/lattice_rt_tray/system/idle/macos.py

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(PLATFORM_MYPY)

# The real Lattice AI server (PyPI ltcai 2.0.0 and 11.5.2), each release in a venv of its
# own under ~/.cache/lattice-rt-tests (built once; the tests only start it).
LTCAI = $(BIN)/python -m tests.lattice_ai.server install

test: $(STAMP)
	scripts/sysdeps.sh test
	$(LTCAI)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(PLATFORM_MYPY)
	$(BIN)/pytest

BENCH_STAMP := $(VENV)/.bench-stamp

$(BENCH_STAMP): $(STAMP)
	$(BIN)/python -m pip install -q -e '.[dev,bench]'
	touch $@

# All benchmark figures, project against the reference design; writes
# BENCHMARKS.md and docs/bench.png (a few minutes; see bench/run.py).
bench: $(BENCH_STAMP)
	scripts/sysdeps.sh bench
	$(BIN)/python -m bench.run

$(PKG_STAMP): $(STAMP)
	$(BIN)/python -m pip install -q -e '.[package]'
	touch $@

# The .deb in dist/; the PyInstaller bundle is reused while none of its inputs changed.
package: $(PKG_STAMP)
	scripts/sysdeps.sh package
	$(BIN)/python packaging/build.py deb

# Build the .deb, install it with dpkg, run what it installed, remove it (as root).
package-test: $(PKG_STAMP)
	scripts/sysdeps.sh package
	deb="$$($(BIN)/python packaging/build.py deb)" && \
	  LATTICE_RT_DEB="$$deb" $(BIN)/pytest -p no:cacheprovider tests/packaging/test_installed_deb.py

clean:
	rm -rf $(VENV) build dist *.egg-info .mypy_cache .ruff_cache .pytest_cache
