r"""Value-at-Risk and Expected Shortfall.

Sign convention: ``pnl`` is profit and loss (positive = gain), the loss is ``L = -pnl``, and VaR
and ES are returned as **positive loss amounts** at confidence level ``alpha`` (``0.99`` means
the 1% loss tail).

Empirical (weighted samples, 1-D or 2-D with ``axis``)
    :func:`var`, :func:`es`, :func:`var_es` — inverse-CDF quantile and Acerbi-Tasche ES;
    :func:`var_es_rows` — the same per row of a loss matrix, from each row's largest losses (numba);
    unweighted 2-D input uses :func:`numpy.partition` (no full sort).
Parametric (closed forms)
    :func:`var_normal`, :func:`es_normal`, :func:`var_t`, :func:`es_t` (unit-variance t by
    default), :func:`var_cornish_fisher`, :func:`es_cornish_fisher`, :func:`sample_moments`.
Extreme value theory (McNeil & Frey 2000)
    :func:`fit_gpd_tail` -> :class:`GPDTailFit`, :func:`var_evt`, :func:`es_evt`.
By name
    :func:`estimate` -> :class:`RiskEstimate` (var, es, method, definition, parameters).
"""

from __future__ import annotations

from riskmodels.risk._topk import var_es_rows
from riskmodels.risk.empirical import es, var, var_es
from riskmodels.risk.evt import (
    DEFAULT_TAIL_FRACTION,
    MIN_EXCEEDANCES,
    GPDTailFit,
    es_evt,
    fit_gpd_tail,
    var_evt,
)
from riskmodels.risk.methods import RiskEstimate, estimate
from riskmodels.risk.parametric import (
    SampleMoments,
    es_cornish_fisher,
    es_normal,
    es_t,
    sample_moments,
    var_cornish_fisher,
    var_normal,
    var_t,
)

__all__ = [
    "DEFAULT_TAIL_FRACTION",
    "MIN_EXCEEDANCES",
    "GPDTailFit",
    "RiskEstimate",
    "SampleMoments",
    "es",
    "es_cornish_fisher",
    "es_evt",
    "es_normal",
    "es_t",
    "estimate",
    "fit_gpd_tail",
    "sample_moments",
    "var",
    "var_cornish_fisher",
    "var_es",
    "var_es_rows",
    "var_evt",
    "var_normal",
    "var_t",
]
