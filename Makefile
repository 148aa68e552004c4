# Entry points: `make render` and `make test` set everything up first.
PYTHON ?= python3
VENV := venv
BIN := $(VENV)/bin

.PHONY: setup system-packages render test test-fast lint clean

# Debian's etcd 3.4, etcdctl, BusyBox, dash and promtool for the tests (apt-get, needs root once).
system-packages:
	sh scripts/install-system-packages.sh

$(BIN)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

setup: system-packages $(BIN)/.installed

render: $(BIN)/.installed
	$(BIN)/python -m kafscale render --stack dev

lint: $(BIN)/.installed
	$(BIN)/ruff check .

test: setup lint
	$(BIN)/python -m pytest

test-fast: $(BIN)/.installed
	$(BIN)/python -m pytest -m "not etcd"

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
