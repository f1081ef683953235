# Two entry points for users: `make run` and `make test`. Both bootstrap what they need.
# The venv's interpreter: PYTHON when given, else the fastest fit one on the machine (scripts/venv.py).
PYTHON ?=
VENV   := .venv
BIN    := $(VENV)/bin
CHROMIUM ?= /usr/bin/chromium
# The NATS CLI the ops recipes are tested with (tests/ops), built by Go into the checkout.
TOOLS    := $(CURDIR)/.tools
NATSCLI  := github.com/nats-io/natscli/nats@v0.5.0

# Most of the suite waits (for passes, browsers, brokers): two workers, each taking whole files so a
# module's shared stack stays in one process, finish in about half the time on two cores.
PYTEST_ARGS ?= -n 2 --dist loadfile

.PHONY: run test bootstrap venv chromium natscli lint bench wrk

run: bootstrap
	$(BIN)/hiscrm up $(ARGS)

test: bootstrap
	$(BIN)/ruff check .
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bootstrap: venv chromium natscli

# Every time: the venv is made again when the chosen interpreter changed, installed again when pyproject.toml
# did; otherwise this only asks the candidate interpreters what they are.
venv:
	@$(or $(PYTHON),python3) scripts/venv.py --venv $(VENV) $(if $(PYTHON),--python '$(PYTHON)')

# Debian packages, as root or through sudo.
APT_INSTALL = if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	$$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq

# Playwright drives the OS Chromium by path; a browser download cannot work here. The console and the
# sandbox are mostly Chinese text: without a CJK font the browser tests' screenshots show empty boxes.
chromium:
	@test -x $(CHROMIUM) || { $(APT_INSTALL) chromium; }
	@fc-list :lang=zh 2>/dev/null | grep -q . || { $(APT_INSTALL) fonts-noto-cjk; }

# `hiscrm bench` loads the API with wrk when it is installed, else with its own slower client.
bench: bootstrap wrk
	$(BIN)/hiscrm bench $(ARGS)

wrk:
	@command -v wrk >/dev/null || { $(APT_INSTALL) wrk; }

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
