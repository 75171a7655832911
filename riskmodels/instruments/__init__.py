"""Instruments: positions that revalue under scenarios, accounts with multi-asset collateral.

::

    from riskmodels.instruments import Account, Book, InversePerp, MarketState, Option

    market = MarketState(prices={"BTC": 60_000.0}, valuation_time="2026-03-01 08:00",
                         implied_vols={"BTC": 0.55})
    acc = Account(
        collateral={"USDT": 10_000, "BTC": 0.5},
        positions=[InversePerp("BTC", contracts=-30, contract_size_usd=100, entry_price=58_000),
                   Option("BTC", "put", 50_000, "2026-03-27 08:00", 1.0, settlement="coin")],
        haircuts={"BTC": 0.05},
        prices=market,
    )
    acc.equity                      # USD, haircut-adjusted
    acc.pnl(scenarios)              # (S,) USD P&L incl. collateral revaluation
    Book.from_accounts(accounts).pnl(scenarios)   # (S, A) in a few matrix products
    book.pnl_chunks(scenarios, chunk_size=10_000) # (rows, A_c x S) blocks, one engine

Modules: :mod:`~.black76` (prices and greeks), :mod:`~.market` (market state and the scenario
rule), :mod:`~.positions`, :mod:`~.account`, :mod:`~.book`.
"""

from __future__ import annotations

from riskmodels.instruments import black76
from riskmodels.instruments.account import Account
from riskmodels.instruments.black76 import Black76Greeks
from riskmodels.instruments.book import Book, FactoredPnL
from riskmodels.instruments.market import (
    STABLECOINS,
    VOL_FLOOR,
    YEAR,
    MarketState,
    as_market,
    linear_pnl,
)
from riskmodels.instruments.positions import (
    BINANCE_COINM_CONTRACT_SIZE_USD,
    INSTRUMENTS,
    InverseFuture,
    InversePerp,
    LinearFuture,
    LinearPerp,
    Option,
    OptionGreeks,
    Position,
    Spot,
    binance_coinm_contract_size,
    make_position,
    option_unit_values,
)

__all__ = [
    "BINANCE_COINM_CONTRACT_SIZE_USD",
    "INSTRUMENTS",
    "STABLECOINS",
    "VOL_FLOOR",
    "YEAR",
    "Account",
    "Black76Greeks",
    "Book",
    "FactoredPnL",
    "InverseFuture",
    "InversePerp",
    "LinearFuture",
    "LinearPerp",
    "MarketState",
    "Option",
    "OptionGreeks",
    "Position",
    "Spot",
    "as_market",
    "binance_coinm_contract_size",
    "black76",
    "linear_pnl",
    "make_position",
    "option_unit_values",
]
