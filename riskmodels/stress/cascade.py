r"""Liquidation cascades: price impact, insurance fund, auto-deleveraging, circuit breakers.

Model
-----
A population of cross-margined accounts (:class:`~riskmodels.stress.AccountPopulation`:
linear perpetuals in N assets on shared collateral, flat or tiered maintenance margin) is
marked at a price vector. A shock moves the *fundamental* price to
:math:`F = P_0 e^{r}`. The mark price is the fundamental moved by the liquidation flow:

.. math::

    P = F\,\bigl(1 + m(Q^\text{eff})\bigr), \qquad
    m_\text{sqrt}(Q) = \operatorname{sign}(Q)\,Y\sigma\sqrt{|Q|/V}, \qquad
    m_\text{depth}(Q) = \operatorname{sign}(Q)\,d^{-1}(|Q|),

where :math:`Q^\text{eff}` is the cumulative net liquidation flow (USD, buys positive, counted
at the pre-shock prices :math:`P_0`), :math:`\sigma` the daily volatility, :math:`V` the daily
volume (USD) and :math:`Y` the square-root-law prefactor (Tóth et al. 2011, Phys. Rev. X 1,
021006; the same law as :class:`riskmodels.margin.LiquidityAddOn`), or :math:`d` a cumulative
depth curve (USD available within a relative move). A move :math:`m \le -1` would make a price
non-positive: :class:`~riskmodels.exceptions.ModelError` naming the impact parameter.

Rounds (the discrete-time semantics)
------------------------------------
Round :math:`k`: mark every live account at :math:`P`; those with :math:`E_i \le
\text{MM}_i` are liquidated. They are closed into the market **one after another, most
under-margined first** (ascending :math:`(E_i - \text{MM}_i)/G_i`, :math:`G_i` the gross
notional; for one asset and a common flat MMR this is descending liquidation price), each at
the price after its own flow, :math:`P^\text{exec}_i = F(1 + m(Q^\text{eff} + \sum_{l \le i}
Q_l))`. The next round marks at the new price. The cascade stops at a fixed point (a round
with nothing to liquidate) or after ``max_rounds`` (``converged=False``). With all flows in one
direction the price is then a function of the set of liquidated accounts only, so the fixed
point does not depend on how accounts are grouped into rounds.

Bankruptcy and loss waterfall
-----------------------------
An account whose equity at its execution price is negative leaves bad debt
:math:`b_i = \max(-E_i(P^\text{exec}_i), 0)`; a liquidation fee
:math:`\min(\phi N_i, \max(E_i, 0))` goes to the insurance fund. Each round the fund pays the
round's bad debt while it can; the rest is **auto-deleveraged** against profitable positions on
the opposite side of the bankrupt positions (each bankrupt account's uncovered debt split over
its positions by notional): ``adl="ranking"`` takes the whole unrealized profit of
counterparties in descending order of profit × leverage (score :math:`\frac{\pi_k}{|q_k|
e_k}\cdot\frac{|q_k|P}{E_k}`: return on the position × effective leverage; Binance ranks by
PnL percentage × leverage, VENUES.md §1.2; Hyperliquid by unrealized PnL and leverage, §1.6;
dYdX deleverages high-profit, high-leverage accounts once the fund is empty, §1.5);
``adl="pro_rata"`` takes the same fraction of every counterparty's profit; ``adl=None`` skips
the step. A deleveraged slice of a position is closed at its entry price off-market (so exactly
its unrealized profit is taken, and it adds no market flow). Debt that ADL cannot cover is the
**remaining bad debt** (socialized loss). Conservation, checked by
:meth:`CascadeResult.check_conservation`:

.. math::

    \sum_i b_i = \text{insurance draw} + \text{ADL} + \text{remaining bad debt},
    \qquad \text{fund}_\text{end} = \text{fund}_0 + \text{fees} - \text{draw}.

One pooled fund is modelled; Binance keeps one per symbol (VENUES.md §1.2): run one cascade
per asset for that.

Circuit breaker
---------------
Rounds are grouped into windows of ``window`` rounds. A window starts at the current mark
(the first one at the pre-shock price :math:`P_0`, so a shock larger than the band pauses the
first window). Liquidations run in trigger order while the execution price stays within
:math:`|P/P_\text{window start} - 1| \le x` (every asset); the first execution that would leave
the band, and everything after it, is not executed and liquidations pause for the rest of the
window (the first execution of a window is always allowed, so the cascade progresses). When a
paused window ends, a fraction ``recovery`` of the accumulated liquidation impact reverts (the
book refills during the pause): :math:`Q^\text{eff} \leftarrow (1 - \text{recovery})Q^\text{eff}`.
With ``recovery = 0`` a breaker only delays liquidations (same fixed point, same bad debt).
With one-directional flow and a common flat MMR, a breaker with any ``recovery`` in [0, 1]
never increases bad debt: liquidations still happen in descending liquidation price, the
breaker only removes accounts or lowers the effective flow before each execution, so each
liquidated account executes at a price at least as good as without the breaker.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from riskmodels.exceptions import ConfigError, ModelError
from riskmodels.stress.population import AccountPopulation, equity, maintenance

__all__ = [
    "ADL_MODES",
    "CascadeResult",
    "CircuitBreaker",
    "DepthImpact",
    "SquareRootImpact",
    "simulate_cascade",
    "simulate_cascade_loop",
    "simulate_path",
]

#: Decimals the liquidation-order key is rounded to (see ``_run_step``).
_KEY_DECIMALS = 12

#: Auto-deleveraging modes (None switches ADL off).
ADL_MODES: tuple[str, ...] = ("ranking", "pro_rata")


def _per_asset(value: Any, assets: Sequence[str], name: str) -> np.ndarray:
    if isinstance(value, Mapping):
        missing = [a for a in assets if a not in value]
        if missing:
            raise ConfigError(f"{name} has no entry for assets {missing}; give one per asset.")
        arr = np.array([float(value[a]) for a in assets])
    elif np.ndim(value) == 0:
        arr = np.full(len(assets), float(value))
    else:
        arr = np.asarray(value, dtype="float64").reshape(-1)
        if arr.shape != (len(assets),):
            raise ConfigError(f"{name} must have one entry per asset ({len(assets)}).")
    if not (np.isfinite(arr).all() and (arr > 0).all()):
        raise ConfigError(f"{name} must be positive and finite (got {arr.tolist()!r}).")
    return arr


@dataclass(frozen=True)
class SquareRootImpact:
    r"""Square-root impact :math:`\Delta P/P = \operatorname{sign}(Q)\,Y\sigma\sqrt{|Q|/V}`.

    Parameters
    ----------
    sigma : float, sequence or mapping asset -> float
        Daily volatility (decimal).
    daily_volume : float, sequence or mapping asset -> float
        Daily traded volume, USD.
    coefficient : float, default 1.0
        :math:`Y`, "of order one" (Tóth et al. 2011).

    Notes
    -----
    :math:`Q` is the cumulative net liquidation flow of the cascade (USD at pre-shock prices),
    so the impact is permanent within the cascade (until a circuit-breaker pause lets part of
    it revert).
    """

    sigma: Any
    daily_volume: Any
    coefficient: float = 1.0

    def __post_init__(self) -> None:
        y = float(self.coefficient)
        if not (math.isfinite(y) and y >= 0):
            raise ConfigError(f"coefficient must be finite and >= 0 (got {self.coefficient!r}).")

    def bind(self, assets: Sequence[str]) -> Callable[[np.ndarray], np.ndarray]:
        """The relative move function ``m(Q)`` for arrays of shape (..., N)."""
        k = float(self.coefficient) * _per_asset(self.sigma, assets, "sigma")
        v = _per_asset(self.daily_volume, assets, "daily_volume")

        def move(q: np.ndarray) -> np.ndarray:
            return np.sign(q) * k * np.sqrt(np.abs(q) / v)

        move.parameter = (  # type: ignore[attr-defined]
            "SquareRootImpact(coefficient, sigma, daily_volume): Y*sigma*sqrt(|Q|/V) reached 1; "
            "lower coefficient or sigma, or raise daily_volume"
        )
        return move


@dataclass(frozen=True)
class DepthImpact:
    r"""Impact read off a cumulative order-book depth curve (one side, shared by all assets).

    Parameters
    ----------
    moves : sequence of float
        Relative price moves, increasing from > 0 (0.01 = 1%).
    depth_usd : sequence of float
        Cumulative USD depth available within each move, increasing. Beyond the last point the
        curve is extended linearly with its last slope.

    Notes
    -----
    :math:`m(Q) = \operatorname{sign}(Q)\,d^{-1}(|Q|)` with :math:`d^{-1}` the piecewise-linear
    inverse of the curve through (0, 0).
    """

    moves: Sequence[float]
    depth_usd: Sequence[float]

    def __post_init__(self) -> None:
        m = np.asarray(self.moves, dtype="float64")
        d = np.asarray(self.depth_usd, dtype="float64")
        if m.ndim != 1 or m.shape != d.shape or m.size == 0:
            raise ConfigError(
                f"moves and depth_usd must be 1-D of the same length (got {m.shape}, {d.shape})."
            )
        if not (np.isfinite(m).all() and np.isfinite(d).all()):
            raise ConfigError("moves and depth_usd must be finite.")
        if (m <= 0).any() or (np.diff(m) <= 0).any() or (d <= 0).any() or (np.diff(d) <= 0).any():
            raise ConfigError(
                "moves and depth_usd must be positive and strictly increasing (a cumulative "
                f"depth curve); got moves={m.tolist()}, depth_usd={d.tolist()}."
            )
        object.__setattr__(self, "moves", tuple(m.tolist()))
        object.__setattr__(self, "depth_usd", tuple(d.tolist()))

    def bind(self, assets: Sequence[str]) -> Callable[[np.ndarray], np.ndarray]:
        """The relative move function ``m(Q)`` for arrays of shape (..., N)."""
        m = np.concatenate([[0.0], self.moves])
        d = np.concatenate([[0.0], self.depth_usd])
        slope = (m[-1] - m[-2]) / (d[-1] - d[-2])

        def move(q: np.ndarray) -> np.ndarray:
            a = np.abs(q)
            inside = np.interp(a, d, m)
            out = np.where(a > d[-1], m[-1] + slope * (a - d[-1]), inside)
            return np.sign(q) * out

        move.parameter = (  # type: ignore[attr-defined]
            "DepthImpact(depth_usd, moves): the flow exhausts the depth curve (a move of -100% "
            "or more); give a deeper depth_usd curve"
        )
        return move


@dataclass(frozen=True)
class CircuitBreaker:
    """Pause liquidations for the rest of a window when the price leaves a band.

    Parameters
    ----------
    threshold : float
        Band half-width :math:`x` as a relative move (0.1 = ±10% from the window's start).
    window : int
        Window length in cascade rounds (>= 1).
    recovery : float in [0, 1], default 1.0
        Fraction of the accumulated liquidation impact that reverts during a paused window.

    See the module docstring for the semantics.
    """

    threshold: float
    window: int = 1
    recovery: float = 1.0

    def __post_init__(self) -> None:
        if not (math.isfinite(self.threshold) and self.threshold > 0):
            raise ConfigError(
                f"threshold must be a positive relative move (got {self.threshold!r}); 0.1 is ±10%."
            )
        if int(self.window) != self.window or self.window < 1:
            raise ConfigError(
                f"window must be a whole number of rounds >= 1 (got {self.window!r})."
            )
        if not (0.0 <= self.recovery <= 1.0):
            raise ConfigError(f"recovery must be in [0, 1] (got {self.recovery!r}).")


@dataclass(frozen=True, eq=False)
class CascadeResult:
    """The path and the losses of a liquidation cascade.

    Attributes
    ----------
    path : DataFrame
        One row per round (``step``, ``round``, ``window``, ``paused``, ``n_liquidated``,
        ``liquidated_notional``, ``bad_debt``, ``fees``, ``insurance_draw``,
        ``insurance_fund``, ``adl``, ``remaining_bad_debt``, then ``price_<asset>``); the first
        row of each step (``round == -1``) is the marked price before any liquidation.
    assets : tuple of str
    initial_prices, final_prices : ndarray of shape (N,)
    liquidated : ndarray of bool, shape (A,)
    liquidation_round : ndarray of int, shape (A,)
        Global round at which each account was liquidated (-1: never).
    bad_debt, adl, fees, liquidated_notional : ndarray of shape (A,)
        Per account: bad debt left, profit taken by ADL, fee paid, notional liquidated.
    by_asset : DataFrame
        Per asset: liquidated notional, bad debt (split by notional), ADL.
    insurance_fund_initial, insurance_fund_final : float
    converged : bool
        Every step reached a fixed point within ``max_rounds``.
    params : dict
    """

    path: pd.DataFrame
    assets: tuple[str, ...]
    initial_prices: np.ndarray
    final_prices: np.ndarray
    liquidated: np.ndarray
    liquidation_round: np.ndarray
    bad_debt: np.ndarray
    adl: np.ndarray
    fees: np.ndarray
    liquidated_notional: np.ndarray
    by_asset: pd.DataFrame
    insurance_fund_initial: float
    insurance_fund_final: float
    converged: bool
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def n_liquidated(self) -> int:
        """Number of liquidated accounts."""
        return int(self.liquidated.sum())

    @property
    def total_liquidated_notional(self) -> float:
        """USD notional closed by liquidations."""
        return float(self.liquidated_notional.sum())

    @property
    def total_bad_debt(self) -> float:
        """Losses of liquidated accounts beyond their collateral, USD."""
        return float(self.bad_debt.sum())

    @property
    def insurance_draw(self) -> float:
        """What the insurance fund paid, USD."""
        return float(self.path["insurance_draw"].sum())

    @property
    def total_adl(self) -> float:
        """Profit taken from counterparties by auto-deleveraging, USD."""
        return float(self.adl.sum())

    @property
    def remaining_bad_debt(self) -> float:
        """Bad debt neither the fund nor ADL covered (socialized loss), USD."""
        return float(self.path["remaining_bad_debt"].sum())

    def conservation(self) -> dict[str, float]:
        """The terms of the loss waterfall and the two identities' residuals."""
        losses = self.total_bad_debt
        borne = self.insurance_draw + self.total_adl + self.remaining_bad_debt
        fund = self.insurance_fund_initial + float(self.fees.sum()) - self.insurance_draw
        return {
            "losses_beyond_collateral": losses,
            "insurance_draw": self.insurance_draw,
            "adl": self.total_adl,
            "remaining_bad_debt": self.remaining_bad_debt,
            "residual": losses - borne,
            "fees": float(self.fees.sum()),
            "fund_residual": self.insurance_fund_final - fund,
        }

    def check_conservation(self, rtol: float = 1e-9) -> None:
        """Raise :class:`ModelError` unless every loss is borne by someone (to ``rtol``).

        Raises
        ------
        ModelError
            If losses beyond collateral differ from draw + ADL + remaining, or the fund's
            ledger does not close, by more than ``rtol`` relative.
        """
        c = self.conservation()
        scale = max(c["losses_beyond_collateral"], 1.0)
        fscale = max(self.insurance_fund_initial + c["fees"], 1.0)
        if abs(c["residual"]) > rtol * scale or abs(c["fund_residual"]) > rtol * fscale:
            raise ModelError(
                f"cascade losses are not conserved: losses {c['losses_beyond_collateral']:,.6f} "
                f"vs draw + ADL + remaining = "
                f"{c['insurance_draw'] + c['adl'] + c['remaining_bad_debt']:,.6f}; fund ledger "
                f"residual {c['fund_residual']:.3g}. This is a bug: please report it."
            )

    def summary(self) -> pd.Series:
        """Headline numbers as a Series."""
        out = {
            "accounts liquidated": float(self.n_liquidated),
            "liquidated notional": self.total_liquidated_notional,
            "bad debt": self.total_bad_debt,
            "insurance draw": self.insurance_draw,
            "ADL": self.total_adl,
            "remaining bad debt": self.remaining_bad_debt,
            "insurance fund end": self.insurance_fund_final,
            "rounds": float((self.path["round"] >= 0).sum()),
        }
        for j, a in enumerate(self.assets):
            out[f"price move {a}"] = float(self.final_prices[j] / self.initial_prices[j] - 1.0)
        return pd.Series(out, name="cascade")

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><th style='text-align:left'>{html.escape(str(k))}</th><td>{v:,.4g}</td></tr>"
            for k, v in self.summary().items()
        )
        flag = "" if self.converged else "<p><b>not converged within max_rounds</b></p>"
        return f"<table>{rows}</table>{flag}" + self.by_asset.to_html(float_format="{:,.2f}".format)


