r"""Variance recursions driven by given standardized shocks, vectorized over paths.

These are the out-of-sample twins of arch's in-sample recursions
(``arch.univariate.recursions``): the same equations, term order and parameter layout, so that
the one-step variance at the end of a sample equals arch's ``forecast(horizon=1)``. They loop
over time only; every operation is over all paths at once.

All quantities are in arch's percent units (the model was fitted on ``100 * returns``);
:class:`~riskmodels.volatility.VolatilityResult` converts to decimals.

Unlike arch's in-sample recursion, no variance bounds are applied (arch clips in-sample
variances to loose bounds around an EWMA of the data, and does not clip the one-step forecast
either).
"""

from __future__ import annotations

import numpy as np

__all__ = ["SQRT2_OV_PI", "egarch_paths", "ewma_paths", "garch_paths"]

#: E|z| for a standard normal z; arch centres |e| in EGARCH by this constant for every
#: distribution (for Student-t / skew-t the difference is absorbed into omega).
SQRT2_OV_PI = float(np.sqrt(2.0 / np.pi))


def garch_paths(
    params: np.ndarray,
    p: int,
    o: int,
    q: int,
    resid_hist: np.ndarray,
    sigma2_hist: np.ndarray,
    z: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    r"""GARCH(p, o, q) / GJR-GARCH paths (power 2).

    .. math::

        \sigma^2_{t} = \omega + \sum_{i=1}^{p}\alpha_i\epsilon^2_{t-i}
        + \sum_{j=1}^{o}\gamma_j\epsilon^2_{t-j}1[\epsilon_{t-j}<0]
        + \sum_{k=1}^{q}\beta_k\sigma^2_{t-k},\qquad \epsilon_t = \sigma_t z_t

    Glosten, Jagannathan and Runkle (1993), eq. (2) with Bollerslev (1986), eq. (2) for o = 0.

    Parameters
    ----------
    params : ndarray of shape (1 + p + o + q,)
        ``omega, alpha[1..p], gamma[1..o], beta[1..q]`` (arch's order).
    p, o, q : int
        Lag orders.
    resid_hist, sigma2_hist : ndarray of shape (L,)
        The last ``L = max(p, o, q, 1)`` residuals and conditional variances of the sample,
        oldest first.
    z : ndarray of shape (n_paths, horizon)
        Standardized shocks.

    Returns
    -------
    resid, sigma2 : ndarray of shape (n_paths, horizon)
        ``sigma2[:, 0]`` is the one-step variance (known at the end of the sample);
        ``resid[:, h] = sqrt(sigma2[:, h]) * z[:, h]``.
    """
    n, horizon = z.shape
    lag = resid_hist.shape[0]
    eps = np.empty((n, lag + horizon))
    s2 = np.empty((n, lag + horizon))
    eps[:, :lag] = resid_hist
    s2[:, :lag] = sigma2_hist
    omega, alpha, gamma, beta = (
        params[0],
        params[1 : 1 + p],
        params[1 + p : 1 + p + o],
        params[1 + p + o :],
    )
    for t in range(horizon):
        k = lag + t
        v = np.full(n, omega)
        for i in range(p):
            v += alpha[i] * eps[:, k - 1 - i] ** 2
        for j in range(o):
            e = eps[:, k - 1 - j]
            v += gamma[j] * e**2 * (e < 0)
        for i in range(q):
            v += beta[i] * s2[:, k - 1 - i]
        s2[:, k] = v
        eps[:, k] = np.sqrt(v) * z[:, t]
    return eps[:, lag:], s2[:, lag:]


def egarch_paths(
    params: np.ndarray,
    p: int,
    o: int,
    q: int,
    std_resid_hist: np.ndarray,
    sigma2_hist: np.ndarray,
    z: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    r"""EGARCH(p, o, q) paths in arch's parameterization.

    .. math::

        \ln\sigma^2_{t} = \omega + \sum_{i=1}^{p}\alpha_i\left(|e_{t-i}| - \sqrt{2/\pi}\right)
        + \sum_{j=1}^{o}\gamma_j e_{t-j} + \sum_{k=1}^{q}\beta_k\ln\sigma^2_{t-k}

    Nelson (1991), eq. (2.1) with arch's centring constant :math:`\sqrt{2/\pi}` (E|z| of the
    normal) for every distribution, as in ``arch.univariate.EGARCH``.

    Parameters
    ----------
    params : ndarray of shape (1 + p + o + q,)
        ``omega, alpha[1..p], gamma[1..o], beta[1..q]``.
    std_resid_hist, sigma2_hist : ndarray of shape (L,)
        Last ``L = max(p, o, q, 1)`` standardized residuals and variances, oldest first.
    z : ndarray of shape (n_paths, horizon)
        Standardized shocks; in EGARCH they enter the recursion directly (``e_t = z_t``).

    Returns
    -------
    resid, sigma2 : ndarray of shape (n_paths, horizon)
    """
    n, horizon = z.shape
    lag = std_resid_hist.shape[0]
    e = np.empty((n, lag + horizon))
    lns2 = np.empty((n, lag + horizon))
    e[:, :lag] = std_resid_hist
    e[:, lag:] = z
    lns2[:, :lag] = np.log(sigma2_hist)
    omega, alpha, gamma, beta = (
        params[0],
        params[1 : 1 + p],
        params[1 + p : 1 + p + o],
        params[1 + p + o :],
    )
    for t in range(horizon):
        k = lag + t
        v = np.full(n, omega)
        for i in range(p):
            v += alpha[i] * (np.abs(e[:, k - 1 - i]) - SQRT2_OV_PI)
        for j in range(o):
            v += gamma[j] * e[:, k - 1 - j]
        for i in range(q):
            v += beta[i] * lns2[:, k - 1 - i]
        lns2[:, k] = v
    sigma2 = np.exp(lns2[:, lag:])
    return np.sqrt(sigma2) * z, sigma2


def ewma_paths(
    lam: float, resid_last: float, sigma2_last: float, z: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    r"""EWMA (RiskMetrics) paths.

    .. math::

        \sigma^2_{t} = \lambda\sigma^2_{t-1} + (1-\lambda)\epsilon^2_{t-1}

    J.P. Morgan/Reuters (1996), *RiskMetrics Technical Document*, eq. (5.3).

    Parameters
    ----------
    lam : float
        Decay factor.
    resid_last, sigma2_last : float
        Residual and conditional variance of the last observation in the sample.
    z : ndarray of shape (n_paths, horizon)
        Standardized shocks.

    Returns
    -------
    resid, sigma2 : ndarray of shape (n_paths, horizon)
    """
    n, horizon = z.shape
    eps = np.empty((n, horizon))
    s2 = np.empty((n, horizon))
    prev_e2 = np.full(n, resid_last**2)
    prev_s2 = np.full(n, sigma2_last)
    for t in range(horizon):
        s2[:, t] = (1.0 - lam) * prev_e2 + lam * prev_s2
        eps[:, t] = np.sqrt(s2[:, t]) * z[:, t]
        prev_e2 = eps[:, t] ** 2
        prev_s2 = s2[:, t]
    return eps, s2
