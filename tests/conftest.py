"""Shared fixtures: the data mirror (skipped when absent), seeded generators, and the guards of
tests that start worker processes (hang timeout, pickling a test module by value)."""

from __future__ import annotations

import faulthandler
import os
import re
from collections.abc import Iterator

import numpy as np
import pytest

# Fits must not depend on BLAS threading (../shared/TOOLCHAIN.md).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


@pytest.fixture(scope="session")
def mirror_path():
    """The data mirror folder, or skip the test when there is none."""
    from riskmodels.data import default_mirror_path

    p = default_mirror_path()
    if p is None or not (p / "tidy" / "binance_spot_1d_long.csv").is_file():
        pytest.skip("no data mirror (set RISKMODELS_MIRROR or place ../shared/data)")
    return p


@pytest.fixture(scope="session")
def mirror_source(mirror_path):
    """A MirrorSource over the mirror (skips when absent)."""
    from riskmodels.data import MirrorSource

    return MirrorSource(mirror_path)


@pytest.fixture
def rng() -> np.random.Generator:
    """A fixed-seed generator: tests are deterministic."""
    return np.random.default_rng(20261121)


#: Seconds before a hanging multi-process test is stopped (its stacks dumped); a test module
#: may set its own ``HANG_TIMEOUT``.
HANG_TIMEOUT = 120


@pytest.fixture
def no_hang(request) -> Iterator[None]:
    """Dump every thread's stack and exit if the test runs past the module's ``HANG_TIMEOUT``
    (a hung cluster or pool would otherwise stall the suite until CI's limit)."""
    faulthandler.dump_traceback_later(
        getattr(request.module, "HANG_TIMEOUT", HANG_TIMEOUT), exit=True
    )
    try:
        yield
    finally:
        faulthandler.cancel_dump_traceback_later()


@pytest.fixture(scope="module")
def by_value(request) -> Iterator[None]:
    """Pickle the test module's functions and classes by value (cloudpickle, what loky and dask
    pickle tasks with): worker processes cannot import a test module."""
    cloudpickle = pytest.importorskip("cloudpickle")
    cloudpickle.register_pickle_by_value(request.module)
    try:
        yield
    finally:
        cloudpickle.unregister_pickle_by_value(request.module)


# -- Hypothesis profiles (tests/core/test_properties.py) ---------------------------------------------
# ``ci`` (default): a fixed seed and few examples, so the suite is deterministic and fast;
# ``long``/``dev``: many more examples for a local bug hunt, e.g.
# ``HYPOTHESIS_PROFILE=long pytest tests/core/test_properties.py -p no:randomly``.
try:
    from hypothesis import HealthCheck
    from hypothesis import settings as _hypothesis_settings
except ImportError:  # pragma: no cover - hypothesis is a test dependency
    pass
else:
    _slow_inputs = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]
    _hypothesis_settings.register_profile(
        "ci",
        derandomize=True,
        max_examples=40,
        deadline=None,
        database=None,
        print_blob=True,
        suppress_health_check=_slow_inputs,
    )
    _hypothesis_settings.register_profile(
        "long",
        max_examples=500,
        deadline=None,
        print_blob=True,
        suppress_health_check=_slow_inputs,
    )
    _hypothesis_settings.register_profile("dev", parent=_hypothesis_settings.get_profile("long"))
    _hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


# -- the fast lane (``make test-fast``) ----------------------------------------------------------
#: Fixtures that start worker processes (loky, dask) or read the real data mirror: their tests
#: are marked ``workers`` / ``mirror`` at collection so the edit loop can leave them out.
_WORKER_FIXTURES = frozenset({"no_hang", "by_value"})
_MIRROR_FIXTURES = frozenset({"mirror_path", "mirror_source"})
#: Whole modules outside the fast lane: notebooks and report builds, headless Chromium, dask,
#: walk-forward backtests and the task cache (many model fits, worker pools).
_SLOW_MODULES = frozenset(
    {
        "test_reporting",
        "test_report_browser",
        "test_walkforward_dask",
        "test_walkforward",
        "test_walkforward_cache",
        "test_parallel",
    }
)
#: Test names that start worker processes without the fixtures above.
_WORKER_NAMES = re.compile(r"parallel|n_jobs|worker|dask|loky|without_numba")
#: Single tests of about 3 s or more (measured 2026-12-07) outside the fast lane.
_SLOW_TESTS = frozenset(
    {
        "test_replay_rules_on_synthetic_windows",
        "test_cdcc_target_and_long_run_mean",
        "test_two_step_standard_errors_with_garch",
        "test_garch_t_recovers_unconditional_quantile_within_bootstrap_ci",
        "test_staging_of_a_sigkilled_run_is_removed_at_the_next_build",
        "test_adcc_uncentred_convention_keeps_mean_q_at_target",
        "test_fit_panel_failures_retry_and_raise",
        "test_walk_forward_with_fhs_equals_the_fix_path",
        "test_import_is_lazy_and_unknown_names_raise",  # fresh interpreters, one per subpackage
        "test_compile_reaches_every_kernel",  # compiles every numba kernel from scratch
        "test_build_report_sends_progress_and_renders_the_same_page",  # executes a notebook
        "test_progress_prints_one_line_per_section",  # executes a notebook
    }
)


