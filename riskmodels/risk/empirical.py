r"""Empirical (historical / scenario) VaR and ES on weighted samples.

Conventions
-----------
``pnl`` is profit and loss, positive for a gain; the loss is :math:`L = -\text{pnl}`. VaR and
ES are reported as positive loss amounts at confidence level ``alpha`` (``0.99`` means the 1%
loss tail). A negative VaR means the ``alpha``-quantile of the P&L is a gain.

Shapes
------
``pnl`` is 1-D (one sample of scenarios, the result is a ``float``) or 2-D (scenarios along
``axis``, accounts or portfolios along the other axis; the result is an array with one value
per account). ``weights`` are scenario probabilities, need not sum to one, and are either 1-D
(one weight per scenario, shared by every account) or of the same shape as ``pnl`` (row-wise
weights).

Algorithms
----------
Unweighted samples use :func:`numpy.partition` (a partial sort, :math:`O(n)` per account):
only the VaR order statistic is placed, and the ES needs only the elements above it. Weighted
samples work row-wise: :func:`numpy.argpartition` selects the largest
:math:`4n(1-\alpha) + 64` losses of each account, only those are sorted with their weights,
and the cumulative weight starts from the weight of the rest (accounts whose weights sit on
small losses, so that the crossing of :math:`\alpha` is not among the candidates, are sorted in
full). Both work on blocks of accounts so that temporary arrays stay small (about
``_CHUNK_ELEMENTS`` numbers), which keeps 100,000 accounts x 2,500 scenarios within memory.
"""

from __future__ import annotations

from typing import Literal, overload

import numpy as np
import numpy.typing as npt

from riskmodels._validation import (
    as_float_array,
    check_alpha,
    finite_result,
    nonfinite_error,
    require_observations,
)
from riskmodels.exceptions import ConfigError

__all__ = ["es", "var", "var_es"]

#: Target number of array elements per block of accounts (32 MiB of float64).
_CHUNK_ELEMENTS = 1 << 22

#: Relative tolerance per observation on the cumulative-weight comparison (see ``var``).
_CUMSUM_TOL = 4.0 * np.finfo(float).eps

_DEFINITIONS = r"""
    Notes
    -----
    With losses :math:`L_i = -\text{pnl}_i`, scenario probabilities
    :math:`p_i = w_i / \sum_j w_j` (:math:`p_i = 1/n` without weights) and the empirical loss
    distribution :math:`F_L(\ell) = \sum_i p_i \, 1\{L_i \le \ell\}`:

    .. math::

        \mathrm{VaR}_\alpha = \inf\{\ell : F_L(\ell) \ge \alpha\},

    the lower :math:`\alpha`-quantile in the inverse-CDF sense (Hyndman & Fan 1996 definition 1,
    ``numpy.quantile(losses, alpha, method="inverted_cdf")``): the smallest sorted loss
    :math:`L_{(k)}` whose cumulative probability reaches :math:`\alpha`. No interpolation.

    .. math::

        \mathrm{ES}_\alpha = \frac{1}{1-\alpha}\Big(
            \mathrm{E}\big[L\,1\{L > \mathrm{VaR}_\alpha\}\big]
            + \mathrm{VaR}_\alpha\big(P(L \le \mathrm{VaR}_\alpha) - \alpha\big)\Big)
        = \mathrm{VaR}_\alpha + \frac{1}{1-\alpha} \sum_i p_i (L_i - \mathrm{VaR}_\alpha)^+,

    Acerbi & Tasche (2002), "On the coherence of expected shortfall", J. Banking & Finance
    26, Definition 2.6 and Proposition 3.2 (the second form is Rockafellar & Uryasev 2002,
    Theorem 10). It is the average of the worst :math:`1-\alpha` probability mass, with the
    atom at the VaR counted only for the part of its probability that lies in the tail. Unlike
    the "average of the losses beyond VaR" (tail conditional expectation), this ES is coherent,
    in particular subadditive, also for discrete distributions with atoms, and
    :math:`\mathrm{ES}_\alpha \ge \mathrm{VaR}_\alpha` always.

    With equal weights and :math:`n\alpha` an integer :math:`m`, VaR is :math:`L_{(m)}` and ES
    is the mean of the :math:`n - m` largest losses. Integer weights are equivalent to
    repeating observations.

    Floating point: the comparison :math:`F_L(L_{(k)}) \ge \alpha` is made as
    :math:`\sum_{i \le k} w_{(i)} \ge \alpha \sum_i w_i \,(1 - 4 n \epsilon)`, so that the rounding
    of a cumulative sum (at most about :math:`n\epsilon` relative) cannot move VaR by one
    observation when :math:`\alpha` hits an atom exactly (e.g. :math:`\alpha = 0.99`,
    :math:`n = 1000`). Weighted and unweighted paths use the same rule, so equal weights give
    the unweighted numbers; for the usual levels (:math:`\alpha \ge 0.5`) it coincides with
    NumPy's ``inverted_cdf``.

    Too few observations: at least :math:`\lceil 1/(1-\alpha)\rceil` observations (with positive
    weight) are required, so that the tail holds at least one of them (100 at
    :math:`\alpha = 0.99`).
"""

