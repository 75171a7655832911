r"""Positions that revalue under :class:`~riskmodels.scenarios.base.Scenarios`.

Every position is a frozen dataclass with the same interface:

* ``value_usd(market)`` — its contribution to account equity now, in USD (market value of a
  holding, unrealized P&L of a perpetual/future, mark value of an option);
* ``scenario_values_usd(market, scenarios)`` — the same under each scenario, shape ``(S,)``;
* ``pnl(market, scenarios)`` — ``scenario_values_usd - value_usd``, USD P&L over the horizon;
* ``delta_usd(market)`` — :math:`\partial\,\text{value}_\text{USD}/\partial \ln P` (dollar
  delta: USD gained per unit log move of the asset, to first order);
* ``notional_usd(market)`` — signed notional in USD (defined per class);
* coin-settled positions (inverse perpetuals and futures, coin-settled options) also give
  ``value_coin``, ``scenario_values_coin`` and ``pnl_coin`` in their settlement coin.

How the scenarios move prices, forwards, implied vols and time is documented in
:mod:`riskmodels.instruments.market`, including the optional factors beyond the price move:
the perpetuals' basis and funding, the futures' roll and the options' implied vols. Quantities
are signed (+ long, − short) except :class:`Spot`, which must be >= 0 unless
``allow_short=True``. Fees are not modelled.

Sources (read 2026-11-21)
-------------------------
* Binance, "Coin-Margined Futures Contract Specifications" (FAQ, published 2020-06-11,
  https://www.binance.com/en/support/faq/a4470430e3164c13932be8967961aede): COIN-M contracts are
  collateralized and settled in the coin; the contract multiplier is 100 USD for BTC and
  10 USD for altcoins ("although this may vary for specific symbols": check ``contractSize`` in
  ``/dapi/v1/exchangeInfo``).
* Binance, "USDⓈ-Margined Futures Contract Specifications" (FAQ, published 2020-07-05,
  https://www.binance.com/en/support/faq/360033161972): linear contracts quoted and settled in
  USDT/BUSD, one contract = one unit of the base asset.
* Deribit, "Inverse Options" (support article 25944688327069,
  https://support.deribit.com/hc/en-us/articles/25944688327069-Inverse-Options): European,
  cash-settled in the base coin, multiplier 1 (one option on 1 BTC), premium quoted in BTC and
  shown in USD at the index price; the displayed implied vol uses the forward as underlying.
  Settlement pays the intrinsic value in coin: e.g. a 300 call settles at 400 for 100 USD =
  0.25 BTC (Deribit, "Options documentation", https://www.deribit.com/docs/options-documentation/).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from riskmodels.exceptions import ConfigError, ModelError
from riskmodels.instruments.black76 import greeks_kernel, price_kernel
from riskmodels.instruments.market import (
    MarketState,
    horizon_years,
    scenario_factor,
    scenario_log_returns,
    scenario_vol_shocks,
    to_utc,
)
from riskmodels.scenarios.base import Scenarios, vol_term_scale

__all__ = [
    "BINANCE_COINM_CONTRACT_SIZE_USD",
    "INSTRUMENTS",
    "InverseFuture",
    "InversePerp",
    "LinearFuture",
    "LinearPerp",
    "Option",
    "OptionGreeks",
    "Position",
    "Spot",
    "binance_coinm_contract_size",
    "make_position",
    "option_unit_values",
]

#: Binance COIN-M contract multipliers (USD per contract) that differ from the 10 USD default
#: (Binance FAQ "Coin-Margined Futures Contract Specifications", 2020-06-11; module docstring).
BINANCE_COINM_CONTRACT_SIZE_USD = MappingProxyType({"BTC": 100.0})
_BINANCE_COINM_DEFAULT_USD = 10.0


def binance_coinm_contract_size(asset: str) -> float:
    """USD face value of one Binance COIN-M contract: 100 for BTC, 10 for other coins.

    Source: Binance FAQ "Coin-Margined Futures Contract Specifications" (published 2020-06-11,
    read 2026-11-21). Binance notes that altcoin multipliers "may vary for specific
    symbols": use the ``contractSize`` of ``/dapi/v1/exchangeInfo`` when it matters.
    """
    return BINANCE_COINM_CONTRACT_SIZE_USD.get(asset, _BINANCE_COINM_DEFAULT_USD)


# -- field checks ------------------------------------------------------------------------------
def _finite(obj: object, name: str, value: Any, fix: str = "") -> float:
    cls = type(obj).__name__
    if isinstance(value, bool):
        raise ConfigError(f"{cls}.{name} must be a number (got {value!r}).")
    try:
        v = float(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{cls}.{name} must be a number (got {value!r}).") from exc
    if not math.isfinite(v):
        raise ConfigError(f"{cls}.{name} must be finite (got {v!r}).{fix}")
    return v


def _strictly_positive(obj: object, name: str, value: Any, fix: str) -> float:
    v = _finite(obj, name, value)
    if v <= 0:
        raise ConfigError(f"{type(obj).__name__}.{name} must be > 0 (got {v!r}); {fix}")
    return v


def _set(obj: object, name: str, value: Any) -> None:
    object.__setattr__(obj, name, value)


@dataclass(frozen=True)
class Position(ABC):
    """Base class of positions (see the module docstring for the interface).

    Parameters
    ----------
    asset : str
        The underlying asset, as named in the market prices and the scenario assets.
    """

    asset: str

    #: Name of the instrument in :func:`make_position` and in reports.
    instrument: ClassVar[str] = ""
    #: Whether the USD value is linear in the asset price (so a book can hold it as one
    #: exposure number; see :class:`riskmodels.instruments.book.Book`).
    linear: ClassVar[bool] = True

    def __post_init__(self) -> None:
        if not isinstance(self.asset, str) or not self.asset:
            raise ConfigError(
                f"{type(self).__name__}.asset must be a non-empty asset name such as 'BTC' "
                f"(got {self.asset!r})."
            )

    @property
    def settlement_currency(self) -> str:
        """Currency the position's P&L is paid in: ``"USD"`` or the coin (e.g. ``"BTC"``)."""
        return "USD"

    @abstractmethod
    def value_usd(self, market: MarketState) -> float:
        """Contribution to account equity now, in USD."""

    @abstractmethod
    def scenario_values_usd(self, market: MarketState, scenarios: Scenarios) -> np.ndarray:
        """Contribution to account equity in each scenario (S,), USD."""

    def pnl(self, market: MarketState, scenarios: Scenarios) -> np.ndarray:
        """USD P&L over the scenario horizon (S,): ``scenario_values_usd - value_usd``."""
        return self.scenario_values_usd(market, scenarios) - self.value_usd(market)

    @abstractmethod
    def delta_usd(self, market: MarketState) -> float:
        r""":math:`\partial\,\text{value}_\text{USD}/\partial\ln P` in USD (dollar delta)."""

    @abstractmethod
    def notional_usd(self, market: MarketState) -> float:
        """Signed notional in USD (negative for shorts)."""

    def _growth(self, scenarios: Scenarios) -> np.ndarray:
        return np.exp(scenario_log_returns(scenarios, self.asset, repr(self)))

    def _check_live(self, market: MarketState, expiry: pd.Timestamp) -> float:
        """Years to ``expiry``; :class:`ModelError` when it is at or before the valuation time."""
        tau = market.tau(expiry, repr(self))
        if tau <= 0:
            raise ModelError(
                f"{self!r} has expired: expiry {expiry} is at or before the valuation time "
                f"{market.valuation_time}. Remove it from the account (it has settled) or value "
                "it at an earlier time."
            )
        return tau


