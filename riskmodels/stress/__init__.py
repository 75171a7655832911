"""Stress testing: historical and hypothetical scenarios, reverse stress, liquidation cascades.

::

    from riskmodels.stress import (CircuitBreaker, SquareRootImpact, generate_population,
                                   historical_moves, historical_stress, reverse_stress,
                                   shock_paths, simulate_cascade)

    sc = historical_stress(event="2025-10-10")               # one-row Scenarios from the mirror
    historical_moves()                                        # closes vs wicks, every window
    worst = worst_windows(returns, "1d", k=5)                 # non-overlapping worst windows
    oi, meta = open_interest_at("BTC", "2026-03-12")          # USDⓈ-M + COIN-M, with breakdown
    pop = generate_population(1_000_000, 60_000.0, open_interest=oi, rng=1)
    res = simulate_cascade(pop, -0.10, impact=SquareRootImpact(0.04, 2e10),
                           insurance_fund={"BTC": 5e7},
                           rule="binance_usdm_btcusdt_2021-03-18",
                           circuit_breaker=CircuitBreaker(0.05, window=3))
    res.path; res.funds; res.check_conservation()
    shock_paths(pop, -0.10, impact=SquareRootImpact(0.04, 2e10), insurance_fund=5e7,
                rule="binance_usdm_btcusdt_2021-03-18")   # gap vs 10 and 100 steps
    reverse_stress(account, {"BTC": -1.0})                    # smallest fall to insolvency
    reverse_stress(account, model=dcc_result)                 # most likely insolvency move

Modules: :mod:`~.historical` (named windows on closes and wicks, worst-window detector),
:mod:`~.hypothetical` (correlation to one, volatility × k, single-asset crash, stablecoin
depeg), :mod:`~.reverse`, :mod:`~.population` (accounts as arrays, OI-calibrated generator),
:mod:`~.cascade` (liquidation cascades: impact, venue rules, insurance funds per symbol, ADL at
the bankruptcy/mark price or socialized, circuit breakers, gap vs gradual paths),
:mod:`~.replay` (2025-10-10 on hourly perp bars).
"""

from riskmodels.stress.cascade import (
    ADL_MODES,
    ADL_PRICES,
    RESIDUAL_TO,
    CascadeResult,
    CircuitBreaker,
    DepthImpact,
    SquareRootImpact,
    gradual_prices,
    shock_paths,
    simulate_cascade,
    simulate_cascade_loop,
    simulate_path,
)
from riskmodels.stress.historical import (
    EVENTS,
    FREQ_PREFERENCE,
    MEASURES,
    historical_moves,
    historical_stress,
    worst_windows,
)
from riskmodels.stress.hypothetical import (
    correlation_to_one,
    single_asset_crash,
    stablecoin_depeg,
    vol_scaled,
)
from riskmodels.stress.population import (
    DEFAULT_LEVERAGE_MIX,
    OI_CONTRACTS,
    AccountPopulation,
    generate_population,
    open_interest_at,
)
from riskmodels.stress.replay import ReplayResult, replay_2025_10_10
from riskmodels.stress.reverse import ReverseStressResult, reverse_stress

__all__ = [
    "ADL_MODES",
    "ADL_PRICES",
    "DEFAULT_LEVERAGE_MIX",
    "EVENTS",
    "FREQ_PREFERENCE",
    "MEASURES",
    "OI_CONTRACTS",
    "RESIDUAL_TO",
    "AccountPopulation",
    "CascadeResult",
    "CircuitBreaker",
    "DepthImpact",
    "ReplayResult",
    "ReverseStressResult",
    "SquareRootImpact",
    "correlation_to_one",
    "generate_population",
    "gradual_prices",
    "historical_moves",
    "historical_stress",
    "open_interest_at",
    "replay_2025_10_10",
    "reverse_stress",
    "shock_paths",
    "simulate_cascade",
    "simulate_cascade_loop",
    "simulate_path",
    "single_asset_crash",
    "stablecoin_depeg",
    "vol_scaled",
    "worst_windows",
]
