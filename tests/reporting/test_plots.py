"""``.plot()`` on the main results, on small simulated data (no data mirror needed).

Each test builds a result cheaply, draws it and checks the Axes: what was drawn equals the
result's own numbers, the labels say what the axes are, and ``ax=`` draws into a given Axes.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # tests only draw into figures; notebooks keep the inline backend

import math
import sys
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.axes import Axes

from riskmodels.backtest import WalkForwardResult, traffic_light
from riskmodels.calibration import calibrate_closeout
from riskmodels.exceptions import ConfigError
from riskmodels.margin import TierTable, binance_usdm_tiers
from riskmodels.volatility import EWMA, GARCH, fit_panel

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "calibration"))
from test_closeout import _brownian_bars  # the close-out tests' simulated bars


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _returns(n: int = 400, seed: int = 0, name: str = "SIM") -> pd.Series:
    g = np.random.default_rng(seed)
    idx = pd.date_range("2023-01-01", periods=n, freq="1D", tz="UTC")
    return pd.Series(g.standard_t(5, n) * 0.02, index=idx, name=name)


# ----------------------------------------------------------------------------- volatility
def test_volatility_plot_draws_sigma_over_abs_returns():
    r = _returns()
    res = GARCH(dist="normal").fit(r)
    ax = res.plot(annualize=365)
    assert isinstance(ax, Axes)
    assert len(ax.lines) == 1 and len(ax.collections) == 1
    np.testing.assert_allclose(
        ax.lines[0].get_ydata(), res.conditional_volatility.to_numpy() * math.sqrt(365)
    )
    segs = ax.collections[0].get_segments()  # |r_t| spikes from 0
    assert len(segs) == r.size
    tops = np.array([s[1, 1] for s in segs])
    np.testing.assert_allclose(tops, r.abs().to_numpy() * math.sqrt(365), rtol=1e-9, atol=1e-12)
    assert ax.get_ylabel() == "annualised volatility"
    assert "%" in ax.yaxis.get_major_formatter()(0.5, 0)

    fig, mine = plt.subplots()
    out = res.plot(ax=mine, abs_returns=False)
    assert out is mine and len(mine.lines) == 1 and not mine.collections
    np.testing.assert_allclose(mine.lines[0].get_ydata(), res.conditional_volatility.to_numpy())
    assert mine.get_ylabel() == "volatility per bar"
    with pytest.raises(ConfigError, match="annualize"):
        res.plot(annualize=0)
    with pytest.raises(ConfigError, match="matplotlib Axes"):
        res.plot(ax=fig)


def test_panel_volatility_plot_draws_one_line_per_asset():
    panel = pd.concat([_returns(200, 1, "A"), _returns(200, 2, "B")], axis=1)
    panel.loc[panel.index[:50], "B"] = np.nan  # B lists later
    fits = fit_panel(panel, EWMA(lam=0.94))
    ax = fits.plot(annualize=365)
    assert [ln.get_label() for ln in ax.lines] == ["A", "B"]
    for ln, a in zip(ax.lines, ["A", "B"], strict=True):
        np.testing.assert_allclose(
            ln.get_ydata(), fits[a].conditional_volatility.to_numpy() * math.sqrt(365)
        )
    assert len(ax.lines[1].get_ydata()) == 150
    assert len(fits.plot(assets=["B"]).lines) == 1
    with pytest.raises(ConfigError, match="assets must be among"):
        fits.plot(assets=["C"])


# ----------------------------------------------------------------------------- backtest
def _run(n: int = 300, seed: int = 3) -> WalkForwardResult:
    g = np.random.default_rng(seed)
    idx = pd.date_range("2024-01-01", periods=n, tz="UTC")
    realized = pd.Series(g.standard_t(4, n) * 0.02, index=idx)
    var = pd.Series(np.full(n, 0.05), index=idx)
    return WalkForwardResult.from_forecasts(realized, var, var * 1.25, alpha=0.99, model="FHS")


def test_backtest_plot_bands_es_and_exceedances():
    run = _run()
    f = run.frame("FHS", 0.99)
    ax = run.plot()
    realized, var_line, es_line = ax.lines
    np.testing.assert_array_equal(realized.get_ydata(), f["realized"].to_numpy())
    np.testing.assert_array_equal(var_line.get_ydata(), -f["var"].to_numpy())
    np.testing.assert_array_equal(es_line.get_ydata(), -f["es"].to_numpy())
    assert es_line.get_linestyle() == "--"
    (dots,) = ax.collections
    hits = f[f["hit"]]
    assert dots.get_offsets().shape[0] == len(hits) > 0
    np.testing.assert_array_equal(dots.get_offsets()[:, 1], hits["realized"].to_numpy())
    assert ax.get_ylabel() == "P&L"
    assert [t.get_text() for t in ax.get_legend().get_texts()][:3] == [
        "realized P&L",
        "-VaR FHS",
        "-ES FHS",
    ]

    _, mine = plt.subplots()
    assert run.plot(ax=mine, es=False, exceedances=False) is mine
    assert len(mine.lines) == 2 and not mine.collections
    with pytest.raises(ConfigError, match="alpha must be one of"):
        run.plot(alpha=0.975)
    with pytest.raises(ConfigError, match="model must be one of"):
        run.plot(highlight="HS")


def test_backtest_plot_several_models_without_es():
    a, b = _run(seed=4), _run(seed=5)
    f = pd.concat([a.forecasts, b.forecasts.assign(model="HS", var=0.04, es=np.nan)])
    run = WalkForwardResult(
        forecasts=f.reset_index(drop=True), diagnostics=a.diagnostics, config=a.config
    )
    ax = run.plot(highlight="HS")  # HS has no ES: no ES line
    assert [ln.get_label() for ln in ax.lines] == ["realized P&L", "-VaR FHS", "-VaR HS"]
    n_hits = int(run.hits(0.99, model="HS").sum())
    assert ax.collections[0].get_offsets().shape[0] == n_hits


def test_backtest_traffic_light_timeline_uses_the_package_zones():
    run = _run(400)
    ax = run.plot_traffic_light(window=250)
    (line,) = ax.lines
    expected = run.hits(0.99, model="FHS").astype(float).rolling(250, min_periods=250).sum()
    np.testing.assert_array_equal(line.get_ydata(), expected.to_numpy())
    zones = traffic_light(np.zeros(250, dtype=bool), 0.99)
    bands = [p for p in ax.patches if str(p.get_gid()).startswith("traffic_light_zones")]
    assert len(bands) == 3
    # band edges: green below yellow_from, yellow below red_from (BCBS: 0-4, 5-9, 10+)
    tops = sorted(p.get_window_extent().transformed(ax.transData.inverted()).y1 for p in bands)
    assert tops[0] == pytest.approx(zones.yellow_from - 0.5)
    assert tops[1] == pytest.approx(zones.red_from - 0.5)
    assert (zones.yellow_from, zones.red_from) == (5, 10)
    assert ax.get_ylabel() == "99% exceptions in 250 forecasts"

    # a second book on the same Axes adds a line, not a second set of zones
    assert run.plot_traffic_light(ax=ax, label="again") is ax
    assert len(ax.lines) == 2
    assert len([p for p in ax.patches if p.get_gid() == bands[0].get_gid()]) == 3
    with pytest.raises(ConfigError, match="window must be a positive integer"):
        run.plot_traffic_light(window=0)


# ----------------------------------------------------------------------------- close-out
@pytest.fixture(scope="module")
def closeout():
    w = [_brownian_bars(2, 0.0012, seed=s, sub=5) for s in (21, 22, 23)]
    for i, x in enumerate(w):
        x.index = x.index + pd.Timedelta(days=10 * i)
    tiers = TierTable(
        upper_bounds=[1e5, 1e8], max_leverage=[25, 10], mmr=[0.01, 0.02], imr=[0.04, 0.1],
        name="t",
    )  # fmt: skip
    return calibrate_closeout(
        {"SIM": pd.concat(w)}, tiers=tiers, target=0.01, delay="1min", n_boot=20,
        origin_every=2, grid_size=40, volume={"SIM": 5e10}, holdout=False, side="long",
    )  # fmt: skip


def test_closeout_plot_draws_curves_target_and_chosen_rate(closeout):
    cal = closeout
    t = cal.table
    ax = cal.plot()
    curves = ax.lines[:2]  # brackets 1 and 2 (long only)
    for ln, b in zip(curves, (1, 2), strict=True):
        c = cal.curves[cal.curves["bracket"] == b].sort_values("mmr")
        np.testing.assert_array_equal(ln.get_xdata(), c["mmr"].to_numpy())
        np.testing.assert_array_equal(ln.get_ydata(), c["p_bad_debt"].to_numpy())
        assert ln.get_label().startswith(f"bracket {b} (")
    published = t["mmr"].dropna()
    chosen = ax.lines[2 : 2 + len(published)]
    assert [ln.get_xdata()[0] for ln in chosen] == published.tolist()
    target = ax.lines[-1]
    assert target.get_ydata()[0] == cal.target and target.get_label() == "target 1.00%"
    assert len(ax.lines) == 2 + len(published) + 1
    spans = [p for p in ax.patches if p.get_alpha() == pytest.approx(0.12)]
    assert len(spans) == int(t["mmr_lo"].notna().sum()) >= 1  # bracket 1's interval
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    assert ax.get_ylabel() == "P(bad debt | liquidation)"

    _, mine = plt.subplots()
    assert cal.plot(asset="SIM", side="long", log=False, ax=mine) is mine
    assert mine.get_xscale() == "linear"
    with pytest.raises(ConfigError, match="was not calibrated"):
        cal.plot(asset="BTC")
    with pytest.raises(ConfigError, match="side 'short' was not calibrated"):
        cal.plot(side="short")


# ----------------------------------------------------------------------------- tier tables
def test_tier_table_plot_steps_against_a_venue():
    binance = binance_usdm_tiers()["BTC"]
    mine = TierTable(
        upper_bounds=[1e5, 1e7, math.inf], max_leverage=[50, 20, 5], mmr=[0.005, 0.01, 0.05],
        name="calibrated",
    )  # fmt: skip
    ax = mine.plot(binance)
    own, venue = ax.lines
    np.testing.assert_array_equal(own.get_ydata(), [0.005, 0.01, 0.05, 0.05])
    np.testing.assert_array_equal(venue.get_ydata(), [*binance.mmr, binance.mmr[-1]])
    assert own.get_drawstyle() == "steps-post"
    x = own.get_xdata()
    assert x[0] == pytest.approx(5e3)  # a tenth of the smallest first bound (Binance's 50k)
    assert list(x[1:3]) == [1e5, 1e7]
    assert x[-1] == pytest.approx(2 * binance.upper_bounds[-1])  # open last bracket
    assert venue.get_xdata()[-1] == binance.upper_bounds[-1]  # Binance refuses larger
    assert own.get_label() == "calibrated"
    assert venue.get_label() == "Binance USDS-M futures BTCUSDT (2021-03-18)"
    assert ax.get_xscale() == "log"
    assert ax.get_xlabel() == "position notional (USD)"
    assert ax.xaxis.get_major_formatter()(1e6, 0) == "1M"

    _, given = plt.subplots()
    out = binance.plot({"A": mine, "B": mine}, rate="imr", label="Binance", ax=given)
    assert out is given and [ln.get_label() for ln in given.lines] == ["Binance", "A", "B"]
    np.testing.assert_array_equal(given.lines[0].get_ydata(), [*binance.imr, binance.imr[-1]])
    assert given.get_ylabel() == "initial margin rate"
    assert len(mine.plot().lines) == 1
    with pytest.raises(ConfigError, match="other must hold TierTables"):
        mine.plot([1.0])  # type: ignore[list-item]
    with pytest.raises(ConfigError, match="rate must be"):
        mine.plot(rate="x")  # type: ignore[arg-type]


def test_result_modules_import_matplotlib_only_inside_plot():
    """No module-level matplotlib import in the result modules: ``.plot()`` imports it when
    called, so ``import riskmodels`` does not pay for it (arch may import it on its own)."""
    import ast

    import riskmodels

    root = Path(riskmodels.__file__).parent
    for rel in (
        "volatility/results.py",
        "backtest/walkforward.py",
        "calibration/closeout.py",
        "margin/tiers.py",
    ):
        tree = ast.parse((root / rel).read_text(encoding="utf-8"))
        top = [n for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)]
        names = [a.name for n in top if isinstance(n, ast.Import) for a in n.names]
        names += [n.module or "" for n in top if isinstance(n, ast.ImportFrom)]
        assert not [x for x in names if x.split(".")[0] in ("matplotlib", "seaborn")], rel
        assert "riskmodels.reporting.figures" not in names, rel
