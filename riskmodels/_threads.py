"""Pinning BLAS/OpenMP threads around fits, cheaply.

The same fit with 2 vs 1 OpenBLAS threads gives different estimates on flat likelihoods
(../shared/TOOLCHAIN.md), so every fit runs single-threaded. ``threadpoolctl.threadpool_limits``
rescans the loaded libraries on each call (~2.5 ms, more than a small GARCH refit costs in a
rolling backtest); one controller per process, created on first use, avoids that.
"""

from __future__ import annotations

from typing import Any

from threadpoolctl import ThreadpoolController

__all__ = ["blas_threads"]

_CONTROLLER: ThreadpoolController | None = None


def blas_threads(limits: int = 1) -> Any:
    """Context manager limiting BLAS/OpenMP threads to ``limits`` for its block.

    Uses one :class:`threadpoolctl.ThreadpoolController` per process, built on first use (the
    libraries numpy/scipy load at import are the ones that matter for fits).
    """
    global _CONTROLLER
    if _CONTROLLER is None:
        _CONTROLLER = ThreadpoolController()
    return _CONTROLLER.limit(limits=limits)
