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
# # Volatility models
#
# GARCH-family models of each asset's daily log returns, fitted with `arch` through
# `riskmodels.volatility` (returns in decimals; `arch` sees percent at its boundary, so the
# parameter tables are in arch's percent units while volatilities below are in decimals).
#
# For each asset $r_t = \mu + \sigma_t z_t$ with
#
# * GARCH(1,1): $\sigma_t^2 = \omega + \alpha \varepsilon_{t-1}^2 + \beta \sigma_{t-1}^2$;
# * GJR-GARCH(1,1,1): adds $\gamma \varepsilon_{t-1}^2 1[\varepsilon_{t-1} < 0]$ (leverage);
# * EGARCH(1,1,1): models $\log \sigma_t^2$;
# * EWMA (RiskMetrics, $\lambda = 0.94$): $\sigma_t^2 = \lambda \sigma_{t-1}^2 + (1-\lambda) r_{t-1}^2$,
#
# with Student-t innovations $z_t$ scaled to unit variance where stated.

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
import numpy as np
import pandas as pd
from IPython.display import Markdown, display
from statsmodels.stats.diagnostic import acorr_ljungbox

from riskmodels._display import format_table
from riskmodels.data import MirrorSource, load_prices, log_returns
from riskmodels.reporting import figures
from riskmodels.reporting.provenance import record_inputs
from riskmodels.volatility import EGARCH, EWMA, GARCH, GJR, fit_panel

figures.set_style()
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
returns = log_returns(prices)
periods_per_year = {"1d": 365, "4h": 365 * 6, "1h": 365 * 24}[freq]
display(
    Markdown(
        f"{len(symbols)} assets, {returns.index[0]:%Y-%m-%d} → {returns.index[-1]:%Y-%m-%d}, "
        f"Binance {market} {freq} closes; each asset is fitted on its own listed history."
    )
)

# %% [markdown]
# ## Model comparison
#
# Log-likelihood (decimal units), BIC, convergence, and constraints that bind at the optimum
# (crypto daily GARCH often sits on the integrated boundary $\alpha + \beta = 1$; the table says
# so rather than hiding it).

# %%
specs = {
    "GARCH-t": GARCH(dist="t", mean="constant"),
    "GJR-t": GJR(dist="t", mean="constant"),
    "EGARCH-t": EGARCH(dist="t", mean="constant"),
    "EWMA": EWMA(lam=0.94),
}
panels = {name: fit_panel(returns, spec, on_failure="retry") for name, spec in specs.items()}
rows = []
for name, panel in panels.items():
    for asset, res in panel.results.items():
        rows.append(
            {
                "asset": asset,
                "model": name,
                "loglik": res.loglikelihood,
                "BIC": res.bic,
                "converged": res.converged,
                "binding": ", ".join(res.binding_constraints) or "",
                "persistence": getattr(res, "persistence", np.nan),
            }
        )
comparison = pd.DataFrame(rows)
best = comparison.loc[comparison.groupby("asset")["BIC"].idxmin(), ["asset", "model"]]
display(format_table(comparison.pivot(index="asset", columns="model", values="BIC")))
display(Markdown("Lowest BIC per asset: " + ", ".join(f"{a} {m}" for a, m in best.to_numpy())))

# %% [markdown]
# ## GARCH(1,1)-t estimates
#
# Parameters in arch's percent units ($\omega$ in %², $\mu$ in %), with robust standard errors.

# %%
garch = panels["GARCH-t"]
display(format_table(garch.summary(), {"nobs": "count"}))

# %% [markdown]
# ## Conditional volatility
#
# Annualised $\sigma_t \sqrt{365}$ from GARCH(1,1)-t, per asset.

# %%
ax = garch.plot(annualize=periods_per_year)
ax.set_title("GARCH(1,1)-t conditional volatility")
plt.show()

# %% [markdown]
# ## Standardized residuals
#
# If the model captures volatility clustering, squared standardized residuals $z_t^2$ show no
# autocorrelation left: Ljung-Box p-values at 10 lags (small values mean clustering remains).

# %%
lb = {}
for asset, res in garch.results.items():
    z = res.std_resid.dropna()
    lb[asset] = {
        "LB(10) r² p-value": float(
            acorr_ljungbox(res.resid.dropna() ** 2, lags=[10])["lb_pvalue"].iloc[0]
        ),
        "LB(10) z² p-value": float(acorr_ljungbox(z**2, lags=[10])["lb_pvalue"].iloc[0]),
        "nu": float(res.params.get("nu", np.nan)),
        "excess kurtosis of z": float(z.kurt()),
    }
display(
    format_table(
        pd.DataFrame(lb).T.rename_axis("asset"),
        {"LB(10) r² p-value": "pvalue", "LB(10) z² p-value": "pvalue"},
    )
)

# %% [markdown]
# ## Forecasts
#
# Volatility over the next 10 bars from the end of the sample, annualised. Where the fit sits
# on the integrated boundary ($\alpha + \beta \approx 1$) the forecast does not revert: it
# keeps growing with the horizon, which matters for multi-day liquidation horizons.

# %%
fc = pd.DataFrame(
    {a: np.sqrt(r.forecast(10).to_numpy() * periods_per_year) for a, r in garch.results.items()},
    index=pd.RangeIndex(1, 11, name="step"),
)
display(format_table(fc.T.rename_axis("asset"), default="pct"))
