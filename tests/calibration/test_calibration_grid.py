"""Tests of the calibration grid: cells equal stand-alone calibrations, any backend gives the
same numbers, the cache resumes, crashed workers are retried.

Where expected numbers come from
--------------------------------
* The reference for every cell is :func:`riskmodels.calibration.calibrate_mmr` called on its
  own with the same arguments (itself tested against closed-form quantiles in
  ``tests/calibration/test_calibration.py``): the grid must reproduce it exactly, bootstrap intervals
  included, because each cell's stream is keyed by the cell (``cell_seed``), not drawn in
  sequence.
* Backends are compared with the sequential run: the same tasks, so
  ``assert_frame_equal(check_exact=True)``.
* Data: iid Student-t(4) daily returns with a 2% scale from a seeded Generator (the
  calibration numbers themselves are not the point here).
"""

from __future__ import annotations

import os
import pickle
import sys

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from riskmodels.calibration import (
    CalibrationGrid,
    calibrate_mmr,
    calibration_grid,
    cell_seed,
)
from riskmodels.calibration import grid as grid_module
from riskmodels.exceptions import (
    ConfigError,
    DataError,
    InsufficientDataError,
    RiskModelsWarning,
)
from riskmodels.margin import TierTable

HANG_TIMEOUT = 180
TEST_START = "2021-01-01"
#: The grid of most tests: 2 assets x 2 horizons x 2 targets x 1 model = 8 cells.
GRID = dict(
    horizons=["1D", "3D"],
    targets=[0.01, 0.025],
    test_start=TEST_START,
    n_boot=40,
    seed=7,
    progress=False,
)


