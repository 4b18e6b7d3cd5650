# The two commands first: `make run` serves the API locally, `make test` runs every check.
# `make help` lists every target.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | cksum | cut -d' ' -f1)

.PHONY: help run test lint format bench package deploy smoke install clean

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

# Package STAGE and create or update its stack, as docs/deploying.md describes step by step:
# needs the aws CLI, credentials for the account, and BUCKET (an S3 bucket for the code).
# PARAMS are the stack's parameter overrides (CognitoUserPoolArn=... AlarmTopicArn=...).
BUCKET ?=
PARAMS ?=
STACK  ?= workflow-$(STAGE)

deploy: ## Package STAGE and deploy its stack (BUCKET=..., PARAMS=...; docs/deploying.md)
	@command -v aws >/dev/null 2>&1 || { echo "deploy: the aws CLI is not installed (docs/deploying.md)" >&2; exit 2; }
	@test -n "$(BUCKET)" || { echo "deploy: set BUCKET=<S3 bucket for the deployment zip> (docs/deploying.md)" >&2; exit 2; }
	@aws sts get-caller-identity >/dev/null 2>&1 || { echo "deploy: no usable AWS credentials (aws sts get-caller-identity failed): set AWS_PROFILE or run aws configure" >&2; exit 2; }
	$(MAKE) --no-print-directory package STAGE=$(STAGE)
	aws cloudformation package --template-file build/package/sam.json \
		--s3-bucket $(BUCKET) --output-template-file build/packaged.yaml
	aws cloudformation deploy --template-file build/packaged.yaml --stack-name $(STACK) \
		--capabilities CAPABILITY_IAM CAPABILITY_AUTO_EXPAND --no-fail-on-empty-changeset \
		$(if $(PARAMS),--parameter-overrides $(PARAMS))
	@aws cloudformation describe-stacks --stack-name $(STACK) \
		--query "Stacks[0].Outputs[?OutputKey=='EndpointURL'].OutputValue" --output text

# Standard library only: runs without .venv, against any URL (make run's by default).
URL ?= http://127.0.0.1:8080

smoke: ## Check a live API: auth, a process started and completed, a timer (URL=...)
	$(PYTHON) -m chalicelib.deploy smoke $(URL)

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
