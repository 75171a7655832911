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
# # Model validation report: VaR/ES margin models

# %% [markdown]
# ## Contents
#
# 1. [Scope and intended use](#1.-Scope-and-intended-use)
# 2. [Data and quality](#2.-Data-and-quality)
# 3. [Model specifications and assumptions](#3.-Model-specifications-and-assumptions)
# 4. [Estimation results](#4.-Estimation-results): volatility fit, residual tails, dynamic
#    correlation
# 5. [Backtests](#5.-Backtests): coverage, independence, ES, exceedances, traffic lights
# 6. [Benchmarking against alternative models](#6.-Benchmarking-against-alternative-models)
# 7. [Sensitivity and stability](#7.-Sensitivity-and-stability)
# 8. [Assumptions and limitations](#8.-Assumptions-and-limitations): what the models assume,
#    what the data cannot identify
# 9. [Sign-off](#9.-Sign-off)
#
# Figures and tables are numbered in reading order; Table 1 (the verdict) is in the
# executive summary above. Long tables are shown whole and also written as CSV files next to
# the report.

# %% [markdown]
# ## 1. Scope and intended use
#
# **Models under review.** One-day Value-at-Risk and Expected Shortfall models used to size
# margin for **cross-margined crypto accounts**: the loss of a portfolio of spot and
# perpetual exposures over the next bar, at **99 % (VaR)** and **97.5 % (ES)**, from daily
# Binance closes. Candidates: historical simulation (HS), filtered historical simulation (FHS,
# GARCH(1,1)-t filter), EWMA-normal (RiskMetrics) and conditional EVT (McNeil-Frey), with a DCC
# correlation layer for the joint dynamics.
#
# **Intended use.** Daily initial/maintenance margin of a diversified or directional account
# (a position in one major, or a cross-margined book of the majors); input to the margin tier
# calibration (see the calibration report).
#
# **Not for.** Intraday liquidation triggers (no intraday backtests here), multi-day
# liquidation horizons without a horizon-scaling review, illiquid or newly listed tokens
# (short histories), option books (non-linear P&L), or capital adequacy in the Basel sense
# (the traffic light is used as a diagnostic, not a capital multiplier).
#
# Every number below is recomputed from the data when the report is built; the run's
# provenance (data files, configuration, package versions) is attached to the report.

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
import math
import warnings

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from IPython.display import Markdown, display
from matplotlib.colors import BoundaryNorm, ListedColormap
from matplotlib.patches import Patch
from scipy import stats

from riskmodels._display import fmt_pct, fmt_pvalue
from riskmodels.backtest import (
    diebold_mariano,
    fz_loss,
    kupiec,
    model_confidence_set,
    standard_models,
    traffic_light,
    walk_forward,
)
from riskmodels.correlation import DCC
from riskmodels.data import MirrorSource, check_quality, common_sample, load_prices, log_returns
from riskmodels.data.quality import combine
from riskmodels.parallel import RunOptions, session_scheduler
from riskmodels.reporting import figures
from riskmodels.reporting.captions import Captions
from riskmodels.reporting.provenance import record_inputs
from riskmodels.volatility import GARCH, fit_panel

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
# numbered figures and tables; Table 1 is the executive summary's verdict
cap = Captions(output_dir=output_dir, start_table=2)
periods_per_year = {"1d": 365, "4h": 365 * 6, "1h": 365 * 24}[freq]


def level(alpha: float) -> str:
    """A confidence level as people write it: 0.99 -> "99%", 0.975 -> "97.5%"."""
    return f"{100 * alpha:g}%"


source = MirrorSource(mirror)
prices = load_prices(
    symbols, freq=freq, start=start, end=end, market=market, source=source, quality=quality
)
record_inputs(prices, output_dir=output_dir)
returns = log_returns(prices)
common = log_returns(common_sample(prices)).iloc[1:]
garch_t = GARCH(dist="t", mean="constant")

# %% [markdown]
# ## 2. Data and quality
#
# Binance daily closes (UTC bar open times) loaded with the configured quality policy; the
# analysis uses decimal log returns. Each asset is fitted on its own listed history; the
# portfolio and the correlation model use the **common sample** (dates on which every asset
# trades).

# %%
coverage = pd.DataFrame(
    {
        "first return": [returns[s].first_valid_index() for s in symbols],
        "last return": [returns[s].last_valid_index() for s in symbols],
        "returns": [int(returns[s].notna().sum()) for s in symbols],
    },
    index=pd.Index(symbols, name="asset"),
)
display(
    Markdown(
        f"Universe: {', '.join(symbols)} (Binance {market} {freq}). Window: "
        f"{returns.index[0]:%Y-%m-%d} → {returns.index[-1]:%Y-%m-%d}. Common sample: "
        f"{common.index[0]:%Y-%m-%d} → {common.index[-1]:%Y-%m-%d} ({len(common)} returns). "
        f"Quality policy for the analysis panel: `{quality}`."
    )
)
display(
    cap.table(
        coverage,
        "Coverage per asset: first and last daily return and their number (own listed history).",
        kinds={"first return": "date", "last return": "date", "returns": "count"},
    )
)

