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
# # Stress tests and liquidation cascades
#
# Margin models are calibrated on ordinary days; this notebook looks at the days they are not:
# named historical crashes, the worst windows in the data, hypothetical shocks to one account,
# and what happens to a whole population of leveraged accounts when a shock forces
# liquidations that move the price further.
#
# **Cascade mechanics.** A shock moves the fundamental price to $F = P_0 e^{r}$. Accounts
# whose equity falls to their maintenance margin ($E_i \le MM_i$) are closed into the market,
# most under-margined first; their net flow $Q$ (USD) moves the mark price by the square-root
# law (Tóth et al. 2011)
#
# $$P = F\,\bigl(1 + m(Q)\bigr),\qquad m(Q) = \operatorname{sign}(Q)\,Y\sigma\sqrt{|Q|/V},$$
#
# with $\sigma$ the daily volatility, $V$ the daily volume and $Y \approx 1$. The new price
# triggers the next round of liquidations, until a round liquidates nobody. Accounts closed
# below their bankruptcy price leave bad debt $b_i$; the insurance fund pays it while it can,
# then auto-deleveraging (ADL) takes profit from the opposite side, and what neither covers is
# socialized:
#
# $$\sum_i b_i = \text{insurance draw} + \text{ADL} + \text{remaining bad debt}.$$
#
# A circuit breaker pauses liquidations for a few rounds when the price leaves a band, and
# lets part of the impact revert while the book refills.

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
n_accounts = 100_000  # synthetic BTC accounts in the cascade population
open_interest = 5e9  # USD open interest where the mirror has none for the window's end
insurance_fund_share = 0.01  # insurance fund as a share of open interest
replay_accounts = 5_000  # accounts per asset in the 2025-10-10 replay

# %%
# %matplotlib inline
import math
import warnings

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import Markdown, display

from riskmodels.calibration import adv_from_ohlcv
from riskmodels.data import MirrorSource, load_ohlcv, load_prices, log_returns
from riskmodels.exceptions import DataNotFoundError
from riskmodels.instruments import Account, LinearPerp, MarketState
from riskmodels.reporting import figures
from riskmodels.reporting.provenance import record_inputs
from riskmodels.scenarios import HistoricalScenarios
from riskmodels.stress import (
    EVENTS,
    CircuitBreaker,
    SquareRootImpact,
    correlation_to_one,
    generate_population,
    historical_stress,
    open_interest_at,
    replay_2025_10_10,
    reverse_stress,
    simulate_cascade,
    single_asset_crash,
    stablecoin_depeg,
    vol_scaled,
    worst_windows,
)

figures.set_style()
pd.set_option("display.float_format", "{:,.4g}".format)
source = MirrorSource(mirror)
prices = load_prices(
    symbols, freq=freq, start=start, end=end, market=market, source=source, quality=quality
)
record_inputs(prices, output_dir=output_dir)
returns = log_returns(prices).iloc[1:]
first, last = prices.index[0], prices.index[-1]
display(
    Markdown(
        f"Universe {', '.join(prices.columns)}; {freq} {market} bars from {first:%Y-%m-%d} to "
        f"{last:%Y-%m-%d}."
    )
)

# %% [markdown]
# ## Named historical windows
#
# Each asset's deepest peak-to-trough move of closes inside the event window (from the bar
# before it), on the finest bars the data mirror holds for the whole window (1h perpetual
# first, then 1h spot, 4h, daily). Troughs may be at different times for different assets: a
# per-asset worst, not a simultaneous move. Events outside the configured window are skipped.


# %%
def event_moves(event, assets):
    """Simple move and serving bars per asset for one event (assets lacking data dropped)."""
    try:
        scs = [historical_stress(event=event, symbols=assets, source=source)]
    except DataNotFoundError:  # an asset not listed yet: one at a time
        scs = []
        for a in assets:
            try:
                scs.append(historical_stress(event=event, symbols=[a], source=source))
            except DataNotFoundError:
                continue
    out = {}
    for sc in scs:
        for j, a in enumerate(sc.assets):
            d = sc.meta["data"][a]
            out[a] = f"{math.expm1(sc.returns[0, j]):+.1%} ({d['freq']} {d['market']})"
    return out


rows, skipped = {}, []
for ev, (s, e, desc) in EVENTS.items():
    if pd.Timestamp(s, tz="UTC") < first or pd.Timestamp(e, tz="UTC").floor("D") > last:
        skipped.append(ev)
        continue
    listed = [
        a for a in prices.columns if prices[a].first_valid_index() < pd.Timestamp(s, tz="UTC")
    ]
    rows[f"{ev}: {desc}"] = event_moves(ev, listed)
if rows:
    display(pd.DataFrame.from_dict(rows, orient="index").reindex(columns=prices.columns))
