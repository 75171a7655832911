"""Canonical frame shapes and argument parsing shared by the data layer.

A *bar frame* is the canonical single-symbol OHLCV frame every source returns:

* index ``time``: tz-aware UTC ``DatetimeIndex``, the bar's **open** time;
* float64 columns ``open, high, low, close, volume, quote_volume, trades``
  (``quote_volume`` and ``trades`` are NaN where a source does not have them).

The *long* (tidy) form adds a ``symbol`` column and keeps ``time`` as a column.

Frequencies run from one day down to one minute (:data:`FREQUENCIES`); markets name the Binance
price series a risk or liquidation engine needs, each with its *price type* (:data:`MARKETS`,
:func:`price_type`): the traded (last) price of spot and of the perpetuals, the perpetual's
mark price (what liquidations trigger on) and its index price.

Bar frames returned by the sources carry JSON-serialisable strings ``attrs["market"]``,
``attrs["freq"]`` and ``attrs["price_type"]``.
"""

from __future__ import annotations

import io
import re
from typing import Literal

import numpy as np
import pandas as pd

from riskmodels._time import bar_frequency, duration_label
from riskmodels.exceptions import ConfigError, DataError

# pandas < 3.1 needs the round-trip converter for exact floats; 3.1 deprecates the argument
# because every mode now uses the correctly rounded converter.
_PD_VERSION = tuple(int(x) for x in re.findall(r"\d+", pd.__version__)[:2])