# %% [markdown]
# **Quality findings** on the bars as stored (all fields, full history), per asset and check
# (`riskmodels.data.check_quality`; the data report lists each finding). Errors under the
# analysis policy would have stopped the run above; what remains here is documented, not
# silently repaired.

# %%
stored = {s: source.bars(s, freq, market) for s in symbols}
record_inputs(list(stored.values()), output_dir=output_dir)
parts = []
for s, bars in stored.items():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # findings are tabulated below instead
        parts.append(
            check_quality(bars, freq=freq, as_of=bars.attrs.get("as_of"), policy="warn", symbol=s)
        )
quality_report = combine(parts)
quality_summary = quality_report.summary()
display(
    cap.table(
        quality_summary,
        "Quality findings on the stored bars per asset (rows) and check (columns), full history.",
        kinds={c: "count" for c in quality_summary.columns},
    )
)
display(
    Markdown(
        f"{len(quality_report.errors)} error-level, {len(quality_report.warnings)} warning-level "
        f"and {len(quality_report.infos)} informational findings."
    )
)

# %% [markdown]
# ## 3. Model specifications and assumptions
#
# Returns $r_t$ are decimal log returns; losses $L_{t+1} = -\sum_i w_i (e^{r_{i,t+1}} - 1)$ are
# positive numbers; $\mathrm{VaR}_\alpha$ and $\mathrm{ES}_\alpha$ are positive losses.
#
# **GARCH(1,1)-t** (Bollerslev 1986, 1987): $r_t = \mu + \sigma_t z_t$,
# $\sigma_t^2 = \omega + \alpha\,\varepsilon_{t-1}^2 + \beta\,\sigma_{t-1}^2$, $z_t$ Student-t
# with $\nu$ degrees of freedom scaled to unit variance; $\omega > 0$, $\alpha, \beta \ge 0$,
# $\alpha + \beta \le 1$. Quasi-maximum likelihood (arch, percent units at its boundary).
#
# **DCC** (Engle 2002): $Q_t = (1-a-b)\bar Q + a\,z_{t-1}z_{t-1}' + b\,Q_{t-1}$,
# $R_t = \mathrm{diag}(Q_t)^{-1/2} Q_t \,\mathrm{diag}(Q_t)^{-1/2}$, correlation targeting
# $\bar Q = T^{-1}\sum_t z_t z_t'$; two-step QML on GARCH-standardized residuals.
#
# **HS**: $\widehat{\mathrm{VaR}}_\alpha$ is the empirical $\alpha$-quantile of the last $W$
# portfolio losses, $\widehat{\mathrm{ES}}_\alpha$ the mean loss beyond it. Assumes i.i.d.
# returns over the window.
#
# **FHS** (Barone-Adesi, Giannopoulos & Vosper 1999): resample standardized residuals
# $\hat z_s = (r_s - \hat\mu)/\hat\sigma_s$ of the window and rescale them to tomorrow's
# $\hat\sigma_{t+1}$: $\tilde r = \hat\mu + \hat\sigma_{t+1}\hat z_s$. Assumes the filter
# removes the dependence; the residual distribution is taken as is.
#
# **EWMA-normal** (RiskMetrics 1996): $\sigma_{t+1}^2 = \lambda\sigma_t^2 + (1-\lambda)r_t^2$,
# $\lambda = 0.94$; $\mathrm{VaR}_\alpha = \sigma_{t+1}\Phi^{-1}(\alpha)$,
# $\mathrm{ES}_\alpha = \sigma_{t+1}\varphi(\Phi^{-1}(\alpha))/(1-\alpha)$. Assumes
# conditional normality: the benchmark expected to fail in the tail.
#
# **Conditional EVT** (McNeil & Frey 2000): GARCH-t filter, generalized Pareto tail fitted to
# the standardized losses above a high threshold $u$ ($N_u$ exceedances of $n$):
# $z_\alpha = u + \frac{\hat\beta}{\hat\xi}\Big[\big(\tfrac{n}{N_u}(1-\alpha)\big)^{-\hat\xi} - 1\Big]$,
# $\mathrm{ES}$ from $z_\alpha/(1-\hat\xi) + (\hat\beta - \hat\xi u)/(1-\hat\xi)$, both scaled by
# $\hat\sigma_{t+1}$.
#
# **Backtests.** Hits $I_t = 1\{L_t > \mathrm{VaR}_t\}$; Kupiec (1995) unconditional coverage,
# Christoffersen (1998) independence and conditional coverage, Engle-Manganelli (2004) DQ,
# Christoffersen-Pelletier (2004) duration, Basel (1996) traffic light, McNeil-Frey (2000) ES
# test. **Comparison**: FZ0 loss (Patton, Ziegel & Chen 2019), model confidence set (Hansen,
# Lunde & Nason 2011), Diebold-Mariano (1995).

# %% [markdown]
# ## 4. Estimation results
#
# ### GARCH(1,1)-t per asset
#
# Full listed history of each asset. Parameters in arch's percent units ($\mu$ in %,
# $\omega$ in %²). Constraints binding at the optimum are flagged: $\alpha + \beta = 1$ is the
# integrated (IGARCH) boundary, where shocks never decay.