def simulate(n: int = 1500, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    index = pd.date_range("2017-01-01", periods=n, freq="D", tz="UTC", name="time")
    return pd.DataFrame(0.02 * rng.standard_t(4, size=(n, 2)), index=index, columns=["A", "B"])


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    return simulate()


@pytest.fixture(scope="module")
def reference(data) -> CalibrationGrid:
    return calibration_grid(data, backend="sequential", **GRID)


def _cell_table(cal) -> pd.DataFrame:
    return cal.table.drop(columns=["asset"]).reset_index(drop=True)


# -- cells ---------------------------------------------------------------------------------------
def test_every_cell_equals_the_stand_alone_calibration(data, reference):
    assert reference.config["n_tasks"] == 8
    assert reference.config["backend"] == "sequential"
    assert len(reference.calibrations) == 8
    for asset in ("A", "B"):
        for h in ("1D", "3D"):
            for p in (0.01, 0.025):
                alone = calibrate_mmr(data, asset, h, p, test_start=TEST_START, n_boot=40, seed=7)
                got = reference[asset, h, p, "historical"]
                assert_frame_equal(_cell_table(alone), _cell_table(got), check_exact=True)
                assert_frame_equal(
                    alone.breaches.reset_index(drop=True),
                    got.breaches.reset_index(drop=True),
                    check_exact=True,
                )
    # the table stacks the cells in grid order, led by the cell columns
    t = reference.table
    assert list(t.columns[:4]) == ["asset", "base_horizon", "target", "model"]
    assert t[["asset", "base_horizon", "target"]].drop_duplicates().values.tolist() == [
        [a, h, p] for a in ("A", "B") for h in ("1d", "3d") for p in (0.01, 0.025)
    ]
    assert t["note"].isna().all()
    # bootstrap intervals were computed (the streams matter to the comparison above)
    assert (t["mmr_hi"] > t["mmr_lo"]).all()


def test_cell_does_not_depend_on_the_rest_of_the_grid(data, reference):
    # Only asset B, one horizon, the targets reversed: B's cells are unchanged.
    small = calibration_grid(
        data,
        "B",
        **{**GRID, "horizons": ["3D"], "targets": [0.025, 0.01]},
        backend="sequential",
    )
    for p in (0.01, 0.025):
        assert_frame_equal(
            _cell_table(small["B", "3D", p, "historical"]),
            _cell_table(reference["B", "3D", p, "historical"]),
            check_exact=True,
        )


def test_seed_changes_intervals_not_point_estimates(data, reference):
    other = calibration_grid(data, backend="sequential", **{**GRID, "seed": 8})
    a, b = reference.table, other.table
    np.testing.assert_array_equal(a["mmr"], b["mmr"])  # order statistics: no randomness
    assert not np.array_equal(a["mmr_lo"], b["mmr_lo"])  # the bootstrap streams differ


def test_cell_seed_is_keyed_by_cell():
    d = pd.Timedelta("1D")
    s = cell_seed(7, "A", "long", d, 1)
    assert (
        s.generate_state(4).tolist() == cell_seed(7, "A", "long", d, 1).generate_state(4).tolist()
    )
    others = [
        cell_seed(8, "A", "long", d, 1),
        cell_seed(7, "B", "long", d, 1),
        cell_seed(7, "A", "short", d, 1),
        cell_seed(7, "A", "long", pd.Timedelta("4h"), 1),
        cell_seed(7, "A", "long", d, 2),
    ]
    states = {tuple(x.generate_state(4).tolist()) for x in [s, *others]}
    assert len(states) == 6


def test_curve_and_summary(reference):
    c = reference.curve("A")
    assert list(c.index) == ["1d", "3d"] and list(c.columns) == [0.01, 0.025]
    t = reference.table
    row = t[
        (t["asset"] == "A")
        & (t["base_horizon"] == "3d")
        & (t["target"] == 0.01)
        & (t["side"] == "long")
    ].iloc[0]
    assert c.loc["3d", 0.01] == row["mmr"]
    # a longer horizon and a smaller target need more margin
    assert c.loc["3d", 0.01] > c.loc["1d", 0.01] and c.loc["1d", 0.01] > c.loc["1d", 0.025]
    s = reference.summary()
    assert len(s) == 8 * 2  # first bracket, long and short, per cell
    assert "Calibration grid" in reference._repr_html_()
    with pytest.raises(ConfigError, match=r"no rows for asset 'Z'"):
        reference.curve("Z")
    with pytest.raises(ConfigError, match=r"value 'nope' is not a column"):
        reference.curve("A", value="nope")
    with pytest.raises(KeyError, match=r"no calibration for \('A', '2d', 0.01, 'historical'\)"):
        reference["A", "2D", 0.01, "historical"]


def test_grid_repr_is_short_and_names_the_grid(reference):
    text = repr(reference)
    assert len(text) < 1_000  # not the tables and calibrations (17 KB before)
    for fact in ("method='horizon'", "2 assets [A, B]", "2 horizons [1d, 3d]", "0.025"):
        assert fact in text, fact
    assert f"{reference.config['n_tasks']} cells" in text and "sequential" in text


def test_grid_tables_round_trip_through_parquet(reference, tmp_path):
    for name, frame in {"table": reference.table, "summary": reference.summary()}.items():
        path = tmp_path / f"{name}.parquet"
        frame.to_parquet(path)
        assert_frame_equal(pd.read_parquet(path), frame)
    curve = reference.curve("A")
    curve.columns = curve.columns.astype(str)  # parquet column names are strings
    curve.to_parquet(tmp_path / "curve.parquet")
    assert_frame_equal(pd.read_parquet(tmp_path / "curve.parquet"), curve)


def test_result_pickles(reference):
    back = pickle.loads(pickle.dumps(reference))
    assert_frame_equal(back.table, reference.table)


def test_tiers_per_asset_and_models(data):
    g = calibration_grid(
        data,
        ["A", "B"],
        horizons="1D",
        targets=0.01,
        models=["historical", "normal"],
        tiers={"A": [1e5, 1e6], "B": [5e5]},
        adv={"A": 1e7, "B": 1e7},
        test_start=TEST_START,
        n_boot=0,
        backend="sequential",
        progress=False,
    )
    t = g.table
    assert t[t["asset"] == "A"].groupby("model")["bracket"].max().tolist() == [2, 2]
    assert t[t["asset"] == "B"]["bracket"].max() == 1
    alone = calibrate_mmr(
        data,
        "A",
        "1D",
        0.01,
        model="normal",
        tiers=[1e5, 1e6],
        adv={"A": 1e7, "B": 1e7},
        test_start=TEST_START,
        n_boot=0,
    )
    assert_frame_equal(
        _cell_table(alone), _cell_table(g["A", "1D", 0.01, "normal"]), check_exact=True
    )


# -- cells without enough data -------------------------------------------------------------------
def test_insufficient_cell_is_recorded(data):
    # 10-day windows before 2021-01-01: ~1,450 origins, fewer than the 2,000 a 0.05% target
    # needs; the 1-day, 1% cell is fine.
    g = calibration_grid(
        data,
        "A",
        horizons=["1D", "10D"],
        targets=[0.01, 0.0005],
        test_start=TEST_START,
        n_boot=0,
        backend="sequential",
        progress=False,
    )
    notes = g.table.set_index(["base_horizon", "target"])["note"]
    assert notes.loc[[("1d", 0.01)]].isna().all()
    assert notes.loc[[("10d", 0.0005)]].str.startswith("InsufficientDataError").all()
    assert len(g.config["not_calibrated"]) == 2  # both 0.05% cells
    assert np.isnan(g.curve("A").loc["10d", 0.0005])
    with pytest.raises(InsufficientDataError, match=r"calibration windows, fewer than"):
        calibration_grid(
            data,
            "A",
            horizons="10D",
            targets=0.0005,
            test_start=TEST_START,
            n_boot=0,
            insufficient="raise",
            backend="sequential",
            progress=False,
        )


# -- errors --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"targets": []}, ConfigError, r"targets is empty"),
        ({"targets": [0.01, 0.01]}, ConfigError, r"targets has duplicates"),
        ({"horizons": ["1D", "24h"]}, ConfigError, r"horizons has duplicates"),
        ({"targets": [1.5]}, ConfigError, r"target"),
        ({"models": ["garch"]}, ConfigError, r"models must be among"),
        ({"horizons": ["1h"]}, ConfigError, r"horizon"),
        ({"tiers": {"A": [1e6]}}, ConfigError, r"tiers is a mapping without an entry for \['B'\]"),
        ({"insufficient": "skip"}, ConfigError, r"insufficient must be 'record' or 'raise'"),
        ({"side": "up"}, ConfigError, r"side must be one of"),
        ({"backend": "spark"}, ConfigError, r"backend must be one of"),
        ({"scheduler": "tcp://x:1"}, ConfigError, r"scheduler is only used with backend='dask'"),
        ({"n_jobs": 0}, ConfigError, r"n_jobs must be a positive integer"),
        ({"retries": -1}, ConfigError, r"retries must be an integer >= 0"),
        ({"on_task_error": "ignore"}, ConfigError, r"on_task_error must be one of"),
        ({"seed": -1}, ConfigError, r"seed must be a non-negative integer"),
    ],
)
def test_errors(data, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        calibration_grid(data, **{**GRID, "backend": "sequential", **kwargs})


def test_error_unknown_asset(data):
    with pytest.raises(DataError, match=r"asset 'C' is in none of the returns frames"):
        calibration_grid(data, ["A", "C"], **GRID)


def test_error_dask_missing(data, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(ConfigError, match=r"needs dask.distributed"):
        calibration_grid(data, **{**GRID, "backend": "dask"})


# -- cache, failures, resumption -----------------------------------------------------------------
def test_cache_second_run_loads_every_cell(data, reference, tmp_path):
    first = calibration_grid(data, backend="sequential", cache_dir=tmp_path, **GRID)
    assert first.config["cache_hits"] == 0
    assert first.config["cache_dir"] == str(tmp_path)
    assert len(list(tmp_path.glob("*.pkl"))) == 8
    again = calibration_grid(data, backend="sequential", cache_dir=tmp_path, **GRID)
    assert again.config["cache_hits"] == 8
    assert_frame_equal(again.table, reference.table, check_exact=True)
    # another seed is another key: nothing loaded
    other = calibration_grid(data, backend="sequential", cache_dir=tmp_path, **{**GRID, "seed": 8})
    assert other.config["cache_hits"] == 0


def test_partial_failure_then_resume_is_identical(data, reference, tmp_path, monkeypatch):
    real = grid_module.calibrate_mmr

    def flaky(returns, asset, horizon, target, **kw):
        if asset == "B" and target == 0.025:
            raise ValueError("injected failure")
        return real(returns, asset, horizon, target, **kw)

    monkeypatch.setattr(grid_module, "calibrate_mmr", flaky)
    with pytest.warns(RiskModelsWarning, match=r"2 of 8 cell\(s\) failed"):
        part = calibration_grid(
            data, backend="sequential", cache_dir=tmp_path, on_task_error="partial", **GRID
        )
    failed = [f["task"] for f in part.config["failed_tasks"]]
    assert failed == ["B/1d/0.025/historical", "B/3d/0.025/historical"]
    assert all("ValueError: injected failure" in f["error"] for f in part.config["failed_tasks"])
    assert len(part.calibrations) == 6
    with pytest.raises(ValueError, match="injected failure"):
        calibration_grid(data, backend="sequential", **GRID)
    monkeypatch.setattr(grid_module, "calibrate_mmr", real)
    resumed = calibration_grid(data, backend="sequential", cache_dir=tmp_path, **GRID)
    assert resumed.config["cache_hits"] == 6
    assert_frame_equal(resumed.table, reference.table, check_exact=True)


def test_transient_crash_is_retried(data, reference, monkeypatch):
    real = grid_module.calibrate_mmr
    state = {"left": 1}

    def crash_once(returns, asset, horizon, target, **kw):
        if state["left"]:
            state["left"] -= 1
            raise OSError("worker lost")
        return real(returns, asset, horizon, target, **kw)

    monkeypatch.setattr(grid_module, "calibrate_mmr", crash_once)
    g = calibration_grid(data, backend="sequential", **GRID)
    assert g.config["retried"] == 1
    assert_frame_equal(g.table, reference.table, check_exact=True)


# -- backends (processes and clusters) -------------------------------------------------------
class KillOnceRegimes:
    """Regime labels (duck-typed: the calibration only calls ``sort_index``) whose first
    ``sort_index``, in the worker, kills the process after creating ``marker``."""

    def __init__(self, labels: pd.Series, marker: str) -> None:
        self.labels = labels
        self.marker = marker

    def sort_index(self) -> pd.Series:
        if not os.path.exists(self.marker):
            with open(self.marker, "w") as fh:
                fh.write(str(os.getpid()))
            os._exit(1)
        return self.labels.sort_index()


def _regimes(data: pd.DataFrame) -> pd.Series:
    # calm / wild by the sign of the day of year's parity: any labels will do
    return pd.Series(np.where(data.index.day_of_year % 2 == 0, "even", "odd"), index=data.index)


@pytest.mark.slow
def test_loky_matches_sequential(data, reference, no_hang):
    g = calibration_grid(data, backend="loky", n_jobs=2, **GRID)
    assert g.config["backend"] == "loky" and g.config["n_workers"] == 2
    assert_frame_equal(g.table, reference.table, check_exact=True)
    assert_frame_equal(g.breaches, reference.breaches, check_exact=True)


@pytest.mark.slow
def test_dask_local_cluster_matches_sequential(data, reference, no_hang):
    pytest.importorskip("distributed")
    g = calibration_grid(data, backend="dask", n_jobs=2, **GRID)
    assert g.config["backend"] == "dask" and g.config["n_workers"] == 2
    assert_frame_equal(g.table, reference.table, check_exact=True)
    assert_frame_equal(g.breaches, reference.breaches, check_exact=True)


@pytest.mark.slow
def test_killed_workers_are_retried(data, tmp_path, no_hang, by_value):
    distributed = pytest.importorskip("distributed")
    kw = {**GRID, "targets": [0.025], "n_boot": 0}
    ref = calibration_grid(data, backend="sequential", regimes=_regimes(data), **kw)

    loky_marker = tmp_path / "loky"
    regimes = KillOnceRegimes(_regimes(data), str(loky_marker))
    g = calibration_grid(data, backend="loky", n_jobs=2, regimes=regimes, retries=1, **kw)
    assert loky_marker.exists()  # a worker did die
    assert g.config["retried"] >= 1
    assert_frame_equal(g.table, ref.table, check_exact=True)

    dask_marker = tmp_path / "dask"
    regimes = KillOnceRegimes(_regimes(data), str(dask_marker))
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=":0",
        ) as cluster,
        distributed.Client(cluster, timeout=60) as client,
    ):
        g = calibration_grid(
            data, backend="dask", scheduler=client, regimes=regimes, retries=1, **kw
        )
    assert dask_marker.exists()
    assert g.config["backend"] == "dask"
    assert_frame_equal(g.table, ref.table, check_exact=True)


