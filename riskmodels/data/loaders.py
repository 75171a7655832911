"""One-call loaders: aligned price panels, tidy OHLCV, funding and open interest.

Every loader reads raw bars from a :class:`~riskmodels.data.base.Source`, runs the quality
checks (:func:`riskmodels.data.check_quality`) on each symbol's full history, and acts on the
findings that fall inside the requested window according to ``quality``:

``"raise"`` (default)
    error-level findings that concern the requested field raise
    :class:`~riskmodels.exceptions.DataQualityError`; warnings are emitted.
``"warn"``
    nothing raises; findings are emitted as one :class:`DataQualityWarning`.
``"repair"``
    the repairs of :func:`check_quality` are applied and listed (never silent).
``"off"``
    no checks (raw data as stored).

Returned frames carry only small JSON-serialisable metadata in ``attrs`` (so they
round-trip through ``to_parquet`` and pandas' copy of ``attrs`` on every operation stays
cheap):

``attrs["files"]``
    the files read, as ``{"path", "sha256", "description", "as_of"}`` dicts
    (:meth:`FileRecord.to_dict`; :func:`~riskmodels.data.file_records` gives FileRecords back),
    so a report can state its inputs;
``attrs["quality"]``
    per symbol, the summary :meth:`QualityReport.to_attrs` of its quality report (counts of
    findings and repairs per check; ``None`` under ``quality="off"``). Run
    :func:`~riskmodels.data.check_quality` on ``source.bars(...)`` for the full report;
``attrs["freq"]``, ``attrs["market"]``, ``attrs["price_type"]``
    strings, and ``attrs["windows"]`` for series staged as disjoint windows.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

from riskmodels.data._attrs import freeze, frozen_attrs
from riskmodels.data._frames import (
    BAR_COLUMNS,
    DEFAULT_UNIVERSE,
    FREQUENCIES,
    parse_freq,
    parse_market,
    parse_symbol,
    price_type,
)
from riskmodels.data.base import FileRecord, Source, json_time
from riskmodels.exceptions import (
    ConfigError,
    DataError,
    DataNotFoundError,
    DataQualityError,
    DataQualityWarning,
)

__all__ = [
    "common_sample",
    "default_source",
    "load_funding",
    "load_ohlcv",
    "load_open_interest",
    "load_prices",
]

QualityPolicy = Literal["raise", "warn", "repair", "off"]
_POLICIES = ("raise", "warn", "repair", "off")


def default_source() -> Source:
    """The mirror when one is found (see :func:`default_mirror_path`), else the archive cache.

    Returns
    -------
    Source
        A :class:`MirrorSource`, or a :class:`BinanceArchive` reading its local cache.
    """
    from riskmodels.data.mirror import MirrorSource, default_mirror_path

    if default_mirror_path() is not None:
        return MirrorSource()
    from riskmodels.data.archive import BinanceArchive

    return BinanceArchive()


def _symbols(symbols: str | Iterable[str] | None) -> list[str]:
    if symbols is None:
        return list(DEFAULT_UNIVERSE)
    if isinstance(symbols, str):
        symbols = [symbols]
    out = [parse_symbol(s) for s in symbols]
    if not out:
        raise ConfigError("symbols is empty: pass None for the default ten-asset universe.")
    dup = sorted({s for s in out if out.count(s) > 1})
    if dup:
        raise ConfigError(f"symbols lists {dup} more than once.")
    return out


def _timestamp(x: Any, name: str) -> pd.Timestamp | None:
    if x is None:
        return None
    try:
        ts = pd.Timestamp(x)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"{name} must be a date or timestamp (got {x!r}).") from exc
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def _window(start: Any, end: Any) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    s, e = _timestamp(start, "start"), _timestamp(end, "end")
    if s is not None and e is not None and s > e:
        raise ConfigError(f"start ({s}) is after end ({e}).")
    return s, e


def _in_window(t: pd.Timestamp | None, s: pd.Timestamp | None, e: pd.Timestamp | None) -> bool:
    if t is None:
        return True
    t = pd.Timestamp(t)
    return (s is None or t >= s) and (e is None or t <= e)


def _checked_bars(
    source: Source,
    sym: str,
    freq: str,
    market: str,
    quality: str,
    columns: Sequence[str] | None,
    start: pd.Timestamp | None,
    end: pd.Timestamp | None,
) -> tuple[pd.DataFrame, Any]:
    """Read one symbol, run the checks on its full history, act on in-window findings."""
    bars = source.bars(sym, freq, market)
    attrs = dict(bars.attrs)
    report = None
    if quality != "off":
        from riskmodels.data.quality import check_quality

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            report = check_quality(
                bars,
                freq=freq,
                as_of=attrs.get("as_of"),
                policy="repair" if quality == "repair" else "warn",
                symbol=sym,
            )
        if quality == "repair":
            bars = report.data
            if report.repairs:
                from riskmodels.exceptions import RepairWarning

                warnings.warn(
                    RepairWarning.template.format(
                        n=len(report.repairs),
                        summary="; ".join(
                            f"{r.symbol} {r.time} {r.action}" for r in report.repairs[:3]
                        ),
                    ),
                    RepairWarning,
                    stacklevel=4,
                )
        else:
            relevant = [
                f
                for f in report.findings
                if _in_window(f.time, start, end)
                and (f.column is None or columns is None or f.column in columns)
            ]
            errors = [f for f in relevant if f.severity == "error"]
            warns = [f for f in relevant if f.severity == "warning"]
            if quality == "raise" and errors:
                shown = "; ".join(f"{f.check} at {f.time}: {f.detail}" for f in errors[:3])
                raise DataQualityError(
                    f"{sym} {market} {freq}: {len(errors)} data quality error(s): {shown}. "
                    "Pass quality='repair' to apply (and list) the repairs, or quality='warn' "
                    "to load the data as stored.",
                    report=report,
                )
            shown_f = errors + warns if quality == "warn" else warns
            if shown_f:
                warnings.warn(
                    DataQualityWarning.template.format(
                        n=len(shown_f),
                        summary="; ".join(f"{sym} {f.check} at {f.time}" for f in shown_f[:3]),
                    ),
                    DataQualityWarning,
                    stacklevel=4,
                )
    if start is not None:
        bars = bars.loc[bars.index >= start]
    if end is not None:
        bars = bars.loc[bars.index <= end]
    if attrs.get("windows") is not None:
        attrs["windows"] = freeze(_clip_windows(attrs["windows"], start, end))
    bars.attrs = attrs
    return bars, report


def _clip_windows(
    windows: list[list[str]], start: pd.Timestamp | None, end: pd.Timestamp | None
) -> list[list[str]]:
    """The documented windows (``[first, last]`` bar opens, ISO) cut to ``[start, end]``."""
    out = []
    for a, b in windows:
        ta, tb = pd.Timestamp(a), pd.Timestamp(b)
        ta = ta if start is None else max(ta, start)
        tb = tb if end is None else min(tb, end)
        if ta <= tb:
            out.append([ta.isoformat(), tb.isoformat()])
    return out


def _windows_by_symbol(attrs_list: Sequence[dict[str, Any]], syms: Sequence[str]) -> dict[str, Any]:
    return {s: a["windows"] for s, a in zip(syms, attrs_list, strict=True) if a.get("windows")}


def _files(attrs_list: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The files of several frames' ``attrs``, deduplicated by path, as JSON dicts."""
    seen: dict[str, dict[str, Any]] = {}
    for a in attrs_list:
        for r in a.get("files", []):
            d = r.to_dict() if isinstance(r, FileRecord) else dict(r)
            seen.setdefault(str(d["path"]), d)
    return list(seen.values())


