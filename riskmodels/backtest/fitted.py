r"""A VaR/ES model fitted on a window, as an object: ``update`` and ``forecast`` without the engine.

The walk-forward engine drives a :class:`~riskmodels.backtest.VaRModel` through a low-level
protocol (``state = model.fit(...)``, ``model.update(state, rows)``,
``model.forecast(state, ...)``) so that states stay small and picklable across workers. A user
at a notebook wants the package's spec ▸ fit ▸ frozen result protocol instead:

>>> fitted = ParametricModel(EWMA(0.94)).fit_model(window)          # doctest: +SKIP
>>> fitted.forecast([0.99, 0.975])                                   # VaR and ES per level
>>> fitted = fitted.update(todays_returns)                           # filter one bar forward
>>> fitted.diagnostics()

:class:`FittedVaRModel` wraps the model and its state, immutably: ``update`` returns a new
object, and every number equals what the engine computes from the same calls (test).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from riskmodels._display import esc, table_html
from riskmodels._random import as_generator
from riskmodels._time import as_timedelta, bar_frequency, horizon_bars
from riskmodels.exceptions import ConfigError, DataError

__all__ = ["FittedVaRModel", "fit_var_model"]


def _frame(returns: pd.DataFrame | pd.Series) -> pd.DataFrame:
    frame = returns.to_frame() if isinstance(returns, pd.Series) else returns
    if not isinstance(frame, pd.DataFrame) or frame.empty:
        raise DataError("returns must be a non-empty DataFrame (or Series) of log returns.")
    if frame.isna().to_numpy().any():
        raise DataError(
            "returns hold NaN: fit on a window where every asset trades "
            "(riskmodels.data.common_sample) or drop the assets that do not."
        )
    return frame


def _exposures(exposures: Any, columns: pd.Index) -> pd.Series:
    if exposures is None:
        return pd.Series(1.0 / len(columns), index=columns, dtype=float)
    e = pd.Series(exposures, dtype=float)
    missing = [c for c in e.index if c not in columns]
    if missing:
        raise ConfigError(f"exposures name assets not in the returns: {missing}.")
    return e


@dataclass(frozen=True, kw_only=True, eq=False)
class FittedVaRModel:
    """A VaR/ES model fitted on a window (immutable; :meth:`update` returns a new one).

    Attributes
    ----------
    model : VaRModel
        The spec (``ScenarioModel``, ``ParametricModel``, ``ConditionalEVT``, ...).
    state : object
        The model's own state (what the walk-forward engine passes around).
    exposures : pandas.Series
        Exposure per asset the forecasts are for (USD notional or fractions of one).
    bar : pandas.Timedelta
        The bar length of the returns.
    as_of : pandas.Timestamp
        The last bar the model has seen.
    """

    model: Any
    state: Any
    exposures: pd.Series
    bar: pd.Timedelta
    as_of: pd.Timestamp

    def update(self, new_returns: pd.DataFrame | pd.Series) -> FittedVaRModel:
        """Filter through the bars after :attr:`as_of`, with the same parameters.

        Raises
        ------
        DataError
            Rows at or before ``as_of``, or assets missing.
        """
        new = _frame(new_returns)
        if new.index[0] <= self.as_of:
            raise DataError(
                f"new_returns start at {new.index[0]}, not after the model's last bar "
                f"{self.as_of}: pass only the bars after it."
            )
        missing = [c for c in self.exposures.index if c not in new.columns]
        if missing:
            raise DataError(f"new_returns lack the assets {missing}.")
        state = self.model.update(self.state, new)
        return FittedVaRModel(
            model=self.model,
            state=state,
            exposures=self.exposures,
            bar=self.bar,
            as_of=new.index[-1],
        )

    def forecast(
        self,
        alphas: float | Sequence[float] = (0.99, 0.975),
        horizon: Any = None,
        *,
        rng: Any = None,
    ) -> pd.DataFrame:
        """VaR and ES (positive losses) of the exposures' P&L over ``horizon``.

        Parameters
        ----------
        alphas : float or sequence of float
            Confidence levels in [0.5, 1).
        horizon : str or Timedelta, optional
            A whole number of bars (default one bar).
        rng : None, int, SeedSequence or Generator
            For models that simulate (``riskmodels._random.as_generator``).

        Returns
        -------
        DataFrame
            Index ``alpha``; columns ``var``, ``es``.
        """
        levels = (alphas,) if isinstance(alphas, float | int) else tuple(alphas)
        for a in levels:
            if not 0.5 <= float(a) < 1:
                raise ConfigError(f"alpha must be in [0.5, 1) (got {a!r}), e.g. 0.99.")
        h = 1 if horizon is None else horizon_bars(as_timedelta(horizon, "horizon"), self.bar)
        validate = getattr(self.model, "validate", None)
        if callable(validate):
            validate(alphas=levels, horizon_bars=h)
        var, es = self.model.forecast(
            self.state, self.exposures, levels, h * self.bar, as_generator(rng)
        )
        return pd.DataFrame(
            {"var": np.asarray(var, dtype=float), "es": np.asarray(es, dtype=float)},
            index=pd.Index([float(a) for a in levels], name="alpha"),
        )

    def diagnostics(self) -> dict[str, Any]:
        """The model's diagnostics (``converged``, ``loglik``, ``params``, ...)."""
        return dict(self.model.diagnostics(self.state))

    def __repr__(self) -> str:
        name = getattr(self.model, "name", type(self.model).__name__)
        return (
            f"FittedVaRModel({name}, as of {self.as_of}, {len(self.exposures)} asset(s), "
            f"bar {self.bar})"
        )

    def _repr_html_(self) -> str:
        return f"<p>{esc(repr(self))}</p>" + table_html(
            self.forecast().reset_index(), {"alpha": "pct", "var": "number", "es": "number"}
        )


def fit_var_model(
    model: Any,
    returns: pd.DataFrame | pd.Series,
    *,
    exposures: pd.Series | Mapping[str, float] | None = None,
    rng: Any = None,
    warm_start: FittedVaRModel | None = None,
) -> FittedVaRModel:
    """Fit a VaR/ES model on ``returns`` (every row: the estimation window).

    Parameters
    ----------
    model : VaRModel
    returns : DataFrame or Series
        Decimal log returns on a regular grid of bars, no NaN.
    exposures : Series or dict, optional
        Exposure per asset (default equal fractions 1/N).
    rng : None, int, SeedSequence or Generator
        For models that draw at fit.
    warm_start : FittedVaRModel, optional
        A previous fit of the same model: its parameters start the optimizer.

    Returns
    -------
    FittedVaRModel
    """
    frame = _frame(returns)
    bar = bar_frequency(frame.index, regular=True)
    e = _exposures(exposures, frame.columns)
    frame = frame[list(e.index)]  # the engine fits on the exposures' assets only
    prev = None if warm_start is None else warm_start.state
    state = model.fit(frame, exposures=e, warm_start=prev, rng=as_generator(rng))
    return FittedVaRModel(model=model, state=state, exposures=e, bar=bar, as_of=frame.index[-1])
