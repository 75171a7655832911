r"""VaR coverage tests: Kupiec, Christoffersen, dynamic quantile, duration, Basel traffic light.

Conventions
-----------
* ``realized`` is the realized P&L (a gain is positive); VaR and ES are positive loss amounts
  at confidence level ``alpha`` (0.99 means the 1 % loss tail). The loss is
  :math:`L_t = -\text{realized}_t` and a **hit** (exception) is :math:`L_t > \mathrm{VaR}_t`,
  i.e. ``-realized > var`` (strict). :func:`exceedances` builds the hit series.
* ``hits`` is a boolean array or Series, True where the loss exceeded the VaR. Integer or
  float 0/1 values are accepted.
* Functions that take several series align them on their index: the indexes must hold the same
  labels (the order may differ; the first series' order is used), otherwise a
  :class:`~riskmodels.exceptions.DataError` says how many labels differ. Plain arrays must have
  equal lengths.
* NaN or infinite values raise :class:`~riskmodels.exceptions.DataError` (a missing forecast is
  not a pass: drop the date from every input); ``alpha`` outside (0, 1) raises
  :class:`~riskmodels.exceptions.ConfigError`; fewer than :data:`MIN_OBS` forecasts raise
  :class:`~riskmodels.exceptions.InsufficientDataError`.
* Likelihood ratios are computed in logs, term by term (``n * log(p_alt / p_null)``, zero when
  the count is zero, as ``scipy.special.xlogy`` does): products of probabilities underflow to 0
  for long samples (``0.99 ** 100_000`` is already 0.0 in double precision).

References
----------
Kupiec, P. (1995). Techniques for verifying the accuracy of risk measurement models. Journal of
Derivatives 3, 73-84.

Christoffersen, P. (1998). Evaluating interval forecasts. International Economic Review 39,
841-862.

Engle, R. F. and Manganelli, S. (2004). CAViaR: conditional autoregressive value at risk by
regression quantiles. Journal of Business & Economic Statistics 22, 367-381.

Christoffersen, P. and Pelletier, D. (2004). Backtesting value-at-risk: a duration-based
approach. Journal of Financial Econometrics 2, 84-108.

Basel Committee on Banking Supervision (1996). Supervisory framework for the use of
"backtesting" in conjunction with the internal models approach to market risk capital
requirements.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
import pandas as pd
from scipy import optimize, stats
from scipy.special import logsumexp

from riskmodels.backtest.results import (
    BASEL_BASE_MULTIPLIER,
    BASEL_PLUS_FACTORS,
    BASEL_RED_PLUS_FACTOR,
    ChristoffersenResult,
    TestResult,
    TrafficLightResult,
)
from riskmodels.exceptions import ConfigError, DataError, InsufficientDataError

__all__ = [
    "MIN_OBS",
    "christoffersen",
    "dq_test",
    "duration_test",
    "exceedances",
    "kupiec",
    "traffic_light",
    "traffic_light_from_counts",
]

#: Fewest forecasts any backtest statistic accepts. Below this the asymptotic distributions
#: are meaningless and a binomial count carries almost no information.
MIN_OBS = 20

#: Bounds of the Weibull shape in the duration test (the profile likelihood is concave in b;
#: b -> infinity for perfectly periodic hits, where the bound keeps the statistic finite).
WEIBULL_SHAPE_BOUNDS = (1e-3, 1e3)


# --------------------------------------------------------------------------- input checks


def check_alpha(alpha: object) -> float:
    """Validate the VaR confidence level ``alpha`` in (0, 1) and return it as a float."""
    if (
        isinstance(alpha, bool)
        or not isinstance(alpha, (int, float, np.integer, np.floating))
        or not 0.0 < float(alpha) < 1.0
    ):
        raise ConfigError(f"alpha must be in (0, 1) (got {alpha!r}); 0.99 means the 1% loss tail.")
    return float(alpha)


def check_count(value: object, name: str, minimum: int, hint: str) -> int:
    """Validate an integer option ``>= minimum``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ConfigError(f"{name} must be an integer >= {minimum} (got {value!r}). {hint}")
    return int(value)


