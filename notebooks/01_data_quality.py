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
# # Data summary
#
# What the models of this project are fitted on: Binance closes of the configured universe,
# where they come from, how complete they are, what the quality checks find in them, and how
# they compare with independent venues. Everything below is computed by `riskmodels.data` and
# `riskmodels.reporting`; this notebook only arranges it. The run's configuration, the data
# files (with SHA-256) and the software versions are listed under **Provenance** at the end.

# %% tags=["parameters"]
# Run parameters (papermill injects the config's values after this cell).
config_path = None  # the run config, for the record
symbols = ["BTC", "ETH", "BNB", "SOL", "XRP", "ADA", "DOGE", "LTC", "LINK", "AVAX"]
freq = "1d"  # bar frequency of the analysis panel
market = "spot"  # "spot" or "perp"
start = None  # inclusive UTC window on bar open times (None: full history)
end = None
quality = "raise"  # policy for the analysis panel: raise | warn | repair | off
check_freqs = ["1d", "4h"]  # frequencies on which the quality checks run
mirror = None  # data mirror (None: RISKMODELS_MIRROR, else ../shared/data)
seed = 20240917  # no randomness in this report; recorded for completeness
profile = "default"
output_dir = None  # where the report machinery collects this notebook's inputs

# %%
# %matplotlib inline
import warnings

import pandas as pd
from IPython.display import Markdown, display

from riskmodels.data import MirrorSource, check_quality, load_prices, log_returns
from riskmodels.data.quality import combine
from riskmodels.reporting import Captions, figures, format_table, tables
from riskmodels.reporting.provenance import record_inputs

figures.set_style()
pd.set_option("display.max_colwidth", 200)
# numbered figures and tables; long tables are shown whole and written as CSV beside the report
cap = Captions(output_dir=output_dir, start_table=2)  # Table 1 is the summary's

source = MirrorSource(mirror)
window = f"{start or 'first bar'} → {end or 'last bar'}" if (start or end) else "the full history"
display(
    Markdown(
        f"**Universe:** {', '.join(symbols)} · **bars:** Binance {market} {freq} · "
        f"**window:** {window} · **quality policy:** `{quality}` · **profile:** `{profile}`"
    )
)

# %% [markdown]
# ## Loading
#
# The analysis panel holds one close per asset and bar on a regular UTC grid (a bar is labelled
# by its open time). Missing bars stay missing: nothing is forward-filled. The quality checks
# run on each asset's full stored history when the panel is loaded; under the configured policy
# an error that concerns the closes stops the report, and anything else is listed here.

# %%
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    prices = load_prices(
        symbols, freq=freq, start=start, end=end, market=market, source=source, quality=quality
    )
record_inputs(prices, output_dir=output_dir)
if caught:
    display(
        Markdown(
            "Messages while loading:\n\n"
            + "\n".join(f"* `{type(w.message).__name__}`: {w.message}" for w in caught)
        )
    )
else:
    display(Markdown("The panel loaded without quality messages."))

# %% [markdown]
# ## Coverage
#
# First and last bar, the number of bars held and the bars missing between them, per asset.
# *Listing* is the Binance listing date where the data mirror documents it; assets whose
# history starts later than their listing (BTC/ETH/BNB/LTC in some source files) begin where
# their source's download window began. Before an asset's first bar the panel is empty (NaN),
# which is why the common all-asset sample starts at the latest first bar.

# %%
coverage = tables.coverage_table(prices, freq)
display(cap.table(coverage, f"Coverage of the {freq} panel in this run's window."))
common_start = max(prices[c].first_valid_index() for c in prices.columns)
common_end = min(prices[c].last_valid_index() for c in prices.columns)
display(
    Markdown(
        f"All {len(symbols)} assets have bars from **{common_start:%Y-%m-%d}** to "
        f"**{common_end:%Y-%m-%d}**."
    )
)

# %%
cap.figure(
    figures.coverage_figure(prices, freq, title=f"Coverage of the {freq} panel"),
    f"Coverage of the {freq} analysis panel: bars held per asset over the window; red ticks "
    "are bars missing from the regular grid.",
)

# %% [markdown]
# The same for the stored files at each checked frequency, over their full history (not only
# this run's window). Red ticks are bars missing from the regular grid: at 4h these are
# Binance outages, which the daily bars absorb.

