r"""Conditional correlation models: EWMA, CCC and DCC (Engle 2002) with its corrected (cDCC,
Aielli 2013) and asymmetric (ADCC, Cappiello, Engle and Sheppard 2006) variants.

All three are two-step models: a univariate volatility model per asset (``univariate``, from
:mod:`riskmodels.volatility`) gives standardized residuals ``z_t``; the correlation stage
models ``R_t = Corr_{t-1}(z_t)``. ``H_t = D_t R_t D_t`` with ``D_t = diag(sigma_t)``.
"""

from __future__ import annotations

from dataclasses import KW_ONLY, dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from riskmodels._deprecation import keyword_options
from riskmodels._threads import blas_threads
from riskmodels.correlation._data import (
    check_panel,
    common_sample,
    make_target,
    min_obs_for,
    resolve_volatility,
)
from riskmodels.correlation._kernels import resolve_backend
from riskmodels.correlation._likelihood import Problem, estimate
from riskmodels.correlation._univariate import resolve_univariate, univariate_llt
from riskmodels.correlation.results import CorrelationResult, DCCResult
from riskmodels.exceptions import ConfigError, DataError

__all__ = ["CCC", "DCC", "EWMACorrelation"]

#: BLAS threads while fitting (TOOLCHAIN.md: threads change estimates on flat likelihoods).
BLAS_THREADS = 1

_KIND_NAMES = {"dcc": "DCC", "cdcc": "cDCC", "adcc": "ADCC"}
_ASYMMETRY = {
    "uncentred": "uncentred",
    "uncentered": "uncentred",
    "centred": "centred",
    "centered": "centred",
}


# ---------------------------------------------------------------------------------------------
# Stage one: the common sample and the standardized residuals
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _StageOne:
    assets: list[str]
    returns: pd.DataFrame | None  # common sample (None for standardized input)
    z: pd.DataFrame  # common sample
    z_full: pd.DataFrame  # each asset's own history (pairwise targets)
    sigma: pd.DataFrame | None
    volatility: dict[str, Any] | None
    ll_volatility: float


def _stage_one(
    univariate: Any,
    returns: object,
    volatility: object,
    *,
    model: str,
    n_params: int,
    fit_full_histories: bool,
    n_jobs: int = 1,
) -> _StageOne:
    panel = check_panel(returns, what="returns" if univariate is not None else "std_resid")
    panel.columns = [str(c) for c in panel.columns]
    assets = list(panel.columns)
    sample = common_sample(panel, min_obs=min_obs_for(len(assets), n_params), model=model)
    if univariate is None and volatility is None:
        rms = np.sqrt((sample**2).mean())
        odd = [f"{a} ({v:.3g})" for a, v in rms.items() if not 0.2 <= v <= 5.0]
        if odd:
            raise DataError(
                f"{model} with univariate=None expects standardized residuals (root mean "
                f"square near 1), but {odd} are far from 1: these look like raw returns. "
                "Pass univariate=GARCH() (or 'garch') to fit the volatility stage first."
            )
        z = sample
        ll_vol = float(-0.5 * (np.log(2 * np.pi) * z.size + (z.to_numpy() ** 2).sum()))
        return _StageOne(assets, None, z, panel, None, None, ll_vol)
    if volatility is None:
        from riskmodels.volatility import fit_panel

        spec = resolve_univariate(univariate)
        vols = fit_panel(panel if fit_full_histories else sample, spec, n_jobs=n_jobs).results
        vols = {a: vols[a] for a in assets}
    else:
        vols = resolve_volatility(volatility, assets)
    z_full = pd.DataFrame({a: vols[a].std_resid for a in assets})
    z = z_full.reindex(sample.index)
    if z.isna().to_numpy().any():
        bad = [a for a in assets if z[a].isna().any()]
        raise DataError(
            f"{model}: the univariate results for {bad} do not cover the common sample "
            f"{sample.index[0]} to {sample.index[-1]}. Fit them on (at least) that sample."
        )
    sigma = pd.DataFrame({a: vols[a].conditional_volatility for a in assets}).reindex(sample.index)
    ll_vol = float(sum(univariate_llt(vols[a]).reindex(sample.index).sum() for a in assets))
    return _StageOne(assets, sample, z, z_full, sigma, vols, ll_vol)


