r"""An account: multi-asset collateral, positions, haircuts and the prices they are marked at.

Definitions (all USD, at the account's :class:`~riskmodels.instruments.market.MarketState`)
----------------------------------------------------------------------------------------
* **collateral value** :math:`C = \sum_a c_a P_a (1 - h_a)`: wallet balances :math:`c_a \ge 0`
  at their prices after the haircut :math:`h_a` (0 when none is given). Coin collateral moves
  with the scenario; stablecoins are worth 1 unless the scenarios hold them (the depeg hook in
  :mod:`riskmodels.instruments.market`). Haircuts apply to collateral balances only.
* **spot value** :math:`\sum q P` of :class:`~.positions.Spot` positions (full value: their
  risk is charged by the margin model, not by a haircut).
* **unrealized P&L** of perpetuals and futures: :math:`q(M - P_\text{entry})` for linear ones,
  :math:`N(1/P_\text{entry} - 1/M)\,P` for inverse ones (coin P&L converted at the asset price).
* **option value**: mark value of the options (premiums paid or received are already in the
  collateral balances; long options add, short options subtract).
* **equity** :math:`E = C + \text{spot value} + \text{unrealized P\&L} + \text{option value}`:
  the haircut-adjusted equity that venues compare with margin (Binance portfolio margin counts
  collateral at its ``collateralRate``; VENUES.md §1.2).

Under scenarios, :meth:`Account.pnl` is the change of the same sum with collateral at full
value (``haircut=False``, the economic P&L that margin models take quantiles of) or after
haircuts (``haircut=True``, the change of :math:`E`; :meth:`Account.equity_under` adds it to
:math:`E`). Coin-denominated P&L is converted at the scenario price.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from riskmodels._display import SummaryDisplay, html_table
from riskmodels._frozen import FrozenDict
from riskmodels.exceptions import ConfigError, DataError
from riskmodels.instruments.market import (
    MarketState,
    as_market,
    scenario_log_returns,
)
from riskmodels.instruments.positions import (
    InversePerp,
    Option,
    Position,
    Spot,
    option_unit_values,
)
from riskmodels.scenarios.base import Scenarios

__all__ = ["Account"]


def _collateral(collateral: Any) -> FrozenDict[str, float]:
    if not isinstance(collateral, Mapping):
        raise ConfigError(
            "collateral must be a mapping asset -> quantity such as {'USDT': 10_000, 'BTC': 0.5} "
            f"(got {type(collateral).__name__})."
        )
    out: dict[str, float] = {}
    for asset, qty in collateral.items():
        if not isinstance(asset, str) or not asset:
            raise ConfigError(f"collateral keys must be asset names (got {asset!r}).")
        try:
            q = float(qty)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"collateral[{asset!r}] must be a number (got {qty!r}).") from exc
        if not math.isfinite(q) or q < 0:
            raise ConfigError(
                f"collateral[{asset!r}] must be finite and >= 0 (got {q!r}); model a borrowed "
                f"coin as Spot({asset!r}, quantity, allow_short=True)."
            )
        out[asset] = q
    return FrozenDict(out)


def _haircuts(haircuts: Any) -> FrozenDict[str, float]:
    if haircuts is None:
        return FrozenDict({})
    if not isinstance(haircuts, Mapping):
        raise ConfigError(
            f"haircuts must be a mapping asset -> haircut such as {{'BTC': 0.05}} (got {haircuts!r})."
        )
    out: dict[str, float] = {}
    for asset, h in haircuts.items():
        try:
            v = float(h)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"haircuts[{asset!r}] must be a number (got {h!r}).") from exc
        if not (0.0 <= v < 1.0):
            raise ConfigError(
                f"haircuts[{asset!r}] must be in [0, 1) (got {v!r}); 0.05 counts 95% of the "
                "collateral's value."
            )
        out[str(asset)] = v
    return FrozenDict(out)


def _positions(positions: Any) -> tuple[Position, ...]:
    if isinstance(positions, Position) or not isinstance(positions, Iterable):
        raise ConfigError(
            f"positions must be a list of Position objects (got {type(positions).__name__})."
        )
    out = tuple(positions)
    for p in out:
        if not isinstance(p, Position):
            raise ConfigError(
                f"positions must hold Position objects (Spot, LinearPerp, LinearFuture, "
                f"InversePerp, InverseFuture, Option) (got {p!r}); build one with make_position()."
            )
    # canonical order: results do not depend on the order positions were given in
    return tuple(sorted(out, key=lambda p: (type(p).__name__, repr(p))))


@dataclass(frozen=True, kw_only=True)
class Account(SummaryDisplay):
    """A cross-margined account: collateral balances, positions, haircuts and prices.

    Parameters
    ----------
    collateral : mapping of str to float
        Wallet balance per asset, >= 0 (e.g. ``{"USDT": 10_000, "BTC": 0.5}``).
    positions : sequence of Position, default ()
        Stored in a canonical order (by type and fields), so the order given does not matter.
    haircuts : mapping of str to float, optional
        Haircut in [0, 1) per collateral asset (``{"BTC": 0.05}`` counts 95%); others 0.
    prices : MarketState or mapping of str to float
        The market the account is marked at (a plain mapping is read as spot prices; options
        and dated futures need a :class:`MarketState` with a valuation time and vols).
    account_id : str, optional
        A name for reports and books.

    Raises
    ------
    ConfigError
        Negative or non-finite collateral, a haircut outside [0, 1), a non-Position entry, or
        missing prices.
    DataError
        A position or collateral asset without a price, an option without an implied vol, or
        a missing valuation time.
    ModelError
        An expired option or future.

    Notes
    -----
    Equity and P&L are defined in the module docstring. All values are computed (and all
    inputs checked) when the account is built.
    """

    collateral: Mapping[str, float]
    positions: Sequence[Position] = ()  # any sequence in; a tuple in canonical order after init
    haircuts: Mapping[str, float] = field(default_factory=dict)
    prices: MarketState
    account_id: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "collateral", _collateral(self.collateral))
        object.__setattr__(self, "positions", _positions(self.positions))
        object.__setattr__(self, "haircuts", _haircuts(self.haircuts))
        object.__setattr__(self, "prices", as_market(self.prices, "Account.prices"))
        # value everything now: bad prices, missing vols and expired contracts fail here
        _ = self.position_values
        _ = self.collateral_values
        if not math.isfinite(self.equity) or not all(map(math.isfinite, self.position_values)):
            raise DataError(
                "the account's values overflow (equity or a position value is not finite): "
                "check the quantities, balances and prices for units (e.g. satoshis given as "
                "BTC) or misplaced exponents."
            )

    # -- valuation now -----------------------------------------------------------------------
    @property
    def market(self) -> MarketState:
        """The market state the account is marked at (same as ``prices``)."""
        return self.prices

    def haircut(self, asset: str) -> float:
        """Haircut of ``asset`` (0 when none is given)."""
        return self.haircuts.get(asset, 0.0)

    @cached_property
    def position_values(self) -> tuple[float, ...]:
        """USD value of each position (in the order of ``positions``)."""
        values = [0.0] * len(self.positions)
        for i, p in enumerate(self.positions):
            if not isinstance(p, Option):
                values[i] = p.value_usd(self.prices)
        opt_at = [i for i, p in enumerate(self.positions) if isinstance(p, Option)]
        if opt_at:  # all options of the account in one vectorized Black-76 call
            options = [p for p in self.positions if isinstance(p, Option)]
            unit, _ = option_unit_values(self.prices, options)
            for j, i in enumerate(opt_at):
                values[i] = options[j].quantity * float(unit[j])
        return tuple(values)

    @cached_property
    def collateral_values(self) -> Mapping[str, float]:
        """USD value of each collateral balance before haircuts (asset -> USD)."""
        return FrozenDict({a: q * self.prices.price(a) for a, q in self.collateral.items()})

    @cached_property
    def collateral_value(self) -> float:
        """Collateral value after haircuts, :math:`\\sum_a c_a P_a (1 - h_a)` (USD)."""
        return float(
            math.fsum(v * (1.0 - self.haircut(a)) for a, v in self.collateral_values.items())
        )

    def _sum_values(self, select: type | tuple[type, ...], exclude: bool = False) -> float:
        return math.fsum(
            v
            for p, v in zip(self.positions, self.position_values, strict=True)
            if isinstance(p, select) != exclude
        )

    @cached_property
    def spot_value(self) -> float:
        """Market value of Spot positions (USD)."""
        return self._sum_values(Spot)

    @cached_property
    def option_value(self) -> float:
        """Mark value of option positions (USD; short options are negative)."""
        return self._sum_values(Option)

    @cached_property
    def unrealized_pnl(self) -> float:
        """Unrealized P&L of perpetuals and futures (USD; inverse ones converted at the price)."""
        return self._sum_values((Spot, Option), exclude=True)

    @cached_property
    def equity(self) -> float:
        """Haircut-adjusted equity: collateral value + spot value + unrealized P&L + options."""
        return self.collateral_value + self.spot_value + self.unrealized_pnl + self.option_value

    def notional(self) -> pd.DataFrame:
        """Net and gross USD notional of the positions per asset (collateral excluded).

        Returns
        -------
        DataFrame
            Index: assets (sorted); columns ``net`` (signed sum) and ``gross`` (sum of absolute
            values). Per-position notionals: ``Position.notional_usd``.
        """
        rows: dict[str, list[float]] = {}
        for p in self.positions:
            n = p.notional_usd(self.prices)
            r = rows.setdefault(p.asset, [0.0, 0.0])
            r[0] += n
            r[1] += abs(n)
        frame = pd.DataFrame.from_dict(rows, orient="index", columns=["net", "gross"])
        frame.index.name = "asset"
        return frame.sort_index()

    @property
    def gross_notional(self) -> float:
        """Sum of absolute position notionals over all assets (USD)."""
        return float(self.notional()["gross"].sum())

    def delta(self, *, include_collateral: bool = True, unit: str = "usd") -> pd.Series:
        r"""Delta per asset: :math:`\sum \partial\,\text{value}_\text{USD}/\partial\ln P_a`.

        Parameters
        ----------
        include_collateral : bool, default True
            Add coin collateral at full value (its economic delta :math:`c_a P_a`).
        unit : {"usd", "coin"}, default "usd"
            ``"usd"``: dollar delta (USD per unit log move); ``"coin"``: divided by the asset
            price (coin-equivalent position).

        Returns
        -------
        Series
            Indexed by asset (sorted). Stablecoins appear only when held as collateral.
        """
        if unit not in ("usd", "coin"):
            raise ConfigError(f"unit must be 'usd' or 'coin' (got {unit!r}).")
        out: dict[str, float] = {}
        for p in self.positions:
            out[p.asset] = out.get(p.asset, 0.0) + p.delta_usd(self.prices)
        if include_collateral:
            for a, v in self.collateral_values.items():
                out[a] = out.get(a, 0.0) + float(v)
        s = pd.Series(out, dtype="float64", name=f"delta_{unit}").sort_index()
        s.index.name = "asset"
        if unit == "coin":
            s = s / np.array([self.prices.price(a) for a in s.index])
        return s

    def margin_ratio(self, maintenance_margin: float) -> float:
        """Equity over maintenance margin, as Binance's portfolio-margin uniMMR.

        Binance PM: uniMMR = adjusted equity / maintenance margin; 100–105% triggers
        liquidation (Binance PM Pro MMR and uniMMR FAQs, as summarized in VENUES.md §1.2). A
        margin model supplies ``maintenance_margin``.

        Raises
        ------
        ConfigError
            If ``maintenance_margin`` is not positive and finite.
        """
        mm = float(maintenance_margin)
        if not (math.isfinite(mm) and mm > 0):
            raise ConfigError(
                f"maintenance_margin must be positive and finite (got {maintenance_margin!r})."
            )
        return self.equity / mm

    def margin_fraction(self) -> float:
        """Equity over gross position notional (dYdX's margin fraction; inf with no positions).

        dYdX v4 compares this with its initial/maintenance margin fractions (VENUES.md §1.5).
        """
        gross = self.gross_notional
        return math.inf if gross == 0 else self.equity / gross

    # -- scenarios ---------------------------------------------------------------------------
    def pnl(self, scenarios: Scenarios, *, haircut: bool = False) -> np.ndarray:
        """P&L of the whole account per scenario (S,), USD.

        Parameters
        ----------
        scenarios : Scenarios
            Must hold every position asset and every non-stable collateral asset.
        haircut : bool, default False
            False: collateral moves at full value (economic P&L). True: after haircuts (the
            change of ``equity``).

        Returns
        -------
        ndarray of shape (n_scenarios,)
            Collateral revaluation + the sum of the positions' USD P&L (coin P&L converted at
            scenario prices; options fully revalued).

        Raises
        ------
        DataError
            An asset missing from the scenarios.
        """
        total = np.zeros(scenarios.n_scenarios)
        for asset, value in self.collateral_values.items():
            r = scenario_log_returns(scenarios, asset, f"collateral {asset!r}")
            w = value * (1.0 - self.haircut(asset)) if haircut else value
            total += w * np.expm1(r)
        for p in self.positions:
            total += p.pnl(self.prices, scenarios)
        return total

    def equity_under(self, scenarios: Scenarios) -> np.ndarray:
        """Haircut-adjusted equity in each scenario: ``equity + pnl(scenarios, haircut=True)``."""
        return self.equity + self.pnl(scenarios, haircut=True)

    def scaled(self, k: float) -> Account:
        """The same account with every collateral balance and position quantity times ``k``."""
        if not (math.isfinite(k) and k >= 0):
            raise ConfigError(f"k must be finite and >= 0 (got {k!r}).")
        positions = [
            replace(p, contracts=p.contracts * k)
            if isinstance(p, InversePerp)
            # every Position but the inverse ones has a quantity field
            else replace(p, quantity=p.quantity * k)  # type: ignore[attr-defined, call-arg]
            for p in self.positions
        ]
        return Account(
            collateral={a: q * k for a, q in self.collateral.items()},
            positions=positions,
            haircuts=self.haircuts,
            prices=self.prices,
            account_id=self.account_id,
        )

    # -- display -----------------------------------------------------------------------------
    def summary(self) -> pd.DataFrame:
        """Per-asset table: collateral (USD), net and gross notional, dollar delta."""
        idx = sorted(set(self.collateral) | {p.asset for p in self.positions})
        frame = pd.DataFrame(index=pd.Index(idx, name="asset"))
        frame["collateral_usd"] = [self.collateral_values.get(a, 0.0) for a in idx]
        notional = self.notional().reindex(idx).fillna(0.0)
        frame["net_notional"] = notional["net"]
        frame["gross_notional"] = notional["gross"]
        frame["delta_usd"] = self.delta().reindex(idx).fillna(0.0)
        return frame

    def _headline(self) -> list[tuple[str, str]]:
        return [
            ("account", str(self.account_id) if self.account_id is not None else "-"),
            ("valuation time", str(self.prices.valuation_time)),
            ("collateral value (after haircuts)", f"{self.collateral_value:,.2f}"),
            ("spot value", f"{self.spot_value:,.2f}"),
            ("unrealized P&L", f"{self.unrealized_pnl:,.2f}"),
            ("option value", f"{self.option_value:,.2f}"),
            ("equity", f"{self.equity:,.2f}"),
            ("positions", str(len(self.positions))),
        ]

    def __str__(self) -> str:
        head = "\n".join(f"{k}: {v}" for k, v in self._headline())
        return f"{head}\n{self.summary().to_string(float_format=lambda x: f'{x:,.2f}')}"

    def _display_head(self) -> str:
        return html_table(self._headline())

    def _summary_kinds(self, summary: pd.DataFrame) -> Mapping[str, str]:
        return dict.fromkeys(summary.columns, "usd")
