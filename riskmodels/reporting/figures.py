"""Seaborn figures used by report notebooks.

Every function returns a :class:`matplotlib.figure.Figure` and draws nothing else; a notebook
shows it with ``plt.show()`` under ``%matplotlib inline`` (a forced ``Agg`` backend drops
figures from executed notebooks; TOOLCHAIN.md). Figures depend only on their inputs: no current
time, no random jitter, so rendered reports are byte-identical between runs.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import matplotlib.ticker as mticker
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure

from riskmodels.exceptions import DataError

__all__ = ["coverage_figure", "prices_figure", "returns_figure", "set_style"]

#: Report style: white grid, notebook context, colour-blind safe palette.
STYLE: dict[str, Any] = {"style": "whitegrid", "context": "notebook", "palette": "colorblind"}


def set_style(**overrides: Any) -> None:
    """Apply the report style (:func:`seaborn.set_theme` with :data:`STYLE`)."""
    sns.set_theme(**{**STYLE, **overrides})


def _long(panel: pd.DataFrame, value: str) -> pd.DataFrame:
    if not isinstance(panel, pd.DataFrame) or not isinstance(panel.index, pd.DatetimeIndex):
        raise DataError(
            f"expected a wide DataFrame with a DatetimeIndex (got {type(panel).__name__}); "
            "use riskmodels.data.load_prices / log_returns."
        )
    df = panel.copy()
    df.index = df.index.rename("time")
    df.columns = [str(c) for c in df.columns]
    long = df.reset_index().melt(id_vars="time", var_name="symbol", value_name=value)
    return long.dropna(subset=[value])


def _plain_number(v: float, _pos: int | None = None) -> str:
    """Tick label without scientific notation: 0.001, 0.5, 20, 1,000, 100,000."""
    if v >= 1000:
        return f"{v:,.0f}"
    return f"{v:g}"


def _grid(n: int, ncols: int | None) -> tuple[int, int]:
    cols = ncols or min(n, 5)
    return math.ceil(n / cols), cols


def _date_axis(ax: Any) -> None:
    loc = mdates.AutoDateLocator(minticks=3, maxticks=7)
    ax.xaxis.set_major_locator(loc)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(loc))


def prices_figure(
    prices: pd.DataFrame,
    *,
    log: bool = True,
    ncols: int | None = None,
    height: float = 2.2,
    title: str | None = None,
) -> Figure:
    """Small multiples of prices, one panel per asset (own y scale, log by default).

    Parameters
    ----------
    prices : DataFrame
        Wide panel of prices (UTC index, one column per asset).
    log : bool
        Log-scale y axes (equal percentage moves look equal).
    ncols : int, optional
        Panels per row (default up to 5).
    height : float
        Height of one panel in inches.
    title : str, optional
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
    """
    long = _long(prices, "price")
    syms = [str(c) for c in prices.columns]
    nrows, cols = _grid(len(syms), ncols)
    fig, axes = plt.subplots(
        nrows, cols, figsize=(3.1 * cols, height * nrows), squeeze=False, sharex=True
    )
    pal = sns.color_palette(n_colors=len(syms))
    for i, (ax, sym) in enumerate(zip(axes.flat, syms, strict=False)):
        sub = long[long["symbol"] == sym]
        sns.lineplot(data=sub, x="time", y="price", ax=ax, color=pal[i], linewidth=0.8)
        if log:
            ax.set_yscale("log")
            ax.yaxis.set_major_locator(mticker.LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
            ax.yaxis.set_major_formatter(mticker.FuncFormatter(_plain_number))
            ax.yaxis.set_minor_formatter(mticker.NullFormatter())
        ax.set_title(sym, fontsize=10)
        ax.set_xlabel("")
        ax.set_ylabel("USDT" if i % cols == 0 else "")
        _date_axis(ax)
    for ax in list(axes.flat)[len(syms) :]:
        ax.set_visible(False)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def returns_figure(
    returns: pd.DataFrame,
    *,
    ncols: int | None = None,
    height: float = 2.0,
    percent: bool = True,
    title: str | None = None,
) -> Figure:
    """Small multiples of returns, one panel per asset, on a common y scale.

    Parameters
    ----------
    returns : DataFrame
        Wide panel of decimal log returns.
    ncols : int, optional
        Panels per row (default up to 5).
    height : float
        Height of one panel in inches.
    percent : bool
        Plot in % (the data stay decimal).
    title : str, optional
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
    """
    scale = 100.0 if percent else 1.0
    long = _long(returns * scale, "return")
    syms = [str(c) for c in returns.columns]
    nrows, cols = _grid(len(syms), ncols)
    fig, axes = plt.subplots(
        nrows,
        cols,
        figsize=(3.1 * cols, height * nrows),
        squeeze=False,
        sharex=True,
        sharey=True,
    )
    pal = sns.color_palette(n_colors=len(syms))
    for i, (ax, sym) in enumerate(zip(axes.flat, syms, strict=False)):
        sub = long[long["symbol"] == sym]
        ax.vlines(sub["time"], 0.0, sub["return"], color=pal[i], linewidth=0.5)
        ax.axhline(0.0, color="0.3", linewidth=0.5)
        ax.set_title(sym, fontsize=10)
        ax.set_ylabel(("log return %" if percent else "log return") if i % cols == 0 else "")
        _date_axis(ax)
    for ax in list(axes.flat)[len(syms) :]:
        ax.set_visible(False)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def coverage_figure(
    data: pd.DataFrame | Mapping[str, pd.DataFrame],
    freq: str,
    *,
    listing: Mapping[str, str] | None = None,
    title: str | None = None,
) -> Figure:
    """Which asset has bars when: one bar per asset from first to last bar, missing bars in red,
    documented listing dates as black ticks.

    Parameters
    ----------
    data : DataFrame or mapping of str to DataFrame
        A wide panel (NaN = no bar) or raw bar frames by symbol.
    freq : {"1d", "4h", "1h"}
        The bar grid on which missing bars are found.
    listing : mapping, optional
        Listing date per symbol (default
        :data:`riskmodels.reporting.tables.BINANCE_SPOT_LISTING`).
    title : str, optional
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from riskmodels.data._frames import FREQUENCIES, parse_freq
    from riskmodels.reporting.tables import BINANCE_SPOT_LISTING

    step = FREQUENCIES[parse_freq(freq)]
    lst = BINANCE_SPOT_LISTING if listing is None else listing
    if isinstance(data, pd.DataFrame):
        series = {str(c): data.index[data[c].notna().to_numpy()] for c in data.columns}
    else:
        series = {str(k): pd.DatetimeIndex(v.index) for k, v in data.items()}
    syms = list(series)
    fig, ax = plt.subplots(figsize=(10, 0.45 * len(syms) + 1.2))
    pal = sns.color_palette(n_colors=len(syms))
    missing_label = listing_label = None
    for i, sym in enumerate(syms):
        idx = pd.DatetimeIndex(series[sym]).unique().sort_values()
        y = len(syms) - 1 - i
        if len(idx) == 0:
            continue
        ax.hlines(y, idx[0], idx[-1], color=pal[i], linewidth=8)
        grid = pd.date_range(idx[0], idx[-1], freq=step)
        miss = grid.difference(idx)
        if len(miss):
            ax.plot(
                miss,
                np.full(len(miss), y),
                linestyle="none",
                marker="|",
                markersize=14,
                color="red",
                label=missing_label or "missing bar",
            )
            missing_label = "_nolegend_"
        if sym in lst:
            ax.plot(
                [pd.Timestamp(lst[sym], tz="UTC")],
                [y + 0.32],
                linestyle="none",
                marker="v",
                color="black",
                markersize=6,
                label=listing_label or "listing",
            )
            listing_label = "_nolegend_"
    ax.set_yticks(range(len(syms)), labels=list(reversed(syms)))
    ax.set_ylim(-0.7, len(syms) - 0.3)
    _date_axis(ax)
    ax.grid(axis="y", visible=False)
    if missing_label or listing_label:
        ax.legend(loc="lower left", fontsize=8, frameon=True)
    ax.set_title(title or f"Coverage ({freq} bars)")
    fig.tight_layout()
    return fig