if skipped:
    display(Markdown(f"Outside the configured window, skipped: {', '.join(skipped)}."))

# %% [markdown]
# ## Worst windows in the data
#
# The five worst non-overlapping 1-day and 5-day windows of an equal-weight portfolio of the
# universe (daily log returns averaged over the assets listed that day, i.e. rebalanced daily),
# found greedily: the worst rolling sum, then the worst not overlapping it, and so on.

# %%
daily = log_returns(
    prices if freq == "1d" else prices.resample("1D").last()  # daily closes
).iloc[1:]
ew = daily.mean(axis=1).rename("equal weight").dropna()
worst = pd.concat([worst_windows(ew, h, k=5).assign(horizon=h) for h in ("1D", "5D")])
worst["simple return"] = np.expm1(worst["return"])
display(
    worst[["horizon", "rank", "start", "end", "return", "simple return"]]
    .style.set_uuid("worst")
    .format(
        {
            "start": "{:%Y-%m-%d}",
            "end": "{:%Y-%m-%d}",
            "return": "{:+.3f}",
            "simple return": "{:+.1%}",
        }
    )
    .hide(axis="index")
)

# %% [markdown]
# ## Hypothetical shocks on a pair trade
#
# A cross-margined account long 1M USD of BTC perpetual and short 1M USD of ETH perpetual at
# the last closes, with 100,000 USDT of collateral. Base scenarios: the one-day historical
# moves of the last 1,000 days (or fewer). The stressed sets keep the marginals but put every
# pair at correlation one (comonotone rearrangement), or double the volatility; the single
# scenarios crash one asset or depeg the USDT collateral.

# %%
pair = ["BTC", "ETH"]
px = prices[pair].iloc[-1]
mkt = MarketState(prices={a: float(px[a]) for a in pair}, valuation_time=last)
size = 1_000_000.0
account = Account(
    collateral={"USDT": 0.10 * size},
    positions=[
        LinearPerp("BTC", math.floor(size / px["BTC"] * 1000) / 1000, px["BTC"]),
        LinearPerp("ETH", -math.floor(size / px["ETH"] * 1000) / 1000, px["ETH"]),
    ],
    prices=mkt,
)
pair_ret = daily[pair].dropna()
base = HistoricalScenarios(window=min(1000, len(pair_ret))).generate(pair_ret, last, "1D")
sets = {
    "historical (base)": base,
    "correlation to one": correlation_to_one(base),
    "volatility x 2": vol_scaled(base, 2.0),
    "BTC -30%, ETH unchanged": single_asset_crash(pair, "BTC", -0.30),
    "BTC -30%, ETH beta 0.8": single_asset_crash(pair, "BTC", -0.30, beta={"ETH": 0.8}),
    "ETH +30%, BTC unchanged": single_asset_crash(pair, "ETH", 0.30),
    "USDT depeg -10%": stablecoin_depeg(pair, "USDT", -0.10),
}
shock_rows = {}
for name, sc in sets.items():
    pnl = account.pnl(sc)
    shock_rows[name] = {
        "scenarios": sc.n_scenarios,
        "P&L 1% quantile": float(np.quantile(pnl, 0.01)),
        "worst P&L": float(pnl.min()),
        "worst P&L / equity": float(pnl.min() / account.equity),
    }
display(
    pd.DataFrame.from_dict(shock_rows, orient="index")
    .style.set_uuid("shocks")
    .format(
        {
            "P&L 1% quantile": "{:,.0f}",
            "worst P&L": "{:,.0f}",
            "worst P&L / equity": "{:+.1%}",
        }
    )
)

# %% [markdown]
# ### Reverse stress: the smallest move to insolvency
#
# Along the spread direction (BTC down, ETH up by the same log move), and the most likely
# move under the sample covariance of daily returns (smallest Mahalanobis distance on the
# boundary $E = 0$).

# %%
rev = {
    "spread (BTC down, ETH up)": reverse_stress(account, {"BTC": -1.0, "ETH": 1.0}),
    "most likely (sample covariance)": reverse_stress(account, model=pair_ret),
}
display(
    pd.DataFrame({k: {**r.simple_move().to_dict(), "found": r.found} for k, r in rev.items()})
    .T.style.set_uuid("reverse")
    .format({a: "{:+.1%}" for a in pair})
)
m = rev["most likely (sample covariance)"].mahalanobis
display(Markdown(f"The most likely insolvency move is **{m:.1f}** daily standard deviations away."))

# %% [markdown]
# ## Liquidation cascade in a BTC population
#
# A synthetic population of cross-margined BTC perpetual accounts (lognormal sizes, a leverage
# mix, half long, entry prices dispersed so some accounts carry profits), scaled to the Binance
# COIN-M open interest at the end of the window where the mirror has it (from 2021-09-15),
# else to the `open_interest` parameter. Impact: square-root law with BTC's daily volatility
# over the last year and its median spot quote volume. Shocks are applied to the fundamental
# price; the breaker pauses liquidations for the rest of a 2-round window when the price
# leaves a ±5% band and lets half of the impact revert.

