"""Reading durations given by users: one parser for the whole package.

:func:`as_timedelta` is used by ``riskmodels.scenarios`` (``as_horizon``),
``riskmodels.margin`` and ``riskmodels.liquidation`` (``parse_duration`` is a thin wrapper
refusing negative durations) alike; it lives here because ``margin`` imports ``scenarios``, so
the reverse import would be circular.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

from riskmodels.exceptions import ConfigError

__all__ = ["as_timedelta"]

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
    return f"{td.value}ns"
