# ---
# jupyter:
#   jupytext:
#     cell_metadata_filter: tags,-all
#     notebook_metadata_filter: -all
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Liquidation thresholds: maintenance margin for the close-out gap
#
# What maintenance margin a perpetual venue must charge so that a liquidation's close-out
# rarely ends in bad debt: the answer and its evidence, computed from the data when the report
# is built.

# %% [markdown]
# ## Method
#
# A perpetual venue watches the **mark price** continuously and closes a position within
# seconds to minutes of its equity reaching the maintenance margin; a fill beyond the
# bankruptcy price is bad debt for the insurance fund, then for auto-deleveraging. So the
# maintenance margin rate (MMR) must cover the **close-out gap**: the adverse move between the
# trigger and the fill, plus the cost of the close-out order. Here it is solved for that
# (`calibrate_mmr(method="closeout")`): per asset, side and notional bracket, the smallest
# rate $m$ such that, for positions opened at every minute at the bracket's maximum leverage
# and liquidated by the engine,
#
# $$P(\text{bad debt} \mid \text{liquidation}) = P\Bigl(s\bigl(1 - c/LP\bigr) > m\Bigr) \le p,
# \qquad c = M_{\tau+\Delta(N)}\,(1 - s\,\iota(N)),\quad \Delta(N) = \Delta_0 + \frac{N}{\rho V},$$
#
# with $\tau$ the first passage of the mark through the liquidation price $LP$, $\Delta_0$
# the engine's delay (no venue publishes it), $N/(\rho V)$ the time to sell the position at a
# share $\rho$ of the perpetual's traded volume in the stressed windows, and $\iota(N)$
# square-root impact. The report leads with the answer — the recommended tier tables beside
# the venues', the close-out horizon each venue's MMR implies, and how the answer moves with
# the delay and the target — then the replays, the evidence and what the data cannot say. The
# one-day fixed-horizon method (a clearing house's margin period of risk) follows at the end,
# for that question.

# %% tags=["parameters"]
config_path = None
symbols = ["BTC", "ETH", "BNB", "SOL", "XRP", "ADA", "DOGE", "LTC", "LINK", "AVAX"]
freq = "1d"
market = "spot"
start = None
end = None
quality = "raise"
mirror = None
seed = 20240917
profile = "default"
backend = "loky"  # where the calibration grid runs: loky | dask | sequential (same numbers)
n_jobs = 1  # worker processes, -1 for every core
scheduler = None  # backend "dask": a running scheduler's address; None starts a local cluster
cache_dir = None  # task cache folder (an interrupted run resumes); None: no cache
retries = 1  # re-runs of a task after a worker crash
output_dir = None
target = 0.005  # breach probability over the liquidation horizon
base_horizon = "1D"  # liquidation horizon of the smallest position
participation = 0.10  # share of daily volume a liquidation may take
test_share = 0.25  # the last quarter of the sample is held back for the out-of-sample test
closeout_delay = "1min"  # the engine's base delay (not published by any venue)
im_horizon = "8h"  # the initial margin covers entry -> trigger over one funding interval
im_target = 0.01  # ... with this probability of reaching maintenance

# %%
# %matplotlib inline
import warnings

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from IPython.display import Markdown, display
from scipy import stats

from riskmodels.backtest import traffic_light_from_counts
from riskmodels.calibration import (
    IMPLIED_DELAYS,
    adv_from_ohlcv,
    calibrate_mmr,
    calibration_grid,
    closeout_sensitivity,
    implied_closeout_horizon,
)
from riskmodels.data import (
    FREQUENCIES,
    MirrorSource,
    load_funding,
    load_ohlcv,
    load_prices,
    log_returns,
)
from riskmodels.exceptions import ConfigError, DataNotFoundError, ModelError
from riskmodels.instruments import MarketState
from riskmodels.liquidation import (
    CRASH_WINDOWS,
    LiquidationRule,
    replay_population,
    replay_rules,
    simulate_liquidations,
)
from riskmodels.margin import (
    TierTable,
    binance_usdm_tiers,
    capital_efficiency,
    example_books,
    example_models,
    load_tier_table,
)
from riskmodels.parallel import RunOptions, session_scheduler
from riskmodels.reporting import figures
from riskmodels.reporting.captions import Captions
from riskmodels.reporting.provenance import record_inputs
from riskmodels.scenarios import HistoricalScenarios
from riskmodels.stress import (
    EVENTS,
    SquareRootImpact,
    generate_population,
    historical_moves,
    open_interest_at,
    shock_paths,
)

figures.set_style()
# backend "dask" without a scheduler: one LocalCluster for every call of this notebook
scheduler = session_scheduler(backend, n_jobs, scheduler)
# where every engine of this notebook runs: one object from the run parameters (no number
# depends on it)
run_options = RunOptions(
    backend=backend,
    n_jobs=n_jobs,
    scheduler=scheduler,
    cache_dir=cache_dir,
    retries=retries,
    progress=False,
)
# numbered figures and tables (Table 1 is the executive summary's); long tables shown whole
cap = Captions(output_dir=output_dir, start_table=2)
source = MirrorSource(mirror)
assets = [s for s in ("BTC", "ETH") if s in symbols] or list(symbols[:1])
daily = load_prices(
    assets, freq="1d", start=start, end=end, market=market, source=source, quality=quality
)
record_inputs(daily, output_dir=output_dir)
returns = {"1d": log_returns(daily)}
# Intraday bars where the mirror has them in the window (in-progress candles dropped, listed).
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    for f in ("4h", "1h"):
        try:
            px = load_prices(
                assets, freq=f, start=start, end=end, market=market, source=source, quality="repair"
            )
        except Exception as exc:  # the mirror lacks this frequency for these assets
            display(Markdown(f"No {f} bars used: {exc}"))
            continue
        if px.notna().sum().min() > 1000:
            returns[f] = log_returns(px)
            record_inputs(px, output_dir=output_dir)
    # Volumes only feed the liquidation horizon: findings in prices do not matter here.
    ohlcv = load_ohlcv(
        assets, freq="1d", start=start, end=end, market=market, source=source, quality="warn"
    )
idx = returns["1d"].dropna(how="all").index
test_start = idx[int(len(idx) * (1 - test_share))]
adv = adv_from_ohlcv(ohlcv, end=test_start)
display(
    Markdown(
        f"Assets: {', '.join(assets)} · bars used: {', '.join(returns)} · calibration before "
        f"**{test_start:%Y-%m-%d}**, held-back test after · target breach probability "
        f"**{target:.2%}** · median daily quote volume (calibration window): "
        + ", ".join(f"{a} {v / 1e9:.2f}B USD" for a, v in adv.items())
    )
)