def _check_backend(backend: object) -> None:
    if backend not in ("auto", "numba", "numpy"):
        raise ConfigError(f"backend must be 'auto', 'numba' or 'numpy' (got {backend!r}).")


def _frame(S: np.ndarray, assets: list[str]) -> pd.DataFrame:
    return pd.DataFrame(S, index=assets, columns=assets)


# ---------------------------------------------------------------------------------------------
# EWMA and CCC
# ---------------------------------------------------------------------------------------------


@keyword_options
@dataclass(frozen=True)
class EWMACorrelation:
    r"""Exponentially weighted correlation of the standardized residuals (RiskMetrics-style).

    Parameters
    ----------
    lam : float, default 0.94
        Decay in (0, 1).
    univariate : volatility spec, "garch" or None, default "garch"
        The univariate stage (see :class:`DCC`).
    backend : {"auto", "numba", "numpy"}

    Notes
    -----
    .. math::

        Q_t = (1 - \lambda) z_{t-1} z_{t-1}' + \lambda Q_{t-1}, \qquad
        R_t = \operatorname{diag}(Q_t)^{-1/2} Q_t \operatorname{diag}(Q_t)^{-1/2},

    started at the sample second moment ``Q_0 = z'z / T``: an integrated DCC with
    ``a = 1 - lam``, ``b = lam`` and no intercept (RiskMetrics Technical Document, 1996,
    Section 5.3, applied to ``z`` instead of raw returns). Forecasts are flat.
    """

    lam: float = 0.94
    _: KW_ONLY
    univariate: Any = "garch"
    backend: str = "auto"

    def __post_init__(self) -> None:
        lam = self.lam
        if isinstance(lam, bool) or not isinstance(lam, int | float) or not 0.0 < lam < 1.0:
            raise ConfigError(
                f"lam must be in (0, 1) (got {lam!r}). RiskMetrics uses 0.94 for daily data."
            )
        _check_backend(self.backend)

    def fit(self, returns: pd.DataFrame, *, volatility: Any = None) -> CorrelationResult:
        """Filter the EWMA correlations.

        Parameters
        ----------
        returns : DataFrame of shape (n_observations, n_assets)
            Decimal log returns (standardized residuals with ``univariate=None``).
        volatility : PanelVolatilityResult or mapping, optional
            Univariate results to use instead of fitting ``univariate``.
        """
        with blas_threads(limits=BLAS_THREADS):
            s1 = _stage_one(
                self.univariate,
                returns,
                volatility,
                model="EWMA",
                n_params=1,
                fit_full_histories=False,
            )
            zt = s1.z.to_numpy()
            Qbar = zt.T @ zt / zt.shape[0]
            pb = Problem(zt, "ewma", "full", Qbar, backend=self.backend, lam=float(self.lam))
            return _build(
                CorrelationResult,
                "EWMA",
                self,
                s1,
                pb,
                np.empty(0),
                params=pd.Series({"lam": float(self.lam)}, dtype=float),
                estimated=False,
            )