# %%
bars_by_freq = {f: {s: source.bars(s, f, market) for s in symbols} for f in check_freqs}
for f in check_freqs:
    record_inputs(list(bars_by_freq[f].values()), output_dir=output_dir)
    display(cap.table(tables.coverage_table(bars_by_freq[f], f), f"Stored {f} bars per asset."))
    cap.figure(
        figures.coverage_figure(bars_by_freq[f], f, title=f"Coverage of the stored {f} bars"),
        f"Coverage of the stored {f} files over their full history (red: missing bars).",
    )

# %% [markdown]
# ## Quality findings
#
# `riskmodels.data.check_quality` runs eleven checks per asset on the bars as stored (all
# fields, full history) at each checked frequency. **Errors** are data that is wrong as given
# (duplicates, bars still in progress when the file was fetched, bad ticks); **warnings** may
# mislead (missing bars from exchange outages, flat runs, opens far from the previous close);
# **info** findings are worth knowing but are not defects (crash-day returns). *In sample*
# says whether a finding falls inside this run's window.
#
# Known quirks of the mirror that the checks should find: LINK's 0.0001 low on 2020-03-12 (an
# exchange bad tick, in the 1d and 4h files), in-progress last candles at the end of some
# files, and 4h bars missing during Binance outages (2018-06-26, 2018-07-04, 2019-05-15,
# 2019-08-15, 2020-02-19).

# %%
reports = {}
for f in check_freqs:
    parts = []
    for s, bars in bars_by_freq[f].items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the findings are shown below instead
            parts.append(
                check_quality(bars, freq=f, as_of=bars.attrs.get("as_of"), policy="warn", symbol=s)
            )
    reports[f] = combine(parts)

# %%
summary = pd.concat(
    {f: r.summary() for f, r in reports.items()}, axis=1, names=["freq", "check"]
).fillna(0)
display(
    cap.table(summary.astype("int64"), "Number of findings per asset and check.", default="count")
)

# %%
for f, rep in reports.items():
    tb = tables.findings_table(rep, start=start, end=end)
    display(
        Markdown(
            f"### {f} bars: {len(rep.errors)} error(s), {len(rep.warnings)} warning(s), "
            f"{len(rep.infos)} info"
        )
    )
    if len(tb):
        display(cap.table(tb, f"Errors and warnings in the stored {f} bars.", name=f"findings-{f}"))
    else:
        display(Markdown("No errors or warnings."))
    notes = list(dict.fromkeys(rep.notes))
    if notes:
        display(Markdown("\n".join(f"* {n}" for n in notes)))

# %% [markdown]
# Extreme returns (info) at the panel's frequency: single-bar moves far out on a robust scale.
# Crash days such as 2020-03-12 are real prices and stay in the data; models must cope with
# them rather than have them cleaned away.

# %%
if freq in reports:
    extreme = tables.findings_table(reports[freq], severities=("info",), start=start, end=end)
    display(
        cap.table(extreme, f"Extreme {freq} returns (info findings).", name="extreme-returns")
        if len(extreme)
        else Markdown("No extreme returns flagged.")
    )

# %% [markdown] tags=["summary"]
# ## Executive summary
#
# *(Computed from the sections below; shown first in the rendered report.)* What this run's
# data can be used for, what the checks found in its window, and what was repaired or left
# out under the configured quality policy.

# %% tags=["summary"]
lines = [
    f"**Usable.** {prices.shape[1]} assets of Binance {market} {freq} closes from "
    f"{prices.index[0]:%Y-%m-%d} to {prices.index[-1]:%Y-%m-%d}; all assets together from "
    f"**{common_start:%Y-%m-%d}** (the latest first bar) to **{common_end:%Y-%m-%d}**.",
    "**Missing bars in the panel**: "
    + (", ".join(f"{s} {int(n)}" for s, n in coverage["missing bars"].items() if n) or "none")
    + " (left missing, never forward-filled).",
]
for f, rep in reports.items():
    tb = tables.findings_table(rep, start=start, end=end)
    inside = tb[tb["in sample"]] if "in sample" in tb else tb
    n_err = int((inside["severity"] == "error").sum())
    n_warn = int((inside["severity"] == "warning").sum())
    checks = ", ".join(sorted(set(inside["check"]))) or "none"
    lines.append(
        f"**{f} bars in the window**: {n_err} error(s), {n_warn} warning(s) ({checks}); "
        f"{len(rep.errors)} errors over the stored history."
    )
