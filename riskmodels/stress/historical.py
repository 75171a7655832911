"""Historical stress scenarios: named crash windows and a worst-window detector.

Named events (:data:`EVENTS`, UTC windows, bar open times inclusive)

=================  =======================  =======================  =====================================
name               start                    end                      what
=================  =======================  =======================  =====================================
``2020-03-12``     2020-03-12 00:00         2020-03-13 23:59         COVID "Black Thursday"
``2021-05-19``     2021-05-19 00:00         2021-05-19 23:59         China mining/leverage crash
``luna-2022-05``   2022-05-07 00:00         2022-05-12 23:59         Terra/LUNA and UST depeg
``ftx-2022-11``    2022-11-06 00:00         2022-11-10 23:59         FTX collapse
``2024-08-05``     2024-08-04 00:00         2024-08-05 23:59         yen carry-trade unwind
``2025-10-10``     2025-10-10 00:00         2025-10-11 23:59         tariff crash; alt wicks at 21:00 UTC
=================  =======================  =======================  =====================================

Data (the mirror; PROVENANCE.md §2) — :func:`historical_stress` takes, per asset, the finest
series that covers the whole window, in this order: Binance USDⓈ-M perp 1h (``markettrend``
2020-01 → 2024-04 for BTC/ETH/SOL/BNB/DOGE/LINK/AVAX; ``quant-strategy-river`` ETH/BNB/XRP
2020-03 → 2026-03; ``gravestone-data`` the ten majors 2025-09 → 2026-03), Binance spot 1h,
perp 4h (``gravestone-data`` 2024-02 →), spot 4h (``wave-structure-engine``), spot 1d; and it
records which one served each asset in ``meta["data"]``.

Closes and wicks
----------------
A crash measured on bar closes misses the intrabar wicks that trigger liquidations: on
2025-10-10 BTC fell 9.45% peak-to-trough on hourly closes against 17.1% on the wick, and the
alts 25–28% against 64–71%. Every window is therefore measured both ways
(:data:`MEASURES`; ``meta["moves"]`` of :func:`historical_stress` and the table of
:func:`historical_moves` hold them side by side):

=========================  ==================================================================
``close_to_close``         last close in the window over the close before it
``peak_to_trough``         deepest drawdown of closes (from the close before the window)
``wick_low``               lowest low in the window over the close before it
``wick_high``              highest high in the window over the close before it
``wick_peak_to_trough``    deepest low below the highest earlier high (or the close before)
=========================  ==================================================================
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from riskmodels._time import bar_frequency, horizon_bars
from riskmodels._typing import DurationLike
from riskmodels.data.base import file_records
from riskmodels.exceptions import ConfigError, DataError, DataNotFoundError, InsufficientDataError
from riskmodels.scenarios.base import Scenarios

if TYPE_CHECKING:
    from riskmodels.data.loaders import QualityPolicy

__all__ = [
    "EVENTS",
    "FREQ_PREFERENCE",
    "MEASURES",
    "historical_moves",
    "historical_stress",
    "worst_windows",
]

#: Named crash windows: name -> (start, end, description). UTC, bar open times inclusive.
EVENTS: dict[str, tuple[str, str, str]] = {
    "2020-03-12": ("2020-03-12 00:00", "2020-03-13 23:59", "COVID Black Thursday"),
    "2021-05-19": ("2021-05-19 00:00", "2021-05-19 23:59", "China mining / leverage crash"),
    "luna-2022-05": ("2022-05-07 00:00", "2022-05-12 23:59", "Terra/LUNA collapse, UST depeg"),
    "ftx-2022-11": ("2022-11-06 00:00", "2022-11-10 23:59", "FTX collapse"),
    "2024-08-05": ("2024-08-04 00:00", "2024-08-05 23:59", "yen carry-trade unwind"),
    "2025-10-10": ("2025-10-10 00:00", "2025-10-11 23:59", "tariff crash, alt wicks 21:00 UTC"),
}

#: (freq, market) tried in order: the finest series covering the window wins.
FREQ_PREFERENCE: tuple[tuple[str, str], ...] = (
    ("1h", "perp"),
    ("1h", "spot"),
    ("4h", "perp"),
    ("4h", "spot"),
    ("1d", "spot"),
)

_STEP = {"1h": pd.Timedelta("1h"), "4h": pd.Timedelta("4h"), "1d": pd.Timedelta("1D")}

#: Window measures (module docstring): on closes, then on wicks (lows and highs).
MEASURES: tuple[str, ...] = (
    "close_to_close",
    "peak_to_trough",
    "wick_low",
    "wick_high",
    "wick_peak_to_trough",
)
_WICK = {"wick_low", "wick_high", "wick_peak_to_trough"}


def _event(event: str) -> tuple[pd.Timestamp, pd.Timestamp, str]:
    if event not in EVENTS:
        raise ConfigError(f"unknown event {event!r}; choose one of {sorted(EVENTS)}.")
    s, e, d = EVENTS[event]
    return pd.Timestamp(s, tz="UTC"), pd.Timestamp(e, tz="UTC"), d


def _move(
    close: pd.Series,
    measure: str,
    low: pd.Series | None = None,
    high: pd.Series | None = None,
) -> float:
    """Log move over a window; the first row of each series is the bar before the window.

    Wick measures need ``low`` and ``high`` (NaN without them).
    """
    x = np.log(close.to_numpy(dtype="float64"))
    if measure == "close_to_close":
        return float(x[-1] - x[0])
    if measure == "peak_to_trough":
        peak = np.maximum.accumulate(x)
        return float(np.min(x - peak))  # deepest peak-to-trough (<= 0)
    if low is None or high is None:
        return float("nan")
    lo = np.log(low.to_numpy(dtype="float64")[1:])
    hi = np.log(high.to_numpy(dtype="float64")[1:])
    if measure == "wick_low":
        return float(lo.min() - x[0])
    if measure == "wick_high":
        return float(hi.max() - x[0])
    # the peak before each bar: the close before the window and the earlier bars' highs (a
    # bar's own high may come after its low, so it is not counted against that low)
    peak = np.maximum.accumulate(np.concatenate([[x[0]], hi[:-1]]))
    return float(np.min(np.minimum(lo - peak, 0.0)))


def _all_moves(close: pd.Series, low: pd.Series | None, high: pd.Series | None) -> dict[str, float]:
    return {m: _move(close, m, low, high) for m in MEASURES}


def _load(
    sym: str, start: pd.Timestamp, end: pd.Timestamp, source: Any, quality: QualityPolicy
) -> tuple[pd.Series, str, str]:
    from riskmodels.data import load_prices

    for freq, market in FREQ_PREFERENCE:
        step = _STEP[freq]
        first = start.floor(step) - step
        try:
            px = load_prices(
                sym, freq=freq, market=market, start=first, end=end, source=source, quality=quality
            )[sym]
        except DataNotFoundError:
            continue
        if px.empty or px.index[0] > first or px.index[-1] < end.floor(step) or px.isna().any():
            continue
        return px, freq, market
    raise DataNotFoundError(
        f"the mirror has no {sym} bars covering {start} .. {end} at any of {FREQ_PREFERENCE}."
    )


def _load_wicks(
    sym: str,
    px: pd.Series,
    freq: str,
    market: str,
    end: pd.Timestamp,
    source: Any,
    quality: QualityPolicy,
) -> tuple[pd.Series | None, pd.Series | None]:
    """Lows and highs of the bars that served the closes (None when not aligned)."""
    from riskmodels.data import load_prices

    out = []
    for fld in ("low", "high"):
        try:
            x = load_prices(
                sym,
                freq=freq,
                market=market,
                start=px.index[0],
                end=end,
                field=fld,
                source=source,
                quality=quality,
            )[sym]
        except DataNotFoundError:
            return None, None
        x = x.reindex(px.index)
        if x.isna().any():
            return None, None
        out.append(x)
    return out[0], out[1]


def _window_frame(
    frame: pd.DataFrame | None, start: pd.Timestamp, end: pd.Timestamp, name: str
) -> pd.DataFrame | None:
    """The bar before the window and the window's bars of a given price frame."""
    if frame is None:
        return None
    if not isinstance(frame, pd.DataFrame) or not isinstance(frame.index, pd.DatetimeIndex):
        raise DataError(f"{name} must be a DataFrame with a UTC DatetimeIndex.")
    before = frame.loc[:start].iloc[:-1] if start in frame.index else frame.loc[:start]
    if before.empty:
        raise InsufficientDataError(
            f"{name} must hold the bar before the window start {start} (first row "
            f"{frame.index[0]})."
        )
    return pd.concat([before.iloc[[-1]], frame.loc[start:end]])