@keyword_options
@dataclass(frozen=True)
class CCC:
    r"""Constant conditional correlation (Bollerslev 1990).

    Parameters
    ----------
    univariate : volatility spec, "garch" or None, default "garch"
    target : {"sample", "pairwise"} or array-like, default "sample"
        The correlation estimate (see :class:`DCC`).
    repair : {None, "nearest", "clip"}
        Repair of a non-positive-definite target (see :class:`DCC`).
    backend : {"auto", "numba", "numpy"}

    Notes
    -----
    ``R_t = R = diag(Qbar)^{-1/2} Qbar diag(Qbar)^{-1/2}``, ``Qbar = z'z / T``: the Gaussian
    QML estimate of a constant correlation given the standardized residuals.
    """

    univariate: Any = "garch"
    _: KW_ONLY
    target: Any = "sample"
    repair: str | None = None
    backend: str = "auto"

    def __post_init__(self) -> None:
        _check_target_repair(self.target, self.repair)
        _check_backend(self.backend)

    def fit(self, returns: pd.DataFrame, *, volatility: Any = None) -> CorrelationResult:
        """Estimate the constant correlation (arguments as :meth:`EWMACorrelation.fit`)."""
        with blas_threads(limits=BLAS_THREADS):
            s1 = _stage_one(
                self.univariate,
                returns,
                volatility,
                model="CCC",
                n_params=1,
                fit_full_histories=isinstance(self.target, str) and self.target == "pairwise",
            )
            zt = s1.z.to_numpy()
            Qbar, rep, label = make_target(
                self.target, zt, s1.assets, repair=self.repair, z_full=s1.z_full
            )
            pb = Problem(zt, "ccc", "full", Qbar, backend=self.backend)
            return _build(
                CorrelationResult,
                "CCC",
                self,
                s1,
                pb,
                np.empty(0),
                params=pd.Series(dtype=float),
                estimated=True,
                target_repair=rep,
                target_source=label,
            )


def _check_target_repair(target: object, repair: object) -> None:
    if isinstance(target, str) and target not in ("sample", "pairwise"):
        raise ConfigError(
            f"target must be 'sample', 'pairwise' or an N x N array (got {target!r})."
        )
    if repair not in (None, "nearest", "clip"):
        raise ConfigError(
            f"repair must be None (raise on a non-positive-definite target), 'nearest' "
            f"(Higham) or 'clip' (eigenvalue clipping) (got {repair!r})."
        )


# ---------------------------------------------------------------------------------------------
# DCC
# ---------------------------------------------------------------------------------------------


