# The two commands of the README: `make run` (set up, ingest data/, open the product) and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
ASKDOCS := $(VENV)/bin/askdocs

.PHONY: setup run test bench clean

setup: $(VENV)/.installed

# torch first, pinned to the CPU wheel: an unpinned torch would pull a multi-GB CUDA build.
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $@

run: setup
	$(ASKDOCS) ingest data
	$(ASKDOCS) docs
	$(ASKDOCS) search "How many days of annual leave do employees get?" -k 3

test: setup
	$(PY) -m pytest

bench: setup
	$(PY) benchmarks/ingest.py

clean:
	rm -rf $(VENV) .askdocs .pytest_cache
