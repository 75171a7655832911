"""Data quality checks for bar frames: find, report and (only when asked) repair defects.

:func:`check_quality` runs eleven checks on a bar frame (one symbol) or a long frame (many
symbols) and returns a :class:`QualityReport`. What happens next is the caller's ``policy``:

``"raise"`` (default)
    raise :class:`~riskmodels.exceptions.DataQualityError` (report attached) when an
    error-level finding concerns the requested ``columns``; otherwise emit one
    :class:`~riskmodels.exceptions.DataQualityWarning` for the remaining errors and warnings.
``"warn"``
    never raise; one :class:`~riskmodels.exceptions.DataQualityWarning` lists errors and
    warnings.
``"repair"``
    apply the repairs below, list every one of them in :attr:`QualityReport.repairs` and emit one
    :class:`~riskmodels.exceptions.RepairWarning`. Missing bars are **never** filled (no forward
    fill, ever); stale prices and extreme returns are reported, not changed.

The checks (name, severity, repair):

=======================  ========  =========================================================
check                    severity  repair under ``policy="repair"``
=======================  ========  =========================================================
``duplicate_timestamps`` error     drop all but the last row of each time (file order)
``unsorted_timestamps``  error     stable sort by time
``off_grid``             error     drop the row (its open time is off the ``freq`` grid)
``invalid_price``        error     set the value to NaN; drop rows without a valid close
``ohlc_inconsistent``    error     clip high/low to the open/close envelope
``in_progress``          error     drop the bar
``bad_tick``             error     high/low := open/close envelope value; open := previous
                                   close (else own close); a bad close drops the row
``missing_bars``         warning   none: gaps stay gaps
``stale_prices``         warning   none
``discontinuity``        warning   none
``extreme_return``       info      none (crash days are real)
=======================  ========  =========================================================

Checks 4 onwards run on the rows sorted by time with duplicates resolved (last row kept), i.e.
on the data as ``policy="repair"`` would see it after its first two steps.

Each check is a small function registered in :data:`CHECKS` (name -> :class:`QualityCheck`:
severity, the fields it reads, a description, what repair does, and the function, whose
docstring gives the rule, threshold and source). The functions read one shared
:class:`CheckContext` per symbol (the parsed bars, the resolved thresholds, the frequency,
``as_of``); :func:`available_checks` tabulates the registry and ``check_quality(...,
checks=[...])`` runs a subset.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from functools import cached_property
from typing import Any, Literal

import numpy as np
import pandas as pd

from riskmodels._display import esc
from riskmodels.data._frames import (
    BAR_COLUMNS,
    FREQUENCIES,
    PRICE_COLUMNS,
    freq_name,
    parse_freq,
)
from riskmodels.exceptions import (
    ConfigError,
    DataError,
    DataQualityError,
    DataQualityWarning,
    RepairWarning,
)

__all__ = [
    "CHECKS",
    "POLICIES",
    "CheckContext",
    "Finding",
    "QualityCheck",
    "QualityReport",
    "QualityThresholds",
    "Repair",
    "available_checks",
    "check_quality",
    "combine",
]

Severity = Literal["error", "warning", "info"]
Policy = Literal["raise", "warn", "repair"]
POLICIES: tuple[str, ...] = ("raise", "warn", "repair")

#: Every check, name -> :class:`QualityCheck`, filled by the registrations below (the check
#: functions): findings are ordered as listed here. :func:`available_checks` tabulates them.
CHECKS: dict[str, QualityCheck] = {}
_MAD_TO_SIGMA = 1.4826  # 1 / Phi^{-1}(3/4): MAD of a normal sample -> its standard deviation
_OHLC_RTOL = 1e-9  # float noise allowed in high >= max(open, close) >= min(open, close) >= low
_MAX_LISTED = 5  # findings quoted in an exception or warning message


# --------------------------------------------------------------------------------------------
# result objects
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Finding:
    """One defect found by a check.

    Attributes
    ----------
    check : str
        The check's name, a key of :data:`CHECKS`.
    severity : {"error", "warning", "info"}
        ``"error"``: the data is wrong as given; ``"warning"``: it may mislead (gaps, stale
        prices); ``"info"``: worth knowing, not a defect (crash-day returns).
    symbol : str or None
        The symbol (``None`` when a single bar frame was checked without a symbol).
    time : pandas.Timestamp
        The first bar open time concerned (UTC). For ``missing_bars`` the first missing bar; for
        ``discontinuity`` the bar whose open disagrees; for ``extreme_return`` the bar whose close
        ends the return.
    count : int
        How many bars the finding covers: consecutive bars for run-type findings, missing bars
        for ``missing_bars``, extra rows for ``duplicate_timestamps``, 1 for per-bar checks.
    column : str or None
        The bar field concerned, or ``None`` for findings about whole bars (structural).
    detail : str
        A sentence with the values seen.
    value : float or None
        The first offending value (a price, a relative difference, a log return), if any.
    """

    check: str
    severity: Severity
    symbol: str | None
    time: pd.Timestamp
    count: int
    column: str | None
    detail: str
    value: float | None = None

    def relevant_to(self, columns: Iterable[str] | None) -> bool:
        """Whether this finding concerns ``columns`` (structural findings always do)."""
        return self.column is None or columns is None or self.column in set(columns)

    def __str__(self) -> str:
        sym = f"{self.symbol} " if self.symbol else ""
        col = f" [{self.column}]" if self.column else ""
        return (
            f"{self.severity.upper()} {self.check} {sym}{_fmt_time(self.time)}{col}: {self.detail}"
        )


@dataclass(frozen=True)
class Repair:
    """One change made under ``policy="repair"``.

    Attributes
    ----------
    check : str
        The check whose finding the repair answers.
    symbol : str or None
        The symbol.
    time : pandas.Timestamp
        The bar open time changed or dropped.
    column : str or None
        The field changed, or ``None`` when a whole row was dropped or rows were reordered.
    old, new : float
        The value before and after (the close of a dropped row and NaN; NaN for a sort).
    action : str
        What was done, in words.
    """

    check: str
    symbol: str | None
    time: pd.Timestamp
    column: str | None
    old: float
    new: float
    action: str

    def __str__(self) -> str:
        sym = f"{self.symbol} " if self.symbol else ""
        return f"{self.check} {sym}{_fmt_time(self.time)}: {self.action}"


@dataclass(frozen=True)
class QualityThresholds:
    """Tuning of the checks; pass any of these to :func:`check_quality` as keyword arguments.

    ``None`` means "depends on ``freq``" and is resolved by :meth:`resolved`.

    Attributes
    ----------
    stale_run : int or None
        Minimum length of a run of flat bars to report, in bars of ``freq`` from the run's first
        to its last open (a time span: missing rows inside the run count). Default
        ``max(5, bars per day)``: 5 at 1d, 6 at 4h, 24 at 1h, 1,440 at 1m -- a full day without
        a single price change is stale at any frequency, and 5 flat days are stale at 1d.
    bad_tick_factor : float
        A price more than this factor above the highest, or below the lowest, of its bar's other
        open/close and the neighbouring closes is a bad tick. Default 5.
    extreme_z : float
        Robust z-score above which a log return is reported. Default 10.
    extreme_window : int or None
        Trailing window (bars) of the robust location/scale. Default: 90 days of bars.
    discontinuity_tol : float
        Relative difference ``|open[t+1] / close[t] - 1|`` above which adjacent bars are reported
        as a discontinuity. Default 0.01 (1 %).
    partial_tol : float
        The same relative difference that marks a *stale partial* bar among the last
        ``partial_lookback`` bars (see Notes of :func:`check_quality`). Default 0.01.
    partial_lookback : int
        How many bars before the final one are searched for a stale partial bar. Default 3.
    partial_volume_ratio : float
        A final bar whose volume is below this fraction of the median volume of the previous
        ``partial_volume_window`` bars is taken as in progress. Default 0.2.
    partial_volume_window : int
        Bars in that trailing median. Default 30.
    """

    stale_run: int | None = None
    bad_tick_factor: float = 5.0
    extreme_z: float = 10.0
    extreme_window: int | None = None
    discontinuity_tol: float = 0.01
    partial_tol: float = 0.01
    partial_lookback: int = 3
    partial_volume_ratio: float = 0.2
    partial_volume_window: int = 30

    def __post_init__(self) -> None:
        def _int(name: str, lo: int, hint: str, optional: bool = False) -> None:
            v = getattr(self, name)
            if optional and v is None:
                return
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo:
                raise ConfigError(f"{name} must be an integer >= {lo} (got {v!r}). {hint}")

        def _float(name: str, lo: float, hi: float, hint: str) -> None:
            v = getattr(self, name)
            ok = isinstance(v, (int, float, np.number)) and not isinstance(v, bool)
            if not ok or not (lo < float(v) < hi):
                raise ConfigError(f"{name} must be a number in ({lo}, {hi}) (got {v!r}). {hint}")

        _int("stale_run", 2, "Typical: 5 daily bars, one day of intraday bars.", optional=True)
        _float("bad_tick_factor", 1.0, math.inf, "Typical: 5-100 (orders of magnitude).")
        _float("extreme_z", 0.0, math.inf, "Typical: 8-15 robust standard deviations.")
        _int("extreme_window", 10, "Typical: 90 days of bars.", optional=True)
        _float("discontinuity_tol", 0.0, 1.0, "Typical: 0.005-0.02 (relative).")
        _float("partial_tol", 0.0, 1.0, "Typical: 0.005-0.02 (relative).")
        _int("partial_lookback", 1, "Typical: 1-5 bars.")
        _float("partial_volume_ratio", 0.0, 1.0, "Typical: 0.1-0.3.")
        _int("partial_volume_window", 3, "Typical: 20-60 bars.")

    def resolved(self, freq: str) -> QualityThresholds:
        """The thresholds with the frequency-dependent defaults filled in for ``freq``."""
        step = FREQUENCIES[parse_freq(freq)]
        per_day = max(1, int(pd.Timedelta("1D") // step))
        vals = {f.name: getattr(self, f.name) for f in fields(self)}
        if vals["stale_run"] is None:
            vals["stale_run"] = max(5, per_day)
        if vals["extreme_window"] is None:
            vals["extreme_window"] = 90 * per_day
        return QualityThresholds(**vals)


@dataclass(frozen=True, eq=False, kw_only=True)
class QualityReport:
    """What :func:`check_quality` found (and repaired).

    Attributes
    ----------
    findings : tuple of Finding
        Every finding, ordered by symbol, then check (as in :data:`CHECKS`), then time. Findings
        describe the data *as given*, also under ``policy="repair"``.
    repairs : tuple of Repair
        Every change made under ``policy="repair"`` (empty otherwise).
    data : DataFrame
        The checked frame: as given, or repaired under ``policy="repair"`` (same form as the
        input: a bar frame, or a long frame sorted by symbol then time).
    symbols : tuple
        The symbols checked, in order of first appearance.
    freq : str
        The bar frequency (a key of :data:`~riskmodels.data.FREQUENCIES`, ``"1d"`` .. ``"1m"``).
    n_bars : dict
        Rows checked per symbol (as given, duplicates included).
    policy : str
        The policy applied.
    as_of : dict
        The fetch time used per symbol (``None`` where unknown: heuristics were used).
    notes : tuple of str
        Remarks that are not findings (skipped checks; gaps left unfilled).
    """

    findings: tuple[Finding, ...]
    repairs: tuple[Repair, ...]
    data: pd.DataFrame
    symbols: tuple[str | None, ...]
    freq: str
    n_bars: dict[str | None, int]
    policy: str = "raise"
    as_of: dict[str | None, pd.Timestamp | None] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    # -- views -----------------------------------------------------------------------------
    @property
    def errors(self) -> tuple[Finding, ...]:
        """Error-level findings."""
        return tuple(f for f in self.findings if f.severity == "error")

    @property
    def warnings(self) -> tuple[Finding, ...]:
        """Warning-level findings."""
        return tuple(f for f in self.findings if f.severity == "warning")

    @property
    def infos(self) -> tuple[Finding, ...]:
        """Info-level findings."""
        return tuple(f for f in self.findings if f.severity == "info")

    @property
    def ok(self) -> bool:
        """True when there is no error-level finding."""
        return not self.errors

    def relevant_errors(self, columns: Iterable[str] | None = None) -> tuple[Finding, ...]:
        """Errors that concern ``columns``: structural ones (``column is None``) always do; a
        finding about a field only when ``columns`` is None or includes it."""
        cols = None if columns is None else set(_as_columns(columns))
        return tuple(f for f in self.errors if f.relevant_to(cols))

    def table(self) -> pd.DataFrame:
        """One row per finding: ``symbol, check, severity, time, column, count, value, detail``."""
        cols = ["symbol", "check", "severity", "time", "column", "count", "value", "detail"]
        rows = [
            {
                "symbol": f.symbol,
                "check": f.check,
                "severity": f.severity,
                "time": f.time,
                "column": f.column,
                "count": f.count,
                "value": np.nan if f.value is None else f.value,
                "detail": f.detail,
            }
            for f in self.findings
        ]
        out = pd.DataFrame(rows, columns=cols)
        out["time"] = pd.to_datetime(out["time"], utc=True)
        out["count"] = out["count"].astype("int64")
        out["value"] = out["value"].astype("float64")
        return out

    def repairs_table(self) -> pd.DataFrame:
        """One row per repair: ``symbol, check, time, column, old, new, action``."""
        cols = ["symbol", "check", "time", "column", "old", "new", "action"]
        out = pd.DataFrame([{c: getattr(r, c) for c in cols} for r in self.repairs], columns=cols)
        out["time"] = pd.to_datetime(out["time"], utc=True)
        return out

    def summary(self) -> pd.DataFrame:
        """Number of findings per symbol (rows) and check (columns, in :data:`CHECKS` order).

        Symbols without findings have a row of zeros; checks that found nothing are omitted.
        """
        labels = [_label(s) for s in self.symbols]
        found = [c for c in CHECKS if any(f.check == c for f in self.findings)]
        counts = pd.DataFrame(0, index=pd.Index(labels, name="symbol"), columns=found)
        for f in self.findings:
            counts.loc[_label(f.symbol), f.check] += 1
        counts.columns.name = "check"
        return counts.astype("int64")

    def to_attrs(self) -> dict[str, Any]:
        """A small JSON-serialisable summary, the form loaders keep in ``attrs["quality"]``.

        The report itself (with its findings and the checked data) is not kept on returned
        frames: pandas deep-copies ``attrs`` on every operation and writes them to parquet as
        JSON. Run :func:`check_quality` on the source's bars for the full report.

        Returns
        -------
        dict
            ``policy``, ``freq``, ``n_bars`` (total rows checked), ``ok``, the counts
            ``errors``, ``warnings``, ``infos``, ``repairs``, and ``findings`` / ``repaired``:
            number of findings / repairs per check name (checks with none omitted).
        """
        findings: dict[str, int] = {}
        for f in self.findings:
            findings[f.check] = findings.get(f.check, 0) + 1
        repaired: dict[str, int] = {}
        for r in self.repairs:
            repaired[r.check] = repaired.get(r.check, 0) + 1
        return {
            "policy": str(self.policy),
            "freq": str(self.freq),
            "n_bars": int(sum(self.n_bars.values())),
            "ok": bool(self.ok),
            "errors": len(self.errors),
            "warnings": len(self.warnings),
            "infos": len(self.infos),
            "repairs": len(self.repairs),
            "findings": findings,
            "repaired": repaired,
        }

    # -- combination -----------------------------------------------------------------------
    def merge(self, other: QualityReport) -> QualityReport:
        """This report and ``other`` (different symbols, same ``freq``) as one report."""
        return combine([self, other])

    # -- rendering -------------------------------------------------------------------------
    def _headline(self) -> str:
        syms = ", ".join(_label(s) for s in self.symbols) or "none"
        n = sum(self.n_bars.values())
        return (
            f"QualityReport: {len(self.symbols)} symbol(s) ({syms}), freq {self.freq}, "
            f"{n:,} bars, policy {self.policy!r}: {len(self.errors)} error(s), "
            f"{len(self.warnings)} warning(s), {len(self.infos)} info, "
            f"{len(self.repairs)} repair(s)"
        )

    def __str__(self) -> str:
        lines = [self._headline()]
        limit = 40
        for f in self.findings[:limit]:
            lines.append(f"  {f}")
        if len(self.findings) > limit:
            lines.append(f"  ... and {len(self.findings) - limit} more (see .table())")
        if self.repairs:
            lines.append("Repairs:")
            for r in self.repairs[:limit]:
                lines.append(f"  {r}")
            if len(self.repairs) > limit:
                lines.append(f"  ... and {len(self.repairs) - limit} more (see .repairs_table())")
        for note in self.notes:
            lines.append(f"Note: {note}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<{self._headline()}>"

    def _repr_html_(self) -> str:
        colours = {
            "error": ("#8b1a1a", "#fde8e8"),
            "warning": ("#7a5a00", "#fff6d6"),
            "info": ("#1a4f8b", "#e6f0fb"),
        }
        head = (
            "<tr>"
            + "".join(
                f"<th style='text-align:left;padding:2px 6px'>{h}</th>"
                for h in ("severity", "check", "symbol", "time", "column", "count", "detail")
            )
            + "</tr>"
        )
        body = []
        limit = 200
        for f in self.findings[:limit]:
            fg, bg = colours[f.severity]
            cells = (
                f"<td style='color:{fg};font-weight:bold;padding:2px 6px'>{esc(f.severity)}</td>",
                f"<td style='padding:2px 6px'>{esc(f.check)}</td>",
                f"<td style='padding:2px 6px'>{esc(_label(f.symbol))}</td>",
                f"<td style='padding:2px 6px'>{esc(_fmt_time(f.time))}</td>",
                f"<td style='padding:2px 6px'>{esc(f.column or '')}</td>",
                f"<td style='text-align:right;padding:2px 6px'>{esc(f.count)}</td>",
                f"<td style='padding:2px 6px'>{esc(f.detail)}</td>",
            )
            body.append(f"<tr style='background:{bg}'>{''.join(cells)}</tr>")
        more = ""
        if len(self.findings) > limit:
            more = f"<p>... and {len(self.findings) - limit} more findings (see .table()).</p>"
        reps = ""
        if self.repairs:
            items = "".join(f"<li>{esc(r)}</li>" for r in self.repairs[:limit])
            extra = (
                f"<li>... and {len(self.repairs) - limit} more</li>"
                if len(self.repairs) > limit
                else ""
            )
            reps = f"<p><b>Repairs</b></p><ul>{items}{extra}</ul>"
        notes = "".join(f"<p><i>{esc(n)}</i></p>" for n in self.notes)
        table = (
            f"<table style='border-collapse:collapse;font-size:90%'>{head}{''.join(body)}</table>"
            if self.findings
            else "<p>No findings.</p>"
        )
        return f"<div><p><b>{esc(self._headline())}</b></p>{table}{more}{reps}{notes}</div>"


def combine(reports: Sequence[QualityReport]) -> QualityReport:
    """Several reports (one per symbol or group of symbols) as one.

    Parameters
    ----------
    reports : sequence of QualityReport
        Reports at the same ``freq`` on distinct, named symbols.

    Returns
    -------
    QualityReport
        Findings and repairs concatenated; ``data`` as one long frame (``time`` and ``symbol``
        columns), the policy of the first report (``"mixed"`` if they differ).

    Raises
    ------
    ConfigError
        If no report is given, frequencies differ, a symbol appears twice or is unnamed.
    """
    reports = list(reports)
    if not reports:
        raise ConfigError("combine() needs at least one QualityReport (got none).")
    freqs = sorted({r.freq for r in reports})
    if len(freqs) > 1:
        raise ConfigError(f"reports must share one freq to be combined (got {freqs}).")
    symbols: list[str | None] = []
    for r in reports:
        for s in r.symbols:
            if s is None:
                raise ConfigError(
                    "a report without a symbol cannot be combined: pass symbol= to check_quality."
                )
            if s in symbols:
                raise ConfigError(f"symbol {s!r} appears in more than one report.")
            symbols.append(s)
    longs = [_to_long(r.data, r.symbols[0] if len(r.symbols) == 1 else None) for r in reports]
    data = pd.concat(longs, ignore_index=True) if longs else pd.DataFrame()
    policies = {r.policy for r in reports}
    return QualityReport(
        findings=tuple(f for r in reports for f in r.findings),
        repairs=tuple(x for r in reports for x in r.repairs),
        data=data,
        symbols=tuple(symbols),
        freq=freqs[0],
        n_bars={k: v for r in reports for k, v in r.n_bars.items()},
        policy=policies.pop() if len(policies) == 1 else "mixed",
        as_of={k: v for r in reports for k, v in r.as_of.items()},
        notes=tuple(n for r in reports for n in r.notes),
    )


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------
def _label(symbol: str | None) -> str:
    return "-" if symbol is None else str(symbol)


def _fmt_time(t: pd.Timestamp | None) -> str:
    if t is None:
        return "?"
    t = pd.Timestamp(t)
    return t.strftime("%Y-%m-%d %H:%M") if (t.hour or t.minute) else t.strftime("%Y-%m-%d")


def _g(x: float) -> str:
    """A price or ratio in few significant digits."""
    return f"{x:.6g}"


def _as_columns(columns: Iterable[str] | str) -> list[str]:
    if isinstance(columns, str):
        columns = [columns]
    cols = list(columns)
    bad = [c for c in cols if c not in BAR_COLUMNS]
    if bad:
        raise ConfigError(
            f"columns must be bar fields from {list(BAR_COLUMNS)} (got {bad!r}); "
            "pass None to make every finding relevant."
        )
    return cols


def _to_long(data: pd.DataFrame, symbol: str | None) -> pd.DataFrame:
    """A bar frame or long frame as a long frame with ``time`` and ``symbol`` columns."""
    if "symbol" in data.columns:
        out = data.reset_index() if "time" not in data.columns else data.copy()
        return out
    out = data.reset_index()
    out.insert(1, "symbol", symbol)
    return out


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(start, stop) position pairs of the runs of True in a boolean array."""
    m = np.asarray(mask, dtype=bool)
    if not m.any():
        return []
    d = np.diff(np.concatenate(([0], m.view(np.int8), [0])))
    starts = np.flatnonzero(d == 1)
    stops = np.flatnonzero(d == -1)
    return list(zip(starts.tolist(), stops.tolist(), strict=True))


