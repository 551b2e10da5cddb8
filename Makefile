PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# What `make demo` needs: kefu and its run-time dependencies only (no test, Spark or eval extras).
BASE_STAMP := $(VENV)/.installed-base
# The web app (web/ → web/dist, served at /app): rebuilt only when its sources change.
WEB_STAMP := web/dist/.built
WEB_SRC := $(wildcard web/package.json web/package-lock.json web/*.html web/*.ts web/tsconfig.json) \
	$(shell find web/src -type f 2>/dev/null)
# The REST API's OpenAPI document: `npm run build` generates the web app's TypeScript types
# from it (web/src/lib/api-schema.ts). Both are build outputs, not kept in git.
API_DOC := web/openapi.json
API_STAMP := web/.openapi-checked

.PHONY: setup demo-setup demo test lint bench clean web browser wheel

$(BASE_STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e .
	touch $(BASE_STAMP)

# Tests also need the optional parts: the PySpark back-end (kefu[spark]) and the evaluations'
# baselines (kefu[eval]); `test` pulls both in.
$(STAMP): $(BASE_STAMP)
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP)

setup: $(STAMP) web browser

demo-setup: $(BASE_STAMP) web

# Written again when kefu's sources changed, but `kefu openapi` leaves an unchanged document
# alone, so the web app is rebuilt only when the API itself changed.
$(API_STAMP): $(BASE_STAMP) $(shell find kefu -name '*.py' 2>/dev/null)
	$(BIN)/kefu openapi $(API_DOC)
	@touch $@

$(API_DOC): $(API_STAMP)
	@[ -e $@ ] || $(BIN)/kefu openapi $@

# npm ci only when package-lock.json changed; no npm: a warning, /app says how to build it.
$(WEB_STAMP): $(WEB_SRC) $(API_DOC)
	@if command -v npm >/dev/null; then \
	  cd web && { [ node_modules/.package-lock.json -nt package-lock.json ] || npm ci --no-audit --no-fund; } \
	  && npm run build && touch dist/.built; \
	else echo "warning: npm not found: the web app (/app) is not built"; fi

web: $(WEB_STAMP)

# Debian's chromium for the browser tests (tests/web skip without it, fail under CI=true).
browser:
	@command -v chromium >/dev/null || (apt-get update -q && apt-get install -y -q chromium \
	  fonts-wqy-microhei fonts-noto-color-emoji) || echo "warning: chromium not installed"

demo: demo-setup
	$(BIN)/kefu demo

test: setup
	$(BIN)/ruff check kefu tests bench
	$(BIN)/ruff format --check kefu tests bench
	$(BIN)/mypy kefu
	$(BIN)/lint-imports
	$(BIN)/pytest
	if [ -e ../shared/tools/check-contract ]; then $(BIN)/python ../shared/tools/check-contract $(BIN)/kefu; fi

lint: setup
	$(BIN)/ruff check kefu tests bench
	$(BIN)/ruff format --check kefu tests bench
	$(BIN)/mypy kefu
	$(BIN)/lint-imports

# Benchmarks are long and print figures, not pass/fail: each is its own script (README).
bench: setup
	@ls bench/*.py | sed 's|^|$(BIN)/python |'

clean:
	rm -rf $(VENV) var build dist *.egg-info kefu/web

# A wheel with the built web app inside (kefu/web/dist), for `pip install` on a server.
wheel: web
	rm -rf kefu/web/dist build && mkdir -p kefu/web && cp -r web/dist kefu/web/dist
	$(BIN)/pip wheel -q --no-deps -w dist .
	rm -rf kefu/web/dist build
