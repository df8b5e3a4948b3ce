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
# checkov pins dozens of packages: its own tool environment, like the SAM CLI's (git-ignored).
CHECKOV_VENV := .tools-checkov
CHECKOV := $(CHECKOV_VENV)/bin/checkov
CONFIG ?= examples/hookline.yaml
PORT ?= 3000
CRM_PORT ?= 8081
ORDERS_PORT ?= 8082
REGION ?= us-east-1
export AWS_DEFAULT_REGION ?= $(REGION)
export SAM_CLI_TELEMETRY := 0

.PHONY: help venv sam-tool dev test lint unit structure integration e2e hostile sam-validate sam-build bench deploy clean loop iam-report chaos checkov-tool scan records-proof

help:
	@echo "make dev     run the whole pipeline locally with the demo integration ($(CONFIG); CRM_PORT=N ORDERS_PORT=N move its demo servers)"
	@echo "make test    lint, all tests, sam validate --lint and sam build"
	@echo "make docs    build the docs site (mkdocs build --strict) into .site/"
	@echo "make bench   run the benchmarks under benchmarks/"
	@echo "make chaos   1,000 events through hookline dev under receiver and process faults (SEED=N to repeat)"
	@echo "make soak    15 minutes of steady mixed traffic through hookline dev, then a count (SOAK_MINUTES=N)"
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

$(CHECKOV):
	python3 -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install -q --upgrade pip
	$(CHECKOV_VENV)/bin/python -m pip install -q checkov
	@touch $@

checkov-tool: $(CHECKOV)

# Static security scans. Accepted findings are suppressed where they occur, each with its reason
# on the same line (bandit: `# nosec Bxxx`; checkov: `checkov:skip=CKV_...:reason` in template.yaml).
# pip-audit needs its vulnerability service (the PyPI JSON API or OSV): when neither answers, say so
# instead of printing "No known vulnerabilities found" about a check that never ran.
scan: venv checkov-tool
	$(BIN)/bandit -q -r layers functions tools
	$(CHECKOV) --quiet --compact --skip-download --framework cloudformation -f template.yaml
	@# pip-audit's vulnerability data is not reachable from this machine: say how much it could audit, never a bare "no known vulnerabilities".
	@$(BIN)/pip-audit --skip-editable --progress-spinner off >.pip-audit.txt 2>&1; rc=$$?; \
	  skipped=$$(grep -c "could not be audited" .pip-audit.txt); \
	  if [ "$$skipped" -gt 0 ]; then \
	    echo "pip-audit: NOT MEANINGFUL HERE - $$skipped packages could not be audited (no vulnerability data reachable); no claim is made"; \
	  else cat .pip-audit.txt; exit $$rc; fi

# With the demo config, the demo CRM (127.0.0.1:CRM_PORT, the config's destination) and the demo orders API
# (127.0.0.1:ORDERS_PORT, syncs.orders; the sync tick is enabled) run inside `hookline dev`: one process,
# one Ctrl-C. A taken port falls back to a free one, and the config's ${CRM_PORT}/${ORDERS_PORT} URLs follow.
# Then, in a second shell: .venv/bin/hookline send github --data examples/payloads/github-issue.json
dev: venv
	$(BIN)/hookline dev --config $(CONFIG) --port $(PORT) $(if $(filter examples/hookline.yaml,$(CONFIG)),--demo-crm $(CRM_PORT) --demo-orders $(ORDERS_PORT) --enable-schedules --parameter WarehouseStreamName=hookline-orders)

lint: venv
	$(BIN)/ruff check .

# The fast tier (issue 23: under 30 s here): in-process tests of each capability on fakes and local servers.
# Bytecode is written for it (this machine sets PYTHONDONTWRITEBYTECODE=1, under which each of the four
# workers compiles every module from source: ~5 s of its collection); sam build leaves __pycache__ out.
unit: venv
	PYTHONDONTWRITEBYTECODE= $(BIN)/pytest -q -n 4 tests/unit

# The package's shape (import arrows, the layer's contents, cold-start imports, the template) and the
# JSONata official suite: they spawn interpreters, build a wheel or run 1,686 cases, so not in `make unit`.
structure: venv
	$(BIN)/pytest -q -n 4 tests/structure tests/conformance

integration: venv
	$(BIN)/pytest -q tests/integration

e2e: venv
	scripts/ensure-chromium
	$(BIN)/pytest -q tests/e2e

# 1,500 seeded hostile requests through a running `hookline dev` (the default suite fires 300); prints the tally.
hostile: venv
	HOSTILE_REQUESTS=$${HOSTILE_REQUESTS:-1500} $(BIN)/pytest -q -s tests/e2e/test_hostile.py

sam-validate: sam-tool
	$(SAM) validate --lint --region $(REGION)

