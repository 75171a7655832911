"""Maintenance margin and leverage tiers solved for a target breach probability.

::

    from riskmodels.calibration import calibrate_mmr
    from riskmodels.margin import binance_usdm_tiers

    cal = calibrate_mmr({"1h": r1h, "4h": r4h, "1d": r1d}, "BTC", horizon="1h", target=0.005,
                        tiers=binance_usdm_tiers()["BTC"], adv={"BTC": 2e9},
                        test_start="2024-01-01")
    cal.summary()                      # bracket, horizon, data, MMR [CI], IMR, leverage, OOS
    cal.tier_table("BTC")              # TierTable in the exchange's shape

Close-out MMR (perpetuals; the default for bar input)
    ``calibrate_mmr(bars, method="closeout")`` = :func:`calibrate_closeout` ->
    :class:`CloseoutCalibration` (:mod:`.closeout`): P(bad debt | liquidation) ≤ target for
    positions liquidated by the engine on minute mark paths, with IM, day-block bootstrap,
    monotone tiers and a leave-one-window-out check; :func:`implied_closeout_horizon` (the
    delay each venue's tier-1 MMR covers), :func:`closeout_sensitivity` (delay × target).
Fixed-horizon MMR (clearing-house margin period of risk; the default for returns)
    :func:`calibrate_mmr` -> :class:`MMRCalibration` (:mod:`.mmr`), :func:`static_mmr`,
    :func:`leverage_limits`, :func:`breach_summary`.
Grids
    :func:`calibration_grid` -> :class:`CalibrationGrid` (:mod:`.grid`): assets × horizons ×
    targets × models (``method="horizon"``) or assets × delays × targets
    (``method="closeout"``), one task per cell, in this process, loky processes or on dask.
Dynamic MMR
    :func:`dynamic_mmr` (conditional quantile, walk-forward).
Horizons
    :func:`liquidation_horizon`, :func:`choose_data`, :func:`slippage_rate`,
    :func:`horizon_losses`, :func:`adv_from_ohlcv` (:mod:`.horizon`).
Procyclicality
    :func:`procyclicality_metrics`, :func:`procyclicality_comparison` (:mod:`.procyclicality`).
Venue rules
    :func:`riskmodels.liquidation.replay_rules` (venue replays on price paths), :class:`riskmodels.margin.VenueRule` (moved to ``riskmodels.margin``)
    (:mod:`.venues`, rule files in ``rules/*.toml``).
"""

from riskmodels.calibration.closeout import (
    IMPLIED_DELAYS,
    CloseoutCalibration,
    binomial_power,
    calibrate_closeout,
    closeout_sensitivity,
    entry_excursions,
    implied_closeout_horizon,
    solve_rate,
)
from riskmodels.calibration.grid import CalibrationGrid, calibration_grid
from riskmodels.calibration.horizon import (
    DataChoice,
    adv_from_ohlcv,
    choose_data,
    daily_volatility,
    horizon_losses,
    liquidation_horizon,
    slippage_rate,
)
from riskmodels.calibration.mmr import (
    MMRCalibration,
    breach_summary,
    calibrate_mmr,
    cell_seed,
    check_target,
    dynamic_mmr,
    leverage_limits,
    static_mmr,
)
from riskmodels.calibration.procyclicality import (
    ProcyclicalityMetrics,
    procyclicality_comparison,
    procyclicality_metrics,
)
from riskmodels.calibration.spec import MMRCalibrator

__all__ = [
    "IMPLIED_DELAYS",
    "CalibrationGrid",
    "CloseoutCalibration",
    "DataChoice",
    "MMRCalibration",
    "MMRCalibrator",
    "ProcyclicalityMetrics",
    "adv_from_ohlcv",
    "binomial_power",
    "breach_summary",
    "calibrate_closeout",
    "calibrate_mmr",
    "calibration_grid",
    "cell_seed",
    "check_target",
    "choose_data",
    "closeout_sensitivity",
    "daily_volatility",
    "dynamic_mmr",
    "entry_excursions",
    "horizon_losses",
    "implied_closeout_horizon",
    "leverage_limits",
    "liquidation_horizon",
    "procyclicality_comparison",
    "procyclicality_metrics",
    "slippage_rate",
    "solve_rate",
    "static_mmr",
]

#: Names that moved to :mod:`riskmodels.margin` (the one home of margin rules); kept here as
#: deprecated aliases for one release.
_MOVED_TO_MARGIN = ("VenueRule", "available_rules", "load_rule")


def __getattr__(name: str) -> object:
    if name in _MOVED_TO_MARGIN:
        import warnings

        import riskmodels.margin as _margin

        warnings.warn(
            f"riskmodels.calibration.{name} moved to riskmodels.margin.{name} (margin rules have "
            "one home); the alias goes in the next release.",
            DeprecationWarning,
            stacklevel=2,
        )
        return getattr(_margin, name)
    raise AttributeError(f"module 'riskmodels.calibration' has no attribute {name!r}")
