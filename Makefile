# Two commands set everything up on a fresh Debian machine with Python 3.11:
#   make run   - the daemon against the simulator
#   make test  - the whole test suite
# Both are idempotent and quiet when everything is already installed.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test sim install browser broker unit typecheck clean

run: install browser
	$(BIN)/claimbridge run --with-simulator

sim: install browser
	$(BIN)/claimbridge-sim

test: install browser broker
	$(BIN)/python -m pytest -q

unit: install
	$(BIN)/python -m pytest -q tests/unit

typecheck: install
	$(BIN)/mypy bridge simulator

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

clean:
	rm -rf $(VENV) var .pytest_cache
