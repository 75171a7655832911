"""Scenarios: joint asset moves over a horizon, and the generator protocol.

A scenario generator is a spec (hyper-parameters only). ``fit(returns)`` estimates it on data
up to an as-of date and returns a *fitted* generator; the fitted generator can ``update`` itself
through newer data without re-estimating (the cheap step a walk-forward backtest runs between
refits) and draws :class:`Scenarios` for a horizon.

::

    gen = FilteredHistoricalScenarios(volatility=GARCH(dist="t"), window=1000)
    fitted = gen.fit(returns.loc[:asof])              # estimate on data up to asof
    sc = fitted.scenarios("1d", n=5000, rng=rng)      # S x N joint log returns
    fitted = fitted.update(returns.loc[asof:next])    # filter forward, same parameters
    sc = gen.generate(returns, asof, "5d", rng)       # fit + scenarios in one call
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np
import pandas as pd

from riskmodels._time import _LOWER_UNIT, as_timedelta, horizon_bars
from riskmodels._typing import DurationLike, SeedLike
from riskmodels.exceptions import ConfigError, DataError

__all__ = [
    "FittedScenarioGenerator",
    "ScenarioGenerator",
    "Scenarios",
    "as_horizon",
    "vol_term_scale",
]


def _timedelta(value: object) -> pd.Timedelta:
    """``pd.Timedelta(value)``, reading ``"1d"``/``"1w"`` as ``"1D"``/``"1W"``.

    Used for values the package itself produced (a bar length, a ``Scenarios.horizon``); a
    horizon given by a user goes through :func:`as_horizon`, which refuses bare numbers.
    """
    if isinstance(value, str):
        value = _LOWER_UNIT.sub(lambda m: m.group(1).upper(), value.strip())
    return pd.Timedelta(value)


def as_horizon(horizon: DurationLike, freq: pd.Timedelta) -> int:
    """Number of bars of length ``freq`` in ``horizon``.

    A thin wrapper of :func:`riskmodels._time.horizon_bars`, the package's one rule.

    Raises
    ------
    ConfigError
        If the horizon is not a duration (a bare number such as ``3`` or ``"3"`` is refused:
        pandas would read it as nanoseconds; write ``"3D"`` or ``"3h"``), or not a positive
        whole multiple of the data frequency.
    """
    return horizon_bars(horizon, _timedelta(freq))


def _when(t: pd.Timestamp | None) -> str:
    """A time for a summary: the date alone at midnight, else minutes (``"none"`` for None)."""
    if t is None:
        return "none"
    ts = pd.Timestamp(t)
    if ts == ts.normalize():
        return ts.strftime("%Y-%m-%d")
    return ts.strftime("%Y-%m-%d %H:%M") + (" UTC" if ts.tzinfo is not None else "")


#: Cash assets: no options, so no implied-vol shocks (the stablecoins of riskmodels.instruments).
_CASH = frozenset({"USD", "USDT", "USDC"})


def _factor(value: Any, name: str, shape: tuple[int, ...]) -> np.ndarray:
    """A read-only float64 copy of a risk-factor array of ``shape`` (S x N), finite."""
    try:
        v = np.array(value, dtype="float64")
    except (TypeError, ValueError) as exc:
        raise DataError(f"Scenarios.{name} must be numeric, shape {shape} ({exc}).") from exc
    if v.shape != shape:
        raise DataError(f"Scenarios.{name} must have shape {shape} (got {v.shape}).")
    if not np.isfinite(v).all():
        raise DataError(
            f"Scenarios.{name} has {int((~np.isfinite(v)).sum())} non-finite values: give 0.0 "
            "where the factor does not move."
        )
    v.setflags(write=False)
    return v


def _vol_term(value: Any) -> tuple[float, float, float]:
    try:
        pivot, p_short, p_long = (float(x) for x in value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(
            "Scenarios.vol_term must be (pivot_days, power_short, power_long) such as "
            f"(30, 0.30, 0.13) (Deribit's vega powers) (got {value!r})."
        ) from exc
    if not (np.isfinite([pivot, p_short, p_long]).all() and pivot > 0):
        raise ConfigError(
            f"Scenarios.vol_term needs a positive pivot and finite powers (got {value!r})."
        )
    return (pivot, p_short, p_long)


def vol_term_scale(
    days_to_expiry: np.ndarray | float, vol_term: tuple[float, float, float] | None
) -> np.ndarray:
    r"""Scale of an implied-vol shock by time to expiry: :math:`(\text{pivot}/\max(D, 1))^p`.

    :math:`p` is ``power_short`` for :math:`D` below the pivot and ``power_long`` at or above
    it (Deribit ``short_term_vega_power`` / ``long_term_vega_power``, VENUES.md §1.1; Paradex:
    IV shock × :math:`(30/\max(\text{DTE floor}, \text{DTE}))^{\text{vega power}}`, §1.8).
    ``vol_term=None`` gives 1 (a flat shock).
    """
    d = np.maximum(np.asarray(days_to_expiry, dtype="float64"), 1.0)
    if vol_term is None:
        return np.ones_like(d)
    pivot, p_short, p_long = vol_term
    return (pivot / d) ** np.where(d < pivot, p_short, p_long)


@dataclass(frozen=True)
class Scenarios:
    r"""Joint asset log returns over a horizon (S scenarios × N assets).

    Attributes
    ----------
    returns : ndarray of shape (n_scenarios, n_assets)
        Cumulative decimal log return of each asset over the horizon, per scenario.
    assets : tuple of str
        Asset names, in column order.
    horizon : pandas.Timedelta
        The horizon the moves cover.
    asof : pandas.Timestamp or None
        The last bar used to build the scenarios (no later data was used).
    weights : ndarray of shape (n_scenarios,) or None
        Probability weights (normalized to sum to one), or None for equal weights.
    vol_shocks : ndarray of shape (n_scenarios, n_assets) or None
        Relative implied-volatility shocks for option revaluation (0.1 = +10%), if any: the
        shock of an option whose expiry is ``vol_term[0]`` days away; other expiries scale it
        by :func:`vol_term_scale`.
    basis : ndarray of shape (n_scenarios, n_assets) or None
        Change over the horizon of the perpetual's log basis, :math:`\ln(M/I)`, mark over
        index: a perpetual's mark moves by :math:`e^{r + b}` while spot moves by :math:`e^r`.
        None: the basis is held (mark moves with the index).
    funding : ndarray of shape (n_scenarios, n_assets) or None
        Funding rate accrued over the horizon (the sum of the settlements' rates, decimal):
        a long perpetual pays ``funding`` times its notional, a short receives it.
    roll : ndarray of shape (n_scenarios, n_assets) or None
        Change of the annualized carry rate :math:`c` of dated futures,
        :math:`F(T) = I e^{c\tau}`: a future (and an option's forward) with :math:`\tau`
        years left moves by :math:`e^{r + \text{roll}\,\tau}` (the calendar or roll risk
        Deribit charges with its roll shock, VENUES.md §1.1).
    vol_term : (float, float, float) or None
        ``(pivot_days, power_short, power_long)``: a shock :math:`v` applies to an option with
        DTE days to expiry as :math:`v\,(\text{pivot}/\max(\text{DTE}, 1))^{p}`, with
        ``power_short`` below the pivot and ``power_long`` above (Deribit's vega powers,
        VENUES.md §1.1; Paradex scales its IV shock the same way, §1.8). None: flat.
    labels : tuple of str or None
        A label per scenario (e.g. the historical date it came from).
    method : str
        How the scenarios were built (for reports).
    meta : dict
        Anything else a report should state (model parameters, window, seeds).
    """

    returns: np.ndarray
    assets: tuple[str, ...]
    horizon: pd.Timedelta
    asof: pd.Timestamp | None = None
    weights: np.ndarray | None = None
    vol_shocks: np.ndarray | None = None
    labels: tuple[str, ...] | None = None
    method: str = ""
    meta: dict[str, Any] = field(default_factory=dict)
    basis: np.ndarray | None = None
    funding: np.ndarray | None = None
    roll: np.ndarray | None = None
    vol_term: tuple[float, float, float] | None = None

    def __post_init__(self) -> None:
        r = np.asarray(self.returns, dtype="float64")
        if r.ndim != 2:
            raise DataError(f"Scenarios.returns must be 2-D (S x N) (got shape {r.shape}).")
        if r.shape[1] != len(self.assets):
            raise DataError(
                f"Scenarios.returns has {r.shape[1]} columns but {len(self.assets)} assets."
            )
        if not np.isfinite(r).all():
            raise DataError(
                f"Scenarios.returns has {int((~np.isfinite(r)).sum())} non-finite values."
            )
        r.setflags(write=False)
        object.__setattr__(self, "returns", r)
        object.__setattr__(self, "assets", tuple(self.assets))
        object.__setattr__(self, "horizon", as_timedelta(self.horizon, "horizon"))
        if self.weights is not None:
            w = np.asarray(self.weights, dtype="float64")
            if (
                w.shape != (r.shape[0],)
                or (w < 0).any()
                or not np.isfinite(w).all()
                or w.sum() <= 0
            ):
                raise DataError(
                    "Scenarios.weights must be non-negative and finite with one weight per "
                    f"scenario ({r.shape[0]}), not all zero."
                )
            w = w / w.sum()
            w.setflags(write=False)
            object.__setattr__(self, "weights", w)
        for name in ("vol_shocks", "basis", "funding", "roll"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, _factor(value, name, r.shape))
        if self.vol_term is not None:
            object.__setattr__(self, "vol_term", _vol_term(self.vol_term))
        if self.vol_shocks is not None:
            cash = [
                a for j, a in enumerate(self.assets) if a in _CASH and self.vol_shocks[:, j].any()
            ]
            if cash:
                raise DataError(
                    f"Scenarios.vol_shocks move the implied vol of {cash}, which have no options "
                    "(stablecoins): set their column to 0.0."
                )
        if self.labels is not None and len(self.labels) != r.shape[0]:
            raise DataError(
                f"Scenarios.labels must have {r.shape[0]} entries (got {len(self.labels)})."
            )

    @property
    def factors(self) -> tuple[str, ...]:
        """Names of the risk factors the scenarios carry beyond the price moves."""
        return tuple(
            n for n in ("vol_shocks", "basis", "funding", "roll") if getattr(self, n) is not None
        )

    def with_factors(self, **factors: Any) -> Scenarios:
        """A copy with risk factors set (``vol_shocks``, ``basis``, ``funding``, ``roll``,
        ``vol_term``); the price moves, weights and labels are kept.

        Raises
        ------
        ConfigError
            A name that is not a factor.
        """
        allowed = {"vol_shocks", "basis", "funding", "roll", "vol_term"}
        bad = sorted(set(factors) - allowed)
        if bad:
            raise ConfigError(f"with_factors takes {sorted(allowed)} (got {bad}).")
        return dataclasses.replace(self, **factors)

    @property
    def n_scenarios(self) -> int:
        """Number of scenarios S."""
        return int(self.returns.shape[0])

    @property
    def n_assets(self) -> int:
        """Number of assets N."""
        return int(self.returns.shape[1])

    def frame(self) -> pd.DataFrame:
        """The scenario returns as a DataFrame (S × N), labelled when labels exist."""
        idx = pd.Index(self.labels, name="scenario") if self.labels else None
        return pd.DataFrame(self.returns, columns=list(self.assets), index=idx)

    def to_frame(self) -> pd.DataFrame:
        """The scenario log returns as a DataFrame (S × N) indexed by :meth:`scenario_index`.

        Returns
        -------
        DataFrame
            Columns the assets (named ``"asset"``); rows the scenarios.
        """
        out = pd.DataFrame(
            self.returns, index=self.scenario_index(), columns=pd.Index(self.assets, name="asset")
        )
        return out

    def quantiles(self, q: Sequence[float] = (0.01, 0.05, 0.5, 0.95, 0.99)) -> pd.DataFrame:
        """Per-asset quantiles of the simple return over the horizon (probability-weighted).

        Parameters
        ----------
        q : sequence of float
            Probabilities in [0, 1].

        Returns
        -------
        DataFrame
            One row per asset, one column per probability (decimal simple returns): the
            smallest scenario return whose cumulative probability reaches it (the inverted
            empirical CDF, with the scenario weights when there are any).
        """
        probs = np.asarray(q, dtype="float64")
        if probs.ndim != 1 or ((probs < 0) | (probs > 1)).any():
            raise ConfigError(f"q must be probabilities in [0, 1] (got {q!r}).")
        r = self.simple_returns()
        w = None if self.weights is None else np.broadcast_to(self.weights[:, None], r.shape)
        vals = np.quantile(r, probs, axis=0, method="inverted_cdf", weights=w).T
        return pd.DataFrame(
            vals,
            index=pd.Index(self.assets, name="asset"),
            columns=pd.Index([float(p) for p in probs], name="quantile"),
        )

    def _facts(self) -> list[tuple[str, str]]:
        """The short facts shown by ``repr`` and ``_repr_html_``."""
        from riskmodels._time import duration_label

        shown = ", ".join(self.assets[:6]) + (
            f", … (+{self.n_assets - 6})" if self.n_assets > 6 else ""
        )
        method = self.method or "unnamed"
        if len(method) > 80:
            method = method[:77] + "..."
        labels = "no"
        if self.labels is not None and self.n_scenarios:
            first, last = str(self.labels[0])[:32], str(self.labels[-1])[:32]
            labels = f"yes ({first} … {last})"
        return [
            ("method", method),
            ("horizon", duration_label(self.horizon)),
            ("as of", _when(self.asof)),
            ("scenarios × assets", f"{self.n_scenarios:,} × {self.n_assets}"),
            ("assets", shown),
            ("factors", ", ".join(self.factors) or "none"),
            ("weights", "no (equal)" if self.weights is None else "yes"),
            ("labels", labels),
        ]

    def __repr__(self) -> str:
        f = dict(self._facts())
        return (
            f"Scenarios({f['method']!r}, horizon {f['horizon']}, as of {f['as of']}: "
            f"{f['scenarios × assets']} [{f['assets']}]; factors: {f['factors']}; "
            f"weights: {f['weights']}; labels: {f['labels']})"
        )

    def _repr_html_(self) -> str:
        from riskmodels._display import esc, html_table, table_html

        shown = self.quantiles().iloc[:20]
        shown.columns = pd.Index([f"{100 * p:g}%" for p in shown.columns], name="quantile")
        more = (
            f"<p>… and {self.n_assets - 20} more assets (Scenarios.quantiles()).</p>"
            if self.n_assets > 20
            else ""
        )
        return (
            "<div><b>Scenarios</b>"
            + html_table(self._facts())
            + f"<p>Simple return over {esc(dict(self._facts())['horizon'])} (quantiles "
            + "across scenarios):</p>"
            + table_html(shown, dict.fromkeys(shown.columns, "pct"))
            + more
            + "</div>"
        )

    def simple_returns(self) -> np.ndarray:
        """Simple returns ``exp(r) - 1`` over the horizon (what linear P&L needs)."""
        return np.expm1(self.returns)

    def scenario_index(self) -> pd.Index:
        """The scenario axis: the labels (named ``"scenario"``) when present, else a
        ``RangeIndex`` named ``"scenario"``."""
        if self.labels is not None:
            return pd.Index(list(self.labels), name="scenario")
        return pd.RangeIndex(self.n_scenarios, name="scenario")

    def pnl(
        self,
        exposures: Sequence[float] | np.ndarray | pd.Series | pd.DataFrame | Mapping[str, float],
    ) -> pd.Series | pd.DataFrame:
        """P&L of linear exposures (USD notional per asset; negative = short) per scenario.

        Parameters
        ----------
        exposures : array-like of shape (N,) or (N, K), Series or mapping by asset, or DataFrame
            Notional in each asset: one portfolio (1-D, a Series or a ``{asset: notional}``
            mapping; assets it does not name are flat) or K portfolios at once (a 2-D array,
            or a DataFrame indexed by asset with one column per portfolio).

        Returns
        -------
        Series or DataFrame
            ``simple_returns() @ exposures``, indexed by :meth:`scenario_index`: a Series
            named ``"pnl"`` for one portfolio, a DataFrame (columns: the DataFrame's columns,
            else a ``RangeIndex`` named ``"portfolio"``) for K. :meth:`pnl_array` gives the
            bare array (no labels, no index built).

        Raises
        ------
        DataError
            Exposures naming assets the scenarios lack, of the wrong length, or not finite.
        """
        values = self.pnl_array(exposures)
        index = self.scenario_index()
        if values.ndim == 1:
            return pd.Series(values, index=index, name="pnl")
        columns = (
            exposures.columns
            if isinstance(exposures, pd.DataFrame)
            else pd.RangeIndex(values.shape[1], name="portfolio")
        )
        return pd.DataFrame(values, index=index, columns=columns)

    def pnl_array(
        self,
        exposures: Sequence[float] | np.ndarray | pd.Series | pd.DataFrame | Mapping[str, float],
    ) -> np.ndarray:
        """:meth:`pnl` as a bare array: the fast path for kernels and loops.

        Parameters
        ----------
        exposures : array-like of shape (N,) or (N, K), Series or mapping by asset, or DataFrame
            As for :meth:`pnl`.

        Returns
        -------
        ndarray of shape (S,) or (S, K)
            ``simple_returns() @ exposures``.

        Raises
        ------
        DataError
            As :meth:`pnl`.
        """
        if isinstance(exposures, Mapping) and not isinstance(exposures, pd.Series):
            exposures = pd.Series(dict(exposures))
        if isinstance(exposures, pd.Series | pd.DataFrame):
            extra = [a for a in exposures.index if a not in self.assets]
            if extra:
                raise DataError(
                    f"exposures name assets not in the scenarios: {extra}. Build the scenarios "
                    f"on returns that include them, or drop them (scenario assets: "
                    f"{list(self.assets)})."
                )
            values = (
                pd.to_numeric(exposures, errors="coerce")
                if isinstance(exposures, pd.Series)
                else exposures.apply(pd.to_numeric, errors="coerce")
            ).astype("float64")
            finite = np.isfinite(values.to_numpy())
            if finite.ndim == 2:
                finite = finite.all(axis=1)
            bad = list(values.index[~finite])
            if bad:
                raise DataError(
                    f"exposures are NaN, infinite or not numbers for {bad}: give a finite "
                    "notional for each (0.0 for a flat asset), or drop the asset from the Series."
                )
            # Assets of the scenarios that the exposures do not name are flat (zero notional).
            exposures = values.reindex(list(self.assets)).fillna(0.0).to_numpy()
        try:
            e = np.asarray(exposures, dtype="float64")
        except (TypeError, ValueError) as exc:
            raise DataError(
                f"exposures must be numeric USD notionals, one per asset ({exc})."
            ) from exc
        if e.ndim == 0 or e.shape[0] != self.n_assets:
            got = "a scalar" if e.ndim == 0 else e.shape[0]
            raise DataError(f"exposures must have {self.n_assets} rows, one per asset (got {got}).")
        if not np.isfinite(e).all():
            rows = sorted({self.assets[i] for i in np.argwhere(~np.isfinite(e))[:, 0]})
            raise DataError(
                f"exposures are NaN or infinite for {rows}: give a finite notional for each "
                "(0.0 for a flat asset)."
            )
        return self.simple_returns() @ e


@runtime_checkable
class FittedScenarioGenerator(Protocol):
    """A generator estimated on data up to ``asof``."""

    asof: pd.Timestamp

    def update(self, returns: pd.DataFrame) -> FittedScenarioGenerator:
        """Filter through bars after ``asof`` with the same parameters (no re-estimation)."""

    def scenarios(
        self,
        horizon: DurationLike,
        n: int | None = None,
        rng: SeedLike = None,
    ) -> Scenarios:
        """Joint moves over ``horizon`` from the state at ``asof``."""


@runtime_checkable
class ScenarioGenerator(Protocol):
    """A scenario generator spec (hyper-parameters only)."""

    def fit(self, returns: pd.DataFrame, *, rng: SeedLike = None) -> FittedScenarioGenerator:
        """Estimate on every row of ``returns`` (the caller cuts at the as-of date)."""

    def generate(
        self,
        returns: pd.DataFrame,
        asof: pd.Timestamp | str,
        horizon: DurationLike,
        rng: SeedLike = None,
        n: int | None = None,
    ) -> Scenarios:
        """``fit(returns.loc[:asof]).scenarios(horizon, n, rng)``: no data after ``asof``."""
