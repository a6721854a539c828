# Two entry points for a fresh clone: `make serve` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
LISTEN ?= 127.0.0.1
PORT   ?= 6666
# The versions the tests were written against: the object templates ship inside pymisp, and
# pymispgalaxies' misp-galaxy copy is the tests' second data set, so a newer release changes answers.
PINS   := pymisp==2.5.34.4 pymispgalaxies==1.1.1 misp-modules==3.1.1 mypy==2.4.1 pytest==9.2.0 ruff==0.17.6

.PHONY: install serve test typecheck lint bench bundle clean

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

bench: $(STAMP)
	$(BIN)/python benchmarks/bench.py

# Maintainers: refresh the package's bundled galaxy data from a misp-galaxy checkout.
bundle: $(STAMP)
	@test -n "$(GALAXY)" || { echo "usage: make bundle GALAXY=/path/to/misp-galaxy"; exit 2; }
	$(BIN)/python -m misp_actor_enrich.data.bundle "$(GALAXY)"

clean:
	rm -rf $(VENV) build *.egg-info .mypy_cache .pytest_cache