def require_obs(n: int, test: str, minimum: int = MIN_OBS) -> None:
    """Raise :class:`InsufficientDataError` when fewer than ``minimum`` forecasts are given."""
    if n < minimum:
        raise InsufficientDataError(
            f"{test} needs at least {minimum} forecasts (got {n}). Backtest over a longer window."
        )


def _one_dimensional(x: object, name: str) -> pd.Series | np.ndarray:
    if isinstance(x, pd.DataFrame):
        raise ConfigError(
            f"{name} must be one series (got a DataFrame with {x.shape[1]} columns). "
            f"Pass one column, e.g. {name}[column]."
        )
    if isinstance(x, pd.Series):
        return x
    arr = np.asarray(x)
    if arr.ndim != 1:
        raise ConfigError(
            f"{name} must be one-dimensional (got an array of shape {arr.shape}). "
            "Pass one value per date."
        )
    return arr


def _first_labels(index: pd.Index, k: int = 3) -> str:
    return ", ".join(str(v) for v in index[:k])


def align(named: dict[str, object]) -> dict[str, pd.Series]:
    """Align several one-dimensional inputs on a common index.

    Series must carry the same labels (any order; the first Series' order wins); plain arrays
    must have the length of the others and take the Series' index, or a ``RangeIndex``.
    Returns Series with the input values (dtype unchanged) on the common index.
    """
    items = {name: _one_dimensional(x, name) for name, x in named.items()}
    series = {n: v for n, v in items.items() if isinstance(v, pd.Series)}
    series_names = list(series)
    for n, s in series.items():
        idx = s.index
        if idx.has_duplicates:
            dup = idx[idx.duplicated()]
            raise DataError(
                f"{n} has {dup.size} duplicated index label(s) (first: {_first_labels(dup)}). "
                "Each date must appear once."
            )
    if series_names:
        ref = series_names[0]
        index = series[ref].index
    else:
        ref = next(iter(items))
        index = pd.RangeIndex(len(items[ref]))
    out = {}
    for n, v in items.items():
        if isinstance(v, pd.Series):
            if not v.index.equals(index):
                only_ref = index.difference(v.index)
                only_here = v.index.difference(index)
                if only_ref.size or only_here.size:
                    first = only_here if only_here.size else only_ref
                    raise DataError(
                        f"{ref} and {n} have different indexes: {only_here.size} label(s) of "
                        f"{n} are not in {ref} and {only_ref.size} label(s) of {ref} are not in "
                        f"{n} (first: {_first_labels(first)}). Align them first, e.g. "
                        f"{ref}, {n} = {ref}.align({n}, join='inner')."
                    )
                v = v.reindex(index)
            out[n] = pd.Series(v.array, index=index, name=n)
        else:
            if len(v) != len(index):
                raise DataError(
                    f"{n} has {len(v)} values but {ref} has {len(index)}. Pass one value per "
                    "date for every input (or Series with the same index)."
                )
            out[n] = pd.Series(v, index=index, name=n)
    return out


def as_float(s: pd.Series, name: str) -> np.ndarray:
    """Finite float64 values of ``s``; NaN or inf raise :class:`DataError` naming the first date."""
    if s.dtype == bool or not pd.api.types.is_numeric_dtype(s.dtype):
        raise DataError(
            f"{name} must be numeric (got dtype {s.dtype}). Convert with {name}.astype(float) "
            "after checking the values."
        )
    arr = s.to_numpy(dtype=float, na_value=np.nan)
    bad = ~np.isfinite(arr)
    if bad.any():
        kind = "NaN" if np.isnan(arr[bad]).all() else "NaN or infinite"
        raise DataError(
            f"{name} has {int(bad.sum())} {kind} value(s) (first at {s.index[bad][0]}). Drop "
            "those dates from every input before backtesting; a missing forecast is not a pass."
        )
    return arr


