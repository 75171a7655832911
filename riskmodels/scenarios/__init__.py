"""Scenarios: joint asset moves over a horizon.

Generators (specs with hyper-parameters only; ``fit`` -> fitted generator -> ``scenarios``)
    :class:`HistoricalScenarios` — past moves as they happened (overlapping or block sums,
    optional age weights); :class:`FilteredHistoricalScenarios` — Barone-Adesi filtered
    historical simulation, with an optional correlation model; :class:`MonteCarloScenarios`
    — paths simulated from a fitted DCC/CCC/EWMA-correlation or univariate model.
Risk factors beyond the price move
    :class:`CarryFactors` (perpetual basis, funding, futures roll from their history) and
    :class:`ImpliedVolProxy` (implied-vol shocks from the fitted GARCH/GJR/EWMA dynamics, a
    proxy: the data hold no implied vols) and :class:`FactorScenarios` (any generator plus
    those factors).
The contract
    :class:`Scenarios` (S x N log returns over a horizon, weights, labels, method, meta, and
    the optional factors ``vol_shocks``, ``basis``, ``funding``, ``roll``),
    :func:`as_horizon`, and the :class:`ScenarioGenerator` / :class:`FittedScenarioGenerator`
    protocols (:mod:`riskmodels.scenarios.base`).

Multi-period horizons are simulated through the fitted recursions (volatility clustering and
correlation dynamics over the horizon); the square-root-of-time rule is available only as an
explicit ``sqrt_time=True`` option, for comparison. ``generate(returns, asof, horizon, rng)``
uses only the rows labelled at or before ``asof``.

>>> from riskmodels.scenarios import FilteredHistoricalScenarios
>>> from riskmodels.volatility import GARCH
>>> gen = FilteredHistoricalScenarios(volatility=GARCH(dist="t"), window=1000)
>>> sc = gen.generate(returns, "2024-01-31", "5d", rng=1)      # doctest: +SKIP
>>> sc.pnl({"BTCUSDT": 1e6, "ETHUSDT": -5e5})                  # doctest: +SKIP
"""

from riskmodels.scenarios._inputs import DEFAULT_N, infer_frequency
from riskmodels.scenarios._ivproxy import FittedImpliedVolProxy, ImpliedVolProxy
from riskmodels.scenarios._models import ModelState
from riskmodels.scenarios.base import (
    FittedScenarioGenerator,
    ScenarioGenerator,
    Scenarios,
    as_horizon,
    vol_term_scale,
)
from riskmodels.scenarios.factors import (
    CarryFactors,
    FactorScenarios,
    FittedCarryFactors,
    FittedFactorScenarios,
    basis_from_prices,
)
from riskmodels.scenarios.filtered import (
    FilteredHistoricalScenarios,
    FittedFilteredHistoricalScenarios,
)
from riskmodels.scenarios.historical import FittedHistoricalScenarios, HistoricalScenarios
from riskmodels.scenarios.montecarlo import FittedMonteCarloScenarios, MonteCarloScenarios

__all__ = [
    "DEFAULT_N",
    "CarryFactors",
    "FactorScenarios",
    "FilteredHistoricalScenarios",
    "FittedCarryFactors",
    "FittedFactorScenarios",
    "FittedFilteredHistoricalScenarios",
    "FittedHistoricalScenarios",
    "FittedImpliedVolProxy",
    "FittedMonteCarloScenarios",
    "FittedScenarioGenerator",
    "HistoricalScenarios",
    "ImpliedVolProxy",
    "ModelState",
    "MonteCarloScenarios",
    "ScenarioGenerator",
    "Scenarios",
    "as_horizon",
    "basis_from_prices",
    "infer_frequency",
    "vol_term_scale",
]
