r"""Historical simulation: the joint moves the assets actually made over past horizons.

>>> gen = HistoricalScenarios(window=1000)                          # doctest: +SKIP
>>> sc = gen.generate(returns, "2024-01-31", "5d")                  # doctest: +SKIP
>>> sc.frame()        # one row per 5-day window, labelled by its first bar   # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import KW_ONLY, dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view

from riskmodels._deprecation import keyword_options
from riskmodels._typing import DurationLike, SeedLike
from riskmodels.exceptions import ConfigError, InsufficientDataError
from riskmodels.scenarios._inputs import (
    asof_cut,
    check_window,
    fmt_time,
    labels_of,
    new_rows,
    prepare_sample,
)
from riskmodels.scenarios.base import Scenarios, as_horizon

__all__ = ["FittedHistoricalScenarios", "HistoricalScenarios"]


def _check_weights(weights: object) -> str | float:
    if isinstance(weights, str):
        if weights == "equal":
            return weights
    elif (
        isinstance(weights, int | float | np.floating)
        and not isinstance(weights, bool)
        and 0.0 < float(weights) < 1.0
    ):
        return float(weights)
    raise ConfigError(
        f"weights must be 'equal' or a decay factor in (0, 1) for age weighting (got "
        f"{weights!r}). Boudoukh, Richardson and Whitelaw (1998) use 0.97-0.99 for daily data."
    )


@keyword_options
@dataclass(frozen=True)
class HistoricalScenarios:
    r"""Historical simulation (HS): past joint moves over the horizon, as they happened.

    Parameters
    ----------
    window : int or None, default None
        Number of bars of history (the last ``window`` rows where every asset has data, up to
        the as-of bar); None uses every row given. ``generate`` raises
        :class:`~riskmodels.exceptions.InsufficientDataError` when fewer rows are available.
    overlapping : bool, default True
        For an ``h``-bar horizon, one scenario per start bar (``window - h + 1`` overlapping
        sums); False gives ``window // h`` non-overlapping blocks, aligned so that the last
        block ends at the as-of bar (the oldest ``window mod h`` bars are not used).
    weights : "equal" or float, default "equal"
        Equal probabilities, or age weights with decay ``lambda`` in (0, 1): a scenario whose
        last bar is ``a`` bars before the as-of bar gets weight proportional to
        ``lambda**a`` (Boudoukh, Richardson and Whitelaw 1998, "The best of both worlds",
        *Risk* 11(5), eq. (1): ``w_i = lambda^{i-1} (1 - lambda) / (1 - lambda^K)``).

    Notes
    -----
    With bars :math:`r_1, \dots, r_W` (the window, oldest first) and an ``h``-bar horizon the
    scenarios are the summed log returns

    .. math::

        R_s = \sum_{k=0}^{h-1} r_{s+k}, \qquad s = 1, \dots, W - h + 1

    (overlapping) or :math:`s = W - jh + 1`, :math:`j = 1, \dots, \lfloor W/h \rfloor`
    (non-overlapping), labelled by the timestamp of their first bar :math:`s`. For ``h = 1``
    they are the last ``window`` rows themselves.

    Overlapping sums share ``h - 1`` bars with their neighbours, so they are strongly
    autocorrelated: the ``W - h + 1`` scenarios carry about the information of ``W / h``
    independent ones, and tail quantiles estimated from them are noisier than their count
    suggests (and a single extreme bar appears in ``h`` scenarios). Non-overlapping blocks are
    independent under i.i.d. returns but few. Either way HS assumes the window is
    representative of the next horizon: it does not react to the current volatility level
    (see :class:`~riskmodels.scenarios.FilteredHistoricalScenarios`).

    Historical scenarios need no estimation and no random numbers: ``rng`` is accepted for
    the generator protocol and ignored, and ``n`` must be None (one scenario per historical
    window).
    """

    window: int | None = None
    _: KW_ONLY
    overlapping: bool = True
    weights: str | float = "equal"

    def __post_init__(self) -> None:
        object.__setattr__(self, "window", check_window(self.window, model="HistoricalScenarios"))
        if not isinstance(self.overlapping, bool | np.bool_):
            raise ConfigError(f"overlapping must be True or False (got {self.overlapping!r}).")
        object.__setattr__(self, "weights", _check_weights(self.weights))

    def fit(self, returns: pd.DataFrame, *, rng: SeedLike = None) -> FittedHistoricalScenarios:
        """Keep the window: the last ``window`` common rows of ``returns`` (all when None).

        Parameters
        ----------
        returns : DataFrame of shape (n_observations, n_assets)
            Decimal log returns on a sorted UTC ``DatetimeIndex``; the caller cuts them at the
            as-of date. Assets may start at different dates (leading NaN); the last row must
            hold every asset.
        rng : ignored
            Historical simulation is deterministic.

        Returns
        -------
        FittedHistoricalScenarios
        """
        sample, freq = prepare_sample(
            returns, window=self.window, min_obs=1, model="HistoricalScenarios"
        )
        return FittedHistoricalScenarios(spec=self, returns=sample, freq=freq)

    def generate(
        self,
        returns: pd.DataFrame,
        asof: pd.Timestamp | str,
        horizon: DurationLike,
        rng: SeedLike = None,
        n: int | None = None,
    ) -> Scenarios:
        """``fit(returns.loc[:asof]).scenarios(horizon, n, rng)``: no data after ``asof``."""
        return self.fit(asof_cut(returns, asof)).scenarios(horizon, n, rng)


@dataclass(frozen=True, kw_only=True, eq=False)
class FittedHistoricalScenarios:
    """Historical simulation over a window of bars ending at ``asof``.

    Attributes
    ----------
    spec : HistoricalScenarios
    returns : DataFrame
        The window (W x N decimal log returns).
    freq : Timedelta
        The bar length (:func:`riskmodels._time.bar_frequency` of the returns given to ``fit``).
    """

    spec: HistoricalScenarios
    returns: pd.DataFrame
    freq: pd.Timedelta

    @property
    def asof(self) -> pd.Timestamp:
        """The last bar of the window."""
        return self.returns.index[-1]

    @property
    def assets(self) -> tuple[str, ...]:
        return tuple(self.returns.columns)

    def update(self, returns: pd.DataFrame) -> FittedHistoricalScenarios:
        """Roll the window forward through the bars of ``returns`` after ``asof``.

        Rows at or before ``asof`` are ignored; the new bars must hold every asset on
        consecutive bars. With ``window=None`` the history grows. The result equals
        ``spec.fit`` on the same rows.
        """
        rows = new_rows(self.returns, returns, self.asof, self.freq)
        if rows is None:
            return self
        data = pd.concat([self.returns, rows])
        if self.spec.window is not None:
            data = data.iloc[-self.spec.window :]
        return FittedHistoricalScenarios(spec=self.spec, returns=data, freq=self.freq)

    def diagnostics(self) -> dict[str, Any]:
        """Nothing is estimated: converged, no log-likelihood, no parameters."""
        return {
            "converged": True,
            "loglik": float("nan"),
            "params": {},
            "params_at_bounds": (),
            "note": None,
        }

    def scenarios(
        self,
        horizon: DurationLike,
        n: int | None = None,
        rng: SeedLike = None,
    ) -> Scenarios:
        """Summed log returns over every ``horizon``-long stretch of the window.

        Parameters
        ----------
        horizon : str or Timedelta
            A whole number ``h`` of bars (``"1d"``, ``"5d"``, ``"4h"``).
        n : None
            Must be None: historical simulation has one scenario per historical window.
        rng : ignored

        Returns
        -------
        Scenarios
            ``returns`` of shape (K, N), ``labels`` the first bar of each stretch, ``weights``
            None (equal) or the age weights; ``meta`` holds the window, ``h``, the bar length
            and the weighting.
        """
        h = as_horizon(horizon, self.freq)
        if n is not None:
            raise ConfigError(
                f"n must be None for historical simulation, which gives one scenario per "
                f"historical window (got n={n!r}). Use FilteredHistoricalScenarios or "
                "MonteCarloScenarios for a chosen number of scenarios."
            )
        X = self.returns.to_numpy()
        W = X.shape[0]
        if W < h:
            raise InsufficientDataError(
                f"a {h}-bar horizon needs at least {h} bars of history, but the window has {W} "
                f"({fmt_time(self.returns.index[0])} to {fmt_time(self.asof)}). Use a longer "
                "window or a shorter horizon."
            )
        if h == 1:
            starts = np.arange(W)
            R = X.copy()
        elif self.spec.overlapping:
            starts = np.arange(W - h + 1)
            R = sliding_window_view(X, h, axis=0).sum(axis=-1)
        else:
            K = W // h
            first = W - K * h
            starts = first + h * np.arange(K)
            R = X[first:].reshape(K, h, X.shape[1]).sum(axis=1)
        ends = starts + h - 1
        ages = (W - 1) - ends
        weights = None
        decay = self.spec.weights
        if not isinstance(decay, str):
            weights = decay ** ages.astype(float)
        index = self.returns.index
        kind = (
            "single bars"
            if h == 1
            else f"{'overlapping' if self.spec.overlapping else 'non-overlapping'} {h}-bar sums"
        )
        weighting = "equal weights" if weights is None else f"age weights (decay {decay:g})"
        meta: dict[str, Any] = {
            "window": self.spec.window,
            "window_start": index[0],
            "window_end": index[-1],
            "nobs": W,
            "freq": self.freq,
            "steps": h,
            "n": int(R.shape[0]),
            "overlapping": bool(self.spec.overlapping),
            "weights": self.spec.weights,
            "seed": None,
        }
        return Scenarios(
            returns=R,
            assets=self.assets,
            horizon=h * self.freq,
            asof=self.asof,
            weights=weights,
            labels=labels_of(index[starts]),
            method=f"historical simulation: {kind} over a {W}-bar window, {weighting}",
            meta=meta,
        )

    def __repr__(self) -> str:
        return (
            f"FittedHistoricalScenarios({len(self.returns)} bars of {self.freq}, "
            f"{fmt_time(self.returns.index[0])} to {fmt_time(self.asof)}, assets="
            f"{list(self.assets)})"
        )
