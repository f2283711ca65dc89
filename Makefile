# Sangsaeng developer entry points. Everything bootstraps itself: a pinned uv in .tools/,
# then the workspace environment in .venv/ (re-synced only when uv.lock or a pyproject changes).

SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
UV_VERSION := 0.13.8
TOOLS := .tools
UV := $(TOOLS)/bin/uv
UV_STAMP := $(TOOLS)/.uv-$(UV_VERSION)
SYNC_STAMP := .venv/.synced
PROJECTS := pyproject.toml $(wildcard libs/*/pyproject.toml services/*/pyproject.toml)
PYTEST_ARGS ?=
BENCH_ARGS ?=

export UV_PYTHON_DOWNLOADS := never
# Keep Python's bytecode cache even where the environment says not to write it: otherwise
# every process compiles all it imports from source again (about 1.5 s of CPU per service start).
unexport PYTHONDONTWRITEBYTECODE

.PHONY: help run test demo chaos bench lock clean

help: ## Show this help
	@grep -hE '^[a-z][a-zA-Z_-]*:.*## ' $(MAKEFILE_LIST) | \
		awk 'BEGIN {FS = ":.*## "}; {printf "  make %-6s %s\n", $$1, $$2}'
	@echo "  (make test PYTEST_ARGS='-k relay -x' passes arguments to pytest; make bench BENCH_ARGS='--quick --only relay')"

run: $(SYNC_STAMP) ## Start broker, PostgreSQL and all services; print where the APIs live
	$(UV) run --no-sync sangsaeng-dev run

test: $(SYNC_STAMP) ## Run the whole test suite
	$(UV) run --no-sync pytest $(PYTEST_ARGS)

demo: $(SYNC_STAMP) ## Simulate the center's H1 2025 through the real APIs; print the half-year report
	$(UV) run --no-sync sangsaeng-demo run

chaos: $(SYNC_STAMP) ## The full reliability suite (crashes, outages, hostile input, access); figures in RELIABILITY.md
	SANGSAENG_CHAOS=full $(UV) run --no-sync pytest tests/chaos $(PYTEST_ARGS)

bench: $(SYNC_STAMP) ## Benchmarks against raw baselines measured in the same run; figures in BENCHMARKS.md
	$(UV) run --no-sync python bench/run.py $(BENCH_ARGS)

lock: $(UV_STAMP) ## Re-resolve uv.lock after a dependency change
	$(UV) lock --python $(PYTHON)

clean: ## Remove the environment, tools, logs and caches
	rm -rf .venv $(TOOLS) .devstack .pytest_cache
	find . -name __pycache__ -type d -not -path './.git/*' -prune -exec rm -rf {} +

$(UV_STAMP):
	rm -rf $(TOOLS)
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	touch $@

$(SYNC_STAMP): uv.lock $(PROJECTS) | $(UV_STAMP)
	$(UV) sync --locked --all-packages --python $(PYTHON)
	touch $@
