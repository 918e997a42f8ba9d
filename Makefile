# Two commands on a fresh machine with Python 3.11+:  make run  |  make test
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: run test test-fast lint format bench clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is needed"'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	@touch $@

run: $(STAMP)  ## the whole system with a demo hospital on SQLite
	$(PY) run.py serve --demo

test: $(STAMP)  ## every test (PostgreSQL and Chromium tests skip with a reason where absent)
	$(PY) -m pytest

test-fast: $(STAMP)  ## unit tests only
	$(PY) -m pytest tests/unit -q

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: $(STAMP)  ## benchmarks; results go to docs/BENCHMARKS.md by hand
	$(PY) bench/e2e_latency.py
	$(PY) bench/signon.py

clean:
	rm -rf $(VENV) instance .pytest_cache .ruff_cache
