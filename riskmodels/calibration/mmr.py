r"""Maintenance margin rates solved for a breach probability over the liquidation horizon.

Definitions
-----------
A position of notional :math:`N` held from origin :math:`t` is liquidated over the horizon
:math:`h(N)` (:mod:`riskmodels.calibration.horizon`). Per unit of notional its loss is
:math:`L_t` (long: :math:`1 - e^{R_{t,h}}`, short: :math:`e^{R_{t,h}} - 1`) and closing it
costs the slippage :math:`s(N)` (square-root impact). The maintenance margin rate :math:`m`
is **breached** when

.. math:: L_t + s(N) > m,

i.e. the margin held does not cover the move before the liquidation completes plus its cost.

*Static* MMR (what the tier table reports, and what exchanges publish): one number per asset,
side and notional bracket, the :math:`(1-p)` quantile of :math:`L + s` over the calibration
sample, so that the sample breach frequency is at most the target :math:`p`. With
``model="historical"`` it is the order statistic :math:`L_{(\lceil n(1-p)\rceil)} + s`
(:func:`riskmodels.risk.var`, inverse-CDF definition), the smallest :math:`m` with
:math:`\#\{L_t + s > m\} \le np`; other ``model`` names fit the loss distribution
(:func:`riskmodels.risk.estimate`: ``"evt"``, ``"t"``, ``"normal"``, ``"cornish_fisher"``).
The *out-of-sample* breach probability is then measured on held-back data
(``test_start``): counts per year and per volatility regime with Clopper-Pearson intervals
and a two-sided binomial test of :math:`H_0: P(\text{breach}) = p`.

*Dynamic* MMR (:func:`dynamic_mmr`): :math:`m_t = \mathrm{VaR}_{1-p}(L_{t,h} \mid
\mathcal{F}_t) + s`, the conditional quantile from a model re-estimated walk-forward
(:func:`riskmodels.backtest.walk_forward`, e.g. filtered historical simulation on GARCH-t).
It tracks volatility, which is what makes it procyclical
(:mod:`riskmodels.calibration.procyclicality`).

Windows and dependence
----------------------
Calibration uses every origin (overlapping windows, the efficient estimator); its
confidence interval comes from a stationary bootstrap (Politis & Romano 1994, "The
stationary bootstrap", JASA 89(428)) of the loss series, mean block length
:math:`\max(2h, \lceil n^{1/3} \rceil)` bars by default — at least twice the overlap, and the
:math:`n^{1/3}` rate of Politis & White (2004) — as a percentile interval. Out-of-sample
breaches are counted on **non-overlapping** windows (origins every :math:`h` bars from the
first test origin), so the binomial counts are not inflated by the :math:`h-1` bars each
overlapping window shares with the next.

Regimes
-------
By default an origin's regime is the tercile (``low``/``mid``/``high``) of the trailing
30-day realized volatility known at the origin; the tercile bounds are set on the
calibration sample, so they are known before the test period starts.

Leverage
--------
:func:`leverage_limits`: :math:`\text{IMR} = m(1+b)` (``kind="multiplicative"``, default
:math:`b=1`, i.e. IMR = 2 MMR as on Binance's tables, VENUES.md §1.2, and "CEXs usually set
IM ≈ 2 × MM", VENUES.md §1.7) or :math:`m + b` (``kind="additive"``); the maximum leverage
is :math:`\lfloor 1/\text{IMR} \rfloor` (at least 1).
"""

from __future__ import annotations

import hashlib
import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, cast

import numpy as np
import pandas as pd
from arch.bootstrap import StationaryBootstrap
from scipy import stats

from riskmodels._display import esc, table_html
from riskmodels._random import as_generator
from riskmodels._time import as_timedelta
from riskmodels.calibration.horizon import (
    _freq_label,
    as_returns_by_freq,
    choose_data,
    daily_volatility,
    frequency_of,
    horizon_losses,
    liquidation_horizon,
    slippage_rate,
    utc_timestamp,
)
from riskmodels.exceptions import ConfigError, DataError, InsufficientDataError, ModelError
from riskmodels.margin import TierTable
from riskmodels.risk import estimate
from riskmodels.risk import var as empirical_var

if TYPE_CHECKING:
    from riskmodels.calibration.closeout import CloseoutCalibration
    from riskmodels.risk.methods import Method

__all__ = [
    "MMRCalibration",
    "breach_summary",
    "calibrate_mmr",
    "cell_seed",
    "check_target",
    "dynamic_mmr",
    "leverage_limits",
    "static_mmr",
]

_MODELS = ("historical", "evt", "t", "normal", "cornish_fisher")
_SIDES = ("long", "short", "both")
#: Bootstrap replicates are processed in blocks of about this many numbers (memory bound).
_CHUNK_ELEMENTS = 4_000_000
#: Trailing window of the realized volatility that labels regimes.
_REGIME_WINDOW = pd.Timedelta(days=30)