# -- method="closeout": assets x delays x targets on bars ----------------------------------------
# Data: a geometric Brownian motion of one-minute mark bars (0.12% and 0.14% per minute, two
# and three days), opens at the previous close, highs and lows a half-normal step beyond them.
# The calibration numbers are not the point: the reference for every cell is the stand-alone
# ``calibrate_mmr(..., method="closeout")`` call (tested in tests/test_calibration_closeout.py).
TIER_1 = TierTable(upper_bounds=[1e5], max_leverage=[20], mmr=[0.01], imr=[0.05], name="t")
TIER_2 = TierTable(
    upper_bounds=[1e5, 1e6], max_leverage=[20, 10], mmr=[0.01, 0.02], imr=[0.05, 0.1], name="t2"
)
#: 2 assets x 2 delays x 2 targets = 8 cells; small and fast (n_boot, origin_every, holdout).
CLOSEOUT = dict(
    method="closeout",
    delays=["1min", "5min"],
    targets=[0.02, 0.05],
    tiers={"BTC": TIER_1, "ETH": TIER_2},
    n_boot=20,
    origin_every=3,
    holdout=False,
    seed=7,
    progress=False,
)


def gbm_bars(days: float, vol: float, seed: int, start: str = "2024-03-01") -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = int(days * 1440)
    z = rng.standard_normal((n, 3))
    close = 60_000.0 * np.exp(np.cumsum(vol * z[:, 0] - 0.5 * vol**2))
    open_ = np.r_[60_000.0, close[:-1]]
    high = np.maximum(open_, close) * np.exp(0.5 * vol * np.abs(z[:, 1]))
    low = np.minimum(open_, close) * np.exp(-0.5 * vol * np.abs(z[:, 2]))
    index = pd.date_range(start, periods=n, freq="1min", tz="UTC", name="time")
    volume = 2e6 * np.exp(0.3 * rng.standard_normal(n))
    frame = pd.DataFrame(
        {"open": open_, "high": high, "low": low, "close": close, "quote_volume": volume},
        index=index,
    )
    frame.attrs["price_type"] = "mark"
    return frame


