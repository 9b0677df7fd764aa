# rnnviz developer tasks. Everything runs in a local virtual environment, .venv.
#
#   make venv    create .venv and install rnnviz (editable) with its test tools
#   make run     open the desktop app (installs only what running needs)
#   make test    run the test suite headless (Qt's offscreen platform)
#   make bench   run the benchmarks
#   make lint    ruff check + ruff format --check
#   make clean   remove caches and build outputs (make distclean also removes .venv)

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

# torch is installed on its own, before rnnviz, so that this choice is deliberate. Plain
# `pip install torch` on Linux pulls the multi-GB CUDA build. torch 2.13.0 is the version whose
# CPU wheel lies on disk on this project's CI machines (pip finds it there), so CI installs
# nothing large. With a GPU: `make TORCH_SPEC=torch venv` (or pre-install your CUDA torch into
# .venv first; pip keeps an installed torch that satisfies the spec). rnnviz needs torch>=2.2.
TORCH_SPEC ?= torch==2.13.0

.PHONY: venv run test bench lint format clean distclean

venv: $(VENV)/.installed-test

# One stamp per install: what running needs (.installed), and the test tools on top of it
# (.installed-test). Each makes a second `make` a no-op until pyproject.toml changes.
$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install '$(TORCH_SPEC)'
	$(BIN)/python -m pip install -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(BIN)/python -m pip install -e '.[test]'
	touch $@

run: $(VENV)/.installed
	$(BIN)/rnnviz

# Two test processes (pytest-xdist): a 2-core machine runs the suite in about half the time of
# one process, which leaves a core idle whenever a test waits on its training worker. More
# would oversubscribe it: many tests start a training process of their own.
test: venv
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q -n 2

bench: $(VENV)/.installed
	$(BIN)/python benchmarks/run_all.py

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: venv
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf build dist *.egg-info .pytest_cache .ruff_cache
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV)