# ---------------------------------------------------------------------------------------------
# the engine
# ---------------------------------------------------------------------------------------------


def _check_adl(adl: Any) -> str | None:
    if adl is None or adl in ADL_MODES:
        return adl
    raise ConfigError(
        f"adl must be one of {ADL_MODES} or None (got {adl!r}): 'ranking' ranks profitable "
        "opposite positions by profit x leverage (Binance), 'pro_rata' shares pro rata."
    )


class _State:
    """Mutable arrays of one cascade run (the population is never modified)."""

    def __init__(self, pop: AccountPopulation, fund: float) -> None:
        self.assets = pop.assets
        self.q = pop.quantity.copy()
        self.entry = pop.entry_price
        self.cash = pop.collateral
        self.coin = pop.coin_collateral
        self.mmr = pop.mmr
        a, n = self.q.shape
        self.alive = np.any(self.q != 0.0, axis=1)
        self.liq_round = np.full(a, -1, dtype=np.int64)
        self.bad_debt = np.zeros(a)
        self.adl = np.zeros(a)
        self.fees = np.zeros(a)
        self.notional = np.zeros(a)
        self.asset_notional = np.zeros(n)
        self.asset_bad_debt = np.zeros(n)
        self.asset_adl = np.zeros(n)
        self.fund = float(fund)
        self.round = 0
        self.rows: list[dict[str, Any]] = []
        self.converged = True