@pytest.fixture(scope="module")
def bars() -> dict:
    # ETH as a list of frames (finest first), BTC as a frame: both shapes of the input
    return {"BTC": gbm_bars(3, 0.0012, seed=7), "ETH": [gbm_bars(2, 0.0014, seed=2)]}


@pytest.fixture(scope="module")
def closeout_reference(bars) -> CalibrationGrid:
    return calibration_grid(bars, backend="sequential", **CLOSEOUT)


def _alone(bars, asset, delay, target):
    return calibrate_mmr(
        {asset: bars[asset]},
        method="closeout",
        tiers=CLOSEOUT["tiers"][asset],
        target=target,
        delay=delay,
        n_boot=20,
        origin_every=3,
        holdout=False,
        seed=7,
    )


def test_closeout_grid_repr_is_short(closeout_reference):
    text = repr(closeout_reference)
    assert len(text) < 1_000 and "method='closeout'" in text and "delays [" in text


def test_closeout_every_cell_equals_the_stand_alone_calibration(bars, closeout_reference):
    g = closeout_reference
    assert g.method == "closeout" and g.config["method"] == "closeout"
    assert g.config["n_tasks"] == 8 and len(g.calibrations) == 8
    assert g.config["delays"] == ("1min", "5min") and "horizons" not in g.config
    assert g.config["options"] == {"origin_every": 3, "holdout": False}
    for asset in ("BTC", "ETH"):
        for d in ("1min", "5min"):
            for p in (0.02, 0.05):
                alone = _alone(bars, asset, d, p)
                got = g[asset, d, p, "closeout"]
                assert got.method == "closeout"
                assert_frame_equal(alone.table, got.table, check_exact=True)
                assert_frame_equal(alone.curves, got.curves, check_exact=True)
    t = g.table
    assert list(t.columns[:4]) == ["asset", "delay", "target", "method"]
    # one row per (cell, side, bracket), in grid order
    assert len(t) == 2 * 2 * 2 * 1 + 2 * 2 * 2 * 2
    assert t[["asset", "delay", "target"]].drop_duplicates().values.tolist() == [
        [a, d, p] for a in ("BTC", "ETH") for d in ("1min", "5min") for p in (0.02, 0.05)
    ]
    assert (t["method"] == "closeout").all() and t["note"].isna().all()
    # the base delay is the column; the bracket's delay adds the time to sell
    base = t["delay"].map({"1min": 60.0, "5min": 300.0})
    assert (t["delay_seconds"] > base).all()
    # intervals were bootstrapped (the streams matter to the comparison above)
    ok = t[t["identified"]]
    assert (ok["mmr_hi"] >= ok["mmr_lo"]).all() and (ok["mmr_hi"] > ok["mmr_lo"]).any()
    assert g.breaches.empty  # holdout=False: no out-of-sample rows


