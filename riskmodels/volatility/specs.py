r"""Univariate volatility specs: GARCH, GJR-GARCH, EGARCH and EWMA (RiskMetrics).

A spec holds hyper-parameters only (orders, innovation distribution, mean). ``spec.fit(returns)``
estimates it with :mod:`arch` and returns a read-only
:class:`~riskmodels.volatility.VolatilityResult`; ``spec.fix(returns, params)`` gives the same
result at given parameters (for validation and walk-forward re-use), and
``spec.filter(returns, params)`` the same numbers, bit for bit, at a fraction of the cost (for
filtering forward at every bar; :mod:`riskmodels.volatility._filter`).

Units
-----
The package works in decimal log returns (0.01 = 1 %). ``arch`` is called on
``100 * returns`` (percent), where its optimizer and its variance bounds are well scaled, and
everything that comes back is converted to decimals: volatilities ``/100``, variances ``/1e4``,
residuals ``/100``, simulated returns in decimals. ``params`` are the one exception: they are
kept exactly as arch reports them for the percent series (``omega`` in %², ``mu`` in %), so
they compare 1:1 with a direct arch fit on ``100 * returns``.

The log-likelihood of the decimal returns is arch's percent log-likelihood plus the log
Jacobian of ``y = 100 r``: ``loglikelihood = loglikelihood_pct + nobs * log(100)``.

Determinism
-----------
Every fit runs under ``threadpoolctl.blas_threads(limits=1)``: the same data and spec give
bit-identical estimates in a notebook and in a parallel worker (the number of BLAS threads
changes the optimizer's path on flat likelihoods). Results record ``blas_threads=1``.
"""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import KW_ONLY, dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import numpy as np
import pandas as pd
from arch.univariate import (
    EGARCH as ArchEGARCH,
)
from arch.univariate import (
    GARCH as ArchGARCH,
)
from arch.univariate import (
    ConstantMean,
    EWMAVariance,
    Normal,
    SkewStudent,
    StudentsT,
    ZeroMean,
)
from arch.univariate.base import ARCHModel
from arch.univariate.distribution import Distribution
from arch.univariate.volatility import VolatilityProcess
from arch.utility.exceptions import ConvergenceWarning as ArchConvergenceWarning
from arch.utility.exceptions import DataScaleWarning, StartingValueWarning

from riskmodels._deprecation import keyword_options
from riskmodels._threads import blas_threads
from riskmodels.exceptions import ConfigError, ConvergenceError, ConvergenceWarning
from riskmodels.volatility import _recursions
from riskmodels.volatility._validation import asset_name, prepare_returns

if TYPE_CHECKING:
    from riskmodels.volatility.results import VolatilityResult

__all__ = [
    "EGARCH",
    "EWMA",
    "GARCH",
    "GJR",
    "Dist",
    "Mean",
    "OnFailure",
    "VolatilitySpec",
    "check_on_failure",
]

Dist = Literal["normal", "t", "skewt"]
Mean = Literal["zero", "constant"]
OnFailure = Literal["raise", "retry", "warn"]

#: BLAS threads used by every fit (recorded on each result).
BLAS_THREADS = 1
#: Scale between the package's decimal returns and arch's percent returns.
PCT = 100.0
#: Relative tolerance (of the bound interval's width) for flagging a parameter at a bound.
BOUND_RTOL = 1e-6
#: Largest violation of arch's linear constraints that ``fix`` accepts (SLSQP's feasibility
#: tolerance is about 1e-6, so parameters from ``fit`` can sit that far outside).
FIX_CONSTRAINT_TOL = 1e-5

_DISTRIBUTIONS: dict[str, type[Distribution]] = {
    "normal": Normal,
    "t": StudentsT,
    "skewt": SkewStudent,
}
_DIST_LABELS = {"normal": "normal", "t": "Student-t", "skewt": "skew-t"}
_MEANS = ("zero", "constant")
_ON_FAILURE = ("raise", "retry", "warn")


#: Largest lag order accepted: each lag adds parameters (and 10 observations to ``min_obs``);
#: an order in the millions would build millions of parameter names before failing.
MAX_ORDER = 20


def _check_order(value: object, name: str, model: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise ConfigError(
            f"{name} must be a non-negative integer (got {value!r}). "
            f"{model}(1,1) uses p=1, q=1 and is the usual choice."
        )
    if value > MAX_ORDER:
        raise ConfigError(
            f"{name} must be at most {MAX_ORDER} (got {value!r}): a lag order that high cannot "
            f"be estimated from any realistic sample. {model}(1,1) uses p=1, q=1 and is the "
            "usual choice."
        )


def _check_choice(value: object, name: str, choices: Sequence[str]) -> None:
    if value not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(map(repr, choices))} (got {value!r}).")


