r"""Risk-matrix margin: a grid of price moves × implied-vol shocks per underlying (Deribit PM, OKX).

For each underlying asset (a "risk unit": the positions on it and, by default, collateral held
in it) the account is revalued on a grid and the worst loss is the requirement:

* **standard grid**: price moves :math:`m \in \{-R, \dots, 0, \dots, +R\}` in
  ``2 * buckets_count + 1`` evenly spaced points, each with the implied vols shocked up
  (:math:`\times(1 + u\,s_k)`), unchanged and down (:math:`\times(1 - d\,s_k)`), where
  :math:`s_k = (30/\text{DTE}_k)^{p}` scales the shock by the option's days to expiry (power
  :math:`p_\text{short}` below 30 days, :math:`p_\text{long}` above; DTE floored at one day);
  options are fully revalued (Black-76, :mod:`riskmodels.instruments`), linear positions move
  with the price; the valuation is instantaneous (no time decay);
* **extended moves** :math:`e` (e.g. −66% … +500%) on the vol-up shock only; a fraction
  :math:`\phi` of the loss counts, less the dampener
  :math:`\max(|e|/R - 1, 0)\,D` (:math:`D` in USD), floored at zero; the part above the
  standard worst loss is added;
* **delta shock**: :math:`\delta_\text{max} \max(|\Delta| - T, 0)` on the absolute net dollar
  delta :math:`|\Delta|` of the risk unit above the threshold :math:`T`;
* **roll shock**: :math:`\sum_k |N_k| \max(m\,\tau_k, m_0)` over the expiry buckets of the
  unit's perpetuals (:math:`\tau = 0`) and futures (:func:`~riskmodels.margin.floors.
  roll_shock_by_asset`; Deribit ``annualised_move_risk`` :math:`m` and ``min_annualised_move``
  :math:`m_0`).

.. math::

    \text{IM} = \sum_\text{assets}\Bigl(W + \max(W_\text{ext} - W, 0) + \text{delta shock}
        + \text{roll shock}\Bigr) + \text{add-ons}, \qquad
    \text{MM} = k\,(\text{IM} - \text{add-ons}) + \text{add-ons},

with :math:`W = \max(0, \max_\text{grid} \text{loss})`. Units are summed without offsets
between them (Deribit's segregated PM; OKX's risk units).

Parameters and sources (VENUES.md §1.1, Deribit ``private/pme/simulate``; BTC values of June
2024 are the defaults, :meth:`RiskMatrixMargin.deribit` adds the ETH values of February 2026):
``price_range`` 0.16 (ETH 0.18), ``buckets_count`` 4, ``volatility_range_up`` 0.50 (ETH 0.40)
/ ``_down`` 0.25, ``short_term_vega_power`` 0.30 / ``long_term_vega_power`` 0.13,
``max_delta_shock`` 0.10 with ``delta_total_liq_shock_threshold`` 20,000,000 USD,
``extended_dampener`` 100,000 (ETH 200,000), ``mm_factor`` 0.8; extended moves −66%, −33%,
+50%, +100%, +200%, +300%, +400%, +500% (Deribit "Portfolio Margin" support article). OKX PM
(VENUES.md §1.4, parameters of 2 January 2025): ``price_range=0.12, buckets_count=3`` is its
MR1 grid for BTC/ETH and ``extended_moves=(-0.24, 0.24)`` its MR6 extreme move.

**The extended fraction is not published**, so every result carries the band
:math:`\phi \in \{0, 1/3, 1\}` (``extended_band``) beside the headline at ``extended_fraction``
(default 1/3, the middle of the band): ``result.band`` holds IM and MM per :math:`\phi`.

**Settlement currency** (``currency="settlement"``, Deribit's segregated PM, S:PM): each unit's
coin-settled positions (inverse perpetuals and futures, coin options) are valued in the coin,
so the grid loss, the dampener (USD, converted at the current price), the roll and delta shocks
and the requirement are in coin and the coin collateral is not revalued against itself; USD-
settled positions form their own unit in USD. VENUES.md's capture reproduces exactly: a −1
ETH-PERPETUAL (inverse) has IM :math:`1 - 1/1.18 + 0.005 = 0.1575` ETH and MM 0.1260 ETH,
where the USD view charges 18%.

Readings of ours, not published formulas: the dampener
:math:`\min((|e|/R - 1)D, |\text{P\&L}|)` is a third-party re-implementation (VENUES.md §1.1),
applied here in USD; the delta-shock form (a rate on the excess over the threshold) and the
term-structure rule for the vega powers are our reading of the parameter names; the extended
fraction :math:`\phi` is not published (a band, above); the roll-shock form is our reading
(checked against the ETH capture). Not modelled: ``min_volatility_for_shock_up``,
``pnl_offset``, open-order and MMP margin.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import KW_ONLY, dataclass, field
from typing import Any, ClassVar, Literal

import numpy as np
import pandas as pd

from riskmodels._deprecation import keyword_options
from riskmodels.exceptions import ConfigError
from riskmodels.instruments import Account, Book, MarketState, Option
from riskmodels.instruments.market import STABLECOINS
from riskmodels.instruments.positions import option_unit_values
from riskmodels.margin._common import (
    as_accounts,
    book_position_deltas,
    check_account,
    check_fraction,
    check_nonnegative,
    position_deltas,
)
from riskmodels.margin.addons import addon_frame, addon_matrix, check_addons
from riskmodels.margin.floors import roll_shock_by_asset
from riskmodels.margin.isolated import position_label
from riskmodels.margin.results import BookMarginResult, MarginResult
from riskmodels.scenarios.base import Scenarios

__all__ = ["EXTENDED_BAND", "RiskMatrixMargin"]


def _stack_results(model: RiskMatrixMargin, results: Sequence[MarginResult]) -> BookMarginResult:
    """One-account results stacked into a :class:`BookMarginResult` (the per-account path)."""
    ids = tuple(r.account_id if r.account_id is not None else i for i, r in enumerate(results))
    index = pd.Index(ids, name="account")
    comps = pd.DataFrame([r.summary()["initial"] for r in results], index=index).fillna(0.0)
    band = pd.DataFrame([r.band for r in results], index=index) if results else None
    return BookMarginResult(
        model=model.name,
        account_ids=ids,
        initial=np.array([r.initial for r in results]),
        maintenance=np.array([r.maintenance for r in results]),
        equity=np.array([r.equity for r in results]),
        components=comps,
        driver=np.full(len(results), -1, dtype=np.intp),
        driver_labels=None,
        params=model._params(),
        band=band,
    )


#: Keys that :attr:`RiskMatrixMargin.per_asset` may override.
_PER_ASSET_KEYS = (
    "price_range",
    "vol_range_up",
    "vol_range_down",
    "extended_dampener",
    "max_delta_shock",
    "delta_shock_threshold",
    "roll_move",
    "min_roll_move",
)

#: The extended fraction's band: not published, so results report all three.
EXTENDED_BAND = (0.0, 1.0 / 3.0, 1.0)

_COLUMNS = ["component", "item", "asset", "initial", "maintenance", "scenario", "scenario_pnl"]

#: Deribit ETH parameters of February 2026 (VENUES.md §1.1 table, public capture of
#: ``private/pme/simulate``, timestamp 1771197609587).
DERIBIT_ETH_2026 = {
    "price_range": 0.18,
    "vol_range_up": 0.40,
    "vol_range_down": 0.25,
    "extended_dampener": 200_000.0,
    "roll_move": 0.05,
    "min_roll_move": 0.005,
}


def _phi_label(phi: float) -> str:
    """``φ=0``, ``φ=1/3``, ``φ=1`` (thirds written as fractions)."""
    for num, den in ((0, 1), (1, 3), (2, 3), (1, 1)):
        if abs(phi - num / den) < 1e-12:
            return f"φ={num}" if den == 1 else f"φ={num}/{den}"
    return f"φ={phi:g}"


@dataclass(frozen=True)
class _Unit:
    """Grid results of one risk unit (asset) for A accounts."""

    asset: str
    labels: list[str]
    ext_labels: list[str]
    std_pnl: np.ndarray  # (G, A)
    ext_raw: np.ndarray  # (E, A), loss before the fraction and the dampener
    damp: np.ndarray  # (E,) dampener
    delta: np.ndarray  # (A,)
    moves: np.ndarray  # (G,) simple returns
    shocks: np.ndarray  # (G,) unscaled relative vol shocks
    series_idx: list[int]
    dv: np.ndarray  # (G, K_a) unit option P&L


@keyword_options
@dataclass(frozen=True)
class RiskMatrixMargin:
    """Risk-matrix (stress-grid) margin per underlying, Deribit/OKX style.

    Parameters
    ----------
    price_range : float, default 0.16
        :math:`R`, the ± underlying move of the standard grid (Deribit BTC, June 2024).
    buckets_count : int, default 4
        Buckets per side: ``2 * buckets_count + 1`` price points including 0.
    vol_range_up, vol_range_down : float, default 0.50, 0.25
        Relative implied-vol shocks up and down (before the term-structure scaling).
    vega_power : (float, float) or None, default (0.30, 0.13)
        Powers :math:`p` of :math:`(30/\\text{DTE})^p` for expiries below / above
        ``vega_pivot_days``; None applies the shocks flat.
    vega_pivot_days : float, default 30.0
    extended_moves : sequence of float, default (-0.66, -0.33, 0.5, 1, 2, 3, 4, 5)
        Extended-table price moves (simple returns > -1); empty to switch the table off.
    extended_fraction : float, default 1/3
        Fraction :math:`\\phi` of the extended-move loss that counts in the headline (not
        published: the middle of ``extended_band``).
    extended_band : sequence of float, default (0, 1/3, 1)
        The fractions reported side by side in ``result.band``.
    extended_dampener : float, default 100_000.0
        :math:`D` in USD.
    max_delta_shock : float, default 0.10
    delta_shock_threshold : float, default 20_000_000.0
        USD of absolute net delta per unit at which the delta shock starts.
    roll_move, min_roll_move : float, default 0.075, 0.01
        Roll shock's annualized move and its floor (Deribit BTC ``annualised_move_risk`` and
        ``min_annualised_move``; ETH 0.05 and 0.005 in :meth:`deribit`).
    mm_factor : float, default 0.8
        MM = ``mm_factor`` × IM before add-ons (Deribit).
    currency : {"usd", "settlement"}, default "usd"
        Value each unit in USD, or coin-settled positions in their coin (Deribit S:PM; module
        docstring). ``"settlement"`` runs per account (``margin_book`` refuses it).
    include_collateral : bool, default True
        Count coin collateral in its asset's risk unit (at full value).
    per_asset : mapping of str to mapping, optional
        Overrides per asset of ``price_range``, ``vol_range_up``, ``vol_range_down``,
        ``extended_dampener``, ``max_delta_shock``, ``delta_shock_threshold``, ``roll_move``,
        ``min_roll_move``.
    addons : sequence of add-ons, default ()

    Notes
    -----
    See the module docstring for the formula, the parameters' sources and what is a reading of
    ours. Margin grows with the grid ranges: a short straddle's requirement increases with
    ``vol_range_up`` and with ``price_range``.
    """

    _: KW_ONLY
    price_range: float = 0.16
    buckets_count: int = 4
    vol_range_up: float = 0.50
    vol_range_down: float = 0.25
    vega_power: tuple[float, float] | None = (0.30, 0.13)
    vega_pivot_days: float = 30.0
    extended_moves: Sequence[float] = (-0.66, -0.33, 0.5, 1.0, 2.0, 3.0, 4.0, 5.0)
    extended_fraction: float = 1.0 / 3.0
    extended_band: Sequence[float] = EXTENDED_BAND
    extended_dampener: float = 100_000.0
    max_delta_shock: float = 0.10
    delta_shock_threshold: float = 20_000_000.0
    roll_move: float = 0.075
    min_roll_move: float = 0.01
    mm_factor: float = 0.8
    currency: Literal["usd", "settlement"] = "usd"
    include_collateral: bool = True
    per_asset: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    addons: Any = ()

    name: ClassVar[str] = "risk_matrix"

    def __post_init__(self) -> None:
        r = check_fraction(self.price_range, "price_range", fix="0.16 is ±16%.")
        if not 0 < r < 1:
            raise ConfigError(f"price_range must be in (0, 1) (got {r!r}); 0.16 is ±16%.")
        object.__setattr__(self, "price_range", r)
        b = self.buckets_count
        if isinstance(b, bool) or not isinstance(b, int | np.integer) or b < 1:
            raise ConfigError(
                f"buckets_count must be a positive integer (got {b!r}); Deribit uses 4."
            )
        object.__setattr__(self, "buckets_count", int(b))
        object.__setattr__(
            self, "vol_range_up", check_nonnegative(self.vol_range_up, "vol_range_up")
        )
        object.__setattr__(
            self, "vol_range_down", check_fraction(self.vol_range_down, "vol_range_down")
        )
        if self.vega_power is not None:
            vp = tuple(self.vega_power)
            if len(vp) != 2:
                raise ConfigError(
                    f"vega_power must be (short_term, long_term) such as (0.30, 0.13) or None (got {self.vega_power!r})."
                )
            object.__setattr__(
                self, "vega_power", tuple(check_nonnegative(x, "vega_power") for x in vp)
            )
        piv = check_nonnegative(self.vega_pivot_days, "vega_pivot_days")
        if piv <= 0:
            raise ConfigError("vega_pivot_days must be > 0 (got 0.0); Deribit uses 30.")
        object.__setattr__(self, "vega_pivot_days", piv)
        moves = []
        for e in self.extended_moves:
            v = float(e)
            if not (math.isfinite(v) and v > -1 and v != 0):
                raise ConfigError(
                    f"extended_moves must be simple returns > -1 and != 0 (got {e!r}); -0.66 is -66%."
                )
            moves.append(v)
        object.__setattr__(self, "extended_moves", tuple(moves))
        object.__setattr__(
            self, "extended_fraction", check_fraction(self.extended_fraction, "extended_fraction")
        )
        band = tuple(check_fraction(x, "extended_band") for x in self.extended_band)
        if not band:
            raise ConfigError("extended_band needs at least one fraction, e.g. (0, 1/3, 1).")
        object.__setattr__(self, "extended_band", band)
        for name in ("roll_move", "min_roll_move"):
            object.__setattr__(self, name, check_fraction(getattr(self, name), name))
        if self.currency not in ("usd", "settlement"):
            raise ConfigError(
                f"currency must be 'usd' or 'settlement' (got {self.currency!r}); 'settlement' "
                "values coin-settled positions in their coin (Deribit S:PM)."
            )
        object.__setattr__(
            self,
            "extended_dampener",
            check_nonnegative(self.extended_dampener, "extended_dampener"),
        )
        object.__setattr__(
            self, "max_delta_shock", check_fraction(self.max_delta_shock, "max_delta_shock")
        )
        object.__setattr__(
            self,
            "delta_shock_threshold",
            check_nonnegative(self.delta_shock_threshold, "delta_shock_threshold"),
        )
        k = check_fraction(self.mm_factor, "mm_factor", fix="Deribit uses 0.8.")
        if k == 0:
            raise ConfigError("mm_factor must be > 0 (got 0.0); Deribit uses 0.8.")
        object.__setattr__(self, "mm_factor", k)
        object.__setattr__(self, "include_collateral", bool(self.include_collateral))
        if not isinstance(self.per_asset, Mapping):
            raise ConfigError(
                f"per_asset must be a mapping asset -> overrides (got {self.per_asset!r})."
            )
        per: dict[str, dict[str, float]] = {}
        for a, over in self.per_asset.items():
            if not isinstance(over, Mapping):
                raise ConfigError(f"per_asset[{a!r}] must be a mapping (got {over!r}).")
            bad = set(over) - set(_PER_ASSET_KEYS)
            if bad:
                raise ConfigError(
                    f"per_asset[{a!r}] has unknown keys {sorted(bad)}; allowed: {list(_PER_ASSET_KEYS)}."
                )
            per[str(a)] = {
                k2: check_nonnegative(v, f"per_asset[{a!r}][{k2!r}]") for k2, v in over.items()
            }
            pr = per[str(a)].get("price_range")
            if pr is not None and not 0 < pr < 1:
                raise ConfigError(
                    f"per_asset[{a!r}]['price_range'] must be in (0, 1) (got {pr!r})."
                )
        object.__setattr__(self, "per_asset", per)
        object.__setattr__(self, "addons", check_addons(self.addons))

    @classmethod
    def deribit(cls, **overrides: Any) -> RiskMatrixMargin:
        """Deribit portfolio-margin parameters: BTC (June 2024) by default, ETH (February 2026).

        VENUES.md §1.1 (``private/pme/simulate`` examples). Other assets get the BTC values
        unless ``per_asset`` says otherwise; ``overrides`` replace any parameter.
        """
        per = {"ETH": dict(DERIBIT_ETH_2026)}
        per.update(overrides.pop("per_asset", {}))
        return cls(per_asset=per, **overrides)

    # -- parameters per asset ----------------------------------------------------------------
    def param(self, asset: str, key: str) -> float:
        """The value of ``key`` for ``asset`` (its override, else the default)."""
        return float(self.per_asset.get(asset, {}).get(key, getattr(self, key)))

    def grid(self, asset: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
        """Standard grid of ``asset``: simple price moves, relative vol shocks, labels (G,)."""
        r = self.param(asset, "price_range")
        up, down = self.param(asset, "vol_range_up"), self.param(asset, "vol_range_down")
        pts = np.linspace(-r, r, 2 * self.buckets_count + 1)
        pts[self.buckets_count] = 0.0
        moves, shocks, labels = [], [], []
        for m in pts:
            for v, name in ((up, "vol up"), (0.0, "vol same"), (-down, "vol down")):
                moves.append(m)
                shocks.append(v)
                labels.append(f"{asset} {m:+.1%} {name}")
        return np.array(moves), np.array(shocks), labels

    def grid_scenarios(self, asset: str) -> Scenarios:
        """The standard grid of ``asset`` as :class:`Scenarios` (zero horizon, flat vol shocks)."""
        m, v, labels = self.grid(asset)
        return Scenarios(
            returns=np.log1p(m)[:, None],
            assets=(asset,),
            horizon=pd.Timedelta(0),
            vol_shocks=v[:, None],
            labels=tuple(labels),
            method="risk matrix",
        )

    def extended_scenarios(self, asset: str) -> Scenarios:
        """The extended moves of ``asset`` (vol up) as :class:`Scenarios` (zero horizon)."""
        up = self.param(asset, "vol_range_up")
        e = np.array(self.extended_moves, dtype="float64")
        return Scenarios(
            returns=np.log1p(e)[:, None],
            assets=(asset,),
            horizon=pd.Timedelta(0),
            vol_shocks=np.full((e.size, 1), up),
            labels=tuple(f"{asset} {x:+.0%} vol up (extended)" for x in e),
            method="risk matrix extended",
        )

    def vega_scale(self, market: MarketState, option: Option) -> float:
        """Term-structure factor :math:`(30/\\text{DTE})^p` of an option's vol shock (1 if off)."""
        if self.vega_power is None:
            return 1.0
        dte = max(market.tau(option.expiry, repr(option)) * 365.0, 1.0)
        p = self.vega_power[0] if dte < self.vega_pivot_days else self.vega_power[1]
        return float((self.vega_pivot_days / dte) ** p)

    # -- evaluation --------------------------------------------------------------------------
    def _unit_option_pnl(
        self, market: MarketState, series: Sequence[Option], moves: np.ndarray, shocks: np.ndarray
    ) -> np.ndarray:
        """P&L of one unit of each contract (G × K) on a grid, with per-expiry vol scaling."""
        out = np.zeros((moves.size, len(series)))
        if not series:
            return out
        v0, _ = option_unit_values(market, series)
        scales = np.array([self.vega_scale(market, o) for o in series])
        asset = series[0].asset
        for s in np.unique(scales):
            ks = np.flatnonzero(scales == s)
            sc = Scenarios(
                returns=np.log1p(moves)[:, None],
                assets=(asset,),
                horizon=pd.Timedelta(0),
                vol_shocks=(shocks * s)[:, None],
            )
            vs, _ = option_unit_values(market, [series[k] for k in ks.tolist()], sc)
            out[:, ks] = vs - v0[ks]
        return out

    def _units(self, book: Book) -> list[_Unit]:
        market = book.market
        lin = book.exposures + (book.collateral_usd if self.include_collateral else 0.0)
        qcsc = book.option_quantities.tocsr()
        deltas = book_position_deltas(book)
        if self.include_collateral:
            deltas = deltas + book.collateral_usd
        carry_assets = {a for a, _, _ in book.carry_series}
        units = []
        for j, asset in enumerate(book.assets):
            idx = [k for k, o in enumerate(book.series) if o.asset == asset]
            if asset in STABLECOINS and not idx:
                continue
            if not idx and not np.any(lin[:, j]) and asset not in carry_assets:
                continue  # nothing moves with this asset and nothing to roll
            moves, shocks, labels = self.grid(asset)
            ser = [book.series[k] for k in idx]
            dv = self._unit_option_pnl(market, ser, moves, shocks)
            std = np.outer(moves, lin[:, j])
            if idx:
                std += (qcsc[idx, :].T @ dv.T).T
            e = np.array(self.extended_moves, dtype="float64")
            if e.size:
                up = self.param(asset, "vol_range_up")
                dve = self._unit_option_pnl(market, ser, e, np.full(e.size, up))
                ext = np.outer(e, lin[:, j])
                if idx:
                    ext += (qcsc[idx, :].T @ dve.T).T
                r = self.param(asset, "price_range")
                damp = np.maximum(np.abs(e) / r - 1.0, 0.0) * self.param(asset, "extended_dampener")
                ext_raw = np.maximum(-ext, 0.0)
                ext_labels = [f"{asset} {x:+.0%} vol up (extended)" for x in e]
            else:
                ext_raw = np.zeros((0, book.n_accounts))
                damp = np.zeros(0)
                ext_labels = []
            units.append(
                _Unit(
                    asset,
                    labels,
                    ext_labels,
                    std,
                    ext_raw,
                    damp,
                    deltas[:, j],
                    moves,
                    shocks,
                    idx,
                    dv,
                )
            )
        return units

    def _rolls(self, asset: str) -> tuple[float, float]:
        return self.param(asset, "roll_move"), self.param(asset, "min_roll_move")

    @staticmethod
    def _extended(u: _Unit, worst: np.ndarray, phi: float) -> tuple[np.ndarray, np.ndarray]:
        """Extended add-on above the standard worst loss at fraction ``phi``, and its scenario."""
        a_n = worst.shape[0]
        if not u.ext_raw.shape[0]:
            return np.zeros(a_n), np.zeros(a_n, dtype=np.intp)
        loss = np.maximum(phi * u.ext_raw - u.damp[:, None], 0.0)
        idx = np.argmax(loss, axis=0)
        return np.maximum(loss[idx, np.arange(a_n)] - worst, 0.0), idx

    def _components(self, units: list[_Unit], roll: Mapping[str, np.ndarray]) -> dict[str, Any]:
        """Per unit: worst loss, its scenario, extended add-on (headline and band), delta and
        roll shocks (each (A,))."""
        out = {}
        for u in units:
            worst_idx = np.argmin(u.std_pnl, axis=0)
            worst = np.maximum(-u.std_pnl[worst_idx, np.arange(u.std_pnl.shape[1])], 0.0)
            ext_add, ext_idx = self._extended(u, worst, self.extended_fraction)
            band = {phi: self._extended(u, worst, phi)[0] for phi in self.extended_band}
            thr = self.param(u.asset, "delta_shock_threshold")
            dshock = self.param(u.asset, "max_delta_shock") * np.maximum(np.abs(u.delta) - thr, 0.0)
            out[u.asset] = {
                "worst": worst,
                "worst_idx": worst_idx,
                "ext_add": ext_add,
                "ext_idx": ext_idx,
                "ext_band": band,
                "delta_shock": dshock,
                "roll_shock": roll.get(u.asset, np.zeros_like(worst)),
            }
        return out

    def _band(
        self, comp: Mapping[str, Any], add_total: np.ndarray, index: pd.Index
    ) -> pd.DataFrame:
        """IM and MM per extended fraction of the band (rows: accounts)."""
        cols: dict[str, np.ndarray] = {}
        for phi in self.extended_band:
            core = np.zeros(len(index))
            for c in comp.values():
                core = core + c["worst"] + c["ext_band"][phi] + c["delta_shock"] + c["roll_shock"]
            cols[f"initial {_phi_label(phi)}"] = core + add_total
            cols[f"maintenance {_phi_label(phi)}"] = self.mm_factor * core + add_total
        return pd.DataFrame(cols, index=index)

    def margin(self, account: Account) -> MarginResult:
        """Requirement of one account, with the worst scenario per risk unit as driver.

        The breakdown allocates each unit's worst loss to its positions (and collateral) by
        their P&L in that unit's worst scenario, then lists the extended-move and delta-shock
        components per unit and the add-ons.

        Raises
        ------
        DataError, ModelError
            As :class:`Account` when the market lacks something an option needs.
        """
        account = check_account(account)
        if self.currency == "settlement":
            return self._settlement_margin(account)
        book = Book.from_accounts([account])
        units = self._units(book)
        comp = self._components(units, roll_shock_by_asset(book, self._rolls))
        market = account.prices
        rows: list[dict[str, Any]] = []
        series_key = {o.series: k for k, o in enumerate(book.series)}
        totals: dict[str, float] = {}
        for u in units:
            c = comp[u.asset]
            g = int(c["worst_idx"][0])
            worst = float(c["worst"][0])
            m = float(u.moves[g])
            label = u.labels[g]
            pos_rows = []
            for p in account.positions:
                if p.asset != u.asset:
                    continue
                if isinstance(p, Option):
                    k = series_key[p.series]
                    pnl = p.quantity * float(u.dv[g, u.series_idx.index(k)])
                else:
                    pnl = p.delta_usd(market) * m
                pos_rows.append(("position", position_label(p), pnl))
            if self.include_collateral and u.asset in account.collateral_values:
                pos_rows.append(
                    (
                        "collateral",
                        f"collateral {u.asset}",
                        float(account.collateral_values[u.asset]) * m,
                    )
                )
            for kind, item, pnl in pos_rows:
                alloc = -pnl if worst > 0 else 0.0
                rows.append(
                    {
                        "component": kind,
                        "item": item,
                        "asset": u.asset,
                        "initial": alloc,
                        "maintenance": self.mm_factor * alloc,
                        "scenario": label,
                        "scenario_pnl": pnl,
                    }
                )
            for name, key, lab in (
                (
                    "extended move",
                    "ext_add",
                    u.ext_labels[int(c["ext_idx"][0])] if u.ext_labels else "",
                ),
                ("delta shock", "delta_shock", f"|delta| {abs(float(u.delta[0])):,.0f}"),
                ("roll shock", "roll_shock", "perpetuals and futures per expiry bucket"),
            ):
                v = float(c[key][0])
                if v > 0:
                    rows.append(
                        {
                            "component": name,
                            "item": lab,
                            "asset": u.asset,
                            "initial": v,
                            "maintenance": self.mm_factor * v,
                            "scenario": lab,
                            "scenario_pnl": np.nan,
                        }
                    )
            totals[u.asset] = (
                worst
                + float(c["ext_add"][0])
                + float(c["delta_shock"][0])
                + float(c["roll_shock"][0])
            )
        frame = pd.DataFrame(rows, columns=_COLUMNS)
        core = float(math.fsum(totals.values()))
        if self.addons:
            extra = addon_frame(self.addons, position_deltas(account))
            frame = pd.concat([frame, extra.reindex(columns=_COLUMNS)], ignore_index=True)
        add_total = float(frame.loc[frame["component"].str.startswith("add-on"), "initial"].sum())
        driver: dict[str, Any] = {}
        if totals:
            a = max(totals, key=lambda k: totals[k])
            u = next(x for x in units if x.asset == a)
            g = int(comp[a]["worst_idx"][0])
            driver = {"asset": a, "scenario": g, "label": u.labels[g], "unit_margin": totals[a]}
        band = self._band(
            comp, np.array([add_total]), pd.Index([account.account_id], name="account")
        )
        return MarginResult(
            model=self.name,
            initial=core + add_total,
            maintenance=self.mm_factor * core + add_total,
            equity=account.equity,
            breakdown=frame,
            driver=driver,
            account_id=account.account_id,
            params=self._params(),
            band=band.iloc[0],
        )

    # -- settlement currency (Deribit S:PM) ---------------------------------------------------
    def _coin_pnl(
        self, account: Account, asset: str, moves: np.ndarray, shocks: np.ndarray
    ) -> np.ndarray:
        """Coin P&L (G,) of the coin-settled positions on ``asset`` over grid moves/vol shocks."""
        market = account.prices
        out = np.zeros(moves.size)
        for p in account.positions:
            if p.asset != asset or p.settlement_currency != asset:
                continue
            if isinstance(p, Option):
                sc = Scenarios(
                    returns=np.log1p(moves)[:, None],
                    assets=(asset,),
                    horizon=pd.Timedelta(0),
                    vol_shocks=(shocks * self.vega_scale(market, p))[:, None],
                )
            else:
                sc = Scenarios(
                    returns=np.log1p(moves)[:, None], assets=(asset,), horizon=pd.Timedelta(0)
                )
            out += p.pnl_coin(market, sc)  # type: ignore[attr-defined]
        return out

    def _settlement_margin(self, account: Account) -> MarginResult:
        """Deribit S:PM: coin-settled positions margined in their coin (module docstring)."""
        market = account.prices
        rows: list[dict[str, Any]] = []
        coin_im: dict[str, float] = {}
        band_core = dict.fromkeys(self.extended_band, 0.0)
        core = 0.0
        usd_positions = [p for p in account.positions if p.settlement_currency != p.asset]
        for asset in sorted(
            {p.asset for p in account.positions if p.settlement_currency == p.asset}
        ):
            price = market.price(asset)
            moves, shocks, labels = self.grid(asset)
            std = self._coin_pnl(account, asset, moves, shocks)
            g = int(np.argmin(std))
            worst = max(-float(std[g]), 0.0)
            e = np.array(self.extended_moves, dtype="float64")
            ext_raw = np.maximum(
                -self._coin_pnl(
                    account, asset, e, np.full(e.size, self.param(asset, "vol_range_up"))
                ),
                0.0,
            )
            damp = (
                np.maximum(np.abs(e) / self.param(asset, "price_range") - 1.0, 0.0)
                * self.param(asset, "extended_dampener")
                / price
            )

            def ext_add(
                phi: float,
                ext_raw: np.ndarray = ext_raw,
                damp: np.ndarray = damp,
                worst: float = worst,
            ) -> float:
                if not ext_raw.size:
                    return 0.0
                return max(float(np.max(np.maximum(phi * ext_raw - damp, 0.0))) - worst, 0.0)

            coin_positions = [
                p for p in account.positions if p.asset == asset and p.settlement_currency == asset
            ]
            pool = Book.from_accounts(
                [Account(collateral={}, positions=coin_positions, prices=market)]
            )
            delta_usd = float(book_position_deltas(pool).sum())
            thr = self.param(asset, "delta_shock_threshold")
            dshock = self.param(asset, "max_delta_shock") * max(abs(delta_usd) - thr, 0.0) / price
            roll = float(roll_shock_by_asset(pool, self._rolls).get(asset, np.zeros(1))[0]) / price
            parts = {
                "worst loss": worst,
                "extended move": ext_add(self.extended_fraction),
                "delta shock": dshock,
                "roll shock": roll,
            }
            unit = sum(parts.values())
            coin_im[asset] = unit
            for phi in self.extended_band:
                band_core[phi] += (worst + ext_add(phi) + dshock + roll) * price
            for name, amount in parts.items():
                if amount > 0:
                    rows.append(
                        {
                            "component": f"{asset} pool ({asset})",
                            "item": f"{name}: {amount:.6g} {asset}",
                            "asset": asset,
                            "initial": amount * price,
                            "maintenance": self.mm_factor * amount * price,
                            "scenario": labels[g] if name == "worst loss" else name,
                            "scenario_pnl": float(std[g]) * price
                            if name == "worst loss"
                            else np.nan,
                        }
                    )
            core += unit * price
        if usd_positions:
            usd = dataclasses.replace(self, currency="usd", addons=()).margin(
                Account(collateral={}, positions=usd_positions, prices=market)
            )
            frame_usd = usd.breakdown.copy()
            frame_usd["component"] = "USD pool: " + frame_usd["component"].astype(str)
            rows.extend(frame_usd.to_dict("records"))
            core += usd.initial
            for phi in self.extended_band:
                assert usd.band is not None  # the same model: its band has these levels
                band_core[phi] += float(usd.band[f"initial {_phi_label(phi)}"])
        frame = pd.DataFrame(rows, columns=_COLUMNS)
        if self.addons:
            extra = addon_frame(self.addons, position_deltas(account))
            frame = pd.concat([frame, extra.reindex(columns=_COLUMNS)], ignore_index=True)
        add_total = float(frame.loc[frame["component"].str.startswith("add-on"), "initial"].sum())
        band = {}
        for phi in self.extended_band:
            band[f"initial {_phi_label(phi)}"] = band_core[phi] + add_total
            band[f"maintenance {_phi_label(phi)}"] = self.mm_factor * band_core[phi] + add_total
        return MarginResult(
            model=self.name,
            initial=core + add_total,
            maintenance=self.mm_factor * core + add_total,
            equity=account.equity,
            breakdown=frame,
            driver={
                "currency": "settlement",
                "initial_coin": coin_im,
                "maintenance_coin": {a: self.mm_factor * v for a, v in coin_im.items()},
            },
            account_id=account.account_id,
            params=self._params(),
            band=pd.Series(band, name=account.account_id),
        )

    def margin_many(self, accounts: Sequence[Account]) -> BookMarginResult:
        """Requirements of many accounts, vectorized through a :class:`Book` (in USD), or one
        account at a time with ``currency="settlement"``."""
        accs = as_accounts(accounts)
        if self.currency == "settlement":
            return _stack_results(self, [self.margin(a) for a in accs])
        return self.margin_book(Book.from_accounts(accs))

    def margin_book(self, book: Book) -> BookMarginResult:
        """Requirements of every account of a book (grid P&L as matrix products).

        ``driver`` indexes the concatenated standard-grid labels of the units
        (``driver_labels``): the worst scenario of the unit with the largest requirement.
        """
        if not isinstance(book, Book):
            raise ConfigError(
                f"book must be a riskmodels.instruments.Book (got {type(book).__name__})."
            )
        if self.currency == "settlement":
            raise ConfigError(
                "currency='settlement' values each account's coin-settled positions in their "
                "coin, one account at a time: use margin(account) or margin_many(accounts)."
            )
        units = self._units(book)
        comp = self._components(units, roll_shock_by_asset(book, self._rolls))
        a_n = book.n_accounts
        cols: dict[str, np.ndarray] = {}
        unit_tot = []
        labels: list[str] = []
        offsets = []
        for u in units:
            c = comp[u.asset]
            cols[f"{u.asset} worst loss"] = c["worst"]
            if np.any(c["ext_add"]):
                cols[f"{u.asset} extended move"] = c["ext_add"]
            if np.any(c["delta_shock"]):
                cols[f"{u.asset} delta shock"] = c["delta_shock"]
            if np.any(c["roll_shock"]):
                cols[f"{u.asset} roll shock"] = c["roll_shock"]
            unit_tot.append(c["worst"] + c["ext_add"] + c["delta_shock"] + c["roll_shock"])
            offsets.append(len(labels))
            labels.extend(u.labels)
        core = np.sum(unit_tot, axis=0) if unit_tot else np.zeros(a_n)
        drv = np.full(a_n, -1, dtype=np.intp)
        if unit_tot:
            tot = np.vstack(unit_tot)  # (U, A)
            best = np.argmax(tot, axis=0)
            for i, u in enumerate(units):
                sel = (best == i) & (tot[i] > 0)
                drv[sel] = offsets[i] + comp[u.asset]["worst_idx"][sel]
        add_total = np.zeros(a_n)
        if self.addons:
            for k, v in addon_matrix(self.addons, book_position_deltas(book), book.assets).items():
                cols[k] = v
                add_total += v
        return BookMarginResult(
            model=self.name,
            account_ids=book.account_ids,
            initial=core + add_total,
            maintenance=self.mm_factor * core + add_total,
            equity=np.asarray(book.equity, dtype="float64"),
            components=pd.DataFrame(cols, index=pd.Index(book.account_ids, name="account")),
            driver=drv,
            driver_labels=tuple(labels),
            params=self._params(),
            band=self._band(comp, add_total, pd.Index(book.account_ids, name="account")),
        )

    def _params(self) -> dict[str, Any]:
        return {
            "price_range": self.price_range,
            "buckets_count": self.buckets_count,
            "vol_range_up": self.vol_range_up,
            "vol_range_down": self.vol_range_down,
            "vega_power": self.vega_power,
            "extended_moves": self.extended_moves,
            "extended_fraction": self.extended_fraction,
            "extended_band": self.extended_band,
            "roll_move": self.roll_move,
            "min_roll_move": self.min_roll_move,
            "currency": self.currency,
            "extended_dampener": self.extended_dampener,
            "max_delta_shock": self.max_delta_shock,
            "delta_shock_threshold": self.delta_shock_threshold,
            "mm_factor": self.mm_factor,
            "per_asset": self.per_asset,
            "addons": [a.name for a in self.addons],
        }
