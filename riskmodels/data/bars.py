"""Build bar frames from tick trades, and aggregate bars to a coarser frequency.

Both functions follow the data layer's rule: **nothing is ever filled**. A minute without trades
has no bar (a gap, not a copy of the previous close), and a coarse bar is built only from a
complete set of finer bars: if any constituent bar is missing, the coarse bar is dropped and
its open time listed, so no price is ever fabricated.

>>> bars = bars_from_trades(trades, "1m", contract_size_usd=10)     # doctest: +SKIP
>>> five = resample_bars(bars, "5m")                                 # doctest: +SKIP
>>> five.attrs["resample"]["dropped"]                                # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from riskmodels.data._attrs import freeze
from riskmodels.data._frames import (
    BAR_COLUMNS,
    FREQUENCIES,
    PRICE_COLUMNS,
    epoch_index,
    freq_name,
    parse_freq,
)
from riskmodels.exceptions import ConfigError, DataError

__all__ = ["bars_from_trades", "resample_bars", "resample_windows"]


def _iso(ns: int) -> str:
    return pd.Timestamp(int(ns), unit="ns", tz="UTC").isoformat()


def _trade_times(trades: pd.DataFrame) -> pd.DatetimeIndex:
    for cand in ("timestamp", "time"):
        if cand in trades.columns:
            col = trades[cand]
            break
    else:
        if isinstance(trades.index, pd.DatetimeIndex):
            col = pd.Series(trades.index)
            cand = "index"
        else:
            raise DataError(
                "trades need a 'timestamp' column (epoch s/ms/µs, or datetimes) or a "
                f"DatetimeIndex (got columns {list(trades.columns)})."
            )
    if pd.api.types.is_datetime64_any_dtype(col):
        idx = pd.DatetimeIndex(col)
        if idx.hasnans:
            raise DataError(f"trades: {int(idx.isna().sum())} missing (NaT) timestamps.")
        idx = idx.tz_localize("UTC") if idx.tz is None else idx.tz_convert("UTC")
        return idx.as_unit("ns")
    if not pd.api.types.is_integer_dtype(col):
        raise DataError(
            f"trades: column {cand!r} must hold integer epoch timestamps or datetimes (got dtype "
            f"{col.dtype}, first value {col.iloc[0] if len(col) else None!r})."
        )
    return epoch_index(col.to_numpy(dtype="int64"), f"trades column {cand!r}")


def bars_from_trades(
    trades: pd.DataFrame,
    freq: str = "1m",
    *,
    contract_size_usd: float | None = None,
) -> pd.DataFrame:
    """Aggregate individual trades into OHLCV bars; intervals without a trade get no bar.

    Parameters
    ----------
    trades : DataFrame
        One row per trade with columns ``timestamp`` (integer epoch in s, ms or µs, the unit
        decided per value by magnitude; or datetimes; UTC), ``price`` and ``amount``, e.g. a
        Tardis.dev ``trades`` file (``exchange, symbol, timestamp, local_timestamp, id, side,
        price, amount``; its ``timestamp`` is the exchange time in µs). Rows are put in time
        order with a stable sort, so trades sharing a timestamp keep their file order.
    freq : str
        Bar length (a key of :data:`~riskmodels.data.FREQUENCIES`, e.g. ``"1m"``). Bars are
        labelled by their UTC open time, aligned to multiples of ``freq`` from the epoch.
    contract_size_usd : float, optional
        ``None`` (default) for a linear market whose ``amount`` is in coins. For an inverse
        (COIN-M) contract whose ``amount`` is a number of contracts of ``contract_size_usd``
        USD each (10 for Binance COIN-M alt perpetuals, 100 for BTC): the quote volume of a
        trade is ``contract_size_usd * amount`` USD and its coin volume that divided by the
        trade's price.

    Returns
    -------
    DataFrame
        A bar frame: UTC ``DatetimeIndex`` ``time`` (bar open), float64 columns ``open`` (first
        trade's price), ``high``, ``low``, ``close`` (last trade's price), ``volume`` (coins),
        ``quote_volume`` (quote currency: USD/USDT) and ``trades`` (count). Only intervals with
        at least one trade have a row: missing rows are gaps, never forward-filled.
        ``attrs`` holds JSON-serialisable ``freq``, ``n_trades`` and ``contract_size_usd``.

    Raises
    ------
    DataError
        Missing columns, unparseable timestamps, or a price or amount that is not finite and
        positive.
    ConfigError
        An unknown ``freq`` or a non-positive ``contract_size_usd``.

    Examples
    --------
    Two trades in the 00:00 minute and one at 00:02 (none at 00:01, so no 00:01 bar);
    timestamps in µs as in Tardis files:

    >>> t0 = 1_760_054_400_000_000  # 2025-10-10 00:00 UTC in µs
    >>> t = pd.DataFrame({"timestamp": [t0, t0 + 30_000_000, t0 + 150_000_000],
    ...                   "price": [10.0, 12.0, 11.0], "amount": [1.0, 2.0, 1.0]})
    >>> b = bars_from_trades(t)
    >>> [str(x) for x in b.index]
    ['2025-10-10 00:00:00+00:00', '2025-10-10 00:02:00+00:00']
    >>> b[["open", "high", "low", "close", "volume", "trades"]].to_numpy().tolist()
    [[10.0, 12.0, 10.0, 12.0, 3.0, 2.0], [11.0, 11.0, 11.0, 11.0, 1.0, 1.0]]
    """
    f = parse_freq(freq)
    if not isinstance(trades, pd.DataFrame):
        raise DataError(f"trades must be a pandas DataFrame (got {type(trades).__name__}).")
    missing = [c for c in ("price", "amount") if c not in trades.columns]
    if missing:
        raise DataError(
            f"trades lack column(s) {missing} (got {list(trades.columns)}); expected "
            "timestamp, price, amount."
        )
    if contract_size_usd is not None:
        ok = isinstance(contract_size_usd, (int, float, np.number)) and not isinstance(
            contract_size_usd, bool
        )
        if not ok or not np.isfinite(contract_size_usd) or contract_size_usd <= 0:
            raise ConfigError(
                f"contract_size_usd must be a positive number of USD per contract (got "
                f"{contract_size_usd!r}); Binance COIN-M alt perpetuals: 10, BTC: 100. Pass "
                "None when amounts are in coins."
            )
    times = _trade_times(trades)
    price = pd.to_numeric(trades["price"], errors="coerce").to_numpy(dtype="float64")
    amount = pd.to_numeric(trades["amount"], errors="coerce").to_numpy(dtype="float64")
    for name, arr in (("price", price), ("amount", amount)):
        with np.errstate(invalid="ignore"):
            bad = ~(np.isfinite(arr) & (arr > 0))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise DataError(
                f"trades: {int(bad.sum())} {name}(s) not finite and positive (first at row {i}, "
                f"{times[i]}: {trades[name].iloc[i]!r}). Remove them before building bars."
            )
    t = times.asi8
    order = np.argsort(t, kind="stable")
    t, price, amount = t[order], price[order], amount[order]
    step = int(FREQUENCIES[f].value)
    if contract_size_usd is None:
        volume = amount
        quote = price * amount
    else:
        quote = float(contract_size_usd) * amount
        volume = quote / price
    frame = pd.DataFrame(
        {
            "bin": (t // step) * step,
            "price": price,
            "volume": volume,
            "quote_volume": quote,
        }
    )
    g = frame.groupby("bin", sort=True)
    agg = g.agg(
        open=("price", "first"),
        high=("price", "max"),
        low=("price", "min"),
        close=("price", "last"),
        volume=("volume", "sum"),
        quote_volume=("quote_volume", "sum"),
        trades=("price", "size"),
    )
    idx = pd.DatetimeIndex(pd.to_datetime(agg.index.to_numpy(), unit="ns", utc=True), name="time")
    out = pd.DataFrame(
        {c: agg[c].to_numpy(dtype="float64") for c in BAR_COLUMNS}, index=idx.as_unit("ns")
    )
    out.attrs = {
        "freq": f,
        "n_trades": len(t),
        "contract_size_usd": None if contract_size_usd is None else float(contract_size_usd),
    }
    return out


def resample_windows(
    windows: list[list[str]] | None, source_freq: str, freq: str
) -> list[list[str]] | None:
    """Windows of ``source_freq`` bars (``[first open, last open]`` ISO strings, inclusive) as
    the windows of the ``freq`` bars lying wholly inside them; windows shorter than one ``freq``
    bar disappear. ``None`` stays ``None``."""
    if windows is None:
        return None
    fine = int(FREQUENCIES[parse_freq(source_freq)].value)
    coarse = int(FREQUENCIES[parse_freq(freq)].value)
    out = []
    for s, e in windows:
        s_ns, e_ns = pd.Timestamp(s).value, pd.Timestamp(e).value
        first = -(-s_ns // coarse) * coarse
        last = ((e_ns + fine) // coarse) * coarse - coarse
        if last >= first:
            out.append([_iso(first), _iso(last)])
    return out


def _infer_step(index: pd.DatetimeIndex) -> str:
    """The freq of sorted, unique bars: :func:`riskmodels._time.bar_frequency`, by name."""
    if len(index) < 2:
        raise ConfigError("cannot infer the bars' frequency from one bar: pass source_freq=.")
    return freq_name(index, "bars", "pass source_freq=.")


def resample_bars(bars: pd.DataFrame, freq: str, *, source_freq: str | None = None) -> pd.DataFrame:
    """Aggregate a bar frame to a coarser frequency, keeping only complete coarse bars.

    A coarse bar (open time a multiple of ``freq`` from the epoch, i.e. aligned to UTC
    midnight) takes the first ``open``, the largest ``high``, the smallest ``low``, the last
    ``close`` and the sums of ``volume``, ``quote_volume`` and ``trades`` of its constituent
    bars. **It is built only when every one of its ``freq / source_freq`` constituent bars is
    present with finite open, high, low and close**; otherwise it is dropped (not created) and
    its open time is listed in ``attrs["resample"]["dropped"]``. A missing bar is therefore
    never filled and a coarse price is never made from part of its interval. A volume that is
    NaN in any constituent makes the coarse volume NaN.

    Parameters
    ----------
    bars : DataFrame
        A bar frame (UTC ``DatetimeIndex`` of bar open times, sorted, unique, on the
        ``source_freq`` grid).
    freq : str
        The target frequency, a multiple of ``source_freq`` (e.g. ``"5m"`` from ``"1m"``).
    source_freq : str, optional
        The frequency of ``bars``; default ``bars.attrs["freq"]``, else the smallest spacing
        of the index.

    Returns
    -------
    DataFrame
        A bar frame at ``freq``. ``attrs`` are those of ``bars`` with ``freq`` replaced,
        ``windows`` (if present) narrowed to the coarse bars wholly inside each window (see
        :func:`resample_windows`), and ``resample`` =
        ``{"from": source_freq, "to": freq, "rule": "complete-only", "dropped": [ISO times]}``.

    Raises
    ------
    DataError
        ``bars`` is not a bar frame, has duplicate or unsorted times, or bars off its grid.
    ConfigError
        ``freq`` is not a multiple of (and at least) ``source_freq``.

    Examples
    --------
    Five 1-minute bars make one 5-minute bar; a 5-minute interval with only four is dropped:

    >>> idx = pd.date_range("2025-01-01", periods=9, freq="1min", tz="UTC", name="time")
    >>> b = pd.DataFrame({"open": range(1, 10), "high": range(2, 11), "low": range(0, 9),
    ...                   "close": range(1, 10), "volume": [1.0] * 9}, index=idx)
    >>> five = resample_bars(b, "5m", source_freq="1m")
    >>> [str(x) for x in five.index]
    ['2025-01-01 00:00:00+00:00']
    >>> five[["open", "high", "low", "close", "volume"]].to_numpy().tolist()
    [[1.0, 6.0, 0.0, 5.0, 5.0]]
    >>> five.attrs["resample"]["dropped"]
    ['2025-01-01T00:05:00+00:00']
    """
    if not isinstance(bars, pd.DataFrame) or not isinstance(bars.index, pd.DatetimeIndex):
        raise DataError("bars must be a bar frame: a DataFrame with a DatetimeIndex of bar opens.")
    idx = bars.index
    if idx.hasnans:
        raise DataError(f"bars: {int(idx.isna().sum())} missing (NaT) timestamps.")
    idx = idx.tz_localize("UTC") if idx.tz is None else idx.tz_convert("UTC")
    t = idx.as_unit("ns").asi8
    if len(t) > 1 and (np.diff(t) <= 0).any():
        kind = "duplicate" if (np.diff(t) == 0).any() else "unsorted"
        raise DataError(
            f"bars have {kind} timestamps: resample only checked bars (run "
            "riskmodels.data.check_quality(bars, policy='repair') first)."
        )
    if "close" not in bars.columns:
        raise DataError(f"bars have no 'close' column (got {list(bars.columns)}).")
    target = parse_freq(freq)
    src_attr = source_freq if source_freq is not None else bars.attrs.get("freq")
    src = parse_freq(src_attr) if src_attr is not None else _infer_step(idx)
    fine = int(FREQUENCIES[src].value)
    coarse = int(FREQUENCIES[target].value)
    if coarse < fine or coarse % fine:
        raise ConfigError(
            f"cannot resample {src} bars to {target}: the target must be a multiple of {src} "
            f"(one of {[k for k, v in FREQUENCIES.items() if v.value % fine == 0]})."
        )
    off = (t % fine) != 0
    if off.any():
        raise DataError(
            f"{int(off.sum())} bar(s) are off the {src} grid (first {_iso(int(t[off][0]))}): "
            "run check_quality(policy='repair') first."
        )
    k = coarse // fine
    cols = {
        c: (bars[c].to_numpy(dtype="float64") if c in bars.columns else np.full(len(t), np.nan))
        for c in BAR_COLUMNS
    }
    valid = np.ones(len(t), dtype=bool)
    for c in PRICE_COLUMNS:
        valid &= np.isfinite(cols[c])
    frame = pd.DataFrame({"bin": (t // coarse) * coarse, "valid": valid, **cols})
    g = frame.groupby("bin", sort=True)
    agg = g.agg(
        n=("valid", "sum"),
        open=("open", "first"),
        high=("high", "max"),
        low=("low", "min"),
        close=("close", "last"),
    )
    for c in ("volume", "quote_volume", "trades"):
        agg[c] = g[c].sum(min_count=k).where(g[c].count() == g.size())
    complete = (agg["n"] == k).to_numpy()
    dropped = [_iso(int(b)) for b in agg.index[~complete]]
    agg = agg.loc[complete]
    out_idx = pd.DatetimeIndex(
        pd.to_datetime(agg.index.to_numpy(dtype="int64"), unit="ns", utc=True), name="time"
    ).as_unit("ns")
    out = pd.DataFrame({c: agg[c].to_numpy(dtype="float64") for c in BAR_COLUMNS}, index=out_idx)
    attrs: dict[str, Any] = dict(bars.attrs)
    attrs["freq"] = target
    if "windows" in attrs:
        attrs["windows"] = freeze(resample_windows(attrs["windows"], src, target))
    attrs["resample"] = freeze(
        {"from": src, "to": target, "rule": "complete-only", "dropped": dropped}
    )
    out.attrs = attrs
    return out