def test_closeout_curve_summary_and_lookup(closeout_reference):
    g = closeout_reference
    c = g.curve("BTC")
    assert list(c.index) == ["1min", "5min"] and list(c.columns) == [0.02, 0.05]
    t = g.table
    row = t[
        (t["asset"] == "BTC")
        & (t["delay"] == "5min")
        & (t["target"] == 0.02)
        & (t["side"] == "long")
        & (t["bracket"] == 1)
    ].iloc[0]
    assert c.loc["5min", 0.02] == row["mmr"]
    # a longer delay needs more margin, a larger target less
    assert c.loc["5min", 0.02] > c.loc["1min", 0.02] >= c.loc["1min", 0.05]
    assert g.curve("ETH", side="short", bracket=2, value="mmr_hi").shape == (2, 2)
    # "60s" is the 1min cell
    assert g["BTC", "60s", 0.02, "closeout"] is g["BTC", "1min", 0.02, "closeout"]
    s = g.summary()
    assert len(s) == 8 * 2 and list(s.columns[:4]) == ["asset", "delay", "target", "method"]
    assert "close-out gap" in g._repr_html_()
    with pytest.raises(KeyError, match=r"no calibration for \('BTC', '2min', 0.02, 'closeout'\)"):
        g["BTC", "2min", 0.02, "closeout"]
    with pytest.raises(ConfigError, match=r"no models"):
        g.curve("BTC", model="historical")
    with pytest.raises(ConfigError, match=r"no rows for asset 'Z'"):
        g.curve("Z")
    back = pickle.loads(pickle.dumps(g))
    assert_frame_equal(back.table, g.table)