sam-build: sam-tool
	PATH="$(PY313_DIR):$$PATH" $(SAM) build --parallel

# Installs what the tests need first (Chromium for the console's browser tests: scripts/ensure-chromium).
test: venv sam-tool
	scripts/ensure-chromium
	$(BIN)/ruff check .
	$(MAKE) --no-print-directory scan
	$(BIN)/hookline validate --config $(CONFIG)
	$(MAKE) --no-print-directory docs
	@# Four workers on two cores: the suite mostly waits (hookline dev, receivers, cool-downs); measured 12:47 against 15:24 with two.
	$(BIN)/pytest -q -n 4 --durations=15
	$(MAKE) --no-print-directory sam-validate sam-build

# The docs site (mkdocs.yml, pages in docs/) into .site/: --strict fails on a broken link or anchor, or a page
# missing from the nav. `$(BIN)/mkdocs serve` previews it while editing.
.PHONY: docs
docs: venv
	@# Material prints an end-of-life notice (9.x is maintained until 2027-05) on every build: kept out of make test's output.
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet --site-dir .site

# Long proofs, deselected from the default run: 200 rounds of 20 concurrent copies (exactly one accepted),
# 10 rounds of the same through `hookline dev`, and the least-privilege report.
loop: venv
	$(BIN)/pytest -q -s -m loop tests/integration/test_ingress.py tests/e2e/test_dev_concurrency.py

iam-report: venv
	$(BIN)/pytest -q -s tests/integration/test_iam.py -k least_privilege

# The console's browser tests, writing their screenshots into docs/console/ (embedded in docs/console.md).
.PHONY: console-screenshots
console-screenshots: venv
	scripts/ensure-chromium
	HOOKLINE_UPDATE_SCREENSHOTS=1 $(BIN)/pytest -q tests/e2e/test_console_browser.py

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
	$(BIN)/python benchmarks/bench_layer_size.py --json $(BENCH_OUT)/layer_size.json
	$(BIN)/python benchmarks/bench_sync_requests.py
	$(BIN)/python benchmarks/bench_records.py
	$(BIN)/python benchmarks/bench_search.py --json $(BENCH_OUT)/search.json
	$(BIN)/python benchmarks/bench_table.py $(BENCH_OUT)

# The full breaker proof (about 2 minutes): a destination down for 60 s with 100 events queued,
# breaker {failures: 3, cool_down_seconds: 10}. `make test` runs the same test at a reduced size.
records-proof: venv
	RECORDS_PROOF=1 $(BIN)/pytest -q -rP tests/e2e/test_records.py -k breaker --timeout 600

# The long proof (a few minutes); a 60-event run of the same harness is part of `make test`.
CHAOS_EVENTS ?= 1000
chaos: venv
	$(BIN)/python -m tests.e2e.chaos --events $(CHAOS_EVENTS) $(if $(SEED),--seed $(SEED))

# Steady mixed traffic (every source scheme and transform form, a sync each minute, one destination
# down for 2 minutes, one answering 429) through hookline dev, then a count; stops by itself. A 2-minute
# run of the same harness is part of `make test`.
SOAK_MINUTES ?= 15
.PHONY: soak
soak: venv
	$(BIN)/python -m tests.e2e.soak --minutes $(SOAK_MINUTES)

# One command redeploys a changed configuration: validate it, bundle it into the layer (with its lookup
# files, schema files and transforms/ package), build, deploy.
# No default configuration here: CONFIG's default is the local demo (127.0.0.1 destinations, env: secrets),
# which validate --for-deploy refuses anyway. ALLOW_LOCAL=1 passes --allow-local (see `hookline validate -h`).
deploy: venv sam-tool
	@if [ "$(origin CONFIG)" = "file" ]; then \
	  echo "make deploy: say which configuration to ship: make deploy CONFIG=path/to/hookline.yaml" >&2; \
	  echo "  ($(CONFIG) is the local demo: its destinations are on 127.0.0.1 and its secrets env: references)" >&2; \
	  exit 2; fi
	$(BIN)/hookline validate --for-deploy $(if $(ALLOW_LOCAL),--allow-local) --config $(CONFIG)
	$(BIN)/python -m hookline.operations.bundle $(CONFIG) layers/hookline/hookline/bundled
	# Validated once here: Lambda loads this JSON form (no YAML, no checks, no JMESPath parse) at cold start.
	$(BIN)/python -m hookline.prevalidated layers/hookline/hookline/bundled/hookline.yaml
	PATH="$(PY313_DIR):$$PATH" $(SAM) build --parallel
	$(SAM) deploy $(DEPLOY_ARGS)

clean:
	rm -rf .aws-sam .pytest_cache .hookline .bench
