# Every target bootstraps what it needs: a fresh clone runs `make dev` or `make test` directly.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# The Lambda runtime is python3.13: prefer it (pyenv keeps it off PATH here), then fall back.
PYTHON ?= $(shell for p in python3.13 $$HOME/.pyenv/versions/3.13*/bin/python3.13 python3.12 python3; do \
            $$p -c 'import sys; assert sys.version_info >= (3, 11)' >/dev/null 2>&1 && { command -v $$p; break; }; done)
# sam build needs an interpreter matching the function runtime on PATH.
PY313_DIR := $(shell for p in python3.13 $$HOME/.pyenv/versions/3.13*/bin/python3.13; do \
               $$p -V >/dev/null 2>&1 && { dirname $$(command -v $$p); break; }; done)
VENV := .venv
BIN := $(VENV)/bin
SAM_VENV := .tools/sam
SAM := $(SAM_VENV)/bin/sam
CONFIG ?= examples/hookline.yaml
PORT ?= 3000
REGION ?= us-east-1
export AWS_DEFAULT_REGION ?= $(REGION)
export SAM_CLI_TELEMETRY := 0

.PHONY: help venv sam-tool dev test lint unit integration e2e sam-validate sam-build bench deploy clean

help:
	@echo "make dev     run the whole pipeline locally with the demo integration ($(CONFIG))"
	@echo "make test    lint, all tests, sam validate --lint and sam build"
	@echo "make bench   run the benchmarks under benchmarks/"
	@echo "make deploy  bundle CONFIG into the layer, sam build and sam deploy"

$(BIN)/hookline: pyproject.toml
	@test -n "$(PYTHON)" || { echo "no python >= 3.11 found (3.13 preferred)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	@touch $@

venv: $(BIN)/hookline

# aws-sam-cli pins boto3/click/pydantic: it lives in its own tool environment, never in the app venv.
$(SAM):
	python3 -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/python -m pip install -q --upgrade pip
	$(SAM_VENV)/bin/python -m pip install -q aws-sam-cli
	@touch $@

sam-tool: $(SAM)

# With the demo config, the demo CRM (127.0.0.1:8081, the config's destination) runs inside `hookline dev`:
# one process, one Ctrl-C. Then, in a second shell: .venv/bin/hookline send github --data examples/payloads/github-issue.json
dev: venv
	$(BIN)/hookline dev --config $(CONFIG) --port $(PORT) $(if $(filter examples/hookline.yaml,$(CONFIG)),--demo-crm 8081)

lint: venv
	$(BIN)/ruff check .

unit: venv
	$(BIN)/pytest -q tests/unit

integration: venv
	$(BIN)/pytest -q tests/integration

e2e: venv
	$(BIN)/pytest -q tests/e2e

sam-validate: sam-tool
	$(SAM) validate --lint --region $(REGION)

sam-build: sam-tool
	PATH="$(PY313_DIR):$$PATH" $(SAM) build --parallel

test: venv sam-tool
	$(BIN)/ruff check .
	$(BIN)/hookline validate --config $(CONFIG)
	$(BIN)/pytest -q -n 2
	$(MAKE) --no-print-directory sam-validate sam-build

# One line per benchmark: each prints its figures and writes JSON; bench_table.py prints them as one table.
BENCH_OUT := .bench
bench: venv
	@mkdir -p $(BENCH_OUT) && rm -f $(BENCH_OUT)/*.json
	$(BIN)/python benchmarks/bench_requests.py --json $(BENCH_OUT)/requests.json
	$(BIN)/python benchmarks/bench_routing.py --json $(BENCH_OUT)/routing.json
	$(BIN)/python benchmarks/bench_delivery_batch.py --json $(BENCH_OUT)/delivery_batch.json
	$(BIN)/python benchmarks/bench_delivery_batch.py --backend server --json $(BENCH_OUT)/delivery_batch_server.json
	$(BIN)/python benchmarks/bench_delivery_batch.py --backend inprocess --json $(BENCH_OUT)/delivery_batch_inprocess.json
	$(BIN)/python benchmarks/bench_memory.py --json $(BENCH_OUT)/memory.json
	$(BIN)/python benchmarks/bench_cold_import.py --json $(BENCH_OUT)/cold_import.json
	$(BIN)/python benchmarks/bench_table.py $(BENCH_OUT)

# One command redeploys a changed configuration: validate it, bundle it into the layer, build, deploy.
deploy: venv sam-tool
	$(BIN)/hookline validate --config $(CONFIG)
	mkdir -p layers/hookline/hookline/bundled
	cp $(CONFIG) layers/hookline/hookline/bundled/hookline.yaml
	# Validated once here: Lambda loads this JSON form (no YAML, no checks, no JMESPath parse) at cold start.
	$(BIN)/python -m hookline.prevalidated layers/hookline/hookline/bundled/hookline.yaml
	PATH="$(PY313_DIR):$$PATH" $(SAM) build --parallel
	$(SAM) deploy $(DEPLOY_ARGS)

clean:
	rm -rf .aws-sam .pytest_cache .hookline .bench
