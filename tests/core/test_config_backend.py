"""Where the backtests run: ``[run]`` backend keys, ``RunConfig.with_run``, the ``report`` flags,
the notebook parameters and notebooks 04 / validation passing them to ``walk_forward``.

Expected values come from the brief of GitHub issue 8 (the defaults ``backend = "loky"``,
``n_jobs = 1``, ``retries = 1``, no scheduler, no cache) and from
:func:`riskmodels.backtest.walk_forward`'s own checks (``BACKENDS``; ``n_jobs`` a positive
integer or -1; a scheduler only with dask). The end-to-end test runs notebook 04 on the quick
config on a two-worker dask LocalCluster.
"""

from __future__ import annotations

import ast
import dataclasses
import json
import os
from pathlib import Path

import pytest

from riskmodels.config import BACKENDS, RunConfig, RunSection, load_config
from riskmodels.exceptions import ConfigError
from riskmodels.reporting import notebook_parameters
from riskmodels.reporting import notebooks as nbx
from riskmodels.reporting import provenance as prov

REPO = Path(__file__).resolve().parents[2]
DEFAULT = REPO / "configs" / "default.toml"
QUICK = REPO / "configs" / "quick.toml"
#: Notebooks that run walk-forward backtests with the config's [run] keys (06 is wired apart).
#: Notebooks that run tasks on a backend, and the function they run them with.
BACKTEST_NOTEBOOKS = {
    "04_var_es_backtest.py": "walk_forward",
    "validation_report.py": "walk_forward",
    "06_liquidation_calibration.py": "calibration_grid",
}
EXEC_KEYS = ("backend", "n_jobs", "scheduler", "cache_dir", "retries")


def write(folder: Path, text: str, name: str = "run.toml") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    p = folder / name
    p.write_text(text, encoding="utf-8")
    return p


# -- defaults and the shipped files -----------------------------------------------------------
def test_defaults_and_shipped_files():
    run = RunSection()
    assert (run.backend, run.n_jobs, run.scheduler, run.cache_dir, run.retries) == (
        "loky",
        1,
        None,
        None,
        1,
    )
    for path in (DEFAULT, QUICK):
        cfg = load_config(path)
        assert dataclasses.replace(cfg.run, profile="default") == RunSection()
    d = RunConfig().to_dict()["run"]
    assert d == {
        "seed": 20240917,
        "profile": "default",
        "backend": "loky",
        "n_jobs": 1,
        "retries": 1,
    }  # None values (scheduler, cache_dir) are not written: TOML has no null


def test_backends_equal_the_engines():
    # config.py repeats the tuple so that reading a config does not import the engine
    from riskmodels.backtest.walkforward import BACKENDS as ENGINE_BACKENDS

    assert BACKENDS == ENGINE_BACKENDS


# -- errors -----------------------------------------------------------------------------------
BAD = [
    # (text of [run], regex the message must match)
    ("backend = 'spark'", r"run.backend = 'spark' is not a backend: use 'loky'.*'sequential'"),
    ("backend = 3", r"run.backend must be a string \(got 3, a int\)\. Write e.g. backend"),
    ("n_jobs = 0", r"run.n_jobs must be a positive integer, or -1 for every core \(got 0\)"),
    ("n_jobs = true", r"run.n_jobs must be a positive integer.*\(got True\)\. Write e.g."),
    ("n_jobs = 2.5", r"run.n_jobs must be a positive integer.*\(got 2.5\)"),
    ("n_jobs = -2", r"run.n_jobs must be a positive integer.*\(got -2\)"),
    ("n_jobs = '4'", r"run.n_jobs must be a positive integer.*\(got '4'\)"),
    (
        "backend = 'dask'\nscheduler = '10.0.0.5:8786'",
        r"run.scheduler = '10.0.0.5:8786' is not a dask scheduler address.*"
        r'scheduler = "tcp://10.0.0.5:8786"',
    ),
    (
        "backend = 'loky'\nscheduler = 'tcp://10.0.0.5:8786'",
        r"run.scheduler = 'tcp://10.0.0.5:8786' is only used with backend = \"dask\" \(got "
        r"backend = 'loky'\)\. Set backend = \"dask\", or remove scheduler",
    ),
    (  # the default backend is loky
        "scheduler = 'tcp://10.0.0.5:8786'",
        r"only used with backend = \"dask\" \(got backend = 'loky'\)",
    ),
    ("backend = 'dask'\nscheduler = 8786", r"run.scheduler must be a string \(got 8786"),
    ("cache_dir = ''", r"run.cache_dir is empty\. Name a folder"),
    ("cache_dir = 5", r"run.cache_dir must be a string \(got 5, a int\)"),
    ("retries = -1", r"run.retries must be a non-negative integer \(got -1\).*Typical: 1"),
    ("retries = false", r"run.retries must be a non-negative integer \(got False\)"),
    ("n_job = 2", r"unknown \[run\] key 'n_job' \(value 2\)\. Did you mean 'n_jobs'"),
]


