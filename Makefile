# Every target sets itself up: a fresh machine needs only Python 3 (with venv) and make.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
READY := $(VENV)/.ready

.PHONY: demo test lint clean

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

clean:
	rm -rf $(VENV) build dist .mypy_cache .pytest_cache .ruff_cache .hypothesis
