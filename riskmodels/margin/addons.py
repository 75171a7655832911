r"""Add-ons to a margin requirement: liquidity, concentration, and anti-procyclicality tools.

Liquidity and concentration add-ons charge the cost of closing out a large position. They act
on the absolute net dollar delta :math:`Q_a` of the positions in each asset (what a liquidator
must unwind; collateral excluded) and are added to both the initial and the maintenance
requirement of any model (``addons=(...)`` on every model), since the cost is paid at
liquidation.

* :class:`LiquidityAddOn` — square-root market impact over the liquidation horizon.
* :class:`ConcentrationAddOn` — a charge on the part of a position above a fraction of the
  volume traded over the liquidation horizon (CME SPAN 2: "concentration add-on applies above
  thresholds calibrated to recent average daily volume", VENUES.md §2.1).

Anti-procyclicality (APC) tools act on a *time series* of margin requirements, as EMIR RTS
153/2013 Art. 28 frames them (VENUES.md §2.6); each is a function and
:class:`AntiProcyclicality` switches them on and off together:

* (a) :func:`apc_buffer` — a buffer of at least 25% of the calculated margin, released in stress;
* (b) :func:`apc_stressed_weight` — at least 25% weight on stressed observations;
* (c) :func:`apc_floor` — margin no lower than the margin a 10-year lookback gives.

:class:`~riskmodels.margin.PortfolioMargin` also applies (a), (b) (as scenario weights: 25% of
the probability on a stressed scenario set) and (c) (a floor from scenarios over a 10-year
window) at a single date.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import KW_ONLY, dataclass
from typing import Any, ClassVar, Protocol, runtime_checkable

import numpy as np
import pandas as pd

from riskmodels._deprecation import keyword_options
from riskmodels._time import as_timedelta
from riskmodels.exceptions import ConfigError, DataError
from riskmodels.margin._common import (
    check_fraction,
    check_nonnegative,
    check_positive,
    horizon_days,
)

__all__ = [
    "AddOn",
    "AntiProcyclicality",
    "ConcentrationAddOn",
    "LiquidityAddOn",
    "apc_buffer",
    "apc_floor",
    "apc_stressed_weight",
]


@runtime_checkable
class AddOn(Protocol):
    """An add-on: USD charge per asset from the absolute net position dollar delta."""

    name: str

    def charges(self, exposure: np.ndarray, assets: Sequence[str]) -> np.ndarray:
        """Charge per asset for absolute exposures of shape (..., N) in ``assets`` order."""


def _positive_map(values: Any, name: str, unit: str) -> dict[str, float]:
    if not isinstance(values, Mapping) or not values:
        raise ConfigError(
            f"{name} must be a non-empty mapping asset -> {unit} such as {{'BTC': 2e10}} "
            f"(got {values!r})."
        )
    return {str(a): check_positive(v, f"{name}[{a!r}]", f"Give {unit}.") for a, v in values.items()}


def _lookup(
    values: Mapping[str, float], assets: Sequence[str], exposure: np.ndarray, what: str
) -> np.ndarray:
    """Per-asset parameter vector; an asset with exposure but no value is a DataError."""
    out = np.full(len(assets), np.nan)
    for j, a in enumerate(assets):
        if a in values:
            out[j] = values[a]
    needed = np.any(np.asarray(exposure).reshape(-1, len(assets)) > 0, axis=0)
    missing = [a for j, a in enumerate(assets) if needed[j] and np.isnan(out[j])]
    if missing:
        raise DataError(
            f"{what} has no value for {missing} (has {sorted(values)}): add them, e.g. "
            f"{what}[{missing[0]!r}] = ..."
        )
    return np.nan_to_num(out, nan=1.0)


@keyword_options
@dataclass(frozen=True)
class LiquidityAddOn:
    r"""Square-root market-impact cost of liquidating each asset's net position.

    Parameters
    ----------
    adv : mapping of str to float
        Average daily traded volume per asset, USD per day.
    volatility : mapping of str to float
        Daily volatility of each asset (decimal, e.g. 0.035).
    coefficient : float, default 1.0
        The prefactor :math:`Y` ("of order one" in the square-root law; Tóth et al. 2011).
    exponent : float, default 0.5
        :math:`\beta`: 0.5 is the square-root law; Almgren et al. (2005) estimate 0.6 for the
        temporary impact of US equity programme trades.
    horizon : Timedelta or str, default "1d"
        Liquidation horizon :math:`h` over which the position is worked.

    Notes
    -----
    For absolute net dollar delta :math:`Q` in an asset with daily volume :math:`V` and daily
    volatility :math:`\sigma`, liquidated over :math:`h` days (volume :math:`Vh`, volatility
    :math:`\sigma\sqrt h` over the horizon), the add-on is the impact cost

    .. math::

        \text{charge} = Y\,\sigma\sqrt{h}\,\Bigl(\frac{Q}{V h}\Bigr)^{\beta} Q .

    With :math:`\beta = 1/2` the horizon cancels, :math:`Y\sigma\sqrt{Q/V}\,Q`: the square-root
    law of metaorder impact, :math:`\Delta = Y\sigma_D\sqrt{Q/V_D}` (Tóth, Lemperière, Deremble,
    de Lataillade, Kockelkoren & Bouchaud 2011, "Anomalous price impact and the critical nature
    of liquidity in financial markets", Phys. Rev. X 1, 021006), times the size. With
    :math:`\beta > 1/2` a longer horizon lowers the cost (Almgren, Thum, Hauptmann & Li 2005,
    "Direct estimation of equity market impact", Risk 18(7), temporary-impact model). The charge
    grows like :math:`Q^{1+\beta}`, so it is not homogeneous of degree one in the book size.
    """

    adv: Mapping[str, float]
    volatility: Mapping[str, float]
    _: KW_ONLY
    coefficient: float = 1.0
    exponent: float = 0.5
    horizon: Any = "1d"

    name: ClassVar[str] = "liquidity"

    def __post_init__(self) -> None:
        object.__setattr__(self, "adv", _positive_map(self.adv, "adv", "USD volume per day"))
        object.__setattr__(
            self, "volatility", _positive_map(self.volatility, "volatility", "daily volatility")
        )
        object.__setattr__(self, "coefficient", check_nonnegative(self.coefficient, "coefficient"))
        e = check_positive(self.exponent, "exponent", "0.5 is the square-root law.")
        if e > 1:
            raise ConfigError(
                f"exponent must be in (0, 1] (got {e!r}); 0.5 is the square-root law."
            )
        object.__setattr__(self, "exponent", e)
        object.__setattr__(self, "horizon", as_timedelta(self.horizon, "horizon"))
        horizon_days(self.horizon)

    def charges(self, exposure: np.ndarray, assets: Sequence[str]) -> np.ndarray:
        q = np.abs(np.asarray(exposure, dtype="float64"))
        h = horizon_days(self.horizon)
        v = _lookup(self.adv, assets, q, "adv")
        s = _lookup(self.volatility, assets, q, "volatility")
        return self.coefficient * s * math.sqrt(h) * (q / (v * h)) ** self.exponent * q


@keyword_options
@dataclass(frozen=True)
class ConcentrationAddOn:
    r"""Charge on the part of a position above a fraction of the volume over the horizon.

    Parameters
    ----------
    adv : mapping of str to float
        Average daily traded volume per asset, USD per day.
    threshold : float, default 0.10
        Fraction :math:`\theta` of the volume over the liquidation horizon a liquidator can
        trade without concentration cost.
    rate : float, default 0.10
        Charge :math:`k` per USD of position above the threshold.
    horizon : Timedelta or str, default "1d"

    Notes
    -----
    :math:`\text{charge} = k\,\max(Q - \theta V h, 0)`. SPAN 2 and ICE IRM 2 apply a
    concentration charge above ADV-calibrated thresholds (VENUES.md §2.1, §2.5) without
    publishing its functional form; this linear excess charge and the default :math:`\theta`,
    :math:`k` are illustrative, not calibrated.
    """

    adv: Mapping[str, float]
    _: KW_ONLY
    threshold: float = 0.10
    rate: float = 0.10
    horizon: Any = "1d"

    name: ClassVar[str] = "concentration"

    def __post_init__(self) -> None:
        object.__setattr__(self, "adv", _positive_map(self.adv, "adv", "USD volume per day"))
        object.__setattr__(self, "threshold", check_nonnegative(self.threshold, "threshold"))
        object.__setattr__(self, "rate", check_fraction(self.rate, "rate"))
        object.__setattr__(self, "horizon", as_timedelta(self.horizon, "horizon"))
        horizon_days(self.horizon)

    def charges(self, exposure: np.ndarray, assets: Sequence[str]) -> np.ndarray:
        q = np.abs(np.asarray(exposure, dtype="float64"))
        v = _lookup(self.adv, assets, q, "adv")
        cap = self.threshold * v * horizon_days(self.horizon)
        return self.rate * np.maximum(q - cap, 0.0)


def check_addons(addons: Any) -> tuple[AddOn, ...]:
    """A tuple of add-ons (each with ``name`` and ``charges``), else :class:`ConfigError`."""
    if addons is None:
        return ()
    if isinstance(addons, AddOn):
        addons = (addons,)
    out = tuple(addons)
    for a in out:
        if not isinstance(a, AddOn):
            raise ConfigError(
                f"addons must hold add-on objects such as LiquidityAddOn(...) or "
                f"ConcentrationAddOn(...) (got {a!r})."
            )
    return out


def addon_frame(addons: Sequence[AddOn], deltas: pd.Series) -> pd.DataFrame:
    """Breakdown rows (component, item, asset, initial, maintenance) of the add-ons of one account."""
    rows: list[dict[str, Any]] = []
    if not addons or deltas.empty:
        return pd.DataFrame(rows, columns=["component", "item", "asset", "initial", "maintenance"])
    assets = list(deltas.index)
    q = np.abs(deltas.to_numpy(dtype="float64"))
    for add in addons:
        ch = add.charges(q, assets)
        for a, c, qq in zip(assets, ch, q, strict=True):
            if qq > 0:
                rows.append(
                    {
                        "component": f"add-on: {add.name}",
                        "item": f"{a} net delta {qq:,.0f}",
                        "asset": a,
                        "initial": float(c),
                        "maintenance": float(c),
                    }
                )
    return pd.DataFrame(rows, columns=["component", "item", "asset", "initial", "maintenance"])


def addon_matrix(
    addons: Sequence[AddOn], deltas: np.ndarray, assets: Sequence[str]
) -> dict[str, np.ndarray]:
    """Total charge per account (A,) for each add-on, from deltas (A × N)."""
    q = np.abs(deltas)
    return {f"add-on: {a.name}": a.charges(q, assets).sum(axis=1) for a in addons}


# -- anti-procyclicality ------------------------------------------------------------------------
def _series(x: Any, name: str) -> pd.Series:
    if not isinstance(x, pd.Series):
        raise ConfigError(
            f"{name} must be a pandas Series of margin requirements indexed by time (got "
            f"{type(x).__name__})."
        )
    if x.isna().any():
        raise DataError(f"{name} has {int(x.isna().sum())} NaN values; drop or fill them first.")
    return x.astype("float64")


def _align(other: Any, index: pd.Index, name: str) -> pd.Series:
    if isinstance(other, pd.Series):
        out = other.reindex(index)
        if out.isna().any():
            raise DataError(
                f"{name} does not cover every time of the margin series ({int(out.isna().sum())} "
                "missing); give it on the same index."
            )
        return out
    return pd.Series(float(other), index=index)


def apc_buffer(
    margin: pd.Series, buffer: float = 0.25, stress: pd.Series | None = None
) -> pd.Series:
    r"""EMIR Art. 28(1)(a): add a buffer of ``buffer`` × margin, released in stress.

    Parameters
    ----------
    margin : Series
        Calculated margin requirement over time.
    buffer : float, default 0.25
        At least 0.25 under EMIR RTS 153/2013 Art. 28(1)(a).
    stress : Series of bool, optional
        True where the buffer is released (exhausted), e.g. when calculated margin rises
        significantly; None keeps it everywhere.

    Returns
    -------
    Series
        :math:`M_t (1 + b\,1\{\text{not stress}_t\})`.

    Notes
    -----
    EMIR RTS 153/2013 Art. 28(1)(a): "applying a margin buffer at least equal to 25% of the
    calculated margins which it allows to be temporarily exhausted in periods where calculated
    margin requirements are rising significantly" (VENUES.md §2.6).
    """
    m = _series(margin, "margin")
    b = check_nonnegative(buffer, "buffer", "EMIR's minimum is 0.25.")
    if stress is None:
        return m * (1.0 + b)
    s = stress.reindex(m.index) if isinstance(stress, pd.Series) else None
    if s is None or s.isna().any():
        raise DataError("stress must be a boolean Series on the margin series' index (no gaps).")
    return m * (1.0 + b * (~s.astype(bool)).astype("float64"))


def apc_stressed_weight(
    margin: pd.Series, stressed_margin: pd.Series | float, weight: float = 0.25
) -> pd.Series:
    r"""EMIR Art. 28(1)(b): blend with the margin of a stressed period, ``weight`` on stress.

    Returns :math:`(1 - w) M_t + w M^\text{stress}_t`. Art. 28(1)(b) asks for "at least 25%
    weight to stressed observations in the lookback period"; blending the two margins is the
    series-level version. :class:`~riskmodels.margin.PortfolioMargin` does it on the scenarios
    themselves (``stressed_scenarios``, ``stressed_weight``).
    """
    m = _series(margin, "margin")
    w = check_fraction(weight, "weight", fix="EMIR's minimum is 0.25.")
    s = _align(stressed_margin, m.index, "stressed_margin")
    return (1.0 - w) * m + w * s


def apc_floor(margin: pd.Series, floor_margin: pd.Series | float) -> pd.Series:
    r"""EMIR Art. 28(1)(c): margin no lower than the margin a 10-year lookback gives.

    ``floor_margin`` is that margin (e.g. :class:`~riskmodels.margin.PortfolioMargin` over
    historical scenarios from a 10-year window); the result is :math:`\max(M_t, F_t)`.
    """
    m = _series(margin, "margin")
    return np.maximum(m, _align(floor_margin, m.index, "floor_margin"))


@keyword_options
@dataclass(frozen=True)
class AntiProcyclicality:
    """EMIR Art. 28 anti-procyclicality tools, each switchable, applied to a margin series.

    Parameters
    ----------
    buffer : float or None, default 0.25
        (a) Buffer rate; None switches it off.
    stressed_weight : float or None, default None
        (b) Weight on the stressed-period margin; None switches it off.
    floor : bool, default False
        (c) Floor at the 10-year-lookback margin.

    Notes
    -----
    :meth:`apply` runs (b), then (c), then (a): the buffer is added on the floored blend, so
    releasing it in stress never takes margin below the stressed blend or the floor.
    """

    _: KW_ONLY
    buffer: float | None = 0.25
    stressed_weight: float | None = None
    floor: bool = False

    def __post_init__(self) -> None:
        if self.buffer is not None:
            object.__setattr__(self, "buffer", check_nonnegative(self.buffer, "buffer"))
        if self.stressed_weight is not None:
            object.__setattr__(
                self, "stressed_weight", check_fraction(self.stressed_weight, "stressed_weight")
            )
        object.__setattr__(self, "floor", bool(self.floor))

    def apply(
        self,
        margin: pd.Series,
        *,
        stress: pd.Series | None = None,
        stressed_margin: pd.Series | float | None = None,
        floor_margin: pd.Series | float | None = None,
    ) -> pd.DataFrame:
        """The margin series after each switched-on tool.

        Returns
        -------
        DataFrame
            Columns ``calculated``, then ``stressed_weight``, ``floor``, ``buffer`` for the tools
            that are on, and ``final``.

        Raises
        ------
        ConfigError
            A tool that is on without its input (``stressed_margin`` for (b), ``floor_margin``
            for (c)).
        """
        m = _series(margin, "margin")
        out = pd.DataFrame({"calculated": m})
        cur = m
        if self.stressed_weight is not None:
            if stressed_margin is None:
                raise ConfigError(
                    "stressed_weight is on: pass stressed_margin (the margin over a stressed "
                    "period), or set stressed_weight=None."
                )
            cur = apc_stressed_weight(cur, stressed_margin, self.stressed_weight)
            out["stressed_weight"] = cur
        if self.floor:
            if floor_margin is None:
                raise ConfigError(
                    "floor is on: pass floor_margin (the margin from a 10-year lookback), or set "
                    "floor=False."
                )
            cur = apc_floor(cur, floor_margin)
            out["floor"] = cur
        if self.buffer is not None:
            cur = apc_buffer(cur, self.buffer, stress)
            out["buffer"] = cur
        out["final"] = cur
        return out