class _CoinSettled:
    """Coin-denominated value and P&L (mixin for inverse contracts and coin-settled options)."""

    def value_coin(self, market: MarketState) -> float:  # pragma: no cover - overridden
        raise NotImplementedError

    def scenario_values_coin(
        self, market: MarketState, scenarios: Scenarios
    ) -> np.ndarray:  # pragma: no cover - overridden
        raise NotImplementedError

    def pnl_coin(self, market: MarketState, scenarios: Scenarios) -> np.ndarray:
        """P&L over the horizon in the settlement coin (S,)."""
        return self.scenario_values_coin(market, scenarios) - self.value_coin(market)


# -- spot and linear ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Spot(Position):
    """A holding of ``quantity`` coins (or a borrowed short with ``allow_short=True``).

    Value :math:`qP`; scenario value :math:`qPe^{r_s}`; dollar delta and notional :math:`qP`.

    Raises
    ------
    ConfigError
        Negative ``quantity`` without ``allow_short=True``; non-finite ``quantity``.
    """

    quantity: float
    allow_short: bool = False

    instrument: ClassVar[str] = "spot"

    def __post_init__(self) -> None:
        super().__post_init__()
        q = _finite(self, "quantity", self.quantity)
        if q < 0 and not self.allow_short:
            raise ConfigError(
                f"Spot.quantity must be >= 0 (got {q!r} {self.asset}); pass allow_short=True "
                "for a borrowed (short) spot holding."
            )
        _set(self, "quantity", q)
        _set(self, "allow_short", bool(self.allow_short))

    def value_usd(self, market: MarketState) -> float:
        return self.quantity * market.price(self.asset)

    def scenario_values_usd(self, market: MarketState, scenarios: Scenarios) -> np.ndarray:
        return self.quantity * market.price(self.asset) * self._growth(scenarios)

    def delta_usd(self, market: MarketState) -> float:
        return self.value_usd(market)

    def notional_usd(self, market: MarketState) -> float:
        return self.value_usd(market)


