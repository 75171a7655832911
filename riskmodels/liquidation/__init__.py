"""Liquidations on price paths, the way venues run them.

A layer between :mod:`riskmodels.margin` (what maintenance margin is) and
:mod:`riskmodels.calibration` / :mod:`riskmodels.stress` (what it should be, what a crash does):

* :class:`LiquidationRule` — a venue's pipeline as dated data (trigger price, delay, partial
  close-out, clearance fee and residual margin, backstop, insurance fund, ADL price and
  ranking), read from ``riskmodels/margin/rules/*.toml``; unpublished numbers are marked
  unknown and swept, never fixed.
* :func:`simulate_liquidations` — first passage of the mark through each position's
  liquidation price, close-out after the delay with impact, fees and residual to the fund, bad
  debt, fund draw, ADL at the rule's price, funding at its settlements; bounds when the bars
  are coarser than the delay.
* :func:`replay_rules` — every shipped rule on every crash window the data mirror covers.
* :func:`closeout_counts` / :func:`closeout_events` — the close-out gap of positions opened at
  every bar, for a grid of maintenance rates at once (what
  ``calibrate_mmr(method="closeout")`` solves on).

Example::

    from riskmodels.liquidation import LiquidationRule, simulate_liquidations
    rule = LiquidationRule.load("binance_usdm_btcusdt_2021-03-18")
    res = simulate_liquidations(bars, positions, rule, delay="1min", insurance_fund=1e6)
    res.summary()
"""

from riskmodels.liquidation._kernels import first_passage, first_passage_loop
from riskmodels.liquidation.closeout import CloseoutCounts, closeout_counts, closeout_events
from riskmodels.liquidation.engine import (
    LiquidationResult,
    MarkPaths,
    allocate_adl,
    liquidation_prices,
    simulate_liquidations,
)
from riskmodels.liquidation.replay import (
    CRASH_WINDOWS,
    LEVERAGE_MIX,
    ReplayWindow,
    replay_population,
    replay_rules,
)
from riskmodels.liquidation.rules import (
    LiquidationRule,
    MaintenanceSchedule,
    Parameter,
    available_liquidation_rules,
)

__all__ = [
    "CRASH_WINDOWS",
    "LEVERAGE_MIX",
    "CloseoutCounts",
    "LiquidationResult",
    "LiquidationRule",
    "MaintenanceSchedule",
    "MarkPaths",
    "Parameter",
    "ReplayWindow",
    "allocate_adl",
    "available_liquidation_rules",
    "closeout_counts",
    "closeout_events",
    "first_passage",
    "first_passage_loop",
    "liquidation_prices",
    "replay_population",
    "replay_rules",
    "simulate_liquidations",
]
