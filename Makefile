# Two commands do all set-up on a machine with Python 3.11 and make: `make demo`, `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# checkov, the tests' infrastructure scanner, pins boto3, packaging and networkx below the bot's
# own, so it gets a venv of its own inside this one (tests/ship/test_deploy_templates.py runs it
# from there); only `make test` needs it.
CHECKOV       := checkov>=3.3,<3.4
CHECKOV_STAMP := $(VENV)/checkov/.installed

.PHONY: demo test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

$(CHECKOV_STAMP): Makefile | $(STAMP)
	$(PYTHON) -m venv $(VENV)/checkov
	$(VENV)/checkov/bin/python -m pip install --quiet '$(CHECKOV)'
	touch $@

demo: $(STAMP)  ## the bot on an embedded AWS (moto) and Slack, in the terminal
	$(BIN)/python -m sandbox.demo $(if $(SCRIPT),--script $(SCRIPT))

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# The suite's processes (pytest-xdist): one per core and one more, since part of the suite
# waits on the bot's own processes, sockets and schedules, not on a core (on 2 cores, 3 with
# the bytecode below took the suite from 320 s to 230 s); a test file runs whole in one of them.
TEST_WORKERS ?= $(shell $(PYTHON) -c "import os; print((os.cpu_count() or 1) + 1)")

# Bytecode is written even where the environment turns it off (PYTHONDONTWRITEBYTECODE): the
# suite starts the bot as a process about a hundred times, and each compiled the package anew.
test: lint $(CHECKOV_STAMP)  ## lint, then every test
	PYTHONDONTWRITEBYTECODE= $(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile

bench: $(STAMP)  ## the benchmarks in bench/, each printing its figures
	for b in $$(grep -l '^if __name__ == "__main__":' bench/*.py); do \
		PYTHONPATH=. $(BIN)/python -m bench.$$(basename $$b .py) || exit 1; done

clean:
	rm -rf $(VENV) build *.egg-info
