r"""VaR/ES models for the walk-forward engine: a small protocol and three adapters.

A :class:`VaRModel` is a spec (hyper-parameters only) that the engine
(:func:`~riskmodels.backtest.walk_forward`) drives through four calls::

    state = model.fit(window, exposures=e, warm_start=previous_state, rng=rng)   # estimate
    state = model.update(state, new_rows)               # filter forward, same parameters
    var, es = model.forecast(state, e, alphas, horizon, rng)   # one value per alpha
    model.diagnostics(state)                            # converged, loglik, params, ...

``state`` is whatever the model needs (the engine never looks inside). The adapters:

:class:`ScenarioModel`
    Any :class:`~riskmodels.scenarios.base.ScenarioGenerator` (historical, filtered historical,
    Monte Carlo): P&L of the exposures under the generator's scenarios, then the empirical
    (weighted) VaR and ES of :func:`riskmodels.risk.var_es`.
:class:`ParametricModel`
    A univariate volatility model (EWMA, GARCH, GJR, EGARCH) on the **portfolio's** P&L series,
    with closed-form normal or Student-t VaR and ES.
:class:`ConditionalEVT`
    McNeil & Frey (2000): the same volatility filter plus a generalized Pareto tail fitted to
    the standardized residuals.

Portfolio-level approach (:class:`ParametricModel`, :class:`ConditionalEVT`)
----------------------------------------------------------------------------
With exposures :math:`e_i` (USD notional, or fractions of one) and gross exposure
:math:`G = \sum_i |e_i|`, the one-bar P&L of the position is
:math:`\text{P\&L}_t = \sum_i e_i (e^{r_{i,t}} - 1)` for decimal log returns :math:`r_{i,t}`.
The models fit their volatility model to the P&L per unit of gross exposure,

.. math:: x_t = \text{P\&L}_t / G = \sum_i \frac{e_i}{G}\,(e^{r_{i,t}} - 1),

(the portfolio's simple return for a long-only book; the asset's simple return for one long
asset) and report :math:`\mathrm{VaR} = G\,\mathrm{VaR}(x_{T+1})` and
:math:`\mathrm{ES} = G\,\mathrm{ES}(x_{T+1})`: exact closed forms for the modelled P&L, for long,
short and market-neutral books alike. This is the "portfolio-level" (univariate) approach: the
portfolio is treated as one asset with fixed exposures, so its volatility model re-weights the
past P&L of **today's** positions (Berkowitz & O'Brien 2002 call it the GARCH model of the
portfolio's P&L). It needs no correlation model, and it cannot attribute risk to assets.

Horizons: the parametric and EVT models forecast **one bar** ahead only (the closed forms are
for the one-step conditional distribution); other horizons raise
:class:`~riskmodels.exceptions.ConfigError`. For multi-bar horizons use a
:class:`ScenarioModel` (filtered historical or Monte Carlo scenarios simulate through the
variance recursion).

Between refits ``update`` runs the fitted variance recursion forward through the new bars
(the same recursions as :meth:`~riskmodels.volatility.VolatilityResult.variance_paths`, whose
one-step variance equals arch's ``forecast(horizon=1)``); parameters and, for EVT, the GPD
tail stay those of the last refit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import KW_ONLY, dataclass, field, replace
from typing import Any, Protocol, runtime_checkable

import numpy as np
import pandas as pd

from riskmodels._deprecation import keyword_options
from riskmodels._display import esc
from riskmodels._time import bar_frequency
from riskmodels._validation import min_observations
from riskmodels.exceptions import ConfigError, DataError
from riskmodels.instruments import linear_pnl
from riskmodels.risk import es_evt, es_normal, es_t, fit_gpd_tail, var_es, var_evt, var_normal
from riskmodels.risk import var_t as _var_t
from riskmodels.scenarios.base import as_horizon
from riskmodels.volatility import EWMA, GARCH, VolatilityResult, VolatilitySpec
from riskmodels.volatility.specs import PCT, OnFailure, check_on_failure

__all__ = [
    "ConditionalEVT",
    "ParametricModel",
    "ScenarioModel",
    "VaRModel",
]

#: Standardized shocks of shape (1, 1): the one-step variance of a recursion does not depend on
#: them (it is known at the end of the sample).
_Z0 = np.zeros((1, 1))
#: Residuals and variances kept in a filter state (the recursions use the last max(p, o, q)).
_HIST = 16


@runtime_checkable
class VaRModel(Protocol):
    """What the walk-forward engine needs from a VaR/ES model.

    Attributes
    ----------
    name : str
        Label used in the ``model`` column of the forecasts.

    Notes
    -----
    Optional: ``validate(*, alphas, horizon_bars)`` raising
    :class:`~riskmodels.exceptions.ConfigError` for settings the model cannot forecast; the
    engine calls it before any fit.
    """

    @property
    def name(self) -> str:
        """Label used in the ``model`` column of the forecasts (read-only)."""

    def fit(
        self,
        returns: pd.DataFrame,
        *,
        exposures: pd.Series,
        warm_start: Any = None,
        rng: np.random.Generator | None = None,
    ) -> Any:
        """Estimate on every row of ``returns`` (the estimation window, data up to the as-of).

        ``warm_start`` is the state of the previous refit (or None); models take starting
        values from it. ``exposures`` are the portfolio's (for portfolio-level models).
        """

    def update(self, state: Any, new_returns: pd.DataFrame) -> Any:
        """Filter the state through the bars after its as-of, with the same parameters."""

    def forecast(
        self,
        state: Any,
        exposures: pd.Series,
        alphas: Sequence[float],
        horizon: pd.Timedelta,
        rng: np.random.Generator,
    ) -> tuple[np.ndarray, np.ndarray]:
        """VaR and ES (positive losses, one per alpha) of the P&L over ``horizon``."""

    def diagnostics(self, state: Any) -> dict[str, Any]:
        """``converged``, ``loglik``, ``params`` (dict), ``params_at_bounds`` (tuple), ``note``."""


class _FitsModel:
    """``fit_model``: the spec ▸ fit ▸ result protocol on top of the engine's state protocol."""

    def fit_model(
        self,
        returns: pd.DataFrame | pd.Series,
        *,
        exposures: pd.Series | Mapping[str, float] | None = None,
        rng: Any = None,
        warm_start: Any = None,
    ) -> Any:
        """Fit on ``returns`` (the estimation window) → a :class:`~riskmodels.backtest.fitted.FittedVaRModel`
        with ``update(new_returns)``, ``forecast(alphas, horizon)`` and ``diagnostics()``.

        Exposures default to equal fractions 1/N; the numbers equal the walk-forward engine's
        for the same window (:func:`riskmodels.backtest.fitted.fit_var_model`).
        """
        from riskmodels.backtest.fitted import fit_var_model

        return fit_var_model(self, returns, exposures=exposures, rng=rng, warm_start=warm_start)