_PARAMETERS = """
    Parameters
    ----------
    pnl : array-like of shape (n_scenarios,) or 2-D
        Profit and loss (positive = gain). For 2-D input, scenarios run along ``axis``.
    alpha : float
        Confidence level in (0, 1); ``0.99`` is the 1% loss tail.
    weights : array-like of shape (n_scenarios,) or of ``pnl``'s shape, optional
        Non-negative scenario weights (probabilities up to a factor); ``None`` for equal weights.
    axis : int, default 0
        Axis of ``pnl`` along which scenarios run (2-D input only; ignored for 1-D).
"""

_RAISES = """
    Raises
    ------
    DataError
        ``pnl`` contains NaN or inf (the message counts them and lists where).
    ConfigError
        ``alpha`` outside (0, 1); ``pnl`` not 1-D or 2-D; ``axis`` out of range; weights of the
        wrong shape, negative, not finite, or summing to zero.
    InsufficientDataError
        Fewer than :math:`\\lceil 1/(1-\\alpha)\\rceil` observations (with positive weight).
"""


@finite_result
def var(
    pnl: npt.ArrayLike,
    alpha: float,
    weights: npt.ArrayLike | None = None,
    *,
    axis: int = 0,
) -> float | np.ndarray:
    return _compute(pnl, alpha, weights, axis, "var")


@finite_result
def es(
    pnl: npt.ArrayLike,
    alpha: float,
    weights: npt.ArrayLike | None = None,
    *,
    axis: int = 0,
) -> float | np.ndarray:
    return _compute(pnl, alpha, weights, axis, "es")


@finite_result
def var_es(
    pnl: npt.ArrayLike,
    alpha: float,
    weights: npt.ArrayLike | None = None,
    *,
    axis: int = 0,
) -> tuple[float, float] | tuple[np.ndarray, np.ndarray]:
    return _compute(pnl, alpha, weights, axis, "both")


var.__doc__ = (
    """Empirical Value-at-Risk of weighted P&L samples, as a positive loss.
"""
    + _PARAMETERS
    + """
    Returns
    -------
    float or numpy.ndarray
        ``VaR_alpha``: a float for 1-D ``pnl``, else one value per account (``pnl``'s shape
        without ``axis``).
"""
    + _RAISES
    + """
    See Also
    --------
    es, var_es
"""
    + _DEFINITIONS
    + """
    Examples
    --------
    >>> import numpy as np
    >>> from riskmodels.risk import var
    >>> var(-np.arange(1.0, 101.0), 0.95)  # losses 1..100: the 95th smallest loss
    95.0
"""
)

es.__doc__ = (
    """Empirical Expected Shortfall (Acerbi-Tasche) of weighted P&L samples, as a positive loss.
"""
    + _PARAMETERS
    + """
    Returns
    -------
    float or numpy.ndarray
        ``ES_alpha``: a float for 1-D ``pnl``, else one value per account. Always
        ``>= var(pnl, alpha, weights)``.
"""
    + _RAISES
    + """
    See Also
    --------
    var, var_es
"""
    + _DEFINITIONS
    + """
    Examples
    --------
    >>> import numpy as np
    >>> from riskmodels.risk import es
    >>> float(es(-np.arange(1.0, 101.0), 0.95))  # mean of the 5 largest losses 96..100
    98.0
"""
)