@dataclass(frozen=True)
class LinearPerp(Position):
    """USDⓈ-margined perpetual: ``quantity`` coins (signed), P&L in USD.

    Unrealized P&L :math:`q(P - P_\\text{entry})` at the mark :math:`P` (the asset price);
    dollar delta and notional :math:`qP`. Under scenarios the mark moves by
    :math:`e^{r + b}` (``Scenarios.basis``) and the position pays the funding accrued over the
    horizon on its notional at the valuation mark, :math:`q P f` (``Scenarios.funding``):

    .. math:: V_s = q\\,(P e^{r_s + b_s} - P_\\text{entry}) - q P f_s .

    One Binance USDⓈ-M contract is one unit of the base asset (FAQ of 2020-07-05, module
    docstring). USDT/USDC P&L is counted at 1 USD.

    Raises
    ------
    ConfigError
        Non-finite ``quantity``; non-positive ``entry_price``.
    """

    quantity: float
    entry_price: float

    instrument: ClassVar[str] = "linear_perp"

    def __post_init__(self) -> None:
        super().__post_init__()
        _set(self, "quantity", _finite(self, "quantity", self.quantity))
        _set(
            self,
            "entry_price",
            _strictly_positive(self, "entry_price", self.entry_price, "pass the USD entry price."),
        )

    def _mark(self, market: MarketState) -> float:
        return market.price(self.asset)

    def value_usd(self, market: MarketState) -> float:
        return self.quantity * (self._mark(market) - self.entry_price)

    def _shift(self, market: MarketState, scenarios: Scenarios) -> np.ndarray:
        """Log move of the mark beyond the index move: the perpetual's basis change."""
        return scenario_factor(scenarios, self.asset, "basis")

    def _funding(self, scenarios: Scenarios) -> np.ndarray:
        """Funding rate accrued over the horizon (0 for dated futures)."""
        return scenario_factor(scenarios, self.asset, "funding")

    def scenario_values_usd(self, market: MarketState, scenarios: Scenarios) -> np.ndarray:
        m = self._mark(market)
        moved = m * self._growth(scenarios) * np.exp(self._shift(market, scenarios))
        return self.quantity * (moved - self.entry_price - m * self._funding(scenarios))

    def delta_usd(self, market: MarketState) -> float:
        return self.quantity * self._mark(market)

    def notional_usd(self, market: MarketState) -> float:
        return self.delta_usd(market)