@pytest.mark.slow
def test_closeout_loky_matches_sequential(bars, closeout_reference, no_hang):
    # (most of the time here is the two loky workers importing riskmodels)
    g = calibration_grid(bars, backend="loky", n_jobs=2, **CLOSEOUT)
    assert g.config["backend"] == "loky" and g.config["n_workers"] == 2
    assert_frame_equal(g.table, closeout_reference.table, check_exact=True)
    assert_frame_equal(g.breaches, closeout_reference.breaches, check_exact=True)


def test_closeout_cell_shipped_as_on_dask_is_the_same(bars):
    # What backend="dask" does without starting a cluster (the dask tests above start one;
    # the backend itself is exercised there): the cell is stripped of its bars, which the
    # worker reads from the scattered mapping.
    cell = grid_module._CloseoutCell(
        number=0,
        asset="ETH",
        delay=pd.Timedelta("5min"),
        target=0.05,
        data=bars["ETH"],
        kwargs={"tiers": TIER_2, "n_boot": 20, "origin_every": 3, "holdout": False, "seed": 7},
        insufficient="record",
    )
    stripped = grid_module._strip(cell)
    assert stripped.data is None
    pickle.dumps(stripped)
    here = grid_module._run_closeout_cell(None, cell)
    there = grid_module._run_closeout_cell(dict(bars), stripped)
    assert_frame_equal(here.calibration.table, there.calibration.table, check_exact=True)
    assert_frame_equal(
        here.calibration.table, _alone(bars, "ETH", "5min", 0.05).table, check_exact=True
    )


