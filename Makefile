# Two entry points for users: `make run` and `make test`. Both bootstrap what they need.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
CHROMIUM ?= /usr/bin/chromium

.PHONY: run test bootstrap chromium lint bench wrk

run: bootstrap
	$(BIN)/hiscrm up $(ARGS)

test: bootstrap
	$(BIN)/ruff check .
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bootstrap: $(STAMP) chromium

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

# Playwright drives the OS Chromium by path; a browser download cannot work here.
chromium:
	@test -x $(CHROMIUM) || { \
		if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
		else sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; fi; }

# `hiscrm bench` loads the API with wrk when it is installed, else with its own slower client.
bench: bootstrap wrk
	$(BIN)/hiscrm bench $(ARGS)

wrk:
	@command -v wrk >/dev/null || { \
		if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk; \
		else sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk; fi; }

lint: bootstrap
	$(BIN)/ruff check .