def as_hits(s: pd.Series, name: str = "hits") -> np.ndarray:
    """Boolean hits from a bool (or 0/1) Series; NaN and other values raise :class:`DataError`."""
    if s.isna().any():
        bad = s.isna().to_numpy()
        raise DataError(
            f"{name} has {int(bad.sum())} missing value(s) (first at {s.index[bad][0]}). Drop "
            "those dates; a missing forecast is not a pass."
        )
    if s.dtype == bool or isinstance(s.dtype, pd.BooleanDtype):
        return s.to_numpy(dtype=bool)
    if pd.api.types.is_numeric_dtype(s.dtype):
        arr = s.to_numpy(dtype=float)
        if np.isin(arr, (0.0, 1.0)).all():
            return arr.astype(bool)
        other = arr[~np.isin(arr, (0.0, 1.0))]
        raise DataError(
            f"{name} must be boolean, True where the loss exceeded the VaR (got values other "
            f"than 0/1, e.g. {other[0]:g}). Build hits with exceedances(realized, var)."
        )
    values = s.to_numpy()
    if all(isinstance(v, (bool, np.bool_)) for v in values):
        return values.astype(bool)
    raise DataError(
        f"{name} must be boolean, True where the loss exceeded the VaR (got dtype {s.dtype}). "
        "Build hits with exceedances(realized, var)."
    )


def _hits_input(hits: object) -> pd.Series:
    s = align({"hits": hits})["hits"]
    return pd.Series(as_hits(s), index=s.index, name="hits")


def _llr(n: int, p_alt: float, p_null: float) -> float:
    """``n * log(p_alt / p_null)``, zero when ``n`` is zero (a cell that never occurred)."""
    return 0.0 if n == 0 else n * math.log(p_alt / p_null)


def _pct(p: float) -> str:
    return f"{100 * p:.4g}%"


# --------------------------------------------------------------------------- public API


def exceedances(realized: pd.Series | np.ndarray, var: pd.Series | np.ndarray) -> pd.Series:
    """Hit series of a VaR forecast: True where the loss exceeded the VaR.

    Parameters
    ----------
    realized : pandas.Series or array-like of shape (n_dates,)
        Realized P&L (a gain is positive).
    var : pandas.Series or array-like of shape (n_dates,)
        VaR forecasts for the same dates, positive loss amounts.

    Returns
    -------
    pandas.Series
        Boolean ``-realized > var``, named ``"hit"``, on the common index.

    Raises
    ------
    DataError
        Misaligned indexes or lengths, NaN or infinite values.
    """
    d = align({"realized": realized, "var": var})
    x = as_float(d["realized"], "realized")
    v = as_float(d["var"], "var")
    return pd.Series(-x > v, index=d["realized"].index, name="hit")


def kupiec(hits: pd.Series | np.ndarray, alpha: float) -> TestResult:
    r"""Kupiec (1995) proportion-of-failures (POF) test of unconditional coverage.

    Parameters
    ----------
    hits : pandas.Series or array-like of bool, shape (n_dates,)
        True where the loss exceeded the VaR.
    alpha : float
        VaR confidence level in (0, 1); 0.99 means the 1 % loss tail, so the hit probability
        under the null is ``p0 = 1 - alpha``.

    Returns
    -------
    TestResult
        ``statistic`` = LR_pof, ``pvalue`` from chi2(1). ``extra``: ``nobs``, ``hits``,
        ``expected``, ``hit_rate``, ``p0``.

    Raises
    ------
    ConfigError
        ``alpha`` outside (0, 1).
    DataError
        Non-boolean or missing hits.
    InsufficientDataError
        Fewer than :data:`MIN_OBS` hits.

    Notes
    -----
    With :math:`x` hits in :math:`T` days and :math:`\hat p = x / T` (Kupiec 1995):

    .. math::

        LR_{pof} = -2\left[\ell(p_0) - \ell(\hat p)\right]
                 = 2\left[x \log\frac{\hat p}{p_0}
                   + (T - x)\log\frac{1 - \hat p}{1 - p_0}\right] \sim \chi^2(1),

    with :math:`\ell(p) = (T-x)\log(1-p) + x\log p` and :math:`0 \log 0 = 0`, so no hits and all
    hits are handled. The statistic is computed in logs, term by term, so it is finite for any
    sample length.
    """
    a = check_alpha(alpha)
    h = _hits_input(hits).to_numpy()
    n = h.size
    require_obs(n, "kupiec")
    x = int(h.sum())
    p0 = 1.0 - a
    phat = x / n
    lr = 2.0 * (_llr(x, phat, p0) + _llr(n - x, 1.0 - phat, 1.0 - p0))
    lr = max(lr, 0.0)  # exactly 0 at phat == p0; guard a rounding -1e-16
    return TestResult(
        name="Kupiec POF",
        statistic=lr,
        pvalue=stats.chi2.sf(lr, 1),
        null=f"the hit probability is 1 - alpha = {_pct(p0)} (correct unconditional coverage)",
        alternative=f"the hit probability differs from {_pct(p0)}",
        dist_name="chi2(1)",
        df=1,
        extra={"nobs": n, "hits": x, "expected": n * p0, "hit_rate": phat, "p0": p0},
    )


