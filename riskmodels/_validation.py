"""Argument checks shared by every package (the ground floor): confidence levels, sample sizes.

First written for the VaR/ES estimators (``riskmodels.risk``); margin and backtest use them too.

Every check raises an error from :mod:`riskmodels.exceptions` whose message names the argument,
shows what was seen and says how to fix it.
"""

from __future__ import annotations

import functools
import math
import sys
import warnings
from collections.abc import Callable
from numbers import Real
from pathlib import Path
from types import FrameType
from typing import Any, TypeVar

import numpy as np

from riskmodels.exceptions import (
    ConfidenceLevelWarning,
    ConfigError,
    DataError,
    InsufficientDataError,
)

__all__ = [
    "as_float_array",
    "as_output",
    "check_alpha",
    "check_broadcast",
    "check_finite",
    "check_mu_sigma",
    "check_positive",
    "finite_result",
    "min_observations",
    "nonfinite_error",
    "require_observations",
]

#: How many offending positions an error message lists.
_SHOW = 5

_F = TypeVar("_F", bound=Callable[..., Any])


def as_float_array(value: object, name: str) -> np.ndarray:
    """``np.asarray(value, dtype=float)``, or a :class:`ConfigError` for text, ``None`` in a
    list, ragged lists and other values that are not numbers."""
    try:
        return np.asarray(value, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ConfigError(
            f"{name} must be a number or an array of numbers (got {value!r}: {exc})."
        ) from None


def finite_result(fn: _F) -> _F:
    """Run a VaR/ES function with float overflow silenced and refuse a non-finite result.

    Finite inputs can still overflow float64 (a ``sigma`` near 1e308 times a quantile, a
    Student-t quantile for ``nu`` near 0, tail losses of magnitude 1e307 summed): instead of an
    inf or NaN VaR (and a ``RuntimeWarning``) the caller gets a :class:`ConfigError` saying to
    rescale.
    """

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            out = fn(*args, **kwargs)
        values = out if isinstance(out, tuple) else (out,)
        if not all(np.isfinite(np.asarray(v, dtype=float)).all() for v in values):
            raise ConfigError(
                f"{fn.__name__} overflows float64 for these inputs (result {out!r}): the P&L or "
                "its scale is too large, or a shape parameter too extreme. Rescale the P&L (e.g. "
                "to thousands or millions of USD) or use less extreme parameters."
            )
        return out

    return wrapper  # type: ignore[return-value]


def check_alpha(alpha: object) -> float:
    """``alpha`` as a float in the open interval (0, 1), or a :class:`ConfigError`.

    ``alpha`` is a confidence level (0.99 means the 1% loss tail). A value below 0.5 is almost
    always a tail probability written the riskfolio-lib / rugarch way (0.01 for 0.99): it is
    accepted, with a :class:`~riskmodels.exceptions.ConfidenceLevelWarning` that suggests
    ``1 - alpha`` and points at the caller's line.

    Warns
    -----
    ConfidenceLevelWarning
        If ``alpha < 0.5``.
    """
    if isinstance(alpha, bool) or not isinstance(alpha, Real | np.floating | np.integer):
        raise ConfigError(
            f"alpha must be a number in (0, 1) (got {alpha!r}); 0.99 means the 1% loss tail."
        )
    a = float(alpha)
    if not (0.0 < a < 1.0):  # also rejects NaN
        raise ConfigError(f"alpha must be in (0, 1) (got {a!r}); 0.99 means the 1% loss tail.")
    if a < 0.5:
        warnings.warn(
            ConfidenceLevelWarning.template.format(
                alpha=a, tail=100.0 * (1.0 - a), suggest=round(1.0 - a, 12)
            ),
            ConfidenceLevelWarning,
            stacklevel=_caller_stacklevel(),
        )
    return a


#: Folder of the installed package: warnings point at the first frame outside it.
_PACKAGE_DIR = str(Path(__file__).resolve().parent)  # riskmodels/: warnings point past it


def _caller_stacklevel() -> int:
    """The ``stacklevel`` of :func:`warnings.warn` (called from the function that calls this
    one) that attributes a warning to the first frame outside the riskmodels package: the
    user's line, however deep the package's own calls go (``skip_file_prefixes`` needs
    Python 3.12)."""
    frame: FrameType | None = sys._getframe(1)  # the function that warns (stacklevel 1)
    level = 1
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE_DIR):
        frame = frame.f_back
        level += 1
    return level