var_es.__doc__ = (
    """VaR and ES in one pass (one partial sort or sort per account).
"""
    + _PARAMETERS
    + """
    Returns
    -------
    (var, es) : tuple of float or of numpy.ndarray
        The values :func:`var` and :func:`es` return, computed together.
"""
    + _RAISES
    + _DEFINITIONS
)


# -- implementation ----------------------------------------------------------------------------
@overload
def _compute(
    pnl: npt.ArrayLike,
    alpha: float,
    weights: npt.ArrayLike | None,
    axis: int,
    what: Literal["var", "es"],
) -> float | np.ndarray: ...
@overload
def _compute(
    pnl: npt.ArrayLike,
    alpha: float,
    weights: npt.ArrayLike | None,
    axis: int,
    what: Literal["both"],
) -> tuple[float, float] | tuple[np.ndarray, np.ndarray]: ...
def _compute(
    pnl: npt.ArrayLike,
    alpha: float,
    weights: npt.ArrayLike | None,
    axis: int,
    what: Literal["var", "es", "both"],
) -> float | np.ndarray | tuple[float, float] | tuple[np.ndarray, np.ndarray]:
    alpha = check_alpha(alpha)
    x = as_float_array(pnl, "pnl")
    if x.ndim not in (1, 2):
        raise ConfigError(
            f"pnl must be 1-D (scenarios) or 2-D (scenarios x accounts) (got shape {x.shape}). "
            "Reshape it, or loop over the extra dimensions."
        )
    if isinstance(axis, bool) or not isinstance(axis, int | np.integer):
        raise ConfigError(f"axis must be an integer (got {axis!r}).")
    if x.ndim == 1:
        axis = 0
    elif not -2 <= axis < 2:
        raise ConfigError(
            f"axis={axis} is out of range for 2-D pnl of shape {x.shape}; use 0 when scenarios "
            "are rows, 1 when they are columns."
        )
    axis = int(axis) % x.ndim
    rows = x[None, :] if x.ndim == 1 else np.moveaxis(x, axis, -1)  # (accounts, scenarios) view
    n = rows.shape[1]
    w = _check_weights(weights, x, axis)
    if w is None:
        require_observations(n, alpha)
    else:
        wrows = w[None, :] if w.ndim == 1 or x.ndim == 1 else np.moveaxis(w, axis, -1)
        n_pos = int((wrows > 0).sum(axis=-1).min())
        require_observations(n_pos, alpha, what="pnl (observations with positive weight)")
    m = rows.shape[0]
    v = np.empty(m)
    e = np.empty(m)
    block = max(1, _CHUNK_ELEMENTS // max(n, 1))
    for r0 in range(0, m, block):
        r1 = min(m, r0 + block)
        losses = np.negative(rows[r0:r1], order="C")
        if not np.isfinite(losses).all():
            raise nonfinite_error(x, "pnl")
        if w is None:
            _unweighted(losses, alpha, v[r0:r1], e[r0:r1])
        else:
            wb = w if w.ndim == 1 else np.ascontiguousarray(wrows[r0:r1])
            _weighted(losses, wb, alpha, v[r0:r1], e[r0:r1])
    if x.ndim == 1:
        out_v, out_e = float(v[0]), float(e[0])
        if what == "both":
            return out_v, out_e
        return out_v if what == "var" else out_e
    if what == "var":
        return v
    if what == "es":
        return e
    return v, e


def _check_weights(weights: npt.ArrayLike | None, x: np.ndarray, axis: int) -> np.ndarray | None:
    """Weights as float64: 1-D of length ``n_scenarios`` or ``pnl``'s shape; else ConfigError."""
    if weights is None:
        return None
    w = as_float_array(weights, "weights")
    n = x.shape[axis]
    if not (w.shape == (n,) or w.shape == x.shape):
        raise ConfigError(
            f"weights must have shape ({n},) (one per scenario) or pnl's shape {x.shape} "
            f"(got {w.shape}). Pass one weight per scenario along axis={axis}."
        )
    if not np.isfinite(w).all():
        raise ConfigError(
            f"weights must be finite (found {int((~np.isfinite(w)).sum())} NaN or inf). "
            "Give zero weight to scenarios that should not count."
        )
    if (w < 0).any():
        first = int(np.argwhere(w < 0)[0][0]) if w.ndim == 1 else tuple(np.argwhere(w < 0)[0])
        raise ConfigError(
            f"weights must be non-negative (found {int((w < 0).sum())} negative, the first "
            f"{float(w[first])!r} at position {first}). Weights are scenario probabilities up to a factor."
        )
    total = w.sum() if w.ndim == 1 or x.ndim == 1 else w.sum(axis=axis)
    if np.any(total <= 0):
        where = "" if np.ndim(total) == 0 else f" for {int((total <= 0).sum())} account(s)"
        raise ConfigError(
            f"weights sum to zero{where}; at least one scenario needs a positive weight "
            "(use weights=None for equal weights)."
        )
    return w


def _var_index(n: int, alpha: float) -> int:
    """0-based index of VaR among ``n`` sorted equal-weight losses (see the Notes of ``var``)."""
    k = int(np.ceil(n * alpha * (1.0 - _CUMSUM_TOL * n)))
    return min(max(k, 1), n) - 1


def _unweighted(losses: np.ndarray, alpha: float, v: np.ndarray, e: np.ndarray) -> None:
    """VaR and ES of each row of ``losses`` (rows x n, partitioned in place)."""
    n = losses.shape[1]
    k = _var_index(n, alpha)
    losses.partition(k, axis=-1)
    v[:] = losses[:, k]
    # Elements after position k are >= VaR; those before are <= VaR and add nothing to (L - VaR)^+.
    excess = losses[:, k + 1 :] - v[:, None]
    e[:] = v + excess.sum(axis=-1) / (n * (1.0 - alpha))


def _weighted(
    losses: np.ndarray, w: np.ndarray, alpha: float, v: np.ndarray, e: np.ndarray
) -> None:
    """VaR and ES of each row of ``losses`` with weights ``w`` (1-D shared, or rows x n).

    The largest ``4 n (1 - alpha) + 64`` losses of each row are selected with
    :func:`numpy.argpartition` and only they are sorted. When the weight of the rest is below
    ``alpha`` of the total the first crossing of ``alpha`` lies among them, so VaR and ES are
    exact; other rows (weights concentrated on small losses) are sorted in full.
    """
    m, n = losses.shape
    total = np.full(m, w.sum()) if w.ndim == 1 else w.sum(axis=-1)
    threshold = alpha * total * (1.0 - _CUMSUM_TOL * n)
    n_tail = int(min(n, 4 * np.ceil(n * (1.0 - alpha)) + 64))
    full = np.ones(m, dtype=bool)
    if n_tail < n:
        top = np.argpartition(losses, n - n_tail, axis=-1)[:, n - n_tail :]
        wt = w[top] if w.ndim == 1 else np.take_along_axis(w, top, axis=-1)
        below = total - wt.sum(axis=-1)  # weight of the losses outside the candidates
        ok = below < threshold
        if ok.any():
            lt = np.take_along_axis(losses[ok], top[ok], axis=-1)
            vv, ee = _sorted_tail(lt, wt[ok], below[ok], threshold[ok], total[ok], alpha)
            v[ok], e[ok] = vv, ee
        full = ~ok
    if full.any():
        ws = w if w.ndim == 1 else w[full]
        wfull = np.broadcast_to(ws, (int(full.sum()), n)) if w.ndim == 1 else ws
        vv, ee = _sorted_tail(
            losses[full], wfull, np.zeros(int(full.sum())), threshold[full], total[full], alpha
        )
        v[full], e[full] = vv, ee


def _sorted_tail(
    losses: np.ndarray,
    w: np.ndarray,
    below: np.ndarray,
    threshold: np.ndarray,
    total: np.ndarray,
    alpha: float,
) -> tuple[np.ndarray, np.ndarray]:
    """VaR/ES per row from candidate losses (rows x c), their weights and the weight below them."""
    order = np.argsort(losses, axis=-1, kind="stable")
    sorted_losses = np.take_along_axis(losses, order, axis=-1)
    ws = np.take_along_axis(w, order, axis=-1)
    cum = below[:, None] + np.cumsum(ws, axis=-1)
    idx = np.argmax(cum >= threshold[:, None], axis=-1)  # first index reaching alpha
    v = sorted_losses[np.arange(losses.shape[0]), idx]
    excess = np.maximum(sorted_losses - v[:, None], 0.0)
    return v, v + (ws * excess).sum(axis=-1) / (total * (1.0 - alpha))