def _quality_attrs(reports: dict[str, Any]) -> dict[str, dict[str, Any] | None]:
    """Per symbol, the JSON summary of its :class:`QualityReport` (None when unchecked)."""
    return {s: None if r is None else r.to_attrs() for s, r in reports.items()}


def load_ohlcv(
    symbols: str | Iterable[str] | None = None,
    freq: str = "1d",
    start: Any = None,
    end: Any = None,
    market: str = "spot",
    source: Source | None = None,
    *,
    quality: QualityPolicy = "raise",
) -> pd.DataFrame:
    """Load OHLCV bars in long (tidy) form.

    Parameters
    ----------
    symbols : str or iterable of str, optional
        Base symbols (``"BTC"``); default the ten majors.
    freq : {"1d", "4h", "1h", "15m", "5m", "1m"}
        Bar frequency; bars are labelled by their UTC open time.
    start, end : date-like, optional
        Inclusive window on bar open times (UTC when naive).
    market : {"spot", "perp", "mark", "index", "coinm", "coinm_mark"}
        Binance spot, USDⓈ-M perpetual (last price), its mark or index price, or the COIN-M
        perpetual's last or mark price (see :data:`~riskmodels.data.MARKETS`).
    source : Source, optional
        Default :func:`default_source`.
    quality : {"raise", "warn", "repair", "off"}
        What to do with quality findings (see the module docstring).

    Returns
    -------
    DataFrame
        Columns ``time, symbol, open, high, low, close, volume, quote_volume, trades``, sorted by
        symbol (in the requested order) then time. ``attrs`` holds JSON values only (see the
        module docstring): ``attrs["files"]``, ``attrs["quality"]``, the strings ``attrs["freq"]``, ``attrs["market"]`` and ``attrs["price_type"]``
        (``"last"``, ``"mark"`` or ``"index"``), and, for series staged as disjoint windows
        (the mirror's minute data), ``attrs["windows"]``: symbol -> ``[first, last]`` bar-open
        ISO pairs cut to ``[start, end]``.

    Raises
    ------
    DataNotFoundError
        If the source has no data for a symbol, or none in the window.
    DataQualityError
        Under ``quality="raise"`` when the data has errors in the window.
    """
    syms, f, m = _symbols(symbols), parse_freq(freq), parse_market(market)
    if quality not in _POLICIES:
        raise ConfigError(f"quality must be one of {_POLICIES} (got {quality!r}).")
    s, e = _window(start, end)
    src = source if source is not None else default_source()
    parts, reports, attrs = [], {}, []
    for sym in syms:
        bars, rep = _checked_bars(src, sym, f, m, quality, None, s, e)
        attrs.append(bars.attrs)
        reports[sym] = rep
        part = bars.reset_index()
        part.insert(1, "symbol", sym)
        parts.append(part)
    out = pd.concat(parts, ignore_index=True)[["time", "symbol", *BAR_COLUMNS]]
    if out.empty:
        raise DataNotFoundError(f"No {m} {f} bars for {syms} between {s} and {e}.")
    out.attrs = frozen_attrs(
        {
            "files": _files(attrs),
            "quality": _quality_attrs(reports),
            "freq": f,
            "market": m,
            "price_type": price_type(m),
        }
    )
    windows = _windows_by_symbol(attrs, syms)
    if windows:
        out.attrs["windows"] = freeze(windows)
    return out