def test_closeout_cache_resumes_and_keys_the_inputs(bars, closeout_reference, tmp_path):
    kw = {**CLOSEOUT, "targets": [0.05]}
    first = calibration_grid(bars, backend="sequential", cache_dir=tmp_path, **kw)
    assert first.config["cache_hits"] == 0 and len(list(tmp_path.glob("*.pkl"))) == 4
    again = calibration_grid(bars, backend="sequential", cache_dir=tmp_path, **kw)
    assert again.config["cache_hits"] == 4
    assert_frame_equal(again.table, first.table, check_exact=True)
    ref = closeout_reference.table
    assert_frame_equal(
        first.table.reset_index(drop=True),
        ref[ref["target"] == 0.05].reset_index(drop=True),
        check_exact=True,
    )

    # the key follows the bars' content and attrs, the delay, the target and every option
    def key(**change):
        base = dict(
            number=0,
            asset="BTC",
            delay=pd.Timedelta("1min"),
            target=0.05,
            data=bars["BTC"],
            kwargs={"tiers": TIER_1, "n_boot": 20, "origin_every": 3, "seed": 7},
            insufficient="record",
        )
        return grid_module._closeout_key(grid_module._CloseoutCell(**{**base, **change}), "v")

    moved = bars["BTC"].copy()
    moved.iloc[100, moved.columns.get_loc("close")] *= 1.0 + 1e-12
    last_price = bars["BTC"].copy()
    last_price.attrs["price_type"] = "last"
    k0 = key()
    assert key() == k0 and key(number=5) == k0  # the position in the grid is not an input
    others = [
        key(data=moved),
        key(data=last_price),
        key(data=[bars["BTC"]]),
        key(delay=pd.Timedelta("2min")),
        key(target=0.02),
        key(kwargs={"tiers": TIER_2, "n_boot": 20, "origin_every": 3, "seed": 7}),
        key(kwargs={"tiers": TIER_1, "n_boot": 20, "origin_every": 2, "seed": 7}),
        key(kwargs={"tiers": TIER_1, "n_boot": 20, "origin_every": 3, "seed": 8}),
        key(insufficient="raise"),
    ]
    assert len({k0, *others}) == len(others) + 1


