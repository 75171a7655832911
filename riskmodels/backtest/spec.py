r"""The walk-forward backtest as a spec: what to backtest, set once; where to run it, per call.

:func:`~riskmodels.backtest.walk_forward` takes the models, the data, the backtest design and the
run options in one call of twenty keywords. :class:`WalkForward` splits them along the package's
spec ▸ run ▸ frozen result protocol:

* the **spec** (keyword-only, frozen, validated at construction) holds the models and the design
  (levels, horizon, window, refit schedule, seed, failure policy): it is what a validation
  report describes and what a cache key hashes;
* :meth:`WalkForward.run` takes the data (returns, weights, an optional sub-window) and the
  :class:`~riskmodels.parallel.RunOptions` (where the tasks run, which changes no number) and
  returns the frozen :class:`~riskmodels.backtest.WalkForwardResult`.

>>> from riskmodels.backtest import WalkForward, standard_models      # doctest: +SKIP
>>> design = WalkForward(models=standard_models(500), window=500, refit_every=25, seed=7)
>>> result = design.run(returns, run=RunOptions.from_config(config))

``walk_forward(...)`` stays as the thin function (``design.run`` calls it), for notebooks where one
call reads better.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from riskmodels._time import as_timedelta
from riskmodels._typing import DurationLike
from riskmodels.backtest.walkforward import WalkForwardResult, walk_forward
from riskmodels.exceptions import ConfigError
from riskmodels.parallel import RunOptions

__all__ = ["WalkForward"]

_UPDATE_FAILURE = ("raise", "refit")


@dataclass(frozen=True, kw_only=True)
class WalkForward:
    """A rolling-origin VaR/ES backtest design (the spec of :func:`walk_forward`).

    Parameters
    ----------
    models : VaRModel, list or dict of VaRModel
        What to backtest (e.g. :func:`~riskmodels.backtest.standard_models`); a list is stored
        as a tuple, a dict as a read-only mapping.
    alphas : float or sequence of float, default (0.99, 0.975)
        Confidence levels, each in [0.5, 1).
    horizon : str or Timedelta, default "1d"
        Forecast horizon, a whole number of bars.
    window : int, default 1000
        Estimation window in bars.
    refit_every : int, default 20
        Re-estimate every this many origins; in between the models are filtered forward.
    seed : int or SeedSequence, default 0
        Root of every task's random stream (keyed by task, so results do not depend on the run
        options).
    chunk_size : int, optional
        Refits per task.
    warm_start : bool, default True
        Start each re-estimation from the previous parameters.
    update_failure : {"raise", "refit"}, default "raise"
        What to do when a model cannot be filtered forward.

    Raises
    ------
    ConfigError
        An invalid value (the same checks as :func:`walk_forward`, made here at construction
        for the scalar ones).

    See Also
    --------
    walk_forward : the same backtest as one function call.
    """

    models: Any
    alphas: float | Sequence[float] = (0.99, 0.975)
    horizon: DurationLike = "1d"
    window: int = 1000
    refit_every: int = 20
    seed: int | np.random.SeedSequence = 0
    chunk_size: int | None = None
    warm_start: bool = True
    update_failure: str = "raise"

    def __post_init__(self) -> None:
        if isinstance(self.models, list):
            object.__setattr__(self, "models", tuple(self.models))
        elif isinstance(self.models, Mapping):
            from riskmodels._frozen import FrozenDict

            object.__setattr__(self, "models", FrozenDict(self.models))
        if self.models is None or (isinstance(self.models, tuple | Mapping) and not self.models):
            raise ConfigError(
                "models is empty: pass a VaRModel, a list or a dict of them, e.g. "
                "models=standard_models(500)."
            )
        alphas = (self.alphas,) if isinstance(self.alphas, float | int) else tuple(self.alphas)
        object.__setattr__(self, "alphas", alphas)
        as_timedelta(self.horizon, "horizon")
        for name, low in (("window", 2), ("refit_every", 1)):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int | np.integer) or v < low:
                raise ConfigError(f"{name} must be an integer >= {low} (got {v!r}).")
        if self.update_failure not in _UPDATE_FAILURE:
            raise ConfigError(
                f"update_failure must be 'raise' or 'refit' (got {self.update_failure!r})."
            )

    def run(
        self,
        returns: pd.DataFrame | pd.Series,
        weights: pd.Series | Mapping[str, float] | None = None,
        *,
        start: Any = None,
        end: Any = None,
        run: RunOptions | None = None,
    ) -> WalkForwardResult:
        """Run the backtest on ``returns`` (see :func:`walk_forward` for every argument).

        Parameters
        ----------
        returns : DataFrame or Series
            Decimal log returns on a regular grid of bars.
        weights : Series or dict, optional
            Exposure per asset (default equal fractions).
        start, end : date-like, optional
            First and last forecast origin.
        run : RunOptions, optional
            Where the tasks run (default: ``RunOptions()``, loky in this process for
            ``n_jobs=None``). No number depends on it.

        Returns
        -------
        WalkForwardResult
        """
        models = dict(self.models) if isinstance(self.models, Mapping) else self.models
        models = list(models) if isinstance(models, tuple) else models
        return walk_forward(
            models,
            returns,
            weights,
            alphas=self.alphas,
            horizon=self.horizon,
            window=self.window,
            refit_every=self.refit_every,
            start=start,
            end=end,
            seed=self.seed,
            chunk_size=self.chunk_size,
            warm_start=self.warm_start,
            update_failure=self.update_failure,
            run=run if run is not None else RunOptions(),
        )

    def replace(self, **changes: Any) -> WalkForward:
        """A copy with ``changes`` (validated)."""
        return dataclasses.replace(self, **changes)
