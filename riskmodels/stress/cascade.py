r"""Liquidation cascades: price impact, insurance funds, auto-deleveraging, circuit breakers.

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

where :math:`Q^\text{eff}` is the cumulative net liquidation flow sold to the market (USD, buys
positive, counted at the pre-shock prices :math:`P_0`), :math:`\sigma` the daily volatility,
:math:`V` the daily volume (USD) and :math:`Y` the square-root-law prefactor (Tóth et al. 2011,
Phys. Rev. X 1, 021006; the same law as :class:`riskmodels.margin.LiquidityAddOn`), or
:math:`d` a cumulative depth curve (USD available within a relative move). A move
:math:`m \le -1` would make a price non-positive: :class:`~riskmodels.exceptions.ModelError`
naming the impact parameter.

Gap or gradual: the same total move
-----------------------------------
:func:`simulate_cascade` applies the whole shock **before any account is marked** (a gap): on
a −10% gap most of the accounts that get liquidated are already bankrupt when first marked,
so the bad debt is that of a price that jumped past every liquidation price at once.
:func:`simulate_path` runs a cascade at every bar of a price path, and :func:`shock_paths`
runs the same total move as a gap and as gradual paths (10 and 100 equal log steps by
default) and returns one table, so the gap number is never read alone.

Between the steps of a path, the accumulated liquidation impact
:math:`Q^\text{eff}` decays with a half-life :math:`h` (``impact_half_life``, in steps, or a
duration with the step length taken from the price index):
:math:`Q^\text{eff} \leftarrow 2^{-\Delta t / h} Q^\text{eff}`. ``impact_half_life=math.inf``
keeps the impact permanently (no decay: the gap's semantics within one step);
``impact_half_life=None`` (the default of :func:`simulate_path`, unchanged) or ``0`` starts
every bar from zero impact, which is right for a replay of *observed* prices (they already
contain past flows) and wrong for a synthetic path. :func:`shock_paths` defaults to
``math.inf``, so its gap and gradual rows differ only by the shape of the path.

Rounds (the discrete-time semantics)
------------------------------------
Round :math:`k`: mark every live account at :math:`P`; those with :math:`E_i \le
\text{MM}_i` are liquidated. They are closed into the market **one after another, most
under-margined first** (ascending :math:`(E_i - \text{MM}_i)/G_i`, :math:`G_i` the gross
notional; for one asset and a common flat MMR this is descending liquidation price), each at
the price after its own flow, :math:`P^\text{exec}_i = F(1 + m(Q^\text{eff} + \sum_{l \le i}
Q_l))`. The next round marks at the new price. The cascade stops at a fixed point (a round
with nothing to liquidate) or after ``max_rounds`` (``converged=False``).

Liquidation pipeline: fee, residual margin, insurance funds, ADL
----------------------------------------------------------------
The pipeline's parameters come from a venue's :class:`~riskmodels.liquidation.LiquidationRule`
(``rule=``; VENUES.md "Liquidation pipelines, step by step"), and explicit keywords override
the rule. Without a rule the defaults are the legacy configuration of this module (no fee, the
residual margin stays with the trader, ADL at the counterparty's entry price), which is no
venue's; keep it only to reproduce old numbers.

* **Fee.** A clearance fee :math:`\min(\phi N_i, \max(E_i, 0))` on the liquidated notional goes
  to the insurance fund (a fee never creates bad debt). Binance BTCUSDT: 0.3% (``clearance_fee``).
* **Residual margin.** The equity left after the fee, :math:`\max(E_i - \text{fee}, 0)`, goes to
  the fund when the rule says ``residual_to = "fund"`` (Binance: the whole MM of a small account
  goes to fee + fund, VENUES.md §L.1), else it stays with the trader.
* **Bad debt.** An account whose equity at its execution price is negative leaves
  :math:`b_i = \max(-E_i(P^\text{exec}_i), 0)`, split over its positions by notional.
* **Insurance funds.** ``insurance_fund`` is one pooled fund (a float) or a fund per symbol (a
  mapping asset -> USD, Binance keeps one per symbol, VENUES.md §1.2; a key may be a tuple of
  assets sharing one fund, like Binance's BTC/ETH/BNB USDT-M fund in 2025). Each round, every
  fund receives the fees and residual margin of its assets (split by notional), then pays its
  assets' bad debt while it can.
* **Auto-deleveraging** of what the funds do not cover (a fraction :math:`s` of each bankrupt
  position of that fund's assets, the *uncovered* part), against profitable positions on the
  opposite side, ranked by profit × leverage (``adl="ranking"``, score :math:`\frac{\pi_k}
  {|q_k| e_k}\cdot\frac{|q_k|P}{E_k}`: return on the position × effective leverage; Binance's
  LeveragePnL, Hyperliquid, Bybit) or pro rata (``adl="pro_rata"``: to the position's quantity
  when positions are closed, to its profit otherwise); ``adl=None`` skips ADL. The price
  (``adl_price``):

  - ``"bankruptcy"`` (Binance, Bybit): the uncovered quantity :math:`s|q_{ij}|` of each bankrupt
    position is **not sold to the market**; opposite positions are closed for that same
    quantity at the bankrupt position's bankruptcy price
    :math:`\text{BP}_{ij} = P^\text{exec}_{ij} + w_{ij} b_i / q_{ij}` (:math:`w_{ij}` its
    notional share; for one position :math:`E_i(\text{BP}) = 0`). The winners absorb exactly
    the uncovered debt :math:`s\,w_{ij}\,b_i` (relative to the execution price), and their
    closed quantity equals the bankrupt quantity. Within a round, several bankrupt positions of
    one asset and side are matched at their quantity-weighted mean bankruptcy price.
  - ``"mark"`` (Hyperliquid's previous oracle price, OKX): the same quantity is closed at the
    mark the account was triggered at (clipped to lie between the bankruptcy and execution
    prices); the winners absorb only the gap between the execution price and the mark, the rest
    of the uncovered debt is socialized (remaining bad debt).
  - ``"socialized"`` (Deribit): no position is closed; the uncovered debt is taken from the
    winners' unrealized profit (their entry price moves against them), pro rata or ranked.
  - ``"entry"`` (legacy): a slice of each winner is closed at its own entry price, so exactly its
    unrealized profit is taken; the closed quantity is unrelated to the bankrupt one.

  With ``"bankruptcy"`` and ``"mark"`` the deleveraged quantity is taken back out of the market
  flow at the end of the round (execution prices within the round are computed as if the whole
  liquidated quantity were sold; the mark at the end of the round reflects only what was sold).

Debt that neither the funds nor ADL cover is the **remaining bad debt** (socialized loss).
Conservation, checked by :meth:`CascadeResult.check_conservation`:

.. math::

    \sum_i b_i = \text{insurance draw} + \text{ADL} + \text{remaining bad debt}, \qquad
    \text{fund}^k_\text{end} = \text{fund}^k_0 + \text{fees}^k + \text{residual}^k -
    \text{draw}^k \ \text{for every fund } k,

and, per asset, quantity liquidated = quantity sold to the market + quantity deleveraged, with
the winners' closed quantity equal to the deleveraged quantity (``"bankruptcy"``, ``"mark"``).

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
With one-directional flow, a common flat MMR and ``adl_price`` ``"entry"`` or
``"socialized"`` (no flow taken back), a breaker with any ``recovery`` in [0, 1] never
increases bad debt: liquidations still happen in descending liquidation price, the breaker
only removes accounts or lowers the effective flow before each execution, so each liquidated
account executes at a price at least as good as without the breaker.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import KW_ONLY, dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from riskmodels._deprecation import keyword_options
from riskmodels._display import format_rows, html_table, table_html
from riskmodels._time import as_timedelta
from riskmodels.exceptions import ConfigError, ModelError
from riskmodels.liquidation import allocate_adl
from riskmodels.stress.population import AccountPopulation, equity, maintenance

if TYPE_CHECKING:
    from riskmodels.liquidation.rules import LiquidationRule

__all__ = [
    "ADL_MODES",
    "ADL_PRICES",
    "RESIDUAL_TO",
    "CascadeResult",
    "CircuitBreaker",
    "DepthImpact",
    "SquareRootImpact",
    "gradual_prices",
    "shock_paths",
    "simulate_cascade",
    "simulate_cascade_loop",
    "simulate_path",
]

#: Decimals the liquidation-order key is rounded to (see ``_run_step``).
_KEY_DECIMALS = 12

#: How ``CascadeResult._repr_html_`` shows the amounts of ``by_asset`` and ``funds`` (USD).
_MONEY_KINDS = dict.fromkeys(
    ("liquidated_notional", "bad_debt", "adl", "initial", "fees", "residual", "draw", "final"),
    "usd",
)

#: Auto-deleveraging rankings (None switches ADL off; "pnl_leverage" is accepted for
#: "ranking", the rule files' name).
ADL_MODES: tuple[str, ...] = ("ranking", "pro_rata")

#: Prices at which ADL closes (or, "socialized", charges) the winners; see the module docstring.
ADL_PRICES: tuple[str, ...] = ("bankruptcy", "mark", "socialized", "entry")

#: Where the margin left after a liquidation goes.
RESIDUAL_TO: tuple[str, ...] = ("fund", "trader")

_RANKING_FROM_RULE = {"pnl_leverage": "ranking", "pro_rata": "pro_rata"}

#: Name of the fund when ``insurance_fund`` is one number.
POOLED = "pooled"


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
    so the impact is permanent within one shock (until a circuit-breaker pause lets part of
    it revert); between the steps of a path it decays with ``impact_half_life``
    (:func:`simulate_path`).
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


@keyword_options
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
    _: KW_ONLY
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


@dataclass(frozen=True, eq=False, kw_only=True)
class CascadeResult:
    """The path and the losses of a liquidation cascade.

    Attributes
    ----------
    path : DataFrame
        One row per round (``step``, ``round``, ``window``, ``paused``, ``n_liquidated``,
        ``liquidated_notional``, ``deleveraged_notional``, ``bad_debt``, ``fees``,
        ``residual_to_fund``, ``insurance_draw``, ``insurance_fund``, ``adl``,
        ``remaining_bad_debt``, ``insurance_fund_<fund>`` when there are several funds, then
        ``price_<asset>``); the first row of each step (``round == -1``) is the marked price
        before any liquidation.
    assets : tuple of str
    initial_prices, final_prices : ndarray of shape (N,)
    liquidated : ndarray of bool, shape (A,)
    liquidation_round : ndarray of int, shape (A,)
        Global round at which each account was liquidated (-1: never).
    bad_debt, adl, fees, liquidated_notional : ndarray of shape (A,)
        Per account: bad debt (losses beyond collateral at the execution price, before the
        waterfall), loss absorbed by ADL as a winner, fee paid, notional liquidated.
    by_asset : DataFrame
        Per asset: fund, liquidated notional, bad debt (split by notional), ADL, and the
        quantity ledger (coins): ``liquidated_quantity`` = ``sold_quantity`` +
        ``deleveraged_quantity``; ``adl_closed_quantity`` closed on winners.
    insurance_fund_initial, insurance_fund_final : float
        Totals over the funds.
    converged : bool
        Every step reached a fixed point within ``max_rounds``.
    params : dict
    residual : ndarray of shape (A,)
        Residual margin each liquidated account left to the fund.
    funds : DataFrame
        Per fund: ``assets``, ``initial``, ``fees``, ``residual``, ``draw``, ``final``.
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
    residual: np.ndarray | None = None
    funds: pd.DataFrame | None = None

    @property
    def n_liquidated(self) -> int:
        """Number of liquidated accounts."""
        return int(self.liquidated.sum())

    @property
    def total_liquidated_notional(self) -> float:
        """USD notional closed by liquidations (sold to the market or deleveraged)."""
        return float(self.liquidated_notional.sum())

    @property
    def deleveraged_notional(self) -> float:
        """USD notional of bankrupt positions closed against winners instead of the market."""
        return float(self.path["deleveraged_notional"].sum())

    @property
    def total_bad_debt(self) -> float:
        """Losses of liquidated accounts beyond their collateral, USD."""
        return float(self.bad_debt.sum())

    @property
    def total_fees(self) -> float:
        """Clearance fees paid to the funds, USD."""
        return float(self.fees.sum())

    @property
    def total_residual_to_fund(self) -> float:
        """Residual margin of liquidated accounts paid to the funds, USD."""
        return 0.0 if self.residual is None else float(self.residual.sum())

    @property
    def insurance_draw(self) -> float:
        """What the insurance funds paid, USD."""
        return float(self.path["insurance_draw"].sum())

    @property
    def total_adl(self) -> float:
        """Loss absorbed by auto-deleveraged winners, USD."""
        return float(self.adl.sum())

    @property
    def remaining_bad_debt(self) -> float:
        """Bad debt neither the funds nor ADL covered (socialized loss), USD."""
        return float(self.path["remaining_bad_debt"].sum())

    def conservation(self) -> dict[str, float]:
        """The terms of the loss waterfall and the identities' residuals (see the module)."""
        losses = self.total_bad_debt
        borne = self.insurance_draw + self.total_adl + self.remaining_bad_debt
        fund = (
            self.insurance_fund_initial
            + self.total_fees
            + self.total_residual_to_fund
            - self.insurance_draw
        )
        out = {
            "losses_beyond_collateral": losses,
            "insurance_draw": self.insurance_draw,
            "adl": self.total_adl,
            "remaining_bad_debt": self.remaining_bad_debt,
            "residual": losses - borne,
            "fees": self.total_fees,
            "residual_to_fund": self.total_residual_to_fund,
            "fund_residual": self.insurance_fund_final - fund,
        }
        if self.funds is not None:
            f = self.funds
            per = f["final"] - (f["initial"] + f["fees"] + f["residual"] - f["draw"])
            out["funds_residual"] = float(per.abs().max())
        b = self.by_asset
        if "liquidated_quantity_signed" in b:
            q = b["liquidated_quantity_signed"] - b["sold_quantity_signed"]
            q = q - b["deleveraged_quantity_signed"]
            out["quantity_residual"] = float(q.abs().max())
            if self.params.get("adl_price") in ("bankruptcy", "mark"):
                cp = b["adl_closed_quantity_signed"] + b["deleveraged_quantity_signed"]
            else:  # nothing is deleveraged: no bankrupt quantity leaves the market flow
                cp = b["deleveraged_quantity_signed"]
            out["adl_quantity_residual"] = float(cp.abs().max())
        return out

    def check_conservation(self, rtol: float = 1e-9) -> None:
        """Raise :class:`ModelError` unless every loss and every coin is accounted for.

        Checks (to ``rtol`` relative): bad debt = draw + ADL + remaining; every fund's ledger
        closes (initial + fees + residual − draw = final); per asset, quantity liquidated =
        sold to the market + deleveraged, and the winners' closed quantity equals the
        deleveraged quantity.

        Raises
        ------
        ModelError
            If an identity fails (a bug: the message gives the residuals).
        """
        c = self.conservation()
        scale = max(c["losses_beyond_collateral"], 1.0)
        fscale = max(self.insurance_fund_initial + c["fees"] + c["residual_to_fund"], 1.0)
        qscale = 1.0
        if "liquidated_quantity" in self.by_asset:
            qscale = max(float(self.by_asset["liquidated_quantity"].max()), 1.0)
        bad = (
            abs(c["residual"]) > rtol * scale
            or abs(c["fund_residual"]) > rtol * fscale
            or c.get("funds_residual", 0.0) > rtol * fscale
            or c.get("quantity_residual", 0.0) > rtol * qscale
            or c.get("adl_quantity_residual", 0.0) > rtol * qscale
        )
        if bad:
            raise ModelError(
                f"cascade losses are not conserved: losses {c['losses_beyond_collateral']:,.6f} "
                f"vs draw + ADL + remaining = "
                f"{c['insurance_draw'] + c['adl'] + c['remaining_bad_debt']:,.6f}; fund ledger "
                f"residual {c['fund_residual']:.3g} (per fund {c.get('funds_residual', 0):.3g}); "
                f"quantity residual {c.get('quantity_residual', 0):.3g}, ADL quantity residual "
                f"{c.get('adl_quantity_residual', 0):.3g}. This is a bug: please report it."
            )

    def summary(self) -> pd.DataFrame:
        """Headline numbers: one column ``cascade``, one row per quantity (the package's
        ``summary()`` of a tabular result is a DataFrame)."""
        out = {
            "accounts liquidated": float(self.n_liquidated),
            "liquidated notional": self.total_liquidated_notional,
            "deleveraged notional": self.deleveraged_notional,
            "bad debt": self.total_bad_debt,
            "fees to fund": self.total_fees,
            "residual margin to fund": self.total_residual_to_fund,
            "insurance draw": self.insurance_draw,
            "ADL": self.total_adl,
            "remaining bad debt": self.remaining_bad_debt,
            "insurance fund end": self.insurance_fund_final,
            "rounds": float((self.path["round"] >= 0).sum()),
        }
        for j, a in enumerate(self.assets):
            out[f"price move {a}"] = float(self.final_prices[j] / self.initial_prices[j] - 1.0)
        return pd.Series(out, name="cascade").to_frame()

    def _repr_html_(self) -> str:
        summary = self.summary()["cascade"]
        kinds = {k: "pct" if k.startswith("price move ") else "usd" for k in summary.index}
        kinds.update({"accounts liquidated": "count", "rounds": "count"})
        rows = html_table(format_rows(summary, kinds)[summary.name].items())
        flag = "" if self.converged else "<p><b>not converged within max_rounds</b></p>"
        funds = "" if self.funds is None else table_html(self.funds, _MONEY_KINDS)
        cols = ["fund", "liquidated_notional", "bad_debt", "adl"]
        by_asset = self.by_asset[[c for c in cols if c in self.by_asset]]
        return f"{rows}{flag}" + table_html(by_asset, _MONEY_KINDS) + funds


