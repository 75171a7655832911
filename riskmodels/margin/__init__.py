"""Margin models as exchanges run them, on the same accounts and the same scenarios.

::

    from riskmodels.margin import (CrossMargin, IsolatedMargin, PortfolioMargin,
                                   RiskMatrixMargin, binance_usdm_tiers, liquidation_price)

    tiers = binance_usdm_tiers()                       # dated example tables (tables/*.toml)
    IsolatedMargin(tiers).margin(account)              # MarginResult: initial, maintenance, breakdown
    CrossMargin(tiers).margin(account)
    PortfolioMargin(scenarios, measure="es", alpha=0.99).margin(account)
    PortfolioMargin(scenarios).margin_book(book)       # BookMarginResult, vectorized
    RiskMatrixMargin.deribit().margin(account)         # ±16% x vol up/same/down grid + extended
    liquidation_price(account, "BTC", CrossMargin(tiers))

Models
    :class:`IsolatedMargin`, :class:`CrossMargin` (notional tiers, :class:`TierTable`, and
    :class:`OptionMarginRule` for short options), :class:`PortfolioMargin` (VaR/ES of the
    netted P&L, floors, EMIR APC tools), :class:`RiskMatrixMargin` (price × vol grid, extended
    moves, delta shock).
Add-ons
    :class:`LiquidityAddOn` (square-root impact), :class:`ConcentrationAddOn`,
    :class:`AntiProcyclicality` with :func:`apc_buffer`, :func:`apc_stressed_weight`,
    :func:`apc_floor` (EMIR RTS 153/2013 Art. 28).
Liquidation
    :func:`isolated_liquidation_price` (closed form), :func:`liquidation_price` (closed form or
    brentq), :func:`monitor` (replay over a price history).
Comparison
    :func:`capital_efficiency`, :func:`shortfall`, :func:`example_books`,
    :func:`example_models`.
"""

from riskmodels.margin.addons import (
    AddOn,
    AntiProcyclicality,
    ConcentrationAddOn,
    LiquidityAddOn,
    apc_buffer,
    apc_floor,
    apc_stressed_weight,
)
from riskmodels.margin.cross import CrossMargin
from riskmodels.margin.efficiency import (
    capital_efficiency,
    example_books,
    example_market,
    example_models,
    realized_scenarios,
    shortfall,
)
from riskmodels.margin.floors import DEFAULT_CONTINGENCIES, NO_CONTINGENCIES, Contingencies
from riskmodels.margin.isolated import IsolatedMargin, OptionMarginRule
from riskmodels.margin.liquidation import isolated_liquidation_price, liquidation_price, monitor
from riskmodels.margin.portfolio import PortfolioMargin, tail_weights
from riskmodels.margin.results import (
    BookMarginResult,
    LiquidationPrice,
    MarginModel,
    MarginResult,
    MonitorResult,
)
from riskmodels.margin.riskmatrix import RiskMatrixMargin
from riskmodels.margin.tiers import (
    TierTable,
    available_tier_tables,
    binance_usdm_tiers,
    load_tier_table,
)
from riskmodels.margin.venues import VenueRule, available_rules, load_rule

__all__ = [
    "DEFAULT_CONTINGENCIES",
    "NO_CONTINGENCIES",
    "AddOn",
    "AntiProcyclicality",
    "BookMarginResult",
    "ConcentrationAddOn",
    "Contingencies",
    "CrossMargin",
    "IsolatedMargin",
    "LiquidationPrice",
    "LiquidityAddOn",
    "MarginModel",
    "MarginResult",
    "MonitorResult",
    "OptionMarginRule",
    "PortfolioMargin",
    "RiskMatrixMargin",
    "TierTable",
    "VenueRule",
    "apc_buffer",
    "apc_floor",
    "apc_stressed_weight",
    "available_rules",
    "available_tier_tables",
    "binance_usdm_tiers",
    "capital_efficiency",
    "example_books",
    "example_market",
    "example_models",
    "isolated_liquidation_price",
    "liquidation_price",
    "load_rule",
    "load_tier_table",
    "monitor",
    "realized_scenarios",
    "shortfall",
    "tail_weights",
]
