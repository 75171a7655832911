"""Time and frequency: one duration parser, one bar-frequency rule, one horizon-in-bars rule.

:func:`as_timedelta` is used by ``riskmodels.scenarios`` (``as_horizon``),
``riskmodels.margin``, ``riskmodels.calibration`` and ``riskmodels.liquidation``
(``parse_duration`` is a thin wrapper refusing negative durations) alike; it lives here because
``margin`` imports ``scenarios``, so the reverse import would be circular.

:func:`bar_frequency` is the package's one rule for the bar length of a time index, and
:func:`horizon_bars` its one rule for a horizon as a whole number of bars; every package that
reads a frame of bars (backtest, scenarios, stress, calibration, correlation, data quality)
calls them, so a frame with a missing bar gets the same answer wherever it is read.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

from riskmodels.exceptions import ConfigError, DataError, InsufficientDataError

__all__ = ["as_timedelta", "bar_frequency", "duration_label", "horizon_bars"]

#: "1d"/"2w" (or "1 d") right after a number: read as "1D"/"2W" (pandas deprecates the lowercase
#: units and will stop reading them).
_LOWER_UNIT = re.compile(r"(?<=\d)(\s*[dw])(?![a-zA-Z])")

#: A number with no unit ("3", "1.5"): pandas reads "3" as 3 nanoseconds.
_BARE_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def _unit(example: str) -> str:
    """The unit of an example duration as a hint writes it: ``"1d"`` -> ``"D"``, ``"5min"``."""
    unit = example.lstrip("0123456789.")
    return unit.upper() if unit in ("d", "w") else unit


def _bare_number_error(value: Any, name: str, examples: tuple[str, str]) -> ConfigError:
    a, b = (f"3{_unit(e)}" for e in examples)
    if isinstance(value, bool):
        return ConfigError(
            f"{name} must be a duration such as '{a}' or '{b}' (got the boolean {value!r})."
        )
    a, b = (f"{value}{_unit(e)}" for e in examples)
    return ConfigError(
        f"{name} needs a unit: write e.g. '{a}' or '{b}' (got the bare number "
        f"{value!r}, which pandas would read as nanoseconds)."
    )


def as_timedelta(
    value: Any,
    name: str = "horizon",
    *,
    allow_negative: bool = True,
    allow_zero: bool = True,
    examples: tuple[str, str] = ("1d", "8h"),
) -> pd.Timedelta:
    """``pd.Timedelta(value)`` reading ``"1d"`` as one day, else :class:`ConfigError`.

    A bare number (``3``, ``2.5``, ``"3"``, a bool) is refused: pandas would read it as
    nanoseconds. Write ``"3D"`` or ``"3h"``.

    Parameters
    ----------
    value : str, Timedelta, datetime.timedelta or numpy.timedelta64
        The duration.
    name : str
        The argument's name in error messages.
    allow_negative : bool, default True
        False refuses durations below zero (``"-1min"``).
    allow_zero : bool, default True
        False refuses a zero duration.
    examples : (str, str)
        Two durations the error messages suggest (their units also name the fix of a bare
        number: ``("30s", "5min")`` suggests ``'3s'`` or ``'3min'`` for ``3``).

    Returns
    -------
    pandas.Timedelta

    Raises
    ------
    ConfigError
        For a bare number, a string pandas cannot read, NaT, or a duration out of range.
    """
    if isinstance(value, bool) or (
        isinstance(value, int | float | np.number) and not isinstance(value, np.timedelta64)
    ):
        raise _bare_number_error(value, name, examples)
    shown = value
    if isinstance(value, str):
        if _BARE_NUMBER.fullmatch(value.strip()):
            raise _bare_number_error(value.strip(), name, examples)
        value = _LOWER_UNIT.sub(lambda m: m.group(1).upper(), value.strip())
    a, b = examples
    try:
        out = pd.Timedelta(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(
            f"{name} must be a Timedelta such as '{a}' or '{b}' (got {value!r})."
        ) from exc
    if out is pd.NaT:
        raise ConfigError(f"{name} must be a Timedelta such as '{a}' or '{b}' (got NaT).")
    if not allow_negative and out < pd.Timedelta(0):
        bound = ">= 0" if allow_zero else "> 0"
        raise ConfigError(f"{name} must be a duration {bound} such as '{a}' (got {shown!r}).")
    if not allow_zero and out == pd.Timedelta(0):
        raise ConfigError(f"{name} must be a duration > 0 such as '{a}' (got {shown!r}).")
    return out


def duration_label(td: pd.Timedelta) -> str:
    """The shortest exact label of a duration: ``"1d"``, ``"4h"``, ``"1min"``, ``"30s"``, ``"0s"``.

    The one formatter for bar lengths, horizons and delays (reports, table columns, cache
    labels); a duration that is no whole number of milliseconds is written in nanoseconds.
    """
    td = pd.Timedelta(td)
    if td == pd.Timedelta(0):
        return "0s"
    for unit, size in (("d", "1D"), ("h", "1h"), ("min", "1min"), ("s", "1s"), ("ms", "1ms")):
        if td % pd.Timedelta(size) == pd.Timedelta(0):
            return f"{td // pd.Timedelta(size)}{unit}"
    try:
        return f"{td.value}ns"
    except OverflowError:  # beyond the nanosecond range (a Timedelta in microseconds)
        return str(td)


def _freq_alias(td: pd.Timedelta) -> str:
    """A pandas frequency alias for ``frame.asfreq``: ``"1D"``, ``"4h"``, ``"15min"``."""
    label = duration_label(td)
    return label[:-1] + "D" if label.endswith("d") else label


def bar_frequency(index: pd.Index, *, regular: bool = False) -> pd.Timedelta:
    """The bar length of a time index: the package's one rule.

    **The rule.** The index must be a ``DatetimeIndex`` of at least two timestamps, sorted
    increasing, with no duplicate and no ``NaT``. The bar is the *smallest positive step*
    between consecutive timestamps, and every step must be a whole multiple of it: a longer
    step is one or more missing bars (a gap), never a reason to guess another bar length. With
    ``regular=True`` gaps are refused too (every step equals the bar), for computations that
    need a complete grid, where a missing bar must be a NaN row.

    So a daily index with one absent day is daily (``regular=False``) or an error naming the
    gap (``regular=True``), whichever package reads it; an index holding a timestamp off the
    grid of the others (a step that is not a multiple of the smallest one) is an error naming
    the timestamp.

    Parameters
    ----------
    index : pandas.DatetimeIndex
        Bar open times (any time zone, or naive).
    regular : bool, default False
        Also refuse gaps (missing bars).

    Returns
    -------
    pandas.Timedelta
        The bar length, > 0.

    Raises
    ------
    InsufficientDataError
        Fewer than two timestamps (no step to measure).
    DataError
        Not a ``DatetimeIndex``; a ``NaT``; the index not sorted ("sort the index"); a
        duplicated timestamp ("drop duplicate timestamps"); a timestamp off the bar grid; with
        ``regular=True``, a gap ("reindex onto the bar grid with NaN rows:
        ``frame.asfreq('1h')``"). Each message names the first offending timestamp.

    Notes
    -----
    An off-grid timestamp whose offset divides the bar (a bar at 10:30 in hourly data) makes
    the smallest step 30 minutes, and the index reads as 30-minute bars with gaps:
    :func:`riskmodels.data.check_quality` finds such bars (``off_grid``) when given ``freq``.

    Examples
    --------
    >>> idx = pd.date_range("2024-01-01", periods=5, freq="1h")
    >>> bar_frequency(idx.delete(2))
    Timedelta('0 days 01:00:00')
    """
    if not isinstance(index, pd.DatetimeIndex):
        raise DataError(
            f"the bar length is read from a DatetimeIndex of bar open times (got "
            f"{type(index).__name__}): set the time column as the index, e.g. "
            "frame.set_index('time') with pd.to_datetime(..., utc=True)."
        )
    n = len(index)
    if n < 2:
        raise InsufficientDataError(
            f"the bar length is the smallest step between timestamps, which needs at least 2 "
            f"rows (got {n}). Pass a longer history."
        )
    if index.hasnans:
        i = int(np.flatnonzero(index.isna())[0])
        raise DataError(
            f"the index holds NaT (first at position {i}): drop those rows "
            "(frame[frame.index.notna()]) before reading the bar length."
        )
    t = index.as_unit("ns").asi8
    steps = np.diff(t)
    back = np.flatnonzero(steps < 0)
    if back.size:
        i = int(back[0]) + 1
        raise DataError(
            f"the index is not sorted: {index[i]} comes after {index[i - 1]}. Sort the index "
            "first: frame.sort_index()."
        )
    dup = np.flatnonzero(steps == 0)
    if dup.size:
        i = int(dup[0]) + 1
        raise DataError(
            f"the index has duplicate timestamps (first {index[i]}, {int(dup.size)} in all). "
            "Drop duplicate timestamps first: frame[~frame.index.duplicated(keep='last')] "
            "(riskmodels.data.check_quality(..., policy='repair') does it)."
        )
    step = int(steps.min())
    bar = pd.Timedelta(step, unit="ns")
    if np.any(steps % step != 0):
        # Name the timestamp off the grid of most bars: the phase on the most common step.
        vals, counts = np.unique(steps, return_counts=True)
        modal = int(vals[np.argmax(counts)])
        phase = (t - t[0]) % modal
        pv, pc = np.unique(phase, return_counts=True)
        i = int(np.flatnonzero(phase != pv[np.argmax(pc)])[0])
        other = int(steps[np.flatnonzero(steps % step != 0)[0]])
        raise DataError(
            f"timestamp {index[i]} is off the grid of the other bars: the steps "
            f"{duration_label(bar)} and {duration_label(pd.Timedelta(other, unit='ns'))} are not "
            f"whole multiples of one bar (the bar is the smallest step, {duration_label(bar)}). "
            "Drop or re-time the off-grid rows (riskmodels.data.check_quality(..., "
            "policy='repair') drops them), or resample the frame onto one grid."
        )
    if regular:
        gaps = np.flatnonzero(steps != step)
        if gaps.size:
            i = int(gaps[0])
            missing = int((steps[gaps] // step - 1).sum())
            raise DataError(
                f"the index must be a regular grid of bars of {duration_label(bar)}, but "
                f"{missing} bar(s) are missing (the first gap after {index[i]}, next bar "
                f"{index[i + 1]}). A missing bar must be a NaN row, not an absent one: reindex "
                f"onto the bar grid with NaN rows: frame.asfreq('{_freq_alias(bar)}')."
            )
    return bar


def horizon_bars(horizon: Any, bar: Any, name: str = "horizon") -> int:
    """A horizon as a whole number of bars: the package's one rule.

    Parameters
    ----------
    horizon : str, Timedelta, datetime.timedelta or numpy.timedelta64
        Anything :func:`as_timedelta` reads (``"1d"``, ``"8h"``; a bare number is refused).
    bar : str or Timedelta
        The bar length, e.g. from :func:`bar_frequency`.
    name : str
        The argument's name in error messages.

    Returns
    -------
    int
        ``horizon / bar``, >= 1.

    Raises
    ------
    ConfigError
        A horizon that is not a duration, not positive, shorter than one bar, or not a whole
        multiple of the bar; a bar that is not a positive duration.

    Examples
    --------
    >>> horizon_bars("1d", "1h")
    24
    """
    h = as_timedelta(horizon, name)
    f = as_timedelta(bar, "bar", allow_negative=False, allow_zero=False, examples=("1h", "1d"))
    if h <= pd.Timedelta(0):
        raise ConfigError(f"{name} must be positive (got {horizon!r}).")
    if h < f:
        raise ConfigError(
            f"{name} {duration_label(h)} is shorter than the data frequency "
            f"{duration_label(f)} (one bar): use finer bars (load_prices(freq='1h')) or a longer "
            f"{name}."
        )
    steps, rem = divmod(h, f)
    if rem != pd.Timedelta(0):
        try:  # the whole numbers of bars either side (none near the Timedelta range's end)
            lo = int(steps) * f
            near = f" such as '{duration_label(lo)}' or '{duration_label(lo + f)}'"
        except OverflowError:
            near = ""
        raise ConfigError(
            f"{name} {duration_label(h)} is not a whole number of {duration_label(f)} bars "
            f"({h / f:g} bars): use a multiple of {duration_label(f)}{near}."
        )
    return int(steps)
