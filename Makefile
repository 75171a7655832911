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
MATHJAX_JS := build/mathjax/node_modules/mathjax/es5/tex-svg-full.js
# Fits must not depend on BLAS threading (see ../shared/TOOLCHAIN.md); the package also pins
# threads around fits with threadpoolctl, this covers everything else.
export OPENBLAS_NUM_THREADS ?= 1
export MKL_NUM_THREADS ?= 1
export OMP_NUM_THREADS ?= 1

.PHONY: report test test-fast env browser lint bench clean pyc

$(STAMP): pyproject.toml
	@command -v uv >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet uv
	uv venv --quiet --allow-existing --python "$$(command -v $(PYTHON))" $(VENV)
	# --compile-bytecode: this machine sets PYTHONDONTWRITEBYTECODE=1, so without .pyc files
	# every new interpreter (notebook kernels, loky and dask workers, the CLI) compiled numpy,
	# pandas, scipy, statsmodels and arch from source again: about 4.5 s of CPU each.
	VIRTUAL_ENV=$(VENV) uv pip install --quiet --compile-bytecode -e ".[$(EXTRAS)]"
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (riskmodels)" >/dev/null
	@touch $(STAMP)

# MathJax 3 for offline equations in reports (one file from the npm registry); without npm the
# reports fall back to MathJax's CDN and say so.
$(MATHJAX_JS):
	@command -v npm >/dev/null 2>&1 && npm install --no-save --no-audit --no-fund --silent \
	    --prefix build/mathjax mathjax@$(MATHJAX) >/dev/null 2>&1 \
	    || echo "warning: npm unavailable; reports will load MathJax from its CDN"

env: $(STAMP) $(MATHJAX_JS)

# The package's own .pyc (git-ignored; PYTHONDONTWRITEBYTECODE=1 keeps Python from writing
# them itself): compiled once here instead of in every kernel and worker process.
# The numba kernels' on-disk cache too (riskmodels/_compile.py): compiled once per clone and
# whenever a kernel's source changes, instead of in every process of the first run.
NUMBA_STAMP := build/.numba-kernels
$(NUMBA_STAMP): $(STAMP) riskmodels/risk/_topk.py riskmodels/correlation/_kernels.py
	@mkdir -p build
	@$(BIN)/python -m riskmodels._compile && touch $@

pyc: $(STAMP) $(NUMBA_STAMP)
	@$(BIN)/python -m compileall -q riskmodels

report: $(STAMP) $(MATHJAX_JS) pyc
	$(BIN)/riskmodels report all --config configs/default.toml

# Headless Chromium for the report tests (Debian's package; needs root, as on CI).
browser:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing Debian's chromium for the report tests (once)"; \
	    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive \
	      apt-get install -y -qq chromium >/dev/null; \
	  else echo "warning: chromium missing and not root: browser tests will skip"; fi; }

test: $(STAMP) $(MATHJAX_JS) browser pyc
	$(BIN)/ruff check .
	$(BIN)/python -m mypy
	# worksteal with tests/conftest.py's longest-first order: the long report builds start at
	# once, a worker that runs dry steals queued tests from the other, and the short tests fill
	# the end (4:42 here against 6:18 with --dist load and the same order)
	$(BIN)/python -m pytest -n 2 --dist worksteal --durations=15

# The edit loop's lane (under a minute on 2 cores): no notebooks, browser, worker processes,
# real-data mirror or tests marked slow. CI runs `make test`, which runs everything.
test-fast: $(STAMP) pyc
	$(BIN)/python -m pytest -n 2 --dist worksteal -q -m "not slow and not workers and not mirror"

# mypy reads [tool.mypy] in pyproject.toml (about 30 s of CPU from a cold cache, 1 s warm).
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m mypy

bench: $(STAMP)
	VIRTUAL_ENV=$(VENV) uv pip install --quiet -e ".[bench]"
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) build .pytest_cache .ruff_cache .mypy_cache
