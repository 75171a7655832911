r"""Expected-shortfall backtests: McNeil-Frey, Acerbi-Szekely Z1/Z2, and the FZ0 scoring loss.

Sign convention (as everywhere in :mod:`riskmodels.backtest`): ``realized`` is the realized P&L
(gain positive), ``var`` and ``es`` are positive loss amounts at confidence level ``alpha``
(0.99 means the 1 % loss tail). The loss is :math:`L_t = -\text{realized}_t`; a VaR exceedance
(hit) is :math:`L_t > \mathrm{VaR}_t`; :math:`p = 1 - \alpha` is the tail probability.

References
----------
McNeil, A. J. and Frey, R. (2000). Estimation of tail-related risk measures for heteroscedastic
financial time series: an extreme value approach. Journal of Empirical Finance 7, 271-300.

Efron, B. and Tibshirani, R. J. (1993). An Introduction to the Bootstrap. Chapman & Hall,
section 16.4.

Acerbi, C. and Szekely, B. (2014). Backtesting expected shortfall. Risk, December 2014.

Patton, A. J., Ziegel, J. F. and Chen, R. (2019). Dynamic semiparametric models for expected
shortfall (and value-at-risk). Journal of Econometrics 211, 388-413.

Fissler, T. and Ziegel, J. F. (2016). Higher order elicitability and Osband's principle. Annals
of Statistics 44, 1680-1707.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from riskmodels._random import as_generator
from riskmodels._typing import SeedLike
from riskmodels.backtest.coverage import (
    align,
    as_float,
    check_alpha,
    check_count,
    require_obs,
)
from riskmodels.backtest.results import TestResult
from riskmodels.exceptions import ConfigError, DataError, InsufficientDataError, ModelError

__all__ = [
    "AS_Z2_CRITICAL_VALUES",
    "acerbi_szekely",
    "fz_loss",
    "mcneil_frey",
]

#: Critical values of Z2 reported by Acerbi and Szekely (2014) for T = 250 and a 2.5 % tail,
#: which they found nearly the same for every distribution they tried (normal, Student t with
#: 3-100 degrees of freedom): reject at 5 % below about -0.70 and at 0.01 % below about -1.8.
AS_Z2_CRITICAL_VALUES: dict[float, float] = {0.05: -0.70, 0.0001: -1.8}

#: Largest number of simulated (or bootstrap) values held in memory at once.
_CHUNK_VALUES = 2_000_000


def _positive(arr: np.ndarray, index: pd.Index, name: str) -> None:
    bad = arr <= 0
    if bad.any():
        raise DataError(
            f"{name} must be positive (a loss amount) on every date; {int(bad.sum())} value(s) "
            f"are <= 0 (first at {index[bad][0]}, value {arr[bad][0]:g}). VaR and ES are "
            "positive losses in riskmodels: pass -quantile if you hold return quantiles."
        )


def _tstat(mean: np.ndarray, sd: np.ndarray, n: int) -> np.ndarray:
    """``mean / (sd / sqrt(n))``; a zero standard error gives +-inf (0 when the mean is 0)."""
    mean = np.atleast_1d(np.asarray(mean, dtype=float))
    se = np.atleast_1d(np.asarray(sd, dtype=float)) / np.sqrt(n)
    out = np.zeros_like(mean)
    pos = se > 0
    out[pos] = mean[pos] / se[pos]
    out[~pos & (mean > 0)] = np.inf
    out[~pos & (mean < 0)] = -np.inf
    return out


def mcneil_frey(
    realized: pd.Series | np.ndarray,
    var: pd.Series | np.ndarray,
    es: pd.Series | np.ndarray,
    *,
    sigma: pd.Series | np.ndarray | None = None,
    n_boot: int = 999,
    rng: SeedLike = None,
) -> TestResult:
    r"""McNeil and Frey (2000) exceedance-residual test of ES, with a bootstrap p-value.

    Parameters
    ----------
    realized : pandas.Series or array-like of shape (n_dates,)
        Realized P&L (gain positive).
    var, es : pandas.Series or array-like of shape (n_dates,)
        VaR and ES forecasts, positive loss amounts, aligned with ``realized``.
    sigma : pandas.Series or array-like of shape (n_dates,), optional
        Forecast volatility :math:`\sigma_t` (positive) used to standardise the residuals, as
        in McNeil and Frey; unscaled residuals when omitted.
    n_boot : int, default 999
        Bootstrap replications :math:`B`.
    rng : numpy.random.Generator or int, optional
        Random generator or seed for the bootstrap (:func:`riskmodels._random.as_generator`):
        pass an int seed for a p-value that is a function of the inputs; None draws fresh
        entropy.

    Returns
    -------
    TestResult
        ``statistic`` = the t-statistic of the mean exceedance residual, ``pvalue`` the
        bootstrap p-value. ``extra``: ``nobs``, ``exceedances``, ``mean_residual``,
        ``pvalue_normal`` (one-sided N(0, 1) p-value of the same statistic), ``n_boot``,
        ``scaled``.

    Raises
    ------
    DataError
        Misaligned inputs, NaN or infinite values, non-positive ES or sigma.
    InsufficientDataError
        Fewer than :data:`~riskmodels.backtest.coverage.MIN_OBS` forecasts or fewer than 2
        exceedances.
    ConfigError
        ``n_boot`` not a positive integer, or a bad ``rng``.

    Notes
    -----
    On the :math:`n` exceedance days the residuals are (McNeil and Frey 2000)

    .. math::

        r_t = \frac{L_t - \mathrm{ES}_t}{\sigma_t} \quad (\sigma_t = 1 \text{ if omitted}),

    which have mean zero when the ES is right. The test is one-sided,
    :math:`H_1: E[r_t] > 0` (ES underestimated), with statistic
    :math:`t = \bar r / (s_r / \sqrt n)`. Its null distribution is bootstrapped from the
    centred residuals :math:`\tilde r_t = r_t - \bar r`, which satisfy the null (Efron and
    Tibshirani 1993, section 16.4): draw :math:`B` samples of size :math:`n` with replacement,
    compute :math:`t^*_b` on each, and

    .. math:: p = \frac{1 + \#\{b: t^*_b \ge t\}}{1 + B},

    a p-value that is never 0 and is exact-size for exchangeable replications.
    """
    named: dict[str, object] = {"realized": realized, "var": var, "es": es}
    if sigma is not None:
        named["sigma"] = sigma
    d = align(named)
    index = d["realized"].index
    x = as_float(d["realized"], "realized")
    v = as_float(d["var"], "var")
    e = as_float(d["es"], "es")
    _positive(e, index, "es")
    s = np.ones_like(x)
    if sigma is not None:
        s = as_float(d["sigma"], "sigma")
        _positive(s, index, "sigma")
    n_boot = check_count(n_boot, "n_boot", 1, "999 or 9999 are usual.")
    g = as_generator(rng)
    require_obs(x.size, "mcneil_frey")
    loss = -x
    hit = loss > v
    r = (loss[hit] - e[hit]) / s[hit]
    k = r.size
    if k < 2:
        raise InsufficientDataError(
            f"mcneil_frey needs at least 2 VaR exceedances to estimate a standard deviation "
            f"(got {k} in {x.size} forecasts). Backtest over a longer window."
        )
    t_obs = float(_tstat(r.mean(), r.std(ddof=1), k)[0])
    centred = r - r.mean()
    t_star = np.empty(n_boot)
    step = max(1, _CHUNK_VALUES // k)
    for start in range(0, n_boot, step):
        m = min(step, n_boot - start)
        sample = centred[g.integers(0, k, size=(m, k))]
        t_star[start : start + m] = _tstat(sample.mean(axis=1), sample.std(axis=1, ddof=1), k)
    pvalue = (1.0 + np.sum(t_star >= t_obs)) / (1.0 + n_boot)
    return TestResult(
        name="McNeil-Frey exceedance residuals",
        statistic=t_obs,
        pvalue=pvalue,
        null="exceedance residuals (L - ES)"
        + ("/sigma" if sigma is not None else "")
        + " have mean zero (ES correct on VaR-exceedance days)",
        alternative="their mean is positive (ES underestimated)",
        dist_name=f"bootstrap (B={n_boot})",
        df=None,
        extra={
            "nobs": int(x.size),
            "exceedances": k,
            "mean_residual": float(r.mean()),
            "pvalue_normal": float(stats.norm.sf(t_obs)),
            "n_boot": n_boot,
            "scaled": sigma is not None,
        },
    )


Simulator = Callable[[np.random.Generator, int], np.ndarray]


def _as_sampler(simulate: object, n_dates: int) -> Simulator:
    if simulate is not None and hasattr(simulate, "rvs"):
        dist: Any = simulate

        def draw(g: np.random.Generator, m: int) -> np.ndarray:
            return np.asarray(dist.rvs(size=(m, n_dates), random_state=g), dtype=float)

        return draw
    if callable(simulate):
        return simulate
    raise ConfigError(
        "simulate must be a callable simulate(rng, n) returning P&L scenarios of shape "
        f"(n, n_dates), or a frozen scipy.stats distribution with one parameter per date (got "
        f"{type(simulate).__name__}). Example: simulate=scipy.stats.t(df=5, loc=mu, scale=s)."
    )


def _as_stats(
    loss: np.ndarray, var: np.ndarray, es: np.ndarray, tail: float, test: str
) -> tuple[Any, Any]:
    """Z1 or Z2 along the last axis; Z1 is NaN where there is no exceedance."""
    hit = loss > var
    ratio_sum = np.sum(np.where(hit, loss / es, 0.0), axis=-1)
    if test == "z2":
        return 1.0 - ratio_sum / (loss.shape[-1] * tail), hit.sum(axis=-1)
    n_hits = hit.sum(axis=-1)
    z1 = np.full(np.shape(ratio_sum), np.nan)
    ok = n_hits > 0
    z1[ok] = 1.0 - ratio_sum[ok] / n_hits[ok]
    return z1, n_hits


def acerbi_szekely(
    realized: pd.Series | np.ndarray,
    var: pd.Series | np.ndarray,
    es: pd.Series | np.ndarray,
    alpha: float,
    *,
    simulate: Simulator | Any,
    test: Literal["z1", "z2"] = "z2",
    n_sims: int = 10_000,
    rng: SeedLike = None,
) -> TestResult:
    r"""Acerbi and Szekely (2014) ES backtests Z1 and Z2, with p-values simulated from the model.

    Parameters
    ----------
    realized : pandas.Series or array-like of shape (n_dates,)
        Realized P&L (gain positive).
    var, es : pandas.Series or array-like of shape (n_dates,)
        The model's VaR and ES forecasts at ``alpha``, positive loss amounts.
    alpha : float
        Confidence level in (0, 1) (A&S use 0.975).
    simulate : callable or frozen scipy.stats distribution
        The model's predictive distribution of the P&L, date by date, under which the p-value
        is simulated. Either a callable ``simulate(rng, n) -> ndarray`` of shape
        ``(n, n_dates)`` returning ``n`` independent P&L scenarios for every date (column
        ``t`` drawn from the date-``t`` forecast distribution), or a frozen scipy.stats
        distribution whose parameters broadcast to ``(n_dates,)``, e.g.
        ``scipy.stats.t(df=nu, loc=mu_t, scale=s_t)`` (sampled with
        ``rvs(size=(n, n_dates), random_state=rng)``).
    test : {"z2", "z1"}, default "z2"
        Which statistic.
    n_sims : int, default 10000
        Number of simulated samples :math:`M`.
    rng : numpy.random.Generator or int, optional
        Generator or seed passed to ``simulate`` (:func:`riskmodels._random.as_generator`):
        pass an int seed for a reproducible p-value; None draws fresh entropy.

    Returns
    -------
    TestResult
        ``statistic`` = Z, ``pvalue`` = simulated left-tail p-value. ``extra``: ``nobs``,
        ``hits``, ``n_sims`` (samples used), ``null_distribution`` (read-only array of the
        simulated Z).

    Raises
    ------
    ConfigError
        ``alpha`` outside (0, 1), unknown ``test``, bad ``simulate``/``n_sims``/``rng``, or a
        simulator returning the wrong shape.
    DataError
        Misaligned inputs, NaN or infinite values, non-positive ES.
    InsufficientDataError
        Fewer than :data:`~riskmodels.backtest.coverage.MIN_OBS` forecasts, or no exceedance
        for Z1.
    ModelError
        The simulator returned NaN or infinite P&L.

    Notes
    -----
    With :math:`I_t = 1\{L_t > \mathrm{VaR}_t\}`, :math:`N = \sum_t I_t` and tail probability
    :math:`p = 1 - \alpha`, in our positive-loss convention (A&S 2014, with
    :math:`X_t = -L_t`):

    .. math::

        Z_1 = 1 - \frac{1}{N}\sum_t \frac{I_t L_t}{\mathrm{ES}_t}, \qquad
        Z_2 = 1 - \frac{1}{T p}\sum_t \frac{I_t L_t}{\mathrm{ES}_t}.

    Both have expectation 0 under a correct model (Z1 given the VaR is right, Z2 jointly) and
    are negative when the ES is underestimated (Z2 also when there are too many exceptions).
    The test is one-sided; the p-value is
    :math:`(1 + \#\{m: Z^*_m \le Z\}) / (1 + M)` over :math:`M` samples simulated from the
    predictive distribution, hits and Z computed with the same VaR and ES as the data. Z1 is
    conditional on :math:`N > 0`: it needs at least one exceedance in the data, and simulated
    samples without one are left out (``n_sims`` in ``extra`` counts those used).

    A&S report that the Z2 critical values are nearly distribution-free for T = 250 and a
    2.5 % tail: about -0.70 at the 5 % level and -1.8 at 0.01 %
    (:data:`AS_Z2_CRITICAL_VALUES`); the simulated null distribution in ``extra`` lets one
    check this for the model at hand.
    """
    a = check_alpha(alpha)
    if test not in ("z1", "z2"):
        raise ConfigError(f"test must be 'z1' or 'z2' (got {test!r}).")
    n_sims = check_count(n_sims, "n_sims", 1, "10000 gives p-values to about +-0.005.")
    d = align({"realized": realized, "var": var, "es": es})
    index = d["realized"].index
    x = as_float(d["realized"], "realized")
    v = as_float(d["var"], "var")
    e = as_float(d["es"], "es")
    _positive(e, index, "es")
    n = x.size
    require_obs(n, "acerbi_szekely")
    tail = 1.0 - a
    z_obs, n_hits = _as_stats(-x, v, e, tail, test)
    z_obs = float(z_obs)
    if test == "z1" and n_hits == 0:
        raise InsufficientDataError(
            f"acerbi_szekely test='z1' needs at least one VaR exceedance (got 0 in {n} "
            "forecasts); Z1 is conditional on exceedances. Use test='z2'."
        )
    sampler = _as_sampler(simulate, n)
    g = as_generator(rng)
    z_sim = np.empty(n_sims)
    step = max(1, _CHUNK_VALUES // n)
    for start in range(0, n_sims, step):
        m = min(step, n_sims - start)
        draws = np.asarray(sampler(g, m), dtype=float)
        if draws.shape != (m, n):
            raise ConfigError(
                f"simulate(rng, {m}) returned shape {draws.shape}; expected ({m}, {n}): one "
                "row per scenario, one column per date."
            )
        if not np.isfinite(draws).all():
            raise ModelError(
                "simulate returned NaN or infinite P&L; check the predictive distribution's "
                "parameters."
            )
        z_sim[start : start + m] = _as_stats(-draws, v, e, tail, test)[0]
    z_sim = z_sim[np.isfinite(z_sim)]
    pvalue = (1.0 + np.sum(z_sim <= z_obs)) / (1.0 + z_sim.size)
    if test == "z1":
        null = "the ES is correct given the VaR exceedances (E[Z1] = 0)"
        alternative = "the ES is underestimated (Z1 < 0)"
    else:
        null = "the VaR and ES are correct (E[Z2] = 0)"
        alternative = "the ES is underestimated or exceptions too frequent (Z2 < 0)"
    return TestResult(
        name=f"Acerbi-Szekely {test.upper()}",
        statistic=z_obs,
        pvalue=pvalue,
        null=null,
        alternative=alternative,
        dist_name=f"simulated under the model (M={z_sim.size})",
        df=None,
        extra={
            "nobs": n,
            "hits": int(n_hits),
            "expected_hits": n * tail,
            "n_sims": int(z_sim.size),
            "null_distribution": z_sim,
        },
    )


def fz_loss(
    realized: pd.Series | np.ndarray,
    var: pd.Series | np.ndarray,
    es: pd.Series | np.ndarray,
    alpha: float,
) -> pd.Series:
    r"""FZ0 joint loss of (VaR, ES) forecasts (Patton, Ziegel and Chen 2019), one value per date.

    Parameters
    ----------
    realized : pandas.Series or array-like of shape (n_dates,)
        Realized P&L (gain positive).
    var, es : pandas.Series or array-like of shape (n_dates,)
        VaR and ES forecasts at ``alpha``, positive loss amounts with ``es >= var`` and
        ``es > 0``.
    alpha : float
        Confidence level in (0, 1).

    Returns
    -------
    pandas.Series
        The FZ0 loss of every date, named ``"fz0"``; lower is better. Average it, or compare
        two models with :func:`~riskmodels.backtest.diebold_mariano`.

    Raises
    ------
    ConfigError
        ``alpha`` outside (0, 1).
    DataError
        Misaligned inputs, NaN or infinite values, non-positive ES, or ES below VaR.

    Notes
    -----
    Patton, Ziegel and Chen (2019) write the FZ0 loss for returns :math:`Y`, tail
    probability :math:`p` and a negative VaR :math:`v` and ES :math:`e` (:math:`e \le v < 0`):

    .. math::

        L_{FZ0}(Y, v, e; p) = -\frac{1}{p\,e}\,1\{Y \le v\}(v - Y) + \frac{v}{e}
                              + \log(-e) - 1 .

    Here :math:`Y = \text{realized}`, :math:`v = -\mathrm{VaR}`, :math:`e = -\mathrm{ES}`,
    :math:`p = 1 - \alpha` and the loss is :math:`L = -Y`, so

    .. math::

        L_{FZ0} = \frac{1\{L \ge \mathrm{VaR}\}\,(L - \mathrm{VaR})}{p\,\mathrm{ES}}
                  + \frac{\mathrm{VaR}}{\mathrm{ES}} + \log \mathrm{ES} - 1 .

    It is a strictly consistent scoring function for the pair (VaR, ES) (Fissler and Ziegel
    2016), homogeneous of degree zero in the scale of the losses, so it can be averaged across
    dates with different volatility.
    """
    a = check_alpha(alpha)
    d = align({"realized": realized, "var": var, "es": es})
    index = d["realized"].index
    x = as_float(d["realized"], "realized")
    v = as_float(d["var"], "var")
    e = as_float(d["es"], "es")
    _positive(e, index, "es")
    below = e < v
    if below.any():
        raise DataError(
            f"es must be >= var on every date (ES is the mean loss beyond the VaR); "
            f"{int(below.sum())} date(s) have es < var (first at {index[below][0]}). Check "
            "that both forecasts use the same alpha."
        )
    p = 1.0 - a
    loss = -x
    excess = np.where(loss >= v, loss - v, 0.0)
    values = excess / (p * e) + v / e + np.log(e) - 1.0
    return pd.Series(values, index=index, name="fz0")