# %% [markdown] tags=["summary"]
# ## Executive summary
#
# The answer first: what maintenance margin covers a liquidation's close-out gap on the crash
# windows, against what the venues charge, how sure the data let us be, and what would change
# it. Everything below is the evidence.

# %% tags=["summary"]
quick = profile == "quick"
minute = {}
hourly = {}
for a in assets:
    try:
        hourly[a] = source.bars(a, "1h", "perp")
    except DataNotFoundError as exc:
        display(Markdown(f"{a}: no hourly perpetual bars ({exc}); not calibrated."))
        continue
    record_inputs(hourly[a], output_dir=output_dir)
    try:
        minute[a] = source.bars(a, "1m", "perp")
        record_inputs(minute[a], output_dir=output_dir)
    except DataNotFoundError:
        pass  # ETH: the mirror holds no minute bars
co_bars = {a: ([minute[a]] if a in minute else []) + [hourly[a]] for a in hourly}
if quick:  # smoke runs: the minute-data assets from their minute bars only, a small bootstrap
    co_bars = {a: [minute[a]] for a in co_bars if a in minute} or co_bars
    display(Markdown("Quick profile: " + ", ".join(co_bars) + " from minute bars only."))
co_funding = {}
for a in co_bars:
    try:
        co_funding[a] = load_funding(a, source=source)
    except (DataNotFoundError, ValueError):
        pass
tiers_all = binance_usdm_tiers()
co_tiers = {a: tiers_all.get(a, tiers_all["BTC"]) for a in co_bars}
closeout = calibrate_mmr(
    co_bars,
    method="closeout",
    tiers=co_tiers,
    target=target,
    delay=closeout_delay,
    participation=participation,
    im_bars=hourly,
    im_horizon=im_horizon,
    im_target=im_target,
    funding=co_funding,
    n_boot=50 if quick else 500,
    origin_every=3 if quick else 1,
    grid_size=60 if quick else 120,
    seed=seed,
)
co = closeout.table
venues = {
    "Binance": co_tiers,
    "Bybit": {"BTC": load_tier_table("bybit_usdt_btcusdt_2024-05-10")},
    "Hyperliquid": {"BTC": TierTable.from_leverage([150e6, float("inf")], [40, 20], mm_factor=0.5)},
}


def _rate(lo, mid, hi, res):
    if res == "bounds":
        if not np.isfinite(lo):
            return "not identified"
        up = f"{hi:.2%}" if np.isfinite(hi) else "none below 1/L"
        return f"{lo:.2%} – {up} (bounds)"
    if not np.isfinite(mid):
        return "not identified"
    up = "open" if not np.isfinite(hi) else f"{hi:.2%}"
    return f"{mid:.2%} [{lo:.2%}, {up}]"


def _tier_row(a, sd, b):
    x = co[(co["asset"] == a) & (co["side"] == sd) & (co["bracket"] == b)]
    return None if x.empty else x.iloc[0]


def _venue_tier1(a):
    out = {}
    for v, tabs in venues.items():
        if a in tabs:
            vt = tabs[a]
            out[v] = f"{vt.mmr[0]:.2%} at {vt.max_leverage[0]:.0f}x"
    return out


lines, summary_rows = [], []
for a in co_bars:
    first = int(co[co["asset"] == a]["bracket"].min())
    parts = []
    for sd in ("long", "short"):
        x = _tier_row(a, sd, first)
        if x is None:
            continue
        if x["resolution"] == "bounds":
            txt = _rate(x["mmr_lower_bound"], np.nan, x["mmr_upper_bound"], "bounds")
        else:
            txt = _rate(x["mmr_lo"], x["mmr_raw"], x["mmr_hi"], "point")
        parts.append(f"{sd}s {txt} at {x['leverage']:.0f}x")
        summary_rows.append(
            {
                "asset": a,
                "side": sd,
                "first bracket up to (USD)": f"{x['upper']:,.0f}",
                "recommended MMR [95% CI]": txt,
                "opened at": f"{x['leverage']:.0f}x (reference {x['reference_leverage']:.0f}x)",
                "IMR / max leverage": (
                    f"{x['imr']:.2%} / {x['max_leverage']:.0f}x"
                    if np.isfinite(x["imr"]) and np.isfinite(x["max_leverage"])
                    else "-"
                ),
                **_venue_tier1(a),
            }
        )
    res = set(co[(co["asset"] == a) & (co["bracket"] == first)]["resolution"])
    data_note = (
        "bars coarser than the delay: **bounds, no point figure** (the data cannot identify "
        "a 1-minute close-out)"
        if res == {"bounds"}
        else "1-minute perpetual bars over the crash windows"
    )
    venue_txt = "; ".join(f"{v} {t}" for v, t in _venue_tier1(a).items())
    lines.append(
        f"* **{a}** (first bracket, {data_note}): {'; '.join(parts)}. Venues' first bracket: "
        f"{venue_txt}."
    )
oos_s = closeout.oos_summary
if len(oos_s):
    first_rows = oos_s[oos_s["bracket"] == oos_s["bracket"].min()]
    held = "; ".join(
        f"{r['asset']} {r['side']}s {r['rate']:.2%} of {int(r['liquidations']):,} liquidations "
        f"({int(r['windows_over_target'])} of {int(r['windows'])} windows over the target)"
        if r["liquidations"] > 0
        else f"{r['asset']} {r['side']}s: no held-back point figure (bounds only)"
        for _, r in first_rows.iterrows()
    )
    lines.append(
        f"* **Out of sample** (each crash window held back in turn, first bracket, target "
        f"{target:.2%}): {held}. Bad debt concentrates in one crash per side: see the evidence "
        "section."
    )
lines.append(
    f"* **Assumptions that move the answer**: the engine's delay (base {closeout_delay}; no venue "
    "publishes it — the sensitivity section shows the rate for 0 s to 5 min), the target "
    f"({target:.2%} of liquidations end in bad debt) and the crash windows themselves: the "
    "rates are conditional on crashes, not an average day."
)
pts = co[(co["resolution"] == "point") & (co["bracket"] == co["bracket"].min())]
if len(pts):
    lev = pts["leverage"].max()
    below_ref = bool((pts["leverage"] < pts["reference_leverage"]).any())
    verdict = (
        f"**Verdict.** Covering a first-bracket liquidation's close-out gap on the crash windows "
        f"at the {target:.2%} target takes a maintenance rate of {pts['mmr_raw'].min():.2%} to "
        f"{pts['mmr_raw'].max():.2%}"
        + (
            f", which only leverage of at most {lev:.0f}x leaves room for: the venues' maximum "
            "leverage cannot be covered at any rate below 1/L."
            if below_ref
            else "."
        )
    )
    lines.insert(0, verdict + "\n")
