# Two commands on a fresh machine: `make demo` and `make test`. Both build .venv first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
SAMPLE := sample_data/son_la_2022_den_30-06.xlsx
OUT ?= out/demo

.PHONY: venv demo test lint bench render-check samples clean fuzz

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

demo: venv
	$(BIN)/disbursement review $(SAMPLE) --round 1 --out $(OUT) --audit-db $(OUT)/disbursement-audit.sqlite

# Branch coverage of the package with a floor (measured 92 % without PostgreSQL; see CONTRIBUTING).
COVERAGE_FLOOR ?= 88

test: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m mypy
	$(BIN)/python -m pytest -q --cov=disbursement --cov-report=term:skip-covered --cov-fail-under=$(COVERAGE_FLOOR)

# 220 seeded mutants of the sample workbooks through the real CLI (not part of `make test`).
fuzz: venv
	FUZZ=$${FUZZ:-220} $(BIN)/python -m pytest -q -s tests/cli/test_mutations.py -k cli

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m mypy

samples: venv
	$(BIN)/python sample_data/generate.py

render-check: venv
	bash scripts/render_check.sh

bench: venv
	$(BIN)/python -m devtools.bench

clean:
	rm -rf $(VENV) out build .pytest_cache
