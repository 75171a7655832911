r"""Extreme value theory: peaks over threshold with a generalized Pareto tail (McNeil & Frey 2000).

McNeil & Frey (2000), "Estimation of tail-related risk measures for heteroscedastic financial
time series: an extreme value approach", *Journal of Empirical Finance* 7, 271-300: fit a
GARCH-type model, standardize the returns by the conditional mean and volatility, fit a
generalized Pareto distribution (GPD) to the largest standardized-residual **losses**, and
rescale the residual quantile by tomorrow's volatility forecast:

.. math::

    \mathrm{VaR}^t_\alpha = -\mu_{t+1} + \sigma_{t+1}\, z_\alpha, \qquad
    \mathrm{ES}^t_\alpha = -\mu_{t+1} + \sigma_{t+1}\, \mathrm{ES}(Z)_\alpha

(their Eq. 6 in P&L sign: :math:`\mu_{t+1}` is the P&L/return mean). :func:`fit_gpd_tail`
does the tail step on residuals ``z`` in P&L sign (``VolatilityResult.std_resid``; the loss
tail is the lower tail of ``z``); :func:`var_evt` and :func:`es_evt` give :math:`z_\alpha` and
:math:`\mathrm{ES}(Z)_\alpha`, scaled by ``mu``/``sigma`` when given.

Threshold choice
----------------
By default the threshold is the :math:`(k+1)`-th largest residual loss with
:math:`k = \lfloor 0.10\, n \rfloor`, so that the :math:`k` largest losses (10% of the sample)
are the exceedances. This is McNeil & Frey's choice (:math:`k = 100` of :math:`n = 1000`, their
Section 3.2), which their simulations show to give nearly unbiased 99%-quantile estimates for
t-like innovations with estimates insensitive to :math:`k` between about 50 and 150 of 1000. A
fixed threshold ``u`` can be passed instead. At least ``MIN_EXCEEDANCES`` (20) exceedances are
required; fewer leave the shape parameter unidentified in practice.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import optimize
from statsmodels.iolib.summary import Summary

from riskmodels._display import html_table, text_summary
from riskmodels._validation import (
    as_output,
    check_alpha,
    check_mu_sigma,
    nonfinite_error,
)
from riskmodels.exceptions import ConfigError, ConvergenceError, InsufficientDataError, ModelError

__all__ = [
    "DEFAULT_TAIL_FRACTION",
    "MIN_EXCEEDANCES",
    "GPDTailFit",
    "es_evt",
    "fit_gpd_tail",
    "var_evt",
]

#: Fewest exceedances accepted for a GPD fit.
MIN_EXCEEDANCES = 20

#: Default share of the sample in the tail (McNeil & Frey 2000: k = 100 of n = 1000).
DEFAULT_TAIL_FRACTION = 0.10

#: Convergence tolerance on the scaled score max(|dl/dxi|, |beta dl/dbeta|) / n_exceed.
_SCORE_TOL = 1e-8

#: Below this |x| = |xi y / beta| the GPD derivative helpers use their power series.
_SERIES_X = 1e-2
_SERIES_TERMS = 14
_J = np.arange(_SERIES_TERMS)
_SIGN = (-1.0) ** _J
#: h1(x) = log1p(x)/x^2 - 1/(x(1+x)) = sum_j (-1)^j (j+1)/(j+2) x^j
_H1_COEF = _SIGN * (_J + 1.0) / (_J + 2.0)
#: h2(x) = -2 log1p(x)/x^3 + 2/(x^2 (1+x)) + 1/(x (1+x)^2) = sum_j (-1)^(j+1) (j + 2/(j+3)) x^j
_H2_COEF = -_SIGN * (_J + 2.0 / (_J + 3.0))


@dataclass(frozen=True, eq=False, repr=False, kw_only=True)
class GPDTailFit:
    r"""A generalized Pareto distribution fitted to the loss tail of standardized residuals.

    Attributes
    ----------
    xi : float
        Shape :math:`\xi` (tail index; :math:`1/\xi` is the number of finite moments for
        :math:`\xi > 0`, e.g. 0.25 for a Student-t with 4 degrees of freedom).
    beta : float
        Scale :math:`\beta > 0`, in the units of the residuals.
    threshold : float
        Threshold :math:`u` on the **loss** scale :math:`-z`.
    n_exceed : int
        Number of exceedances :math:`k` (losses strictly above :math:`u`).
    n : int
        Sample size :math:`n`.
    xi_se, beta_se : float
        Standard errors from the observed information (inverse Hessian of the negative
        log-likelihood at the estimate); NaN when :math:`\xi \le -1/2` (the MLE is not regular
        there, Smith 1985) or the Hessian is not positive definite.
    cov : numpy.ndarray of shape (2, 2)
        Covariance of :math:`(\hat\xi, \hat\beta)` from the observed information.
    loglikelihood : float
        GPD log-likelihood of the exceedances at the estimate.
    exceedances : numpy.ndarray of shape (n_exceed,)
        :math:`y_i = \ell_i - u > 0`, sorted ascending (for diagnostics plots).

    Notes
    -----
    The tail estimator (McNeil & Frey 2000, Eq. 8; Smith 1987) is
    :math:`\bar F(x) = \frac{k}{n}\big(1 + \xi\frac{x-u}{\beta}\big)^{-1/\xi}` for
    :math:`x > u`; :meth:`var` and :meth:`es` invert and integrate it.
    """

    xi: float
    beta: float
    threshold: float
    n_exceed: int
    n: int
    xi_se: float
    beta_se: float
    cov: np.ndarray
    loglikelihood: float
    exceedances: np.ndarray

    @property
    def tail_fraction(self) -> float:
        """:math:`k/n`, the share of the sample above the threshold."""
        return self.n_exceed / self.n

    def var(
        self, alpha: float, *, mu: npt.ArrayLike = 0.0, sigma: npt.ArrayLike = 1.0
    ) -> float | np.ndarray:
        """VaR at ``alpha`` from this tail; see :func:`var_evt`."""
        return var_evt(self, alpha, mu=mu, sigma=sigma)

    def es(
        self, alpha: float, *, mu: npt.ArrayLike = 0.0, sigma: npt.ArrayLike = 1.0
    ) -> float | np.ndarray:
        """ES at ``alpha`` from this tail; see :func:`es_evt`."""
        return es_evt(self, alpha, mu=mu, sigma=sigma)

    # -- presentation ------------------------------------------------------------------------
    def _rows(self) -> list[tuple[str, str]]:
        return [
            ("xi (shape)", f"{self.xi:.4f}  (s.e. {self.xi_se:.4f})"),
            ("beta (scale)", f"{self.beta:.4f}  (s.e. {self.beta_se:.4f})"),
            ("threshold u (loss scale)", f"{self.threshold:.4f}"),
            ("exceedances k / n", f"{self.n_exceed} / {self.n} ({100 * self.tail_fraction:.1f}%)"),
            ("log-likelihood", f"{self.loglikelihood:.4f}"),
        ]

    def summary(self) -> Summary:
        """The estimates as a statsmodels ``Summary`` (text, HTML, LaTeX; no dates: diffable),
        the package's one ``summary()`` type for fitted models."""
        rows = self._rows()
        width = max(len(k) for k, _ in rows)
        return text_summary(
            "GPD tail fit (peaks over threshold, McNeil & Frey 2000)",
            [f"{k:<{width}}  {v}" for k, v in rows],
            notes=["Standard errors from the observed information."],
        )

    def __str__(self) -> str:
        return str(self.summary())

    def __repr__(self) -> str:
        return (
            f"GPDTailFit(xi={self.xi:.6g}, beta={self.beta:.6g}, threshold={self.threshold:.6g}, "
            f"n_exceed={self.n_exceed}, n={self.n})"
        )

    def _repr_html_(self) -> str:
        return html_table(
            self._rows(), caption="GPD tail fit (peaks over threshold, McNeil & Frey 2000)"
        )