display(Markdown("\n".join(lines)))
display(
    pd.DataFrame(summary_rows)
    .fillna("-")
    .style.hide(axis="index")
    .set_uuid("executive_summary")
    .set_caption("Table 1. Recommended first-bracket maintenance margin beside the venues'.")
)

# %% [markdown] tags=["summary"]
# ## Contents
#
# 0. Method: the close-out gap and how the rate is solved for
# 1. Calibrated tier tables for the close-out gap, next to the venues'
# 2. The implied close-out horizon of each venue's MMR
# 3. How the answer moves with the delay and the target
# 4. The clearing-house question: a fixed one-day horizon
# 5. Venue rules replayed on the crash windows
# 6. Out-of-sample evidence: held-back crash windows
# 7. Limitations: what the mirror cannot identify
# 8. Cross versus isolated capital efficiency
# 9. Stress results

# %% [markdown]
# ## Calibrated tier tables for the close-out gap, next to Binance's, Bybit's and Hyperliquid's
#
# The recommended tables. Per bracket: the MMR with its 95% day-block bootstrap interval (a
# monotone fit across brackets, so a larger position never has a lower rate and no published
# rate leaves its interval), the close-out horizon $\Delta(N)$, the leverage the positions
# opened at (the reference table's maximum where a rate below $1/L$ can cover it, else the
# highest that can), the initial margin (MMR plus the `im_horizon` entry-to-trigger buffer,
# funding included) and the maximum leverage it allows. Each row says which data served it:
# the BTCUSDT perpetual's 1-minute bars over the crash windows where they identify the rate,
# else the hourly perpetual history; where the finest data are coarser than the delay (ETH
# has only hourly bars) the rate comes as **bounds**, never a point. The venues' rates at the
# same notional follow on the right.

# %%
for a in co_bars:
    t = co[co["asset"] == a]
    both = t.groupby("bracket").agg(
        upper=("upper", "max"),
        mmr=("mmr", "max"),
        imr=("imr", "max"),
        max_leverage=("max_leverage", "min"),
        delay=("delay_seconds", "max"),
    )
    rows = []
    for b, r in both.iterrows():
        row = {"bracket": b, "up to (USD)": f"{r['upper']:,.0f}"}
        for sd in ("long", "short"):
            x = t[(t["side"] == sd) & (t["bracket"] == b)].iloc[0]
            row[f"MMR {sd} [95% CI]"] = _rate(
                x["mmr_lo"] if x["resolution"] == "point" else x["mmr_lower_bound"],
                x["mmr_raw"],
                x["mmr_hi"] if x["resolution"] == "point" else x["mmr_upper_bound"],
                x["resolution"],
            )
            row[f"leverage {sd}"] = f"{x['leverage']:.0f}x"
            row[f"data {sd}"] = x["data"].split(",")[0] if isinstance(x["data"], str) else "-"
        row["published MMR"] = f"{r['mmr']:.2%}" if np.isfinite(r["mmr"]) else "-"
        row["Δ(N)"] = f"{r['delay'] / 60:.1f} min"
        row["IMR"] = f"{r['imr']:.2%}" if np.isfinite(r["imr"]) else "-"
        row["max leverage"] = f"{r['max_leverage']:.0f}x" if np.isfinite(r["max_leverage"]) else "-"
        for v, tabs in venues.items():
            if a in tabs:
                vt = tabs[a]
                n = (
                    min(r["upper"], vt.upper_bounds[-1])
                    if np.isfinite(r["upper"])
                    else vt.upper_bounds[-1]
                )
                row[f"{v}"] = (
                    f"{vt.mmr_at(n, strict=False):.2%} / {vt.max_leverage[int(vt.bracket(n, strict=False))]:.0f}x"
                )
        rows.append(row)
    display(
        Markdown(
            f"### {a}: recommended table (target {target:.2%} per liquidation, base delay {closeout_delay})"
        )
    )
    display(
        cap.table(
            pd.DataFrame(rows),
            f"{a}: recommended tier table for the close-out gap (target {target:.2%} per "
            f"liquidation, base delay {closeout_delay}), beside the venues' rates at the same "
            "notional.",
            name=f"closeout-tiers-{a}",
        )
    )
display(
    Markdown(
        "Venue columns: MMR / maximum leverage of the venue's bracket that holds the same "
        "notional (Binance 2021-03-18 BTCUSDT and 2021 ETHUSDT tables, Bybit BTCUSDT risk "
        "limits (tier 1 from Bybit's API docs; tiers 3–20 undated), Hyperliquid BTC 40x/20x with "
        "MM = IM/2). **The calibrated rates are conditional on the crash windows** (13 of the 16 "
        "minute days are crashes): they answer 'what margin covers a liquidation in a crash', "
        "not an average day. The minute bars are the perpetual's *last* price, whose wicks "
        "are deeper than the mark's (2025-10-10: see the replays), so they err on the "
        "conservative side."
    )
)

# %% [markdown]
# The same answer drawn: the calibrated maintenance rate as a step function of the position's
# notional against the venues' tables (where the calibration publishes a rate: rows with only
# bounds have none), then the calibration curve it is read from — the share of liquidations
# ending in bad debt at each candidate rate, per bracket and side, where it crosses the target.

# %%
for a in co_bars:
    try:
        mine = closeout.tier_table(a)
    except (ModelError, ConfigError) as exc:  # bounds only, or an infeasible bracket
        display(Markdown(f"{a}: no calibrated table to draw ({str(exc).split(';')[0]})."))
        continue
    others = {v: tabs[a] for v, tabs in venues.items() if a in tabs}
    ax = mine.plot(others, label=f"calibrated {a} (target {target:.2%})")
    ax.set_title(f"{a}: maintenance margin rate by position notional", fontsize=10)
    cap.figure(
        ax,
        f"{a}: the calibrated maintenance margin rate per notional bracket (larger rate of the "
        f"two sides, target {target:.2%} of liquidations in bad debt, base delay "
        f"{closeout_delay}) against {', '.join(others)}. Where the calibrated step lies above a "
        "venue's, that venue's rate leaves more than the target in bad debt on the crash windows.",
    )
for a in co_bars:
    ax = closeout.plot(asset=a)
    ax.set_title(f"{a}: P(bad debt | liquidation) against the maintenance rate", fontsize=10)
    cap.figure(
        ax,
        f"{a}: calibration curves — the share of liquidations whose close-out fills beyond the "
        "bankruptcy price, against the maintenance rate, per bracket (long solid, short dashed; "
        "bounds where the bars are coarser than the delay). The recommended rate (dotted, 95% "
        f"interval shaded) is where a curve meets the {target:.2%} target (red).",
    )

