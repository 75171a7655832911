r"""Procyclicality metrics of a margin series, with and without anti-procyclicality tools.

For a margin requirement :math:`M_t` (USD, or a rate) over a look-back period:

* **peak-to-trough ratio** :math:`\max_t M_t / \min_t M_t`;
* **largest n-day increase**, absolute :math:`\max_t (M_t - M_{t-n})` and relative
  :math:`\max_t (M_t / M_{t-n} - 1)`, for :math:`n = 1` and :math:`n = 30` calendar days
  (the value :math:`n` days earlier is the last one observed at or before :math:`t - n`).

These are the quantitative procyclicality measures of the CPMI-IOSCO/ESMA framework as
summarised in VENUES.md §2.6–2.7: EMIR RTS 153/2013 Art. 28 sets the anti-procyclicality
(APC) tools (buffer ≥ 25% released in stress; ≥ 25% weight on stressed observations; a
10-year look-back floor), and ESMA's 2023 final report on the APC RTS review adds
quantitative procyclicality metrics (peak-to-trough and n-day increases). The exact
CPMI-IOSCO Key Consideration text was not retrieved (VENUES.md §2.7); the definitions here
are the standard ones, stated above so that they can be checked.

:func:`procyclicality_comparison` runs the same metrics on the calculated margin and after
each tool of :class:`riskmodels.margin.AntiProcyclicality` (which it reuses, not repeats).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from riskmodels._display import fmt_date, fmt_number, html_table
from riskmodels.exceptions import ConfigError, DataError, InsufficientDataError
from riskmodels.margin import AntiProcyclicality

__all__ = ["ProcyclicalityMetrics", "procyclicality_comparison", "procyclicality_metrics"]


@dataclass(frozen=True, kw_only=True)
class ProcyclicalityMetrics:
    """Procyclicality measures of one margin series (module docstring).

    Attributes
    ----------
    peak, trough : float
        Largest and smallest margin; ``peak_time``, ``trough_time`` when they occurred.
    peak_to_trough : float
        ``peak / trough`` (inf if the trough is 0).
    max_increase_1d, max_increase_1d_rel, max_increase_30d, max_increase_30d_rel : float
        Largest absolute and relative increase over 1 and 30 days; ``*_time`` the end of the
        window.
    start, end : Timestamp
        The period measured.
    """

    peak: float
    peak_time: pd.Timestamp
    trough: float
    trough_time: pd.Timestamp
    peak_to_trough: float
    max_increase_1d: float
    max_increase_1d_time: pd.Timestamp
    max_increase_1d_rel: float
    max_increase_30d: float
    max_increase_30d_time: pd.Timestamp
    max_increase_30d_rel: float
    start: pd.Timestamp
    end: pd.Timestamp

    def as_series(self) -> pd.Series:
        """The metrics as a Series (for side-by-side tables)."""
        return pd.Series(asdict(self), dtype=object)

    def _repr_html_(self) -> str:
        def shown(v: Any) -> str:
            if isinstance(v, pd.Timestamp):
                return fmt_date(v)
            return fmt_number(v) if isinstance(v, float) else str(v)

        return html_table((k, shown(v)) for k, v in asdict(self).items())


def _check_margin(margin: Any, name: str = "margin") -> pd.Series:
    if not isinstance(margin, pd.Series) or not isinstance(margin.index, pd.DatetimeIndex):
        raise ConfigError(
            f"{name} must be a pandas Series indexed by time (got {type(margin).__name__})."
        )
    m = margin.astype("float64").sort_index()
    if m.isna().any() or not np.isfinite(m.to_numpy()).all():
        raise DataError(
            f"{name} has {int((~np.isfinite(m.to_numpy())).sum())} NaN or infinite values; drop "
            "or fill them first."
        )
    if (m < 0).any():
        raise DataError(f"{name} has negative values (min {m.min()!r}); margin is >= 0.")
    if m.size < 2:
        raise InsufficientDataError(f"{name} needs at least 2 observations (got {m.size}).")
    return m


def _increase(m: pd.Series, days: int) -> tuple[float, pd.Timestamp, float]:
    """Largest absolute and relative increase over ``days`` calendar days."""
    lag = pd.Timedelta(days=days)
    past_times = m.index - lag
    pos = m.index.searchsorted(past_times, side="right") - 1
    ok = pos >= 0
    if not ok.any():
        return math.nan, pd.NaT, math.nan
    now = m.to_numpy()[ok]
    past = m.to_numpy()[pos[ok]]
    diff = now - past
    i = int(np.argmax(diff))
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(past > 0, now / np.where(past > 0, past, 1.0) - 1.0, np.nan)
    rel_max = float(np.nanmax(rel)) if np.isfinite(rel).any() else math.nan
    return float(diff[i]), m.index[ok][i], rel_max


def procyclicality_metrics(margin: pd.Series) -> ProcyclicalityMetrics:
    """Peak-to-trough ratio and largest 1-day and 30-day increases of a margin series.

    Parameters
    ----------
    margin : Series
        Margin requirement (USD or rate) on a UTC DatetimeIndex, any spacing.

    Returns
    -------
    ProcyclicalityMetrics

    Raises
    ------
    ConfigError
        Not a time-indexed Series.
    DataError
        NaN, infinite or negative values.
    InsufficientDataError
        Fewer than 2 observations.
    """
    m = _check_margin(margin)
    peak_t, trough_t = m.idxmax(), m.idxmin()
    peak, trough = float(m[peak_t]), float(m[trough_t])
    a1, t1, r1 = _increase(m, 1)
    a30, t30, r30 = _increase(m, 30)
    return ProcyclicalityMetrics(
        peak=peak,
        peak_time=peak_t,
        trough=trough,
        trough_time=trough_t,
        peak_to_trough=peak / trough if trough > 0 else math.inf,
        max_increase_1d=a1,
        max_increase_1d_time=t1,
        max_increase_1d_rel=r1,
        max_increase_30d=a30,
        max_increase_30d_time=t30,
        max_increase_30d_rel=r30,
        start=m.index[0],
        end=m.index[-1],
    )


def procyclicality_comparison(
    margin: pd.Series,
    apc: AntiProcyclicality | None = None,
    **apc_inputs: Any,
) -> pd.DataFrame:
    """Metrics of the calculated margin and after each anti-procyclicality tool.

    Parameters
    ----------
    margin : Series
        Calculated margin requirement over time.
    apc : AntiProcyclicality, optional
        Default ``AntiProcyclicality()`` (25% buffer, EMIR Art. 28(1)(a)).
    **apc_inputs
        ``stress``, ``stressed_margin``, ``floor_margin`` for
        :meth:`~riskmodels.margin.AntiProcyclicality.apply`.

    Returns
    -------
    DataFrame
        One row per series (``calculated``, then each tool that is on, ``final``), one column
        per metric.
    """
    tools = apc if apc is not None else AntiProcyclicality()
    if not isinstance(tools, AntiProcyclicality):
        raise ConfigError(
            f"apc must be a riskmodels.margin.AntiProcyclicality (got {type(apc).__name__})."
        )
    m = _check_margin(margin)
    stages = tools.apply(m, **apc_inputs)
    rows = {col: procyclicality_metrics(stages[col]).as_series() for col in stages.columns}
    return pd.DataFrame(rows).T.rename_axis("series")
