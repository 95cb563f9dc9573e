# Two commands: `make demo` runs the main job on the bundled samples, `make test` runs the suite
# (`make docs` builds the documentation site into site/).
# Both create .venv with pip when it is missing and (re)install when pyproject.toml changes.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test docs bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/appeals demo --out out/demo

test: $(STAMP)
	$(BIN)/ruff check appeals benchmarks scripts tests
	$(BIN)/python -m pytest -n auto --dist loadgroup

docs: $(STAMP)
	$(BIN)/python scripts/docs_index.py
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict
	@echo "the site: site/index.html"

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_intake.py
	$(BIN)/python benchmarks/bench_classify.py

clean:
	rm -rf $(VENV) out build dist site *.egg-info
