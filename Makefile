# Two entry points, each sets up its own virtual environment from a fresh clone:
#   make demo   serve the bundled sample sites, crawl them all, report what was archived
#   make test   lint and run the test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test lint install clean bench redis-server

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test,lint]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/presswatch demo

lint: $(STAMP)
	$(BIN)/ruff check .

# The scale-out tests start their own Redis (Debian's redis-server) on 127.0.0.1.
redis-server:
	command -v redis-server >/dev/null || (apt-get update -qq && apt-get install -y -qq redis-server)

test: $(STAMP) lint redis-server
	$(BIN)/pytest

# The benchmarks of docs/performance.md (about an hour the first time); smoke run: bench/run --quick
bench: $(STAMP)
	bench/run

clean:
	rm -rf $(VENV) data public logs .pytest_cache
