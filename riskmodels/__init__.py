"""riskmodels: risk of cross-margined crypto derivatives portfolios.

Volatility and correlation models, VaR/ES engines, margin models, backtests, liquidation
threshold calibration and stress tests, with rendered reports. See the README.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("riskmodels")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