# ---------------------------------------------------------------------------------------------
# configuration: the venue's pipeline and the insurance funds
# ---------------------------------------------------------------------------------------------


def _check_adl(adl: Any) -> str | None:
    if adl == "pnl_leverage":
        return "ranking"
    if adl is None or adl in ADL_MODES:
        return adl
    raise ConfigError(
        f"adl must be one of {ADL_MODES}, 'auto' (the rule's ranking) or None (got {adl!r}): "
        "'ranking' ranks profitable opposite positions by profit x leverage (Binance), "
        "'pro_rata' shares pro rata."
    )


@dataclass(frozen=True)
class _Pipeline:
    """The liquidation pipeline a cascade runs (resolved from a rule and keywords)."""

    fee: float
    residual_to: str
    adl: str | None
    adl_price: str
    rule: str | None = None

    def params(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "liquidation_fee": self.fee,
            "residual_to": self.residual_to,
            "adl": self.adl,
            "adl_price": self.adl_price,
        }


def _load_rule(rule: Any) -> LiquidationRule | None:
    if rule is None:
        return None
    from pathlib import Path

    from riskmodels.liquidation.rules import LiquidationRule, available_liquidation_rules

    if isinstance(rule, LiquidationRule):
        return rule
    if isinstance(rule, str | Path):
        return LiquidationRule.load(rule)  # ConfigError listing the shipped names
    raise ConfigError(
        f"rule must be a LiquidationRule, the name of a shipped rule or a path to a .toml file "
        f"(got {type(rule).__name__}); shipped: {available_liquidation_rules()}."
    )


