r"""Liquidation horizons, the data that serves them, slippage and horizon losses.

A position of notional :math:`N` in an asset with average daily (quote) volume :math:`V` is
unwound at participation rate :math:`\pi` of the volume, so it takes

.. math:: T(N) = \frac{N}{\pi V}\ \text{days}, \qquad h(N) = \max(h_0, T(N)),

where :math:`h_0` is the base liquidation horizon (the smallest position's, at least one bar of
the data). :math:`h(N)` is then rounded **up** to the nearest horizon the data can measure: a
whole number of bars of one of the available frequencies (1h, 4h, 1d ...). Among the
frequencies that reach the smallest such horizon the coarsest is used (fewest overlapping
windows, longest history in the mirror): ``"1d"`` serves 1, 2, 3 ... days, ``"4h"`` 4h, 8h,
..., ``"1h"`` the rest. The frequency that served each figure is reported with it.

The loss of a position held from origin :math:`t` over :math:`h` bars, per unit of notional, is

.. math::

    L^\text{long}_t = 1 - e^{R_{t,h}}, \qquad L^\text{short}_t = e^{R_{t,h}} - 1, \qquad
    R_{t,h} = \sum_{s=1}^{h} r_{t+s},

for decimal log returns :math:`r` labelled by bar open time (the return labelled :math:`t` is
known at the end of bar :math:`t`, as in :mod:`riskmodels.backtest.walkforward`).

Slippage is the square-root impact cost of :class:`riskmodels.margin.LiquidityAddOn` per unit
of notional, :math:`Y\sigma\sqrt{h}\,(N/(Vh))^\beta` (Tóth et al. 2011; the formula lives there
and is not repeated here).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

from riskmodels._time import as_timedelta, bar_frequency, duration_label
from riskmodels.exceptions import ConfigError, DataError
from riskmodels.margin import LiquidityAddOn

__all__ = [
    "DataChoice",
    "adv_from_ohlcv",
    "as_returns_by_freq",
    "choose_data",
    "daily_volatility",
    "horizon_losses",
    "liquidation_horizon",
    "slippage_rate",
]

DAY = pd.Timedelta(days=1)
Side = Literal["long", "short"]


def utc_timestamp(value: Any, name: str) -> pd.Timestamp:
    """``value`` as a UTC Timestamp (naive values are read as UTC), else :class:`ConfigError`."""
    try:
        t = pd.Timestamp(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{name} must be a date such as '2024-01-01' (got {value!r}).") from exc
    if t is pd.NaT:
        raise ConfigError(f"{name} must be a date such as '2024-01-01' (got NaT).")
    return t.tz_localize("UTC") if t.tz is None else t.tz_convert("UTC")


#: Kept under its old name for the modules that import it; one formatter for durations.
_freq_label = duration_label


def frequency_of(frame: pd.DataFrame | pd.Series, name: str = "returns") -> pd.Timedelta:
    """Bar length of a UTC grid: :func:`riskmodels._time.bar_frequency` of the index.

    The smallest step between consecutive bars; a longer step must be whole missing bars
    (kept as gaps), else :class:`DataError` (whose message is prefixed with ``name``).
    """
    idx = frame.index
    if not isinstance(idx, pd.DatetimeIndex):
        raise DataError(
            f"{name} needs a DatetimeIndex of bar open times (got {type(idx).__name__} of "
            f"length {len(idx)})."
        )
    try:
        return bar_frequency(idx)
    except DataError as exc:
        raise type(exc)(f"{name}: {exc}") from None


def as_returns_by_freq(
    returns: pd.DataFrame | pd.Series | Mapping[str, pd.DataFrame | pd.Series],
) -> dict[pd.Timedelta, pd.DataFrame]:
    """Returns per bar length: one frame, or a mapping ``{"1h": frame, "1d": frame}``.

    The mapping keys are checked against each frame's own grid.
    """
    if isinstance(returns, pd.Series | pd.DataFrame):
        items: Iterable[tuple[Any, Any]] = [(None, returns)]
    elif isinstance(returns, Mapping) and returns:
        items = returns.items()
    else:
        raise ConfigError(
            "returns must be a DataFrame of log returns (one column per asset) or a non-empty "
            f"mapping such as {{'1h': frame_1h, '1d': frame_1d}} (got {type(returns).__name__})."
        )
    out: dict[pd.Timedelta, pd.DataFrame] = {}
    for key, frame in items:
        if not isinstance(frame, pd.Series | pd.DataFrame):
            raise ConfigError(f"returns[{key!r}] must be a DataFrame (got {type(frame).__name__}).")
        df = frame.to_frame() if isinstance(frame, pd.Series) else frame
        step = frequency_of(df, "returns" if key is None else f"returns[{key!r}]")
        if key is not None and as_timedelta(key, "returns key") != step:
            raise ConfigError(
                f"returns[{key!r}] has {_freq_label(step)} bars, not {key!r}: key each frame "
                "by its own bar length."
            )
        if step in out:
            raise ConfigError(f"returns holds two frames with {_freq_label(step)} bars.")
        out[step] = df.astype("float64")
    return dict(sorted(out.items()))


class DataChoice(tuple[pd.Timedelta, int]):
    """``(freq, n_bars)``: the bar length that serves a horizon and the number of bars."""

    __slots__ = ()

    def __new__(cls, freq: pd.Timedelta, n_bars: int) -> DataChoice:
        return super().__new__(cls, (freq, n_bars))

    @property
    def freq(self) -> pd.Timedelta:
        return self[0]

    @property
    def n_bars(self) -> int:
        return self[1]

    @property
    def horizon(self) -> pd.Timedelta:
        """The horizon actually measured: ``n_bars × freq`` (>= the one asked for)."""
        return self[0] * self[1]

    @property
    def label(self) -> str:
        return _freq_label(self[0])


def choose_data(horizon: Any, freqs: Sequence[pd.Timedelta]) -> DataChoice:
    """The frequency and number of bars that measure ``horizon`` (rounded up).

    Parameters
    ----------
    horizon : str or Timedelta
        Liquidation horizon wanted.
    freqs : sequence of Timedelta
        Bar lengths available.

    Returns
    -------
    DataChoice
        Smallest ``k × f >= horizon`` over the available ``f``; ties go to the coarsest ``f``.

    Raises
    ------
    ConfigError
        ``horizon`` shorter than the shortest bar (it cannot be measured), or not positive.
    """
    h = as_timedelta(horizon, "horizon")
    if h <= pd.Timedelta(0):
        raise ConfigError(f"horizon must be positive (got {horizon!r}).")
    fs = sorted(set(freqs))
    if not fs:
        raise ConfigError("no data frequencies to choose from; pass returns.")
    if h < fs[0]:
        raise ConfigError(
            f"horizon {_freq_label(h)} is shorter than the data frequency "
            f"{_freq_label(fs[0])}: a loss over {_freq_label(h)} cannot be measured on these bars. "
            f"Pass finer bars (e.g. returns={{'1h': ...}}) or a horizon of at least "
            f"{_freq_label(fs[0])}."
        )
    best: DataChoice | None = None
    for f in fs:  # ascending: a later (coarser) frequency wins ties
        k = math.ceil(h / f - 1e-12)
        cand = DataChoice(f, k)
        if best is None or cand.horizon <= best.horizon:
            best = cand
    assert best is not None
    return best


def liquidation_horizon(
    notional: float,
    adv: float | None,
    *,
    base: Any = "1d",
    participation: float = 0.10,
) -> pd.Timedelta:
    r"""Time to liquidate: :math:`\max(h_0, N / (\pi V))` (module docstring).

    Parameters
    ----------
    notional : float
        Position notional (USD, absolute).
    adv : float or None
        Average daily volume (USD per day); None means unlimited (the base horizon).
    base : str or Timedelta, default "1d"
        :math:`h_0`.
    participation : float, default 0.10
        :math:`\pi`, the share of the market's volume the liquidator may take.
    """
    h0 = as_timedelta(base, "horizon")
    if not (0 < participation <= 1):
        raise ConfigError(
            f"participation must be in (0, 1] (got {participation!r}); 0.10 means 10% of volume."
        )
    n = abs(float(notional))
    if adv is None or not math.isfinite(n):
        return h0
    if not (adv > 0):
        raise ConfigError(f"adv must be > 0 USD per day (got {adv!r}).")
    t = pd.Timedelta(days=n / (participation * float(adv)))
    return max(h0, t)


def slippage_rate(
    notional: float,
    asset: str,
    *,
    adv: float | None,
    volatility: float,
    horizon: Any,
    coefficient: float = 1.0,
    exponent: float = 0.5,
) -> float:
    """Square-root impact cost per unit of notional, from :class:`~riskmodels.margin.LiquidityAddOn`.

    Zero when ``adv`` is None or the notional is zero.
    """
    n = abs(float(notional))
    if adv is None or n == 0 or not math.isfinite(n):
        return 0.0
    addon = LiquidityAddOn(
        adv={asset: float(adv)},
        volatility={asset: float(volatility)},
        coefficient=coefficient,
        exponent=exponent,
        horizon=horizon,
    )
    return float(addon.charges(np.array([n]), [asset])[0]) / n


def daily_volatility(r: pd.Series, freq: pd.Timedelta) -> float:
    """Sample standard deviation of ``r`` scaled to one day (square-root-of-time)."""
    x = r.dropna().to_numpy()
    if x.size < 2:
        raise DataError(f"{r.name!r}: fewer than 2 returns to estimate a volatility.")
    return float(np.std(x, ddof=1) * math.sqrt(DAY / freq))


def horizon_losses(r: pd.Series, n_bars: int, side: Side) -> pd.Series:
    """Loss per unit notional over ``n_bars`` bars after each origin (module docstring).

    NaN where the window is incomplete or holds a missing bar.
    """
    if side not in ("long", "short"):
        raise ConfigError(f"side must be 'long' or 'short' (got {side!r}).")
    big_r = r.rolling(n_bars, min_periods=n_bars).sum().shift(-n_bars)
    gross = np.expm1(big_r)
    return -gross if side == "long" else gross


def adv_from_ohlcv(
    bars: pd.DataFrame,
    *,
    start: Any = None,
    end: Any = None,
    statistic: Literal["median", "mean"] = "median",
) -> dict[str, float]:
    """Average daily quote volume (USD/day) per symbol from :func:`riskmodels.data.load_ohlcv`.

    Parameters
    ----------
    bars : DataFrame
        Long frame with ``time``, ``symbol``, ``quote_volume`` (any bar length: volumes are
        summed per UTC day first).
    start, end : date-like, optional
        Window on the days (inclusive); use the calibration window to avoid look-ahead.
    statistic : {"median", "mean"}, default "median"
        The median is robust to the volume spikes of crash days.
    """
    need = {"time", "symbol", "quote_volume"}
    if not isinstance(bars, pd.DataFrame) or not need <= set(bars.columns):
        raise ConfigError(
            f"bars must be the long frame of riskmodels.data.load_ohlcv with columns {sorted(need)}."
        )
    if statistic not in ("median", "mean"):
        raise ConfigError(f"statistic must be 'median' or 'mean' (got {statistic!r}).")
    t = pd.to_datetime(bars["time"], utc=True)
    daily = (
        bars.assign(day=t.dt.floor("D"))
        .groupby(["symbol", "day"], observed=True)["quote_volume"]
        .sum(min_count=1)
    )
    out: dict[str, float] = {}
    for sym, ser in daily.groupby(level=0, observed=True):
        s = ser.droplevel(0)
        if start is not None:
            s = s[s.index >= utc_timestamp(start, "start")]
        if end is not None:
            s = s[s.index <= utc_timestamp(end, "end")]
        s = s.dropna()
        if s.empty:
            raise DataError(f"no quote volume for {sym!r} between {start} and {end}.")
        out[str(sym)] = float(s.median() if statistic == "median" else s.mean())
    return out