def _transition_counts(h: np.ndarray) -> tuple[int, int, int, int]:
    prev, cur = h[:-1], h[1:]
    n00 = int(np.sum(~prev & ~cur))
    n01 = int(np.sum(~prev & cur))
    n10 = int(np.sum(prev & ~cur))
    n11 = int(np.sum(prev & cur))
    return n00, n01, n10, n11


def christoffersen(hits: pd.Series | np.ndarray, alpha: float) -> ChristoffersenResult:
    r"""Christoffersen (1998) tests of independence and of conditional coverage.

    Parameters
    ----------
    hits : pandas.Series or array-like of bool, shape (n_dates,)
        True where the loss exceeded the VaR.
    alpha : float
        VaR confidence level in (0, 1); the null hit probability is ``1 - alpha``.

    Returns
    -------
    ChristoffersenResult
        ``independence`` (LR_ind ~ chi2(1)) and ``conditional_coverage``
        (LR_cc = LR_pof + LR_ind ~ chi2(2)); ``statistic`` and ``pvalue`` are those of the
        conditional-coverage test; ``ind, cc = christoffersen(hits, alpha)`` unpacks. ``extra``
        holds the transition counts ``n00, n01, n10, n11`` and ``pi01, pi11, pi``.

    Raises
    ------
    ConfigError
        ``alpha`` outside (0, 1).
    DataError
        Non-boolean or missing hits.
    InsufficientDataError
        Fewer than :data:`MIN_OBS` hits.

    Notes
    -----
    :math:`n_{ij}` counts days with hit state :math:`j` after a day with state :math:`i`
    (:math:`T - 1` transitions). Under the first-order Markov alternative the hit probabilities
    after a non-hit and after a hit are :math:`\hat\pi_{01} = n_{01}/(n_{00}+n_{01})` and
    :math:`\hat\pi_{11} = n_{11}/(n_{10}+n_{11})`; under independence both equal
    :math:`\hat\pi = (n_{01}+n_{11})/(T-1)` (Christoffersen 1998):

    .. math::

        LR_{ind} = 2\Big[\sum_{ij} n_{ij}\log\hat\pi_{ij}
                   - (n_{00}+n_{10})\log(1-\hat\pi) - (n_{01}+n_{11})\log\hat\pi\Big]
                   \sim \chi^2(1),

    computed term by term as :math:`n_{ij}\log(\hat\pi_{ij}/\hat\pi_j)` with
    :math:`0\log 0 = 0`. **Empty row convention**: when no hit (or no non-hit) occurs in the
    first :math:`T-1` days, the corresponding row has no transitions, its probability is not
    identified and it contributes nothing to either likelihood, so the other row's estimate
    equals :math:`\hat\pi` and :math:`LR_{ind} = 0`: the sample carries no evidence of
    clustering. The degrees of freedom are kept at 1.

    The conditional-coverage statistic adds the Kupiec statistic of the whole sample (as
    ``rugarch::VaRTest`` does): :math:`LR_{cc} = LR_{pof} + LR_{ind} \sim \chi^2(2)`.

    **Size.** The chi-square approximation of :math:`LR_{ind}` needs several hit-after-hit
    transitions; when :math:`T(1-\alpha)^2` is about 1 or less (e.g. 99 % VaR over a few years)
    the test is strongly undersized and has little power.
    """
    a = check_alpha(alpha)
    h = _hits_input(hits).to_numpy()
    n = h.size
    require_obs(n, "christoffersen")
    pof = kupiec(h, a)
    n00, n01, n10, n11 = _transition_counts(h)
    row0, row1 = n00 + n01, n10 + n11
    pi01 = n01 / row0 if row0 else 0.0
    pi11 = n11 / row1 if row1 else 0.0
    pi = (n01 + n11) / (n - 1)
    lr_ind = 2.0 * (
        _llr(n00, 1.0 - pi01, 1.0 - pi)
        + _llr(n01, pi01, pi)
        + _llr(n10, 1.0 - pi11, 1.0 - pi)
        + _llr(n11, pi11, pi)
    )
    lr_ind = max(lr_ind, 0.0)
    counts = {"n00": n00, "n01": n01, "n10": n10, "n11": n11}
    probs = {"pi01": pi01, "pi11": pi11, "pi": pi}
    ind = TestResult(
        name="Christoffersen independence",
        statistic=lr_ind,
        pvalue=stats.chi2.sf(lr_ind, 1),
        null="hits are independent: the hit probability is the same after a hit as after a non-hit",
        alternative="hits follow a first-order Markov chain (e.g. they cluster)",
        dist_name="chi2(1)",
        df=1,
        extra={"nobs": n, "hits": int(h.sum()), **counts, **probs},
    )
    lr_cc = pof.statistic + lr_ind
    p0 = 1.0 - a
    cc = TestResult(
        name="Christoffersen conditional coverage",
        statistic=lr_cc,
        pvalue=stats.chi2.sf(lr_cc, 2),
        null=f"hits are independent with probability 1 - alpha = {_pct(p0)}",
        alternative=f"the hit probability differs from {_pct(p0)} or hits are dependent",
        dist_name="chi2(2)",
        df=2,
        extra={
            "nobs": n,
            "hits": int(h.sum()),
            "expected": n * p0,
            "lr_pof": pof.statistic,
            "lr_ind": lr_ind,
            **counts,
        },
    )
    return ChristoffersenResult(independence=ind, conditional_coverage=cc)


