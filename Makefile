# One entry point per job; every target installs what it needs first.
PYTHON ?= python3.11
VENV   ?= .venv
BIN     = $(VENV)/bin

.PHONY: setup demo test test-unit lint bench stack-up stack-down clean

setup: $(VENV)/.installed

# setup.py and the C sources: the C modules (pipeline/*/_*.c, _*.h) are built by the install.
$(VENV)/.installed: pyproject.toml setup.py $(wildcard pipeline/*/_*.c pipeline/*/_*.h)
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found: logweir needs Python 3.11"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $@

## The main job on the embedded local stack: broker, ClickHouse, worker, sample traffic, results.
demo: setup
	$(BIN)/logweir demo

## Every test, against a real broker and ClickHouse started by the suite itself.
test: setup
	$(BIN)/pytest

test-unit: setup
	$(BIN)/pytest tests/unit

lint: setup
	$(BIN)/ruff check pipeline agents schemas tests
	$(BIN)/ruff format --check pipeline agents schemas tests
	$(BIN)/mypy pipeline agents schemas

stack-up: setup
	$(BIN)/logweir stack up

stack-down: setup
	$(BIN)/logweir stack down

clean:
	-$(BIN)/logweir stack down
	rm -rf $(VENV) .logweir

## Throughput, ceilings, baseline and latency on the local stack; figures printed and in bench-results.json.
bench: setup
	$(BIN)/logweir bench