def check_target(target: Any, name: str = "target") -> float:
    """A target probability of the bad event (a breach, bad debt) as a float in (0, 0.5).

    Parameters
    ----------
    target : float
        e.g. 0.005: a 0.5% probability, i.e. 99.5% cover.
    name : str, default "target"
        The argument's name, for the message.

    Returns
    -------
    float

    Raises
    ------
    ConfigError
        If ``target`` is not a number in (0, 1); or if it is 0.5 or more: a target is the
        probability of the bad event, and 0.5 or more is a confidence level written in its place
        (0.995 for 0.005) or a target no margin model should be calibrated to; the message
        suggests ``1 - target``.
    """
    if isinstance(target, bool):
        raise ConfigError(f"{name} must be a number in (0, 1) (got {target!r}).")
    try:
        p = float(target)
    except (TypeError, ValueError) as exc:
        raise ConfigError(
            f"{name} must be a number in (0, 1) (got {target!r}); 0.005 means a 0.5% breach "
            "probability over the liquidation horizon."
        ) from exc
    if not (0.0 < p < 1.0):
        raise ConfigError(
            f"{name} must be in (0, 1) (got {p!r}); 0.005 means a 0.5% breach probability over "
            "the liquidation horizon."
        )
    if p >= 0.5:
        raise ConfigError(
            f"{name}={p!r} is not a target probability: {name} is the probability of the bad "
            "event (0.005 = a 0.5% breach probability, 99.5% cover) and must be below 0.5, not "
            f"a confidence level; did you mean {round(1.0 - p, 12)!r}?"
        )
    return p


def _check_prob(value: Any, name: str, example: str) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{name} must be a number in (0, 1) (got {value!r}); {example}.") from exc
    if not (0.0 < v < 1.0):
        raise ConfigError(f"{name} must be in (0, 1) (got {v!r}); {example}.")
    return v


# -- leverage ------------------------------------------------------------------------------------
def leverage_limits(
    mmr: Any,
    buffer: float = 1.0,
    *,
    kind: Literal["multiplicative", "additive"] = "multiplicative",
) -> tuple[np.ndarray, np.ndarray]:
    """IMR and maximum leverage that follow from an MMR and a buffer (module docstring).

    Parameters
    ----------
    mmr : float or array-like
        Maintenance margin rates (decimal).
    buffer : float, default 1.0
        ``b`` in IMR = MMR × (1 + b) (``kind="multiplicative"``) or MMR + b (``"additive"``).
    kind : {"multiplicative", "additive"}

    Returns
    -------
    (imr, max_leverage) : arrays
        IMR capped at 1; leverage ``floor(1 / IMR)``, at least 1.
    """
    m = np.asarray(mmr, dtype="float64")
    if not np.all(np.isfinite(m)) or np.any(m < 0):
        raise ConfigError(f"mmr must be finite and >= 0 (got {mmr!r}).")
    b = float(buffer)
    if not (math.isfinite(b) and b >= 0):
        raise ConfigError(
            f"buffer must be finite and >= 0 (got {buffer!r}); 1.0 gives IMR = 2 MMR."
        )
    if kind == "multiplicative":
        imr = m * (1.0 + b)
    elif kind == "additive":
        imr = m + b
    else:
        raise ConfigError(f"kind must be 'multiplicative' or 'additive' (got {kind!r}).")
    imr = np.minimum(imr, 1.0)
    with np.errstate(divide="ignore"):
        lev = np.floor(np.where(imr > 0, 1.0 / np.where(imr > 0, imr, 1.0), np.inf) + 1e-9)
    return imr, np.maximum(lev, 1.0)


# -- static quantile and its bootstrap interval --------------------------------------------------
def static_mmr(losses: Any, target: float, *, model: str = "historical") -> float:
    """The (1 − target) quantile of per-unit losses (module docstring)."""
    p = check_target(target)
    x = np.asarray(losses, dtype="float64")
    x = x[np.isfinite(x)]
    if model == "historical":
        return float(empirical_var(-x, 1.0 - p))
    if model not in _MODELS:
        raise ConfigError(f"model must be one of {_MODELS} (got {model!r}).")
    return float(estimate(-x, 1.0 - p, method=cast("Method", model)).var)  # one of _MODELS


