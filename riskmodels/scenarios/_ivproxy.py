r"""Implied-volatility shocks derived from a fitted volatility model (a proxy, issue 14).

The data mirror holds no implied volatilities. :class:`ImpliedVolProxy` gives each price
scenario the implied-vol move that the fitted GARCH/GJR/EWMA model's own variance dynamics
imply: the scenario's return is run through the model's variance recursion and the model's
expected average variance over an option's tenor is compared with the no-news forecast. It
is a *proxy* for implied vol (no volatility risk premium, no smile, no vol-of-vol beyond what
the return-driven recursion produces), stated as such in ``Scenarios.meta``.

>>> proxy = ImpliedVolProxy(volatility=GJR()).fit(returns.loc[:asof])  # doctest: +SKIP
>>> sc = proxy.attach(FilteredHistoricalScenarios().generate(returns, asof, "1d"))  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from riskmodels._display import esc, table_html
from riskmodels._time import as_timedelta, duration_label, horizon_bars
from riskmodels.exceptions import ConfigError, DataError
from riskmodels.scenarios._inputs import fmt_time, infer_frequency
from riskmodels.scenarios.base import Scenarios, _vol_term, as_horizon
from riskmodels.volatility import EWMA, GARCH, VolatilityResult, VolatilitySpec, fit_panel
from riskmodels.volatility.specs import PCT, OnFailure

__all__ = ["FittedImpliedVolProxy", "ImpliedVolProxy"]

#: Deribit BTC portfolio-margin vega powers, June 2024 (VENUES.md §1.1): 30-day pivot,
#: ``short_term_vega_power`` 0.30, ``long_term_vega_power`` 0.13.
DERIBIT_VOL_TERM: tuple[float, float, float] = (30.0, 0.30, 0.13)

_SUPPORTED = "GARCH(1,1), GJR(1,1,1) and EWMA (one-lag variance recursions)"


def _state(result: VolatilityResult) -> dict[str, float]:
    """Decimal-unit parameters and the one-step variance known at the end of the sample."""
    p = result.params
    spec = result.spec
    out = {
        "mu": float(p.get("mu", 0.0)) / PCT,
        "sigma2_next": float(result.forecast(1).iloc[0]),
    }
    if isinstance(spec, EWMA):
        lam = spec.lam  # EWMA stores its decay on the spec; it has no volatility parameters
        out.update(omega=0.0, alpha=1.0 - lam, gamma=0.0, beta=lam, persistence=1.0)
    else:
        out.update(
            omega=float(p["omega"]) / PCT**2,
            alpha=float(p.get("alpha[1]", 0.0)),
            gamma=float(p.get("gamma[1]", 0.0)),
            beta=float(p.get("beta[1]", 0.0)),
            persistence=float(result.persistence),
        )
    return out


def _tenor_average(v: np.ndarray, st: dict[str, float], k: int) -> np.ndarray:
    r"""Average of :math:`E[\sigma^2_{t+j}]`, ``j = 1..k``, given :math:`\sigma^2_{t+1} = v`."""
    d = 1.0 - st["persistence"]
    if d <= 0.0 or k == 1:  # EWMA / integrated: the expected variance stays at v
        return v
    weight = -np.expm1(k * np.log1p(-d)) / (k * d)  # (1 - phi^K) / (K (1 - phi))
    long_run = st["omega"] / d
    return long_run + (v - long_run) * weight


def _check_spec(spec: object) -> None:
    if not isinstance(spec, GARCH | EWMA):
        got = spec.name if isinstance(spec, VolatilitySpec) else type(spec).__name__
        raise ConfigError(
            f"ImpliedVolProxy supports {_SUPPORTED} (got {got}): the proxy averages the "
            "model's expected variance in closed form. Use volatility=GJR() for asymmetry."
        )
    if isinstance(spec, GARCH) and max(spec.p, spec.o, spec.q) > 1:
        raise ConfigError(
            f"ImpliedVolProxy supports {_SUPPORTED} (got {spec.name}). Use GARCH() or GJR()."
        )


@dataclass(frozen=True, kw_only=True, repr=False)
class ImpliedVolProxy:
    r"""Implied-vol shocks implied by a fitted volatility model's dynamics (a proxy).

    Parameters
    ----------
    volatility : VolatilitySpec, default GARCH()
        ``GARCH()`` (p = q = 1), ``GJR()`` (1,1,1) or ``EWMA()``, fitted to each asset.
    term : duration, default "30D"
        Tenor of the option whose implied vol the shock describes; equal to the pivot of
        ``vol_term`` (``Scenarios.vol_shocks`` are defined at that pivot).
    vol_term : (float, float, float), default (30.0, 0.30, 0.13)
        ``(pivot_days, power_short, power_long)`` set on the scenarios: Deribit's BTC vega
        powers of June 2024 (VENUES.md §1.1).

    Notes
    -----
    This is a **proxy**: it reads implied vol as the model's expected volatility over the
    option's life. For an asset with one-lag parameters in decimal units (:math:`\mu`,
    :math:`\omega`, :math:`\alpha`, :math:`\gamma` with :math:`\gamma = 0` for GARCH,
    :math:`\beta`) and the one-step variance :math:`\sigma^2_{T+1}` known at the end of the
    sample, a scenario with horizon log return :math:`R` over :math:`h` bars is spread evenly
    (:math:`R/h` per bar) and run through the model's recursion:

    .. math::

        \epsilon = R/h - \mu,\qquad
        \sigma^2_{T+k+1} = \omega + (\alpha + \gamma 1[\epsilon<0])\,\epsilon^2
        + \beta\sigma^2_{T+k},\quad k = 1..h,\qquad v = \sigma^2_{T+h+1}.

    The baseline is :math:`v_0 = E_T[\sigma^2_{T+h+1}]` (``forecast(h + 1)``'s last value).
    For a tenor of :math:`K` bars (``term`` / bar length), with :math:`\phi = \alpha + \beta +
    \gamma/2` and :math:`\bar\sigma^2 = \omega/(1-\phi)`, the average expected variance is

    .. math::

        \overline{v} = \bar\sigma^2 + (v - \bar\sigma^2)\frac{1-\phi^K}{K(1-\phi)}
        \quad(\phi < 1),\qquad \overline{v} = v\quad(\phi \ge 1),

    and the shock is :math:`\sqrt{\overline{v}/\overline{v_0}} - 1`. EWMA is
    :math:`\omega = 0`, :math:`\alpha = 1-\lambda`, :math:`\beta = \lambda`, :math:`\phi = 1`.
    EGARCH has no closed-form average and is refused.
    """

    volatility: VolatilitySpec = field(default_factory=GARCH)
    term: str | pd.Timedelta = "30D"
    vol_term: tuple[float, float, float] = DERIBIT_VOL_TERM

    def __post_init__(self) -> None:
        _check_spec(self.volatility)
        term = as_timedelta(
            self.term, "term", allow_negative=False, allow_zero=False, examples=("30D", "720h")
        )
        object.__setattr__(self, "term", term)
        vt = _vol_term(self.vol_term)
        object.__setattr__(self, "vol_term", vt)
        if term != pd.Timedelta(days=vt[0]):
            raise ConfigError(
                f"term {duration_label(term)} must equal the vol_term pivot of {vt[0]:g} days "
                "(the scenarios' vol_shocks are defined at the pivot): pass "
                f"term='{vt[0]:g}D' or vol_term=({term / pd.Timedelta(days=1):g}, {vt[1]:g}, "
                f"{vt[2]:g})."
            )

    def __repr__(self) -> str:
        return (
            f"ImpliedVolProxy({self.volatility.label}, term={duration_label(self.term)}, "
            f"vol_term={self.vol_term})"
        )

    def fit(
        self, returns: pd.DataFrame, *, on_failure: OnFailure = "raise", n_jobs: int = 1
    ) -> FittedImpliedVolProxy:
        """Fit ``volatility`` to every column of ``returns`` (:func:`fit_panel`).

        Parameters
        ----------
        returns : DataFrame of shape (n_observations, n_assets)
            Decimal log returns on a sorted ``DatetimeIndex``, cut at the as-of bar. Every
            asset must have data at the last row.
        on_failure, n_jobs
            Passed to :func:`~riskmodels.volatility.fit_panel`.

        Returns
        -------
        FittedImpliedVolProxy

        Raises
        ------
        DataError
            No ``DatetimeIndex``, or an asset whose data end before the last row.
        ConfigError
            ``term`` is not a whole number of bars.
        """
        if not isinstance(returns, pd.DataFrame) or not isinstance(returns.index, pd.DatetimeIndex):
            raise DataError(
                "returns must be a DataFrame of decimal log returns on a DatetimeIndex (got "
                f"{type(returns).__name__}). Load returns with riskmodels.data."
            )
        freq = infer_frequency(returns.index)
        self._term_bars(freq)  # before the (slow) fits
        panel = fit_panel(returns, self.volatility, on_failure=on_failure, n_jobs=n_jobs)
        stale = [a for a, r in panel.results.items() if r.index[-1] != returns.index[-1]]
        if stale:
            raise DataError(
                f"returns for {stale} end before the last bar {fmt_time(returns.index[-1])}: "
                "their variance state would be stale. Drop those assets or cut the returns at "
                "their end."
            )
        return self.from_fits(panel.results, freq)

    def from_fits(
        self, volatility: Mapping[str, VolatilityResult], freq: str | pd.Timedelta
    ) -> FittedImpliedVolProxy:
        """The proxy on existing fits (e.g. a scenario generator's ``volatility``), no refit.

        Parameters
        ----------
        volatility : mapping of str to VolatilityResult
            One GARCH/GJR/EWMA result per asset (``spec.fix`` results included), all ending
            at the same bar; ``self.volatility`` is not used.
        freq : duration
            Bar length of the returns the results were fitted on.

        Raises
        ------
        ConfigError
            An unsupported model, ``term`` not a whole number of bars, no results.
        DataError
            Results ending at different bars.
        """
        fits = dict(volatility)
        if not fits or not all(isinstance(r, VolatilityResult) for r in fits.values()):
            raise ConfigError("volatility must map asset names to VolatilityResult fits.")
        for r in fits.values():
            _check_spec(r.spec)
        bar = as_timedelta(freq, "freq", allow_negative=False, allow_zero=False)
        ends = {a: r.index[-1] for a, r in fits.items()}
        asof = max(ends.values())
        stale = [a for a, e in ends.items() if e != asof]
        if stale:
            raise DataError(
                f"fits for {stale} end before {fmt_time(asof)}: their variance state would be "
                "stale. Fit every asset on returns up to the same bar."
            )
        return FittedImpliedVolProxy(
            spec=self, volatility=fits, freq=bar, asof=asof, term_bars=self._term_bars(bar)
        )

    def _term_bars(self, freq: pd.Timedelta) -> int:
        """The term in bars (:func:`riskmodels._time.horizon_bars`, the package's one rule)."""
        try:
            return horizon_bars(self.term, freq, "term")
        except ConfigError as exc:
            raise ConfigError(
                f"{exc} Or pick a term and vol_term pivot that is, or resample the returns."
            ) from None


@dataclass(frozen=True, eq=False, repr=False)
class FittedImpliedVolProxy:
    """An :class:`ImpliedVolProxy` fitted on data up to ``asof``.

    Attributes
    ----------
    spec : ImpliedVolProxy
    volatility : dict of str to VolatilityResult
        One fit per asset.
    freq : pandas.Timedelta
        Bar length of the fitted returns.
    asof : pandas.Timestamp
        Last bar of the fitted returns.
    term_bars : int
        ``K``: the option tenor in bars.
    """

    spec: ImpliedVolProxy
    volatility: dict[str, VolatilityResult]
    freq: pd.Timedelta
    asof: pd.Timestamp
    term_bars: int
    _states: dict[str, dict[str, float]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_states", {a: _state(r) for a, r in self.volatility.items()})

    @property
    def assets(self) -> tuple[str, ...]:
        """Assets the proxy was fitted on."""
        return tuple(self.volatility)

    @property
    def vol_term(self) -> tuple[float, float, float]:
        """``(pivot_days, power_short, power_long)`` set on the scenarios."""
        return self.spec.vol_term

    @property
    def state(self) -> pd.DataFrame:
        """Per asset: decimal parameters, persistence and ``sigma2_next`` (one-step variance)."""
        out = pd.DataFrame.from_dict(self._states, orient="index")
        out.index.name = "asset"
        return out

    def _columns(self, scenarios: Scenarios) -> list[str | None]:
        """The fitted asset behind each scenario column (None: a stablecoin, shock 0)."""
        from riskmodels.instruments.market import STABLECOINS  # instruments imports scenarios

        if not isinstance(scenarios, Scenarios):
            raise ConfigError(f"scenarios must be a Scenarios (got {type(scenarios).__name__}).")
        missing = [a for a in scenarios.assets if a not in self._states and a not in STABLECOINS]
        if missing:
            raise ConfigError(
                f"the proxy was not fitted on {missing} (fitted: {list(self.assets)}): fit it on "
                "returns that include them."
            )
        if scenarios.asof is not None and scenarios.asof != self.asof:
            raise ConfigError(
                f"scenarios are as of {fmt_time(scenarios.asof)} but the proxy's variance state "
                f"is as of {fmt_time(self.asof)}: fit the proxy on returns cut at the same bar."
            )
        return [a if a in self._states else None for a in scenarios.assets]

    def variances(self, scenarios: Scenarios) -> tuple[np.ndarray, np.ndarray]:
        r"""Post-scenario and baseline one-step variances, decimal².

        Returns
        -------
        v : ndarray of shape (S, N)
            :math:`\sigma^2_{T+h+1}` after the scenario's return, spread evenly over its
            ``h`` bars, ran through the recursion (0 for a stablecoin).
        v0 : ndarray of shape (N,)
            :math:`E_T[\sigma^2_{T+h+1}]`, ``forecast(h + 1)``'s last value (0 for a
            stablecoin).

        Raises
        ------
        ConfigError
            The horizon is not a whole number ``h >= 1`` of bars, an asset was not fitted, or
            the scenarios' ``asof`` differs from the proxy's.
        """
        cols = self._columns(scenarios)
        h = as_horizon(scenarios.horizon, self.freq)
        v = np.zeros(scenarios.returns.shape)
        v0 = np.zeros(len(cols))
        for j, asset in enumerate(cols):
            if asset is None:
                continue
            st = self._states[asset]
            eps = scenarios.returns[:, j] / h - st["mu"]
            news = (st["alpha"] + st["gamma"] * (eps < 0.0)) * eps**2 + st["omega"]
            s2 = np.full(eps.shape, st["sigma2_next"])
            for _ in range(h):  # the same bar return each step: loop over bars only
                s2 = news + st["beta"] * s2
            v[:, j] = s2
            v0[j] = float(self.volatility[asset].forecast(h + 1).iloc[-1])
        return v, v0

    def vol_shocks(self, scenarios: Scenarios) -> np.ndarray:
        r"""Relative implied-vol shocks (S × N) of a ``term`` option, 0.1 = +10 %.

        :math:`\sqrt{\overline{v}/\overline{v_0}} - 1` (see :class:`ImpliedVolProxy`); 0 for
        stablecoins. Raises as :meth:`variances`.
        """
        v, v0 = self.variances(scenarios)
        out = np.zeros_like(v)
        for j, asset in enumerate(scenarios.assets):
            if asset in self._states:
                st = self._states[asset]
                base = _tenor_average(np.asarray(v0[j]), st, self.term_bars)
                out[:, j] = np.sqrt(_tenor_average(v[:, j], st, self.term_bars) / base) - 1.0
        return out

    def attach(self, scenarios: Scenarios) -> Scenarios:
        """A copy of ``scenarios`` with ``vol_shocks`` from :meth:`vol_shocks` (replacing any
        already set) and ``vol_term``; ``meta["vol_shocks"]`` states the proxy."""
        out = scenarios.with_factors(vol_shocks=self.vol_shocks(scenarios), vol_term=self.vol_term)
        models = ", ".join(sorted({r.spec.name for r in self.volatility.values()}))
        note = (
            f"proxy from the {models} variance recursion over a "
            f"{duration_label(self.spec.term)} tenor ({self.term_bars} bars), not implied vols"
        )
        return dataclasses.replace(out, meta={**out.meta, "vol_shocks": note})

    def __repr__(self) -> str:
        return (
            f"FittedImpliedVolProxy({self.spec.volatility.name}, assets={list(self.assets)}, "
            f"asof={fmt_time(self.asof)}, bar={duration_label(self.freq)}, "
            f"term={self.term_bars} bars)"
        )

    def _repr_html_(self) -> str:
        return f"<pre>{esc(repr(self))}</pre>" + table_html(self.state)
