"""Fitting and filtering the models behind filtered historical and Monte Carlo scenarios.

The generators hold the univariate volatility results (one per asset, from
:mod:`riskmodels.volatility`) and, optionally, a correlation result (from
:mod:`riskmodels.correlation`). ``update`` filters new bars through both with the parameters
kept fixed:

* volatility: ``spec.filter(extended_series, params)`` runs arch's recursion over the fitted
  sample plus the new bars. The recursion starts from the same backcast (arch computes it
  from the first 75 residuals of the series), so the filtered path over the fitted sample is
  unchanged and the new bars continue it exactly. This costs one O(T) pass per asset, which is
  cheap next to an estimation; it is preferred to a hand-written forward filter because it is
  arch's own recursion (one implementation of every model: GARCH, GJR, EGARCH, EWMA).
  ``filter`` gives ``spec.fix``'s numbers bit for bit without arch's ``model.fix`` (a deep copy
  and a result object per call) and computes the log-likelihood, the bound diagnostics and
  ``arch_result`` only when read (:mod:`riskmodels.volatility._filter`).
* correlation: DCC/ADCC and CCC are re-evaluated with ``fix`` (CCC: ``fit`` with a given
  target) at the fitted parameters *and the fitted target* ``Qbar`` (passed as a given target,
  so it is not re-estimated on the longer sample). cDCC's target ``S`` is a function of the
  parameters and the data (Aielli 2013) and ADCC's ``Nbar`` a sample moment: both are
  recomputed on the extended sample. EWMA has no parameter to estimate; its ``Q_0`` (the
  sample second moment) is recomputed, with weight ``lam**T`` in today's ``Q``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, replace
from typing import Any, Self

import numpy as np
import pandas as pd

from riskmodels.correlation import CCC, DCC, CorrelationResult, EWMACorrelation
from riskmodels.exceptions import ConfigError
from riskmodels.scenarios._inputs import new_rows
from riskmodels.volatility import VolatilityResult, VolatilitySpec, fit_panel
from riskmodels.volatility.specs import PCT

__all__ = [
    "CORRELATION_SPECS",
    "ModelState",
    "check_correlation_spec",
    "correlation_meta",
    "fit_univariate",
    "horizon_scenarios",
    "mu_decimal",
    "refilter_correlation",
    "refilter_univariate",
    "sqrt_time_scale",
    "summary_frame",
    "volatility_meta",
]

CORRELATION_SPECS = (DCC, CCC, EWMACorrelation)


def check_correlation_spec(spec: object, name: str) -> None:
    """Raise ConfigError unless ``spec`` is a correlation spec (DCC, CCC, EWMACorrelation)."""
    if not isinstance(spec, CORRELATION_SPECS):
        raise ConfigError(
            f"{name} must be a riskmodels.correlation spec: DCC(...), CCC(...) or "
            f"EWMACorrelation(...) (got {type(spec).__name__})."
        )


def fit_univariate(sample: pd.DataFrame, spec: VolatilitySpec) -> dict[str, VolatilityResult]:
    """Fit ``spec`` to every asset of ``sample`` (a common sample without NaN)."""
    return dict(fit_panel(sample, spec).results)


def refilter_univariate(
    results: dict[str, VolatilityResult], extended: pd.DataFrame
) -> dict[str, VolatilityResult]:
    """Each asset's model at its fitted parameters over ``extended`` (see the module notes)."""
    return {a: r.spec.filter(extended[a].rename(a), r.params) for a, r in results.items()}


def refilter_correlation(
    result: CorrelationResult,
    extended: pd.DataFrame,
    volatility: dict[str, VolatilityResult] | None,
) -> CorrelationResult:
    """The correlation model at its fitted parameters over ``extended`` (module notes)."""
    spec = result.spec
    if isinstance(spec, DCC):
        if spec.kind != "cdcc":
            spec = replace(spec, target=result.target, repair=None)
        return spec.fix(extended, result.params, volatility=volatility)
    if isinstance(spec, CCC):
        return replace(spec, target=result.target, repair=None).fit(extended, volatility=volatility)
    if isinstance(spec, EWMACorrelation):
        return spec.fit(extended, volatility=volatility)
    raise ConfigError(  # pragma: no cover - the specs are checked at construction
        f"cannot filter a {type(spec).__name__} result forward; use DCC, CCC or EWMACorrelation."
    )


