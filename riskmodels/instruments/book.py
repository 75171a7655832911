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

The output of :meth:`Book.pnl` is dense ``S × A`` float64 (8·S·A bytes: 10,000 scenarios ×
100,000 accounts is 8 GB). :meth:`Book.pnl_chunks` gives it a chunk of accounts at a time, from
the factors above computed once (:class:`FactoredPnL`); the portfolio margin's book path
(:meth:`riskmodels.margin.PortfolioMargin.margin_book`) runs on the same factors, so a book has
one P&L engine.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse

from riskmodels._display import SummaryDisplay, html_table
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

__all__ = ["Book", "FactoredPnL"]

_ALL = slice(None)


def _chunks(n: int, step: int) -> Iterator[slice]:
    """Consecutive row slices of at most ``step`` rows covering ``0 .. n``."""
    for r0 in range(0, n, step):
        yield slice(r0, min(n, r0 + step))


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


@dataclass(frozen=True, kw_only=True, eq=False)
class FactoredPnL:
    r"""A book's P&L under one scenario set, as the factors of the module's formula.

    For accounts ``rows`` the P&L is

    .. math::

        \text{P\&L}_{rows} = (X + C)_{rows, N'}\,G^\top + Q^\top_{rows}\,\Delta V
        + Q_{c,rows}^\top\,U \qquad (A_r \times S),

    with :math:`G = e^{R} - 1` the simple returns of the N' book assets present in the
    scenarios, :math:`\Delta V` the unit revaluation of the K option contracts and :math:`U`
    the unit carry P&L (module docstring). Built by :meth:`Book.factored_pnl`; with
    ``losses=True`` the unit factors are negated once, so blocks are losses.

    Attributes
    ----------
    linear : ndarray of shape (A, N')
        Linear dollar deltas plus collateral of the assets present in the scenarios.
    growth : ndarray of shape (S, N')
        Simple returns :math:`e^r - 1` (negated for losses).
    option_quantities, carry_quantities : scipy.sparse.csr_array of shape (K, A), or None
        The book's quantities (None when there is no such term).
    option_values : ndarray of shape (K, S), or None
        Unit option revaluation :math:`V_s - V_0` (negated for losses).
    carry_values : ndarray of shape (K_c, S), or None
        Unit carry P&L (negated for losses).
    losses : bool
        Whether blocks are losses (minus P&L).
    """

    linear: np.ndarray
    growth: np.ndarray
    option_quantities: sparse.csr_array | None
    option_values: np.ndarray | None
    carry_quantities: sparse.csr_array | None
    carry_values: np.ndarray | None
    losses: bool = False

    @cached_property
    def _by_account(self) -> tuple[Any, Any]:
        """The quantity matrices with one row per account (CSR), for row chunks."""
        q = None if self.option_quantities is None else self.option_quantities.T.tocsr()
        qc = None if self.carry_quantities is None else self.carry_quantities.T.tocsr()
        return q, qc

    @property
    def n_scenarios(self) -> int:
        """Number of scenarios S."""
        return int(self.growth.shape[0])

    def block(self, rows: slice = _ALL, *, out: np.ndarray | None = None) -> np.ndarray:
        """P&L (or losses) of accounts ``rows``, shape (A_r, S), C-contiguous.

        Parameters
        ----------
        rows : slice, default every account
        out : ndarray, optional
            C-contiguous float64 buffer of at least (A_r, S) that receives the block (its
            first A_r rows are returned): reusing one buffer for every chunk saves the page
            faults of a fresh allocation per chunk.
        """
        lin = self.linear[rows]
        if out is None:
            res = lin @ self.growth.T
        else:
            res = np.matmul(lin, self.growth.T, out=out[: lin.shape[0]])
        q, qc = self._by_account
        if self.option_values is not None:
            res += q[rows] @ self.option_values
        if self.carry_values is not None:
            res += qc[rows] @ self.carry_values
        return res

    def full(self) -> np.ndarray:
        """P&L (or losses) of every account in every scenario, shape (S, A)."""
        out = self.growth @ self.linear.T
        if self.option_values is not None:
            assert self.option_quantities is not None
            out += (self.option_quantities.T @ self.option_values).T
        if self.carry_values is not None:
            assert self.carry_quantities is not None
            out += (self.carry_quantities.T @ self.carry_values).T
        return out


