# Two entry points for a fresh clone: `make serve` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
LISTEN ?= 127.0.0.1
PORT   ?= 6666
# The versions the tests were written against: the object templates ship inside pymisp, and
# pymispgalaxies' misp-galaxy copy is the tests' second data set, so a newer release changes answers.
RUNTIME_PINS := pymisp==2.5.34.4 misp-modules==3.1.1
PINS   := $(RUNTIME_PINS) pymispgalaxies==1.1.1 mypy==2.4.1 pytest==9.2.0 ruff==0.17.6 build==1.6.1 twine==7.0.0 \
          selenium==4.51.0 hypothesis==6.170.17

# The end-to-end suite's real MISP (tests/e2e/live_misp.py): misp-live beside the checkout, or MISP_E2E_URL/KEY.
MISP_LIVE ?= ../shared/misp-live

.PHONY: install serve test e2e e2e-deps typecheck lint bench bundle dist dist-check clean

install: $(STAMP)

$(STAMP): setup.cfg pyproject.toml Makefile
	@echo "setting up $(VENV) (first run, or after setup.cfg/Makefile changed; about a minute)"
	@$(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --upgrade pip
	@$(BIN)/python -m pip install --quiet -e '.[test]' $(PINS)
	@touch $(STAMP)

# misp-modules' own output goes to a log file; the few lines printed say where it listens.
serve: $(STAMP)
	@$(BIN)/misp-actor-enrich serve --listen $(LISTEN) --port $(PORT)

typecheck: $(STAMP)
	$(BIN)/mypy

lint: $(STAMP)
	$(BIN)/ruff check --select F,E9,B --line-length 120 misp_actor_enrich tests benchmarks

test: $(STAMP) typecheck lint
	$(BIN)/python -m pytest
	@$(MAKE) --no-print-directory dist-check

# The release: sdist and wheel (the wheel built from the sdist), checked by twine.
dist: $(STAMP)
	@rm -rf dist
	$(BIN)/python -m build --quiet --outdir dist .
	$(BIN)/twine check --strict dist/*

# The wheel alone, in a clean virtualenv beside the pinned misp-modules, must serve.
dist-check: dist
	$(BIN)/python tests/release_check.py dist/*.whl $(RUNTIME_PINS)

# A real MISP 2.5.1 on loopback (or MISP_E2E_URL/MISP_E2E_KEY): UI, hover, enrichEvent, workflows, CLI, update.
e2e: $(STAMP)
	MISP_LIVE_DIR=$(MISP_LIVE) $(BIN)/python -m pytest -rfE tests/e2e

# Debian packages misp-live needs (PHP, MariaDB, Redis, Chromium and its driver); root only.
e2e-deps:
	$(MISP_LIVE)/install-deps.sh --browser

bench: $(STAMP)
	$(BIN)/python benchmarks/bench.py

# Maintainers: refresh the package's bundled galaxy data from a misp-galaxy checkout.
bundle: $(STAMP)
	@test -n "$(GALAXY)" || { echo "usage: make bundle GALAXY=/path/to/misp-galaxy"; exit 2; }
	$(BIN)/python -m misp_actor_enrich.data.bundle "$(GALAXY)"

clean:
	rm -rf $(VENV) build dist *.egg-info .mypy_cache .pytest_cache tests/e2e/artifacts