# %%
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    panel = fit_panel(returns, garch_t, on_failure="retry")
garch_table = panel.summary()
display(
    cap.table(
        garch_table.drop(columns=["start", "end", "failure_note"]),
        "GARCH(1,1)-t estimates per asset (arch's percent units: mu in %, omega in %²), "
        "persistence alpha+beta, log-likelihood, convergence and binding constraints.",
        kinds={"nobs": "count"},
    )
)
binding = garch_table[garch_table["binding_constraints"] != ""]
at_bounds = garch_table[garch_table["params_at_bounds"] != ""]
display(
    Markdown(
        f"Binding constraints: {', '.join(binding.index) if len(binding) else 'none'}. "
        f"Parameters at bounds: {', '.join(at_bounds.index) if len(at_bounds) else 'none'}. "
        f"Not converged: {int((~garch_table['converged'].astype(bool)).sum())}. "
        f"Median persistence $\\alpha+\\beta$: {garch_table['persistence'].median():.4f}."
    )
)

# %% [markdown]
# **Does the volatility filter track the market?** The fitted conditional volatility
# $\sigma_t$ should rise with the size of the moves and decay after them; spikes of $|r_t|$
# far above the line in calm periods are shocks the filter did not anticipate.

# %%
assets = list(panel.assets)
ncols = min(len(assets), 2)
nrows = math.ceil(len(assets) / ncols)
fig, axes = plt.subplots(nrows, ncols, figsize=(11, 2.8 * nrows), squeeze=False, sharex=True)
for i, (ax, a) in enumerate(zip(axes.flat, assets, strict=False)):
    panel.results[a].plot(ax=ax, annualize=periods_per_year)
    ax.set_title(a, fontsize=10)
    if i:
        ax.get_legend().remove()
    if i % ncols:
        ax.set_ylabel("")
for ax in list(axes.flat)[len(assets) :]:
    ax.set_visible(False)
fig.tight_layout()
cap.figure(
    fig,
    f"Conditional volatility of each asset (GARCH(1,1)-t, annualised with √{periods_per_year}) "
    "over the absolute daily returns it was fitted to (grey).",
)

# %% [markdown]
# **Are the residual tails those of the assumed Student-t?** Quantiles of the standardized
# residuals $\hat z_t = \hat\varepsilon_t / \hat\sigma_t$ against those of the fitted
# unit-variance Student-t. Points on the diagonal support the distribution that FHS and EVT
# filter with and that EVT's threshold sits in; points below it on the left are losses
# larger than the fitted tail allows.

# %%
ncols = min(len(assets), 5)
nrows = math.ceil(len(assets) / ncols)
fig, axes = plt.subplots(nrows, ncols, figsize=(2.6 * ncols + 0.6, 2.8 * nrows), squeeze=False)
for i, (ax, a) in enumerate(zip(axes.flat, assets, strict=False)):
    res = panel.results[a]
    z = np.sort(res.std_resid.dropna().to_numpy())
    nu = float(res.params["nu"])
    q = stats.t.ppf((np.arange(1, z.size + 1) - 0.5) / z.size, nu) * math.sqrt((nu - 2) / nu)
    ax.scatter(q, z, s=6, color=figures.palette(1)[0], alpha=0.7, lw=0)
    lim = 1.05 * max(np.abs(q).max(), np.abs(z).max())
    ax.plot([-lim, lim], [-lim, lim], color="0.3", lw=0.8)
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-lim, lim)
    ax.set_title(f"{a} (ν = {nu:.1f})", fontsize=10)
    ax.set_xlabel("Student-t quantile" if i // ncols == nrows - 1 else "")
    ax.set_ylabel("standardized residual" if i % ncols == 0 else "")
for ax in list(axes.flat)[len(assets) :]:
    ax.set_visible(False)
fig.tight_layout()
cap.figure(
    fig,
    "Quantile-quantile plot of each asset's GARCH(1,1)-t standardized residuals against the "
    "fitted unit-variance Student-t (diagonal: perfect fit).",
)

# %% [markdown]
# ### DCC on the common sample
#
# GARCH(1,1)-t re-fitted on the common sample, then the DCC correlation stage (full
# likelihood).

# %%
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    common_vol = fit_panel(common, garch_t, on_failure="retry")
    dcc = DCC(univariate=garch_t).fit(common, volatility=common_vol)
dcc_table = pd.DataFrame(
    {
        "estimate": dcc.params,
        "std. error": dcc.std_errors,
        "t": dcc.tvalues,
        "p-value": dcc.pvalues,
    }
).rename_axis("parameter")
display(
    Markdown(
        f"{dcc.n_assets} assets, {dcc.nobs} common returns "
        f"({dcc.index[0]:%Y-%m-%d} → {dcc.index[-1]:%Y-%m-%d}); log-likelihood "
        f"{dcc.loglikelihood:,.1f} (correlation stage {dcc.loglikelihood_correlation:,.1f}); "
        f"converged: {'yes' if dcc.converged else 'no'}; persistence $a+b$ = "
        f"{dcc.params['a'] + dcc.params['b']:.4f}."
    )
)
display(
    cap.table(
        dcc_table,
        "DCC correlation parameters with robust standard errors of the correlation stage.",
        kinds={"p-value": "pvalue"},
    )
)

# %% [markdown]
# **Do correlations move enough to matter for a cross-margined book?** The DCC path of the
# average pairwise correlation (and of each pair for up to four assets): a diversification
# benefit measured in calm periods disappears when the line jumps towards one.

# %%
ax = dcc.plot()
ax.set_title(f"DCC conditional correlations, common sample of {dcc.n_assets} assets")
cap.figure(
    ax,
    "Dynamic conditional correlation (DCC) on the common sample: average pairwise correlation "
    "(black) and, for up to four assets, each pair.",
)

# %% [markdown]
# ## 5. Backtests
#
# Walk-forward, one-day-ahead forecasts at 99 % and 97.5 % (`riskmodels.backtest.walk_forward`):
# each forecast uses only data up to its origin, a rolling window of `window` bars, models
# re-estimated every `refit_every` bars and filtered forward in between. Books: BTC alone and
# the equal-weight portfolio of the common sample. P-values of Kupiec (`kupiec_p`),
# Christoffersen independence (`ind_p`) and conditional coverage (`cc_p`), DQ, duration and
# McNeil-Frey (`mf_p`, ES); small values reject the model.

# %%
models = standard_models(window)  # HS, FHS (GARCH-t), EWMA-normal, EVT
books = {
    "BTC": returns[["BTC"]].dropna(),
    "equal-weight portfolio": common,
}
TEST_COLUMNS = [
    "nobs",
    "hits",
    "expected",
    "hit_rate",
    "kupiec_p",
    "ind_p",
    "cc_p",
    "dq_p",
    "duration_p",
    "traffic_light",
    "mf_p",
]
runs = {}
for name, rets in books.items():
    weights = pd.Series(1.0 / rets.shape[1], index=rets.columns)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
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
            f"### {name}\n\n{f['time'].nunique()} forecasts from {f['time'].min():%Y-%m-%d} "
            f"to {f['time'].max():%Y-%m-%d}."
        )
    )
    tests = runs[name].tests()[TEST_COLUMNS].reset_index()
    tests["alpha"] = [level(a) for a in tests["alpha"]]
    display(
        cap.table(
            tests.rename(columns={"alpha": "level"}).set_index(["model", "level"]),
            f"Backtests of the {name} book: hits against the expected number, hit rate and "
            "test p-values (small values reject).",
            kinds={
                "nobs": "count",
                "hits": "count",
                "expected": "number",
                "hit_rate": "pct",
                **{c: "pvalue" for c in TEST_COLUMNS if c.endswith("_p")},
            },
        )
    )
