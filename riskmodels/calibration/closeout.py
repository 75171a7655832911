r"""Maintenance margin calibrated for the close-out gap (``calibrate_mmr(method="closeout")``).

The question a perpetual venue's maintenance margin answers
-----------------------------------------------------------
A venue watches the **mark price** continuously and closes a position within seconds to
minutes of its equity reaching the maintenance margin (VENUES.md, "Liquidation pipelines").
What the maintenance rate :math:`m` must cover is the adverse move between the trigger and the
fill — the **close-out gap** — plus the cost of the close-out order; a fill beyond the
bankruptcy price is bad debt for the insurance fund, then for auto-deleveraging. With a
position opened at leverage :math:`L` (:mod:`riskmodels.liquidation.closeout`):

.. math::

    \text{bad debt} \iff s\Bigl(1 - \frac{c}{LP}\Bigr) > m, \qquad
    c = M_{\tau + \Delta(N)}\,(1 - s\,\iota(N)).

Per asset, side and notional bracket :math:`b` (upper bound :math:`N_b`, maximum leverage
:math:`L_b`), the calibrated rate is

.. math::

    m_b = \min\bigl\{m < 1/L_b : \hat P_m(\text{bad debt} \mid \text{liquidation}) \le p
          \text{ for every grid rate} \ge m\bigr\},

with :math:`\hat P_m` the share of liquidated positions with bad debt when positions open at
every bar close of the minute data at leverage :math:`L_b` and are liquidated by the engine's
first-passage search at rate :math:`m` (so the gap is measured in the states in which accounts
actually hit maintenance). A rate needs at least :math:`\lceil 1/p \rceil` liquidations to be
identified. The second objective (``objective="budget"``) replaces the probability by the
expected bad debt per unit of open interest per year, :math:`\sum \text{bad debt} /
\sum N\,t \le` ``budget``.

The close-out horizon and cost
------------------------------
:math:`\Delta(N) = \Delta_0 + N / (\rho V)`: the engine's base delay :math:`\Delta_0` (no venue
publishes it, so it is an argument, swept in :func:`closeout_sensitivity`) plus the time to
sell :math:`N` at participation :math:`\rho` of the **perpetual's** traded volume :math:`V`
measured on the calibration bars (crash windows: stressed volume, not a calm median). The
cost :math:`\iota(N) = Y\sigma_D\sqrt{N/V_D}` is the square-root law
(:class:`~riskmodels.margin.LiquidityAddOn`; Tóth et al. 2011) with the daily volatility and
volume of the same bars.

Initial margin
--------------
IM covers the path from entry to the trigger: the position must survive ``im_horizon`` (default
one funding interval, 8 h) with probability :math:`1 - p_{IM}`:

.. math::

    \text{IMR}_b = m_b + Q_{1-p_{IM}}\Bigl(\max_{t \le H}\, s\bigl(1 - M_t/M_0\bigr)
    + s\sum_{\text{settlements} \le H} f_k\Bigr),

the quantile of the maximum adverse excursion over :math:`H` (bar lows and highs, so intra-bar
extremes count) plus the funding paid at the settlements inside it (a long pays positive
rates). The bracket's maximum leverage is :math:`\lfloor 1/\text{IMR}_b \rfloor`, capped at the
leverage the MMR was solved at.

Which leverage the positions open at (``leverage=``): by default the reference table's maximum
(the population a venue actually has: traders do open at 125x); where no identified rate below
the initial margin :math:`1/L` meets the target there (``max_mm_to_im`` can ask for IM ≥ 2 MM)
— the leverage itself cannot be covered at that delay — the highest leverage of
:data:`LEVERAGE_LADDER` below it at which one does, and the row says so (``leverage`` < ``reference_leverage``).
``leverage="calibrated"`` instead iterates to the fixed point of MMR and IM: the MMR re-solved
at :math:`\lfloor 1/\text{IMR}_b \rfloor` until it stops changing (``max_iter`` rounds).

Uncertainty
-----------
* **Block bootstrap over days** (Künsch 1989; the day as the block, since liquidations
  cluster within hours): each replicate resamples the days with replacement and re-solves the
  rate from the per-day counts (a matrix product, no new search). The percentile interval is
  reported beside the point; replicates in which no rate below :math:`1/L_b` meets the target
  count as infeasible (``p_infeasible``).
* **Monotone across brackets**: the published rate is the isotonic (non-decreasing) fit of the
  raw per-bracket rates (``scipy.optimize.isotonic_regression``), clipped to the running
  bounds of the intervals, :math:`[\max_{j \le b} lo_j, \min_{j \ge b} hi_j]`, so a larger
  position never has a lower rate and no published rate lies outside its interval
  (``monotone_conflict`` flags a bracket where the intervals themselves cannot be ordered).
* **Bounds where the data are coarse**: with bars coarser than :math:`\Delta` (hourly data, a
  one-minute close-out) the engine gives a lower (instant close-out) and an upper (bar extreme)
  count; the rate comes as ``mmr_lower_bound`` / ``mmr_upper_bound`` and no point is reported.

Out of sample
-------------
Leave one window out: for each crash window (and the calm control), the rate is solved on the
other windows and the held-out window's liquidations are counted at it. Pooled, the bad-debt
count is tested against :math:`p` with the two-sided equal-tailed exact binomial test, and the
test's **power** against :math:`2p` at the same number of liquidations is printed next to it.
Liquidations of positions opened minutes apart share one market state (``trigger_bars``
counts the distinct ones), so the binomial test overstates the evidence; the power is an upper
bound. The capital cost per unit of open interest (``imr × cost_of_capital``) is shown beside
the held-out bad debt per unit of open interest, so over-margining shows as well.

The other method
----------------
``method="horizon"`` (:func:`~riskmodels.calibration.calibrate_mmr` on returns) answers a
clearing house's question: the loss over a fixed margin period of risk (one day) at a
confidence. It stays for that; a perpetual venue's maintenance margin is the close-out gap.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
from scipy import stats
from scipy.optimize import isotonic_regression

from riskmodels._display import esc, table_html
from riskmodels._random import as_generator
from riskmodels._time import bar_frequency, duration_label
from riskmodels.calibration.horizon import slippage_rate
from riskmodels.calibration.mmr import _check_prob, _root_entropy, cell_seed, check_target
from riskmodels.exceptions import ConfigError, DataError, InsufficientDataError, ModelError
from riskmodels.liquidation.closeout import CloseoutCounts, closeout_counts, segments
from riskmodels.liquidation.rules import LiquidationRule, parse_duration
from riskmodels.margin import TierTable

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = [
    "IMPLIED_DELAYS",
    "CloseoutCalibration",
    "binomial_power",
    "calibrate_closeout",
    "closeout_sensitivity",
    "entry_excursions",
    "implied_closeout_horizon",
    "solve_rate",
]

_DAY = pd.Timedelta("1D")
#: Default close-out delays of the implied-horizon search (the grid the answer is read on).
IMPLIED_DELAYS = ("0s", "1min", "2min", "3min", "5min", "10min", "15min", "20min", "30min", "60min")


# ----------------------------------------------------------------------------- solving
def solve_rate(
    bad: np.ndarray,
    liq: np.ndarray,
    grid: np.ndarray,
    target: float,
    *,
    min_liquidations: float,
) -> np.ndarray:
    r"""Smallest grid rate from which on :math:`k/n \le p` (module docstring), row by row.

    Parameters
    ----------
    bad, liq : array (..., G)
        Bad-debt events and liquidations per grid rate (e.g. bootstrap replicates × rates).
    grid : array (G,)
        Increasing rates.
    target : float
    min_liquidations : float
        A rate with fewer liquidations is not identified: it never qualifies.

    Returns
    -------
    array (...)
        The rate, NaN where even the largest grid rate fails (infeasible at this leverage).
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        ok = (liq >= min_liquidations) & (bad <= target * liq)
    # ok for this rate and every larger one: a reversed cumulative AND
    tail = np.flip(np.logical_and.accumulate(np.flip(ok, axis=-1), axis=-1), axis=-1)
    first = np.argmax(tail, axis=-1)
    any_ok = tail.any(axis=-1)
    return np.where(any_ok, grid[first], np.nan)


