r"""Comparative backtests: Diebold-Mariano for two models, the model confidence set for many.

Both take per-date losses of the models on the same dates (lower is better), e.g. the FZ0 loss
from :func:`~riskmodels.backtest.fz_loss` for (VaR, ES) forecasts or a quantile (tick) loss for
VaR alone.

References
----------
Diebold, F. X. and Mariano, R. S. (1995). Comparing predictive accuracy. Journal of Business &
Economic Statistics 13, 253-263.

Harvey, D., Leybourne, S. and Newbold, P. (1997). Testing the equality of prediction mean
squared errors. International Journal of Forecasting 13, 281-291.

Newey, W. K. and West, K. D. (1987). A simple, positive semi-definite, heteroskedasticity and
autocorrelation consistent covariance matrix. Econometrica 55, 703-708.

Hansen, P. R., Lunde, A. and Nason, J. M. (2011). The model confidence set. Econometrica 79,
453-497.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Literal

import numpy as np
import pandas as pd
from arch.bootstrap import MCS
from scipy import stats

from riskmodels._random import as_generator
from riskmodels._typing import SeedLike
from riskmodels.backtest.coverage import (
    align,
    as_float,
    check_count,
    require_obs,
)
from riskmodels.backtest.results import MCSResult, TestResult
from riskmodels.exceptions import ConfigError, DataError

__all__ = ["default_hac_lags", "diebold_mariano", "model_confidence_set", "newey_west_variance"]


def default_hac_lags(nobs: int) -> int:
    r"""Default Newey-West truncation lag :math:`\lfloor T^{1/3} \rfloor`."""
    lag = round(nobs ** (1.0 / 3.0))
    while lag**3 > nobs:  # integer-exact: 1000 ** (1 / 3) is 9.999999999999998 in floats
        lag -= 1
    while (lag + 1) ** 3 <= nobs:
        lag += 1
    return lag


def newey_west_variance(x: np.ndarray, lags: int) -> float:
    r"""Newey-West (Bartlett kernel) long-run variance of a series.

    .. math::

        \hat S = \hat\gamma_0 + 2\sum_{j=1}^{L}\Big(1 - \frac{j}{L+1}\Big)\hat\gamma_j,
        \qquad \hat\gamma_j = \frac{1}{T}\sum_{t=j+1}^{T}(x_t - \bar x)(x_{t-j} - \bar x).

    Autocovariances are divided by :math:`T` (no small-sample correction), as in
    ``statsmodels.stats.sandwich_covariance.S_hac_simple``.
    """
    x = np.asarray(x, dtype=float)
    n = x.size
    u = x - x.mean()
    s = float(u @ u) / n
    for j in range(1, lags + 1):
        s += 2.0 * (1.0 - j / (lags + 1.0)) * float(u[j:] @ u[:-j]) / n
    return s


def diebold_mariano(
    loss_a: pd.Series | np.ndarray,
    loss_b: pd.Series | np.ndarray,
    *,
    lags: int | None = None,
    alternative: Literal["two-sided", "less", "greater"] = "two-sided",
    hln: bool = False,
    horizon: int = 1,
) -> TestResult:
    r"""Diebold-Mariano test of equal expected loss of two forecasts, with a HAC variance.

    Parameters
    ----------
    loss_a, loss_b : pandas.Series or array-like of shape (n_dates,)
        Per-date losses of models A and B on the same dates (lower is better).
    lags : int, optional
        Newey-West truncation lag :math:`L`. Default :math:`\lfloor T^{1/3} \rfloor`
        (:func:`default_hac_lags`), which grows with the sample as HAC consistency requires.
    alternative : {"two-sided", "less", "greater"}, default "two-sided"
        ``"less"``: A has lower expected loss than B; ``"greater"``: A has higher.
    hln : bool, default False
        Apply the Harvey, Leybourne and Newbold (1997) small-sample correction and use
        Student-t(T - 1) critical values.
    horizon : int, default 1
        Forecast horizon :math:`h` in the HLN correction.

    Returns
    -------
    TestResult
        ``statistic`` = DM (or HLN-corrected DM), ``pvalue`` from N(0, 1) (or t(T - 1)).
        ``extra``: ``nobs``, ``mean_diff`` (mean of A - B), ``lrv`` (long-run variance),
        ``lags``, ``mean_loss_a``, ``mean_loss_b``.

    Raises
    ------
    ConfigError
        Bad ``lags``, ``alternative`` or ``horizon``.
    DataError
        Misaligned inputs, NaN or infinite values, or a loss differential with zero variance
        (identical forecasts, or one better by the same amount every day).
    InsufficientDataError
        Fewer than :data:`~riskmodels.backtest.coverage.MIN_OBS` dates.

    Notes
    -----
    With :math:`d_t = \ell^A_t - \ell^B_t` and :math:`\hat S` the Newey-West long-run variance
    of :math:`d_t` (Bartlett weights, :func:`newey_west_variance`),

    .. math::

        DM = \frac{\bar d}{\sqrt{\hat S / T}} \sim N(0, 1)

    under :math:`H_0: E[d_t] = 0` (Diebold and Mariano 1995). This is the t-statistic of the
    constant in an OLS regression of :math:`d_t` on a constant with a Newey-West
    (``cov_type="HAC"``) covariance. The HLN correction multiplies it by
    :math:`\sqrt{(T + 1 - 2h + h(h-1)/T)/T}` and compares with :math:`t(T-1)` (Harvey,
    Leybourne and Newbold 1997).
    """
    if alternative not in ("two-sided", "less", "greater"):
        raise ConfigError(
            f"alternative must be 'two-sided', 'less' or 'greater' (got {alternative!r})."
        )
    horizon = check_count(horizon, "horizon", 1, "Use 1 for one-step-ahead forecasts.")
    d = align({"loss_a": loss_a, "loss_b": loss_b})
    la = as_float(d["loss_a"], "loss_a")
    lb = as_float(d["loss_b"], "loss_b")
    n = la.size
    require_obs(n, "diebold_mariano")
    if lags is None:
        lags = default_hac_lags(n)
    lags = check_count(
        lags, "lags", 0, f"The default is floor(T ** (1/3)) = {default_hac_lags(n)}."
    )
    if lags >= n:
        raise ConfigError(f"lags must be below the number of dates {n} (got {lags}).")
    diff = la - lb
    lrv = newey_west_variance(diff, lags)
    if not lrv > 0.0:
        raise DataError(
            "the loss differential loss_a - loss_b has zero variance (identical losses, or one "
            "model better by the same amount every date); the DM statistic is undefined."
        )
    mean = float(diff.mean())
    dm = mean / math.sqrt(lrv / n)
    if hln:
        h = horizon
        dm *= math.sqrt((n + 1 - 2 * h + h * (h - 1) / n) / n)
        dist = stats.t(n - 1)
        dist_name, df = f"t({n - 1})", float(n - 1)
    else:
        dist = stats.norm()
        dist_name, df = "N(0, 1)", None
    if alternative == "two-sided":
        pvalue = 2.0 * float(dist.sf(abs(dm)))
        alt = "the expected losses differ"
    elif alternative == "less":
        pvalue = float(dist.cdf(dm))
        alt = "model A has lower expected loss than model B"
    else:
        pvalue = float(dist.sf(dm))
        alt = "model A has higher expected loss than model B"
    return TestResult(
        name="Diebold-Mariano" + (" (HLN)" if hln else ""),
        statistic=dm,
        pvalue=pvalue,
        null="models A and B have equal expected loss",
        alternative=alt,
        dist_name=dist_name,
        df=df,
        extra={
            "nobs": n,
            "mean_diff": mean,
            "lrv": lrv,
            "lags": lags,
            "mean_loss_a": float(la.mean()),
            "mean_loss_b": float(lb.mean()),
        },
    )


def model_confidence_set(
    losses: pd.DataFrame | Mapping[str, pd.Series | np.ndarray],
    *,
    size: float = 0.10,
    reps: int = 1000,
    block_size: int | None = None,
    method: Literal["R", "max"] = "R",
    bootstrap: Literal["stationary", "circular", "moving block"] = "stationary",
    rng: SeedLike = None,
) -> MCSResult:
    r"""Model confidence set of Hansen, Lunde and Nason (2011) via ``arch.bootstrap.MCS``.

    Parameters
    ----------
    losses : pandas.DataFrame or mapping of name to Series
        Per-date losses, one column per model (at least 2), same dates (lower is better).
    size : float, default 0.10
        Test size; the set contains the best models with probability ``1 - size``
        asymptotically (HLN 2011 report 75 % and 90 % sets).
    reps : int, default 1000
        Bootstrap replications.
    block_size : int, optional
        Bootstrap block length; default :math:`\lfloor\sqrt{T}\rfloor` (arch's default).
    method : {"R", "max"}, default "R"
        Elimination statistic: ``"R"`` (range, :math:`T_R`) or ``"max"`` (:math:`T_{max}`).
    bootstrap : {"stationary", "circular", "moving block"}, default "stationary"
        Block bootstrap scheme.
    rng : numpy.random.Generator or int, optional
        Generator or seed for the bootstrap (:func:`riskmodels._random.as_generator`): pass an
        int seed for a set that is a function of the inputs; None draws fresh entropy.

    Returns
    -------
    MCSResult
        ``included``, ``excluded`` (elimination order), ``pvalues`` (MCS p-value per model),
        ``mean_loss`` and the settings used; ``name in result`` tests membership.

    Raises
    ------
    ConfigError
        Fewer than 2 models, or bad ``size``, ``reps``, ``block_size``, ``method``,
        ``bootstrap``, ``rng``.
    DataError
        Misaligned inputs, NaN or infinite losses.
    InsufficientDataError
        Fewer than :data:`~riskmodels.backtest.coverage.MIN_OBS` dates.
    """
    if isinstance(losses, pd.DataFrame):
        cols = {str(c): losses[c] for c in losses.columns}
        if len(cols) != losses.shape[1]:
            raise ConfigError("losses has duplicated column names; give every model a name.")
    elif isinstance(losses, Mapping):
        cols = {str(k): v for k, v in losses.items()}
    else:
        raise ConfigError(
            f"losses must be a DataFrame (one column per model) or a mapping of model name to "
            f"losses (got {type(losses).__name__})."
        )
    if len(cols) < 2:
        raise ConfigError(f"losses must hold at least 2 models to compare (got {len(cols)}).")
    if not (isinstance(size, (int, float)) and not isinstance(size, bool) and 0 < size < 1):
        raise ConfigError(f"size must be in (0, 1) (got {size!r}); 0.10 gives a 90% set.")
    reps = check_count(reps, "reps", 1, "1000 is usual.")
    if method not in ("R", "max"):
        raise ConfigError(f"method must be 'R' or 'max' (got {method!r}).")
    if bootstrap not in ("stationary", "circular", "moving block"):
        raise ConfigError(
            f"bootstrap must be 'stationary', 'circular' or 'moving block' (got {bootstrap!r})."
        )
    d = align(cols)
    index = next(iter(d.values())).index
    frame = pd.DataFrame({name: as_float(s, name) for name, s in d.items()}, index=index)
    n = frame.shape[0]
    require_obs(n, "model_confidence_set")
    if block_size is None:
        block_size = max(1, int(np.sqrt(n)))
    block_size = check_count(block_size, "block_size", 1, "sqrt(T) is the default.")
    if block_size > n:
        raise ConfigError(f"block_size must be at most the number of dates {n} (got {block_size}).")
    g = as_generator(rng)
    mcs = MCS(
        frame,
        size=float(size),
        reps=reps,
        block_size=block_size,
        method=method,
        bootstrap=bootstrap,
        seed=g,
    )
    mcs.compute()
    pv = mcs.pvalues["Pvalue"].astype(float)
    pv.index = [str(i) for i in pv.index]
    pv.index.name = "model"
    pv.name = "pvalue"
    included = tuple(str(m) for m in mcs.included)
    excluded = tuple(str(m) for m in mcs.excluded)
    order = {m: i for i, m in enumerate(pv.index)}
    excluded = tuple(sorted(excluded, key=lambda m: order[m]))
    return MCSResult(
        included=tuple(m for m in frame.columns if m in included),
        excluded=excluded,
        pvalues=pv,
        size=float(size),
        method=method,
        bootstrap=bootstrap,
        block_size=block_size,
        reps=reps,
        mean_loss=frame.mean().rename("mean_loss"),
    )