@dataclass(frozen=True)
class LinearFuture(LinearPerp):
    """USDⓈ-margined dated future: as :class:`LinearPerp`, marked at the forward for ``expiry``.

    Unrealized P&L :math:`q(F - P_\\text{entry})` with :math:`F` =
    ``market.forward(asset, expiry)``; dollar delta and notional :math:`qF`. Under scenarios
    the forward moves by :math:`e^{r + c\\tau}` with :math:`c` the carry-rate change
    ``Scenarios.roll`` and :math:`\\tau` the years left at the valuation time; no funding. A
    future that expires inside the scenario horizon is settled at the scenario forward.

    Raises
    ------
    ModelError
        When valued at or after ``expiry`` ("expired").
    """

    expiry: pd.Timestamp | str

    instrument: ClassVar[str] = "linear_future"

    def __post_init__(self) -> None:
        super().__post_init__()
        _set(self, "expiry", to_utc(self.expiry, "LinearFuture.expiry"))

    def _mark(self, market: MarketState) -> float:
        self._check_live(market, self.expiry)
        return market.forward(self.asset, self.expiry)

    def _shift(self, market: MarketState, scenarios: Scenarios) -> np.ndarray:
        tau = self._check_live(market, self.expiry)
        return scenario_factor(scenarios, self.asset, "roll") * tau

    def _funding(self, scenarios: Scenarios) -> np.ndarray:
        return np.zeros(scenarios.n_scenarios)


@dataclass(frozen=True)
class InversePerp(_CoinSettled, Position):
    r"""Coin-margined (inverse) perpetual: ``contracts`` × ``contract_size_usd`` USD face.

    Parameters
    ----------
    asset : str
        The coin that margins and settles the contract (BTC for BTCUSD).
    contracts : float
        Number of contracts, signed (+ long / − short).
    contract_size_usd : float
        USD face value of one contract, > 0 (Binance COIN-M: 100 for BTC, 10 for others;
        :func:`binance_coinm_contract_size`).
    entry_price : float
        Average entry price in USD, > 0.

    Notes
    -----
    With :math:`N = \text{contracts}\times\text{size}` USD and mark :math:`M` (the asset price;
    the forward for :class:`InverseFuture`), the unrealized P&L is paid in coin,

    .. math:: \text{uPnL}_\text{coin} = N\,(1/P_\text{entry} - 1/M),

    and is worth :math:`\text{uPnL}_\text{coin}\cdot P` USD at the asset price :math:`P`
    (Binance COIN-M specification, module docstring). Under scenarios the mark moves by
    :math:`e^{r + b}` (:math:`e^{r + c\tau}` for a future) and a perpetual pays the funding
    accrued over the horizon on its coin notional at the scenario mark,
    :math:`N f / M_s` coin. Since :math:`M \propto P` under the
    scenarios, the USD value :math:`N(P/P_\text{entry} - P/M)` is linear in :math:`P`: the
    dollar delta is :math:`NP/P_\text{entry}`, of which :math:`N` is the contract and
    :math:`N(P/P_\text{entry} - 1)` the coin P&L already earned (for a perpetual). The coin
    P&L itself is not linear: :math:`\partial\,\text{uPnL}_\text{coin}/\partial\ln M = N/M`.
    The notional is the USD face :math:`N`.

    Raises
    ------
    ConfigError
        Non-positive ``contract_size_usd`` or ``entry_price``; non-finite ``contracts``.
    """

    contracts: float
    contract_size_usd: float
    entry_price: float

    instrument: ClassVar[str] = "inverse_perp"

    def __post_init__(self) -> None:
        super().__post_init__()
        _set(self, "contracts", _finite(self, "contracts", self.contracts))
        _set(
            self,
            "contract_size_usd",
            _strictly_positive(
                self,
                "contract_size_usd",
                self.contract_size_usd,
                f"Binance COIN-M uses {binance_coinm_contract_size(self.asset):g} USD for "
                f"{self.asset} (binance_coinm_contract_size).",
            ),
        )
        _set(
            self,
            "entry_price",
            _strictly_positive(self, "entry_price", self.entry_price, "pass the USD entry price."),
        )

    @property
    def settlement_currency(self) -> str:
        return self.asset

    @property
    def face_usd(self) -> float:
        """Signed USD face value ``contracts * contract_size_usd``."""
        return self.contracts * self.contract_size_usd

    def _mark(self, market: MarketState) -> float:
        return market.price(self.asset)

    def _upnl_coin(self, mark: np.ndarray | float) -> np.ndarray | float:
        return self.face_usd * (1.0 / self.entry_price - 1.0 / mark)

    def value_coin(self, market: MarketState) -> float:
        """Unrealized P&L in coin at the current mark."""
        return float(self._upnl_coin(self._mark(market)))

    def _shift(self, market: MarketState, scenarios: Scenarios) -> np.ndarray:
        """Log move of the mark beyond the index move: the perpetual's basis change."""
        return scenario_factor(scenarios, self.asset, "basis")

    def _funding(self, scenarios: Scenarios) -> np.ndarray:
        """Funding rate accrued over the horizon (0 for dated futures)."""
        return scenario_factor(scenarios, self.asset, "funding")

    def scenario_values_coin(self, market: MarketState, scenarios: Scenarios) -> np.ndarray:
        """Unrealized P&L less funding paid, in coin, in each scenario (S,)."""
        mark = self._mark(market) * self._growth(scenarios) * np.exp(self._shift(market, scenarios))
        return self._upnl_coin(mark) - self.face_usd * self._funding(scenarios) / mark

    def value_usd(self, market: MarketState) -> float:
        return self.value_coin(market) * market.price(self.asset)

    def scenario_values_usd(self, market: MarketState, scenarios: Scenarios) -> np.ndarray:
        coin = self.scenario_values_coin(market, scenarios)
        return coin * (market.price(self.asset) * self._growth(scenarios))

    def delta_usd(self, market: MarketState) -> float:
        return self.face_usd * market.price(self.asset) / self.entry_price

    def notional_usd(self, market: MarketState) -> float:
        self._mark(market)  # an expired future raises here too
        return self.face_usd