def _timestamp(x: Any, name: str) -> pd.Timestamp | None:
    if x is None:
        return None
    try:
        ts = pd.Timestamp(x)
    except (ValueError, TypeError) as exc:
        raise ConfigError(
            f"{name} must be a timestamp such as '2026-03-19 19:49Z' (got {x!r})."
        ) from exc
    if ts is pd.NaT:
        raise ConfigError(f"{name} must be a timestamp, not NaT.")
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def _utc_index(idx: pd.Index, what: str) -> pd.DatetimeIndex:
    if not isinstance(idx, pd.DatetimeIndex):
        raise DataError(
            f"{what} must be a bar frame with a DatetimeIndex of bar open times, or a long frame "
            f"with 'symbol' and 'time' columns (got an index of type {type(idx).__name__})."
        )
    if idx.hasnans:
        raise DataError(f"{what}: {int(idx.isna().sum())} missing (NaT) timestamps.")
    idx = idx.tz_localize("UTC") if idx.tz is None else idx.tz_convert("UTC")
    return idx.as_unit("ns")


def _ts(ns: int) -> pd.Timestamp:
    return pd.Timestamp(int(ns), unit="ns", tz="UTC")


def _windows(windows: Any, symbol: str | None) -> np.ndarray | None:
    """Windows as a sorted ``(k, 2)`` int64 array of [first, last] bar opens (ns, UTC)."""
    if windows is None:
        return None
    try:
        pairs = [(_timestamp(a, "window start"), _timestamp(b, "window end")) for a, b in windows]
        if any(a is None or b is None for a, b in pairs):
            raise ValueError("every window needs both bounds; an open end is not a window")
        arr = np.array(sorted((a.value, b.value) for a, b in pairs), dtype=np.int64)  # type: ignore[union-attr]
    except (TypeError, ValueError) as exc:
        raise ConfigError(
            f"windows of {_label(symbol)} must be [start, end] pairs of bar open times, e.g. "
            f"[['2020-03-12', '2020-03-13 23:59']] (got {windows!r}): {exc}"
        ) from None
    arr = arr.reshape(-1, 2)
    if (arr[:, 1] < arr[:, 0]).any() or (arr[1:, 0] <= arr[:-1, 1]).any():
        raise ConfigError(
            f"windows of {_label(symbol)} must be disjoint [start, end] pairs with start <= end "
            f"(got {windows!r})."
        )
    return arr


