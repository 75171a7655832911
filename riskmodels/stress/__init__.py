"""Stress testing: historical and hypothetical scenarios, reverse stress, liquidation cascades.

::

    from riskmodels.stress import (CircuitBreaker, SquareRootImpact, generate_population,
                                   historical_stress, reverse_stress, simulate_cascade)

    sc = historical_stress(event="2025-10-10")               # one-row Scenarios from the mirror
    worst = worst_windows(returns, "1d", k=5)                 # non-overlapping worst windows
    pop = generate_population(1_000_000, 60_000.0, open_interest=2.6e9, rng=1)
    res = simulate_cascade(pop, -0.10, impact=SquareRootImpact(0.04, 2e10),
                           insurance_fund=5e7, adl="ranking",
                           circuit_breaker=CircuitBreaker(0.05, window=3))
    res.path; res.check_conservation()
    reverse_stress(account, {"BTC": -1.0})                    # smallest fall to insolvency
    reverse_stress(account, model=dcc_result)                 # most likely insolvency move

Modules: :mod:`~.historical` (named windows, worst-window detector), :mod:`~.hypothetical`
(correlation to one, volatility × k, single-asset crash, stablecoin depeg), :mod:`~.reverse`,
:mod:`~.population` (accounts as arrays, OI-calibrated generator), :mod:`~.cascade`
(liquidation cascades: impact, insurance fund, ADL, circuit breakers), :mod:`~.replay`
(2025-10-10 on hourly perp bars).
"""

from riskmodels.stress.cascade import (
    ADL_MODES,
    CascadeResult,
    CircuitBreaker,
    DepthImpact,
    SquareRootImpact,
    simulate_cascade,
    simulate_cascade_loop,
    simulate_path,
)
from riskmodels.stress.historical import EVENTS, FREQ_PREFERENCE, historical_stress, worst_windows
from riskmodels.stress.hypothetical import (
    correlation_to_one,
    single_asset_crash,
    stablecoin_depeg,
    vol_scaled,
)
from riskmodels.stress.population import (
    DEFAULT_LEVERAGE_MIX,
    AccountPopulation,
    generate_population,
    open_interest_at,
)
from riskmodels.stress.replay import ReplayResult, replay_2025_10_10
from riskmodels.stress.reverse import ReverseStressResult, reverse_stress

__all__ = [
    "ADL_MODES",
    "DEFAULT_LEVERAGE_MIX",
    "EVENTS",
    "FREQ_PREFERENCE",
    "AccountPopulation",
    "CascadeResult",
    "CircuitBreaker",
    "DepthImpact",
    "ReplayResult",
    "ReverseStressResult",
    "SquareRootImpact",
    "correlation_to_one",
    "generate_population",
    "historical_stress",
    "open_interest_at",
    "replay_2025_10_10",
    "reverse_stress",
    "simulate_cascade",
    "simulate_cascade_loop",
    "simulate_path",
    "single_asset_crash",
    "stablecoin_depeg",
    "vol_scaled",
    "worst_windows",
]