__all__ = [
    "BAR_COLUMNS",
    "DEFAULT_UNIVERSE",
    "FREQUENCIES",
    "KLINE_COLUMNS",
    "MARKETS",
    "Frequency",
    "Market",
    "PriceType",
    "csv_has_header",
    "empty_bars",
    "epoch_index",
    "normalize_bars",
    "parse_freq",
    "parse_market",
    "parse_symbol",
    "price_type",
    "read_csv_table",
    "read_kline_csv",
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

Frequency = Literal["1d", "4h", "1h", "15m", "5m", "1m"]
Market = Literal["spot", "perp", "mark", "index", "coinm", "coinm_mark"]
PriceType = Literal["last", "mark", "index"]

#: Supported bar frequencies and their length, longest first.
FREQUENCIES: dict[str, pd.Timedelta] = {
    "1d": pd.Timedelta("1D"),
    "4h": pd.Timedelta("4h"),
    "1h": pd.Timedelta("1h"),
    "15m": pd.Timedelta("15min"),
    "5m": pd.Timedelta("5min"),
    "1m": pd.Timedelta("1min"),
}
# Binance writes minutes as "1m"; pandas as "1min" (older: "1T"). "1M" is left out on purpose:
# in pandas it is a month.
_FREQ_ALIASES = {
    "1D": "1d",
    "D": "1d",
    "1day": "1d",
    "4H": "4h",
    "1H": "1h",
    "H": "1h",
    "15min": "15m",
    "15T": "15m",
    "5min": "5m",
    "5T": "5m",
    "1min": "1m",
    "1T": "1m",
    "T": "1m",
    "min": "1m",
}

#: Supported markets: name -> description (the price type of each: :func:`price_type`).
MARKETS: dict[str, str] = {
    "spot": "Binance spot",
    "perp": "Binance USDⓈ-M perpetual",
    "mark": "Binance USDⓈ-M perpetual mark price",
    "index": "Binance USDⓈ-M perpetual index price",
    "coinm": "Binance COIN-M perpetual",
    "coinm_mark": "Binance COIN-M perpetual mark price",
}
_PRICE_TYPES: dict[str, str] = {
    "spot": "last",
    "perp": "last",
    "mark": "mark",
    "index": "index",
    "coinm": "last",
    "coinm_mark": "mark",
}
_MARKET_ALIASES = {
    "usdm": "perp",
    "um": "perp",
    "futures": "perp",
    "perpetual": "perp",
    "mark_price": "mark",
    "markprice": "mark",
    "index_price": "index",
    "indexprice": "index",
    "cm": "coinm",
    "coin-m": "coinm",
    "coinm_mark_price": "coinm_mark",
}


def parse_freq(freq: str) -> str:
    """Return the canonical frequency string (``"1d"``, ``"4h"``, ``"1h"``, ``"15m"``, ``"5m"``
    or ``"1m"``; aliases such as ``"1min"``, ``"5T"`` are accepted).

    Raises
    ------
    ConfigError
        If ``freq`` is not a supported bar frequency.
    """
    f = _FREQ_ALIASES.get(freq, freq) if isinstance(freq, str) else freq
    if f not in FREQUENCIES:
        raise ConfigError(
            f"freq must be one of {list(FREQUENCIES)} (got {freq!r}). "
            "Bars are labelled by their UTC open time."
        )
    return f


def freq_name(index: pd.DatetimeIndex, what: str, fix: str) -> str:
    """The supported freq (a key of :data:`FREQUENCIES`) of a sorted, duplicate-free index.

    The bar is :func:`riskmodels._time.bar_frequency` (the smallest step; every step a whole
    multiple of it), else :class:`ConfigError` ending with ``fix`` (e.g. "pass freq=.").
    """
    try:
        step = bar_frequency(index)
    except DataError as exc:
        raise ConfigError(f"{what}: cannot infer the bar frequency: {exc} Or {fix}") from None
    for name, td in FREQUENCIES.items():
        if td == step:
            return name
    raise ConfigError(
        f"{what}: the bar spacing (the smallest step between bars) is {duration_label(step)}, "
        f"which is not a supported freq {list(FREQUENCIES)}; resample the bars or {fix}"
    )


def parse_market(market: str) -> str:
    """Return the canonical market (a key of :data:`MARKETS`).

    Raises
    ------
    ConfigError
        If ``market`` is not known.
    """
    m = market.lower() if isinstance(market, str) else market
    m = _MARKET_ALIASES.get(m, m)
    if m not in MARKETS:
        raise ConfigError(
            f"market must be 'spot' or 'perp' (USDⓈ-M perpetual, last price), or one of "
            "'mark' / 'index' (USDⓈ-M mark / index price), 'coinm' / 'coinm_mark' (COIN-M "
            f"perpetual last / mark price) (got {market!r})."
        )
    return m


def price_type(market: str) -> PriceType:
    """The kind of price a market's bars hold.

    Parameters
    ----------
    market : str
        A market name or alias (see :data:`MARKETS`).

    Returns
    -------
    {"last", "mark", "index"}
        ``"last"``: traded prices (spot, ``perp``, ``coinm``); ``"mark"``: the exchange's mark
        price, which liquidations trigger on (``mark``, ``coinm_mark``); ``"index"``: the
        spot-index price (``index``).

    Raises
    ------
    ConfigError
        If ``market`` is not known.

    Examples
    --------
    >>> price_type("perp"), price_type("coinm_mark"), price_type("index")
    ('last', 'mark', 'index')
    """
    return _PRICE_TYPES[parse_market(market)]  # type: ignore[return-value]


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


def epoch_index(values: pd.Series | np.ndarray, what: str = "timestamps") -> pd.DatetimeIndex:
    """Integer epochs in s, ms or µs as an exact UTC index named ``time``.

    The unit is decided **per value by magnitude**: µs epochs are > 1e14, seconds < 1e11, ms in
    between (1e11 ms is 1973-03-03, 1e14 ms is year 5138). Binance spot archives switched from
    ms to µs on 2025-01-01 and futures files may use either, so a file, and even a row, is
    read in whichever unit it is written in. Integer arithmetic keeps every millisecond and
    microsecond exact (a float64 product rounds epochs that are not multiples of 256 ns).

    Raises
    ------
    DataError
        If a value is negative or beyond year 2286 in µs (>= 1e16; nanosecond epochs).
    """
    v = np.asarray(values, dtype="int64")
    bad = (v < 0) | (v >= 10**16)
    if bad.any():
        raise DataError(
            f"{what}: {int(bad.sum())} epoch value(s) outside 1970..2286 in s/ms/µs "
            f"(first: {int(v[bad][0])})."
        )
    us, sec = v > 10**14, v < 10**11
    ms = ~(us | sec)
    ns = np.empty_like(v)
    ns[us] = v[us] * 1_000
    ns[ms] = v[ms] * 1_000_000
    ns[sec] = v[sec] * 1_000_000_000
    return pd.DatetimeIndex(pd.to_datetime(ns, unit="ns", utc=True), name="time").as_unit("ns")


def _unparsable(value: object) -> bool:
    """True when ``pd.Timestamp`` cannot read ``value`` as a time (for error messages)."""
    try:
        return pd.isna(pd.Timestamp(value))
    except (TypeError, ValueError, OverflowError):
        return True


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
            out = (arr < 0) | (arr >= 10**16)  # before the cast: 1e19 does not fit in int64
            if out.any():
                raise DataError(
                    f"{what}: {int(out.sum())} epoch value(s) outside 1970..2286 in s/ms/µs "
                    f"(first: {arr[out][0]!r})."
                )
        # Binance switched spot klines from milliseconds to microseconds on 2025-01-01.
        idx = epoch_index(arr.astype("int64"), what)
    else:
        try:
            idx = pd.DatetimeIndex(pd.to_datetime(v, utc=True, format="mixed"))
        except (TypeError, ValueError, OverflowError) as exc:
            first = next((x for x in v if _unparsable(x)), None)
            raise DataError(
                f"{what}: timestamps could not be parsed ({exc}; first bad value {first!r}). "
                "Give ISO times such as '2024-01-01 00:00:00Z' or epoch numbers in s, ms or µs, "
                "and drop header or footer rows."
            ) from None
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


#: Column order of Binance's kline CSVs (archive and REST layout; binance-public-data README,
#: "Klines"). Mark- and index-price klines use the same 12 columns with zero volumes.
KLINE_COLUMNS: tuple[str, ...] = (
    "open_time",
    "open",
    "high",
    "low",
    "close",
    "volume",
    "close_time",
    "quote_volume",
    "count",
    "taker_buy_volume",
    "taker_buy_quote_volume",
    "ignore",
)

#: Names a header row may start with (time columns of the layouts read here).
_HEADER_FIRST = frozenset(
    {"open_time", "timestamp", "time", "date", "datetime", "calc_time", "exchange", "symbol"}
)


def csv_has_header(first_line: str, names: tuple[str, ...] = (), *, what: str = "csv") -> bool:
    """Decide from its content whether a CSV's first line is a header row.

    The first line is **data** when its first field parses as a number (an epoch timestamp),
    and a **header** when its first field is a known column name (one of ``names``, or a time
    column such as ``open_time``). Anything else is refused rather than guessed, so a data row
    is never dropped as a header and a header is never parsed as data.

    Parameters
    ----------
    first_line : str
        The first line of the file (a byte-order mark and quotes are ignored).
    names : tuple of str
        The expected column names (e.g. :data:`KLINE_COLUMNS`).
    what : str
        A name for messages (the file).

    Returns
    -------
    bool
        True if the first line is a header row.

    Raises
    ------
    DataError
        If the first line is neither a numeric data row nor a known header.
    """
    line = first_line.lstrip("\ufeff").splitlines()[0] if first_line.strip() else ""
    first = line.split(",", 1)[0].strip().strip('"').strip("'").strip()
    try:
        float(first)
    except ValueError:
        pass
    else:
        return False
    known = {n.lower() for n in names} | _HEADER_FIRST
    if first.lower() in known:
        return True
    raise DataError(
        f"{what}: cannot tell whether the first line {line[:80]!r} is a header or data: its first "
        f"field {first!r} is neither a number (an epoch timestamp) nor a known column name "
        f"({', '.join(sorted(known))}). Check that the file is a Binance kline CSV."
    )


def read_csv_table(raw: bytes, names: tuple[str, ...], *, what: str) -> pd.DataFrame:
    """Archive CSV bytes (header row optional, detected by content) as a table with ``names``.

    The one parser behind :func:`read_kline_csv` and the archive downloader's funding files:
    floats are read with pandas' correctly rounded converter.

    Raises
    ------
    DataError
        Empty file, an unrecognised first line, a parse failure, the wrong number of columns
        or no rows.
    """
    head = raw[:512].decode("utf-8", errors="replace")
    if not head.strip():
        raise DataError(f"{what}: the CSV is empty.")
    header = csv_has_header(head, names, what=what)
    kw: dict[str, object] = {} if _PD_VERSION >= (3, 1) else {"float_precision": "round_trip"}
    try:
        table = pd.read_csv(io.BytesIO(raw), header=None, skiprows=1 if header else 0, **kw)
    except (ValueError, pd.errors.ParserError) as exc:
        raise DataError(f"{what}: the CSV cannot be parsed ({exc}).") from None
    if table.shape[1] != len(names):
        raise DataError(
            f"{what}: expected {len(names)} columns ({', '.join(names)}), found {table.shape[1]}."
        )
    if table.empty:
        raise DataError(f"{what}: the CSV holds no rows.")
    table.columns = list(names)
    return table


def read_kline_csv(raw: bytes, *, what: str = "klines") -> pd.DataFrame:
    """Parse a Binance kline CSV (header row optional, detected by content) as a bar frame.

    Parameters
    ----------
    raw : bytes
        The CSV bytes: the 12 :data:`KLINE_COLUMNS`, with or without a header row.
    what : str
        A name for messages (the file).

    Returns
    -------
    DataFrame
        A bar frame (see the module docstring); epoch units (s, ms or µs) are decided per value
        by magnitude, in integer arithmetic.

    Raises
    ------
    DataError
        If the file is empty, has the wrong number of columns or unparseable timestamps.
    """
    table = read_csv_table(raw, KLINE_COLUMNS, what=what)
    if not pd.api.types.is_integer_dtype(table["open_time"]):
        raise DataError(
            f"{what}: column 'open_time' must hold integer epoch timestamps (got dtype "
            f"{table['open_time'].dtype}, first value {table['open_time'].iloc[0]!r})."
        )
    return normalize_bars(table, what=what)
