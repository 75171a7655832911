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
# # VaR and ES backtests
#
# Out-of-sample, one-day-ahead VaR and ES at 99% and 97.5% for BTC and for an equal-weight
# portfolio of the universe, rolling through history with `riskmodels.backtest.walk_forward`:
# each forecast uses only data up to its date; models are re-estimated every `refit_every` bars
# and filtered forward in between.
#
# * **HS**: historical simulation over the window;
# * **FHS**: filtered historical simulation, GARCH(1,1)-t residuals rescaled to tomorrow's
#   volatility (Barone-Adesi et al. 1999);
# * **EWMA-normal**: RiskMetrics $\lambda = 0.94$ with normal quantiles;
# * **EVT**: GARCH-t filter + generalized Pareto tail of the residuals (McNeil & Frey 2000).
#
# A hit is a day whose loss exceeds the VaR. Kupiec tests the hit rate, Christoffersen its
# independence, the Basel traffic light classifies the count, and McNeil-Frey tests whether
# losses beyond the VaR average to the ES.

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
backend = "loky"  # where the backtests run: loky | dask | sequential (same numbers)
n_jobs = 1  # worker processes, -1 for every core
scheduler = None  # backend "dask": a running scheduler's address; None starts a local cluster
cache_dir = None  # backtest task cache folder (an interrupted run resumes); None: no cache
retries = 1  # re-runs of a backtest task after a worker crash
output_dir = None
window = 500  # bars of history per forecast
refit_every = 25  # bars between re-estimations

# %%
# %matplotlib inline
import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import Markdown, display

from riskmodels._display import format_table
from riskmodels.backtest import standard_models, walk_forward
from riskmodels.data import MirrorSource, common_sample, load_prices, log_returns
from riskmodels.parallel import RunOptions, session_scheduler
from riskmodels.reporting import figures
from riskmodels.reporting.provenance import record_inputs

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
prices = load_prices(
    symbols,
    freq=freq,
    start=start,
    end=end,
    market=market,
    source=MirrorSource(mirror),
    quality=quality,
)
record_inputs(prices, output_dir=output_dir)
models = standard_models(window)  # HS, FHS (GARCH-t), EWMA-normal, EVT
books = {
    "BTC": log_returns(prices[["BTC"]]).iloc[1:],
    "equal-weight portfolio": log_returns(common_sample(prices)).iloc[1:],
}
runs = {}
for name, rets in books.items():
    weights = pd.Series(1.0 / rets.shape[1], index=rets.columns)
    runs[name] = walk_forward(
        models,
        rets,
        weights,
        alphas=(0.99, 0.975),
        horizon="1D",
        window=window,
        refit_every=refit_every,
        seed=seed,
        run=run_options,
    )
    f = runs[name].forecasts
    display(
        Markdown(
            f"**{name}**: {f['time'].nunique()} forecasts from {f['time'].min():%Y-%m-%d} "
            f"to {f['time'].max():%Y-%m-%d}, computed with backend "
            f"`{runs[name].config['backend']}` on {runs[name].n_jobs} worker(s)."
        )
    )

# %% [markdown]
# ## Coverage and ES tests
#
# Hit rates against the nominal 1% and 2.5%, with p-values (small values reject the model).

# %%
for name, run in runs.items():
    display(Markdown(f"### {name}"))
    tests = run.tests().reset_index()
    tests["alpha"] = [f"{100 * a:g}%" for a in tests["alpha"]]
    display(
        format_table(
            tests.rename(columns={"alpha": "level"}).set_index(["model", "level"]),
            {
                "nobs": "count",
                "hits": "count",
                "hit_rate": "pct",
                **{c: "pvalue" for c in tests.columns if c.endswith("_p")},
            },
        )
    )

# %% [markdown]
# ## VaR bands and exceedances at 99%
#
# Daily P&L of one unit of exposure, the 99% VaR of each model as a loss band, and the days a
# loss broke through the FHS band.

# %%
figures.var_bands_figure(runs, 0.99, highlight="FHS")
plt.show()

# %% [markdown]
# ## Traffic light through time
#
# Exceptions of the 99% FHS VaR over rolling 250-day windows against the Basel zones
# (green ≤ 4, yellow 5–9, red ≥ 10).

# %%
figures.traffic_light_timeline_figure(runs, 0.99, model="FHS")
plt.show()
