"""Tabular results that behave (issue 15, items 2 and 4).

For each main result type, built on small simulated data made here (never the data mirror),
every tabular output (``summary()`` when it is a frame, ``to_frame()``, ``frame``, ``forecasts``,
``tests()`` ...) must

(a) round-trip through parquet (pyarrow) with equal values,
(b) keep only JSON-serialisable values in ``.attrs``,

and the result's ``_repr_html_()`` (built by ``riskmodels._display.table_html``) must show no
exponent notation (``1.6e-10``, ``2e+04``) outside ``<pre>`` reprs.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from _fixtures import flat_rule_toml

EXPONENT = re.compile(r"\d[eE][-+]\d")

FLAT_RULE = flat_rule_toml(name="flat_tabular", residual_to="fund")


# ----------------------------------------------------------------------------- helpers
def _garch_returns(n: int, seed: int, omega=2e-5, a=0.10, b=0.85) -> np.ndarray:
    """One GARCH(1,1)-normal path (decimal returns), 200 bars of burn-in dropped."""
    g = np.random.default_rng(seed)
    z = g.standard_normal(n + 200)
    var, out = omega / (1 - a - b), np.empty(n + 200)
    for t in range(n + 200):
        out[t] = math.sqrt(var) * z[t]
        var = omega + a * out[t] ** 2 + b * var
    return out[200:]


def _garch_frame(n: int = 600, assets=("A", "B"), seed: int = 1) -> pd.DataFrame:
    idx = pd.date_range("2022-01-01", periods=n, freq="1D", tz="UTC", name="time")
    return pd.DataFrame({a: _garch_returns(n, seed + i) for i, a in enumerate(assets)}, index=idx)


def check_frame(frame: pd.DataFrame | pd.Series, tmp_path: Path, name: str) -> None:
    """(a) equal after a parquet round trip, (b) JSON attrs."""
    df = frame.to_frame() if isinstance(frame, pd.Series) else frame
    json.dumps(df.attrs)  # raises on anything but JSON values
    path = tmp_path / f"{name}.parquet"
    df.to_parquet(path)
    back = pd.read_parquet(path)
    pd.testing.assert_frame_equal(back, df, check_freq=False, obj=name)


def check_html(obj: object) -> str:
    """(c) no exponent notation in ``_repr_html_`` outside ``<pre>`` blocks."""
    html = obj._repr_html_()  # type: ignore[attr-defined]
    shown = re.sub(r"<pre>.*?</pre>", "", html, flags=re.S)
    hit = EXPONENT.search(shown)
    assert hit is None, f"{type(obj).__name__}: {shown[max(0, hit.start() - 80) : hit.end() + 40]}"
    return html


# ----------------------------------------------------------------------------- volatility
@pytest.fixture(scope="module")
def panel_returns() -> pd.DataFrame:
    return _garch_frame()


def test_volatility_result(panel_returns, tmp_path):
    from riskmodels.volatility import GARCH

    res = GARCH(dist="normal").fit(panel_returns["A"])
    frame = res.to_frame()
    assert list(frame.columns) == ["resid", "conditional_volatility", "std_resid"]
    pd.testing.assert_series_equal(
        frame["conditional_volatility"], res.conditional_volatility, check_names=False
    )
    check_frame(frame, tmp_path, "volatility")
    html = check_html(res)
    assert "P&gt;|t|" in html


def test_panel_volatility_result(panel_returns, tmp_path):
    from riskmodels.volatility import GARCH, fit_panel

    returns = panel_returns.copy()
    returns.loc[returns.index[:100], "B"] = np.nan  # B lists later
    panel = fit_panel(returns, GARCH(dist="normal"))
    summary = panel.summary()
    check_frame(summary, tmp_path, "panel_summary")
    long = panel.to_frame()
    assert len(long) == 600 + 500 and set(long["asset"]) == {"A", "B"}
    b = long[long["asset"] == "B"]
    np.testing.assert_array_equal(
        b["conditional_volatility"].to_numpy(), panel["B"].conditional_volatility.to_numpy()
    )
    check_frame(long, tmp_path, "panel_long")
    check_html(panel)


# ----------------------------------------------------------------------------- correlation
@pytest.fixture(scope="module")
def dcc():
    from riskmodels.correlation import DCC, equicorrelation, simulate_dcc

    sim = simulate_dcc(500, equicorrelation(3, 0.5), 0.05, 0.90, rng=5)
    return DCC().fit(sim.returns)


def test_correlation_result(dcc, tmp_path):
    frame = dcc.to_frame()
    assert list(frame.columns) == [
        "time",
        "asset_i",
        "asset_j",
        "pair",
        "correlation",
        "covariance",
    ]
    assert len(frame) == dcc.nobs * 3
    row = frame.iloc[4]  # date 1, pair (A00, A02)... checked against the path
    i, j = dcc.assets.index(row["asset_i"]), dcc.assets.index(row["asset_j"])
    assert row["correlation"] == dcc.correlation.values[1, i, j]
    assert row["covariance"] == dcc.covariance.values[1, i, j]
    check_frame(frame, tmp_path, "dcc")
    check_html(dcc)
    fc = dcc.forecast(5)
    check_frame(fc.to_frame(), tmp_path, "dcc_forecast")
    check_html(fc)


# ----------------------------------------------------------------------------- scenarios
def test_scenarios_and_fitted_generators(panel_returns, tmp_path):
    from riskmodels.scenarios import FilteredHistoricalScenarios
    from riskmodels.volatility import GARCH

    fitted = FilteredHistoricalScenarios(GARCH(dist="normal"), window=400).fit(panel_returns, rng=1)
    check_frame(fitted.summary(), tmp_path, "fhs_summary")
    check_html(fitted)
    sc = fitted.scenarios("1D", n=500, rng=2)
    check_frame(sc.to_frame(), tmp_path, "scenarios")
    check_frame(sc.quantiles(), tmp_path, "scenario_quantiles")
    html = check_html(sc)
    assert "%" in html


# ----------------------------------------------------------------------------- backtest
def test_walk_forward_result(tmp_path):
    from riskmodels.backtest import ParametricModel, walk_forward
    from riskmodels.volatility import EWMA

    g = np.random.default_rng(11)
    idx = pd.date_range("2000-01-01", periods=360, freq="D", tz="UTC", name="time")
    data = pd.DataFrame({"X": 0.02 * g.standard_t(5, idx.size)}, index=idx)
    res = walk_forward(
        {"EWMA": ParametricModel(EWMA(0.94))},
        data,
        None,
        window=250,
        refit_every=50,
        backend="sequential",
        progress=False,
        seed=3,
    )
    check_frame(res.forecasts, tmp_path, "forecasts")
    check_frame(res.frame("EWMA", res.alphas[0]), tmp_path, "wf_frame")
    check_frame(res.tests(), tmp_path, "wf_tests")
    check_frame(res.to_frame(), tmp_path, "wf_to_frame")
    table = res.diagnostics_table()
    check_frame(table, tmp_path, "wf_diagnostics")
    assert [json.loads(p) for p in table["params"]] == list(res.diagnostics["params"])
    html = check_html(res)
    assert "kupiec_p" in html


# ----------------------------------------------------------------------------- margin
def _scenarios():
    from riskmodels.scenarios import Scenarios

    g = np.random.default_rng(7)
    corr = np.array([[1.0, 0.6], [0.6, 1.0]])
    r = g.standard_normal((1_000, 2)) @ np.linalg.cholesky(corr).T * np.array([0.04, 0.05])
    return Scenarios(returns=r, assets=("BTC", "ETH"), horizon="1D")


def _account(btc: float = 1.0, eth: float = -10.0, cash: float = 20_000.0):
    from riskmodels.instruments import Account, LinearPerp, MarketState

    market = MarketState(
        prices={"BTC": 60_000.0, "ETH": 3_000.0},
        valuation_time=pd.Timestamp("2025-01-01", tz="UTC"),
    )
    return Account(
        collateral={"USDT": cash},
        positions=[LinearPerp("BTC", btc, 58_000.0), LinearPerp("ETH", eth, 3_100.0)],
        prices=market,
    )


def test_margin_results(tmp_path):
    from riskmodels.margin import CrossMargin, PortfolioMargin, binance_usdm_tiers

    tiers = binance_usdm_tiers()
    pm = PortfolioMargin(_scenarios())
    acc = _account()
    one = pm.margin(acc)
    check_frame(one.summary(), tmp_path, "margin_summary")
    check_frame(one.breakdown, tmp_path, "margin_breakdown")
    check_html(one)
    many = pm.margin_many([acc, _account(2.0, 5.0, 50_000.0)])
    check_frame(many.frame(), tmp_path, "book_margin")
    check_html(many)
    cross = CrossMargin(tiers).margin(acc)
    check_frame(cross.breakdown, tmp_path, "cross_breakdown")
    check_html(cross)
    check_frame(tiers["BTC"].frame(), tmp_path, "tiers")
    html = check_html(tiers["BTC"])
    assert "1,266,300" in html and "%" in html
    check_html(acc)


def test_monitor_result(tmp_path):
    from riskmodels.margin import CrossMargin, TierTable, monitor

    acc = _account(1.0, 0.0, 6_000.0)
    idx = pd.date_range("2025-01-01", periods=30, freq="1h", tz="UTC")
    prices = pd.DataFrame(
        {"BTC": np.linspace(60_000.0, 50_000.0, idx.size), "ETH": 3_000.0}, index=idx
    )
    res = monitor(acc, prices, CrossMargin(TierTable.flat(0.01, 50)))
    assert res.liquidated
    check_frame(res.frame, tmp_path, "monitor")
    check_html(res)


# ----------------------------------------------------------------------------- calibration
def test_mmr_calibration(tmp_path):
    from riskmodels.calibration import calibrate_mmr

    idx = pd.date_range("2000-01-01", periods=1_500, freq="1D", tz="UTC")
    r = pd.DataFrame({"X": _garch_returns(idx.size, 3, omega=4e-5)}, index=idx)
    cal = calibrate_mmr(r, "X", "1d", 0.01, side="both", n_boot=20, seed=1)
    check_frame(cal.summary(), tmp_path, "mmr_summary")
    check_frame(cal.table, tmp_path, "mmr_table")
    html = check_html(cal)
    assert "MMR calibration" in html and "%" in html


# ----------------------------------------------------------------------------- liquidation
@pytest.fixture
def flat_rule(tmp_path):
    from riskmodels.liquidation import LiquidationRule

    p = tmp_path / "flat_tabular.toml"
    p.write_text(FLAT_RULE)
    return LiquidationRule.load(p)


def test_liquidation_result(flat_rule, tmp_path):
    from riskmodels.liquidation import simulate_liquidations

    g = np.random.default_rng(2)
    steps = g.normal(0.0, 0.004, size=(40, 300))
    paths = 100.0 * np.exp(np.cumsum(steps, axis=1))
    pos = pd.DataFrame(
        {
            "side": ["long", "short", "long"],
            "quantity": [10.0, 5.0, 2_000.0],
            "entry_price": [100.0, 100.0, 100.0],
            "wallet": [60.0, 30.0, 10_000.0],
        },
        index=["p1", "p2", "p3"],
    )
    res = simulate_liquidations(paths, pos, flat_rule, delay="2s", step="1s", insurance_fund=100.0)
    assert len(res.events) > 0
    summary = res.summary()
    check_frame(summary, tmp_path, "liq_summary")
    check_frame(res.events, tmp_path, "liq_events")
    html = check_html(res)
    assert "P(liquidation)" in html and "%" in html


# ----------------------------------------------------------------------------- stress
@pytest.fixture(scope="module")
def population():
    from riskmodels.stress import generate_population

    return generate_population(500, 60_000.0, open_interest=5e7, entry_dispersion=0.05, rng=7)


def test_stress_results(population, tmp_path):
    from riskmodels.stress import SquareRootImpact, simulate_cascade

    check_frame(population.summary(), tmp_path, "population")
    check_html(population)
    res = simulate_cascade(
        population,
        math.log(0.8),
        impact=SquareRootImpact(sigma=0.04, daily_volume=1e9),
        insurance_fund=1e5,
        adl="ranking",
    )
    check_frame(res.summary(), tmp_path, "cascade_summary")
    check_frame(res.by_asset, tmp_path, "cascade_by_asset")
    check_frame(res.path, tmp_path, "cascade_path")
    if res.funds is not None:
        check_frame(res.funds, tmp_path, "cascade_funds")
    check_html(res)


def test_reverse_stress_result(tmp_path):
    from riskmodels.instruments import Account, LinearPerp, MarketState
    from riskmodels.stress import reverse_stress

    acc = Account(
        collateral={"USDT": 6_000.0},
        positions=[LinearPerp("BTC", 1.0, 60_000.0)],
        prices=MarketState(prices={"BTC": 60_000.0}),
    )
    res = reverse_stress(acc, {"BTC": -1.0})
    check_frame(res.simple_move(), tmp_path, "reverse_move")
    html = check_html(res)
    assert "%" in html


def test_small_risk_numbers_show_plain_digits():
    # A VaR of a tiny P&L scale, and procyclicality metrics, in the notebook display: the
    # formatting layer (fmt_number), never exponent notation (issue 15's standard).
    import re

    from riskmodels.calibration import procyclicality_metrics
    from riskmodels.risk import estimate

    pnl = np.random.default_rng(3).normal(0.0, 1e-7, 2_000)
    html = estimate(pnl, 0.99, method="normal")._repr_html_()
    assert not re.search(r"\d[eE][+-]?\d", html), html
    idx = pd.date_range("2024-01-01", periods=60, freq="D", tz="UTC")
    margin = pd.Series(np.linspace(1e-6, 3e-6, 60), index=idx)
    html = procyclicality_metrics(margin)._repr_html_()
    assert not re.search(r"\d[eE][+-]?\d", html), html