@dataclass(frozen=True)
class InverseFuture(InversePerp):
    """Coin-margined dated future: as :class:`InversePerp`, marked at the forward for ``expiry``.

    Raises
    ------
    ModelError
        When valued at or after ``expiry`` ("expired").
    """

    expiry: pd.Timestamp | str

    instrument: ClassVar[str] = "inverse_future"

    def __post_init__(self) -> None:
        super().__post_init__()
        _set(self, "expiry", to_utc(self.expiry, "InverseFuture.expiry"))

    def _mark(self, market: MarketState) -> float:
        self._check_live(market, self.expiry)
        return market.forward(self.asset, self.expiry)

    def _shift(self, market: MarketState, scenarios: Scenarios) -> np.ndarray:
        tau = self._check_live(market, self.expiry)
        return scenario_factor(scenarios, self.asset, "roll") * tau

    def _funding(self, scenarios: Scenarios) -> np.ndarray:
        return np.zeros(scenarios.n_scenarios)


# -- options -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class OptionGreeks:
    r"""Value and greeks of an option position (per position: already times ``quantity``).

    Attributes
    ----------
    value_usd : float
        Position value in USD (coin-settled: ``value_coin`` × asset price).
    delta, gamma, vega, theta, rho : float
        Black-76 greeks of the USD price :math:`V(F)` (module :mod:`~.black76`): per unit
        move of :math:`F`, per 1.00 of vol, per year, per unit of rate.
    delta_usd : float
        :math:`\partial\,\text{value}_\text{USD}/\partial\ln P` (what :meth:`Option.delta_usd`
        returns): :math:`qF\Delta` for USD settlement and :math:`qP\Delta` for coin settlement.
    value_coin, delta_coin, vega_coin, theta_coin : float or None
        Coin-settled only (None otherwise): value :math:`V_c = V/F`, coin delta
        :math:`\partial V_c/\partial\ln F = \Delta - V_c`, :math:`\partial V_c/\partial\sigma
        = \text{vega}/F` and :math:`\partial V_c/\partial t = \theta/F`.
    """

    value_usd: float
    delta: float
    gamma: float
    vega: float
    theta: float
    rho: float
    delta_usd: float
    value_coin: float | None = None
    delta_coin: float | None = None
    vega_coin: float | None = None
    theta_coin: float | None = None