def _event_moves(
    event: str,
    prices: pd.DataFrame | None,
    low: pd.DataFrame | None,
    high: pd.DataFrame | None,
    freq: str | None,
    symbols: Iterable[str] | None,
    source: Any,
    quality: QualityPolicy,
    strict: bool,
) -> tuple[dict[str, dict[str, float]], dict[str, dict[str, Any]], list[str]]:
    """Every measure per asset for one event: moves, data provenance, skipped assets."""
    start, end, _ = _event(event)
    moves: dict[str, dict[str, float]] = {}
    data: dict[str, dict[str, Any]] = {}
    skipped: list[str] = []
    if prices is not None:
        win = _window_frame(prices, start, end, "prices")
        lows = _window_frame(low, start, end, "low")
        highs = _window_frame(high, start, end, "high")
        for a in win.columns:  # type: ignore[union-attr]
            c = win[a].dropna()  # type: ignore[index]
            if len(c) < 2 or c.index[0] >= start:  # no bar before or none inside the window
                skipped.append(str(a))
                continue
            lo = None if lows is None or a not in lows else lows[a].reindex(c.index)
            hi = None if highs is None or a not in highs else highs[a].reindex(c.index)
            if lo is not None and hi is not None and (lo.isna().any() or hi.isna().any()):
                raise DataError(f"low and high must hold a bar for every close of {a!r}.")
            moves[str(a)] = _all_moves(c, lo, hi)
            data[str(a)] = {"freq": freq, "market": "given", "files": [], "wicks": lo is not None}
        return moves, data, skipped
    from riskmodels.data import DEFAULT_UNIVERSE

    for sym in list(symbols) if symbols is not None else list(DEFAULT_UNIVERSE):
        try:
            px, f, m = _load(sym, start, end, source, quality)
        except DataNotFoundError:
            if strict and symbols is not None:
                raise
            skipped.append(sym)  # not listed yet (SOL, AVAX in 2020-03)
            continue
        lo, hi = _load_wicks(sym, px, f, m, end, source, quality)
        moves[sym] = _all_moves(px, lo, hi)
        files = [r.path for r in file_records(px)]
        data[sym] = {"freq": f, "market": m, "files": files, "wicks": lo is not None}
    return moves, data, skipped


