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
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from riskmodels.exceptions import ConfigError, DataError

__all__ = [
    "ZONE_COLOURS",
    "coverage_figure",
    "date_axis",
    "new_axes",
    "palette",
    "percent_axis",
    "percent_label",
    "prices_figure",
    "returns_figure",
    "set_style",
    "usd_axis",
    "usd_label",
]

#: Report style: white grid, notebook context, colour-blind safe palette.
STYLE: dict[str, Any] = {"style": "whitegrid", "context": "notebook", "palette": "colorblind"}

#: Basel traffic-light zone colours (shaded bands and labels).
ZONE_COLOURS: dict[str, str] = {"green": "#1b7f3b", "yellow": "#e0b000", "red": "#b22222"}

#: Colour of realized P&L and other reference data (drawn under the models' lines).
REALIZED_COLOUR = "0.55"
#: Colour of exceedances and targets.
ALERT_COLOUR = "crimson"


def set_style(**overrides: Any) -> None:
    """Apply the report style (:func:`seaborn.set_theme` with :data:`STYLE`)."""
    sns.set_theme(**{**STYLE, **overrides})


def palette(n_colors: int | None = None) -> list[tuple[float, float, float]]:
    """``n_colors`` colours of the report palette (:data:`STYLE`'s colour-blind safe one)."""
    return list(sns.color_palette(STYLE["palette"], n_colors=n_colors))


def new_axes(ax: Axes | None = None, *, figsize: tuple[float, float] = (9.0, 4.0)) -> Axes:
    """``ax`` itself, or the Axes of a new figure drawn in the report style.

    The style (:data:`STYLE`: white grid, notebook context) applies to the new figure only;
    the global matplotlib settings are left as they are (``.plot()`` methods call this, so a
    user's own style is not overwritten).

    Raises
    ------
    ConfigError
        ``ax`` is not a :class:`matplotlib.axes.Axes`.
    """
    if ax is not None:
        if not isinstance(ax, Axes):
            raise ConfigError(
                f"ax must be a matplotlib Axes (got {type(ax).__name__}); "
                "e.g. fig, ax = plt.subplots()."
            )
        return ax
    rc = {**sns.axes_style(STYLE["style"]), **sns.plotting_context(STYLE["context"])}
    with plt.rc_context(rc):
        _, new = plt.subplots(figsize=figsize)
    return new


def percent_label(v: float, _pos: int | None = None) -> str:
    """Percentage tick label of a decimal, as many digits as it needs: 0.0001 -> 0.01%,
    0.015 -> 1.5%, 0.5 -> 50% (no float noise, no exponent)."""
    return f"{100.0 * v:.6g}%" if abs(v) >= 1e-9 else "0%"


def percent_axis(ax: Axes, axis: str = "y", *, decimals: int | None = None) -> None:
    """Tick labels of a decimal axis as percentages (0.015 -> 1.5%; log axes too).

    ``decimals`` fixes the number of decimals; by default each label has the digits it needs.
    """
    fmt: mticker.Formatter = (
        mticker.FuncFormatter(percent_label)
        if decimals is None
        else mticker.PercentFormatter(1.0, decimals=decimals)
    )
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(fmt)


def usd_label(v: float, _pos: int | None = None) -> str:
    """Compact USD tick label: 500, 10k, 2.5M, 1B."""
    a = abs(v)
    for unit, div in (("B", 1e9), ("M", 1e6), ("k", 1e3)):
        if a >= div:
            return f"{v / div:g}{unit}"
    return f"{v:g}"


def usd_axis(ax: Axes, axis: str = "x") -> None:
    """Tick labels of a USD axis in compact form (10k, 2.5M, 1B), minor labels off."""
    target = ax.yaxis if axis == "y" else ax.xaxis
    target.set_major_formatter(mticker.FuncFormatter(usd_label))
    target.set_minor_formatter(mticker.NullFormatter())


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


def date_axis(ax: Axes) -> None:
    """Concise date ticks (3 to 7 per axis) on the x axis."""
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
        date_axis(ax)
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
        date_axis(ax)
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
    from riskmodels.data import FREQUENCIES, parse_freq
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
    date_axis(ax)
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

    One panel per book, each drawn by :meth:`WalkForwardResult.plot` (without the ES line).

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
        if not np.isclose(run.forecasts["alpha"], alpha).any():
            raise DataError(f"{name}: no forecasts at alpha={alpha} (have {sorted(run.alphas)}).")
        marked = highlight in run.models
        run.plot(
            alpha=alpha,
            highlight=highlight if marked else None,
            exceedances=marked,
            es=False,
            ax=ax,
        )
        ax.set_title(f"{name}: {alpha:.1%} VaR")
    fig.tight_layout()
    return fig


def traffic_light_timeline_figure(
    runs: Mapping[str, Any], alpha: float = 0.99, *, model: str = "FHS", window: int = 250
) -> Figure:
    """Exceptions of one model's VaR over rolling ``window`` forecasts, on the Basel zones.

    One line per book (:meth:`WalkForwardResult.plot_traffic_light` on a shared Axes). The
    zone bands come from :func:`riskmodels.backtest.traffic_light` for ``window`` forecasts at
    ``alpha``: the BCBS (1996) green ≤ 4, yellow 5–9, red ≥ 10 for 250 days at 99 %.

    Parameters
    ----------
    runs : mapping of str to WalkForwardResult
        The books, one line each.
    alpha : float, default 0.99
        The VaR level.
    model : str, default "FHS"
        The model whose hits are counted.
    window : int, default 250
        Forecasts per window.

    Returns
    -------
    matplotlib.figure.Figure
    """
    if not runs:
        raise DataError("runs is empty: pass {book name: WalkForwardResult}.")
    fig, ax = plt.subplots(figsize=(11, 3.5))
    for book, run in runs.items():
        run.plot_traffic_light(
            alpha=alpha, model=model, window=window, label=f"{model}, {book}", ax=ax
        )
    ax.set_title("")
    fig.tight_layout()
    return fig
