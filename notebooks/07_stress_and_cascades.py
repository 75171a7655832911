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
#
# **How venues liquidate.** The fee, where the margin left after a liquidation goes, and the
# price at which auto-deleveraging closes the winners come from a venue's dated liquidation
# rule (`riskmodels/margin/rules/*.toml`, VENUES.md "Liquidation pipelines"): on Binance
# the clearance fee and the residual margin go to a per-symbol insurance fund, and ADL closes
# profitable opposite positions at the bankrupt account's bankruptcy price, for the bankrupt
# quantity the fund could not take over.
#
# **Gap or gradual.** A shock applied in one go (a gap) reaches accounts that are already
# bankrupt when first marked; the same move in 10 or 100 steps closes most of them near their
# trigger. Every cascade number below is shown for the gap *and* the gradual paths.

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
liquidation_rule = "binance_usdm_btcusdt_2021-03-18"  # venue pipeline: fee, residual, ADL
oi_max_age = "7D"  # an open-interest value older than this at the date counts as missing
path_steps = [1, 10, 100]  # gap (1) and gradual paths of the same total move

# %%
# %matplotlib inline
import math
import warnings

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import Markdown, display

from riskmodels._display import format_table
from riskmodels.calibration import adv_from_ohlcv
from riskmodels.data import MirrorSource, load_ohlcv, load_prices, log_returns
from riskmodels.exceptions import DataNotFoundError
from riskmodels.instruments import Account, LinearPerp, MarketState
from riskmodels.liquidation import LiquidationRule
from riskmodels.reporting import figures
from riskmodels.reporting.provenance import record_inputs
from riskmodels.scenarios import HistoricalScenarios
from riskmodels.stress import (
    EVENTS,
    AccountPopulation,
    CircuitBreaker,
    SquareRootImpact,
    correlation_to_one,
    generate_population,
    historical_moves,
    open_interest_at,
    replay_2025_10_10,
    reverse_stress,
    shock_paths,
    simulate_cascade,
    single_asset_crash,
    stablecoin_depeg,
    vol_scaled,
    worst_windows,
)

figures.set_style()
if profile == "quick":  # tests and smoke checks: the same cells on a fifth of the accounts
    n_accounts, replay_accounts = n_accounts // 5, replay_accounts // 5
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
        f"{last:%Y-%m-%d}; {n_accounts:,} synthetic accounts in the cascade population "
        f"({profile} profile)."
    )
)

# %% [markdown]
# ## Named historical windows: closes and wicks
#
# Each asset's move over each event window, on the finest bars the data mirror holds for the
# whole window (1h perpetual first, then 1h spot, 4h, daily), measured on closes and on the
# bars' lows and highs side by side: close-to-close (last close over the close before the
# window), the deepest peak-to-trough of closes, the lowest low over the close before the
# window ("wick low"), the highest high over it ("wick high") and the deepest low below an
# earlier high ("wick peak-to-trough"). Liquidations trigger on the wick, not on the close: on
# 2025-10-10 the alts fell about a quarter on closes and about two thirds on the wick. Troughs
# may be at different times for different assets: a per-asset worst, not a simultaneous move.
# Wick highs are single prints (one 2020-03-13 ETH perp bar has a high of 323 USD against
# closes near 110), so read the wick columns as bounds. Events outside the configured window
# are skipped.

