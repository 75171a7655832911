r"""A book: many accounts stacked so that their scenario P&L is a few matrix products.

For A accounts over N assets and S scenarios,

.. math::

    \text{P\&L} = \underbrace{(e^{R} - 1)}_{S\times N}\;
    \underbrace{(X + C)^\top}_{N\times A}
    \;+\; \underbrace{(V_s - V_0)}_{S\times K}\;\underbrace{Q}_{K\times A},

where :math:`X` holds the dollar deltas of the linear positions (spot, linear and inverse
perpetuals and futures: their USD value is exactly linear in the asset price under the
scenario rule of :mod:`riskmodels.instruments.market`, so :math:`\Delta V = X(e^r - 1)` with
no approximation), :math:`C` the USD value of the collateral balances (after haircuts for
``haircut=True``), :math:`V_s - V_0` the revaluation P&L of one unit of each of the K
*distinct* option contracts (each revalued once per scenario, vectorized) and :math:`Q` the
sparse contracts × accounts quantity matrix. Scenarios that carry the perpetuals' ``basis`` and
``funding`` or the futures' ``roll`` (:mod:`riskmodels.instruments.market`) add
:math:`U_c\,Q_c`, with one *carry series* per perpetual (asset) and per dated future (asset,
expiry, linear or inverse) and the exact unit P&L beyond the index move,

.. math::

    U^\text{linear}_{s} = e^{r_s}(e^{z_s} - 1) - f_s, \qquad
    U^\text{inverse}_{s} = 1 - e^{-z_s}(1 + f_s),

where :math:`z = b` for a perpetual and :math:`z = c\,\tau` for a future (:math:`f = 0`);
:math:`Q_c` holds the dollar delta of linear contracts and :math:`N P/M` (USD face times index
over mark) of inverse ones. This equals the sum of
:meth:`Account.pnl <riskmodels.instruments.account.Account.pnl>` over each account's positions
up to floating-point summation order.

The output is dense ``S × A`` float64 (8·S·A bytes: 10,000 scenarios × 100,000 accounts is
8 GB), so split very large books into several.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse

from riskmodels._display import html_table, table_html
from riskmodels.exceptions import ConfigError, DataError
from riskmodels.instruments.account import Account
from riskmodels.instruments.market import (
    STABLECOINS,
    MarketState,
    as_market,
    scenario_factor,
    scenario_log_returns,
)
from riskmodels.instruments.positions import (
    InverseFuture,
    InversePerp,
    LinearFuture,
    LinearPerp,
    Option,
    Position,
    option_unit_values,
)
from riskmodels.scenarios.base import Scenarios

__all__ = ["Book"]


def _carry_entry(
    p: Position, market: MarketState
) -> tuple[tuple[str, pd.Timestamp | None, bool], float, float] | None:
    """(series key, quantity, years to expiry) of a perpetual or future; None for spot."""
    if isinstance(p, InversePerp):  # InverseFuture too
        expiry = p.expiry if isinstance(p, InverseFuture) else None
        tau = market.tau(expiry) if expiry is not None else 0.0
        amount = p.face_usd * market.price(p.asset) / p._mark(market)
        return (p.asset, expiry, True), amount, tau
    if isinstance(p, LinearPerp):  # LinearFuture too
        expiry = p.expiry if isinstance(p, LinearFuture) else None
        tau = market.tau(expiry) if expiry is not None else 0.0
        return (p.asset, expiry, False), p.delta_usd(market), tau
    return None


@dataclass(frozen=True, eq=False)
class Book:
    """Accounts stacked into exposure matrices (build with :meth:`from_accounts`).

    Attributes
    ----------
    account_ids : tuple
        One id per account (``Account.account_id``, or its position in the input list).
    assets : tuple of str
        Columns of the exposure matrices (sorted).
    market : MarketState
        The market every account is marked at.
    exposures : ndarray of shape (A, N)
        Dollar delta (USD per unit log move) of the linear positions per account and asset.
    collateral_usd : ndarray of shape (A, N)
        Collateral value per account and asset at full price.
    collateral_haircut_usd : ndarray of shape (A, N)
        The same after haircuts.
    series : tuple of Option
        The K distinct option contracts held in the book (``quantity`` 1).
    option_quantities : scipy.sparse.csr_array of shape (K, A)
        Signed quantity of each contract in each account.
    equity : ndarray of shape (A,)
        Haircut-adjusted equity per account (as ``Account.equity``).
    carry_series : tuple of (str, Timestamp or None, bool)
        The K_c perpetuals (expiry None) and dated futures held, as ``(asset, expiry,
        inverse)``; their years to expiry are ``carry_tau``.
    carry_quantities : scipy.sparse.csr_array of shape (K_c, A)
        Dollar delta (linear) or :math:`NP/M` (inverse) of each carry series per account.
    carry_tau : ndarray of shape (K_c,)
        Years to expiry at the valuation time (0 for perpetuals).
    gross_notional : ndarray of shape (A,) or None
        Sum of absolute position notionals per account (``Account.gross_notional``), which
        the netted exposures cannot give back; None for a book built by hand.
    """

    account_ids: tuple[Any, ...]
    assets: tuple[str, ...]
    market: MarketState
    exposures: np.ndarray
    collateral_usd: np.ndarray
    collateral_haircut_usd: np.ndarray
    series: tuple[Option, ...]
    option_quantities: sparse.csr_array
    equity: np.ndarray
    carry_series: tuple[tuple[str, pd.Timestamp | None, bool], ...] = ()
    carry_quantities: sparse.csr_array | None = None
    carry_tau: np.ndarray | None = None
    gross_notional: np.ndarray | None = None

    @classmethod
    def from_accounts(
        cls, accounts: Sequence[Account], *, market: MarketState | None = None
    ) -> Book:
        """Stack accounts into a book.

        Parameters
        ----------
        accounts : sequence of Account
        market : MarketState or mapping, optional
            Mark every account at this market. Default: the accounts' own ``prices``, which
            must then be equal for all of them.

        Raises
        ------
        ConfigError
            No accounts, a non-Account entry, or accounts marked at different markets without
            ``market``.
        DataError, ModelError
            As :class:`Account` when ``market`` lacks something a position needs.
        """
        accounts = list(accounts)
        if not accounts:
            raise ConfigError("accounts is empty: a Book needs at least one Account.")
        for acc in accounts:
            if not isinstance(acc, Account):
                raise ConfigError(f"Book.from_accounts takes Account objects (got {acc!r}).")
        if market is None:
            mkt = accounts[0].prices
            for i, acc in enumerate(accounts):
                if acc.prices is not mkt and acc.prices != mkt:
                    raise ConfigError(
                        f"account {i} ({acc.account_id!r}) is marked at a different MarketState "
                        "than account 0: pass market= to mark the whole book at one market."
                    )
        else:
            mkt = as_market(market, "market")

        assets = sorted(
            {a for acc in accounts for a in acc.collateral}
            | {p.asset for acc in accounts for p in acc.positions}
        )
        col = {a: j for j, a in enumerate(assets)}
        n_acc, n_assets = len(accounts), len(assets)
        expo = np.zeros((n_acc, n_assets))
        coll = np.zeros((n_acc, n_assets))
        coll_hc = np.zeros((n_acc, n_assets))
        linear_value = np.zeros(n_acc)
        gross = np.zeros(n_acc)
        series_index: dict[tuple[Any, ...], int] = {}
        series: list[Option] = []
        rows: list[int] = []
        cols: list[int] = []
        qty: list[float] = []
        carry_index: dict[tuple[str, pd.Timestamp | None, bool], int] = {}
        carry_keys: list[tuple[str, pd.Timestamp | None, bool]] = []
        carry_taus: list[float] = []
        c_rows: list[int] = []
        c_cols: list[int] = []
        c_qty: list[float] = []
        prices = {a: mkt.price(a) for a in assets}
        for i, acc in enumerate(accounts):
            own = acc.prices is mkt  # values already computed at this market
            for a, q in acc.collateral.items():
                v = q * prices[a]
                coll[i, col[a]] += v
                coll_hc[i, col[a]] += v * (1.0 - acc.haircut(a))
            for p, value in zip(acc.positions, acc.position_values, strict=True):
                gross[i] += abs(p.notional_usd(mkt))
                if p.linear:
                    expo[i, col[p.asset]] += p.delta_usd(mkt)
                    linear_value[i] += value if own else p.value_usd(mkt)
                    carry = _carry_entry(p, mkt)
                    if carry is not None:
                        key, amount, tau = carry
                        k = carry_index.get(key)
                        if k is None:
                            k = carry_index[key] = len(carry_keys)
                            carry_keys.append(key)
                            carry_taus.append(tau)
                        c_rows.append(k)
                        c_cols.append(i)
                        c_qty.append(amount)
                elif isinstance(p, Option):
                    k = series_index.get(p.series)
                    if k is None:
                        k = series_index[p.series] = len(series)
                        series.append(
                            Option(p.asset, p.kind, p.strike, p.expiry, 1.0, p.settlement)
                        )
                    rows.append(k)
                    cols.append(i)
                    qty.append(p.quantity)
                else:  # pragma: no cover - every non-linear position is an Option today
                    raise ConfigError(f"Book cannot stack the non-linear position {p!r}.")
        q_mat = sparse.csr_array(
            (np.array(qty, dtype="float64"), (np.array(rows, dtype=np.intp), np.array(cols))),
            shape=(len(series), n_acc),
        )
        c_mat = sparse.csr_array(
            (np.array(c_qty, dtype="float64"), (np.array(c_rows, dtype=np.intp), np.array(c_cols))),
            shape=(len(carry_keys), n_acc),
        )
        c_tau = np.array(carry_taus, dtype="float64")
        c_tau.setflags(write=False)
        equity = coll_hc.sum(axis=1) + linear_value
        if series:
            v0, _ = option_unit_values(mkt, series)
            equity = equity + q_mat.T @ v0
        ids = tuple(
            acc.account_id if acc.account_id is not None else i for i, acc in enumerate(accounts)
        )
        for arr in (expo, coll, coll_hc, equity, gross):
            arr.setflags(write=False)
        return cls(
            account_ids=ids,
            assets=tuple(assets),
            market=mkt,
            exposures=expo,
            collateral_usd=coll,
            collateral_haircut_usd=coll_hc,
            series=tuple(series),
            option_quantities=q_mat,
            equity=equity,
            carry_series=tuple(carry_keys),
            carry_quantities=c_mat,
            carry_tau=c_tau,
            gross_notional=gross,
        )

    @property
    def n_accounts(self) -> int:
        """Number of accounts A."""
        return len(self.account_ids)

    def __len__(self) -> int:
        return self.n_accounts

    def linear_exposures(self, *, haircut: bool = False) -> pd.DataFrame:
        """USD exposure per account and asset: linear dollar deltas + collateral (A × N)."""
        c = self.collateral_haircut_usd if haircut else self.collateral_usd
        return pd.DataFrame(
            self.exposures + c,
            index=pd.Index(self.account_ids, name="account"),
            columns=pd.Index(self.assets, name="asset"),
        )

    def _columns(self, scenarios: Scenarios) -> tuple[list[int], list[int]]:
        keep, cols, missing = [], [], []
        pos = {a: j for j, a in enumerate(scenarios.assets)}
        for j, a in enumerate(self.assets):
            c = pos.get(a)
            if c is not None:
                keep.append(j)
                cols.append(c)
            elif a not in STABLECOINS:
                missing.append(a)
        if missing:
            raise DataError(
                f"the book holds assets {missing} that are not in the scenarios' assets "
                f"{list(scenarios.assets)}: build scenarios that include them."
            )
        return keep, cols

    def pnl(self, scenarios: Scenarios, *, haircut: bool = False) -> np.ndarray:
        """P&L of every account in every scenario, shape (S, A), USD.

        Parameters
        ----------
        scenarios : Scenarios
        haircut : bool, default False
            Collateral at full value (False) or after haircuts (True), as ``Account.pnl``.

        Raises
        ------
        DataError
            A book asset (other than a stablecoin) missing from the scenarios.
        """
        keep, cols = self._columns(scenarios)
        lin = self.exposures + (self.collateral_haircut_usd if haircut else self.collateral_usd)
        out = np.expm1(scenarios.returns[:, cols]) @ lin[:, keep].T
        if self.series:
            vs, _ = option_unit_values(self.market, self.series, scenarios)
            v0, _ = option_unit_values(self.market, self.series)
            out += (self.option_quantities.T @ (vs - v0).T).T
        carry = self.carry_unit_pnl(scenarios)
        if carry is not None:
            if self.carry_quantities is None:
                raise ConfigError("carry_series needs carry_quantities (from_accounts sets both).")
            out += (self.carry_quantities.T @ carry.T).T
        return out

    def carry_unit_pnl(self, scenarios: Scenarios) -> np.ndarray | None:
        """P&L beyond the index move of one unit of each carry series, (S, K_c), or None.

        None when the book holds no perpetual or future, or the scenarios carry none of
        ``basis``, ``funding`` and ``roll`` (module docstring for the formula).
        """
        if not self.carry_series or not any(
            getattr(scenarios, f) is not None for f in ("basis", "funding", "roll")
        ):
            return None
        assets = [a for a, _, _ in self.carry_series]
        r = np.column_stack([scenario_log_returns(scenarios, a, "a perpetual") for a in assets])
        basis = np.column_stack([scenario_factor(scenarios, a, "basis") for a in assets])
        fund = np.column_stack([scenario_factor(scenarios, a, "funding") for a in assets])
        roll = np.column_stack([scenario_factor(scenarios, a, "roll") for a in assets])
        perp = np.array([e is None for _, e, _ in self.carry_series])
        inverse = np.array([inv for _, _, inv in self.carry_series])
        z = np.where(perp, basis, roll * self.carry_tau)
        f = np.where(perp, fund, 0.0)
        return np.where(inverse, -np.expm1(-z) - np.exp(-z) * f, np.exp(r) * np.expm1(z) - f)

    def equity_under(self, scenarios: Scenarios) -> np.ndarray:
        """Haircut-adjusted equity of every account in every scenario (S, A)."""
        return self.equity + self.pnl(scenarios, haircut=True)

    def summary(self) -> pd.DataFrame:
        """Per-asset totals over the book: collateral, linear dollar delta, net exposure."""
        frame = pd.DataFrame(
            {
                "collateral_usd": self.collateral_usd.sum(axis=0),
                "linear_delta_usd": self.exposures.sum(axis=0),
            },
            index=pd.Index(self.assets, name="asset"),
        )
        return frame

    def _repr_html_(self) -> str:
        head = [
            ("accounts", f"{self.n_accounts:,}"),
            ("assets", ", ".join(self.assets)),
            ("distinct option contracts", f"{len(self.series):,}"),
            ("total equity", f"{float(self.equity.sum()):,.2f}"),
            ("valuation time", str(self.market.valuation_time)),
        ]
        summary = self.summary()
        return html_table(head) + table_html(summary, dict.fromkeys(summary.columns, "usd"))
