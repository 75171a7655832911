r"""Walk-forward (rolling-origin) VaR/ES backtests: the engine and its result.

>>> from riskmodels.backtest import walk_forward, ParametricModel, ConditionalEVT
>>> from riskmodels.volatility import EWMA, GARCH
>>> res = walk_forward(                                                  # doctest: +SKIP
...     {"EWMA": ParametricModel(EWMA(0.94)), "EVT": ConditionalEVT(GARCH(dist="t"))},
...     returns, weights, alphas=(0.99, 0.975), horizon="1d", window=1000, refit_every=20)
>>> res.forecasts.head()       # time, target, model, alpha, var, es, realized, hit  # doctest: +SKIP
>>> res.tests(0.99)            # Kupiec, Christoffersen, DQ, duration, traffic light, McNeil-Frey

Schedule
--------
Bars are labelled by their open time; the return labelled ``t`` is known at the end of bar
``t``. A forecast made at **origin** ``t`` uses only rows ``<= t`` and covers the next ``h``
bars (``horizon = h * freq``); its realized P&L is

.. math:: \text{P\&L}_{t \to t+h} = \sum_i e_i \big(\exp(\textstyle\sum_{s=1}^{h} r_{i,t+s}) - 1\big)

for exposures :math:`e_i` (USD notional, or fractions of one), and a **hit** is
``-realized > var`` (strict, as :func:`~riskmodels.backtest.exceedances`). Origins run over
every bar in ``[start, end)`` that has ``window`` bars of history (``t`` included) and ``h``
bars of future. Every ``refit_every`` origins the model is re-estimated on the last ``window``
bars (a rolling window), warm-started from the previous refit's parameters; between refits it
is only filtered forward through the new bars (``model.update``), which is what makes a
rolling GARCH backtest cheap.

Parallelism and determinism
---------------------------
Refit blocks are grouped into **chunks** of ``chunk_size`` refits whose boundaries depend only
on the schedule, never on ``n_jobs``. Each (model, chunk) is one task: it gets the rows it may
see (its first fit's window to its last origin: no look-ahead by construction), its own random
stream (``numpy.random.SeedSequence(seed).spawn``: one child per model, one grandchild per
chunk) and runs with one BLAS thread (``threadpoolctl``; BLAS threads change GARCH
estimates). Warm starts run within a chunk; a chunk's first refit starts from the model's
default starting values. The same inputs therefore give bit-identical forecasts for any
``n_jobs`` or the backend. Tasks run in joblib's loky processes (``backend="loky"``, the
default, with ``n_jobs > 1``), in this process (``n_jobs=1`` or ``backend="sequential"``), or
on a dask.distributed cluster (``backend="dask"``): a ``LocalCluster`` on 127.0.0.1 started for
the run and closed after it, or an existing one (``scheduler=`` an address or a
``distributed.Client``). On dask the used returns are scattered once to every worker
(``client.scatter(..., broadcast=True)``) and each task slices its rows there; results are
gathered in task order. A tqdm progress bar runs over tasks in every mode.
"""

from __future__ import annotations

import json
import math
import os
import re
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from statsmodels.iolib.summary import Summary

from riskmodels._display import html_table, table_html, text_summary
from riskmodels._frozen import freeze_mapping
from riskmodels._random import as_generator
from riskmodels._time import bar_frequency
from riskmodels._typing import DurationLike
from riskmodels.backtest.coverage import (
    align,
    as_float,
    check_alpha,
    christoffersen,
    dq_test,
    duration_test,
    kupiec,
    traffic_light,
)
from riskmodels.backtest.es_tests import mcneil_frey
from riskmodels.backtest.models import ScenarioModel
from riskmodels.exceptions import (
    ConfigError,
    DataError,
    InsufficientDataError,
    ModelError,
    RiskModelsError,
)
from riskmodels.instruments import linear_pnl
from riskmodels.parallel import (
    BACKENDS,
    RunOptions,
    TaskCache,
    TaskKey,
    failure_text,
    import_distributed,
    resolve_run_options,
    run_cached,
    warn_failed,
)
from riskmodels.scenarios.base import ScenarioGenerator, as_horizon

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["BACKENDS", "DEFAULT_CHUNK_BARS", "WalkForwardResult", "walk_forward"]

#: Default chunk length in forecast origins (rounded up to whole refit blocks): about a year
#: of daily forecasts per task, so that a 2,000-day backtest gives 8 tasks to spread.
DEFAULT_CHUNK_BARS = 250
#: Columns of :attr:`WalkForwardResult.forecasts`.
FORECAST_COLUMNS = ("time", "target", "model", "alpha", "var", "es", "realized", "hit")
#: Columns of :attr:`WalkForwardResult.diagnostics`.
DIAGNOSTIC_COLUMNS = (
    "model",
    "time",
    "window_start",
    "nobs",
    "chunk",
    "trigger",
    "warm_start",
    "converged",
    "loglik",
    "params",
    "params_at_bounds",
    "note",
)


# ---------------------------------------------------------------------------------------------
# Input checks
# ---------------------------------------------------------------------------------------------
def _wrap(model: object) -> Any:
    """A scenario generator (``fit`` + ``generate``, no ``forecast``) as a ScenarioModel."""
    if isinstance(model, ScenarioGenerator) and not callable(getattr(model, "forecast", None)):
        return ScenarioModel(model)
    return model


def _as_models(model: object) -> list[tuple[str, Any]]:
    if isinstance(model, Mapping):
        items = [(str(k), _wrap(m)) for k, m in model.items()]
    elif isinstance(model, Sequence) and not isinstance(model, str):
        wrapped = [_wrap(m) for m in model]
        items = [(str(getattr(m, "name", "") or type(m).__name__), m) for m in wrapped]
    else:
        m = _wrap(model)
        items = [(str(getattr(m, "name", "") or type(m).__name__), m)]
    if not items:
        raise ConfigError(
            "model is empty: pass a VaR model, a list of them or a dict name -> model."
        )
    names = [n for n, _ in items]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ConfigError(
            f"model names must be unique (got {dup} more than once). Pass a dict "
            "{'name': model, ...} or give each model a name=."
        )
    for name, m in items:
        missing = [
            a
            for a in ("fit", "update", "forecast", "diagnostics")
            if not callable(getattr(m, a, None))
        ]
        if missing:
            raise ConfigError(
                f"model {name!r} ({type(m).__name__}) lacks {missing}: a VaR model needs fit, "
                "update, forecast and diagnostics (riskmodels.backtest.VaRModel). Wrap a "
                "scenario generator as ScenarioModel(generator)."
            )
    return items


def _check_alphas(alphas: object) -> tuple[float, ...]:
    if isinstance(alphas, int | float | np.integer | np.floating) and not isinstance(alphas, bool):
        alphas = (alphas,)
    if not isinstance(alphas, Sequence | np.ndarray) or isinstance(alphas, str) or len(alphas) == 0:
        raise ConfigError(
            f"alphas must be a confidence level or a sequence of them in (0, 1) (got {alphas!r}), "
            "e.g. alphas=(0.99, 0.975)."
        )
    out = tuple(check_alpha(a) for a in alphas)
    if len(set(out)) != len(out):
        raise ConfigError(f"alphas must be distinct (got {list(out)}).")
    return out