@keyword_options
@dataclass(frozen=True)
class DCC:
    r"""Dynamic conditional correlation: DCC, cDCC or ADCC, estimated by two-step QML.

    Parameters
    ----------
    kind : {"dcc", "cdcc", "adcc"}, default "dcc"
        Engle (2002) DCC, Aielli (2013) corrected DCC, or Cappiello, Engle and Sheppard (2006)
        asymmetric DCC.
    likelihood : {"full", "composite"}, default "full"
        Full N-variate correlation-stage likelihood (O(T N^3) per evaluation) or the composite
        likelihood over the contiguous pairs ``(i, i+1)`` (Pakel, Shephard, Sheppard and Engle
        2021; O(T N)), for large N.
    univariate : volatility spec, "garch" or None, default "garch"
        The univariate stage: a :mod:`riskmodels.volatility` spec (``GARCH(dist="t")``, ...),
        ``"garch"`` for ``GARCH()``, or None when ``fit`` receives standardized residuals.
    asymmetry : {"uncentred", "centred"}, default "uncentred"
        ADCC's ``Nbar``. ``"uncentred"`` (Cappiello et al. 2006): ``Nbar = n'n / T``, the
        sample ``E[n n']``; then the sample mean of ``Q_t`` equals ``Qbar``. ``"centred"``:
        ``Nbar = Cov(n)`` (as some R code computes it); the intercept is larger and the sample
        mean of ``Q_t`` is ``Qbar + g nbar nbar' / (1 - b)`` with ``nbar`` the mean of ``n``.
    target : {"sample", "pairwise"} or array-like, default "sample"
        ``Qbar``: the sample second moment ``z'z / T`` on the common sample (correlation
        targeting, Engle 2002); ``"pairwise"``: pairwise-complete moments over each asset's
        own history (the univariate models are then fitted on the full histories), which need
        not be positive definite; or a given N x N matrix (a DataFrame is aligned by asset).
        cDCC only accepts ``"sample"``: its target depends on ``(a, b)``.
    repair : {None, "nearest", "clip"}, default None
        A target that is not positive definite raises
        :class:`~riskmodels.exceptions.NotPositiveDefiniteError` unless repaired: Higham's
        (2002) nearest correlation matrix or eigenvalue clipping (reported in
        ``result.target_repair``, with a :class:`~riskmodels.exceptions.RepairWarning`).
    backend : {"auto", "numba", "numpy"}, default "auto"
        Likelihood kernels: numba (compiled loops) or their pure-numpy twins.

    Notes
    -----
    DCC (Engle 2002, eqs. 16 and 26):

    .. math::

        Q_t &= (1 - a - b)\bar Q + a z_{t-1} z_{t-1}' + b Q_{t-1}, \\
        R_t &= \operatorname{diag}(Q_t)^{-1/2} Q_t \operatorname{diag}(Q_t)^{-1/2}, \\
        L_C &= -\tfrac12 \textstyle\sum_t (\log|R_t| + z_t' R_t^{-1} z_t - z_t' z_t),

    with ``Q_0 = Qbar`` and the stationarity constraint ``a, b >= 0``, ``a + b < 1``.

    cDCC (Aielli 2013, eq. 3.3): the news term is ``Q*_{t-1}^{1/2} z z' Q*_{t-1}^{1/2}``,
    ``Q*_t = diag(Q_t)``, and ``S`` (unit diagonal) is the sample correlation of
    ``Q*_t^{1/2} z_t``, recomputed at every ``(a, b)``; then ``E[Q_t] = S`` and the target
    estimator is consistent.

    ADCC (Cappiello, Engle and Sheppard 2006, eq. 8, scalar form):

    .. math::

        Q_t = (1 - a - b)\bar Q - g \bar N + a z_{t-1} z_{t-1}' + b Q_{t-1}
              + g n_{t-1} n_{t-1}', \qquad n_t = \min(z_t, 0),

    with stationarity ``a + b + \delta g < 1``, ``\delta = \lambda_{max}(\bar Q^{-1/2} \bar N
    \bar Q^{-1/2})`` (which keeps the intercept positive semi-definite).

    Estimation: the univariate models first, then ``(a, b[, g])`` maximise ``L_C`` (or its
    composite version) with ``Qbar`` (and ``Nbar``) fixed at their sample values.

    Large N: with a sample target the full-likelihood estimate of ``a`` is biased towards zero
    as N grows, because the ``N(N-1)/2`` estimated target elements act as incidental
    parameters (Engle, Shephard and Sheppard 2008; Pakel et al. 2021, Section 2). In our
    simulations (T = 2000, a = 0.05, b = 0.93) the bias is negligible at N = 5 and about two
    standard errors at N = 25; composite likelihood does not show it. Use
    ``likelihood="composite"`` from a few tens of assets on. The optimiser
    works on a reparameterisation in which the stationarity region is a box (persistence and
    shares), first on the composite likelihood (analytic scores, L-BFGS-B) and, for the full
    likelihood, then by a finite-difference Newton search from that point.
    """

    kind: Literal["dcc", "cdcc", "adcc"] = "dcc"
    _: KW_ONLY
    likelihood: Literal["full", "composite"] = "full"
    univariate: Any = "garch"
    asymmetry: Literal["uncentred", "centred"] = "uncentred"
    target: Any = field(default="sample")
    repair: Literal["nearest", "clip"] | None = None
    backend: Literal["auto", "numba", "numpy"] = "auto"

    def __post_init__(self) -> None:
        if self.kind not in _KIND_NAMES:
            raise ConfigError(
                f"kind must be 'dcc' (Engle 2002), 'cdcc' (Aielli 2013) or 'adcc' (Cappiello, "
                f"Engle and Sheppard 2006) (got {self.kind!r})."
            )
        if self.likelihood not in ("full", "composite"):
            raise ConfigError(
                f"likelihood must be 'full' or 'composite' (contiguous pairs, for large N) "
                f"(got {self.likelihood!r})."
            )
        if self.asymmetry not in _ASYMMETRY:
            raise ConfigError(
                f"asymmetry must be 'uncentred' (Cappiello et al. 2006: Nbar = E[n n']) or "
                f"'centred' (Nbar = Cov(n)) (got {self.asymmetry!r})."
            )
        object.__setattr__(self, "asymmetry", _ASYMMETRY[self.asymmetry])
        _check_target_repair(self.target, self.repair)
        if self.kind == "cdcc" and not (isinstance(self.target, str) and self.target == "sample"):
            raise ConfigError(
                "kind='cdcc' needs target='sample': the cDCC target is the sample correlation "
                "of Q*^{1/2} z and depends on (a, b) (Aielli 2013)."
            )
        _check_backend(self.backend)

    @property
    def name(self) -> str:
        """``"DCC"``, ``"cDCC"`` or ``"ADCC"``."""
        return _KIND_NAMES[self.kind]

    @property
    def param_names(self) -> tuple[str, ...]:
        return ("a", "b", "g") if self.kind == "adcc" else ("a", "b")

    # -- public API -------------------------------------------------------------------------

    def fit(
        self,
        returns: pd.DataFrame,
        *,
        volatility: Any = None,
        starting_values: Any = None,
        options: dict[str, Any] | None = None,
        n_jobs: int = 1,
    ) -> DCCResult:
        """Estimate the model by two-step quasi maximum likelihood.

        Parameters
        ----------
        returns : DataFrame of shape (n_observations, n_assets)
            Decimal log returns, one column per asset (standardized residuals when
            ``univariate=None``). Assets may start and end at different dates: the model is
            fitted on the common sample (rows where every asset has data); NaN inside an
            asset's history is an error.
        volatility : PanelVolatilityResult or mapping {asset: VolatilityResult}, optional
            Univariate results to use as they are (they are not re-fitted).
        starting_values : array-like, optional
            ``(a, b)`` or ``(a, b, g)``; default: a small grid scored by composite likelihood.
        options : dict, optional
            ``scipy.optimize.minimize`` options for the L-BFGS-B stages.
        n_jobs : int, default 1
            Worker processes for the univariate fits (``fit_panel``); the results do not depend
            on it (every fit runs with one BLAS thread).

        Returns
        -------
        DCCResult

        Raises
        ------
        ConfigError
            Invalid arguments.
        DataError
            NaN inside an asset's history, infinite or non-numeric values, a constant series.
        InsufficientDataError
            A common sample shorter than ``max(100, 10 k, 2 N)`` (the message names the assets
            that limit it), or disjoint histories.
        NotPositiveDefiniteError
            A target that is not positive definite and ``repair=None``.
        ConvergenceError
            The optimiser failed.
        """
        with blas_threads(limits=BLAS_THREADS):
            s1, pb, rep, label, Nu = self._setup(returns, volatility, n_jobs)
            sv = None if starting_values is None else self._check_params(starting_values, pb)
            theta, report = estimate(pb, starting_values=sv, options=options, model_name=self.name)
            return _build(
                DCCResult,
                self.name,
                self,
                s1,
                pb,
                theta,
                params=pd.Series(theta, index=list(self.param_names), dtype=float),
                estimated=True,
                target_repair=rep,
                target_source=label,
                optimizer=report.as_dict(),
                Nbar_uncentred=Nu,
                hessian=report.hessian,
            )

    def fix(self, returns: pd.DataFrame, params: Any, *, volatility: Any = None) -> DCCResult:
        """The result at given correlation parameters, without estimating them.

        The univariate stage is fitted as in :meth:`fit` unless ``volatility`` is given (use
        ``spec.fix`` of :mod:`riskmodels.volatility` to fix the univariate parameters too).

        Parameters
        ----------
        returns : DataFrame
        params : array-like, dict or Series
            ``(a, b)`` or ``(a, b, g)``; a dict/Series is read by name.
        volatility : optional
            As in :meth:`fit`.

        Returns
        -------
        DCCResult
            ``estimated=False``; standard errors are NaN.
        """
        with blas_threads(limits=BLAS_THREADS):
            s1, pb, rep, label, Nu = self._setup(returns, volatility)
            theta = self._check_params(params, pb)
            return _build(
                DCCResult,
                self.name,
                self,
                s1,
                pb,
                theta,
                params=pd.Series(theta, index=list(self.param_names), dtype=float),
                estimated=False,
                target_repair=rep,
                target_source=label,
                Nbar_uncentred=Nu,
            )

    # -- internals --------------------------------------------------------------------------

    def _setup(
        self, returns: object, volatility: object, n_jobs: int = 1
    ) -> tuple[Any, Any, Any, str, np.ndarray | None]:
        s1 = _stage_one(
            self.univariate,
            returns,
            volatility,
            model=self.name,
            n_params=len(self.param_names),
            fit_full_histories=isinstance(self.target, str) and self.target == "pairwise",
            n_jobs=n_jobs,
        )
        zt = s1.z.to_numpy()
        backend = resolve_backend(self.backend)
        if self.kind == "cdcc":
            Qbar, rep, label = make_target("sample", zt, s1.assets, repair=None)
            Qbar_arg = None
        else:
            Qbar, rep, label = make_target(
                self.target, zt, s1.assets, repair=self.repair, z_full=s1.z_full
            )
            Qbar_arg = Qbar
        if rep is not None:
            import warnings

            from riskmodels.exceptions import RepairWarning

            warnings.warn(
                f"{self.name}: the {label} target was not positive definite and was repaired "
                f"because repair={self.repair!r} was given: {rep}. See result.target_repair.",
                RepairWarning,
                stacklevel=4,
            )
        Nbar = Nu = None
        if self.kind == "adcc":
            n = np.minimum(zt, 0.0)
            Nu = n.T @ n / n.shape[0]
            if self.asymmetry == "uncentred":
                Nbar = Nu
            else:
                m = n.mean(axis=0)
                Nbar = Nu - np.outer(m, m)
        pb = Problem(zt, self.kind, self.likelihood, Qbar_arg, Nbar, backend=backend)
        return s1, pb, rep, label, Nu

    def _check_params(self, params: Any, pb: Problem) -> np.ndarray:
        names = self.param_names
        if isinstance(params, dict | pd.Series):
            missing = [n for n in names if n not in params]
            if missing:
                raise ConfigError(
                    f"params must give {list(names)} for {self.name} (missing {missing})."
                )
            theta = np.array([float(params[n]) for n in names])
        else:
            theta = np.asarray(params, dtype=float).reshape(-1)
            if theta.shape != (len(names),):
                raise ConfigError(
                    f"params must be {list(names)} for {self.name} (got {theta.tolist()})."
                )
        if not np.all(np.isfinite(theta)) or np.any(theta < 0):
            raise ConfigError(
                f"{self.name} parameters must be finite and non-negative (got "
                f"{dict(zip(names, theta.tolist(), strict=True))})."
            )
        if pb.persistence(theta) >= 1.0:
            cond = "a + b + delta g" if self.kind == "adcc" else "a + b"
            extra = f" with delta = {pb.delta:.4f}" if self.kind == "adcc" else ""
            raise ConfigError(
                f"{self.name} parameters violate stationarity: {cond} = "
                f"{pb.persistence(theta):.6f} >= 1{extra} (got "
                f"{dict(zip(names, theta.tolist(), strict=True))}). Lower a, b or g."
            )
        return theta