@dataclass(frozen=True)
class Option(_CoinSettled, Position):
    r"""European vanilla option on the futures/forward price, priced by Black-76.

    Parameters
    ----------
    asset : str
        Underlying coin.
    kind : {"call", "put"}
    strike : float
        USD strike, > 0.
    expiry : timestamp
        Expiry (UTC; Deribit expires at 08:00 UTC).
    quantity : float
        Signed number of options, each on one unit of ``asset`` (Deribit multiplier 1).
    settlement : {"usd", "coin"}, default "usd"
        ``"usd"``: premium and payoff in USD (USDC/USDT options). ``"coin"``: Deribit-style
        inverse option, premium and payoff in ``asset``.

    Notes
    -----
    With :math:`F` the forward for ``expiry``, :math:`\sigma` the implied vol of the series,
    :math:`\tau` the years to expiry and :math:`r` the market's rate:

    * USD-settled value per option: :math:`V = \text{Black76}(F, K, \tau, \sigma, r)`.
    * Coin-settled value per option in coin: :math:`V_c = V / F`; in USD :math:`V_c P` at the
      asset price :math:`P` (Deribit converts at the index). At expiry it pays
      :math:`\max(S_T - K, 0)/S_T` coins, the intrinsic value in USD converted at the
      settlement price (Deribit "Inverse Options"; module docstring). With zero basis
      (:math:`F = P`, the default when ``rate`` is 0) both settlements have the same USD value;
      they differ in the currency the P&L is held in.
    * Coin delta :math:`F\,\partial V_c/\partial F = \Delta - V_c`, which for :math:`r = 0` is
      the known inverse-option identity :math:`N(d_1) - C/F` for a call.

    Under scenarios the option is fully revalued at the shocked forward, the shocked implied vol
    and :math:`\tau - h` (:mod:`riskmodels.instruments.market`); one that expires within the
    horizon is settled at its intrinsic value at the scenario forward.

    Raises
    ------
    ConfigError
        Unknown ``kind`` or ``settlement``; non-positive ``strike``; non-finite ``quantity``.
    ModelError
        When valued at or after ``expiry`` ("expired").
    DataError
        When the market lacks the asset price or the series' implied vol.
    """

    kind: str
    strike: float
    expiry: pd.Timestamp | str
    quantity: float
    settlement: str = "usd"

    instrument: ClassVar[str] = "option"
    linear: ClassVar[bool] = False

    def __post_init__(self) -> None:
        super().__post_init__()
        kind = str(self.kind).lower() if isinstance(self.kind, str) else self.kind
        if kind not in ("call", "put"):
            raise ConfigError(f"Option.kind must be 'call' or 'put' (got {self.kind!r}).")
        settlement = (
            str(self.settlement).lower() if isinstance(self.settlement, str) else self.settlement
        )
        if settlement not in ("usd", "coin"):
            raise ConfigError(
                f"Option.settlement must be 'usd' (USD/USDC-settled) or 'coin' (Deribit-style "
                f"inverse, settled in {self.asset}) (got {self.settlement!r})."
            )
        _set(self, "kind", kind)
        _set(self, "settlement", settlement)
        _set(
            self,
            "strike",
            _strictly_positive(self, "strike", self.strike, "pass the strike in USD."),
        )
        _set(self, "expiry", to_utc(self.expiry, "Option.expiry"))
        _set(self, "quantity", _finite(self, "quantity", self.quantity))

    @property
    def settlement_currency(self) -> str:
        return self.asset if self.settlement == "coin" else "USD"

    @property
    def is_coin_settled(self) -> bool:
        """Whether the option settles in its coin (Deribit-style inverse option)."""
        return self.settlement == "coin"

    @property
    def series(self) -> tuple[str, str, float, pd.Timestamp, str]:
        """The contract, without the quantity: (asset, kind, strike, expiry, settlement)."""
        return (self.asset, self.kind, self.strike, self.expiry, self.settlement)

    def _require_coin(self) -> None:
        if not self.is_coin_settled:
            raise ConfigError(
                f"{self!r} settles in USD: coin values are defined for settlement='coin'; use "
                "value_usd / pnl."
            )

    def _unit(self, market: MarketState, scenarios: Scenarios | None) -> tuple[Any, Any]:
        usd, coin = option_unit_values(market, [self], scenarios)
        return (usd[..., 0], coin[..., 0])

    def value_usd(self, market: MarketState) -> float:
        return self.quantity * float(self._unit(market, None)[0])

    def scenario_values_usd(self, market: MarketState, scenarios: Scenarios) -> np.ndarray:
        return self.quantity * self._unit(market, scenarios)[0]

    def value_coin(self, market: MarketState) -> float:
        """Position value in coin (coin-settled only)."""
        self._require_coin()
        return self.quantity * float(self._unit(market, None)[1])

    def scenario_values_coin(self, market: MarketState, scenarios: Scenarios) -> np.ndarray:
        """Position value in coin under each scenario (S,) (coin-settled only)."""
        self._require_coin()
        return self.quantity * self._unit(market, scenarios)[1]

    def greeks(self, market: MarketState) -> OptionGreeks:
        """Value and greeks of the position at ``market`` (see :class:`OptionGreeks`)."""
        inp = _option_inputs(market, [self])
        v, d, g, ve, th, rh = (
            float(a[0])
            for a in greeks_kernel(
                inp.forward, inp.strike, inp.tau, inp.sigma, market.rate, inp.is_call
            )
        )
        q, f, p = self.quantity, float(inp.forward[0]), float(inp.price[0])
        if not self.is_coin_settled:
            return OptionGreeks(
                value_usd=q * v,
                delta=q * d,
                gamma=q * g,
                vega=q * ve,
                theta=q * th,
                rho=q * rh,
                delta_usd=q * f * d,
            )
        vc = v / f
        return OptionGreeks(
            value_usd=q * vc * p,
            delta=q * d,
            gamma=q * g,
            vega=q * ve,
            theta=q * th,
            rho=q * rh,
            delta_usd=q * p * d,
            value_coin=q * vc,
            delta_coin=q * (d - vc),
            vega_coin=q * ve / f,
            theta_coin=q * th / f,
        )

    def delta_usd(self, market: MarketState) -> float:
        return self.greeks(market).delta_usd

    def notional_usd(self, market: MarketState) -> float:
        """Underlying notional :math:`qP` (one unit of the asset per option)."""
        self._check_live(market, self.expiry)
        return self.quantity * market.price(self.asset)


