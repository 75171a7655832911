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
# # Margin models: isolated, cross and portfolio margin
#
# One collateral pool backing every position (cross margin) against a pool per position
# (isolated), and a requirement that nets hedges (portfolio margin). The same four books are
# margined by every model, and each requirement is tested against the **same** one-day joint
# scenarios: the shortfall probability is the chance that the day's loss exceeds what the model
# asked for.
#
# * **Isolated / cross**: Binance USDⓈ-M notional tiers, $MM = N \cdot MMR_{bracket} - cum$
#   per position; isolated gives each position its own wallet, cross sums them against one pool.
# * **Portfolio ES**: $ES_{99\%}$ of the netted account P&L under filtered historical
#   scenarios (GARCH(1,1)-t filtered residuals re-correlated by DCC; Barone-Adesi et al. 1999).
# * **Risk matrix**: Deribit-style grid of price moves × implied-vol shocks, worst loss plus the
#   extended-move, delta-shock and roll-shock components. Deribit does not publish the fraction
#   $\varphi$ of the extended-move loss that counts, so every risk-matrix number is shown for
#   $\varphi \in \{0, 1/3, 1\}$ beside the headline ($\varphi = 1/3$).
#
# The scenarios carry more than the price move: the perpetual's **basis** to spot, the
# **funding** paid over the day, the futures' **roll** (a carry-rate proxy from the funding) and
# **implied-vol shocks** (a proxy from the fitted GARCH's own variance response: the data hold
# no implied vols). Portfolio margin also carries the default floors and contingencies (minimum
# charge, Deribit's roll and delta shocks), so a hedged book never margins at zero. In sample a
# model cannot see what its scenarios leave out; the last section measures the shortfall **out
# of sample**, on the moves (and basis and funding) that followed a date.

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

# %%
# %matplotlib inline
import math

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns
from IPython.display import Markdown, display

from riskmodels._display import format_table
from riskmodels.correlation import DCC
from riskmodels.data import MirrorSource, common_sample, load_funding, load_prices, log_returns
from riskmodels.exceptions import DataNotFoundError
from riskmodels.instruments import Account, LinearPerp, MarketState, Option, Spot
from riskmodels.margin import (
    CrossMargin,
    IsolatedMargin,
    PortfolioMargin,
    RiskMatrixMargin,
    binance_usdm_tiers,
    capital_efficiency,
    liquidation_price,
    realized_scenarios,
)
from riskmodels.reporting import figures
from riskmodels.reporting.provenance import record_inputs
from riskmodels.scenarios import (
    CarryFactors,
    FactorScenarios,
    FilteredHistoricalScenarios,
    ImpliedVolProxy,
    basis_from_prices,
)
from riskmodels.volatility import GARCH

figures.set_style()
alts = [s for s in symbols if s not in ("BTC", "ETH")][:2]
assets = ["BTC", "ETH", *alts]
prices = common_sample(
    load_prices(
        assets,
        freq=freq,
        start=start,
        end=end,
        market=market,
        source=MirrorSource(mirror),
        quality=quality,
    )
)
record_inputs(prices, output_dir=output_dir)
returns = log_returns(prices).iloc[1:]
asof = returns.index[-1]
display(
    Markdown(
        f"Assets {', '.join(assets)}; scenarios from {returns.index[0]:%Y-%m-%d} to "
        f"{asof:%Y-%m-%d} (as of the last close)."
    )
)

# %% [markdown]
# ## One-day joint scenarios
#
# 10,000 draws of whole rows of DCC-decorrelated GARCH-t residuals, rescaled to the volatility
# and correlation forecast for the next day. Each scenario then draws the basis change, the
# funding and the roll proxy of a historical day whose move of the same asset had the same rank
# (`CarryFactors`: the basis collapses and funding turns in crashes), and the implied-vol shock
# the fitted GARCH's variance recursion gives its move (`ImpliedVolProxy`, scaled per expiry by
# Deribit's vega powers). The basis is the USDⓈ-M perpetual's daily close over the spot close
# (a proxy for mark over index); funding is the BTCUSDT settlement history. Where a history does
# not cover the sample, that factor is held at zero and listed below.

