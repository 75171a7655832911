r"""Per-position margin: isolated and cross margin from notional tiers (and option rules).

Both models charge every position on its own, from its notional and the venue's tier table
(:mod:`riskmodels.margin.tiers`):

* perpetuals and futures (linear and inverse), and borrowed (short) spot:
  :math:`\text{IM} = |N|\max(i_n, 1/L_\text{user})`, :math:`\text{MM} = |N| m_n - c_n`, with
  :math:`N` the USD notional (``Position.notional_usd``: the face value for inverse contracts);
* long spot and long options: nothing (fully paid: the premium or the coins are already in the
  account's equity, and the holder cannot lose more);
* short options: :class:`OptionMarginRule` (Deribit's standard option margin).

:class:`IsolatedMargin` gives each position its own wallet (a loss on one cannot be covered by
another); :class:`~riskmodels.margin.CrossMargin` sums the same requirements against one
collateral pool. Neither nets risk across positions: a perfectly hedged book pays for both legs
(Binance's "portfolio margin" is also of this kind, VENUES.md §1.2).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import KW_ONLY, dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from riskmodels._deprecation import keyword_options
from riskmodels.exceptions import ConfigError
from riskmodels.instruments import Account, Book, MarketState, Option, Position, Spot
from riskmodels.margin._common import (
    as_accounts,
    check_account,
    check_fraction,
    check_positive,
    position_deltas,
)
from riskmodels.margin.addons import addon_frame, check_addons
from riskmodels.margin.results import BookMarginResult, MarginResult
from riskmodels.margin.tiers import TierTable

__all__ = ["IsolatedMargin", "OptionMarginRule", "position_label"]

_COLUMNS = [
    "component",
    "item",
    "asset",
    "instrument",
    "notional",
    "bracket",
    "mmr",
    "im_rate",
    "initial",
    "maintenance",
]


def position_label(p: Position) -> str:
    """A short label for a position: instrument, asset and signed size (and strike/expiry)."""
    if isinstance(p, Option):
        return (
            f"{p.quantity:+g} {p.asset} {p.kind} {p.strike:g} {p.expiry:%Y-%m-%d}"
            f"{' (coin)' if p.is_coin_settled else ''}"
        )
    size = getattr(p, "quantity", None)
    if size is None:
        size = p.contracts  # type: ignore[attr-defined]
        return f"{p.instrument} {p.asset} {size:+g} contracts"
    return f"{p.instrument} {p.asset} {size:+g}"


@keyword_options
@dataclass(frozen=True)
class OptionMarginRule:
    r"""Standard (non-portfolio) margin of a short option, Deribit-style.

    Parameters
    ----------
    im_rate : float, default 0.15
    im_min_rate : float, default 0.10
    mm_rate : float, default 0.075

    Notes
    -----
    Per option on one unit of the underlying, with underlying price :math:`S`, option mark
    :math:`V` (USD) and out-of-the-money amount :math:`O` (:math:`\max(K - S, 0)` for a call,
    :math:`\max(S - K, 0)` for a put):

    .. math::

        \text{MM}_\text{call} = 0.075 S + V, \qquad
        \text{MM}_\text{put} = \max(0.075 S, 0.075 V) + V,

        \text{IM}_\text{call} = \max(0.15 - O/S, 0.10)\,S + V, \qquad
        \text{IM}_\text{put} = \max\bigl(\max(0.15 - O/S, 0.10)\,S + V, \text{MM}_\text{put}\bigr),

    Deribit's standard option margin (in BTC there: "Maximum (0.15 - Out of the Money
    Amount/Underlying MarkPrice, 0.1) + Mark Price of the option"), as mirrored in TSLab's
    "Deribit Margin Requirements Calculation"
    (https://doc.tslab.pro/tslab/eng/data-providers/connection-to-broker/deribit-cryptocurrency-exchange/deribit-margin-requirements-calculation,
    read 2026-11-21; Aevo's "Standard Margin" page uses the same form with 0.1 for MM). The
    rates are parameters. Long options need nothing (the premium is paid). The option's mark
    is part of the requirement *and* of the equity (as a negative value), as at Deribit.
    """

    _: KW_ONLY
    im_rate: float = 0.15
    im_min_rate: float = 0.10
    mm_rate: float = 0.075

    def __post_init__(self) -> None:
        for name in ("im_rate", "im_min_rate", "mm_rate"):
            object.__setattr__(self, name, check_fraction(getattr(self, name), name))

    def requirement(self, option: Option, market: MarketState) -> tuple[float, float]:
        """``(initial, maintenance)`` of the position in USD (zero for a long option)."""
        if option.quantity >= 0:
            return 0.0, 0.0
        s = market.price(option.asset)
        v = option.value_usd(market) / option.quantity  # mark of one option, USD, >= 0
        otm = max(option.strike - s, 0.0) if option.kind == "call" else max(s - option.strike, 0.0)
        base = max(self.im_rate - otm / s, self.im_min_rate) * s + v
        if option.kind == "call":
            mm = self.mm_rate * s + v
            im = base
        else:
            mm = max(self.mm_rate * s, self.mm_rate * v) + v
            im = max(base, mm)
        q = abs(option.quantity)
        return q * im, q * mm


def _check_tiers(tiers: Any) -> TierTable | dict[str, TierTable]:
    if isinstance(tiers, TierTable):
        return tiers
    if not isinstance(tiers, Mapping):
        raise ConfigError(
            "tiers must be a TierTable (applied to every asset) or a mapping asset -> TierTable, "
            f"e.g. binance_usdm_tiers() (got {type(tiers).__name__})."
        )
    out = {}
    for a, t in tiers.items():
        if not isinstance(t, TierTable):
            raise ConfigError(f"tiers[{a!r}] must be a TierTable (got {type(t).__name__}).")
        out[str(a)] = t
    return out


def _check_leverage(leverage: Any) -> float | dict[str, float] | None:
    if leverage is None:
        return None
    fix = "Leverage is the user's choice, >= 1 (e.g. 10)."
    if isinstance(leverage, Mapping):
        out = {str(a): check_positive(v, f"leverage[{a!r}]", fix) for a, v in leverage.items()}
        bad = {a: v for a, v in out.items() if v < 1}
        if bad:
            raise ConfigError(f"leverage must be >= 1 (got {bad}). {fix}")
        return out
    v = check_positive(leverage, "leverage", fix)
    if v < 1:
        raise ConfigError(f"leverage must be >= 1 (got {v!r}). {fix}")
    return v


@dataclass(frozen=True)
class _PerPositionModel:
    """Shared machinery of the tiered per-position models (see the module docstring)."""

    tiers: Any
    _: KW_ONLY
    leverage: Any = None
    option_rule: OptionMarginRule | None = OptionMarginRule()
    mm_factor: float | None = None
    addons: Any = ()
    strict: bool = True

    name: ClassVar[str] = ""
    isolated: ClassVar[bool] = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "tiers", _check_tiers(self.tiers))
        object.__setattr__(self, "leverage", _check_leverage(self.leverage))
        if self.option_rule is not None and not isinstance(self.option_rule, OptionMarginRule):
            raise ConfigError(
                f"option_rule must be an OptionMarginRule or None (got {self.option_rule!r})."
            )
        if self.mm_factor is not None:
            k = check_fraction(
                self.mm_factor, "mm_factor", fix="MM = mm_factor x IM; 0.5 is Hyperliquid's."
            )
            if k == 0:
                raise ConfigError("mm_factor must be > 0 (got 0.0); use None for the table's MMR.")
            object.__setattr__(self, "mm_factor", k)
        object.__setattr__(self, "addons", check_addons(self.addons))
        object.__setattr__(self, "strict", bool(self.strict))

    # -- look-ups ----------------------------------------------------------------------------
    def table(self, asset: str) -> TierTable:
        """The tier table of ``asset``.

        Raises
        ------
        ConfigError
            No table for ``asset``.
        """
        if isinstance(self.tiers, TierTable):
            return self.tiers
        t = self.tiers.get(asset)
        if t is None:
            raise ConfigError(
                f"no tier table for asset {asset!r} (tiers has {sorted(self.tiers)}); add "
                f"tiers[{asset!r}] = load_tier_table(...) or TierTable.flat(mmr, max_leverage)."
            )
        return t

    def _user_leverage(self, asset: str) -> float | None:
        if isinstance(self.leverage, dict):
            return self.leverage.get(asset)
        return self.leverage

    # -- requirements ------------------------------------------------------------------------
    def position_requirements(self, account: Account) -> pd.DataFrame:
        """One row per position: notional, bracket, MMR, IM rate, initial and maintenance (USD)."""
        account = check_account(account)
        market = account.prices
        rows = []
        for p in account.positions:
            row: dict[str, Any] = {
                "component": "position",
                "item": position_label(p),
                "asset": p.asset,
                "instrument": p.instrument,
                "notional": float(p.notional_usd(market)),
                "bracket": np.nan,
                "mmr": np.nan,
                "im_rate": np.nan,
                "initial": 0.0,
                "maintenance": 0.0,
            }
            if isinstance(p, Option):
                if p.quantity < 0:
                    if self.option_rule is None:
                        raise ConfigError(
                            f"{position_label(p)} is a short option but option_rule is None: pass "
                            "option_rule=OptionMarginRule() (Deribit's standard rule)."
                        )
                    row["initial"], row["maintenance"] = self.option_rule.requirement(p, market)
            elif isinstance(p, Spot) and p.quantity >= 0:
                pass  # fully paid
            else:
                n = abs(row["notional"])
                t = self.table(p.asset)
                lev = self._user_leverage(p.asset)
                row["bracket"] = int(t.bracket(n, strict=self.strict)) + 1
                row["im_rate"] = t.initial_rate(n, leverage=lev, strict=self.strict)
                row["initial"] = n * row["im_rate"]
                if self.mm_factor is None:
                    row["mmr"] = t.mmr_at(n, strict=self.strict)
                    row["maintenance"] = t.maintenance(n, strict=self.strict)
                else:
                    row["mmr"] = self.mm_factor * t.initial_rate(n, strict=self.strict)
                    row["maintenance"] = n * row["mmr"]
            rows.append(row)
        return pd.DataFrame(rows, columns=_COLUMNS)

    def margin(self, account: Account) -> MarginResult:
        """Requirement of one account: per-position requirements plus add-ons, summed.

        Raises
        ------
        ConfigError
            An asset without a tier table; a short option with ``option_rule=None``.
        ModelError
            A notional above a table's last bracket (with ``strict=True``).
        """
        account = check_account(account)
        frame = self.position_requirements(account)
        extra = addon_frame(self.addons, position_deltas(account)) if self.addons else None
        if extra is not None and not extra.empty:
            frame = pd.concat([frame, extra.reindex(columns=frame.columns)], ignore_index=True)
        initial = float(math.fsum(frame["initial"]))
        maintenance = float(math.fsum(frame["maintenance"]))
        driver: dict[str, Any] = {}
        pos = frame[frame["component"] == "position"]
        if len(pos) and pos["initial"].max() > 0:
            i = int(pos["initial"].to_numpy().argmax())
            driver = {"position": pos["item"].iloc[i], "initial": float(pos["initial"].iloc[i])}
        return MarginResult(
            model=self.name,
            initial=initial,
            maintenance=maintenance,
            equity=account.equity,
            breakdown=frame,
            driver=driver,
            account_id=account.account_id,
            params=self._params(),
        )

    def margin_many(self, accounts: Sequence[Account]) -> BookMarginResult:
        """Requirements of many accounts (a loop: tiers need each position's own notional)."""
        accs = as_accounts(accounts)
        res = [self.margin(a) for a in accs]
        ids = tuple(a.account_id if a.account_id is not None else i for i, a in enumerate(accs))
        comps = pd.DataFrame(
            [r.summary()["initial"].to_dict() for r in res], index=pd.Index(ids, name="account")
        ).fillna(0.0)
        return BookMarginResult(
            model=self.name,
            account_ids=ids,
            initial=np.array([r.initial for r in res]),
            maintenance=np.array([r.maintenance for r in res]),
            equity=np.array([r.equity for r in res]),
            components=comps,
            driver=np.full(len(res), -1),
            params=self._params(),
        )

    def margin_book(self, book: Book) -> BookMarginResult:
        """Not available: a :class:`Book` nets positions per asset, tiers need each notional.

        Raises
        ------
        ConfigError
            Always; use :meth:`margin_many` with the accounts.
        """
        raise ConfigError(
            f"{type(self).__name__} charges each position on its own notional, which a Book "
            "(positions netted per asset) no longer has: call margin_many(accounts) instead."
        )

    def _params(self) -> dict[str, Any]:
        tiers = (
            {"*": self.tiers.name}
            if isinstance(self.tiers, TierTable)
            else {a: t.name for a, t in self.tiers.items()}
        )
        return {
            "tiers": tiers,
            "leverage": self.leverage,
            "mm_factor": self.mm_factor,
            "option_rule": self.option_rule,
            "addons": [a.name for a in self.addons],
        }


@keyword_options
@dataclass(frozen=True)
class IsolatedMargin(_PerPositionModel):
    """Isolated margin: each position has its own wallet and its own liquidation price.

    Parameters
    ----------
    tiers : TierTable or mapping of str to TierTable
        The venue's table per asset (e.g. :func:`~riskmodels.margin.binance_usdm_tiers`), or
        one table for every asset.
    leverage : float or mapping of str to float, optional
        The leverage the user chose (per asset); the initial margin rate is
        ``max(imr_bracket, 1 / leverage)``. Default: the bracket's maximum leverage.
    option_rule : OptionMarginRule or None, default OptionMarginRule()
        Margin of short options (None: short options are an error).
    mm_factor : float, optional
        When given, MM = ``mm_factor`` × the bracket's IM rate × notional (Hyperliquid's
        0.5) instead of the table's MMR and maintenance amount.
    addons : sequence of add-ons, default ()
        E.g. :class:`~riskmodels.margin.LiquidityAddOn`; added to IM and MM.
    strict : bool, default True
        A notional above a table's last bracket raises :class:`ModelError`; False extends the
        last bracket.

    Notes
    -----
    The requirement of the account is the sum over positions (module docstring). The isolated
    wallet of each position is its initial margin (:meth:`wallet_balances`); its liquidation
    price is :func:`~riskmodels.margin.isolated_liquidation_price`. For shortfall statistics
    (:func:`~riskmodels.margin.capital_efficiency`) each wallet stands alone: a position whose
    loss exceeds its own margin leaves a shortfall even when another position gains.
    """

    name: ClassVar[str] = "isolated"
    isolated: ClassVar[bool] = True

    def wallet_balances(self, account: Account) -> pd.Series:
        """Initial margin posted to each position's isolated wallet (USD), by position label."""
        frame = self.position_requirements(account)
        return pd.Series(frame["initial"].to_numpy(), index=frame["item"], name="wallet_balance")