model_names = list(models)
pal = dict(zip(model_names, figures.palette(len(models)), strict=True))

# %% [markdown]
# ### VaR bands and exceedances
#
# Realized daily P&L of one unit of exposure against each model's 99 % VaR, with the days a
# loss broke through the FHS band.

# %%
fig = figures.var_bands_figure(runs, 0.99, highlight="FHS")
for ax in fig.axes:
    figures.percent_axis(ax)
cap.figure(
    fig,
    "Realized daily P&L (grey) against each model's 99% VaR as a loss band, with the days a "
    "loss broke through the FHS band (red).",
)

# %% [markdown]
# ### Coverage by model
#
# Hit rate of each model against the nominal rate. The shaded band holds the hit rates the
# Kupiec test accepts at 5 % over that many forecasts: a bar outside it is a coverage
# rejection, too many exceedances above, too few (an over-conservative margin) below.

# %%
alphas = (0.99, 0.975)


def kupiec_range(n: int, alpha: float) -> tuple[float, float]:
    """Lowest and highest hit rate in ``n`` forecasts that Kupiec's test accepts at 5 %."""
    top = min(n, int(4 * n * (1 - alpha)) + 20)  # far beyond any accepted count
    ok = [x for x in range(top + 1) if kupiec(np.arange(n) < x, alpha).pvalue >= 0.05]
    return min(ok) / n, max(ok) / n


fig, axes = plt.subplots(len(runs), len(alphas), figsize=(11, 3.2 * len(runs)), squeeze=False)
for r, (book, run) in enumerate(runs.items()):
    t = run.tests()
    for c, a in enumerate(alphas):
        ax = axes[r, c]
        n, p0 = int(t.loc[(model_names[0], a), "nobs"]), 1.0 - a
        lo, hi = kupiec_range(n, a)
        ax.axhspan(lo, hi, color=figures.ZONE_COLOURS["green"], alpha=0.12, lw=0)
        ax.axhline(p0, color="0.3", lw=0.8, ls="--")
        rates = [float(t.loc[(m, a), "hit_rate"]) for m in models]
        ax.bar(list(models), rates, color=[pal[m] for m in models], width=0.6)
        for x, v in enumerate(rates):
            ax.text(x, v, fmt_pct(v, 1), ha="center", va="bottom", fontsize=8)
        figures.percent_axis(ax)
        ax.set_ylim(0.0, 1.15 * max(hi, *rates))
        ax.set_title(f"{book}: {level(a)} VaR ({n} forecasts)", fontsize=10)
        ax.set_ylabel("hit rate" if c == 0 else "")
        ax.grid(axis="x", visible=False)