# %% [markdown]
# ## The implied close-out horizon of each venue's MMR
#
# No venue publishes how long its engine takes from trigger to fill. Reversing the question:
# at which delay does each venue's tier-1 MMR, for positions at the tier's maximum leverage
# (IM = 2 MM), meet 99.5% and 99.9% per liquidation on the minute data? The delay grid is the
# resolution: on 1-minute bars nothing between an instant close-out and one minute can be
# identified, so "< 1min" is as precise as the data allow.

# %%
ih = implied_closeout_horizon(
    minute.get("BTC", hourly.get("BTC")),
    levels=(0.995, 0.999),
    delays=("0s", "1min", "2min", "5min", "15min", "60min") if quick else IMPLIED_DELAYS,
    origin_every=3 if quick else 1,
)
wide = ih.pivot_table(
    index=["venue", "mmr", "leverage", "side"], columns="level", values="label", aggfunc="first"
)
wide.columns = [f"horizon at {c:.1%}" for c in wide.columns]
at1 = ih[ih["level"] == 0.995].set_index(["venue", "mmr", "leverage", "side"])["p_bad_debt@1min"]
wide["P(bad debt | liq) at 1 min"] = at1
implied = wide.reset_index()
implied["leverage"] = implied["leverage"].map(lambda v: f"{v:.0f}x")
display(
    cap.table(
        implied,
        "The close-out horizon each venue's tier-1 MMR covers at 99.5% and 99.9% per "
        "liquidation (positions at the tier's maximum leverage, BTC minute bars).",
        kinds={"mmr": "pct", "P(bad debt | liq) at 1 min": "pct"},
    )
)
rate_cols = {c: pd.Timedelta(c.split("@", 1)[1]) for c in ih.columns if c.startswith("p_bad_debt@")}
by_delay = ih[ih["level"] == 0.995].sort_values(["venue", "side"])
fig, ax = plt.subplots(figsize=(9, 4))
for (_, r), colour in zip(by_delay.iterrows(), figures.palette(len(by_delay)), strict=True):
    x = [d / pd.Timedelta("1min") for d in rate_cols.values()]
    ax.plot(
        x,
        r[list(rate_cols)].to_numpy(dtype=float),
        marker="o",
        color=colour,
        ls="-" if r["side"] == "long" else "--",
        # "USDⓈ-M": the circled S is missing from matplotlib's default font
        label=f"{r['venue'].replace('Ⓢ', 'S')} {r['side']} ({r['mmr']:.2%} at {r['leverage']:.0f}x)",
    )
for lvl, ls in ((0.005, ":"), (0.001, "-.")):
    ax.axhline(lvl, color=figures.ALERT_COLOUR, lw=0.9, ls=ls, label=f"target {lvl:.1%}")
ax.set_xscale("symlog", linthresh=1.0)
ax.set_xlim(left=0)
ax.xaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:g}"))
figures.percent_axis(ax)
ax.set_xlabel("close-out delay (minutes, trigger to fill)")
ax.set_ylabel("P(bad debt | liquidation)")
ax.legend(fontsize=7, ncols=2)
cap.figure(
    fig,
    "P(bad debt | liquidation) of each venue's tier-1 MMR (positions at the tier's maximum "
    "leverage, BTC minute bars) as the engine's close-out delay grows (long solid, short "
    "dashed); red: the 0.5% and 0.1% targets. A venue's rate covers the delays left of where its line crosses a target.",
)

# %% [markdown]
# ## How the answer moves with the delay and the target
#
# The tier-1 BTC long MMR, at the leverage the calibration found feasible, as the close-out
# delay and the target move; the venues' tier-1 rates as horizontal lines. A rate that is
# missing could not be covered below $1/L$ at that leverage.

# %%
lev1 = float(
    co[(co["asset"] == assets[0]) & (co["side"] == "long") & (co["bracket"] == 1)]["leverage"].iloc[
        0
    ]
)
sens = closeout_sensitivity(
    minute.get(assets[0], hourly.get(assets[0])),
    leverage=lev1,
    delays=("1min", "2min", "5min", "10min")
    if quick
    else ("1min", "2min", "3min", "5min", "10min", "20min", "30min"),
    targets=(0.01, 0.005, 0.001),
    origin_every=3 if quick else 1,
    grid_size=60 if quick else 120,
)
fig, ax = plt.subplots(figsize=(9, 4))
for p_, g in sens.groupby("target"):
    ax.plot(g["delay_minutes"], g["mmr"], marker="o", label=f"target {p_:.1%}")
for v, m_ in (("Binance", 0.004), ("Bybit", 0.005), ("Hyperliquid", 0.0125)):
    ax.axhline(m_, ls="--", lw=0.8, color="grey")
    ax.text(ax.get_xlim()[1], m_, f" {v} {m_:.2%}", va="center", fontsize=8)
ax.yaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:.1%}"))
ax.set_xlabel("close-out delay Δ (minutes)")
ax.set_ylabel(f"{assets[0]} tier-1 long MMR at {lev1:.0f}x")
ax.legend(fontsize=8)
cap.figure(
    fig,
    f"{assets[0]} tier-1 long MMR at {lev1:.0f}x that meets each target, as the close-out delay "
    "grows; dashed: the venues' tier-1 rates. A missing point could not be covered below 1/L.",
)

# %% [markdown]
# ## The clearing-house question: a fixed one-day horizon (`method="horizon"`)
#
# What follows answers a different question: the loss over a fixed margin period of risk (one
# day here), as a clearing house margins. It is kept for that; it is **not** a perpetual
# venue's maintenance margin (no venue waits a day to close a position). Binance's BTCUSDT
# brackets (2021-03-18) with the rate calibrated for the same brackets on daily spot returns;
# larger brackets take longer to liquidate, so their horizon (and slippage) grows.

# %%
tiers = binance_usdm_tiers()
tier_grid = calibration_grid(
    returns,
    assets,
    horizons=[base_horizon],
    targets=[target],
    tiers={a: tiers.get(a, tiers["BTC"]) for a in assets},
    adv=adv,
    participation=participation,
    test_start=test_start,
    n_boot=200,
    seed=seed,
    insufficient="raise",
    run=run_options,
)
cals = {a: tier_grid[a, base_horizon, target, "historical"] for a in assets}
ONE_DAY_KINDS = {
    "upper": "usd",
    "slippage": "pct",
    "mmr": "pct",
    "mmr_lo": "pct",
    "mmr_hi": "pct",
    "imr": "pct",
    "max_leverage": "count",
    "n_test": "count",
    "breaches": "count",
    "breach_rate": "pct",
    "pvalue": "pvalue",
}
for a, cal in cals.items():
    published = tiers.get(a, tiers["BTC"]).frame()
    display(Markdown(f"### {a} (published table: {tiers.get(a, tiers['BTC']).name})"))
    display(
        cap.table(
            cal.summary(),
            f"{a}: MMR for a one-day horizon (target {target:.2%}), with the held-back check.",
            kinds=ONE_DAY_KINDS,
            name=f"one-day-{a}",
        )
    )
    display(
        cap.table(
            published.reset_index(),
            f"{a}: the published table ({tiers.get(a, tiers['BTC']).name}).",
            kinds={
                "lower": "usd",
                "upper": "usd",
                "max_leverage": "count",
                "mmr": "pct",
                "imr": "pct",
                "maintenance_amount": "usd",
                "published_maintenance_amount": "usd",
            },
        )
    )