# ---------------------------------------------------------------------------------------------
# Result assembly
# ---------------------------------------------------------------------------------------------


def _params_at_bounds(pb: Problem, theta: np.ndarray) -> tuple[str, ...]:
    if pb.k == 0:
        return ()
    out = [n for n, v in zip(pb.param_names, theta, strict=True) if v < 1e-6]
    if pb.persistence(theta) > 1.0 - 1e-5:
        out.append("a + b + delta g" if pb.kind == "adcc" else "a + b")
    return tuple(out)


def _build(
    cls: type,
    model: str,
    spec: Any,
    s1: _StageOne,
    pb: Problem,
    theta: np.ndarray,
    *,
    params: pd.Series,
    estimated: bool,
    target_repair: Any = None,
    target_source: str = "sample",
    optimizer: dict[str, Any] | None = None,
    Nbar_uncentred: np.ndarray | None = None,
    hessian: np.ndarray | None = None,
) -> Any:
    assets = s1.assets
    want_se = cls is DCCResult and estimated
    full = pb.evaluate(theta, likelihood="full", scores=want_se and pb.likelihood == "full")
    if full.flag:  # pragma: no cover - feasibility is checked before
        from riskmodels.exceptions import NotPositiveDefiniteError

        raise NotPositiveDefiniteError(
            f"{model}: Q_t is not positive definite at date {s1.z.index[full.flag - 1]} for "
            f"params {params.to_dict()}."
        )
    ll_c = float(full.llt.sum())
    comp_ll = None
    scores = full.scores if pb.likelihood == "full" else None
    if pb.likelihood == "composite" and pb.k:
        comp = pb.evaluate(theta, likelihood="composite", scores=want_se)
        comp_ll = float(comp.llt.sum())
        scores = comp.scores
    at_bounds = _params_at_bounds(pb, theta)
    extra: dict[str, Any] = {}
    if cls is DCCResult:
        se = pd.Series(np.nan, index=params.index, dtype=float)
        H = None
        if want_se and scores is not None:
            H = hessian if hessian is not None and pb.likelihood == "full" else pb.hessian(theta)
            free = np.array([n not in at_bounds for n in pb.param_names])
            if not any(("+" in b) for b in at_bounds) and free.any():
                Hf = H[np.ix_(free, free)]
                try:
                    Hinv = np.linalg.inv(Hf)
                    S = scores[:, free]
                    V = Hinv @ (S.T @ S) @ Hinv
                    se[free] = np.sqrt(np.clip(np.diag(V), 0.0, None))
                except np.linalg.LinAlgError:  # pragma: no cover - singular Hessian
                    pass
        extra = {"std_errors": se, "_scores": scores if want_se else None, "_hessian": H}
    target = pb.target_at(theta)[0] if pb.kind == "cdcc" else pb.Qbar
    assert target is not None and full.Q_last is not None
    return cls(
        model=model,
        spec=spec,
        assets=tuple(assets),
        index=s1.z.index,
        params=params,
        loglikelihood=s1.ll_volatility + ll_c,
        loglikelihood_correlation=ll_c,
        loglikelihood_volatility=s1.ll_volatility,
        composite_loglikelihood=comp_ll,
        llt=full.llt,
        std_resid=s1.z,
        returns=s1.returns,
        volatility=s1.volatility,
        conditional_volatility=s1.sigma,
        target=_frame(target, assets),
        asymmetry_target=None if pb.Nbar is None else _frame(pb.Nbar, assets),
        delta=pb.delta if pb.kind == "adcc" else None,
        target_source=target_source,
        target_repair=target_repair,
        converged=True,
        estimated=estimated,
        params_at_bounds=at_bounds,
        optimizer=optimizer or {},
        backend=pb.backend if pb.backend != "auto" else resolve_backend("auto"),
        blas_threads=BLAS_THREADS,
        _problem=pb,
        _Q_last=full.Q_last,
        _Nbar_uncentred=Nbar_uncentred,
        **extra,
    )