def _prices(fund_p: np.ndarray, move: Callable, q_eff: np.ndarray) -> np.ndarray:
    m = move(q_eff)
    if (m <= -1.0).any():
        raise ModelError(
            f"price impact makes prices non-positive (relative move {float(np.min(m)):.3f} at "
            f"cumulative flow {np.asarray(q_eff).min():,.0f} USD): {move.parameter}."
        )
    return fund_p * (1.0 + m)


def _adl_step(st: _State, j: int, side: float, debt: float, p: np.ndarray, mode: str) -> float:
    """Deleverage ``debt`` USD of asset ``j`` bankrupt ``side`` against opposite profits."""
    qj = st.q[:, j]
    profit = qj * (p[j] - st.entry[:, j])
    cand = np.flatnonzero(st.alive & (np.sign(qj) == -side) & (profit > 0.0))
    if cand.size == 0:
        return 0.0
    pi = profit[cand]
    if mode == "pro_rata":
        take = pi * min(1.0, debt / pi.sum())
    else:
        e = equity(st.cash[cand], st.coin[cand], st.q[cand], st.entry[cand], p)
        ret = pi / (np.abs(qj[cand]) * st.entry[cand, j])
        lev = np.abs(qj[cand]) * p[j] / np.maximum(e, 1e-300)
        order = np.argsort(-(ret * lev), kind="stable")
        pi_o = pi[order]
        before = np.cumsum(pi_o) - pi_o
        take = np.empty_like(pi)
        take[order] = np.clip(debt - before, 0.0, pi_o)
    frac = take / pi
    st.q[cand, j] *= 1.0 - frac
    st.adl[cand] += take
    flat = cand[~np.any(st.q[cand] != 0.0, axis=1)]
    st.alive[flat] = False  # fully deleveraged: nothing left to liquidate
    total = float(take.sum())
    st.asset_adl[j] += total
    return total


