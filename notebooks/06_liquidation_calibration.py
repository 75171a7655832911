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
output_dir = None
target = 0.005  # breach probability over the liquidation horizon
base_horizon = "1D"  # liquidation horizon of the smallest position
participation = 0.10  # share of daily volume a liquidation may take
test_share = 0.25  # the last quarter of the sample is held back for the out-of-sample test

# %%
# %matplotlib inline
import warnings

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns
from IPython.display import Markdown, display

from riskmodels.calibration import adv_from_ohlcv, calibrate_mmr, replay_venue_rules
from riskmodels.data import FREQUENCIES, MirrorSource, load_ohlcv, load_prices, log_returns
from riskmodels.margin import binance_usdm_tiers
from riskmodels.reporting import figures
from riskmodels.reporting.provenance import record_inputs

figures.set_style()
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
cals = {}
for a in assets:
    cals[a] = calibrate_mmr(
        returns,
        a,
        horizon=base_horizon,
        target=target,
        tiers=tiers.get(a, tiers["BTC"]),
        adv=adv,
        participation=participation,
        test_start=test_start,
        n_boot=200,
        seed=seed,
    )
for a, cal in cals.items():
    published = tiers.get(a, tiers["BTC"]).frame()
    display(Markdown(f"### {a} (published table: {tiers.get(a, tiers['BTC']).name})"))
    s = cal.summary()
    display(s)
    display(published)

# %% [markdown]
# ## Out-of-sample evidence
#
# Breaches of the calibrated rate on the held-back period, per year, with Clopper-Pearson
# intervals: the count should be consistent with the target.

# %%
for a, cal in cals.items():
    display(Markdown(f"### {a}"))
    display(cal.breaches)

# %% [markdown]
# ## Sensitivity to the horizon and the target
#
# The first-tier MMR (long side) as the liquidation horizon and the target move: the shape of
# the calibration curve is the answer to "what confidence and horizon does a published MMR
# cover?".

# %%
rows = []
for h in ("1h", "4h", "1D", "2D", "5D"):
    for p in (0.001, 0.005, 0.01, 0.025):
        if pd.Timedelta(h) < min(FREQUENCIES[k] for k in returns):
            continue
        try:
            c = calibrate_mmr(
                returns,
                assets[0],
                horizon=h,
                target=p,
                side="long",
                n_boot=0,
                test_start=test_start,
                seed=seed,
            )
        except Exception as exc:  # too little data for this horizon and target
            display(Markdown(f"{h}, {p:.1%}: not calibrated ({type(exc).__name__})."))
            continue
        t = c.table.iloc[0]
        rows.append({"horizon": h, "target": p, "mmr": t["mmr"], "data": t["data_freq"]})
curve = pd.DataFrame(rows)
order = sorted(curve["horizon"].unique(), key=pd.Timedelta)
display(curve.pivot(index="horizon", columns="target", values="mmr").reindex(order))
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
# ## Venue rules replayed on the held-back period
#
# A 100,000 USD long held through the test period under each venue's published rule and under
# the calibrated one: how often the day's loss beat the margin, the bad debt that would have
# been left, and the capital each rule ties up.

# %%
display(
    replay_venue_rules(
        returns["1d"],
        100_000,
        asset=assets[0],
        calibrated=cals[assets[0]],
        horizon="1D",
        start=test_start,
        target=target,
        prices=daily[assets[0]],
    )
)