@dataclass(frozen=True, eq=False)
class Book(SummaryDisplay):
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

    def _columns(self, scenarios: Scenarios) -> tuple[np.ndarray, list[int]]:
        """Book columns present in the scenarios and their scenario columns; a missing asset
        (other than a stablecoin, whose price does not move) is a named error."""
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
        return np.asarray(keep, dtype=np.intp), cols

    def factored_pnl(
        self, scenarios: Scenarios, *, haircut: bool = False, losses: bool = False
    ) -> FactoredPnL:
        r"""The book's P&L under ``scenarios``, kept as the factors of the module's formula.

        Each factor is computed once (the simple returns, every distinct option contract
        revalued once per scenario, the carry series), so the P&L of any chunk of accounts is
        then one dense and two sparse products (:meth:`FactoredPnL.block`). This is the one
        P&L engine of a book: :meth:`pnl`, :meth:`pnl_chunks` and
        :meth:`riskmodels.margin.PortfolioMargin.margin_book` all use it.

        Parameters
        ----------
        scenarios : Scenarios
        haircut : bool, default False
            Collateral at full value (False) or after haircuts (True), as ``Account.pnl``.
        losses : bool, default False
            Negate the unit factors once, so blocks are losses (minus P&L). Negation is exact
            in floating point, so a loss block is exactly the negated P&L block.

        Raises
        ------
        DataError
            A book asset (other than a stablecoin) missing from the scenarios.
        ConfigError
            Carry series without ``carry_quantities`` (a Book built by hand).
        """
        keep, cols = self._columns(scenarios)
        lin = self.exposures + (self.collateral_haircut_usd if haircut else self.collateral_usd)
        growth = np.expm1(scenarios.returns[:, cols])
        option_values = None
        if self.series:
            vs, _ = option_unit_values(self.market, self.series, scenarios)
            v0, _ = option_unit_values(self.market, self.series)
            option_values = np.ascontiguousarray((vs - v0).T)  # (K, S)
        carry = self.carry_unit_pnl(scenarios)
        if carry is not None and self.carry_quantities is None:
            raise ConfigError("carry_series needs carry_quantities (from_accounts sets both).")
        carry_values = None if carry is None else np.ascontiguousarray(carry.T)  # (K_c, S)
        if losses:
            growth = -growth
            option_values = None if option_values is None else -option_values
            carry_values = None if carry_values is None else -carry_values
        return FactoredPnL(
            linear=np.ascontiguousarray(lin[:, keep]),
            growth=growth,
            option_quantities=self.option_quantities if option_values is not None else None,
            option_values=option_values,
            carry_quantities=self.carry_quantities if carry_values is not None else None,
            carry_values=carry_values,
            losses=losses,
        )

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

        See Also
        --------
        pnl_chunks : the same, a chunk of accounts at a time (A_c × S), for books too large
            for one S × A array.
        """
        return self.factored_pnl(scenarios, haircut=haircut).full()

    def pnl_chunks(
        self, scenarios: Scenarios, *, chunk_size: int, haircut: bool = False
    ) -> Iterator[tuple[slice, np.ndarray]]:
        """P&L a chunk of accounts at a time: ``(rows, block)`` with ``block`` of shape
        (A_c, S), USD; the blocks stacked are ``pnl(scenarios).T``.

        The factors are computed once (:meth:`factored_pnl`); each block is one dense and
        two sparse products, so memory stays at ``chunk_size × S`` per block.

        Parameters
        ----------
        scenarios : Scenarios
        chunk_size : int
            Accounts per block (the last block may be smaller).
        haircut : bool, default False
            As :meth:`pnl`.

        Examples
        --------
        >>> worst = np.empty(book.n_accounts)                       # doctest: +SKIP
        >>> for rows, block in book.pnl_chunks(sc, chunk_size=10_000):  # doctest: +SKIP
        ...     worst[rows] = block.min(axis=1)
        """
        if (
            isinstance(chunk_size, bool)
            or not isinstance(chunk_size, int | np.integer)
            or chunk_size < 1
        ):
            raise ConfigError(f"chunk_size must be a positive integer (got {chunk_size!r}).")
        # checked and factored here, at the call (a generator body would wait for next())
        factored = self.factored_pnl(scenarios, haircut=haircut)
        step, n = int(chunk_size), self.n_accounts
        return ((rows, factored.block(rows)) for rows in _chunks(n, step))

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

    def _display_head(self) -> str:
        head = [
            ("accounts", f"{self.n_accounts:,}"),
            ("assets", ", ".join(self.assets)),
            ("distinct option contracts", f"{len(self.series):,}"),
            ("total equity", f"{float(self.equity.sum()):,.2f}"),
            ("valuation time", str(self.market.valuation_time)),
        ]
        return html_table(head)

    def _summary_kinds(self, summary: pd.DataFrame) -> Mapping[str, str]:
        return dict.fromkeys(summary.columns, "usd")