def load_prices(
    symbols: str | Iterable[str] | None = None,
    freq: str = "1d",
    start: Any = None,
    end: Any = None,
    field: str = "close",
    market: str = "spot",
    source: Source | None = None,
    *,
    quality: QualityPolicy = "raise",
) -> pd.DataFrame:
    """Load an aligned wide panel of one price field, one column per asset.

    Parameters
    ----------
    symbols : str or iterable of str, optional
        Base symbols (``"BTC"``); default the ten majors
        (BTC, ETH, BNB, SOL, XRP, ADA, DOGE, LTC, LINK, AVAX).
    freq : {"1d", "4h", "1h", "15m", "5m", "1m"}
        Bar frequency; bars are labelled by their UTC open time.
    start, end : date-like, optional
        Inclusive window on bar open times (UTC when naive).
    field : {"close", "open", "high", "low", "volume", "quote_volume", "trades"}
        The bar field.
    market : {"spot", "perp", "mark", "index", "coinm", "coinm_mark"}
        Binance spot or USDⓈ-M perpetual (last price), or another price series of
        :data:`~riskmodels.data.MARKETS`; ``attrs["price_type"]`` says which kind of price.
    source : Source, optional
        Default :func:`default_source` (the local mirror when present).
    quality : {"raise", "warn", "repair", "off"}
        What to do with quality findings that concern ``field`` (see the module docstring).

    Returns
    -------
    DataFrame
        float64, UTC ``DatetimeIndex`` named ``time`` on the regular ``freq`` grid from the first
        to the last bar of any asset; a missing bar (exchange outage, listing later than other
        assets, a gap between stitched files) is NaN — never forward-filled. Columns are the
        symbols in the requested order. :func:`common_sample` gives the all-assets sample.
        ``attrs`` holds JSON values only (see the module docstring): ``files``, ``quality``,
        ``freq``, ``market``, ``price_type``, ``field``, ``source`` and, for windowed series,
        ``windows``.

    Raises
    ------
    ConfigError
        For an unknown field, frequency, market or quality policy, or start after end.
    DataNotFoundError
        If the source lacks a symbol at this frequency and market.
    DataQualityError
        Under ``quality="raise"`` when the requested field has errors in the window.

    Examples
    --------
    >>> px = load_prices(["BTC", "ETH"], freq="1d", start="2024-01-01")   # doctest: +SKIP
    """
    if field not in BAR_COLUMNS:
        raise ConfigError(f"field must be one of {list(BAR_COLUMNS)} (got {field!r}).")
    syms, f, m = _symbols(symbols), parse_freq(freq), parse_market(market)
    if quality not in _POLICIES:
        raise ConfigError(f"quality must be one of {_POLICIES} (got {quality!r}).")
    s, e = _window(start, end)
    src = source if source is not None else default_source()
    cols: dict[str, pd.Series] = {}
    reports, attrs = {}, []
    for sym in syms:
        bars, rep = _checked_bars(src, sym, f, m, quality, [field], s, e)
        attrs.append(bars.attrs)
        reports[sym] = rep
        ser = bars[field]
        if ser.index.has_duplicates:
            raise DataQualityError(
                f"{sym} {m} {f}: duplicate timestamps (first {ser.index[ser.index.duplicated()][0]})"
                " cannot be aligned. Pass quality='repair' to drop them (the repair is listed).",
                report=rep,
            )
        cols[sym] = ser.sort_index()
    nonempty = [c for c in cols.values() if len(c)]
    if not nonempty:
        raise DataNotFoundError(f"No {m} {f} bars for {syms} between {s} and {e}.")
    first = min(c.index[0] for c in nonempty)
    last = max(c.index[-1] for c in nonempty)
    grid = pd.date_range(first, last, freq=FREQUENCIES[f], name="time", unit="ns")
    off_grid = {
        k: int((~c.index.isin(grid)).sum()) for k, c in cols.items() if (~c.index.isin(grid)).any()
    }
    if off_grid:
        raise DataError(
            f"Bars not on the {f} grid (open times not multiples of {f} from {first}): "
            f"{off_grid}. Check the source's frequency."
        )
    panel = pd.DataFrame({k: c.reindex(grid) for k, c in cols.items()}, index=grid)
    panel = panel.astype("float64")
    panel.columns.name = "symbol"
    panel.attrs = frozen_attrs(
        {
            "files": _files(attrs),
            "quality": _quality_attrs(reports),
            "freq": f,
            "market": m,
            "price_type": price_type(m),
            "field": field,
            "source": src.describe(),
        }
    )
    windows = _windows_by_symbol(attrs, syms)
    if windows:
        panel.attrs["windows"] = freeze(windows)
    return panel