def _solve_budget(
    shortfall: np.ndarray, exposure: np.ndarray, grid: np.ndarray, budget: float
) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        ok = (exposure > 0) & (shortfall <= budget * exposure)
    tail = np.flip(np.logical_and.accumulate(np.flip(ok, axis=-1), axis=-1), axis=-1)
    return np.where(tail.any(axis=-1), grid[np.argmax(tail, axis=-1)], np.nan)


def binomial_power(n: int, p0: float, p1: float, *, alpha: float = 0.05) -> float:
    """Power of the two-sided equal-tailed exact binomial test of :math:`p = p_0` at level
    ``alpha`` against the alternative :math:`p = p_1`, with ``n`` trials.

    The test rejects when :math:`P_{p_0}(X \\le k) \\le \\alpha/2` or
    :math:`P_{p_0}(X \\ge k) \\le \\alpha/2`; the power is the probability of that region under
    :math:`p_1`.
    """
    if n <= 0:
        return math.nan
    k = np.arange(n + 1)
    lo = stats.binom.cdf(k, n, p0) <= alpha / 2
    hi = stats.binom.sf(k - 1, n, p0) <= alpha / 2
    pmf = stats.binom.pmf(k, n, p1)
    return float(pmf[lo | hi].sum())


def _equal_tailed_pvalue(k: int, n: int, p: float) -> float:
    if n <= 0:
        return math.nan
    return float(min(1.0, 2 * min(stats.binom.cdf(k, n, p), stats.binom.sf(k - 1, n, p))))


