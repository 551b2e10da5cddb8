PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup demo test lint bench clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP)

setup: $(STAMP)

demo: setup
	$(BIN)/kefu demo

test: setup
	$(BIN)/ruff check kefu tests bench
	$(BIN)/ruff format --check kefu tests bench
	$(BIN)/mypy kefu
	$(BIN)/pytest
	if [ -e ../shared/tools/check-contract ]; then $(BIN)/python ../shared/tools/check-contract $(BIN)/kefu; fi

lint: setup
	$(BIN)/ruff check kefu tests bench
	$(BIN)/ruff format --check kefu tests bench
	$(BIN)/mypy kefu

bench: setup
	$(BIN)/kefu bench

clean:
	rm -rf $(VENV) var build *.egg-info
