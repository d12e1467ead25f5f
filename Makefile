# Every target sets itself up: a fresh machine needs only Python 3 (with venv) and make.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
READY := $(VENV)/.ready

.PHONY: demo test lint clean bench docs docs-build matrix

# The interpreters the matrix (noxfile.py) runs on: pyenv's, if present, ahead of the rest of PATH.
PYENV_ROOT ?= $(HOME)/.pyenv
MATRIX_PATH := $(subst $(eval) ,:,$(wildcard $(PYENV_ROOT)/versions/3.1[0-3].*/bin)):$(PATH)

$(READY): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet --editable . --group dev
	touch $@

demo: $(READY) ## the main job: verify real signed requests on 127.0.0.1
	$(PY) -m tower_webhooks demo

test: $(READY) ## every test and check
	$(PY) -m pytest
	$(MAKE) lint
	$(MAKE) docs-build

# pyright --verifytypes finds the package through the first python on PATH: the venv's.
lint: $(READY)
	$(PY) -m mypy --strict
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	PATH="$(abspath $(VENV))/bin:$$PATH" $(VENV)/bin/pyright --verifytypes tower_webhooks --ignoreexternal

# mkdocs: a broken link, anchor or API reference is a warning, and --strict makes it fatal.
docs-build: $(READY) ## build the docs site into site/
	NO_MKDOCS_2_WARNING=1 $(PY) -m mkdocs build --strict --site-dir site

docs: $(READY) ## serve the docs on http://127.0.0.1:8000, rebuilt on every change
	NO_MKDOCS_2_WARNING=1 $(PY) -m mkdocs serve --dev-addr 127.0.0.1:8000

matrix: $(READY) ## the whole suite on every supported Python and framework version, from the built wheel
	rm -rf dist
	$(PY) -m build --installer uv --outdir dist .
	PATH="$(MATRIX_PATH)" UV_PYTHON_DOWNLOADS=never $(VENV)/bin/nox $(NOX_ARGS)

# Benchmarks live in their own environment: the peers they compare with are never our dependencies.
BENCH_VENV := bench/.venv
BENCH_READY := $(BENCH_VENV)/.ready

$(BENCH_READY): pyproject.toml bench/requirements.txt
	$(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(BENCH_VENV)/bin/python -m pip install --quiet --editable '.[flask,django,starlette]' -r bench/requirements.txt
	touch $@

bench: $(BENCH_READY) ## benchmarks, never part of make test: see docs/performance.md
	@command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; } \
		|| echo "wrk could not be installed: the adapter benchmark uses its Python load client"
	$(BENCH_VENV)/bin/python -m bench

clean:
	rm -rf $(VENV) build dist .mypy_cache .pytest_cache .ruff_cache .hypothesis .nox site