# %%
in_window = [
    ev
    for ev, (s, e, _) in EVENTS.items()
    if pd.Timestamp(s, tz="UTC") >= first and pd.Timestamp(e, tz="UTC").floor("D") <= last
]
skipped = [ev for ev in EVENTS if ev not in in_window]
moves_cols = {
    "close_to_close": "close to close",
    "peak_to_trough": "peak to trough (closes)",
    "wick_low": "wick low",
    "wick_high": "wick high",
    "wick_peak_to_trough": "wick peak to trough",
}
if in_window:
    moves = historical_moves(in_window, symbols=list(prices.columns), source=source)
    moves.index = moves.index.set_names(["event", "asset"])
    display(
        moves.rename(columns=moves_cols)
        .style.set_uuid("closes_wicks")
        .format({c: "{:+.1%}" for c in moves_cols.values()})
    )
    summary = (
        moves[["peak_to_trough", "wick_peak_to_trough"]]
        .groupby(level="event", sort=False)
        .agg(["min", "median"])
    )
    summary.columns = [f"{moves_cols[m]}, {stat}" for m, stat in summary.columns]
    display(summary.style.set_uuid("closes_wicks_summary").format("{:+.1%}"))
    not_listed = {ev: ", ".join(a) for ev, a in moves.attrs["skipped"].items()}
    if not_listed:
        display(
            Markdown(
                "Not listed yet (no bars covering the window): "
                + "; ".join(f"{ev}: {a}" for ev, a in not_listed.items())
                + "."
            )
        )
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
# mix, half long, entry prices dispersed so some accounts carry profits), scaled to Binance's
# open interest at the end of the window: USDⓈ-M plus COIN-M where the mirror has them, each
# market's value and date shown below (the mirror's two series do not overlap in time, so one
# of them is usually missing, and the table says which; the `open_interest` parameter where
# neither is present). Impact: square-root law with BTC's daily volatility over the last year
# and its median spot quote volume. The liquidation pipeline is the venue rule below.

# %%
try:
    oi, oi_meta = open_interest_at("BTC", last, source=source, max_age=oi_max_age)
    oi_note = oi_meta["label"]
    display(
        pd.DataFrame(oi_meta["breakdown"])
        .T.drop(columns="files")
        .rename(index={"usdm": "USDⓈ-M", "coinm": "COIN-M"})
        .style.set_uuid("oi")
        .format({"open_interest": "{:,.0f}", "age_days": "{:,.0f}"}, na_rep="—")
    )
except DataNotFoundError:
    oi, oi_note = float(open_interest), "the `open_interest` parameter (no mirror data)"
rule = LiquidationRule.load(liquidation_rule)
display(
    rule.frame()
    .loc[["clearance_fee", "residual_to", "adl_price", "adl_ranking"], ["value", "source"]]
    .style.set_uuid("rule")
    .set_caption(f"{rule.venue}: {rule.name}")
)
with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # volumes only feed the impact: price findings do not matter
    bars = load_ohlcv(
        ["BTC", "ETH"], freq="1d", start=start, end=end, source=source, quality="warn"
    )
year = last - pd.Timedelta(days=365)
adv = adv_from_ohlcv(bars, start=year)
volume = adv["BTC"]
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
display(
    format_table(
        pop.summary(),
        {
            "accounts": "count",
            "long_notional": "usd",
            "short_notional": "usd",
            "median_leverage": "number",
        },
        caption="The synthetic population per asset (notional in USD)",
    )
)

# %% [markdown]
# ### Gap and gradual paths of the same move
#
# Each shock is applied as a gap (all at once, before any account is marked) and as 10 and 100
# equal log steps, with the same population, rule, fund and impact; the impact of earlier
# liquidations stays in the price (no decay, as within the gap). "bankrupt share" is the share
# of liquidated accounts closed below their bankruptcy price; "deleveraged" is the bankrupt
# quantity ADL closed on winners at the bankruptcy price instead of selling it. The circuit
# breaker pauses liquidations for the rest of a 2-round window when the price leaves a ±5%
# band and lets half of the impact revert.

# %%
tables = []
for shock in (-0.05, -0.10, -0.20):
    for label, cb in (("no breaker", None), ("breaker", breaker)):
        t = shock_paths(
            pop,
            math.log1p(shock),
            steps=path_steps,
            impact=impact,
            insurance_fund=fund,
            rule=rule,
            circuit_breaker=cb,
        )
        tables.append(t.assign(shock=f"{shock:+.0%}", breaker=label))
