"""Tests of the walk-forward engine's task cache, resumption, crash retries and partial results.

Where expected numbers come from
--------------------------------
* Data are iid Student-t(5) daily log returns (scale 2%) from a seeded ``numpy.random.Generator``:
  the values do not matter, only that the same inputs go through different execution paths.
* The reference is the same engine run once in this process without a cache
  (``backend="sequential"``, no failures). Tasks, chunks and seeds do not depend on caching,
  retries or the backend, so every resumed, retried or cached run must reproduce it exactly
  (``assert_frame_equal(check_exact=True)``: the same operations on the same numbers, or the
  same numbers read back from a pickle). The filtered-historical model resamples ``n``
  scenarios with the task's random stream, so the comparison also covers the seeds.
* Call counts are counted by a wrapper model (module-level counter, sequential backend): the
  schedule below has 2 refits per task, so a recomputed task is exactly 2 ``fit`` calls.
"""

from __future__ import annotations

import os
import pickle
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from riskmodels.backtest import ParametricModel, ScenarioModel, walk_forward
from riskmodels.exceptions import ConfigError, ModelError, RiskModelsWarning
from riskmodels.scenarios import FilteredHistoricalScenarios
from riskmodels.volatility import EWMA

#: 600 bars, window 250 -> origins 249 .. 598 (350 forecasts), 7 refits of 50, 2 refits per
#: chunk -> 4 chunks (tasks) per model: chunk c has origins 249 + 100 c .. 348 + 100 c.
KWARGS = dict(window=250, refit_every=50, chunk_size=2, seed=2024, progress=False)
N_CHUNKS = 4
#: Seconds before a hanging cluster test is killed (with its stacks dumped).
HANG_TIMEOUT = 120

#: Module-level switches read by the wrapper models (sequential backend: same process).
CALLS = {"fit": 0}
SWITCH: dict[str, Any] = {"fail_in": None, "error": None}


@dataclass(frozen=True)
class Switched:
    """A VaR model delegating to ``inner``; ``fit`` counts calls and fails when switched on.

    ``SWITCH["fail_in"] = (t0, t1)`` makes a fit whose last bar is in ``[t0, t1]`` raise
    ``SWITCH["error"]`` (a ModelError by default); ``SWITCH["once"]`` clears the switch after
    the first failure (a transient fault).
    """

    inner: Any

    def fit(self, returns, *, exposures, warm_start=None, rng=None):
        CALLS["fit"] += 1
        span = SWITCH["fail_in"]
        if span is not None and span[0] <= returns.index[-1] <= span[1]:
            err = SWITCH["error"] or ModelError(f"injected failure at {returns.index[-1]}")
            if SWITCH.get("once"):
                SWITCH["fail_in"] = None
            raise err
        return self.inner.fit(returns, exposures=exposures, warm_start=warm_start, rng=rng)

    def update(self, state, new_returns):
        return self.inner.update(state, new_returns)

    def forecast(self, state, exposures, alphas, horizon, rng):
        return self.inner.forecast(state, exposures, alphas, horizon, rng)

    def diagnostics(self, state):
        return self.inner.diagnostics(state)


@dataclass(frozen=True)
class KillOnce:
    """A VaR model whose first ``fit`` kills its own process (after creating ``marker``)."""

    inner: Any
    marker: str

    def fit(self, returns, *, exposures, warm_start=None, rng=None):
        if not os.path.exists(self.marker):
            with open(self.marker, "w") as fh:
                fh.write(str(os.getpid()))
            os._exit(1)
        return self.inner.fit(returns, exposures=exposures, warm_start=warm_start, rng=rng)

    def update(self, state, new_returns):
        return self.inner.update(state, new_returns)

    def forecast(self, state, exposures, alphas, horizon, rng):
        return self.inner.forecast(state, exposures, alphas, horizon, rng)

    def diagnostics(self, state):
        return self.inner.diagnostics(state)


def simulate(nobs: int = 600, seed: int = 11) -> pd.DataFrame:
    gen = np.random.default_rng(seed)
    index = pd.date_range("2000-01-01", periods=nobs, freq="D", tz="UTC", name="time")
    return pd.DataFrame({"X": 0.02 * gen.standard_t(5, nobs)}, index=index)


def base_models() -> dict[str, Any]:
    return {
        "EWMA": ParametricModel(EWMA(0.94)),
        # n given: scenarios are resampled with the task's random stream.
        "FHS": ScenarioModel(FilteredHistoricalScenarios(EWMA(0.94), window=250), n=300),
    }


def switched_models() -> dict[str, Any]:
    m = base_models()
    return {"EWMA": Switched(m["EWMA"]), "FHS": m["FHS"]}


@pytest.fixture(autouse=True)
def reset_switches() -> Iterator[None]:
    CALLS["fit"] = 0
    SWITCH.update(fail_in=None, error=None, once=False)
    yield
    SWITCH.update(fail_in=None, error=None, once=False)


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    return simulate()


@pytest.fixture(scope="module")
def reference(data):
    return walk_forward(base_models(), data, None, backend="sequential", **KWARGS)