def test_closeout_insufficient_cell_is_recorded(bars):
    # 500 one-minute bars hold 21 eight-hour windows, fewer than the 100 the initial margin needs
    short = {"BTC": bars["BTC"], "NEW": gbm_bars(500 / 1440, 0.0012, seed=4)}
    kw = {**CLOSEOUT, "tiers": TIER_1, "delays": "5min", "targets": 0.05}
    g = calibration_grid(short, backend="sequential", **kw)
    notes = g.table.set_index("asset")["note"]
    assert notes.loc[["BTC"]].isna().all()
    assert notes.loc["NEW"].startswith("InsufficientDataError")
    assert [c["asset"] for c in g.config["not_calibrated"]] == ["NEW"]
    assert np.isnan(g.curve("NEW").loc["5min", 0.05])
    assert len(g.summary()) == 2 + 1
    with pytest.raises(InsufficientDataError, match=r"initial margin"):
        calibration_grid(short, "NEW", backend="sequential", insufficient="raise", **kw)


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"horizons": ["1D"]}, ConfigError, r"no fixed horizon: pass delays="),
        ({"models": ["normal"]}, ConfigError, r"models do not apply.*Drop models="),
        (
            {"adv": {"BTC": 1e9}},
            ConfigError,
            r"\['adv'\] are arguments of method='horizon'.*volume=",
        ),
        ({"test_start": "2024-03-02"}, ConfigError, r"test_start.*holdout=True"),
        ({"delay": "1min"}, ConfigError, r"pass the close-out delay as delays="),
        ({"origin_evry": 3}, ConfigError, r"\['origin_evry'\] are not arguments"),
        ({"tiers": [1e5]}, ConfigError, r"needs tiers as a TierTable"),
        ({"tiers": None}, ConfigError, r"needs tiers as a TierTable"),
        ({"tiers": {"BTC": TIER_1}}, ConfigError, r"tiers is a mapping without an entry"),
        ({"delays": ["1min", "60s"]}, ConfigError, r"delays has duplicates"),
        ({"delays": ["-1min"]}, ConfigError, r"delays must be a duration >= 0"),
        ({"delays": []}, ConfigError, r"delays is empty"),
        ({"targets": [2.0]}, ConfigError, r"target"),
        ({"method": "quantile"}, ConfigError, r"method must be 'horizon'.*or 'closeout'"),
        ({"side": "up"}, ConfigError, r"side must be one of"),
    ],
)
def test_closeout_errors(bars, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        calibration_grid(bars, **{**CLOSEOUT, "backend": "sequential", **kwargs})


def test_closeout_errors_on_the_data(data, bars):
    with pytest.raises(ConfigError, match=r"method='closeout' needs bars"):
        calibration_grid(data, **{**CLOSEOUT, "tiers": TIER_1})
    with pytest.raises(DataError, match=r"no bars for \['SOL'\]"):
        calibration_grid(bars, ["BTC", "SOL"], **{**CLOSEOUT, "tiers": TIER_1})


def test_method_horizon_is_the_default(data):
    kw = dict(assets="A", targets=0.01, test_start=TEST_START, n_boot=20, seed=7, progress=False)
    default = calibration_grid(data, backend="sequential", **kw)
    explicit = calibration_grid(data, backend="sequential", method="horizon", **kw)
    assert default.method == explicit.method == "horizon"
    assert default.config["horizons"] == ("1d",)  # horizons default to one day
    assert list(default.table.columns[:4]) == ["asset", "base_horizon", "target", "model"]
    assert_frame_equal(default.table, explicit.table, check_exact=True)
    assert_frame_equal(default.breaches, explicit.breaches, check_exact=True)
    alone = calibrate_mmr(data, "A", "1d", 0.01, test_start=TEST_START, n_boot=20, seed=7)
    assert_frame_equal(
        _cell_table(alone), _cell_table(default["A", "1D", 0.01, "historical"]), check_exact=True
    )
    # the close-out method's arguments are refused by the horizon method
    with pytest.raises(ConfigError, match=r"delays are the close-out delays.*horizons="):
        calibration_grid(data, delays=["1min"], **kw)
    with pytest.raises(ConfigError, match=r"\['origin_every'\] are options of method='closeout'"):
        calibration_grid(data, origin_every=3, **kw)