# %% [markdown]
# ### Out-of-sample evidence of the one-day method
#
# Breaches of the calibrated rate on the held-back period, with Clopper-Pearson intervals: the
# count should be consistent with the target. The traffic light classifies each count with
# the Basel construction for any sample size and level (binomial cumulative probability below
# 95% green, below 99.99% yellow, else red), here at the target breach probability. The full
# breakdown per year and volatility regime follows.


# %%
def _zone(n: int, breaches: int) -> str:
    if n < 20:
        return "n/a (n < 20)"
    return traffic_light_from_counts(int(breaches), int(n), alpha=1.0 - target).zone


BREACH_KINDS = {
    "n": "count",
    "breaches": "count",
    "rate": "pct",
    "rate_lo": "pct",
    "rate_hi": "pct",
    "pvalue": "pvalue",
    "upper": "usd",
}
held_back = []
for a, cal in cals.items():
    display(Markdown(f"### {a}"))
    overall = cal.breaches[cal.breaches["group"] == "all"].copy()
    overall["traffic_light"] = [
        _zone(n, b) for n, b in zip(overall["n"], overall["breaches"], strict=True)
    ]
    held_back.append(overall.assign(asset=a))
    display(
        cap.table(
            overall.drop(columns=["group", "value"]).reset_index(drop=True),
            f"{a}: breaches of the one-day rate on the held-back period, with Clopper-Pearson "
            "95% intervals, the exact binomial p-value and the traffic light.",
            kinds=BREACH_KINDS,
        )
    )
    display(
        cap.table(
            cal.breaches[cal.breaches["group"] != "all"].reset_index(drop=True),
            f"{a}: the same breaches per year and per volatility regime.",
            kinds=BREACH_KINDS,
            name=f"one-day-breaches-{a}",
        )
    )
hb = pd.concat(held_back, ignore_index=True)
hb_cells = [c for c in ("asset", "side", "bracket") if c in hb.columns]
hb = hb.sort_values(hb_cells, kind="stable").reset_index(drop=True)
fig, ax = plt.subplots(figsize=(9, 0.2 * len(hb) + 1.8))
ypos = np.arange(len(hb))
for zone in dict.fromkeys(hb["traffic_light"]):
    colour = figures.ZONE_COLOURS.get(zone, "0.5")
    sel = hb["traffic_light"] == zone
    if sel.any():
        ax.errorbar(
            hb.loc[sel, "rate"],
            ypos[sel.to_numpy()],
            xerr=[
                (hb.loc[sel, "rate"] - hb.loc[sel, "rate_lo"]).clip(lower=0),
                (hb.loc[sel, "rate_hi"] - hb.loc[sel, "rate"]).clip(lower=0),
            ],
            fmt="o",
            color=colour,
            capsize=3,
            label=f"{zone} zone" if zone in figures.ZONE_COLOURS else zone,
        )
ax.axvline(target, color=figures.ALERT_COLOUR, ls="--", lw=1, label=f"target {target:.2%}")
ax.set_yticks(ypos, [" ".join(str(r[c]) for c in hb_cells) for _, r in hb.iterrows()], fontsize=7)
ax.invert_yaxis()
figures.percent_axis(ax, "x")
ax.set_xlabel("held-back breach rate (95% Clopper-Pearson interval)")
ax.legend(fontsize=8)
cap.figure(
    fig,
    "One-day method, held-back period: each bracket's breach rate of its calibrated rate with "
    f"its 95% interval against the {target:.2%} target, coloured by traffic-light zone. An "
    "interval that excludes the target is a miss in that direction.",
)

# %% [markdown]
# ### Sensitivity to the horizon and the target (one-day method)
#
# The first-tier MMR (long side) as the liquidation horizon and the target move: the shape of
# the calibration curve is the answer to "what confidence and horizon does a published MMR
# cover?".

# %%
shortest = min(FREQUENCIES[k] for k in returns)
plane = calibration_grid(
    returns,
    assets[0],
    horizons=[h for h in ("1h", "4h", "1D", "2D", "5D") if pd.Timedelta(h) >= shortest],
    targets=[0.001, 0.005, 0.01, 0.025],
    side="long",
    n_boot=0,
    test_start=test_start,
    seed=seed,
    run=run_options,
)
for cell in plane.config["not_calibrated"]:
    display(
        Markdown(
            f"{cell['base_horizon']}, {cell['target']:.1%}: not calibrated "
            f"({cell['note'].split(':')[0]})."
        )
    )
first = plane.table[plane.table["note"].isna() & (plane.table["bracket"] == 1)]
curve = pd.DataFrame(
    {
        "horizon": first["base_horizon"],
        "target": first["target"],
        "mmr": first["mmr"].astype(float),
        "data": first["data_freq"],
    }
)
display(
    Markdown(
        f"{tier_grid.config['n_tasks'] + plane.config['n_tasks']} calibrations computed with "
        f"backend `{plane.config['backend']}` on {plane.config['n_workers']} worker(s)."
    )
)
plane_mmr = plane.curve(assets[0])  # horizons ascending x targets; NaN: not calibrated
display(
    cap.table(
        plane_mmr.rename(
            columns=lambda t: f"target {t:.1%}" if isinstance(t, float) else t
        ).rename_axis(index="horizon", columns=None),
        f"{assets[0]} first-tier long MMR per liquidation horizon (rows) and target (columns); "
        "— where not calibrated.",
        default="pct",
    )
)
order = [h for h in plane_mmr.index if h in set(curve["horizon"])]
fig, ax = plt.subplots(figsize=(9, 4))
sns.lineplot(data=curve, x="target", y="mmr", hue="horizon", hue_order=order, marker="o", ax=ax)
ax.axhline(0.004, color="crimson", ls="--", lw=0.8, label="Binance tier 1 (0.40%)")
ax.set_xscale("log")
figures.percent_axis(ax, "x")
ax.xaxis.set_minor_formatter(plt.NullFormatter())
ax.yaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:.1%}"))
ax.set_ylabel(f"{assets[0]} long MMR")
ax.set_xlabel("target breach probability")
ax.legend(fontsize=8)
cap.figure(
    fig,
    f"One-day method: {assets[0]} first-tier long MMR against the target breach probability, per "
    "liquidation horizon; dashed: Binance's tier-1 rate. Where a curve crosses the dashed line "
    "is the confidence that rate buys at that horizon.",
)

