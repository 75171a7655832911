"""``LiquidationResult.plot()``: one liquidation drawn on the mark path it ran on.

Small hand-made bars and simulated grids (no data mirror): the figure has the mark, the
liquidation and bankruptcy prices the engine computed, the trigger and the fill.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # tests only draw into figures

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.axes import Axes

from riskmodels.exceptions import ConfigError, ModelError
from riskmodels.liquidation import liquidation_prices, simulate_liquidations

BINANCE = "binance_usdm_btcusdt_2021-03-18"
HYPERLIQUID = "hyperliquid_btc"


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _bars(close, *, wick=0.0, freq="1min"):
    close = np.asarray(close, dtype=float)
    opn = np.concatenate([[close[0]], close[:-1]])
    idx = pd.date_range("2025-10-10", periods=len(close), freq=freq, tz="UTC")
    hi = np.maximum(opn, close) * (1 + wick)
    lo = np.minimum(opn, close) * (1 - wick)
    return pd.DataFrame({"open": opn, "high": hi, "low": lo, "close": close}, index=idx)


def _crash():
    """Long L (10 @ 100, wallet 20) triggers at bar 2 and fills at 95 after 3 minutes, beyond
    its bankruptcy price 98 (the engine test's case); short A survives."""
    bars = _bars([100, 100, 98, 97, 95, 95, 96, 97])
    pos = pd.DataFrame(
        {
            "side": ["long", "short"],
            "quantity": [10.0, 10.0],
            "entry_price": [100.0, 100.0],
            "wallet": [20.0, 50.0],
        },
        index=["L", "A"],
    )
    return bars, pos, simulate_liquidations(bars, pos, BINANCE, delay="3min", insurance_fund=0.0)


def _line(ax: Axes, prefix: str):
    found = [ln for ln in ax.lines if ln.get_label().startswith(prefix)]
    assert len(found) == 1, [ln.get_label() for ln in ax.lines]
    return found[0]


def test_replay_plot_draws_mark_levels_trigger_and_fill():
    bars, pos, res = _crash()
    ax = res.plot()
    assert isinstance(ax, Axes)
    labels = [ln.get_label() for ln in ax.lines]
    for prefix in ("mark", "liquidation price", "bankruptcy price", "entry price", "trigger"):
        assert any(lb.startswith(prefix) for lb in labels), labels
    assert labels[0].startswith("mark") and labels[-1].startswith("fill")
    # the mark: every bar's close
    np.testing.assert_allclose(_line(ax, "mark").get_ydata(), bars["close"].to_numpy())
    # the liquidation and bankruptcy lines sit at the engine's prices (and the closed form)
    (ev,) = res.events.itertuples()
    lp_line = _line(ax, "liquidation price")
    np.testing.assert_allclose(lp_line.get_ydata(), [ev.liquidation_price] * 2)
    assert ev.liquidation_price == pytest.approx(980 / 9.96)
    expected = liquidation_prices(pos, BINANCE).loc["L"]
    assert lp_line.get_ydata()[0] == pytest.approx(expected["liquidation_price"])
    np.testing.assert_allclose(_line(ax, "bankruptcy price").get_ydata(), [98.0, 98.0])
    assert "98.39" in lp_line.get_label()  # the value is in the legend, no exponent
    # the trigger at the trigger bar's open, the fill at the close of the fill bar at 95
    trig = _line(ax, "trigger")
    t_trig = mdates.date2num(bars.index[2].tz_localize(None))
    np.testing.assert_allclose(mdates.date2num(trig.get_xdata()), [t_trig, t_trig])
    fill = _line(ax, "fill")
    assert fill.get_ydata().tolist() == [ev.closeout_price] == [95.0]
    t_fill = mdates.date2num((bars.index[4] + pd.Timedelta("1min")).tz_localize(None))
    np.testing.assert_allclose(mdates.date2num(fill.get_xdata()), [t_fill])
    # the bars' low-high range, a title naming the bad debt, and a legend
    assert len(ax.collections) == 1
    assert "bad debt 30" in ax.get_title() and "long position L" in ax.get_title()
    assert ax.get_xlabel() == "time (UTC)"
    assert ax.get_legend() is not None


def test_replay_plot_into_given_axes_and_window():
    close = np.concatenate([np.full(100, 100.0), [98, 97, 95, 95], np.full(100, 96.0)])
    bars = _bars(close)
    pos = pd.DataFrame(
        {"side": ["long"], "quantity": [10.0], "entry_price": [100.0], "wallet": [20.0]}
    )
    res = simulate_liquidations(bars, pos, BINANCE, delay="2min", insurance_fund=0.0)
    fig, ax = plt.subplots()
    out = res.plot(0, window="10min", ax=ax)
    assert out is ax and len(fig.axes) == 1
    n = len(_line(ax, "mark").get_ydata())
    assert 10 < n < 30  # ten minutes either side of the liquidation, not 204 bars
    with pytest.raises(ConfigError, match="window must be > 0"):
        res.plot(window="0s")


def test_replay_plot_default_is_the_worst_position_and_bounds_show_both_fills():
    rng = np.random.default_rng(4)
    close = 100 * np.exp(np.cumsum(rng.normal(-0.002, 0.01, 200)))
    bars = _bars(close, wick=0.01, freq="1h")
    q = rng.uniform(1, 10, 50)
    pos = pd.DataFrame(
        {
            "side": "long",
            "quantity": q,
            "entry_price": 100.0,
            "wallet": q * 100 / rng.uniform(10, 100, 50),
        }
    )
    res = simulate_liquidations(bars, pos, BINANCE, delay="30s", insurance_fund=0.0)
    assert res.resolution == "bounds"
    ax = res.plot()
    upper = res.events[res.events["bound"] == "upper bound (bar extreme)"]
    worst = upper.groupby("position")["bad_debt"].sum().idxmax()
    row = upper[upper["position"] == worst].iloc[0]
    np.testing.assert_allclose(
        _line(ax, "liquidation price").get_ydata(), [row["liquidation_price"]] * 2
    )
    fills = [ln for ln in ax.lines if ln.get_label().startswith("fill")]
    assert [f.get_label().split(" (")[0] for f in fills] == [
        "fill, lower bound",
        "fill, upper bound",
    ]
    lower = res.events[
        (res.events["bound"] == "lower bound (instant close-out)")
        & (res.events["position"] == worst)
    ]
    assert fills[0].get_ydata()[0] == pytest.approx(lower["closeout_price"].iloc[0])
    assert fills[1].get_ydata()[0] == pytest.approx(row["closeout_price"])
    assert fills[1].get_ydata()[0] <= fills[0].get_ydata()[0]  # the extreme is worse (long)


def test_replay_plot_on_a_simulated_grid_with_slices():
    # Hyperliquid sells 20% slices: one fill marker per slice (the engine test's numbers)
    path = np.array([100.0, 99.0, 98.7, 98.5, 98.3, 99.0, 100.0])
    pos = pd.DataFrame(
        {"side": ["long"], "quantity": [2000.0], "entry_price": [100.0], "wallet": [5000.0]}
    )
    res = simulate_liquidations(
        path, pos, HYPERLIQUID, delay="0s", step="30s", insurance_fund=0.0, backstop_delay="0s"
    )
    ax = res.plot()
    np.testing.assert_allclose(_line(ax, "mark").get_ydata(), path)
    np.testing.assert_allclose(_line(ax, "liquidation price").get_ydata(), [195000 / 1975] * 2)
    fill = _line(ax, "fill")
    assert fill.get_ydata().tolist() == pytest.approx([98.7, 98.3])
    np.testing.assert_allclose(fill.get_xdata(), [1.0, 2.0])  # minutes: grid steps 2 and 4
    assert ax.collections == [] or len(ax.collections) == 0  # no bar range on a grid
    assert "minutes" in ax.get_xlabel() and "no bad debt" in ax.get_title()


def test_replay_plot_named_errors():
    _, pos, res = _crash()
    with pytest.raises(ConfigError, match="position 'A' was not liquidated"):
        res.plot("A")
    with pytest.raises(ConfigError, match="path must be an int"):
        res.plot(path=1)
    calm = simulate_liquidations(
        _bars([100, 100.5, 101, 100.8]), pos, BINANCE, delay="1min", insurance_fund=0.0
    )
    with pytest.raises(ModelError, match="no position was liquidated"):
        calm.plot()
    bare = type(res)(**{**res.__dict__, "mark": None})
    with pytest.raises(ConfigError, match="keeps no mark path"):
        bare.plot()
    assert plt.get_fignums() == []  # nothing was left open by the refusals
