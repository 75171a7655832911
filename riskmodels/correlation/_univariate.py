"""The univariate stage as the correlation models consume it (``riskmodels.volatility``)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from riskmodels.exceptions import ConfigError, ModelError

__all__ = ["resolve_univariate", "univariate_llt"]

_LOG_PCT = float(np.log(100.0))


def resolve_univariate(univariate: object) -> Any:
    """The volatility spec to fit (None: the data are standardized residuals already).

    ``"garch"`` is ``riskmodels.volatility.GARCH()`` (GARCH(1,1), normal, the volatility
    module's default mean).
    """
    if univariate is None:
        return None
    from riskmodels.volatility import GARCH, VolatilitySpec

    if isinstance(univariate, str):
        if univariate.lower() == "garch":
            return GARCH()
        raise ConfigError(
            f"univariate must be a volatility spec such as GARCH(dist='t'), the string "
            f"'garch', or None for standardized residuals (got {univariate!r})."
        )
    if not isinstance(univariate, VolatilitySpec):
        raise ConfigError(
            "univariate must be a riskmodels.volatility spec (GARCH, GJR, EGARCH, EWMA), "
            f"'garch', or None for standardized residuals (got {type(univariate).__name__})."
        )
    return univariate


def univariate_llt(vres: Any) -> pd.Series:
    """Per-date log-likelihood of the decimal returns of one fitted volatility model.

    Uses arch's own distribution (``arch_result.model.distribution``) on the percent-scaled
    residuals and variances and adds the Jacobian ``log(100)`` per date, so that the sum equals
    ``VolatilityResult.loglikelihood``.
    """
    resid = vres.resid.to_numpy() * 100.0
    sigma2 = (vres.conditional_volatility.to_numpy() * 100.0) ** 2
    # a filtered result (VolatilitySpec.filter) has the model's distribution without building
    # arch_result (arch's model.fix); the same distribution class and parameters
    dist = getattr(vres, "arch_distribution", None)
    if dist is None:
        arch_res = getattr(vres, "arch_result", None)
        dist = None if arch_res is None else arch_res.model.distribution
    if dist is not None:
        k = int(dist.num_params)
        dp = np.asarray(vres.params.to_numpy()[len(vres.params) - k :], dtype=float)
        llt = np.asarray(dist.loglikelihood(dp, resid, sigma2, individual=True), dtype=float)
    elif getattr(vres.spec, "dist", None) == "normal":
        llt = -0.5 * (np.log(2 * np.pi) + np.log(sigma2) + resid**2 / sigma2)
    else:  # pragma: no cover - every VolatilityResult carries arch_result
        raise ModelError(
            f"cannot evaluate the per-date log-likelihood of {type(vres).__name__} for "
            f"{getattr(vres, 'asset', '?')!r}: it has no arch_result."
        )
    return pd.Series(llt + _LOG_PCT, index=vres.resid.index)
