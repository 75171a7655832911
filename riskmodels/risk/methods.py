r"""One call for VaR and ES of a P&L sample by a named method, with the definition attached.

:func:`estimate` fits the method's parameters to the sample (moments, a Student-t MLE or a GPD
tail) and returns a :class:`RiskEstimate` that records the numbers, the method, the definition
used and the fitted parameters, so that tables comparing methods carry their provenance.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal, get_args

import numpy as np
import numpy.typing as npt
from scipy import stats

from riskmodels._display import fmt_number, html_table
from riskmodels._frozen import FrozenDict
from riskmodels._validation import (
    as_float_array,
    check_alpha,
    nonfinite_error,
    require_observations,
)
from riskmodels.exceptions import ConfigError, ModelError
from riskmodels.risk.empirical import var_es
from riskmodels.risk.evt import DEFAULT_TAIL_FRACTION, es_evt, fit_gpd_tail, var_evt
from riskmodels.risk.parametric import (
    es_cornish_fisher,
    es_normal,
    es_t,
    sample_moments,
    var_cornish_fisher,
    var_normal,
    var_t,
)

__all__ = ["Method", "RiskEstimate", "estimate"]

Method = Literal["historical", "normal", "t", "cornish_fisher", "evt"]

DEFINITIONS: Mapping[str, str] = MappingProxyType(
    {
        "historical": (
            "VaR = inf{l : F_L(l) >= alpha} of the (weighted) empirical loss distribution; "
            "ES = VaR + E[(L - VaR)+] / (1 - alpha) (Acerbi & Tasche 2002)."
        ),
        "normal": (
            "P&L ~ N(mean, std^2) with (weighted) sample moments; VaR = -mean + std z_alpha, "
            "ES = -mean + std phi(z_alpha) / (1 - alpha)."
        ),
        "t": (
            "P&L ~ loc + scale t_nu fitted by maximum likelihood (scipy.stats.t.fit); "
            "closed-form t VaR and ES (McNeil, Frey & Embrechts 2005, Example 2.15)."
        ),
        "cornish_fisher": (
            "4-moment Cornish-Fisher quantile from the (weighted) sample mean, std, skewness and "
            "excess kurtosis; ES = the CF quantile integrated over the tail."
        ),
        "evt": (
            "Unconditional peaks over threshold: GPD fitted by MLE to the largest losses of the "
            "sample standardized by its mean and std (tail_fraction of the sample); VaR and ES "
            "from the GPD tail estimator (McNeil & Frey 2000, Eqs. 9-10)."
        ),
    }
)


@dataclass(frozen=True, kw_only=True)
class RiskEstimate:
    """VaR and ES of one sample by one method, with the definition and fitted parameters.

    Attributes
    ----------
    var, es : float
        Value-at-Risk and Expected Shortfall, positive losses in the units of the P&L.
    alpha : float
        Confidence level (0.99 = 1% loss tail).
    method : str
        One of ``"historical"``, ``"normal"``, ``"t"``, ``"cornish_fisher"``, ``"evt"``.
    definition : str
        The definition used, in one sentence.
    n : int
        Number of observations.
    params : Mapping of str to float
        Fitted parameters (e.g. ``mean``, ``std``, ``nu``, ``xi``); empty for ``historical``.
    """

    var: float
    es: float
    alpha: float
    method: str
    definition: str
    n: int
    params: Mapping[str, float] = field(default_factory=dict)

    def __str__(self) -> str:
        pars = ", ".join(f"{k}={v:.6g}" for k, v in self.params.items())
        return (
            f"{self.method} VaR/ES at alpha={self.alpha:g} (n={self.n}): "
            f"VaR={self.var:.6g}, ES={self.es:.6g}" + (f" [{pars}]" if pars else "")
        )

    def _repr_html_(self) -> str:
        rows = [
            ("method", self.method),
            ("alpha", f"{self.alpha:g}"),
            ("VaR", fmt_number(self.var, 6)),
            ("ES", fmt_number(self.es, 6)),
            ("n", str(self.n)),
            *((k, fmt_number(v, 6)) for k, v in self.params.items()),
            ("definition", self.definition),
        ]
        return html_table(rows)


def estimate(
    pnl: npt.ArrayLike,
    alpha: float,
    *,
    method: Method = "historical",
    weights: npt.ArrayLike | None = None,
    tail_fraction: float = DEFAULT_TAIL_FRACTION,
) -> RiskEstimate:
    """VaR and ES of a 1-D P&L sample by a named method.

    Parameters
    ----------
    pnl : array-like of shape (n,)
        P&L observations (positive = gain).
    alpha : float
        Confidence level in (0, 1).
    method : {"historical", "normal", "t", "cornish_fisher", "evt"}, default "historical"
        ``historical``: :func:`~riskmodels.risk.var_es`. ``normal`` / ``cornish_fisher``:
        closed forms at the (weighted) sample moments. ``t``: closed forms at the Student-t
        MLE (``scipy.stats.t.fit``; unweighted). ``evt``: unconditional peaks over threshold on
        the sample standardized by its mean and standard deviation (unweighted); for the
        conditional McNeil-Frey method fit :func:`~riskmodels.risk.fit_gpd_tail` to volatility
        model residuals instead.
    weights : array-like of shape (n,), optional
        Scenario weights (``historical``, ``normal``, ``cornish_fisher`` only).
    tail_fraction : float, default 0.10
        Share of the sample in the GPD tail (``evt`` only).

    Returns
    -------
    RiskEstimate

    Raises
    ------
    ConfigError
        Unknown ``method``, weights with ``t`` or ``evt``, invalid ``alpha`` or weights,
        ``pnl`` not 1-D.
    DataError
        NaN or inf in ``pnl``.
    InsufficientDataError
        Fewer than ``ceil(1 / (1 - alpha))`` observations, or too few GPD exceedances.
    ModelError
        A fitted model without finite ES (t with nu <= 1, GPD with xi >= 1) or a non-monotone
        Cornish-Fisher expansion.
    """
    alpha = check_alpha(alpha)
    if method not in get_args(Method):
        raise ConfigError(
            f"method must be one of {', '.join(map(repr, get_args(Method)))} (got {method!r})."
        )
    x = as_float_array(pnl, "pnl")
    if x.ndim != 1:
        raise ConfigError(
            f"estimate takes a 1-D P&L sample (got shape {x.shape}); use var/es with axis= for "
            "2-D arrays."
        )
    if not np.isfinite(x).all():
        raise nonfinite_error(x, "pnl")
    if weights is not None and method in ("t", "evt"):
        raise ConfigError(
            f"method={method!r} does not take weights (its fit is unweighted). Use "
            "'historical', 'normal' or 'cornish_fisher' for weighted scenarios."
        )
    n = int(x.size)
    params: dict[str, float] = {}
    if method == "historical":
        v, e = var_es(x, alpha, weights)
    else:
        require_observations(n, alpha)
        if method == "t":
            nu, loc, scale = (float(p) for p in stats.t.fit(x))
            params = {"nu": nu, "loc": loc, "scale": scale}
            if nu <= 1.0:
                raise ModelError(
                    f"the fitted Student-t has nu={nu:.3g} <= 1: its ES is infinite. Use the "
                    "historical or EVT method for such heavy tails."
                )
            v = var_t(loc, scale, nu, alpha, standardized=False)
            e = es_t(loc, scale, nu, alpha, standardized=False)
        else:
            m = sample_moments(x, weights)
            params = {"mean": m.mean, "std": m.std}
            if method == "normal":
                v, e = var_normal(m.mean, m.std, alpha), es_normal(m.mean, m.std, alpha)
            elif method == "cornish_fisher":
                params |= {"skew": m.skew, "excess_kurtosis": m.excess_kurtosis}
                v = var_cornish_fisher(m.mean, m.std, m.skew, m.excess_kurtosis, alpha)
                e = es_cornish_fisher(m.mean, m.std, m.skew, m.excess_kurtosis, alpha)
            else:  # evt
                fit = fit_gpd_tail((x - m.mean) / m.std, tail_fraction=tail_fraction)
                params |= {"xi": fit.xi, "beta": fit.beta, "threshold": fit.threshold}
                v = var_evt(fit, alpha, mu=m.mean, sigma=m.std)
                e = es_evt(fit, alpha, mu=m.mean, sigma=m.std)
    return RiskEstimate(
        var=float(v),
        es=float(e),
        alpha=alpha,
        method=method,
        definition=DEFINITIONS[method],
        n=n,
        params=FrozenDict(params),
    )