axes[0, 0].legend(
    handles=[
        Patch(color=figures.ZONE_COLOURS["green"], alpha=0.12, label="accepted by Kupiec at 5%"),
        plt.Line2D([], [], color="0.3", lw=0.8, ls="--", label="nominal rate"),
    ],
    fontsize=8,
    loc="upper left",
)
fig.tight_layout()
cap.figure(
    fig,
    "Hit rate per model, book and level against the nominal rate (dashed) and the range of "
    "hit rates the Kupiec test accepts at 5% (green band).",
)

# %% [markdown]
# ### Every test at a glance
#
# The p-values of the tables above as one map: red rejects at 1%, yellow at 5%, green does
# not reject. Coverage (Kupiec), clustering (independence, duration), both (conditional
# coverage, DQ) and the ES (McNeil-Frey).

# %%
TESTS = {
    "kupiec_p": "Kupiec",
    "ind_p": "independence",
    "cc_p": "cond. coverage",
    "dq_p": "DQ",
    "duration_p": "duration",
    "mf_p": "McNeil-Frey (ES)",
}
cmap = ListedColormap(["#f4a3a3", "#ffe08a", "#b9e2c4"])
norm = BoundaryNorm([0.0, 0.01, 0.05, 1.0], cmap.N)
fig, axes = plt.subplots(
    len(runs),
    len(alphas),
    figsize=(12, (0.45 * len(models) + 1.2) * len(runs) + 0.6),
    squeeze=False,
    sharex=True,
)
for r, (book, run) in enumerate(runs.items()):
    for c, a in enumerate(alphas):
        pv = run.tests(a).droplevel("alpha")[list(TESTS)].astype(float)
        ax = axes[r, c]
        sns.heatmap(
            pv.rename(columns=TESTS),
            cmap=cmap,
            norm=norm,
            annot=pv.map(fmt_pvalue).to_numpy(),
            fmt="",
            cbar=False,
            linewidths=0.5,
            linecolor="white",
            annot_kws={"fontsize": 8, "color": "black"},
            ax=ax,
        )
        ax.set_title(f"{book}: {level(a)} VaR / ES", fontsize=10)
        ax.set_xlabel("")
        ax.set_ylabel("")
        plt.setp(ax.get_xticklabels(), rotation=30, ha="right", rotation_mode="anchor")
        ax.tick_params(axis="y", rotation=0)
fig.legend(
    handles=[
        Patch(color="#f4a3a3", label="p < 0.01"),
        Patch(color="#ffe08a", label="0.01 ≤ p < 0.05"),
        Patch(color="#b9e2c4", label="p ≥ 0.05"),
    ],
    loc="upper center",
    ncol=3,
    fontsize=8,
    bbox_to_anchor=(0.5, 1.0),
)
fig.tight_layout(rect=(0.0, 0.0, 1.0, 0.95))
cap.figure(
    fig,
    "Backtest p-values per book, level, model and test (red: rejected at 1%; yellow: at 5%; "
    "green: not rejected; — where a test has no data, e.g. no exceedance).",
)

# %% [markdown]
# ### Exceedance clustering
#
# The days each model's 99% VaR was exceeded. A model that adapts to volatility spreads them
# out; clusters (several within a few weeks) are the pattern the independence and duration
# tests look for, and the one that exhausts margin in a crash.

# %%
fig, axes = plt.subplots(
    len(runs), 1, figsize=(11, (0.45 * len(models) + 1.0) * len(runs)), squeeze=False
)
for ax, (book, run) in zip(axes[:, 0], runs.items(), strict=True):
    t = run.tests(0.99).droplevel("alpha")
    for y, m in enumerate(models):
        h = run.hits(0.99, model=m)
        when = h.index[h.to_numpy(dtype=bool)]
        ax.plot(when, np.full(len(when), y), ls="none", marker="|", ms=14, mew=2, color=pal[m])
    labels = [
        f"{m} ({int(t.loc[m, 'hits'])}; ind. p {fmt_pvalue(t.loc[m, 'ind_p'])})" for m in models
    ]
    ax.set_yticks(range(len(models)), labels=labels)
    ax.set_ylim(len(models) - 0.5, -0.5)
    first = run.hits(0.99, model=model_names[0])
    ax.set_xlim(first.index[0], first.index[-1])
    ax.set_title(f"{book}: days the loss exceeded the 99% VaR", fontsize=10)
    ax.grid(axis="y", visible=False)
    figures.date_axis(ax)
fig.tight_layout()
cap.figure(
    fig,
    "Exceedances of the 99% VaR through time per model (label: number of exceedances and the "
    "Christoffersen independence p-value).",
)

# %% [markdown]
# ### Traffic lights
#
# Basel zone of the 99 % VaR over the **last 250 forecasts** (fewer where the sample is
# shorter): green ≤ 4 exceptions, yellow 5–9, red ≥ 10 at 250 days.

# %%
zones, counts = {}, {}
for book, run in runs.items():
    for m in models:
        tl = traffic_light(run.hits(0.99, model=m).iloc[-250:], 0.99)
        zones.setdefault(book, {})[m] = tl.zone
        counts.setdefault(book, {})[m] = f"{tl.zone} ({tl.exceptions}/{tl.nobs})"
