r"""Market state (prices, forwards, implied vols, valuation time) and how scenarios move it.

Scenario rule
-------------
A :class:`~riskmodels.scenarios.base.Scenarios` object holds, per scenario :math:`s` and asset
:math:`a`, the log return :math:`r_{s,a}` over the horizon :math:`h` and optionally a relative
implied-volatility shock :math:`v_{s,a}`. Revaluation moves the market as

.. math::

    P_{s,a} = P_a\,e^{r_{s,a}}, \qquad F_{s,a}(T) = F_a(T)\,e^{r_{s,a}}, \qquad
    \sigma_{s}(K, T) = \max\bigl(\sigma(K, T)\,(1 + v_{s,a}),\ \sigma_{\min}\bigr),

    \tau_s = \max(\tau - h, 0), \qquad \tau = (T - t_0) / \text{365 days},

with :math:`t_0` the valuation time. So, with no further factors, every forward of an asset
moves with its spot, the whole implied-volatility surface of an asset is scaled by one factor
per scenario, and options age by the horizon.

Scenarios may carry more risk factors (all optional; missing ones do not move):

* ``basis`` :math:`b_{s,a}`: a perpetual's mark moves by :math:`e^{r_{s,a} + b_{s,a}}` (the
  perp-versus-index basis; spot and collateral move by :math:`e^{r}`);
* ``funding`` :math:`f_{s,a}`: funding accrued over the horizon; a long perpetual pays
  :math:`f` times its notional at the valuation mark (linear) or times its coin notional
  :math:`N/M_s` in coin (inverse), a short receives it;
* ``roll`` :math:`c_{s,a}`: the annualized carry rate of dated futures moves, so a future or an
  option forward with :math:`\tau` years left moves by :math:`e^{r + c\,\tau}`;
* ``vol_shocks`` scaled per expiry by ``vol_term``
  (:func:`~riskmodels.scenarios.base.vol_term_scale`: Deribit's vega powers). The floor :math:`\sigma_{\min}` (``vol_floor``, default :data:`VOL_FLOOR` = 1e-4,
i.e. 0.01% a year) only matters for shocks at or below −100%, which would otherwise give a zero
or negative volatility; with it such a shock prices the option at (almost exactly) its
discounted intrinsic value. No shocks (``vol_shocks is None``) leave the vols unchanged.

Stablecoins
-----------
``USD``, ``USDT`` and ``USDC`` (:data:`STABLECOINS`) are worth 1 USD unless ``prices`` names
them, and stay at that price in every scenario unless the scenarios hold them as assets: that
is the hook for a depeg stress (put ``"USDT"`` in the scenario assets with a negative return).
Every other asset must have a price and, to be revalued, a scenario column.

Time
----
Crypto trades 24/7, so time to expiry is calendar time: ACT/365, :data:`YEAR` = 365 days.
Timestamps are UTC; naive timestamps are read as UTC.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from riskmodels._frozen import FrozenDict
from riskmodels.exceptions import ConfigError, DataError
from riskmodels.scenarios.base import Scenarios

__all__ = [
    "STABLECOINS",
    "VOL_FLOOR",
    "YEAR",
    "MarketState",
    "as_market",
    "horizon_years",
    "scenario_factor",
    "scenario_log_returns",
    "scenario_vol_shocks",
    "to_utc",
]

#: Assets valued at 1 USD by default and left unmoved by scenarios that do not name them.
STABLECOINS: frozenset[str] = frozenset({"USD", "USDT", "USDC"})

#: Default floor on scenario implied volatilities (annualized decimal; see the module docstring).
VOL_FLOOR: float = 1e-4

#: One year of calendar time (ACT/365; crypto trades 24/7).
YEAR: pd.Timedelta = pd.Timedelta(days=365)


def to_utc(ts: Any, name: str) -> pd.Timestamp:
    """``ts`` as a UTC :class:`pandas.Timestamp` (naive timestamps are read as UTC).

    Raises
    ------
    ConfigError
        If ``ts`` cannot be read as a timestamp.
    """
    try:
        t = pd.Timestamp(ts)
    except (TypeError, ValueError) as exc:
        raise ConfigError(
            f"{name} must be a timestamp such as '2026-03-27 08:00' (UTC) (got {ts!r})."
        ) from exc
    if t is pd.NaT:
        raise ConfigError(f"{name} must be a timestamp (got NaT).")
    return t.tz_localize("UTC") if t.tzinfo is None else t.tz_convert("UTC")


def _positive(x: Any, what: str) -> float:
    try:
        v = float(x)
    except (TypeError, ValueError) as exc:
        raise DataError(f"{what} must be a positive number (got {x!r}).") from exc
    if not math.isfinite(v) or v <= 0:
        raise DataError(f"{what} must be positive and finite (got {v!r}).")
    return v


def _vol_key(key: Any) -> str | tuple[Any, ...]:
    if isinstance(key, str):
        return key
    if isinstance(key, tuple) and len(key) in (2, 3) and isinstance(key[0], str):
        expiry = to_utc(key[1], f"implied_vols key {key!r} expiry")
        if len(key) == 2:
            return (key[0], expiry)
        try:
            strike = float(key[2])
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"implied_vols key {key!r}: strike must be a number.") from exc
        return (key[0], expiry, strike)
    raise ConfigError(
        f"implied_vols keys must be an asset ('BTC'), (asset, expiry) or (asset, expiry, strike) "
        f"(got {key!r})."
    )


@dataclass(frozen=True)
class MarketState:
    """Prices, forwards and implied vols at a valuation time: the state positions are marked at.

    Parameters
    ----------
    prices : mapping of str to float
        USD price of each asset (spot/index price; the mark of perpetuals, the rate at which coin
        amounts convert to USD). Stablecoins default to 1 (module docstring).
    valuation_time : timestamp, optional
        When the state holds (UTC). Required to value options and dated futures.
    forwards : mapping of (asset, expiry) to float, optional
        Futures/forward price of ``asset`` for ``expiry`` (the mark of a dated future, the
        :math:`F` of Black-76). Default :math:`P e^{r\\tau}` (zero basis when ``rate`` is 0).
    implied_vols : mapping, optional
        Annualized implied volatility (decimal). Keys, most specific first:
        ``(asset, expiry, strike)`` for one series, ``(asset, expiry)`` for an expiry, ``asset``
        for a flat vol. Calls and puts of one strike and expiry share a vol (put-call parity).
    rate : float, default 0.0
        Continuously compounded USD discount rate (Deribit prices options with 0).
    vol_floor : float, default VOL_FLOOR
        Floor on scenario implied vols (module docstring).

    Raises
    ------
    DataError
        A non-positive or non-finite price, forward or implied vol.
    ConfigError
        A malformed key, timestamp, ``rate`` or ``vol_floor``.
    """

    prices: Mapping[str, float]
    valuation_time: pd.Timestamp | None = None
    forwards: Mapping[tuple[str, pd.Timestamp], float] = field(default_factory=dict)
    implied_vols: Mapping[Any, float] = field(default_factory=dict)
    rate: float = 0.0
    vol_floor: float = VOL_FLOOR

    def __post_init__(self) -> None:
        if not isinstance(self.prices, Mapping):
            raise ConfigError(
                f"prices must be a mapping asset -> USD price (got {type(self.prices).__name__})."
            )
        prices = {
            str(a): _positive(p, f"prices[{a!r}] (USD per unit of {a})")
            for a, p in self.prices.items()
        }
        object.__setattr__(self, "prices", FrozenDict(prices))
        if self.valuation_time is not None:
            object.__setattr__(
                self, "valuation_time", to_utc(self.valuation_time, "valuation_time")
            )
        fwd: dict[tuple[str, pd.Timestamp], float] = {}
        for key, val in dict(self.forwards).items():
            if not (isinstance(key, tuple) and len(key) == 2 and isinstance(key[0], str)):
                raise ConfigError(f"forwards keys must be (asset, expiry) (got {key!r}).")
            k = (key[0], to_utc(key[1], f"forwards key {key!r} expiry"))
            fwd[k] = _positive(val, f"forwards[{key!r}]")
        object.__setattr__(self, "forwards", FrozenDict(fwd))
        vols = {
            _vol_key(k): _positive(v, f"implied_vols[{k!r}] (annualized decimal)")
            for k, v in dict(self.implied_vols).items()
        }
        object.__setattr__(self, "implied_vols", FrozenDict(vols))
        rate = float(self.rate)
        if not math.isfinite(rate):
            raise ConfigError(f"rate must be finite (got {self.rate!r}).")
        object.__setattr__(self, "rate", rate)
        floor = float(self.vol_floor)
        if not (math.isfinite(floor) and floor > 0):
            raise ConfigError(
                f"vol_floor must be a small positive number (got {self.vol_floor!r}); "
                f"the default is {VOL_FLOOR}."
            )
        object.__setattr__(self, "vol_floor", floor)

    # -- look-ups --------------------------------------------------------------------------
    def price(self, asset: str) -> float:
        """USD price of ``asset`` (1.0 for a stablecoin without a price).

        Raises
        ------
        DataError
            If ``asset`` has no price.
        """
        p = self.prices.get(asset)
        if p is not None:
            return p
        if asset in STABLECOINS:
            return 1.0
        raise DataError(
            f"no price for asset {asset!r} (prices has {sorted(self.prices)}); add "
            f"prices[{asset!r}] in USD per unit."
        )

    def require_time(self, what: str) -> pd.Timestamp:
        """The valuation time, or a :class:`DataError` saying ``what`` needs it."""
        if self.valuation_time is None:
            raise DataError(
                f"{what} needs MarketState.valuation_time (got None); pass "
                "valuation_time='2026-01-01 08:00' (UTC)."
            )
        return self.valuation_time

    def tau(self, expiry: pd.Timestamp, what: str = "an expiry") -> float:
        """Years (ACT/365) from the valuation time to ``expiry``; negative once past."""
        t0 = self.require_time(what)
        return (to_utc(expiry, "expiry") - t0) / YEAR

    def forward(self, asset: str, expiry: pd.Timestamp) -> float:
        """Futures/forward price of ``asset`` for ``expiry``: given, or :math:`P e^{r\\tau}`."""
        key = (asset, to_utc(expiry, "expiry"))
        f = self.forwards.get(key)
        if f is not None:
            return f
        p = self.price(asset)
        if self.rate == 0.0:
            return p
        return p * math.exp(self.rate * self.tau(key[1], f"forward of {asset}"))

    def implied_vol(self, asset: str, expiry: pd.Timestamp, strike: float) -> float:
        """Implied vol of the series, looked up by (asset, expiry, strike), (asset, expiry), asset.

        Raises
        ------
        DataError
            If none of the three keys is present.
        """
        e = to_utc(expiry, "expiry")
        for key in ((asset, e, float(strike)), (asset, e), asset):
            v = self.implied_vols.get(key)
            if v is not None:
                return v
        raise DataError(
            f"no implied vol for {asset} expiry {e} strike {strike:g}: add implied_vols["
            f"({asset!r}, {str(e)!r}, {strike:g})], implied_vols[({asset!r}, {str(e)!r})] or "
            f"implied_vols[{asset!r}] (annualized decimal)."
        )


def as_market(
    prices: MarketState | Mapping[str, float] | None, what: str = "prices"
) -> MarketState:
    """A :class:`MarketState` from itself or from a plain mapping of asset prices.

    Raises
    ------
    ConfigError
        If ``prices`` is None or of another type.
    """
    if isinstance(prices, MarketState):
        return prices
    if isinstance(prices, Mapping):
        return MarketState(prices=prices)
    raise ConfigError(
        f"{what} must be a MarketState or a mapping asset -> USD price (got {prices!r})."
    )


# -- scenario columns --------------------------------------------------------------------------
def _column(scenarios: Scenarios, asset: str) -> int | None:
    try:
        return scenarios.assets.index(asset)
    except ValueError:
        return None


def linear_pnl(log_returns: np.ndarray, exposures: np.ndarray) -> np.ndarray:
    r"""P&L of linear exposures under log returns: the package's one definition.

    .. math:: \text{P\&L} = \sum_i e_i \,(e^{r_i} - 1)

    for USD notionals (or fractions of one) :math:`e_i` held in spot or linear perpetuals and
    decimal log returns :math:`r_i` (DESIGN.md: returns are log, P&L is simple and positive for a
    gain). ``expm1`` keeps small returns exact.

    Parameters
    ----------
    log_returns : ndarray, shape (..., N)
        Decimal log returns, assets last (rows: scenarios or bars).
    exposures : ndarray, shape (N,) or (N, K)
        Notional per asset (K books at once).

    Returns
    -------
    ndarray, shape (...,) or (..., K)

    Raises
    ------
    ConfigError
        Exposures that do not have one row per asset (the returns' last axis).
    """
    r = np.asarray(log_returns, dtype=float)
    e = np.asarray(exposures, dtype=float)
    if e.ndim not in (1, 2) or r.ndim < 1 or e.shape[0] != r.shape[-1]:
        raise ConfigError(
            f"exposures of shape {e.shape} do not match {r.shape[-1] if r.ndim else 0} assets "
            "(the returns' last axis): pass one exposure per asset, in the returns' order."
        )
    return np.expm1(r) @ e


def scenario_log_returns(scenarios: Scenarios, asset: str, what: str = "a position") -> np.ndarray:
    """The scenarios' log returns of ``asset`` (S,); zeros for a stablecoin they do not name.

    Raises
    ------
    DataError
        If ``asset`` is not in the scenarios and is not a stablecoin.
    """
    j = _column(scenarios, asset)
    if j is not None:
        return scenarios.returns[:, j]
    if asset in STABLECOINS:
        return np.zeros(scenarios.n_scenarios)
    raise DataError(
        f"{what} needs asset {asset!r}, which is not in the scenarios' assets "
        f"{list(scenarios.assets)}: build scenarios that include {asset!r}."
    )


def scenario_vol_shocks(scenarios: Scenarios, asset: str) -> np.ndarray:
    """Relative implied-vol shocks of ``asset`` (S,); zeros when the scenarios carry none."""
    j = _column(scenarios, asset)
    if scenarios.vol_shocks is None or j is None:
        return np.zeros(scenarios.n_scenarios)
    return scenarios.vol_shocks[:, j]


def scenario_factor(scenarios: Scenarios, asset: str, name: str) -> np.ndarray:
    """Factor ``name`` (``"basis"``, ``"funding"``, ``"roll"``) of ``asset`` (S,); zeros when
    the scenarios carry none for it."""
    values = getattr(scenarios, name)
    j = _column(scenarios, asset)
    if values is None or j is None:
        return np.zeros(scenarios.n_scenarios)
    return values[:, j]


def horizon_years(scenarios: Scenarios) -> float:
    """The scenario horizon in years (ACT/365)."""
    return scenarios.horizon / YEAR