# %% [markdown]
# ## Venue rules replayed on the crash windows
#
# Every shipped venue rule runs through the liquidation engine (`riskmodels.liquidation`) on
# each crash window the mirror holds at one minute: the mark (here the BTCUSDT perpetual's last
# price, whose wicks are deeper than the mark's; on 2025-10-10 also the COIN-M mark) is followed
# minute by minute, a position is liquidated at the first passage through its liquidation price
# and closed after the delay. No venue publishes that delay, so it is a column. Each figure is a
# range: over the bounds the bars allow (a delay shorter than the bar cannot be resolved: instant
# close-out vs the bar's extreme) and over every other parameter the venue does not publish
# (swept). ETH has no minute data in the mirror: its windows run on hourly bars, as bounds.
# The population is stated, not estimated (see the table's notes below).

# %%
# the quick profile (tests, smoke runs) replays a smaller population at one delay
quick_replay = profile == "quick"
replay = replay_rules(
    delays=("5min",) if quick_replay else ("30s", "5min"),
    n=100 if quick_replay else 300,
    source=source,
    rng=seed,
)
show = replay[
    [
        "window",
        "data",
        "rule",
        "delay",
        "resolution",
        "P(liquidation) lo",
        "P(liquidation) hi",
        "P(bad debt | liquidation) lo",
        "P(bad debt | liquidation) hi",
        "bad debt lo",
        "bad debt hi",
    ]
].copy()
display(
    cap.table(
        show,
        "Venue rules replayed on the crash windows: probability of liquidation, of bad debt "
        "given a liquidation, and bad debt as a share of open interest, each a range over the "
        "bounds the bars allow and the unpublished parameters.",
        kinds=dict.fromkeys([c for c in show.columns if c.endswith((" lo", " hi"))], "pct")
        | {"delay": "duration"},
        name="replay",
    )
)
display(Markdown("\n".join(f"- **{k}**: {v}" for k, v in replay.attrs.items() if k != "skipped")))
heat = replay[replay["delay"] == replay["delay"].max()].assign(
    series=lambda d: d["window"] + " · " + d["data"].str.split(",").str[0]
)
heat = heat.pivot_table(
    index="rule",
    columns="series",
    values="P(bad debt | liquidation) hi",
    aggfunc="first",
    sort=False,
)
fig, ax = plt.subplots(figsize=(10, 0.45 * len(heat) + 2.5))
sns.heatmap(
    heat,
    annot=heat.map(lambda v: "—" if pd.isna(v) else f"{v:.0%}"),
    fmt="",
    cmap="Reds",
    vmin=0,
    vmax=1,
    cbar_kws={"format": plt.FuncFormatter(lambda v, _: f"{v:.0%}")},
    linewidths=0.5,
    annot_kws={"fontsize": 7},
    ax=ax,
)
ax.set_xlabel("")
ax.set_ylabel("")
ax.tick_params(axis="x", labelsize=7, labelrotation=35)
ax.tick_params(axis="y", labelsize=7)
cap.figure(
    fig,
    "Share of liquidations that end in bad debt (upper end of the range) per venue rule and "
    f"crash window, at a {replay['delay'].max().total_seconds() / 60:g}-minute close-out delay "
    "and the stated population; — where the rule does not cover the window's asset or nothing "
    "was liquidated.",
)

# %% [markdown]
# One liquidation replayed, to see what the table counts: the worst position (largest bad
# debt) of Binance's rule on the first crash window, at the same delay — the mark path, the
# position's liquidation price (equity = maintenance margin) and bankruptcy price (equity =
# 0), the trigger and the close-out fill. A fill below a long's bankruptcy price (above a
# short's) is bad debt.

# %%
binance_rule = LiquidationRule.load("binance_usdm_btcusdt_2021-03-18")
replay_delay = replay["delay"].max()
shown_replay = None
for w in CRASH_WINDOWS:
    if (w.asset, w.freq, w.market) != ("BTC", "1m", "perp") or w.name not in set(replay["window"]):
        continue
    try:
        wb = source.bars(w.asset, w.freq, w.market)
    except DataNotFoundError:
        continue
    wb = wb.loc[
        (wb.index >= pd.Timestamp(w.start, tz="UTC")) & (wb.index <= pd.Timestamp(w.end, tz="UTC"))
    ]
    pop_w = replay_population(
        binance_rule, float(wb["open"].iloc[0]), n=100 if quick_replay else 300, rng=seed
    )
    oi_w = float((pop_w["quantity"] * pop_w["entry_price"]).sum())
    one = simulate_liquidations(
        wb,
        pop_w.drop(columns="leverage"),
        binance_rule,
        delay=replay_delay,
        insurance_fund=0.01 * oi_w,
    )
    if len(one.events):
        shown_replay = (w, one)
        break
if shown_replay is None:
    display(Markdown("No BTC minute crash window with a liquidation to draw."))
else:
    w, one = shown_replay
    ax = one.plot(window="3h")
    ax.set_title(f"{w.name}, {w.label}: " + ax.get_title(), fontsize=9)
    cap.figure(
        ax,
        f"Replay of {w.name} ({w.label}) under Binance's rule with a "
        f"{replay_delay.total_seconds() / 60:g}-minute close-out delay: the position with the "
        "largest bad debt, three hours either side of its liquidation. Horizontal lines: its "
        "liquidation price (equity = maintenance margin), bankruptcy price and entry price; "
        "vertical: the trigger; markers: the close-out fill after the delay.",
    )

# %% [markdown]
# ## Out-of-sample evidence: held-back crash windows
#
# Leave one window out: each crash window (and the calm control days) in turn is held back,
# the rate is solved on the others, and the held-back window's liquidations are counted at it.
# Pooled, the bad-debt count is tested against the target with the two-sided equal-tailed
# exact binomial test; its **power** against twice the target at the same number of
# liquidations stands beside it, so a pass with no power is not read as evidence. The capital
# cost of the initial margin per unit of open interest (10% a year) sits next to the held-back
# bad debt per unit of liquidated notional and per unit of open interest per year of exposure
# (in crash windows, where positions at high leverage live minutes: a stress figure), so
# over-margining shows as well as under-margining.
# Liquidations of positions opened minutes apart share one market state, so the binomial test
# overstates the evidence (the count of distinct trigger minutes is in the tier table), and the
# bad debt of a held-back window is mostly all-or-nothing: `windows_over_target` counts the
# windows whose own rate exceeds the target, and the per-window table below shows which crash
# holds it.