zone_table = pd.DataFrame(counts).rename_axis("model")
display(
    cap.table(
        zone_table,
        "Basel traffic-light zone of each model's 99% VaR over the last 250 forecasts "
        "(exceptions / forecasts).",
    )
)

# %%
fig, axes = plt.subplots(len(runs), 1, figsize=(11, 3.2 * len(runs)), squeeze=False, sharex=True)
for ax, (book, run) in zip(axes[:, 0], runs.items(), strict=True):
    for m in models:
        run.plot_traffic_light(alpha=0.99, model=m, window=250, ax=ax)
    ax.set_title(f"{book}: {ax.get_title()}", fontsize=10)
fig.tight_layout()
cap.figure(
    fig,
    "Exceptions of each model's 99% VaR over rolling 250-forecast windows on the Basel zones "
    "(a line starts once a full window exists; with fewer forecasts only the last window is "
    "shown as a dot).",
)

# %% [markdown] tags=["summary"]
# ## Executive summary
#
# *(Computed from the backtests of section 5; shown first in the rendered report.)* A verdict
# per model at 99 %, over both books, by a rule stated in advance: **not fit for purpose** when
# a book rejects unconditional coverage at 1 % (Kupiec) or the last 250 forecasts are in the
# Basel red zone; **fit with conditions** when a book rejects coverage, independence or the ES
# at 5 % (Kupiec, Christoffersen conditional coverage, McNeil-Frey) or sits in the yellow zone;
# **fit for purpose** otherwise. The conditions say which test failed where.

# %% tags=["summary"]
verdict_rows = []
for m in models:
    reasons_not, reasons_cond = [], []
    for book, run in runs.items():
        t = run.tests(0.99).loc[m].iloc[0]  # index (model, alpha): the 99 % row
        zone = zones[book][m]
        if t["kupiec_p"] < 0.01:
            reasons_not.append(
                f"{book}: coverage rejected at 1% (Kupiec p {fmt_pvalue(t['kupiec_p'])})"
            )
        elif t["kupiec_p"] < 0.05:
            reasons_cond.append(
                f"{book}: coverage rejected at 5% (Kupiec p {fmt_pvalue(t['kupiec_p'])})"
            )
        for col, label in (("cc_p", "independence"), ("mf_p", "ES")):
            if pd.notna(t.get(col)) and t[col] < 0.05:
                reasons_cond.append(f"{book}: {label} rejected at 5% (p {fmt_pvalue(t[col])})")
        if zone == "red":
            reasons_not.append(f"{book}: traffic light {counts[book][m]}")
        elif zone == "yellow":
            reasons_cond.append(f"{book}: traffic light {counts[book][m]}")
    verdict = (
        "not fit for purpose"
        if reasons_not
        else ("fit with conditions" if reasons_cond else "fit for purpose")
    )
    why = "; ".join(reasons_not + reasons_cond) or "every test passes on both books"
    verdict_rows.append({"model": m, "verdict": verdict, "why": why})
verdicts = pd.DataFrame(verdict_rows)
fit = [r["model"] for r in verdict_rows if r["verdict"] == "fit for purpose"]
display(
    Markdown(
        f"**Verdict.** Fit for purpose at 99 %: {', '.join(fit) or 'none of the models'}; the "
        "table gives every model's verdict and why. Scope, data and limitations are in "
        "sections 1, 2 and 8."
    )
)
display(
    verdicts.style.hide(axis="index")
    .set_uuid("validation_verdicts")
    .set_caption("Table 1. Verdict per model (99 % VaR/ES, both books).")
)

# %% [markdown]
# ## 6. Benchmarking against alternative models
#
# FZ0 joint (VaR, ES) loss at 97.5 % per model and date (lower is better), the 90 % model
# confidence set (stationary bootstrap, range statistic) and a Diebold-Mariano test of FHS
# against EWMA-normal (negative statistic: FHS has the lower loss).

# %%
mcs_rows, dm_rows, fz_losses = [], [], {}
for book, run in runs.items():
    losses = pd.DataFrame(
        {
            m: fz_loss(fr["realized"], fr["var"], fr["es"], 0.975)
            for m in models
            for fr in [run.frame(m, 0.975)]
        }
    )
    fz_losses[book] = losses
    mcs = model_confidence_set(losses, rng=seed)
    table = mcs.table()
    table["book"] = book
    mcs_rows.append(table.reset_index().set_index(["book", "model"]))
    dm = diebold_mariano(losses["FHS"], losses["EWMA-normal"])
    dm_rows.append(
        {
            "book": book,
            "mean FZ0 FHS": dm.extra["mean_loss_a"],
            "mean FZ0 EWMA-normal": dm.extra["mean_loss_b"],
            "DM statistic": dm.statistic,
            "p-value": dm.pvalue,
            "nobs": int(dm.extra["nobs"]),
        }
    )
