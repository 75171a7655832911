"""Display tables shared by report notebooks: coverage, findings, return summary, cross-source.

Each function takes what :mod:`riskmodels.data` returns and gives a small, deterministic
``DataFrame`` ready to show (times as UTC strings, percentages as numbers in %). They describe
data; they do not model it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from riskmodels.data import FREQUENCIES, parse_freq
from riskmodels.data.base import file_records
from riskmodels.exceptions import ConfigError, DataNotFoundError

__all__ = [
    "BINANCE_SPOT_LISTING",
    "coverage_table",
    "cross_source_table",
    "findings_table",
    "periods_per_year",
    "return_summary",
]

#: Binance spot listing dates (first USDT bar) documented in the mirror's PROVENANCE.md
#: (§2.1 "(listing)" rows, §2.2 BTC/ETH from 2017-08-17). BNB and LTC are absent: the mirror's
#: files start after their listing and do not document it.
BINANCE_SPOT_LISTING: dict[str, str] = {
    "BTC": "2017-08-17",
    "ETH": "2017-08-17",
    "SOL": "2020-08-11",
    "XRP": "2018-05-04",
    "ADA": "2018-04-17",
    "DOGE": "2019-07-05",
    "LINK": "2019-01-16",
    "AVAX": "2020-09-22",
}


def periods_per_year(freq: str) -> float:
    """Bars per year of a 24/7 market: 365 days of ``freq`` bars (1d: 365, 4h: 2190)."""
    return float(pd.Timedelta("365D") / FREQUENCIES[parse_freq(freq)])


def _fmt(t: Any, freq: str | None = None) -> str:
    if t is None or pd.isna(t):
        return ""
    t = pd.Timestamp(t)
    if freq == "1d" or (t.hour == 0 and t.minute == 0 and freq is None):
        return t.strftime("%Y-%m-%d")
    return t.strftime("%Y-%m-%d %H:%M")


def coverage_table(
    data: pd.DataFrame | Mapping[str, pd.DataFrame],
    freq: str,
    *,
    listing: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """First and last bar, bars held and bars missing per asset.

    Parameters
    ----------
    data : DataFrame or mapping of str to DataFrame
        A wide panel (one column per asset, NaN = no bar; :func:`riskmodels.data.load_prices`)
        or raw bar frames by symbol (:meth:`riskmodels.data.MirrorSource.bars`).
    freq : {"1d", "4h", "1h"}
        Bar frequency: the grid on which bars are counted.
    listing : mapping, optional
        Listing date per symbol; default :data:`BINANCE_SPOT_LISTING`.

    Returns
    -------
    DataFrame
        Index ``symbol``; columns ``first bar``, ``last bar``, ``bars`` (distinct bars held),
        ``missing bars`` (grid bars between first and last that are absent), ``listing`` (empty
        where not documented) and ``from listing`` (whether the history starts at the listing).
    """
    f = parse_freq(freq)
    step = FREQUENCIES[f]
    lst = BINANCE_SPOT_LISTING if listing is None else listing
    if isinstance(data, pd.DataFrame):
        series = {str(c): data.index[data[c].notna().to_numpy()] for c in data.columns}
    else:
        series = {str(k): pd.DatetimeIndex(v.index) for k, v in data.items()}
    rows = []
    for sym, idx in series.items():
        idx = pd.DatetimeIndex(idx).unique().sort_values()
        if len(idx) == 0:
            rows.append({"symbol": sym, "bars": 0, "missing bars": 0})
            continue
        first, last = idx[0], idx[-1]
        expected = int((last - first) // step) + 1
        on_grid = int((((idx - first) % step) == pd.Timedelta(0)).sum())
        lday = lst.get(sym)
        rows.append(
            {
                "symbol": sym,
                "first bar": _fmt(first, f),
                "last bar": _fmt(last, f),
                "bars": len(idx),
                "missing bars": expected - on_grid,
                "listing": lday or "",
                "from listing": (first.normalize() == pd.Timestamp(lday, tz="UTC"))
                if lday
                else False,
            }
        )
    cols = ["first bar", "last bar", "bars", "missing bars", "listing", "from listing"]
    return pd.DataFrame(rows).set_index("symbol").reindex(columns=cols)


def findings_table(
    report: Any,
    *,
    severities: Iterable[str] = ("error", "warning"),
    checks: Iterable[str] | None = None,
    start: Any = None,
    end: Any = None,
) -> pd.DataFrame:
    """The findings of a :class:`~riskmodels.data.QualityReport` as a display table.

    Parameters
    ----------
    report : QualityReport
        From :func:`riskmodels.data.check_quality` (or combined reports).
    severities : iterable of str
        Severities to keep (default errors and warnings).
    checks : iterable of str, optional
        Checks to keep (default all).
    start, end : date-like, optional
        The analysis window: a column ``in sample`` says whether each finding falls in it.

    Returns
    -------
    DataFrame
        Columns ``severity, check, symbol, time, column, count, in sample, detail``; times as
        UTC strings at the report's frequency; rows in the report's order.
    """
    sev = set(severities)
    chk = None if checks is None else set(checks)
    tb = report.table()
    keep = tb["severity"].isin(sev)
    if chk is not None:
        keep &= tb["check"].isin(chk)
    tb = tb.loc[keep].reset_index(drop=True)
    s = None if start is None else _utc(start)
    e = None if end is None else _utc(end)
    inside = pd.Series(True, index=tb.index)
    if s is not None:
        inside &= tb["time"] >= s
    if e is not None:
        inside &= tb["time"] <= e
    out = pd.DataFrame(
        {
            "severity": tb["severity"],
            "check": tb["check"],
            "symbol": tb["symbol"].fillna("-"),
            "time": [_fmt(t, report.freq) for t in tb["time"]],
            "column": tb["column"].fillna(""),
            "count": tb["count"],
            "in sample": inside.to_numpy(dtype=bool),
            "detail": tb["detail"],
        }
    )
    return out


def _utc(x: Any) -> pd.Timestamp:
    t = pd.Timestamp(x)
    return t.tz_localize("UTC") if t.tzinfo is None else t.tz_convert("UTC")


def return_summary(returns: pd.DataFrame, freq: str) -> pd.DataFrame:
    """Per-asset summary of decimal log returns.

    Parameters
    ----------
    returns : DataFrame
        Decimal log returns, one column per asset (:func:`riskmodels.data.log_returns`);
        NaN are skipped.
    freq : {"1d", "4h", "1h"}
        Bar frequency, for annualization (:func:`periods_per_year`, 24/7 markets).

    Returns
    -------
    DataFrame
        Index ``symbol``; columns ``first``, ``last``, ``returns`` (count), ``ann. mean %``,
        ``ann. vol %``, ``skew``, ``excess kurtosis``, ``worst %``, ``worst day``, ``best %``,
        ``best day``.

    Notes
    -----
    With ``P`` bars per year: ann. mean ``= P mean(r)``, ann. vol ``= sqrt(P) std(r)``
    (``ddof=1``). Skewness and excess kurtosis are the bias-adjusted sample estimators
    ``G1`` and ``G2`` of Joanes & Gill (1998), as computed by :meth:`pandas.Series.skew` and
    :meth:`pandas.Series.kurt` (``G2 = 0`` for a normal population). Worst and best are the
    single-bar log returns in %, labelled by the bar whose close ends them.
    """
    f = parse_freq(freq)
    p = periods_per_year(f)
    rows = []
    for c in returns.columns:
        r = returns[c].dropna()
        if r.empty:
            continue
        rows.append(
            {
                "symbol": str(c),
                "first": _fmt(r.index[0], f),
                "last": _fmt(r.index[-1], f),
                "returns": len(r),
                "ann. mean %": 100.0 * p * float(r.mean()),
                "ann. vol %": 100.0 * np.sqrt(p) * float(r.std(ddof=1)),
                "skew": float(r.skew()),
                "excess kurtosis": float(r.kurt()),
                "worst %": 100.0 * float(r.min()),
                "worst day": _fmt(r.idxmin(), f),
                "best %": 100.0 * float(r.max()),
                "best day": _fmt(r.idxmax(), f),
            }
        )
    return pd.DataFrame(rows).set_index("symbol")


def cross_source_table(
    prices: pd.DataFrame,
    source: Any,
    venues: Sequence[str] = ("coinbase", "yahoo"),
    *,
    min_overlap: int = 30,
) -> pd.DataFrame:
    """Binance daily closes against independent venues' closes, per asset and venue.

    Parameters
    ----------
    prices : DataFrame
        Daily Binance closes, one column per asset (:func:`riskmodels.data.load_prices`).
    source : MirrorSource
        Anything with ``reference_close(symbol, venue) -> Series`` (daily closes, UTC dates).
    venues : sequence of str
        Venues to compare with, in order.
    min_overlap : int
        Pairs with fewer common days are listed with their count but not compared.

    Returns
    -------
    DataFrame
        Rows ``(symbol, venue)``; columns ``days``, ``median |diff| %``, ``p99 |diff| %``,
        ``max |diff| %``, ``max on``. ``attrs["files"]`` lists the reference files read (JSON dicts, for
        :func:`~riskmodels.reporting.provenance.record_inputs`).

    Notes
    -----
    ``diff_t = C_t^ref / C_t^Binance - 1`` on the days both venues have a close. Venues quote
    USD and Binance USDT, and daily closes are snapshots of the same UTC day on different
    books, so differences of about 0.1 % are expected; a large median flags a unit or
    alignment problem, a large maximum a bad tick on one side.
    """
    if min_overlap < 1:
        raise ConfigError(f"min_overlap must be at least 1 (got {min_overlap!r}).")
    rows, files = [], []
    for sym in prices.columns:
        binance = prices[sym].dropna()
        binance.index = binance.index.normalize()
        for venue in venues:
            try:
                ref = source.reference_close(str(sym), venue)
            except DataNotFoundError:
                continue
            files.extend(ref.attrs.get("files", []))
            ref = ref.dropna()
            ref.index = pd.DatetimeIndex(ref.index).normalize()
            ref = ref[~ref.index.duplicated(keep="last")]
            common = binance.index.intersection(ref.index)
            row: dict[str, Any] = {"symbol": str(sym), "venue": venue, "days": len(common)}
            if len(common) >= min_overlap:
                d = (ref.loc[common] / binance.loc[common] - 1.0).abs() * 100.0
                row.update(
                    {
                        "median |diff| %": float(d.median()),
                        "p99 |diff| %": float(d.quantile(0.99)),
                        "max |diff| %": float(d.max()),
                        "max on": _fmt(d.idxmax(), "1d"),
                    }
                )
            rows.append(row)
    cols = ["days", "median |diff| %", "p99 |diff| %", "max |diff| %", "max on"]
    out = (
        pd.DataFrame(rows).set_index(["symbol", "venue"]).reindex(columns=cols)
        if rows
        else pd.DataFrame(columns=cols)
    )
    seen: dict[str, dict[str, Any]] = {}
    for rec in file_records(files):
        seen.setdefault(rec.path, rec.to_dict())
    out.attrs["files"] = list(seen.values())
    return out