def chunk_span(data: pd.DataFrame, c: int) -> tuple[pd.Timestamp, pd.Timestamp]:
    """First and last origin of chunk ``c`` (see KWARGS)."""
    return data.index[249 + 100 * c], data.index[348 + 100 * c]


def test_cache_second_run_loads_every_task(data, reference, tmp_path):
    first = walk_forward(switched_models(), data, None, cache_dir=tmp_path, **KWARGS)
    assert first.config["cache_hits"] == 0
    assert first.config["cache_dir"] == str(tmp_path)
    assert CALLS["fit"] == 7  # every refit of the EWMA model ran
    assert len(list(tmp_path.glob("*.pkl"))) == 2 * N_CHUNKS
    assert_frame_equal(first.forecasts, reference.forecasts, check_exact=True)

    CALLS["fit"] = 0
    second = walk_forward(switched_models(), data, None, cache_dir=tmp_path, **KWARGS)
    assert second.config["cache_hits"] == 2 * N_CHUNKS
    assert CALLS["fit"] == 0  # nothing recomputed
    assert_frame_equal(second.forecasts, reference.forecasts, check_exact=True)
    assert_frame_equal(second.diagnostics, reference.diagnostics, check_exact=True)


def test_cache_key_covers_seed_data_and_schedule(data, tmp_path):
    walk_forward(switched_models(), data, None, cache_dir=tmp_path, **KWARGS)
    other_seed = walk_forward(
        switched_models(), data, None, cache_dir=tmp_path, **{**KWARGS, "seed": 7}
    )
    assert other_seed.config["cache_hits"] == 0
    other_alphas = walk_forward(
        switched_models(), data, None, cache_dir=tmp_path, alphas=(0.95,), **KWARGS
    )
    assert other_alphas.config["cache_hits"] == 0
    # row 10 is seen only by chunk 0 (rows 0 .. 348): the other 3 chunks of each model hit
    changed = data.copy()
    changed.iloc[10, 0] += 0.001
    res = walk_forward(switched_models(), changed, None, cache_dir=tmp_path, **KWARGS)
    assert res.config["cache_hits"] == 2 * (N_CHUNKS - 1)


def test_cache_key_ignores_what_a_spec_computed_since():
    # A frozen spec keeps cached_property values in its __dict__ once read
    # (VolatilitySpec.param_names is read by every fit), so its pickle changes after the first
    # fit. The key counts the spec's fields only: the validation report's second build, which
    # read a task from the cache instead of fitting, used to miss the next task of the same
    # spec (tests/reporting/test_reporting.py::test_model_reports_build_and_are_deterministic).
    from riskmodels.backtest import ParametricModel
    from riskmodels.parallel import TaskKey
    from riskmodels.volatility import EWMA

    fresh = ParametricModel(EWMA(0.94))
    used = ParametricModel(EWMA(0.94))
    assert used.volatility.param_names == ()  # computes and stores the cached property
    assert "param_names" in vars(used.volatility)
    assert pickle.dumps(used) != pickle.dumps(fresh)  # what the key used to hash
    assert TaskKey().spec("m", used).hexdigest() == TaskKey().spec("m", fresh).hexdigest()
    # every hyper-parameter still counts, also inside a nested spec
    other = ParametricModel(EWMA(0.97))
    assert TaskKey().spec("m", other).hexdigest() != TaskKey().spec("m", fresh).hexdigest()
    named = ParametricModel(EWMA(0.94), name="x")
    assert TaskKey().spec("m", named).hexdigest() != TaskKey().spec("m", fresh).hexdigest()


def test_partial_then_resume_is_bit_identical(data, reference, tmp_path):
    t0, t1 = chunk_span(data, 1)
    SWITCH["fail_in"] = (t0, t1)
    with pytest.warns(RiskModelsWarning, match=r"1 of 8 task\(s\) failed .*\['EWMA\[1\]'\]"):
        part = walk_forward(
            switched_models(), data, None, cache_dir=tmp_path, on_task_error="partial", **KWARGS
        )
    (failed,) = part.config["failed_tasks"]
    assert (failed["model"], failed["chunk"], failed["attempts"]) == ("EWMA", 1, 1)
    assert (failed["start"], failed["end"]) == (t0, t1)
    assert failed["error"].startswith("ModelError: model 'EWMA', refit at")
    assert "injected failure" in failed["error"]
    # the finished tasks are kept: the reference without the failed chunk's rows
    f = reference.forecasts
    keep = ~((f["model"] == "EWMA") & f["time"].between(t0, t1))
    assert_frame_equal(part.forecasts, f[keep].reset_index(drop=True), check_exact=True)
    assert len(list(tmp_path.glob("*.pkl"))) == 2 * N_CHUNKS - 1

    # the cause is fixed: only the failed task (2 refits) is computed
    SWITCH["fail_in"] = None
    CALLS["fit"] = 0
    resumed = walk_forward(switched_models(), data, None, cache_dir=tmp_path, **KWARGS)
    assert resumed.config["cache_hits"] == 2 * N_CHUNKS - 1
    assert CALLS["fit"] == 2
    assert resumed.config["failed_tasks"] == ()
    assert_frame_equal(resumed.forecasts, reference.forecasts, check_exact=True)
    assert_frame_equal(resumed.diagnostics, reference.diagnostics, check_exact=True)