mcs_table = pd.concat(mcs_rows)
dm_table = pd.DataFrame(dm_rows).set_index("book")
display(
    cap.table(
        mcs_table,
        "Mean FZ0 loss at 97.5% per model (lower is better) and the 90% model confidence set: "
        "MCS p-value and whether the model is in the set.",
        kinds={"mean_loss": "number", "pvalue": "pvalue"},
    )
)
display(
    cap.table(
        dm_table,
        "Diebold-Mariano test of FHS against EWMA-normal on the FZ0 loss (negative statistic: "
        "FHS has the lower loss).",
        kinds={"p-value": "pvalue", "nobs": "count"},
    )
)

# %% [markdown]
# **When does a model earn its place?** The cumulative FZ0 loss of each model minus that of
# the EWMA-normal benchmark: a falling line is a model doing better than the benchmark,
# jumps are the days that decide the ranking.

# %%
base = "EWMA-normal"
fig, axes = plt.subplots(1, len(runs), figsize=(11, 3.8), squeeze=False)
for i, (ax, (book, losses)) in enumerate(zip(axes[0], fz_losses.items(), strict=True)):
    included = mcs_table.loc[book, "included"]
    for m in models:
        if m == base:
            continue
        d = (losses[m] - losses[base]).cumsum()
        tag = "in" if included[m] else "out of"
        ax.plot(d.index, d.to_numpy(), color=pal[m], lw=1.0, label=f"{m} ({tag} MCS)")
    tag = "in" if included[base] else "out of"
    ax.axhline(0.0, color=pal[base], lw=0.8, ls="--", label=f"{base} ({tag} MCS)")
    ax.set_title(book, fontsize=10)
    ax.set_ylabel(f"cumulative FZ0 loss − {base}" if i == 0 else "")
    ax.set_xlabel("")
    figures.date_axis(ax)
    ax.legend(fontsize=8)
fig.tight_layout()
cap.figure(
    fig,
    "Cumulative FZ0 loss (97.5% VaR and ES) of each model minus that of EWMA-normal, per book; "
    "below zero the model beats the benchmark. Legend: membership of the 90% model confidence "
    "set.",
)

# %% [markdown]
# ## 7. Sensitivity and stability
#
# ### GARCH(1,1)-t parameters by calendar year (BTC)
#
# Re-estimated on each full calendar year (at least 300 returns). Stable parameters support a
# rolling re-estimation; drifting $\nu$ or persistence says the tail or memory changes by regime.

# %%
btc = returns["BTC"].dropna()
rows = {}
for year, r in btc.groupby(btc.index.year):
    if len(r) < 300:
        continue
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = garch_t.fit(r, on_failure="retry")
    rows[int(year)] = {
        "nobs": res.nobs,
        "alpha": res.params["alpha[1]"],
        "beta": res.params["beta[1]"],
        "nu": res.params["nu"],
        "persistence": res.persistence,
        "converged": res.converged,
        "binding": "; ".join(res.binding_constraints),
    }
stability = pd.DataFrame.from_dict(rows, orient="index").rename_axis("year")
display(
    cap.table(
        stability,
        "GARCH(1,1)-t parameters of BTC re-estimated on each full calendar year.",
        kinds={"nobs": "count"},
    )
)
if len(stability):
    display(
        Markdown(
            f"$\\nu$ ranges {stability['nu'].min():.2f}–{stability['nu'].max():.2f} and "
            f"$\\alpha+\\beta$ {stability['persistence'].min():.3f}–"
            f"{stability['persistence'].max():.3f} across years; the IGARCH constraint binds in "
            f"{int((stability['binding'] != '').sum())} of {len(stability)} years."
        )
    )

# %% [markdown]
# ### FHS hit rate versus estimation window (BTC)
#
# The same forecast dates for every window: the last 750 origins (about three years), or
# from the first origin the longest window allows if that is later; re-estimated every 50
# bars. Windows that leave fewer than 100 forecasts are skipped. (The full history would
# roughly quadruple the cost of this section and bring the report close to its three-minute
# budget.)

# %%
sens_rows = {}
windows = [w for w in (250, 500, 1000) if len(btc) - w >= 100]
origin = btc.index[max(max(windows) - 1, len(btc) - 750)]
for w in windows:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        run = walk_forward(
            {"FHS": models["FHS"]},
            btc.to_frame(),
            alphas=(0.99, 0.975),
            horizon="1D",
            window=w,
            refit_every=50,
            start=origin,
            seed=seed,
            run=run_options,
        )
    t = run.tests()
    sens_rows[w] = {
        "forecasts": int(t.loc[("FHS", 0.99), "nobs"]),
        "hit rate 99%": t.loc[("FHS", 0.99), "hit_rate"],
        "Kupiec p 99%": t.loc[("FHS", 0.99), "kupiec_p"],
        "hit rate 97.5%": t.loc[("FHS", 0.975), "hit_rate"],
        "McNeil-Frey p 97.5%": t.loc[("FHS", 0.975), "mf_p"],
    }
display(
    cap.table(
        pd.DataFrame.from_dict(sens_rows, orient="index").rename_axis("window"),
        "FHS backtest of BTC on the same forecast dates for each estimation window (bars).",
        kinds={
            "forecasts": "count",
            "hit rate 99%": "pct",
            "Kupiec p 99%": "pvalue",
            "hit rate 97.5%": "pct",
            "McNeil-Frey p 97.5%": "pvalue",
        },
    )
)
skipped = [w for w in (250, 500, 1000) if w not in windows]
if skipped:
    display(Markdown(f"Skipped (too little data): {', '.join(map(str, skipped))}."))

