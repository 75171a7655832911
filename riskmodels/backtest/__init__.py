"""Backtests of VaR and ES forecasts: coverage tests, ES tests and comparative tests.

Sign convention: ``realized`` is the realized P&L (gain positive); VaR and ES are positive loss
amounts at confidence level ``alpha`` (0.99 means the 1 % loss tail). A hit (exception) is
``-realized > var``; :func:`exceedances` builds the hit series.

Coverage tests (take ``hits``): :func:`kupiec`, :func:`christoffersen`, :func:`dq_test`,
:func:`duration_test`, :func:`traffic_light` (and :func:`traffic_light_from_counts`). ES tests: :func:`mcneil_frey`,
:func:`acerbi_szekely`; scoring: :func:`fz_loss`. Comparisons: :func:`diebold_mariano`,
:func:`model_confidence_set`. Each test returns a frozen result with ``statistic`` and
``pvalue`` that prints and renders in Jupyter.
"""

from __future__ import annotations

from riskmodels.backtest.compare import diebold_mariano, model_confidence_set
from riskmodels.backtest.coverage import (
    christoffersen,
    dq_test,
    duration_test,
    exceedances,
    kupiec,
    traffic_light,
    traffic_light_from_counts,
)
from riskmodels.backtest.es_tests import acerbi_szekely, fz_loss, mcneil_frey
from riskmodels.backtest.results import (
    ChristoffersenResult,
    MCSResult,
    TestResult,
    TrafficLightResult,
)

__all__ = [
    "ChristoffersenResult",
    "MCSResult",
    "TestResult",
    "TrafficLightResult",
    "acerbi_szekely",
    "christoffersen",
    "diebold_mariano",
    "dq_test",
    "duration_test",
    "exceedances",
    "fz_loss",
    "kupiec",
    "mcneil_frey",
    "model_confidence_set",
    "traffic_light",
    "traffic_light_from_counts",
]

# Walk-forward engine and its VaR/ES models (riskmodels.backtest.walkforward / .models).
from riskmodels.backtest.fitted import FittedVaRModel, fit_var_model
from riskmodels.backtest.models import (
    ConditionalEVT,
    ParametricModel,
    ScenarioModel,
    VaRModel,
    standard_models,
)
from riskmodels.backtest.spec import WalkForward
from riskmodels.backtest.walkforward import WalkForwardResult, walk_forward

__all__ += [
    "ConditionalEVT",
    "FittedVaRModel",
    "ParametricModel",
    "ScenarioModel",
    "VaRModel",
    "WalkForward",
    "WalkForwardResult",
    "fit_var_model",
    "standard_models",
    "walk_forward",
]
