"""Univariate volatility models: GARCH, GJR-GARCH, EGARCH (through ``arch``) and EWMA.

>>> from riskmodels.volatility import GARCH, fit_panel
>>> res = GARCH(dist="t").fit(returns)          # doctest: +SKIP
>>> res.conditional_volatility, res.forecast(10), res.simulate(1000, 10, rng=1)  # doctest: +SKIP

Everything that comes back is in decimal log-return units except ``params`` (arch's percent
units, so that they compare 1:1 with arch fitted on ``100 * returns``); see
:mod:`riskmodels.volatility.specs` for the unit conventions and determinism guarantees.
"""

from riskmodels.volatility.panel import fit_panel
from riskmodels.volatility.results import PanelVolatilityResult, VolatilityResult
from riskmodels.volatility.specs import EGARCH, EWMA, GARCH, GJR, VolatilitySpec

__all__ = [
    "EGARCH",
    "EWMA",
    "GARCH",
    "GJR",
    "PanelVolatilityResult",
    "VolatilityResult",
    "VolatilitySpec",
    "fit_panel",
]
