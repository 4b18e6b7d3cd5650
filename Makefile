# The two commands first: `make run` serves the API locally, `make test` runs every check.
# `make help` lists every target.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | cksum | cut -d' ' -f1)

.PHONY: help run test lint format bench package install clean

help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z]+:.*## / {printf "  make %-8s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

run: $(STAMP) ## Serve the API on http://127.0.0.1:8080 (embedded moto, workers, schedule)
	$(PY) -m chalicelib.local

# The wall time of the whole target is printed at the end of pytest's summary.
test: $(STAMP) ## Lint, type-check and run every test in parallel (CI runs this)
	@echo "test started" && export WORKFLOW_TEST_STARTED=$$(date +%s) && \
	$(MAKE) --no-print-directory lint && \
	$(PY) -m pytest -n auto

lint: $(STAMP) ## ruff (lint, format check) and mypy; the layer contracts run with the tests
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

format: $(STAMP) ## Reformat the tree and apply ruff's safe fixes
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# Benchmark-only extras (bench/requirements.txt, e.g. SpiffWorkflow for the engine ratios) go
# into the venv first; if they cannot be installed the benchmarks still run and say so.
BENCH_STAMP := $(VENV)/.bench-$(shell cat bench/requirements.txt | cksum | cut -d' ' -f1)

bench: $(STAMP) ## Run the benchmarks under bench/ and print their figures
	@test -f $(BENCH_STAMP) || { $(PY) -m pip install --quiet -r bench/requirements.txt \
		&& touch $(BENCH_STAMP) || echo "bench/requirements.txt not installed: ratios skipped"; }
	$(PY) bench/run.py

# SAM template + deployment zip for a stage (STAGE=dev by default), in build/package (needs the
# package index to fetch Lambda wheels; the tests package with an empty requirements file
# instead). Fails with a message when the stage cannot authenticate anyone (docs/deploying.md).
STAGE ?= dev

package: $(STAMP) ## Build the SAM template and deployment zip of STAGE (dev) in build/package
	rm -rf build/package
	AWS_DEFAULT_REGION=$${AWS_DEFAULT_REGION:-us-east-1} $(PY) -m chalicelib.deploy package $(STAGE) build/package

install: $(STAMP) ## Create .venv and install the pinned dependencies

# quickjs-ng replaced quickjs (issue 12; same module name): a venv holding both would load the
# old binary, so an old quickjs goes (with quickjs-ng, whose files it shares) before installing.
$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	! $(PY) -m pip show --quiet quickjs >/dev/null 2>&1 || \
		$(PY) -m pip uninstall --quiet --yes quickjs quickjs-ng
	$(PY) -m pip install --quiet -r requirements-dev.txt
	rm -f $(VENV)/.installed-*
	touch $@

clean: ## Remove .venv, build/ and the test caches
	rm -rf $(VENV) build .pytest_cache .ruff_cache .mypy_cache .hypothesis
