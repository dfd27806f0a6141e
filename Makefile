# Two commands set everything up on a fresh Debian machine with Python 3.11:
#   make run   - the daemon against the simulator
#   make test  - the whole test suite
# Both are idempotent and quiet when everything is already installed.

PYTHON ?= python3
# Ports as variables: CLAIMBRIDGE_STATE_DIR=./var2 make run PORT=8766 SIM_PORT=8731 runs a
# second daemon and simulator beside the first (one daemon per state directory).
PORT     ?= 8765
SIM_PORT ?= 8730
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# The PMS vendor's tools, for tests/e2e/test_generated_clients.py: the generators' own npm
# packages (and what the generated client imports), pinned, in the ignored .venv/node.
NODE_DIR   := $(VENV)/node
NODE_STAMP := $(NODE_DIR)/.installed
NPM_PACKAGES := @open-rpc/generator@2.1.1 json-schema-to-typescript@16.0.0 \
	@open-rpc/client-js@1.8.1 @open-rpc/meta-schema@1.14.9 @open-rpc/schema-utils-js@2.1.2 \
	lodash@4.17.21 @types/lodash@4.17.13 @types/isomorphic-fetch@0.0.39 @types/ws@6.0.4 @types/node@18.11.9

.PHONY: run test sim install browser broker promtool nspawn typescript node-tools unit typecheck clean

run: install browser
	CLAIMBRIDGE_LISTEN=127.0.0.1:$(PORT) $(BIN)/claimbridge run --with-simulator --simulator-port $(SIM_PORT)

sim: install browser
	$(BIN)/claimbridge-sim

# The suite runs on TEST_WORKERS processes (pytest-xdist). --dist loadfile keeps a test module
# whole on one worker, so its module fixtures (a daemon, RabbitMQ, a wheel build, Chromium)
# start once. (Not loadgroup: with pytest 9.2 and xdist 3.8 its xdist_group marks group
# nothing.) TEST_WORKERS=0 runs the suite in this one process.
TEST_WORKERS ?= 3

test: install browser broker promtool nspawn typescript node-tools
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile

unit: install
	$(BIN)/python -m pytest -q tests/unit

typecheck: install
	$(BIN)/mypy bridge simulator bench

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/pip install -q --disable-pip-version-check -e '.[test]'
	@touch $(STAMP)

browser:
	@scripts/ensure-debian-package chromium-headless-shell /usr/bin/chromium-headless-shell

broker:
	@scripts/ensure-debian-package mosquitto /usr/sbin/mosquitto
	@scripts/ensure-debian-package openssl /usr/bin/openssl
	@scripts/ensure-debian-package ejabberd /usr/sbin/ejabberdctl
	@scripts/ensure-debian-package rabbitmq-server /usr/lib/rabbitmq/bin/rabbitmq-server

typescript:
	@scripts/ensure-debian-package node-typescript /usr/bin/tsc

node-tools: $(NODE_STAMP)

$(NODE_STAMP): Makefile
	@scripts/ensure-debian-package npm /usr/bin/npm
	@mkdir -p $(NODE_DIR)
	@npm install --prefix $(NODE_DIR) --no-audit --no-fund --loglevel=error $(NPM_PACKAGES)
	@touch $@

# promtool checks /metrics (tests/e2e/test_observability.py); it comes with Debian's prometheus.
promtool:
	@scripts/ensure-debian-package prometheus /usr/bin/promtool

# systemd-nspawn runs the unit under a real systemd (tests/e2e/test_systemd_real.py; skipped,
# saying why, where a container cannot boot).
nspawn:
	@scripts/ensure-debian-package systemd-container /usr/bin/systemd-nspawn

clean:
	rm -rf $(VENV) var .pytest_cache