# %%
window = min(1000, len(returns))
try:  # the whole histories: the basis is drawn from any day before the as-of date
    perp, spot = (
        load_prices(["BTC", "ETH"], freq=freq, market=m, source=MirrorSource(mirror), quality="off")
        for m in ("perp", "spot")
    )
    basis = basis_from_prices(perp, spot)
except DataNotFoundError:
    basis = None
funding = {"BTC": load_funding("BTC", source=MirrorSource(mirror))}
gen = FactorScenarios(
    base=FilteredHistoricalScenarios(
        volatility=GARCH(dist="t", mean="constant"), correlation=DCC(kind="dcc"), window=window
    ),
    iv=ImpliedVolProxy(),
    carry=CarryFactors(missing="zero"),
    basis=basis,
    funding=funding,
)
scenarios = gen.generate(returns, asof, "1D", rng=seed, n=10_000)
held = scenarios.meta["carry"]["carry_missing"]
display(
    Markdown(
        "Factors held at zero (no history before the as-of date): "
        + (", ".join(f"{k}: {', '.join(v)}" for k, v in held.items()) or "none")
        + "."
    )
)
factor_q = pd.DataFrame(
    {
        f: pd.Series(getattr(scenarios, f)[:, :2].ravel()).quantile([0.01, 0.5, 0.99])
        for f in ("basis", "funding", "vol_shocks")
    }
)
factor_q.index = ["1%", "median", "99%"]
display(factor_q.style.format("{:.3%}").set_caption("BTC and ETH factor draws, one day"))
sc_frame = pd.DataFrame(scenarios.simple_returns(), columns=list(scenarios.assets))
display(
    format_table(
        sc_frame.describe(percentiles=[0.01, 0.5, 0.99]).T[["std", "1%", "50%", "99%"]],
        default="pct",
        caption="One-day simple returns of the scenarios: standard deviation and quantiles",
    )
)

# %% [markdown]
# ## The books
#
# About 1M USD per leg, 10% of it as USDT collateral, at the last closes. Option prices need
# implied volatilities, which the data mirror does not hold: 55% (BTC) is an illustrative
# assumption. The alt book uses Binance's 2021 tier table for its 50× alts as an example table
# for the alts here (the package ships no tier table for them).

# %%
px = prices.iloc[-1]
mkt = MarketState(
    prices={a: float(px[a]) for a in assets},
    valuation_time=asof,
    implied_vols={"BTC": 0.55, "ETH": 0.70},
)
size = 1_000_000.0
coll = {"USDT": 0.10 * size}
q_btc = math.floor(size / px["BTC"] * 1000) / 1000
call = Option("BTC", "call", float(px["BTC"]), asof + pd.Timedelta(days=30), -q_btc)
put = Option("BTC", "put", float(px["BTC"]), asof + pd.Timedelta(days=30), -q_btc)
hedge = -(call.delta_usd(mkt) + put.delta_usd(mkt)) / px["BTC"]
books = {
    "BTC basis (spot vs perp)": Account(
        collateral=coll,
        positions=[Spot("BTC", q_btc), LinearPerp("BTC", -q_btc, px["BTC"])],
        prices=mkt,
    ),
    "long BTC / short ETH": Account(
        collateral=coll,
        positions=[
            LinearPerp("BTC", q_btc, px["BTC"]),
            LinearPerp("ETH", -math.floor(size / px["ETH"]), px["ETH"]),
        ],
        prices=mkt,
    ),
    "delta-hedged short straddle": Account(
        collateral=coll, positions=[call, put, LinearPerp("BTC", hedge, px["BTC"])], prices=mkt
    ),
    "directional alts": Account(
        collateral=coll,
        positions=[LinearPerp(a, math.floor(size / len(alts) / px[a]), px[a]) for a in alts],
        prices=mkt,
    ),
}
tiers = binance_usdm_tiers()
alt_table = next(t for t in tiers.values() if "alt" in t.name)
tiers = {**tiers, **{a: alt_table for a in alts}}
models = {
    "isolated": IsolatedMargin(tiers),
    "cross": CrossMargin(tiers),
    "portfolio ES 99%": PortfolioMargin(scenarios, measure="es", alpha=0.99),
    "risk matrix": RiskMatrixMargin.deribit(),
}