def historical_stress(
    prices: pd.DataFrame | None = None,
    event: str = "2025-10-10",
    freq: str | None = None,
    *,
    symbols: Iterable[str] | None = None,
    measure: Literal[
        "peak_to_trough", "close_to_close", "wick_low", "wick_high", "wick_peak_to_trough"
    ] = "peak_to_trough",
    source: Any = None,
    quality: Literal["raise", "warn", "repair", "off"] = "raise",
    low: pd.DataFrame | None = None,
    high: pd.DataFrame | None = None,
) -> Scenarios:
    """The move of each asset over a named crash window, as a one-row :class:`Scenarios`.

    Parameters
    ----------
    prices : DataFrame, optional
        Close prices (UTC index, one column per asset) to use instead of the mirror; must hold
        the bar before the window.
    event : str
        A key of :data:`EVENTS`.
    freq : str, optional
        Label of ``prices``' bar length (informational); ignored when loading from the mirror.
    symbols : iterable of str, optional
        Assets to load from the mirror (default the ten majors).
    measure : str, one of :data:`MEASURES`
        ``"peak_to_trough"``: each asset's deepest log drawdown of closes inside the window
        (from the bar before it), so assets' troughs may be at different times: a per-asset
        worst, not a simultaneous move. ``"close_to_close"``: log of the last close in the
        window over the close before it (a simultaneous move). ``"wick_low"`` /
        ``"wick_high"``: the lowest low / highest high in the window over the close before it;
        ``"wick_peak_to_trough"``: the deepest low below an earlier high (module docstring).
    source : Source, optional
        Data source (default the mirror).
    quality : {"raise", "warn", "repair", "off"}
        Passed to :func:`riskmodels.data.load_prices`.
    low, high : DataFrame, optional
        Bar lows and highs aligned with ``prices`` (needed for the wick measures when
        ``prices`` is given; the mirror's are loaded otherwise).

    Returns
    -------
    Scenarios
        One scenario labelled ``event``; ``horizon`` is the window length; ``meta["data"]``
        gives, per asset, the frequency, market and files that served it; ``meta["moves"]``
        gives every measure per asset (log moves, side by side: closes and wicks).

    Raises
    ------
    ConfigError
        An unknown event or measure, or a wick measure on given prices without ``low`` and
        ``high``.
    DataNotFoundError
        No series covers the window for an asset named in ``symbols`` (with the default
        universe, such assets are skipped and listed in ``meta["skipped"]``).
    """
    start, end, desc = _event(event)
    if measure not in MEASURES:
        raise ConfigError(f"measure must be one of {MEASURES} (got {measure!r}).")
    if prices is not None and measure in _WICK and (low is None or high is None):
        raise ConfigError(
            f"measure {measure!r} needs the bars' low= and high= (DataFrames aligned with "
            "prices), or prices=None to load them from the mirror."
        )
    if prices is not None and not (
        isinstance(prices, pd.DataFrame) and isinstance(prices.index, pd.DatetimeIndex)
    ):
        raise DataError("prices must be a DataFrame with a UTC DatetimeIndex.")
    moves, data, skipped = _event_moves(
        event, prices, low, high, freq, symbols, source, quality, strict=True
    )
    assets = tuple(moves)
    if not assets:
        raise DataNotFoundError(f"no asset has data covering the {event} window.")
    return Scenarios(
        returns=np.array([[moves[a][measure] for a in assets]]),
        assets=assets,
        horizon=end - start + pd.Timedelta("1min"),
        labels=(event,),
        method=f"historical stress: {event} ({desc}), {measure}",
        meta={
            "event": event,
            "window": (str(start), str(end)),
            "measure": measure,
            "data": data,
            "moves": moves,
            "skipped": skipped,
        },
    )


