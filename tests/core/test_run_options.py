"""One run-options object (issue 17 item 3): built once, validated once, passed to engines."""

from __future__ import annotations

import pickle

import pytest

from riskmodels.config import RunConfig
from riskmodels.exceptions import ConfigError
from riskmodels.parallel import RUN_OPTION_NAMES, RunOptions, resolve_run_options


def test_defaults_are_the_engines_defaults():
    # The engines' own keyword defaults (walk_forward, calibration_grid) are these values; a
    # RunOptions() therefore runs exactly as a call without options.
    import inspect

    from riskmodels.backtest import walk_forward
    from riskmodels.calibration import calibration_grid

    d = RunOptions().kwargs()
    for fn in (walk_forward, calibration_grid):
        sig = inspect.signature(fn).parameters
        for name in RUN_OPTION_NAMES:
            if name in sig:
                assert sig[name].default == d[name], (fn.__name__, name)


def test_from_config_reads_the_run_section(tmp_path):
    cfg = RunConfig.from_dict(
        {"run": {"backend": "sequential", "n_jobs": 2, "retries": 3, "cache_dir": "c"}},
        path=tmp_path / "run.toml",
    )
    run = RunOptions.from_config(cfg, progress=False)
    assert (run.backend, run.n_jobs, run.retries, run.progress) == ("sequential", 2, 3, False)
    assert run.cache_dir == tmp_path / "c"  # resolved against the config's folder
    assert RunOptions.from_config(cfg.run) == RunOptions.from_config(cfg)


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"backend": "threads"}, "backend must be one of"),
        ({"backend": "loky", "scheduler": "tcp://x:1"}, "only used with backend='dask'"),
        ({"n_jobs": 0}, "n_jobs must be a positive integer"),
        ({"retries": -1}, "retries must be an integer >= 0"),
        ({"on_task_error": "ignore"}, "on_task_error must be one of"),
        ({"progress": "yes"}, "progress must be True or False"),
        ({"cache_dir": 3}, r"cache_dir must be a directory path \(got int: 3\)"),
    ],
)
def test_bad_options_are_named_errors(changes, match):
    with pytest.raises(ConfigError, match=match):
        RunOptions(**changes)


def test_keyword_only_frozen_and_picklable():
    with pytest.raises(TypeError):
        RunOptions("loky")  # type: ignore[misc]
    run = RunOptions(backend="sequential")
    with pytest.raises(AttributeError):
        run.backend = "dask"  # type: ignore[misc]
    assert pickle.loads(pickle.dumps(run)) == run
    with pytest.raises(ConfigError, match="n_jobs"):
        run.replace(n_jobs=0)  # replace validates too


def test_resolve_refuses_two_answers():
    run = RunOptions(backend="sequential")
    assert resolve_run_options(run, backend="loky", retries=1) is run  # defaults: no clash
    with pytest.raises(ConfigError, match="n_jobs given both in run= and as separate"):
        resolve_run_options(run, n_jobs=4)
    with pytest.raises(ConfigError, match=r"run must be a riskmodels\.parallel\.RunOptions"):
        resolve_run_options({"backend": "loky"})  # type: ignore[arg-type]
    assert resolve_run_options(None, backend="sequential") == run


# -- the engines take run= ----------------------------------------------------------------------
def _returns(n: int = 400, seed: int = 3):
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    index = pd.date_range("2020-01-01", periods=n, freq="D", tz="UTC", name="time")
    return pd.DataFrame(0.02 * rng.standard_t(4, size=(n, 2)), index=index, columns=["A", "B"])


def test_walk_forward_with_run_options_equals_the_keywords():
    # Twin: the same backtest through run= and through the separate keywords gives the same
    # frame (the options never change a number), and a clash is refused before any work.
    import pandas as pd

    from riskmodels.backtest import ScenarioModel, walk_forward
    from riskmodels.scenarios import HistoricalScenarios

    r = _returns()
    model = ScenarioModel(HistoricalScenarios(window=100))
    kw = dict(window=100, refit_every=50, alphas=0.99)
    a = walk_forward(model, r, None, **kw, backend="sequential", progress=False)
    b = walk_forward(model, r, None, **kw, run=RunOptions(backend="sequential", progress=False))
    pd.testing.assert_frame_equal(a.forecasts, b.forecasts)
    assert b.config["backend"] == "sequential"
    with pytest.raises(ConfigError, match="given both in run="):
        walk_forward(model, r, None, **kw, n_jobs=2, run=RunOptions(backend="sequential"))


def test_calibration_grid_with_run_options_equals_the_keywords():
    import pandas as pd

    from riskmodels.calibration import calibration_grid

    r = _returns(900)
    grid = dict(horizons=["1D"], targets=[0.01], test_start="2021-06-01", n_boot=20, seed=7)
    a = calibration_grid(r, backend="sequential", progress=False, **grid)
    b = calibration_grid(r, run=RunOptions(backend="sequential", progress=False), **grid)
    pd.testing.assert_frame_equal(a.summary(), b.summary())
    with pytest.raises(ConfigError, match="retries given both"):
        calibration_grid(r, retries=3, run=RunOptions(backend="sequential"), **grid)
