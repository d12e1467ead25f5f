# Every target sets itself up: a fresh machine needs only Python 3 (with venv) and make.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
READY := $(VENV)/.ready

.PHONY: demo test lint clean bench

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

lint: $(READY)
	$(PY) -m mypy --strict
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

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
	rm -rf $(VENV) build dist .mypy_cache .pytest_cache .ruff_cache .hypothesis