def check_on_failure(on_failure: object) -> None:
    """ConfigError unless ``on_failure`` is "raise", "retry" or "warn" (what a fit does when the
    optimizer fails)."""
    _check_on_failure(on_failure)


def _check_on_failure(on_failure: object) -> None:
    if on_failure not in _ON_FAILURE:
        raise ConfigError(
            f"on_failure must be 'raise', 'retry' or 'warn' (got {on_failure!r}). 'retry' refits "
            "from other starting values; 'warn' keeps a flagged result."
        )


class VolatilitySpec:
    """Common behaviour of the volatility specs (fit, fix, names, recursions).

    Subclasses are frozen dataclasses with at least the fields ``dist`` and ``mean``.
    """

    dist: Dist
    mean: Mean
    #: True when arch has closed-form multi-step variance forecasts for the model.
    analytic_forecast: ClassVar[bool] = True

    # -- construction of arch objects ------------------------------------------------------
    def _arch_volatility(self) -> VolatilityProcess:  # pragma: no cover - abstract
        raise NotImplementedError

    def _arch_distribution(self, seed: np.random.Generator | None = None) -> Distribution:
        return _DISTRIBUTIONS[self.dist](seed=seed)

    def arch_model(self, y_pct: pd.Series | None = None) -> ARCHModel:
        """The arch model for this spec on percent returns ``y_pct`` (``100 * returns``).

        Parameters
        ----------
        y_pct : pandas.Series, optional
            Percent returns. ``None`` gives a model without data (e.g. for ``simulate``).

        Returns
        -------
        arch.univariate.base.ARCHModel
            ``ZeroMean`` or ``ConstantMean`` with this spec's volatility process and
            distribution, ``rescale=False`` (the percent scaling is done here, explicitly).
        """
        mean_cls = ZeroMean if self.mean == "zero" else ConstantMean
        return mean_cls(
            y_pct,
            volatility=self._arch_volatility(),
            distribution=self._arch_distribution(),
            rescale=False,
        )

    # -- names -----------------------------------------------------------------------------
    @property
    def name(self) -> str:  # pragma: no cover - abstract
        """Short model name, e.g. ``"GARCH(1,1)"``."""
        raise NotImplementedError

    @property
    def label(self) -> str:
        """Full description, e.g. ``"GARCH(1,1), Student-t innovations, zero mean"``."""
        return f"{self.name}, {_DIST_LABELS[self.dist]} innovations, {self.mean} mean"

    def __str__(self) -> str:
        return self.label

    @cached_property  # builds arch objects; read on every fix/filter (frozen specs: computed once)
    def param_names(self) -> tuple[str, ...]:
        """Parameter names in arch's order: mean, volatility, distribution."""
        mean = ("mu",) if self.mean == "constant" else ()
        vol = tuple(self._arch_volatility().parameter_names())
        dist = tuple(self._arch_distribution().parameter_names())
        return mean + vol + dist

    @property
    def n_params(self) -> int:
        """Number of estimated parameters."""
        return len(self.param_names)

    @property
    def min_obs(self) -> int:
        """Fewest observations accepted: ``max(100, 10 * n_params)``."""
        return max(100, 10 * self.n_params)

    # -- estimation ------------------------------------------------------------------------
    def fit(
        self,
        returns: pd.Series,
        *,
        starting_values: Sequence[float] | np.ndarray | pd.Series | None = None,
        options: Mapping[str, Any] | None = None,
        on_failure: OnFailure = "raise",
    ) -> VolatilityResult:
        """Estimate the model by (quasi) maximum likelihood with arch.

        Parameters
        ----------
        returns : pandas.Series
            Decimal log returns of one asset. Leading and trailing NaN are dropped (before
            listing / after delisting); NaN inside the sample is an error. The Series name
            names the asset in messages.
        starting_values : array-like or Series, optional
            Starting values in arch's percent units and order (``param_names``); a Series is
            aligned by name. Default: arch's own starting values.
        options : mapping, optional
            Options for ``scipy.optimize.minimize`` (SLSQP), e.g. ``{"maxiter": 200}``.
        on_failure : {"raise", "retry", "warn"}, default "raise"
            What to do when the optimizer does not converge (SLSQP status != 0 or a non-finite
            log-likelihood): raise :class:`~riskmodels.exceptions.ConvergenceError`; refit from
            a small grid of other starting values and keep the best converged fit (recorded in
            ``failure_note``; still failing raises); or keep the flagged result
            (``converged=False``) with a :class:`~riskmodels.exceptions.ConvergenceWarning`.

        Returns
        -------
        VolatilityResult

        Raises
        ------
        DataError, InsufficientDataError
            Bad input (see :func:`riskmodels.volatility._validation.prepare_returns`).
        ConfigError
            Invalid ``starting_values``, ``options`` or ``on_failure``.
        ConvergenceError
            The optimizer did not converge (message names the model and the asset).
        """
        from riskmodels.volatility.results import VolatilityResult

        _check_on_failure(on_failure)
        y = prepare_returns(returns, min_obs=self.min_obs, model=self.name)
        asset = asset_name(returns)
        sv = self._check_starting_values(starting_values, "starting_values")
        if options is not None and not isinstance(options, Mapping):
            raise ConfigError(
                f"options must be a mapping of scipy.optimize.minimize options (got "
                f"{type(options).__name__}), e.g. {{'maxiter': 200}}."
            )
        y_pct = y * PCT
        res = self._fit_once(y_pct, sv, options)
        note: str | None = None
        if not _converged(res):
            reason = _reason(res)
            if on_failure == "raise":
                raise ConvergenceError(
                    f"{self.label} for {asset!r} did not converge: {reason}. Pass "
                    "on_failure='retry' to refit from other starting values, or check the data "
                    "(outliers, a very short or very flat history)."
                )
            if on_failure == "retry":
                res, note = self._retry(y_pct, sv, options, asset, reason)
            else:
                note = f"did not converge ({reason}); result kept because on_failure='warn'"
                warnings.warn(
                    ConvergenceWarning.template.format(
                        model=self.label, asset=asset, reason=reason
                    ),
                    ConvergenceWarning,
                    stacklevel=2,
                )
        return VolatilityResult._from_arch(
            self, asset, res, estimated=True, converged=_converged(res), failure_note=note
        )

    def fix(
        self, returns: pd.Series, params: Sequence[float] | np.ndarray | pd.Series
    ) -> VolatilityResult:
        """The result at given parameters, without estimation (arch's ``model.fix``).

        Parameters
        ----------
        returns : pandas.Series
            Decimal log returns, validated as in :meth:`fit`.
        params : array-like or Series
            Parameters in arch's percent units and order (``param_names``); a Series is
            aligned by name. They must satisfy the model's constraints (positivity,
            stationarity) and the distribution's (``nu > 2``, ``|lambda| < 1``).

        Returns
        -------
        VolatilityResult
            ``estimated=False``, ``converged=True`` (no optimizer ran), ``std_errors`` NaN.
        """
        from riskmodels.volatility.results import VolatilityResult

        _, asset, x, model = self._prepare_fix(returns, params)
        with blas_threads(limits=BLAS_THREADS):
            res = model.fix(x)
        return VolatilityResult._from_arch(
            self, asset, res, estimated=False, converged=True, failure_note=None
        )

    def filter(
        self, returns: pd.Series, params: Sequence[float] | np.ndarray | pd.Series
    ) -> VolatilityResult:
        """:meth:`fix`'s result at a fraction of its cost: for filtering forward at fixed
        parameters (filtered historical and Monte Carlo scenarios, ``update``).

        The same validation and the same numbers as :meth:`fix`, bit for bit (the same arch
        calls on the same arrays: its backcast, variance bounds and ``compute_variance``, its
        one-step variance forecast), without arch's ``model.fix`` (a deep copy of the model and
        a result object) or the bound diagnostics. ``conditional_volatility``, ``std_resid``,
        ``resid`` and ``params`` are ready at once; ``forecast(1)`` (arch's one-step forecast,
        without arch's result object), ``loglikelihood``, ``params_at_bounds``,
        ``binding_constraints``, ``bounds``, ``std_errors`` and ``arch_result`` (arch's
        ``model.fix``, also used by ``forecast(h > 1)``) are computed on first access. See
        :class:`riskmodels.volatility._filter.FilteredVolatilityResult`.

        Parameters and errors are those of :meth:`fix`.

        Returns
        -------
        VolatilityResult
            A :class:`~riskmodels.volatility._filter.FilteredVolatilityResult` (a
            ``VolatilityResult``) with ``estimated=False``, ``converged=True``.
        """
        from riskmodels.volatility._filter import FilteredVolatilityResult

        y, asset, x, model = self._prepare_fix(returns, params)
        return FilteredVolatilityResult._compute(self, asset, y, x, model)

    def _prepare_fix(
        self, returns: pd.Series, params: Sequence[float] | np.ndarray | pd.Series
    ) -> tuple[pd.Series, str, np.ndarray, ARCHModel]:
        """Validated returns, asset, parameters and the arch model for :meth:`fix`/:meth:`filter`."""
        y = prepare_returns(returns, min_obs=self.min_obs, model=self.name)
        asset = asset_name(returns)
        x = self._check_starting_values(params, "params", required=True)
        assert x is not None
        self._check_dist_params(x)
        model = self.arch_model(y * PCT)
        a, b = _constraints(model)
        slack = a @ x - b if a.size else np.empty(0)
        # arch's SLSQP solutions may violate the linear constraints by up to the optimizer's
        # feasibility tolerance (seen: alpha + beta = 1 + 1.6e-6 on BTC): fix() must accept
        # whatever fit() returned, so only violations beyond FIX_CONSTRAINT_TOL are refused.
        if np.any(slack < -FIX_CONSTRAINT_TOL):
            raise ConfigError(
                f"params violate {self.name}'s constraints (a @ params - b = "
                f"{np.round(slack, 6).tolist()}, all must be >= 0): "
                f"{dict(zip(self.param_names, x.tolist(), strict=True))}. Variance parameters "
                "must be non-negative and the persistence at most 1."
            )
        return y, asset, x, model

    # -- helpers ---------------------------------------------------------------------------
    def _check_starting_values(
        self, values: object, name: str, *, required: bool = False
    ) -> np.ndarray | None:
        if values is None:
            if required:
                raise ConfigError(f"{name} are required: {list(self.param_names)}.")
            return None
        names = list(self.param_names)
        if isinstance(values, pd.Series):
            missing = [n for n in names if n not in values.index]
            extra = [n for n in values.index if n not in names]
            if missing or extra:
                raise ConfigError(
                    f"{name} must be indexed by {names} (missing {missing}, unexpected {extra})."
                )
            # a result's params are already in this order: skip pandas' label lookup
            values = values.to_numpy() if list(values.index) == names else values.loc[names]
        try:
            x = np.asarray(values, dtype=float).reshape(-1)
        except (TypeError, ValueError) as exc:
            raise ConfigError(
                f"{name} must be numbers in the order {names} (got {values!r})."
            ) from exc
        if x.shape[0] != len(names):
            raise ConfigError(
                f"{name} must have {len(names)} values in the order {names} (got {x.shape[0]})."
            )
        if not np.all(np.isfinite(x)):
            raise ConfigError(f"{name} must be finite (got {x.tolist()}).")
        return x

    def _check_dist_params(self, x: np.ndarray) -> None:
        names = list(self.param_names)
        for key in ("nu", "eta"):
            if key in names and not x[names.index(key)] > 2.0:
                raise ConfigError(
                    f"{key} must be > 2 for a finite variance (got {float(x[names.index(key)])!r}). "
                    "Daily crypto returns typically give 3-8."
                )
        if "lambda" in names and not abs(x[names.index("lambda")]) < 1.0:
            raise ConfigError(
                f"lambda (skewness) must be in (-1, 1) (got {float(x[names.index('lambda')])!r})."
            )

    def _fit_once(
        self, y_pct: pd.Series, sv: np.ndarray | None, options: Mapping[str, Any] | None
    ) -> Any:
        """One arch fit under pinned BLAS threads; arch's warnings are turned into results."""
        model = self.arch_model(y_pct)
        with blas_threads(limits=BLAS_THREADS), warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ArchConvergenceWarning)
            warnings.simplefilter("always", StartingValueWarning)
            warnings.simplefilter("ignore", DataScaleWarning)
            res = model.fit(
                disp="off",
                show_warning=True,
                starting_values=sv,
                options=dict(options) if options is not None else None,
            )
        for w in caught:
            if issubclass(w.category, StartingValueWarning):
                raise ConfigError(
                    f"starting_values {sv.tolist() if sv is not None else None} for "
                    f"{self.name} violate arch's bounds or constraints (order "
                    f"{list(self.param_names)}, percent units). Omit them to use arch's own."
                )
            if not issubclass(w.category, ArchConvergenceWarning):
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        return res

    def _retry(
        self,
        y_pct: pd.Series,
        sv: np.ndarray | None,
        options: Mapping[str, Any] | None,
        asset: str,
        first_reason: str,
    ) -> tuple[Any, str]:
        candidates: Sequence[np.ndarray | None] = self._retry_starting_values(y_pct)
        if sv is not None:
            candidates = [None, *candidates]  # arch's own starting values first
        best, best_i, reasons = None, -1, []
        for i, cand in enumerate(candidates):
            try:
                res = self._fit_once(y_pct, cand, options)
            except ConfigError:  # a grid point outside this sample's bounds
                reasons.append("outside this sample's bounds")
                continue
            if _converged(res):
                if best is None or res.loglikelihood > best.loglikelihood:
                    best, best_i = res, i
            else:
                reasons.append(_reason(res))
        start = "the given starting values" if sv is not None else "arch's starting values"
        if best is None:
            raise ConvergenceError(
                f"{self.label} for {asset!r} did not converge from {start} ({first_reason}) nor "
                f"from {len(candidates)} alternative starting values "
                f"({'; '.join(f'{n} x {r}' for r, n in Counter(reasons).items())}). "
                "Check the data (outliers, a very short or very flat history) or use a simpler "
                "model (normal innovations, EWMA)."
            )
        note = (
            f"did not converge from {start} ({first_reason}); retried from "
            f"{len(candidates)} alternative starting values, kept #{best_i + 1} "
            f"(log-likelihood in % units {best.loglikelihood:.6g})"
        )
        return best, note

    def _retry_starting_values(self, y_pct: pd.Series) -> list[np.ndarray]:
        """A small, deterministic grid of starting values (percent units)."""
        y = y_pct.to_numpy()
        mu = float(np.mean(y))
        resid = y - mu if self.mean == "constant" else y
        var = float(np.mean(resid**2))
        mean_sv = [mu] if self.mean == "constant" else []
        vol_grid = self._vol_grid(var)
        dist_grids: dict[str, list[list[float]]] = {
            "normal": [[]],
            "t": [[8.0], [5.0], [12.0]],
            "skewt": [[8.0, -0.05], [5.0, 0.0], [12.0, 0.05]],
        }
        dist_grid = dist_grids[self.dist]
        out = []
        for i, vol in enumerate(vol_grid):
            out.append(np.array(mean_sv + vol + dist_grid[i % len(dist_grid)], dtype=float))
        return out

    def _vol_grid(self, var: float) -> list[list[float]]:  # pragma: no cover - abstract
        raise NotImplementedError

    def recursion(
        self,
        vol_params: np.ndarray,
        resid: np.ndarray,
        sigma2: np.ndarray,
        std_resid: np.ndarray,
        z: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Run the model's variance recursion forward from the end of a filtered sample.

        Parameters
        ----------
        vol_params : ndarray
            The recursion's parameters (:attr:`VolatilityResult.volatility_params`).
        resid, sigma2, std_resid : ndarray
            The sample's last residuals, conditional variances (percent units) and
            standardized residuals (at least ``max(p, o, q)`` of each).
        z : ndarray, shape (n_paths, h)
            Standardized shocks for the steps ahead.

        Returns
        -------
        eps, sigma2 : ndarray, shape (n_paths, h)
            The residuals and conditional variances (percent units) along each path; the
            first variance is the one-step forecast, which does not depend on ``z``.
        """
        return self._paths(vol_params, resid, sigma2, std_resid, z)

    def _paths(
        self,
        vol_params: np.ndarray,
        resid: np.ndarray,
        sigma2: np.ndarray,
        std_resid: np.ndarray,
        z: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover - abstract
        raise NotImplementedError


def _converged(res: Any) -> bool:
    flag = getattr(res, "convergence_flag", 0)
    return (
        flag == 0
        and bool(np.isfinite(res.loglikelihood))
        and bool(np.all(np.isfinite(np.asarray(res.params, dtype=float))))
    )


def _reason(res: Any) -> str:
    opt = res.optimization_result
    if opt.status != 0:
        return f"SLSQP status {opt.status}: {opt.message}"
    return f"non-finite estimates (log-likelihood {res.loglikelihood})"


def _bounds_and_constraints(
    model: ARCHModel,
) -> tuple[list[tuple[float, float]], np.ndarray, np.ndarray]:
    """Bounds and linear constraints ``a @ x - b >= 0`` exactly as arch's ``fit`` builds them."""
    resids = model.resids(model.starting_values())
    bounds = list(model.bounds())
    bounds.extend(model.volatility.bounds(resids))
    bounds.extend(model.distribution.bounds(resids))
    a, b = _constraints(model)
    return bounds, a, b


def _constraints(model: ARCHModel) -> tuple[np.ndarray, np.ndarray]:
    """arch's linear constraints ``a @ x - b >= 0`` over all parameters (data-free)."""
    parts = (model.constraints(), model.volatility.constraints(), model.distribution.constraints())
    sizes = (model.num_params, model.volatility.num_params, model.distribution.num_params)
    rows = sum(p[0].shape[0] for p in parts)
    a = np.zeros((rows, sum(sizes)))
    b = np.zeros(rows)
    r = c = 0
    for (ai, bi), k in zip(parts, sizes, strict=True):
        n = ai.shape[0]
        if n:
            a[r : r + n, c : c + k] = ai
            b[r : r + n] = bi
        r, c = r + n, c + k
    return a, b


def _format_constraint(row: np.ndarray, b: float, names: Sequence[str]) -> str:
    sign = -1.0 if b < 0 else 1.0  # write "... <= 1" rather than "-... >= -1"
    terms = []
    for coef, name in zip(row * sign, names, strict=True):
        if coef == 0:
            continue
        mag = "" if abs(coef) == 1 else f"{abs(coef):g}*"
        terms.append(("- " if coef < 0 else "+ ") + mag + name)
    lhs = " ".join(terms).lstrip("+ ")
    return f"{lhs} {'<=' if sign < 0 else '>='} {b * sign:g}"


def at_bounds(
    model: ARCHModel, params: np.ndarray, names: Sequence[str]
) -> tuple[tuple[str, ...], tuple[str, ...], dict[str, tuple[float, float]]]:
    """Parameters at arch's bounds and binding multi-parameter constraints.

    A parameter is at a bound when it lies within ``BOUND_RTOL`` times the width of its bound
    interval (or of ``max(1, |bound|)`` for half-infinite intervals) of that bound. A
    constraint ``a @ x - b >= 0`` binds when its slack is below ``BOUND_RTOL``; constraints on
    a single parameter repeat its bounds and are not listed.

    Returns
    -------
    params_at_bounds : tuple of str
    binding_constraints : tuple of str
    bounds : dict
        Name to ``(lower, upper)`` in arch's percent units.
    """
    bounds, a, b = _bounds_and_constraints(model)
    flagged = []
    for x, (lo, hi), name in zip(params, bounds, names, strict=True):
        width = (
            hi - lo if np.isfinite(hi - lo) else max(1.0, abs(lo) if np.isfinite(lo) else abs(hi))
        )
        tol = BOUND_RTOL * width
        if (np.isfinite(lo) and x - lo <= tol) or (np.isfinite(hi) and hi - x <= tol):
            flagged.append(name)
    binding = []
    for row, bi in zip(a, b, strict=True):
        if np.count_nonzero(row) > 1 and row @ params - bi <= BOUND_RTOL:
            binding.append(_format_constraint(row, float(bi), names))
    bounds_by_name = {n: (lo, hi) for n, (lo, hi) in zip(names, bounds, strict=True)}
    return tuple(flagged), tuple(binding), bounds_by_name


# ---------------------------------------------------------------------------------------------
@keyword_options
@dataclass(frozen=True)
class GARCH(VolatilitySpec):
    r"""GARCH(p, o, q) of Bollerslev (1986), estimated with arch.

    Parameters
    ----------
    p : int, default 1
        Lags of squared residuals (ARCH terms).
    o : int, default 0
        Lags of asymmetric terms; ``o > 0`` is the GJR model (see :class:`GJR`).
    q : int, default 1
        Lags of the conditional variance (GARCH terms).
    dist : {"normal", "t", "skewt"}, default "normal"
        Innovation distribution: standard normal, standardized Student-t (``nu``) or Hansen's
        (1994) skew-t (``eta``, ``lambda``).
    mean : {"zero", "constant"}, default "zero"
        ``r_t = epsilon_t`` or ``r_t = mu + epsilon_t``.

    Notes
    -----
    .. math::

        r_t = \mu + \epsilon_t,\quad \epsilon_t = \sigma_t z_t,\quad
        \sigma^2_t = \omega + \sum_{i=1}^{p}\alpha_i\epsilon^2_{t-i}
        + \sum_{k=1}^{q}\beta_k\sigma^2_{t-k}

    Bollerslev (1986), "Generalized autoregressive conditional heteroskedasticity",
    *J. Econometrics* 31, eq. (2). Estimated by arch (``arch.univariate.GARCH``) on percent
    returns; arch initializes the recursion with an exponentially weighted (0.94) average of the
    first 75 squared residuals (its ``backcast``). Parameter bounds and the stationarity
    constraint ``sum(alpha) + 0.5 sum(gamma) + sum(beta) <= 1`` are arch's.

    Examples
    --------
    >>> spec = GARCH(dist="t")
    >>> spec.label
    'GARCH(1,1), Student-t innovations, zero mean'
    """

    p: int = 1
    o: int = 0
    q: int = 1
    _: KW_ONLY
    dist: Dist = "normal"
    mean: Mean = "zero"

    def __post_init__(self) -> None:
        model = type(self).__name__
        for name in ("p", "o", "q"):
            _check_order(getattr(self, name), name, model)
        if self.p == 0 and self.o == 0:
            raise ConfigError(
                f"p and o cannot both be 0 in {model} (got p=0, o=0): the variance would not "
                "react to returns. Use p=1."
            )
        _check_choice(self.dist, "dist", tuple(_DISTRIBUTIONS))
        _check_choice(self.mean, "mean", _MEANS)

    @property
    def name(self) -> str:
        if self.o == 0:
            return f"GARCH({self.p},{self.q})"
        return f"GARCH({self.p},{self.o},{self.q})"

    def _arch_volatility(self) -> VolatilityProcess:
        return ArchGARCH(p=self.p, o=self.o, q=self.q)

    def _vol_grid(self, var: float) -> list[list[float]]:
        grid = []
        for a, b in ((0.05, 0.90), (0.10, 0.80), (0.03, 0.95), (0.15, 0.70), (0.20, 0.50)):
            g = a if self.o else 0.0
            persistence = (a if self.p else 0.0) + 0.5 * g + (b if self.q else 0.0)
            grid.append(
                [var * (1.0 - persistence)]
                + [a / max(self.p, 1)] * self.p
                + [g / max(self.o, 1)] * self.o
                + [b / max(self.q, 1)] * self.q
            )
        return grid

    def _paths(
        self,
        vol_params: np.ndarray,
        resid: np.ndarray,
        sigma2: np.ndarray,
        std_resid: np.ndarray,
        z: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray]:
        lag = max(self.p, self.o, self.q, 1)
        return _recursions.garch_paths(
            vol_params, self.p, self.o, self.q, resid[-lag:], sigma2[-lag:], z
        )


@keyword_options
@dataclass(frozen=True)
class GJR(GARCH):
    r"""GJR-GARCH(p, o, q): GARCH with a leverage term for negative returns.

    Parameters
    ----------
    p, o, q : int, default 1, 1, 1
        Symmetric, asymmetric and variance lags (``o >= 1``).
    dist : {"normal", "t", "skewt"}, default "normal"
    mean : {"zero", "constant"}, default "zero"

    Notes
    -----
    .. math::

        \sigma^2_t = \omega + \sum_{i=1}^{p}\alpha_i\epsilon^2_{t-i}
        + \sum_{j=1}^{o}\gamma_j\epsilon^2_{t-j}1[\epsilon_{t-j}<0]
        + \sum_{k=1}^{q}\beta_k\sigma^2_{t-k}

    Glosten, Jagannathan and Runkle (1993), *J. Finance* 48, eq. (2). Estimated by arch
    (``arch.univariate.GARCH(p, o, q)``) with the constraints ``alpha_i + gamma_i >= 0`` and
    ``sum(alpha) + 0.5 sum(gamma) + sum(beta) <= 1``.
    """

    p: int = 1
    o: int = 1
    q: int = 1
    _: KW_ONLY
    dist: Dist = "normal"
    mean: Mean = "zero"

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.o < 1:
            raise ConfigError(
                f"GJR needs o >= 1 asymmetric lags (got o={self.o!r}). Use GARCH(p, q) for a "
                "symmetric model."
            )

    @property
    def name(self) -> str:
        return f"GJR-GARCH({self.p},{self.o},{self.q})"


@keyword_options
@dataclass(frozen=True)
class EGARCH(VolatilitySpec):
    r"""EGARCH(p, o, q) of Nelson (1991), estimated with arch.

    Parameters
    ----------
    p, o, q : int, default 1, 1, 1
        Lags of the size term ``|e| - sqrt(2/pi)``, of the sign term ``e`` and of the log
        variance.
    dist : {"normal", "t", "skewt"}, default "normal"
    mean : {"zero", "constant"}, default "zero"

    Notes
    -----
    .. math::

        \ln\sigma^2_t = \omega + \sum_{i=1}^{p}\alpha_i\left(|e_{t-i}|-\sqrt{2/\pi}\right)
        + \sum_{j=1}^{o}\gamma_j e_{t-j} + \sum_{k=1}^{q}\beta_k\ln\sigma^2_{t-k},
        \qquad e_t = \epsilon_t/\sigma_t

    Nelson (1991), "Conditional heteroskedasticity in asset returns: a new approach",
    *Econometrica* 59, eq. (2.1), in arch's parameterization. arch centres ``|e|`` by
    ``sqrt(2/pi)`` (E|z| under the normal) whatever the distribution; with Student-t or skew-t
    innovations the difference from their E|z| is absorbed into ``omega``. Simulation uses the
    same constant, so that it runs the fitted model's recursion.

    Multi-step variance forecasts have no closed form in arch: ``forecast(h > 1)`` averages
    ``n_sims`` simulated paths (arch's simulation method). With Student-t or skew-t innovations
    the h-step expected variance (h >= 2) is infinite in theory (E[exp(c|z|)] diverges for
    polynomial tails); the simulated mean is then a Monte Carlo quantity to be read with care.
    """

    p: int = 1
    o: int = 1
    q: int = 1
    _: KW_ONLY
    dist: Dist = "normal"
    mean: Mean = "zero"

    analytic_forecast: ClassVar[bool] = False

    def __post_init__(self) -> None:
        for name in ("p", "o", "q"):
            _check_order(getattr(self, name), name, "EGARCH")
        if self.p == 0 and self.o == 0:
            raise ConfigError(
                "p and o cannot both be 0 in EGARCH (got p=0, o=0): the variance would not "
                "react to returns. Use p=1."
            )
        _check_choice(self.dist, "dist", tuple(_DISTRIBUTIONS))
        _check_choice(self.mean, "mean", _MEANS)

    @property
    def name(self) -> str:
        return f"EGARCH({self.p},{self.o},{self.q})"

    def _arch_volatility(self) -> VolatilityProcess:
        return ArchEGARCH(p=self.p, o=self.o, q=self.q)

    def _vol_grid(self, var: float) -> list[list[float]]:
        lnv = float(np.log(var))
        grid = []
        for a, g, b in (
            (0.10, -0.05, 0.95),
            (0.20, -0.10, 0.90),
            (0.05, 0.0, 0.98),
            (0.30, -0.05, 0.80),
        ):
            bsum = b if self.q else 0.0
            grid.append(
                [(1.0 - bsum) * lnv]
                + [a / max(self.p, 1)] * self.p
                + [g / max(self.o, 1)] * self.o
                + [b / max(self.q, 1)] * self.q
            )
        return grid

    def _paths(
        self,
        vol_params: np.ndarray,
        resid: np.ndarray,
        sigma2: np.ndarray,
        std_resid: np.ndarray,
        z: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray]:
        lag = max(self.p, self.o, self.q, 1)
        return _recursions.egarch_paths(
            vol_params, self.p, self.o, self.q, std_resid[-lag:], sigma2[-lag:], z
        )


@keyword_options
@dataclass(frozen=True)
class EWMA(VolatilitySpec):
    r"""EWMA (RiskMetrics) variance with a fixed decay ``lam``.

    Parameters
    ----------
    lam : float, default 0.94
        Decay factor in (0, 1); RiskMetrics uses 0.94 for daily and 0.97 for monthly data.
    dist : {"normal", "t", "skewt"}, default "normal"
        Innovation distribution. With "normal" and a zero mean the model has no estimated
        parameters (RiskMetrics); "t"/"skewt" estimate the shape by maximum likelihood.
    mean : {"zero", "constant"}, default "zero"

    Notes
    -----
    .. math::

        \sigma^2_t = \lambda\sigma^2_{t-1} + (1-\lambda)\epsilon^2_{t-1}

    J.P. Morgan/Reuters (1996), *RiskMetrics Technical Document*, 4th ed., eq. (5.3).
    Computed by arch's ``EWMAVariance(lam)``; the recursion starts from arch's backcast, an
    exponentially weighted (weights ``0.94**i``, normalized) average of the first
    ``min(75, T)`` squared residuals. The log-likelihood is the same Gaussian (or t / skew-t)
    likelihood as for the GARCH models.
    """

    lam: float = 0.94
    _: KW_ONLY
    dist: Dist = "normal"
    mean: Mean = "zero"

    def __post_init__(self) -> None:
        lam = self.lam
        if (
            isinstance(lam, bool)
            or not isinstance(lam, (int, float, np.floating))
            or not 0.0 < lam < 1.0
        ):
            raise ConfigError(
                f"lam must be in (0, 1) (got {lam!r}). RiskMetrics uses 0.94 for daily data."
            )
        object.__setattr__(self, "lam", float(lam))
        _check_choice(self.dist, "dist", tuple(_DISTRIBUTIONS))
        _check_choice(self.mean, "mean", _MEANS)

    @property
    def name(self) -> str:
        return f"EWMA({self.lam:g})"

    def _arch_volatility(self) -> VolatilityProcess:
        return EWMAVariance(self.lam)

    def _vol_grid(self, var: float) -> list[list[float]]:
        return [[], [], []]  # no volatility parameters: the grid varies the shape only

    def _paths(
        self,
        vol_params: np.ndarray,
        resid: np.ndarray,
        sigma2: np.ndarray,
        std_resid: np.ndarray,
        z: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray]:
        return _recursions.ewma_paths(self.lam, float(resid[-1]), float(sigma2[-1]), z)
