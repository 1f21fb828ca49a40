# Each target sets itself up: a virtual environment with the CPU build of torch, then the project.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
TORCH  ?= torch==2.13.0

.PHONY: setup demo test test-slow bench clean

$(BIN)/rnnlab: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -c "import torch" 2>/dev/null || $(BIN)/python -m pip install -q "$(TORCH)"
	$(BIN)/python -m pip install -q -e ".[dev]"
	touch $@

setup: $(BIN)/rnnlab

# Train the default model on bundled tiny Shakespeare (budget: 10 minutes at most), then sample from it.
demo: setup
	rm -rf runs/demo
	$(BIN)/rnnlab train --out runs/demo
	$(BIN)/rnnlab eval runs/demo
	$(BIN)/rnnlab sample runs/demo --prime "ROMEO:" -n 600 --temperature 0.8 --seed 1

test: setup
	$(BIN)/python -m pytest

test-slow: setup
	$(BIN)/python -m pytest -m slow

bench: setup
	$(BIN)/python benchmarks/train_throughput.py

clean:
	rm -rf $(VENV) runs *.egg-info
