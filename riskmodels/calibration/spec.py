r"""The MMR calibration as a spec: the method and its options set once, fitted per data set.

:func:`~riskmodels.calibration.calibrate_mmr` and
:func:`~riskmodels.calibration.calibration_grid` take 19 to 27 keywords each, and a notebook
spells the same ones (target, tiers, side, impact model, bootstrap, seed) at every call.
:class:`MMRCalibrator` holds them once, keyword-only and frozen, and offers the two questions as
methods:

* :meth:`MMRCalibrator.fit` — one calibration (``calibrate_mmr``) → a frozen
  :class:`~riskmodels.calibration.MMRCalibration` or
  :class:`~riskmodels.calibration.CloseoutCalibration`;
* :meth:`MMRCalibrator.grid` — the same calibration over a grid of assets × horizons (or
  close-out delays) × targets × models, on the :class:`~riskmodels.parallel.RunOptions` given
  (``calibration_grid``) → a :class:`~riskmodels.calibration.CalibrationGrid`. Each cell equals
  ``fit`` with that cell's values.

>>> cal = MMRCalibrator(method="closeout", target=0.005, closeout={"delay": "1min"})  # doctest: +SKIP
>>> result = cal.fit(bars, "BTC", tiers=binance_usdm_tiers()["BTC"])
>>> plane = cal.grid(bars, ["BTC"], delays=["0s", "1min", "5min"], run=run_options)

The functions stay as thin wrappers for notebooks where one call reads better.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from riskmodels._frozen import FrozenDict
from riskmodels.calibration.closeout import CloseoutCalibration
from riskmodels.calibration.grid import CalibrationGrid, calibration_grid
from riskmodels.calibration.mmr import MMRCalibration, _is_bars, calibrate_mmr, check_target
from riskmodels.exceptions import ConfigError
from riskmodels.parallel import RunOptions

__all__ = ["MMRCalibrator"]

_METHODS = ("auto", "horizon", "closeout")
_SIDES = ("long", "short", "both")


@dataclass(frozen=True, kw_only=True)
class MMRCalibrator:
    """Maintenance-margin calibration settings (the spec of :func:`calibrate_mmr`).

    Parameters
    ----------
    method : {"auto", "horizon", "closeout"}, default "auto"
        ``"closeout"``: a perpetual venue's close-out gap on mark bars; ``"horizon"``: a
        clearing house's fixed horizon on returns; ``"auto"``: by the data (bars → close-out).
    target : float, default 0.005
        Target breach probability (bad debt per liquidation, or loss beyond the margin), in
        (0, 0.5).
    horizon : str or Timedelta, default "1d"
        Horizon method: the base liquidation horizon.
    model : str, default "historical"
        Horizon method: the loss model.
    tiers : TierTable or sequence of float, optional
        The reference tier table (close-out method: the venue's, whose brackets and leverage
        the positions open at).
    side : {"long", "short", "both"}, default "both"
    participation, impact_coefficient, impact_exponent : float
        Liquidation-horizon and square-root impact model (defaults 0.10, 1.0, 0.5).
    buffer : float, default 1.0
    buffer_kind : {"multiplicative", "additive"}, default "multiplicative"
    n_boot : int, default 500
        Bootstrap replicates of the intervals (0: none).
    ci : float, default 0.95
        Interval coverage.
    block_length : int, optional
        Bootstrap block length (horizon method).
    seed : int or SeedSequence, default 0
        Root of the bootstrap streams (keyed per cell, so a grid cell equals ``fit``).
    closeout : mapping, default {}
        Close-out options passed on to :func:`~riskmodels.calibration.calibrate_closeout`
        (``delay``, ``origin_every``, ``holdout``, ``im_bars``, ``funding``, ...); stored
        read-only.

    Raises
    ------
    ConfigError
        An unknown method or side, a target outside (0, 0.5), a non-mapping ``closeout``.
    """

    method: Literal["auto", "horizon", "closeout"] = "auto"
    target: float = 0.005
    horizon: Any = "1d"
    model: str = "historical"
    tiers: Any = None
    side: Literal["long", "short", "both"] = "both"
    participation: float = 0.10
    impact_coefficient: float = 1.0
    impact_exponent: float = 0.5
    buffer: float = 1.0
    buffer_kind: Literal["multiplicative", "additive"] = "multiplicative"
    n_boot: int = 500
    ci: float = 0.95
    block_length: int | None = None
    seed: int | np.random.SeedSequence = 0
    closeout: Mapping[str, Any] = field(default_factory=FrozenDict)

    def __post_init__(self) -> None:
        if self.method not in _METHODS:
            raise ConfigError(f"method must be one of {list(_METHODS)} (got {self.method!r}).")
        if self.side not in _SIDES:
            raise ConfigError(f"side must be one of {list(_SIDES)} (got {self.side!r}).")
        check_target(self.target)
        if not isinstance(self.closeout, Mapping):
            raise ConfigError(
                "closeout must be a mapping of close-out options, e.g. "
                f"closeout={{'delay': '1min'}} (got {type(self.closeout).__name__})."
            )
        object.__setattr__(self, "closeout", FrozenDict(self.closeout))

    # -- the two questions -----------------------------------------------------------------------
    def fit(
        self,
        data: pd.DataFrame | Mapping[str, pd.DataFrame],
        assets: str | Sequence[str] | None = None,
        *,
        adv: Mapping[str, float] | None = None,
        test_start: Any = None,
        regimes: pd.Series | None = None,
    ) -> MMRCalibration | CloseoutCalibration:
        """One calibration on ``data`` (:func:`calibrate_mmr` with this spec's settings).

        Parameters
        ----------
        data : DataFrame or mapping
            Returns (horizon method) or mark bars per asset (close-out method).
        assets : str or sequence of str, optional
            Default every asset of ``data``.
        adv, test_start, regimes
            Data-dependent inputs of the horizon method (median daily volume per asset, the
            held-back split date, regime labels); see :func:`calibrate_mmr`.

        Returns
        -------
        MMRCalibration or CloseoutCalibration
        """
        kwargs = self._common()
        if self._method(data) == "horizon":
            kwargs.update(
                model=self.model,
                adv=adv,
                test_start=test_start,
                buffer=self.buffer,
                buffer_kind=self.buffer_kind,
                block_length=self.block_length,
                regimes=regimes,
            )
        else:
            self._no_horizon_inputs(adv=adv, test_start=test_start, regimes=regimes)
        return calibrate_mmr(
            data,
            assets,
            self.horizon,
            self.target,
            method=self._method(data),
            **kwargs,
            **dict(self.closeout),
        )

    def grid(
        self,
        data: pd.DataFrame | Mapping[str, pd.DataFrame],
        assets: str | Sequence[str] | None = None,
        *,
        horizons: Any = None,
        delays: Any = None,
        targets: float | Sequence[float] | None = None,
        models: str | Sequence[str] | None = None,
        adv: Mapping[str, float] | None = None,
        test_start: Any = None,
        regimes: pd.Series | None = None,
        insufficient: Literal["record", "raise"] = "record",
        run: RunOptions | None = None,
    ) -> CalibrationGrid:
        """This calibration over a grid of cells (:func:`calibration_grid`).

        Parameters
        ----------
        data, assets
            As in :meth:`fit`.
        horizons : sequence, optional
            Horizon method: the base horizons (default ``[self.horizon]``).
        delays : sequence, optional
            Close-out method: the base close-out delays (default the ``closeout`` delay).
        targets : float or sequence, optional
            Default ``[self.target]``.
        models : str or sequence, optional
            Horizon method: default ``[self.model]``.
        adv, test_start, regimes
            As in :meth:`fit`.
        insufficient : {"record", "raise"}, default "record"
            A cell with too little data: recorded in the grid, or an error.
        run : RunOptions, optional
            Where the cells run (no number depends on it).

        Returns
        -------
        CalibrationGrid
            Each cell equals :meth:`fit` with that cell's horizon or delay, target and model.
        """
        method = self._method(data)
        targets = (self.target,) if targets is None else targets
        kwargs = self._common()
        options = dict(self.closeout)
        if method == "horizon":
            kwargs.update(
                horizons=[self.horizon] if horizons is None else horizons,
                models=(self.model,) if models is None else models,
                adv=adv,
                test_start=test_start,
                buffer=self.buffer,
                buffer_kind=self.buffer_kind,
                block_length=self.block_length,
                regimes=regimes,
            )
        else:
            self._no_horizon_inputs(adv=adv, test_start=test_start, regimes=regimes)
            if delays is None:
                delays = [options.get("delay", "1min")]
            options.pop("delay", None)
            kwargs.update(delays=delays)
        return calibration_grid(
            data,
            assets,
            targets=targets,
            method=method,
            insufficient=insufficient,
            run=run if run is not None else RunOptions(),
            **kwargs,
            **options,
        )

    def replace(self, **changes: Any) -> MMRCalibrator:
        """A copy with ``changes`` (validated)."""
        return dataclasses.replace(self, **changes)

    # -- helpers ---------------------------------------------------------------------------------
    def _method(self, data: Any) -> Literal["horizon", "closeout"]:
        if self.method == "auto":
            return "closeout" if _is_bars(data) else "horizon"
        return self.method

    def _common(self) -> dict[str, Any]:
        return {
            "tiers": self.tiers,
            "side": self.side,
            "participation": self.participation,
            "impact_coefficient": self.impact_coefficient,
            "impact_exponent": self.impact_exponent,
            "n_boot": self.n_boot,
            "ci": self.ci,
            "seed": self.seed,
        }

    @staticmethod
    def _no_horizon_inputs(**given: Any) -> None:
        bad = sorted(k for k, v in given.items() if v is not None)
        if bad:
            raise ConfigError(
                f"{bad} are inputs of the horizon method; the close-out method reads the bars "
                "only (pass method='horizon' with returns to use them)."
            )