def _bootstrap_quantiles(
    x: np.ndarray, target: float, model: str, n_boot: int, block: int, rng: np.random.Generator
) -> np.ndarray:
    bs = StationaryBootstrap(block, x, seed=rng)
    n = x.size
    out = np.empty(n_boot)
    per = max(1, _CHUNK_ELEMENTS // n)
    i = 0
    while i < n_boot:
        m = min(per, n_boot - i)
        idx = np.stack([bs.update_indices() for _ in range(m)])
        sample = x[idx]
        if model == "historical":
            out[i : i + m] = empirical_var(-sample, 1.0 - target, axis=1)
        else:
            out[i : i + m] = [static_mmr(row, target, model=model) for row in sample]
        i += m
    return out


# -- breach counts -------------------------------------------------------------------------------
def _cp(k: int, n: int, p: float, level: float) -> tuple[float, float, float]:
    if n == 0:
        return math.nan, math.nan, math.nan
    res = stats.binomtest(k, n, p)
    ci = res.proportion_ci(confidence_level=level, method="exact")
    return float(ci.low), float(ci.high), float(res.pvalue)


def breach_summary(
    breach: pd.Series,
    target: float,
    *,
    regime: pd.Series | None = None,
    level: float = 0.95,
) -> pd.DataFrame:
    """Breach counts overall, per calendar year and per regime, with binomial intervals.

    Parameters
    ----------
    breach : Series of bool
        One entry per (non-overlapping) window, indexed by its origin time.
    target : float
        Breach probability under the null.
    regime : Series, optional
        Regime label per origin (same index).
    level : float, default 0.95
        Confidence level of the Clopper-Pearson intervals.

    Returns
    -------
    DataFrame
        Columns ``group`` ("all", "year", "regime"), ``value``, ``n``, ``breaches``, ``rate``,
        ``rate_lo``, ``rate_hi`` (Clopper-Pearson, ``scipy.stats.binomtest(...).proportion_ci``)
        and ``pvalue`` (two-sided exact binomial test of rate = target).
    """
    p = check_target(target)
    b = breach.astype(bool)
    rows = []

    def add(group: str, value: Any, sub: pd.Series) -> None:
        n, k = int(sub.size), int(sub.sum())
        lo, hi, pv = _cp(k, n, p, level)
        rows.append(
            {
                "group": group,
                "value": str(value),
                "n": n,
                "breaches": k,
                "rate": k / n if n else math.nan,
                "rate_lo": lo,
                "rate_hi": hi,
                "pvalue": pv,
            }
        )

    add("all", "all", b)
    if isinstance(b.index, pd.DatetimeIndex):
        for year, sub in b.groupby(b.index.year):
            add("year", year, sub)
    if regime is not None:
        reg = regime.reindex(b.index)
        for value, sub in b.groupby(reg, observed=True, sort=False):
            add("regime", value, sub)
    return pd.DataFrame(rows)


def _regimes(r: pd.Series, freq: pd.Timedelta, calib: pd.Series) -> pd.Series:
    """Realized-vol tercile per origin, bounds from the calibration origins."""
    w = max(2, round(_REGIME_WINDOW / freq))
    rv = r.rolling(w, min_periods=max(2, w // 2)).std()
    base = rv[calib].dropna()
    if base.size < 3:
        return pd.Series("all", index=r.index)
    lo, hi = np.quantile(base.to_numpy(), [1 / 3, 2 / 3])
    lab = np.where(rv <= lo, "low", np.where(rv <= hi, "mid", "high"))
    return pd.Series(np.where(rv.isna(), "unknown", lab), index=r.index)


# -- the result ----------------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class MMRCalibration:
    """Result of :func:`calibrate_mmr`.

    Attributes
    ----------
    table : DataFrame
        One row per (asset, side, bracket): ``lower``, ``upper`` (USD notional),
        ``size`` (notional that sets horizon and slippage: the upper bound, or the lower bound
        of an unbounded last bracket), ``liquidation_days`` (size / (participation × ADV)),
        ``horizon`` (measured, rounded up), ``data_freq`` and ``horizon_bars`` (the data that
        served the figure), ``calib_start``, ``calib_end``, ``n_calib`` (overlapping origins),
        ``block_length``, ``quantile`` (loss quantile) with ``quantile_lo``/``quantile_hi``
        (bootstrap CI), ``slippage``, ``mmr_raw`` = quantile + slippage with
        ``mmr_lo``/``mmr_hi``, ``mmr`` (published: running maximum over brackets, so a larger
        position never has a lower rate), ``imr``, ``max_leverage``, and the out-of-sample
        columns ``sample`` ("out-of-sample" or "in-sample"), ``n_test`` (non-overlapping
        windows), ``breaches``, ``breach_rate``, ``rate_lo``, ``rate_hi``, ``pvalue``.
    breaches : DataFrame
        Per (asset, side, bracket): :func:`breach_summary` rows (all, per year, per regime).
    target, horizon, model, params
        What was asked.
    """

    table: pd.DataFrame
    breaches: pd.DataFrame
    target: float
    horizon: pd.Timedelta
    model: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def tier_table(self, asset: str, side: Literal["long", "short", "both"] = "both") -> TierTable:
        """The calibrated table in the exchange's shape (bracket, max leverage, MMR, IMR).

        ``side="both"`` takes, per bracket, the larger of the long and short rates (one table
        for both directions, as venues publish).
        """
        t = self.table[self.table["asset"] == asset]
        if t.empty:
            raise ConfigError(
                f"asset {asset!r} was not calibrated (have {sorted(self.table['asset'].unique())})."
            )
        if side == "both":
            g = t.groupby("bracket")[["upper", "mmr", "imr"]].max()
            lev = t.groupby("bracket")["max_leverage"].min()
        else:
            s = t[t["side"] == side].set_index("bracket")
            if s.empty:
                raise ConfigError(
                    f"side {side!r} was not calibrated for {asset!r} (have "
                    f"{sorted(t['side'].unique())})."
                )
            g, lev = s[["upper", "mmr", "imr"]], s["max_leverage"]
        if (g["mmr"] <= 0).any():
            raise ModelError(
                f"{asset} {side}: a calibrated MMR is <= 0 (the loss quantile is a gain); a tier "
                "table needs positive rates. Check the sample or use a smaller target."
            )
        return TierTable(
            upper_bounds=g["upper"].tolist(),
            max_leverage=lev.tolist(),
            mmr=g["mmr"].tolist(),
            imr=g["imr"].tolist(),
            name=f"calibrated_{asset}_{side}",
            venue="calibrated",
            symbol=asset,
            assets=(asset,),
            source=(
                f"riskmodels.calibration.calibrate_mmr: target {self.target:g}, base horizon "
                f"{_freq_label(self.horizon)}, model {self.model}"
            ),
            as_of=str(t["calib_end"].max()),
        )

    def summary(self) -> pd.DataFrame:
        """The tier columns and the out-of-sample check, one row per (asset, side, bracket)."""
        cols = [
            "asset",
            "side",
            "bracket",
            "upper",
            "horizon",
            "data_freq",
            "slippage",
            "mmr",
            "mmr_lo",
            "mmr_hi",
            "imr",
            "max_leverage",
            "n_test",
            "breaches",
            "breach_rate",
            "pvalue",
        ]
        return self.table[cols]

    def _repr_html_(self) -> str:
        head = (
            f"<p><b>MMR calibration</b>: target breach probability {self.target:.3%} over the "
            f"liquidation horizon (base {esc(_freq_label(self.horizon))}), model "
            f"{esc(self.model)}.</p>"
        )
        kinds = dict.fromkeys(("mmr", "mmr_lo", "mmr_hi", "imr", "breach_rate", "slippage"), "pct")
        kinds.update(
            bracket="count", upper="usd", n_test="count", breaches="count", pvalue="pvalue"
        )
        return head + table_html(self.summary().reset_index(drop=True), kinds)


# -- calibration ---------------------------------------------------------------------------------
def _as_assets(assets: Any, columns: Sequence[str]) -> list[str]:
    if assets is None:
        return list(columns)
    out = [assets] if isinstance(assets, str) else list(assets)
    if not out:
        raise ConfigError("assets is empty: name at least one column of returns.")
    return [str(a) for a in out]


def _as_brackets(tiers: Any) -> tuple[list[float], list[float]]:
    """(lower, upper) bounds of each bracket."""
    if tiers is None:
        up = [math.inf]
    elif isinstance(tiers, TierTable):
        up = list(tiers.upper_bounds)
    else:
        try:
            up = [float(u) for u in tiers]
        except (TypeError, ValueError) as exc:
            raise ConfigError(
                f"tiers must be a TierTable or a sequence of bracket upper bounds in USD (got "
                f"{tiers!r})."
            ) from exc
        if not up or any(not (u > 0) for u in up) or any(b <= a for a, b in itertools.pairwise(up)):
            raise ConfigError(
                f"tiers must be strictly increasing positive upper bounds (got {tiers!r}), e.g. "
                "[50_000, 250_000, 1_000_000]."
            )
    return [0.0, *up[:-1]], up


def calibrate_mmr(
    returns: pd.DataFrame | Mapping[str, pd.DataFrame],
    assets: str | Sequence[str] | None = None,
    horizon: Any = "1d",
    target: float = 0.005,
    *,
    model: str = "historical",
    tiers: TierTable | Sequence[float] | None = None,
    side: Literal["long", "short", "both"] = "both",
    adv: Mapping[str, float] | None = None,
    participation: float = 0.10,
    impact_coefficient: float = 1.0,
    impact_exponent: float = 0.5,
    test_start: Any = None,
    buffer: float = 1.0,
    buffer_kind: Literal["multiplicative", "additive"] = "multiplicative",
    n_boot: int = 500,
    ci: float = 0.95,
    block_length: int | None = None,
    regimes: pd.Series | None = None,
    seed: int | np.random.Generator = 0,
    method: Literal["auto", "horizon", "closeout"] = "auto",
    **closeout: Any,
) -> MMRCalibration | CloseoutCalibration:
    r"""Static MMR per asset, side and notional bracket for a target breach probability.

    Two methods answer two questions (read both module docstrings):

    * ``method="closeout"`` — a **perpetual venue's** maintenance margin: the smallest rate with
      P(bad debt | liquidation) ≤ ``target`` when the engine liquidates positions on minute
      mark paths after the close-out delay (:func:`~riskmodels.calibration.closeout.calibrate_closeout`;
      ``returns`` is then bars, ``tiers`` the reference table(s), and ``delay``,
      ``im_bars``, ``funding`` ... go through ``**closeout``).
    * ``method="horizon"`` — a **clearing house's** margin period of risk: the quantile of the
      loss over a fixed horizon (one day by default). Documented below.

    ``"auto"`` (default) picks ``"closeout"`` for bar frames (open/high/low/close: perpetual
    mark or last-price bars) and ``"horizon"`` for returns, so existing calls are unchanged.

    Parameters
    ----------
    returns : DataFrame or mapping of str to DataFrame
        Decimal log returns, one column per asset, on a regular UTC grid (missing bars NaN),
        or several frequencies ``{"1h": r1h, "4h": r4h, "1d": r1d}``: each horizon is
        measured on the coarsest bars that reach it (:func:`~riskmodels.calibration.horizon.choose_data`).
    assets : str or sequence of str, optional
        Default: every column of the first frame.
    horizon : str or Timedelta, default "1d"
        Base liquidation horizon :math:`h_0` (the smallest position's); must be at least the
        shortest bar.
    target : float, default 0.005
        Breach probability over the liquidation horizon, in (0, 0.5) (a probability, not a
        confidence level: 0.995 is refused with a ``ConfigError`` that suggests 0.005).
    model : {"historical", "evt", "t", "normal", "cornish_fisher"}, default "historical"
        Estimator of the loss quantile (module docstring).
    tiers : TierTable or sequence of float, optional
        Notional brackets (upper bounds, USD), e.g. ``binance_usdm_tiers()["BTC"]``; default
        one unbounded bracket (base horizon, no slippage).
    side : {"long", "short", "both"}, default "both"
    adv : mapping of str to float, optional
        Average daily volume (USD/day) per asset (:func:`~riskmodels.calibration.horizon.adv_from_ohlcv`);
        without it every bracket uses the base horizon and no slippage.
    participation : float, default 0.10
        Share of the volume a liquidation may take.
    impact_coefficient, impact_exponent : float, default 1.0, 0.5
        :math:`Y`, :math:`\beta` of :class:`~riskmodels.margin.LiquidityAddOn`.
    test_start : date-like, optional
        Start of the held-back test period: calibration uses windows that end before it, the
        breach counts use origins from it on. None: counts are in-sample (flagged).
    buffer, buffer_kind
        IMR rule (:func:`leverage_limits`).
    n_boot : int, default 500
        Stationary-bootstrap replicates; ``0`` skips the intervals.
    ci : float, default 0.95
        Level of the bootstrap and Clopper-Pearson intervals.
    block_length : int, optional
        Mean block length in bars; default :math:`\max(2h, \lceil n^{1/3}\rceil)`.
    regimes : Series, optional
        Regime label per origin (any bars; read as of each origin with ``asof``); default
        realized-volatility terciles (module docstring).
    method : {"auto", "horizon", "closeout"}, default "auto"
        Which question (above).
    **closeout
        Keyword options of :func:`~riskmodels.calibration.closeout.calibrate_closeout`
        (``method="closeout"`` only).
    seed : int, SeedSequence or Generator, default 0
        Root of the bootstrap streams. Each (asset, side, data frequency, horizon in bars)
        draws from its own stream, :func:`cell_seed` of the root and those four, so its
        interval does not depend on which other assets, brackets or sides are calibrated in
        the same call, or in which order (:func:`~riskmodels.calibration.calibration_grid`
        relies on it). Targets and models of the same cell share the stream (common random
        numbers: their intervals move together). A Generator gives the root by drawing one
        integer from it.

    Returns
    -------
    MMRCalibration

    Raises
    ------
    ConfigError
        ``target`` outside (0, 0.5); ``horizon`` shorter than the shortest bar; an unknown
        ``model`` or ``side``; invalid ``tiers``, ``participation``, ``ci`` or ``n_boot``.
    DataError
        An asset missing from the returns that serve its horizon.
    InsufficientDataError
        Fewer than :math:`\lceil 1/p \rceil` calibration windows, or no test window after
        ``test_start``.
    """
    if method not in ("auto", "horizon", "closeout"):
        raise ConfigError(f"method must be 'auto', 'horizon' or 'closeout' (got {method!r}).")
    if method == "closeout" or (method == "auto" and _is_bars(returns)):
        given = {
            k: v
            for k, v in (
                ("model", model if model != "historical" else None),
                ("adv", adv),
                ("test_start", test_start),
                ("buffer", buffer if buffer != 1.0 else None),
                ("buffer_kind", buffer_kind if buffer_kind != "multiplicative" else None),
                ("block_length", block_length),
                ("regimes", regimes),
            )
            if v is not None
        }
        if given:
            raise ConfigError(
                f"{sorted(given)} belong to method='horizon'; the close-out method takes its "
                "volume (volume=), held-back windows (holdout=) and IM (im_horizon=, "
                "im_target=) instead (see calibrate_closeout)."
            )
        return _closeout(
            returns,
            assets,
            horizon,
            target,
            tiers=tiers,
            side=side,
            participation=participation,
            impact_coefficient=impact_coefficient,
            impact_exponent=impact_exponent,
            n_boot=n_boot,
            ci=ci,
            seed=seed,
            options=closeout,
        )
    if closeout:
        raise ConfigError(
            f"{sorted(closeout)} are options of method='closeout'; the horizon method does not "
            "take them."
        )
    p = check_target(target)
    level = _check_prob(ci, "ci", "0.95 gives 95% intervals")
    if model not in _MODELS:
        raise ConfigError(f"model must be one of {_MODELS} (got {model!r}).")
    if side not in _SIDES:
        raise ConfigError(f"side must be one of {_SIDES} (got {side!r}).")
    if isinstance(n_boot, bool) or not isinstance(n_boot, int | np.integer) or n_boot < 0:
        raise ConfigError(f"n_boot must be an integer >= 0 (got {n_boot!r}); 500 is typical.")
    data = as_returns_by_freq(returns)
    freqs = list(data)
    h0 = as_timedelta(horizon, "horizon")
    choose_data(h0, freqs)  # raises for a horizon shorter than the data
    first = data[freqs[0]]
    names = _as_assets(assets, [str(c) for c in first.columns])
    lower, upper = _as_brackets(tiers)
    sides = ["long", "short"] if side == "both" else [side]
    split = None if test_start is None else utc_timestamp(test_start, "test_start")
    root = _root_entropy(seed)
    adv_map = dict(adv) if adv is not None else {}

    rows: list[dict[str, Any]] = []
    breach_rows: list[pd.DataFrame] = []
    cache: dict[tuple[str, str, pd.Timedelta, int], dict[str, Any]] = {}
    for asset in names:
        for sd in sides:
            for b, (lo_b, up_b) in enumerate(zip(lower, upper, strict=True), start=1):
                size = up_b if math.isfinite(up_b) else lo_b
                a_adv = adv_map.get(asset)
                liq_days = (
                    size / (participation * a_adv) if a_adv is not None and a_adv > 0 else 0.0
                )
                h = liquidation_horizon(size, a_adv, base=h0, participation=participation)
                choice = choose_data(h, freqs)
                key = (asset, sd, choice.freq, choice.n_bars)
                if key not in cache:
                    cache[key] = _calibrate_one(
                        data[choice.freq],
                        asset,
                        sd,
                        choice.freq,
                        choice.n_bars,
                        p,
                        model,
                        split,
                        n_boot,
                        level,
                        block_length,
                        regimes,
                        as_generator(cell_seed(root, asset, sd, choice.freq, choice.n_bars)),
                    )
                c = cache[key]
                slip = slippage_rate(
                    size,
                    asset,
                    adv=a_adv,
                    volatility=c["vol_daily"],
                    horizon=choice.horizon,
                    coefficient=impact_coefficient,
                    exponent=impact_exponent,
                )
                rows.append(
                    {
                        "asset": asset,
                        "side": sd,
                        "bracket": b,
                        "lower": lo_b,
                        "upper": up_b,
                        "size": size,
                        "liquidation_days": liq_days,
                        "horizon": choice.horizon,
                        "data_freq": choice.label,
                        "horizon_bars": choice.n_bars,
                        "calib_start": c["calib_start"],
                        "calib_end": c["calib_end"],
                        "n_calib": c["n_calib"],
                        "block_length": c["block"],
                        "quantile": c["q"],
                        "quantile_lo": c["q_lo"],
                        "quantile_hi": c["q_hi"],
                        "slippage": slip,
                        "mmr_raw": c["q"] + slip,
                        "mmr_lo": c["q_lo"] + slip,
                        "mmr_hi": c["q_hi"] + slip,
                        "sample": c["sample"],
                        "n_test": c["n_test"],
                        "breaches": c["k_test"],
                        "breach_rate": c["rate"],
                        "rate_lo": c["rate_lo"],
                        "rate_hi": c["rate_hi"],
                        "pvalue": c["pvalue"],
                    }
                )
                br = c["summary"].copy()
                br.insert(0, "bracket", b)
                br.insert(0, "side", sd)
                br.insert(0, "asset", asset)
                br.insert(3, "data_freq", choice.label)
                breach_rows.append(br)
    table = pd.DataFrame(rows)
    table["mmr"] = table.groupby(["asset", "side"])["mmr_raw"].cummax().clip(lower=0.0, upper=1.0)
    imr, lev = leverage_limits(table["mmr"].to_numpy(), buffer, kind=buffer_kind)
    table["imr"] = imr
    table["max_leverage"] = lev
    front = [c for c in table.columns if c not in ("mmr", "imr", "max_leverage")]
    i = front.index("mmr_hi") + 1
    table = table[[*front[:i], "mmr", "imr", "max_leverage", *front[i:]]]
    return MMRCalibration(
        table=table,
        breaches=pd.concat(breach_rows, ignore_index=True),
        target=p,
        horizon=h0,
        model=model,
        params={
            "participation": participation,
            "impact_coefficient": impact_coefficient,
            "impact_exponent": impact_exponent,
            "test_start": None if split is None else str(split),
            "buffer": buffer,
            "buffer_kind": buffer_kind,
            "n_boot": n_boot,
            "ci": level,
            "adv": adv_map,
            "data": {_freq_label(f): (str(d.index[0]), str(d.index[-1])) for f, d in data.items()},
        },
    )


_OHLC = {"open", "high", "low", "close"}


def _is_bars(data: Any) -> bool:
    """Bar frames (open/high/low/close), alone, per asset, or per asset as a list."""

    def bars(x: Any) -> bool:
        if isinstance(x, pd.DataFrame):
            return _OHLC <= {str(c) for c in x.columns}
        if isinstance(x, list | tuple) and x:
            return all(bars(v) for v in x)
        return False

    if isinstance(data, Mapping):
        return bool(data) and all(bars(v) for v in data.values())
    return bars(data)


def _closeout(
    bars: Any,
    assets: Any,
    horizon: Any,
    target: float,
    *,
    tiers: Any,
    options: Mapping[str, Any],
    **common: Any,
) -> CloseoutCalibration:
    from riskmodels.calibration.closeout import calibrate_closeout

    if as_timedelta(horizon, "horizon") != pd.Timedelta("1D"):
        raise ConfigError(
            "method='closeout' has no fixed horizon: pass delay='1min' (the engine's delay; "
            "the size term is added per bracket) instead of horizon."
        )
    if tiers is None or not (isinstance(tiers, TierTable | Mapping)):
        raise ConfigError(
            "method='closeout' needs tiers: the reference TierTable (or one per asset, e.g. "
            "binance_usdm_tiers()) whose brackets and maximum leverage the positions open at."
        )
    if not _is_bars(bars):
        raise ConfigError(
            "method='closeout' needs bars (open/high/low/close: mark or perp last price, as "
            "fine as the data allow), not returns; e.g. MirrorSource().bars('BTC', '1m', 'perp')."
        )
    if isinstance(bars, pd.DataFrame):
        name = assets if isinstance(assets, str) else str(bars.attrs.get("symbol", "asset"))
        bars = {name: bars}
    elif assets is not None:
        names = [assets] if isinstance(assets, str) else list(assets)
        missing = [a for a in names if a not in bars]
        if missing:
            raise DataError(f"no bars for {missing} (have {sorted(bars)}).")
        bars = {a: bars[a] for a in names}
    return calibrate_closeout(bars, tiers=tiers, target=target, **common, **options)


def _root_entropy(seed: Any) -> int | Sequence[int]:
    """The entropy of a seed given as int, SeedSequence or Generator (one draw from it)."""
    if isinstance(seed, np.random.Generator):
        return int(seed.integers(2**63))
    if isinstance(seed, np.random.SeedSequence):
        if seed.spawn_key:
            return [int(v) for v in seed.generate_state(4)]
        return seed.entropy  # type: ignore[return-value]
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ConfigError(
            f"seed must be a non-negative integer, a numpy SeedSequence or a Generator (got "
            f"{seed!r})."
        )
    return int(seed)


def cell_seed(
    seed: int | Sequence[int], asset: str, side: str, freq: pd.Timedelta, n_bars: int
) -> np.random.SeedSequence:
    """The bootstrap stream of one calibration cell: ``SeedSequence(seed, spawn_key=...)`` with
    the spawn key a hash of (asset, side, bar length, horizon in bars).

    Parameters
    ----------
    seed : int or sequence of int
        Root entropy (the ``seed`` of :func:`calibrate_mmr`).
    asset, side : str
    freq : Timedelta
        Bar length of the data that serves the horizon.
    n_bars : int
        Horizon in bars.

    Returns
    -------
    numpy.random.SeedSequence
        Independent of every other cell's (distinct spawn keys), the same in every process.
    """
    text = f"{asset}\0{side}\0{pd.Timedelta(freq).value}\0{int(n_bars)}".encode()
    words = np.frombuffer(hashlib.sha256(text).digest()[:16], dtype="<u4")
    return np.random.SeedSequence(seed, spawn_key=tuple(int(w) for w in words))


def _calibrate_one(
    frame: pd.DataFrame,
    asset: str,
    side: str,
    freq: pd.Timedelta,
    k: int,
    p: float,
    model: str,
    split: pd.Timestamp | None,
    n_boot: int,
    level: float,
    block_length: int | None,
    regimes: pd.Series | None,
    rng: np.random.Generator,
) -> dict[str, Any]:
    if asset not in frame.columns:
        raise DataError(
            f"asset {asset!r} is not in the {_freq_label(freq)} returns that serve its horizon "
            f"(columns {list(frame.columns)}); add it or drop that frequency."
        )
    r = frame[asset].astype("float64")
    losses = horizon_losses(r, k, side)  # type: ignore[arg-type]
    idx = losses.index
    if split is None:
        calib = pd.Series(True, index=idx)
        test = calib
    else:
        calib = pd.Series(idx + k * freq < split, index=idx)
        test = pd.Series(idx >= split, index=idx)
    x = losses[calib].dropna()
    need = math.ceil(round(1.0 / p, 6))
    if x.size < need:
        raise InsufficientDataError(
            f"{asset} {side} {k}x{_freq_label(freq)}: {x.size} calibration windows, fewer than "
            f"the {need} that a target of {p:g} needs for one breach in the sample. Use more "
            "history, an earlier test_start or a larger target."
        )
    q = static_mmr(x.to_numpy(), p, model=model)
    block = block_length if block_length is not None else max(2 * k, math.ceil(x.size ** (1 / 3)))
    if n_boot > 0:
        boot = _bootstrap_quantiles(x.to_numpy(), p, model, n_boot, int(block), rng)
        q_lo, q_hi = np.quantile(boot, [(1 - level) / 2, (1 + level) / 2])
    else:
        q_lo = q_hi = math.nan
    # out-of-sample: non-overlapping windows every k bars from the first test origin
    tl = losses[test].dropna()
    if tl.empty:
        raise InsufficientDataError(
            f"{asset} {side}: no complete {k}x{_freq_label(freq)} window after test_start "
            f"{split}; move test_start earlier."
        )
    pos = np.arange(0, len(losses))
    first = int(np.flatnonzero((test & losses.notna()).to_numpy())[0])
    on_grid = ((pos - first) % k == 0) & (pos >= first)
    sel = losses[on_grid & test.to_numpy() & losses.notna().to_numpy()]
    breach = sel > q
    if regimes is None:
        reg = _regimes(r, freq, calib & losses.notna())
    else:
        reg = regimes.sort_index().reindex(sel.index, method="ffill")
    summ = breach_summary(breach, p, regime=reg.reindex(sel.index), level=level)
    overall = summ.iloc[0]
    vol_calib = daily_volatility(r[calib.to_numpy()], freq)
    return {
        "q": q,
        "q_lo": float(q_lo),
        "q_hi": float(q_hi),
        "block": int(block),
        "n_calib": int(x.size),
        "calib_start": x.index[0],
        "calib_end": x.index[-1] + k * freq,
        "vol_daily": vol_calib,
        "sample": "in-sample" if split is None else "out-of-sample",
        "n_test": int(overall["n"]),
        "k_test": int(overall["breaches"]),
        "rate": float(overall["rate"]),
        "rate_lo": float(overall["rate_lo"]),
        "rate_hi": float(overall["rate_hi"]),
        "pvalue": float(overall["pvalue"]),
        "summary": summ,
    }


# -- dynamic MMR ---------------------------------------------------------------------------------
def dynamic_mmr(
    returns: pd.DataFrame,
    asset: str,
    horizon: Any = "1d",
    target: float = 0.005,
    *,
    model: Any,
    side: Literal["long", "short"] = "long",
    slippage: float = 0.0,
    window: int = 1000,
    refit_every: int = 20,
    start: Any = None,
    end: Any = None,
    seed: int = 0,
    n_jobs: int = 1,
) -> pd.DataFrame:
    r"""Conditional MMR series :math:`m_t = \mathrm{VaR}_{1-p}(L_{t,h}\mid\mathcal F_t) + s`.

    Runs :func:`riskmodels.backtest.walk_forward` on a unit position (``+1`` long, ``-1``
    short) in ``asset``, so every forecast uses only data up to its origin.

    Parameters
    ----------
    returns : DataFrame
        Decimal log returns with a column ``asset``.
    asset : str
    horizon : str or Timedelta, default "1d"
        A whole number of bars.
    target : float, default 0.005
    model : VaRModel
        e.g. ``ScenarioModel(FilteredHistoricalScenarios(GARCH(dist="t")))`` or
        ``ParametricModel(GARCH(dist="t"))`` from :mod:`riskmodels.backtest`.
    side : {"long", "short"}
    slippage : float, default 0.0
        Slippage per unit notional added to the quantile (:func:`~riskmodels.calibration.horizon.slippage_rate`).
    window, refit_every, start, end, seed, n_jobs
        Passed to :func:`~riskmodels.backtest.walk_forward`.

    Returns
    -------
    DataFrame
        Indexed by origin time: ``mmr``, ``loss`` (realized per-unit loss over the horizon),
        ``breach`` (``loss + slippage > mmr``).
    """
    from riskmodels.backtest import walk_forward  # the engine is imported only when needed

    p = check_target(target)
    if side not in ("long", "short"):
        raise ConfigError(f"side must be 'long' or 'short' for a dynamic MMR (got {side!r}).")
    if not (math.isfinite(float(slippage)) and float(slippage) >= 0):
        raise ConfigError(f"slippage must be finite and >= 0 (got {slippage!r}).")
    if isinstance(returns, pd.DataFrame) and asset not in returns.columns:
        raise DataError(f"asset {asset!r} is not a column of returns ({list(returns.columns)}).")
    frame = returns[[asset]] if isinstance(returns, pd.DataFrame) else returns.to_frame(asset)
    choose_data(horizon, [frequency_of(frame)])
    res = walk_forward(
        model,
        frame,
        {asset: 1.0 if side == "long" else -1.0},
        alphas=(1.0 - p,),
        horizon=horizon,
        window=window,
        refit_every=refit_every,
        start=start,
        end=end,
        seed=seed,
        n_jobs=n_jobs,
        progress=False,
    )
    f = res.forecasts
    out = pd.DataFrame(
        {
            "mmr": f["var"].to_numpy() + float(slippage),
            "loss": -f["realized"].to_numpy(),
        },
        index=pd.DatetimeIndex(f["time"], name="time"),
    )
    out["breach"] = out["loss"] + float(slippage) > out["mmr"]
    return out
