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
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

from riskmodels.exceptions import ConfigError, DataError, DataNotFoundError, InsufficientDataError
from riskmodels.scenarios.base import Scenarios, as_horizon

__all__ = ["EVENTS", "FREQ_PREFERENCE", "historical_stress", "worst_windows"]

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


def _event(event: str) -> tuple[pd.Timestamp, pd.Timestamp, str]:
    if event not in EVENTS:
        raise ConfigError(f"unknown event {event!r}; choose one of {sorted(EVENTS)}.")
    s, e, d = EVENTS[event]
    return pd.Timestamp(s, tz="UTC"), pd.Timestamp(e, tz="UTC"), d


def _move(close: pd.Series, measure: str) -> float:
    """Log move of one close series whose first row is the bar before the window."""
    x = np.log(close.to_numpy(dtype="float64"))
    if measure == "close_to_close":
        return float(x[-1] - x[0])
    peak = np.maximum.accumulate(x)
    return float(np.min(x - peak))  # deepest peak-to-trough (<= 0)


def _load(
    sym: str, start: pd.Timestamp, end: pd.Timestamp, source: Any, quality: str
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


def historical_stress(
    prices: pd.DataFrame | None = None,
    event: str = "2025-10-10",
    freq: str | None = None,
    *,
    symbols: Iterable[str] | None = None,
    measure: Literal["peak_to_trough", "close_to_close"] = "peak_to_trough",
    source: Any = None,
    quality: Literal["raise", "warn", "repair", "off"] = "raise",
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
    measure : {"peak_to_trough", "close_to_close"}
        ``"peak_to_trough"``: each asset's deepest log drawdown of closes inside the window
        (from the bar before it), so assets' troughs may be at different times: a per-asset
        worst, not a simultaneous move. ``"close_to_close"``: log of the last close in the
        window over the close before it (a simultaneous move).
    source : Source, optional
        Data source (default the mirror).
    quality : {"raise", "warn", "repair", "off"}
        Passed to :func:`riskmodels.data.load_prices`.

    Returns
    -------
    Scenarios
        One scenario labelled ``event``; ``horizon`` is the window length; ``meta["data"]``
        gives, per asset, the frequency, market and files that served it.

    Raises
    ------
    ConfigError
        An unknown event or measure.
    DataNotFoundError
        No series covers the window for an asset named in ``symbols`` (with the default
        universe, such assets are skipped and listed in ``meta["skipped"]``).
    """
    start, end, desc = _event(event)
    if measure not in ("peak_to_trough", "close_to_close"):
        raise ConfigError(
            f"measure must be 'peak_to_trough' or 'close_to_close' (got {measure!r})."
        )
    moves: dict[str, float] = {}
    data: dict[str, dict[str, Any]] = {}
    if prices is not None:
        if not isinstance(prices, pd.DataFrame) or not isinstance(prices.index, pd.DatetimeIndex):
            raise DataError("prices must be a DataFrame with a UTC DatetimeIndex.")
        before = prices.loc[:start].iloc[:-1] if start in prices.index else prices.loc[:start]
        if before.empty:
            raise InsufficientDataError(
                f"prices must hold the bar before the window start {start} (first row "
                f"{prices.index[0]})."
            )
        win = pd.concat([before.iloc[[-1]], prices.loc[start:end]])
        for a in prices.columns:
            s = win[a].dropna()
            moves[str(a)] = _move(s, measure)
            data[str(a)] = {"freq": freq, "market": "given", "files": []}
    else:
        from riskmodels.data import DEFAULT_UNIVERSE

        skipped: list[str] = []
        for sym in list(symbols) if symbols is not None else list(DEFAULT_UNIVERSE):
            try:
                px, f, m = _load(sym, start, end, source, quality)
            except DataNotFoundError:
                if symbols is not None:
                    raise
                skipped.append(sym)  # not listed yet (SOL, AVAX in 2020-03)
                continue
            moves[sym] = _move(px, measure)
            data[sym] = {
                "freq": f,
                "market": m,
                "files": [getattr(r, "path", str(r)) for r in px.attrs.get("files", [])]
                if hasattr(px, "attrs")
                else [],
            }
    assets = tuple(moves)
    if not assets:
        raise DataNotFoundError(f"no asset has data covering the {event} window.")
    skipped_meta = skipped if prices is None else []
    return Scenarios(
        returns=np.array([[moves[a] for a in assets]]),
        assets=assets,
        horizon=end - start + pd.Timedelta("1min"),
        labels=(event,),
        method=f"historical stress: {event} ({desc}), {measure}",
        meta={
            "event": event,
            "window": (str(start), str(end)),
            "measure": measure,
            "data": data,
            "skipped": skipped_meta,
        },
    )


def worst_windows(
    returns: pd.Series | pd.DataFrame,
    horizon: str | pd.Timedelta,
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
    from riskmodels.scenarios._inputs import infer_frequency

    if int(k) < 1:
        raise ConfigError(f"k must be >= 1 (got {k!r}).")
    frame = returns.to_frame() if isinstance(returns, pd.Series) else returns
    if not isinstance(frame, pd.DataFrame) or not isinstance(frame.index, pd.DatetimeIndex):
        raise DataError("returns must be a Series or DataFrame with a DatetimeIndex.")
    h = as_horizon(horizon, infer_frequency(frame.index))
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
