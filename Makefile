# lulcbook: `make repro` rebuilds every result, `make test` checks everything.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
SMOKE_DIR := $(CURDIR)/.smoke

.PHONY: env repro test lab lint bench clean-smoke

env: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

repro: $(STAMP)
	$(BIN)/dvc repro

test: $(STAMP)
	$(BIN)/ruff check lulcbook tests benchmarks notebooks
	rm -rf $(SMOKE_DIR)
	LULCBOOK_SMOKE=1 LULCBOOK_SMOKE_DIR=$(SMOKE_DIR) MPLBACKEND=Agg \
		$(BIN)/python -m pytest --nbmake --nbmake-timeout=900 tests notebooks

lab: $(STAMP)
	$(BIN)/jupyter lab notebooks/

lint: $(STAMP)
	$(BIN)/ruff check lulcbook tests benchmarks notebooks
	$(BIN)/ruff format --check lulcbook tests benchmarks notebooks

bench: $(STAMP)
	for b in benchmarks/bench_*.py; do $(BIN)/python $$b || exit 1; done

clean-smoke:
	rm -rf $(SMOKE_DIR)