lines.append(
    f"**Repaired or excluded**: the panel was loaded with `quality={quality!r}`: "
    + (
        "errors that concern the closes stop the run, so none is in it"
        if quality == "raise"
        else "findings were handled by that policy (see Loading)"
    )
    + "; real crash-day moves are kept (info findings), bad ticks are errors."
)
display(Markdown("\n".join(f"* {x}" for x in lines)))
usable = coverage.reindex(columns=["first bar", "last bar", "missing bars"]).copy()
if freq in reports:
    tb = tables.findings_table(reports[freq], start=start, end=end)
    tb = tb[tb["in sample"]]
    for sev in ("error", "warning"):
        counts = tb[tb["severity"] == sev].groupby("symbol")["count"].count()
        usable[f"{sev}s in window"] = counts.reindex(usable.index).fillna(0).astype("int64")
display(
    format_table(
        usable,
        caption=f"Table 1. What is usable: the {freq} panel per asset in this run's window.",
        default="count",
    ).set_uuid("executive_summary")
)

# %% [markdown] tags=["summary"]
# ## Contents
#
# 1. Loading: the panel and the quality policy's messages
# 2. Coverage: bars held and missing, per asset and stored frequency
# 3. Quality findings: errors, warnings and extreme returns
# 4. Prices and returns
# 5. Return summary
# 6. Cross-source check against Coinbase and Yahoo Finance
# 7. Assumptions and limitations

# %% [markdown]
# ## Prices and returns
#
# Closes on a log scale (equal percentage moves look equal), one panel per asset, and the
# single-bar log returns on a common scale. Returns next to a missing bar are left out
# (not bridged), so an outage does not show up as one large move.

# %%
cap.figure(
    figures.prices_figure(prices, log=True, title=f"Binance {market} closes ({freq}, log scale)"),
    f"Binance {market} closes per asset ({freq}, log scale).",
)

# %%
returns = log_returns(prices, gaps="nan")
cap.figure(
    figures.returns_figure(returns, title=f"{freq} log returns (%)"),
    f"Single-bar {freq} log returns in percent, on a common scale; returns next to a missing "
    "bar are left out.",
)

# %% [markdown]
# ## Return summary
#
# Per asset over its own history in the window: annualized mean and volatility (24/7 markets:
# 365 days a year), skewness, excess kurtosis (0 for a normal distribution) and the worst and
# best single bar. Crypto returns are fat-tailed: excess kurtosis far above 0 is the norm, and
# it is what the volatility and tail models later have to capture.

# %%
display(cap.table(tables.return_summary(returns, freq), f"Return summary ({freq} bars)."))

# %% [markdown]
# ## Cross-source check
#
# Binance daily closes (USDT) against independent USD closes from Coinbase and Yahoo Finance,
# on the days both have a close: the median absolute difference should be about 0.1 %
# (USDT/USD basis, different books); a large median would flag a unit or date-alignment
# problem, a large maximum a bad print on one side. Pairs with fewer than 30 common days are
# counted but not compared.

# %%
if freq == "1d":
    xsrc = tables.cross_source_table(prices, source, venues=("coinbase", "yahoo"))
    record_inputs(xsrc, output_dir=output_dir)
    display(cap.table(xsrc, "Binance daily closes against Coinbase and Yahoo Finance."))
else:
    display(Markdown('The reference venues hold daily closes only: set `freq = "1d"`.'))

# %% [markdown]
# ## Assumptions and limitations
#
# * **One venue's last prices.** The panel is Binance's traded closes (spot or perpetual, as
#   configured), not a mark or index price: a venue's liquidation engine watches its mark, which
#   can differ from the last trade in a crash (see the calibration report's minute data).
# * **Bars, not paths.** A close says nothing about the path inside its bar; the 1d and 4h
#   files cannot identify intraday extremes beyond their high and low.
# * **Missing bars stay missing.** Nothing is forward-filled or interpolated; the common
#   all-asset sample is shorter than each asset's own history.
# * **Checks find what they are built for.** Eleven rule-based checks; a wrong price that
#   looks like a plausible move (no spike-and-revert, within the robust scale) is not flagged.
# * **Cross-source differences** include the USDT/USD basis and different order books, so a
#   0.1 % median difference is expected, not an error.
