r"""Liquidation prices and margin replays.

* :func:`isolated_liquidation_price` — the closed form for one isolated position (Binance
  USDⓈ-M one-way mode, and its coin-margined analogue).
* :func:`liquidation_price` — for an account under any model: the closed form for isolated
  margin, else the price of one asset (all others held) at which equity meets maintenance,
  solved with :func:`scipy.optimize.brentq`.
* :func:`monitor` — equity, maintenance and margin ratio over a price history, and the first
  liquidation event.

Binance's formula (FAQ "How to Calculate Liquidation Price of USDⓈ-M Futures Contracts",
2020-08-14, https://www.binance.com/en/support/faq/b3c689c1f50a44cabb3a84e663b81d93; VENUES.md
§1.2), one-way mode:

.. math::

    LP = \frac{WB - TMM_1 + UPNL_1 + cum_B - \text{Side}_1\,|Q_1|\,EP_1}
              {|Q_1|\,MMR_B - \text{Side}_1\,|Q_1|},

where isolated mode has :math:`TMM_1 = UPNL_1 = 0` and :math:`WB` is the isolated wallet
balance. "If your position (calculated at the liquidation price) and the current position
(calculated at the opening price) are of different levels, then you must substitute ... the
maintenance margin rate and the maintenance margin amount of the position level [at the
liquidation price]" (same FAQ): the bracket is the one that holds :math:`|Q_1|\cdot LP`, found
here by trying each bracket. Because the maintenance amount makes MM continuous in notional,
exactly one bracket is consistent (or the root sits on a bound).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import brentq

from riskmodels.exceptions import ConfigError, DataError, PositionError
from riskmodels.instruments import (
    Account,
    InversePerp,
    LinearPerp,
    Option,
    Position,
    Spot,
)
from riskmodels.margin._common import (
    account_assets,
    check_account,
    check_fraction,
    check_nonnegative,
    remark,
    zero_scenarios,
)
from riskmodels.margin.isolated import IsolatedMargin, _PerPositionModel, position_label
from riskmodels.margin.results import LiquidationPrice, MarginModel, MonitorResult
from riskmodels.margin.tiers import TierTable

__all__ = ["isolated_liquidation_price", "liquidation_price", "monitor"]

#: Log-price offsets scanned for a sign change of equity - maintenance (each side): fine near
#: the current price, coarser far away, out to a factor e^9 (about 8,100x) either way.
_SCAN = np.concatenate([np.linspace(0.0, 0.5, 51)[1:], np.linspace(0.5, 9.0, 86)[1:]])


def _brackets(table: TierTable, mm_factor: float | None) -> tuple[np.ndarray, np.ndarray]:
    if mm_factor is None:
        return np.asarray(table.mmr), np.asarray(table.maintenance_amount)
    assert table.imr is not None  # TierTable fills it in from max_leverage
    return np.asarray([mm_factor * r for r in table.imr]), np.zeros(table.n_brackets)


def isolated_liquidation_price(
    position: Position,
    wallet_balance: float,
    table: TierTable | None = None,
    *,
    mmr: float | None = None,
    maintenance_amount: float = 0.0,
    mm_factor: float | None = None,
) -> LiquidationPrice:
    r"""Liquidation (mark) price of one isolated perpetual or future, in closed form.

    Parameters
    ----------
    position : LinearPerp, LinearFuture, InversePerp or InverseFuture
    wallet_balance : float
        The isolated wallet: USD for linear contracts, coins for inverse ones.
    table : TierTable, optional
        The venue's tiers; the bracket consistent with the notional at the liquidation price is
        used. Either ``table`` or ``mmr`` (with ``maintenance_amount``) is required.
    mmr, maintenance_amount : float, optional
        A fixed bracket (``MMR_B`` and ``cum_B`` of the formula), as in a published example.
    mm_factor : float, optional
        MM = ``mm_factor`` × IMR × notional instead of the table's MMR (no maintenance amount).

    Returns
    -------
    LiquidationPrice
        ``method="closed_form"``; NaN with a reason when the formula gives a price <= 0
        (Binance shows "--": the wallet covers the position at any price).

    Notes
    -----
    Linear (USD-margined) contracts, with signed size :math:`q`, entry :math:`EP`:
    :math:`LP = (WB + cum - q\,EP) / (|q|\,MMR - q)` (module docstring, isolated case).
    Inverse (coin-margined) contracts with signed USD face :math:`F` (``contracts ×
    contract_size_usd``), coin wallet :math:`W`: equity in coin
    :math:`W + F(1/EP - 1/P)` equals :math:`(|F|\,MMR - cum)/P` at
    :math:`LP = (|F|\,MMR - cum + F)/(W + F/EP)` (the tier table is read in USD notional, which
    for an inverse contract does not move with the price). Dated futures are marked at the
    forward, so their liquidation price is a forward (mark) price.

    Raises
    ------
    ConfigError
        Another kind of position, or neither ``table`` nor ``mmr``.
    PositionError
        A negative or non-finite ``wallet_balance`` (a :class:`ConfigError`).
    """
    if isinstance(wallet_balance, bool):
        raise PositionError(f"wallet_balance must be a number (got {wallet_balance!r}).")
    try:
        wb = float(wallet_balance)
    except (TypeError, ValueError) as exc:
        raise PositionError(f"wallet_balance must be a number (got {wallet_balance!r}).") from exc
    if not math.isfinite(wb):
        raise PositionError(f"wallet_balance must be finite (got {wallet_balance!r}).")
    if wb < 0:
        raise PositionError(
            f"wallet_balance must be >= 0 (got {wb:g}): an isolated wallet holds the margin "
            "posted for the position (USD for linear contracts, coins for inverse ones). Pass "
            "the margin posted, e.g. notional / leverage."
        )
    if table is None and mmr is None:
        raise ConfigError(
            "isolated_liquidation_price needs the venue's tiers (table=) or a fixed bracket "
            "(mmr= and maintenance_amount=)."
        )
    if mmr is not None:
        mmr = check_fraction(mmr, "mmr", fix="0.004 is Binance BTCUSDT's first bracket.")
        if mmr >= 1.0:
            raise ConfigError(
                f"mmr must be below 1 (got {mmr!r}): at 100% maintenance a long is liquidated "
                "at every price. Binance's largest bracket is 0.50."
            )
        maintenance_amount = check_nonnegative(
            maintenance_amount, "maintenance_amount", "the bracket's cumulative amount in USD."
        )
    if isinstance(position, InversePerp):  # includes InverseFuture
        face = position.face_usd
        ep = position.entry_price
        if face == 0:
            return LiquidationPrice(
                asset=position.asset,
                price=math.nan,
                current_price=math.nan,
                direction="none",
                method="closed_form",
                reason="the position is empty",
            )
        if mmr is not None:
            m, c = float(mmr), float(maintenance_amount)
        else:
            assert table is not None
            mm_rates, cums = _brackets(table, mm_factor)
            b = int(table.bracket(abs(face), strict=False))
            m, c = float(mm_rates[b]), float(cums[b])
        den = wb + face / ep
        lp = (abs(face) * m - c + face) / den if den != 0 else math.nan
        return _closed(
            position, lp, f"inverse isolated formula, MMR {m:g}, maintenance amount {c:g}"
        )
    if not isinstance(position, LinearPerp):  # LinearFuture is a LinearPerp
        raise ConfigError(
            f"{position_label(position)}: the closed form covers perpetuals and futures; use "
            "liquidation_price(account, asset, CrossMargin(...)) for spot and options."
        )
    q, ep = position.quantity, position.entry_price
    if q == 0:
        return LiquidationPrice(
            asset=position.asset,
            price=math.nan,
            current_price=math.nan,
            direction="none",
            method="closed_form",
            reason="the position is empty",
        )
    side = 1.0 if q > 0 else -1.0
    size = abs(q)

    def formula(m: float, c: float) -> float:
        return (wb + c - side * size * ep) / (size * m - side * size)

    if mmr is not None:
        lp = formula(float(mmr), float(maintenance_amount))
        return _closed(
            position,
            lp,
            f"Binance isolated formula, MMR {float(mmr):g}, cum {maintenance_amount:g}",
        )
    assert table is not None
    mm_rates, cums = _brackets(table, mm_factor)
    lower, upper = np.asarray(table.lower_bounds), np.asarray(table.upper_bounds)
    chosen = None
    for b in range(table.n_brackets):
        lp = formula(float(mm_rates[b]), float(cums[b]))
        n = size * lp
        if lp > 0 and lower[b] <= n <= upper[b] * (1 + 1e-12):
            chosen = (b, lp)
            break
    if chosen is None:  # no consistent bracket (MM not continuous, or LP <= 0): current bracket
        b = int(table.bracket(abs(position.quantity * ep), strict=False))
        lp = formula(float(mm_rates[b]), float(cums[b]))
        return _closed(position, lp, f"Binance isolated formula in the entry bracket {b + 1}")
    b, lp = chosen
    return _closed(
        position,
        lp,
        f"Binance isolated formula, bracket {b + 1} (MMR {mm_rates[b]:g}, cum {cums[b]:,.2f}) holds "
        f"the notional at the liquidation price",
    )


def _closed(position: Position, lp: float, how: str) -> LiquidationPrice:
    if not math.isfinite(lp) or lp <= 0:
        return LiquidationPrice(
            asset=position.asset,
            price=math.nan,
            current_price=math.nan,
            direction="none",
            method="closed_form",
            reason=f"{how} gives {lp:,.2f} <= 0: the wallet covers the position at every price",
        )
    long = _is_long(position)
    return LiquidationPrice(
        asset=position.asset,
        price=float(lp),
        current_price=math.nan,
        direction="down" if long else "up",
        method="closed_form",
        reason=how,
    )


def _is_long(position: Position) -> bool:
    size = getattr(position, "quantity", None)
    if size is None:
        size = position.contracts  # type: ignore[attr-defined]
    return size > 0


def _solver_model(model: Any) -> Any:
    """The model with tier tables extended past their last bracket (a scan goes far)."""
    if isinstance(model, _PerPositionModel) and model.strict:
        return dataclasses.replace(model, strict=False)
    return model


def liquidation_price(
    account: Account,
    asset: str,
    model: MarginModel,
    *,
    wallet_balance: float | None = None,
    xtol: float = 1e-9,
) -> LiquidationPrice:
    r"""Price of ``asset`` at which the account (or its isolated position) meets maintenance.

    Parameters
    ----------
    account : Account
    asset : str
        The asset whose price moves (every other price is held).
    model : margin model
        :class:`~riskmodels.margin.IsolatedMargin`: the account must hold exactly one position
        in ``asset``, solved in closed form (:func:`isolated_liquidation_price`) with its
        isolated wallet ``wallet_balance`` (default: its initial margin under the model).
        Any other model (cross, portfolio, risk matrix): solve
        :math:`E(P) - \text{MM}(P) = 0` for :math:`P`, where :math:`E` is the haircut-adjusted
        equity and MM the model's maintenance margin of the account re-marked at :math:`P`.
    wallet_balance : float, optional
        Isolated wallet (USD for linear contracts, coins for inverse ones).
    xtol : float, default 1e-9
        Relative tolerance of the root (times the current price).

    Returns
    -------
    LiquidationPrice
        The root nearest to the current price (``other``: one on the other side, if any);
        NaN with ``direction="none"`` and a reason when equity stays above maintenance over
        the whole scan (prices from 1/8,100 to 8,100 times the current one);
        ``direction="now"`` at the current price when it is already at or below maintenance.

    Raises
    ------
    ConfigError
        ``asset`` not held, or several positions in it under isolated margin.

    Notes
    -----
    The scan evaluates :math:`E - \text{MM}` on a grid of log-price offsets outward from the
    current price and hands the first bracket with a sign change on each side to
    :func:`scipy.optimize.brentq`. Tier tables are extended past their last bracket during the
    scan. The liquidation price of a cross account is the price of one asset with the others
    held, as in Binance's cross-mode formula (``TMM_1``, ``UPNL_1`` of the other contracts at
    their current marks).
    """
    account = check_account(account)
    if asset not in account_assets(account):
        raise ConfigError(
            f"asset {asset!r} is not held by the account (it holds {account_assets(account)})."
        )
    current = account.prices.price(asset)
    if isinstance(model, IsolatedMargin):
        pos = [p for p in account.positions if p.asset == asset]
        if len(pos) != 1:
            raise ConfigError(
                f"isolated margin gives each position its own liquidation price: the account holds "
                f"{len(pos)} positions in {asset!r}; call isolated_liquidation_price(position, "
                "wallet_balance, table) for each."
            )
        p = pos[0]
        if isinstance(p, Spot | Option):
            raise ConfigError(
                f"{position_label(p)} has no isolated liquidation price (spot and options are "
                "not isolated-margined here); use a cross model."
            )
        if wallet_balance is None:
            req = model.position_requirements(account)
            wallet_balance = float(req["initial"].iloc[0])
            if isinstance(p, InversePerp):
                wallet_balance /= current
        out = isolated_liquidation_price(
            p, wallet_balance, model.table(asset), mm_factor=model.mm_factor
        )
        return dataclasses.replace(out, current_price=current)

    solver = _solver_model(model)

    def gap(price: float) -> float:
        acc = remark(account, {asset: price})
        return acc.equity - solver.margin(acc).maintenance

    return _solve(gap, asset, current, xtol)


def _solve(f: Callable[[float], float], asset: str, p0: float, xtol: float) -> LiquidationPrice:
    f0 = f(p0)
    if f0 <= 0:
        return LiquidationPrice(
            asset=asset,
            price=p0,
            current_price=p0,
            direction="now",
            method="brentq",
            reason=f"equity is already at or below maintenance (gap {f0:,.2f} USD)",
        )
    roots: dict[str, float] = {}
    for direction, sign in (("down", -1.0), ("up", 1.0)):
        prev_u = 0.0
        for u in _SCAN:
            fu = f(p0 * math.exp(sign * u))
            if fu <= 0:
                lo, hi = sorted((p0 * math.exp(sign * prev_u), p0 * math.exp(sign * u)))
                roots[direction] = brentq(f, lo, hi, xtol=xtol * p0, rtol=4 * np.finfo(float).eps)
                break
            prev_u = u
    if not roots:
        lo, hi = p0 * math.exp(-_SCAN[-1]), p0 * math.exp(_SCAN[-1])
        return LiquidationPrice(
            asset=asset,
            price=math.nan,
            current_price=p0,
            direction="none",
            method="brentq",
            reason=(
                f"equity stays above maintenance for every {asset} price from {lo:,.6g} to "
                f"{hi:,.6g} (the other prices held): no liquidation price"
            ),
        )
    near = min(roots, key=lambda d: abs(math.log(roots[d] / p0)))
    other = roots.get("up" if near == "down" else "down", math.nan)
    return LiquidationPrice(
        asset=asset,
        price=float(roots[near]),
        current_price=p0,
        direction=near,
        other=float(other),
        method="brentq",
        reason=f"brentq on equity - maintenance, {asset} moved alone",
    )


# -- replay -------------------------------------------------------------------------------------
def _check_prices(prices: Any, account: Account) -> pd.DataFrame:
    if not isinstance(prices, pd.DataFrame) or prices.empty:
        raise ConfigError(
            "prices must be a non-empty DataFrame of prices (rows: times, columns: assets)."
        )
    held = set(account_assets(account))
    cols = [c for c in prices.columns if c in held]
    if not cols:
        raise ConfigError(
            f"prices has none of the account's assets {sorted(held)} (columns {list(prices.columns)})."
        )
    frame = prices[cols].astype("float64")
    bad = ~np.isfinite(frame.to_numpy()) | (frame.to_numpy() <= 0)
    if bad.any():
        r, c = np.argwhere(bad)[0]
        raise DataError(
            f"prices must be positive and finite; found {int(bad.sum())} bad values, the first "
            f"{frame.iat[r, c]!r} for {frame.columns[c]} at {frame.index[r]}. Fill or drop them."
        )
    return frame


def _notional_growth(p: Position, growth: pd.DataFrame) -> np.ndarray:
    """Factor by which ``|notional|`` moves with prices: price ratio, or 1 for inverse contracts."""
    if isinstance(p, InversePerp) or p.asset not in growth:
        return np.ones(len(growth))
    return growth[p.asset].to_numpy()


def monitor(
    account: Account,
    prices: pd.DataFrame,
    model: MarginModel,
    *,
    wallet_balances: Mapping[str, float] | None = None,
) -> MonitorResult:
    r"""Replay equity, maintenance margin and margin ratio over a price history.

    Parameters
    ----------
    account : Account
        Positions held fixed through the replay (no liquidation is executed).
    prices : DataFrame
        Prices per time (rows) and asset (columns); assets it lacks stay at the account's
        prices. Rows are processed in the given order.
    model : margin model
    wallet_balances : mapping of position label to float, optional
        Isolated margin only: each position's wallet (default: its initial margin now).

    Returns
    -------
    MonitorResult
        ``frame`` with the prices, ``equity``, ``maintenance``, ``margin_ratio`` (equity / MM,
        inf when nothing is required) and ``liquidatable``; the first liquidation time and
        the prices then. Isolated margin: equity and maintenance are summed over positions,
        each position's wallet + unrealized P&L is compared with its own MM, ``margin_ratio``
        is the smallest position ratio, and ``positions_liquidated`` names the first positions
        hit.

    Notes
    -----
    Vectorized (one scenario matrix over all times) for per-position models on accounts
    without options or add-ons; otherwise the account is re-marked at each time (options at
    the row's time as valuation time when the account has one) and the model evaluated.
    An account is liquidatable when equity <= MM with MM > 0, or equity < 0.
    """
    account = check_account(account)
    frame = _check_prices(prices, account)
    p0 = pd.Series({a: account.prices.price(a) for a in frame.columns})
    growth = frame / p0
    assets = account_assets(account)
    logr = {a: np.log(growth[a].to_numpy()) for a in frame.columns}
    has_options = any(isinstance(p, Option) for p in account.positions)
    fast = isinstance(model, _PerPositionModel) and not has_options and not model.addons
    times = list(frame.index)
    use_time = account.prices.valuation_time is not None and isinstance(
        frame.index, pd.DatetimeIndex
    )

    def market_at(i: int) -> Account:
        t = times[i]
        vt = None
        if use_time:
            vt = pd.Timestamp(t)
            vt = vt.tz_localize("UTC") if vt.tzinfo is None else vt.tz_convert("UTC")
        return remark(account, frame.iloc[i].to_dict(), valuation_time=vt)

    out = frame.copy()
    hit_positions: list[list[str]] = []
    if isinstance(model, IsolatedMargin):
        req = model.position_requirements(account)
        labels = list(req["item"])
        wallets = np.array(
            [
                float((wallet_balances or {}).get(lab, req["initial"].iloc[k]))
                for k, lab in enumerate(labels)
            ]
        )
        for k, w in enumerate(wallets):
            check_nonnegative(w, f"wallet_balances[{labels[k]!r}]")
        if fast:
            sc = zero_scenarios(assets, logr, len(frame))
            value = np.column_stack(
                [p.scenario_values_usd(account.prices, sc) for p in account.positions]
            )
            mm = np.zeros_like(value)
            for k, p in enumerate(account.positions):
                if req["maintenance"].iloc[k] == 0 and req["initial"].iloc[k] == 0:
                    continue
                n = abs(req["notional"].iloc[k]) * _notional_growth(p, growth)
                t = model.table(p.asset)
                if model.mm_factor is None:
                    mm[:, k] = t.maintenance(n, strict=False)
                else:
                    mm[:, k] = model.mm_factor * n * t.initial_rate(n, strict=False)
        else:
            value = np.zeros((len(frame), len(labels)))
            mm = np.zeros_like(value)
            solver = _solver_model(model)
            for i in range(len(frame)):
                acc = market_at(i)
                value[i] = acc.position_values
                mm[i] = solver.position_requirements(acc)["maintenance"].to_numpy()
        active = (req["initial"].to_numpy() > 0) | (req["maintenance"].to_numpy() > 0)
        eq = wallets[None, :] + value
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(mm > 0, eq / mm, np.inf)
        hit = active[None, :] & (((eq <= mm) & (mm > 0)) | (eq < 0))
        out["equity"] = (eq * active).sum(axis=1)
        out["maintenance"] = (mm * active).sum(axis=1)
        out["margin_ratio"] = np.where(
            active.any(), np.min(np.where(active, ratio, np.inf), axis=1), np.inf
        )
        out["liquidatable"] = hit.any(axis=1)
        hit_positions = [[labels[k] for k in np.flatnonzero(row)] for row in hit]
    else:
        if fast:
            assert isinstance(model, _PerPositionModel)  # fast says so
            sc = zero_scenarios(assets, logr, len(frame))
            equity = account.equity_under(sc)
            req = model.position_requirements(account)
            mm = np.zeros(len(frame))
            for k, p in enumerate(account.positions):
                if req["maintenance"].iloc[k] == 0 and req["initial"].iloc[k] == 0:
                    continue
                n = abs(req["notional"].iloc[k]) * _notional_growth(p, growth)
                t = model.table(p.asset)
                if model.mm_factor is None:
                    mm += t.maintenance(n, strict=False)
                else:
                    mm += model.mm_factor * n * t.initial_rate(n, strict=False)
        else:
            solver = _solver_model(model)
            equity = np.empty(len(frame))
            mm = np.empty(len(frame))
            for i in range(len(frame)):
                acc = market_at(i)
                equity[i] = acc.equity
                mm[i] = solver.margin(acc).maintenance
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(mm > 0, equity / mm, np.where(equity >= 0, np.inf, -np.inf))
        out["equity"] = equity
        out["maintenance"] = mm
        out["margin_ratio"] = ratio
        out["liquidatable"] = ((equity <= mm) & (mm > 0)) | (equity < 0)
    first = np.flatnonzero(out["liquidatable"].to_numpy())
    if first.size:
        i = int(first[0])
        when = times[i]
        at = frame.iloc[i].copy()
        liq_pos = tuple(hit_positions[i]) if hit_positions else ()
    else:
        when, at, liq_pos = None, None, ()
    return MonitorResult(
        frame=out,
        liquidation_time=when,
        liquidation_prices=at,
        model=getattr(model, "name", type(model).__name__),
        positions_liquidated=liq_pos,
    )