def common_sample(panel: pd.DataFrame, *, gaps: Literal["raise", "drop"] = "raise") -> pd.DataFrame:
    """The span on which every asset has data: from the latest listing to the earliest end.

    Parameters
    ----------
    panel : DataFrame
        A wide panel from :func:`load_prices` (or returns).
    gaps : {"raise", "drop"}
        What to do with rows inside the common span where some asset is missing (outages):
        raise :class:`DataError` naming them, or drop those rows (recorded in
        ``attrs["dropped"]``).

    Returns
    -------
    DataFrame
        The panel restricted to the common span, with ``attrs`` kept and
        ``attrs["common_start"]``, ``attrs["common_end"]`` (ISO strings) added.

    Raises
    ------
    DataError
        If the assets' histories do not overlap, or there are gaps and ``gaps="raise"``.
    """
    if gaps not in ("raise", "drop"):
        raise ConfigError(f"gaps must be 'raise' or 'drop' (got {gaps!r}).")
    firsts = {c: panel[c].first_valid_index() for c in panel.columns}
    lasts = {c: panel[c].last_valid_index() for c in panel.columns}
    empty = [c for c, v in firsts.items() if v is None]
    if empty:
        raise DataError(f"No data at all for {empty}: they cannot share a common sample.")
    start = max(firsts.values())
    end = min(lasts.values())
    if start > end:
        late = max(firsts, key=lambda c: firsts[c])
        early = min(lasts, key=lambda c: lasts[c])
        raise DataError(
            f"The assets' histories do not overlap: {late} starts {start} after {early} ends {end}."
        )
    sub = panel.loc[start:end]
    holes = sub.isna().any(axis=1)
    dropped: list[pd.Timestamp] = []
    if holes.any():
        if gaps == "raise":
            bad = sub.index[holes]
            who = sub.loc[holes].isna().sum().loc[lambda x: x > 0].to_dict()
            raise DataError(
                f"{int(holes.sum())} row(s) inside the common sample {start}..{end} have missing "
                f"values (first {bad[0]}; per asset {who}). Pass gaps='drop' to drop them."
            )
        dropped = list(sub.index[holes])
        sub = sub.loc[~holes]
    out = sub.copy()
    out.attrs = {
        **panel.attrs,
        "common_start": json_time(start),
        "common_end": json_time(end),
        "dropped": freeze([json_time(t) for t in dropped]),
    }
    return out


def load_funding(symbol: str = "BTC", source: Source | None = None) -> pd.Series:
    """Funding rate per settlement of the USDⓈ-M perpetual (fraction per interval).

    Parameters
    ----------
    symbol : str
        Base symbol.
    source : Source, optional
        Default :func:`default_source`.

    Returns
    -------
    Series
        ``funding_rate``, UTC index of settlement times floored to the hour.
    """
    src = source if source is not None else default_source()
    ser = src.funding(symbol)
    if ser.index.has_duplicates:
        raise DataQualityError(f"{parse_symbol(symbol)} funding: duplicate settlement times.")
    if not np.isfinite(ser.to_numpy()).all():
        raise DataQualityError(
            f"{parse_symbol(symbol)} funding: {int((~np.isfinite(ser.to_numpy())).sum())} "
            "non-finite rates."
        )
    return ser


def load_open_interest(
    symbol: str = "BTC", freq: str = "1d", source: Source | None = None, **kwargs: Any
) -> pd.DataFrame:
    """Open interest of the perpetual (see the source's ``open_interest`` for columns)."""
    src = source if source is not None else default_source()
    return src.open_interest(symbol, freq, **kwargs)