# -- fitting -----------------------------------------------------------------------------------
def fit_gpd_tail(
    z: npt.ArrayLike,
    threshold: float | None = None,
    tail_fraction: float = DEFAULT_TAIL_FRACTION,
) -> GPDTailFit:
    r"""Fit a generalized Pareto distribution to the loss tail of standardized residuals.

    Parameters
    ----------
    z : array-like of shape (n,)
        Standardized residuals in **P&L sign** (e.g. ``VolatilityResult.std_resid``): the loss
        tail is the lower tail of ``z``, the losses are :math:`\ell = -z`.
    threshold : float, optional
        Threshold :math:`u` on the loss scale (a residual loss, e.g. ``1.5`` for
        :math:`z < -1.5`). Default: the :math:`(k+1)`-th largest loss with
        :math:`k = \lfloor \text{tail\_fraction} \cdot n \rfloor` (see the module notes).
    tail_fraction : float, default 0.10
        Share of the sample used as exceedances when ``threshold`` is None; in (0, 1).
        Ignored when a threshold is given.

    Returns
    -------
    GPDTailFit
        Maximum-likelihood estimates with standard errors.

    Raises
    ------
    DataError
        NaN or inf in ``z``.
    ConfigError
        ``z`` not 1-D; ``tail_fraction`` outside (0, 1); a non-finite ``threshold``.
    InsufficientDataError
        Fewer than ``MIN_EXCEEDANCES`` (20) exceedances.
    ModelError
        The estimate has :math:`\xi \le -1`, where the GPD likelihood is unbounded and no MLE
        exists (a short, bounded tail; lower the threshold).
    ConvergenceError
        The likelihood maximization did not reach a stationary point.

    Notes
    -----
    The exceedances :math:`y_i = \ell_i - u` for :math:`\ell_i > u` are fitted by maximum
    likelihood to the GPD with location 0,

    .. math::

        \log L(\xi, \beta) = -k \log\beta - \Big(1 + \frac{1}{\xi}\Big)
        \sum_{i=1}^{k} \log\Big(1 + \xi\frac{y_i}{\beta}\Big),
        \qquad 1 + \xi y_i/\beta > 0

    (McNeil & Frey 2000, Eq. 7; the :math:`\xi \to 0` limit is the exponential). The
    maximization starts from method-of-moments values, runs Nelder-Mead on
    :math:`(\xi, \log\beta)` and finishes with Newton steps using the analytic score and Hessian
    until the scaled score is below 1e-8. Standard errors are from the observed information;
    for large :math:`k` they approach Smith's (1985) asymptotic variances
    :math:`\mathrm{Var}\,\hat\xi = (1+\xi)^2/k`,
    :math:`\mathrm{Var}\,\hat\beta = 2\beta^2(1+\xi)/k`.
    """
    x = np.asarray(z, dtype=float)
    if x.ndim != 1:
        raise ConfigError(
            f"z must be a 1-D array of standardized residuals (got shape {x.shape}). "
            "Fit one asset or portfolio at a time."
        )
    if not np.isfinite(x).all():
        raise nonfinite_error(x, "z")
    n = int(x.size)
    losses = -x
    if threshold is None:
        if isinstance(tail_fraction, bool) or not (
            isinstance(tail_fraction, float | int | np.floating) and 0.0 < tail_fraction < 1.0
        ):
            raise ConfigError(
                f"tail_fraction must be in (0, 1) (got {tail_fraction!r}); McNeil & Frey (2000) "
                "use 0.10 (the 100 largest of 1000 losses)."
            )
        k_target = math.floor(float(tail_fraction) * n + 1e-9)
        if k_target < MIN_EXCEEDANCES or k_target >= n:
            raise _too_few(k_target, n, tail_fraction)
        u = float(np.partition(losses, n - k_target - 1)[n - k_target - 1])
    else:
        if isinstance(threshold, bool) or not np.isfinite(np.asarray(threshold, dtype=float)):
            raise ConfigError(
                f"threshold must be a finite residual loss (got {threshold!r}), e.g. 1.5 for "
                "z < -1.5; or None for the 10% largest losses."
            )
        u = float(threshold)
    y = np.sort(losses[losses > u] - u)
    if y.size < MIN_EXCEEDANCES:
        raise _too_few(int(y.size), n, tail_fraction if threshold is None else None, u=u)
    xi, beta, loglik, hess = _gpd_mle(y)
    cov = np.full((2, 2), np.nan)
    info = -hess
    if xi > -0.5 and info[0, 0] > 0 and np.linalg.det(info) > 0:
        cov = np.linalg.inv(info)
    y.setflags(write=False)
    cov.setflags(write=False)
    return GPDTailFit(
        xi=xi,
        beta=beta,
        threshold=u,
        n_exceed=int(y.size),
        n=n,
        xi_se=float(np.sqrt(cov[0, 0])),
        beta_se=float(np.sqrt(cov[1, 1])),
        cov=cov,
        loglikelihood=loglik,
        exceedances=y,
    )