@pytest.mark.parametrize(("text", "match"), BAD, ids=[b[0] for b in BAD])
def test_bad_run_values_raise_config_error(tmp_path, text, match):
    p = write(tmp_path, f"[run]\n{text}\n")
    with pytest.raises(ConfigError, match=match) as info:
        load_config(p)
    assert str(info.value).startswith(str(p))  # the message names the file


def test_cache_dir_that_is_a_file_is_refused(tmp_path):
    (tmp_path / "taken").write_text("not a folder")
    p = write(tmp_path, "[run]\ncache_dir = 'taken'\n")
    with pytest.raises(
        ConfigError, match=r"run.cache_dir = 'taken' is a file, not a folder \(resolved to '.*"
    ):
        load_config(p)


# -- valid values, paths and round trips ------------------------------------------------------
def test_valid_values(tmp_path):
    cfg = load_config(
        write(
            tmp_path,
            "[run]\nbackend = 'dask'\nn_jobs = -1\nscheduler = 'tcp://10.0.0.5:8786'\n"
            "retries = 0\n",
        )
    )
    assert (cfg.run.backend, cfg.run.n_jobs, cfg.run.scheduler, cfg.run.retries) == (
        "dask",
        -1,
        "tcp://10.0.0.5:8786",
        0,
    )
    seq = load_config(write(tmp_path, "[run]\nbackend = 'sequential'\nn_jobs = 8\n", "s.toml"))
    assert (seq.run.backend, seq.run.n_jobs) == ("sequential", 8)


def test_relative_cache_dir_is_resolved_against_the_config_folder(tmp_path):
    # like data.mirror; the folder need not exist yet (walk_forward creates it)
    cfg = load_config(write(tmp_path / "cfg", '[run]\ncache_dir = "../cache/wf"\n'))
    assert cfg.run.cache_dir == (tmp_path / "cache" / "wf").resolve()
    assert not cfg.run.cache_dir.exists()
    absolute = load_config(write(tmp_path, f"[run]\ncache_dir = {json.dumps(str(tmp_path))}\n"))
    assert absolute.run.cache_dir == tmp_path.resolve()


def test_round_trips_and_digest(tmp_path):
    cfg = load_config(
        write(
            tmp_path / "cfg",
            "[run]\nbackend = 'dask'\nn_jobs = 3\nscheduler = 'tcp://127.0.0.1:8786'\n"
            "cache_dir = 'cache'\nretries = 2\n",
        )
    )
    d = cfg.to_dict()
    json.dumps(d)
    assert d["run"]["cache_dir"] == str((tmp_path / "cfg" / "cache").resolve())
    assert RunConfig.from_dict(d) == cfg
    again = load_config(write(tmp_path / "elsewhere", cfg.to_toml()))
    assert again == cfg  # the absolute cache_dir does not move with the file
    assert again.digest() == cfg.digest()
    # the digest covers the run keys (provenance records where a report was computed)
    assert cfg.with_run(n_jobs=4).digest() != cfg.digest()
    plain = RunConfig()
    assert RunConfig.from_dict(plain.to_dict()) == plain
    assert load_config(write(tmp_path, plain.to_toml(), "plain.toml")) == plain


# -- with_run -----------------------------------------------------------------------------------
def test_with_run_replaces_only_run_keys():
    cfg = load_config(QUICK)
    new = cfg.with_run(backend="dask", n_jobs=2, scheduler="tcp://10.0.0.5:8786", retries=3)
    assert (new.run.backend, new.run.n_jobs, new.run.scheduler, new.run.retries) == (
        "dask",
        2,
        "tcp://10.0.0.5:8786",
        3,
    )
    assert (new.run.seed, new.run.profile) == (cfg.run.seed, "quick")
    assert (new.data, new.report, new.quick, new.path) == (cfg.data, cfg.report, cfg.quick, QUICK)
    assert cfg.run == RunSection(profile="quick")  # the original is unchanged
    assert cfg.with_run() == cfg


def test_with_run_validates_like_a_file():
    cfg = RunConfig()
    with pytest.raises(ConfigError, match=r"^run.backend = 'spark' is not a backend"):
        cfg.with_run(backend="spark")
    with pytest.raises(ConfigError, match=r"^run.n_jobs must be a positive integer.*got 0"):
        cfg.with_run(n_jobs=0)
    with pytest.raises(ConfigError, match=r"^run.retries must be a non-negative.*got -1"):
        cfg.with_run(retries=-1)
    with pytest.raises(ConfigError, match=r"unknown \[run\] key 'sheduler'.*'scheduler'"):
        cfg.with_run(sheduler="tcp://a:1")
    with pytest.raises(ConfigError, match=r"only used with backend = \"dask\""):
        cfg.with_run(scheduler="tcp://10.0.0.5:8786")