# %%
oos = closeout.oos_summary
OOS_KINDS = {
    "upper": "usd",
    "windows": "count",
    "windows_over_target": "count",
    "infeasible_windows": "count",
    "liquidations": "count",
    "bad_debt_events": "count",
    "rate": "pct",
    "target": "pct",
    "pvalue": "pvalue",
    "power_2x": "pct",
    "bad_debt_per_liquidated": "pct",
    "bad_debt_per_oi_year": "pct",
    "capital_cost": "pct",
    "mmr": "pct",
}
display(
    cap.table(
        oos,
        "Held-back crash windows, pooled per asset, side and bracket: bad-debt rate at the rate "
        "solved without each window, exact binomial p-value against the target and power "
        "against twice it, bad debt per liquidated notional and per open-interest-year, and "
        "the capital cost of the initial margin.",
        kinds=OOS_KINDS,
        name="closeout-oos",
    )
)
per_window = closeout.oos[(closeout.oos["bracket"] == 1)].copy()
per_window["rate"] = per_window["bad_debt_events"] / per_window["liquidations"].where(
    per_window["liquidations"] > 0
)
display(
    cap.table(
        per_window[
            ["asset", "side", "window", "mmr", "liquidations", "bad_debt_events", "rate"]
        ].reset_index(drop=True),
        "First bracket, each window held back in turn: the rate solved on the others and the "
        "held-back window's liquidations and bad debt at it.",
        kinds=OOS_KINDS,
        name="closeout-oos-windows",
    )
)
pooled = oos[oos["liquidations"] > 0].reset_index(drop=True)
if len(pooled):
    k = pooled["bad_debt_events"].to_numpy(dtype=float)
    n_liq = pooled["liquidations"].to_numpy(dtype=float)
    ci_lo = np.where(k > 0, stats.beta.ppf(0.025, k, n_liq - k + 1), 0.0)
    ci_hi = np.where(k < n_liq, stats.beta.ppf(0.975, k + 1, n_liq - k), 1.0)
    rate = k / n_liq
    fig, ax = plt.subplots(figsize=(9, 0.35 * len(pooled) + 1.8))
    ypos = np.arange(len(pooled))
    colours = dict(zip(["long", "short"], figures.palette(2), strict=True))
    for sd, colour in colours.items():
        sel = (pooled["side"] == sd).to_numpy()
        if sel.any():
            ax.errorbar(
                rate[sel],
                ypos[sel],
                xerr=[rate[sel] - ci_lo[sel], ci_hi[sel] - rate[sel]],
                fmt="o",
                color=colour,
                capsize=3,
                label=f"{sd}s",
            )
    ax.axvline(target, color=figures.ALERT_COLOUR, ls="--", lw=1, label=f"target {target:.2%}")
    ax.set_yticks(
        ypos,
        [
            f"{r['asset']} {r['side']} bracket {int(r['bracket'])} (n={int(r['liquidations']):,})"
            for _, r in pooled.iterrows()
        ],
        fontsize=7,
    )
    ax.invert_yaxis()
    ax.set_xscale("symlog", linthresh=1e-3)
    ax.set_xlim(left=0)
    figures.percent_axis(ax, "x")
    ax.set_xlabel("held-back P(bad debt | liquidation) (95% Clopper-Pearson interval)")
    ax.legend(fontsize=8)
    cap.figure(
        fig,
        "Out of sample: the bad-debt rate of the liquidations in the held-back crash windows at "
        f"the rate solved without them, per asset, side and bracket, against the {target:.2%} "
        "target. Liquidations minutes apart share one market state, so the intervals are "
        "narrower than the evidence (see the text above).",
    )

# %% [markdown]
# ## Limitations: what the mirror cannot identify
#
# - **Sub-minute delays.** The finest BTC data are 1-minute bars: a close-out faster than a
#   minute is between the instant close-out and the bar's extreme (the engine reports both).
#   Venue horizons read "< 1min" for that reason, not because they are zero.
# - **The mark price.** The minute bars are the perpetual's last price; the mark (a median of
#   index, basis and book prices, VENUES.md §L.1) wicks less. Only 2025-10-09/10 has a 1-minute
#   mark (COIN-M) in the mirror; the replays above show both.
# - **Order-book depth.** Impact is the square-root law on the windows' traded volume and
#   volatility, not the book at the trigger; a thin book at the worst minute costs more.
# - **Crash-window selection.** 13 of the 16 BTC minute days are crashes: the rates answer
#   "what covers a liquidation in a crash". ETH has no minute data: its rates are bounds
#   from hourly bars wherever the delay is shorter than an hour.
# - **Large brackets.** Positions of tens of millions take hours to sell at 10% participation;
#   few trigger states per window identify them, so their rows say which data served them and
#   are published at least at the smaller brackets' rate.

# %% [markdown]
# ## Cross versus isolated capital efficiency
#
# The example books of `riskmodels.margin.example_books` at the last closes of the assets
# here (BTC/ETH: the altcoin book is left out), margined by isolated and cross margin
# (Binance tiers), portfolio ES 99% and a Deribit-style risk matrix, both with their floors and
# contingencies (minimum charge, roll and delta shocks). The shortfall probability is the share
# of the last 500 one-day historical moves whose loss exceeds the initial margin (portfolio ES
# is measured in sample, so it is at most 1% by construction; notebook 05 measures it out of
# sample, with the basis, funding and implied-vol factors). Deribit does not publish the
# fraction φ of the extended-move loss that counts, so the risk matrix is shown at φ = 0, 1/3
# (the headline) and 1.

# %%
asof = returns["1d"].index[-1]
scenarios = HistoricalScenarios(window=500).generate(returns["1d"], asof, "1D")
last = daily.iloc[-1]
# MANA/HBAR prices only let example_books build its altcoin book, which is dropped here.
mkt = MarketState(
    prices={"BTC": float(last["BTC"]), "ETH": float(last["ETH"]), "MANA": 0.5, "HBAR": 0.1},
    valuation_time=asof,
    implied_vols={"BTC": 0.55, "ETH": 0.70},
)
books = {k: v for k, v in example_books(mkt).items() if k != "directional alt"}
eff = capital_efficiency(books, scenarios, example_models(scenarios))
band_cols = [c for c in eff.columns if c.startswith("initial φ=")]
for c in band_cols:  # the risk matrix's band as a share of gross notional
    eff[f"risk matrix {c.removeprefix('initial ')}"] = eff[c] / eff["gross_notional"]