def dq_test(
    hits: pd.Series | np.ndarray,
    var: pd.Series | np.ndarray,
    alpha: float,
    lags: int = 4,
) -> TestResult:
    r"""Engle and Manganelli (2004) dynamic quantile (DQ) test of conditional coverage.

    Parameters
    ----------
    hits : pandas.Series or array-like of bool, shape (n_dates,)
        True where the loss exceeded the VaR.
    var : pandas.Series or array-like of shape (n_dates,)
        The VaR forecasts (positive loss amounts) the hits came from; aligned with ``hits``.
    alpha : float
        VaR confidence level in (0, 1); :math:`\theta = 1 - \alpha` is the hit probability.
    lags : int, default 4
        Number of lagged demeaned hits in the regression (E&M use 4).

    Returns
    -------
    TestResult
        ``statistic`` = DQ, ``pvalue`` from chi2(q) with ``q`` the rank of the regressor
        matrix (``lags + 2`` unless regressors are collinear). ``extra``: ``nobs`` (regression
        observations), ``hits``, ``lags``, ``rank``.

    Raises
    ------
    ConfigError
        ``alpha`` outside (0, 1) or ``lags`` not a non-negative integer.
    DataError
        Misaligned inputs, NaN forecasts, non-boolean hits.
    InsufficientDataError
        Fewer than :data:`MIN_OBS` forecasts, or fewer regression observations than
        ``2 * (lags + 2)``.

    Notes
    -----
    With :math:`\mathrm{Hit}_t = I_t - \theta`, regress (Engle and Manganelli 2004, the DQ test)

    .. math::

        \mathrm{Hit}_t = \delta_0 + \sum_{k=1}^{K}\beta_k \mathrm{Hit}_{t-k}
                         + \gamma\,\mathrm{VaR}_t + u_t, \qquad t = K+1, \dots, T,

    and, with :math:`X` the regressor matrix and :math:`\hat\beta` the OLS estimate,

    .. math::

        DQ = \frac{\hat\beta' X'X \hat\beta}{\theta(1-\theta)} \sim \chi^2(K + 2)

    under :math:`H_0: \delta_0 = \beta_k = \gamma = 0`. The statistic is the sum of squared
    fitted values over :math:`\theta(1-\theta)`; it does not depend on the sign or scale of
    the VaR regressor, so positive-loss VaR gives the same value as E&M's negative quantile.
    When regressors are collinear (a constant VaR, or no hits at all) the fitted values are
    the projection on the column space and the degrees of freedom are its rank.

    **Size.** With rare hits the chi-square approximation is poor and the test over-rejects
    (in our simulations of iid hits at 1 %, T = 2000: about 9 % rejections at the 5 % level);
    at 5 % hits and T = 5000 the size is nominal.
    """
    a = check_alpha(alpha)
    lags = check_count(lags, "lags", 0, "Engle and Manganelli (2004) use lags=4.")
    d = align({"hits": hits, "var": var})
    h = as_hits(d["hits"], "hits")
    v = as_float(d["var"], "var")
    n = h.size
    require_obs(n, "dq_test")
    k = lags + 2
    m = n - lags
    if m < 2 * k:
        raise InsufficientDataError(
            f"dq_test with lags={lags} needs at least {2 * k + lags} forecasts (got {n}). "
            "Use fewer lags or a longer window."
        )
    theta = 1.0 - a
    y = h.astype(float) - theta
    cols = [np.ones(m)]
    cols += [y[lags - j : n - j] for j in range(1, lags + 1)]
    cols.append(v[lags:])
    x = np.column_stack(cols)
    target = y[lags:]
    beta, *_ = np.linalg.lstsq(x, target, rcond=None)
    fitted = x @ beta
    rank = int(np.linalg.matrix_rank(x))
    dq = float(fitted @ fitted) / (theta * (1.0 - theta))
    return TestResult(
        name="Engle-Manganelli DQ",
        statistic=dq,
        pvalue=stats.chi2.sf(dq, rank),
        null=f"demeaned hits are unpredictable from a constant, their {lags} lags and the VaR "
        f"(correct conditional coverage at {_pct(theta)})",
        alternative="some regressor predicts the hits",
        dist_name=f"chi2({rank})",
        df=rank,
        extra={"nobs": m, "hits": int(h.sum()), "lags": lags, "rank": rank},
    )