def test_with_run_none_removes_a_key_and_checks_the_combination():
    dask = RunConfig().with_run(backend="dask", scheduler="tcp://10.0.0.5:8786")
    # switching away from dask while the scheduler stays is a mistake, and says how to fix it
    with pytest.raises(ConfigError, match=r"got backend = 'loky'\)\. Set backend = \"dask\""):
        dask.with_run(backend="loky")
    loky = dask.with_run(backend="loky", scheduler=None)
    assert loky.run == RunSection()
    assert dask.with_run(backend=None, scheduler=None).run.backend == "loky"  # the default


def test_with_run_cache_dir_is_relative_to_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = load_config(QUICK)  # a file in configs/: not where a command-line path points
    assert cfg.with_run(cache_dir="wf").run.cache_dir == (tmp_path / "wf").resolve()
    assert cfg.with_run(cache_dir=tmp_path / "p").run.cache_dir == (tmp_path / "p").resolve()
    assert cfg.with_run(cache_dir="wf").with_run(cache_dir=None).run.cache_dir is None


# -- the command line ---------------------------------------------------------------------------
@pytest.fixture
def captured(monkeypatch):
    """Replace build_reports (as the CLI imports it) by a recorder; nothing is built."""
    import riskmodels.reporting

    calls: list[tuple[tuple, dict]] = []

    def fake(*args, **kwargs):
        calls.append((args, kwargs))
        return []

    monkeypatch.setattr(riskmodels.reporting, "build_reports", fake)
    return calls


@pytest.mark.parametrize(
    ("flags", "match"),
    [
        (["--backend", "spark"], "run.backend = 'spark' is not a backend"),
        (["--n-jobs", "0"], "run.n_jobs must be a positive integer, or -1 for every core (got 0)"),
        (["--n-jobs", "2.5"], "run.n_jobs must be a positive integer, or -1 for every core"),
        (["--scheduler", "tcp://10.0.0.5:8786"], 'is only used with backend = "dask"'),
        (["--backend", "dask", "--scheduler", "10.0.0.5"], "is not a dask scheduler address"),
    ],
)
def test_cli_bad_run_flags_are_configuration_errors(flags, match, captured, capsys):
    from riskmodels.cli import main

    assert main(["report", "data", *flags]) == 2
    err = capsys.readouterr().err
    assert err.startswith("riskmodels: configuration error: ")
    assert match in err
    assert captured == []  # nothing was built


def test_cli_run_flags_reach_build_reports(tmp_path, captured, capsys):
    from riskmodels.cli import main

    argv = ["report", "validation", "--config", str(DEFAULT), "--quick", "--out", str(tmp_path)]
    flags = ["--backend", "dask", "--n-jobs", "-1", "--scheduler", "tcp://10.0.0.5:8786"]
    flags += ["--cache-dir", str(tmp_path / "wf")]
    assert main(argv + flags) == 0
    [(args, kwargs)] = captured
    assert args == ("validation",)
    cfg = kwargs["config"]
    assert cfg == load_config(DEFAULT, quick=True).with_run(
        backend="dask", n_jobs=-1, scheduler="tcp://10.0.0.5:8786", cache_dir=tmp_path / "wf"
    )
    assert cfg.run.profile == "quick"  # --quick applied once, by load_config
    assert not kwargs.get("quick", False)
    assert kwargs["out_root"] == tmp_path


def test_cli_without_run_flags_keeps_the_config(captured):
    from riskmodels.cli import main

    assert main(["report", "data", "--config", str(QUICK)]) == 0
    [(_, kwargs)] = captured
    assert kwargs["config"] == load_config(QUICK)
    assert kwargs["config"].path == QUICK


def test_cli_other_backend_drops_the_configs_scheduler(tmp_path, captured):
    # a config for a dask cluster can still be run locally from the command line
    from riskmodels.cli import main

    cfg = write(tmp_path, "[run]\nbackend = 'dask'\nscheduler = 'tcp://10.0.0.5:8786'\n")
    assert main(["report", "data", "--config", str(cfg)]) == 0
    assert captured[-1][1]["config"].run.scheduler == "tcp://10.0.0.5:8786"
    assert main(["report", "data", "--config", str(cfg), "--n-jobs", "2"]) == 0
    assert captured[-1][1]["config"].run.scheduler == "tcp://10.0.0.5:8786"
    assert main(["report", "data", "--config", str(cfg), "--backend", "sequential"]) == 0
    run = captured[-1][1]["config"].run
    assert (run.backend, run.scheduler) == ("sequential", None)