def _from_rule(r: LiquidationRule, name: str, keyword: str, override: Any) -> Any:
    """The rule's value of ``name`` unless ``override`` is given (named error if unpublished)."""
    if override is not None:
        return override
    p = r.parameters[name]
    if p.unknown:
        raise ConfigError(
            f"rule {r.name!r} ({r.venue or 'venue'}) does not publish {name!r}: pass "
            f"{keyword}=... explicitly, e.g. one of its sensitivity values "
            f"{[str(v) for v in p.sweep]} (LiquidationRule.sweep({name!r}))."
        )
    return p.value


def _pipeline(
    rule: Any, liquidation_fee: Any, residual_to: Any, adl: Any, adl_price: Any
) -> _Pipeline:
    r = _load_rule(rule)
    if r is None:
        fee = 0.0 if liquidation_fee is None else liquidation_fee
        res = "trader" if residual_to is None else residual_to
    else:
        fee = _from_rule(r, "clearance_fee", "liquidation_fee", liquidation_fee)
        res = _from_rule(r, "residual_to", "residual_to", residual_to)
    if isinstance(adl, str) and adl == "auto":
        if r is None:
            mode: str | None = "ranking"
        else:
            mode = _RANKING_FROM_RULE[_from_rule(r, "adl_ranking", "adl", None)]
    else:
        mode = _check_adl(adl)
    if adl_price is not None:
        price = adl_price
    elif r is None or mode is None:
        price = "entry"
    else:
        price = _from_rule(r, "adl_price", "adl_price", None)
    try:
        fee = float(fee)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"liquidation_fee must be a rate in [0, 1) (got {fee!r}).") from exc
    if not (0.0 <= fee < 1.0):
        raise ConfigError(
            f"liquidation_fee must be in [0, 1) (got {fee!r}); 0.003 is Binance BTCUSDT's 0.3%."
        )
    if res not in RESIDUAL_TO:
        raise ConfigError(
            f"residual_to must be 'fund' (Binance: the margin left goes to the insurance fund) "
            f"or 'trader' (Hyperliquid, Deribit) (got {res!r})."
        )
    if price not in ADL_PRICES:
        raise ConfigError(
            f"adl_price must be one of {ADL_PRICES} (got {price!r}): 'bankruptcy' (Binance, "
            "Bybit), 'mark' (Hyperliquid, OKX), 'socialized' (Deribit) or 'entry' (legacy)."
        )
    return _Pipeline(fee, res, mode, price, None if r is None else r.name)


@dataclass(frozen=True)
class _Funds:
    names: tuple[str, ...]
    members: tuple[tuple[str, ...], ...]
    of_asset: np.ndarray  # (N,) index of each asset's fund
    initial: np.ndarray  # (P,)


def _usd(x: Any, what: str) -> float:
    try:
        v = float(x)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{what} must be a USD amount >= 0 (got {x!r}).") from exc
    if not (math.isfinite(v) and v >= 0):
        raise ConfigError(f"{what} must be a USD amount >= 0 (got {x!r}).")
    return v


def _funds(insurance_fund: Any, assets: tuple[str, ...]) -> _Funds:
    if not isinstance(insurance_fund, Mapping):
        v = _usd(insurance_fund, "insurance_fund")
        return _Funds((POOLED,), (assets,), np.zeros(len(assets), dtype=np.int64), np.array([v]))
    if not insurance_fund:
        raise ConfigError(
            "insurance_fund is an empty mapping: give one fund per asset ({'BTC': 5e7, ...}) or "
            "a float for one pooled fund."
        )
    of = np.full(len(assets), -1, dtype=np.int64)
    names: list[str] = []
    members: list[tuple[str, ...]] = []
    init: list[float] = []
    for key, amount in insurance_fund.items():
        group = (key,) if isinstance(key, str) else tuple(key)
        unknown = [a for a in group if a not in assets]
        if unknown or not group:
            raise ConfigError(
                f"insurance_fund names assets {unknown or [key]} not in the population "
                f"{list(assets)}; key the mapping by the population's assets (a tuple of assets "
                "for a shared fund)."
            )
        for a in group:
            j = assets.index(a)
            if of[j] >= 0:
                raise ConfigError(
                    f"asset {a!r} is in two insurance funds ({names[of[j]]!r} and "
                    f"{'+'.join(group)!r}); each asset draws on exactly one fund."
                )
            of[j] = len(names)
        names.append("+".join(group))
        members.append(group)
        init.append(_usd(amount, f"insurance_fund[{key!r}]"))
    missing = [a for j, a in enumerate(assets) if of[j] < 0]
    if missing:
        raise ConfigError(
            f"insurance_fund has no fund for assets {missing}: give one per asset (Binance keeps "
            "one per symbol, VENUES.md §1.2), e.g. add "
            f"{', '.join(f'{a!r}: 0.0' for a in missing)}, or pass a float for one pooled fund."
        )
    return _Funds(tuple(names), tuple(members), of, np.array(init))