def historical_moves(
    events: str | Iterable[str] | None = None,
    *,
    symbols: Iterable[str] | None = None,
    prices: pd.DataFrame | None = None,
    low: pd.DataFrame | None = None,
    high: pd.DataFrame | None = None,
    freq: str | None = None,
    source: Any = None,
    quality: Literal["raise", "warn", "repair", "off"] = "raise",
) -> pd.DataFrame:
    """Close and wick moves of every asset in every window, side by side (simple returns).

    Parameters
    ----------
    events : str or iterable of str, optional
        Keys of :data:`EVENTS` (default all).
    symbols : iterable of str, optional
        Assets to load from the mirror (default the ten majors); assets without bars covering
        a window are skipped and listed in ``attrs["skipped"]``.
    prices, low, high : DataFrame, optional
        Closes, lows and highs to use instead of the mirror (as :func:`historical_stress`).
    freq : str, optional
        Label of the given bars.
    source, quality
        As :func:`historical_stress`.

    Returns
    -------
    DataFrame
        Index (``event``, ``asset``); columns the :data:`MEASURES` as **simple** returns
        (``expm1`` of the log moves), then ``freq`` and ``market`` of the bars that served;
        wick columns are NaN where no lows/highs are available. Events no asset covers are
        listed in ``attrs["skipped_events"]``.

    Raises
    ------
    ConfigError
        An unknown event.
    """
    names = [events] if isinstance(events, str) else list(events or EVENTS)
    for ev in names:
        _event(ev)
    rows: list[dict[str, Any]] = []
    skipped: dict[str, list[str]] = {}
    skipped_events: list[str] = []
    for ev in names:
        try:
            moves, data, miss = _event_moves(
                ev, prices, low, high, freq, symbols, source, quality, strict=False
            )
        except InsufficientDataError:
            skipped_events.append(ev)
            continue
        if miss:
            skipped[ev] = miss
        if not moves:
            skipped_events.append(ev)
            continue
        for a, mv in moves.items():
            row: dict[str, Any] = {"event": ev, "asset": a}
            row.update({m: float(np.expm1(v)) for m, v in mv.items()})
            row.update(freq=data[a]["freq"], market=data[a]["market"])
            rows.append(row)
    cols = ["event", "asset", *MEASURES, "freq", "market"]
    out = pd.DataFrame(rows, columns=cols).set_index(["event", "asset"])
    out.attrs = {"returns": "simple", "skipped": skipped, "skipped_events": skipped_events}
    return out