def _monotone(raw: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Isotonic fit of ``raw`` clipped to the running interval bounds (module docstring)."""
    ok = np.isfinite(raw)
    out = np.full(raw.shape, np.nan)
    conflict = np.zeros(raw.shape, dtype=bool)
    if not ok.any():
        return out, conflict
    fit = np.full(raw.shape, np.nan)
    fit[ok] = isotonic_regression(raw[ok], increasing=True).x
    lo_ = np.where(np.isfinite(lo), lo, raw)
    hi_ = np.where(np.isfinite(hi), hi, np.inf)
    lo_run = np.fmax.accumulate(np.where(ok, lo_, -np.inf))
    hi_run = np.flip(np.fmin.accumulate(np.flip(np.where(ok, hi_, np.inf))))
    conflict = ok & (lo_run > hi_run)
    out[ok] = np.clip(fit[ok], lo_run[ok], np.maximum(hi_run[ok], lo_run[ok]))
    # keep the fit non-decreasing after clipping (it is, unless bounds conflict)
    out[ok] = np.maximum.accumulate(out[ok])
    return out, conflict


# ----------------------------------------------------------------------------- inputs
def _bars_by_asset(bars: Any) -> dict[str, list[pd.DataFrame]]:
    """Asset -> bar frames, finest first (each bracket uses the first that identifies it)."""

    def frames(key: str, v: Any) -> list[pd.DataFrame]:
        vs = [v] if isinstance(v, pd.DataFrame) else list(v) if isinstance(v, Sequence) else []
        if not vs or not all(isinstance(f, pd.DataFrame) for f in vs):
            raise ConfigError(
                f"bars[{key!r}] must be a bar frame (open/high/low/close on a UTC index) or a "
                "list of them, finest first (e.g. [minute crash windows, hourly history])."
            )
        return vs

    if isinstance(bars, pd.DataFrame):
        return {str(bars.attrs.get("symbol", "asset")): [bars]}
    if isinstance(bars, Mapping) and bars:
        return {str(k): frames(str(k), v) for k, v in bars.items()}
    raise ConfigError(
        "bars must be a bar frame or a mapping asset -> bar frame(s) (mark or perp bars, e.g. "
        "MirrorSource().bars('BTC', '1m', 'perp'))."
    )


def _tiers_by_asset(tiers: Any, assets: Sequence[str]) -> dict[str, TierTable]:
    if isinstance(tiers, TierTable):
        return {a: tiers for a in assets}
    if isinstance(tiers, Mapping):
        missing = [a for a in assets if a not in tiers]
        if missing:
            raise ConfigError(
                f"tiers has no table for {missing}: pass a TierTable per asset (e.g. "
                "binance_usdm_tiers()), whose brackets and maximum leverage are the reference."
            )
        bad = [a for a in assets if not isinstance(tiers[a], TierTable)]
        if bad:
            raise ConfigError(f"tiers[{bad[0]!r}] must be a TierTable.")
        return {a: tiers[a] for a in assets}
    raise ConfigError(
        "tiers must be a TierTable or a mapping asset -> TierTable: the reference brackets "
        "and the maximum leverage at which positions open (e.g. binance_usdm_tiers())."
    )


def _stressed_market(frame: pd.DataFrame, volume: float | None) -> tuple[float, float]:
    """Daily quote volume (median bar × bars per day, unless given) and daily volatility.

    The quote volume is ``quote_volume``, or, where a source leaves it empty, the base
    ``volume`` times the bar's close (a USD estimate).
    """
    pieces = segments(frame)
    step = pieces[0].step
    per_day = _DAY / step
    r = np.concatenate([np.diff(np.log(p.close[0])) for p in pieces])
    sigma_day = float(np.std(r, ddof=1) * math.sqrt(per_day))
    if volume is not None:
        v = float(volume)
        if not (math.isfinite(v) and v > 0):
            raise ConfigError(f"volume must be a positive USD amount per day (got {volume!r}).")
        return v, sigma_day
    q = frame["quote_volume"] if "quote_volume" in frame.columns else None
    if q is None or q.isna().all():
        if "volume" not in frame.columns:
            raise DataError(
                "the bars have no quote_volume or volume: pass volume={asset: USD per day} (the "
                "perpetual's traded volume in stressed windows) for the time-to-sell term."
            )
        q = frame["volume"].astype("float64") * frame["close"].astype("float64")
    q = q.astype("float64").dropna()
    if q.empty:
        raise DataError("the bars' volumes are all missing: pass volume={asset: USD per day}.")
    return float(np.median(q.to_numpy())) * per_day, sigma_day


def _windows_of(frame: pd.DataFrame, blocks: pd.Index) -> np.ndarray:
    """Window label of each day block: the first day of its gap-free piece (crash windows), or
    its calendar year when the bars are one gap-free history."""
    pieces = segments(frame)
    if len(pieces) == 1:  # one long history: hold out calendar years
        return np.array([str(b)[:4] for b in blocks], dtype=object)
    lab = {}
    for p in pieces:
        first = str(p.times[0].date())
        for d in pd.Index(p.times.normalize().unique()):
            lab[str(d.date())] = first
    return np.array([lab.get(str(b), str(b)) for b in blocks], dtype=object)


# ----------------------------------------------------------------------------- IM
def entry_excursions(
    bars: pd.DataFrame,
    horizon: Any,
    side: Literal["long", "short"],
    *,
    funding: pd.Series | None = None,
) -> pd.Series:
    r"""Maximum adverse excursion from entry over ``horizon``, plus the funding paid in it.

    For an entry at the open of bar :math:`t`: :math:`\max_{t \le u < t+H} s(1 - M_u/M_t)`
    read from the bars' lows (long) or highs (short), plus :math:`s\sum f_k` over the funding
    settlements in :math:`[t, t+H)` (module docstring, "Initial margin"). Windows that hold a
    missing bar are dropped (NaN), never filled.

    Returns
    -------
    Series
        Indexed by entry time; ``attrs["funding_coverage"]`` is the share of windows whose
        settlements the funding series covers (0 when no funding was given).
    """
    if side not in ("long", "short"):
        raise ConfigError(f"side must be 'long' or 'short' (got {side!r}).")
    h = parse_duration(horizon, "im_horizon")
    idx = bars.index
    step = bar_frequency(idx)  # the smallest step; a longer one is missing bars
    k = math.ceil(h / step - 1e-12)
    if k < 1:
        raise ConfigError(f"im_horizon {horizon!r} is shorter than the {step} bars.")
    if k > len(idx):
        raise InsufficientDataError(
            f"the bars span {len(idx)} x {step}, shorter than im_horizon {horizon!r}: pass "
            "longer bars for the initial margin (im_bars=, e.g. the hourly history)."
        )
    o = bars["open"].astype("float64")
    if side == "long":
        ext = bars["low"].astype("float64")[::-1].rolling(k, min_periods=k).min()[::-1]
        exc = 1.0 - ext / o
    else:
        ext = bars["high"].astype("float64")[::-1].rolling(k, min_periods=k).max()[::-1]
        exc = ext / o - 1.0
    # a window is complete when its last bar is exactly k-1 steps after its first
    t = idx.as_unit("ns").asi8
    last = np.full(t.size, -1, dtype=np.int64)
    last[: t.size - k + 1] = t[k - 1 :]
    complete = last - t == (k - 1) * step.value
    exc = exc.where(complete)
    cover = 0.0
    if funding is not None and len(funding):
        f = funding.dropna().sort_index()
        ft = f.index.as_unit("ns").asi8
        cs = np.concatenate([[0.0], np.cumsum(f.to_numpy(dtype="float64"))])
        a = np.searchsorted(ft, t, side="left")
        b = np.searchsorted(ft, t + h.value, side="left")
        paid = (cs[b] - cs[a]) * (1.0 if side == "long" else -1.0)
        # covered: the window lies within the series' settlements, one interval either side
        every = int(np.median(np.diff(ft))) if ft.size > 1 else pd.Timedelta("8h").value
        inside = (t >= ft[0] - every) & (t + h.value <= ft[-1] + every)
        exc = exc + np.where(inside, paid, 0.0)
        cover = float(np.mean(inside[complete])) if complete.any() else 0.0
    out = exc.dropna()
    out.attrs["funding_coverage"] = cover
    return out


# ----------------------------------------------------------------------------- the result
@dataclass(frozen=True, kw_only=True)
class CloseoutCalibration:
    """Result of :func:`calibrate_closeout` (``calibrate_mmr(method="closeout")``).

    Attributes
    ----------
    table : DataFrame
        One row per (asset, side, bracket): ``lower``, ``upper``, ``size`` (USD notional that
        sets the delay and cost), ``reference_leverage`` (the reference table's),
        ``leverage`` (the one the positions opened at: the calibrated maximum),
        ``delay_seconds`` (:math:`\\Delta(N)`), ``impact``, ``data`` (bars and price type),
        ``resolution`` ("point" or "bounds"), ``liquidations``, ``trigger_bars``,
        ``bad_debt_events``, ``p_bad_debt`` (at the raw rate), ``mmr_raw``, ``mmr_lo``,
        ``mmr_hi`` (bootstrap interval), ``p_infeasible``, ``mmr_lower_bound`` /
        ``mmr_upper_bound`` (bounds rows), ``mmr`` (published: monotone across brackets),
        ``inside_interval``, ``monotone_conflict``, ``im_buffer``, ``imr``,
        ``max_leverage``, ``bad_debt_per_oi_year`` (calibration windows), ``capital_cost``.
    oos : DataFrame
        Leave-one-window-out rows per (asset, side, bracket, window): the rate solved without
        the window, the window's liquidations and bad-debt events at it.
    oos_summary : DataFrame
        Pooled per (asset, side, bracket): ``windows``, ``windows_over_target`` (held-out
        windows whose own rate exceeds the target: one crash can hold all the bad debt),
        ``liquidations``, ``bad_debt_events``, ``rate``,
        ``pvalue`` (two-sided equal-tailed exact binomial), ``power_2x`` (against twice the
        target), ``bad_debt_per_liquidated`` (per unit of liquidated notional),
        ``bad_debt_per_oi_year`` (per unit of open interest per year of the held-back windows'
        exposure: crash windows, so a stress figure), ``capital_cost``.
    curves : DataFrame
        :math:`\\hat P_m(\\text{bad debt} \\mid \\text{liquidation})` per grid rate and cell.
    target, objective, budget, params
        What was asked.
    """

    table: pd.DataFrame
    oos: pd.DataFrame
    oos_summary: pd.DataFrame
    curves: pd.DataFrame
    target: float
    objective: str
    budget: float | None
    params: Mapping[str, Any] = field(default_factory=dict)

    method = "closeout"

    def tier_table(self, asset: str, side: Literal["long", "short", "both"] = "both") -> TierTable:
        """The calibrated table in the exchange's shape (bracket, max leverage, MMR, IMR).

        ``side="both"`` takes per bracket the larger rate of the two sides and the smaller
        leverage. Bounds rows have no rate to publish (ModelError says so).

        Raises
        ------
        ModelError
            A bracket without a feasible rate (no rate below 1/leverage met the target).
        """
        t = self.table[self.table["asset"] == asset]
        if t.empty:
            raise ConfigError(
                f"asset {asset!r} was not calibrated (have {sorted(self.table['asset'].unique())})."
            )
        if side != "both":
            t = t[t["side"] == side]
            if t.empty:
                raise ConfigError(f"side {side!r} was not calibrated for {asset!r}.")
        g = t.groupby("bracket").agg(
            upper=("upper", "max"),
            mmr=("mmr", "max"),
            imr=("imr", "max"),
            max_leverage=("max_leverage", "min"),
        )
        if g[["mmr", "imr", "max_leverage"]].isna().any().any():
            bad = g.index[g["mmr"].isna()].tolist()
            if (t["resolution"] == "bounds").any():
                raise ModelError(
                    f"{asset} {side}: brackets {bad} have only bounds (the bars are coarser than "
                    "the close-out delay), no rate a table could publish; see mmr_lower_bound "
                    "and mmr_upper_bound in .table, or pass finer (minute) bars."
                )
            raise ModelError(
                f"{asset} {side}: brackets {bad} have no feasible rate (no MMR below 1/leverage "
                "met the target). Use a smaller delay, a larger target or lower leverage."
            )
        return TierTable(
            upper_bounds=g["upper"].tolist(),
            max_leverage=g["max_leverage"].astype(int).tolist(),
            mmr=g["mmr"].tolist(),
            imr=g["imr"].tolist(),
            name=f"closeout_{asset}_{side}",
            venue="calibrated",
            symbol=asset,
            assets=(asset,),
            source=(
                f"riskmodels.calibration.calibrate_mmr(method='closeout'): P(bad debt | "
                f"liquidation) <= {self.target:g}, base delay {self.params.get('delay')}"
            ),
            as_of=str(self.params.get("data_end", "")),
        )

    def summary(self) -> pd.DataFrame:
        """The tier columns, one row per (asset, side, bracket)."""
        cols = [
            "asset",
            "side",
            "bracket",
            "upper",
            "delay_seconds",
            "resolution",
            "liquidations",
            "mmr_raw",
            "mmr_lo",
            "mmr_hi",
            "mmr_lower_bound",
            "mmr_upper_bound",
            "mmr",
            "imr",
            "max_leverage",
            "reference_leverage",
        ]
        return self.table[cols]

    def _repr_html_(self) -> str:
        head = (
            f"<p><b>MMR calibrated for the close-out gap</b>: P(bad debt | liquidation) &le; "
            f"{self.target:.3%}, base delay {esc(self.params.get('delay'))}, "
            f"objective {esc(self.objective)}.</p>"
        )
        rates = ("mmr_raw", "mmr_lo", "mmr_hi", "mmr_lower_bound", "mmr_upper_bound", "mmr", "imr")
        kinds = dict.fromkeys(rates, "pct")
        kinds.update(bracket="count", upper="usd", liquidations="count")
        return head + table_html(self.summary().reset_index(drop=True), kinds)

    def plot(
        self,
        *,
        asset: str | None = None,
        side: Literal["long", "short"] | None = None,
        log: bool = True,
        ax: Axes | None = None,
    ) -> Axes:
        """Draw the calibration curves of one asset: P(bad debt | liquidation) against the MMR.

        Drawn, per side and bracket (one colour per bracket; long solid, short dashed): the
        pooled :math:`\\hat P_m(\\text{bad debt} \\mid \\text{liquidation})` of
        :attr:`curves` against the rate :math:`m` (where the bars are coarser than the delay,
        the two bounds with the band between them); the target as a horizontal red line; the
        published (monotone) MMR of :attr:`table` as a dotted vertical line with its 95 %
        bootstrap interval (``mmr_lo`` to ``mmr_hi``, or the bounds) shaded. The rate is read
        where a curve crosses the target.

        Parameters
        ----------
        asset : str, optional
            The asset (default the first calibrated).
        side : {"long", "short"}, optional
            One side (default every side calibrated).
        log : bool, default True
            Log scales (zero probabilities are left out of the drawing, not of the data).
        ax : matplotlib.axes.Axes, optional
            Where to draw; default a new figure in the report style.

        Returns
        -------
        matplotlib.axes.Axes
            One line per (side, bracket) with a point estimate (two for bounds), in the order
            of :attr:`curves`, then one dotted line per published rate, then the target line.

        Raises
        ------
        ConfigError
            ``asset`` or ``side`` not calibrated.
        ModelError
            No curve to draw (no cell was calibrated).
        """
        import matplotlib.ticker as mticker

        from riskmodels.reporting import figures

        c = self.curves
        if c.empty:
            raise ModelError("no calibration curves to draw: no (asset, side, bracket) was run.")
        assets = list(dict.fromkeys(c["asset"]))
        a = assets[0] if asset is None else asset
        if a not in assets:
            raise ConfigError(f"asset {asset!r} was not calibrated (have {assets}).")
        cs = c[c["asset"] == a]
        have = list(dict.fromkeys(cs["side"]))
        if side is not None and side not in have:
            raise ConfigError(f"side {side!r} was not calibrated for {a!r} (have {have}).")
        sides = have if side is None else [side]
        brackets = sorted(int(b) for b in cs["bracket"].unique())
        colours = dict(zip(brackets, figures.palette(len(brackets)), strict=True))
        styles = {"long": "-", "short": "--"}
        ax = figures.new_axes(ax, figsize=(9.0, 4.5))
        chosen: list[tuple[float, tuple[float, float, float]]] = []
        for sd in sides:
            for b in brackets:
                cell = cs[(cs["side"] == sd) & (cs["bracket"] == b)].sort_values("mmr")
                if cell.empty:
                    continue
                row = self.table[
                    (self.table["asset"] == a)
                    & (self.table["side"] == sd)
                    & (self.table["bracket"] == b)
                ].iloc[0]
                colour = colours[b]
                up = float(row["upper"])
                size = f"≤ {figures.usd_label(up)}" if math.isfinite(up) else "above"
                label = f"bracket {b} ({size}, {float(row['leverage']):.0f}x)"
                if len(sides) > 1:
                    label += f", {sd}"
                x = cell["mmr"].to_numpy(dtype=float)
                point = "p_bad_debt" in cell and cell["p_bad_debt"].notna().any()
                if point:
                    y = cell["p_bad_debt"].to_numpy(dtype=float)
                    ax.plot(x, y, color=colour, ls=styles.get(sd, "-"), lw=1.2, label=label)
                    lo, hi = float(row["mmr_lo"]), float(row["mmr_hi"])
                else:
                    y_lo = cell["p_bad_debt_instant"].to_numpy(dtype=float)
                    y_hi = cell["p_bad_debt_extreme"].to_numpy(dtype=float)
                    ax.plot(
                        x,
                        y_hi,
                        color=colour,
                        ls=styles.get(sd, "-"),
                        lw=1.0,
                        label=f"{label}, bounds",
                    )
                    ax.plot(x, y_lo, color=colour, ls=styles.get(sd, "-"), lw=0.6)
                    ax.fill_between(x, y_lo, y_hi, color=colour, alpha=0.12, lw=0)
                    lo = float(row["mmr_lower_bound"])
                    # no upper bound: no rate below 1/L covers the bar extreme
                    hi = float(row["mmr_upper_bound"])
                    hi = hi if math.isfinite(hi) else float(x[-1])
                if math.isfinite(lo) and math.isfinite(hi):
                    ax.axvspan(lo, hi, color=colour, alpha=0.12, lw=0)
                if pd.notna(row["mmr"]):
                    chosen.append((float(row["mmr"]), colour))
        for m, colour in chosen:
            ax.axvline(m, color=colour, ls=":", lw=1.2)
        ax.axhline(
            self.target, color=figures.ALERT_COLOUR, lw=1.0, label=f"target {self.target:.2%}"
        )
        if log:
            ax.set_xscale("log")
            ax.set_yscale("log", nonpositive="mask")
            ax.xaxis.set_minor_formatter(mticker.NullFormatter())
            ax.yaxis.set_minor_formatter(mticker.NullFormatter())
        figures.percent_axis(ax, "x")
        figures.percent_axis(ax, "y")
        ax.set_xlabel("maintenance margin rate (dotted: published, shaded: 95% interval)")
        ax.set_ylabel("P(bad debt | liquidation)")
        delay = self.params.get("delay")
        shown = duration_label(pd.Timedelta(delay)) if delay is not None else "?"
        ax.set_title(f"{a}: close-out calibration, base delay {shown}")
        ax.legend(fontsize=8)
        return ax


# ----------------------------------------------------------------------------- calibration
def _grid(lev: float, size: int) -> np.ndarray:
    top = (1.0 / lev) * (1.0 - 1e-6)
    return np.geomspace(min(1e-4, top / 2), top, size)


def _boot_weights(n_days: int, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """Replicates × days: how many times each day is drawn (days resampled with replacement)."""
    draws = rng.integers(0, n_days, size=(n_boot, n_days))
    cell = (draws + np.arange(n_boot)[:, None] * n_days).ravel()
    return np.bincount(cell, minlength=n_boot * n_days).reshape(n_boot, n_days).astype("float64")


def _cell(
    frame: pd.DataFrame,
    *,
    side: str,
    lev: float,
    delay: pd.Timedelta,
    impact: float,
    target: float,
    objective: str,
    budget: float | None,
    grid_size: int,
    origin_every: int,
    min_liq: float,
    search_cache: dict[Any, np.ndarray] | None = None,
) -> dict[str, Any]:
    """Counts on the rate grid at one leverage and the point solution per bound."""
    grid = _grid(lev, grid_size)
    cc = closeout_counts(
        frame,
        side=side,  # type: ignore[arg-type]
        leverage=lev,
        mmr=grid,
        delay=delay,
        impact=impact,
        origin_every=origin_every,
        search_cache=search_cache,
    )

    def solve(k: np.ndarray, n: np.ndarray, sf: np.ndarray, ex: np.ndarray) -> np.ndarray:
        if objective == "budget":
            return _solve_budget(sf, ex, grid, float(budget))  # type: ignore[arg-type]
        return solve_rate(k, n, grid, target, min_liquidations=min_liq)

    n_all = cc.n_liq.sum(axis=0)
    ex_all = cc.exposure_years.sum(axis=0)
    points = [
        float(solve(cc.n_bad[b].sum(0), n_all, cc.shortfall[b].sum(0), ex_all))
        for b in range(len(cc.bounds))
    ]
    return {"counts": cc, "grid": grid, "points": points, "solve": solve}


def _bootstrap(res: dict[str, Any], n_boot: int, seed: np.random.SeedSequence) -> None:
    """Day-block bootstrap replicates of the rate per bound (module docstring), in place."""
    cc: CloseoutCounts = res["counts"]
    if n_boot <= 0 or cc.n_liq.shape[0] == 0:
        res["boot"] = [np.full(0, np.nan) for _ in cc.bounds]
        return
    w = _boot_weights(cc.n_liq.shape[0], n_boot, as_generator(seed))
    res["boot"] = [
        res["solve"](w @ cc.n_bad[b], w @ cc.n_liq, w @ cc.shortfall[b], w @ cc.exposure_years)
        for b in range(len(cc.bounds))
    ]


def _interval(reps: np.ndarray, level: float) -> tuple[float, float, float]:
    if reps.size == 0:
        return math.nan, math.nan, math.nan
    inf = float(np.mean(~np.isfinite(reps)))
    r = np.where(np.isfinite(reps), reps, np.inf)  # infeasible replicates: beyond any rate
    lo, hi = np.quantile(r, [(1 - level) / 2, (1 + level) / 2], method="inverted_cdf")
    return float(lo), float(hi), inf


#: Rates per cell while searching the leverage (the answer is then solved on the full grid).
_SCAN_GRID = 48
#: ... and every this many entries (positions a minute apart trigger in the same bar anyway).
_SCAN_SPARSE = 4
#: Leverages tried below the reference one, highest first (the venues' usual steps).
LEVERAGE_LADDER = (125, 100, 75, 50, 40, 30, 25, 20, 15, 10, 8, 5, 4, 3, 2)


def _fixed_point(
    frame: pd.DataFrame,
    *,
    side: str,
    ref_lev: float,
    buf: float,
    max_iter: int,
    leverage: str,
    max_mm_to_im: float,
    n_boot: int,
    seed: np.random.SeedSequence,
    cell: dict[str, Any],
) -> dict[str, Any] | None:
    """The MMR at the leverage the positions open at (module docstring); None at 1x.

    ``leverage="reference"``: the reference table's maximum or, where no identified rate up to
    ``max_mm_to_im`` × IMR (:math:`1/L`) meets the target, the highest leverage of
    :data:`LEVERAGE_LADDER` below it at which one does. ``"calibrated"``: from there, the
    leverage :math:`\\lfloor 1/(\\text{MMR} + \\text{buffer})\\rfloor`, re-solved until it stops
    changing (at most ``max_iter`` rounds). The bootstrap runs once, at the leverage chosen.
    """

    def feasible(r: dict[str, Any], lev: float, *, top_ok: bool = False) -> bool:
        m = r["points"][-1]
        # below the grid's top (a rate at 1/L liquidates as the position opens) and identified
        inside = m <= r["grid"][-1] if top_ok else m < r["grid"][-1]
        if not (math.isfinite(m) and inside and m <= max_mm_to_im / lev):
            return False
        g = int(np.searchsorted(r["grid"], m))
        return bool(r["counts"].trigger_bars[g] >= cell["min_liq"] / (2 if top_ok else 1))

    if ref_lev <= 1.0:
        return None
    step = segments(frame)[0].step
    if pd.Timedelta(0) < cell["delay"] < step:
        # bars coarser than the delay give bounds only: report them at the reference leverage
        # (no search: a leverage chosen on an upper bound would be chosen on the bar extreme)
        res = _cell(frame, side=side, lev=ref_lev, **cell)
        _bootstrap(res, n_boot, seed)
        lo_m = res["points"][0]
        g_lo = int(np.searchsorted(res["grid"], lo_m)) if math.isfinite(lo_m) else None
        up_m = res["points"][-1]
        g_up = int(np.searchsorted(res["grid"], up_m)) if math.isfinite(up_m) else None
        res["converged"] = True
        res["g_at"] = g_up if g_up is not None else g_lo
        res["identified"] = g_lo is not None and bool(
            res["counts"].trigger_bars[g_lo] >= cell["min_liq"]
        )
        return res
    ladder = [ref_lev, *[float(x) for x in LEVERAGE_LADDER if x < ref_lev]]
    # scan from the top on a coarse grid of sparse entries (feasibility is not monotone: at
    # low leverage the data run out of liquidations); a candidate is then solved on the full
    # grid, and the scan goes on below it if the full solution is not feasible
    coarse = {
        **cell,
        "grid_size": min(cell["grid_size"], _SCAN_GRID),
        "origin_every": cell["origin_every"] * _SCAN_SPARSE,
    }
    tried: dict[float, dict[str, Any]] = {}
    lev = ladder[0]
    for lev in ladder:
        if not feasible(_cell(frame, side=side, lev=lev, **coarse), lev, top_ok=True):
            continue
        tried[lev] = _cell(frame, side=side, lev=lev, **cell)
        if feasible(tried[lev], lev):
            break
    else:
        lev = ladder[0]  # nothing feasible: report at the reference leverage
    if lev not in tried:
        tried[lev] = _cell(frame, side=side, lev=lev, **cell)
    res = tried[lev]
    converged = feasible(res, lev)
    if converged and leverage == "calibrated":
        for _ in range(max(1, max_iter)):
            new = min(ref_lev, max(2.0, math.floor(1.0 / min(1.0, res["points"][-1] + buf) + 1e-9)))
            if new == lev:
                break
            lev = new
            if lev not in tried:
                tried[lev] = _cell(frame, side=side, lev=lev, **cell)
            res = tried[lev]
            if not feasible(res, lev):
                converged = False
                break
        else:
            converged = False
    _bootstrap(res, n_boot, seed)
    m_top = res["points"][-1]
    g_at = int(np.searchsorted(res["grid"], m_top)) if math.isfinite(m_top) else None
    res["converged"] = converged
    res["g_at"] = g_at
    res["identified"] = feasible(res, lev)
    return res


def _cell_row(frame: pd.DataFrame, res: dict[str, Any], level: float) -> dict[str, Any]:
    cc: CloseoutCounts = res["counts"]
    point = cc.bounds == ("point",)
    pts = res["points"]
    ivs = [_interval(r, level) for r in res["boot"]]
    g_at = res["g_at"]
    ident = bool(res["identified"])
    row: dict[str, Any] = {
        "leverage": cc.leverage,
        "converged": res["converged"],
        "data": f"{duration_label(cc.step)} {cc.price_type}, {_data_span(frame)['first'][:10]} to "
        f"{_data_span(frame)['last'][:10]}",
        "resolution": "point" if point else "bounds",
        "identified": ident,
        "positions": cc.n_positions,
        "liquidations": float(cc.n_liq[:, g_at].sum()) if g_at is not None else 0.0,
        "trigger_bars": float(cc.trigger_bars[g_at]) if g_at is not None else 0.0,
        "bad_debt_events": float(cc.n_bad[-1][:, g_at].sum()) if g_at is not None else math.nan,
        "p_bad_debt": float(cc.rate(-1)[g_at]) if g_at is not None else math.nan,
        "mmr_raw": pts[0] if point and ident else math.nan,
        "mmr_lo": ivs[0][0] if point and ident else math.nan,
        "mmr_hi": ivs[0][1] if point and ident else math.nan,
        "p_infeasible": ivs[-1][2],
        "mmr_lower_bound": pts[0] if not point and ident else math.nan,
        # NaN upper bound with a lower bound: at the bar extreme no rate below 1/L covers
        "mmr_upper_bound": pts[-1] if not point and ident else math.nan,
        "grid_step": float(res["grid"][1] / res["grid"][0] - 1.0),
        "mm_to_im": (pts[-1] * cc.leverage) if ident else math.nan,
    }
    if g_at is not None:
        sf = cc.shortfall[-1][:, g_at].sum()
        ex = cc.exposure_years[:, g_at].sum()
        row["bad_debt_per_oi_year"] = float(sf / ex) if ex > 0 else math.nan
    else:
        row["bad_debt_per_oi_year"] = math.nan
    return row


def calibrate_closeout(
    bars: pd.DataFrame | Mapping[str, pd.DataFrame],
    *,
    tiers: TierTable | Mapping[str, TierTable],
    target: float = 0.005,
    delay: Any = "1min",
    side: Literal["long", "short", "both"] = "both",
    participation: float = 0.10,
    volume: Mapping[str, float] | None = None,
    impact_coefficient: float = 1.0,
    impact_exponent: float = 0.5,
    objective: Literal["probability", "budget"] = "probability",
    budget: float | None = None,
    im_bars: Mapping[str, pd.DataFrame] | None = None,
    im_horizon: Any = "8h",
    im_target: float = 0.01,
    funding: Mapping[str, pd.Series] | None = None,
    leverage: Literal["reference", "calibrated"] = "reference",
    max_mm_to_im: float = 1.0,
    max_iter: int = 8,
    cost_of_capital: float = 0.10,
    grid_size: int = 120,
    origin_every: int = 1,
    n_boot: int = 500,
    ci: float = 0.95,
    holdout: bool = True,
    seed: int | np.random.Generator = 0,
) -> CloseoutCalibration:
    r"""MMR per asset, side and bracket for a target P(bad debt | liquidation) (module docstring).

    Parameters
    ----------
    bars : DataFrame or mapping of str to DataFrame
        Per asset, mark (or perpetual last-price) bars as fine as the data allow — minute bars
        over crash windows (``MirrorSource().bars("BTC", "1m", "perp")``); split at gaps and
        at ``attrs["windows"]``. Bars coarser than the delay give bounds.
    tiers : TierTable or mapping of str to TierTable
        Reference brackets and their maximum leverage (e.g. ``binance_usdm_tiers()``).
    target : float, default 0.005
        :math:`p`, the bad-debt probability per liquidation, in (0, 0.5) (0.995, a confidence
        level in its place, is a ``ConfigError`` that suggests 0.005).
    delay : str or Timedelta, default "1min"
        :math:`\Delta_0`, the engine's base delay (venues do not publish it).
    side : {"long", "short", "both"}
    participation : float, default 0.10
        :math:`\rho`, the share of the perpetual's volume the close-out takes.
    volume : mapping of str to float, optional
        :math:`V` in USD per day per asset; default the median quote volume per bar of
        ``bars`` scaled to a day (stressed: the crash windows).
    impact_coefficient, impact_exponent : float
        :math:`Y`, :math:`\beta` of the square-root law.
    objective : {"probability", "budget"}
        Which constraint sets the rate; ``"budget"`` needs ``budget`` (expected bad debt per
        unit of open interest per year, e.g. 1e-4).
    im_bars : mapping of str to DataFrame, optional
        Bars for the initial margin's excursions (long history, e.g. hourly perp bars); default
        ``bars``.
    im_horizon : str, default "8h"
        :math:`H`, how long a position at maximum leverage must survive (one funding interval).
    im_target : float, default 0.01
        :math:`p_{IM}`, in (0, 0.5).
    funding : mapping of str to Series, optional
        Funding rates per asset (settlement time → rate) for the IM's drift.
    leverage : {"reference", "calibrated"}, default "reference"
        The leverage positions open at: the reference table's maximum (the population a venue
        has), halved until a rate below :math:`1/L` meets the target where none does; or
        ``"calibrated"``, the fixed point with the calibrated IM (module docstring).
    max_mm_to_im : float, default 1.0
        A rate is feasible at leverage :math:`L` when it is below this share of the initial
        margin :math:`1/L` (1.0: any rate that does not liquidate a position as it opens;
        0.5 asks IM to be at least twice MM, as CEXs set it, VENUES.md §1.7). The table's
        ``mm_to_im`` shows the share reached.
    max_iter : int, default 8
        Rounds of the leverage search.
    cost_of_capital : float, default 0.10
        Per year, for the capital cost of margin per unit of open interest.
    grid_size : int, default 120
        Rates per cell, log-spaced up to :math:`1/L` (the resolution of the answer).
    origin_every : int, default 1
        A position opens every ``origin_every`` bars.
    n_boot : int, default 500
        Day-block bootstrap replicates; 0 skips the intervals.
    ci : float, default 0.95
    holdout : bool, default True
        Leave-one-window-out check.
    seed : int or Generator, default 0
        Root of the bootstrap streams (one per asset, side and bracket, :func:`cell_seed`).

    Returns
    -------
    CloseoutCalibration

    Raises
    ------
    ConfigError
        Invalid target, delay, side, objective without budget, tiers or leverage.
    DataError
        Bars that are not bars.
    """
    p = check_target(target)
    level = _check_prob(ci, "ci", "0.95 gives 95% intervals")
    p_im = check_target(im_target, "im_target")  # 0.01: a 1% chance of reaching maintenance
    rho = _check_prob(participation, "participation", "0.10 takes 10% of the volume")
    if side not in ("long", "short", "both"):
        raise ConfigError(f"side must be 'long', 'short' or 'both' (got {side!r}).")
    mm_share = float(max_mm_to_im)
    if not (0.0 < mm_share <= 1.0):
        raise ConfigError(
            f"max_mm_to_im must be in (0, 1] (got {max_mm_to_im!r}); 0.5 asks IM >= 2 MM."
        )
    if leverage not in ("reference", "calibrated"):
        raise ConfigError(f"leverage must be 'reference' or 'calibrated' (got {leverage!r}).")
    if objective not in ("probability", "budget"):
        raise ConfigError(f"objective must be 'probability' or 'budget' (got {objective!r}).")
    if objective == "budget":
        if budget is None or not (math.isfinite(float(budget)) and float(budget) > 0):
            raise ConfigError(
                "objective='budget' needs budget > 0: the expected bad debt per unit of open "
                "interest per year, e.g. 1e-4."
            )
    d0 = parse_duration(delay, "delay")
    if d0 < pd.Timedelta(0):
        raise ConfigError(f"delay must be >= 0 (got {delay!r}).")
    for name, v in (("n_boot", n_boot), ("grid_size", grid_size), ("max_iter", max_iter)):
        if isinstance(v, bool) or not isinstance(v, int | np.integer) or v < 0:
            raise ConfigError(f"{name} must be a non-negative integer (got {v!r}).")
    if grid_size < 8:
        raise ConfigError(f"grid_size must be >= 8 (got {grid_size}).")
    by_asset = _bars_by_asset(bars)
    tabs = _tiers_by_asset(tiers, list(by_asset))
    im_src = dict(im_bars) if im_bars is not None else {a: f[-1] for a, f in by_asset.items()}
    sides = ["long", "short"] if side == "both" else [side]
    root = _root_entropy(seed)
    min_liq = math.ceil(round(1.0 / p, 6))
    vol_map = dict(volume) if volume is not None else {}

    rows: list[dict[str, Any]] = []
    oos_rows: list[dict[str, Any]] = []
    curves: list[pd.DataFrame] = []
    data_end = []
    for asset, frames in by_asset.items():
        table = tabs[asset]
        # the close-out's volume and volatility: the finest bars (the stressed windows)
        v_day, sigma_day = _stressed_market(frames[0], vol_map.get(asset))
        data_end.append(max(str(f.index[-1]) for f in frames))
        im_frame = im_src.get(asset)
        if im_frame is None:
            raise ConfigError(f"im_bars has no bars for {asset!r}.")
        fund = None if funding is None else funding.get(asset)
        ups = list(table.upper_bounds)
        lows = [0.0, *ups[:-1]]
        for sd in sides:
            exc = entry_excursions(im_frame, im_horizon, sd, funding=fund)  # type: ignore[arg-type]
            if exc.size < math.ceil(1 / p_im):
                raise InsufficientDataError(
                    f"{asset} {sd}: {exc.size} complete {im_horizon} windows for the initial "
                    f"margin, fewer than the {math.ceil(1 / p_im)} im_target={p_im:g} needs."
                )
            buf = float(np.quantile(exc.to_numpy(), 1.0 - p_im, method="inverted_cdf"))
            # trigger searches per frame, shared by the brackets (they differ in delay only)
            caches: list[dict[Any, np.ndarray]] = [{} for _ in frames]
            for b, (lo_b, up_b) in enumerate(zip(lows, ups, strict=True), start=1):
                size = up_b if math.isfinite(up_b) else lo_b
                ref_lev = float(table.max_leverage[b - 1])
                d_b = d0 + pd.Timedelta(seconds=size / (rho * v_day) * 86_400.0)
                iota = min(
                    0.5,
                    slippage_rate(
                        size,
                        asset,
                        adv=v_day,
                        volatility=sigma_day,
                        horizon=max(d_b, pd.Timedelta("1s")),
                        coefficient=impact_coefficient,
                        exponent=impact_exponent,
                    ),
                )
                row: dict[str, Any] = {
                    "asset": asset,
                    "side": sd,
                    "bracket": b,
                    "lower": lo_b,
                    "upper": up_b,
                    "size": size,
                    "reference_leverage": ref_lev,
                    "delay_seconds": d_b.total_seconds(),
                    "impact": iota,
                    "volume_usd_day": v_day,
                    "volatility_day": sigma_day,
                    "im_buffer": buf,
                    "im_windows": int(exc.size),
                    "funding_coverage": float(exc.attrs.get("funding_coverage", 0.0)),
                }
                chosen: tuple[pd.DataFrame, dict[str, Any]] | None = None
                for j, frame in enumerate(frames):
                    fit = _fixed_point(
                        frame,
                        side=sd,
                        ref_lev=ref_lev,
                        buf=buf,
                        max_iter=max_iter,
                        leverage=leverage,
                        max_mm_to_im=mm_share,
                        n_boot=n_boot,
                        seed=cell_seed(root, asset, sd, segments(frame)[0].step, b),
                        cell=dict(
                            delay=d_b,
                            impact=iota,
                            target=p,
                            objective=objective,
                            budget=budget,
                            grid_size=grid_size,
                            origin_every=origin_every,
                            min_liq=min_liq,
                            search_cache=caches[j],
                        ),
                    )
                    if fit is None:  # 1x: a position without leverage is not liquidated
                        break
                    if chosen is None or fit["identified"]:
                        chosen = (frame, fit)  # else the finest data's (unidentified) result
                    if fit["identified"]:
                        break
                if chosen is None:
                    row.update(leverage=ref_lev, resolution="none", identified=False)
                    rows.append(row)
                    continue
                frame, fit = chosen
                row.update(_cell_row(frame, fit, level))
                rows.append(row)
                cc = fit["counts"]
                cf = cc.frame()
                cf.insert(0, "bracket", b)
                cf.insert(0, "side", sd)
                cf.insert(0, "asset", asset)
                cf["leverage"] = cc.leverage
                cf["data"] = row["data"]
                curves.append(cf)
                if holdout:
                    oos_rows.extend(
                        _holdout(
                            frame, cc, fit["grid"], p, objective, budget, min_liq, asset, sd, b
                        )
                    )
    table_df = pd.DataFrame(rows)
    # monotone across brackets, per asset and side; the published figure
    pub = np.full(len(table_df), np.nan)
    conflict = np.zeros(len(table_df), dtype=bool)
    for _, g in table_df.groupby(["asset", "side"], sort=False):
        ix = g.index.to_numpy()
        # bounds rows publish no point (the data cannot identify one): only identified points
        raw = g["mmr_raw"].to_numpy(dtype=float)
        lo = g["mmr_lo"].to_numpy(dtype=float)
        hi = g["mmr_hi"].to_numpy(dtype=float)
        iso, conf = _monotone(raw, lo, hi)
        # a bracket the data cannot identify publishes at least the smaller brackets' rate
        pub[ix] = np.fmax.accumulate(np.where(np.isfinite(iso), iso, -np.inf))
        pub[ix] = np.where(np.isfinite(pub[ix]), pub[ix], np.nan)
        conflict[ix] = conf
    table_df["mmr"] = pub
    has_ci = table_df["mmr_lo"].notna() & table_df["mmr_hi"].notna() & table_df["mmr"].notna()
    inside = (table_df["mmr"] >= table_df["mmr_lo"] - 1e-15) & (
        table_df["mmr"] <= table_df["mmr_hi"] + 1e-15
    )
    # NA where there is no interval to be inside of (no bootstrap, bounds, not identified)
    table_df["inside_interval"] = pd.array(inside.where(has_ci), dtype="boolean")
    table_df["monotone_conflict"] = conflict
    table_df["imr"] = np.minimum(1.0, table_df["mmr"] + table_df["im_buffer"])
    lev_cap = np.floor(1.0 / table_df["imr"] + 1e-9)
    table_df["max_leverage"] = np.minimum(lev_cap, table_df["leverage"]).where(
        table_df["imr"].notna()
    )
    table_df["capital_cost"] = table_df["imr"] * float(cost_of_capital)
    oos = pd.DataFrame(oos_rows)
    oos_sum = _oos_summary(oos, p, table_df, float(cost_of_capital))
    return CloseoutCalibration(
        table=table_df,
        oos=oos,
        oos_summary=oos_sum,
        curves=pd.concat(curves, ignore_index=True) if curves else pd.DataFrame(),
        target=p,
        objective=objective,
        budget=None if budget is None else float(budget),
        params={
            "delay": str(d0),
            "participation": rho,
            "impact_coefficient": impact_coefficient,
            "impact_exponent": impact_exponent,
            "im_horizon": str(parse_duration(im_horizon, "im_horizon")),
            "im_target": p_im,
            "cost_of_capital": cost_of_capital,
            "grid_size": grid_size,
            "origin_every": origin_every,
            "n_boot": n_boot,
            "ci": level,
            "min_liquidations": min_liq,
            "volume": {a: float(v) for a, v in vol_map.items()},
            "data_end": max(data_end) if data_end else "",
            "data": {a: [_data_span(x) for x in f] for a, f in by_asset.items()},
        },
    )


def _data_span(frame: pd.DataFrame) -> dict[str, Any]:
    return {
        "first": str(frame.index[0]),
        "last": str(frame.index[-1]),
        "bars": len(frame),
        "price_type": str(frame.attrs.get("price_type", "unknown")),
    }


def _holdout(
    frame: pd.DataFrame,
    cc: CloseoutCounts,
    grid: np.ndarray,
    p: float,
    objective: str,
    budget: float | None,
    min_liq: float,
    asset: str,
    side: str,
    bracket: int,
) -> list[dict[str, Any]]:
    """Leave one window out: solve on the others, count the window's liquidations at it."""
    win = _windows_of(frame, cc.blocks)
    b = len(cc.bounds) - 1  # the conservative count where there are bounds
    out = []
    for w in pd.unique(win):
        inw = win == w
        if inw.all():
            continue
        k_in, n_in = cc.n_bad[b][~inw].sum(0), cc.n_liq[~inw].sum(0)
        if objective == "budget":
            assert budget is not None  # checked with the objective (calibrate_closeout)
            m = float(
                _solve_budget(
                    cc.shortfall[b][~inw].sum(0), cc.exposure_years[~inw].sum(0), grid, budget
                )
            )
        else:
            m = float(solve_rate(k_in, n_in, grid, p, min_liquidations=min_liq))
        row = {"asset": asset, "side": side, "bracket": bracket, "window": str(w), "mmr": m}
        if math.isfinite(m):
            g = int(np.searchsorted(grid, m))
            row["liquidations"] = float(cc.n_liq[inw, g].sum())
            row["bad_debt_events"] = float(cc.n_bad[b][inw, g].sum())
            row["shortfall"] = float(cc.shortfall[b][inw, g].sum())
            row["exposure_years"] = float(cc.exposure_years[inw, g].sum())
        else:
            row.update(liquidations=0.0, bad_debt_events=0.0, shortfall=0.0, exposure_years=0.0)
        out.append(row)
    return out


def _oos_summary(oos: pd.DataFrame, p: float, table: pd.DataFrame, coc: float) -> pd.DataFrame:
    if oos.empty:
        return pd.DataFrame()
    rows = []
    for (a, s, b), g in oos.groupby(["asset", "side", "bracket"], sort=False):
        n = int(g["liquidations"].sum())
        k = int(g["bad_debt_events"].sum())
        ex = float(g["exposure_years"].sum())
        t = table[(table["asset"] == a) & (table["side"] == s) & (table["bracket"] == b)]
        rows.append(
            {
                "asset": a,
                "side": s,
                "bracket": b,
                "windows": int(g.shape[0]),
                "infeasible_windows": int((~np.isfinite(g["mmr"])).sum()),
                # the bad debt clusters in the worst crash: how many windows exceed the target
                "windows_over_target": int((g["bad_debt_events"] > p * g["liquidations"]).sum()),
                "liquidations": n,
                "bad_debt_events": k,
                "rate": k / n if n else math.nan,
                "target": p,
                "pvalue": _equal_tailed_pvalue(k, n, p),
                "power_2x": binomial_power(n, p, min(1.0, 2 * p)),
                "bad_debt_per_liquidated": float(g["shortfall"].sum()) / n if n else math.nan,
                "bad_debt_per_oi_year": float(g["shortfall"].sum()) / ex if ex > 0 else math.nan,
                "capital_cost": float(t["imr"].iloc[0]) * coc if len(t) else math.nan,
            }
        )
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------- venue horizons
def _rule_leverage(rule: LiquidationRule) -> tuple[float, float]:
    m = float(rule.schedule.mmr[0])
    return m, math.floor(1.0 / (2.0 * m) + 1e-9)


def implied_closeout_horizon(
    bars: pd.DataFrame,
    rules: Sequence[LiquidationRule | str] | None = None,
    *,
    levels: Sequence[float] = (0.995, 0.999),
    delays: Sequence[Any] = IMPLIED_DELAYS,
    side: Literal["long", "short", "both"] = "both",
    origin_every: int = 1,
) -> pd.DataFrame:
    r"""The close-out delay at which each venue's tier-1 MMR meets a coverage level.

    For every rule, positions open at every bar close at the tier-1 leverage
    :math:`L = \lfloor 1/(2m_1) \rfloor` (IM = 2 MM, VENUES.md §1.7; 125× for Binance's 0.40%,
    40× for Hyperliquid's 1.25%) and are liquidated at the rule's tier-1 rate :math:`m_1` after
    each delay of ``delays``. The implied horizon at level :math:`1-p` is the largest delay up to
    which :math:`\hat P(\text{bad debt} \mid \text{liquidation}) \le p` at every grid delay: the
    answer lies between that delay and the next (``horizon_lo``, ``horizon_hi``) — the grid is
    the resolution; on 1-minute bars nothing below a minute is identified except the instant
    close-out (``0s``).

    Returns
    -------
    DataFrame
        Per rule, side and level: ``venue``, ``mmr``, ``leverage``, ``level``,
        ``horizon_lo``, ``horizon_hi`` (Timedelta, NaT where the bound is open),
        ``label`` (e.g. "2min–3min", "< 1min", "≥ 60min") and the rate at every delay.
    """
    from riskmodels.liquidation import available_liquidation_rules

    names = available_liquidation_rules() if rules is None else list(rules)
    objs = [LiquidationRule.load(r) if isinstance(r, str) else r for r in names]
    ds = [parse_duration(d, "delay") for d in delays]
    if not ds or any(b <= a for a, b in itertools.pairwise(ds)):
        raise ConfigError(f"delays must be increasing (got {list(delays)!r}).")
    lv = [_check_prob(v, "levels", "0.995") for v in levels]
    sides: list[Literal["long", "short"]] = ["long", "short"] if side == "both" else [side]
    step = segments(bars)[0].step
    usable = [d for d in ds if d == pd.Timedelta(0) or d >= step]
    if not usable:
        raise ConfigError(f"no delay in {list(delays)!r} is 0 or at least the {step} bars.")
    rows = []
    for rule in objs:
        m, lev = _rule_leverage(rule)
        for sd in sides:
            rates = []
            for d in usable:
                cc = closeout_counts(
                    bars,
                    side=sd,
                    leverage=lev,
                    mmr=[m],
                    delay=d,
                    origin_every=origin_every,
                )
                rates.append(float(cc.rate()[0]))
            r = np.array(rates)
            for level in lv:
                q = 1.0 - level
                ok = np.logical_and.accumulate(r <= q)
                n_ok = int(ok.sum())
                lo = usable[n_ok - 1] if n_ok else pd.NaT
                hi = usable[n_ok] if n_ok < len(usable) else pd.NaT
                if n_ok == 0:
                    label = (
                        f"< {duration_label(usable[0])}"
                        if usable[0] > pd.Timedelta(0)
                        else "none (gaps)"
                    )
                elif n_ok == len(usable):
                    label = f"≥ {duration_label(usable[-1])}"
                elif lo == pd.Timedelta(0):
                    label = f"< {duration_label(hi)}"  # nothing between 0 and one bar is identified
                else:
                    label = f"{duration_label(lo)}–{duration_label(hi)}"
                row = {
                    "rule": rule.name,
                    "venue": rule.venue,
                    "side": sd,
                    "mmr": m,
                    "leverage": lev,
                    "level": level,
                    "horizon_lo": lo,
                    "horizon_hi": hi,
                    "label": label,
                }
                for d, v in zip(usable, r, strict=True):
                    row[f"p_bad_debt@{duration_label(d)}"] = v
                rows.append(row)
    return pd.DataFrame(rows)


def closeout_sensitivity(
    bars: pd.DataFrame,
    *,
    leverage: float,
    delays: Sequence[Any] = ("0s", "1min", "2min", "5min", "10min", "30min"),
    targets: Sequence[float] = (0.01, 0.005, 0.001),
    side: Literal["long", "short"] = "long",
    impact: float = 0.0,
    grid_size: int = 120,
    origin_every: int = 1,
) -> pd.DataFrame:
    """Calibrated MMR at one leverage over delays × targets (the Δ × target figure).

    Returns
    -------
    DataFrame
        ``delay`` (Timedelta), ``delay_minutes``, ``target``, ``mmr`` (NaN: infeasible below
        1/leverage), ``resolution``, and for bounds ``mmr_lower_bound``/``mmr_upper_bound``.
    """
    lev = float(leverage)
    grid = _grid(lev, grid_size)
    ps = [check_target(t) for t in targets]
    rows = []
    for d in delays:
        dd = parse_duration(d, "delay")
        cc = closeout_counts(
            bars, side=side, leverage=lev, mmr=grid, delay=dd, impact=impact,
            origin_every=origin_every,
        )  # fmt: skip
        n = cc.n_liq.sum(0)
        for p in ps:
            need = math.ceil(round(1.0 / p, 6))
            vals = [
                float(solve_rate(cc.n_bad[b].sum(0), n, grid, p, min_liquidations=need))
                for b in range(len(cc.bounds))
            ]
            point = cc.bounds == ("point",)
            rows.append(
                {
                    "delay": dd,
                    "delay_minutes": dd.total_seconds() / 60.0,
                    "target": p,
                    "resolution": "point" if point else "bounds",
                    "mmr": vals[0] if point else math.nan,
                    "mmr_lower_bound": math.nan if point else vals[0],
                    "mmr_upper_bound": math.nan if point else vals[-1],
                }
            )
    return pd.DataFrame(rows)
