r"""Parametric VaR and ES: normal, Student-t and Cornish-Fisher, in closed form.

Conventions
-----------
Every function describes the **P&L** distribution (positive = gain) by its mean ``mu`` and
standard deviation (or scale) ``sigma``; the loss is :math:`L = -\text{P\&L}`, so its mean is
:math:`\mu_L = -\mu`. VaR and ES are positive loss amounts at level ``alpha`` (0.99 = 1% loss
tail): :math:`\mathrm{VaR}_\alpha = F_L^{-1}(\alpha)` and

.. math::

    \mathrm{ES}_\alpha = \frac{1}{1-\alpha} \int_\alpha^1 \mathrm{VaR}_u \, du

(McNeil, Frey & Embrechts 2005, *Quantitative Risk Management*, Definition 2.15). For a
one-period return model ``mu`` and ``sigma`` are the conditional mean and volatility of the
return, and the VaR/ES are returns; multiply by the position value for money amounts.

``mu``, ``sigma``, ``nu``, ``skew`` and ``excess_kurtosis`` broadcast like NumPy arrays
(e.g. one ``sigma`` per account); the result is a ``float`` when they are all scalars.
``alpha`` is a scalar.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import special, stats

from riskmodels._validation import (
    as_float_array,
    as_output,
    check_alpha,
    check_broadcast,
    check_finite,
    check_mu_sigma,
    finite_result,
    nonfinite_error,
)
from riskmodels.exceptions import ConfigError, DataError, ModelError

__all__ = [
    "SampleMoments",
    "es_cornish_fisher",
    "es_normal",
    "es_t",
    "sample_moments",
    "var_cornish_fisher",
    "var_normal",
    "var_t",
]

#: Upper end of the tail on which the Cornish-Fisher quantile must increase: u = 1 - 1e-8
#: (z = 5.61). Beyond it the tail carries less than 1e-8 of probability; the contribution of a
#: non-monotone far tail to ES is below about 1e-7 sigma / (1 - alpha).
CF_CHECK_UPPER_Z = float(special.ndtri(1.0 - 1e-8))


# -- normal ------------------------------------------------------------------------------------
@finite_result
def var_normal(mu: npt.ArrayLike, sigma: npt.ArrayLike, alpha: float) -> float | np.ndarray:
    r"""VaR of normally distributed P&L.

    Parameters
    ----------
    mu : float or array-like
        Mean of the P&L (positive = expected gain).
    sigma : float or array-like
        Standard deviation of the P&L, > 0.
    alpha : float
        Confidence level in (0, 1); 0.99 is the 1% loss tail.

    Returns
    -------
    float or numpy.ndarray
        :math:`\mathrm{VaR}_\alpha` as a positive loss.

    Raises
    ------
    ConfigError
        ``alpha`` outside (0, 1), ``sigma <= 0``, or non-finite parameters.

    Notes
    -----
    .. math:: \mathrm{VaR}_\alpha = -\mu + \sigma\,\Phi^{-1}(\alpha)

    (McNeil, Frey & Embrechts 2005, Example 2.11).
    """
    alpha = check_alpha(alpha)
    mu_a, sigma_a = check_mu_sigma(mu, sigma)
    return as_output(-mu_a + sigma_a * special.ndtri(alpha))


@finite_result
def es_normal(mu: npt.ArrayLike, sigma: npt.ArrayLike, alpha: float) -> float | np.ndarray:
    r"""Expected Shortfall of normally distributed P&L, in closed form.

    Parameters
    ----------
    mu : float or array-like
        Mean of the P&L.
    sigma : float or array-like
        Standard deviation of the P&L, > 0.
    alpha : float
        Confidence level in (0, 1).

    Returns
    -------
    float or numpy.ndarray
        :math:`\mathrm{ES}_\alpha` as a positive loss.

    Raises
    ------
    ConfigError
        ``alpha`` outside (0, 1), ``sigma <= 0``, or non-finite parameters.

    Notes
    -----
    .. math::

        \mathrm{ES}_\alpha = \mu_L + \sigma\,\frac{\varphi(\Phi^{-1}(\alpha))}{1-\alpha},
        \qquad \mu_L = -\mu,

    with :math:`\varphi` the standard normal density (McNeil, Frey & Embrechts 2005,
    Example 2.18).
    """
    alpha = check_alpha(alpha)
    mu_a, sigma_a = check_mu_sigma(mu, sigma)
    z = special.ndtri(alpha)
    return as_output(-mu_a + sigma_a * stats.norm.pdf(z) / (1.0 - alpha))


# -- Student-t ---------------------------------------------------------------------------------
def _t_scale(sigma: np.ndarray, nu: np.ndarray, standardized: bool) -> np.ndarray:
    return sigma * np.sqrt((nu - 2.0) / nu) if standardized else sigma


def _check_nu(nu: object, *, standardized: bool, for_es: bool) -> np.ndarray:
    nu_a = check_finite(nu, "nu")
    if standardized:
        low, why = 2.0, "a unit-variance Student-t needs nu > 2 (its variance is nu/(nu-2))"
    elif for_es:
        low, why = 1.0, "the ES of a Student-t is finite only for nu > 1"
    else:
        low, why = 0.0, "nu is a degrees-of-freedom parameter"
    bad = nu_a <= low
    if bad.any():
        shown = float(nu_a[bad].flat[0]) if nu_a.ndim else float(nu_a)
        raise ConfigError(
            f"nu must be > {low:g} (got {shown!r}): {why}. Typical fitted values for crypto "
            "returns are 3-8; for nu -> infinity use var_normal/es_normal."
        )
    return nu_a


@finite_result
def var_t(
    mu: npt.ArrayLike,
    sigma: npt.ArrayLike,
    nu: npt.ArrayLike,
    alpha: float,
    *,
    standardized: bool = True,
) -> float | np.ndarray:
    r"""VaR of Student-t distributed P&L.

    Parameters
    ----------
    mu : float or array-like
        Mean (location) of the P&L.
    sigma : float or array-like
        With ``standardized=True`` (default) the **standard deviation** of the P&L; with
        ``standardized=False`` the **scale** of the t distribution (its standard deviation is
        then :math:`\sigma\sqrt{\nu/(\nu-2)}`).
    nu : float or array-like
        Degrees of freedom; > 2 when ``standardized``, else > 0.
    alpha : float
        Confidence level in (0, 1).
    standardized : bool, default True
        Use the t scaled to unit variance, as GARCH-t innovations are (``arch``'s ``StudentsT``
        and ``riskmodels.volatility``): then ``sigma`` is a volatility forecast.

    Returns
    -------
    float or numpy.ndarray
        :math:`\mathrm{VaR}_\alpha` as a positive loss.

    Raises
    ------
    ConfigError
        ``alpha`` outside (0, 1), ``sigma <= 0``, ``nu <= 2`` (standardized) or ``nu <= 0``.

    Notes
    -----
    .. math::

        \mathrm{VaR}_\alpha = -\mu + \tilde\sigma\, t_\nu^{-1}(\alpha), \qquad
        \tilde\sigma = \begin{cases} \sigma\sqrt{(\nu-2)/\nu} & \text{standardized} \\
        \sigma & \text{otherwise,} \end{cases}

    with :math:`t_\nu^{-1}` the quantile function of the standard t with :math:`\nu` degrees of
    freedom (McNeil, Frey & Embrechts 2005, Example 2.15).
    """
    alpha = check_alpha(alpha)
    mu_a, sigma_a = check_mu_sigma(mu, sigma)
    nu_a = _check_nu(nu, standardized=standardized, for_es=False)
    check_broadcast(mu=mu_a, sigma=sigma_a, nu=nu_a)
    q = stats.t.ppf(alpha, nu_a)
    return as_output(-mu_a + _t_scale(sigma_a, nu_a, standardized) * q)


@finite_result
def es_t(
    mu: npt.ArrayLike,
    sigma: npt.ArrayLike,
    nu: npt.ArrayLike,
    alpha: float,
    *,
    standardized: bool = True,
) -> float | np.ndarray:
    r"""Expected Shortfall of Student-t distributed P&L, in closed form.

    Parameters
    ----------
    mu : float or array-like
        Mean (location) of the P&L.
    sigma : float or array-like
        Standard deviation (``standardized=True``, default) or t scale (``False``) of the P&L.
    nu : float or array-like
        Degrees of freedom; > 2 when ``standardized``, else > 1 (ES is infinite for nu <= 1).
    alpha : float
        Confidence level in (0, 1).
    standardized : bool, default True
        Use the t scaled to unit variance (see :func:`var_t`).

    Returns
    -------
    float or numpy.ndarray
        :math:`\mathrm{ES}_\alpha` as a positive loss.

    Raises
    ------
    ConfigError
        ``alpha`` outside (0, 1), ``sigma <= 0``, ``nu <= 2`` (standardized) or ``nu <= 1``.

    Notes
    -----
    McNeil, Frey & Embrechts (2005), Example 2.15 (Eq. 2.24 in the 2015 edition):

    .. math::

        \mathrm{ES}_\alpha = \mu_L + \tilde\sigma\,
        \frac{g_\nu(t_\nu^{-1}(\alpha))}{1-\alpha}\,
        \frac{\nu + (t_\nu^{-1}(\alpha))^2}{\nu - 1},

    with :math:`g_\nu` the standard t density, :math:`\mu_L = -\mu` and :math:`\tilde\sigma` the
    t scale (:math:`\sigma\sqrt{(\nu-2)/\nu}` when ``standardized``).
    """
    alpha = check_alpha(alpha)
    mu_a, sigma_a = check_mu_sigma(mu, sigma)
    nu_a = _check_nu(nu, standardized=standardized, for_es=True)
    check_broadcast(mu=mu_a, sigma=sigma_a, nu=nu_a)
    q = stats.t.ppf(alpha, nu_a)
    factor = stats.t.pdf(q, nu_a) / (1.0 - alpha) * (nu_a + q**2) / (nu_a - 1.0)
    return as_output(-mu_a + _t_scale(sigma_a, nu_a, standardized) * factor)


# -- Cornish-Fisher ----------------------------------------------------------------------------
def _cf_moments(skew: object, excess_kurtosis: object) -> tuple[np.ndarray, np.ndarray]:
    """Loss skewness (minus the P&L skewness) and excess kurtosis, checked finite."""
    s = check_finite(skew, "skew")
    k = check_finite(excess_kurtosis, "excess_kurtosis")
    return -s, k


def _cf_check_monotone(z: float, s: np.ndarray, k: np.ndarray, skew: object, kurt: object) -> None:
    r"""ModelError unless the CF loss quantile increases on :math:`[z_\alpha, z_{\max}]`."""
    # d/dz of the expansion: a z^2 + b z + c
    a = k / 8.0 - s**2 / 6.0
    b = s / 3.0
    c = 1.0 - k / 8.0 + 5.0 * s**2 / 36.0
    hi = max(CF_CHECK_UPPER_Z, z)
    # Minimum of the quadratic on [z, hi]: at an end point, or at the vertex when a > 0.
    vertex = np.clip(-b / (2.0 * np.where(a > 0, a, 1.0)), z, hi)
    vertex = np.where(a > 0, vertex, z)
    low = np.minimum(
        np.minimum(a * z**2 + b * z + c, a * hi**2 + b * hi + c),
        a * vertex**2 + b * vertex + c,
    )
    if np.any(low <= 0):
        raise ModelError(
            f"the Cornish-Fisher expansion is not monotone in the loss tail for skew={skew!r}, "
            f"excess_kurtosis={kurt!r} (its quantile decreases between z={z:.3g} and "
            f"z={hi:.3g}), so it is not a quantile function there and its VaR/ES are "
            "meaningless. The 4-moment expansion only holds for moderate skewness and kurtosis; "
            "use var_t/es_t, EVT (fit_gpd_tail) or the empirical var/es instead."
        )


@finite_result
def var_cornish_fisher(
    mu: npt.ArrayLike,
    sigma: npt.ArrayLike,
    skew: npt.ArrayLike,
    excess_kurtosis: npt.ArrayLike,
    alpha: float,
) -> float | np.ndarray:
    r"""Cornish-Fisher (4-moment) VaR from the P&L mean, volatility, skewness and kurtosis.

    Parameters
    ----------
    mu, sigma : float or array-like
        Mean and standard deviation (> 0) of the P&L.
    skew : float or array-like
        Skewness of the **P&L** (negative = a long left tail of losses).
    excess_kurtosis : float or array-like
        Excess kurtosis (kurtosis - 3) of the P&L (= that of the loss).
    alpha : float
        Confidence level in (0, 1).

    Returns
    -------
    float or numpy.ndarray
        :math:`\mathrm{VaR}_\alpha` as a positive loss.

    Raises
    ------
    ConfigError
        ``alpha`` outside (0, 1), ``sigma <= 0`` or non-finite moments.
    ModelError
        The expansion is not increasing in the tail :math:`[\Phi^{-1}(\alpha), 5.61]`
        (large skewness or kurtosis): there it is not a quantile function.

    See Also
    --------
    sample_moments : the moments of a sample, to feed this function.

    Notes
    -----
    The standard 4-moment Cornish-Fisher expansion (Cornish & Fisher 1938; Zangari 1996) of
    the standardized loss quantile, with :math:`z = \Phi^{-1}(\alpha)`, loss skewness
    :math:`S = -\text{skew}` and excess kurtosis :math:`K`:

    .. math::

        z_{CF} = z + \frac{S}{6}(z^2 - 1) + \frac{K}{24}(z^3 - 3z) - \frac{S^2}{36}(2z^3 - 5z),
        \qquad \mathrm{VaR}_\alpha = -\mu + \sigma z_{CF}.

    With :math:`S = K = 0` it is the normal VaR exactly. The expansion is a polynomial in
    :math:`z` and is **not monotone** for large :math:`|S|` or :math:`K` (Maillard 2012, "A
    user's guide to the Cornish Fisher expansion"): its derivative
    :math:`1 + Sz/3 + K(z^2-1)/8 - S^2(6z^2-5)/36` must stay positive. This function raises
    :class:`~riskmodels.exceptions.ModelError` when the derivative is not positive somewhere on
    :math:`[z_\alpha, \Phi^{-1}(1 - 10^{-8})]`; beyond that point the tail has probability
    :math:`10^{-8}`.
    """
    alpha = check_alpha(alpha)
    mu_a, sigma_a = check_mu_sigma(mu, sigma)
    s, k = _cf_moments(skew, excess_kurtosis)
    check_broadcast(mu=mu_a, sigma=sigma_a, skew=s, excess_kurtosis=k)
    z = float(special.ndtri(alpha))
    _cf_check_monotone(z, s, k, skew, excess_kurtosis)
    z_cf = (
        z + s / 6.0 * (z**2 - 1.0) + k / 24.0 * (z**3 - 3.0 * z) - s**2 / 36.0 * (2 * z**3 - 5 * z)
    )
    return as_output(-mu_a + sigma_a * z_cf)


@finite_result
def es_cornish_fisher(
    mu: npt.ArrayLike,
    sigma: npt.ArrayLike,
    skew: npt.ArrayLike,
    excess_kurtosis: npt.ArrayLike,
    alpha: float,
) -> float | np.ndarray:
    r"""Cornish-Fisher ES: the CF quantile integrated over the loss tail, in closed form.

    Parameters
    ----------
    mu, sigma : float or array-like
        Mean and standard deviation (> 0) of the P&L.
    skew : float or array-like
        Skewness of the P&L.
    excess_kurtosis : float or array-like
        Excess kurtosis of the P&L.
    alpha : float
        Confidence level in (0, 1).

    Returns
    -------
    float or numpy.ndarray
        :math:`\mathrm{ES}_\alpha` as a positive loss.

    Raises
    ------
    ConfigError
        ``alpha`` outside (0, 1), ``sigma <= 0`` or non-finite moments.
    ModelError
        The expansion is not monotone in the tail (see :func:`var_cornish_fisher`).

    Notes
    -----
    :math:`\mathrm{ES}_\alpha = \frac{1}{1-\alpha}\int_\alpha^1 \mathrm{VaR}^{CF}_u\,du`.
    Substituting :math:`u = \Phi(x)` and using
    :math:`\int_z^\infty \mathrm{He}_k(x)\varphi(x)\,dx = \mathrm{He}_{k-1}(z)\varphi(z)` for the
    Hermite polynomials (:math:`x`, :math:`x^2-1`, :math:`x^3-3x`, and
    :math:`2x^3-5x = 2\mathrm{He}_3 + \mathrm{He}_1`):

    .. math::

        \mathrm{ES}_\alpha = -\mu + \sigma\frac{\varphi(z)}{1-\alpha}\Big[1 + \frac{S}{6}z
        + \frac{K}{24}(z^2-1) - \frac{S^2}{36}(2z^2-1)\Big],

    with :math:`z = \Phi^{-1}(\alpha)`, :math:`S` the loss skewness and :math:`K` the excess
    kurtosis. It reduces to :func:`es_normal` for :math:`S = K = 0`.
    """
    alpha = check_alpha(alpha)
    mu_a, sigma_a = check_mu_sigma(mu, sigma)
    s, k = _cf_moments(skew, excess_kurtosis)
    check_broadcast(mu=mu_a, sigma=sigma_a, skew=s, excess_kurtosis=k)
    z = float(special.ndtri(alpha))
    _cf_check_monotone(z, s, k, skew, excess_kurtosis)
    bracket = 1.0 + s / 6.0 * z + k / 24.0 * (z**2 - 1.0) - s**2 / 36.0 * (2.0 * z**2 - 1.0)
    return as_output(-mu_a + sigma_a * stats.norm.pdf(z) / (1.0 - alpha) * bracket)


# -- sample moments ----------------------------------------------------------------------------
@dataclass(frozen=True)
class SampleMoments:
    """Mean, standard deviation, skewness and excess kurtosis of a (weighted) P&L sample.

    Attributes
    ----------
    mean : float
        :math:`m = \\sum_i p_i x_i`.
    std : float
        :math:`\\sqrt{m_2}` with :math:`m_r = \\sum_i p_i (x_i - m)^r` (no degrees-of-freedom
        correction).
    skew : float
        :math:`m_3 / m_2^{3/2}` (``scipy.stats.skew(x, bias=True)`` without weights).
    excess_kurtosis : float
        :math:`m_4 / m_2^2 - 3` (``scipy.stats.kurtosis(x, fisher=True, bias=True)``).
    n : int
        Number of observations.
    """

    mean: float
    std: float
    skew: float
    excess_kurtosis: float
    n: int


def sample_moments(pnl: npt.ArrayLike, weights: npt.ArrayLike | None = None) -> SampleMoments:
    r"""Moments of a 1-D P&L sample, with optional scenario weights (probabilities up to a factor).

    Parameters
    ----------
    pnl : array-like of shape (n,)
        P&L observations.
    weights : array-like of shape (n,), optional
        Non-negative weights, normalized to :math:`p_i = w_i / \sum_j w_j`.

    Returns
    -------
    SampleMoments
        Moment (plug-in, biased) estimates; feed them to :func:`var_cornish_fisher`.

    Raises
    ------
    DataError
        NaN or inf in ``pnl``, or a constant sample (zero variance).
    ConfigError
        ``pnl`` not 1-D, fewer than 4 observations, or invalid weights.
    """
    x = as_float_array(pnl, "pnl")
    if x.ndim != 1 or x.size < 4:
        raise ConfigError(
            f"pnl must be a 1-D sample of at least 4 observations (got shape {x.shape})."
        )
    if not np.isfinite(x).all():
        raise nonfinite_error(x, "pnl")
    if weights is None:
        p = np.full(x.size, 1.0 / x.size)
    else:
        w = as_float_array(weights, "weights")
        if w.shape != x.shape or not np.isfinite(w).all() or (w < 0).any() or w.sum() <= 0:
            raise ConfigError(
                f"weights must be finite, non-negative, not all zero and of shape {x.shape} "
                f"(got shape {w.shape}). Use weights=None for equal weights."
            )
        p = w / w.sum()
    if np.all(x == x[0]):
        raise DataError(
            f"pnl is constant (every value is {float(x[0])!r}); skewness and kurtosis are "
            "undefined."
        )
    with np.errstate(over="ignore", invalid="ignore"):
        mean = float(p @ x)
        d = x - mean
        m2 = float(p @ d**2)
        m3 = float(p @ d**3)
        m4 = float(p @ d**4)
    if not all(math.isfinite(m) for m in (mean, m2, m3, m4)) or m2 <= 0:
        raise ConfigError(
            f"the moments of pnl overflow float64 (largest |pnl| {float(np.abs(x).max()):.3g}; "
            "the fourth moment needs |pnl| below about 1e75). Rescale the P&L, e.g. to "
            "thousands or millions of USD."
        )
    return SampleMoments(
        mean=mean,
        std=m2**0.5,
        skew=m3 / m2**1.5,
        excess_kurtosis=m4 / m2**2 - 3.0,
        n=int(x.size),
    )
