"""Report figure helpers on synthetic backtest results (no data mirror needed)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # tests only draw into figures; notebooks keep the inline backend

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from riskmodels.backtest import WalkForwardResult
from riskmodels.exceptions import DataError
from riskmodels.reporting.figures import traffic_light_timeline_figure, var_bands_figure


def _run(seed: int, n: int = 400, model: str = "FHS") -> WalkForwardResult:
    g = np.random.default_rng(seed)
    idx = pd.date_range("2024-01-01", periods=n, tz="UTC")
    realized = pd.Series(g.standard_t(4, n) * 0.02, index=idx)
    var = pd.Series(np.full(n, 0.05), index=idx)
    return WalkForwardResult.from_forecasts(realized, var, var * 1.2, alpha=0.99, model=model)


def test_var_bands_marks_every_exceedance():
    runs = {"BTC": _run(1), "portfolio": _run(2)}
    fig = var_bands_figure(runs, 0.99, highlight="FHS")
    assert len(fig.axes) == 2
    for ax, run in zip(fig.axes, runs.values(), strict=True):
        n_hits = int(run.hits(0.99, model="FHS").sum())
        (dots,) = ax.collections  # the exceedance markers
        assert dots.get_offsets().shape[0] == n_hits > 0
        assert len(ax.lines) == 2  # realized P&L and one model's band
    plt.close(fig)


def test_traffic_light_timeline_counts_rolling_exceptions():
    run = _run(3)
    fig = traffic_light_timeline_figure({"BTC": run}, 0.99, model="FHS", window=250)
    (line,) = fig.axes[0].lines
    expected = run.hits(0.99, model="FHS").astype(float).rolling(250, min_periods=250).sum()
    np.testing.assert_array_equal(line.get_ydata(), expected.to_numpy())
    plt.close(fig)


def test_figure_errors():
    with pytest.raises(DataError, match="runs is empty"):
        var_bands_figure({})
    with pytest.raises(DataError, match=r"BTC: no forecasts at alpha=0.975"):
        var_bands_figure({"BTC": _run(4)}, 0.975)
    with pytest.raises(DataError, match="runs is empty"):
        traffic_light_timeline_figure({})