def var_bands_figure(
    runs: Mapping[str, Any],
    alpha: float = 0.99,
    *,
    highlight: str | None = "FHS",
    height: float = 4.0,
) -> Figure:
    """Realized P&L against each model's VaR band, with the exceedances of one model marked.

    Parameters
    ----------
    runs : mapping of str to WalkForwardResult
        One panel per book (e.g. ``{"BTC": run, "portfolio": run}``).
    alpha : float, default 0.99
        The VaR level shown.
    highlight : str, optional
        Model whose exceedances are marked (default ``"FHS"``; skipped if absent).
    height : float
        Height of each panel in inches.

    Returns
    -------
    matplotlib.figure.Figure
    """
    if not runs:
        raise DataError("runs is empty: pass {book name: WalkForwardResult}.")
    fig, axes = plt.subplots(len(runs), 1, figsize=(11, height * len(runs)), squeeze=False)
    for ax, (name, run) in zip(axes[:, 0], runs.items(), strict=True):
        fr = run.forecasts[np.isclose(run.forecasts["alpha"], alpha)]
        if fr.empty:
            raise DataError(f"{name}: no forecasts at alpha={alpha} (have {sorted(run.alphas)}).")
        models = list(dict.fromkeys(fr["model"]))
        first = fr[fr["model"] == models[0]].set_index("target")["realized"]
        ax.plot(first.index, first.to_numpy(), lw=0.5, color="grey", label="realized P&L")
        for m in models:
            v = fr[fr["model"] == m].set_index("target")["var"]
            ax.plot(v.index, -v.to_numpy(), lw=0.8, label=f"-VaR {m}")
        if highlight in models:
            h = fr[(fr["model"] == highlight) & fr["hit"]].set_index("target")["realized"]
            ax.scatter(
                h.index,
                h.to_numpy(),
                color="crimson",
                s=12,
                zorder=3,
                label=f"{highlight} exceedance",
            )
        ax.set_title(f"{name}: {alpha:.1%} VaR")
        ax.legend(ncol=3, fontsize=8)
        _date_axis(ax)
    fig.tight_layout()
    return fig


