"""Tests of the walk-forward engine's backends: sequential, joblib loky and dask.distributed.

Where expected numbers come from
--------------------------------
* Data are simulated with arch's own simulator (``arch.univariate.ZeroMean`` with ``GARCH`` and
  ``StudentsT`` and a seeded ``numpy.random.Generator``) from a known GARCH(1,1)-t process in
  percent units, as in ``tests/backtest/test_walkforward.py``; the log returns are ``log1p(y / 100)``.
* The reference is the same engine run in this process (``backend="sequential"``): every
  backend runs the same tasks (chunks and seeds do not depend on the backend), so the
  forecasts must agree exactly (``assert_frame_equal(check_exact=True)``: the same operations
  on the same numbers). The filtered-historical model resamples ``n`` scenarios, so the
  comparison also covers the per-task random streams (a different seed changes its numbers:
  checked).

Every test that starts a cluster is guarded by ``faulthandler.dump_traceback_later``, which
dumps the stacks and exits if it hangs, and checks that the cluster's processes are gone.
"""

from __future__ import annotations

import importlib.util
import sys

import numpy as np
import pandas as pd
import psutil
import pytest
from arch.univariate import GARCH as ArchGARCH
from arch.univariate import StudentsT, ZeroMean

from riskmodels.backtest import ParametricModel, ScenarioModel, walk_forward
from riskmodels.exceptions import ConfigError
from riskmodels.scenarios import FilteredHistoricalScenarios, HistoricalScenarios
from riskmodels.volatility import EWMA

distributed = pytest.importorskip("distributed")

#: Seconds before a hanging test is killed (with its stacks dumped); a run takes ~10 s.
HANG_TIMEOUT = 120
#: Schedule: 600 bars, window 250 -> origins 249 .. 598 (350 forecasts), 7 refits of 50,
#: 2 refits per chunk -> 4 chunks per model, 12 tasks for the three models.
KWARGS = dict(window=250, refit_every=50, chunk_size=2, seed=2024, progress=False)


def simulate_garch_t(nobs: int = 600, seed: int = 5) -> pd.DataFrame:
    """One asset of daily log returns ``log1p(y)``, ``y`` a GARCH(1,1)-t(5) path (decimal)."""
    gen = np.random.default_rng(seed)
    model = ZeroMean(volatility=ArchGARCH(), distribution=StudentsT(seed=gen))
    sim = model.simulate([0.05, 0.08, 0.90, 5.0], nobs, burn=500)
    index = pd.date_range("2000-01-01", periods=nobs, freq="D", tz="UTC", name="time")
    return pd.DataFrame({"X": np.log1p(sim["data"].to_numpy() / 100.0)}, index=index)


def models() -> dict[str, object]:
    return {
        "EWMA": ParametricModel(EWMA(0.94)),
        "HS": ScenarioModel(HistoricalScenarios(window=250)),
        # n given: scenarios are resampled with the task's random stream.
        "FHS": ScenarioModel(FilteredHistoricalScenarios(EWMA(0.94), window=250), n=300),
    }


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    return simulate_garch_t()


@pytest.fixture(scope="module")
def reference(data):
    return walk_forward(models(), data, None, backend="sequential", **KWARGS)


def _children() -> set[int]:
    """Child processes, less multiprocessing's resource tracker (started by the first spawned
    process, it lives as long as this one by design)."""
    out = set()
    for p in psutil.Process().children(recursive=True):
        try:
            if "resource_tracker" not in " ".join(p.cmdline()):
                out.add(p.pid)
        except psutil.NoSuchProcess:
            pass
    return out


def _assert_no_new_children(before: set[int]) -> None:
    """Processes started since ``before`` are gone (dask workers exit within a few seconds)."""
    new = [psutil.Process(pid) for pid in _children() - before if psutil.pid_exists(pid)]
    _, alive = psutil.wait_procs(new, timeout=10)
    assert not alive, f"leaked processes: {[p.cmdline() for p in alive]}"


@pytest.mark.slow
def test_sequential_reference(reference, data):
    assert reference.config["backend"] == "sequential"
    assert reference.config["n_chunks"] == 4
    assert len(reference.forecasts) == 3 * 2 * 350
    assert "backend: sequential" in str(reference.summary())
    # The FHS forecasts depend on the seed (the equality tests below could fail).
    other = walk_forward(
        {"FHS": models()["FHS"]}, data, None, backend="sequential", **{**KWARGS, "seed": 2025}
    )
    mine = reference.forecasts[reference.forecasts["model"] == "FHS"]
    assert not np.array_equal(mine["var"].to_numpy(), other.forecasts["var"].to_numpy())