@dataclass(frozen=True)
class _OptionInputs:
    """Black-76 inputs of K option contracts (per unit quantity), aligned arrays of shape (K,)."""

    assets: tuple[str, ...]
    price: np.ndarray
    forward: np.ndarray
    strike: np.ndarray
    tau: np.ndarray
    sigma: np.ndarray
    is_call: np.ndarray
    is_coin: np.ndarray


def _option_inputs(market: MarketState, options: Sequence[Option]) -> _OptionInputs:
    assets, price, fwd, strike, tau, sigma, call, coin = [], [], [], [], [], [], [], []
    for o in options:
        t = o._check_live(market, o.expiry)
        assets.append(o.asset)
        price.append(market.price(o.asset))
        fwd.append(market.forward(o.asset, o.expiry))
        strike.append(o.strike)
        tau.append(t)
        sigma.append(market.implied_vol(o.asset, o.expiry, o.strike))
        call.append(o.kind == "call")
        coin.append(o.is_coin_settled)
    return _OptionInputs(
        tuple(assets),
        np.array(price, dtype="float64"),
        np.array(fwd, dtype="float64"),
        np.array(strike, dtype="float64"),
        np.array(tau, dtype="float64"),
        np.array(sigma, dtype="float64"),
        np.array(call, dtype=bool),
        np.array(coin, dtype=bool),
    )


