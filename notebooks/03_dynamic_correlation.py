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
# # Dynamic correlation
#
# Hedges net in calm markets and stop netting when correlations jump in a crash. This notebook
# fits conditional correlation models to the assets' GARCH-standardized residuals $z_t$ on their
# common sample, through `riskmodels.correlation`:
#
# * DCC (Engle 2002): $Q_t = (1-a-b)\bar Q + a z_{t-1} z_{t-1}' + b Q_{t-1}$,
#   $R_t = \mathrm{diag}(Q_t)^{-1/2} Q_t \mathrm{diag}(Q_t)^{-1/2}$, with correlation
#   targeting $\bar Q = \frac1T \sum z_t z_t'$;
# * ADCC (Cappiello, Engle & Sheppard 2006) adds $g\,(n_{t-1} n_{t-1}' - \bar N)$ with
#   $n_t = \min(z_t, 0)$: correlations that rise more after joint falls;
# * CCC: a constant correlation, the benchmark.
#
# Two-step quasi-maximum likelihood: univariate GARCH(1,1)-t first, then the correlation stage.

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
import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns
from IPython.display import Markdown, display

from riskmodels._display import format_table
from riskmodels.correlation import CCC, DCC
from riskmodels.data import MirrorSource, common_sample, load_prices, log_returns
from riskmodels.reporting import figures
from riskmodels.reporting.provenance import record_inputs
from riskmodels.volatility import GARCH, fit_panel

figures.set_style()
prices = common_sample(
    load_prices(
        symbols,
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
display(
    Markdown(
        f"Common sample of {len(symbols)} assets: {returns.index[0]:%Y-%m-%d} → "
        f"{returns.index[-1]:%Y-%m-%d} ({len(returns)} bars)."
    )
)

# %% [markdown]
# ## Estimates
#
# The univariate stage is fitted once and shared by every correlation model, so their
# correlation-stage log-likelihoods are comparable.

# %%
univariate = GARCH(dist="t", mean="constant")
vol = fit_panel(returns, univariate, on_failure="retry")
dcc = DCC(kind="dcc", univariate=univariate).fit(returns, volatility=vol)
adcc = DCC(kind="adcc", univariate=univariate).fit(returns, volatility=vol)
ccc = CCC(univariate=univariate).fit(returns, volatility=vol)
display(
    format_table(
        pd.DataFrame(
            {
                "estimate": dcc.params,
                "std. error": dcc.std_errors,
                "t": dcc.tvalues,
                "p-value": dcc.pvalues,
            }
        ).rename_axis("DCC parameter"),
        {"p-value": "pvalue"},
    )
)


def _params(res):
    return ", ".join(f"{k} = {v:.4f}" for k, v in res.params.items())


comparison = pd.DataFrame(
    {
        "correlation-stage loglik": [
            ccc.loglikelihood_correlation,
            dcc.loglikelihood_correlation,
            adcc.loglikelihood_correlation,
        ],
        "parameters": ["—", _params(dcc), _params(adcc)],
    },
    index=pd.Index(["CCC", "DCC", "ADCC"], name="model"),
)
display(format_table(comparison))

# %% [markdown]
# ## Average pairwise correlation through time
#
# The mean of the off-diagonal elements of $R_t$ (DCC), with the crash days of the sample marked.

# %%
mean_corr = dcc.correlation.mean_pairwise()
fig, ax = plt.subplots(figsize=(11, 4))
ax.plot(mean_corr.index, mean_corr.to_numpy(), lw=0.9, label="DCC")
ax.plot(adcc.correlation.mean_pairwise(), lw=0.9, alpha=0.7, label="ADCC")
ax.axhline(float(mean_corr.median()), color="grey", ls=":", lw=0.8, label="median (DCC)")
for day in ("2020-03-12", "2021-05-19", "2022-05-09", "2022-11-09", "2024-08-05", "2025-10-10"):
    t = pd.Timestamp(day, tz="UTC")
    if mean_corr.index[0] <= t <= mean_corr.index[-1]:
        ax.axvline(t, color="crimson", lw=0.6, alpha=0.6)
ax.set_ylabel("mean pairwise correlation")
ax.legend(fontsize=8)
ax.set_title("Conditional correlation (red lines: crash days)")
plt.show()

# %% [markdown]
# ## Pair paths
#
# Conditional correlation of BTC with each other asset (DCC).

# %%
fig, ax = plt.subplots(figsize=(11, 4))
anchor = "BTC" if "BTC" in symbols else symbols[0]
for other in [s for s in symbols if s != anchor]:
    ax.plot(dcc.correlation.pair(anchor, other), lw=0.7, label=f"{anchor}-{other}")
ax.set_ylabel("conditional correlation")
ax.legend(ncol=5, fontsize=7)
ax.set_title(f"DCC correlation of {anchor} with each asset")
plt.show()

# %% [markdown]
# ## Correlation matrices: calm versus stress
#
# $R_t$ on the calmest date (lowest mean correlation) and on the most correlated date of the
# sample.

# %%
calm, stress = mean_corr.idxmin(), mean_corr.idxmax()
fig, axes = plt.subplots(1, 2, figsize=(12, 5))
for ax, when, title in ((axes[0], calm, "calmest"), (axes[1], stress, "most correlated")):
    sns.heatmap(
        dcc.correlation.at(when),
        vmin=0,
        vmax=1,
        cmap="rocket_r",
        annot=len(symbols) <= 6,
        fmt=".2f",
        square=True,
        cbar=False,
        ax=ax,
    )
    ax.set_title(f"{title}: {when:%Y-%m-%d}")
plt.show()

# %% [markdown]
# ## Forecast
#
# Correlation forecast 10 bars ahead (Engle & Sheppard 2001 approximation for $h > 1$):
# it decays from $R_{T+1}$ towards the long-run level at rate $(a+b)^{h-1}$.

# %%
display(format_table(dcc.forecast(10).correlation_matrix()))
