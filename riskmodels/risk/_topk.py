r"""Row-wise empirical VaR and ES of a loss block from each row's largest losses only.

The unweighted kernel of :mod:`riskmodels.risk.empirical` places the VaR order statistic with
:func:`numpy.partition` (introselect over the whole row, in place). Only the largest
:math:`m = n - k` losses of a row matter, where :math:`k` is the 0-based index of the VaR among
the sorted losses (``empirical._var_index``; :math:`m` is about :math:`n(1-\alpha)`, 26 of 2,500
at 99%). :func:`var_es_rows` finds them without moving the row and without modifying it.

Definitions (those of :func:`riskmodels.risk.var_es` without weights): with the losses of a row
sorted, :math:`L_{(0)} \le \dots \le L_{(n-1)}`,

.. math::

    \mathrm{VaR}_\alpha = L_{(k)}, \qquad
    \mathrm{ES}_\alpha = \mathrm{VaR}_\alpha
        + \frac{1}{n(1-\alpha)} \sum_{i > k} \bigl(L_{(i)} - \mathrm{VaR}_\alpha\bigr),

the inverse-CDF (lower) quantile and the Acerbi-Tasche expected shortfall (Acerbi & Tasche
2002, "On the coherence of expected shortfall", J. Banking & Finance 26, Definition 2.6 and
Proposition 3.2). The sum runs over :math:`m - 1` order statistics: the :math:`g` losses above
the VaR and :math:`m - 1 - g` copies of the VaR itself (which add zero, or NaN when the VaR is
infinite, exactly as in ``empirical._unweighted``).

Algorithm (per row, single-threaded, without the GIL; ``_fast_rows``), for :math:`m \le 64` and
:math:`n \ge 4m`:

1. *Threshold.* The row is cut into :math:`2m` interleaved lanes (element :math:`j` belongs to
   lane :math:`j \bmod 2m`) and the maximum of each lane is taken: an elementwise pass that
   compiles to SIMD. The :math:`m`-th largest lane maximum :math:`t` is a lower bound of the
   VaR: the :math:`m` largest lane maxima are :math:`m` different elements of the row, all
   :math:`\ge t`, so :math:`L_{(n-m)} = L_{(k)} \ge t`. It is found by counting ranks
   (branch-free) among the lane maxima not below the least of the :math:`m` pair maxima
   :math:`\max(\text{lane}_b, \text{lane}_{b+m})`, itself a lower bound of :math:`t`.
   Any :math:`t` with at least :math:`m` elements :math:`\ge t` would do; this one leaves
   about :math:`1.4\,m` candidates for exchangeable data.
2. *Filter.* The elements that are not :math:`< t` (and every NaN) are copied, in row order,
   to a small buffer: a SIMD comparison pass writes one flag byte per element, the flags are
   read eight at a time as one 64-bit word and the set bytes of a word located by bit
   arithmetic.
3. *Select.* The VaR is the :math:`m`-th largest candidate (rank counting when there are at most
   ``_RANK_MAX`` candidates, else insertion into a sorted array of size :math:`m`, which also
   copes with heavy ties such as constant rows), and the ES adds the excesses over it.

Other shapes (:math:`m > 64` or short rows) use ``_heap_rows``: a min-heap of the :math:`m`
largest losses filled in one pass (:math:`O(n \log m)` at worst).

The same pass records the first index of each row's maximum (``numpy.argmax``): the maximum is
always a candidate.

Non-finite values: a row holding a NaN gets NaN for both VaR and ES (and the index of its first
NaN as argmax, as ``numpy.argmax`` returns), so that a caller's finiteness check fails.
(``numpy.partition`` sorts NaN last, which leaves the VaR of such a row finite when it has
fewer than :math:`m` NaN.) ``+inf`` and ``-inf`` are ordinary values and give what the formula
gives in IEEE arithmetic, as in ``empirical._unweighted``.

Sums: the excesses are added in row order, ``numpy`` adds them pairwise in partition order, so
the two ES agree to a few ulps of the sum, not bit for bit; the VaR is the same number.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from riskmodels._validation import check_alpha
from riskmodels.exceptions import ConfigError

try:  # numba is a runtime dependency; without it the numpy partition path is used
    from numba import njit

    HAVE_NUMBA = True
except ImportError:  # pragma: no cover - exercised only where numba is missing
    HAVE_NUMBA = False

    def njit(*args: Any, **kwargs: Any) -> Any:  # type: ignore[no-redef]
        def wrap(func: Any) -> Any:
            return func

        return wrap


__all__ = ["HAVE_NUMBA", "var_es_rows"]

#: Largest tail size m handled by the lane-threshold path (its selections are O(m^2)).
_FAST_M_MAX = 64
#: Rank counting (O(c^2), branch-free) up to this many candidates; insertion above.
_RANK_MAX = 96

_U0 = np.uint64(0)
_U1 = np.uint64(1)
#: Eight flag bytes all equal to 1 ("below the threshold").
_ONES = np.uint64(0x0101010101010101)
_S56 = np.uint64(56)


@njit(cache=True, nogil=True, inline="always")
def _kth_largest(a: np.ndarray, cnt: int, m: int) -> float:  # pragma: no cover - jitted
    """The m-th largest of ``a[:cnt]`` (NaN-free, ``cnt >= m``): the largest value with at
    least ``m`` values ``>=`` it. Quadratic but branch-free inner loop (SIMD)."""
    t = -np.inf
    uc = np.uint64(cnt)
    for i in range(uc):
        y = a[i]
        c = 0
        for j in range(uc):
            c += a[j] >= y
        t = y if (c >= m) & (y > t) else t
    return t


@njit(cache=True, nogil=True, inline="always")
def _push_sorted(h: np.ndarray, m: int, cnt: int, y: float) -> None:  # pragma: no cover
    """``h[:min(cnt, m)]``, ascending, holds the largest of the ``cnt`` values seen: add ``y``."""
    if cnt < m:
        p = cnt
        while p > 0 and h[p - 1] > y:
            h[p] = h[p - 1]
            p -= 1
        h[p] = y
    elif y > h[0]:
        p = 1
        while p < m and h[p] < y:
            h[p - 1] = h[p]
            p += 1
        h[p - 1] = y


@njit(cache=True, nogil=True, inline="always")
def _sift_down(h: np.ndarray, i: int, size: int, x: float) -> None:  # pragma: no cover - jitted
    """Place ``x`` at slot ``i`` of the min-heap ``h[:size]`` and move it down to its place."""
    while True:
        c = 2 * i + 1
        if c >= size:
            break
        r = c + 1
        if r < size and h[r] < h[c]:
            c = r
        if h[c] >= x:
            break
        h[i] = h[c]
        i = c
    h[i] = x


@njit(cache=True, nogil=True)
def _fast_rows(
    losses: np.ndarray,
    k: int,
    denom: float,
    v: np.ndarray,
    e: np.ndarray,
    amax: np.ndarray,
    want_argmax: bool,
) -> None:  # pragma: no cover - jitted
    """Lane threshold, filter, select (module docstring); needs ``m <= 64`` and ``n >= 4 m``.

    Unsigned loop indices spare numba's negative-index wraparound, which would block SIMD.
    """
    rows, n = losses.shape
    m = n - k
    n_lanes = 2 * m
    ub = np.uint64(n_lanes)
    un = np.uint64(n)
    uq = np.uint64(n // n_lanes)
    nwords = (n + 7) // 8
    mx = np.empty(n_lanes)
    top = np.empty(n_lanes)
    buf = np.empty(n)
    ib = np.empty(n, dtype=np.intp)
    h = np.empty(m)
    flags = np.ones(nwords * 8, dtype=np.uint8)  # the padding bytes stay 1 ("below")
    words = flags.view(np.uint64)
    for r in range(rows):
        x = losses[r]
        # 1. lane maxima (a NaN is dropped by the comparison unless it starts a lane)
        for b in range(ub):
            mx[b] = x[b]
        for i in range(_U1, uq):
            base = i * ub
            for b in range(ub):
                y = x[base + b]
                mx[b] = y if y > mx[b] else mx[b]
        base = uq * ub
        for b in range(un - base):
            y = x[base + b]
            mx[b] = y if y > mx[b] else mx[b]
        nan_at = -1
        cnt = 0
        bi = 0
        bad = False
        for b in range(n_lanes):
            bad |= mx[b] != mx[b]
        if bad:  # a NaN starts a lane: find the row's first NaN
            for j in range(n):
                if x[j] != x[j]:
                    nan_at = j
                    break
        else:
            # t1 = the least of the m pair maxima max(mx[b], mx[b + m]) is <= t: keep the lane
            # maxima >= t1 (branch-free) and rank only those
            t1 = np.inf
            for b in range(m):
                y = mx[b] if mx[b] > mx[b + m] else mx[b + m]
                t1 = y if y < t1 else t1
            n_top = 0
            for b in range(n_lanes):
                y = mx[b]
                top[n_top] = y
                n_top += y >= t1
            t = _kth_largest(top, n_top, m)
            # 2. candidates: not below t (NaN included), in row order
            for j in range(un):
                flags[j] = x[j] < t
            cnt = 0
            for w in range(nwords):
                word = words[w]
                if word != _ONES:
                    j0 = 8 * w
                    bits = word ^ _ONES  # one set byte per candidate
                    while bits != _U0:
                        low = bits & (~bits + _U1)  # the lowest set byte, 1 << (8 u)
                        u = (((low - _U1) & _ONES) * _ONES) >> _S56  # bytes below it: u
                        jc = j0 + np.intp(u)
                        buf[cnt] = x[jc]
                        ib[cnt] = jc
                        cnt += 1
                        bits ^= low
            if want_argmax:  # first index of the maximum; stops at the first NaN
                best = buf[0]
                for i in range(cnt):
                    y = buf[i]
                    if not (y <= best):
                        if y != y:
                            nan_at = ib[i]
                            break
                        best = y
                        bi = i
            else:
                has_nan = False
                for i in range(cnt):
                    has_nan |= buf[i] != buf[i]
                if has_nan:
                    for i in range(cnt):
                        if buf[i] != buf[i]:
                            nan_at = ib[i]
                            break
        if nan_at >= 0:
            v[r] = np.nan
            e[r] = np.nan
            if want_argmax:
                amax[r] = nan_at
            continue
        # 3. select: VaR = m-th largest candidate (cnt >= m), ES from the excesses over it
        if cnt <= _RANK_MAX:
            var = _kth_largest(buf, cnt, m)
        else:
            for i in range(cnt):
                _push_sorted(h, m, i, buf[i])
            var = h[0]
        s = 0.0
        g = 0
        for i in range(cnt):
            y = buf[i]
            if y > var:
                s += y - var
                g += 1
        if m - 1 - g > 0:  # copies of the VaR among the order statistics after k
            s += var - var  # 0.0, or NaN for an infinite VaR as in numpy
        v[r] = var
        e[r] = var + s / denom
        if want_argmax:
            amax[r] = ib[bi]


@njit(cache=True, nogil=True)
def _heap_rows(
    losses: np.ndarray,
    k: int,
    denom: float,
    v: np.ndarray,
    e: np.ndarray,
    amax: np.ndarray,
    want_argmax: bool,
) -> None:  # pragma: no cover - jitted
    """Any shape: a min-heap of each row's ``m = n - k`` largest losses, filled in one pass."""
    rows, n = losses.shape
    m = n - k
    h = np.empty(m)
    for r in range(rows):
        nan_at = -1
        best = losses[r, 0]
        bi = 0
        for j in range(m):
            x = losses[r, j]
            if x != x:
                nan_at = j
                break
            h[j] = x
            if x > best:
                best = x
                bi = j
        if nan_at < 0:
            for i in range(m // 2 - 1, -1, -1):
                _sift_down(h, i, m, h[i])
            root = h[0]
            for j in range(m, n):
                x = losses[r, j]
                if not (x <= root):  # true for NaN too: the rare branch handles both
                    if x != x:
                        nan_at = j
                        break
                    if x > best:  # best >= root, so every new maximum passes here
                        best = x
                        bi = j
                    _sift_down(h, 0, m, x)
                    root = h[0]
        if nan_at >= 0:
            v[r] = np.nan
            e[r] = np.nan
            if want_argmax:
                amax[r] = nan_at
            continue
        root = h[0]
        s = 0.0
        for i in range(1, m):
            s += h[i] - root
        v[r] = root
        e[r] = root + s / denom
        if want_argmax:
            amax[r] = bi


def _partition_rows(
    losses: np.ndarray,
    k: int,
    denom: float,
    v: np.ndarray,
    e: np.ndarray,
    amax: np.ndarray | None,
) -> None:  # pragma: no cover - only without numba
    """The numpy path (a partitioned copy) with the same NaN convention as the kernels."""
    if amax is not None:
        amax[:] = np.argmax(losses, axis=1)
    part = np.partition(losses, k, axis=-1)
    v[:] = part[:, k]
    e[:] = v + (part[:, k + 1 :] - v[:, None]).sum(axis=-1) / denom
    bad = np.isnan(losses).any(axis=1)
    v[bad] = np.nan
    e[bad] = np.nan


def var_es_rows(
    losses: npt.ArrayLike,
    alpha: float,
    *,
    argmax: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    r"""Empirical VaR and ES of every row of a loss block, without modifying it.

    Parameters
    ----------
    losses : array-like of shape (rows, n)
        Losses (positive = loss), one row per account, ``n`` equally likely scenarios per row.
        A C-contiguous float64 array is read as is (no copy); anything else is converted once.
    alpha : float
        Confidence level in (0, 1); ``0.99`` is the 1% loss tail.
    argmax : numpy.ndarray of shape (rows,) and dtype ``numpy.intp``, optional
        When given, filled with the first index of each row's largest loss (the first NaN for
        a row holding NaN), i.e. ``numpy.argmax(losses, axis=1)``, found in the same pass.

    Returns
    -------
    var : numpy.ndarray of shape (rows,)
        :math:`\mathrm{VaR}_\alpha` of each row, a positive loss amount (NaN for a row with NaN).
    es : numpy.ndarray of shape (rows,)
        :math:`\mathrm{ES}_\alpha` of each row, ``>= var`` (NaN for a row with NaN).

    Raises
    ------
    ConfigError
        ``alpha`` outside (0, 1); ``losses`` not 2-D or without columns; ``argmax`` not a
        writeable contiguous ``numpy.intp`` array of shape ``(rows,)``.

    See Also
    --------
    riskmodels.risk.var_es : the validated public function (P&L input, weights, any axis).

    Notes
    -----
    With :math:`k` = ``empirical._var_index(n, alpha)`` (the smallest :math:`k` with
    :math:`(k+1)/n \ge \alpha`, up to the rounding guard described in
    :func:`riskmodels.risk.var`) and the sorted losses :math:`L_{(0)} \le \dots \le L_{(n-1)}`:

    .. math::

        \mathrm{VaR}_\alpha = L_{(k)} = \inf\{\ell : F_L(\ell) \ge \alpha\}, \qquad
        \mathrm{ES}_\alpha = \mathrm{VaR}_\alpha
            + \frac{1}{n(1-\alpha)} \sum_{i > k} \bigl(L_{(i)} - \mathrm{VaR}_\alpha\bigr),

    the inverse-CDF VaR and the Acerbi-Tasche ES (Acerbi & Tasche 2002, "On the coherence of
    expected shortfall", J. Banking & Finance 26, Definition 2.6 and Proposition 3.2): the
    values of ``riskmodels.risk.var_es(-losses, alpha, axis=1)``, with the ES summed in a
    different order (a few ulps). Only each row's :math:`m = n - k` largest losses are
    selected (algorithm in the module docstring), single-threaded and without the GIL. No
    check of finiteness or of the number of observations is made here: a row with a NaN gives
    NaN for both, for the caller to detect.

    Examples
    --------
    >>> import numpy as np
    >>> from riskmodels.risk._topk import var_es_rows
    >>> v, e = var_es_rows(np.arange(1.0, 101.0)[None, :], 0.95)  # losses 1..100
    >>> float(v[0]), float(e[0])  # the 95th smallest loss; the mean of 96..100
    (95.0, 98.0)
    """
    from riskmodels.risk.empirical import _var_index  # the one definition of k

    alpha = check_alpha(alpha)
    x = np.ascontiguousarray(losses, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] == 0:
        raise ConfigError(
            f"losses must be 2-D (rows x scenarios) with at least one scenario (got shape "
            f"{x.shape})."
        )
    rows, n = x.shape
    if argmax is not None and (
        not isinstance(argmax, np.ndarray)
        or argmax.shape != (rows,)
        or argmax.dtype != np.intp
        or not argmax.flags.c_contiguous
        or not argmax.flags.writeable
    ):
        raise ConfigError(
            f"argmax must be a writeable contiguous numpy.intp array of shape ({rows},) (got "
            f"{type(argmax).__name__} {getattr(argmax, 'dtype', '')} "
            f"{getattr(argmax, 'shape', '')})."
        )
    k = _var_index(n, alpha)
    denom = n * (1.0 - alpha)  # the same expression as empirical._unweighted
    v = np.empty(rows)
    e = np.empty(rows)
    if rows == 0:
        return v, e
    if not HAVE_NUMBA:  # pragma: no cover - only without numba
        _partition_rows(x, k, denom, v, e, argmax)
        return v, e
    m = n - k
    kernel = _fast_rows if (m <= _FAST_M_MAX and n >= 4 * m) else _heap_rows
    want = argmax is not None
    out = argmax if argmax is not None else np.empty(0, dtype=np.intp)
    kernel(x, k, denom, v, e, out, want)
    return v, e
