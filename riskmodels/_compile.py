"""Compile the package's numba kernels into their on-disk cache (``make`` runs this once).

The kernels are ``@njit(cache=True)``: numba compiles a kernel at its first call and stores the
machine code next to the source (``__pycache__/*.nbi``, ``*.nbc``), where every later process
finds it. In a fresh clone, each process that calls a kernel before the cache exists compiles
it again (about 5 s of CPU for all of them): the test workers, notebook kernels and dask
workers of the first run all did. ``python -m riskmodels._compile`` calls each kernel once on
a small input, through the public functions, so the cache exists before anything else runs.
It changes no result: the cached code is the code numba would compile.
"""

from __future__ import annotations

import importlib.util
import time

import numpy as np


def compile_kernels() -> list[str]:
    """Call every numba kernel once (on small inputs); returns what was compiled.

    Returns an empty list without numba (the numpy twins need no compiling).
    """
    if importlib.util.find_spec("numba") is None:
        return []
    from riskmodels.correlation import DCC, equicorrelation, simulate_dcc
    from riskmodels.risk import var_es_rows

    losses = np.random.default_rng(0).normal(size=(3, 400))
    var_es_rows(losses, 0.99)  # the selection kernel
    var_es_rows(losses, 0.99, argmax=np.empty(3, dtype=np.intp))
    var_es_rows(losses[:, :40], 0.5)  # a tail too large for the fast path: the heap kernel
    done = ["risk.var_es_rows"]
    z = simulate_dcc(200, equicorrelation(3, 0.5), 0.05, 0.9, rng=0).std_resid
    for kind in ("dcc", "cdcc"):
        for likelihood in ("full", "composite"):
            DCC(kind, likelihood=likelihood, univariate=None, backend="numba").fit(z)
            done.append(f"correlation.DCC({kind!r}, likelihood={likelihood!r})")
    return done


if __name__ == "__main__":  # pragma: no cover - run by make
    t0 = time.perf_counter()
    names = compile_kernels()
    print(f"numba kernels cached ({len(names)} entry points, {time.perf_counter() - t0:.1f} s)")