def _positive_int(value: object, name: str, minimum: int, hint: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ConfigError(f"{name} must be an integer >= {minimum} (got {value!r}). {hint}")
    return int(value)


def _as_frame(returns: object) -> pd.DataFrame:
    if isinstance(returns, pd.Series):
        returns = returns.to_frame(name="asset" if returns.name is None else str(returns.name))
    if not isinstance(returns, pd.DataFrame):
        raise ConfigError(
            f"returns must be a DataFrame of decimal log returns, one column per asset (got "
            f"{type(returns).__name__})."
        )
    if returns.shape[1] == 0:
        raise ConfigError("returns has no columns; pass at least one asset.")
    if not returns.columns.is_unique:
        dup = returns.columns[returns.columns.duplicated()][0]
        raise DataError(f"returns has a duplicated column {dup!r}; asset names must be unique.")
    idx = returns.index
    if not isinstance(idx, pd.DatetimeIndex):
        raise DataError(
            f"returns must have a DatetimeIndex of bar open times (got {type(idx).__name__}). "
            "Use riskmodels.data.log_returns(load_prices(...))."
        )
    if not idx.is_unique:
        raise DataError(
            f"returns have a duplicated timestamp {idx[idx.duplicated()][0]}; remove duplicate bars."
        )
    if not idx.is_monotonic_increasing:
        raise DataError("returns are not sorted by time; sort them first (returns.sort_index()).")
    return returns.rename(columns=str)


def _frequency(index: pd.DatetimeIndex) -> pd.Timedelta:
    """The bar of a regular grid (:func:`riskmodels._time.bar_frequency`, no gap allowed)."""
    if index.size < 2:
        raise InsufficientDataError(
            f"returns have {index.size} row(s); a walk-forward backtest needs a window of history "
            "and at least one bar to forecast."
        )
    return bar_frequency(index, regular=True)


def _exposures(weights: object, columns: pd.Index) -> pd.Series:
    if weights is None:
        return pd.Series(1.0 / len(columns), index=columns, name="exposure")
    if isinstance(weights, Mapping):
        weights = pd.Series(dict(weights), dtype=float)
    if not isinstance(weights, pd.Series):
        raise ConfigError(
            f"weights must be a Series (or dict) of exposures by asset (got "
            f"{type(weights).__name__}), e.g. pd.Series({{'BTC': 1.0}}); None for equal weights."
        )
    w = weights.rename(index=str)
    if not w.index.is_unique:
        raise DataError(f"weights name an asset twice ({w.index[w.index.duplicated()][0]!r}).")
    missing = [a for a in w.index if a not in columns]
    if missing:
        raise DataError(
            f"weights name assets that are not in the returns: {missing} (returns have "
            f"{list(columns)}). Load those assets or drop them from the weights."
        )
    try:
        values = w.to_numpy(dtype=float)
    except (TypeError, ValueError) as exc:
        raise DataError(f"weights must be numbers (got {w.to_dict()}).") from exc
    if not np.isfinite(values).all():
        bad = w.index[~np.isfinite(values)].tolist()
        raise DataError(f"weights must be finite (got NaN or inf for {bad}).")
    w = pd.Series(values, index=w.index, name="exposure")
    w = w[w != 0.0]
    if w.empty:
        raise ConfigError(
            "weights are all zero: give the notional (or fraction of one) held in each asset."
        )
    return w


def _trim_and_check(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows between the last listing and the first delisting of the used assets; NaN inside is a
    :class:`DataError` naming the asset and the bar."""
    values = frame.to_numpy(dtype=float, na_value=np.nan)
    valid = np.isfinite(values)
    inf = np.isinf(values)
    if inf.any():
        r, c = np.argwhere(inf)[0]
        raise DataError(
            f"returns for {frame.columns[c]!r} are infinite at {frame.index[r]}; a zero price "
            "upstream gives log(0). Repair the prices first."
        )
    starts, stops = [], []
    for j in range(values.shape[1]):
        ok = np.flatnonzero(valid[:, j])
        if ok.size == 0:
            raise DataError(f"returns for {frame.columns[j]!r} are all NaN.")
        starts.append(ok[0])
        stops.append(ok[-1] + 1)
    lo, hi = max(starts), min(stops)
    if lo >= hi:
        raise InsufficientDataError(
            "the used assets have no common sample (one is delisted before another is listed)."
        )
    inner = ~valid[lo:hi]
    if inner.any():
        r, c = np.argwhere(inner)[0]
        n_bad = int(inner.sum())
        raise DataError(
            f"returns for {frame.columns[c]!r} are NaN at {frame.index[lo + r]} inside the "
            f"sample ({n_bad} NaN value(s) between {frame.index[lo]} and {frame.index[hi - 1]} in "
            "the used assets). A filter cannot skip a bar: fill or drop the gap upstream, or "
            "start the backtest after it."
        )
    return frame.iloc[lo:hi]


def _timestamp(value: object, name: str, tz: Any) -> pd.Timestamp:
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{name} must be a date (got {value!r}), e.g. '2022-01-01'.") from exc
    if tz is not None and ts.tzinfo is None:
        ts = ts.tz_localize(tz)
    elif tz is None and ts.tzinfo is not None:
        ts = ts.tz_convert(None)
    return ts


def _read_horizon(horizon: object) -> object:
    """``"5d"`` as 5 days without pandas' deprecation of the lower-case day unit (pandas 3)."""
    if isinstance(horizon, str):
        m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*d\s*", horizon)
        if m:
            return pd.Timedelta(days=float(m.group(1)))
    return horizon


def _seed_sequence(seed: object) -> np.random.SeedSequence:
    if isinstance(seed, np.random.SeedSequence):
        return seed
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ConfigError(
            f"seed must be a non-negative integer or a numpy.random.SeedSequence (got {seed!r})."
        )
    return np.random.SeedSequence(int(seed))


# ---------------------------------------------------------------------------------------------
# Tasks
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class _Task:
    name: str
    model: Any
    chunk: int
    frame: pd.DataFrame | None  # rows the task may see: first window start .. last origin
    span: tuple[int, int]  # those rows' positions (first, last) in the used returns
    blocks: tuple[tuple[int, ...], ...]  # origin positions in ``frame``, one tuple per refit
    window: int
    exposures: pd.Series
    alphas: tuple[float, ...]
    horizon: pd.Timedelta
    seed: np.random.SeedSequence
    warm_start: bool
    update_failure: str


@dataclass(frozen=True, eq=False)
class _TaskOutput:
    var: np.ndarray
    es: np.ndarray
    diagnostics: list[dict[str, Any]]
    warnings: list[Any] = field(default_factory=list)


def _with_context(exc: RiskModelsError, name: str, when: pd.Timestamp, what: str) -> Exception:
    try:
        new = type(exc)(f"model {name!r}, {what} at {when}: {exc}")
    except TypeError:  # an exception class with another signature: keep it as it is
        return exc
    return new


def _refit(
    task: _Task, pos: int, previous: Any, gen: np.random.Generator, trigger: str, note: str | None
) -> tuple[Any, dict[str, Any]]:
    """Fit ``task.model`` on the ``window`` rows ending at ``pos``; the state and its diagnostics."""
    assert task.frame is not None  # _run_task gives a task its rows
    win = task.frame.iloc[pos - task.window + 1 : pos + 1]
    warm = previous if task.warm_start else None
    state = task.model.fit(win, exposures=task.exposures, warm_start=warm, rng=gen)
    d = dict(task.model.diagnostics(state))
    notes = [n for n in (note, d.get("note")) if n]
    return state, {
        "model": task.name,
        "time": task.frame.index[pos],
        "window_start": win.index[0],
        "nobs": int(win.shape[0]),
        "chunk": task.chunk,
        "trigger": trigger,
        "warm_start": warm is not None,
        "converged": bool(d.get("converged", True)),
        "loglik": float(d.get("loglik", np.nan)),
        "params": dict(d.get("params", {})),
        "params_at_bounds": tuple(d.get("params_at_bounds", ())),
        "note": "; ".join(notes) or None,
    }


def _run_chunk(task: _Task) -> _TaskOutput:
    model, frame = task.model, task.frame
    assert frame is not None  # _run_task gives a task its rows
    n = sum(len(b) for b in task.blocks)
    n_alpha = len(task.alphas)
    var = np.empty((n, n_alpha))
    es = np.empty((n, n_alpha))
    gen = as_generator(task.seed)
    diags: list[dict[str, Any]] = []
    previous = None
    state = None
    last = -1
    i = 0
    for block in task.blocks:
        for k, pos in enumerate(block):
            when = frame.index[pos]
            what = "refit" if k == 0 else "update"
            try:
                if k == 0:
                    state, d = _refit(task, pos, previous, gen, "schedule", None)
                    diags.append(d)
                    previous = state
                else:
                    try:
                        state = model.update(state, frame.iloc[last + 1 : pos + 1])
                    except RiskModelsError as exc:
                        if task.update_failure != "refit":
                            raise
                        what = "refit after a failed update"
                        note = f"update failed ({type(exc).__name__}: {exc}); re-estimated"
                        state, d = _refit(task, pos, previous, gen, "update_failed", note)
                        diags.append(d)
                        previous = state
                what = "forecast"
                v, e = model.forecast(state, task.exposures, task.alphas, task.horizon, gen)
            except RiskModelsError as exc:
                raise _with_context(exc, task.name, when, what) from exc
            v = np.asarray(v, dtype=float).reshape(-1)
            e = np.asarray(e, dtype=float).reshape(-1)
            if v.shape != (n_alpha,) or e.shape != (n_alpha,):
                raise ModelError(
                    f"model {task.name!r} returned {v.size} VaR and {e.size} ES values at {when}; "
                    f"expected one per alpha ({n_alpha})."
                )
            if not (np.isfinite(v).all() and np.isfinite(e).all()):
                raise ModelError(
                    f"model {task.name!r} gave a non-finite forecast at {when} (VaR {v.tolist()}, "
                    f"ES {e.tolist()} for alphas {list(task.alphas)}). Check the model's "
                    "diagnostics for this refit (parameters at bounds, no convergence)."
                )
            var[i], es[i] = v, e
            last = pos
            i += 1
    return _TaskOutput(var=var, es=es, diagnostics=diags)


def _run_task(used: pd.DataFrame | None, task: _Task) -> _TaskOutput:
    """Worker: one (model, chunk), its warnings recorded for the parent. On dask the task
    arrives without its rows (``task.frame`` None) and slices them from the scattered
    ``used`` returns."""
    if used is not None:
        lo, hi = task.span
        task = replace(task, frame=used.iloc[lo : hi + 1])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = _run_chunk(task)
    return _TaskOutput(out.var, out.es, out.diagnostics, list(caught))


def _strip(task: _Task) -> _Task:
    """The task without its rows (dask: the workers hold the scattered returns)."""
    return replace(task, frame=None)


# ---------------------------------------------------------------------------------------------
# Task cache
# ---------------------------------------------------------------------------------------------
def _task_key(task: _Task, version: str) -> str:
    """SHA-256 of everything a task's output depends on (data, spec, schedule, seed, version)."""
    key = TaskKey().frame("returns", task.frame).spec("model", task.model)
    key.put("name", task.name).put("chunk", str(task.chunk)).put("blocks", repr(task.blocks))
    key.put("window", str(task.window))
    key.put("exposures", repr(list(task.exposures.index)))
    key.put("exposure_values", task.exposures.to_numpy(dtype=float).tobytes())
    key.put("alphas", repr(tuple(float(a) for a in task.alphas)))
    key.put("horizon", str(task.horizon.value))
    key.seed("seed", task.seed)
    key.put("warm_start", str(task.warm_start)).put("update_failure", task.update_failure)
    return key.put("version", version).hexdigest()


# ---------------------------------------------------------------------------------------------
# Engine
# ---------------------------------------------------------------------------------------------
def walk_forward(
    model: Any,
    returns: pd.DataFrame | pd.Series,
    weights: pd.Series | Mapping[str, float] | None = None,
    *,
    alphas: float | Sequence[float] = (0.99, 0.975),
    horizon: DurationLike = "1d",
    window: int = 1000,
    refit_every: int = 20,
    start: Any = None,
    end: Any = None,
    n_jobs: int | None = None,
    seed: int | np.random.SeedSequence = 0,
    chunk_size: int | None = None,
    warm_start: bool = True,
    update_failure: str = "raise",
    progress: bool = True,
    backend: str = "loky",
    scheduler: Any = None,
    cache_dir: str | os.PathLike[str] | None = None,
    retries: int = 1,
    on_task_error: str = "raise",
    run: RunOptions | None = None,
) -> WalkForwardResult:
    r"""Rolling-origin VaR/ES backtest of one or several models on a portfolio.

    Parameters
    ----------
    model : VaRModel, list of VaRModel, or dict of str to VaRModel
        e.g. ``ScenarioModel(HistoricalScenarios(window=500))``,
        ``ParametricModel(EWMA(0.94))``, ``ConditionalEVT(GARCH(dist="t"))``. A bare scenario
        generator (``HistoricalScenarios(...)``) is wrapped as ``ScenarioModel(generator)``.
        Several models give one frame with a ``model`` column (list: each model's ``name``;
        dict: its keys).
    returns : pandas.DataFrame of shape (n_bars, n_assets), or Series
        Decimal log returns on a regular UTC grid of bars. Only the assets in ``weights`` are
        used; leading/trailing rows before all of them are listed / after one is delisted are
        dropped; a NaN inside is an error.
    weights : pandas.Series or dict, optional
        Exposure per asset (USD notional, or fractions of one; negative = short). Default:
        equal fractions ``1/N`` of every column.
    alphas : float or sequence of float, default (0.99, 0.975)
        VaR/ES confidence levels in (0, 1).
    horizon : str or Timedelta, default "1d"
        Forecast horizon, a whole number ``h`` of bars.
    window : int, default 1000
        Bars of history in each estimation window (rolling), the origin included.
    refit_every : int, default 20
        Origins between re-estimations; the model is filtered forward in between.
    start, end : date-like, optional
        First origin (default: the first with ``window`` bars of history) and the end of the
        origins (exclusive; default: the last origin with ``h`` bars to realize).
    n_jobs : int, optional
        Worker processes; -1 for every core. Results do not depend on it. Default: 1 for
        ``backend="loky"`` (run in this process), 2 workers for the LocalCluster of
        ``backend="dask"``; ignored with an existing dask ``scheduler``.
    seed : int or SeedSequence, default 0
        Root of every random stream (scenario draws).
    chunk_size : int, optional
        Refits per parallel task (and per warm-start chain); default
        ``ceil(250 / refit_every)`` (about 250 origins per task).
    warm_start : bool, default True
        Start each refit from the previous refit's parameters (within a chunk).
    update_failure : {"raise", "refit"}, default "raise"
        What to do when a model cannot be filtered forward (``update`` raises a riskmodels
        error): raise it (with the model and the bar), or re-estimate at that bar, recorded in
        ``diagnostics`` with ``trigger="update_failed"`` and the error in ``note``. The
        schedule of the regular refits is unchanged either way.
    progress : bool, default True
        Show a tqdm progress bar over tasks.
    backend : {"loky", "dask", "sequential"}, default "loky"
        Where the tasks run: joblib's loky processes (in this process when ``n_jobs=1``),
        dask.distributed (needs ``pip install riskmodels[distributed]``), or always in this
        process. The numbers do not depend on it; ``config["backend"]`` records the one used.
    scheduler : str or distributed.Client, optional
        ``backend="dask"`` only: an existing cluster, by scheduler address
        (``"tcp://host:8786"``) or client. None starts a ``LocalCluster`` (``n_jobs`` worker
        processes of one thread each, on 127.0.0.1) for the run and closes it after; its
        dashboard link is printed with ``progress`` when the cluster serves one (bokeh
        installed: ``riskmodels[distributed]``). Runs go through
        :func:`riskmodels.parallel.run_tasks`. Workers of an existing cluster should run one thread
        each: BLAS thread limits are per process, so tasks sharing a process can change each
        other's limits and hence GARCH estimates.
    cache_dir : str or path, optional
        Directory where each (model, chunk) task's output is stored as it finishes (a pickle
        written atomically), keyed by a SHA-256 of the task's rows of returns (values, index,
        columns), the model spec (its pickle), the chunk's origins, window, alphas, horizon,
        exposures, warm start and update policy, the task's seed and the package version. A
        run with the same inputs loads those outputs instead of recomputing them, so a run
        that was interrupted resumes where it stopped, with the same numbers as an
        uninterrupted one; ``config["cache_hits"]`` counts the tasks loaded. Only point it at
        a directory you trust: cache files are unpickled. None (default): no cache.
    retries : int, default 1
        How many times a task is run again after a worker crash (loky
        ``TerminatedWorkerError``, ``BrokenProcessPool``, dask ``KilledWorker``, an
        ``OSError`` that is not a riskmodels error). A model's own errors (riskmodels errors,
        ``ValueError``, ...) are deterministic and never retried. ``config["retried"]`` counts
        the re-runs.
    on_task_error : {"raise", "partial"}, default "raise"
        What to do with a task that fails for good: raise its error (finished tasks are
        already in ``cache_dir`` when one is given), or finish the other tasks and return
        their forecasts, with the failed ones listed in ``config["failed_tasks"]`` (model,
        chunk, first and last origin, attempts, error) and a
        :class:`~riskmodels.exceptions.RiskModelsWarning`. Fix the cause and run again with
        the same ``cache_dir``: only the failed tasks are computed.
    run : RunOptions, optional
        The run options as one object (:class:`riskmodels.parallel.RunOptions`, e.g.
        ``RunOptions.from_config(config)``) instead of ``backend``, ``n_jobs``,
        ``scheduler``, ``cache_dir``, ``retries``, ``on_task_error`` and ``progress``; giving
        both is refused when they disagree.

    Returns
    -------
    WalkForwardResult
        ``forecasts`` (time, target, model, alpha, var, es, realized, hit), ``diagnostics``
        (one row per refit), ``tests(alpha)``, ``hits(alpha)``.

    Raises
    ------
    ConfigError
        ``alpha`` outside (0, 1); ``refit_every``, ``window``, ``chunk_size``, ``n_jobs``,
        ``backend``, ``scheduler``, ``retries`` or ``on_task_error`` invalid; a
        ``cache_dir`` that cannot be written; ``backend="dask"`` without dask.distributed;
        a horizon that is not a positive multiple of the bar; a model that cannot
        forecast the horizon or an alpha (its ``validate``); all-zero weights.
    DataError
        ``weights`` name assets not in ``returns``; NaN inside the used assets' returns (the
        message names the asset and the bar); an irregular grid; a model's non-finite
        forecast is a :class:`~riskmodels.exceptions.ModelError`.
    InsufficientDataError
        Fewer than ``window + h`` usable bars, or a ``start`` with less than ``window`` bars of
        history, or no origin left in ``[start, end)``.

    Notes
    -----
    See the module docstring for the schedule and the determinism guarantees. Every model sees
    the same origins, windows and realized P&L, so their hit series can be compared directly
    (:func:`~riskmodels.backtest.diebold_mariano` on :func:`~riskmodels.backtest.fz_loss`).
    """
    t0 = time.perf_counter()
    models = _as_models(model)
    alpha_t = _check_alphas(alphas)
    frame = _as_frame(returns)
    freq = _frequency(frame.index)
    h = as_horizon(_read_horizon(horizon), freq)
    horizon_td = h * freq
    window = _positive_int(window, "window", 2, "e.g. window=1000 bars (about 3 years daily).")
    refit_every = _positive_int(
        refit_every, "refit_every", 1, "Use 1 to re-estimate at every origin, 20 for monthly."
    )
    if chunk_size is None:
        chunk_size = max(1, math.ceil(DEFAULT_CHUNK_BARS / refit_every))
    chunk_size = _positive_int(chunk_size, "chunk_size", 1, "It is a number of refits per task.")
    opts = resolve_run_options(
        run,
        backend=backend,
        n_jobs=n_jobs,
        scheduler=scheduler,
        cache_dir=cache_dir,
        retries=retries,
        on_task_error=on_task_error,
        progress=progress,
    )
    backend, n_jobs, scheduler = opts.backend, opts.n_jobs, opts.scheduler
    cache_dir, retries, on_task_error = opts.cache_dir, opts.retries, opts.on_task_error
    progress = opts.progress
    if backend == "dask":
        import_distributed()  # fail before any work when the extra is missing
    root = _seed_sequence(seed)
    if update_failure not in ("raise", "refit"):
        raise ConfigError(
            f"update_failure must be 'raise' or 'refit' (got {update_failure!r}): what to do "
            "when a model cannot be filtered forward."
        )
    cache = None if cache_dir is None else TaskCache(cache_dir)
    exposures = _exposures(weights, frame.columns)
    used = _trim_and_check(frame[list(exposures.index)])
    # pandas deep-copies ``attrs`` (the loaders' provenance records) on every operation, which
    # would dominate the per-bar cost of the models' slicing; the models do not need them.
    used = used.copy()
    used.attrs = {}
    index = used.index
    n = index.size
    if n < window + h:
        raise InsufficientDataError(
            f"the sample has {n} usable bars ({index[0]} to {index[-1]}) but window={window} "
            f"and a {h}-bar horizon need at least {window + h}. Use a shorter window or a "
            "longer sample."
        )
    first, last = window - 1, n - 1 - h
    tz = index.tz
    if start is not None:
        s = _timestamp(start, "start", tz)
        p = int(index.searchsorted(s, side="left"))
        if p < window - 1:
            raise InsufficientDataError(
                f"start={s} leaves {max(p + 1, 0)} bars of history (from {index[0]}) but "
                f"window={window} needs {window}; the earliest start is {index[window - 1]}."
            )
        first = p
    if end is not None:
        e = _timestamp(end, "end", tz)
        last = min(last, int(index.searchsorted(e, side="left")) - 1)
    if first > last:
        raise InsufficientDataError(
            f"no forecast origin in [start, end) with window={window} bars of history and "
            f"{h} bar(s) to realize (usable sample {index[0]} to {index[-1]})."
        )
    for _, m in models:
        check = getattr(m, "validate", None)
        if callable(check):
            check(alphas=alpha_t, horizon_bars=h)

    origins = np.arange(first, last + 1)
    blocks = [
        tuple(origins[i : i + refit_every].tolist()) for i in range(0, origins.size, refit_every)
    ]
    chunks = [blocks[i : i + chunk_size] for i in range(0, len(blocks), chunk_size)]
    model_seeds = root.spawn(len(models))
    tasks = []
    for (name, m), ms in zip(models, model_seeds, strict=True):
        chunk_seeds = ms.spawn(len(chunks))
        for c, (chunk, cs) in enumerate(zip(chunks, chunk_seeds, strict=True)):
            lo = chunk[0][0] - window + 1
            hi = chunk[-1][-1]
            tasks.append(
                _Task(
                    name=name,
                    model=m,
                    chunk=c,
                    frame=used.iloc[lo : hi + 1],
                    span=(lo, hi),
                    blocks=tuple(tuple(p - lo for p in b) for b in chunk),
                    window=window,
                    exposures=exposures,
                    alphas=alpha_t,
                    horizon=horizon_td,
                    seed=cs,
                    warm_start=bool(warm_start),
                    update_failure=update_failure,
                )
            )

    got = run_cached(
        _run_task,
        tasks,
        output_type=_TaskOutput,
        key=_task_key,
        cache=cache,
        on_task_error=on_task_error,
        progress=progress,
        label="walk_forward",
        shared=used if backend == "dask" else None,
        strip=_strip,
        backend=backend,
        n_jobs=n_jobs,
        scheduler=scheduler,
        retries=retries,
    )
    outputs, outcome, cache_hits = got.outputs, got.run, got.cache_hits
    failures, reruns = outcome.failures, outcome.reruns
    workers, backend = outcome.n_workers, outcome.backend

    realized_all = _realized(used, exposures, origins, h)
    chunk_pos = [np.concatenate([np.asarray(b, dtype=np.int64) for b in ch]) for ch in chunks]
    frames, diags = [], []
    per_model = len(chunks)
    for j, (name, _) in enumerate(models):
        kept = [c for c in range(per_model) if j * per_model + c in outputs]
        if not kept:
            continue
        outs = [outputs[j * per_model + c] for c in kept]
        pos = np.concatenate([chunk_pos[c] for c in kept])
        realized = realized_all[pos - first]
        v = np.concatenate([o.var for o in outs])
        e = np.concatenate([o.es for o in outs])
        for a, alpha in enumerate(alpha_t):
            frames.append(
                pd.DataFrame(
                    {
                        "time": index[pos],
                        "target": index[pos + h],
                        "model": name,
                        "alpha": alpha,
                        "var": v[:, a],
                        "es": e[:, a],
                        "realized": realized,
                        "hit": -realized > v[:, a],
                    }
                )
            )
        for o in outs:
            diags.extend(o.diagnostics)
    failed_tasks = []
    for i in sorted(failures):
        exc, tries = failures[i]
        t = tasks[i]
        pos = chunk_pos[t.chunk]
        failed_tasks.append(
            {
                "task": f"{t.name}[{t.chunk}]",
                "model": t.name,
                "chunk": t.chunk,
                "start": index[pos[0]],
                "end": index[pos[-1]],
                "attempts": tries,
                "error": failure_text(exc),
            }
        )
    warn_failed("walk_forward", failed_tasks, len(tasks), "task(s) failed and their forecasts are")
    if frames:
        forecasts = pd.concat(frames, ignore_index=True)[list(FORECAST_COLUMNS)]
    else:
        forecasts = pd.DataFrame(columns=list(FORECAST_COLUMNS))
    diagnostics = pd.DataFrame(diags, columns=list(DIAGNOSTIC_COLUMNS))
    config = {
        "window": window,
        "refit_every": refit_every,
        "horizon": horizon_td,
        "horizon_bars": h,
        "freq": freq,
        "alphas": alpha_t,
        "start": index[first],
        "end": index[last],
        "n_forecasts": int(origins.size),
        "chunk_size": chunk_size,
        "n_chunks": len(chunks),
        "warm_start": bool(warm_start),
        "update_failure": update_failure,
        "backend": backend,
        "seed": root.entropy,
        "exposures": exposures.to_dict(),
        "models": {name: repr(m) for name, m in models},
        "cache_dir": None if cache is None else str(cache.path),
        "cache_hits": cache_hits,
        "retries": retries,
        "retried": reruns,
        "on_task_error": on_task_error,
        "failed_tasks": tuple(failed_tasks),
    }
    return WalkForwardResult(
        forecasts=forecasts,
        diagnostics=diagnostics,
        config=freeze_mapping(config),
        n_jobs=workers,
        elapsed=time.perf_counter() - t0,
    )


def _realized(used: pd.DataFrame, exposures: pd.Series, origins: np.ndarray, h: int) -> np.ndarray:
    """``sum_i e_i (exp(sum of the next h log returns) - 1)`` for each origin."""
    r = used.to_numpy(dtype=float)
    if h == 1:
        cum = r[origins + 1]
    else:
        windows = np.lib.stride_tricks.sliding_window_view(r, h, axis=0)  # (n - h + 1, N, h)
        cum = windows[origins + 1].sum(axis=-1)
    return linear_pnl(cum, exposures.to_numpy(dtype=float))


# ---------------------------------------------------------------------------------------------
# Result
# ---------------------------------------------------------------------------------------------
def _nan_on(errors: tuple[type[Exception], ...], fn: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return fn(*args, **kwargs)
    except errors:
        return None


def _stat(res: Any) -> float:
    return float(res.statistic) if res is not None else np.nan


def _pval(res: Any) -> float:
    return float(res.pvalue) if res is not None else np.nan


@dataclass(frozen=True, eq=False, repr=False, kw_only=True)
class WalkForwardResult:
    """Forecasts, realized P&L and refit diagnostics of a walk-forward backtest.

    Attributes
    ----------
    forecasts : pandas.DataFrame
        Tidy, one row per (model, alpha, origin): ``time`` (origin: the last bar used),
        ``target`` (the last bar of the horizon), ``model``, ``alpha``, ``var``, ``es``
        (positive losses in the exposures' units), ``realized`` (P&L over the horizon),
        ``hit`` (``-realized > var``).
    diagnostics : pandas.DataFrame
        One row per (model, refit): ``model``, ``time`` (origin of the refit),
        ``window_start``, ``nobs``, ``chunk``, ``trigger`` (``"schedule"``, or
        ``"update_failed"``: see ``update_failure``), ``warm_start`` (started from the previous
        refit), ``converged``, ``loglik``, ``params`` (dict, arch percent units for volatility
        models), ``params_at_bounds`` (tuple), ``note``.
    config : Mapping
        The schedule: window, refit_every, horizon, alphas, start/end origins, chunks, seed,
        exposures, the models' reprs, and ``backend``: where the tasks ran (``"sequential"``,
        ``"loky"`` or ``"dask"``).
    n_jobs : int
        Worker processes used (loky: ``n_jobs`` as given; dask: the cluster's workers). The
        numbers do not depend on it.
    elapsed : float
        Wall-clock seconds of the run.
    """

    forecasts: pd.DataFrame
    diagnostics: pd.DataFrame
    config: Mapping[str, Any]
    n_jobs: int = 1
    elapsed: float = float("nan")

    # -- construction from outside forecasts ----------------------------------------------
    @classmethod
    def from_forecasts(
        cls,
        realized: pd.Series | np.ndarray,
        var: pd.Series | np.ndarray,
        es: pd.Series | np.ndarray | None = None,
        *,
        alpha: float,
        model: str = "model",
    ) -> WalkForwardResult:
        """A result from forecasts made elsewhere, for the same tests and tables.

        Parameters
        ----------
        realized : Series or array of shape (n_dates,)
            Realized P&L (gain positive).
        var, es : Series or array of shape (n_dates,)
            VaR (and ES) forecasts, positive losses, for the same dates.
        alpha : float
            Confidence level in (0, 1).
        model : str, default "model"

        Raises
        ------
        ConfigError
            ``alpha`` outside (0, 1).
        DataError
            Misaligned indexes or lengths; NaN or infinite forecasts or P&L.
        """
        a = check_alpha(alpha)
        named: dict[str, object] = {"realized": realized, "var": var}
        if es is not None:
            named["es"] = es
        d = align(named)
        x = as_float(d["realized"], "realized")
        v = as_float(d["var"], "var")
        e = as_float(d["es"], "es") if es is not None else np.full_like(v, np.nan)
        idx = d["realized"].index
        forecasts = pd.DataFrame(
            {
                "time": idx,
                "target": idx,
                "model": model,
                "alpha": a,
                "var": v,
                "es": e,
                "realized": x,
                "hit": -x > v,
            }
        )
        diagnostics = pd.DataFrame(columns=list(DIAGNOSTIC_COLUMNS))
        config = {"alphas": (a,), "n_forecasts": int(x.size), "source": "from_forecasts"}
        return cls(forecasts=forecasts, diagnostics=diagnostics, config=freeze_mapping(config))

    # -- views -------------------------------------------------------------------------------
    @property
    def models(self) -> tuple[str, ...]:
        """Model names in the order given."""
        return tuple(pd.unique(self.forecasts["model"]))

    @property
    def alphas(self) -> tuple[float, ...]:
        """Confidence levels in the order given."""
        return tuple(float(a) for a in pd.unique(self.forecasts["alpha"]))

    def _model(self, model: str | None) -> str:
        if model is None:
            if len(self.models) != 1:
                raise ConfigError(f"pass model= one of {list(self.models)}.")
            return self.models[0]
        if model not in self.models:
            raise ConfigError(f"model must be one of {list(self.models)} (got {model!r}).")
        return model

    def _alpha(self, alpha: float) -> float:
        a = check_alpha(alpha)
        if a not in self.alphas:
            raise ConfigError(f"alpha must be one of {list(self.alphas)} (got {alpha!r}).")
        return a

    def frame(self, model: str | None = None, alpha: float | None = None) -> pd.DataFrame:
        """Forecasts of one model (and alpha), indexed by origin ``time``."""
        m = self._model(model)
        f = self.forecasts[self.forecasts["model"] == m]
        if alpha is not None:
            f = f[f["alpha"] == self._alpha(alpha)]
        return f.set_index("time")

    def hits(self, alpha: float, model: str | None = None) -> pd.Series | pd.DataFrame:
        """Hit series at ``alpha``: a Series for one model, else a frame (time x model)."""
        a = self._alpha(alpha)
        f = self.forecasts[self.forecasts["alpha"] == a]
        if model is not None or len(self.models) == 1:
            m = self._model(model)
            return f[f["model"] == m].set_index("time")["hit"].rename(m)
        out = f.pivot(index="time", columns="model", values="hit")
        return out[list(self.models)]

    def to_frame(self) -> pd.DataFrame:
        """The forecasts as a long frame (a copy of :attr:`forecasts`).

        Returns
        -------
        DataFrame
            One row per (origin, model, alpha): ``time``, ``target``, ``model``, ``alpha``,
            ``var``, ``es``, ``realized``, ``hit``; plain columns, so it round-trips through
            parquet.
        """
        return self.forecasts.copy()

    def diagnostics_table(self) -> pd.DataFrame:
        """:attr:`diagnostics` with plain columns only, so that it round-trips through parquet.

        :attr:`diagnostics` keeps ``params`` as dicts and ``params_at_bounds`` as tuples
        (what :meth:`params` and callers read); parquet stores neither as such.

        Returns
        -------
        DataFrame
            The same rows and columns, with ``params`` as JSON text (``json.loads`` gives the
            dict back) and ``params_at_bounds`` as the names joined by ``", "`` (empty: none).
        """
        out = self.diagnostics.copy()
        out["params"] = [
            json.dumps({str(k): float(v) for k, v in dict(p).items()}) for p in out["params"]
        ]
        out["params_at_bounds"] = [", ".join(map(str, x)) for x in out["params_at_bounds"]]
        return out

    def params(self, model: str | None = None) -> pd.DataFrame:
        """Estimated parameters at each refit of one model (time x parameter)."""
        m = self._model(model)
        d = self.diagnostics[self.diagnostics["model"] == m]
        return pd.DataFrame(list(d["params"]), index=pd.DatetimeIndex(d["time"], name="time"))

    # -- tests -------------------------------------------------------------------------------
    def test_results(self, model: str | None = None, alpha: float = 0.99) -> dict[str, Any]:
        """Every backtest statistic of one model at one alpha, as the full result objects.

        Keys: ``kupiec``, ``christoffersen``, ``dq``, ``duration``, ``traffic_light``,
        ``mcneil_frey``. A statistic the sample cannot support (e.g. the duration test with
        fewer than two hits, McNeil-Frey without ES or with fewer than two exceedances) is None.
        """
        a = self._alpha(alpha)
        f = self.frame(model, a)
        hits, var = f["hit"], f["var"]
        out: dict[str, Any] = {
            "kupiec": kupiec(hits, a),
            "christoffersen": christoffersen(hits, a),
            "dq": _nan_on((InsufficientDataError,), dq_test, hits, var, a),
            "duration": _nan_on((InsufficientDataError,), duration_test, hits),
            "traffic_light": traffic_light(hits, a),
            "mcneil_frey": None,
        }
        if np.isfinite(f["es"].to_numpy()).all():
            out["mcneil_frey"] = _nan_on(
                (InsufficientDataError, DataError),
                mcneil_frey,
                f["realized"],
                var,
                f["es"],
                rng=0,
            )
        return out

    def tests(self, alpha: float | None = None, model: str | None = None) -> pd.DataFrame:
        """Coverage and ES tests per (model, alpha) in one table.

        Parameters
        ----------
        alpha : float, optional
            One confidence level; default every level of the run.
        model : str, optional
            One model; default every model.

        Returns
        -------
        pandas.DataFrame
            Index (model, alpha). Columns: ``nobs``, ``hits``, ``expected``, ``hit_rate``,
            ``hit_ratio`` (hit rate / (1 - alpha)), Kupiec ``kupiec_lr``/``kupiec_p``,
            Christoffersen independence ``ind_lr``/``ind_p`` and conditional coverage
            ``cc_lr``/``cc_p``, Engle-Manganelli ``dq_stat``/``dq_p``, Christoffersen-Pelletier
            ``duration_lr``/``duration_p``, the Basel ``traffic_light`` zone, and McNeil-Frey
            ``mf_stat``/``mf_p`` (bootstrap, seed 0). NaN where a test cannot be computed.
        """
        alphas = self.alphas if alpha is None else (self._alpha(alpha),)
        models = self.models if model is None else (self._model(model),)
        rows = []
        for m in models:
            for a in alphas:
                r = self.test_results(m, a)
                k, (ind, cc) = r["kupiec"], r["christoffersen"]

                rows.append(
                    {
                        "model": m,
                        "alpha": a,
                        "nobs": int(k.extra["nobs"]),
                        "hits": int(k.extra["hits"]),
                        "expected": float(k.extra["expected"]),
                        "hit_rate": float(k.extra["hit_rate"]),
                        "hit_ratio": float(k.extra["hit_rate"]) / (1.0 - a),
                        "kupiec_lr": k.statistic,
                        "kupiec_p": k.pvalue,
                        "ind_lr": ind.statistic,
                        "ind_p": ind.pvalue,
                        "cc_lr": cc.statistic,
                        "cc_p": cc.pvalue,
                        "dq_stat": _stat(r["dq"]),
                        "dq_p": _pval(r["dq"]),
                        "duration_lr": _stat(r["duration"]),
                        "duration_p": _pval(r["duration"]),
                        "traffic_light": r["traffic_light"].zone,
                        "mf_stat": _stat(r["mcneil_frey"]),
                        "mf_p": _pval(r["mcneil_frey"]),
                    }
                )
        return pd.DataFrame(rows).set_index(["model", "alpha"])

    # -- plots -------------------------------------------------------------------------------
    def plot(
        self,
        *,
        alpha: float = 0.99,
        models: Sequence[str] | None = None,
        highlight: str | None = None,
        exceedances: bool = True,
        es: bool = True,
        ax: Axes | None = None,
    ) -> Axes:
        """Draw the VaR (and ES) bands against the realized P&L, exceedances marked.

        Drawn, on the date each P&L is realized (``target``): the realized P&L as a thin grey
        line; each model's ``-VaR`` at ``alpha`` as a line (losses are negative P&L, so a hit
        is a grey point below its model's line); the ``highlight`` model's ``-ES`` dashed in
        the same colour; and that model's exceedances (``hit``) as red dots at their P&L.

        Parameters
        ----------
        alpha : float, default 0.99
            The VaR level shown (one of :attr:`alphas`).
        models : sequence of str, optional
            Models drawn, in this order (default every model).
        highlight : str, optional
            Model whose ES and exceedances are drawn (default the first of ``models``).
        exceedances : bool, default True
            Mark the highlighted model's exceedances.
        es : bool, default True
            Draw the highlighted model's ``-ES`` (skipped when the run has no ES).
        ax : matplotlib.axes.Axes, optional
            Where to draw; default a new figure in the report style.

        Returns
        -------
        matplotlib.axes.Axes
            ``ax.lines``: the realized P&L, then ``-VaR`` per model, then ``-ES``;
            ``ax.collections[0]``: the exceedances.

        Raises
        ------
        ConfigError
            ``alpha``, ``models`` or ``highlight`` not in the run.
        """
        from riskmodels.reporting import figures

        a = self._alpha(alpha)
        shown = list(self.models) if models is None else [self._model(m) for m in models]
        if not shown:
            raise ConfigError(f"models must name at least one of {list(self.models)}.")
        hl = shown[0] if highlight is None else self._model(highlight)
        f = self.forecasts[self.forecasts["alpha"] == a]
        ax = figures.new_axes(ax, figsize=(11.0, 4.0))
        first = f[f["model"] == shown[0]].set_index("target")["realized"]
        ax.plot(
            first.index,
            first.to_numpy(),
            lw=0.5,
            color=figures.REALIZED_COLOUR,
            label="realized P&L",
        )
        colours = dict(zip(self.models, figures.palette(len(self.models)), strict=True))
        for m in shown:
            v = f[f["model"] == m].set_index("target")["var"]
            ax.plot(v.index, -v.to_numpy(), lw=0.8, color=colours[m], label=f"-VaR {m}")
        mine = f[f["model"] == hl].set_index("target")
        if es and np.isfinite(mine["es"].to_numpy()).all():
            ax.plot(
                mine.index,
                -mine["es"].to_numpy(),
                lw=0.8,
                ls="--",
                color=colours[hl],
                label=f"-ES {hl}",
            )
        if exceedances:
            h = mine.loc[mine["hit"].to_numpy(dtype=bool), "realized"]
            ax.scatter(
                h.index,
                h.to_numpy(),
                color=figures.ALERT_COLOUR,
                s=12,
                zorder=3,
                label=f"{hl} exceedance ({len(h)})",
            )
        ax.set_ylabel("P&L")
        ax.set_xlabel("")
        ax.set_title(f"{alpha:.1%} VaR against realized P&L")
        ax.legend(ncol=3, fontsize=8)
        if isinstance(first.index, pd.DatetimeIndex):
            figures.date_axis(ax)
        return ax

    def plot_traffic_light(
        self,
        *,
        alpha: float = 0.99,
        model: str | None = None,
        window: int = 250,
        label: str | None = None,
        ax: Axes | None = None,
    ) -> Axes:
        """Draw the exceptions of one model's VaR over rolling windows on the Basel zones.

        Drawn: the number of hits in the last ``window`` forecasts (fewer at the start when
        the run is shorter than ``window``) as a line by forecast origin, over horizontal bands
        of the Basel traffic-light zones for ``window`` forecasts at ``alpha`` from
        :func:`riskmodels.backtest.traffic_light` (green below ``yellow_from``, yellow below
        ``red_from``, red from there; 0-4, 5-9, 10+ for 250 days at 99 %). Calling it again on
        the same Axes (another book or model) adds a line, not a second set of bands. A dot
        marks the latest window's count.

        Parameters
        ----------
        alpha : float, default 0.99
            The VaR level (one of :attr:`alphas`).
        model : str, optional
            The model (default the only one; required when the run has several).
        window : int, default 250
            Forecasts per window (250 is the Basel year).
        label : str, optional
            Legend entry of the line (default the model's name).
        ax : matplotlib.axes.Axes, optional
            Where to draw; default a new figure in the report style.

        Returns
        -------
        matplotlib.axes.Axes
            ``ax.lines[-1]`` is the rolling count (NaN before the first full window).
        """
        from matplotlib.ticker import MaxNLocator

        from riskmodels.reporting import figures

        if isinstance(window, bool) or not isinstance(window, (int, np.integer)) or window < 1:
            raise ConfigError(
                f"window must be a positive integer (got {window!r}); 250 is Basel's."
            )
        m = self._model(model)
        h = self.hits(alpha, model=m).astype(float)
        n = min(int(window), len(h))
        counts = h.rolling(int(window), min_periods=n).sum()
        zones = traffic_light(np.zeros(n, dtype=bool), self._alpha(alpha))
        ax = figures.new_axes(ax, figsize=(11.0, 3.5))
        gid = f"traffic_light_zones:{n}:{zones.alpha:g}"
        fresh = not any(p.get_gid() == gid for p in ax.patches)
        if fresh:
            edges = [0.0, zones.yellow_from - 0.5, zones.red_from - 0.5, float(max(n, 1))]
            for (name, colour), lo, hi in zip(
                figures.ZONE_COLOURS.items(), edges[:-1], edges[1:], strict=True
            ):
                band = ax.axhspan(lo, hi, color=colour, alpha=0.1, lw=0)
                band.set_gid(gid)
                ax.text(  # at the band's start: the red band runs far above the view
                    1.005,
                    max(lo, 0.0),
                    name,
                    transform=ax.get_yaxis_transform(),
                    fontsize=8,
                    color=colour,
                    va="bottom",
                )
        y = counts.to_numpy()
        last = np.flatnonzero(np.isfinite(y))[-1:]  # the latest window (visible even alone)
        ax.plot(counts.index, y, lw=1.0, marker="o", ms=4, markevery=list(last), label=label or m)
        # the red band runs to n (every forecast a hit): show up to twice its start
        drawn = [np.asarray(ln.get_ydata(), dtype=float) for ln in ax.lines]
        peak = max((float(np.nanmax(y, initial=0.0)) for y in drawn), default=0.0)
        ax.set_ylim(0.0, max(2.0 * zones.red_from, peak + 1.0))
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        if len(counts) > 1:  # the whole run, also where the first window is not yet full
            x0, x1 = ax.convert_xunits(counts.index[0]), ax.convert_xunits(counts.index[-1])
            if not fresh:
                x0, x1 = min(x0, ax.get_xlim()[0]), max(x1, ax.get_xlim()[1])
            ax.set_xlim(x0, x1)
        ax.set_ylabel(f"{zones.alpha:.0%} exceptions in {n} forecasts")
        ax.set_xlabel("")
        ax.set_title(f"Basel traffic light over rolling {n}-forecast windows")
        ax.legend(fontsize=8, loc="upper left")
        if isinstance(counts.index, pd.DatetimeIndex):
            figures.date_axis(ax)
        return ax

    # -- presentation ------------------------------------------------------------------------
    def summary(self) -> Summary:
        """Schedule, refit counts and the test table as a statsmodels ``Summary`` (text, HTML,
        LaTeX; no wall-clock times, so diffable): the package's one ``summary()`` type for fitted
        models and backtests (``str(result.summary())`` for the text)."""
        c = self.config
        lines = [
            f"  models: {', '.join(self.models)}",
            f"  alphas: {', '.join(f'{a:g}' for a in self.alphas)}",
        ]
        if "window" in c:
            lines += [
                f"  origins: {c['start']} to {c['end']} ({c['n_forecasts']} forecasts)",
                f"  horizon: {c['horizon']} ({c['horizon_bars']} bar(s)); window {c['window']} "
                f"bars; refit every {c['refit_every']}; {c['n_chunks']} chunk(s) of "
                f"{c['chunk_size']} refit(s); seed {c['seed']}",
            ]
            if "backend" in c:
                lines.append(f"  backend: {c['backend']}")
        d = self.diagnostics
        if len(d):
            for m, g in d.groupby("model", sort=False):
                at = int(sum(bool(x) for x in g["params_at_bounds"]))
                lines.append(
                    f"  {m}: {len(g)} refit(s), {int((~g['converged'].astype(bool)).sum())} not "
                    f"converged, {at} with parameters at bounds"
                )
        return text_summary(
            "Walk-forward VaR/ES backtest", lines, [("Backtests per model and level", self.tests())]
        )

    def __str__(self) -> str:
        return str(self.summary())

    def __repr__(self) -> str:
        c = self.config
        span = f", start={c['start']}, end={c['end']}" if "start" in c else ""
        return (
            f"WalkForwardResult(models={list(self.models)}, alphas={list(self.alphas)}, "
            f"n_forecasts={c.get('n_forecasts')}{span}, refits={len(self.diagnostics)})"
        )

    def _repr_html_(self) -> str:
        c = self.config
        rows = [
            ("models", ", ".join(self.models)),
            ("alphas", ", ".join(f"{a:g}" for a in self.alphas)),
            ("forecasts", str(c.get("n_forecasts"))),
        ]
        if "window" in c:
            rows += [
                ("origins", f"{c['start']} to {c['end']}"),
                ("horizon", f"{c['horizon']} ({c['horizon_bars']} bar(s))"),
                ("window / refit every", f"{c['window']} / {c['refit_every']} bars"),
                ("refits", str(len(self.diagnostics))),
                (
                    "not converged",
                    str(int((~self.diagnostics["converged"].astype(bool)).sum())),
                ),
            ]
        head = html_table(rows, caption="Walk-forward VaR/ES backtest")
        tests = self.tests()
        kinds = {c: "pvalue" for c in tests.columns if c.endswith("_p")}
        kinds.update(nobs="count", hits="count", hit_rate="pct")
        table = table_html(tests, kinds)
        return f"{head}<p>Backtest statistics (p-values: small values reject the model)</p>{table}"