def option_unit_values(
    market: MarketState, options: Sequence[Option], scenarios: Scenarios | None = None
) -> tuple[np.ndarray, np.ndarray]:
    r"""Values of one unit of each option contract, now or under each scenario, vectorized.

    Parameters
    ----------
    market : MarketState
    options : sequence of Option
        K contracts (their ``quantity`` is ignored).
    scenarios : Scenarios, optional
        When given, revalue under each scenario (module :mod:`~.market` rule).

    Returns
    -------
    usd, coin : ndarray of shape (K,) or (S, K)
        USD value (coin-settled: coin value × asset price) and the Black-76 value divided by
        the forward (the coin value; meaningful for coin-settled contracts).

    Raises
    ------
    ModelError
        An expired contract.
    DataError
        A missing price, implied vol or scenario asset.
    """
    inp = _option_inputs(market, options)
    if scenarios is None:
        growth: np.ndarray | float = 1.0
        fwd_growth: np.ndarray | float = 1.0
        tau = inp.tau
        sigma = inp.sigma
    else:
        uniq = list(dict.fromkeys(inp.assets))
        col = np.array([uniq.index(a) for a in inp.assets], dtype=np.intp)
        what = "an option position"
        log_r = np.column_stack([scenario_log_returns(scenarios, a, what) for a in uniq])
        shocks = np.column_stack([scenario_vol_shocks(scenarios, a) for a in uniq])
        roll = np.column_stack([scenario_factor(scenarios, a, "roll") for a in uniq])
        growth = np.exp(log_r)[:, col]
        scale = vol_term_scale(inp.tau * 365.0, scenarios.vol_term)
        sigma = np.maximum(inp.sigma * (1.0 + shocks[:, col] * scale), market.vol_floor)
        tau = np.maximum(inp.tau - horizon_years(scenarios), 0.0)
        fwd_growth = growth * np.exp(roll[:, col] * inp.tau)
    fwd = inp.forward * fwd_growth
    px = inp.price * growth
    b = price_kernel(fwd, inp.strike, tau, sigma, market.rate, inp.is_call)
    coin = b / fwd
    usd = np.where(inp.is_coin, coin * px, b)
    return usd, coin


# -- factory -----------------------------------------------------------------------------------
#: Instrument names accepted by :func:`make_position`.
INSTRUMENTS: MappingProxyType[str, type[Position]] = MappingProxyType(
    {
        cls.instrument: cls
        for cls in (Spot, LinearPerp, LinearFuture, InversePerp, InverseFuture, Option)
    }
)


def make_position(instrument: str, **fields: Any) -> Position:
    """Build a position from its instrument name and fields (e.g. from a config file).

    Parameters
    ----------
    instrument : str
        One of :data:`INSTRUMENTS`: ``spot``, ``linear_perp``, ``linear_future``,
        ``inverse_perp``, ``inverse_future``, ``option``.
    **fields
        The dataclass fields of that instrument.

    Raises
    ------
    ConfigError
        Unknown instrument, missing or unknown fields, or invalid values.
    """
    cls = INSTRUMENTS.get(instrument)
    if cls is None:
        raise ConfigError(
            f"unknown instrument kind {instrument!r}; use one of {sorted(INSTRUMENTS)}."
        )
    try:
        return cls(**fields)
    except TypeError as exc:
        raise ConfigError(f"bad fields for instrument {instrument!r}: {exc}.") from exc