def _too_few(
    k: int, n: int, tail_fraction: float | None, *, u: float | None = None
) -> InsufficientDataError:
    how = (
        f"from n={n} with tail_fraction={tail_fraction!r}"
        if u is None
        else f"over the threshold u={u:.4g} from n={n}"
    )
    return InsufficientDataError(
        f"the EVT tail fit needs at least {MIN_EXCEEDANCES} exceedances (got {k} {how}). Use a "
        "longer sample, a larger tail_fraction or a lower threshold (McNeil & Frey 2000 use the "
        "100 largest of 1000 losses)."
    )


def _series(coef: np.ndarray, x: np.ndarray) -> np.ndarray:
    return np.polynomial.polynomial.polyval(x, coef)


def _gpd_derivatives(xi: float, beta: float, y: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """GPD log-likelihood of ``y``, its gradient and Hessian in ``(xi, beta)``.

    Per observation, with ``a = y/beta``, ``x = xi a``, ``t = 1 + x``::

        l      = -log(beta) - log1p(x) - a log1p(x)/x
        dl/dxi = a^2 h1(x) - a/t
        dl/dbeta = -1/beta + (1 + xi) a / (beta t)
        d2l/dxi2 = a^3 h2(x) + a^2/t^2
        d2l/dxi dbeta = a (1 - a) / (beta t^2)
        d2l/dbeta2 = 1/beta^2 - (1 + xi) a (2 + x) / (beta^2 t^2)

    ``h1`` and ``h2`` (see the module constants) are evaluated by their power series near
    ``x = 0``, where the closed forms cancel catastrophically; this keeps the exponential limit
    ``xi -> 0`` accurate.
    """
    a = y / beta
    x = xi * a
    t = 1.0 + x
    lt = np.log1p(x)
    small = np.abs(x) < _SERIES_X
    xs = np.where(small, 1.0, x)  # safe divisor
    h0 = np.where(small, _series(_SIGN / (_J + 1.0), x), lt / xs)  # log1p(x)/x
    h1 = np.where(small, _series(_H1_COEF, x), lt / xs**2 - 1.0 / (xs * t))
    h2 = np.where(
        small,
        _series(_H2_COEF, x),
        -2.0 * lt / xs**3 + 2.0 / (xs**2 * t) + 1.0 / (xs * t**2),
    )
    k = y.size
    loglik = float(-k * np.log(beta) - lt.sum() - (a * h0).sum())
    g_xi = float((a**2 * h1 - a / t).sum())
    g_beta = float(-k / beta + ((1.0 + xi) * a / (beta * t)).sum())
    h_xixi = float((a**3 * h2 + a**2 / t**2).sum())
    h_xibeta = float((a * (1.0 - a) / (beta * t**2)).sum())
    h_betabeta = float(k / beta**2 - ((1.0 + xi) * a * (2.0 + x) / (beta**2 * t**2)).sum())
    return (
        loglik,
        np.array([g_xi, g_beta]),
        np.array([[h_xixi, h_xibeta], [h_xibeta, h_betabeta]]),
    )


def _feasible(xi: float, beta: float, y_max: float) -> bool:
    # Same rounding as x = xi * (y / beta) in _gpd_derivatives, so log1p(x) stays finite.
    return beta > 0.0 and 1.0 + xi * (y_max / beta) > 0.0


def _gpd_mle(y: np.ndarray) -> tuple[float, float, float, np.ndarray]:
    """MLE of ``(xi, beta)`` for exceedances ``y`` (sorted, > 0): xi, beta, loglik, Hessian."""
    k = y.size
    y_max = float(y[-1])
    mean, var_ = float(y.mean()), float(y.var())
    # Method of moments (valid for xi < 1/2), clipped to a sensible starting region.
    xi0 = float(np.clip(0.5 * (1.0 - mean**2 / var_), -0.4, 0.8))
    beta0 = max(mean * (1.0 - xi0), 1.5 * max(-xi0, 0.0) * y_max, 1e-12)

    def nll(theta: np.ndarray) -> float:
        if not abs(float(theta[1])) < 700.0:  # exp would overflow or underflow
            return math.inf
        xi, beta = float(theta[0]), math.exp(float(theta[1]))
        if not _feasible(xi, beta, y_max):
            return math.inf
        return -_gpd_derivatives(xi, beta, y)[0]

    res = optimize.minimize(
        nll,
        np.array([xi0, math.log(beta0)]),
        method="Nelder-Mead",
        options={"xatol": 1e-9, "fatol": 1e-11, "maxiter": 4000},
    )
    xi, beta = float(res.x[0]), math.exp(float(res.x[1]))
    if xi <= -1.0 + 1e-6:
        raise ModelError(
            f"the GPD likelihood has no maximum (xi -> {xi:.3g} <= -1, a bounded tail with "
            f"{k} exceedances): the fit is unbounded near the largest loss. Lower the threshold "
            "(more exceedances) or use the empirical var/es."
        )
    loglik, grad, hess = _gpd_derivatives(xi, beta, y)
    for _ in range(100):
        if max(abs(grad[0]), abs(beta * grad[1])) / k < _SCORE_TOL:
            break
        try:
            step = np.linalg.solve(hess, -grad)
        except np.linalg.LinAlgError:
            break
        if grad @ step <= 0:  # not an ascent direction: Hessian not negative definite here
            step = grad * np.array([1.0, beta**2]) / k
        lam = 1.0
        while lam > 1e-10:
            xi_n, beta_n = xi + lam * step[0], beta + lam * step[1]
            if _feasible(xi_n, beta_n, y_max):
                ll_n, g_n, h_n = _gpd_derivatives(xi_n, beta_n, y)
                if ll_n >= loglik - 1e-12 * abs(loglik):
                    break
            lam *= 0.5
        else:
            break
        xi, beta, loglik, grad, hess = xi_n, beta_n, ll_n, g_n, h_n
    score = max(abs(grad[0]), abs(beta * grad[1])) / k
    if not score < _SCORE_TOL * 100:
        raise ConvergenceError(
            f"GPD maximum likelihood did not converge on {k} exceedances (scaled score "
            f"{score:.2g} at xi={xi:.4g}, beta={beta:.4g}). The tail may be far from a GPD: plot "
            "the exceedances, or try another threshold or tail_fraction."
        )
    return xi, beta, loglik, hess


# -- risk measures -----------------------------------------------------------------------------
def _check_fit(fit: object) -> GPDTailFit:
    if not isinstance(fit, GPDTailFit):
        raise ConfigError(
            f"fit must be a GPDTailFit (got {type(fit).__name__}); make one with fit_gpd_tail(z)."
        )
    return fit


def _tail_quantile(fit: GPDTailFit, alpha: float) -> float:
    """Residual-loss quantile from the GPD tail estimator (McNeil & Frey 2000, Eq. 9)."""
    level = 1.0 - fit.tail_fraction
    if alpha < level - 1e-12:
        raise ConfigError(
            f"alpha={alpha:g} lies below the threshold's level 1 - k/n = {level:.4g}: the GPD "
            "only describes the tail beyond the threshold. Use alpha >= "
            f"{level:.4g}, or refit with a larger tail_fraction / lower threshold."
        )
    log_ratio = math.log((1.0 - alpha) / fit.tail_fraction)  # <= 0
    # (beta/xi) ((ratio)^(-xi) - 1) = beta * expm1(-xi log ratio) / xi, -> -beta log ratio at 0
    if fit.xi == 0.0:
        excess = -fit.beta * log_ratio
    else:
        excess = fit.beta * math.expm1(-fit.xi * log_ratio) / fit.xi
    return fit.threshold + excess


def var_evt(
    fit: GPDTailFit,
    alpha: float,
    *,
    mu: npt.ArrayLike = 0.0,
    sigma: npt.ArrayLike = 1.0,
) -> float | np.ndarray:
    r"""VaR from a GPD tail fit of standardized residuals (McNeil & Frey 2000, Eq. 9).

    Parameters
    ----------
    fit : GPDTailFit
        Result of :func:`fit_gpd_tail`.
    alpha : float
        Confidence level, at least ``1 - fit.tail_fraction`` (the tail the GPD describes).
    mu : float or array-like, default 0
        Conditional mean of the P&L/return (:math:`\mu_{t+1}`).
    sigma : float or array-like, default 1
        Conditional volatility (:math:`\sigma_{t+1}`), > 0. With the defaults the result is
        the residual quantile :math:`z_\alpha`.

    Returns
    -------
    float or numpy.ndarray
        :math:`-\mu + \sigma z_\alpha` as a positive loss.

    Raises
    ------
    ConfigError
        ``alpha`` outside (0, 1) or below ``1 - k/n``; ``sigma <= 0``; ``fit`` of the wrong type.

    Notes
    -----
    .. math::

        z_\alpha = u + \frac{\beta}{\xi}\left(\left(\frac{1-\alpha}{k/n}\right)^{-\xi}
        - 1\right),

    with the :math:`\xi \to 0` limit :math:`u - \beta\log\frac{1-\alpha}{k/n}`. At
    :math:`\alpha = 1 - k/n` it is the threshold :math:`u`.
    """
    fit = _check_fit(fit)
    alpha = check_alpha(alpha)
    mu_a, sigma_a = check_mu_sigma(mu, sigma)
    return as_output(-mu_a + sigma_a * _tail_quantile(fit, alpha))


def es_evt(
    fit: GPDTailFit,
    alpha: float,
    *,
    mu: npt.ArrayLike = 0.0,
    sigma: npt.ArrayLike = 1.0,
) -> float | np.ndarray:
    r"""Expected Shortfall from a GPD tail fit (McNeil & Frey 2000, Eq. 10).

    Parameters
    ----------
    fit : GPDTailFit
        Result of :func:`fit_gpd_tail`.
    alpha : float
        Confidence level, at least ``1 - fit.tail_fraction``.
    mu : float or array-like, default 0
        Conditional mean of the P&L/return.
    sigma : float or array-like, default 1
        Conditional volatility, > 0.

    Returns
    -------
    float or numpy.ndarray
        :math:`-\mu + \sigma\,\mathrm{ES}(Z)_\alpha` as a positive loss.

    Raises
    ------
    ModelError
        :math:`\xi \ge 1`: the tail has no finite mean, so ES is infinite.
    ConfigError
        As :func:`var_evt`.

    Notes
    -----
    For :math:`\xi < 1`,

    .. math::

        \mathrm{ES}(Z)_\alpha = \frac{z_\alpha}{1-\xi} + \frac{\beta - \xi u}{1-\xi},

    the mean of the GPD tail beyond :math:`z_\alpha` (mean excess
    :math:`(\beta + \xi(z_\alpha - u))/(1-\xi)` added to :math:`z_\alpha`).
    """
    fit = _check_fit(fit)
    alpha = check_alpha(alpha)
    mu_a, sigma_a = check_mu_sigma(mu, sigma)
    if fit.xi >= 1.0:
        raise ModelError(
            f"ES is infinite for a GPD tail with xi >= 1 (fitted xi={fit.xi:.4g}): the loss tail "
            "has no finite mean. Report VaR (var_evt) only, or check the residuals (a wrong "
            "volatility model can leave very heavy tails)."
        )
    z_q = _tail_quantile(fit, alpha)
    es_z = (z_q + fit.beta - fit.xi * fit.threshold) / (1.0 - fit.xi)
    return as_output(-mu_a + sigma_a * es_z)