def test_raise_keeps_finished_tasks_in_cache(data, reference, tmp_path):
    SWITCH["fail_in"] = chunk_span(data, 2)
    with pytest.raises(ModelError, match=r"model 'EWMA', refit at .*injected failure"):
        walk_forward(switched_models(), data, None, cache_dir=tmp_path, **KWARGS)
    SWITCH["fail_in"] = None
    CALLS["fit"] = 0
    res = walk_forward(switched_models(), data, None, cache_dir=tmp_path, **KWARGS)
    # sequential "raise" stops at the first failure: EWMA chunks 0 and 1 were stored
    assert res.config["cache_hits"] == 2
    assert CALLS["fit"] == 3  # chunks 2 (2 refits) and 3 (1 refit)
    assert_frame_equal(res.forecasts, reference.forecasts, check_exact=True)


def test_crash_type_error_is_retried(data, reference):
    SWITCH.update(fail_in=chunk_span(data, 1), error=OSError("injected crash"), once=True)
    res = walk_forward(switched_models(), data, None, retries=1, **KWARGS)
    assert res.config["retried"] == 1
    assert_frame_equal(res.forecasts, reference.forecasts, check_exact=True)


def test_crash_type_error_without_retries_raises(data):
    SWITCH.update(fail_in=chunk_span(data, 1), error=OSError("injected crash"), once=True)
    with pytest.raises(OSError, match="injected crash"):
        walk_forward(switched_models(), data, None, retries=0, **KWARGS)


def test_model_error_is_not_retried(data):
    SWITCH.update(fail_in=chunk_span(data, 1), error=ValueError("bad input"), once=True)
    with pytest.warns(RiskModelsWarning, match=r"EWMA\[1\].*ValueError: bad input"):
        res = walk_forward(
            switched_models(), data, None, retries=3, on_task_error="partial", **KWARGS
        )
    (failed,) = res.config["failed_tasks"]
    assert failed["attempts"] == 1
    assert res.config["retried"] == 0


def test_error_on_task_error(data):
    with pytest.raises(ConfigError, match=r"on_task_error must be one of \['raise', 'partial'\]"):
        walk_forward(switched_models(), data, None, on_task_error="ignore", **KWARGS)


@pytest.mark.parametrize("retries", [-1, 1.5, True])
def test_error_retries(data, retries):
    with pytest.raises(ConfigError, match=rf"retries must be an integer >= 0 \(got {retries}\)"):
        walk_forward(switched_models(), data, None, retries=retries, **KWARGS)


def test_error_cache_dir_not_writable(data, tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a directory")
    with pytest.raises(ConfigError, match=r"cache_dir='.*a_file/cache' is not a writable dir"):
        walk_forward(switched_models(), data, None, cache_dir=blocker / "cache", **KWARGS)
    with pytest.raises(ConfigError, match=r"cache_dir must be a directory path \(got int: 3\)"):
        walk_forward(switched_models(), data, None, cache_dir=3, **KWARGS)


# ---------------------------------------------------------------------------------------------
# Killed workers (separate processes)
# ---------------------------------------------------------------------------------------------
def killing_models(marker: str) -> dict[str, Any]:
    m = base_models()
    return {"EWMA": KillOnce(m["EWMA"], marker), "FHS": m["FHS"]}


@pytest.mark.slow
def test_loky_killed_worker_is_retried(data, reference, tmp_path, no_hang, by_value):
    marker = tmp_path / "killed"
    res = walk_forward(
        killing_models(str(marker)), data, None, backend="loky", n_jobs=2, retries=1, **KWARGS
    )
    assert marker.exists()  # a worker did die
    assert res.config["retried"] >= 1  # TerminatedWorkerError: unfinished tasks re-run
    assert_frame_equal(res.forecasts, reference.forecasts, check_exact=True)


@pytest.mark.slow
def test_loky_killed_worker_without_retries_raises(data, tmp_path, no_hang, by_value):
    from joblib.externals.loky.process_executor import TerminatedWorkerError

    marker = tmp_path / "killed"
    with pytest.raises(TerminatedWorkerError):
        walk_forward(
            killing_models(str(marker)), data, None, backend="loky", n_jobs=2, retries=0, **KWARGS
        )


@pytest.mark.slow
def test_dask_killed_worker_completes(data, reference, tmp_path, no_hang, by_value):
    distributed = pytest.importorskip("distributed")
    marker = tmp_path / "killed"
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
        res = walk_forward(
            killing_models(str(marker)),
            data,
            None,
            backend="dask",
            scheduler=client,
            retries=1,
            **KWARGS,
        )
    assert marker.exists()  # a worker did die
    assert res.config["backend"] == "dask"
    assert_frame_equal(res.forecasts, reference.forecasts, check_exact=True)
