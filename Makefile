# The README's two commands:
#   make report   -- builds the environment if needed, then runs the main job (reports/)
#   make test     -- builds the environment if needed, then runs the whole test suite
# Everything else here is a helper for those two.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
EXTRAS := notebooks,dev,distributed
MATHJAX := 3.2.2
# Fits must not depend on BLAS threading (see ../shared/TOOLCHAIN.md); the package also pins
# threads around fits with threadpoolctl, this covers everything else.
export OPENBLAS_NUM_THREADS ?= 1
export MKL_NUM_THREADS ?= 1
export OMP_NUM_THREADS ?= 1

.PHONY: report test env lint bench clean

$(STAMP): pyproject.toml
	@command -v uv >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet uv
	uv venv --quiet --allow-existing --python "$$(command -v $(PYTHON))" $(VENV)
	VIRTUAL_ENV=$(VENV) uv pip install --quiet -e ".[$(EXTRAS)]"
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (riskmodels)" >/dev/null
	@# MathJax 3 for offline equations in reports (one file from the npm registry); without npm
	@# the reports fall back to MathJax's CDN and say so.
	@command -v npm >/dev/null 2>&1 && npm install --no-save --no-audit --no-fund --silent \
	    --prefix build/mathjax mathjax@$(MATHJAX) >/dev/null 2>&1 \
	    || echo "warning: npm unavailable; reports will load MathJax from its CDN"
	@touch $(STAMP)

env: $(STAMP)

report: $(STAMP)
	$(BIN)/riskmodels report all --config configs/default.toml

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -n 2 --durations=15

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: $(STAMP)
	VIRTUAL_ENV=$(VENV) uv pip install --quiet -e ".[bench]"
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) build .pytest_cache .ruff_cache