def _half_life_decays(
    impact_half_life: Any, index: pd.Index, step_length: Any
) -> tuple[np.ndarray, str]:
    """Decay factor of the carried impact before each step after the first, and a label."""
    n = len(index) - 1
    h = impact_half_life
    if h is None:
        return np.zeros(n), "None (reset every step)"
    if isinstance(h, bool):
        raise ConfigError(f"impact_half_life must be a number of steps or a duration (got {h!r}).")
    if isinstance(h, str | pd.Timedelta | np.timedelta64) or hasattr(h, "total_seconds"):
        hd = as_timedelta(h, "impact_half_life", examples=("5min", "1h"))
        if hd < pd.Timedelta(0):
            raise ConfigError(
                f"impact_half_life must be a duration >= 0 such as '5min' (got {h!r}); 0 resets "
                "the impact every step, math.inf (in steps) keeps it."
            )
        if step_length is not None:
            sl = as_timedelta(
                step_length,
                "step_length",
                allow_negative=False,
                allow_zero=False,
                examples=("1min", "1s"),
            )
            dt = np.full(n, sl / pd.Timedelta("1s"))
        elif isinstance(index, pd.DatetimeIndex | pd.TimedeltaIndex):
            dt = np.asarray((index[1:] - index[:-1]).total_seconds(), dtype="float64")
        else:
            raise ConfigError(
                f"impact_half_life is a duration ({h!r}) but the prices' index is not a time "
                "index: give step_length='1min' (the length of one step), or the half-life as a "
                "number of steps."
            )
        if hd == pd.Timedelta(0):
            return np.zeros(n), "0 (reset every step)"
        return np.exp2(-dt / (hd / pd.Timedelta("1s"))), str(hd)
    try:
        hf = float(h)
    except (TypeError, ValueError) as exc:
        raise ConfigError(
            f"impact_half_life must be a number of steps or a duration (got {h!r})."
        ) from exc
    if math.isnan(hf) or hf < 0:
        raise ConfigError(
            f"impact_half_life must be >= 0 steps (got {h!r}): math.inf keeps the impact "
            "permanently, None or 0 resets it every step, 10 halves it every 10 steps."
        )
    if hf == 0:
        return np.zeros(n), "0 (reset every step)"
    if math.isinf(hf):
        return np.ones(n), "inf (permanent)"
    return np.full(n, 2.0 ** (-1.0 / hf)), f"{hf:g} steps"


# ---------------------------------------------------------------------------------------------
# the engine
# ---------------------------------------------------------------------------------------------


class _State:
    """Mutable arrays of one cascade run (the population is never modified)."""

    def __init__(self, pop: AccountPopulation, funds: _Funds) -> None:
        # both filled in by AccountPopulation.__post_init__
        assert pop.entry_price is not None and pop.coin_collateral is not None
        self.assets = pop.assets
        self.q = pop.quantity.copy()
        self.entry = pop.entry_price.copy()  # socialized ADL moves winners' entries
        self.cash = pop.collateral.copy()  # ADL at a price realizes winners' P&L
        self.coin = pop.coin_collateral
        self.mmr = pop.mmr
        a, n = self.q.shape
        self.alive = np.any(self.q != 0.0, axis=1)
        self.liq_round = np.full(a, -1, dtype=np.int64)
        self.bad_debt = np.zeros(a)
        self.adl = np.zeros(a)
        self.fees = np.zeros(a)
        self.residual = np.zeros(a)
        self.notional = np.zeros(a)
        self.asset_notional = np.zeros(n)
        self.asset_bad_debt = np.zeros(n)
        self.asset_adl = np.zeros(n)
        self.asset_del_notional = np.zeros(n)
        self.liq_qty = np.zeros(n)  # |q| liquidated
        self.del_qty = np.zeros(n)  # |q| deleveraged (not sold)
        self.liq_qty_signed = np.zeros(n)
        self.sold_qty_signed = np.zeros(n)  # from the flows added to the market
        self.del_qty_signed = np.zeros(n)
        self.cp_qty_signed = np.zeros(n)  # closed on winners (from their positions)
        self.funds = funds
        self.fund = funds.initial.astype("float64").copy()
        self.fund_fees = np.zeros(len(funds.names))
        self.fund_residual = np.zeros(len(funds.names))
        self.fund_draw = np.zeros(len(funds.names))
        self.round = 0
        self.rows: list[dict[str, Any]] = []
        self.converged = True


def _prices(
    fund_p: np.ndarray, move: Callable[[np.ndarray], np.ndarray], q_eff: np.ndarray
) -> np.ndarray:
    m = move(q_eff)
    if (m <= -1.0).any():
        raise ModelError(
            f"price impact makes prices non-positive (relative move {float(np.min(m)):.3f} at "
            f"cumulative flow {np.asarray(q_eff).min():,.0f} USD): "
            f"{getattr(move, 'parameter', 'check the impact model')}."
        )
    return fund_p * (1.0 + m)