def test_cli_help_lists_the_backends(capsys):
    from riskmodels.cli import main

    with pytest.raises(SystemExit) as info:
        main(["report", "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert "--backend {" + ",".join(BACKENDS) + "}" in out
    for flag in ("--n-jobs N", "--scheduler ADDRESS", "--cache-dir DIR"):
        assert flag in out


# -- notebook parameters and the notebooks ----------------------------------------------------
def test_notebook_parameters_include_the_run_keys(tmp_path):
    p = notebook_parameters(load_config(QUICK), tmp_path)
    assert {k: p[k] for k in EXEC_KEYS} == {
        "backend": "loky",
        "n_jobs": 1,
        "scheduler": None,
        "cache_dir": None,
        "retries": 1,
    }
    cfg = RunConfig().with_run(
        backend="dask", n_jobs=4, scheduler="tcp://10.0.0.5:8786", cache_dir=tmp_path, retries=0
    )
    p = notebook_parameters(cfg, tmp_path)
    assert {k: p[k] for k in EXEC_KEYS} == {
        "backend": "dask",
        "n_jobs": 4,
        "scheduler": "tcp://10.0.0.5:8786",
        "cache_dir": str(tmp_path.resolve()),
        "retries": 0,
    }
    json.dumps(p)  # papermill needs plain values


@pytest.mark.parametrize("name", sorted(BACKTEST_NOTEBOOKS))
def test_backtest_notebooks_declare_and_pass_the_run_keys(name):
    path = REPO / "notebooks" / name
    func = BACKTEST_NOTEBOOKS[name]
    declared = nbx.declared_parameters(nbx.read_notebook(path))
    defaults = notebook_parameters(RunConfig(), REPO)
    assert {k: declared[k] for k in EXEC_KEYS} == {k: defaults[k] for k in EXEC_KEYS}
    tree = ast.parse(path.read_text(encoding="utf-8"))
    # ``run_options = RunOptions(backend=backend, ...)`` passed on as ``run=run_options``
    # (or a ``dict(...)`` passed on as ``**name``)
    dicts = {
        node.targets[0].id: node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign)
        and isinstance(node.targets[0], ast.Name)
        and isinstance(node.value, ast.Call)
        and getattr(node.value.func, "id", None) in ("dict", "RunOptions")
    }
    calls = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == func
    ]
    assert calls, f"{name} runs no {func}"
    for call in calls:
        keywords = list(call.keywords)
        for kw in call.keywords:
            if kw.arg in (None, "run") and isinstance(kw.value, ast.Name) and kw.value.id in dicts:
                keywords += dicts[kw.value.id].keywords
        passed = {kw.arg: kw.value.id for kw in keywords if isinstance(kw.value, ast.Name)}
        missing = [k for k in EXEC_KEYS if passed.get(k) != k]
        assert not missing, f"{name} line {call.lineno}: {func} without {missing}=..."


#: What each notebook says about where it ran, and how often.
WHERE_IT_RAN = {
    "04_var_es_backtest.py": ("computed with backend `dask` on 2 worker(s).", 2),
}
# Notebook 06 runs on dask in tests/reporting/test_reporting.py's determinism check: the
# calibration report built there on dask must equal the sequential build.


@pytest.mark.mirror
@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(WHERE_IT_RAN))
def test_notebook_runs_on_dask(name, tmp_path, mirror_path):
    # The notebook on the quick config, its tasks on a two-worker dask LocalCluster per
    # call: it runs, prints nothing to stderr (LocalCluster's own logging is silenced below
    # WARNING) and says where it was computed.
    pytest.importorskip("distributed")
    path = REPO / "notebooks" / name
    nb = nbx.read_notebook(path)
    declared = nbx.declared_parameters(nb)
    cfg = load_config(QUICK).with_run(backend="dask", n_jobs=2)
    params = {k: v for k, v in notebook_parameters(cfg, tmp_path).items() if k in declared}
    assert (params["backend"], params["n_jobs"]) == ("dask", 2)
    executed = nbx.execute_notebook(
        nb, tmp_path / "out.ipynb", params, cwd=path.parent, timeout=300, source=path.name
    )
    outputs = [o for c in executed.cells for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.output_type == "error"]
    stderr = [o.text for o in outputs if o.output_type == "stream" and o.name == "stderr"]
    assert not stderr, stderr
    text = "\n".join(
        o.get("data", {}).get("text/markdown", "") for o in outputs if o.output_type != "stream"
    )
    phrase, count = WHERE_IT_RAN[name]
    assert text.count(phrase) == count, text
    if name.startswith("04"):
        for book in ("BTC", "equal-weight portfolio"):
            assert f"**{book}**: " in text
    assert os.path.exists(tmp_path / "out.ipynb")
    assert prov.read_inputs(tmp_path), "the notebook should record the data files it read"
