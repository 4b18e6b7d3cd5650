# The two commands first: `make run` serves the API locally, `make test` runs every test.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | cksum | cut -d' ' -f1)

.PHONY: run test bench package install clean

run: $(STAMP)
	$(PY) -m chalicelib.local

test: $(STAMP)
	$(PY) -m pytest

# Benchmark-only extras (bench/requirements.txt, e.g. SpiffWorkflow for the engine ratios) go
# into the venv first; if they cannot be installed the benchmarks still run and say so.
BENCH_STAMP := $(VENV)/.bench-$(shell cat bench/requirements.txt | cksum | cut -d' ' -f1)

bench: $(STAMP)
	@test -f $(BENCH_STAMP) || { $(PY) -m pip install --quiet -r bench/requirements.txt \
		&& touch $(BENCH_STAMP) || echo "bench/requirements.txt not installed: ratios skipped"; }
	$(PY) bench/run.py

# SAM template + deployment zip for the dev stage, in build/package (needs the package index
# to fetch Lambda wheels; the tests package with an empty requirements file instead).
package: $(STAMP)
	rm -rf build/package
	AWS_DEFAULT_REGION=$${AWS_DEFAULT_REGION:-us-east-1} $(PY) -m chalicelib.deploy package dev build/package

install: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -r requirements-dev.txt
	rm -f $(VENV)/.installed-*
	touch $@

clean:
	rm -rf $(VENV) build .pytest_cache
