r"""Venues' published rules replayed on the crash windows the data mirror covers.

:func:`replay_rules` runs every shipped :class:`~riskmodels.liquidation.LiquidationRule` on
every crash window (:data:`CRASH_WINDOWS`) over one stated population, through
:func:`~riskmodels.liquidation.simulate_liquidations`, and returns one tidy table: per window,
price series, rule and close-out delay, the probability of liquidation, the probability of bad
debt given a liquidation, bad debt per liquidation and as a share of open interest, the fund
draw and the ADL volume.

Every figure is a **range** ``[lo, hi]``:

* over the bounds the bars allow (bars coarser than the delay: instant close-out at the
  trigger price vs the adverse bar extreme; equal for a point estimate), and
* over the sweeps of every parameter the venue does not publish other than the delay (e.g.
  Deribit's step size, dYdX's penalty), so an unpublished number is never fixed at one value.

The delay itself is a column: no venue publishes it (VENUES.md §L.8 derives 1–20 minutes from
the tier-1 MMRs).

Population (stated, not estimated; no venue publishes its book)
---------------------------------------------------------------
``n`` isolated positions opened at the window's first bar at its open price, half long and half
short; notionals log-uniform on [1k, 1M] USD; leverage from :data:`LEVERAGE_MIX` (an
illustrative retail mix with a fat tail of 50–100x), capped at the rule's maximum, taken as
:math:`1/(2\,\text{MMR})` at the position's notional (IM ≈ 2 MM, as CEXs usually set, VENUES.md
§1.7); wallet = notional / leverage. The insurance fund starts at ``fund_share`` (1 %) of the
population's open interest for every rule, so fund draws compare across venues.

Data
----
The finest series the mirror holds for the window (the caller may pass others): BTCUSDT
USDⓈ-M perpetual **last-price** 1-minute bars for every window (mark-price wicks are
shallower), and on 2025-10-10 also the Binance COIN-M BTCUSD **mark** price at 1 minute, side by
side. ETH has no minute data in the mirror: its windows run on 1-hour perp bars, as bounds.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from riskmodels._random import as_generator
from riskmodels.exceptions import ConfigError, DataError, DataNotFoundError
from riskmodels.liquidation.engine import simulate_liquidations
from riskmodels.liquidation.rules import (
    LiquidationRule,
    available_liquidation_rules,
    parse_duration,
)

__all__ = [
    "CRASH_WINDOWS",
    "LEVERAGE_MIX",
    "ReplayWindow",
    "replay_population",
    "replay_rules",
]

#: (leverage, probability): an illustrative retail mix, not a published distribution.
LEVERAGE_MIX: tuple[tuple[float, float], ...] = (
    (2.0, 0.15),
    (5.0, 0.25),
    (10.0, 0.25),
    (20.0, 0.20),
    (50.0, 0.10),
    (100.0, 0.05),
)


@dataclass(frozen=True)
class ReplayWindow:
    """One crash (or control) window and the price series it runs on.

    Parameters
    ----------
    name : str
    start, end : str
        UTC, inclusive bounds on bar open times.
    asset : str
    freq, market : str
        The series (:meth:`riskmodels.data.MirrorSource.bars`).
    label : str
        What the series is, for the table.
    """

    name: str
    start: str
    end: str
    asset: str = "BTC"
    freq: str = "1m"
    market: str = "perp"
    label: str = "BTCUSDT perp, last price, 1m"


#: The crash windows of the issue and the calm control, on the finest staged series.
CRASH_WINDOWS: tuple[ReplayWindow, ...] = (
    ReplayWindow("2020-03-12 (COVID)", "2020-03-12", "2020-03-13 23:59"),
    ReplayWindow("2021-05-19", "2021-05-19", "2021-05-19 23:59"),
    ReplayWindow("2022-05 (LUNA)", "2022-05-09", "2022-05-12 23:59"),
    ReplayWindow("2022-11 (FTX)", "2022-11-08", "2022-11-10 23:59"),
    ReplayWindow("2024-08-05", "2024-08-05", "2024-08-05 23:59"),
    ReplayWindow("2025-10-10", "2025-10-10", "2025-10-11 23:59"),
    ReplayWindow(
        "2025-10-10",
        "2025-10-10",
        "2025-10-10 23:59",
        market="coinm_mark",
        label="BTCUSD COIN-M mark price, 1m",
    ),
    ReplayWindow("2023-09 control", "2023-09-04", "2023-09-06 23:59"),
    ReplayWindow(
        "2021-05-19",
        "2021-05-19",
        "2021-05-19 23:59",
        asset="ETH",
        freq="1h",
        label="ETHUSDT perp, last price, 1h (bounds)",
    ),
    ReplayWindow(
        "2025-10-10",
        "2025-10-10",
        "2025-10-11 23:59",
        asset="ETH",
        freq="1h",
        label="ETHUSDT perp, last price, 1h (bounds)",
    ),
)

DEFAULT_DELAYS: tuple[str, ...] = ("0s", "5s", "30s", "1min", "5min")


def replay_population(
    rule: LiquidationRule,
    price: float,
    *,
    n: int = 2000,
    leverage_mix: Sequence[tuple[float, float]] = LEVERAGE_MIX,
    notional_range: tuple[float, float] = (1e3, 1e6),
    rng: int | np.random.Generator = 0,
) -> pd.DataFrame:
    """The stated replay population for one rule (module docstring), entering at ``price``.

    Returns
    -------
    DataFrame
        ``side, quantity, entry_price, wallet, leverage`` (the leverage after the cap).
    """
    if not (isinstance(n, int) and n >= 2):
        raise ConfigError(f"n must be an int >= 2 (got {n!r}).")
    g = as_generator(rng)
    lev, prob = np.array(leverage_mix, dtype=float).T
    if (lev <= 0).any() or (prob < 0).any() or not math.isclose(prob.sum(), 1.0, abs_tol=1e-9):
        raise ConfigError("leverage_mix must hold (leverage > 0, probability >= 0) summing to 1.")
    lo, hi = notional_range
    if not (0 < lo < hi):
        raise ConfigError(f"notional_range must be 0 < lo < hi (got {notional_range!r}).")
    notional = np.exp(g.uniform(math.log(lo), math.log(hi), n))
    qty = notional / price
    mmr = rule.maintenance(notional, qty) / notional
    cap = 1.0 / (2.0 * mmr)
    leverage = np.minimum(g.choice(lev, size=n, p=prob), cap)
    side = np.where(np.arange(n) % 2 == 0, "long", "short")
    return pd.DataFrame(
        {
            "side": side,
            "quantity": qty,
            "entry_price": price,
            "wallet": notional / leverage,
            "leverage": leverage,
        }
    )


def _window_bars(w: ReplayWindow, source: Any) -> pd.DataFrame:
    if source is None:
        from riskmodels.data import MirrorSource

        source = MirrorSource()
    bars = source.bars(w.asset, w.freq, w.market)
    lo, hi = pd.Timestamp(w.start, tz="UTC"), pd.Timestamp(w.end, tz="UTC")
    out = bars.loc[(bars.index >= lo) & (bars.index <= hi)]
    if out.empty:
        raise DataNotFoundError(f"{w.label}: no bars between {w.start} and {w.end} in {source!r}.")
    return out


def _other_unknowns(rule: LiquidationRule, names: Sequence[str]) -> list[dict[str, Any]]:
    unk = [k for k in names if rule.parameters[k].unknown]
    combos = list(itertools.product(*(rule.sweep(k) for k in unk)))
    out = []
    for c in combos:
        d = dict(zip(unk, c, strict=True))
        if d.get("slice_fraction", 0.0) == 1.0 and "slice_interval" in d:
            d["slice_interval"] = rule.sweep("slice_interval")[0]  # irrelevant without slices
        if d not in out:
            out.append(d)
    return out or [{}]


_METRICS = (
    "P(liquidation)",
    "P(bad debt | liquidation)",
    "bad debt per liquidation",
    "bad debt",
    "fund draw",
    "ADL volume",
    "socialized loss",
)


def replay_rules(
    windows: Sequence[ReplayWindow] | None = None,
    rules: Sequence[str | LiquidationRule] | None = None,
    *,
    delays: Sequence[Any] = DEFAULT_DELAYS,
    n: int = 2000,
    fund_share: float = 0.01,
    impact: Any = None,
    source: Any = None,
    bars: Mapping[str, pd.DataFrame] | None = None,
    rng: int = 0,
    skip_missing: bool = True,
) -> pd.DataFrame:
    """Replay venues' rules on crash windows (module docstring).

    Parameters
    ----------
    windows : sequence of ReplayWindow, optional
        Default :data:`CRASH_WINDOWS`.
    rules : sequence of names or LiquidationRule, optional
        Default every shipped rule with a ``[liquidation]`` table; a rule runs on a window only
        when the window's asset is among its assets.
    delays : sequence of durations
        Trigger-to-fill delays to sweep (no venue publishes one).
    n : int, default 2000
        Positions in the population per rule and window.
    fund_share : float, default 0.01
        Insurance fund at the start, as a share of the population's open interest.
    impact : float or callable, optional
        Close-out impact (default none; stated in the table).
    source : Source, optional
        Where bars come from (default the data mirror).
    bars : mapping, optional
        Pre-loaded bars per window label (``f"{w.name}|{w.label}"``), e.g. in tests.
    rng : int
        Seed of the population.
    skip_missing : bool, default True
        Leave out a window whose series the source does not hold (listed in
        ``attrs["skipped"]``); False raises.

    Returns
    -------
    DataFrame
        One row per (window, series, rule, delay): ``window, data, bars, rule, venue, delay,
        resolution`` and ``<metric> lo`` / ``<metric> hi`` for P(liquidation), P(bad debt |
        liquidation), bad debt per liquidation, bad debt (share of open interest), fund draw
        and ADL volume and socialized loss (shares of open interest), plus ``swept`` (the
        unpublished parameters whose sweeps the range covers). ``attrs`` (JSON-safe) records
        the population, fund and impact assumptions.
    """
    wins = list(CRASH_WINDOWS if windows is None else windows)
    names = rules if rules is not None else available_liquidation_rules()
    book = [r if isinstance(r, LiquidationRule) else LiquidationRule.load(r) for r in names]
    if not book:
        raise ConfigError("no liquidation rules to replay.")
    ds = [parse_duration(d, "delays") for d in delays]
    if not ds:
        raise ConfigError("delays must name at least one duration, e.g. ['30s', '1min'].")
    if not (0 <= float(fund_share) < 1):
        raise ConfigError(f"fund_share must be in [0, 1) (got {fund_share!r}).")
    others = (
        "slice_fraction",
        "slice_interval",
        "clearance_fee",
        "adl_price",
        "adl_ranking",
        "backstop_delay",
    )
    rows, skipped = [], []
    for w in wins:
        key = f"{w.name}|{w.label}"
        try:
            px = bars[key] if bars is not None and key in bars else _window_bars(w, source)
        except (DataNotFoundError, DataError) as exc:
            if not skip_missing:
                raise
            skipped.append(f"{key}: {exc}")
            continue
        p0 = float(px["open"].iloc[0])
        for rule in book:
            if rule.assets and w.asset not in rule.assets:
                continue
            pop = replay_population(rule, p0, n=n, rng=rng)
            oi = float((pop["quantity"] * pop["entry_price"]).sum())
            combos = _other_unknowns(rule, others)
            swept = sorted({k for c in combos for k in c})
            for d in ds:
                acc: dict[str, list[float]] = {m: [] for m in _METRICS}
                res_kind = "point"
                for c in combos:
                    res = simulate_liquidations(
                        px,
                        pop.drop(columns="leverage"),
                        rule,
                        delay=d,
                        impact=impact,
                        insurance_fund=fund_share * oi,
                        **c,
                    )
                    res_kind = "bounds" if res.resolution == "bounds" else res_kind
                    s = res.summary()
                    for m in _METRICS:
                        v = s.loc[m].to_numpy(dtype=float)
                        if m not in (
                            "P(liquidation)",
                            "P(bad debt | liquidation)",
                            "bad debt per liquidation",
                        ):
                            v = v / oi
                        acc[m].extend(v.tolist())
                row: dict[str, Any] = {
                    "window": w.name,
                    "data": w.label,
                    "bars": w.freq,
                    "rule": rule.name,
                    "venue": rule.venue,
                    "delay": d,
                    "resolution": res_kind,
                    "swept": ", ".join(swept) if swept else "",
                }
                for m, v in acc.items():
                    arr = np.asarray(v, dtype=float)
                    fin = arr[np.isfinite(arr)]
                    row[f"{m} lo"] = float(fin.min()) if fin.size else math.nan
                    row[f"{m} hi"] = float(fin.max()) if fin.size else math.nan
                rows.append(row)
    if not rows:
        raise DataNotFoundError(
            "no window could be replayed: " + "; ".join(skipped)
            if skipped
            else "no rule covers the windows' assets."
        )
    out = pd.DataFrame(rows)
    out.attrs = {
        "population": f"{n} isolated positions per rule and window, half long, entered at the "
        "first bar's open; notional log-uniform 1k-1M USD; leverage "
        f"{dict(LEVERAGE_MIX)} capped at 1/(2 MMR)",
        "fund": f"{fund_share:.2%} of the population's open interest at the start",
        "impact": "none" if impact is None else str(impact),
        "money": "bad debt, fund draw, ADL volume and socialized loss as shares of open interest",
        "skipped": skipped,
    }
    return out
