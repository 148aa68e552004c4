# Entry points: `make render` and `make test` set everything up first.
PYTHON ?= python3
VENV := venv
BIN := $(VENV)/bin
# Only what Pulumi installs (requirements.txt), pinned to the versions the suite tests: the suite
# renders with it to prove the program needs nothing more.
RUNTIME_VENV := venv-runtime
# Two pytest workers per core: the real-etcd tests mostly wait (elections, paced load, etcd's
# 5-minute compaction poll), so twice the cores overlaps them without starving any.
WORKERS ?= $(shell echo $$(( $$(nproc) * 2 )))
# Python's bytecode cache (`__pycache__/`, ignored by git) even where the environment turns it off:
# without it each pytest worker compiles the project and rewrites every test module's asserts
# again, 1.3 of the 2.9 s a worker spends before its first test (docs/testing.md).
unexport PYTHONDONTWRITEBYTECODE

.PHONY: setup system-packages render test test-fast soak properties lint fmt generate clean

# Debian's etcd 3.4, etcdctl, BusyBox, dash and promtool for the tests (apt-get, needs root once).
system-packages:
	sh scripts/install-system-packages.sh

$(BIN)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

$(RUNTIME_VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(RUNTIME_VENV)
	grep -v '^-r' requirements-dev.txt | sed 's/\[[^]]*\]//' > $(RUNTIME_VENV)/pins.txt
	$(RUNTIME_VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements.txt \
		-c $(RUNTIME_VENV)/pins.txt
	touch $@

setup: system-packages $(BIN)/.installed $(RUNTIME_VENV)/.installed

render: $(BIN)/.installed
	$(BIN)/python -m kafscale render --stack dev

# ruff, shellcheck on every script (those the pods run are POSIX sh), and mypy (pyproject.toml).
lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/shellcheck -x kafscale/scripts/*.sh scripts/*.sh .ci/run
	$(BIN)/mypy
	$(BIN)/python -m kafscale.offline.codegen --check

# Pulumi.yaml's config block, the component's inputs, the settings attributes, docs/settings.md and
# docs/change-safety.md, from the key rows of kafscale/config/keys.py.
generate: $(BIN)/.installed
	$(BIN)/python -m kafscale.offline.codegen

# The whole suite, the slow real-etcd tests overlapping (pytest-xdist). Idle workers take tests
# queued on busy ones (worksteal), so no worker ends the run alone with a queue of drills.
test: setup lint
	$(BIN)/python -m pytest -n $(WORKERS) --dist worksteal -m "not soak"

# The drills' long variants (an 80 s back-off, partitions of 90 and 300 s): each prints its figures.
soak: setup
	$(BIN)/python -m pytest -n $(WORKERS) -m soak -s

# The property tests (bad input) with a longer search than the suite's: N examples per property.
PROPERTY_EXAMPLES ?= 2000
properties: $(BIN)/.installed
	KAFSCALE_PROPERTY_EXAMPLES=$(PROPERTY_EXAMPLES) $(BIN)/python -m pytest tests/test_bad_input.py -k "any" -n auto

# The mock tests alone (no etcd, no wheel, no program from Debian's packages): CPU-bound, one
# worker per core. Without pytest's log capture, which no mock test reads (no `caplog`) and which
# costs a few handlers per test phase: 0.3 s of the run; a warning still reaches captured stderr.
test-fast: $(BIN)/.installed
	$(BIN)/python -m pytest -m "not etcd and not package and not tools" -n auto -p no:logging

# ruff's formatter on every Python file (`make lint` checks that nothing is left to format).
fmt: $(BIN)/.installed
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) $(RUNTIME_VENV) .pytest_cache .ruff_cache .mypy_cache .hypothesis
