# The two commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
TSTAMP := $(VENV)/.installed-test
CONFIG ?= connector.yaml

.PHONY: run test lint typecheck pytest docs bench fuzz clean venv

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip setuptools wheel

$(STAMP): $(BIN)/python setup.cfg pyproject.toml
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(TSTAMP): $(BIN)/python setup.cfg pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@ $(STAMP)

venv: $(STAMP)

run: $(STAMP)
	$(BIN)/connector --config $(CONFIG) run

lint: $(TSTAMP)
	$(BIN)/ruff check connector adapters formats service tests bench

typecheck: $(TSTAMP)
	$(BIN)/mypy connector adapters formats service
	$(BIN)/mypy --platform win32 service/windows.py connector/oslock.py service/systemd.py service/signals.py

# Both cores (pytest-xdist): each worker is a process with its own tmp_path, ports from
# the OS and unique table prefixes on the shared databases.
pytest: $(TSTAMP)
	$(BIN)/python -m pytest -q -n auto

test: lint typecheck pytest

# docs/reference/ generated from the code (tests/core/test_docs.py fails when it is stale).
docs: $(STAMP)
	$(BIN)/python -m service.reference

# Not part of `make test`: every tests/fuzz/fuzz_*.py harness for FUZZ_SECONDS (60) each,
# under atheris when it installs (the fuzz extra), else Hypothesis. See tests/fuzz/run.py.
FUZZ_SECONDS ?= 60
fuzz: $(TSTAMP)
	@$(BIN)/python -m pip install --quiet -e '.[fuzz]' 2>/dev/null || \
		echo "atheris does not install here: Hypothesis drives the harnesses"
	FUZZ_SECONDS=$(FUZZ_SECONDS) $(BIN)/python -m tests.fuzz.run

bench: $(STAMP)
	$(BIN)/python -m bench.formats
	$(BIN)/python -m bench.export
	$(BIN)/python -m bench.import_bench
	$(BIN)/python -m bench.sinks
	$(BIN)/python -m bench.dropbox_api
	$(BIN)/python -m bench.sql_source

# The gettext catalogs: extract the marked texts, merge them into each language's .po
# (translate the new and fuzzy entries there; tests/core/test_i18n.py checks none is missing).
messages: $(TSTAMP)
	$(BIN)/pybabel extract -F babel.cfg -k _ -k N_ -k ngettext:1,2 --no-location --sort-output \
		--project icommerce-connector -o connector/locale/connector.pot .
	$(BIN)/pybabel update -i connector/locale/connector.pot -d connector/locale -D connector \
		--ignore-obsolete

clean:
	rm -rf $(VENV) build *.egg-info .fuzz
