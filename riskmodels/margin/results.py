"""Results of the margin models: one account, many accounts, liquidation prices, replays.

Every margin model returns a :class:`MarginResult` for one
:class:`~riskmodels.instruments.Account` and a :class:`BookMarginResult` for many (a
:class:`~riskmodels.instruments.Book` or a list of accounts). Amounts are USD; requirements are
non-negative. ``initial`` is what an account must hold to open (or keep adding to) its positions,
``maintenance`` the level below which the venue liquidates.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np
import pandas as pd

from riskmodels._display import fmt_usd, html_table, table_html
from riskmodels._frozen import FrozenDict
from riskmodels.instruments import Account

__all__ = [
    "BookMarginResult",
    "LiquidationPrice",
    "MarginModel",
    "MarginResult",
    "MonitorResult",
]


def _table(rows: Sequence[tuple[str, str]]) -> str:
    return html_table(rows)


def _money(x: float) -> str:
    return fmt_usd(x, 2)


#: Columns every breakdown has (models add their own after these).
BREAKDOWN_COLUMNS = ("component", "item", "asset", "initial", "maintenance")


@dataclass(frozen=True, kw_only=True)
class MarginResult:
    """Margin requirement of one account under one model.

    Attributes
    ----------
    model : str
        The model's name (``"isolated"``, ``"cross"``, ``"portfolio"``, ``"risk_matrix"``).
    initial, maintenance : float
        Initial and maintenance requirement, USD, >= 0.
    equity : float
        The account's haircut-adjusted equity (``Account.equity``), USD.
    breakdown : DataFrame
        One row per component and item (position, collateral balance, floor, add-on), with
        columns ``component``, ``item``, ``asset``, ``initial``, ``maintenance`` and
        model-specific ones (notional, bracket, MMR, scenario P&L ...). The ``initial`` and
        ``maintenance`` columns sum to the totals.
    driver : mapping
        What sets the requirement: the worst scenario (index and label) for scenario-based
        models, the largest position for per-position models.
    account_id : object, optional
        ``Account.account_id``.
    params : mapping
        The model parameters that produced it (for reports).
    band : Series, optional
        The requirement under each value of a parameter that is not published (the risk
        matrix's extended fraction φ ∈ {0, 1/3, 1}): ``initial φ=…`` and ``maintenance φ=…``.
    """

    model: str
    initial: float
    maintenance: float
    equity: float
    breakdown: pd.DataFrame
    driver: Mapping[str, Any] = field(default_factory=dict)
    account_id: Any = None
    params: Mapping[str, Any] = field(default_factory=dict)
    band: pd.Series | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "initial", float(self.initial))
        object.__setattr__(self, "maintenance", float(self.maintenance))
        object.__setattr__(self, "equity", float(self.equity))
        object.__setattr__(self, "driver", FrozenDict(self.driver))
        object.__setattr__(self, "params", FrozenDict(self.params))

    @property
    def excess(self) -> float:
        """Equity above the initial requirement (negative: the account cannot add risk)."""
        return self.equity - self.initial

    @property
    def margin_ratio(self) -> float:
        """Equity / maintenance (Binance uniMMR convention; inf when nothing is required)."""
        if self.maintenance == 0:
            return math.inf if self.equity >= 0 else -math.inf
        return self.equity / self.maintenance

    @property
    def liquidatable(self) -> bool:
        """Whether equity is at or below maintenance (and something is required or equity < 0)."""
        return (self.equity <= self.maintenance and self.maintenance > 0) or self.equity < 0

    def summary(self) -> pd.DataFrame:
        """Initial and maintenance per component (rows of ``breakdown`` summed by component)."""
        return self.breakdown.groupby("component", sort=False)[["initial", "maintenance"]].sum()

    def _headline(self) -> list[tuple[str, str]]:
        drv = ", ".join(f"{k}={v}" for k, v in self.driver.items()) or "-"
        return [
            ("model", self.model),
            ("account", "-" if self.account_id is None else str(self.account_id)),
            ("initial margin", _money(self.initial)),
            ("maintenance margin", _money(self.maintenance)),
            ("equity", _money(self.equity)),
            ("margin ratio (equity / MM)", f"{self.margin_ratio:,.3f}"),
            ("driver", drv),
        ] + [(f"{k} (unpublished parameter)", _money(float(v))) for k, v in self._band_items()]

    def _band_items(self) -> list[tuple[str, float]]:
        return [] if self.band is None else list(self.band.items())

    def __str__(self) -> str:
        head = "\n".join(f"{k}: {v}" for k, v in self._headline())
        return f"{head}\n{self.summary().to_string(float_format=lambda x: f'{x:,.2f}')}"

    def _repr_html_(self) -> str:
        kinds = {
            c: "usd" for c in ("initial", "maintenance", "tail_pnl", "scenario_pnl", "notional")
        }
        kinds.update({c: "pct" for c in ("mmr", "imr", "rate") if c in self.breakdown})
        return _table(self._headline()) + table_html(self.breakdown.reset_index(drop=True), kinds)


@dataclass(frozen=True, eq=False, kw_only=True)
class BookMarginResult:
    """Margin requirements of many accounts under one model (vectorized).

    Attributes
    ----------
    model : str
    account_ids : tuple
    initial, maintenance, equity : ndarray of shape (A,)
        USD per account.
    components : DataFrame
        Accounts × components (market risk, floors, add-ons ...), USD of initial margin; the
        columns sum to ``initial``.
    driver : ndarray of shape (A,)
        Index of the scenario that drives each account's requirement (the worst scenario), or
        -1 where the model has none.
    driver_labels : tuple of str or None
        Labels of the scenarios ``driver`` indexes, when the model has them.
    band : DataFrame, optional
        Accounts × requirement under each value of an unpublished parameter (the risk
        matrix's extended fraction): ``initial φ=…``, ``maintenance φ=…``.
    """

    model: str
    account_ids: tuple[Any, ...]
    initial: np.ndarray
    maintenance: np.ndarray
    equity: np.ndarray
    components: pd.DataFrame
    driver: np.ndarray
    driver_labels: tuple[str, ...] | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    band: pd.DataFrame | None = None

    def __post_init__(self) -> None:
        for name in ("initial", "maintenance", "equity", "driver"):
            arr = np.asarray(getattr(self, name))
            arr.setflags(write=False)
            object.__setattr__(self, name, arr)
        object.__setattr__(self, "params", FrozenDict(self.params))

    def __len__(self) -> int:
        return len(self.account_ids)

    @property
    def margin_ratio(self) -> np.ndarray:
        """Equity / maintenance per account (inf where nothing is required)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            r = self.equity / self.maintenance
        return np.where(self.maintenance > 0, r, np.where(self.equity >= 0, np.inf, -np.inf))

    def frame(self) -> pd.DataFrame:
        """One row per account: initial, maintenance, equity, margin ratio, driver."""
        out = pd.DataFrame(
            {
                "initial": self.initial,
                "maintenance": self.maintenance,
                "equity": self.equity,
                "margin_ratio": self.margin_ratio,
                "driver": self.driver,
            },
            index=pd.Index(self.account_ids, name="account"),
        )
        if self.driver_labels is not None:
            labels = np.asarray(self.driver_labels, dtype=object)
            out["driver_label"] = [labels[i] if i >= 0 else None for i in self.driver]
        if self.band is not None:
            out = out.join(self.band)
        return out

    def _repr_html_(self) -> str:
        head = [
            ("model", self.model),
            ("accounts", f"{len(self):,}"),
            ("total initial", _money(float(self.initial.sum()))),
            ("total maintenance", _money(float(self.maintenance.sum()))),
        ]
        frame = self.frame()
        kinds = {c: "usd" for c in frame.columns if c.startswith(("initial", "maintenance"))}
        kinds.update(equity="usd", margin_ratio="number", driver="count")
        shown = frame.head(20)
        note = (
            f"first 20 of {len(frame):,} accounts (.frame() has all)" if len(frame) > 20 else None
        )
        return _table(head) + table_html(shown, kinds, caption=note)


@dataclass(frozen=True, kw_only=True)
class LiquidationPrice:
    """The price of one asset at which an account (or isolated position) meets maintenance.

    Attributes
    ----------
    asset : str
    price : float
        The liquidation price (NaN when there is none; ``reason`` says why).
    current_price : float
        The asset's price now.
    direction : {"down", "up", "now", "none"}
        Whether the price must fall or rise to reach it; ``"now"`` when the account is already
        at or below maintenance, ``"none"`` when no price liquidates it.
    other : float
        A liquidation price on the other side of the current price, if any (NaN otherwise):
        books with options or mixed exposures can have one on each side.
    method : {"closed_form", "brentq"}
    reason : str
        A sentence: how the price was found, or why there is none.
    """

    asset: str
    price: float
    current_price: float
    direction: str
    other: float = math.nan
    method: str = "brentq"
    reason: str = ""

    @property
    def distance(self) -> float:
        """Relative move to the liquidation price, ``price / current_price - 1`` (NaN if none)."""
        return self.price / self.current_price - 1.0

    def __float__(self) -> float:
        return float(self.price)

    def _repr_html_(self) -> str:
        return _table(
            [
                ("asset", self.asset),
                ("liquidation price", _money(self.price)),
                ("current price", _money(self.current_price)),
                ("distance", f"{self.distance:+.2%}" if math.isfinite(self.price) else "-"),
                ("direction", self.direction),
                ("other side", _money(self.other)),
                ("method", self.method),
                ("reason", self.reason),
            ]
        )


@dataclass(frozen=True, kw_only=True)
class MonitorResult:
    """A replay of equity, maintenance margin and margin ratio over a price history.

    Attributes
    ----------
    frame : DataFrame
        Indexed by time: ``equity``, ``maintenance``, ``margin_ratio`` (equity / maintenance)
        and ``liquidatable`` (bool), plus the replayed prices.
    liquidation_time : Timestamp or None
        The first time the account is liquidatable (None if never).
    liquidation_prices : Series or None
        The prices at that time.
    model : str
    positions_liquidated : tuple of str
        Isolated mode: the positions liquidated first (``repr`` of each), else empty.
    """

    frame: pd.DataFrame
    liquidation_time: pd.Timestamp | None
    liquidation_prices: pd.Series | None
    model: str
    positions_liquidated: tuple[str, ...] = ()

    @property
    def liquidated(self) -> bool:
        """Whether a liquidation event happened in the replay."""
        return self.liquidation_time is not None

    def _repr_html_(self) -> str:
        head = [
            ("model", self.model),
            ("observations", f"{len(self.frame):,}"),
            (
                "first liquidation",
                "-" if self.liquidation_time is None else str(self.liquidation_time),
            ),
            ("minimum margin ratio", f"{float(self.frame['margin_ratio'].min()):,.3f}"),
        ]
        kinds = {"equity": "usd", "maintenance": "usd", "margin_ratio": "number"}
        note = (
            f"first 20 of {len(self.frame):,} times (.frame has all)"
            if len(self.frame) > 20
            else None
        )
        return _table(head) + table_html(self.frame.head(20), kinds, caption=note)


@runtime_checkable
class MarginModel(Protocol):
    """What every margin model offers."""

    @property
    def name(self) -> str:
        """Label of the model (a class variable or a field of the models)."""

    def margin(self, account: Account) -> MarginResult:
        """Requirement of one account."""

    def margin_many(self, accounts: Sequence[Account]) -> BookMarginResult:
        """Requirements of many accounts (vectorized where the model allows)."""
