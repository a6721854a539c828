# Two entry points for a fresh clone: `make serve` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
LISTEN ?= 127.0.0.1
PORT   ?= 6666
# The versions the tests were written against: the galaxy data ships inside pymispgalaxies
# and the object templates inside pymisp, so a newer release can change real-data answers.
PINS   := pymisp==2.5.34.4 pymispgalaxies==1.1.1 misp-modules==3.1.1 mypy==2.4.1 pytest==9.2.0 ruff==0.17.6 \
          selenium==4.51.0 hypothesis==6.170.17

# The end-to-end suite's real MISP (tests/e2e/live_misp.py): misp-live beside the checkout, or MISP_E2E_URL/KEY.
MISP_LIVE ?= ../shared/misp-live

.PHONY: install serve test e2e e2e-deps typecheck lint bench clean

install: $(STAMP)

$(STAMP): setup.cfg pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]' $(PINS)
	touch $(STAMP)

serve: $(STAMP)
	$(BIN)/misp-actor-enrich serve --listen $(LISTEN) --port $(PORT)

typecheck: $(STAMP)
	$(BIN)/mypy

lint: $(STAMP)
	$(BIN)/ruff check --select F,E9,B --line-length 120 misp_actor_enrich tests benchmarks

test: $(STAMP) typecheck lint
	$(BIN)/python -m pytest

# A real MISP 2.5.1 on loopback (or MISP_E2E_URL/MISP_E2E_KEY): UI, hover, enrichEvent, workflows, CLI, update.
e2e: $(STAMP)
	MISP_LIVE_DIR=$(MISP_LIVE) $(BIN)/python -m pytest -rfE tests/e2e

# Debian packages misp-live needs (PHP, MariaDB, Redis, Chromium and its driver); root only.
e2e-deps:
	$(MISP_LIVE)/install-deps.sh --browser

bench: $(STAMP)
	$(BIN)/python benchmarks/bench.py

clean:
	rm -rf $(VENV) build *.egg-info .mypy_cache .pytest_cache tests/e2e/artifacts