#: Seconds of the longest tests in a fresh-clone run on 2 cores (2026-12-07, ``--durations``),
#: keyed by name with its parameters. Only the order of the run uses them (below).
_LONGEST = {
    "test_model_reports_build_and_are_deterministic[calibration]": 73,
    "test_model_reports_build_and_are_deterministic[validation]": 30,
    "test_real_data_ten_asset_portfolio": 25,
    "test_real_data_btc": 32,
    "test_notebook_executes_with_quick_parameters[07_stress_and_cascades.py]": 10,
    "test_recovery_two_step_with_garch_n25_composite": 22,
    "test_notebook_runs_on_dask[04_var_es_backtest.py]": 16,
}


def _expected_seconds(item: pytest.Item) -> float:
    if item.name in _LONGEST:
        return _LONGEST[item.name]
    if item.get_closest_marker("slow") is not None:
        return 5.0
    return 2.0 if item.get_closest_marker("workers") is not None else 0.0


def pytest_collection_modifyitems(config, items) -> None:
    """Mark tests by what they need (see the constants above); ``make test`` runs them all.

    Then order them so that each xdist worker's first share starts with its half of the long
    tests (:func:`_longest_first`). ``make test`` runs ``--dist worksteal``, which first splits
    the tests into contiguous equal shares, then lets a worker that runs dry steal the back
    half of another's queue: with the long report builds and real-data backtests dealt to both
    shares' heads, longest first, the run ends on short tests instead of one long build
    running alone while the other worker idles (the longest-processing-time-first rule of list
    scheduling). The order changes no result: the tests are independent.
    """
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        if names & _WORKER_FIXTURES or _WORKER_NAMES.search(item.name):
            item.add_marker(pytest.mark.workers)
        if item.name.split("[", 1)[0] in _SLOW_TESTS:
            item.add_marker(pytest.mark.slow)
        if names & _MIRROR_FIXTURES:
            item.add_marker(pytest.mark.mirror)
        if item.module is not None and item.module.__name__.rsplit(".", 1)[-1] in _SLOW_MODULES:
            item.add_marker(pytest.mark.slow)
    items[:] = _longest_first(items, _workers(config))


def _workers(config) -> int:
    n = getattr(config.option, "numprocesses", None)
    return n if isinstance(n, int) and n > 1 else 1


def _longest_first(items: list[pytest.Item], workers: int) -> list[pytest.Item]:
    """Items in the order that gives each of ``workers`` contiguous shares (worksteal's first
    split: ``len // workers`` items each, the last takes the rest) a fair start: the tests with
    an expected duration are dealt greedily to the share with the least expected time so far,
    longest first, each share's followed by its slice of the others (in collection order)."""
    timed = sorted((i for i in items if _expected_seconds(i) > 0), key=_expected_seconds)[::-1]
    rest = [i for i in items if _expected_seconds(i) == 0]
    if workers == 1:
        return timed + rest
    n = len(items)
    sizes = [n // workers] * (workers - 1) + [n - (n // workers) * (workers - 1)]
    heads: list[list[pytest.Item]] = [[] for _ in range(workers)]
    load = [0.0] * workers
    for item in timed:
        open_shares = [k for k in range(workers) if len(heads[k]) < sizes[k]]
        k = min(open_shares, key=lambda j: load[j])
        heads[k].append(item)
        load[k] += _expected_seconds(item)
    out: list[pytest.Item] = []
    it = iter(rest)
    for k in range(workers):
        out += heads[k] + [next(it) for _ in range(sizes[k] - len(heads[k]))]
    return out