# %%
try:
    oi, oi_meta = open_interest_at("BTC", last, source=source)
    oi_note = f"Binance COIN-M open interest on {oi_meta['date']}"
except DataNotFoundError:
    oi, oi_note = float(open_interest), "the `open_interest` parameter (no mirror data)"
with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # volumes only feed the impact: price findings do not matter
    bars = load_ohlcv(["BTC"], freq="1d", start=start, end=end, source=source, quality="warn")
year = last - pd.Timedelta(days=365)
volume = adv_from_ohlcv(bars, start=year)["BTC"]
sigma = float(daily["BTC"].loc[year:].std())
impact = SquareRootImpact(sigma=sigma, daily_volume=volume)
pop = generate_population(
    n_accounts, float(px["BTC"]), open_interest=oi, entry_dispersion=0.05, rng=seed
)
fund = insurance_fund_share * oi
breaker = CircuitBreaker(0.05, window=2, recovery=0.5)
display(
    Markdown(
        f"Open interest **{oi / 1e9:.2f}B USD** ({oi_note}); insurance fund {fund / 1e6:,.0f}M "
        f"USD; σ = {sigma:.2%}/day, V = {volume / 1e9:.2f}B USD/day."
    )
)
display(pop.summary())
runs = {}
for shock in (-0.05, -0.10, -0.20):
    for label, cb in (("no breaker", None), ("breaker", breaker)):
        runs[(f"{shock:+.0%}", label)] = simulate_cascade(
            pop,
            math.log1p(shock),
            impact=impact,
            insurance_fund=fund,
            adl="ranking",
            circuit_breaker=cb,
        )

# %%
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4))
colors = {"-5%": "C0", "-10%": "C1", "-20%": "C2"}
for (shock, label), res in runs.items():
    path = res.path.reset_index(drop=True)
    style = {"color": colors[shock], "ls": "-" if label == "no breaker" else "--", "marker": "o"}
    ax1.plot(path.index, path["price_BTC"], label=f"{shock}, {label}", **style)
    ax2.plot(path.index, path["liquidated_notional"].cumsum() / 1e9, **style)
ax1.set_ylabel("BTC mark price (USD)")
ax2.set_ylabel("cumulative liquidated notional (B USD)")
for ax in (ax1, ax2):
    ax.set_xlabel("round (0: shocked price, before liquidations)")
ax1.legend(fontsize=8)
fig.suptitle("Cascade path by round, with (dashed) and without (solid) the circuit breaker")
plt.show()

# %%
table = pd.DataFrame(
    {
        k: {
            "accounts liquidated": r.n_liquidated,
            "liquidated notional": r.total_liquidated_notional,
            "bad debt": r.total_bad_debt,
            "insurance draw": r.insurance_draw,
            "ADL": r.total_adl,
            "remaining bad debt": r.remaining_bad_debt,
            "final price move": float(r.final_prices[0] / r.initial_prices[0] - 1),
            "conservation residual": r.conservation()["residual"],
        }
        for k, r in runs.items()
    }
).T
table.index.names = ["shock", "circuit breaker"]
usd = ["liquidated notional", "bad debt", "insurance draw", "ADL", "remaining bad debt"]
display(
    table.style.set_uuid("cascades")
    .format({c: "{:,.0f}" for c in usd})
    .format({"accounts liquidated": "{:,.0f}", "final price move": "{:+.1%}"})
    .format({"conservation residual": "{:.1e}"})
)
for r in runs.values():
    r.check_conservation()  # raises ModelError if any loss is not borne by someone
display(
    Markdown(
        f"`check_conservation()` holds for all {len(runs)} runs: bad debt = insurance draw + ADL "
        "+ remaining bad debt, and the fund's ledger closes."
    )
)

# %% [markdown]
# ## Replay of 2025-10-10
#
# Hourly Binance USDⓈ-M perpetual closes drive a synthetic population per asset, calibrated
# to the COIN-M open interest of the day before (a default where the mirror has none), one
# insurance fund per asset. Closes miss the intra-hour alt wicks, so this understates the
# liquidations of that night.

# %%
if first <= pd.Timestamp("2025-10-10", tz="UTC") and last >= pd.Timestamp("2025-10-11", tz="UTC"):
    replay = replay_2025_10_10(
        list(prices.columns), n_accounts=replay_accounts, source=source, rng=seed
    )
    display(replay.per_asset)
else:
    display(
        Markdown(
            f"The configured window ({first:%Y-%m-%d} to {last:%Y-%m-%d}) does not include "
            "2025-10-10: no replay."
        )
    )