paths = pd.concat(tables, ignore_index=True).set_index(["shock", "breaker", "path", "steps"])
cols = {
    "n_liquidated": "accounts liquidated",
    "bankrupt_share": "bankrupt share",
    "liquidated_notional": "liquidated notional",
    "deleveraged_notional": "deleveraged",
    "bad_debt": "bad debt",
    "fees": "fees to fund",
    "residual_to_fund": "residual to fund",
    "insurance_draw": "fund draw",
    "adl": "ADL",
    "remaining_bad_debt": "remaining bad debt",
    "price_move_BTC": "final price move",
}
usd = ["liquidated notional", "deleveraged", "bad debt", "fees to fund", "residual to fund"]
usd += ["fund draw", "ADL", "remaining bad debt"]
display(
    paths[list(cols)]
    .rename(columns=cols)
    .style.set_uuid("gap_gradual")
    .format(
        {
            **{c: "{:,.0f}" for c in usd},
            "accounts liquidated": "{:,.0f}",
            "bankrupt share": "{:.0%}",
            "final price move": "{:+.1%}",
        }
    )
)


def usd_text(x):
    """USD amount as text: millions above 100k."""
    return f"{x / 1e6:,.1f}M USD" if abs(x) >= 1e5 else f"{x:,.0f} USD"


ten = paths.xs(("-10%", "no breaker"), level=("shock", "breaker"))
gradual_text = ", ".join(
    f"in {steps} steps {usd_text(row['bad_debt'])}" for (_, steps), row in ten.iloc[1:].iterrows()
)
display(
    Markdown(
        f"A −10% **gap** leaves {usd_text(ten.iloc[0]['bad_debt'])} of bad debt "
        f"({ten.iloc[0]['bankrupt_share']:.0%} of the liquidated accounts bankrupt when first "
        f"marked); the same move taken gradually leaves {gradual_text}. "
        "The gap is the worst case of the path shape, "
        "not the expected outcome of a −10% day. `shock_paths` checks conservation on every "
        "run: bad debt = fund draw + ADL + remaining bad debt, each fund's ledger closes, and "
        "liquidated quantity = sold + deleveraged."
    )
)

# %% [markdown]
# How fast the book refills between steps is not published anywhere; as a sensitivity, the
# −10% move over one hour with the carried impact halving every 30 or 5 minutes, and with no
# carried impact at all (each step starts from the fundamental price). "None carried" is not
# a lower bound: the square-root law is steepest at zero flow, so restarting it at every step
# makes each step's first sales the most expensive.

# %%
decay = {}
for hl in (math.inf, "30min", "5min", None):
    t = shock_paths(
        pop,
        math.log1p(-0.10),
        steps=path_steps,
        duration="1h",
        impact_half_life=hl,
        impact=impact,
        insurance_fund=fund,
        rule=rule,
    )
    name = {math.inf: "permanent", None: "none carried"}.get(hl, f"half-life {hl}")
    decay[name] = t.set_index("steps")["bad_debt"]
display(
    pd.DataFrame(decay)
    .rename_axis("steps")
    .style.set_uuid("decay")
    .format("{:,.0f}")
    .set_caption("bad debt (USD), -10% over one hour")
)

# %%
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4))
colors = {"-5%": "C0", "-10%": "C1", "-20%": "C2"}
for shock in colors:
    res = simulate_cascade(
        pop, math.log1p(float(shock.strip("%")) / 100), impact=impact, insurance_fund=fund,
        rule=rule,
    )  # fmt: skip
    path = res.path.reset_index(drop=True)
    ax1.plot(path.index, path["price_BTC"], color=colors[shock], marker="o", label=f"{shock} gap")
    sub = paths.xs((shock, "no breaker"), level=("shock", "breaker")).droplevel("path")
    ax2.plot(sub.index, sub["bad_debt"] / 1e6, color=colors[shock], marker="o", label=shock)
ax1.set_xlabel("round (0: shocked price, before liquidations)")
ax1.set_ylabel("BTC mark price (USD)")
ax1.set_title("Gap: the cascade round by round")
ax2.set_xscale("log")
ax2.set_xticks(path_steps, [str(n) for n in path_steps])
ax2.minorticks_off()
ax2.set_xlabel("steps the move is taken in (1 = gap)")
ax2.set_ylabel("bad debt (M USD)")
ax2.set_title("Same move, gap vs gradual")
for ax in (ax1, ax2):
    ax.legend(fontsize=8)
