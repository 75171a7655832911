"""Canonical frame shapes and argument parsing shared by the data layer.

A *bar frame* is the canonical single-symbol OHLCV frame every source returns:

* index ``time``: tz-aware UTC ``DatetimeIndex``, the bar's **open** time;
* float64 columns ``open, high, low, close, volume, quote_volume, trades``
  (``quote_volume`` and ``trades`` are NaN where a source does not have them).

The *long* (tidy) form adds a ``symbol`` column and keeps ``time`` as a column.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from riskmodels.exceptions import ConfigError, DataError

__all__ = [
    "BAR_COLUMNS",
    "DEFAULT_UNIVERSE",
    "FREQUENCIES",
    "MARKETS",
    "Frequency",
    "Market",
    "empty_bars",
    "normalize_bars",
    "parse_freq",
    "parse_market",
    "parse_symbol",
]

BAR_COLUMNS: tuple[str, ...] = (
    "open",
    "high",
    "low",
    "close",
    "volume",
    "quote_volume",
    "trades",
)
PRICE_COLUMNS: tuple[str, ...] = ("open", "high", "low", "close")

#: The ten majors held by the mirror, in the order of ``tidy/binance_spot_1d_close_wide.csv``.
DEFAULT_UNIVERSE: tuple[str, ...] = (
    "BTC",
    "ETH",
    "BNB",
    "SOL",
    "XRP",
    "ADA",
    "DOGE",
    "LTC",
    "LINK",
    "AVAX",
)

Frequency = Literal["1d", "4h", "1h"]
Market = Literal["spot", "perp"]

#: Supported bar frequencies and their length.
FREQUENCIES: dict[str, pd.Timedelta] = {
    "1d": pd.Timedelta("1D"),
    "4h": pd.Timedelta("4h"),
    "1h": pd.Timedelta("1h"),
}
_FREQ_ALIASES = {"1D": "1d", "D": "1d", "1day": "1d", "4H": "4h", "1H": "1h", "H": "1h"}

MARKETS: dict[str, str] = {"spot": "Binance spot", "perp": "Binance USDⓈ-M perpetual"}
_MARKET_ALIASES = {"usdm": "perp", "um": "perp", "futures": "perp", "perpetual": "perp"}


def parse_freq(freq: str) -> str:
    """Return the canonical frequency string (``"1d"``, ``"4h"`` or ``"1h"``).

    Raises
    ------
    ConfigError
        If ``freq`` is not a supported bar frequency.
    """
    f = _FREQ_ALIASES.get(freq, freq) if isinstance(freq, str) else freq
    if f not in FREQUENCIES:
        raise ConfigError(
            f"freq must be one of {sorted(FREQUENCIES)} (got {freq!r}). "
            "Bars are labelled by their UTC open time."
        )
    return f


def parse_market(market: str) -> str:
    """Return the canonical market (``"spot"`` or ``"perp"``).

    Raises
    ------
    ConfigError
        If ``market`` is not known.
    """
    m = market.lower() if isinstance(market, str) else market
    m = _MARKET_ALIASES.get(m, m)
    if m not in MARKETS:
        raise ConfigError(f"market must be 'spot' or 'perp' (USDⓈ-M perpetual) (got {market!r}).")
    return m


def parse_symbol(symbol: str) -> str:
    """Return the base-asset symbol: ``"btcusdt"`` and ``"BTC"`` both give ``"BTC"``.

    Raises
    ------
    ConfigError
        If ``symbol`` is empty or not a string.
    """
    if not isinstance(symbol, str) or not symbol.strip():
        raise ConfigError(f"symbol must be a non-empty string such as 'BTC' (got {symbol!r}).")
    s = symbol.strip().upper()
    if s.endswith("USDT") and len(s) > 4:
        s = s[:-4]
    return s


def empty_bars() -> pd.DataFrame:
    """An empty bar frame with the canonical columns and a UTC index."""
    idx = pd.DatetimeIndex([], tz="UTC", name="time")
    return pd.DataFrame({c: pd.Series([], dtype="float64") for c in BAR_COLUMNS}, index=idx)


def _to_utc_index(values: pd.Series | pd.Index, what: str) -> pd.DatetimeIndex:
    """Parse epoch numbers (s, ms or µs, detected by magnitude) or strings into UTC."""
    v = pd.Series(values)
    if pd.api.types.is_numeric_dtype(v):
        if v.isna().any():
            raise DataError(f"{what}: {int(v.isna().sum())} missing timestamps.")
        arr = v.to_numpy()
        if arr.dtype.kind == "f":
            if not np.all(np.isfinite(arr)) or np.any(arr != np.round(arr)):
                raise DataError(f"{what}: epoch timestamps must be whole numbers.")
        ints = arr.astype("int64")
        # Binance switched spot klines from milliseconds to microseconds on 2025-01-01.
        # Decide per value (µs epochs are > 1e14, seconds < 1e11), so a file that mixes both
        # still parses; integer arithmetic keeps ms offsets exact.
        ns = np.where(
            ints > 10**14,
            ints * 1_000,
            np.where(ints < 10**11, ints * 1_000_000_000, ints * 1_000_000),
        )
        idx = pd.DatetimeIndex(pd.to_datetime(ns, unit="ns", utc=True))
    else:
        idx = pd.DatetimeIndex(pd.to_datetime(v, utc=True, format="mixed"))
    if idx.isna().any():
        raise DataError(f"{what}: {int(idx.isna().sum())} timestamps could not be parsed.")
    return idx.as_unit("ns")


def normalize_bars(raw: pd.DataFrame, *, what: str = "bars") -> pd.DataFrame:
    """Turn a raw kline table into a bar frame.

    Accepts the column spellings of Binance's archive and of the mirror's files: a time column
    named ``open_time``, ``timestamp``, ``date``, ``datetime`` or ``time`` (ISO strings with or
    without offset, taken as UTC, or epoch s/ms/µs), ``quote_asset_volume``/``quote_volume``,
    ``number_of_trades``/``count``/``trades``. Row order and duplicates are kept as found: the
    quality checks, not the parser, decide what to do with them.

    Parameters
    ----------
    raw : DataFrame
        The table as read from a file.
    what : str
        A name for messages (usually the file path).

    Returns
    -------
    DataFrame
        A bar frame (see module docstring).

    Raises
    ------
    DataError
        If no time column or no close column is found, or timestamps cannot be parsed.
    """
    df = raw.rename(columns=lambda c: str(c).strip().lower())
    df = df.rename(
        columns={
            "quote_asset_volume": "quote_volume",
            "number_of_trades": "trades",
            "count": "trades",
        }
    )
    for cand in ("open_time", "timestamp", "time", "date", "datetime"):
        if cand in df.columns:
            tcol = cand
            break
    else:
        raise DataError(
            f"{what}: no time column (expected one of open_time, timestamp, time, date, "
            f"datetime; got {list(df.columns)})."
        )
    if "close" not in df.columns:
        raise DataError(f"{what}: no 'close' column (got {list(df.columns)}).")
    idx = _to_utc_index(df[tcol], what)
    out = pd.DataFrame(index=pd.DatetimeIndex(idx, name="time"))
    for c in BAR_COLUMNS:
        if c in df.columns:
            out[c] = pd.to_numeric(df[c], errors="coerce").to_numpy(dtype="float64")
        else:
            out[c] = np.nan
    return out