# %% [markdown]
# ## 8. Assumptions and limitations
#
# ### What the models assume
#
# * **One-day, close-to-close, linear P&L.** Losses are measured between daily UTC closes of
#   Binance spot, on fixed weights rebalanced daily; a position is assumed closed at the next
#   close at that price (no market impact, fees or funding).
# * **The GARCH filter removes the dependence** (FHS, EVT): standardized residuals are taken
#   as i.i.d. with a distribution that does not change inside the window; the Student-t is
#   symmetric, so gains and losses have the same tail.
# * **HS** takes the last `window` returns as i.i.d. draws of tomorrow's: the tail of
#   tomorrow is the tail of the window, whatever the volatility today.
# * **EWMA-normal** fixes $\lambda = 0.94$ (not estimated) and conditional normality.
# * **EVT** assumes the standardized losses above the threshold follow a generalized Pareto
#   distribution, the threshold being high enough for that and low enough to leave data.
# * **DCC** lets every pair's correlation follow the same two parameters $(a, b)$ around its
#   sample mean; dependence beyond correlation (joint crashes stronger than a correlation
#   implies) is not modelled.
# * **The backtests** take the hits as independent under a correct model and use asymptotic
#   distributions; with a few hundred forecasts at 99 % a handful of exceedances decides them.
#
# ### What the data cannot identify
#
# * **The far tail.** 250 forecasts at 99 % give about 2.5 expected exceedances: a model
#   with twice the nominal rate passes Kupiec most of the time, and the ES test rests on the
#   few losses beyond the VaR. The tail shape of the GPD and $\nu$ of the Student-t come
#   from the few largest moves of the sample.
# * **Regimes not in the sample.** A venue failure, a stablecoin de-peg or a market-wide
#   halt that the history does not contain cannot be backtested; stress scenarios cover them.
# * **Intraday paths.** Daily closes do not show how far prices travelled within the day,
#   which is what triggers a liquidation.
# * **Liquidity.** Close prices do not say what closing a large position would cost.
# * **Joint crashes.** The common sample holds few market-wide crash days, too few to tell a
#   correlation model from one with tail dependence.
# * **Young assets.** Assets listed late have short histories: their own GARCH fits and the
#   portfolio's common sample are short.
#
# ### Limitations found in this run
#
# Computed from the results above:

# %%
tests99 = pd.concat({b: r.tests(0.99) for b, r in runs.items()}, names=["book"])
rejected = tests99[tests99["kupiec_p"] < 0.05].index
ewma_rejected = [b for b, m, _ in rejected if m == "EWMA-normal"]
facts = [
    f"**IGARCH boundary**: the GARCH(1,1)-t constraint $\\alpha+\\beta \\le 1$ binds for "
    f"{len(binding)} of {len(garch_table)} assets ({', '.join(binding.index) or 'none'}); "
    "their volatility forecasts do not mean-revert, which inflates multi-day horizons.",
    "**Coverage rejections at 99 %** (Kupiec, 5 %): "
    + (", ".join(f"{m} on {b}" for b, m, _ in rejected) or "none")
    + ". EWMA-normal "
    + (f"is rejected on {', '.join(ewma_rejected)}" if ewma_rejected else "is not rejected here")
    + ": normal tails are too thin for crypto returns.",
    f"**DCC at large N**: the full-likelihood DCC with a sample target biases $a$ towards zero "
    f"as N grows (here N = {dcc.n_assets}, $a$ = {dcc.params['a']:.4f}, "
    f"$b$ = {dcc.params['b']:.4f}); use `likelihood='composite'` beyond a few tens of assets.",
    f"**Data**: {len(quality_report.errors)} error- and {len(quality_report.warnings)} "
    "warning-level quality findings on the stored bars (missing bars from outages, "
    "in-progress candles at the end of fetched files, bad ticks); the analysis panel applies "
    f"policy `{quality}`.",
    f"**Short common sample**: the portfolio backtest starts when the last asset lists "
    f"({common.index[0]:%Y-%m-%d}) and has "
    f"{runs['equal-weight portfolio'].forecasts['time'].nunique()} forecasts; young assets "
    "enter the portfolio only from then.",
]
display(Markdown("\n".join(f"* {x}" for x in facts)))

# %% [markdown]
# Open issues not tested in this report:
#
# * **No intraday backtests**: liquidation engines act within the day; 4h/1h forecasts and
#   multi-bar horizons are not validated here.
# * **Linear exposures only**: options and funding-rate P&L of perpetuals are outside the
#   backtested books.
# * **One venue**: Binance spot closes stand in for the mark price of every venue.
# * **Parameter uncertainty**: VaR/ES are point forecasts; estimation error of GARCH and GPD
#   parameters is not propagated.

# %% [markdown]
# ## 9. Sign-off

# %%
signoff = pd.DataFrame(
    {"name": "", "date": "", "decision": "", "comments": ""},
    index=pd.Index(["Model owner", "Validator", "Risk committee"], name="role"),
)
display(cap.table(signoff, "Sign-off: decision of each role on the models under review."))
