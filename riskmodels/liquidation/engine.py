r"""The liquidation engine: mark paths × positions × a venue's rule.

:func:`simulate_liquidations` follows each position along the mark price as a venue does
(VENUES.md, "Liquidation pipelines, step by step"):

1. **Trigger.** The first passage of the mark through the position's liquidation price
   :math:`LP` (equity = maintenance margin), found by a first-passage search
   (:mod:`riskmodels.liquidation._kernels`), not a scan over bars. On bars the passage is read
   from the bar's low (long) or high (short): *the path is assumed continuous inside a bar*, so
   the trigger price is :math:`LP`, or the bar's open when the bar opens beyond it (a gap). On a
   simulated grid the mark is monitored at the grid points.
2. **Close-out.** After the delay :math:`\Delta` the engine's order fills at the mark then, moved
   against the position by the impact :math:`\iota(N)`: :math:`c = M_{\tau+\Delta}\,(1 - s\,\iota)`.
   A partial rule sends a fraction of the position, re-checks after the cooldown, and continues
   from the smaller position's new liquidation price.
3. **Fee and residual.** The clearance fee (capped at the equity left: a fee never creates bad
   debt) and, where the rule says so, the residual margin go to the insurance fund.
4. **Bad debt.** Equity below zero after the close-out (a fill beyond the bankruptcy price
   :math:`BP`) is bad debt, paid by the fund while it lasts, then by auto-deleveraging (ADL):
   profitable opposite positions, ranked by the rule, close the uncovered quantity at the rule's
   price (the bankruptcy price, or the mark), or the rest is socialized.
5. **Backstop.** Where the rule has one (Hyperliquid), the backstop takes the whole position and
   its collateral when equity falls below a fraction of MM before the order fills; its own
   close-out after its delay decides its gain or the bad debt.
6. **Funding** (optional) is paid from the wallet at each settlement while the position is open,
   so the liquidation price moves at every settlement.

Resolution and bounds
---------------------
With bars at least as fine as the delay the close-out price is the close of the bar in which
:math:`\tau + \Delta` falls, taking :math:`\tau` at the trigger bar's open (a timing error under
one bar). When the bars are **coarser than the delay** (hourly bars and a 30 s delay) the data
cannot identify the close-out price, and the engine reports **bounds** instead of a point:
the close-out at the trigger price (an instant close-out) and at the adverse extreme of the
bars the fill can fall in (the trigger bar and the bars that :math:`\Delta` reaches into). Every
money figure then comes as a lower and an upper bound, labelled as such.

Formulas (linear contracts, side :math:`s = \pm 1`, size :math:`q`, entry :math:`e`, wallet
:math:`W`, bracket rate :math:`m` with size surcharge :math:`k q` and maintenance amount
:math:`c_b`; Binance FAQ "How to Calculate Liquidation Price of USDⓈ-M Futures Contracts",
VENUES.md §1.2):

.. math::

    LP = \frac{W + c_b - s\,q\,e}{q\,(m + kq - s)}, \qquad BP = e - s\,\frac{W}{q},

with the bracket the one that holds :math:`q\,LP` (as
:func:`riskmodels.margin.isolated_liquidation_price`). Inverse contracts with USD face
:math:`F` and a coin wallet use :math:`LP = (F m - c_b + sF)/(W + sF/e)` and
:math:`1/BP = 1/e + W/(sF)`; their money is in coin. The backstop level solves equity =
:math:`\phi\,\text{MM}` in the same way.

Closed forms the tests check: on Brownian mark paths the trigger probability is the
reflection-principle first-passage probability, and with zero drift
:math:`P(\text{bad debt} \mid \text{liquidation}) = P(W_\Delta < -d/\sigma)
= \Phi(-d/(\sigma\sqrt{\Delta}))` for the log distance :math:`d` between :math:`LP` and
:math:`BP`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from riskmodels._display import esc, format_rows, table_html
from riskmodels._time import bar_frequency
from riskmodels.exceptions import ConfigError, DataError, ModelError, PositionError
from riskmodels.liquidation._kernels import MinTable
from riskmodels.liquidation.rules import LiquidationRule, MaintenanceSchedule, parse_duration

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = [
    "LiquidationResult",
    "MarkPaths",
    "allocate_adl",
    "liquidation_prices",
    "simulate_liquidations",
]

Resolution = Literal["auto", "point", "bounds"]
_BOUND_LABELS = {
    "instant": "lower bound (instant close-out)",
    "extreme": "upper bound (bar extreme)",
}


# ---------------------------------------------------------------------------------- prices
@dataclass(frozen=True)
class MarkPaths:
    """Mark prices the engine runs on: bars of one series, or simulated paths on a grid.

    Parameters
    ----------
    open, high, low, close : array, shape (n_paths, n_steps)
    times : Index of length n_steps
        Bar open times (UTC ``DatetimeIndex``) or grid times (``TimedeltaIndex`` from 0).
    step : Timedelta
        Bar length or grid step.
    kind : {"bars", "grid"}
    price_type : str
        "mark", "last", "index" or "simulated".
    volume : array or None
        Quote volume per bar (USD), when known.
    """

    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    times: pd.Index
    step: pd.Timedelta
    kind: Literal["bars", "grid"]
    price_type: str = "mark"
    volume: np.ndarray | None = None

    @property
    def n_paths(self) -> int:
        return int(self.close.shape[0])

    @property
    def n_steps(self) -> int:
        return int(self.close.shape[1])

    @property
    def years(self) -> float:
        return float(self.n_steps * self.step / pd.Timedelta(days=365.25))

    @classmethod
    def from_input(cls, prices: Any, *, step: Any = None) -> MarkPaths:
        """Validate a bar frame or a path array (see :func:`simulate_liquidations`)."""
        if isinstance(prices, pd.DataFrame):
            return cls._from_frame(prices)
        if isinstance(prices, MarkPaths):
            return prices
        arr = np.asarray(prices, dtype="float64") if not isinstance(prices, str) else None
        if arr is None or arr.ndim not in (1, 2) or arr.size == 0:
            raise DataError(
                "prices must be a bar frame (open/high/low/close, UTC index) or a (n_paths, "
                "n_steps) array of simulated mark prices with step=..."
            )
        if step is None:
            raise ConfigError(
                "simulated mark paths need their grid step: simulate_liquidations(paths, ..., "
                "step='1s')."
            )
        dt = parse_duration(step, "step")
        if dt <= pd.Timedelta(0):
            raise ConfigError(f"step must be > 0 (got {step!r}).")
        arr = np.atleast_2d(arr)
        if not np.isfinite(arr).all() or (arr <= 0).any():
            raise DataError(
                "simulated mark paths must be finite and > 0: simulate prices as "
                "P0 * exp(log-returns)."
            )
        times = pd.timedelta_range(start=pd.Timedelta(0), periods=arr.shape[1], freq=dt)
        return cls(arr, arr, arr, arr, times, dt, "grid", "simulated")

    @classmethod
    def _from_frame(cls, frame: pd.DataFrame) -> MarkPaths:
        missing = [c for c in ("open", "high", "low", "close") if c not in frame.columns]
        if missing:
            raise DataError(
                f"the price frame lacks {missing}: pass bars with open/high/low/close "
                "(e.g. load_ohlcv(...) pivoted to one symbol, or MirrorSource().bars(...))."
            )
        idx = frame.index
        if not isinstance(idx, pd.DatetimeIndex) or idx.tz is None:
            raise DataError(
                "the price frame needs a tz-aware UTC DatetimeIndex of bar open times "
                "(frame.tz_localize('UTC') if the times are UTC)."
            )
        if len(idx) < 2:
            raise DataError("the price frame needs at least 2 bars.")
        if not idx.is_monotonic_increasing or idx.has_duplicates:
            raise DataError(
                "the price frame's index must be sorted and unique: sort_index() and drop "
                "duplicated bars first."
            )
        step_ns = bar_frequency(idx).value  # the package's one rule (riskmodels._time)
        diffs = np.diff(idx.as_unit("ns").asi8)
        if (diffs != step_ns).any():
            gaps = np.flatnonzero(diffs != step_ns)
            first = idx[gaps[0]]
            n_missing = int(((diffs[gaps] // step_ns) - 1).sum())
            raise DataError(
                f"the prices have gaps inside the window: {n_missing} missing "
                f"{pd.Timedelta(step_ns, 'ns')} bars, the first after {first}. A missing bar is "
                "never filled: pass one gap-free window at a time (split the frame at its gaps, "
                "e.g. per crash window), or use coarser bars."
            )
        ohlc = frame[["open", "high", "low", "close"]].to_numpy(dtype="float64", na_value=np.nan)
        if not np.isfinite(ohlc).all():
            raise DataError(
                "the price frame holds NaN or inf prices: drop or reload those bars (a NaN row "
                "is a gap; pass one gap-free window at a time)."
            )
        if (ohlc <= 0).any():
            raise DataError("the price frame holds non-positive prices.")
        o, h, lo, c = ohlc.T
        if (h < np.maximum(o, c) * (1 - 1e-12)).any() or (
            lo > np.minimum(o, c) * (1 + 1e-12)
        ).any():
            raise DataError(
                "the price frame has bars whose high/low do not contain open/close: check the "
                "data with riskmodels.data.check_quality."
            )
        vol = None
        if "quote_volume" in frame.columns:
            v = frame["quote_volume"].to_numpy(dtype="float64", na_value=np.nan)
            vol = v[None, :] if np.isfinite(v).all() else None
        price_type = str(frame.attrs.get("price_type", "unknown"))
        return cls(
            o[None, :],
            h[None, :],
            lo[None, :],
            c[None, :],
            idx,
            pd.Timedelta(step_ns, "ns"),
            "bars",
            price_type,
            vol,
        )


# ---------------------------------------------------------------------------------- positions
@dataclass(frozen=True)
class _Book:
    """Validated positions (cross accounts netted), one entry per liquidatable unit."""

    account: np.ndarray  # object ids
    side: np.ndarray  # +1 / -1
    qty: np.ndarray  # coins (linear) or USD face (inverse)
    entry: np.ndarray
    wallet: np.ndarray  # settlement currency
    start: np.ndarray  # bar index of entry
    inverse: bool
    labels: np.ndarray  # position label per unit


def _side_one(v: Any) -> float:
    if isinstance(v, str):
        t = v.strip().lower()
        if t in ("long", "buy", "l", "+1", "1"):
            return 1.0
        if t in ("short", "sell", "s", "-1"):
            return -1.0
    elif isinstance(v, int | float | np.number) and not isinstance(v, bool) and v in (1, -1):
        return float(v)
    raise PositionError(f"side must be 'long'/'short' or +1/-1 (got {v!r}).")


def _side(values: pd.Series) -> np.ndarray:
    """+1/-1 per row; each distinct value is parsed once (a million rows hold a few)."""
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        v = values.to_numpy(dtype="float64")
        bad = ~np.isin(v, (1.0, -1.0))
        if bad.any():
            _side_one(v[np.flatnonzero(bad)[0]])  # raises with the offending value
        return v
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    lookup = np.array([_side_one(u) for u in uniques], dtype="float64")
    return lookup[codes]


def _labels(frame: pd.DataFrame, col: str, allowed: set[str]) -> np.ndarray | None:
    """Lower-cased values of an optional text column (None when absent), checked."""
    if col not in frame.columns:
        return None
    codes, uniques = pd.factorize(frame[col], use_na_sentinel=False)
    low = np.array([str(u).strip().lower() for u in uniques], dtype=object)
    bad = sorted(set(low) - allowed)
    if bad:
        raise PositionError(f"{col} must be one of {sorted(allowed)} (got {bad}).")
    return low[codes]


def _numeric(frame: pd.DataFrame, col: str, *, positive: bool) -> np.ndarray:
    try:
        x = pd.to_numeric(frame[col], errors="raise").to_numpy(dtype="float64")
    except (TypeError, ValueError) as exc:
        raise PositionError(f"positions[{col!r}] must be numeric: {exc}.") from exc
    bad = ~np.isfinite(x) | ((x <= 0) if positive else (x < 0))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        what = "> 0" if positive else ">= 0"
        hint = (
            " A negative wallet is an account that is already bankrupt: fund it before simulating."
            if col == "wallet"
            else ""
        )
        raise PositionError(
            f"positions[{col!r}] must be finite and {what}; row {frame.index[i]!r} has "
            f"{x[i]!r}.{hint}"
        )
    return x


def _book(positions: Any, mark: MarkPaths | None) -> _Book:
    """Validate positions; ``mark`` places their entry times (None: every entry at the start)."""
    if not isinstance(positions, pd.DataFrame):
        raise PositionError(
            "positions must be a DataFrame with columns side, quantity, entry_price, wallet "
            "(optional: entry_time, account, margin, contract)."
        )
    if positions.empty:
        raise PositionError("positions is empty: pass at least one position.")
    need = [c for c in ("side", "quantity", "entry_price", "wallet") if c not in positions.columns]
    if need:
        raise PositionError(
            f"positions lacks {need}: each row needs side ('long'/'short'), quantity (coins; USD "
            "face for inverse contracts), entry_price and wallet (isolated margin, or the cross "
            "account's collateral)."
        )
    side = _side(positions["side"])
    qty = _numeric(positions, "quantity", positive=True)
    entry = _numeric(positions, "entry_price", positive=True)
    wallet = _numeric(positions, "wallet", positive=False)
    contract = _labels(positions, "contract", {"linear", "inverse"})
    kinds = {"linear"} if contract is None else set(np.unique(contract))
    if len(kinds) > 1:
        raise PositionError(
            "positions mix linear and inverse contracts: run them separately (each settles in "
            "its own currency with its own insurance fund)."
        )
    inverse = kinds == {"inverse"}
    if "entry_time" in positions.columns and mark is not None:
        if mark.kind == "grid":
            t = pd.to_timedelta(positions["entry_time"])
        else:
            t = pd.to_datetime(positions["entry_time"], utc=True)
        start = mark.times.searchsorted(pd.Index(t), side="left").astype(np.int64)
        late = start >= mark.n_steps
        if late.any():
            raise PositionError(
                f"{int(late.sum())} positions enter after the last bar ({mark.times[-1]}): "
                "drop them or pass a longer price window."
            )
    else:
        start = np.zeros(len(positions), dtype=np.int64)
    account = (
        positions["account"].to_numpy(dtype=object)
        if "account" in positions.columns
        else positions.index.to_numpy(dtype=object)
    )
    margin = _labels(positions, "margin", {"isolated", "cross"})
    cross = np.zeros(len(positions), dtype=bool) if margin is None else margin == "cross"
    labels = positions.index.to_numpy(dtype=object)
    if cross.any():
        # One symbol per run: a cross account's positions net into one (one-way mode); its
        # collateral is the wallet stated on its rows (all rows of an account must agree).
        keep = ~cross
        rows: dict[str, list[Any]] = {k: [] for k in ("acc", "side", "qty", "e", "w", "s", "lab")}
        frame = pd.DataFrame(
            {
                "acc": account[cross],
                "sq": side[cross] * qty[cross],
                "sqe": side[cross] * qty[cross] * entry[cross],
                "w": wallet[cross],
                "s": start[cross],
            }
        )
        for acc, g in frame.groupby("acc", sort=False):
            if g["w"].nunique() > 1:
                raise PositionError(
                    f"cross account {acc!r} states different wallets on its rows: give the "
                    "account's collateral once (the same value on every row)."
                )
            if g["s"].nunique() > 1:
                raise PositionError(
                    f"cross account {acc!r} has positions with different entry times: net "
                    "them at one time or pass them as isolated positions."
                )
            q = float(g["sq"].sum())
            if abs(q) < 1e-12 * float(g["sq"].abs().sum()):
                continue  # flat: nothing to liquidate
            rows["acc"].append(acc)
            rows["side"].append(math.copysign(1.0, q))
            rows["qty"].append(abs(q))
            rows["e"].append(float(g["sqe"].sum()) / q)
            rows["w"].append(float(g["w"].iloc[0]))
            rows["s"].append(int(g["s"].iloc[0]))
            rows["lab"].append(f"cross:{acc}")
        account = np.concatenate([account[keep], np.array(rows["acc"], dtype=object)])
        side = np.concatenate([side[keep], rows["side"]])
        qty = np.concatenate([qty[keep], rows["qty"]])
        entry = np.concatenate([entry[keep], rows["e"]])
        wallet = np.concatenate([wallet[keep], rows["w"]])
        start = np.concatenate([start[keep], np.array(rows["s"], dtype=np.int64)])
        labels = np.concatenate([labels[keep], np.array(rows["lab"], dtype=object)])
    return _Book(account, side, qty, entry, wallet, start.astype(np.int64), inverse, labels)


# ---------------------------------------------------------------------------------- levels
def _level(
    sched: MaintenanceSchedule,
    s: np.ndarray,
    q: np.ndarray,
    e: np.ndarray,
    w: np.ndarray,
    inverse: bool,
    frac: float = 1.0,
) -> np.ndarray:
    """Price at which equity = ``frac`` × MM (the liquidation price for ``frac = 1``).

    Tries every bracket and keeps the one that holds the notional at the solution (MM is
    continuous in notional, so one bracket is consistent); NaN where equity never meets it
    (the wallet covers the position at any price).
    """
    out = np.full(q.shape, np.nan)
    lower, upper = sched.lower, sched.upper
    for b in range(len(sched.mmr)):
        m = frac * (sched.mmr[b] + sched.per_coin * (0.0 if inverse else q))
        c = frac * sched.cum[b]
        with np.errstate(divide="ignore", invalid="ignore"):
            if inverse:
                den = w + s * q / e
                lp = (q * m - c + s * q) / den
                notional = q  # USD face: does not move with the price
            else:
                lp = (w + c - s * q * e) / (q * (m - s))
                notional = q * lp
        ok = np.isnan(out) & (lp > 0) & np.isfinite(lp)
        ok &= (notional > lower[b] * (1 - 1e-12)) | (b == 0)
        ok &= notional <= upper[b] * (1 + 1e-12)
        out[ok] = lp[ok]
    return out


def _bankruptcy(
    s: np.ndarray, q: np.ndarray, e: np.ndarray, w: np.ndarray, inverse: bool
) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        if inverse:
            inv = 1.0 / e + w / (s * q)
            return np.where(inv > 0, 1.0 / inv, np.inf)
        return np.where(s > 0, np.maximum(e - w / q, 0.0), e + w / q)


def liquidation_prices(positions: pd.DataFrame, rule: LiquidationRule | str) -> pd.DataFrame:
    """Liquidation and bankruptcy prices of isolated positions under a rule (no prices needed).

    Returns
    -------
    DataFrame
        ``liquidation_price``, ``bankruptcy_price``, ``maintenance_at_entry``, per position.
    """
    rule = LiquidationRule.load(rule) if isinstance(rule, str) else rule
    bk = _book(positions, None)
    lp = _level(rule.schedule, bk.side, bk.qty, bk.entry, bk.wallet, bk.inverse)
    bp = _bankruptcy(bk.side, bk.qty, bk.entry, bk.wallet, bk.inverse)
    notional = bk.qty if bk.inverse else bk.qty * bk.entry
    return pd.DataFrame(
        {
            "liquidation_price": lp,
            "bankruptcy_price": bp,
            "maintenance_at_entry": rule.maintenance(notional, 0 if bk.inverse else bk.qty),
        },
        index=pd.Index(bk.labels, name="position"),
    )


# ---------------------------------------------------------------------------------- result
@dataclass(frozen=True, kw_only=True)
class LiquidationResult:
    """What :func:`simulate_liquidations` found.

    Attributes
    ----------
    events : DataFrame
        One row per close-out order (a one-shot liquidation has one; a sliced one has one per
        slice, ``order`` 0, 1, ...). In bounds mode a ``bound`` column says which bound a row
        belongs to. Columns: ``path, position, account, order, kind`` ("book" or "backstop"),
        ``trigger_time, trigger_mark, liquidation_price, bankruptcy_price, fill_time,
        mark_at_fill, closeout_price, quantity, notional, fee, residual_to_fund, trader_keeps,
        bad_debt, fund_draw, adl_quantity, adl_price, adl_cover, socialized, fund_after,
        censored``.
    adl : DataFrame
        One row per deleveraged counterparty slice: ``path, time, counterparty, quantity,
        price, cost`` (the counterparty's loss against the mark).
    fund : DataFrame
        The insurance fund after every event, per path (and bound).
    resolution : {"point", "bounds"}
    n_positions, n_paths : int
    open_interest : float
        Sum of entry notionals (USD; coin face for inverse contracts) of the positions.
    years : float
        Length of the price window.
    currency : str
        Settlement currency of the money columns ("USD" or "coin").
    assumptions : dict of str to str
        Delay, impact, fund, price type and what the bars can identify.
    rule : LiquidationRule
    survivors : DataFrame
        Pairs still (partly) open at the end: ``path, position, quantity_left, funding_paid,
        wallet``.
    fund_start : float
        The insurance fund at the start.
    mark : MarkPaths or None
        The mark prices the engine ran on (what :meth:`plot` draws); None when the result was
        built without them.
    """

    events: pd.DataFrame
    adl: pd.DataFrame
    fund: pd.DataFrame
    resolution: str
    n_positions: int
    n_paths: int
    open_interest: float
    years: float
    currency: str
    assumptions: Mapping[str, str]
    rule: LiquidationRule = field(repr=False)
    survivors: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)
    fund_start: float = 0.0
    mark: MarkPaths | None = field(default=None, repr=False, compare=False)

    def _bounds(self) -> list[str | None]:
        return list(_BOUND_LABELS.values()) if self.resolution == "bounds" else [None]

    def _one(self, ev: pd.DataFrame, fund0: float) -> dict[str, float]:
        pairs = self.n_positions * self.n_paths
        key = ["path", "position"]
        per_pos = ev.groupby(key, sort=False)[["bad_debt", "notional"]].sum()
        n_liq = len(per_pos)
        n_bad = int((per_pos["bad_debt"] > 0).sum())
        total_bad = float(ev["bad_debt"].sum())
        fund_end = (
            ev.groupby("path")["fund_after"].last().reindex(range(self.n_paths)).fillna(fund0)
            if len(ev)
            else pd.Series(fund0, index=range(self.n_paths))
        )
        oi_years = self.open_interest * self.n_paths * self.years
        return {
            "positions": float(pairs),
            "liquidated": float(n_liq),
            "P(liquidation)": n_liq / pairs if pairs else math.nan,
            "P(bad debt | liquidation)": n_bad / n_liq if n_liq else math.nan,
            "liquidated notional": float(ev["notional"].sum()),
            "sold to the market": float(
                (ev["quantity"] - ev["adl_quantity"]).mul(ev["closeout_price"]).sum()
            )
            if not self._inverse
            else float((ev["quantity"] - ev["adl_quantity"]).sum()),
            "fees and residual to fund": float(ev["fee"].sum() + ev["residual_to_fund"].sum()),
            "bad debt": total_bad,
            "bad debt per liquidation": total_bad / n_liq if n_liq else math.nan,
            "bad debt per open-interest-year": total_bad / oi_years if oi_years > 0 else math.nan,
            "fund draw": float(ev["fund_draw"].sum()),
            "ADL volume": float((ev["adl_quantity"] * ev["adl_price"].fillna(0.0)).sum())
            if not self._inverse
            else float(ev["adl_quantity"].sum()),
            "ADL cost to counterparties": float(ev["adl_cover"].sum()),
            "socialized loss": float(ev["socialized"].sum()),
            "fund at start": fund0,
            "fund at end (mean over paths)": float(fund_end.mean()),
            "fund minimum": float(min(fund0, ev["fund_after"].min())) if len(ev) else fund0,
        }

    @property
    def _inverse(self) -> bool:
        return self.currency == "coin"

    def summary(self) -> pd.DataFrame:
        """P(liquidation), P(bad debt | liquidation), bad debt per liquidation and per
        open-interest-year, fund and ADL figures.

        Returns
        -------
        DataFrame
            One column ``estimate`` (point resolution) or two, ``lower bound`` and
            ``upper bound`` (bars coarser than the delay), never one point figure there.
        """
        fund0 = self.fund_start
        cols = {}
        for b in self._bounds():
            ev = self.events if b is None else self.events[self.events["bound"] == b]
            cols["estimate" if b is None else b.split(" (")[0]] = self._one(ev, fund0)
        out = pd.DataFrame(cols)
        out.index.name = f"{self.rule.name} ({self.currency})"
        return out

    def check_conservation(self, rtol: float = 1e-9) -> dict[str, float]:
        """Check the ledger, including what liquidations sold to the external market.

        Per liquidated position, what the trader put in plus what the close-out realized
        (market fills and ADL fills, against the entry price) equals what went out:

        .. math::

            W_0 - \\text{funding} + \\sum_j s\\,q^{mkt}_j(c_j - e) + s\\,q^{adl}_j(X_j - e)
            = \\text{kept} + \\text{fee} + \\text{residual to fund}
              - \\text{fund draw} - \\text{socialized},

        quantities add up (liquidated = sold to the market + deleveraged), and per path the
        fund ends at its start plus inflows minus draws.

        Raises
        ------
        ModelError
            When an identity fails beyond ``rtol`` of the gross flows.
        """
        out = {}
        for b in self._bounds():
            ev = self.events if b is None else self.events[self.events["bound"] == b]
            if ev.empty:
                continue
            q_mkt = ev["quantity"] - ev["adl_quantity"]
            if self._inverse:
                pnl = ev["side"] * (
                    q_mkt * (1 / ev["entry_price"] - 1 / ev["closeout_price"])
                    + ev["adl_quantity"] * (1 / ev["entry_price"] - 1 / ev["adl_price"].fillna(1.0))
                )
            else:
                pnl = ev["side"] * (
                    q_mkt * (ev["closeout_price"] - ev["entry_price"])
                    + ev["adl_quantity"] * (ev["adl_price"].fillna(0.0) - ev["entry_price"])
                )
            per = (
                ev.assign(_pnl=pnl)
                .groupby(["path", "position"], sort=False)
                .agg(
                    pnl=("_pnl", "sum"),
                    w0=("wallet_at_entry", "first"),
                    funding=("funding_paid", "first"),
                    kept=("trader_keeps", "sum"),
                    fee=("fee", "sum"),
                    res=("residual_to_fund", "sum"),
                    draw=("fund_draw", "sum"),
                    soc=("socialized", "sum"),
                    scale=("scale", "first"),
                )
            )
            lhs = per["scale"] * (per["w0"] - per["funding"]) + per["pnl"]
            rhs = per["kept"] + per["fee"] + per["res"] - per["draw"] - per["soc"]
            scale = float((per["w0"].abs() + per["pnl"].abs()).sum()) or 1.0
            gap = float((lhs - rhs).abs().max())
            if gap > rtol * scale:
                raise ModelError(f"ledger does not balance ({b or 'point'}): max gap {gap:.6g}.")
            out[f"max gap ({b or 'point'})"] = gap
        return out

    def plot(
        self,
        position: Any = None,
        *,
        path: int = 0,
        window: Any = None,
        ax: Axes | None = None,
    ) -> Axes:
        """Draw one liquidation on the mark path: trigger, liquidation and bankruptcy prices, fill.

        Drawn: the mark the engine ran on (the close of each bar at the bar's end, with the
        bars' low-high range shaded; on a simulated grid the grid prices), the position's
        liquidation price (equity = maintenance margin) and bankruptcy price (equity = 0) at
        its first trigger as horizontal lines, the entry price (dotted), the trigger as a
        vertical line (on bars: the open of the bar in which the mark first reached the
        liquidation price) and each close-out fill at its time and price after impact. Where
        the bars are coarser than the delay (bounds) both fills are drawn: the instant
        close-out (lower bound) and the adverse bar extreme (upper bound). A fill beyond the
        bankruptcy price is bad debt.

        Parameters
        ----------
        position : label, optional
            A liquidated position (its label in ``events["position"]``). Default: the one with
            the largest bad debt on ``path`` (the upper bound where there are bounds), the
            first liquidated when none has bad debt.
        path : int, default 0
            Which mark path (bars have one).
        window : str or Timedelta, optional
            Show only this long before the trigger and after the last fill (e.g. ``"2h"``);
            default the whole path.
        ax : matplotlib.axes.Axes, optional
            Where to draw; default a new figure in the report style.

        Returns
        -------
        matplotlib.axes.Axes
            Lines, in order: the mark, the liquidation price, the bankruptcy price, the entry
            price, the trigger, then one line of fill markers per bound (one for a point
            estimate). Their labels start with ``"mark"``, ``"liquidation price"``,
            ``"bankruptcy price"``, ``"entry price"``, ``"trigger"`` and ``"fill"``; on bars
            ``ax.collections[0]`` is the low-high range.

        Raises
        ------
        ConfigError
            No mark kept on the result, ``path`` out of range, ``position`` not liquidated on
            it, or a bad ``window``.
        ModelError
            Nothing was liquidated on ``path``.
        """
        from riskmodels._display import fmt_date, fmt_number
        from riskmodels.reporting import figures

        mark = self.mark
        if mark is None:
            raise ConfigError(
                "this result keeps no mark path to draw: run simulate_liquidations(...) again."
            )
        if not (isinstance(path, int | np.integer) and 0 <= int(path) < mark.n_paths):
            raise ConfigError(f"path must be an int in [0, {mark.n_paths}) (got {path!r}).")
        path = int(path)
        ev = self.events[self.events["path"] == path] if len(self.events) else self.events
        if ev.empty:
            raise ModelError(f"no position was liquidated on path {path}: nothing to draw.")
        upper = ev[ev["bound"] == _BOUND_LABELS["extreme"]] if "bound" in ev.columns else ev
        if position is None:
            bad = upper.groupby("position", sort=False)["bad_debt"].sum()
            position = bad.index[int(np.argmax(bad.to_numpy(dtype=float)))]
        mine = ev[ev["position"] == position]
        if mine.empty:
            raise ConfigError(
                f"position {position!r} was not liquidated on path {path}; liquidated: "
                f"{list(dict.fromkeys(ev['position']))[:10]}."
            )
        mine = mine.sort_values(["order"], kind="stable")
        first = mine.iloc[0]
        bars = mark.kind == "bars"
        if bars:
            times = pd.DatetimeIndex(mark.times).tz_convert("UTC").tz_localize(None)
            step = mark.step
        else:
            times = pd.Index(mark.times / pd.Timedelta("1min"))
            step = mark.step / pd.Timedelta("1min")

        def at(t: Any) -> Any:
            """x position of an event time (a bar open time or a grid time)."""
            if bars:
                return pd.Timestamp(t).tz_convert("UTC").tz_localize(None)
            return pd.Timedelta(t) / pd.Timedelta("1min")

        x_trig = at(first["trigger_time"])
        fills: list[tuple[str, list[Any], list[float]]] = []
        for b, g in (
            mine.groupby("bound", sort=False) if "bound" in mine.columns else [(None, mine)]
        ):
            xs = []
            for _, r in g.iterrows():
                instant = b == _BOUND_LABELS["instant"] or float(r["delay_seconds"]) <= 0
                if not bars:
                    xs.append(at(r["fill_time"]))
                elif instant and r["fill_bar"] == r["trigger_bar"]:
                    xs.append(at(r["trigger_time"]))
                else:  # the close of the bar the fill falls in
                    xs.append(at(r["fill_time"]) + step)
            name = "fill" if b is None else f"fill, {b}"
            fills.append((name, xs, g["closeout_price"].astype(float).tolist()))
        h, lo, c = (a[path] for a in (mark.high, mark.low, mark.close))
        x_end = times + step if bars else times
        keep = np.ones(mark.n_steps, dtype=bool)
        if window is not None:
            w = parse_duration(window, "window")
            if w <= pd.Timedelta(0):
                raise ConfigError(f"window must be > 0 (got {window!r}).")
            span = w if bars else w / pd.Timedelta("1min")
            last = max(x for _, xs, _ in fills for x in xs)
            keep = np.asarray((x_end >= x_trig - span) & (times <= last + span))
        ax = figures.new_axes(ax, figsize=(9.0, 4.5))
        xe = np.asarray(x_end[keep])
        ax.plot(xe, c[keep], color="0.25", lw=1.0, label="mark (bar close)" if bars else "mark")
        if bars and keep.any():
            x0 = np.asarray(times[keep])[:1]
            ax.fill_between(
                np.concatenate([x0, xe]),
                np.concatenate([lo[keep][:1], lo[keep]]),
                np.concatenate([h[keep][:1], h[keep]]),
                step="pre",
                color="0.6",
                alpha=0.35,
                lw=0,
                label="bar low-high",
            )
        lp, bp, e = (
            float(first[k]) for k in ("liquidation_price", "bankruptcy_price", "entry_price")
        )
        ax.axhline(lp, color="darkorange", lw=1.3, label=f"liquidation price {fmt_number(lp, 6)}")
        ax.axhline(
            bp,
            color=figures.ALERT_COLOUR,
            lw=1.3,
            ls="--",
            label=f"bankruptcy price {fmt_number(bp, 6)}",
        )
        ax.axhline(e, color="0.45", lw=0.9, ls=":", label=f"entry price {fmt_number(e, 6)}")
        trig_txt = fmt_date(first["trigger_time"]) if bars else f"{x_trig:,.4g} min"
        ax.axvline(x_trig, color="0.3", lw=0.9, ls="-.", label=f"trigger {trig_txt}")
        for (name, xs, ys), colour, marker in zip(
            fills, figures.palette(len(fills)), ("o", "s"), strict=False
        ):
            px = ", ".join(fmt_number(y, 6) for y in ys[:3]) + (" ..." if len(ys) > 3 else "")
            ax.plot(xs, ys, ls="none", marker=marker, ms=7, color=colour, label=f"{name} {px}")
        side = "long" if float(first["side"]) > 0 else "short"
        bad_total = float(upper[upper["position"] == position]["bad_debt"].sum())
        venue = (self.rule.venue or self.rule.name).replace("\u24c8", "S")  # not in the font
        title = f"{venue}: {side} position {position}"
        title += (
            f", bad debt {fmt_number(bad_total)} {self.currency}"
            if bad_total > 0
            else ", no bad debt"
        )
        ax.set_title(title, fontsize=10)
        ax.set_ylabel(f"{mark.price_type} price")
        if bars:
            ax.set_xlabel("time (UTC)")
            figures.date_axis(ax)
        else:
            ax.set_xlabel("time from the start of the path (minutes)")
        ax.legend(fontsize=8, loc="best")
        return ax

    def _repr_html_(self) -> str:
        title = esc(f"{self.rule.venue or self.rule.name}: liquidations ({self.resolution})")
        notes = "".join(f"<li><b>{esc(k)}</b>: {esc(v)}</li>" for k, v in self.assumptions.items())
        summary = self.summary()
        # one row per figure: counts, probabilities, amounts (USD; coins for inverse contracts)
        kinds = {"positions": "count", "liquidated": "count"}
        kinds.update(dict.fromkeys(("P(liquidation)", "P(bad debt | liquidation)"), "pct"))
        money = "number" if self._inverse else "usd"
        kinds.update({k: money for k in summary.index if k not in kinds})
        kinds["bad debt per liquidation"] = "number"
        kinds["bad debt per open-interest-year"] = "number"
        table = table_html(format_rows(summary, kinds))
        return f"<h4>{title}</h4>{table}<ul>{notes}</ul>"

    def __repr__(self) -> str:
        return (
            f"LiquidationResult(rule={self.rule.name!r}, resolution={self.resolution!r}, "
            f"positions={self.n_positions}, paths={self.n_paths}, orders={len(self.events)})"
        )


# ---------------------------------------------------------------------------------- engine
def _impact_fn(impact: Any) -> Callable[[np.ndarray], np.ndarray]:
    if impact is None:
        return lambda n: np.zeros_like(n)
    if callable(impact):

        def fn(n: np.ndarray) -> np.ndarray:
            out = np.asarray(impact(n), dtype="float64")
            if (
                out.shape != n.shape
                or not np.isfinite(out).all()
                or (out < 0).any()
                or (out >= 1).any()
            ):
                raise ConfigError(
                    "impact(notional) must return a finite relative cost in [0, 1) per order."
                )
            return out

        return fn
    v = float(impact)
    if not (math.isfinite(v) and 0 <= v < 1):
        raise ConfigError(
            f"impact must be a relative cost in [0, 1) (got {impact!r}); 0.001 is 10 bp."
        )
    return lambda n: np.full(n.shape, v)


def _funding_events(funding: Any, mark: MarkPaths) -> tuple[np.ndarray, np.ndarray]:
    """Settlement bar indices and rates inside the window."""
    if funding is None:
        return np.zeros(0, np.int64), np.zeros(0)
    if not isinstance(funding, pd.Series):
        raise ConfigError("funding must be a Series of rates indexed by settlement time (UTC).")
    if mark.kind == "grid":
        t = pd.to_timedelta(funding.index)
    else:
        t = pd.DatetimeIndex(funding.index)
        if t.tz is None:
            raise DataError("funding's index must be tz-aware UTC settlement times.")
    rates = pd.to_numeric(funding, errors="coerce").to_numpy(dtype="float64")
    if not np.isfinite(rates).all():
        raise DataError("funding holds NaN rates: drop or fill those settlements explicitly.")
    inside = (t >= mark.times[0]) & (t <= mark.times[-1])
    idx = mark.times.searchsorted(t[inside], side="left").astype(np.int64)
    return idx, rates[inside]


def trigger_price(
    mark: MarkPaths, path: np.ndarray, idx: np.ndarray, lp: np.ndarray, side: np.ndarray
) -> np.ndarray:
    """The mark at the trigger (module docstring, step 1).

    On bars: the liquidation price ``lp`` (a continuous path inside the bar), or the bar's open
    when the bar opens beyond it (a gap; also where ``lp`` is NaN). On a grid: the grid price.
    """
    if mark.kind == "bars":
        o = mark.open[path, idx]
        gapped = np.where(side > 0, o <= lp, o >= lp) | np.isnan(lp)
        return np.where(gapped, o, lp)
    return mark.close[path, idx]


def closeout_fill(
    mark: MarkPaths,
    mode: str,
    path: np.ndarray,
    idx: np.ndarray,
    kd: np.ndarray,
    p_trig: np.ndarray,
    side: np.ndarray,
    extreme: Callable[[np.ndarray, np.ndarray], np.ndarray],
) -> tuple[np.ndarray, np.ndarray]:
    r"""Fill index and price before impact of a close-out sent at trigger bar ``idx``.

    ``kd`` is the delay in bars (rounded up). ``mode``: ``"point"`` (the close of the bar in
    which :math:`\tau + \Delta` falls, :math:`\tau` at the trigger bar's open; the trigger price
    for no delay), ``"instant"`` (the trigger price: the lower bound when bars are coarser than
    the delay) or ``"extreme"`` (the adverse extreme of the bars the fill can fall in, never
    better than the trigger price: the upper bound). ``extreme(a, b)`` gives the adverse
    extreme of bars ``a..b`` for each lane. The fill index may reach past the last bar
    (censored; the caller decides).
    """
    T = mark.n_steps
    if mode == "instant":
        return idx.copy(), p_trig.copy()
    if mode == "extreme":
        f_at = idx + kd
        c0 = extreme(idx, f_at)
        return f_at, np.where(side > 0, np.minimum(c0, p_trig), np.maximum(c0, p_trig))
    bars = mark.kind == "bars"
    f_at = np.where(kd == 0, idx, idx + (np.maximum(kd - 1, 0) if bars else kd))
    return f_at, np.where(kd == 0, p_trig, mark.close[path, np.minimum(f_at, T - 1)])


def _run(
    mark: MarkPaths,
    bk: _Book,
    rule: LiquidationRule,
    *,
    mode: Literal["point", "instant", "extreme"],
    delay: pd.Timedelta,
    impact: Callable[[np.ndarray], np.ndarray],
    fee: float,
    residual_to: str,
    slice_fraction: float,
    slice_threshold: float,
    slice_interval: pd.Timedelta,
    backstop_fraction: float,
    backstop_delay: pd.Timedelta,
    funding: tuple[np.ndarray, np.ndarray],
    max_rounds: int,
    seconds_per_usd: float = 0.0,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Triggers and close-outs for every (path, position) pair; no ledger yet."""
    P, T = mark.n_paths, mark.n_steps
    m = len(bk.side)
    path = np.repeat(np.arange(P), m)
    pos = np.tile(np.arange(m), P)
    s = bk.side[pos]
    e = bk.entry[pos]
    q = bk.qty[pos].copy()
    w = bk.wallet[pos].copy()
    nxt = bk.start[pos].copy()
    alive = np.ones(len(pos), dtype=bool)
    funding_paid = np.zeros(len(pos))
    inv = bk.inverse
    sched = rule.schedule
    bars = mark.kind == "bars"
    step_s = mark.step.total_seconds()
    delay_s = delay.total_seconds()
    k_bs = math.ceil(backstop_delay / mark.step) if backstop_delay > pd.Timedelta(0) else 0
    k_int = max(1, math.ceil(slice_interval / mark.step))

    tables: dict[int, tuple[MinTable, MinTable]] = {}

    def tabs(p: int) -> tuple[MinTable, MinTable]:
        if p not in tables:
            tables[p] = (MinTable(mark.low[p]), MinTable(-mark.high[p]))
        return tables[p]

    def search(sel: np.ndarray, level: np.ndarray, start: np.ndarray) -> np.ndarray:
        out = np.full(sel.shape[0], T, dtype=np.int64)
        if P == 1:
            lo, hi = tabs(0)
            long = s[sel] > 0
            if long.any():
                out[long] = lo.first_at_or_below(start[long], level[long])
            if (~long).any():
                out[~long] = hi.first_at_or_below(start[~long], -level[~long])
            return out
        pth = path[sel]
        if P <= 16:  # few paths, many positions: each path's sparse table
            for p in np.unique(pth):
                g = np.flatnonzero(pth == p)
                lo, hi = tabs(int(p))
                long = s[sel][g] > 0
                if long.any():
                    out[g[long]] = lo.first_at_or_below(start[g][long], level[g][long])
                if (~long).any():
                    out[g[~long]] = hi.first_at_or_below(start[g][~long], -level[g][~long])
            return out
        # many paths, few positions: one boolean scan per distinct start over the paths
        for st in np.unique(start):
            g = np.flatnonzero(start == st)
            lowp, highp = mark.low[pth[g], st:], mark.high[pth[g], st:]
            lv = level[g][:, None]
            hit = np.where(s[sel][g][:, None] > 0, lowp <= lv, highp >= lv)
            any_ = hit.any(axis=1)
            out[g] = np.where(any_, st + hit.argmax(axis=1), T)
        return out

    def extreme(sel: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Adverse extreme of bars a..b (inclusive): min low (long), max high (short)."""
        out = np.empty(sel.shape[0])
        b = np.minimum(b, T - 1)
        long = s[sel] > 0
        if P == 1:
            lo, hi = tabs(0)
            if long.any():
                out[long] = lo.range_min(a[long], b[long])
            if (~long).any():
                out[~long] = -hi.range_min(a[~long], b[~long])
            return out
        pth = path[sel]
        for j in range(sel.shape[0]):
            sl = slice(a[j], b[j] + 1)
            out[j] = mark.low[pth[j], sl].min() if long[j] else mark.high[pth[j], sl].max()
        return out

    f_idx, f_rate = funding
    rows: list[dict[str, np.ndarray]] = []
    order_no = np.zeros(len(pos), dtype=np.int64)
    for _ in range(max_rounds):
        act = np.flatnonzero(alive & (nxt < T))
        if act.size == 0:
            break
        st = nxt[act].copy()
        lp = _level(sched, s[act], q[act], e[act], w[act], inv)
        idx = np.full(act.size, T, dtype=np.int64)
        todo = np.ones(act.size, dtype=bool)
        # funding moves the wallet at each settlement: search segment by segment
        seg_ends = np.concatenate([f_idx, [T]]) if f_idx.size else np.array([T])
        cur = st.copy()
        for j, end in enumerate(seg_ends):
            sub = np.flatnonzero(todo & (cur < end))
            if sub.size:
                found = search(
                    act[sub], np.where(np.isnan(lp[sub]), -np.inf * s[act[sub]], lp[sub]), cur[sub]
                )
                got = found < end
                idx[sub[got]] = found[got]
                todo[sub[got]] = False
            if j < f_idx.size:
                # settlement at bar f_idx[j] (mark = that bar's open) for those still open
                pay = np.flatnonzero(todo & (st <= end))
                if pay.size:
                    pa = act[pay]
                    px = mark.open[path[pa], end] if end < T else mark.close[path[pa], -1]
                    amt = s[pa] * q[pa] * f_rate[j] * (1.0 if inv else px) / (px if inv else 1.0)
                    w[pa] -= amt
                    funding_paid[pa] += amt
                    lp[pay] = _level(sched, s[pa], q[pa], e[pa], w[pa], inv)
                    cur[pay] = np.maximum(cur[pay], end)
        hit = idx < T
        alive[act[~hit]] = False
        act, idx, lp, st = act[hit], idx[hit], lp[hit], st[hit]
        if act.size == 0:
            break
        pa = path[act]
        sa = s[act]
        p_trig = trigger_price(mark, pa, idx, lp, sa)
        notional_t = q[act] * (1.0 if inv else p_trig)
        # a slice that would leave less than 1% of the position's original size closes the
        # rest (the venues' minimum order; without it geometric slices never finish)
        dust = q[act] * (1.0 - slice_fraction) < 0.01 * bk.qty[pos[act]]
        sliced = (slice_fraction < 1.0) & (notional_t > slice_threshold) & ~dust
        q_ord = np.where(sliced, q[act] * slice_fraction, q[act])
        # the delay: the engine's own plus the time to sell the order at the participation
        d_ord = delay_s + seconds_per_usd * q_ord * (1.0 if inv else p_trig)
        kd = np.where(d_ord > 0, np.ceil(d_ord / step_s - 1e-12), 0).astype(np.int64)
        # fill index and price before impact
        f_at, c0 = closeout_fill(mark, mode, pa, idx, kd, p_trig, sa, partial(extreme, act))
        censored = f_at >= T
        f_at = np.minimum(f_at, T - 1)
        kind = np.full(act.size, "book", dtype=object)
        # backstop: equity below frac x MM before the fill -> the backstop takes everything
        if backstop_fraction > 0:
            lbs = _level(sched, sa, q[act], e[act], w[act], inv, backstop_fraction)
            # an order that fills at the trigger is handed over only on a gap through both
            # levels; otherwise the mark's path up to the fill decides
            at_trigger = np.full(act.size, mode == "instant") | ((mode == "point") & (kd == 0))
            ext = np.where(at_trigger, p_trig, extreme(act, idx, f_at))
            crossed = np.where(sa > 0, ext <= lbs, ext >= lbs) & ~np.isnan(lbs)
            if crossed.any():
                cb = np.flatnonzero(crossed)
                i_bs = idx.copy()
                i_bs[cb] = search(act[cb], lbs[cb], idx[cb])
                kind[cb] = "backstop"
                q_ord[cb] = q[act[cb]]
                d_ord[cb] = backstop_delay.total_seconds()
                ob = mark.open[pa[cb], i_bs[cb]] if bars else mark.close[pa[cb], i_bs[cb]]
                p_bs = (
                    np.where(np.where(sa[cb] > 0, ob <= lbs[cb], ob >= lbs[cb]), ob, lbs[cb])
                    if bars
                    else ob
                )
                if mode == "instant":
                    fb, cbp = i_bs[cb], p_bs
                elif mode == "extreme":
                    fb = i_bs[cb] + k_bs
                    cbp = extreme(act[cb], i_bs[cb], fb)
                    cbp = np.where(sa[cb] > 0, np.minimum(cbp, p_bs), np.maximum(cbp, p_bs))
                else:
                    fb = i_bs[cb] + (max(k_bs - 1, 0) if bars else k_bs)
                    cbp = np.where(k_bs == 0, p_bs, mark.close[pa[cb], np.minimum(fb, T - 1)])
                censored[cb] = fb >= T
                f_at[cb] = np.minimum(fb, T - 1)
                c0[cb] = cbp
        n_fill = q_ord * (1.0 if inv else c0)
        c = c0 * (1.0 - sa * impact(n_fill))
        if inv:
            pnl = sa * q_ord * (1.0 / e[act] - 1.0 / c)
            fee_nom = fee * q_ord / c
        else:
            pnl = sa * q_ord * (c - e[act])
            fee_nom = fee * q_ord * c
        bp = _bankruptcy(sa, q[act], e[act], w[act], inv)
        w_after = w[act] + pnl
        q_left = q[act] - q_ord
        # the fee is capped at the equity left (wallet plus the remaining position marked at
        # the fill), so a fee never creates bad debt
        if inv:
            eq_after = w_after + sa * q_left * (1.0 / e[act] - 1.0 / c)
        else:
            eq_after = w_after + sa * q_left * (c - e[act])
        fee_paid = np.where(kind == "backstop", 0.0, np.minimum(fee_nom, np.maximum(eq_after, 0.0)))
        w_after -= fee_paid
        final = (q_left <= 1e-12 * q[act]) | (kind == "backstop")
        to_fund = np.where(
            final & ((kind == "backstop") | (residual_to == "fund")), np.maximum(w_after, 0.0), 0.0
        )
        keeps = np.where(final, np.maximum(w_after, 0.0) - to_fund, 0.0)
        bad = np.where(final, np.maximum(-w_after, 0.0), 0.0)
        rows.append(
            {
                "path": pa,
                "position": pos[act],
                "order": order_no[act].copy(),
                "kind": kind,
                "trigger_bar": idx,
                "fill_bar": f_at,
                "delay_seconds": d_ord,
                "side": sa,
                "entry_price": e[act],
                "wallet_at_entry": bk.wallet[pos[act]],
                "trigger_mark": p_trig,
                "liquidation_price": lp,
                "bankruptcy_price": bp,
                "mark_at_fill": c0,
                "closeout_price": c,
                "quantity": q_ord,
                "fee": fee_paid,
                "residual_to_fund": to_fund,
                "trader_keeps": keeps,
                "bad_debt": bad,
                "censored": censored,
                "final": final,
                "pnl": pnl,
            }
        )
        order_no[act] += 1
        w[act] = np.where(final, 0.0, w_after)
        q[act] = np.where(final, 0.0, q_left)
        alive[act[final]] = False
        # a partial close re-checks after the cooldown
        nxt[act] = np.where(final, T, idx + k_int)
    else:
        raise ConfigError(
            f"liquidation did not finish within max_rounds={max_rounds} slices: raise "
            "max_rounds or slice_fraction."
        )
    cols = [
        "path",
        "position",
        "order",
        "kind",
        "trigger_bar",
        "fill_bar",
        "delay_seconds",
        "side",
        "entry_price",
        "wallet_at_entry",
        "trigger_mark",
        "liquidation_price",
        "bankruptcy_price",
        "mark_at_fill",
        "closeout_price",
        "quantity",
        "fee",
        "residual_to_fund",
        "trader_keeps",
        "bad_debt",
        "censored",
        "final",
        "pnl",
    ]
    ev = (
        pd.DataFrame({k: np.concatenate([r[k] for r in rows]) for k in cols})
        if rows
        else pd.DataFrame({k: pd.Series(dtype="float64") for k in cols})
    )
    ev["funding_paid"] = (
        funding_paid[ev["path"].to_numpy(np.int64) * m + ev["position"].to_numpy(np.int64)]
        if len(ev)
        else 0.0
    )
    surv = pd.DataFrame(
        {
            "path": path,
            "position": pos,
            "quantity_left": q,
            "funding_paid": funding_paid,
            "wallet": w,
        }
    )
    surv = surv[(q > 0)]
    return ev, surv


def allocate_adl(amount: float, capacity: np.ndarray, score: np.ndarray | None) -> np.ndarray:
    """Split ``amount`` over ADL counterparties up to their ``capacity``.

    By descending ``score`` (each takes all it can before the next: the venues' ranking queue),
    or pro rata when ``score`` is None. Returns each counterparty's share; the shares add up
    to ``min(amount, capacity.sum())``.
    """
    cap = np.asarray(capacity, dtype="float64")
    if cap.size == 0 or amount <= 0:
        return np.zeros(cap.shape)
    if score is None:
        tot = cap.sum()
        return cap * min(1.0, amount / tot) if tot > 0 else np.zeros(cap.shape)
    order = np.argsort(-np.asarray(score, dtype="float64"), kind="stable")
    cap_o = cap[order]
    take = np.empty_like(cap)
    take[order] = np.clip(amount - (np.cumsum(cap_o) - cap_o), 0.0, cap_o)
    return take


def _ledger(
    ev: pd.DataFrame,
    bk: _Book,
    mark: MarkPaths,
    *,
    fund0: float,
    adl_price: str,
    adl_ranking: str,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Insurance fund and ADL in time order, per path (each path is its own world)."""
    n = len(ev)
    ev = ev.sort_values(
        ["path", "fill_bar", "trigger_bar", "position", "order"], kind="stable"
    ).reset_index(drop=True)
    draw = np.zeros(n)
    adl_q = np.zeros(n)
    adl_px = np.full(n, np.nan)
    adl_cover = np.zeros(n)
    social = np.zeros(n)
    fund_after = np.zeros(n)
    adl_rows: list[dict[str, Any]] = []
    fee = ev["fee"].to_numpy(dtype="float64").copy()
    res = ev["residual_to_fund"].to_numpy(dtype="float64").copy()
    keeps = ev["trader_keeps"].to_numpy(dtype="float64").copy()
    pnl = ev["pnl"].to_numpy(dtype="float64").copy()
    bad = ev["bad_debt"].to_numpy(dtype="float64").copy()
    scale_col = np.ones(n)
    paths = ev["path"].to_numpy()
    fills = ev["fill_bar"].to_numpy()
    qty = ev["quantity"].to_numpy(dtype="float64", copy=True)
    c = ev["closeout_price"].to_numpy()
    m0 = ev["mark_at_fill"].to_numpy()
    bp = ev["bankruptcy_price"].to_numpy()
    side_ev = ev["side"].to_numpy()
    position = ev["position"].to_numpy()
    inv = bk.inverse
    m = len(bk.side)
    # counterparty capacity left (fraction of each position not yet deleveraged), per path
    frac_left = np.ones((int(paths.max()) + 1 if n else 1, m))
    first_fill = np.full((frac_left.shape[0], m), np.iinfo(np.int64).max)
    if n:
        np.minimum.at(first_fill, (paths, position), fills)
    for p in np.unique(paths):
        sel = np.flatnonzero(paths == p)
        # Until the fund first falls short every draw equals the bad debt and nothing is
        # deleveraged (so nothing is scaled): that prefix is a cumulative sum.
        cumf = fund0 + np.cumsum(fee[sel] + res[sel] - bad[sel])
        short = np.flatnonzero(cumf < 0)
        k0 = int(short[0]) if short.size else sel.size
        draw[sel[:k0]] = bad[sel[:k0]]
        fund_after[sel[:k0]] = cumf[:k0]
        fund = float(cumf[k0 - 1]) if k0 else fund0
        for j in sel[k0:]:
            scale = frac_left[p, position[j]]
            if scale < 1.0:  # part of this position was deleveraged earlier: scale its flows
                for arr in (fee, res, keeps, pnl, bad, qty):
                    arr[j] *= scale
                scale_col[j] = scale
            fund += fee[j] + res[j]
            b = bad[j]
            if b > 0:
                d = min(b, fund)
                fund -= d
                draw[j] = d
                u = b - d
                if u > 0:
                    if adl_price == "socialized":
                        social[j] = u
                    else:
                        t = fills[j]
                        mk = m0[j] if not np.isnan(m0[j]) else c[j]
                        x = bp[j] if adl_price == "bankruptcy" else mk
                        per_unit = abs((1 / x - 1 / c[j]) if inv else (x - c[j]))
                        if adl_price == "bankruptcy":
                            want = qty[j] * u / b  # b = q |c - BP|: closing at BP clears it
                        else:  # at the mark: only the impact beyond the mark is avoided
                            want = min(qty[j], u / per_unit) if per_unit > 0 else 0.0
                        # counterparties: opposite side, same path, still open at t, in profit
                        opp = (bk.side == -side_ev[j]) & (first_fill[p] > t) & (frac_left[p] > 0)
                        px_t = mark.close[p, t]
                        upnl = bk.side * (
                            bk.qty * (px_t - bk.entry)
                            if not inv
                            else bk.qty * (1 / bk.entry - 1 / px_t)
                        )
                        opp &= upnl > 0
                        cand = np.flatnonzero(opp)
                        avail = bk.qty[cand] * frac_left[p, cand]
                        score = None
                        if adl_ranking == "pnl_leverage" and cand.size:
                            notion = bk.qty[cand] * (1.0 if inv else px_t)
                            eq = bk.wallet[cand] + upnl[cand]
                            lev = notion / np.maximum(eq, 1e-12)
                            pct = upnl[cand] / np.maximum(bk.wallet[cand], 1e-12)
                            score = pct * lev  # Binance LeveragePnL (VENUES.md §L.1)
                        take = allocate_adl(want, avail, score)
                        got = float(take.sum())
                        adl_q[j] = got
                        adl_px[j] = x
                        adl_cover[j] = min(u, got * per_unit)
                        social[j] = u - adl_cover[j]
                        for ci, tq in zip(cand[take > 0], take[take > 0], strict=True):
                            frac_left[p, ci] -= tq / bk.qty[ci]
                            adl_rows.append(
                                {
                                    "path": int(p),
                                    "time": mark.times[t],
                                    "counterparty": bk.labels[ci],
                                    "quantity": float(tq),
                                    "price": float(x),
                                    "liquidated_position": bk.labels[position[j]],
                                    "cost": float(
                                        tq * abs((1 / x - 1 / px_t) if inv else (x - px_t))
                                    ),
                                }
                            )
            fund_after[j] = fund
    ev["quantity"] = qty
    ev["fee"] = fee
    ev["residual_to_fund"] = res
    ev["trader_keeps"] = keeps
    ev["pnl"] = pnl
    ev["bad_debt"] = bad
    ev["scale"] = scale_col
    ev["fund_draw"] = draw
    ev["adl_quantity"] = adl_q
    ev["adl_price"] = adl_px
    ev["adl_cover"] = adl_cover
    ev["socialized"] = social
    ev["fund_after"] = fund_after
    adl = pd.DataFrame(
        adl_rows,
        columns=[
            "path",
            "time",
            "counterparty",
            "quantity",
            "price",
            "liquidated_position",
            "cost",
        ],
    )
    return ev, adl


def simulate_liquidations(
    prices: Any,
    positions: pd.DataFrame,
    rule: LiquidationRule | str,
    *,
    delay: Any = None,
    impact: Any = None,
    funding: pd.Series | None = None,
    insurance_fund: float | None = None,
    participation: float | None = None,
    volume: float | None = None,
    resolution: Resolution = "auto",
    step: Any = None,
    max_rounds: int = 200,
    **overrides: Any,
) -> LiquidationResult:
    """Liquidate positions along mark-price paths the way a venue does (module docstring).

    Parameters
    ----------
    prices : DataFrame or array
        A bar frame of one symbol (``open, high, low, close``; tz-aware UTC index of bar open
        times on a regular grid, no gaps or NaN: pass one gap-free window at a time), ideally
        the **mark** price (``attrs["price_type"]`` is recorded); or simulated mark paths, an
        array ``(n_paths, n_steps)`` (or ``(n_steps,)``) with ``step``.
    positions : DataFrame
        One row per position: ``side`` ("long"/"short" or ±1), ``quantity`` (coins; USD face
        for inverse contracts), ``entry_price``, ``wallet`` (the isolated margin in the
        settlement currency; for ``margin="cross"`` rows, the account's collateral, the same
        on each of its rows). Optional: ``entry_time`` (UTC; a ``Timedelta`` on a grid),
        ``account``, ``margin`` ("isolated"/"cross"), ``contract`` ("linear"/"inverse").
        Cross rows of one account are netted (one-way mode, one symbol per run).
    rule : LiquidationRule or str
        The venue's pipeline (:meth:`LiquidationRule.load`).
    delay : str or Timedelta, optional
        Trigger-to-fill delay; default the rule's (most venues do not publish it: then pass
        one, or sweep :meth:`LiquidationRule.sweep` ``("delay")``).
    impact : float or callable, optional
        Relative cost of the close-out order against the position: a constant, or
        ``impact(notional) -> cost`` per order. Default none (stated in ``assumptions``).
    funding : Series, optional
        Funding rates by settlement time; longs pay positive rates from their wallet.
    insurance_fund : float, optional
        The fund at the start (settlement currency); default the rule's.
    participation : float, optional
        Share of the traded volume the close-out may take: the delay of an order of notional
        :math:`N` grows to :math:`\\Delta + N / (\\rho V)` (``delay_seconds`` in the events).
        Default the rule's (no venue publishes one), else no size term.
    volume : float, optional
        Traded volume :math:`V` in USD per day for that term; default the median quote volume
        per bar of the price frame, scaled to a day.
    resolution : {"auto", "point", "bounds"}
        ``"auto"``: a point estimate when the bars are at least as fine as the delay (or on a
        grid), bounds otherwise. ``"point"`` with bars coarser than the delay is refused.
    step : str or Timedelta
        Grid step of simulated paths.
    max_rounds : int, default 200
        Cap on partial close-out rounds.
    **overrides
        Values for the rule's other parameters (e.g. ``slice_fraction=0.5`` where the venue
        does not publish it), recorded as the caller's choice.

    Returns
    -------
    LiquidationResult

    Raises
    ------
    PositionError
        Malformed positions, negative wallets, or positions already at or below maintenance
        at entry.
    DataError
        Prices with gaps, NaN or inconsistent bars.
    ConfigError
        An unknown rule, a parameter the venue does not publish and the caller did not give,
        or ``resolution="point"`` with bars coarser than the delay.
    """
    rule = LiquidationRule.load(rule) if isinstance(rule, str) else rule
    if not isinstance(rule, LiquidationRule):
        raise ConfigError("rule must be a LiquidationRule or a shipped rule name.")
    if resolution not in ("auto", "point", "bounds"):
        raise ConfigError(f"resolution must be 'auto', 'point' or 'bounds' (got {resolution!r}).")
    if not isinstance(max_rounds, int) or max_rounds < 1:
        raise ConfigError(f"max_rounds must be a positive int (got {max_rounds!r}).")
    unknown = set(overrides) - set(rule.parameters)
    if unknown:
        raise ConfigError(
            f"unknown rule parameters {sorted(unknown)}; known: {sorted(rule.parameters)}."
        )
    mark = MarkPaths.from_input(prices, step=step)
    bk = _book(positions, mark)
    if bk.side.size == 0:
        raise PositionError("every cross account is flat: nothing to liquidate.")
    d = parse_duration(delay, "delay") if delay is not None else rule.value("delay")
    vals = {
        k: rule.value(k, overrides.get(k))
        for k in (
            "clearance_fee",
            "residual_to",
            "slice_fraction",
            "slice_threshold_usd",
            "slice_interval",
            "backstop_fraction",
            "adl_trigger",
            "adl_price",
            "adl_ranking",
        )
    }
    bs_delay = (
        rule.value("backstop_delay", overrides.get("backstop_delay"))
        if vals["backstop_fraction"] > 0
        else pd.Timedelta(0)
    )
    if insurance_fund is not None:
        fund0 = float(insurance_fund)
        if not (math.isfinite(fund0) and fund0 >= 0):
            raise ConfigError(f"insurance_fund must be finite and >= 0 (got {insurance_fund!r}).")
    else:
        f = rule.value("insurance_fund_usd")
        if f is None:
            raise ConfigError(
                f"{rule.venue or rule.name} states no insurance fund size: pass insurance_fund=..."
            )
        fund0 = float(f)
    # entry checks: equity must exceed maintenance at entry
    notional = bk.qty if bk.inverse else bk.qty * bk.entry
    mm = rule.maintenance(notional, 0 if bk.inverse else bk.qty)
    mm_ccy = mm / bk.entry if bk.inverse else mm
    below = bk.wallet <= mm_ccy
    if below.any():
        i = int(np.flatnonzero(below)[0])
        raise PositionError(
            f"{int(below.sum())} positions are at or below maintenance margin at entry (e.g. "
            f"{bk.labels[i]!r}: wallet {bk.wallet[i]:,.6g} <= MM {mm_ccy[i]:,.6g}); a venue "
            "liquidates them at once. Raise their wallets (initial margin >= MM) or lower the "
            "leverage."
        )
    # time to sell an order of N USD at the participation rate: N / (rho V) seconds
    rho = rule.value("participation", participation)
    sec_per_usd, vol_day = 0.0, math.nan
    if rho is not None:
        if not rho > 0:
            raise ConfigError(f"participation must be in (0, 1] (got {rho!r}); 0.1 is 10%.")
        if volume is None:
            if mark.volume is None:
                raise ConfigError(
                    "a size-dependent delay needs the traded volume: pass volume=<USD per day> "
                    "(the price frame has no complete quote_volume column)."
                )
            per_bar = float(np.median(mark.volume))
            vol_day = per_bar * (pd.Timedelta("1D") / mark.step)
        else:
            vol_day = float(volume)
        if not (math.isfinite(vol_day) and vol_day > 0):
            raise ConfigError(f"volume must be a positive USD amount per day (got {vol_day!r}).")
        sec_per_usd = 86_400.0 / (rho * vol_day)
    delays = [d] + ([bs_delay] if vals["backstop_fraction"] > 0 else [])
    coarse = mark.kind == "bars" and (
        any(pd.Timedelta(0) < x < mark.step for x in delays)
        or (sec_per_usd > 0 and d < mark.step)  # the size term makes some delays sub-bar
    )
    if resolution == "point" and coarse:
        raise ConfigError(
            f"the delay {d} is shorter than the {mark.step} bars, so the bars cannot identify "
            "the close-out price: pass resolution='bounds' (or 'auto'), or finer bars."
        )
    res = "bounds" if resolution == "bounds" or (resolution == "auto" and coarse) else "point"
    if res == "bounds" and mark.kind == "grid":
        raise ConfigError("bounds apply to bars; simulated grids are monitored at their points.")
    imp = _impact_fn(impact)
    common = dict(
        delay=d,
        impact=imp,
        fee=vals["clearance_fee"],
        residual_to=vals["residual_to"],
        slice_fraction=vals["slice_fraction"],
        slice_threshold=vals["slice_threshold_usd"],
        slice_interval=vals["slice_interval"],
        backstop_fraction=vals["backstop_fraction"],
        backstop_delay=bs_delay,
        funding=_funding_events(funding, mark),
        max_rounds=max_rounds,
        seconds_per_usd=sec_per_usd,
    )
    modes = ["point"] if res == "point" else ["instant", "extreme"]
    evs, adls, survivors = [], [], None
    for mode in modes:
        ev, surv = _run(mark, bk, rule, mode=mode, **common)  # type: ignore[arg-type]
        ev, adl = _ledger(
            ev, bk, mark, fund0=fund0, adl_price=vals["adl_price"], adl_ranking=vals["adl_ranking"]
        )
        if res == "bounds":
            ev.insert(0, "bound", _BOUND_LABELS[mode])
            adl.insert(0, "bound", _BOUND_LABELS[mode])
        evs.append(ev)
        adls.append(adl)
        survivors = surv if survivors is None else survivors
    events = pd.concat(evs, ignore_index=True)
    adl = pd.concat(adls, ignore_index=True)
    if len(events):
        events.insert(
            events.columns.get_loc("position") + 1,
            "account",
            bk.account[events["position"].to_numpy(np.int64)],
        )
        events["position"] = bk.labels[events["position"].to_numpy(np.int64)]
        events.insert(
            events.columns.get_loc("trigger_bar"),
            "trigger_time",
            mark.times[events["trigger_bar"].to_numpy(np.int64)],
        )
        events.insert(
            events.columns.get_loc("fill_bar"),
            "fill_time",
            mark.times[events["fill_bar"].to_numpy(np.int64)],
        )
        events["notional"] = events["quantity"] * (1.0 if bk.inverse else events["closeout_price"])
    else:
        for col in (
            "account",
            "trigger_time",
            "fill_time",
            "notional",
            "fund_draw",
            "adl_quantity",
            "adl_price",
            "adl_cover",
            "socialized",
            "fund_after",
        ):
            events[col] = pd.Series(dtype="float64")
    fund = events[
        [c for c in ("bound", "path", "fill_time", "fund_after") if c in events.columns]
    ].copy()
    assumptions = {
        "price": f"{mark.price_type} price, {mark.kind} of {mark.step}",
        "trigger": "first passage of the bar's low (long) / high (short) through the "
        "liquidation price; the path is continuous inside a bar (trigger at LP, or at the open "
        "after a gap)"
        if mark.kind == "bars"
        else "mark monitored at the grid points",
        "delay": f"{d} ({'published' if not rule.parameters['delay'].unknown else 'caller-chosen; the venue does not publish it'})"
        + (f" + N / ({rho:g} x {vol_day:,.0f} USD/day) for an order of N USD" if rho else "")
        + (
            "; a delay that is not a whole number of bars is rounded up to the next bar close"
            if mark.kind == "bars"
            else ""
        ),
        "close-out": (
            "close of the bar in which trigger + delay falls (trigger taken at the bar's open; "
            "timing error under one bar)"
            if res == "point" and mark.kind == "bars"
            else "mark at trigger + delay"
            if res == "point"
            else "bounds: instant close-out at the trigger price (lower) and the adverse bar "
            "extreme over the bars the fill can fall in (upper); the bars cannot identify a point"
        ),
        "impact": "none"
        if impact is None
        else (
            f"{float(impact):.6g} of the price"
            if not callable(impact)
            else "caller's function of notional"
        ),
        "insurance fund at start": f"{fund0:,.2f}",
        "funding": "none" if funding is None else "paid from the wallet at each settlement",
        **{k: f"{v}" for k, v in vals.items()},
    }
    oi = float(notional.sum())
    return LiquidationResult(
        events=events.drop(columns=["final"], errors="ignore"),
        adl=adl,
        fund=fund,
        resolution=res,
        n_positions=len(bk.side),
        n_paths=mark.n_paths,
        open_interest=oi,
        years=mark.years,
        currency="coin" if bk.inverse else "USD",
        assumptions=assumptions,
        fund_start=fund0,
        rule=rule,
        survivors=survivors if survivors is not None else pd.DataFrame(),
        mark=mark,
    )
