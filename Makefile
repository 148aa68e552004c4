# Entry points: `make render` and `make test` set everything up first.
PYTHON ?= python3
VENV := venv
BIN := $(VENV)/bin

.PHONY: setup render test test-fast lint clean

$(BIN)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

setup: $(BIN)/.installed

render: setup
	$(BIN)/python -m kafscale render --stack dev

lint: setup
	$(BIN)/ruff check .

test: lint
	$(BIN)/python -m pytest

test-fast: setup
	$(BIN)/python -m pytest -m "not etcd"

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
