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
# # Quickstart: from prices to a margin number and a backtest verdict
#
# Ten cells through the package on BTC and ETH daily closes: returns, a GARCH fit, one-day
# filtered-historical scenarios, the portfolio margin of a small account, and a walk-forward
# VaR backtest with its Kupiec test and Basel traffic light. The other notebooks go deeper into
# each step.

# %% tags=["parameters"]
config_path = None
assets = ["BTC", "ETH"]  # the two assets of this notebook (the account below trades both)
freq = "1d"
market = "spot"
start = None  # first bar (None: each asset's first bar in the mirror)
end = None  # last bar (None: the mirror's last complete bar)
quality = "raise"
mirror = None  # data mirror folder (None: $RISKMODELS_MIRROR, else ../shared/data)
seed = 20240917
profile = "default"
output_dir = None  # where the report machinery collects the data files read
window = 250  # bars of history per backtest forecast
refit_every = 50  # bars between re-estimations in the backtest

# %% [markdown]
# Load the daily closes from the local data mirror, checked on load, and record which files
# were read.

# %%
import pandas as pd
from IPython.display import Markdown, display

import riskmodels
from riskmodels.backtest import ScenarioModel, walk_forward
from riskmodels.data import MirrorSource, common_sample, load_prices, log_returns
from riskmodels.instruments import Account, LinearPerp, MarketState
from riskmodels.margin import PortfolioMargin
from riskmodels.reporting.provenance import record_inputs
from riskmodels.scenarios import FilteredHistoricalScenarios
from riskmodels.volatility import GARCH

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
display(
    Markdown(
        f"riskmodels {riskmodels.__version__}: {len(prices):,} daily closes of "
        f"{', '.join(assets)} from {prices.index[0]:%Y-%m-%d} to {prices.index[-1]:%Y-%m-%d}."
    )
)
prices.tail(3).style.format("{:,.2f}").format_index("{:%Y-%m-%d}")

# %% [markdown]
# Turn the closes into decimal log returns (the first row has no return and is dropped).

# %%
returns = log_returns(prices).iloc[1:]
returns.describe().T[["mean", "std", "min", "max"]].style.format("{:.2%}")

# %% [markdown]
# Fit a GARCH(1,1) with Student-t innovations to BTC's returns and read tomorrow's volatility.

# %%
fit = GARCH(dist="t").fit(returns["BTC"])
print(fit)
sigma = fit.forecast(1).iloc[0] ** 0.5
display(Markdown(f"BTC's volatility forecast for the next day: **{sigma:.2%}**."))

# %% [markdown]
# Draw 10,000 joint one-day moves: GARCH-filtered residuals of both assets, resampled as whole
# days and rescaled to the next day's volatility forecast.

# %%
asof = returns.index[-1]
fhs = FilteredHistoricalScenarios(volatility=GARCH(dist="t"))
scenarios = fhs.generate(returns, asof, "1D", rng=seed, n=10_000)
moves = pd.DataFrame(scenarios.simple_returns(), columns=list(scenarios.assets))
moves.quantile([0.01, 0.5, 0.99]).rename(index=lambda q: f"{q:.0%}").style.format("{:+.2%}")

# %% [markdown]
# Build a small account at the last closes: 20,000 USDT of collateral, long 1 BTC and short
# 10 ETH in linear perpetuals.

# %%
last = prices.iloc[-1]
market_state = MarketState(prices={a: float(last[a]) for a in assets}, valuation_time=asof)
account = Account(
    collateral={"USDT": 20_000.0},
    positions=[
        LinearPerp("BTC", 1.0, float(last["BTC"])),
        LinearPerp("ETH", -10.0, float(last["ETH"])),
    ],
    prices=market_state,
)

# %% [markdown]
# Its portfolio margin is the 99% expected shortfall of the account's one-day P&L over the
# scenarios, netting the two legs, plus the default minimum charges.

# %%
margin = PortfolioMargin(scenarios, measure="es", alpha=0.99).margin(account)
display(
    Markdown(
        f"**Initial margin {margin.initial:,.0f} USD**, maintenance {margin.maintenance:,.0f} "
        f"USD, against equity of 20,000 USD (as of {asof:%Y-%m-%d})."
    )
)
margin.summary().style.format("{:,.0f}")

# %% [markdown]
# Backtest the same model out of sample: a one-day 99% VaR forecast for BTC each day from the
# previous `window` days, re-estimated every `refit_every` days.

# %%
backtest = walk_forward(
    {"FHS": ScenarioModel(FilteredHistoricalScenarios(volatility=GARCH(dist="t")))},
    returns[["BTC"]],
    alphas=(0.99,),
    window=window,
    refit_every=refit_every,
    seed=seed,
    progress=False,
    backend="sequential",
)
tests = backtest.test_results("FHS", alpha=0.99)

# %% [markdown]
# The verdict: Kupiec tests whether the hit rate is 1%, and the Basel traffic light classifies
# the number of exceptions.

# %%
kupiec, light = tests["kupiec"], tests["traffic_light"]
verdict = "rejected" if kupiec.pvalue < 0.05 else "not rejected"
display(
    Markdown(
        f"**{light.zone.upper()}**: {light.exceptions} exceptions in {light.nobs} days against "
        f"{light.expected:.1f} expected; Kupiec p-value {kupiec.pvalue:.3f} (1% coverage "
        f"{verdict} at the 5% level)."
    )
)