shown = ["gross_notional", "initial", "initial_pct_notional", "shortfall_prob"]
band_shown = [f"risk matrix {c.removeprefix('initial ')}" for c in band_cols]
display(
    cap.table(
        eff[shown + band_shown],
        "Initial margin per example book and margin model (USD and share of gross notional), "
        "with the share of the last 500 one-day moves that would exceed it; the risk matrix's "
        "band over the unpublished fraction φ.",
        kinds={
            "gross_notional": "usd",
            "initial": "usd",
            "initial_pct_notional": "pct",
            "shortfall_prob": "pct",
            **dict.fromkeys(band_shown, "pct"),
        },
    )
)
eff_plot = eff["initial_pct_notional"].unstack("model")
fig, ax = plt.subplots(figsize=(9, 0.5 * eff_plot.size / max(eff_plot.shape[1], 1) + 2.5))
eff_plot.plot.barh(ax=ax, width=0.8, color=figures.palette(eff_plot.shape[1]))
for cont in ax.containers:
    ax.bar_label(cont, labels=[f"{v:.1%}" for v in cont.datavalues], fontsize=7, padding=2)
ax.invert_yaxis()
figures.percent_axis(ax, "x")
ax.set_xlabel("initial margin as a share of gross notional")
ax.set_ylabel("")
ax.legend(fontsize=8, title="model", title_fontsize=8)
cap.figure(
    fig,
    "Capital efficiency: the initial margin each model asks of each example book, as a share of "
    "its gross notional (the risk matrix at φ = 1/3). A lower bar is cheaper capital; the "
    "table above gives the shortfall each leaves, the price of that saving.",
)

# %% [markdown]
# ## Stress results
#
# Deepest peak-to-trough move of each asset in the named crash windows inside the sample, on
# the finest bars that cover each window, measured on closes and on wicks (bar lows and highs:
# what a mark-triggered liquidation sees); then a liquidation cascade after a −10% shock to a
# synthetic population of 50,000 cross-margined BTC perpetual accounts (notebook 07 has the
# mechanics), with square-root impact, an insurance fund of 1% of open interest and Binance's
# liquidation rule. The same move is shown as a gap (every account marked only after the whole
# move) and as gradual paths of 10 and 100 steps: a gap leaves most liquidated accounts
# bankrupt before anyone can act, so it is never shown alone.

# %%
inside = [
    ev
    for ev, (s, e, _) in EVENTS.items()
    if pd.Timestamp(s, tz="UTC") >= daily.index[0]
    and pd.Timestamp(e, tz="UTC").floor("D") <= daily.index[-1]
]
moves = historical_moves(inside, symbols=assets, source=source)
crash = moves[["peak_to_trough", "wick_peak_to_trough", "freq", "market"]].rename(
    columns={"peak_to_trough": "on closes", "wick_peak_to_trough": "on wicks"}
)
display(
    cap.table(
        crash,
        "Deepest peak-to-trough move of each asset in the named crash windows, on closes and on "
        "wicks, with the bars that served.",
        kinds={"on closes": "pct", "on wicks": "pct"},
        name="crash-moves",
    )
)
drawn = crash[["on closes", "on wicks"]].dropna(how="all")
if len(drawn):
    fig, ax = plt.subplots(figsize=(9, 0.32 * len(drawn) + 1.8))
    drawn.set_axis([f"{e} · {a}" for e, a in drawn.index], axis=0).plot.barh(
        ax=ax, width=0.8, color=[figures.REALIZED_COLOUR, figures.ALERT_COLOUR]
    )
    ax.invert_yaxis()
    figures.percent_axis(ax, "x")
    ax.set_xlabel("peak-to-trough move")
    ax.tick_params(axis="y", labelsize=7)
    ax.legend(fontsize=8)
    cap.figure(
        fig,
        "Deepest moves in the named crash windows, on closes and on wicks (bar lows and highs): "
        "a mark-triggered liquidation sees the wick, which is the move the maintenance margin "
        "and the close-out delay have to survive.",
    )

try:
    oi, _ = open_interest_at("BTC", asof, source=source)
except DataNotFoundError:  # no COIN-M open interest before 2021-09-15: an illustrative 5B USD
    oi = 5e9
pop = generate_population(
    50_000, float(last["BTC"]), open_interest=oi, entry_dispersion=0.05, rng=seed
)
year = asof - pd.Timedelta(days=365)
# the same -10% as a gap and as gradual paths, liquidated under Binance's published rule
# (clearance fee and residual margin to the fund, ADL at the bankruptcy price)
paths = shock_paths(
    pop,
    np.log1p(-0.10),
    steps=(1, 10, 100),
    impact=SquareRootImpact(
        sigma=float(returns["1d"]["BTC"].loc[year:].std()),
        daily_volume=adv_from_ohlcv(ohlcv, start=year)["BTC"],
    ),
    insurance_fund=0.01 * oi,
    rule="binance_usdm_btcusdt_2021-03-18",
)
money = [
    c
    for c in paths.columns
    if c.endswith("notional")
    or c.startswith(("bad_debt", "fees", "residual", "insurance", "adl", "remaining"))
]
display(
    cap.table(
        paths,
        "The −10% BTC shock on 50,000 cross-margined accounts, as a gap and as gradual paths of "
        "10 and 100 steps (Binance's rule, square-root impact, a fund of 1% of open interest); "
        "money in USD.",
        kinds={
            "n_liquidated": "count",
            "steps": "count",
            "bankrupt_share": "pct",
            **dict.fromkeys(money, "usd"),
            **{c: "pct" for c in paths.columns if c.startswith("price_move")},
        },
    )
)
fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
lab = [
    f"{p} ({int(n)} step{'s' if n > 1 else ''})"
    for p, n in zip(paths["path"], paths["steps"], strict=True)
]
cols = figures.palette(len(paths))
axes[0].bar(lab, paths["bankrupt_share"].astype(float), color=cols)
figures.percent_axis(axes[0])
axes[0].set_title("liquidated accounts left bankrupt", fontsize=10)
axes[1].bar(lab, paths["bad_debt"].astype(float), color=cols, label="bad debt")
axes[1].bar(
    lab,
    paths["insurance_draw"].astype(float),
    color="none",
    edgecolor="0.2",
    hatch="//",
    label="insurance fund draw",
)
figures.usd_axis(axes[1], "y")
axes[1].set_title("bad debt and fund draw (USD)", fontsize=10)
axes[1].legend(fontsize=8)
for a_ in axes:
    a_.tick_params(axis="x", labelsize=8)
cap.figure(
    fig,
    "The same −10% move as a gap and as gradual paths: the share of liquidated accounts that end "
    "bankrupt, and the bad debt with the insurance fund's draw on it (hatched). The gap is the "
    "worst case of the path shape, not the expected outcome of a −10% day.",
)