def _weibull_profile_loglik(b: float, log_d: np.ndarray, n_unc: int, sum_log_unc: float) -> float:
    """Weibull log-likelihood with the scale concentrated out (see :func:`duration_test`)."""
    return (
        n_unc * math.log(n_unc)
        - n_unc * float(logsumexp(b * log_d))
        + n_unc * math.log(b)
        + (b - 1.0) * sum_log_unc
        - n_unc
    )


def duration_test(hits: pd.Series | np.ndarray) -> TestResult:
    r"""Christoffersen and Pelletier (2004) duration test of independence (Weibull vs exponential).

    Parameters
    ----------
    hits : pandas.Series or array-like of bool, shape (n_dates,)
        True where the loss exceeded the VaR.

    Returns
    -------
    TestResult
        ``statistic`` = LR, ``pvalue`` from chi2(1). ``extra``: ``nobs``, ``hits``,
        ``durations``, ``censored``, ``shape_b`` and ``scale_a`` (Weibull MLE),
        ``loglik_weibull`` and ``loglik_exponential``.

    Raises
    ------
    DataError
        Non-boolean or missing hits.
    InsufficientDataError
        Fewer than :data:`MIN_OBS` forecasts, or fewer than 2 hits (no complete duration).

    Notes
    -----
    Durations are the days between hits, :math:`D_i = t_i - t_{i-1}`. A correct model gives
    memoryless durations, exponential in the continuous approximation; the alternative is a
    Weibull with density :math:`f(D) = a^b b D^{b-1} e^{-(aD)^b}` and survival
    :math:`S(D) = e^{-(aD)^b}`; :math:`b < 1` means hits cluster (a decreasing hazard). The
    log-likelihood (Christoffersen and Pelletier 2004) is

    .. math::

        \ell(a, b) = \sum_{i \in U}\log f(D_i) + \sum_{i \in C}\log S(D_i)

    with :math:`U` the complete and :math:`C` the censored durations, and
    :math:`LR = 2[\ell(\hat a, \hat b) - \ell(\tilde a, 1)] \sim \chi^2(1)`.

    **Censoring.** If the sample does not start with a hit, the first spell (from the start to
    the first hit, :math:`D = t_1` days) is left-censored and enters through :math:`S`; if it
    does, no spell is added before it. If the sample does not end with a hit, the last spell
    (:math:`D = T - t_n` days after the last hit) is right-censored and enters through
    :math:`S`. This is the treatment of ``rugarch::VaRDurTest``.

    The scale is concentrated out: :math:`a^b = n_U / \sum_{i \in U \cup C} D_i^b`, giving a
    profile log-likelihood that is strictly concave in :math:`b`; it is maximised over
    :math:`b \in` :data:`WEIBULL_SHAPE_BOUNDS` (perfectly periodic hits push :math:`b` to the
    upper bound) with :math:`\sum D_i^b` evaluated as a log-sum-exp.

    **Size.** The continuous distributions approximate integer durations. With hit rates of a
    few percent and long samples the rounding pushes :math:`\hat b` above 1 and the test
    over-rejects (in our simulations of iid hits at 5 %, T = 5000: 28 % rejections at the 5 %
    level); at a 1 % hit rate the size is close to nominal. Prefer it for 99 % VaR.
    """
    h = _hits_input(hits).to_numpy()
    n = h.size
    require_obs(n, "duration_test")
    times = np.flatnonzero(h) + 1  # 1-based days of the hits
    if times.size < 2:
        raise InsufficientDataError(
            f"duration_test needs at least 2 hits for one complete duration (got {times.size} "
            f"in {n} forecasts). Backtest over a longer window."
        )
    durations = [np.diff(times).astype(float)]
    censored = [np.zeros(times.size - 1, dtype=bool)]
    if not h[0]:
        durations.insert(0, np.array([float(times[0])]))
        censored.insert(0, np.array([True]))
    if not h[-1]:
        durations.append(np.array([float(n - times[-1])]))
        censored.append(np.array([True]))
    d = np.concatenate(durations)
    c = np.concatenate(censored)
    log_d = np.log(d)
    n_unc = int((~c).sum())
    sum_log_unc = float(log_d[~c].sum())

    def negative(log_b: float) -> float:
        return -_weibull_profile_loglik(math.exp(log_b), log_d, n_unc, sum_log_unc)

    lo, hi = (math.log(v) for v in WEIBULL_SHAPE_BOUNDS)
    opt = optimize.minimize_scalar(
        negative, bounds=(lo, hi), method="bounded", options={"xatol": 1e-10}
    )
    ll_exp = _weibull_profile_loglik(1.0, log_d, n_unc, sum_log_unc)
    b_hat, ll_weib = math.exp(opt.x), -float(opt.fun)
    if ll_weib < ll_exp:  # the optimizer stopped a hair short of b = 1
        b_hat, ll_weib = 1.0, ll_exp
    lr = 2.0 * (ll_weib - ll_exp)
    a_hat = math.exp((math.log(n_unc) - float(logsumexp(b_hat * log_d))) / b_hat)
    return TestResult(
        name="Christoffersen-Pelletier duration",
        statistic=lr,
        pvalue=stats.chi2.sf(lr, 1),
        null="durations between hits are memoryless (exponential: Weibull shape b = 1)",
        alternative="Weibull shape b != 1 (b < 1: hits cluster)",
        dist_name="chi2(1)",
        df=1,
        extra={
            "nobs": n,
            "hits": int(times.size),
            "durations": int(d.size),
            "censored": int(c.sum()),
            "shape_b": b_hat,
            "scale_a": a_hat,
            "loglik_weibull": ll_weib,
            "loglik_exponential": ll_exp,
        },
    )