# ---------------------------------------------------------------------------------------------
# Scenario generators
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _ScenarioState:
    fitted: Any


@keyword_options
@dataclass(frozen=True)
class ScenarioModel(_FitsModel):
    """VaR and ES from any scenario generator (historical, filtered historical, Monte Carlo).

    Parameters
    ----------
    generator : ScenarioGenerator
        A spec with ``fit(returns, rng=...)`` returning a fitted generator with
        ``update(new_returns)`` and ``scenarios(horizon, n, rng)``
        (:mod:`riskmodels.scenarios.base`).
    n : int, optional
        Number of scenarios per forecast, passed to ``scenarios``; None uses the generator's
        default (e.g. every window date for historical simulation).
    name : str, optional
        Label in the forecasts; default the generator's class name.

    Notes
    -----
    At each date: ``sc = fitted.scenarios(horizon, n, rng)``, ``pnl = sc.pnl_array(exposures)``
    (``simple_returns() @ exposures``: linear exposures revalued exactly under the joint
    moves), then ``riskmodels.risk.var_es(pnl, alpha, sc.weights)`` (inverse-CDF VaR and
    Acerbi-Tasche ES of the weighted scenarios). ``warm_start`` is not used: the generators'
    ``fit`` takes no starting values, so every refit starts from the generator's defaults.
    """

    generator: Any
    _: KW_ONLY
    n: int | None = None
    name: str = ""

    def __post_init__(self) -> None:
        if not callable(getattr(self.generator, "fit", None)):
            raise ConfigError(
                f"generator must be a scenario generator with fit(returns) (got "
                f"{type(self.generator).__name__}), e.g. HistoricalScenarios(window=500)."
            )
        if self.n is not None and (
            isinstance(self.n, bool) or not isinstance(self.n, int | np.integer) or self.n < 1
        ):
            raise ConfigError(
                f"n must be None or a positive number of scenarios (got {self.n!r}), e.g. n=10_000."
            )
        if not self.name:
            object.__setattr__(self, "name", type(self.generator).__name__)

    def validate(self, *, alphas: Sequence[float], horizon_bars: int) -> None:
        """ConfigError when ``n`` scenarios cannot hold the tail of the highest ``alpha``."""
        if self.n is not None:
            need = max(min_observations(a) for a in alphas)
            if self.n < need:
                raise ConfigError(
                    f"n={self.n} scenarios are too few for alpha={max(alphas):g}: the tail "
                    f"needs at least {need}. Use n >= {need} (10_000 is usual)."
                )

    def fit(
        self,
        returns: pd.DataFrame,
        *,
        exposures: pd.Series | None = None,
        warm_start: Any = None,
        rng: np.random.Generator | None = None,
    ) -> _ScenarioState:
        """``generator.fit(returns, rng=rng)``."""
        return _ScenarioState(self.generator.fit(returns, rng=rng))

    def update(self, state: _ScenarioState, new_returns: pd.DataFrame) -> _ScenarioState:
        """``fitted.update(new_returns)``: filter forward without re-estimation."""
        return _ScenarioState(state.fitted.update(new_returns))

    def forecast(
        self,
        state: _ScenarioState,
        exposures: pd.Series,
        alphas: Sequence[float],
        horizon: pd.Timedelta,
        rng: np.random.Generator,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Empirical VaR and ES of the scenario P&L, one per alpha."""
        sc = state.fitted.scenarios(horizon, n=self.n, rng=rng)
        if tuple(exposures.index) == tuple(sc.assets):  # aligned: skip the Series reindexing
            pnl = sc.pnl_array(exposures.to_numpy(dtype=float))
        else:
            pnl = sc.pnl_array(exposures)
        out = [var_es(pnl, a, sc.weights) for a in alphas]
        return np.array([v for v, _ in out]), np.array([e for _, e in out])

    def diagnostics(self, state: _ScenarioState) -> dict[str, Any]:
        """What the fitted generator reports: its volatility fits when it has any.

        Looks for ``diagnostics()`` on the fitted generator first; otherwise for a volatility
        result (``volatility``: a ``VolatilityResult`` or a panel of them) and reports the
        worst convergence flag, the summed log-likelihood, the parameters (``asset:name``)
        and the parameters at bounds.
        """
        fitted = state.fitted
        own = getattr(fitted, "diagnostics", None)
        if callable(own):
            d = dict(own())
            d.setdefault("converged", True)
            d.setdefault("loglik", np.nan)
            d.setdefault("params", {})
            d.setdefault("params_at_bounds", ())
            d.setdefault("note", None)
            return d
        results = _volatility_results(fitted)
        if not results:
            return {
                "converged": True,
                "loglik": np.nan,
                "params": {},
                "params_at_bounds": (),
                "note": None,
            }
        params: dict[str, float] = {}
        at: list[str] = []
        notes = []
        for asset, r in results.items():
            params.update({f"{asset}:{k}": float(v) for k, v in r.params.items()})
            at += [f"{asset}:{p}" for p in r.params_at_bounds]
            if r.failure_note:
                notes.append(f"{asset}: {r.failure_note}")
        return {
            "converged": all(r.converged for r in results.values()),
            "loglik": float(sum(r.loglikelihood for r in results.values())),
            "params": params,
            "params_at_bounds": tuple(at),
            "note": "; ".join(notes) or None,
        }


def _volatility_results(fitted: Any) -> dict[str, VolatilityResult]:
    """Volatility fits held by a fitted scenario generator (attribute names vary)."""
    for attr in ("volatility", "volatility_result", "panel", "univariate"):
        obj = getattr(fitted, attr, None)
        if isinstance(obj, VolatilityResult):
            return {obj.asset: obj}
        if (
            isinstance(obj, Mapping)
            and obj
            and all(isinstance(r, VolatilityResult) for r in obj.values())
        ):
            return {str(a): r for a, r in obj.items()}
        results = getattr(obj, "results", None)
        if isinstance(results, Mapping) and all(
            isinstance(r, VolatilityResult) for r in results.values()
        ):
            return dict(results)
    return {}


# ---------------------------------------------------------------------------------------------
# Volatility-filtered models (portfolio level)
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class _FilterState:
    """A fitted volatility model on the portfolio series, filtered up to ``asof``.

    Residuals and variances are in arch's percent units (the model was fitted on 100 x).
    """

    result: VolatilityResult
    weights: np.ndarray  # exposures / gross, in the column order of the fitted frame
    gross: float
    assets: tuple[str, ...]
    asof: pd.Timestamp
    freq: pd.Timedelta
    mu_pct: float
    vol_params: np.ndarray
    resid: np.ndarray
    sigma2: np.ndarray
    std_resid: np.ndarray
    sigma2_next: float
    gpd: Any = None
    #: The exposures object given to ``fit`` (forecasts with the same object skip the checks).
    exposures: Any = None
    #: Unit-volatility VaR/ES factors per tuple of alphas, computed once per refit and shared by
    #: the filtered states derived from it (they depend on the parameters only).
    unit: dict[tuple[float, ...], tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)

    @property
    def sigma_next(self) -> float:
        """One-bar-ahead volatility of the P&L per unit of gross exposure (decimal)."""
        return float(np.sqrt(self.sigma2_next)) / PCT

    @property
    def mu(self) -> float:
        """Conditional mean of the P&L per unit of gross exposure (decimal)."""
        return self.mu_pct / PCT


def _portfolio(exposures: pd.Series, columns: pd.Index) -> tuple[np.ndarray, float]:
    e = exposures.reindex(columns).fillna(0.0).to_numpy(dtype=float)
    extra = [a for a in exposures.index if a not in columns]
    if extra:
        raise DataError(
            f"exposures name assets that are not in the returns: {extra}. Pass returns with "
            "those columns, or drop them from the exposures."
        )
    gross = float(np.abs(e).sum())
    if not np.isfinite(gross) or gross <= 0:
        raise ConfigError(
            f"exposures must be finite and not all zero (got {exposures.to_dict()}); they are "
            "the notional (or fraction of one) held in each asset."
        )
    return e / gross, gross


def _pnl_per_unit(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """``x_t = sum_i w_i (exp(r_it) - 1)`` for decimal log returns (rows are bars)."""
    return linear_pnl(values, weights)


def _one_step_variance(
    spec: VolatilitySpec,
    vol_params: np.ndarray,
    resid: np.ndarray,
    sigma2: np.ndarray,
    std_resid: np.ndarray,
) -> float:
    """``sigma^2_{T+1}`` (percent²) from the model's own recursion (``spec.recursion``)."""
    _, s2 = spec.recursion(vol_params, resid, sigma2, std_resid, _Z0)
    return float(s2[0, 0])


def _frequency(index: pd.Index) -> pd.Timedelta:
    """The bar (:func:`riskmodels._time.bar_frequency`); 0 (unknown: the horizon is not
    checked) for an index without times or with fewer than two rows."""
    if isinstance(index, pd.DatetimeIndex) and index.size >= 2:
        return bar_frequency(index)
    return pd.Timedelta(0)


def _check_one_step(horizon_bars: int, model: str) -> None:
    if horizon_bars != 1:
        raise ConfigError(
            f"{model} forecasts one bar ahead only (closed-form conditional VaR/ES); got a "
            f"horizon of {horizon_bars} bars. Use horizon equal to the data frequency (e.g. "
            "'1d' on daily bars), or a ScenarioModel (FilteredHistoricalScenarios, "
            "MonteCarloScenarios) that simulates through the variance recursion."
        )


class _VolatilityFilterModel(_FitsModel):
    """Shared fit/update/diagnostics of :class:`ParametricModel` and :class:`ConditionalEVT`."""

    volatility: VolatilitySpec
    on_failure: OnFailure
    options: Mapping[str, Any] | None

    def _fit_volatility(
        self, returns: pd.DataFrame, exposures: pd.Series, warm_start: Any
    ) -> _FilterState:
        if not isinstance(returns, pd.DataFrame):
            raise ConfigError(
                f"returns must be a DataFrame of decimal log returns (got "
                f"{type(returns).__name__})."
            )
        w, gross = _portfolio(exposures, returns.columns)
        x = pd.Series(
            _pnl_per_unit(returns.to_numpy(dtype=float), w),
            index=returns.index,
            name=str(returns.columns[0]) if returns.shape[1] == 1 else "portfolio",
        )
        spec = self.volatility
        sv = None
        if isinstance(warm_start, _FilterState) and spec.n_params > 0:
            sv = warm_start.result.params.to_numpy()
        try:
            res = spec.fit(x, starting_values=sv, options=self.options, on_failure=self.on_failure)
        except ConfigError:
            if sv is None:
                raise
            # The previous window's estimates lie outside this window's bounds (arch's bounds on
            # omega scale with the sample variance): start from arch's own values instead.
            res = spec.fit(x, options=self.options, on_failure=self.on_failure)
        resid = res.resid.to_numpy()[-_HIST:] * PCT
        sigma2 = (res.conditional_volatility.to_numpy()[-_HIST:] * PCT) ** 2
        std_resid = res.std_resid.to_numpy()[-_HIST:]
        vol_params = res.volatility_params
        return _FilterState(
            result=res,
            weights=w,
            gross=gross,
            assets=tuple(map(str, returns.columns)),
            asof=returns.index[-1],
            freq=_frequency(returns.index),
            mu_pct=res.mean_pct,
            vol_params=vol_params,
            resid=resid,
            sigma2=sigma2,
            std_resid=std_resid,
            sigma2_next=_one_step_variance(spec, vol_params, resid, sigma2, std_resid),
            exposures=exposures,
        )

    def update(self, state: _FilterState, new_returns: pd.DataFrame) -> _FilterState:
        """Run the fitted variance recursion through ``new_returns`` (same parameters).

        Parameters
        ----------
        state : state from :meth:`fit` or :meth:`update`
        new_returns : pandas.DataFrame
            Bars after the state's as-of, same columns as the fitted window.

        Returns
        -------
        state
            Filtered to the last new bar: ``sigma_{t+1}^2 = f(params, eps_t, sigma_t^2, ...)``
            with ``eps_t = 100 x_t - mu`` the realized residual of each new bar.
        """
        if new_returns.shape[0] == 0:
            return state
        cols = tuple(map(str, new_returns.columns))
        if cols != state.assets:
            raise DataError(
                f"update got columns {list(cols)} but the model was fitted on "
                f"{list(state.assets)}; pass the same assets in the same order."
            )
        x = _pnl_per_unit(new_returns.to_numpy(dtype=float), state.weights)
        spec = self.volatility
        resid, sigma2, std_resid = state.resid, state.sigma2, state.std_resid
        s2_next = state.sigma2_next
        for xt in x:
            eps = PCT * float(xt) - state.mu_pct
            resid = np.append(resid[1:], eps)
            sigma2 = np.append(sigma2[1:], s2_next)
            std_resid = np.append(std_resid[1:], eps / np.sqrt(s2_next))
            s2_next = _one_step_variance(spec, state.vol_params, resid, sigma2, std_resid)
        return replace(
            state,
            asof=new_returns.index[-1],
            resid=resid,
            sigma2=sigma2,
            std_resid=std_resid,
            sigma2_next=s2_next,
        )

    def _gross_scale(self, state: _FilterState, exposures: pd.Series) -> float:
        if exposures is state.exposures:
            return state.gross
        w, gross = _portfolio(exposures, pd.Index(state.assets))
        if not np.allclose(w, state.weights, rtol=1e-12, atol=1e-15):
            raise ConfigError(
                "a portfolio-level model forecasts the portfolio it was fitted on: the "
                "exposures passed to forecast differ in their mix from those passed to fit "
                f"({dict(zip(state.assets, w.tolist(), strict=True))} vs "
                f"{dict(zip(state.assets, state.weights.tolist(), strict=True))}). Refit with "
                "the new exposures."
            )
        return gross

    def diagnostics(self, state: _FilterState) -> dict[str, Any]:
        """Convergence, log-likelihood (decimal units), parameters (arch percent units)."""
        r = state.result
        params = {k: float(v) for k, v in r.params.items()}
        if state.gpd is not None:
            params |= {
                "gpd_xi": state.gpd.xi,
                "gpd_beta": state.gpd.beta,
                "gpd_threshold": state.gpd.threshold,
            }
        return {
            "converged": bool(r.converged),
            "loglik": float(r.loglikelihood),
            "params": params,
            "params_at_bounds": tuple(r.params_at_bounds),
            "note": r.failure_note,
        }

    def _repr_html_(self) -> str:
        return f"<code>{esc(repr(self))}</code>"


def _check_volatility(volatility: object, model: str) -> None:
    if not isinstance(volatility, VolatilitySpec):
        raise ConfigError(
            f"volatility must be a volatility spec such as GARCH(dist='t') or EWMA(0.94) for "
            f"{model} (got {type(volatility).__name__})."
        )


@keyword_options
@dataclass(frozen=True)
class ParametricModel(_VolatilityFilterModel):
    r"""Closed-form conditional VaR/ES of the portfolio from a univariate volatility model.

    Parameters
    ----------
    volatility : VolatilitySpec, default EWMA(0.94)
        e.g. ``EWMA(0.94)`` (RiskMetrics), ``GARCH(dist="t")``; fitted by
        ``spec.fit`` on the portfolio's P&L per unit of gross exposure (module notes).
    dist : {"normal", "t"}, optional
        Innovation distribution of the VaR/ES. None (default) uses the volatility spec's own
        (``"normal"`` or ``"t"``; a skew-t spec needs ``dist="normal"`` or a ScenarioModel).
        ``"t"`` needs a spec with ``dist="t"`` (its estimated ``nu`` is used).
    name : str, optional
        Label in the forecasts; default e.g. ``"GARCH(1,1)-t"``, ``"EWMA(0.94)-normal"``.
    on_failure : {"raise", "retry", "warn"}, default "retry"
        Passed to ``spec.fit``: a refit that does not converge is retried from other starting
        values (recorded in the diagnostics' ``note``).
    options : mapping, optional
        ``scipy.optimize.minimize`` options for every fit.

    Notes
    -----
    With the one-step conditional mean :math:`\mu_{T+1}` and volatility
    :math:`\sigma_{T+1}` of the P&L per unit :math:`x` and gross exposure :math:`G`:

    .. math::

        \mathrm{VaR}_\alpha = G\,\big(-\mu_{T+1} + \sigma_{T+1} q_\alpha\big), \qquad
        \mathrm{ES}_\alpha = G\,\big(-\mu_{T+1} + \sigma_{T+1}\, \mathrm{ES}_\alpha(Z)\big)

    with the standard normal or the unit-variance Student-t quantile and ES of :math:`Z`
    (:func:`riskmodels.risk.var_normal`, :func:`~riskmodels.risk.es_normal`,
    :func:`~riskmodels.risk.var_t`, :func:`~riskmodels.risk.es_t`; McNeil, Frey & Embrechts
    2005, Examples 2.11, 2.15 and 2.18). One-bar horizon only (module notes).
    """

    volatility: VolatilitySpec = field(default_factory=EWMA)
    _: KW_ONLY
    dist: str | None = None
    name: str = ""
    on_failure: OnFailure = "retry"
    options: Mapping[str, Any] | None = None

    def __post_init__(self) -> None:
        _check_volatility(self.volatility, "ParametricModel")
        check_on_failure(self.on_failure)
        spec_dist = self.volatility.dist
        dist = self.dist if self.dist is not None else spec_dist
        if dist not in ("normal", "t"):
            raise ConfigError(
                f"ParametricModel has closed forms for dist='normal' or 't' (got "
                f"{dist!r}{' from the volatility spec' if self.dist is None else ''}). Pass "
                "dist='normal', or use ConditionalEVT or a ScenarioModel for other tails."
            )
        if dist == "t" and spec_dist != "t":
            raise ConfigError(
                f"dist='t' needs the degrees of freedom from a volatility spec with dist='t' "
                f"(got {self.volatility.label}). Use e.g. GARCH(dist='t') or EWMA(dist='t')."
            )
        object.__setattr__(self, "dist", dist)
        if not self.name:
            object.__setattr__(self, "name", f"{self.volatility.name}-{dist}")

    def validate(self, *, alphas: Sequence[float], horizon_bars: int) -> None:
        """ConfigError for horizons other than one bar."""
        _check_one_step(horizon_bars, "ParametricModel")

    def fit(
        self,
        returns: pd.DataFrame,
        *,
        exposures: pd.Series,
        warm_start: Any = None,
        rng: np.random.Generator | None = None,
    ) -> _FilterState:
        """Fit the volatility model to the portfolio's P&L per unit of gross exposure.

        Parameters
        ----------
        returns : pandas.DataFrame
            Decimal log returns of the estimation window (rows: bars, columns: assets).
        exposures : pandas.Series
            Notional (or fraction) per asset; assets absent from it count as zero.
        warm_start : state, optional
            The previous refit's state: its parameters are the starting values (arch's own
            are used instead when they fall outside this window's bounds).
        rng : Generator, optional
            Unused (the fit is deterministic).
        """
        return self._fit_volatility(returns, exposures, warm_start)

    def forecast(
        self,
        state: _FilterState,
        exposures: pd.Series,
        alphas: Sequence[float],
        horizon: pd.Timedelta,
        rng: np.random.Generator | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Closed-form one-bar VaR and ES (positive losses in the exposures' units)."""
        if state.freq > pd.Timedelta(0):
            _check_one_step(as_horizon(horizon, state.freq), "ParametricModel")
        gross = self._gross_scale(state, exposures)
        key = tuple(alphas)
        if key not in state.unit:
            if self.dist == "normal":
                q = [var_normal(0.0, 1.0, a) for a in key]
                z = [es_normal(0.0, 1.0, a) for a in key]
            else:
                nu = float(state.result.params["nu"])
                q = [_var_t(0.0, 1.0, nu, a) for a in key]
                z = [es_t(0.0, 1.0, nu, a) for a in key]
            state.unit[key] = (np.asarray(q, dtype=float), np.asarray(z, dtype=float))
        q_unit, es_unit = state.unit[key]
        mu, sigma = state.mu, state.sigma_next
        return gross * (sigma * q_unit - mu), gross * (sigma * es_unit - mu)


@keyword_options
@dataclass(frozen=True)
class ConditionalEVT(_VolatilityFilterModel):
    r"""Conditional EVT VaR/ES of McNeil & Frey (2000): volatility filter + GPD residual tail.

    Parameters
    ----------
    volatility : VolatilitySpec, default GARCH(dist="t")
        Volatility model fitted (by ``spec.fit``) to the portfolio's P&L per unit of gross
        exposure (module notes). McNeil & Frey use a GARCH(1,1) by normal QML; the default
        Student-t likelihood is more efficient for crypto's heavy tails.
    tail_fraction : float, default 0.1
        Share of the window's standardized residuals in the GPD tail (McNeil & Frey: 100 of
        1000). Forecasts need ``alpha >= 1 - tail_fraction``.
    name : str, optional
        Default e.g. ``"EVT[GARCH(1,1)-t]"``.
    on_failure : {"raise", "retry", "warn"}, default "retry"
    options : mapping, optional
        As for :class:`ParametricModel`.

    Notes
    -----
    At each refit: fit the volatility model, take the standardized residuals
    :math:`z_t = (x_t - \mu)/\sigma_t` of the window and fit a GPD to their loss tail
    (:func:`riskmodels.risk.fit_gpd_tail`; McNeil & Frey 2000, Eq. 7). Forecast (their Eq. 6
    with Eqs. 9-10, in P&L sign):

    .. math::

        \mathrm{VaR}_\alpha = G\,\big(-\mu + \sigma_{T+1} z_\alpha\big), \qquad
        \mathrm{ES}_\alpha = G\,\big(-\mu + \sigma_{T+1}\,\mathrm{ES}(Z)_\alpha\big).

    Between refits :math:`\sigma_{T+1}` is filtered forward; the GPD tail is that of the last
    refit. One-bar horizon only (module notes).
    """

    volatility: VolatilitySpec = field(default_factory=lambda: GARCH(dist="t"))
    _: KW_ONLY
    tail_fraction: float = 0.1
    name: str = ""
    on_failure: OnFailure = "retry"
    options: Mapping[str, Any] | None = None

    def __post_init__(self) -> None:
        _check_volatility(self.volatility, "ConditionalEVT")
        check_on_failure(self.on_failure)
        tf = self.tail_fraction
        if (
            isinstance(tf, bool)
            or not isinstance(tf, float | int | np.floating)
            or not 0.0 < float(tf) < 1.0
        ):
            raise ConfigError(
                f"tail_fraction must be in (0, 1) (got {tf!r}); McNeil & Frey (2000) use 0.1."
            )
        object.__setattr__(self, "tail_fraction", float(tf))
        if not self.name:
            object.__setattr__(self, "name", f"EVT[{self.volatility.name}-{self.volatility.dist}]")

    def validate(self, *, alphas: Sequence[float], horizon_bars: int) -> None:
        """ConfigError for horizons other than one bar or alphas below the GPD threshold."""
        _check_one_step(horizon_bars, "ConditionalEVT")
        low = [a for a in alphas if a < 1.0 - self.tail_fraction]
        if low:
            raise ConfigError(
                f"ConditionalEVT with tail_fraction={self.tail_fraction:g} describes the loss "
                f"tail beyond the {1 - self.tail_fraction:g} quantile only (got alphas "
                f"{low}). Use a larger tail_fraction or higher alphas."
            )

    def fit(
        self,
        returns: pd.DataFrame,
        *,
        exposures: pd.Series,
        warm_start: Any = None,
        rng: np.random.Generator | None = None,
    ) -> _FilterState:
        """Fit the volatility model (warm-started as in :class:`ParametricModel`) and the GPD."""
        state = self._fit_volatility(returns, exposures, warm_start)
        gpd = fit_gpd_tail(state.result.std_resid.to_numpy(), tail_fraction=self.tail_fraction)
        return replace(state, gpd=gpd, unit={})

    def forecast(
        self,
        state: _FilterState,
        exposures: pd.Series,
        alphas: Sequence[float],
        horizon: pd.Timedelta,
        rng: np.random.Generator | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """One-bar VaR and ES from the GPD residual tail scaled by the volatility forecast."""
        if state.freq > pd.Timedelta(0):
            _check_one_step(as_horizon(horizon, state.freq), "ConditionalEVT")
        gross = self._gross_scale(state, exposures)
        key = tuple(alphas)
        if key not in state.unit:
            q = [var_evt(state.gpd, a) for a in key]
            z = [es_evt(state.gpd, a) for a in key]
            state.unit[key] = (np.asarray(q, dtype=float), np.asarray(z, dtype=float))
        q_unit, es_unit = state.unit[key]
        mu, sigma = state.mu, state.sigma_next
        return gross * (sigma * q_unit - mu), gross * (sigma * es_unit - mu)


def standard_models(window: int = 500) -> dict[str, VaRModel]:
    """The four reference one-day VaR/ES models the notebooks and reports compare.

    Parameters
    ----------
    window : int, default 500
        Bars of history for historical simulation (the other models are re-estimated on the
        walk-forward window).

    Returns
    -------
    dict
        ``"HS"``: historical simulation over ``window`` bars; ``"FHS"``: filtered historical
        simulation on GARCH(1,1)-t residuals with a constant mean (Barone-Adesi et al. 1999);
        ``"EWMA-normal"``: RiskMetrics :math:`\\lambda = 0.94` with normal quantiles;
        ``"EVT"``: GARCH(1,1)-t filter with a GPD tail (McNeil & Frey 2000).
    """
    from riskmodels.scenarios import FilteredHistoricalScenarios, HistoricalScenarios

    garch_t = GARCH(dist="t", mean="constant")
    return {
        "HS": ScenarioModel(HistoricalScenarios(window=window)),
        "FHS": ScenarioModel(FilteredHistoricalScenarios(volatility=garch_t)),
        "EWMA-normal": ParametricModel(volatility=EWMA(0.94), dist="normal"),
        "EVT": ConditionalEVT(volatility=garch_t),
    }
