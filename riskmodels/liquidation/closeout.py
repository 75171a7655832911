r"""The close-out gap: what a liquidated position loses between the trigger and the fill.

A position of notional :math:`N` opened at price :math:`e` with leverage :math:`L` (isolated
wallet :math:`N/L`) and maintenance rate :math:`m` is liquidated when the mark reaches

.. math::

    LP = e\,\frac{1 - s/L}{1 - s\,m}, \qquad BP = e\,(1 - s/L) = LP\,(1 - s\,m)

(side :math:`s = \pm 1`; Binance's isolated formula with no maintenance amount,
:mod:`riskmodels.liquidation.engine`). The engine fills the close-out after the delay
:math:`\Delta` at :math:`c = M_{\tau+\Delta}(1 - s\,\iota)`; the fill is **bad debt** when it is
beyond the bankruptcy price, :math:`s(c - BP) < 0`, that is when the adverse move from the
trigger, impact included, exceeds :math:`m`:

.. math:: \text{bad debt} \iff s\,\Bigl(1 - \frac{c}{LP}\Bigr) > m.

So the maintenance rate is the margin for the **close-out gap**, and
:math:`P(\text{bad debt} \mid \text{liquidation})` at rate :math:`m` is the share of liquidated
positions whose gap exceeds :math:`m`. The gap is measured where positions are actually
liquidated: the trigger is the first passage of the mark through :math:`LP`, so the states are
the ones in which accounts hit maintenance (more volatile than average), and they depend on
:math:`m` and :math:`L`.

:func:`closeout_counts` opens a position at every ``origin_every``-th bar close of every
gap-free segment (a crash window, or a simulated path), follows it with the engine's
first-passage search (:class:`~riskmodels.liquidation._kernels.MinTable`) and close-out
conventions (:func:`~riskmodels.liquidation.engine.trigger_price`,
:func:`~riskmodels.liquidation.engine.closeout_fill`), for a whole grid of rates at once, and
returns per block (the UTC day of the trigger on bars, the path on a simulated grid) and rate:
liquidations, bad-debt events, the bad debt per unit of notional and the exposure (position
time) — what a block bootstrap over days needs, so that resampling never re-runs the search.
:func:`closeout_events` gives the same per position at one rate (for inspection, and the twin
test against :func:`~riskmodels.liquidation.simulate_liquidations`).

Positions are followed inside their segment only: one never triggered by the segment's end is
not a liquidation; one whose fill falls past the end is **censored** (counted apart, not in the
rate). With bars coarser than the delay the fill is not identified and every count comes as a
lower bound (instant close-out at the trigger price) and an upper bound (the adverse extreme of
the bars the fill can fall in), as in the engine.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from riskmodels._time import bar_frequency
from riskmodels.exceptions import ConfigError, DataError
from riskmodels.liquidation._kernels import MinTable
from riskmodels.liquidation.engine import MarkPaths, closeout_fill, trigger_price
from riskmodels.liquidation.rules import parse_duration

__all__ = [
    "CloseoutCounts",
    "closeout_counts",
    "closeout_events",
    "segments",
]

#: Lanes (positions × rates) per vectorized search: bounds the memory of one call.
_LANES = 100_000
_YEAR = pd.Timedelta(days=365.25)


# ----------------------------------------------------------------------------- inputs
def segments(prices: Any, *, step: Any = None) -> list[MarkPaths]:
    """Gap-free pieces of a price input, each a one-path :class:`MarkPaths`.

    A bar frame is split at its gaps (the mirror's stitched crash windows come apart into their
    windows; a missing bar is never filled); a frame with ``attrs["windows"]`` is also split at
    the window bounds. A simulated array ``(n_paths, n_steps)`` gives one piece per path.
    """
    if isinstance(prices, MarkPaths):
        mp = prices
        if mp.n_paths == 1:
            return [mp]
        return [_one_path(mp, p) for p in range(mp.n_paths)]
    if isinstance(prices, pd.DataFrame):
        if prices.empty:
            raise DataError("the price frame is empty.")
        idx = prices.index
        if not isinstance(idx, pd.DatetimeIndex) or idx.tz is None:
            raise DataError(
                "the price frame needs a tz-aware UTC DatetimeIndex of bar open times "
                "(frame.tz_localize('UTC') if the times are UTC)."
            )
        if not idx.is_monotonic_increasing or idx.has_duplicates:
            raise DataError("the price frame's index must be sorted and unique.")
        ns = idx.as_unit("ns").asi8
        if len(ns) < 2:
            raise DataError("the price frame needs at least 2 bars.")
        d = np.diff(ns)
        step_ns = bar_frequency(idx).value  # the package's one rule: gaps are cut below
        cuts = set((np.flatnonzero(d != step_ns) + 1).tolist())
        for w in prices.attrs.get("windows") or []:
            for bound in (w[0],):
                i = int(idx.searchsorted(pd.Timestamp(bound)))
                if 0 < i < len(idx):
                    cuts.add(i)
        edges = [0, *sorted(cuts), len(idx)]
        out = []
        for a, b in itertools.pairwise(edges):
            if b - a >= 2:
                piece = prices.iloc[a:b]
                piece.attrs = {k: v for k, v in prices.attrs.items() if k != "windows"}
                out.append(MarkPaths.from_input(piece))
        if not out:
            raise DataError("the price frame has no gap-free piece of at least 2 bars.")
        return out
    mp = MarkPaths.from_input(prices, step=step)
    return [_one_path(mp, p) for p in range(mp.n_paths)]


def _one_path(mp: MarkPaths, p: int) -> MarkPaths:
    sl = slice(p, p + 1)
    vol = None if mp.volume is None else mp.volume[sl]
    return MarkPaths(
        mp.open[sl], mp.high[sl], mp.low[sl], mp.close[sl], mp.times, mp.step, mp.kind,
        mp.price_type, vol,
    )  # fmt: skip


@dataclass(frozen=True)
class _Flat:
    """Every gap-free piece in one series: one sparse table serves all (a lane stops at its
    piece's end, so a search never runs into the next piece)."""

    mp: MarkPaths
    start: np.ndarray  # first bar of each piece
    end: np.ndarray  # one past its last bar
    row: np.ndarray  # block row of every bar
    labels: pd.Index  # block labels


def _flatten(pieces: list[MarkPaths]) -> _Flat:
    steps = {p.step for p in pieces}
    if len(steps) > 1:
        raise DataError(f"the pieces have different bar lengths {sorted(steps)}: pass one.")
    grid = pieces[0].kind == "grid"
    cat = lambda f: np.concatenate([f(p)[0] for p in pieces])[None, :]  # noqa: E731
    sizes = np.array([p.n_steps for p in pieces], dtype=np.int64)
    end = np.cumsum(sizes)
    start = end - sizes
    if grid:
        keys = np.repeat(np.arange(len(pieces)), sizes)
    else:
        keys = np.concatenate([p.times.as_unit("ns").asi8 // 86_400_000_000_000 for p in pieces])
    if grid:  # the path is the block
        uniq, row = np.arange(len(pieces)), keys
    else:
        uniq, row = np.unique(keys, return_inverse=True)
    labels = (
        pd.Index(uniq, name="path")
        if grid
        else pd.Index([str(pd.Timestamp(int(v), unit="D").date()) for v in uniq], name="day")
    )
    if grid:  # every path on the same grid
        times = pd.TimedeltaIndex(np.tile(pieces[0].times.to_numpy(), len(pieces)))
    elif len(pieces) > 1:
        times = pieces[0].times.append([p.times for p in pieces[1:]])
    else:
        times = pieces[0].times
    mp = MarkPaths(
        cat(lambda p: p.open), cat(lambda p: p.high), cat(lambda p: p.low),
        cat(lambda p: p.close), times, pieces[0].step, pieces[0].kind, pieces[0].price_type,
    )  # fmt: skip
    return _Flat(mp, start, end, row.astype(np.int64), labels)


def _tables(flat: _Flat) -> tuple[MinTable, MinTable]:
    """Sparse tables of lows and negated highs, as deep as the longest piece needs."""
    span = int((flat.end - flat.start).max())
    return MinTable(flat.mp.low[0], span), MinTable(-flat.mp.high[0], span)


def _origins(flat: _Flat, every: int) -> tuple[np.ndarray, np.ndarray]:
    """Entry bars (every ``every``-th bar close, not a piece's last bar) and their piece ends."""
    org = [
        np.arange(a, b - 1, every, dtype=np.int64)
        for a, b in zip(flat.start, flat.end, strict=True)
    ]
    ends = [np.full(o.size, b, dtype=np.int64) for o, b in zip(org, flat.end, strict=True)]
    return np.concatenate(org), np.concatenate(ends)


def _side(side: Any) -> int:
    if side in ("long", 1, 1.0):
        return 1
    if side in ("short", -1, -1.0):
        return -1
    raise ConfigError(f"side must be 'long' or 'short' (got {side!r}).")


def _check_leverage(leverage: Any) -> float:
    try:
        lev = float(leverage)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"leverage must be a number > 1 (got {leverage!r}).") from exc
    if not (math.isfinite(lev) and lev > 1.0):
        raise ConfigError(
            f"leverage must be finite and > 1 (got {leverage!r}): at 1x a long is never "
            "liquidated (its bankruptcy price is 0)."
        )
    return lev


def _check_mmr(mmr: Any, lev: float) -> np.ndarray:
    m = np.atleast_1d(np.asarray(mmr, dtype="float64"))
    if m.ndim != 1 or m.size == 0 or not np.isfinite(m).all() or (m <= 0).any():
        raise ConfigError(f"mmr must be positive finite rates (got {mmr!r}).")
    if (m >= 1.0 / lev).any():
        raise ConfigError(
            f"an mmr of {m.max():g} is at or above the initial margin 1/leverage = {1 / lev:g}: "
            "the position would open already in liquidation. Use rates below 1/leverage."
        )
    return m


def _resolution(res: str, mp: MarkPaths, delay: pd.Timedelta) -> list[str]:
    if res not in ("auto", "point", "bounds"):
        raise ConfigError(f"resolution must be 'auto', 'point' or 'bounds' (got {res!r}).")
    coarse = mp.kind == "bars" and pd.Timedelta(0) < delay < mp.step
    if res == "point" and coarse:
        raise ConfigError(
            f"the delay {delay} is shorter than the {mp.step} bars, so the bars cannot identify "
            "the close-out price: pass resolution='bounds' (or 'auto'), or finer bars."
        )
    if res == "bounds" and mp.kind == "grid":
        raise ConfigError("bounds apply to bars; simulated grids are monitored at their points.")
    if res == "bounds" or (res == "auto" and coarse):
        return ["instant", "extreme"]
    return ["point"]


# ----------------------------------------------------------------------------- the search
def _lanes(
    flat: _Flat,
    tables: tuple[MinTable, MinTable],
    origins: np.ndarray,
    ends: np.ndarray,
    s: int,
    lev: float,
    m: np.ndarray,
    kd: int,
    impact: float,
    mode: str,
    found: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Trigger and fill of positions opened at ``origins`` (bar closes) for each rate in ``m``.

    ``found``: the first-passage bars of these lanes when already searched (they depend on
    neither the delay, the impact nor the mode); ``out["found"]`` returns them.

    Lanes are origin-major: lane ``i * len(m) + g`` is origin ``i`` at rate ``m[g]``; a lane's
    search and fill stop at its piece's end ``ends[i]``.
    """
    mp = flat.mp
    T = mp.n_steps
    G = m.size
    e = np.repeat(mp.close[0, origins], G)
    end = np.repeat(ends, G)
    mm = np.tile(m, origins.size)
    lp = e * (1.0 - s / lev) / (1.0 - s * mm)
    bp = e * (1.0 - s / lev)
    start = np.repeat(origins + 1, G)
    lo_t, hi_t = tables
    if found is None:
        found = lo_t.first_at_or_below(start, lp) if s > 0 else hi_t.first_at_or_below(start, -lp)
    idx = found
    hit = idx < end
    idx = np.where(hit, idx, end)
    sel = np.flatnonzero(hit)
    path = np.zeros(sel.size, dtype=np.int64)
    side = np.full(sel.size, float(s))
    p_trig = trigger_price(mp, path, idx[sel], lp[sel], side)
    kds = np.full(sel.size, kd, dtype=np.int64)

    def extreme(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        b = np.minimum(b, T - 1)
        return lo_t.range_min(a, b) if s > 0 else -hi_t.range_min(a, b)

    f_at, c0 = closeout_fill(mp, mode, path, idx[sel], kds, p_trig, side, extreme)
    c = c0 * (1.0 - s * impact)
    n = idx.size
    out: dict[str, np.ndarray] = {"idx": idx, "hit": hit, "lp": lp, "bp": bp, "e": e}
    out["found"] = found
    out["p_trig"] = np.full(n, np.nan)
    out["p_trig"][sel] = p_trig
    out["fill"] = np.full(n, np.nan)
    out["fill"][sel] = c
    out["fill_at"] = end.copy()
    out["fill_at"][sel] = f_at
    out["censored"] = hit & (out["fill_at"] >= end)
    # bad debt per unit of entry notional: s (BP - c) / e, where positive
    short = np.zeros(n)
    short[sel] = np.maximum(s * (bp[sel] - c) / e[sel], 0.0)
    out["shortfall"] = short
    return out


@dataclass(frozen=True, kw_only=True)
class CloseoutCounts:
    """Liquidations and bad debt per block and rate (:func:`closeout_counts`).

    Attributes
    ----------
    mmr : array (G,)
        The rates.
    blocks : Index (D,)
        Block labels: UTC days of the trigger (bars), path numbers (grid).
    bounds : tuple of str
        ``("point",)``, or ``("instant", "extreme")`` (lower, upper bound) when the bars are
        coarser than the delay.
    n_liq : array (D, G)
        Liquidations (trigger inside the segment, fill identified), by the block of the
        trigger.
    n_bad, shortfall : array (B, D, G)
        Bad-debt events and bad debt per unit of notional, per bound.
    exposure_years : array (D, G)
        Position-years from entry to the trigger (or the segment's end), by the block of the
        entry: the open interest × time the bad debt accrued over.
    n_censored : array (G,)
        Liquidations whose fill falls past the segment's end (left out).
    n_positions : int
    trigger_bars : array (G,)
        Distinct (segment, trigger bar) pairs: how many separate market states the
        liquidations come from (positions opened a minute apart trigger together).
    side, leverage, delay, step, kind, price_type, impact
        What was asked, and the data's bar length, kind and price type.
    """

    mmr: np.ndarray
    blocks: pd.Index
    bounds: tuple[str, ...]
    n_liq: np.ndarray
    n_bad: np.ndarray
    shortfall: np.ndarray
    exposure_years: np.ndarray
    n_censored: np.ndarray
    n_positions: int
    trigger_bars: np.ndarray
    side: str
    leverage: float
    delay: pd.Timedelta
    step: pd.Timedelta
    kind: str
    price_type: str
    impact: float

    def rate(self, bound: int = -1) -> np.ndarray:
        """Pooled :math:`P(\\text{bad debt} \\mid \\text{liquidation})` per rate (NaN: none)."""
        n = self.n_liq.sum(axis=0)
        k = self.n_bad[bound].sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(n > 0, k / np.maximum(n, 1), np.nan)

    def frame(self) -> pd.DataFrame:
        """One row per rate: liquidations, bad-debt events and rate per bound."""
        out = pd.DataFrame({"mmr": self.mmr, "liquidations": self.n_liq.sum(axis=0)})
        out["trigger_bars"] = self.trigger_bars
        out["censored"] = self.n_censored
        for b, name in enumerate(self.bounds):
            tag = "" if name == "point" else f"_{name}"
            out[f"bad_debt_events{tag}"] = self.n_bad[b].sum(axis=0)
            out[f"p_bad_debt{tag}"] = self.rate(b)
        return out


def _prepare(
    prices: Any,
    side: Any,
    leverage: Any,
    delay: Any,
    impact: Any,
    origin_every: Any,
    resolution: str,
    step: Any,
) -> tuple[list[MarkPaths], int, float, pd.Timedelta, float, int, list[str]]:
    segs = segments(prices, step=step)
    s = _side(side)
    lev = _check_leverage(leverage)
    d = parse_duration(delay, "delay")
    if d < pd.Timedelta(0):
        raise ConfigError(f"delay must be >= 0 (got {delay!r}).")
    imp = float(impact)
    if not (math.isfinite(imp) and 0.0 <= imp < 1.0):
        raise ConfigError(f"impact must be a cost in [0, 1) per unit of notional (got {impact!r}).")
    if isinstance(origin_every, bool) or not isinstance(origin_every, int | np.integer):
        raise ConfigError(f"origin_every must be an integer >= 1 (got {origin_every!r}).")
    if origin_every < 1:
        raise ConfigError(f"origin_every must be >= 1 (got {origin_every!r}).")
    steps = {sg.step for sg in segs}
    if len(steps) > 1:
        raise DataError(f"the pieces have different bar lengths {sorted(steps)}: pass one.")
    modes = _resolution(resolution, segs[0], d)
    return segs, s, lev, d, imp, int(origin_every), modes


def _count(cell: np.ndarray, weight: np.ndarray | None, size: int) -> np.ndarray:
    """Counts (or weighted sums) per flat (block, rate) cell, as a (blocks, rates) array's
    ravel; ``np.bincount`` rather than ``np.add.at`` (several times faster)."""
    return np.bincount(cell, weights=weight, minlength=size).astype("float64")


def _kd(delay: pd.Timedelta, step: pd.Timedelta) -> int:
    r = delay / step
    return math.ceil(r - 1e-12) if r > 0 else 0


def closeout_counts(
    prices: Any,
    *,
    side: Literal["long", "short"],
    leverage: float,
    mmr: Sequence[float] | np.ndarray,
    delay: Any,
    impact: float = 0.0,
    origin_every: int = 1,
    resolution: Literal["auto", "point", "bounds"] = "auto",
    step: Any = None,
    search_cache: dict[Any, np.ndarray] | None = None,
) -> CloseoutCounts:
    r"""Liquidations and bad debt of positions opened along the prices, for a grid of rates.

    Parameters
    ----------
    prices : DataFrame, array or MarkPaths
        Mark-price bars (split at gaps and at ``attrs["windows"]``, :func:`segments`), or
        simulated paths ``(n_paths, n_steps)`` with ``step``.
    side : {"long", "short"}
    leverage : float
        :math:`L` (> 1): every position opens with wallet :math:`N/L`.
    mmr : sequence of float
        The rates :math:`m` to evaluate, each below :math:`1/L`.
    delay : str or Timedelta
        :math:`\Delta`, trigger to fill (engine delay plus the time to sell the order).
    impact : float, default 0.0
        :math:`\iota`, the close-out cost per unit of notional (module docstring).
    origin_every : int, default 1
        A position opens at every ``origin_every``-th bar close.
    resolution : {"auto", "point", "bounds"}
        As in :func:`~riskmodels.liquidation.simulate_liquidations`.
    step : str or Timedelta
        Grid step of simulated paths.
    search_cache : dict, optional
        The trigger bars depend on neither the delay nor the impact: pass the same dict to
        calls on the **same prices** (several delays, brackets) to search once. Keyed by
        side, leverage, rates and entries; never share one across different prices.

    Returns
    -------
    CloseoutCounts

    Raises
    ------
    ConfigError
        An unknown side, leverage ≤ 1, a rate at or above :math:`1/L`, a negative delay or an
        impact outside [0, 1).
    DataError
        Prices that are not bars or paths, hold NaN or inconsistent bars.
    """
    segs, s, lev, d, imp, every, modes = _prepare(
        prices, side, leverage, delay, impact, origin_every, resolution, step
    )
    m = _check_mmr(mmr, lev)
    G, B = m.size, len(modes)
    flat = _flatten(segs)
    T = flat.mp.n_steps
    kd = _kd(d, flat.mp.step)
    D = len(flat.labels)
    n_liq = np.zeros(D * G)
    n_bad = np.zeros((B, D * G))
    shortfall = np.zeros((B, D * G))
    exposure = np.zeros(D * G)
    n_cens = np.zeros(G)
    origins, ends = _origins(flat, every)
    n_pos = origins.size
    step_years = flat.mp.step / _YEAR
    g_all = np.arange(G)
    rows = flat.row
    tables = _tables(flat)
    seen = np.zeros(T * G, dtype=bool)  # (trigger bar, rate) pairs with a liquidation
    chunk = max(1, _LANES // G)
    for a in range(0, n_pos, chunk):
        org, end = origins[a : a + chunk], ends[a : a + chunk]
        key = (s, lev, m.tobytes(), every, a)
        found = None if search_cache is None else search_cache.get(key)
        res = []
        for md in modes:
            res.append(_lanes(flat, tables, org, end, s, lev, m, kd, imp, md, found))
            found = res[-1]["found"]
        if search_cache is not None:
            search_cache[key] = res[-1]["found"]  # found, never None here
        r0 = res[0]
        g_idx = np.tile(g_all, org.size)
        ok = r0["hit"].copy()
        for r in res:  # a fill past the piece's end is censored (in either bound)
            ok &= ~r["censored"]
        n_cens += np.bincount(g_idx[r0["hit"] & ~ok], minlength=G)
        cell = rows[np.minimum(r0["idx"], T - 1)] * G + g_idx  # (block of the trigger, rate)
        n_liq += _count(cell[ok], None, D * G)
        # exposure: entry to the trigger (or the piece's last bar), by the entry's block
        o_rep = np.repeat(org, G)
        stop = np.where(r0["hit"], r0["idx"], np.repeat(end, G) - 1)
        exposure += _count(rows[o_rep] * G + g_idx, (stop - o_rep) * step_years, D * G)
        for b, r in enumerate(res):
            bad = ok & (r["shortfall"] > 0)
            n_bad[b] += _count(cell[bad], None, D * G)
            shortfall[b] += _count(cell[ok], r["shortfall"][ok], D * G)
        seen[r0["idx"][ok] * G + g_idx[ok]] = True
    trig_bars = seen.reshape(T, G).sum(axis=0).astype("float64")
    if n_pos == 0:
        raise DataError("no piece of the prices is long enough to open a position.")
    return CloseoutCounts(
        mmr=m,
        blocks=flat.labels,
        bounds=tuple(modes),
        n_liq=n_liq.reshape(D, G),
        n_bad=n_bad.reshape(B, D, G),
        shortfall=shortfall.reshape(B, D, G),
        exposure_years=exposure.reshape(D, G),
        n_censored=n_cens,
        n_positions=int(n_pos),
        trigger_bars=trig_bars,
        side="long" if s > 0 else "short",
        leverage=lev,
        delay=d,
        step=flat.mp.step,
        kind=flat.mp.kind,
        price_type=flat.mp.price_type,
        impact=imp,
    )


def closeout_events(
    prices: Any,
    *,
    side: Literal["long", "short"],
    leverage: float,
    mmr: float,
    delay: Any,
    impact: float = 0.0,
    origin_every: int = 1,
    resolution: Literal["auto", "point", "bounds"] = "auto",
    step: Any = None,
) -> pd.DataFrame:
    """Every position of :func:`closeout_counts` at one rate, one row per position and bound.

    Returns
    -------
    DataFrame
        ``segment``, ``bound``, ``entry_time``, ``entry_price``, ``liquidation_price``,
        ``bankruptcy_price``, ``triggered``, ``trigger_time``, ``trigger_price``,
        ``fill_time``, ``fill_price`` (after impact), ``censored``, ``gap`` (the adverse
        move from the liquidation price to the fill, :math:`s(1 - c/LP)`), ``bad_debt``
        (per unit of notional).
    """
    segs, s, lev, d, imp, every, modes = _prepare(
        prices, side, leverage, delay, impact, origin_every, resolution, step
    )
    m = _check_mmr(mmr, lev)[:1]
    flat = _flatten(segs)
    T = flat.mp.n_steps
    kd = _kd(d, flat.mp.step)
    origins, ends = _origins(flat, every)
    piece = np.searchsorted(flat.end, origins, side="right")
    tables = _tables(flat)
    tt = flat.mp.times
    frames = []
    for md in modes:
        r = _lanes(flat, tables, origins, ends, s, lev, m, kd, imp, md)
        frames.append(
            pd.DataFrame(
                {
                    "segment": piece,
                    "bound": md,
                    "entry_time": tt[origins],
                    "entry_price": r["e"],
                    "liquidation_price": r["lp"],
                    "bankruptcy_price": r["bp"],
                    "triggered": r["hit"],
                    "trigger_time": tt[np.minimum(r["idx"], T - 1)].where(r["hit"]),
                    "trigger_price": r["p_trig"],
                    "fill_time": tt[np.minimum(r["fill_at"], T - 1)].where(
                        r["hit"] & ~r["censored"]
                    ),
                    "fill_price": r["fill"],
                    "censored": r["censored"],
                    "gap": s * (1.0 - r["fill"] / r["lp"]),
                    "bad_debt": np.where(r["hit"], r["shortfall"], np.nan),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)
