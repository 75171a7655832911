"""Conditional correlation models: EWMA, CCC, DCC (Engle 2002), cDCC (Aielli 2013) and ADCC
(Cappiello, Engle and Sheppard 2006), with full and composite likelihood (Pakel, Shephard,
Sheppard and Engle 2021).

>>> from riskmodels.correlation import DCC
>>> from riskmodels.volatility import GARCH
>>> res = DCC(kind="dcc", univariate=GARCH()).fit(returns)     # doctest: +SKIP
>>> res.params, res.correlation.at("2022-11-09"), res.forecast(10).covariance_matrix()  # doctest: +SKIP
>>> paths = res.simulate(10_000, 10, innovations="t", rng=1)   # doctest: +SKIP
"""

from riskmodels.correlation._data import TargetRepair
from riskmodels.correlation._kernels import HAVE_NUMBA
from riskmodels.correlation.models import CCC, DCC, EWMACorrelation
from riskmodels.correlation.results import (
    CorrelationForecast,
    CorrelationResult,
    DCCResult,
    MatrixPath,
)
from riskmodels.correlation.simulation import SimulatedDCC, equicorrelation, simulate_dcc

__all__ = [
    "CCC",
    "DCC",
    "HAVE_NUMBA",
    "CorrelationForecast",
    "CorrelationResult",
    "DCCResult",
    "EWMACorrelation",
    "MatrixPath",
    "SimulatedDCC",
    "TargetRepair",
    "equicorrelation",
    "simulate_dcc",
]