def worst_windows(
    returns: pd.Series | pd.DataFrame,
    horizon: DurationLike,
    k: int = 5,
    *,
    weights: Sequence[float] | pd.Series | None = None,
) -> pd.DataFrame:
    """The k worst non-overlapping windows of ``horizon`` (rolling sums of log returns).

    Parameters
    ----------
    returns : Series or DataFrame
        Decimal log returns on a regular UTC grid (NaN rows are dropped per column).
    horizon : str or Timedelta
        Window length, a whole number of bars (``"1d"`` on hourly data = 24 bars).
    k : int
        Number of windows per series.
    weights : sequence or Series, optional
        With a DataFrame: the windows of the portfolio ``returns @ weights`` (log-return
        weights, a first-order portfolio), with every asset's move over each window as extra
        columns. Without: each column on its own.

    Returns
    -------
    DataFrame
        Columns ``series``, ``rank``, ``start`` (open time of the first bar), ``end`` (open time
        of the last bar), ``return`` (summed log return), plus asset columns with weights.

    Notes
    -----
    Greedy: the most negative rolling h-bar sum is taken, every window overlapping it is
    dropped, and so on k times (the classic non-overlapping top-k selection).
    """
    if int(k) < 1:
        raise ConfigError(f"k must be >= 1 (got {k!r}).")
    frame = returns.to_frame() if isinstance(returns, pd.Series) else returns
    if not isinstance(frame, pd.DataFrame) or not isinstance(frame.index, pd.DatetimeIndex):
        raise DataError("returns must be a Series or DataFrame with a DatetimeIndex.")
    h = horizon_bars(horizon, bar_frequency(frame.index))
    series: dict[str, pd.Series] = {}
    if weights is not None:
        w = (
            weights.reindex(frame.columns).fillna(0.0).to_numpy()
            if isinstance(weights, pd.Series)
            else np.asarray(weights, dtype="float64")
        )
        if w.shape != (frame.shape[1],):
            raise ConfigError(f"weights must have one entry per column ({frame.shape[1]}).")
        clean = frame.dropna()
        series["portfolio"] = pd.Series(clean.to_numpy() @ w, index=clean.index)
    else:
        for c in frame.columns:
            series[str(c)] = frame[c].dropna()
    rows = []
    for name, s in series.items():
        x = s.to_numpy(dtype="float64")
        if x.size < h:
            raise InsufficientDataError(
                f"{name}: {x.size} returns are fewer than the horizon of {h} bars."
            )
        csum = np.concatenate([[0.0], np.cumsum(x)])
        roll = csum[h:] - csum[:-h]  # window ending at bar i + h - 1
        free = np.ones(roll.size, dtype=bool)
        for rank in range(1, int(k) + 1):
            if not free.any():
                break
            i = int(np.argmin(np.where(free, roll, np.inf)))
            free[max(0, i - h + 1) : i + h] = False
            row = {
                "series": name,
                "rank": rank,
                "start": s.index[i],
                "end": s.index[i + h - 1],
                "return": float(roll[i]),
            }
            if weights is not None:
                sub = frame.loc[s.index[i] : s.index[i + h - 1]]
                row.update({str(c): float(sub[c].sum()) for c in frame.columns})
            rows.append(row)
    return pd.DataFrame(rows)