def traffic_light(hits: pd.Series | np.ndarray, alpha: float = 0.99) -> TrafficLightResult:
    r"""Basel traffic light: zone, plus-factor and binomial probabilities of the exceptions.

    Parameters
    ----------
    hits : pandas.Series or array-like of bool, shape (n_dates,)
        True where the loss exceeded the VaR.
    alpha : float, default 0.99
        VaR confidence level in (0, 1).

    Returns
    -------
    TrafficLightResult
        ``zone``, ``exceptions`` (also ``statistic``), ``cumulative_probability``
        (:math:`P[X \le x]`), ``pvalue`` (:math:`P[X \ge x]`), ``plus_factor`` and
        ``multiplier`` (250 days at 99 % only), and the thresholds ``yellow_from`` and
        ``red_from``; ``table()`` lists every count.

    Raises
    ------
    ConfigError
        ``alpha`` outside (0, 1).
    DataError
        Non-boolean or missing hits.
    InsufficientDataError
        Fewer than :data:`MIN_OBS` forecasts.

    Notes
    -----
    Under a correct model the number of exceptions is :math:`X \sim
    \mathrm{Binomial}(T, 1-\alpha)`. BCBS (1996) sets the zones by the cumulative probability
    :math:`P[X \le x]`: the yellow zone starts at the smallest count whose cumulative
    probability is at least 95 %, the red zone at the smallest count whose cumulative
    probability is at least 99.99 %. For :math:`T = 250` and :math:`\alpha = 0.99` this gives
    the Committee's Table 2: green 0-4 exceptions, yellow 5-9, red 10 or more, with
    plus-factors 0.40, 0.50, 0.65, 0.75, 0.85 for 5-9 exceptions and 1.00 in the red zone,
    added to the base multiplier 3. The same construction gives the zones for any :math:`T`
    and :math:`\alpha`; the plus-factors are only defined for the 250-day, 99 % case and are
    None otherwise.
    """
    h = _hits_input(hits).to_numpy()
    return traffic_light_from_counts(int(h.sum()), h.size, alpha=alpha)


