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
# # Liquidation thresholds: maintenance margin solved for coverage
#
# Exchanges publish maintenance margin rates (BTC: 0.40% for the first tier on Binance)
# without saying what confidence or liquidation horizon they cover. Here the MMR is **solved**:
# for each notional tier, the smallest rate such that the loss over the time it takes to
# liquidate the position, plus the slippage of selling it, exceeds the margin with probability
# at most the target:
#
# $$MMR = \min\{m : P(L_{h(N)} + s(N) > m) \le p\},\qquad h(N) = \max\left(h_0, \frac{N}{\pi \cdot ADV}\right),$$
#
# with $L_h$ the loss of a long (or short) position over horizon $h$, $s(N)$ square-root
# slippage, $\pi$ the share of daily volume a liquidation may take and $ADV$ the average daily
# quote volume. The rate is calibrated on data before `test_start` and checked on the held-back
# data after it (binomial test of the breach count). Each figure says which bars served it: the
# finest the data mirror holds for that horizon.

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

# %%
# %matplotlib inline
import warnings

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from IPython.display import Markdown, display

from riskmodels.backtest import traffic_light
from riskmodels.calibration import adv_from_ohlcv, calibration_grid
from riskmodels.data import FREQUENCIES, MirrorSource, load_ohlcv, load_prices, log_returns
from riskmodels.exceptions import DataNotFoundError
from riskmodels.instruments import MarketState
from riskmodels.liquidation import replay_rules
from riskmodels.margin import binance_usdm_tiers, capital_efficiency, example_books, example_models
from riskmodels.parallel import session_scheduler
from riskmodels.reporting import figures
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
pd.set_option("display.float_format", "{:,.4g}".format)
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

# %% [markdown]
# ## Calibrated tier table next to Binance's
#
# Binance's BTCUSDT brackets (announcement of 2021-03-18) with their published MMR, and the MMR
# calibrated for the same brackets. Larger brackets take longer to liquidate, so their horizon
# (and slippage) grows.

# %%
tiers = binance_usdm_tiers()
run_on = dict(
    backend=backend,
    n_jobs=n_jobs,
    scheduler=scheduler,
    cache_dir=cache_dir,
    retries=retries,
    progress=False,
)
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
    **run_on,
)
cals = {a: tier_grid[a, base_horizon, target, "historical"] for a in assets}
for a, cal in cals.items():
    published = tiers.get(a, tiers["BTC"]).frame()
    display(Markdown(f"### {a} (published table: {tiers.get(a, tiers['BTC']).name})"))
    s = cal.summary()
    display(s)
    display(published)

# %% [markdown]
# ## Out-of-sample evidence
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
    hits = np.zeros(int(n), dtype=bool)
    hits[: int(breaches)] = True  # the zone depends on the count only
    return traffic_light(hits, alpha=1.0 - target).zone


for a, cal in cals.items():
    display(Markdown(f"### {a}"))
    overall = cal.breaches[cal.breaches["group"] == "all"].copy()
    overall["traffic_light"] = [
        _zone(n, b) for n, b in zip(overall["n"], overall["breaches"], strict=True)
    ]
    display(overall.drop(columns=["group", "value"]).reset_index(drop=True))
    display(cal.breaches[cal.breaches["group"] != "all"].reset_index(drop=True))

# %% [markdown]
# ## Sensitivity to the horizon and the target
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
    **run_on,
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
display(plane_mmr)
order = [h for h in plane_mmr.index if h in set(curve["horizon"])]
fig, ax = plt.subplots(figsize=(9, 4))
sns.lineplot(data=curve, x="target", y="mmr", hue="horizon", hue_order=order, marker="o", ax=ax)
ax.axhline(0.004, color="crimson", ls="--", lw=0.8, label="Binance tier 1 (0.40%)")
ax.set_xscale("log")
ax.yaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:.1%}"))
ax.set_ylabel(f"{assets[0]} long MMR")
ax.set_xlabel("target breach probability")
ax.legend(fontsize=8)
plt.show()

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
show["delay"] = show["delay"].map(lambda d: f"{d.total_seconds():g} s")
display(
    show.style.hide(axis="index")
    .set_uuid("replay")
    .format(
        {
            c: "{:.2%}"
            for c in show.columns
            if c.endswith((" lo", " hi")) and not c.startswith("bad debt")
        }
        | {"bad debt lo": "{:.4%}", "bad debt hi": "{:.4%}"}
    )
)
display(Markdown("\n".join(f"- **{k}**: {v}" for k, v in replay.attrs.items() if k != "skipped")))

# %% [markdown]
# ## Cross versus isolated capital efficiency
#
# The example books of `riskmodels.margin.example_books` at the last closes of the assets
# here (BTC/ETH: the altcoin book is left out), margined by isolated and cross margin
# (Binance tiers), portfolio ES 99% and a Deribit-style risk matrix. The shortfall probability
# is the share of the last 500 one-day historical moves whose loss exceeds the initial margin
# (portfolio ES is measured in sample, so it is at most 1% by construction).

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
display(
    eff[["gross_notional", "initial", "initial_pct_notional", "shortfall_prob"]]
    .style.set_uuid("efficiency")
    .format(
        {
            "gross_notional": "{:,.0f}",
            "initial": "{:,.0f}",
            "initial_pct_notional": "{:.2%}",
            "shortfall_prob": "{:.2%}",
        }
    )
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
display(
    moves[["peak_to_trough", "wick_peak_to_trough", "freq", "market"]]
    .rename(columns={"peak_to_trough": "on closes", "wick_peak_to_trough": "on wicks"})
    .style.set_uuid("crashmoves")
    .format({"on closes": "{:+.1%}", "on wicks": "{:+.1%}"})
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
display(paths.style.hide(axis="index").set_uuid("cascade10").format(precision=4, thousands=","))