@pytest.mark.slow
def test_loky_matches_sequential(reference, data):
    res = walk_forward(models(), data, None, backend="loky", n_jobs=2, **KWARGS)
    assert res.config["backend"] == "loky"
    assert res.n_jobs == 2
    pd.testing.assert_frame_equal(reference.forecasts, res.forecasts, check_exact=True)
    pd.testing.assert_frame_equal(reference.diagnostics, res.diagnostics, check_exact=True)


@pytest.mark.slow
def test_dask_local_cluster_matches_sequential(reference, data, no_hang):
    before = _children()
    res = walk_forward(models(), data, None, backend="dask", n_jobs=2, **KWARGS)
    _assert_no_new_children(before)  # the engine's LocalCluster is closed
    assert res.config["backend"] == "dask"
    assert res.n_jobs == 2
    assert "backend: dask" in str(res.summary())
    pd.testing.assert_frame_equal(reference.forecasts, res.forecasts, check_exact=True)
    pd.testing.assert_frame_equal(reference.diagnostics, res.diagnostics, check_exact=True)


@pytest.mark.slow
def test_dask_existing_client_matches_sequential(reference, data, no_hang, capsys):
    before = _children()
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
        by_client = walk_forward(models(), data, None, backend="dask", scheduler=client, **KWARGS)
        assert client.status == "running"  # the engine leaves a client it was given open
        quiet = capsys.readouterr().out  # progress=False: no bar, no dashboard line
        by_address = walk_forward(
            models(),
            data,
            None,
            backend="dask",
            scheduler=cluster.scheduler_address,
            **{**KWARGS, "progress": True},
        )
        link = client.dashboard_link
    _assert_no_new_children(before)
    for res in (by_client, by_address):
        assert res.config["backend"] == "dask"
        assert res.n_jobs == 2
        pd.testing.assert_frame_equal(reference.forecasts, res.forecasts, check_exact=True)
    assert "dashboard" not in quiet
    printed = f"walk_forward: dask dashboard at {link}" in capsys.readouterr().out
    # The link is printed when the dashboard really serves (bokeh is in riskmodels[distributed]).
    assert printed == (importlib.util.find_spec("bokeh") is not None)


# ---------------------------------------------------------------------------------------------
# Errors (no cluster is started)
# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def small(data) -> pd.DataFrame:
    return data.iloc[:300]


def test_error_bad_backend(small):
    with pytest.raises(
        ConfigError,
        match=r"backend must be one of \['loky', 'dask', 'sequential'\] \(got 'ray'\)",
    ):
        walk_forward(models(), small, None, backend="ray", **KWARGS)


def test_error_scheduler_without_dask_backend(small):
    with pytest.raises(
        ConfigError,
        match=r"scheduler is only used with backend='dask' \(got scheduler='tcp://127\.0\.0\.1:1' "
        r"with backend='loky'\)\. Pass backend='dask'",
    ):
        walk_forward(models(), small, None, scheduler="tcp://127.0.0.1:1", **KWARGS)


@pytest.mark.parametrize(
    ("scheduler", "shown"),
    [(8786, r"int: 8786"), ("127.0.0.1:8786", r"str: '127\.0\.0\.1:8786'")],
)
def test_error_bad_scheduler_type(small, scheduler, shown):
    before = _children()
    with pytest.raises(
        ConfigError,
        match=r"scheduler must be a dask scheduler address such as 'tcp://127\.0\.0\.1:8786', a "
        rf"distributed\.Client, or None to start a LocalCluster for the run \(got {shown}\)",
    ):
        walk_forward(models(), small, None, backend="dask", scheduler=scheduler, **KWARGS)
    assert _children() - before == set()


def test_error_distributed_missing(small, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed -> ImportError
    with pytest.raises(
        ConfigError,
        match=r"backend='dask' needs dask\.distributed, which is not installed: "
        r"pip install riskmodels\[distributed\]",
    ):
        walk_forward(models(), small, None, backend="dask", **KWARGS)


def test_error_n_jobs_with_dask(small):
    with pytest.raises(
        ConfigError,
        match=r"n_jobs must be a positive integer or -1 for every core \(got 0\), or None for "
        r"the default",
    ):
        walk_forward(models(), small, None, backend="dask", n_jobs=0, **KWARGS)