def _row(st: _State, step: Any, rnd: int, window: int, paused: bool, p: np.ndarray, **kw: float):
    row = {
        "step": step,
        "round": rnd,
        "window": window,
        "paused": paused,
        "n_liquidated": 0,
        "liquidated_notional": 0.0,
        "bad_debt": 0.0,
        "fees": 0.0,
        "insurance_draw": 0.0,
        "insurance_fund": st.fund,
        "adl": 0.0,
        "remaining_bad_debt": 0.0,
    }
    row.update(kw)
    for j, a in enumerate(st.assets):
        row[f"price_{a}"] = float(p[j])
    st.rows.append(row)


def _run_step(
    st: _State,
    step: Any,
    p_ref: np.ndarray,
    p_fund: np.ndarray,
    move: Callable | None,
    adl: str | None,
    breaker: CircuitBreaker | None,
    fee_rate: float,
    max_rounds: int,
) -> np.ndarray:
    """One shock: cascade from fundamental ``p_fund`` to a fixed point; returns the mark."""
    n = len(st.assets)
    q_eff = np.zeros(n)
    p = p_fund.copy() if move is None else _prices(p_fund, move, q_eff)
    _row(st, step, -1, 0, False, p)
    p_ws = p_ref.copy()
    paused = False
    in_window = 0
    r = 0
    while True:
        if r >= max_rounds:
            st.converged = False
            break
        win = r // breaker.window if breaker is not None else 0
        if breaker is not None and r > 0 and r % breaker.window == 0:
            if paused and move is not None:
                q_eff = q_eff * (1.0 - breaker.recovery)
                p = _prices(p_fund, move, q_eff)
            paused = False
            p_ws = p.copy()
            in_window = 0
        e = equity(st.cash, st.coin, st.q, st.entry, p)
        mm = maintenance(st.mmr, st.q, p)
        trig = st.alive & (e <= mm)
        if not trig.any():
            break
        if breaker is not None and (np.abs(p / p_ws - 1.0) > breaker.threshold).any():
            paused = True
        if paused:
            _row(st, step, st.round, win, True, p)
            st.round += 1
            r = (r // breaker.window + 1) * breaker.window  # type: ignore[union-attr]
            continue
        idx = np.flatnonzero(trig)
        gross = (np.abs(st.q[idx]) * p).sum(axis=1)
        # rounded so that floating-point near-ties (accounts with the same liquidation price)
        # keep index order whatever the price they are compared at
        key = np.round((e[idx] - mm[idx]) / gross, _KEY_DECIMALS)
        idx = idx[np.argsort(key, kind="stable")]
        qx = st.q[idx]
        cum = q_eff + np.cumsum(-qx * p_ref, axis=0)
        pe = np.broadcast_to(p_fund, cum.shape) if move is None else _prices(p_fund, move, cum)
        n_exec = idx.size
        if breaker is not None:
            breach = (np.abs(pe / p_ws - 1.0) > breaker.threshold).any(axis=1)
            if breach.any():
                b = int(np.argmax(breach))
                if b == 0 and in_window == 0:
                    b = 1
                n_exec = b
                paused = n_exec < idx.size
        ex, qx, pe = idx[:n_exec], qx[:n_exec], pe[:n_exec]
        e_exec = equity(st.cash[ex], st.coin[ex], qx, st.entry[ex], pe)
        notion_a = np.abs(qx) * pe
        notion = notion_a.sum(axis=1)
        fee = np.minimum(fee_rate * notion, np.maximum(e_exec, 0.0))
        bd = np.maximum(-e_exec, 0.0)
        st.liq_round[ex] = st.round
        st.bad_debt[ex] = bd
        st.fees[ex] = fee
        st.notional[ex] = notion
        st.alive[ex] = False
        st.q[ex] = 0.0
        st.asset_notional += notion_a.sum(axis=0)
        share = notion_a / notion[:, None]
        st.asset_bad_debt += (share * bd[:, None]).sum(axis=0)
        if n_exec:
            q_eff = cum[n_exec - 1].copy()
            p = p_fund.copy() if move is None else _prices(p_fund, move, q_eff)
        fees = float(fee.sum())
        debt = float(bd.sum())
        st.fund += fees
        draw = min(st.fund, debt)
        st.fund -= draw
        uncovered = debt - draw
        taken = 0.0
        if uncovered > 0.0 and adl is not None:
            scale = uncovered / debt
            owed = share * bd[:, None] * scale  # (n_exec, N)
            for j in range(n):
                for side in (1.0, -1.0):
                    d = float(owed[np.sign(qx[:, j]) == side, j].sum())
                    if d > 0.0:
                        taken += _adl_step(st, j, side, d, p, adl)
        _row(
            st,
            step,
            st.round,
            win,
            paused,
            p,
            n_liquidated=int(n_exec),
            liquidated_notional=float(notion.sum()),
            bad_debt=debt,
            fees=fees,
            insurance_draw=draw,
            adl=taken,
            remaining_bad_debt=max(uncovered - taken, 0.0),
        )
        st.round += 1
        in_window += n_exec
        if paused:
            r = (r // breaker.window + 1) * breaker.window  # type: ignore[union-attr]
        else:
            r += 1
    return p


def _shock_vector(shock: Any, assets: tuple[str, ...]) -> np.ndarray:
    from riskmodels.scenarios.base import Scenarios

    if isinstance(shock, Scenarios):
        if shock.n_scenarios != 1:
            raise ConfigError(
                f"shock as Scenarios must hold one scenario (got {shock.n_scenarios}); pick a row."
            )
        missing = [a for a in assets if a not in shock.assets]
        if missing:
            raise ConfigError(f"shock scenarios lack assets {missing} of the population.")
        r = np.array([shock.returns[0, shock.assets.index(a)] for a in assets])
    elif isinstance(shock, Mapping):
        extra = [a for a in shock if a not in assets]
        if extra:
            raise ConfigError(f"shock names assets {extra} not in the population {list(assets)}.")
        r = np.array([float(shock.get(a, 0.0)) for a in assets])
    elif np.ndim(shock) == 0:
        r = np.full(len(assets), float(shock))
    else:
        r = np.asarray(shock, dtype="float64").reshape(-1)
        if r.shape != (len(assets),):
            raise ConfigError(f"shock must have one log return per asset ({len(assets)}).")
    if not np.isfinite(r).all():
        raise ConfigError(f"shock must be finite log returns (got {r.tolist()!r}).")
    return r


def _setup(
    book: Any,
    impact: Any,
    insurance_fund: float,
    adl: Any,
    circuit_breaker: Any,
    liquidation_fee: float,
    max_rounds: int,
    mmr: Any,
) -> tuple[AccountPopulation, Callable | None, str | None]:
    from riskmodels.instruments.book import Book

    if isinstance(book, Book):
        pop = AccountPopulation.from_book(book, mmr=mmr)
    elif isinstance(book, AccountPopulation):
        pop = book
    else:
        raise ConfigError(
            f"book must be an AccountPopulation or a riskmodels.instruments.Book (got "
            f"{type(book).__name__})."
        )
    mode = _check_adl(adl)
    if impact is not None and not hasattr(impact, "bind"):
        raise ConfigError(f"impact must be SquareRootImpact, DepthImpact or None (got {impact!r}).")
    move = None if impact is None else impact.bind(pop.assets)
    if not (math.isfinite(insurance_fund) and insurance_fund >= 0):
        raise ConfigError(f"insurance_fund must be a USD amount >= 0 (got {insurance_fund!r}).")
    if circuit_breaker is not None and not isinstance(circuit_breaker, CircuitBreaker):
        raise ConfigError(
            f"circuit_breaker must be a CircuitBreaker or None (got {circuit_breaker!r})."
        )
    if not (0.0 <= liquidation_fee < 1.0):
        raise ConfigError(f"liquidation_fee must be in [0, 1) (got {liquidation_fee!r}).")
    if int(max_rounds) < 1:
        raise ConfigError(f"max_rounds must be >= 1 (got {max_rounds!r}).")
    return pop, move, mode


def _result(
    st: _State, pop: AccountPopulation, p_final: np.ndarray, fund0: float, params: dict
) -> CascadeResult:
    path = pd.DataFrame(st.rows)
    by_asset = pd.DataFrame(
        {
            "liquidated_notional": st.asset_notional,
            "bad_debt": st.asset_bad_debt,
            "adl": st.asset_adl,
        },
        index=pd.Index(pop.assets, name="asset"),
    )
    liq = st.liq_round >= 0
    return CascadeResult(
        path=path,
        assets=pop.assets,
        initial_prices=pop.prices.copy(),
        final_prices=np.asarray(p_final, dtype="float64").copy(),
        liquidated=liq,
        liquidation_round=st.liq_round,
        bad_debt=st.bad_debt,
        adl=st.adl,
        fees=st.fees,
        liquidated_notional=st.notional,
        by_asset=by_asset,
        insurance_fund_initial=float(fund0),
        insurance_fund_final=float(st.fund),
        converged=st.converged,
        params=params,
    )


def simulate_cascade(
    book: AccountPopulation | Any,
    shock: Any,
    *,
    impact: SquareRootImpact | DepthImpact | None = None,
    insurance_fund: float = 0.0,
    adl: Literal["ranking", "pro_rata"] | None = "ranking",
    circuit_breaker: CircuitBreaker | None = None,
    liquidation_fee: float = 0.0,
    max_rounds: int = 10_000,
    mmr: Any = 0.004,
) -> CascadeResult:
    """Liquidation cascade after one price shock (vectorized over accounts).

    Parameters
    ----------
    book : AccountPopulation or riskmodels.instruments.Book
        The accounts (a Book of linear positions is converted with
        :meth:`AccountPopulation.from_book` using ``mmr``).
    shock : float, mapping asset -> float, array of shape (N,), or one-row Scenarios
        Log return of the fundamental price of each asset (a float applies to every asset).
    impact : SquareRootImpact, DepthImpact or None
        Price impact of the liquidation flow (None: liquidations execute at the shocked price).
    insurance_fund : float
        Initial fund balance, USD.
    adl : {"ranking", "pro_rata"} or None
        Auto-deleveraging mode (module docstring).
    circuit_breaker : CircuitBreaker, optional
    liquidation_fee : float in [0, 1)
        Fee on liquidated notional, paid to the fund out of the account's remaining equity.
    max_rounds : int
    mmr : float, TierTable or mapping
        Only used to convert a Book.

    Returns
    -------
    CascadeResult

    Raises
    ------
    ConfigError
        A book with no positions, an invalid ADL mode, a bad shock or parameter.
    ModelError
        Impact parameters that make a price non-positive (the message names them).

    Examples
    --------
    >>> pop = generate_population(100_000, 60_000.0, rng=1)          # doctest: +SKIP
    >>> res = simulate_cascade(pop, -0.1, impact=SquareRootImpact(0.04, 2e9),
    ...                        insurance_fund=1e6, adl="ranking")    # doctest: +SKIP
    >>> res.check_conservation()                                      # doctest: +SKIP
    """
    pop, move, mode = _setup(
        book, impact, insurance_fund, adl, circuit_breaker, liquidation_fee, max_rounds, mmr
    )
    r = _shock_vector(shock, pop.assets)
    st = _State(pop, insurance_fund)
    p_fund = pop.prices * np.exp(r)
    p = _run_step(
        st, 0, pop.prices, p_fund, move, mode, circuit_breaker, liquidation_fee, int(max_rounds)
    )
    params = {
        "shock": r.tolist(),
        "impact": repr(impact),
        "insurance_fund": insurance_fund,
        "adl": mode,
        "circuit_breaker": repr(circuit_breaker),
        "liquidation_fee": liquidation_fee,
        "max_rounds": int(max_rounds),
    }
    return _result(st, pop, p, insurance_fund, params)


def simulate_path(
    book: AccountPopulation | Any,
    prices: pd.DataFrame,
    *,
    impact: SquareRootImpact | DepthImpact | None = None,
    insurance_fund: float = 0.0,
    adl: Literal["ranking", "pro_rata"] | None = "ranking",
    circuit_breaker: CircuitBreaker | None = None,
    liquidation_fee: float = 0.0,
    max_rounds: int = 10_000,
    mmr: Any = 0.004,
) -> CascadeResult:
    """A cascade at every bar of a price path (a replay), with the state carried over.

    Parameters
    ----------
    book : AccountPopulation or Book
        Built at the prices of the first row of ``prices``.
    prices : DataFrame
        Fundamental prices per bar (rows: time, columns: the population's assets). At each bar
        the cascade of :func:`simulate_cascade` runs from that bar's price (impact, if any, on
        top of it and reset at the next bar: observed prices already contain past flows);
        liquidated accounts stay closed and the insurance fund carries over.
    Other parameters
        As :func:`simulate_cascade`.

    Returns
    -------
    CascadeResult
        ``path["step"]`` is the bar's timestamp.
    """
    pop, move, mode = _setup(
        book, impact, insurance_fund, adl, circuit_breaker, liquidation_fee, max_rounds, mmr
    )
    if not isinstance(prices, pd.DataFrame):
        raise ConfigError(f"prices must be a DataFrame of prices per bar (got {type(prices)}).")
    missing = [a for a in pop.assets if a not in prices.columns]
    if missing:
        raise ConfigError(f"prices lacks columns {missing} for the population's assets.")
    px = prices[list(pop.assets)].to_numpy(dtype="float64")
    if px.shape[0] < 2 or not (np.isfinite(px).all() and (px > 0).all()):
        raise ConfigError("prices must hold >= 2 rows of positive finite prices (no NaN).")
    st = _State(pop, insurance_fund)
    p = pop.prices.copy()
    prev = px[0]
    for t, row in zip(prices.index[1:], px[1:], strict=True):
        p = _run_step(st, t, prev, row, move, mode, circuit_breaker, liquidation_fee, max_rounds)
        prev = row
    params = {
        "impact": repr(impact),
        "insurance_fund": insurance_fund,
        "adl": mode,
        "circuit_breaker": repr(circuit_breaker),
        "liquidation_fee": liquidation_fee,
        "bars": int(px.shape[0]),
    }
    return _result(st, pop, p, insurance_fund, params)


# ---------------------------------------------------------------------------------------------
# the per-account reference loop
# ---------------------------------------------------------------------------------------------


def simulate_cascade_loop(
    book: AccountPopulation,
    shock: Any,
    *,
    impact: SquareRootImpact | DepthImpact | None = None,
    insurance_fund: float = 0.0,
    adl: Literal["ranking", "pro_rata"] | None = "ranking",
    liquidation_fee: float = 0.0,
    max_rounds: int = 10_000,
) -> dict[str, float]:
    """Pure-Python per-account twin of :func:`simulate_cascade` (flat MMR, no breaker).

    The same model, one account at a time in Python loops: the reference the vectorized
    engine is tested against and the baseline of ``benchmarks/bench_cascade.py``.

    Returns
    -------
    dict
        ``n_liquidated``, ``liquidated_notional``, ``bad_debt``, ``insurance_draw``, ``adl``,
        ``remaining_bad_debt``, ``fees``, ``insurance_fund``, ``rounds`` and ``price_<asset>``.
    """
    pop, move, mode = _setup(
        book, impact, insurance_fund, adl, None, liquidation_fee, max_rounds, 0
    )
    mmr = pop.flat_mmr
    if mmr is None:
        raise ConfigError("simulate_cascade_loop supports flat MMR only (got a tier table).")
    assets = pop.assets
    n = len(assets)
    r = _shock_vector(shock, assets)
    p0 = [float(x) for x in pop.prices]
    pf = [p0[j] * math.exp(float(r[j])) for j in range(n)]
    q = pop.quantity.tolist()
    entry = pop.entry_price.tolist()
    cash = pop.collateral.tolist()
    coin = pop.coin_collateral.tolist()
    alive = [any(x != 0.0 for x in row) for row in q]
    m_rate = mmr.tolist()

    def mv(flow: list[float]) -> list[float]:
        if move is None:
            return [0.0] * n
        return [float(x) for x in move(np.array(flow))]

    def marks(flow: list[float]) -> list[float]:
        m = mv(flow)
        if any(x <= -1.0 for x in m):
            raise ModelError(f"price impact makes prices non-positive: {move.parameter}.")
        return [pf[j] * (1.0 + m[j]) for j in range(n)]

    def eq(i: int, p: list[float]) -> float:
        return (
            cash[i]
            + sum(coin[i][j] * p[j] for j in range(n))
            + sum(q[i][j] * (p[j] - entry[i][j]) for j in range(n))
        )

    q_eff = [0.0] * n
    p = marks(q_eff)
    fund = float(insurance_fund)
    tot = dict.fromkeys(
        ("n_liquidated", "liquidated_notional", "bad_debt", "insurance_draw", "adl",
         "remaining_bad_debt", "fees"),
        0.0,
    )  # fmt: skip
    rounds = 0
    while rounds < max_rounds:
        trig = []
        for i in range(len(q)):
            if not alive[i]:
                continue
            e = eq(i, p)
            mm = sum(m_rate[j] * (abs(q[i][j]) * p[j]) for j in range(n))
            if e <= mm:
                gross = sum(abs(q[i][j]) * p[j] for j in range(n))
                trig.append((float(np.round((e - mm) / gross, _KEY_DECIMALS)), i))
        if not trig:
            break
        trig.sort(key=lambda t: t[0])
        debt = fees = 0.0
        owed: list[tuple[int, float, float]] = []
        for _, i in trig:
            for j in range(n):
                q_eff[j] += -q[i][j] * p0[j]
            pe = marks(q_eff)
            e = eq(i, pe)
            notion = [abs(q[i][j]) * pe[j] for j in range(n)]
            tn = sum(notion)
            fee = min(liquidation_fee * tn, max(e, 0.0))
            bd = max(-e, 0.0)
            for j in range(n):
                if q[i][j] != 0.0:
                    owed.append((j, 1.0 if q[i][j] > 0 else -1.0, notion[j] / tn * bd))
            debt += bd
            fees += fee
            tot["liquidated_notional"] += tn
            tot["n_liquidated"] += 1
            alive[i] = False
            q[i] = [0.0] * n
        p = marks(q_eff)
        fund += fees
        draw = min(fund, debt)
        fund -= draw
        uncovered = debt - draw
        taken = 0.0
        if uncovered > 0.0 and mode is not None:
            scale = uncovered / debt
            for j in range(n):
                for side in (1.0, -1.0):
                    d = sum(o[2] for o in owed if o[0] == j and o[1] == side) * scale
                    if d <= 0.0:
                        continue
                    cands = []
                    for k in range(len(q)):
                        if alive[k] and q[k][j] * side < 0:
                            pi = q[k][j] * (p[j] - entry[k][j])
                            if pi > 0:
                                ret = pi / (abs(q[k][j]) * entry[k][j])
                                lev = abs(q[k][j]) * p[j] / max(eq(k, p), 1e-300)
                                cands.append((k, pi, ret * lev))
                    if not cands:
                        continue
                    tot_pi = sum(c[1] for c in cands)
                    if mode == "pro_rata":
                        takes = [(k, pi * min(1.0, d / tot_pi)) for k, pi, _ in cands]
                    else:
                        cands.sort(key=lambda c: -c[2])
                        takes, before = [], 0.0
                        for k, pi, _ in cands:
                            takes.append((k, min(max(d - before, 0.0), pi)))
                            before += pi
                    for k, a in takes:
                        pi = q[k][j] * (p[j] - entry[k][j])
                        q[k][j] *= 1.0 - a / pi
                        alive[k] = any(x != 0.0 for x in q[k])
                        taken += a
        tot["bad_debt"] += debt
        tot["fees"] += fees
        tot["insurance_draw"] += draw
        tot["adl"] += taken
        tot["remaining_bad_debt"] += max(uncovered - taken, 0.0)
        rounds += 1
    tot["insurance_fund"] = fund
    tot["rounds"] = float(rounds)
    for j, a in enumerate(assets):
        tot[f"price_{a}"] = p[j]
    return tot
