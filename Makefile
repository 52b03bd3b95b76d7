# Two entry points, each sets up its own virtual environment from a fresh clone:
#   make demo   serve the bundled sample sites, crawl them all, report what was archived
#   make test   lint (ruff, then mypy on the packages) and run the test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test lint install clean bench system-packages chromium redis-server

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test,lint]"
	touch $(STAMP)

install: $(STAMP)

# What pip cannot install: the Unicode font the sample sites' PDFs are written with,
# and pdftotext (poppler-utils), which bench/run --only documents measures against.
system-packages:
	@test -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf && command -v pdftotext >/dev/null || \
		{ apt-get update -qq && apt-get install -y -qq fonts-dejavu-core poppler-utils >/dev/null; }

demo: $(STAMP) system-packages
	$(BIN)/presswatch demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

# Debian's chromium, for the tests that check the published index page and `browse` in a real
# headless browser (tests/test_in_browser.py; they skip only when it cannot be installed).
chromium:
	@test -x /usr/bin/chromium || { apt-get install -y chromium || { apt-get update && apt-get install -y chromium; }; } \
		|| echo "chromium could not be installed (not root? offline?): the browser checks will be skipped"

# The scale-out tests (tests/test_scale_out.py) start their own Redis (Debian's redis-server) on
# 127.0.0.1; they skip only when it cannot be installed.
redis-server:
	@command -v redis-server >/dev/null || { apt-get install -y -qq redis-server || { apt-get update -qq && apt-get install -y -qq redis-server; }; } \
		|| echo "redis-server could not be installed (not root? offline?): the scale-out tests will be skipped"

test: $(STAMP) system-packages lint chromium redis-server
	$(BIN)/pytest

# The benchmarks of docs/performance.md (about an hour the first time); smoke run: bench/run --quick
bench: $(STAMP) system-packages
	bench/run

clean:
	rm -rf $(VENV) data public logs .pytest_cache .mypy_cache
