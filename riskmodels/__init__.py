"""riskmodels: risk of cross-margined crypto derivatives portfolios.

Volatility and correlation models, VaR/ES engines, margin models, backtests, liquidation
threshold calibration and stress tests, with rendered reports. See the README.

The subpackages are attributes of the package, imported on first use (PEP 562), so that
``import riskmodels`` stays fast::

    import riskmodels

    prices = riskmodels.data.load_prices(["BTC", "ETH"])
    fit = riskmodels.volatility.GARCH(dist="t").fit(riskmodels.data.log_returns(prices).iloc[1:])
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import TYPE_CHECKING

#: Subpackages and modules reachable as ``riskmodels.<name>`` after ``import riskmodels``.
SUBMODULES: tuple[str, ...] = (
    "backtest",
    "calibration",
    "config",
    "correlation",
    "data",
    "exceptions",
    "instruments",
    "liquidation",
    "margin",
    "parallel",
    "reporting",
    "risk",
    "scenarios",
    "stress",
    "volatility",
)

__all__ = ["__version__", *SUBMODULES]

if TYPE_CHECKING:  # set by __getattr__ on first access
    __version__: str


def _version() -> str:
    """The installed distribution's version (``importlib.metadata`` costs ~20 ms to import, so
    it is read on first access of ``riskmodels.__version__``, not on ``import riskmodels``)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("riskmodels")
    except PackageNotFoundError:  # pragma: no cover - a source tree without install
        return "0.0.0+unknown"


def __getattr__(name: str) -> ModuleType | str:
    """Import a subpackage on first access (``riskmodels.margin`` imports ``riskmodels.margin``);
    read ``__version__`` on first access.

    Raises
    ------
    AttributeError
        For a name that is neither a subpackage nor an attribute of the package.
    """
    if name == "__version__":
        globals()[name] = v = _version()
        return v
    if name in SUBMODULES:
        module = importlib.import_module(f"{__name__}.{name}")
        globals()[name] = module  # later accesses skip this hook
        return module
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    """The module's attributes and every lazily imported subpackage (for tab completion)."""
    return sorted(set(globals()) | set(__all__))
