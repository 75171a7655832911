"""One model protocol (issue 17 item 2): the walk-forward backtest and the MMR calibration as
keyword-only frozen specs whose run/fit return the frozen results.

Every expected value here is the function twin's: ``WalkForward(...).run`` must equal
``walk_forward(...)`` and ``MMRCalibrator(...).fit`` / ``.grid`` must equal ``calibrate_mmr`` /
``calibration_grid`` with the same settings, exactly (the specs only carry settings; no
tolerance is needed because the same code computes both sides)."""

from __future__ import annotations

import dataclasses
import math
import pickle

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from riskmodels.backtest import ScenarioModel, WalkForward, walk_forward
from riskmodels.calibration import (
    MMRCalibration,
    MMRCalibrator,
    calibrate_mmr,
    calibration_grid,
)
from riskmodels.exceptions import ConfigError
from riskmodels.margin import TierTable
from riskmodels.parallel import RunOptions
from riskmodels.scenarios import HistoricalScenarios

SEQ = RunOptions(backend="sequential", progress=False)


def _returns(n: int = 900, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    index = pd.date_range("2019-01-01", periods=n, freq="D", tz="UTC", name="time")
    return pd.DataFrame(0.02 * rng.standard_t(4, size=(n, 2)), index=index, columns=["A", "B"])


def _bars(minutes: int = 6 * 1440, seed: int = 2) -> pd.DataFrame:
    """1-minute mark bars of a driftless Brownian log price (0.1 % a minute), 10 points each."""
    rng = np.random.default_rng(seed)
    sub = 10
    logp = math.log(100.0) + np.concatenate(
        [[0.0], np.cumsum(rng.normal(0.0, 0.001 / math.sqrt(sub), minutes * sub))]
    )
    p = np.exp(logp)
    grid = p[1:].reshape(minutes, sub)
    opn = p[0:-1:sub]
    idx = pd.date_range("2024-01-01", periods=minutes, freq="1min", tz="UTC")
    out = pd.DataFrame(
        {
            "open": opn,
            "high": np.maximum(grid.max(axis=1), opn),
            "low": np.minimum(grid.min(axis=1), opn),
            "close": grid[:, -1],
            "quote_volume": 5e7,
        },
        index=idx,
    )
    out.attrs["price_type"] = "mark"
    return out


# -- WalkForward ------------------------------------------------------------------------------------
def test_walk_forward_spec_equals_the_function():
    r = _returns(400)
    models = {"HS": ScenarioModel(HistoricalScenarios(window=100))}
    spec = WalkForward(models=models, window=100, refit_every=50, alphas=0.99, seed=4)
    got = spec.run(r, run=SEQ)
    want = walk_forward(
        dict(models), r, None, window=100, refit_every=50, alphas=0.99, seed=4,
        backend="sequential", progress=False,
    )  # fmt: skip
    assert_frame_equal(got.forecasts, want.forecasts)
    assert got.config["alphas"] == want.config["alphas"]
    # a sub-window of origins is a run argument, not part of the design
    late = spec.run(r, start=r.index[300], run=SEQ)
    assert late.forecasts["time"].min() >= r.index[300]


def test_walk_forward_spec_is_keyword_only_frozen_and_validated():
    with pytest.raises(TypeError):
        WalkForward(ScenarioModel(HistoricalScenarios(window=100)))  # type: ignore[misc]
    spec = WalkForward(models=[ScenarioModel(HistoricalScenarios(window=100))], window=100)
    assert isinstance(spec.models, tuple)  # a list is frozen into a tuple
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.window = 5  # type: ignore[misc]
    assert pickle.loads(pickle.dumps(spec)).window == 100
    for bad, match in [
        ({"window": 1}, "window must be an integer >= 2"),
        ({"refit_every": 0}, "refit_every must be an integer >= 1"),
        ({"update_failure": "skip"}, "update_failure must be"),
        ({"horizon": 3}, "horizon"),
        ({"models": []}, "models is empty"),
    ]:
        with pytest.raises(ConfigError, match=match):
            spec.replace(**bad)


# -- MMRCalibrator ----------------------------------------------------------------------------------
def test_calibrator_fit_and_grid_equal_the_functions_horizon_method():
    r = _returns()
    cal = MMRCalibrator(target=0.01, n_boot=40, seed=7)
    got = cal.fit(r, "A", test_start="2021-01-01")
    want = calibrate_mmr(r, "A", "1d", 0.01, n_boot=40, seed=7, test_start="2021-01-01")
    assert isinstance(got, MMRCalibration)  # the fixed-horizon result
    assert_frame_equal(got.table, want.table, check_exact=True)
    grid = cal.grid(r, ["A", "B"], horizons=["1D", "3D"], test_start="2021-01-01", run=SEQ)
    ref = calibration_grid(
        r, ["A", "B"], ["1D", "3D"], [0.01], test_start="2021-01-01", n_boot=40, seed=7,
        backend="sequential", progress=False,
    )  # fmt: skip
    assert_frame_equal(grid.table, ref.table, check_exact=True)
    # the grid's cell equals the spec's own fit (keyed bootstrap streams)
    assert_frame_equal(
        grid["A", "1D", 0.01, "historical"].table.reset_index(drop=True),
        got.table.reset_index(drop=True),
        check_exact=True,
    )


def test_calibrator_closeout_method_equals_the_function():
    bars = _bars()
    tiers = TierTable(upper_bounds=[1e5], max_leverage=[20], mmr=[0.01], imr=[0.05], name="t")
    cal = MMRCalibrator(
        target=0.01, tiers=tiers, side="long", n_boot=20,
        closeout={"delay": "2min", "holdout": False},
    )  # fmt: skip
    got = cal.fit({"SIM": bars})
    want = calibrate_mmr({"SIM": bars}, tiers=tiers, target=0.01, n_boot=20, side="long",
                         delay="2min", holdout=False)  # fmt: skip
    assert got.method == "closeout"
    assert_frame_equal(got.table, want.table, check_exact=True)
    with pytest.raises(ConfigError, match="inputs of the horizon method"):
        cal.fit({"SIM": bars}, test_start="2024-01-03")


def test_calibrator_is_keyword_only_frozen_and_validated():
    with pytest.raises(TypeError):
        MMRCalibrator("closeout")  # type: ignore[misc]
    cal = MMRCalibrator(closeout={"delay": "1min"})
    with pytest.raises(TypeError):
        cal.closeout["delay"] = "5min"  # type: ignore[index]
    assert pickle.loads(pickle.dumps(cal)) == cal
    for bad, match in [
        ({"method": "var"}, "method must be one of"),
        ({"side": "up"}, "side must be one of"),
        ({"target": 0.5}, "target"),
        ({"closeout": ["delay"]}, "closeout must be a mapping"),
    ]:
        with pytest.raises(ConfigError, match=match):
            cal.replace(**bad)


# -- VaRModel.fit_model -> FittedVaRModel ----------------------------------------------------------
@pytest.mark.parametrize("kind", ["HS", "EWMA"])
def test_fitted_var_model_equals_the_engine(kind):
    # Twin: fit on the first window, forecast, update one bar, forecast again: the numbers are
    # the walk-forward engine's at its first two origins (same model, same window, no refit in
    # between), exactly: the same model methods compute both.
    from riskmodels.backtest import ParametricModel
    from riskmodels.volatility import EWMA

    r = _returns(300)
    model = (
        ScenarioModel(HistoricalScenarios(window=200))
        if kind == "HS"
        else ParametricModel(EWMA(0.94))
    )
    w = 200
    wf = walk_forward(
        model, r, None, window=w, refit_every=1000, alphas=(0.99, 0.975),
        end=r.index[w + 1], run=SEQ,
    )  # fmt: skip
    f = wf.forecasts.set_index(["time", "alpha"])
    fitted = model.fit_model(r.iloc[:w])
    assert fitted.as_of == r.index[w - 1]
    first = fitted.forecast((0.99, 0.975))
    origin0 = wf.forecasts["time"].min()
    np.testing.assert_array_equal(first["var"], f.loc[origin0, "var"].to_numpy())
    np.testing.assert_array_equal(first["es"], f.loc[origin0, "es"].to_numpy())
    nxt = fitted.update(r.iloc[w : w + 1]).forecast((0.99, 0.975))
    origin1 = sorted(wf.forecasts["time"].unique())[1]
    np.testing.assert_array_equal(nxt["var"], f.loc[origin1, "var"].to_numpy())
    assert fitted.forecast(0.99).index.tolist() == [0.99]  # the old object is unchanged


def test_fitted_var_model_errors_say_the_fix():
    from riskmodels.backtest import ParametricModel
    from riskmodels.exceptions import DataError
    from riskmodels.volatility import EWMA

    r = _returns(300)
    fitted = ParametricModel(EWMA(0.94)).fit_model(r.iloc[:200])
    with pytest.raises(DataError, match="not after the model's last bar"):
        fitted.update(r.iloc[150:210])
    with pytest.raises(ConfigError, match=r"alpha must be in \[0.5, 1\)"):
        fitted.forecast(0.01)
    with pytest.raises(ConfigError, match="one bar"):  # parametric: one-bar closed forms only
        fitted.forecast(0.99, "5D")
    with pytest.raises(ConfigError, match=r"exposures name assets not in the returns: \['X'\]"):
        ParametricModel(EWMA(0.94)).fit_model(r.iloc[:200], exposures={"X": 1.0})
    with pytest.raises(DataError, match="NaN"):
        ParametricModel(EWMA(0.94)).fit_model(r.iloc[:200].assign(A=np.nan))