def traffic_light_timeline_figure(
    runs: Mapping[str, Any], alpha: float = 0.99, *, model: str = "FHS", window: int = 250
) -> Figure:
    """Exceptions of one model's VaR over rolling ``window`` forecasts, on the Basel zones.

    The zone bands are the BCBS (1996) ones for 250 days at 99% (green ≤ 4, yellow 5–9,
    red ≥ 10); for other windows or levels read the counts against
    :func:`riskmodels.backtest.traffic_light`.
    """
    if not runs:
        raise DataError("runs is empty: pass {book name: WalkForwardResult}.")
    fig, ax = plt.subplots(figsize=(11, 3.5))
    for book, run in runs.items():
        h = run.hits(alpha, model=model).astype(float)
        ax.plot(
            h.rolling(window, min_periods=min(window, len(h))).sum(),
            lw=1.0,
            label=f"{model}, {book}",
        )
    ax.axhspan(0, 4.5, color="green", alpha=0.08)
    ax.axhspan(4.5, 9.5, color="gold", alpha=0.12)
    ax.axhspan(9.5, 20, color="red", alpha=0.08)
    ax.set_ylabel(f"{alpha:.0%} exceptions in {window} forecasts")
    ax.legend(fontsize=8)
    _date_axis(ax)
    fig.tight_layout()
    return fig