# %% [markdown]
# ## Capital efficiency
#
# Initial margin as a share of gross notional, and the probability (under the scenarios) that
# the one-day loss exceeds it. Portfolio margin is measured on the scenarios it was computed
# from, so its exceedance rate is ≤ 1% by construction; the rolling backtests of notebook 04
# test it out of sample.

# %%
table = capital_efficiency(books, scenarios, models)
band_cols = [c for c in table.columns if c.startswith("initial φ=")]
display(
    format_table(
        table[["initial", "initial_pct_notional", "shortfall_prob", "worst_loss"]],
        {
            "initial": "usd",
            "initial_pct_notional": "pct",
            "shortfall_prob": "pct",
            "worst_loss": "usd",
        },
    )
)
display(
    Markdown(
        "Risk matrix with the extended fraction unpublished: initial margin as a share of gross "
        "notional for each value of the band (the headline above uses φ = 1/3)."
    )
)
display(
    table.xs("risk matrix", level="model")[band_cols]
    .div(table.xs("risk matrix", level="model")["gross_notional"], axis=0)
    .style.format("{:.2%}")
)
plot = table.reset_index()
fig, ax = plt.subplots(figsize=(11, 4))
sns.barplot(data=plot, x="book", y="initial_pct_notional", hue="model", ax=ax)
ax.yaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:.0%}"))
ax.set_ylabel("initial margin / gross notional")
ax.set_xlabel("")
ax.set_title("Same books, same scenarios: what each margin model asks for")
plt.show()

# %% [markdown]
# ## Liquidation price of the cross-margined pair trade
#
# The BTC price (ETH held at its last close) at which the long BTC / short ETH account's equity
# meets its cross maintenance margin.

# %%
lp = liquidation_price(books["long BTC / short ETH"], "BTC", models["cross"])
display(
    Markdown(
        f"BTC liquidation price: **{lp.price:,.0f} USD** "
        f"({lp.price / px['BTC'] - 1:+.1%} from {px['BTC']:,.0f}): {lp.reason}"
    )
)


# %% [markdown]
# ## Out of sample: what the scenarios leave out
#
# Requirements set a year before the last close (half-way through a shorter sample), from
# scenarios built on the data up to that
# date; the shortfall is counted on each day that followed (non-overlapping one-day moves),
# with that day's basis change, funding and the GARCH's implied-vol response. In sample,
# portfolio ES leaves at most 1% by construction; out of sample it leaves what the year brought.

# %%
# a year before the end, or half-way through a short sample
split = returns.index[max(len(returns) - 366, len(returns) // 2)]
n_before = int((returns.index <= split).sum())
gen_then = FactorScenarios(
    base=FilteredHistoricalScenarios(
        volatility=GARCH(dist="t", mean="constant"),
        correlation=DCC(kind="dcc"),
        window=min(1000, n_before),
    ),
    iv=ImpliedVolProxy(),
    carry=CarryFactors(missing="zero"),
    basis=basis,
    funding=funding,
)
sc_then = gen_then.generate(returns, split, "1D", rng=seed, n=5_000)
carry_fit = CarryFactors(missing="zero").fit(returns, basis=basis, funding=funding)
iv_then = ImpliedVolProxy().fit(returns.loc[:split])
realized = realized_scenarios(returns, split, "1D", carry=carry_fit, iv=iv_then)
models_then = {**models, "portfolio ES 99%": PortfolioMargin(sc_then, measure="es", alpha=0.99)}
ins = capital_efficiency(books, sc_then, models_then)
oos = capital_efficiency(books, sc_then, models_then, realized=realized)
compare = pd.DataFrame(
    {
        "initial / gross": ins["initial_pct_notional"],
        "shortfall in sample": ins["shortfall_prob"],
        "shortfall out of sample": oos["shortfall_prob"],
    }
)
display(Markdown(f"Set on {split:%Y-%m-%d}; {realized.n_scenarios} realized days after it."))
display(compare.style.format("{:.2%}"))
