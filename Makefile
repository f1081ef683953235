# Two entry points for users: `make run` and `make test`. Both bootstrap what they need.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
CHROMIUM ?= /usr/bin/chromium
# The NATS CLI the ops recipes are tested with (tests/ops), built by Go into the checkout.
TOOLS    := $(CURDIR)/.tools
NATSCLI  := github.com/nats-io/natscli/nats@v0.5.0

.PHONY: run test bootstrap chromium natscli lint bench wrk

run: bootstrap
	$(BIN)/hiscrm up $(ARGS)

test: bootstrap
	$(BIN)/ruff check .
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bootstrap: $(STAMP) chromium natscli

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

# Go's module and build caches stay in .tools too, so nothing outside the checkout changes. Without Go
# the CLI tests skip and say how to get the CLI; everything else runs.
natscli:
	@test -x $(TOOLS)/bin/nats || { \
		if command -v go >/dev/null 2>&1; then \
			echo "building the NATS CLI ($(NATSCLI)) into .tools/bin"; \
			GOBIN=$(TOOLS)/bin GOMODCACHE=$(TOOLS)/go/mod GOCACHE=$(TOOLS)/go/cache GOFLAGS=-modcacherw \
				go install $(NATSCLI); \
		else echo "no Go here: tests/ops (the NATS CLI recipes) will be skipped"; fi; }

lint: bootstrap
	$(BIN)/ruff check .