# --------------------------------------------------------------------------------------------
# per-symbol parsing
# --------------------------------------------------------------------------------------------
def _numeric_bars(frame: pd.DataFrame, symbol: str | None) -> pd.DataFrame:
    """``frame`` with its bar columns (``open`` ... ``trades``) as float64, or a
    :class:`DataError` naming the first column and value that is not a number.

    Missing values (NaN/None/pd.NA) stay NaN; strings that spell a number (``"101.5"``) are
    read; ``"n/a"``, ``"-"``, lists and booleans are refused (the checks compare numbers).
    """
    out = frame
    for c in BAR_COLUMNS:
        if c not in frame.columns:
            continue
        s = frame[c]
        if isinstance(s, pd.DataFrame):
            raise DataError(
                f"bars of {_label(symbol)} have {s.shape[1]} columns named {c!r}: keep one."
            )
        if s.dtype == np.dtype("float64"):
            continue
        if pd.api.types.is_bool_dtype(s.dtype):
            raise DataError(
                f"bars[{c!r}] of {_label(symbol)} holds booleans (dtype {s.dtype}), not numbers: "
                "pass float prices and volumes."
            )
        if pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_complex_dtype(s.dtype):
            num = pd.Series(s.to_numpy(dtype="float64", na_value=np.nan), index=s.index)
        else:
            num = pd.to_numeric(s, errors="coerce").astype("float64")
            bad = (num.isna() & s.notna()) | s.map(lambda x: isinstance(x, bool | np.bool_))
            if bad.any():
                first = s.index[bad.to_numpy()][0]
                raise DataError(
                    f"bars[{c!r}] of {_label(symbol)} has {int(bad.sum())} value(s) that are not "
                    f"numbers, the first {s[bad].iloc[0]!r} at {first}. Replace them with NaN for "
                    "a missing value (e.g. pd.read_csv(..., na_values=['n/a'])) or drop them, "
                    "then retry."
                )
        if out is frame:
            out = frame.copy()
        out[c] = num.to_numpy()
    return out


def _infer_freq(index: pd.DatetimeIndex, what: str) -> str:
    """The freq of one symbol's bars: :func:`riskmodels._time.bar_frequency` of the distinct
    timestamps in time order (unsorted rows and duplicates are findings, not a reason to
    guess), mapped to a supported freq."""
    u = index.unique().sort_values()
    if len(u) < 2:
        raise ConfigError(
            f"{what}: cannot infer freq from {len(u)} distinct timestamp(s); "
            f"pass freq= (one of {sorted(FREQUENCIES)})."
        )
    return freq_name(
        u,
        what,
        f"pass freq= explicitly (one of {sorted(FREQUENCIES)}): the off_grid check then "
        "reports bars off the grid.",
    )


# --------------------------------------------------------------------------------------------
# the check registry
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class QualityCheck:
    """One registered check: a function of a :class:`CheckContext` and what it is about.

    Attributes
    ----------
    name : str
        The check's name, the key in :data:`CHECKS` and :attr:`Finding.check`.
    severity : {"error", "warning", "info"}
        The severity of every finding of the check.
    fields : tuple of str
        What the check reads: ``"time"`` (the bar open times) and bar fields.
    run : callable
        ``run(ctx) -> list[Finding]``; its docstring says what it flags, the threshold, the
        severity and the source.
    description : str
        What the check finds, in one line.
    repair : str
        What ``policy="repair"`` does about its findings (``"none"``: reported, not changed).
    """

    name: str
    severity: Severity
    fields: tuple[str, ...]
    run: Callable[[CheckContext], list[Finding]]
    description: str
    repair: str = "none"

    def __call__(self, ctx: CheckContext) -> list[Finding]:
        """The check's findings on ``ctx`` (in time order, not yet sorted across checks)."""
        return self.run(ctx)


def _check(
    name: str, severity: Severity, fields: tuple[str, ...], description: str, repair: str = "none"
) -> Callable[[Callable[[CheckContext], list[Finding]]], Callable[[CheckContext], list[Finding]]]:
    """Register the decorated function in :data:`CHECKS` (findings follow registration order)."""

    def register(
        fn: Callable[[CheckContext], list[Finding]],
    ) -> Callable[[CheckContext], list[Finding]]:
        if name in CHECKS:
            raise ValueError(f"check {name!r} is registered twice")
        CHECKS[name] = QualityCheck(name, severity, fields, fn, description, repair)
        return fn

    return register