def min_observations(alpha: float) -> int:
    r"""Fewest observations for which the ``1 - alpha`` tail holds at least one observation.

    :math:`\lceil 1/(1-\alpha) \rceil`, computed so that the rounding of ``1 - alpha`` does
    not add one (``1 / (1 - 0.9)`` is ``10.000000000000002`` in floating point).
    """
    return max(1, math.ceil(round(1.0 / (1.0 - alpha), 6)))


def require_observations(n: int, alpha: float, *, what: str = "pnl") -> None:
    """Raise :class:`InsufficientDataError` when ``n < ceil(1 / (1 - alpha))``."""
    need = min_observations(alpha)
    if n < need:
        raise InsufficientDataError(
            f"VaR/ES needs at least {need} observations for alpha={alpha:g} (got {n} in {what}): "
            f"with fewer the {100 * (1 - alpha):g}% tail holds less than one observation. "
            "Use more scenarios or a lower alpha."
        )


def nonfinite_error(x: np.ndarray, name: str) -> DataError:
    """A :class:`DataError` that counts the NaN and inf values of ``x`` and lists where."""
    bad = ~np.isfinite(x)
    n_nan = int(np.isnan(x).sum())
    n_inf = int(bad.sum()) - n_nan
    pos = np.argwhere(bad)[:_SHOW]
    if x.ndim == 1:
        where = ", ".join(str(int(p[0])) for p in pos)
    else:
        where = ", ".join(str(tuple(int(i) for i in p)) for p in pos)
    more = ", ..." if int(bad.sum()) > _SHOW else ""
    return DataError(
        f"{name} contains {n_nan} NaN and {n_inf} inf value(s) (of {x.size}), at positions "
        f"[{where}{more}]. Drop or fill them before computing VaR/ES (a missing scenario P&L "
        "is not a zero P&L)."
    )


def check_positive(value: object, name: str, *, hint: str = "") -> np.ndarray:
    """``value`` as a float array whose entries are all finite and > 0, else :class:`ConfigError`."""
    arr = as_float_array(value, name)
    bad = ~(np.isfinite(arr) & (arr > 0))
    if bad.any():
        first = arr[bad].flat[0] if arr.ndim else arr
        raise ConfigError(
            f"{name} must be finite and positive (got {float(first)!r}"
            + (f" in {int(bad.sum())} of {arr.size} entries" if arr.ndim else "")
            + f").{(' ' + hint) if hint else ''}"
        )
    return arr


def check_finite(value: object, name: str) -> np.ndarray:
    """``value`` as a float array with finite entries, else :class:`ConfigError`."""
    arr = as_float_array(value, name)
    if not np.isfinite(arr).all():
        shown = float(arr) if arr.ndim == 0 else value
        raise ConfigError(f"{name} must be finite (got {shown!r}).")
    return arr


def check_broadcast(**arrays: np.ndarray) -> None:
    """Raise :class:`ConfigError` unless the parameter arrays broadcast to one shape."""
    try:
        np.broadcast_shapes(*(np.shape(a) for a in arrays.values()))
    except ValueError:
        shapes = ", ".join(f"{k} {np.shape(a)}" for k, a in arrays.items())
        raise ConfigError(
            f"the parameters must broadcast to one shape (got {shapes}): pass scalars, or "
            "arrays of one common length (one entry per position or account)."
        ) from None


def check_mu_sigma(mu: object, sigma: object) -> tuple[np.ndarray, np.ndarray]:
    """P&L mean (finite) and standard deviation or scale (finite, > 0) as float arrays of
    broadcastable shapes."""
    mu_a = check_finite(mu, "mu")
    sigma_a = check_positive(
        sigma, "sigma", hint="sigma is the standard deviation (or scale) of the P&L."
    )
    check_broadcast(mu=mu_a, sigma=sigma_a)
    return mu_a, sigma_a


def as_output(x: np.ndarray) -> float | np.ndarray:
    """A Python float for a 0-d result, else the array."""
    return float(x) if np.ndim(x) == 0 else x