plt.show()

# %% [markdown]
# ### One insurance fund per symbol
#
# Binance keeps a fund per symbol (VENUES.md §1.2). A two-asset population, BTC as above and
# ETH scaled to its own open interest, hit by −3% on BTC and −15% on ETH: with a fund per
# symbol (1% of each asset's open interest) ETH's bad debt cannot draw on BTC's fund, so ADL
# starts as soon as ETH's fund is empty while BTC's is still mostly full; with the same total
# pooled, the fund covers more and ADL less.

# %%
try:
    oi_eth, eth_meta = open_interest_at("ETH", last, source=source, max_age=oi_max_age)
    eth_note = eth_meta["label"]
except DataNotFoundError:
    oi_eth, eth_note = 0.4 * oi, "40% of BTC's (no mirror data)"
pop_eth = generate_population(
    n_accounts // 2, float(px["ETH"]), asset="ETH", open_interest=oi_eth, entry_dispersion=0.05,
    rng=seed + 1,
)  # fmt: skip
both = AccountPopulation.concat([pop, pop_eth])
impact2 = SquareRootImpact(
    sigma={"BTC": sigma, "ETH": float(daily["ETH"].loc[year:].std())},
    daily_volume={"BTC": volume, "ETH": adv["ETH"]},
)
funds = {"BTC": insurance_fund_share * oi, "ETH": insurance_fund_share * oi_eth}
shock2 = {"BTC": math.log1p(-0.03), "ETH": math.log1p(-0.15)}
fund_rows = []
for label, f in (("per symbol", funds), ("pooled", sum(funds.values()))):
    t = shock_paths(both, shock2, steps=path_steps, impact=impact2, insurance_fund=f, rule=rule)
    keep = ["path", "steps", "bad_debt", "insurance_draw", "adl", "remaining_bad_debt"]
    keep += [c for c in t.columns if c.startswith(("insurance_draw_", "insurance_fund_end_"))]
    fund_rows.append(t[keep].assign(funds=label))
fund_table = pd.concat(fund_rows, ignore_index=True).set_index(["funds", "path", "steps"])
display(
    Markdown(
        f"ETH open interest {oi_eth / 1e9:.2f}B USD ({eth_note}); funds "
        + ", ".join(f"{a} {v / 1e6:,.0f}M" for a, v in funds.items())
        + " USD."
    )
)
display(fund_table.style.set_uuid("funds").format("{:,.0f}", na_rep="—"))

# %% [markdown]
# ## Replay of 2025-10-10
#
# Hourly Binance USDⓈ-M perpetual closes drive a synthetic population per asset, calibrated
# to the open interest of the day before (`oi_source` names the markets used: on 2025-10-09
# the mirror has COIN-M only, so USDⓈ-M is reported missing and the populations are too
# small; a default where the mirror has none), one insurance fund per asset, the venue rule's
# fee, residual margin and ADL. The replay drives observed prices, so no impact is carried
# between bars (they already contain it). Closes miss the intra-hour alt wicks (see the
# closes-versus-wicks table above), so this understates the liquidations of that night.

# %%
if first <= pd.Timestamp("2025-10-10", tz="UTC") and last >= pd.Timestamp("2025-10-11", tz="UTC"):
    replay = replay_2025_10_10(
        list(prices.columns), n_accounts=replay_accounts, source=source, rng=seed, rule=rule
    )
    display(
        format_table(
            replay.per_asset,
            {
                "accounts": "count",
                "n_liquidated": "count",
                "move_first_to_last": "pct",
                "worst_drawdown": "pct",
            },
            default="usd",
            caption="2025-10-10 replayed per asset (money in USD)",
        )
    )
else:
    display(
        Markdown(
            f"The configured window ({first:%Y-%m-%d} to {last:%Y-%m-%d}) does not include "
            "2025-10-10: no replay."
        )
    )