def mu_decimal(result: VolatilityResult | None) -> float:
    """The constant mean of a volatility result in decimals (0 for a zero-mean model)."""
    if result is None or "mu" not in result.params.index:
        return 0.0
    return float(result.params["mu"]) / PCT


def volatility_meta(results: dict[str, VolatilityResult] | None) -> dict[str, Any]:
    """What ``Scenarios.meta`` records about the univariate stage."""
    if not results:
        return {}
    first = next(iter(results.values()))
    return {
        "volatility_model": first.spec.label,
        "volatility_params": {a: r.params.to_dict() for a, r in results.items()},
        "volatility_params_units": "arch percent units (fitted on 100 x returns)",
        "sigma_next": {a: float(np.sqrt(_variance_next(r))) for a, r in results.items()},
    }


def _variance_next(result: VolatilityResult) -> float:
    """``result.forecast(1).iloc[0]``; a filtered result (``VolatilitySpec.filter``) has the same
    number ready as ``variance_next``, without arch's forecast machinery."""
    ready = getattr(result, "variance_next", None)
    if ready is not None:
        return float(ready)
    return float(result.forecast(1).iloc[0])


def correlation_meta(result: CorrelationResult | None) -> dict[str, Any]:
    """What ``Scenarios.meta`` records about the correlation stage."""
    if result is None:
        return {}
    return {
        "correlation_model": result.model,
        "correlation_params": result.params.to_dict(),
        "correlation_next": result.forecast(1).correlation_matrix(1),
    }


@dataclass(frozen=True, eq=False)
class ModelState:
    """The fitted models and the rows they have filtered.

    Attributes
    ----------
    returns : DataFrame
        The estimation window followed by every bar filtered since (T x N).
    freq : Timedelta
        The bar length.
    volatility : dict of str to VolatilityResult, or None
        Per-asset univariate results over ``returns`` (None for a correlation model fitted on
        standardized residuals).
    correlation : CorrelationResult or None
        The correlation model over ``returns``.
    nobs_fit : int
        Rows of the estimation window (the parameters were estimated on ``returns[:nobs_fit]``).
    """

    returns: pd.DataFrame
    freq: pd.Timedelta
    volatility: dict[str, VolatilityResult] | None
    correlation: CorrelationResult | None
    nobs_fit: int

    @property
    def asof(self) -> pd.Timestamp:
        return self.returns.index[-1]

    def update(self, returns: pd.DataFrame) -> ModelState:
        """Filter the bars of ``returns`` after ``asof`` at the fitted parameters."""
        rows = new_rows(self.returns, returns, self.asof, self.freq)
        if rows is None:
            return self
        extended = pd.concat([self.returns, rows])
        vol = None if self.volatility is None else refilter_univariate(self.volatility, extended)
        corr = (
            None
            if self.correlation is None
            else refilter_correlation(self.correlation, extended, vol)
        )
        return ModelState(extended, self.freq, vol, corr, self.nobs_fit)

    def diagnostics(self) -> dict[str, Any]:
        """Fit diagnostics for a walk-forward record.

        Returns
        -------
        dict
            ``converged`` (every model), ``loglik`` (the correlation model's two-step
            log-likelihood when there is one, else the sum of the univariate ones), ``params``
            (``"asset:name"`` and ``"correlation:name"``), ``params_at_bounds`` and ``note``
            (retries or flagged fits).
        """
        vols = self.volatility or {}
        params = {f"{a}:{k}": float(v) for a, r in vols.items() for k, v in r.params.items()}
        at = [f"{a}:{p}" for a, r in vols.items() for p in r.params_at_bounds]
        notes = [f"{a}: {r.failure_note}" for a, r in vols.items() if r.failure_note]
        converged = all(r.converged for r in vols.values())
        loglik = float(sum(r.loglikelihood for r in vols.values())) if vols else float("nan")
        corr = self.correlation
        if corr is not None:
            params.update({f"correlation:{k}": float(v) for k, v in corr.params.items()})
            at += [f"correlation:{p}" for p in corr.params_at_bounds]
            converged = converged and bool(corr.converged)
            loglik = float(corr.loglikelihood)
        return {
            "converged": converged,
            "loglik": loglik,
            "params": params,
            "params_at_bounds": tuple(at),
            "note": "; ".join(notes) or None,
        }

    def meta(self) -> dict[str, Any]:
        """Window, filtering and parameters for ``Scenarios.meta``."""
        idx = self.returns.index
        out: dict[str, Any] = {
            "window_start": idx[0],
            "window_end": idx[self.nobs_fit - 1],
            "nobs": self.nobs_fit,
            "filtered_to": idx[-1],
            "bars_filtered_since_fit": len(idx) - self.nobs_fit,
            "freq": self.freq,
        }
        out.update(volatility_meta(self.volatility))
        out.update(correlation_meta(self.correlation))
        return out