def traffic_light_from_counts(
    exceptions: int, nobs: int, *, alpha: float = 0.99
) -> TrafficLightResult:
    r"""Basel traffic light from the number of exceptions in ``nobs`` forecasts.

    The zone depends on the count only (:func:`traffic_light`, Notes), so a count from a
    table (e.g. breaches of a calibrated rate on a held-back period) needs no hit series.
    ``traffic_light(hits, alpha)`` is ``traffic_light_from_counts(hits.sum(), len(hits),
    alpha=alpha)``.

    Parameters
    ----------
    exceptions : int
        Number of exceptions, ``0 <= exceptions <= nobs``.
    nobs : int
        Number of forecasts (at least :data:`MIN_OBS`).
    alpha : float, default 0.99
        VaR confidence level in (0, 1).

    Returns
    -------
    TrafficLightResult

    Raises
    ------
    ConfigError
        ``alpha`` outside (0, 1), or counts that are not integers with
        ``0 <= exceptions <= nobs``.
    InsufficientDataError
        ``nobs`` below :data:`MIN_OBS`.

    Examples
    --------
    >>> traffic_light_from_counts(5, 250).zone   # BCBS (1996) Table 2: 5 exceptions
    'yellow'
    """
    a = check_alpha(alpha)
    for name, value in (("exceptions", exceptions), ("nobs", nobs)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer):
            raise ConfigError(f"{name} must be an integer count (got {value!r}).")
    n, x = int(nobs), int(exceptions)
    if not 0 <= x <= n:
        raise ConfigError(f"exceptions must be between 0 and nobs (got exceptions={x}, nobs={n}).")
    require_obs(n, "traffic_light")
    p = 1.0 - a
    cdf = stats.binom.cdf(np.arange(n + 1), n, p)
    yellow_from = int(np.argmax(cdf >= TrafficLightResult.YELLOW_CUTOFF))
    red_from = int(np.argmax(cdf >= TrafficLightResult.RED_CUTOFF))
    zone: Literal["green", "yellow", "red"] = (
        "red" if x >= red_from else "yellow" if x >= yellow_from else "green"
    )
    plus: float | None = None
    mult: float | None = None
    if n == 250 and math.isclose(a, 0.99, rel_tol=0.0, abs_tol=1e-12):
        plus = BASEL_PLUS_FACTORS.get(x, BASEL_RED_PLUS_FACTOR)
        mult = BASEL_BASE_MULTIPLIER + plus
    return TrafficLightResult(
        zone=zone,
        exceptions=x,
        nobs=n,
        alpha=a,
        expected=n * p,
        cumulative_probability=float(cdf[x]),
        pvalue=float(stats.binom.sf(x - 1, n, p)),
        plus_factor=plus,
        multiplier=mult,
        yellow_from=yellow_from,
        red_from=red_from,
    )
