"""The model at fixed parameters over a new sample, without arch's ``model.fix``.

:meth:`VolatilitySpec.filter <riskmodels.volatility.VolatilitySpec.filter>` is the fast twin of
:meth:`VolatilitySpec.fix <riskmodels.volatility.VolatilitySpec.fix>` for filtering forward at
fixed parameters, once per bar and asset (filtered historical and Monte Carlo scenarios'
``update``, :mod:`riskmodels.scenarios._models`).

``fix`` costs about 2 ms per call on 500 bars, most of it outside the O(T) recursion: arch's
``model.fix`` deep-copies the model and builds a result object, ``_from_arch`` computes the
parameter bounds (``at_bounds``), and the one-step forecast goes through arch's result
machinery. :class:`FilteredVolatilityResult` makes the same arch calls on the same arrays as
``model.fix`` (its steps, in its order: ``_adjust_sample``, the residuals at the mean model's
starting values for the ``backcast`` and ``variance_bounds``, the residuals at the given
parameters, ``compute_variance``, ``sqrt``) and as ``ARCHModelFixedResult.forecast(1)``
(``backcast`` and ``variance_bounds`` of the residuals at the given parameters, then the
volatility process's own analytic ``forecast``), so every number equals ``fix``'s bit for bit,
for every volatility process (GARCH, GJR, EGARCH, EWMA) and distribution. Everything else is
computed on first access, from the same arrays or, for ``arch_result``, by arch's
``model.fix`` itself.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any

import arch
import numpy as np
import pandas as pd

from riskmodels._threads import blas_threads
from riskmodels._typing import SeedLike
from riskmodels.volatility.results import (
    DEFAULT_FORECAST_SIMS,
    VolatilityResult,
    _positive_int,
)
from riskmodels.volatility.specs import BLAS_THREADS, PCT, at_bounds

if TYPE_CHECKING:
    from arch.univariate.base import ARCHModel

    from riskmodels.volatility.specs import VolatilitySpec

__all__ = ["FilteredVolatilityResult"]

#: The fields :class:`FilteredVolatilityResult` computes on first access.
LAZY_FIELDS = (
    "std_errors",
    "loglikelihood",
    "loglikelihood_pct",
    "params_at_bounds",
    "binding_constraints",
    "bounds",
    "arch_result",
)

#: ``pd.Index`` of parameter names, by names: building one from strings costs ~60 us, more
#: than the rest of a params Series; an Index is immutable, so results can share it.
_PARAM_INDEX: dict[tuple[str, ...], pd.Index] = {}


def _param_index(names: tuple[str, ...]) -> pd.Index:
    """The Index ``pd.Series(values, index=list(names))`` would build (shared, immutable)."""
    index = _PARAM_INDEX.get(names)
    if index is None:
        index = _PARAM_INDEX[names] = pd.Index(list(names))
    return index


class FilteredVolatilityResult(VolatilityResult):
    """A :class:`VolatilityResult` at fixed parameters whose costly parts are computed lazily.

    Made by :meth:`VolatilitySpec.filter`; equal, field by field and bit for bit, to
    :meth:`VolatilitySpec.fix` on the same returns and parameters. ``params``,
    ``conditional_volatility``, ``std_resid`` and ``resid`` are set at construction;
    ``std_errors``, ``loglikelihood``, ``loglikelihood_pct``, ``params_at_bounds``,
    ``binding_constraints``, ``bounds`` and ``arch_result`` are computed on first access and
    then kept (like the dataclass fields, in the instance dict). ``forecast(1)`` comes from
    :attr:`variance_next`; longer or simulated forecasts use ``arch_result`` (arch's
    ``model.fix``, built once).
    """

    _model: ARCHModel
    _y_pct: pd.Series
    _x: np.ndarray
    _sigma2: np.ndarray
    _resids: np.ndarray

    @classmethod
    def _compute(
        cls,
        spec: VolatilitySpec,
        asset: str,
        y: pd.Series,
        x: np.ndarray,
        model: ARCHModel,
    ) -> FilteredVolatilityResult:
        """The filtered result from validated inputs (:meth:`VolatilitySpec._prepare_fix`)."""
        vol = model.volatility
        # arch's ARCHModel.fix, step by step (arch 8.0, arch/univariate/base.py), without the
        # deep copy of the model and the result object: the same calls on the same arrays.
        with blas_threads(limits=BLAS_THREADS):
            model._adjust_sample(None, None)
            sv_resids = model.resids(model.starting_values())
            backcast = vol.backcast(sv_resids)
            var_bounds = vol.variance_bounds(sv_resids)
            mp, vp, _ = model._parse_parameters(x)
            resids = np.asarray(model.resids(mp), dtype=float).reshape(-1)
            sigma2 = np.zeros(resids.shape[0], dtype=float)
            vol.compute_variance(vp, resids, sigma2, backcast, var_bounds)
            sigma = np.sqrt(sigma2)
        index = y.index
        out = cls.__new__(cls)
        out.__dict__.update(
            spec=spec,
            asset=asset,
            params=pd.Series(
                np.asarray(x, dtype=float), index=_param_index(spec.param_names), name="params"
            ),
            conditional_volatility=pd.Series(
                sigma / PCT, index=index, name="conditional_volatility"
            ),
            std_resid=pd.Series(resids / sigma, index=index, name="std_resid"),
            resid=pd.Series(resids / PCT, index=index, name="resid"),
            converged=True,
            convergence_flag=None,
            convergence_message="parameters fixed by the caller (no estimation)",
            estimated=False,
            failure_note=None,
            blas_threads=BLAS_THREADS,
            arch_version=arch.__version__,
            _model=model,
            _y_pct=model._y_series,
            _x=x,
            _sigma2=sigma2,
            _resids=resids,
        )
        return out

    # -- lazily computed fields (cached_property writes the instance dict, as the dataclass
    # fields are stored, so a frozen instance can hold them) -----------------------------
    @cached_property
    def std_errors(self) -> pd.Series:
        names = list(self.params.index)
        return pd.Series(np.full(len(names), np.nan), index=names, name="std_err")

    @cached_property
    def loglikelihood_pct(self) -> float:
        # arch's fix: -1.0 * _loglikelihood(...) = -1.0 * -float(dist.loglikelihood(...)),
        # with sigma2 from the same compute_variance call as conditional_volatility.
        model = self._model
        _, _, dp = model._parse_parameters(self._x)
        with blas_threads(limits=BLAS_THREADS):
            llf = model.distribution.loglikelihood(dp, self._resids, self._sigma2, False)
        neg_llf = -float(llf)  # ARCHModel._loglikelihood's return value
        return float(-1.0 * neg_llf)

    @cached_property
    def loglikelihood(self) -> float:
        return self.loglikelihood_pct + self.nobs * float(np.log(PCT))

    @cached_property
    def _bound_diagnostics(
        self,
    ) -> tuple[tuple[str, ...], tuple[str, ...], dict[str, tuple[float, float]]]:
        return at_bounds(self._model, self.params.to_numpy(), list(self.params.index))

    @cached_property
    def params_at_bounds(self) -> tuple[str, ...]:
        return self._bound_diagnostics[0]

    @cached_property
    def binding_constraints(self) -> tuple[str, ...]:
        return self._bound_diagnostics[1]

    @cached_property
    def bounds(self) -> dict[str, tuple[float, float]]:
        return self._bound_diagnostics[2]

    @cached_property
    def arch_result(self) -> Any:
        """arch's ``model.fix`` on a fresh model, exactly as :meth:`VolatilitySpec.fix` runs it."""
        model = self.spec.arch_model(self._y_pct)
        with blas_threads(limits=BLAS_THREADS):
            return model.fix(self._x)

    @cached_property
    def arch_distribution(self) -> Any:
        """arch's distribution object of the model (for per-date log-likelihoods), without
        building ``arch_result``."""
        return self._model.distribution

    # -- the one-step forecast -----------------------------------------------------------
    @cached_property
    def variance_next(self) -> float:
        """``E_T[sigma^2_{T+1}]`` in decimal², equal to ``forecast(1).iloc[0]``.

        arch's ``ARCHModelFixedResult.forecast(horizon=1)`` (``HARX.forecast``), step by step:
        ``backcast`` and ``variance_bounds`` of the residuals at the given parameters, then the
        volatility process's analytic forecast from the last bar.
        """
        model = self._model
        vol = model.volatility
        mp, vp, _ = model._parse_parameters(self._x)
        resids = np.asarray(model.resids(mp), dtype=float).reshape(-1)
        backcast = vol.backcast(resids)
        vb = vol.variance_bounds(resids, 2.0)
        f = vol.forecast(vp, resids, backcast, vb, start=resids.shape[0] - 1, horizon=1)
        assert f.forecasts is not None
        return float(np.asarray(f.forecasts[-1], dtype=float)[0] / PCT**2)

    def forecast(
        self,
        horizon: int,
        *,
        n_sims: int = DEFAULT_FORECAST_SIMS,
        rng: SeedLike = None,
    ) -> pd.Series:
        """:meth:`VolatilityResult.forecast`; ``horizon=1`` without building ``arch_result``."""
        h = _positive_int(horizon, "horizon", "Use 1 for a one-step-ahead forecast.")
        if h != 1 or "_model" not in self.__dict__:
            return super().forecast(horizon, n_sims=n_sims, rng=rng)
        return pd.Series(
            [self.variance_next], index=pd.RangeIndex(1, 2, name="horizon"), name="variance"
        )
