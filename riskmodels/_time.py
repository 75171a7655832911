"""Reading durations given by users: one parser for the whole package.

:func:`as_timedelta` is used by ``riskmodels.scenarios`` (``as_horizon``) and
``riskmodels.margin`` alike; it lives here because ``margin`` imports ``scenarios``, so the
reverse import would be circular.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

from riskmodels.exceptions import ConfigError

__all__ = ["as_timedelta"]

#: "1d"/"2w" right after a number: read as "1D"/"2W" (pandas deprecates the lowercase units).
_LOWER_UNIT = re.compile(r"(?<=\d)([dw])(?![a-zA-Z])")

#: A number with no unit ("3", "1.5"): pandas reads "3" as 3 nanoseconds.
_BARE_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def _bare_number_error(value: Any, name: str) -> ConfigError:
    if isinstance(value, bool):
        return ConfigError(
            f"{name} must be a duration such as '3D' or '3h' (got the boolean {value!r})."
        )
    return ConfigError(
        f"{name} needs a unit: write e.g. '{value}D' or '{value}h' (got the bare number "
        f"{value!r}, which pandas would read as nanoseconds)."
    )


def as_timedelta(value: Any, name: str = "horizon") -> pd.Timedelta:
    """``pd.Timedelta(value)`` reading ``"1d"`` as one day, else :class:`ConfigError`.

    A bare number (``3``, ``2.5``, ``"3"``, a bool) is refused: pandas would read it as
    nanoseconds. Write ``"3D"`` or ``"3h"``.
    """
    if isinstance(value, bool) or (
        isinstance(value, int | float | np.number) and not isinstance(value, np.timedelta64)
    ):
        raise _bare_number_error(value, name)
    if isinstance(value, str):
        if _BARE_NUMBER.fullmatch(value.strip()):
            raise _bare_number_error(value.strip(), name)
        value = _LOWER_UNIT.sub(lambda m: m.group(1).upper(), value.strip())
    try:
        out = pd.Timedelta(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(
            f"{name} must be a Timedelta such as '1d' or '8h' (got {value!r})."
        ) from exc
    if out is pd.NaT:
        raise ConfigError(f"{name} must be a Timedelta such as '1d' or '8h' (got NaT).")
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
