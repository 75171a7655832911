"""Input checks shared by the VaR/ES estimators.

Every check raises an error from :mod:`riskmodels.exceptions` whose message names the argument,
shows what was seen and says how to fix it.
"""

from __future__ import annotations

import math
from numbers import Real

import numpy as np

from riskmodels.exceptions import ConfigError, DataError, InsufficientDataError

__all__ = [
    "as_output",
    "check_alpha",
    "check_finite",
    "check_mu_sigma",
    "check_positive",
    "min_observations",
    "nonfinite_error",
    "require_observations",
]

#: How many offending positions an error message lists.
_SHOW = 5


def check_alpha(alpha: object) -> float:
    """``alpha`` as a float in the open interval (0, 1), or a :class:`ConfigError`."""
    if isinstance(alpha, bool) or not isinstance(alpha, Real | np.floating | np.integer):
        raise ConfigError(
            f"alpha must be a number in (0, 1) (got {alpha!r}); 0.99 means the 1% loss tail."
        )
    a = float(alpha)
    if not (0.0 < a < 1.0):  # also rejects NaN
        raise ConfigError(f"alpha must be in (0, 1) (got {a!r}); 0.99 means the 1% loss tail.")
    return a


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
    arr = np.asarray(value, dtype=float)
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
    arr = np.asarray(value, dtype=float)
    if not np.isfinite(arr).all():
        shown = float(arr) if arr.ndim == 0 else value
        raise ConfigError(f"{name} must be finite (got {shown!r}).")
    return arr


def check_mu_sigma(mu: object, sigma: object) -> tuple[np.ndarray, np.ndarray]:
    """P&L mean (finite) and standard deviation or scale (finite, > 0) as float arrays."""
    mu_a = check_finite(mu, "mu")
    sigma_a = check_positive(
        sigma, "sigma", hint="sigma is the standard deviation (or scale) of the P&L."
    )
    return mu_a, sigma_a


def as_output(x: np.ndarray) -> float | np.ndarray:
    """A Python float for a 0-d result, else the array."""
    return float(x) if np.ndim(x) == 0 else x