class CheckContext:
    """One symbol's bars, parsed once, with the settings every check reads.

    The derived arrays are computed on first use and shared by the checks (and the repair
    step), so a check gives the same findings whether it runs alone or with the others.
    Positions refer to :attr:`work`: the rows sorted by time with duplicates resolved (the last
    row of each time kept), i.e. the data as ``policy="repair"`` sees it after its first two
    steps. ``duplicate_timestamps`` and ``unsorted_timestamps`` read the rows as given.

    Parameters
    ----------
    frame : DataFrame
        One symbol's bars as given (UTC ``DatetimeIndex``, numeric bar columns, a ``close``).
    symbol : str or None
        The symbol, copied into every finding.
    freq : str
        The bar frequency (a key of :data:`~riskmodels.data.FREQUENCIES`).
    as_of : pandas.Timestamp or None
        The fetch time (UTC), or ``None`` (in-progress heuristics).
    th : QualityThresholds
        Resolved thresholds (:meth:`QualityThresholds.resolved`).
    windows : ndarray or None
        ``(k, 2)`` int64 [first, last] bar opens (ns) of the documented windows, or ``None``.

    Raises
    ------
    DataError
        If ``frame`` has no ``close`` column.
    """

    def __init__(
        self,
        frame: pd.DataFrame,
        symbol: str | None,
        freq: str,
        as_of: pd.Timestamp | None,
        th: QualityThresholds,
        windows: np.ndarray | None = None,
    ) -> None:
        if "close" not in frame.columns:
            raise DataError(
                f"{_label(symbol)}: no 'close' column (got {list(frame.columns)}); a bar frame "
                "needs at least close prices."
            )
        # th is resolved (QualityThresholds.resolved): the frequency-dependent defaults are set
        assert th.stale_run is not None and th.extreme_window is not None
        self.frame = frame
        self.symbol = symbol
        self.freq = freq
        self.step = int(FREQUENCIES[freq].value)
        self.as_of = as_of
        self.th = th
        self.stale_run: int = th.stale_run
        self.extreme_window: int = th.extreme_window
        self.windows = windows
        self.t_raw: np.ndarray = frame.index.asi8
        self.n_raw = len(self.t_raw)
        self.close_raw: np.ndarray = frame["close"].to_numpy(dtype="float64")

    def finding(
        self, check: str, t: Any, count: int, column: str | None, detail: str, value: Any = None
    ) -> Finding:
        """A :class:`Finding` of ``check`` (its registered severity) at ``t`` (ns or Timestamp)."""
        return Finding(
            check=check,
            severity=CHECKS[check].severity,
            symbol=self.symbol,
            time=t if isinstance(t, pd.Timestamp) else _ts(t),
            count=int(count),
            column=column,
            detail=detail,
            value=None if value is None else float(value),
        )

    # -- the rows as given: duplicates and order ----------------------------------------------
    @cached_property
    def dedup(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(stable time order of the rows, sorted times, last-row-of-its-time mask in order)."""
        order = np.argsort(self.t_raw, kind="stable")
        ts_sorted = self.t_raw[order]
        last_of_group = np.ones(self.n_raw, dtype=bool)
        if self.n_raw > 1:
            last_of_group[:-1] = ts_sorted[1:] != ts_sorted[:-1]
        return order, ts_sorted, last_of_group

    @cached_property
    def groups(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(distinct times, first position of each in sorted order, rows per time)."""
        return np.unique(self.dedup[1], return_index=True, return_counts=True)

    @cached_property
    def dropped_dups(self) -> list[tuple[pd.Timestamp, float, float, int]]:
        """Rows dropped as duplicates: (time, their close, the kept close, rows at the time)."""
        order, ts_sorted, last_of_group = self.dedup
        if last_of_group.all():
            return []
        uniq, first_idx, counts = self.groups
        out = []
        for pos in np.flatnonzero(~last_of_group):
            gi = np.searchsorted(uniq, ts_sorted[pos])
            kept = order[first_idx[gi] + counts[gi] - 1]
            out.append(
                (
                    _ts(ts_sorted[pos]),
                    float(self.close_raw[order[pos]]),
                    float(self.close_raw[kept]),
                    int(counts[gi]),
                )
            )
        return out

    @cached_property
    def backward(self) -> np.ndarray:
        """Rows (as given) whose time is earlier than the row before."""
        back = np.zeros(self.n_raw, dtype=bool)
        if self.n_raw > 1:
            back[1:] = self.t_raw[1:] < self.t_raw[:-1]
        return back

    @property
    def unsorted(self) -> tuple[pd.Timestamp, int] | None:
        """(first out-of-order time, number of backward steps), or ``None`` when sorted."""
        back = self.backward
        if not back.any():
            return None
        return _ts(self.t_raw[int(np.flatnonzero(back)[0])]), int(back.sum())

    # -- the working rows: sorted, duplicates resolved ----------------------------------------
    @cached_property
    def work(self) -> pd.DataFrame:
        """The rows sorted by time (stable), the last row of each time kept."""
        order, _, last_of_group = self.dedup
        return self.frame.iloc[order[last_of_group]]

    @cached_property
    def t(self) -> np.ndarray:
        """Bar open times of :attr:`work` (int64 ns, UTC)."""
        return self.work.index.asi8

    @property
    def n(self) -> int:
        """Rows in :attr:`work`."""
        return len(self.t)

    def _col(self, name: str) -> np.ndarray:
        if name in self.work.columns:
            return self.work[name].to_numpy(dtype="float64", copy=True)
        return np.full(self.n, np.nan)

    @cached_property
    def raw(self) -> dict[str, np.ndarray]:
        """Price fields of :attr:`work` as given (NaN for an absent field)."""
        return {c: self._col(c) for c in PRICE_COLUMNS}

    @cached_property
    def vol(self) -> np.ndarray:
        """Volume of :attr:`work` (NaN when absent)."""
        return self._col("volume")

    @cached_property
    def price_cols(self) -> list[str]:
        """``close`` and the open/high/low fields that are present with a finite value."""
        return ["close"] + [
            c
            for c in ("open", "high", "low")
            if c in self.work.columns and np.isfinite(self.raw[c]).any()
        ]

    @property
    def notes(self) -> list[str]:
        """Remarks that are not findings (price fields whose checks were skipped)."""
        skipped = [c for c in ("open", "high", "low") if c not in self.price_cols]
        if skipped and self.n:
            return [
                f"{_label(self.symbol)}: column(s) {', '.join(skipped)} are absent or empty; "
                "their checks were skipped."
            ]
        return []

    @cached_property
    def valid(self) -> dict[str, np.ndarray]:
        """Per price field: finite and positive."""
        with np.errstate(invalid="ignore"):
            return {c: np.isfinite(self.raw[c]) & (self.raw[c] > 0) for c in PRICE_COLUMNS}

    @cached_property
    def invalid(self) -> dict[str, np.ndarray]:
        """Per checked price field (:attr:`price_cols`): not finite and positive."""
        return {c: ~self.valid[c] for c in self.price_cols}

    @cached_property
    def p(self) -> dict[str, np.ndarray]:
        """Price fields with invalid values set to NaN: what the later checks compare."""
        return {c: np.where(self.valid[c], self.raw[c], np.nan) for c in PRICE_COLUMNS}

    @cached_property
    def adj_next(self) -> np.ndarray:
        """Bar ``i + 1`` opens exactly one ``freq`` after bar ``i`` (stored at ``i``)."""
        adj = np.zeros(self.n, dtype=bool)
        if self.n > 1:
            adj[:-1] = (self.t[1:] - self.t[:-1]) == self.step
        return adj

    @cached_property
    def jump(self) -> np.ndarray:
        """``|open[i+1] / close[i] - 1|``, stored at ``i`` (NaN at the last bar)."""
        o, c_ = self.p["open"], self.p["close"]
        with np.errstate(divide="ignore", invalid="ignore"):
            jump = np.full(self.n, np.nan)
            jump[:-1] = np.abs(o[1:] / c_[:-1] - 1.0)
        return jump

    @cached_property
    def win(self) -> np.ndarray:
        """Window of each row: -1 outside every window; all 0 when there are no windows."""
        if self.windows is None:
            return np.zeros(self.n, dtype=np.int64)
        t = self.t
        pos = np.searchsorted(self.windows[:, 0], t, side="right") - 1
        inside = (pos >= 0) & (t <= self.windows[np.clip(pos, 0, None), 1])
        return np.where(inside, pos, -1)

    # -- shared by several checks and the repair step ----------------------------------------
    @cached_property
    def grid(self) -> tuple[np.ndarray, np.ndarray, int]:
        """(off-grid mask, phase of each open on the ``freq`` grid, the modal phase)."""
        t = self.t
        if not self.n:
            return np.zeros(0, dtype=bool), np.zeros(0, dtype=np.int64), 0
        phase = np.mod(t, self.step)
        vals, cnt = np.unique(phase, return_counts=True)
        modal = int(vals[np.argmax(cnt)])
        return phase != modal, phase, modal

    @property
    def off_grid(self) -> np.ndarray:
        """Bars whose open time is off the series' modal ``freq`` grid."""
        return self.grid[0]

    @cached_property
    def progress(self) -> tuple[np.ndarray, dict[int, str]]:
        """(in-progress mask, why per flagged position): the rule of :func:`_in_progress`."""
        n, t, th = self.n, self.t, self.th
        prog = np.zeros(n, dtype=bool)
        why: dict[int, str] = {}
        if n and self.as_of is not None:
            as_of = self.as_of
            prog = t + self.step > as_of.value
            for i in np.flatnonzero(prog):
                why[int(i)] = f"closes after as_of {as_of.strftime('%Y-%m-%d %H:%M')} UTC"
        elif n:
            o, c_, vol, jump = self.p["open"], self.p["close"], self.vol, self.jump
            # (b1) stale partial: close[i] far from open[i+1] near the end of the series
            lo_i = max(0, n - 1 - th.partial_lookback)
            cand = np.arange(lo_i, n - 1)
            stale = cand[
                self.adj_next[cand] & (np.nan_to_num(jump[cand], nan=0.0) > th.partial_tol)
            ]
            for i in stale:
                prog[i] = True
                why[int(i)] = (
                    f"stale partial bar: its close {_g(c_[i])} differs from the next open "
                    f"{_g(o[i + 1])} by {jump[i]:.2%} (> partial_tol {th.partial_tol:.2%}), so "
                    "it was captured before it closed and never updated"
                )
            if len(stale):
                last = n - 1
                prog[last] = True
                why[last] = (
                    f"final bar of a series that stored a bar in progress "
                    f"({_fmt_time(_ts(t[stale[0]]))}), so this one is taken as in progress too"
                )
            # (b2) the final bar's volume far below the trailing median
            w = th.partial_volume_window
            prev = vol[max(0, n - 1 - w) : n - 1]
            prev = prev[np.isfinite(prev)]
            if len(prev) >= max(3, w // 2) and np.isfinite(vol[-1]):
                med = float(np.median(prev))
                if med > 0 and vol[-1] < th.partial_volume_ratio * med:
                    last = n - 1
                    reason = (
                        f"final bar volume {_g(vol[-1])} is {vol[-1] / med:.1%} of the median "
                        f"{_g(med)} of the previous {len(prev)} bars (< partial_volume_ratio "
                        f"{th.partial_volume_ratio:.0%}): a partial bar"
                    )
                    why[last] = f"{why[last]}; {reason}" if prog[last] else reason
                    prog[last] = True
        return prog, why

    @property
    def in_progress(self) -> np.ndarray:
        """Bars taken as in progress (exactly with ``as_of``; heuristics without)."""
        return self.progress[0]

    @property
    def in_progress_why(self) -> dict[int, str]:
        """Why each in-progress bar is one, by position."""
        return self.progress[1]

    @cached_property
    def cprev(self) -> np.ndarray:
        """The previous row's close (valid closes only; NaN at the first row)."""
        out = np.full(self.n, np.nan)
        if self.n > 1:
            out[1:] = self.p["close"][:-1]
        return out

    @cached_property
    def cnext(self) -> np.ndarray:
        """The next row's close (valid closes only; NaN at the last row)."""
        out = np.full(self.n, np.nan)
        if self.n > 1:
            out[:-1] = self.p["close"][1:]
        return out

    @cached_property
    def bad_ticks(self) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Per checked price field: (bad-tick mask, highest reference, lowest reference)."""
        n, p, k = self.n, self.p, self.th.bad_tick_factor
        out: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        # open/close first: a bad open or close is left out of the references of high and low
        # (a bad open print is also the bar's low, which would otherwise hide behind it)
        for name in [x for x in ("close", "open", "high", "low") if x in self.price_cols]:
            own = [
                np.where(out[x][0], np.nan, p[x]) if x in out else p[x]
                for x in ("open", "close")
                if x != name and x in self.price_cols
            ]
            refs = np.vstack([*own, self.cprev, self.cnext])
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                ref_hi = np.nanmax(refs, axis=0) if n else np.array([])
                ref_lo = np.nanmin(refs, axis=0) if n else np.array([])
            x = p[name]
            with np.errstate(invalid="ignore"):
                m = np.isfinite(x) & np.isfinite(ref_hi) & ((x > k * ref_hi) | (x < ref_lo / k))
            out[name] = (m, ref_hi, ref_lo)
        return out

    @property
    def bad(self) -> dict[str, np.ndarray]:
        """Per checked price field: the bad-tick mask."""
        return {c: m for c, (m, _, _) in self.bad_ticks.items()}


# The checks, in the order of their findings. Each reads the context and returns findings.
@_check(
    "duplicate_timestamps",
    "error",
    ("time",),
    "two or more rows share one bar open time",
    "drop all but the last row of each time (file order)",
)
def _duplicate_timestamps(ctx: CheckContext) -> list[Finding]:
    """Rows that share a bar open time.

    One finding per run of consecutive duplicated times, at its first time, ``count`` = the
    extra rows in the run (rows beyond the first of each time). Threshold: none (any repeat).
    Severity ``error``. Repair: keep the last row of each time in file order.
    """
    order, _, last_of_group = ctx.dedup
    if last_of_group.all():
        return []
    uniq, first_idx, counts = ctx.groups
    extra = counts - 1
    out = []
    for a, b in _runs(extra > 0):
        n_extra = int(extra[a:b].sum())
        t0 = uniq[a]
        grp = order[first_idx[a] : first_idx[a] + counts[a]]
        closes = ", ".join(_g(ctx.close_raw[i]) for i in grp[:4])
        same = np.unique(ctx.frame.iloc[grp].to_numpy(dtype="object").astype(str), axis=0)
        kind = "identical rows" if len(same) == 1 else f"closes {closes}"
        more = "" if b - a == 1 else f" (and {b - a - 1} more timestamps after it)"
        out.append(
            ctx.finding(
                "duplicate_timestamps",
                t0,
                n_extra,
                None,
                f"{counts[a]} rows share the time {_fmt_time(_ts(t0))} ({kind}){more}; "
                f"{n_extra} extra row(s) in this run. The last row of each time is kept under "
                "policy='repair'.",
            )
        )
    return out


@_check(
    "unsorted_timestamps",
    "error",
    ("time",),
    "a row's time is earlier than the row before it",
    "stable sort by time",
)
def _unsorted_timestamps(ctx: CheckContext) -> list[Finding]:
    """Rows (as given) whose time is earlier than the previous row's.

    One finding per run of such rows, ``count`` = the rows in the run. Threshold: none (any
    backward step). Severity ``error``. Repair: a stable sort by time.
    """
    t_raw = ctx.t_raw
    return [
        ctx.finding(
            "unsorted_timestamps",
            t_raw[a],
            b - a,
            None,
            f"row {a} ({_fmt_time(_ts(t_raw[a]))}) comes after row {a - 1} "
            f"({_fmt_time(_ts(t_raw[a - 1]))}): {b - a} row(s) out of time order here; "
            "policy='repair' sorts by time (stable).",
        )
        for a, b in _runs(ctx.backward)
    ]


@_check(
    "off_grid",
    "error",
    ("time",),
    "a bar open time off the series' regular freq grid",
    "drop the row (its open time is off the freq grid)",
)
def _off_grid(ctx: CheckContext) -> list[Finding]:
    """Bar open times off the series' ``freq`` grid.

    The grid is the most common phase of the open times modulo ``freq``; every bar at another
    phase is off it. One finding per run. Threshold: none (any offset). Severity ``error``.
    Repair: drop the bar.
    """
    off, phase, modal = ctx.grid
    t = ctx.t
    return [
        ctx.finding(
            "off_grid",
            t[a],
            b - a,
            None,
            f"{b - a} bar(s) from {_fmt_time(_ts(t[a]))} are not on the {ctx.freq} grid of the "
            f"other bars (offset {pd.Timedelta(int(phase[a] - modal), unit='ns')} from it); "
            "policy='repair' drops them.",
        )
        for a, b in _runs(off)
    ]


@_check(
    "invalid_price",
    "error",
    PRICE_COLUMNS,
    "open/high/low/close that is NaN, infinite, zero or negative",
    "set the value to NaN; drop rows without a valid close",
)
def _invalid_price(ctx: CheckContext) -> list[Finding]:
    """Prices that are NaN, infinite, zero or negative.

    Per present price field (a field absent or entirely NaN is skipped, with a note), one
    finding per run of invalid values. Threshold: a price must be finite and > 0. Severity
    ``error``. Repair: set the value to NaN (never filled); a row without a valid close is
    dropped.
    """
    t = ctx.t
    out = []
    for c in ctx.price_cols:
        for a, b in _runs(ctx.invalid[c]):
            v = ctx.raw[c][a]
            what = "NaN" if np.isnan(v) else _g(v)
            fix = (
                "the row is dropped under policy='repair' (no valid close)"
                if c == "close"
                else "set to NaN under policy='repair' (not filled)"
            )
            out.append(
                ctx.finding(
                    "invalid_price",
                    t[a],
                    b - a,
                    c,
                    f"{c} = {what} on {_fmt_time(_ts(t[a]))}"
                    + (f" and {b - a - 1} following bar(s)" if b - a > 1 else "")
                    + f": prices must be finite and positive; {fix}.",
                    v if np.isfinite(v) else None,
                )
            )
    return out


@_check(
    "ohlc_inconsistent",
    "error",
    PRICE_COLUMNS,
    "high below max(open, close) or low above min(open, close)",
    "clip high/low to the open/close envelope",
)
def _ohlc_inconsistent(ctx: CheckContext) -> list[Finding]:
    """A high below ``max(open, close)`` (or below the low), or a low above ``min(open, close)``.

    On valid prices only, one finding per run and field. Threshold: a relative tolerance of
    1e-9 for float noise. Severity ``error``. Repair: clip high/low to the open/close envelope.
    """
    p, t = ctx.p, ctx.t
    o, h, lo, c_ = p["open"], p["high"], p["low"], p["close"]
    oc_hi = np.fmax(o, c_)
    oc_lo = np.fmin(o, c_)
    with np.errstate(invalid="ignore"):
        high_bad = np.isfinite(h) & np.isfinite(oc_hi) & (h < oc_hi * (1 - _OHLC_RTOL))
        high_bad |= np.isfinite(h) & np.isfinite(lo) & (h < lo * (1 - _OHLC_RTOL))
        low_bad = np.isfinite(lo) & np.isfinite(oc_lo) & (lo > oc_lo * (1 + _OHLC_RTOL))
    out = []
    for name, bad_mask in (("high", high_bad), ("low", low_bad)):
        if name not in ctx.price_cols:
            continue
        for a, b in _runs(bad_mask):
            rule = "below max(open, close)" if name == "high" else "above min(open, close)"
            also = " and below the low" if name == "high" and h[a] < lo[a] else ""
            out.append(
                ctx.finding(
                    "ohlc_inconsistent",
                    t[a],
                    b - a,
                    name,
                    f"{name} {_g(p[name][a])} on {_fmt_time(_ts(t[a]))} is {rule}{also} "
                    f"(open {_g(o[a])}, close {_g(c_[a])}, high {_g(h[a])}, low {_g(lo[a])})"
                    + (f"; {b - a} consecutive bars" if b - a > 1 else "")
                    + "; policy='repair' clips it to the open/close envelope.",
                    p[name][a],
                )
            )
    return out


@_check(
    "in_progress",
    "error",
    ("time", "open", "close", "volume"),
    "a bar that had not closed when the data was fetched",
    "drop the bar",
)
def _in_progress(ctx: CheckContext) -> list[Finding]:
    """Bars that had not closed when the data was fetched.

    With ``as_of``: every bar with ``open + freq > as_of``, one finding per run (exact).
    Without: two heuristics, one finding per bar (Notes of :func:`check_quality`; measured on
    the mirror's Binance files, ``../shared/data``, PROVENANCE.md): a *stale partial* bar among
    the last ``partial_lookback`` (3) before the final one, whose close misses the next open by
    more than ``partial_tol`` (1 %), flags itself and the final bar; a final bar whose volume is
    below ``partial_volume_ratio`` (20 %) of the median of the previous
    ``partial_volume_window`` (30) bars. Severity ``error``. Repair: drop the bar.
    """
    prog, why = ctx.progress
    t, as_of = ctx.t, ctx.as_of
    if as_of is not None:
        out = []
        for a, b in _runs(prog):
            ahead = " (it opens after as_of)" if t[a] > as_of.value else ""
            out.append(
                ctx.finding(
                    "in_progress",
                    t[a],
                    b - a,
                    None,
                    f"{b - a} bar(s) from {_fmt_time(_ts(t[a]))} close after the fetch time "
                    f"as_of {as_of.strftime('%Y-%m-%d %H:%M')} UTC (the first closes at "
                    f"{_fmt_time(_ts(t[a] + ctx.step))}){ahead}; policy='repair' drops them.",
                )
            )
        return out
    return [
        ctx.finding(
            "in_progress",
            t[i],
            1,
            None,
            f"bar {_fmt_time(_ts(t[i]))} looks in progress without a known fetch time: "
            f"{why[int(i)]}. Pass as_of= to decide exactly; policy='repair' drops it.",
            ctx.p["close"][i],
        )
        for i in np.flatnonzero(prog)
    ]


@_check(
    "bad_tick",
    "error",
    PRICE_COLUMNS,
    "a price orders of magnitude away from its bar and its neighbours",
    "high/low := open/close envelope value; open := previous close (else own close); "
    "a bad close drops the row",
)
def _bad_tick(ctx: CheckContext) -> list[Finding]:
    """Prices orders of magnitude away from their bar and its neighbours.

    For each price field ``x`` of bar ``t``, ``R`` is the bar's other open/close (less any bad
    one; close and open are checked first) and the closes of bars ``t-1`` and ``t+1``; ``x`` is
    a bad tick when ``x > k max(R)`` or ``x < min(R) / k``, ``k = bad_tick_factor`` (default 5).
    One finding per bar and field. Severity ``error``. Repair: high/low := max/min(open,
    close); open := previous close (else the bar's close); a bad close drops the row.
    """
    p, t, k = ctx.p, ctx.t, ctx.th.bad_tick_factor
    fix = {
        "high": "high := max(open, close)",
        "low": "low := min(open, close)",
        "open": "open := previous close",
        "close": "the row is dropped",
    }
    out = []
    for name, (m, ref_hi, ref_lo) in ctx.bad_ticks.items():
        x = p[name]
        for i in np.flatnonzero(m):
            if x[i] > k * ref_hi[i]:
                how = f"{x[i] / ref_hi[i]:,.3g}x above the highest"
            else:
                how = f"{ref_lo[i] / x[i]:,.3g}x below the lowest"
            own_txt = ", ".join(f"{q} {_g(p[q][i])}" for q in ("open", "close") if q != name)
            out.append(
                ctx.finding(
                    "bad_tick",
                    t[i],
                    1,
                    name,
                    f"{name} {_g(x[i])} on {_fmt_time(_ts(t[i]))} is {how} of {own_txt} and the "
                    f"neighbouring closes {_g(ctx.cprev[i])} / {_g(ctx.cnext[i])} "
                    f"(bad_tick_factor {_g(k)}); policy='repair' sets {fix[name]}.",
                    x[i],
                )
            )
    return out


@_check(
    "missing_bars",
    "warning",
    ("time",),
    "bars missing from the regular grid between first and last",
)
def _missing_bars(ctx: CheckContext) -> list[Finding]:
    """Bars missing from the ``freq`` grid between the first and the last bar.

    Off-grid bars are left out. One finding per gap, at its first missing bar, ``count`` = the
    missing bars. With ``windows``, only inside the documented windows (edges included); the
    bars between windows are a note of :func:`check_quality`. Threshold: none (any missing
    bar). Severity ``warning``. Repair: none, gaps are never filled (no forward fill).
    """
    step, freq, windows = ctx.step, ctx.freq, ctx.windows
    g = ctx.t[~ctx.off_grid]
    out = []
    if windows is None and len(g) > 1:
        d = np.diff(g)
        miss = d // step - 1
        for i in np.flatnonzero(miss > 0):
            start = g[i] + step
            end = g[i + 1] - step
            out.append(
                ctx.finding(
                    "missing_bars",
                    start,
                    miss[i],
                    None,
                    f"{int(miss[i])} missing {freq} bar(s) from {_fmt_time(_ts(start))} to "
                    f"{_fmt_time(_ts(end))} (between the bars at {_fmt_time(_ts(g[i]))} and "
                    f"{_fmt_time(_ts(g[i + 1]))}); gaps are never filled (no forward fill).",
                )
            )
    elif windows is not None:
        # only inside the documented windows, including their edges
        phase = int(np.mod(g[0], step)) if len(g) else 0
        for w0, w1 in windows.tolist():
            first = w0 + (phase - w0) % step
            if first > w1:
                continue
            k = (w1 - first) // step + 1
            have = np.zeros(k, dtype=bool)
            gi = g[(g >= first) & (g <= w1)]
            have[(gi - first) // step] = True
            for a, b in _runs(~have):
                start, end = first + a * step, first + (b - 1) * step
                out.append(
                    ctx.finding(
                        "missing_bars",
                        start,
                        b - a,
                        None,
                        f"{b - a} missing {freq} bar(s) from {_fmt_time(_ts(start))} to "
                        f"{_fmt_time(_ts(end))} inside the window {_fmt_time(_ts(w0))} .. "
                        f"{_fmt_time(_ts(w1))}; gaps are never filled (no forward fill).",
                    )
                )
    return out


@_check(
    "stale_prices",
    "warning",
    ("time", *PRICE_COLUMNS),
    "a run of flat bars (open = high = low = close) at one price",
)
def _stale_prices(ctx: CheckContext) -> list[Finding]:
    """Runs of flat bars (every present price field equal) at one close.

    A run's length is measured in time (bars of ``freq`` from its first to its last open), so
    rows missing inside a flat run (no trade, so no price change) count towards it; runs never
    cross a window boundary. Threshold: ``stale_run`` (default ``max(5, bars per day)``).
    Severity ``warning``. Repair: none.
    """
    n, t, step, c_ = ctx.n, ctx.t, ctx.step, ctx.p["close"]
    if not n:
        return []
    flat = np.isfinite(c_)
    for x in ctx.price_cols:
        flat &= ctx.p[x] == c_
    win = ctx.win
    same = np.zeros(n, dtype=bool)
    same[1:] = flat[1:] & flat[:-1] & (c_[1:] == c_[:-1]) & (win[1:] == win[:-1])
    starts = np.flatnonzero(~same)
    stops = np.append(starts[1:], n)
    out = []
    for a, b in zip(starts.tolist(), stops.tolist(), strict=True):
        span = int((t[b - 1] - t[a]) // step) + 1
        if flat[a] and span >= ctx.stale_run:
            v = ctx.vol[a:b]
            vsum = np.nansum(v) if np.isfinite(v).any() else np.nan
            gaps = f" over {span} {ctx.freq} intervals" if span != b - a else ""
            out.append(
                ctx.finding(
                    "stale_prices",
                    t[a],
                    b - a,
                    None,
                    f"{b - a} consecutive flat bars{gaps} (open = high = low = close = "
                    f"{_g(c_[a])}) from {_fmt_time(_ts(t[a]))} to {_fmt_time(_ts(t[b - 1]))}, "
                    f"total volume {_g(vsum)} (stale_run {ctx.stale_run}); reported, not "
                    "changed.",
                    c_[a],
                )
            )
    return out


@_check(
    "discontinuity",
    "warning",
    ("time", "open", "close"),
    "a bar's open far from the previous bar's close",
)
def _discontinuity(ctx: CheckContext) -> list[Finding]:
    """A bar's open far from the previous bar's close.

    ``|open[t+1]/close[t] - 1| > discontinuity_tol`` (default 0.01) for bars one ``freq`` apart:
    never across a gap, nor after an in-progress or bad-close bar or at a bad open (those are
    found by ``in_progress`` and ``bad_tick`` whether or not these run). On Binance
    ``open[t+1] == close[t]`` to the tick almost always (Notes of :func:`check_quality`).
    Severity ``warning``. Repair: none.
    """
    n, t, o, c_ = ctx.n, ctx.t, ctx.p["open"], ctx.p["close"]
    bad = ctx.bad
    skip = ctx.in_progress | bad.get("close", np.zeros(n, dtype=bool))
    nxt_bad = np.zeros(n, dtype=bool)
    if n > 1:
        nxt_bad[:-1] = bad.get("open", np.zeros(n, dtype=bool))[1:]
    jump, tol = ctx.jump, ctx.th.discontinuity_tol
    with np.errstate(invalid="ignore"):
        disc = ctx.adj_next & np.isfinite(jump) & (jump > tol) & ~skip & ~nxt_bad
    return [
        ctx.finding(
            "discontinuity",
            t[i + 1],
            1,
            "open",
            f"open {_g(o[i + 1])} on {_fmt_time(_ts(t[i + 1]))} differs from the previous close "
            f"{_g(c_[i])} by {o[i + 1] / c_[i] - 1:+.2%} (discontinuity_tol {tol:.2%}); "
            "reported, not changed.",
            o[i + 1] / c_[i] - 1,
        )
        for i in np.flatnonzero(disc)
    ]


@_check(
    "extreme_return",
    "info",
    ("time", "close"),
    "a close-to-close log return far out on a robust scale",
    "none (crash days are real)",
)
def _extreme_return(ctx: CheckContext) -> list[Finding]:
    """Close-to-close log returns far out on a robust scale.

    ``z_t = (r_t - m_t) / (1.4826 MAD_t)`` with ``r_t = log(c_t/c_{t-1})``, ``m_t`` the median
    of the previous ``extreme_window`` returns (default 90 days of bars) and ``MAD_t`` the
    median of their absolute deviations from their own rolling medians; the first 30 returns
    use the first available window; no return spans two windows. Threshold: ``|z| >
    extreme_z`` (default 10). 1.4826 makes the MAD a consistent estimate of a normal standard
    deviation (Rousseeuw & Croux 1993, Eq. 1). Severity ``info``. Repair: none (crash days
    are real).
    """
    n, t, c_ = ctx.n, ctx.t, ctx.p["close"]
    if n <= 2:
        return []
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.full(n, np.nan)
        r[1:] = np.log(c_[1:] / c_[:-1])
    if ctx.windows is not None:
        win = ctx.win
        r[1:][win[1:] != win[:-1]] = np.nan  # no return across the gap between windows
    rs = pd.Series(r)
    w = ctx.extreme_window
    mp = min(30, w)
    med_s = rs.rolling(w, min_periods=mp).median().shift(1)
    dev = (rs - med_s).abs()
    scale_s = _MAD_TO_SIGMA * dev.rolling(w, min_periods=mp).median().shift(1)
    med = med_s.bfill().to_numpy()
    scale = scale_s.bfill().to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (r - med) / scale
    ext = np.isfinite(z) & (scale > 0) & (np.abs(z) > ctx.th.extreme_z)
    return [
        ctx.finding(
            "extreme_return",
            t[i],
            1,
            "close",
            f"log return {r[i]:+.4f} ({np.expm1(r[i]):+.1%}) from close {_g(c_[i - 1])} on "
            f"{_fmt_time(_ts(t[i - 1]))} to {_g(c_[i])}: robust z {z[i]:+.1f} (median "
            f"{med[i]:+.4f}, scale {scale[i]:.4f} = 1.4826 MAD over up to {w} previous "
            f"bars; extreme_z {_g(ctx.th.extreme_z)}); reported, not changed.",
            r[i],
        )
        for i in np.flatnonzero(ext)
    ]


_CHECK_ORDER = {name: i for i, name in enumerate(CHECKS)}


def available_checks() -> pd.DataFrame:
    """The registered checks, in the order of their findings.

    Returns
    -------
    DataFrame
        Indexed by check name (``check``), columns ``severity``, ``fields`` (what the check
        reads, comma-separated), ``description`` and ``repair`` (what ``policy="repair"``
        does). The full rule of each check is its function's docstring,
        ``CHECKS[name].run.__doc__``.
    """
    rows = [
        {
            "check": c.name,
            "severity": c.severity,
            "fields": ", ".join(c.fields),
            "description": c.description,
            "repair": c.repair,
        }
        for c in CHECKS.values()
    ]
    cols = ["check", "severity", "fields", "description", "repair"]
    return pd.DataFrame(rows, columns=cols).set_index("check")


def _select_checks(checks: str | Iterable[str] | None) -> tuple[str, ...]:
    """``checks`` as registered names in registry order (all when ``None``)."""
    if checks is None:
        return tuple(CHECKS)
    names = [checks] if isinstance(checks, str) else list(checks)
    unknown = [c for c in names if c not in CHECKS]
    if unknown or not names:
        got = f"unknown check(s) {unknown!r}" if unknown else "no check"
        raise ConfigError(
            f"checks must name registered checks ({got}); available: {list(CHECKS)} "
            "(see available_checks()), or None for all."
        )
    chosen = set(names)
    return tuple(c for c in CHECKS if c in chosen)


def _analyze(
    frame: pd.DataFrame,
    symbol: str | None,
    freq: str,
    as_of: pd.Timestamp | None,
    th: QualityThresholds,
    windows: np.ndarray | None = None,
    checks: Sequence[str] | None = None,
) -> tuple[CheckContext, list[Finding]]:
    """Run ``checks`` (default: every registered check) on one symbol's bars.

    Returns the shared context (what the repair step reads) and the findings, ordered by
    check (as in :data:`CHECKS`) then time.
    """
    ctx = CheckContext(frame, symbol, freq, as_of, th, windows)
    findings = [f for name in (CHECKS if checks is None else checks) for f in CHECKS[name](ctx)]
    findings.sort(key=lambda f: (_CHECK_ORDER[f.check], f.time))
    return ctx, findings


def _repair(an: CheckContext, freq: str) -> tuple[pd.DataFrame, list[Repair]]:
    """Apply the repairs to ``an.work``; every change is recorded."""
    sym = an.symbol
    reps: list[Repair] = []
    nan = float("nan")
    for tm, old, new, k in an.dropped_dups:
        reps.append(
            Repair(
                "duplicate_timestamps",
                sym,
                tm,
                None,
                old,
                new,
                f"dropped a duplicate row (close {_g(old)}); kept the last of {k} rows at this "
                f"time (close {_g(new)})",
            )
        )
    if an.unsorted is not None:
        tm, nb = an.unsorted
        reps.append(
            Repair(
                "unsorted_timestamps",
                sym,
                tm,
                None,
                nan,
                nan,
                f"sorted the rows by time (stable); {nb} row(s) were out of order",
            )
        )
    work = an.work
    t = work.index
    n = len(work)
    step = FREQUENCIES[freq]
    close = (
        work["close"].to_numpy(dtype="float64") if "close" in work.columns else np.full(n, np.nan)
    )
    drop = np.zeros(n, dtype=bool)
    for i in np.flatnonzero(an.off_grid):
        drop[i] = True
        reps.append(
            Repair("off_grid", sym, t[i], None, float(close[i]), nan, "dropped a bar off the grid")
        )
    for i in np.flatnonzero(an.in_progress & ~drop):
        drop[i] = True
        reps.append(
            Repair(
                "in_progress",
                sym,
                t[i],
                None,
                float(close[i]),
                nan,
                f"dropped an in-progress bar ({an.in_progress_why.get(int(i), 'in progress')})",
            )
        )
    vals = {
        c: work[c].to_numpy(dtype="float64", copy=True) if c in work.columns else np.full(n, np.nan)
        for c in PRICE_COLUMNS
    }
    orig = {c: v.copy() for c, v in vals.items()}
    # invalid values -> NaN
    for c in an.price_cols:
        for i in np.flatnonzero(an.invalid[c] & ~drop):
            old = float(orig[c][i])
            vals[c][i] = np.nan
            act = (
                "set the invalid close to NaN and dropped the row (no valid close)"
                if c == "close"
                else f"set the invalid {c} to NaN (not filled)"
            )
            if c == "close":
                drop[i] = True
            reps.append(Repair("invalid_price", sym, t[i], c, old, nan, act))
    # bad ticks: close and open first, then high/low against the repaired open/close envelope
    for c in [x for x in ("close", "open", "high", "low") if x in an.price_cols]:
        if c in ("high", "low"):
            env = (np.fmax if c == "high" else np.fmin)(vals["open"], vals["close"])
        for i in np.flatnonzero(an.bad[c] & ~drop):
            old = float(orig[c][i])
            if c == "close":
                vals[c][i] = np.nan
                drop[i] = True
                reps.append(
                    Repair("bad_tick", sym, t[i], c, old, nan, "dropped the row (bad close tick)")
                )
                continue
            if c in ("high", "low"):
                new = env[i]
                side = "max" if c == "high" else "min"
                act = f"replaced the bad {c} by {side}(open, close)"
            else:
                prev_ok = (
                    i > 0
                    and t[i] - t[i - 1] == step
                    and not drop[i - 1]
                    and np.isfinite(vals["close"][i - 1])
                )
                new = vals["close"][i - 1] if prev_ok else vals["close"][i]
                act = (
                    "replaced the bad open by the previous close"
                    if prev_ok
                    else "replaced the bad open by the bar's close (no adjacent previous bar)"
                )
            vals[c][i] = new
            reps.append(Repair("bad_tick", sym, t[i], c, old, float(new), act))
    # OHLC clip on what remains (after the changes above)
    env_hi = np.fmax(vals["open"], vals["close"])
    env_lo = np.fmin(vals["open"], vals["close"])
    with np.errstate(invalid="ignore"):
        for c, env, cmp in (("high", env_hi, np.less), ("low", env_lo, np.greater)):
            if c not in an.price_cols:
                continue
            m = np.isfinite(vals[c]) & np.isfinite(env) & cmp(vals[c], env) & ~drop
            for i in np.flatnonzero(m):
                old = float(vals[c][i])
                vals[c][i] = env[i]
                side = "max" if c == "high" else "min"
                reps.append(
                    Repair(
                        "ohlc_inconsistent",
                        sym,
                        t[i],
                        c,
                        old,
                        float(env[i]),
                        f"clipped {c} to {side}(open, close)",
                    )
                )
    out = work.copy()
    for c in an.price_cols:
        changed = ~((vals[c] == orig[c]) | (np.isnan(vals[c]) & np.isnan(orig[c])))
        if changed.any():
            out[c] = vals[c]
    out = out.loc[~drop]
    reps.sort(key=lambda r: (_CHECK_ORDER[r.check], r.time))
    return out, reps


# --------------------------------------------------------------------------------------------
# entry point
# --------------------------------------------------------------------------------------------
def _summary_text(findings: Sequence[Finding]) -> str:
    counts: dict[str, int] = {}
    for f in findings:
        counts[f.check] = counts.get(f.check, 0) + 1
    parts = [f"{v} {k}" for k, v in sorted(counts.items(), key=lambda kv: _CHECK_ORDER[kv[0]])]
    first = "; ".join(
        f"{f.check} {_label(f.symbol)} {_fmt_time(f.time)}"
        + (f" {f.column}={_g(f.value)}" if f.column and f.value is not None else "")
        for f in findings[:3]
    )
    return f"{', '.join(parts)} (first: {first})"


def _error_message(errors: Sequence[Finding], columns: Sequence[str] | None) -> str:
    shown = []
    for f in errors[:_MAX_LISTED]:
        val = ""
        if f.column is not None and f.value is not None:
            val = f" {f.column}={_g(f.value)}"
        elif f.count > 1:
            val = f" ({f.count} bars)"
        shown.append(f"{f.check} {_label(f.symbol)} at {_fmt_time(f.time)}{val}")
    more = f"; and {len(errors) - _MAX_LISTED} more" if len(errors) > _MAX_LISTED else ""
    scope = "" if columns is None else f" relevant to columns {list(columns)}"
    return (
        f"{len(errors)} data quality error(s){scope}: {'; '.join(shown)}{more}. "
        f"First: {errors[0].detail} "
        'Pass policy="repair" to fix what can be fixed (every repair is listed) or '
        'policy="warn" to continue with the data as given; the exception\'s .report holds '
        "every finding."
    )


def check_quality(
    bars: pd.DataFrame,
    *,
    freq: str | None = None,
    as_of: Any = None,
    policy: Policy = "raise",
    symbol: str | None = None,
    columns: Sequence[str] | str | None = None,
    windows: Any = None,
    checks: str | Iterable[str] | None = None,
    **thresholds: Any,
) -> QualityReport:
    """Check bars for defects and report, warn, raise or repair.

    Parameters
    ----------
    bars : DataFrame
        A bar frame (one symbol; UTC ``DatetimeIndex`` of bar open times; columns ``open, high,
        low, close, volume, ...``), or a long frame with ``symbol`` and ``time`` columns (or a
        ``symbol`` column on a ``DatetimeIndex``), checked per symbol. A naive index is taken as
        UTC. Rows may be unsorted or duplicated: that is what the first checks look for.
    freq : {"1d", "4h", "1h", "15m", "5m", "1m"}, optional
        The bar length. Default: inferred by the package's one rule
        (:func:`riskmodels._time.bar_frequency`: the smallest step between the distinct
        timestamps, every step a whole multiple of it) per symbol (all symbols must agree) and
        validated against the supported frequencies; bars off that grid make the inference
        fail (pass ``freq`` so that ``off_grid`` reports them).
    as_of : timestamp, str or mapping of symbol -> timestamp, optional
        When the data was fetched: a bar with ``open + freq > as_of`` had not closed and is
        in progress. Naive times are UTC. Default ``bars.attrs.get("as_of")``. When unknown
        (``None``), documented heuristics are used instead (see Notes).
    policy : {"raise", "warn", "repair"}
        What to do with the findings (module docstring). Default ``"raise"``.
    symbol : str, optional
        For a bar frame, its symbol (default ``bars.attrs.get("symbol")``); for a long frame,
        the one symbol to check.
    columns : sequence of str, optional
        The fields the caller will use (e.g. ``["close"]``). Under ``policy="raise"`` only errors
        about these fields, and structural errors, raise; others are warned. Default: all.
    windows : list of [start, end], or mapping of symbol -> list, optional
        The documented coverage of a series made of disjoint windows (e.g. the mirror's 1-minute
        crash-day extracts): ``[first bar open, last bar open]`` pairs (inclusive; ISO strings
        or timestamps). Default ``bars.attrs.get("windows")`` (a single bar frame). With
        windows, missing bars are reported only inside windows (their edges included), and
        no stale run or return spans two windows; the gaps between windows are listed in
        :attr:`QualityReport.notes`, not as findings. ``None``: one coverage from the first to
        the last bar.
    checks : str or sequence of str, optional
        The checks to run, names of :data:`CHECKS` (:func:`available_checks`); findings keep
        the registry order whatever the order given. Default: all. A check gives the same
        findings alone as with the others (``discontinuity`` still skips the bars that
        ``in_progress`` and ``bad_tick`` would flag). With a subset, a note names the checks
        run. ``policy="repair"`` needs every check (each repair builds on the ones before).
    **thresholds
        Any field of :class:`QualityThresholds` (``stale_run``, ``bad_tick_factor``,
        ``extreme_z``, ``extreme_window``, ``discontinuity_tol``, ``partial_tol``,
        ``partial_lookback``, ``partial_volume_ratio``, ``partial_volume_window``).

    Returns
    -------
    QualityReport
        Findings (on the data as given), repairs (under ``"repair"``) and the data.

    Raises
    ------
    DataQualityError
        Under ``policy="raise"`` when an error-level finding is relevant to ``columns``; the
        report is attached as ``.report``.
    ConfigError
        For an unknown policy, freq, column, check or threshold, a freq that cannot be
        inferred, or a subset of ``checks`` under ``policy="repair"``.
    DataError
        If ``bars`` is not a bar frame or long frame, or has no ``close`` column.

    Warns
    -----
    DataQualityWarning
        Once, for the errors (``"warn"``, or errors not relevant to ``columns`` under
        ``"raise"``) and warnings found.
    RepairWarning
        Once under ``"repair"`` when something was repaired.

    Notes
    -----
    **In-progress bars without** ``as_of``. Two heuristics, both measured on the mirror's
    Binance files (``../shared/data``, PROVENANCE.md):

    1. *Stale partial bar.* On Binance ``open[t+1] == close[t]`` to the tick almost always:
       ``|open[t+1]/close[t] - 1| > 1 %`` occurs in about 0.016 % of adjacent daily and 4h bar
       pairs and 0.0002 % of hourly pairs. A bar among the last ``partial_lookback`` (3) before
       the final one whose close misses the next open by more than ``partial_tol`` (1 %) was
       captured mid-bar and never updated (wave-structure-engine's 2026-03-13 daily rows of
       BTC/ETH/BNB/DOGE: 1.4-3.1 %). Such a series evidently stores bars in progress, so its
       final bar is flagged too.
    2. *Partial final bar.* The final bar's volume below ``partial_volume_ratio`` (20 %) of the
       median of the previous ``partial_volume_window`` (30) bars. Among historical bars of the
       mirror's Binance files this ratio is below 0.2 for about 0.1 % of daily and 4h bars and
       0.03 % of hourly bars (mostly exchange outages), while bars fetched early in their
       interval show 0.04-0.2.

    A bar fetched late in its interval (more than about a fifth of its usual volume traded)
    cannot be told from a quiet complete bar: pass ``as_of`` whenever the fetch time is known.
    With ``as_of`` the rule ``open + freq > as_of`` is exact and the heuristics are not used.

    **Bad ticks.** For each price field ``x`` of bar ``t``, let ``R`` be the bar's other
    open/close and the closes of bars ``t-1`` and ``t+1``; ``x`` is a bad tick when
    ``x > k max(R)`` or ``x < min(R) / k`` with ``k = bad_tick_factor``. A whole row shifted by
    a factor is not isolated and shows up as two extreme returns instead.

    **Extreme returns.** ``z_t = (r_t - m_t) / (1.4826 MAD_t)`` with ``r_t = log(c_t/c_{t-1})``,
    ``m_t`` the median of the previous ``extreme_window`` returns and ``MAD_t`` the median of
    their absolute deviations from their own rolling medians; the first 30 returns use the
    first available window. 1.4826 makes the MAD a consistent estimate of a normal standard
    deviation (Rousseeuw & Croux 1993, Eq. 1).

    **Stale prices.** A run of consecutive *flat* bars (every present price field equal) at one
    close, at least ``stale_run`` long; a series with only closes treats equal closes as flat.

    **Discontinuity.** ``|open[t+1]/close[t] - 1| > discontinuity_tol`` for bars one ``freq``
    apart (never across a gap, and not at a stale partial or bad-tick bar).

    **Minute bars** (``1m``, ``5m``, ``15m``). The thresholds that depend on the bar length are
    defined in time and scale by themselves: ``stale_run`` is one day of bars (1,440 at 1m)
    and a run's length is measured in time, from its first to its last bar open, so minutes
    without a bar inside a flat run count towards it; ``extreme_window`` is 90 days of bars;
    the extreme-return z-score is measured against the series' own robust scale at the same
    bar length. The other thresholds are ratios of prices at most one bar apart and are kept:
    a print ``bad_tick_factor`` (5) times away from its bar and its neighbours is implausible
    at every bar length, and a 1 % jump between a close and the next open is large at every
    bar length. Tightening them with the bar length (e.g. by ``sqrt(bar / day)``) would turn
    the real wicks of the 2025-10-10 crash minutes (PROVENANCE §2.14: thousands of trades
    below 50 % of the previous price) into errors.

    **Windows.** A series staged as disjoint windows of documented coverage (``windows=``,
    default ``bars.attrs["windows"]``) is checked per window for missing bars; the bars
    between windows were never staged, so their absence is a note, not a finding.

    Examples
    --------
    >>> rep = check_quality(bars, freq="1d", policy="warn")          # doctest: +SKIP
    >>> rep.table()                                                   # doctest: +SKIP
    >>> clean = check_quality(bars, policy="repair").data             # doctest: +SKIP
    """
    if policy not in POLICIES:
        raise ConfigError(
            f"policy must be one of {list(POLICIES)} (got {policy!r}): 'raise' stops on errors, "
            "'warn' reports them, 'repair' fixes what can be fixed and lists every change."
        )
    selected = _select_checks(checks)
    if policy == "repair" and len(selected) < len(CHECKS):
        raise ConfigError(
            f"policy='repair' runs every check (got checks={list(selected)}): the repairs build "
            "on each other (rows sorted and de-duplicated, invalid values cleared, then bad "
            "ticks replaced and high/low clipped). Pass checks=None, or use policy='warn' to "
            "report a subset."
        )
    valid_names = {f.name for f in fields(QualityThresholds)}
    unknown = sorted(set(thresholds) - valid_names)
    if unknown:
        raise ConfigError(
            f"unknown threshold(s) {unknown}; check_quality accepts {sorted(valid_names)}."
        )
    cols = None if columns is None else _as_columns(columns)
    if not isinstance(bars, pd.DataFrame):
        raise DataError(f"bars must be a pandas DataFrame (got {type(bars).__name__}).")
    freq_c = None if freq is None else parse_freq(freq)
    if as_of is None:
        as_of = bars.attrs.get("as_of")

    # split into per-symbol bar-like frames (original columns kept)
    long_input = "symbol" in bars.columns
    time_as_column = long_input and "time" in bars.columns
    groups: list[tuple[str | None, pd.DataFrame]] = []
    if long_input:
        df = bars
        if time_as_column:
            tcol = df["time"]
            if not pd.api.types.is_datetime64_any_dtype(tcol):
                try:
                    tcol = pd.to_datetime(tcol, utc=True, format="mixed")
                except (ValueError, TypeError) as exc:
                    raise DataError(f"the 'time' column could not be parsed: {exc}") from exc
            idx = _utc_index(pd.DatetimeIndex(tcol, name="time"), "bars")
            df = df.drop(columns="time").set_axis(idx, axis=0)
        else:
            df = df.set_axis(_utc_index(df.index, "bars").rename("time"), axis=0)
        syms = pd.unique(df["symbol"].astype(str))
        if symbol is not None:
            if str(symbol) not in set(syms):
                raise ConfigError(
                    f"symbol {symbol!r} is not in the long frame (it has {list(syms)})."
                )
            syms = np.array([str(symbol)])
        keys = df["symbol"].astype(str).to_numpy()
        for s in syms:
            groups.append((str(s), _numeric_bars(df.loc[keys == s], str(s))))
    else:
        idx = _utc_index(bars.index, "bars").rename("time")
        sym = symbol if symbol is not None else bars.attrs.get("symbol")
        sym = None if sym is None else str(sym)
        groups.append((sym, _numeric_bars(bars.set_axis(idx, axis=0), sym)))

    # frequency
    if freq_c is None:
        inferred = {
            s: _infer_freq(g.index, f"bars of {_label(s)}")
            for s, g in groups
            if len(np.unique(g.index.asi8)) >= 2 or len(groups) == 1
        }
        kinds = sorted(set(inferred.values()))
        if not kinds:
            raise ConfigError(
                "cannot infer freq: no symbol has two distinct timestamps; pass freq=."
            )
        if len(kinds) > 1:
            raise ConfigError(
                f"symbols have different bar spacings ({inferred}); check one freq at a time "
                "or pass freq=."
            )
        freq_c = kinds[0]
    th = QualityThresholds(**thresholds).resolved(freq_c)
    if windows is None:
        attr_windows = bars.attrs.get("windows")  # a bar frame's list; a long frame's mapping
        if not long_input or isinstance(attr_windows, Mapping):
            windows = attr_windows

    def as_of_for(s: str | None) -> pd.Timestamp | None:
        if isinstance(as_of, Mapping):
            return _timestamp(as_of.get(s), f"as_of[{s!r}]")
        return _timestamp(as_of, "as_of")

    analyses: list[tuple[CheckContext, list[Finding]]] = []
    as_of_used: dict[str | None, pd.Timestamp | None] = {}
    window_notes: list[str] = []
    for s, g in groups:
        a_of = as_of_for(s)
        as_of_used[s] = a_of
        w = _windows(windows.get(s) if isinstance(windows, Mapping) else windows, s)
        if w is not None and len(w) > 1:
            between = int(((w[1:, 0] - w[:-1, 1]) // FREQUENCIES[freq_c].value - 1).sum())
            window_notes.append(
                f"{_label(s)}: {len(w)} documented windows; the {between} {freq_c} bar(s) "
                f"between them (first gap after {_fmt_time(_ts(w[0, 1]))}) were never staged: "
                "not reported as missing, never filled."
            )
        # Ratios of extreme prices (1e-300 next to 1e300) overflow to inf, which is beyond any
        # threshold and is reported as such: no RuntimeWarning.
        with np.errstate(over="ignore"):
            analyses.append(_analyze(g, s, freq_c, a_of, th, w, selected))

    findings = tuple(f for _, found in analyses for f in found)
    notes = [n for ctx, _ in analyses for n in ctx.notes] + window_notes
    gaps = [f for f in findings if f.check == "missing_bars"]
    if gaps:
        notes.append(
            f"{len(gaps)} gap(s) with {sum(f.count for f in gaps)} missing bar(s) are left as "
            "gaps under every policy: missing bars are never filled (no forward fill)."
        )
    if len(selected) < len(CHECKS):
        notes.append(
            f"only the check(s) {', '.join(selected)} were run (checks=); the other "
            f"{len(CHECKS) - len(selected)} were not."
        )
    repairs: list[Repair] = []
    if policy == "repair":
        parts = []
        for ctx, _ in analyses:
            with np.errstate(over="ignore"):
                fixed, reps = _repair(ctx, freq_c)
            parts.append(fixed)
            repairs.extend(reps)
        if long_input:
            data = pd.concat(parts) if parts else bars.iloc[:0]
            if time_as_column:
                data = data.rename_axis("time").reset_index()
                data = data[list(bars.columns)]
                data = data.reset_index(drop=True)
        else:
            data = parts[0]
            data.attrs = dict(bars.attrs)
    else:
        data = bars
    report = QualityReport(
        findings=findings,
        repairs=tuple(repairs),
        data=data,
        symbols=tuple(s for s, _ in groups),
        freq=freq_c,
        n_bars={s: len(g) for s, g in groups},
        policy=policy,
        as_of=as_of_used,
        notes=tuple(notes),
    )

    errors = report.errors
    warns = report.warnings
    if policy == "raise":
        relevant = report.relevant_errors(cols)
        if relevant:
            raise DataQualityError(_error_message(relevant, cols), report=report)
        rest = [f for f in findings if f.severity in ("error", "warning")]
        if rest:
            warnings.warn(
                DataQualityWarning.template.format(n=len(rest), summary=_summary_text(rest)),
                DataQualityWarning,
                stacklevel=2,
            )
    elif policy == "warn":
        rest = [*errors, *warns]
        if rest:
            warnings.warn(
                DataQualityWarning.template.format(n=len(rest), summary=_summary_text(rest)),
                DataQualityWarning,
                stacklevel=2,
            )
    else:
        if repairs:
            counts: dict[str, int] = {}
            for r in repairs:
                counts[r.check] = counts.get(r.check, 0) + 1
            summ = ", ".join(f"{v} {k}" for k, v in counts.items())
            first = "; ".join(str(r) for r in repairs[:2])
            left = ""
            if warns:
                left = f"; left unchanged: {len(warns)} warning(s)" + (
                    f" incl. {sum(f.count for f in gaps)} missing bar(s) (never filled)"
                    if gaps
                    else ""
                )
            warnings.warn(
                RepairWarning.template.format(
                    n=len(repairs), summary=f"{summ} (first: {first}){left}"
                ),
                RepairWarning,
                stacklevel=2,
            )
        elif warns:
            warnings.warn(
                DataQualityWarning.template.format(n=len(warns), summary=_summary_text(warns)),
                DataQualityWarning,
                stacklevel=2,
            )
    return report