def sqrt_time_scale(one_step: np.ndarray, h: int, mu: np.ndarray) -> np.ndarray:
    r"""The square-root-of-time rule: ``h mu + sqrt(h) (r - mu)`` for one-step scenarios ``r``.

    Exact for i.i.d. returns with mean ``mu``; under GARCH it ignores the mean reversion of
    the variance over the horizon and the fat tails that volatility clustering builds into
    multi-period sums (Diebold, Hickman, Inoue and Schuermann 1998, "Scale models", *Risk*
    11). Offered for comparison only.
    """
    return h * mu + np.sqrt(h) * (one_step - mu)


def horizon_scenarios(
    R: np.ndarray, h: int, mu: np.ndarray, sqrt_time: bool
) -> tuple[np.ndarray, str]:
    """Apply the optional square-root-of-time rule and say how the ``h``-step scenarios were made.

    ``R`` holds one-step scenarios when ``sqrt_time`` is set (scaled here), else scenarios
    already summed along simulated paths (returned unchanged).
    """
    if sqrt_time:
        return (
            sqrt_time_scale(R, h, mu),
            f"one-step scenarios scaled by sqrt({h}) (square-root-of-time rule, for "
            "comparison only)",
        )
    if h == 1:
        return R, "one-step scenarios"
    return R, f"{h}-step paths through the fitted recursions"


def summary_frame(state: ModelState) -> pd.DataFrame:
    """One row per asset: parameters (arch percent units), persistence and ``sigma_{T+1}``."""
    rows: dict[str, dict[str, Any]] = {}
    if state.volatility is None:
        return pd.DataFrame(index=pd.Index(list(state.returns.columns), name="asset"))
    for a, r in state.volatility.items():
        row: dict[str, Any] = dict(r.params.to_dict())
        row["persistence"] = r.persistence
        row["sigma_next"] = float(np.sqrt(_variance_next(r)))
        rows[a] = row
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index.name = "asset"
    return out


class FittedFromState:
    """Read-only views and ``update`` shared by fitted generators that hold a :class:`ModelState`.

    Subclasses are frozen dataclasses with a ``state`` field; ``update`` returns the same type
    with the state filtered forward (``dataclasses.replace``), or ``self`` when nothing is new.
    """

    state: ModelState

    @property
    def asof(self) -> pd.Timestamp:
        """The last bar filtered."""
        return self.state.asof

    @property
    def assets(self) -> tuple[str, ...]:
        """Asset names, in column order."""
        return tuple(self.state.returns.columns)

    @property
    def freq(self) -> pd.Timedelta:
        """The bar length."""
        return self.state.freq

    @property
    def correlation(self) -> CorrelationResult | None:
        """The correlation result over the filtered rows (None without a correlation model)."""
        return self.state.correlation

    def update(self, returns: pd.DataFrame) -> Self:
        """Filter the bars of ``returns`` after ``asof`` with the fitted parameters.

        Rows at or before ``asof`` are ignored (``returns.loc[asof:next]`` can be passed as
        it is); the new bars must hold every asset on consecutive bars. Nothing is
        re-estimated: see :mod:`riskmodels.scenarios._models` for how each model is filtered.
        """
        state = self.state.update(returns)
        if state is self.state:
            return self
        return dataclasses.replace(self, state=state)  # type: ignore[type-var]
