"""Replay of the 2025-10-10 crash: hourly perp prices of the majors driving synthetic accounts.

For each asset: a synthetic population (:func:`generate_population`) calibrated to the
Binance open interest of the day before (:func:`open_interest_at`: USDⓈ-M plus COIN-M; on
2025-10-09 the mirror holds only COIN-M, PROVENANCE.md §2.6, so ``per_asset["oi_source"]``
names USDⓈ-M as missing and the population understates the book; a parameter where the mirror
has neither: LTC, LINK, AVAX), built at the first close of the window, then
:func:`simulate_path` over the hourly Binance USDⓈ-M perpetual bars of ``gravestone-data``
(2025-09-13 → 2026-03-19, PROVENANCE.md §2.5). One insurance fund per asset, as Binance keeps
one per symbol (VENUES.md §1.2); the liquidation pipeline (fee, residual margin, ADL price)
comes from ``rule``.

Closes miss the intra-hour wicks (the alt lows of −55% to −70% at 21:00 UTC); ``field="low"``
drives the path with the hourly lows instead (a worst case for longs, a best case for shorts).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from riskmodels._display import esc, table_html
from riskmodels.data.base import file_records
from riskmodels.exceptions import DataNotFoundError
from riskmodels.stress.cascade import CascadeResult, simulate_path
from riskmodels.stress.population import generate_population, open_interest_at

__all__ = ["ReplayResult", "replay_2025_10_10"]


@dataclass(frozen=True, eq=False, kw_only=True)
class ReplayResult:
    """Per-asset outcome of a replay.

    Attributes
    ----------
    per_asset : DataFrame
        Per asset: open interest used, its USDⓈ-M and COIN-M parts (NaN where missing),
        whether both were present and a label of its source, accounts, price move (first to
        last bar and worst bar), liquidated notional, bad debt, fees and residual margin to the
        fund, insurance draw, ADL, remaining bad debt.
    results : dict of str to CascadeResult
    prices : DataFrame
        The price path used.
    meta : dict
    """

    per_asset: pd.DataFrame
    results: dict[str, CascadeResult]
    prices: pd.DataFrame
    meta: dict[str, Any] = field(default_factory=dict)

    def _repr_html_(self) -> str:
        money: tuple[str, ...] = ("open_interest", "oi_usdm", "oi_coinm", "liquidated_notional")
        money += ("bad_debt", "fees")
        money += ("residual_to_fund", "insurance_draw", "adl", "remaining_bad_debt")
        kinds = dict.fromkeys(money, "usd")
        kinds.update(
            accounts="count", n_liquidated="count", move_first_to_last="pct", worst_drawdown="pct"
        )
        table = table_html(self.per_asset, kinds)
        return f"<p>{esc(self.meta.get('window'))}</p>{table}"


def replay_2025_10_10(
    symbols: Iterable[str] | None = None,
    *,
    start: str = "2025-10-10 00:00",
    end: str = "2025-10-11 23:00",
    field: str = "close",
    n_accounts: int = 20_000,
    default_open_interest: float = 5e7,
    oi_date: str = "2025-10-09",
    insurance_fund_share: float = 0.01,
    adl: Literal["auto", "ranking", "pro_rata"] | None = "auto",
    impact: Any = None,
    rule: Any = None,
    oi_max_age: Any = "7D",
    source: Any = None,
    rng: int = 20251010,
    **population: Any,
) -> ReplayResult:
    """Replay 2025-10-10 on hourly perp bars across the majors.

    Parameters
    ----------
    symbols : iterable of str, optional
        Default the ten majors.
    start, end : str
        Window (UTC, bar open times). The population is built at the first bar's price.
    field : {"close", "low", "high"}
        The bar field driving the path.
    n_accounts : int
        Accounts per asset.
    default_open_interest : float
        USD open interest where the mirror has none.
    oi_date : str
        Date whose open interest (USDⓈ-M plus COIN-M, :func:`open_interest_at`) calibrates the
        population.
    insurance_fund_share : float
        Each asset's insurance fund as a share of its open interest.
    adl, impact, rule
        As :func:`simulate_cascade` (``rule``: the liquidation pipeline, e.g.
        ``"binance_usdm_btcusdt_2021-03-18"``).
    oi_max_age : str or None
        ``max_age`` of :func:`open_interest_at`.
    source : Source, optional
        Default the mirror.
    rng : int
        Seed; asset ``i`` uses ``rng + i``.
    **population
        Passed to :func:`generate_population` (``leverage``, ``long_share``, ``mmr``, ...).

    Returns
    -------
    ReplayResult
    """
    from riskmodels.data import DEFAULT_UNIVERSE, load_prices

    syms = list(symbols) if symbols is not None else list(DEFAULT_UNIVERSE)
    px = load_prices(
        syms, freq="1h", market="perp", start=start, end=end, field=field, source=source
    )
    files = [r.path for r in file_records(px)]
    rows, results = {}, {}
    for i, sym in enumerate(syms):
        path = px[[sym]].dropna()
        oi_parts = {"usdm": np.nan, "coinm": np.nan}
        try:
            oi, oi_meta = open_interest_at(sym, oi_date, source=source, max_age=oi_max_age)
            oi_src, complete = oi_meta["label"], oi_meta["complete"]
            for c, b in oi_meta["breakdown"].items():
                oi_parts[c] = b["open_interest"] if b["status"] == "ok" else np.nan
        except DataNotFoundError:
            oi, oi_src, complete = float(default_open_interest), "parameter", False
        pop = generate_population(
            n_accounts,
            float(path.iloc[0, 0]),
            asset=sym,
            open_interest=oi,
            rng=rng + i,
            **population,
        )
        res = simulate_path(
            pop, path, impact=impact, insurance_fund=insurance_fund_share * oi, adl=adl, rule=rule
        )
        res.check_conservation()
        results[sym] = res
        x = np.log(path[sym].to_numpy())
        rows[sym] = {
            "open_interest": oi,
            "oi_usdm": oi_parts["usdm"],
            "oi_coinm": oi_parts["coinm"],
            "oi_complete": complete,
            "oi_source": oi_src,
            "accounts": n_accounts,
            "move_first_to_last": float(np.expm1(x[-1] - x[0])),
            "worst_drawdown": float(np.expm1(np.min(x - np.maximum.accumulate(x)))),
            "n_liquidated": res.n_liquidated,
            "liquidated_notional": res.total_liquidated_notional,
            "bad_debt": res.total_bad_debt,
            "fees": res.total_fees,
            "residual_to_fund": res.total_residual_to_fund,
            "insurance_draw": res.insurance_draw,
            "adl": res.total_adl,
            "remaining_bad_debt": res.remaining_bad_debt,
        }
    per_asset = pd.DataFrame.from_dict(rows, orient="index")
    per_asset.index.name = "asset"
    return ReplayResult(
        per_asset=per_asset,
        results=results,
        prices=px,
        meta={
            "window": (start, end),
            "field": field,
            "files": files,
            "seed": rng,
            "rule": None if rule is None else str(getattr(rule, "name", rule)),
        },
    )