def _winners(
    st: _State, j: int, side: float, p: np.ndarray, mode: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Profitable positions opposite ``side`` in asset ``j``: indices, profits, ranking score."""
    qj = st.q[:, j]
    profit = qj * (p[j] - st.entry[:, j])
    cand = np.flatnonzero(st.alive & (np.sign(qj) == -side) & (profit > 0.0))
    pi = profit[cand]
    if mode == "pro_rata" or cand.size == 0:
        return cand, pi, None
    e = equity(st.cash[cand], st.coin[cand], st.q[cand], st.entry[cand], p)
    ret = pi / (np.abs(qj[cand]) * st.entry[cand, j])
    lev = np.abs(qj[cand]) * p[j] / np.maximum(e, 1e-300)
    return cand, pi, ret * lev


def _retire_flat(st: _State, cand: np.ndarray) -> None:
    flat = cand[~np.any(st.q[cand] != 0.0, axis=1)]
    st.alive[flat] = False  # fully deleveraged: nothing left to liquidate


def _adl_profit(
    st: _State, j: int, side: float, debt: float, p: np.ndarray, mode: str, how: str
) -> float:
    """ADL that takes ``debt`` out of winners' profit: closed at entry, or socialized."""
    cand, pi, score = _winners(st, j, side, p, mode)
    if cand.size == 0:
        return 0.0
    take = allocate_adl(debt, pi, score)
    if how == "entry":  # close the slice frac at the winner's entry price
        before = st.q[cand, j].copy()
        st.q[cand, j] *= 1.0 - take / pi
        st.cp_qty_signed[j] += float((before - st.q[cand, j]).sum())
        _retire_flat(st, cand)
    else:  # socialized: the entry moves so that the unrealized profit falls by take
        st.entry[cand, j] += take / st.q[cand, j]
    st.adl[cand] += take
    total = float(take.sum())
    st.asset_adl[j] += total
    return total


def _adl_close(
    st: _State, j: int, side: float, qty: float, gap: float, price: float, p: np.ndarray, mode: str
) -> tuple[float, float]:
    """Close ``qty`` coins of winners at ``price``; each coin absorbs ``gap`` USD of debt.

    Returns (closed quantity, debt absorbed).
    """
    cand, _, score = _winners(st, j, side, p, mode)
    if cand.size == 0:
        return 0.0, 0.0
    qc = st.q[cand, j].copy()
    cap = np.abs(qc)
    take = allocate_adl(qty, cap, score)
    sgn = np.sign(qc)
    st.cash[cand] += sgn * take * (price - st.entry[cand, j])  # realized at the ADL price
    new = np.where(take >= cap, 0.0, qc - sgn * take)
    st.q[cand, j] = new
    st.cp_qty_signed[j] += float((qc - new).sum())
    absorbed = take * gap
    st.adl[cand] += absorbed
    _retire_flat(st, cand)
    total = float(absorbed.sum())
    st.asset_adl[j] += total
    return float(take.sum()), total


def _remaining(uncovered: float, taken: float) -> float:
    """Debt neither the funds nor ADL covered; rounding residue of a full cover is zero."""
    rest = uncovered - taken
    return 0.0 if rest <= 1e-12 * max(uncovered, 1.0) else rest


def _row(
    st: _State, step: Any, rnd: int, window: int, paused: bool, p: np.ndarray, **kw: float
) -> None:
    row = {
        "step": step,
        "round": rnd,
        "window": window,
        "paused": paused,
        "n_liquidated": 0,
        "liquidated_notional": 0.0,
        "deleveraged_notional": 0.0,
        "bad_debt": 0.0,
        "fees": 0.0,
        "residual_to_fund": 0.0,
        "insurance_draw": 0.0,
        "insurance_fund": float(st.fund.sum()),
        "adl": 0.0,
        "remaining_bad_debt": 0.0,
    }
    row.update(kw)
    if len(st.funds.names) > 1:
        for name, v in zip(st.funds.names, st.fund, strict=True):
            row[f"insurance_fund_{name}"] = float(v)
    for j, a in enumerate(st.assets):
        row[f"price_{a}"] = float(p[j])
    st.rows.append(row)


def _run_step(
    st: _State,
    step: Any,
    p_ref: np.ndarray,
    p_fund: np.ndarray,
    q_eff: np.ndarray,
    move: Callable[..., Any] | None,
    breaker: CircuitBreaker | None,
    cfg: _Pipeline,
    max_rounds: int,
) -> tuple[np.ndarray, np.ndarray]:
    """One shock: cascade from fundamental ``p_fund`` to a fixed point.

    ``q_eff`` is the impact carried into the step. Returns the mark and the flow at the end.
    """
    n = len(st.assets)
    of = st.funds.of_asset
    n_funds = len(st.funds.names)
    q_eff = np.array(q_eff, dtype="float64")
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
        p_trig = p
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
        fee = np.minimum(cfg.fee * notion, np.maximum(e_exec, 0.0))
        if cfg.residual_to == "fund":
            res = np.maximum(e_exec - fee, 0.0)
        else:
            res = np.zeros_like(fee)
        bd = np.maximum(-e_exec, 0.0)
        st.liq_round[ex] = st.round
        st.bad_debt[ex] = bd
        st.fees[ex] = fee
        st.residual[ex] = res
        st.notional[ex] = notion
        st.alive[ex] = False
        st.q[ex] = 0.0
        st.asset_notional += notion_a.sum(axis=0)
        share = notion_a / notion[:, None]
        debt_a = (share * bd[:, None]).sum(axis=0)
        st.asset_bad_debt += debt_a
        st.liq_qty += np.abs(qx).sum(axis=0)
        st.liq_qty_signed += qx.sum(axis=0)
        if n_exec:
            st.sold_qty_signed -= (cum[n_exec - 1] - q_eff) / p_ref  # flow added, in coins
            q_eff = cum[n_exec - 1].copy()
            p = p_fund.copy() if move is None else _prices(p_fund, move, q_eff)
        fees, resid, debt = float(fee.sum()), float(res.sum()), float(bd.sum())
        if n_funds == 1:
            fee_f, res_f, debt_f = np.array([fees]), np.array([resid]), np.array([debt])
        else:  # each fund takes its assets' share (by notional) of fees, residual and debt
            fee_f = np.bincount(of, (fee[:, None] * share).sum(axis=0), minlength=n_funds)
            res_f = np.bincount(of, (res[:, None] * share).sum(axis=0), minlength=n_funds)
            debt_f = np.bincount(of, debt_a, minlength=n_funds)
        st.fund += fee_f + res_f
        draw_f = np.minimum(st.fund, debt_f)
        st.fund -= draw_f
        st.fund_fees += fee_f
        st.fund_residual += res_f
        st.fund_draw += draw_f
        unc_f = debt_f - draw_f
        uncovered = float(unc_f.sum())
        taken = 0.0
        deleveraged = 0.0
        if uncovered > 0.0 and cfg.adl is not None:
            scale_f = np.divide(unc_f, debt_f, out=np.zeros(n_funds), where=debt_f > 0)
            owed = share * bd[:, None] * scale_f[of][None, :]  # (n_exec, N) uncovered debt
            flow_back = False
            for j in range(n):
                for side in (1.0, -1.0):
                    rows = (np.sign(qx[:, j]) == side) & (owed[:, j] > 0.0)
                    d = float(owed[rows, j].sum())
                    if d <= 0.0:
                        continue
                    if cfg.adl_price in ("entry", "socialized"):
                        taken += _adl_profit(st, j, side, d, p, cfg.adl, cfg.adl_price)
                        continue
                    # the uncovered quantity is closed on winners instead of the market
                    qi = qx[rows, j]
                    qty = scale_f[of[j]] * np.abs(qi)
                    pei = pe[rows, j]
                    bp = pei + share[rows, j] * bd[rows] / qi  # bankruptcy price of the slice
                    if cfg.adl_price == "bankruptcy":
                        c = bp
                    else:  # the trigger mark, never better for the bankrupt than its BP
                        c = np.clip(p_trig[j], np.minimum(bp, pei), np.maximum(bp, pei))
                    x = float(qty.sum())
                    price = float((qty * c).sum()) / x
                    gap = float((qty * np.abs(c - pei)).sum()) / x
                    filled, absorbed = _adl_close(st, j, side, x, gap, price, p, cfg.adl)
                    if filled > 0.0:
                        taken += absorbed
                        deleveraged += filled * price
                        st.asset_del_notional[j] += filled * price
                        st.del_qty[j] += filled
                        st.del_qty_signed[j] += side * filled
                        st.sold_qty_signed[j] -= side * filled
                        q_eff[j] += side * filled * p_ref[j]  # never sold: out of the flow
                        flow_back = True
            if flow_back and move is not None:
                p = _prices(p_fund, move, q_eff)
        _row(
            st,
            step,
            st.round,
            win,
            paused,
            p,
            n_liquidated=int(n_exec),
            liquidated_notional=float(notion.sum()),
            deleveraged_notional=deleveraged,
            bad_debt=debt,
            fees=fees,
            residual_to_fund=resid,
            insurance_draw=float(draw_f.sum()),
            adl=taken,
            remaining_bad_debt=_remaining(uncovered, taken),
        )
        st.round += 1
        in_window += n_exec
        if paused:
            r = (r // breaker.window + 1) * breaker.window  # type: ignore[union-attr]
        else:
            r += 1
    return p, q_eff


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


def _population(book: Any, mmr: Any) -> AccountPopulation:
    from riskmodels.instruments.book import Book

    if isinstance(book, Book):
        return AccountPopulation.from_book(book, mmr=mmr)
    if isinstance(book, AccountPopulation):
        return book
    raise ConfigError(
        f"book must be an AccountPopulation or a riskmodels.instruments.Book (got "
        f"{type(book).__name__})."
    )


def _setup(
    book: Any,
    impact: Any,
    insurance_fund: Any,
    circuit_breaker: Any,
    max_rounds: int,
    mmr: Any,
    pipeline: _Pipeline,
) -> tuple[AccountPopulation, Callable[..., Any] | None, _Funds]:
    pop = _population(book, mmr)
    if impact is not None and not hasattr(impact, "bind"):
        raise ConfigError(f"impact must be SquareRootImpact, DepthImpact or None (got {impact!r}).")
    move = None if impact is None else impact.bind(pop.assets)
    funds = _funds(insurance_fund, pop.assets)
    if circuit_breaker is not None and not isinstance(circuit_breaker, CircuitBreaker):
        raise ConfigError(
            f"circuit_breaker must be a CircuitBreaker or None (got {circuit_breaker!r})."
        )
    if int(max_rounds) < 1:
        raise ConfigError(f"max_rounds must be >= 1 (got {max_rounds!r}).")
    return pop, move, funds


def _result(
    st: _State, pop: AccountPopulation, p_final: np.ndarray, params: dict[str, Any]
) -> CascadeResult:
    path = pd.DataFrame(st.rows)
    funds = st.funds
    by_asset = pd.DataFrame(
        {
            "fund": [funds.names[k] for k in funds.of_asset],
            "liquidated_notional": st.asset_notional,
            "deleveraged_notional": st.asset_del_notional,
            "bad_debt": st.asset_bad_debt,
            "adl": st.asset_adl,
            "liquidated_quantity": st.liq_qty,
            "sold_quantity": st.liq_qty - st.del_qty,
            "deleveraged_quantity": st.del_qty,
            "adl_closed_quantity": np.abs(st.cp_qty_signed),
            "liquidated_quantity_signed": st.liq_qty_signed,
            "sold_quantity_signed": st.sold_qty_signed,
            "deleveraged_quantity_signed": st.del_qty_signed,
            "adl_closed_quantity_signed": st.cp_qty_signed,
        },
        index=pd.Index(pop.assets, name="asset"),
    )
    fund_table = pd.DataFrame(
        {
            "assets": [", ".join(m) for m in funds.members],
            "initial": funds.initial,
            "fees": st.fund_fees,
            "residual": st.fund_residual,
            "draw": st.fund_draw,
            "final": st.fund,
        },
        index=pd.Index(funds.names, name="fund"),
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
        insurance_fund_initial=float(funds.initial.sum()),
        insurance_fund_final=float(st.fund.sum()),
        converged=st.converged,
        params=params,
        residual=st.residual,
        funds=fund_table,
    )


def _fund_param(insurance_fund: Any) -> Any:
    if isinstance(insurance_fund, Mapping):
        return {
            "+".join((k,) if isinstance(k, str) else k): float(v) for k, v in insurance_fund.items()
        }
    return float(insurance_fund)


# ---------------------------------------------------------------------------------------------
# public entry points
# ---------------------------------------------------------------------------------------------


def simulate_cascade(
    book: AccountPopulation | Any,
    shock: Any,
    *,
    impact: SquareRootImpact | DepthImpact | None = None,
    insurance_fund: float | Mapping[Any, float] = 0.0,
    adl: Literal["auto", "ranking", "pro_rata"] | None = "auto",
    circuit_breaker: CircuitBreaker | None = None,
    liquidation_fee: float | None = None,
    max_rounds: int = 10_000,
    mmr: Any = 0.004,
    rule: LiquidationRule | str | None = None,
    residual_to: Literal["fund", "trader"] | None = None,
    adl_price: Literal["bankruptcy", "mark", "socialized", "entry"] | None = None,
) -> CascadeResult:
    """Liquidation cascade after one price **gap** (vectorized over accounts).

    The whole shock is applied before any account is marked; read it beside the same move
    taken gradually (:func:`shock_paths`).

    Parameters
    ----------
    book : AccountPopulation or riskmodels.instruments.Book
        The accounts (a Book of linear positions is converted with
        :meth:`AccountPopulation.from_book` using ``mmr``).
    shock : float, mapping asset -> float, array of shape (N,), or one-row Scenarios
        Log return of the fundamental price of each asset (a float applies to every asset).
    impact : SquareRootImpact, DepthImpact or None
        Price impact of the liquidation flow (None: liquidations execute at the shocked price).
    insurance_fund : float or mapping
        Initial balance, USD: one pooled fund (a float), or one fund per asset (mapping asset ->
        USD; a tuple of assets as key for a shared fund). Every asset needs a fund.
    adl : {"auto", "ranking", "pro_rata"} or None
        ADL ranking; ``"auto"``: the rule's ``adl_ranking`` (``"pnl_leverage"`` is
        ``"ranking"``), ``"ranking"`` without a rule; None: no ADL.
    circuit_breaker : CircuitBreaker, optional
    liquidation_fee : float in [0, 1), optional
        Clearance fee on liquidated notional, paid to the fund out of the account's remaining
        equity. Default: the rule's ``clearance_fee``, 0 without a rule.
    max_rounds : int
    mmr : float, TierTable or mapping
        Only used to convert a Book.
    rule : LiquidationRule or str, optional
        A venue's liquidation pipeline (:class:`riskmodels.liquidation.LiquidationRule`, or a
        shipped name such as ``"binance_usdm_btcusdt_2021-03-18"``): the defaults of
        ``liquidation_fee``, ``residual_to``, ``adl_price`` and ``adl``.
    residual_to : {"fund", "trader"}, optional
        Where a liquidated account's margin left after the fee goes. Default: the rule's,
        ``"trader"`` without a rule.
    adl_price : {"bankruptcy", "mark", "socialized", "entry"}, optional
        How ADL charges the winners (module docstring). Default: the rule's, ``"entry"``
        (legacy) without a rule.

    Returns
    -------
    CascadeResult

    Raises
    ------
    ConfigError
        A book with no positions, an unknown rule name, a parameter the rule does not publish
        and no keyword gives, an invalid ADL mode or price, a fund mapping missing an asset, a
        bad shock or parameter.
    ModelError
        Impact parameters that make a price non-positive (the message names them).

    Examples
    --------
    >>> pop = generate_population(100_000, 60_000.0, rng=1)          # doctest: +SKIP
    >>> res = simulate_cascade(pop, -0.1, impact=SquareRootImpact(0.04, 2e9),
    ...                        insurance_fund=1e6,
    ...                        rule="binance_usdm_btcusdt_2021-03-18")  # doctest: +SKIP
    >>> res.check_conservation()                                      # doctest: +SKIP
    """
    cfg = _pipeline(rule, liquidation_fee, residual_to, adl, adl_price)
    pop, move, funds = _setup(book, impact, insurance_fund, circuit_breaker, max_rounds, mmr, cfg)
    r = _shock_vector(shock, pop.assets)
    st = _State(pop, funds)
    p_fund = pop.prices * np.exp(r)
    p, _ = _run_step(
        st, 0, pop.prices, p_fund, np.zeros(len(pop.assets)), move, circuit_breaker, cfg,
        int(max_rounds),
    )  # fmt: skip
    params = {
        "shock": r.tolist(),
        "impact": repr(impact),
        "insurance_fund": _fund_param(insurance_fund),
        **cfg.params(),
        "circuit_breaker": repr(circuit_breaker),
        "max_rounds": int(max_rounds),
    }
    return _result(st, pop, p, params)


def simulate_path(
    book: AccountPopulation | Any,
    prices: pd.DataFrame,
    *,
    impact: SquareRootImpact | DepthImpact | None = None,
    insurance_fund: float | Mapping[Any, float] = 0.0,
    adl: Literal["auto", "ranking", "pro_rata"] | None = "auto",
    circuit_breaker: CircuitBreaker | None = None,
    liquidation_fee: float | None = None,
    max_rounds: int = 10_000,
    mmr: Any = 0.004,
    rule: LiquidationRule | str | None = None,
    residual_to: Literal["fund", "trader"] | None = None,
    adl_price: Literal["bankruptcy", "mark", "socialized", "entry"] | None = None,
    impact_half_life: float | str | pd.Timedelta | None = None,
    step_length: str | pd.Timedelta | None = None,
) -> CascadeResult:
    """A cascade at every bar of a price path, with the state carried over.

    Parameters
    ----------
    book : AccountPopulation or Book
        Built at the prices of the first row of ``prices``.
    prices : DataFrame
        Fundamental prices per bar (rows: time, columns: the population's assets). At each bar
        the cascade of :func:`simulate_cascade` runs from that bar's price, with the impact
        carried from the previous bars (see ``impact_half_life``) on top of it; liquidated
        accounts stay closed and the insurance funds carry over.
    impact_half_life : float, str, Timedelta or None
        Half-life of the accumulated liquidation impact between bars: a number of steps (bars)
        or a duration (the step length is read from the index, or ``step_length``). After one
        half-life the carried impact has halved. ``math.inf``: permanent (no decay). ``None``
        (default) or 0: reset at every bar, as before this parameter existed, which is right
        when ``prices`` are observed (they already contain past flows) and understates a
        synthetic path.
    step_length : str or Timedelta, optional
        Length of one bar, when ``impact_half_life`` is a duration and the index is not a time
        index.
    Other parameters
        As :func:`simulate_cascade`.

    Returns
    -------
    CascadeResult
        ``path["step"]`` is the bar's index label.

    Raises
    ------
    ConfigError
        As :func:`simulate_cascade`; a negative half-life, or a duration half-life without a
        step length.
    """
    cfg = _pipeline(rule, liquidation_fee, residual_to, adl, adl_price)
    pop, move, funds = _setup(book, impact, insurance_fund, circuit_breaker, max_rounds, mmr, cfg)
    if not isinstance(prices, pd.DataFrame):
        raise ConfigError(f"prices must be a DataFrame of prices per bar (got {type(prices)}).")
    missing = [a for a in pop.assets if a not in prices.columns]
    if missing:
        raise ConfigError(f"prices lacks columns {missing} for the population's assets.")
    px = prices[list(pop.assets)].to_numpy(dtype="float64")
    if px.shape[0] < 2 or not (np.isfinite(px).all() and (px > 0).all()):
        raise ConfigError("prices must hold >= 2 rows of positive finite prices (no NaN).")
    decays, half_life = _half_life_decays(impact_half_life, prices.index, step_length)
    st = _State(pop, funds)
    p = pop.prices.copy()
    q_eff = np.zeros(len(pop.assets))
    prev = px[0]
    for k, (t, row) in enumerate(zip(prices.index[1:], px[1:], strict=True)):
        q_eff = q_eff * decays[k]
        p, q_eff = _run_step(st, t, prev, row, q_eff, move, circuit_breaker, cfg, int(max_rounds))
        prev = row
    params = {
        "impact": repr(impact),
        "insurance_fund": _fund_param(insurance_fund),
        **cfg.params(),
        "circuit_breaker": repr(circuit_breaker),
        "impact_half_life": half_life,
        "bars": int(px.shape[0]),
    }
    return _result(st, pop, p, params)


def gradual_prices(
    book: AccountPopulation | Any,
    shock: Any,
    steps: int,
    *,
    duration: str | pd.Timedelta | None = None,
    mmr: Any = 0.004,
) -> pd.DataFrame:
    """The fundamental path of a total log move ``shock`` taken in ``steps`` equal log steps.

    Row ``k`` (0..steps) is :math:`P_0 e^{r k / \\text{steps}}`; ``steps=1`` is the gap.

    Parameters
    ----------
    book : AccountPopulation or Book
        Gives the assets and the starting prices :math:`P_0`.
    shock : float, mapping, array or one-row Scenarios
        Total log return per asset (as :func:`simulate_cascade`).
    steps : int
        Number of steps (>= 1).
    duration : str or Timedelta, optional
        Time the whole move takes: the index is then elapsed time (a TimedeltaIndex, step
        length ``duration / steps``), so a half-life given as a duration means the same time
        for every number of steps. Default: the step number.
    mmr : float, TierTable or mapping
        Only used to convert a Book.

    Returns
    -------
    DataFrame
        ``steps + 1`` rows, one column per asset.
    """
    pop = _population(book, mmr)
    if isinstance(steps, bool) or int(steps) != steps or int(steps) < 1:
        raise ConfigError(f"steps must be a whole number >= 1 (got {steps!r}); 1 is the gap.")
    n = int(steps)
    r = _shock_vector(shock, pop.assets)
    frac = np.arange(n + 1) / n
    values = pop.prices[None, :] * np.exp(frac[:, None] * r[None, :])
    if duration is None:
        index: pd.Index = pd.RangeIndex(n + 1, name="step")
    else:
        try:
            total = pd.Timedelta(duration)
        except (TypeError, ValueError) as exc:
            raise ConfigError(
                f"duration must be a duration such as '1h' (got {duration!r})."
            ) from exc
        if total is pd.NaT or total <= pd.Timedelta(0):
            raise ConfigError(
                f"duration must be a positive duration such as '1h' (got {duration!r})."
            )
        index = pd.TimedeltaIndex(np.arange(n + 1) * (total / n), name="elapsed")
    return pd.DataFrame(values, index=index, columns=list(pop.assets))


def shock_paths(
    book: AccountPopulation | Any,
    shock: Any,
    *,
    steps: Sequence[int] = (1, 10, 100),
    duration: str | pd.Timedelta | None = None,
    impact_half_life: float | str | pd.Timedelta | None = math.inf,
    mmr: Any = 0.004,
    **kwargs: Any,
) -> pd.DataFrame:
    """The same total move as a gap and as gradual paths, side by side in one tidy table.

    Each entry of ``steps`` runs :func:`simulate_path` on :func:`gradual_prices` (``1`` is the
    gap, identical to :func:`simulate_cascade`), with the same population, impact, funds, rule
    and breaker, and checks conservation.

    Parameters
    ----------
    book : AccountPopulation or Book
    shock : float, mapping, array or one-row Scenarios
        Total log return per asset.
    steps : sequence of int, default (1, 10, 100)
        Path shapes: must contain 1 (the gap) and at least one gradual path (> 1), so the gap
        is never shown alone.
    duration : str or Timedelta, optional
        Time the whole move takes (see :func:`gradual_prices`); needed when
        ``impact_half_life`` is a duration.
    impact_half_life : float, str, Timedelta or None, default math.inf
        Decay of the carried impact between steps (:func:`simulate_path`). The default keeps it
        permanently, as within the gap, so rows differ only by the shape of the path; a finite
        half-life is a sensitivity (no venue publishes how fast books refill).
    mmr : float, TierTable or mapping
        Only used to convert a Book.
    **kwargs
        Passed to :func:`simulate_path`: ``impact``, ``insurance_fund``, ``rule``, ``adl``,
        ``adl_price``, ``liquidation_fee``, ``residual_to``, ``circuit_breaker``,
        ``max_rounds``.

    Returns
    -------
    DataFrame
        One row per path shape: ``path`` ("gap" or "gradual"), ``steps``, ``n_liquidated``,
        ``bankrupt_share`` (liquidated accounts with bad debt), ``liquidated_notional``,
        ``deleveraged_notional``, ``bad_debt``, ``fees``, ``residual_to_fund``,
        ``insurance_draw``, ``insurance_fund_end``, ``adl``, ``remaining_bad_debt``,
        ``insurance_draw_<fund>`` and ``insurance_fund_end_<fund>`` per fund when there are
        several, ``price_move_<asset>`` (final mark over the start) and ``converged``.
        ``attrs`` records the shock and the parameters.

    Raises
    ------
    ConfigError
        ``steps`` without 1 or without a gradual path, or invalid entries; as
        :func:`simulate_path` otherwise.
    """
    pop = _population(book, mmr)
    shapes = list(steps)
    bad = [s for s in shapes if isinstance(s, bool) or int(s) != s or int(s) < 1]
    if bad or 1 not in shapes or not any(int(s) > 1 for s in shapes):
        raise ConfigError(
            f"steps must be whole numbers >= 1 including 1 (the gap) and at least one gradual "
            f"path (> 1), so the gap is never read alone (got {list(steps)!r}); e.g. (1, 10, 100)."
        )
    for key in ("prices", "book", "shock"):
        if key in kwargs:
            raise ConfigError(f"shock_paths builds the {key} itself; do not pass {key}=.")
    r = _shock_vector(shock, pop.assets)
    rows = []
    for n in dict.fromkeys(int(s) for s in shapes):
        px = gradual_prices(pop, r, n, duration=duration)
        res = simulate_path(pop, px, impact_half_life=impact_half_life, **kwargs)
        res.check_conservation()
        liq = res.liquidated
        row: dict[str, Any] = {
            "path": "gap" if n == 1 else "gradual",
            "steps": n,
            "n_liquidated": res.n_liquidated,
            "bankrupt_share": float((res.bad_debt[liq] > 0).mean()) if liq.any() else 0.0,
            "liquidated_notional": res.total_liquidated_notional,
            "deleveraged_notional": res.deleveraged_notional,
            "bad_debt": res.total_bad_debt,
            "fees": res.total_fees,
            "residual_to_fund": res.total_residual_to_fund,
            "insurance_draw": res.insurance_draw,
            "insurance_fund_end": res.insurance_fund_final,
            "adl": res.total_adl,
            "remaining_bad_debt": res.remaining_bad_debt,
        }
        if res.funds is not None and len(res.funds) > 1:
            for name, f in res.funds.iterrows():
                row[f"insurance_draw_{name}"] = float(f["draw"])
                row[f"insurance_fund_end_{name}"] = float(f["final"])
        for j, a in enumerate(pop.assets):
            row[f"price_move_{a}"] = float(res.final_prices[j] / res.initial_prices[j] - 1.0)
        row["converged"] = res.converged
        rows.append(row)
    out = pd.DataFrame(rows)
    out.attrs = {
        "shock": dict(zip(pop.assets, r.tolist(), strict=True)),
        "duration": None if duration is None else str(pd.Timedelta(duration)),
        "impact_half_life": str(impact_half_life),
        "rule": None
        if kwargs.get("rule") is None
        else str(getattr(kwargs["rule"], "name", kwargs["rule"])),
    }
    return out


# ---------------------------------------------------------------------------------------------
# the per-account reference loop
# ---------------------------------------------------------------------------------------------


def _alloc_loop(
    amount: float, cands: list[tuple[int, float, float]], ranked: bool
) -> list[tuple[int, float]]:
    """Pure-Python twin of ``_allocate``: cands are (account, cap, score)."""
    if not ranked:
        tot = sum(c[1] for c in cands)
        return [(k, cap * min(1.0, amount / tot)) for k, cap, _ in cands]
    out, before = [], 0.0
    for k, cap, _ in sorted(cands, key=lambda c: -c[2]):
        out.append((k, min(max(amount - before, 0.0), cap)))
        before += cap
    return out


def simulate_cascade_loop(
    book: AccountPopulation,
    shock: Any,
    *,
    impact: SquareRootImpact | DepthImpact | None = None,
    insurance_fund: float | Mapping[Any, float] = 0.0,
    adl: Literal["auto", "ranking", "pro_rata"] | None = "auto",
    liquidation_fee: float | None = None,
    max_rounds: int = 10_000,
    rule: LiquidationRule | str | None = None,
    residual_to: Literal["fund", "trader"] | None = None,
    adl_price: Literal["bankruptcy", "mark", "socialized", "entry"] | None = None,
) -> dict[str, float]:
    """Pure-Python per-account twin of :func:`simulate_cascade` (flat MMR, no breaker).

    The same model, one account at a time in Python loops, with the same pipeline (rule, fee,
    residual margin to the fund, funds per asset, ADL at every price): the reference the
    vectorized engine is tested against and the baseline of ``benchmarks/bench_cascade.py``.

    Returns
    -------
    dict
        ``n_liquidated``, ``liquidated_notional``, ``deleveraged_notional``, ``bad_debt``,
        ``insurance_draw``, ``adl``, ``remaining_bad_debt``, ``fees``, ``residual_to_fund``,
        ``insurance_fund`` (total), ``insurance_fund_<fund>`` per fund when several,
        ``rounds``, ``price_<asset>`` and ``deleveraged_quantity_<asset>``.
    """
    cfg = _pipeline(rule, liquidation_fee, residual_to, adl, adl_price)
    pop, move, funds = _setup(book, impact, insurance_fund, None, max_rounds, 0, cfg)
    mmr = pop.flat_mmr
    if mmr is None:
        raise ConfigError("simulate_cascade_loop supports flat MMR only (got a tier table).")
    assets = pop.assets
    n = len(assets)
    r = _shock_vector(shock, assets)
    p0 = [float(x) for x in pop.prices]
    pf = [p0[j] * math.exp(float(r[j])) for j in range(n)]
    q = pop.quantity.tolist()
    # both filled in by AccountPopulation.__post_init__
    assert pop.entry_price is not None and pop.coin_collateral is not None
    entry = pop.entry_price.tolist()
    cash = pop.collateral.tolist()
    coin = pop.coin_collateral.tolist()
    alive = [any(x != 0.0 for x in row) for row in q]
    m_rate = mmr.tolist()
    of = [int(k) for k in funds.of_asset]
    n_funds = len(funds.names)
    fund = [float(x) for x in funds.initial]
    ranked = cfg.adl == "ranking"

    def mv(flow: list[float]) -> list[float]:
        if move is None:
            return [0.0] * n
        return [float(x) for x in move(np.array(flow))]

    def marks(flow: list[float]) -> list[float]:
        m = mv(flow)
        if any(x <= -1.0 for x in m):
            hint = getattr(move, "parameter", "check the impact model")
            raise ModelError(f"price impact makes prices non-positive: {hint}.")
        return [pf[j] * (1.0 + m[j]) for j in range(n)]

    def eq(i: int, p: list[float]) -> float:
        return (
            cash[i]
            + sum(coin[i][j] * p[j] for j in range(n))
            + sum(q[i][j] * (p[j] - entry[i][j]) for j in range(n))
        )

    def winners(j: int, side: float, p: list[float]) -> list[tuple[int, float, float, float]]:
        """(account, profit, score, |q|) of profitable positions opposite ``side``."""
        out = []
        for k in range(len(q)):
            if alive[k] and q[k][j] * side < 0:
                pi = q[k][j] * (p[j] - entry[k][j])
                if pi > 0:
                    ret = pi / (abs(q[k][j]) * entry[k][j])
                    lev = abs(q[k][j]) * p[j] / max(eq(k, p), 1e-300)
                    out.append((k, pi, ret * lev, abs(q[k][j])))
        return out

    q_eff = [0.0] * n
    p = marks(q_eff)
    tot = dict.fromkeys(
        ("n_liquidated", "liquidated_notional", "deleveraged_notional", "bad_debt",
         "insurance_draw", "adl", "remaining_bad_debt", "fees", "residual_to_fund"),
        0.0,
    )  # fmt: skip
    del_qty = [0.0] * n
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
        p_trig = p
        debt = fees = resid = 0.0
        fee_f, res_f, debt_f = [0.0] * n_funds, [0.0] * n_funds, [0.0] * n_funds
        # (asset, side, quantity, execution price, notional share, account debt)
        owed: list[tuple[int, float, float, float, float, float]] = []
        for _, i in trig:
            for j in range(n):
                q_eff[j] += -q[i][j] * p0[j]
            pe = marks(q_eff)
            e = eq(i, pe)
            notion = [abs(q[i][j]) * pe[j] for j in range(n)]
            tn = sum(notion)
            fee = min(cfg.fee * tn, max(e, 0.0))
            res = max(e - fee, 0.0) if cfg.residual_to == "fund" else 0.0
            bd = max(-e, 0.0)
            for j in range(n):
                if q[i][j] != 0.0:
                    w = notion[j] / tn
                    owed.append((j, 1.0 if q[i][j] > 0 else -1.0, q[i][j], pe[j], w, bd))
                    fee_f[of[j]] += fee * w
                    res_f[of[j]] += res * w
                    debt_f[of[j]] += w * bd
            debt += bd
            fees += fee
            resid += res
            tot["liquidated_notional"] += tn
            tot["n_liquidated"] += 1
            alive[i] = False
            q[i] = [0.0] * n
        p = marks(q_eff)
        if n_funds == 1:
            fee_f, res_f, debt_f = [fees], [resid], [debt]
        draw = 0.0
        scale = [0.0] * n_funds
        for k in range(n_funds):
            fund[k] += fee_f[k] + res_f[k]
            d = min(fund[k], debt_f[k])
            fund[k] -= d
            draw += d
            scale[k] = (debt_f[k] - d) / debt_f[k] if debt_f[k] > 0 else 0.0
        uncovered = debt - draw if n_funds == 1 else sum(debt_f) - draw
        taken = 0.0
        moved = False
        if uncovered > 0.0 and cfg.adl is not None:
            for j in range(n):
                for side in (1.0, -1.0):
                    mine = [o for o in owed if o[0] == j and o[1] == side]
                    amounts = [o[4] * o[5] * scale[of[j]] for o in mine]
                    d = sum(amounts)
                    if d <= 0.0:
                        continue
                    cands = winners(j, side, p)
                    if not cands:
                        continue
                    if cfg.adl_price in ("entry", "socialized"):
                        takes = _alloc_loop(d, [(k, pi, s) for k, pi, s, _ in cands], ranked)
                        for k, a in takes:
                            pi = q[k][j] * (p[j] - entry[k][j])
                            if cfg.adl_price == "entry":
                                q[k][j] *= 1.0 - a / pi
                                alive[k] = any(x != 0.0 for x in q[k])
                            else:
                                entry[k][j] += a / q[k][j]
                            taken += a
                        continue
                    x = price_sum = gap_sum = 0.0
                    for (_, _, qi, pei, w, bd), amt in zip(mine, amounts, strict=True):
                        if amt <= 0.0:
                            continue
                        qty = scale[of[j]] * abs(qi)
                        bp = pei + w * bd / qi
                        lo, hi = min(bp, pei), max(bp, pei)
                        c = bp if cfg.adl_price == "bankruptcy" else min(max(p_trig[j], lo), hi)
                        x += qty
                        price_sum += qty * c
                        gap_sum += qty * abs(c - pei)
                    price, gap = price_sum / x, gap_sum / x
                    filled = 0.0
                    for k, a in _alloc_loop(x, [(k, cap, s) for k, _, s, cap in cands], ranked):
                        sgn = 1.0 if q[k][j] > 0 else -1.0
                        cash[k] += sgn * a * (price - entry[k][j])
                        q[k][j] = 0.0 if a >= abs(q[k][j]) else q[k][j] - sgn * a
                        alive[k] = any(v != 0.0 for v in q[k])
                        taken += a * gap
                        filled += a
                    if filled > 0.0:
                        tot["deleveraged_notional"] += filled * price
                        del_qty[j] += filled
                        q_eff[j] += side * filled * p0[j]
                        moved = True
        if moved:
            p = marks(q_eff)
        tot["bad_debt"] += debt
        tot["fees"] += fees
        tot["residual_to_fund"] += resid
        tot["insurance_draw"] += draw
        tot["adl"] += taken
        tot["remaining_bad_debt"] += _remaining(uncovered, taken)
        rounds += 1
    tot["insurance_fund"] = sum(fund)
    if n_funds > 1:
        for fund_name, v in zip(funds.names, fund, strict=True):
            tot[f"insurance_fund_{fund_name}"] = v
    tot["rounds"] = float(rounds)
    for j, asset in enumerate(assets):
        tot[f"price_{asset}"] = p[j]
        tot[f"deleveraged_quantity_{asset}"] = del_qty[j]
    return tot
