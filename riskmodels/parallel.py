r"""Run independent tasks in this process, in joblib's loky processes, or on dask.distributed.

The walk-forward engine (:func:`riskmodels.backtest.walk_forward`) and the calibration grid
(:func:`riskmodels.calibration.calibration_grid`) both split their work into independent tasks
whose inputs, seeds and boundaries are fixed before anything runs, and hand them to
:func:`run_tasks`. Where a task runs therefore never changes what it computes: the same tasks
give bit-identical outputs in this process, in loky processes or on a dask cluster.

>>> from riskmodels.parallel import run_tasks                         # doctest: +SKIP
>>> out = {}
>>> run = run_tasks(fit_one, cells, shared=returns, backend="dask", n_jobs=4,
...                 on_done=out.__setitem__)
>>> run.failures          # {} when every task finished

Backends
--------
``"sequential"``
    One task after another in this process (also what ``"loky"`` does with ``n_jobs=1``).
``"loky"``
    joblib's loky process pool, ``n_jobs`` workers (-1: every core). Tasks are pickled to the
    workers with their inputs, so a task should carry only the rows it needs.
``"dask"``
    dask.distributed: a ``LocalCluster`` on 127.0.0.1 started for the run (``n_jobs``
    processes of one thread each) and closed after it, or an existing cluster (``scheduler=``
    an address such as ``"tcp://10.0.0.5:8786"``, or a ``distributed.Client``). ``shared``
    is scattered once to every worker (``client.scatter(..., broadcast=True)``) and each task
    is shipped without its own copy (``strip``). The dashboard link is printed when the
    cluster serves one (``bokeh`` installed) and ``progress`` is on.

Every task runs under one BLAS thread (:func:`riskmodels._threads.blas_threads`): BLAS
threading changes floating-point reductions and hence optimizer paths.

Failures
--------
A task that fails because its worker died (loky ``TerminatedWorkerError`` or
``BrokenProcessPool``, dask ``KilledWorker``, an ``OSError`` that is not a riskmodels error)
or that the cluster cancelled (a dask ``CancelledError``: the scattered data were lost with the
last worker holding them, and are sent again) is run again, up to ``retries`` times; a task's own error (a riskmodels error, ``ValueError``,
...) is deterministic and is not. With ``stop_on_error=True`` the run stops at the first task
that fails for good; otherwise the other tasks finish and the failures are returned. Outputs
reach ``on_done`` as tasks finish, so a caller that stores them (e.g. in a
:class:`TaskCache`) keeps everything that finished.
"""

from __future__ import annotations

import atexit
import concurrent.futures
import contextlib
import dataclasses
import hashlib
import hmac
import importlib.util
import os
import pickle
import secrets
import stat
import tempfile
import traceback
import warnings
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import BrokenExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from joblib import Parallel, cpu_count, delayed
from tqdm.auto import tqdm

from riskmodels._io import TMP_SUFFIX, atomic_writer, fsync_dir, sweep_temp_files, temp_prefix
from riskmodels._threads import blas_threads
from riskmodels.exceptions import ConfigError, RiskModelsError, RiskModelsWarning

__all__ = [
    "BACKENDS",
    "CACHE_KEY_FILE",
    "CRASH_ERRORS",
    "DEFAULT_DASK_WORKERS",
    "ENTRY_STATUSES",
    "ON_TASK_ERROR",
    "CacheIntegrityWarning",
    "CachedRun",
    "RunOptions",
    "TaskCache",
    "TaskRun",
    "check_backend",
    "check_n_jobs",
    "check_on_task_error",
    "check_retries",
    "failure_text",
    "is_crash",
    "resolve_run_options",
    "run_cached",
    "run_tasks",
    "session_scheduler",
    "verify_cache",
    "warn_failed",
]

#: Execution backends.
BACKENDS: tuple[str, ...] = ("loky", "dask", "sequential")
#: What a grid does with a task that fails for good: raise, or return what finished.
ON_TASK_ERROR: tuple[str, ...] = ("raise", "partial")
#: Exception class names (beyond ``OSError`` and ``concurrent.futures.BrokenExecutor``) that
#: mean a worker died, not that the task failed: such a task is run again (``retries``).
CRASH_ERRORS: tuple[str, ...] = (
    "TerminatedWorkerError",
    "KilledWorker",
    "BrokenProcessPool",
    "CancelledError",  # a dask task cancelled by the cluster (lost data), not by the task
)
#: Workers of the LocalCluster started for ``backend="dask"`` when ``n_jobs`` is not given.
DEFAULT_DASK_WORKERS = 2

#: Failures of a run: task number -> (exception, attempts).
Failures = dict[int, tuple[BaseException, int]]


# ---------------------------------------------------------------------------------------------
# Argument checks (shared by every function that takes these options)
# ---------------------------------------------------------------------------------------------
def check_backend(backend: object, scheduler: object = None) -> str:
    """``backend`` if valid; ``scheduler`` only with ``"dask"``.

    Raises
    ------
    ConfigError
        An unknown backend, or a scheduler given with another backend.
    """
    if not isinstance(backend, str) or backend not in BACKENDS:
        raise ConfigError(
            f"backend must be one of {list(BACKENDS)} (got {backend!r}): 'loky' (joblib "
            "processes, the default), 'dask' (dask.distributed) or 'sequential' (this process)."
        )
    if scheduler is not None and backend != "dask":
        raise ConfigError(
            f"scheduler is only used with backend='dask' (got scheduler={scheduler!r} with "
            f"backend={backend!r}). Pass backend='dask', or drop scheduler."
        )
    return backend


def check_n_jobs(n_jobs: object) -> int | None:
    """``n_jobs`` as an int (-1: every core), or None for the default.

    Raises
    ------
    ConfigError
        Zero, below -1, a bool or not an integer.
    """
    if n_jobs is None:
        return None
    if (
        isinstance(n_jobs, bool)
        or not isinstance(n_jobs, int | np.integer)
        or n_jobs == 0
        or n_jobs < -1
    ):
        raise ConfigError(
            f"n_jobs must be a positive integer or -1 for every core (got {n_jobs!r}), or None "
            "for the default. Results do not depend on it."
        )
    return int(n_jobs)


def check_retries(retries: object) -> int:
    """``retries`` as a non-negative int.

    Raises
    ------
    ConfigError
        Negative, a bool or not an integer.
    """
    if isinstance(retries, bool) or not isinstance(retries, int | np.integer) or retries < 0:
        raise ConfigError(
            f"retries must be an integer >= 0 (got {retries!r}). It is how often a task is "
            "re-run after a worker crash."
        )
    return int(retries)


def check_on_task_error(on_task_error: object) -> str:
    """``on_task_error`` if it is ``"raise"`` or ``"partial"``.

    Raises
    ------
    ConfigError
        Anything else.
    """
    if not isinstance(on_task_error, str) or on_task_error not in ON_TASK_ERROR:
        raise ConfigError(
            f"on_task_error must be one of {list(ON_TASK_ERROR)} (got {on_task_error!r}): "
            "'raise' a failed task's error, or return the 'partial' result of the tasks that "
            "finished."
        )
    return on_task_error


#: The options every engine that runs tasks takes, in this order.
RUN_OPTION_NAMES: tuple[str, ...] = (
    "backend",
    "n_jobs",
    "scheduler",
    "cache_dir",
    "retries",
    "on_task_error",
    "progress",
)


@dataclass(frozen=True, kw_only=True)
class RunOptions:
    """Where and how an engine runs its tasks: one object, built once, passed to every engine.

    The walk-forward backtest, the calibration grid and the close-out calibrations take it as
    ``run=``; none of these options changes a number (the tasks, their inputs and seeds are
    fixed before anything runs).

    Parameters
    ----------
    backend : {"loky", "dask", "sequential"}, default "loky"
        See the module docstring.
    n_jobs : int, optional
        Workers (``-1``: every core); None: the backend's default.
    scheduler : str or distributed.Client, optional
        ``backend="dask"`` only: a running scheduler's address or a client.
    cache_dir : str or PathLike, optional
        Folder where each task's output is stored as it finishes (:class:`TaskCache`), so an
        interrupted run resumes.
    retries : int, default 1
        Re-runs of a task after a worker crash.
    on_task_error : {"raise", "partial"}, default "raise"
        What a run does with a task that fails for good.
    progress : bool, default True
        A progress bar (and the dask dashboard link).

    Raises
    ------
    ConfigError
        An invalid option (the same checks and messages as the engines' own arguments).

    Examples
    --------
    >>> from riskmodels.parallel import RunOptions
    >>> run = RunOptions(backend="sequential", progress=False)
    >>> run.replace(n_jobs=2).n_jobs
    2
    """

    backend: str = "loky"
    n_jobs: int | None = None
    scheduler: Any = None
    cache_dir: str | os.PathLike[str] | None = None
    retries: int = 1
    on_task_error: str = "raise"
    progress: bool = True

    def __post_init__(self) -> None:
        check_backend(self.backend, self.scheduler)
        object.__setattr__(self, "n_jobs", check_n_jobs(self.n_jobs))
        object.__setattr__(self, "retries", check_retries(self.retries))
        check_on_task_error(self.on_task_error)
        if not isinstance(self.progress, bool):
            raise ConfigError(f"progress must be True or False (got {self.progress!r}).")
        if self.cache_dir is not None and not isinstance(self.cache_dir, str | os.PathLike):
            raise ConfigError(  # the same words as TaskCache's own check
                f"cache_dir must be a directory path (got {type(self.cache_dir).__name__}: "
                f"{self.cache_dir!r}), or None for no cache."
            )

    @classmethod
    def from_config(cls, config: Any, **overrides: Any) -> RunOptions:
        """The options of a run configuration's ``[run]`` section.

        Parameters
        ----------
        config : RunConfig or its ``run`` section
            :func:`riskmodels.config.load_config`'s result (``backend``, ``n_jobs``,
            ``scheduler``, ``cache_dir``, ``retries`` are read; the section has no
            ``on_task_error`` or ``progress``, which keep their defaults).
        **overrides
            Options to set instead (e.g. ``progress=False``).
        """
        section = getattr(config, "run", config)
        values = {n: getattr(section, n) for n in RUN_OPTION_NAMES if hasattr(section, n)}
        return cls(**{**values, **overrides})

    def replace(self, **changes: Any) -> RunOptions:
        """A copy with ``changes`` (validated)."""
        return dataclasses.replace(self, **changes)

    def kwargs(self) -> dict[str, Any]:
        """The options as keyword arguments (``backend=..., n_jobs=..., ...``)."""
        return {n: getattr(self, n) for n in RUN_OPTION_NAMES}

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly options, for a result's ``config`` (a client becomes its address)."""
        out = self.kwargs()
        sched = out["scheduler"]
        if sched is not None and not isinstance(sched, str):
            out["scheduler"] = str(getattr(getattr(sched, "scheduler", None), "address", sched))
        if out["cache_dir"] is not None:
            out["cache_dir"] = os.fspath(out["cache_dir"])
        return out


def resolve_run_options(run: RunOptions | None, **given: Any) -> RunOptions:
    """One :class:`RunOptions` from an engine's ``run=`` and its individual option arguments.

    An engine keeps its individual keywords (``backend=``, ``n_jobs=``, ...) for existing code;
    ``run=`` is the one object to pass instead. Passing both is refused when they disagree.

    Parameters
    ----------
    run : RunOptions or None
    **given
        The engine's individual option arguments as received (only names in
        :data:`RUN_OPTION_NAMES`).

    Raises
    ------
    ConfigError
        ``run`` is not a RunOptions, or an individual option differs from its default while
        ``run`` is given.
    """
    unknown = sorted(set(given) - set(RUN_OPTION_NAMES))
    if unknown:  # pragma: no cover - a programming error in an engine
        raise TypeError(f"not run options: {unknown}")
    if run is None:
        return RunOptions(**given)
    if not isinstance(run, RunOptions):
        raise ConfigError(
            f"run must be a riskmodels.parallel.RunOptions (got {type(run).__name__}): build "
            "one with RunOptions(backend=..., n_jobs=...) or RunOptions.from_config(config)."
        )
    defaults = RunOptions()
    clash = sorted(
        n for n, v in given.items() if v is not getattr(defaults, n) and v != getattr(defaults, n)
    )
    if clash:
        raise ConfigError(
            f"{', '.join(clash)} given both in run= and as separate arguments: set them on the "
            f"RunOptions instead (run.replace({clash[0]}=...))."
        )
    return run


def is_crash(exc: BaseException) -> bool:
    """True for a dead worker or a broken pool (retried), False for a task's own error."""
    if isinstance(exc, RiskModelsError):
        return False
    if isinstance(exc, OSError | BrokenExecutor):
        return True
    return any(c.__name__ in CRASH_ERRORS for c in type(exc).__mro__)


def import_distributed() -> Any:
    """The ``distributed`` module, or a ConfigError saying how to install it."""
    try:
        import distributed
    except ImportError as exc:
        raise ConfigError(
            "backend='dask' needs dask.distributed, which is not installed: "
            "pip install riskmodels[distributed] (or pip install 'dask[distributed]')."
        ) from exc
    return distributed


# ---------------------------------------------------------------------------------------------
# Workers
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class _Caught:
    """A task's exception, returned (not raised) by a loky worker so the other tasks go on."""

    exc: BaseException


def _call(fn: Callable[[Any, Any], Any], shared: Any, task: Any) -> Any:
    """One task under one BLAS thread."""
    with blas_threads(limits=1):
        return fn(shared, task)


def _call_caught(fn: Callable[[Any, Any], Any], shared: Any, task: Any) -> Any:
    """Loky worker: :func:`_call`, its exception returned with the worker's traceback."""
    try:
        return _call(fn, shared, task)
    except Exception as exc:
        with contextlib.suppress(AttributeError, TypeError):
            exc.add_note("".join(traceback.format_exception(exc)).rstrip())
        return _Caught(exc)


# ---------------------------------------------------------------------------------------------
# Runner
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class TaskRun:
    """What :func:`run_tasks` did.

    Attributes
    ----------
    backend : str
        The backend that ran the tasks (``"loky"`` with one job is reported as
        ``"sequential"``).
    n_workers : int
        Worker processes (1 in this process; the cluster's workers on dask).
    reruns : int
        Tasks run again after a worker crash.
    failures : dict of int to (exception, int)
        Tasks that failed for good: task number -> (exception, attempts).
    dashboard : str or None
        The dask dashboard link, when there was one.
    """

    backend: str
    n_workers: int
    reruns: int = 0
    failures: Failures = field(default_factory=dict)
    dashboard: str | None = None


def run_tasks(
    fn: Callable[[Any, Any], Any],
    tasks: Sequence[Any],
    *,
    on_done: Callable[[int, Any], None],
    pending: Sequence[int] | None = None,
    shared: Any = None,
    strip: Callable[[Any], Any] | None = None,
    backend: str = "loky",
    n_jobs: int | None = None,
    scheduler: Any = None,
    retries: int = 1,
    stop_on_error: bool = True,
    progress: bool = False,
    label: str = "riskmodels",
) -> TaskRun:
    """Run ``fn(shared, task)`` for each pending task; outputs go to ``on_done(i, output)``.

    Parameters
    ----------
    fn : callable
        ``fn(shared, task) -> output``; a module-level function (it is pickled to workers).
    tasks : sequence
        Picklable task descriptions; their order numbers them.
    on_done : callable
        Called in this process as ``on_done(i, output)`` when task ``i`` finishes, in
        completion order.
    pending : sequence of int, optional
        The task numbers to run (default all), e.g. those not found in a cache.
    shared : object, optional
        Data every task reads (e.g. the returns panel), passed as ``fn``'s first argument; on
        dask it is scattered once to every worker.
    strip : callable, optional
        ``strip(task)``: the task without the data it carries, shipped on dask where ``shared``
        already holds it.
    backend : {"loky", "dask", "sequential"}, default "loky"
    n_jobs : int, optional
        Workers; -1 for every core. None: 1 for loky (this process), 2 for a dask LocalCluster;
        ignored with an existing dask ``scheduler``.
    scheduler : str or distributed.Client, optional
        ``backend="dask"`` only: an existing cluster; None starts a LocalCluster for the run.
    retries : int, default 1
        Re-runs of a task after a worker crash (:func:`is_crash`).
    stop_on_error : bool, default True
        Stop at the first task that fails for good (its error is in ``failures``; the caller
        raises it); False finishes the others.
    progress : bool, default False
        Print the dask dashboard link when there is one.
    label : str
        Prefix of printed lines.

    Returns
    -------
    TaskRun

    Raises
    ------
    ConfigError
        A bad ``backend``, ``scheduler``, ``n_jobs`` or ``retries``; dask not installed.
    """
    backend = check_backend(backend, scheduler)
    n_jobs = check_n_jobs(n_jobs)
    retries = check_retries(retries)
    todo = list(range(len(tasks))) if pending is None else list(pending)
    if backend == "loky" and n_jobs in (None, 1):
        backend = "sequential"
    if backend == "dask":
        distributed = import_distributed()
        if not todo:
            return TaskRun(backend="dask", n_workers=0)
        return _run_dask(
            distributed,
            fn,
            tasks,
            todo,
            shared,
            strip,
            scheduler,
            n_jobs,
            retries,
            stop_on_error,
            on_done,
            progress,
            label,
        )
    if backend == "sequential" or not todo:
        failures, reruns = _run_sequential(fn, tasks, todo, shared, retries, stop_on_error, on_done)
        return TaskRun(backend="sequential", n_workers=1, reruns=reruns, failures=failures)
    workers = int(n_jobs) if n_jobs != -1 else (cpu_count())  # type: ignore[arg-type]
    failures, reruns = _run_loky(fn, tasks, todo, shared, workers, retries, stop_on_error, on_done)
    return TaskRun(backend="loky", n_workers=workers, reruns=reruns, failures=failures)


def _run_sequential(
    fn: Callable[[Any, Any], Any],
    tasks: Sequence[Any],
    todo: list[int],
    shared: Any,
    retries: int,
    stop: bool,
    on_done: Callable[[int, Any], None],
) -> tuple[Failures, int]:
    failures: Failures = {}
    reruns = 0
    for i in todo:
        attempts = 0
        while True:
            attempts += 1
            try:
                out = _call(fn, shared, tasks[i])
            except Exception as exc:
                if is_crash(exc) and attempts <= retries:
                    reruns += 1
                    continue
                failures[i] = (exc, attempts)
                if stop:
                    return failures, reruns
                break
            on_done(i, out)
            break
    return failures, reruns


def _run_loky(
    fn: Callable[[Any, Any], Any],
    tasks: Sequence[Any],
    todo: list[int],
    shared: Any,
    n_jobs: int,
    retries: int,
    stop: bool,
    on_done: Callable[[int, Any], None],
) -> tuple[Failures, int]:
    """Loky processes; a broken pool (a worker died) re-runs the unfinished tasks."""
    failures: Failures = {}
    attempts = dict.fromkeys(todo, 0)
    reruns = 0
    while todo:
        for i in todo:
            attempts[i] += 1
        runner = Parallel(n_jobs=n_jobs, backend="loky", return_as="generator")
        results = runner(delayed(_call_caught)(fn, shared, tasks[i]) for i in todo)
        finished: set[int] = set()
        again: list[int] = []
        try:
            for i, res in zip(todo, results, strict=False):
                finished.add(i)
                if not isinstance(res, _Caught):
                    on_done(i, res)
                elif is_crash(res.exc) and attempts[i] <= retries:
                    again.append(i)
                else:
                    failures[i] = (res.exc, attempts[i])
                    if stop:
                        return failures, reruns
        except Exception as exc:  # the pool itself broke (a worker died)
            if not is_crash(exc):
                raise
            for i in todo:
                if i in finished:
                    continue
                if attempts[i] <= retries:
                    again.append(i)
                else:
                    failures[i] = (exc, attempts[i])
                    if stop:
                        return failures, reruns
        finally:
            results.close()
        reruns += len(again)
        todo = sorted(again)
    return failures, reruns


def _has_dashboard() -> bool:
    """Whether a dask scheduler here can serve its dashboard (it needs bokeh)."""
    return importlib.util.find_spec("bokeh") is not None


def dask_client(distributed: Any, scheduler: object, n_jobs: int | None, stack: Any) -> Any:
    """A client for ``scheduler``; a LocalCluster started (and closed by ``stack``) when None.

    The LocalCluster's dashboard binds a free port (``":0"``): ``dashboard_address=None`` does
    not turn it off in distributed (dask/distributed#8136) and the fixed default 8787 clashes
    between concurrent runs.
    """
    if scheduler is None:
        if n_jobs is None:
            n_workers = DEFAULT_DASK_WORKERS
        elif n_jobs == -1:
            n_workers = cpu_count()
        else:
            n_workers = n_jobs
        cluster = stack.enter_context(
            distributed.LocalCluster(
                n_workers=n_workers,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address=":0",
            )
        )
        return stack.enter_context(distributed.Client(cluster))
    if isinstance(scheduler, distributed.Client):
        return scheduler
    if isinstance(scheduler, str) and "://" in scheduler:
        return stack.enter_context(distributed.Client(scheduler))
    raise ConfigError(
        "scheduler must be a dask scheduler address such as 'tcp://127.0.0.1:8786', a "
        f"distributed.Client, or None to start a LocalCluster for the run (got "
        f"{type(scheduler).__name__}: {scheduler!r})."
    )


#: LocalClusters started by :func:`session_scheduler`, by worker count: (exit stack, client).
_SESSION: dict[int, tuple[Any, Any]] = {}


def session_scheduler(backend: str, n_jobs: int | None = None, scheduler: Any = None) -> Any:
    """The scheduler to pass to every call of a session (a notebook, a script) that runs on
    ``backend``: one LocalCluster shared by all of them instead of one per call.

    Parameters
    ----------
    backend : {"loky", "dask", "sequential"}
    n_jobs : int, optional
        Workers of the LocalCluster (-1: every core; default 2).
    scheduler : str or distributed.Client, optional
        An existing cluster: returned unchanged.

    Returns
    -------
    object
        ``scheduler`` unchanged unless ``backend="dask"`` and ``scheduler`` is None; then a
        ``distributed.Client`` of a LocalCluster (127.0.0.1, ``n_jobs`` processes of one
        thread) started on the first call for that worker count, reused by later calls and
        closed when the interpreter exits.

    Raises
    ------
    ConfigError
        A bad ``backend``, ``scheduler`` or ``n_jobs``; dask not installed.
    """
    backend = check_backend(backend, scheduler)
    n_jobs = check_n_jobs(n_jobs)
    if backend != "dask" or scheduler is not None:
        return scheduler
    distributed = import_distributed()
    workers = DEFAULT_DASK_WORKERS if n_jobs is None else n_jobs
    if workers == -1:
        workers = cpu_count()
    got = _SESSION.get(workers)
    if got is not None and got[1].status == "running":
        return got[1]
    stack = contextlib.ExitStack()
    client = dask_client(distributed, None, workers, stack)
    _SESSION[workers] = (stack, client)
    atexit.register(stack.close)
    return client


def _run_dask(
    distributed: Any,
    fn: Callable[[Any, Any], Any],
    tasks: Sequence[Any],
    todo: list[int],
    shared: Any,
    strip: Callable[[Any], Any] | None,
    scheduler: Any,
    n_jobs: int | None,
    retries: int,
    stop: bool,
    on_done: Callable[[int, Any], None],
    progress: bool,
    label: str,
) -> TaskRun:
    """dask.distributed; a task whose worker died (``KilledWorker``, after the scheduler's own
    ``allowed_failures``) or that raised a crash-type error is submitted again."""
    failures: Failures = {}
    reruns = 0
    dashboard = None
    with contextlib.ExitStack() as stack:
        client = dask_client(distributed, scheduler, n_jobs, stack)
        info = client.scheduler_info()
        if info.get("services", {}).get("dashboard") is not None and _has_dashboard():
            dashboard = str(client.dashboard_link)
            if progress:
                print(f"{label}: dask dashboard at {dashboard}")

        # One future for the whole object (a dict would be split by its keys) under a fresh
        # key (hash=False): a content-hash key is shared by another run on the same client
        # with equal data, whose clean-up would cancel this run's tasks.
        def scatter() -> Any:
            return client.scatter([shared], broadcast=True, hash=False)[0]

        data = scatter() if shared is not None else None
        attempts = dict.fromkeys(todo, 1)
        owner: dict[str, int] = {}
        sent_with: dict[str, str] = {}  # task key -> key of the data it was sent with
        live: list[Any] = [] if data is None else [data]

        def submit(i: int) -> Any:
            task = tasks[i] if strip is None or data is None else strip(tasks[i])
            fut = client.submit(_call, fn, data, task, pure=False)
            owner[fut.key] = i
            if data is not None:
                sent_with[fut.key] = data.key
            live.append(fut)
            return fut

        try:
            queue = distributed.as_completed([submit(i) for i in todo])
            for fut in queue:
                i = owner[fut.key]
                if fut.status == "finished":
                    on_done(i, fut.result())
                    continue
                try:
                    exc = fut.exception()
                except Exception as err:  # cancelled: no exception to fetch
                    exc = err
                if exc is None:  # cancelled (by another client, or its data was lost)
                    exc = concurrent.futures.CancelledError(
                        f"{label}: task {i} was cancelled on the dask cluster (status "
                        f"{fut.status!r})."
                    )
                if is_crash(exc) and attempts[i] <= retries:
                    if (
                        isinstance(exc, concurrent.futures.CancelledError)
                        and data is not None
                        and sent_with.get(fut.key) == data.key
                    ):
                        # Cancelled by the cluster: typically the scattered data went with the
                        # last worker holding it (the scheduler's memory manager may drop
                        # broadcast replicas no queued task needs). Send it again, once per
                        # loss (tasks sent with an older copy do not trigger another).
                        data = scatter()
                        live.append(data)
                    attempts[i] += 1
                    reruns += 1
                    queue.add(submit(i))
                else:
                    failures[i] = (exc, attempts[i])
                    if stop:
                        break
        finally:
            client.cancel(live)
        n_workers = len(client.scheduler_info().get("workers", {}))
    return TaskRun(
        backend="dask", n_workers=n_workers, reruns=reruns, failures=failures, dashboard=dashboard
    )


# ---------------------------------------------------------------------------------------------
# On-disk task cache
# ---------------------------------------------------------------------------------------------
def _spec_bytes(obj: object) -> bytes:
    """Bytes that identify a spec by its type and hyper-parameters (:meth:`TaskKey.spec`)."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        parts = [f"{type(obj).__module__}.{type(obj).__qualname__}".encode()]
        for f in dataclasses.fields(obj):
            value = _spec_bytes(getattr(obj, f.name))
            parts.append(f.name.encode() + b"=" + len(value).to_bytes(8, "little") + value)
        return b"dataclass(" + b"\0".join(parts) + b")"
    if type(obj) in (tuple, list):
        items = [_spec_bytes(x) for x in obj]  # type: ignore[attr-defined]
        inner = b"".join(len(x).to_bytes(8, "little") + x for x in items)
        return type(obj).__name__.encode() + b"(" + inner + b")"
    try:
        return pickle.dumps(obj, protocol=4)
    except (pickle.PicklingError, TypeError, AttributeError):
        return f"{type(obj).__module__}.{type(obj).__qualname__}:{obj!r}".encode()


class TaskKey:
    """An incremental SHA-256 over tagged, length-prefixed parts (no two inputs collide by
    concatenation)."""

    def __init__(self) -> None:
        self._h = hashlib.sha256()

    def put(self, tag: str, payload: bytes | str) -> TaskKey:
        """Add ``payload`` under ``tag``; returns self."""
        b = payload.encode() if isinstance(payload, str) else payload
        self._h.update(tag.encode() + b"\0" + len(b).to_bytes(8, "little") + b)
        return self

    def frame(self, tag: str, frame: pd.DataFrame | pd.Series) -> TaskKey:
        """Add a float frame's values, index (as int64 nanoseconds and dtype) and columns."""
        f = frame.to_frame() if isinstance(frame, pd.Series) else frame
        self.put(f"{tag}.values", np.ascontiguousarray(f.to_numpy(dtype=float)).tobytes())
        self.put(f"{tag}.index", np.ascontiguousarray(f.index.asi8).tobytes())
        self.put(f"{tag}.index_dtype", str(f.index.dtype))
        return self.put(f"{tag}.columns", repr(list(f.columns)))

    def spec(self, tag: str, obj: object) -> TaskKey:
        """Add a spec object: its hyper-parameters, whatever it has computed since.

        A dataclass counts by its type and its fields, recursively (:func:`_spec_bytes`), not
        by its pickle: a frozen spec keeps ``functools.cached_property`` values in its
        ``__dict__`` once read (e.g. ``VolatilitySpec.param_names``), so the pickle of the same
        spec changed after its first fit, and a resumed run missed the cache for every task
        whose spec a cache hit had left unread. Other objects count by their pickle, else
        their type and repr.
        """
        return self.put(tag, _spec_bytes(obj))

    def seed(self, tag: str, seed: np.random.SeedSequence) -> TaskKey:
        """Add a SeedSequence (entropy, spawn key, pool size)."""
        return self.put(tag, repr((seed.entropy, tuple(seed.spawn_key), seed.pool_size)))

    def hexdigest(self) -> str:
        """The key."""
        return self._h.hexdigest()


#: Name of a cache folder's secret key file (32 random bytes, mode 0600, made on first store).
CACHE_KEY_FILE = "cache.key"
#: First bytes of an entry: format marker, then SHA-256 of the payload, then its HMAC-SHA256.
ENTRY_MAGIC = b"riskmodels-task-cache/2\n"
_DIGEST = 32
_HEADER = len(ENTRY_MAGIC) + 2 * _DIGEST
#: Statuses of :meth:`TaskCache.verify`.
ENTRY_STATUSES: tuple[str, ...] = ("ok", "corrupt", "untrusted", "old-format")
_UNPICKLE_ERRORS = (
    OSError,
    EOFError,
    ImportError,
    pickle.UnpicklingError,
    AttributeError,
    ValueError,
    TypeError,
)


class CacheIntegrityWarning(RiskModelsWarning):
    """A task-cache entry was ignored (corrupt, untrusted, old format or unreadable) and is
    recomputed; the message names the entry file."""


class TaskCache:
    """A directory of task outputs, one signed pickle per key, written atomically.

    Every entry (``<key>.pkl``) holds a format marker, the SHA-256 of its pickled payload, an
    HMAC-SHA256 of (marker, key, payload) under the cache's secret key, then the payload. On
    load the digest and the HMAC are checked **before** anything is unpickled; an entry that
    fails (a flipped bit, a value changed and re-pickled, a pickle planted or copied under
    another key, an entry written before these tags existed) is never unpickled: it counts as
    a miss, is recomputed and overwritten, and a :class:`CacheIntegrityWarning` names its file.
    :meth:`verify` lists every entry with its status.

    The secret key is ``<directory>/cache.key``: 32 random bytes created atomically, mode 0600,
    on the first store. **The cache is trusted only as far as that key is secret**: whoever can
    read ``cache.key`` can forge entries that will be unpickled (arbitrary code), so keep it
    readable only by you. A key file that is not a regular file, is owned by another user or is
    readable by group or others is refused (ConfigError). Deleting ``cache.key`` makes every
    entry untrusted (all are recomputed).

    Entries and the key are written through temporary files (``.<name>.tmp-<pid>-...tmp``). A
    writer killed before its rename leaves one behind; opening the cache (and :meth:`verify`)
    removes those whose writer process is gone or that are older than an hour
    (:func:`riskmodels._io.sweep_temp_files`); ``removed_temp_files`` lists them.

    Parameters
    ----------
    directory : str or path
        Created if missing; must be writable.

    Raises
    ------
    ConfigError
        ``directory`` is not a path, or cannot be created or written.
    """

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        if not isinstance(directory, str | os.PathLike):
            raise ConfigError(
                f"cache_dir must be a directory path (got {type(directory).__name__}: "
                f"{directory!r}), or None to run without a cache."
            )
        path = Path(directory)
        try:
            path.mkdir(parents=True, exist_ok=True)
            fd, probe = tempfile.mkstemp(dir=path, prefix=".probe-")
            os.close(fd)
            os.unlink(probe)
        except OSError as exc:
            raise ConfigError(
                f"cache_dir={str(path)!r} is not a writable directory ({type(exc).__name__}: "
                f"{exc.strerror or exc}). Pass a directory you can write to, or cache_dir=None "
                "to run without a cache."
            ) from exc
        self.path = path
        self._secret: bytes | None = None
        #: Temporary files of dead writers removed when the cache was opened or verified.
        self.removed_temp_files: list[Path] = sweep_temp_files(path)

    @classmethod
    def open_existing(cls, directory: str | os.PathLike[str]) -> TaskCache:
        """An existing cache folder, neither created nor probed for writing (for
        :func:`verify_cache` on a read-only folder).

        Raises
        ------
        ConfigError
            ``directory`` is not an existing folder.
        """
        path = Path(directory)
        if not path.is_dir():
            raise ConfigError(
                f"{str(path)!r} is not a task-cache folder (no such directory). Pass the "
                "cache_dir a walk_forward or calibration_grid run used."
            )
        self = cls.__new__(cls)
        self.path = path
        self._secret = None
        self.removed_temp_files = []
        return self

    def __repr__(self) -> str:
        return f"TaskCache({str(self.path)!r})"

    def file(self, key: str) -> Path:
        """Where the entry ``key`` lives."""
        return self.path / f"{key}.pkl"

    # -- the secret key ------------------------------------------------------------------------
    @property
    def key_file(self) -> Path:
        """The cache's secret key file."""
        return self.path / CACHE_KEY_FILE

    def _read_key(self) -> bytes:
        """The key file's bytes (FileNotFoundError when absent)."""
        p = self.key_file
        fd = os.open(p, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        try:
            st = os.fstat(fd)
            problem = None
            if not stat.S_ISREG(st.st_mode):
                problem = "is not a regular file"
            elif hasattr(os, "geteuid") and st.st_uid != os.geteuid():
                problem = f"is owned by uid {st.st_uid}, not by you (uid {os.geteuid()})"
            elif os.name == "posix" and st.st_mode & 0o077:
                problem = f"is readable or writable by others (mode {st.st_mode & 0o777:o})"
            data = b"" if problem else os.read(fd, 4 * _DIGEST)
        finally:
            os.close(fd)
        if problem is None and len(data) != _DIGEST:
            problem = f"holds {len(data)} bytes, not {_DIGEST}"
        if problem:
            raise ConfigError(
                f"task cache key {str(p)!r} {problem}, so the cache {str(self.path)!r} cannot "
                "be trusted. Delete that file (every entry is then recomputed) or use another "
                "cache_dir."
            )
        return data

    def _key(self, create: bool) -> bytes | None:
        """The secret key; created atomically (mode 0600) when absent and ``create``."""
        if self._secret is not None:
            return self._secret
        try:
            self._secret = self._read_key()
        except FileNotFoundError:
            if not create:
                return None
            fd, tmp = tempfile.mkstemp(  # mode 0600
                dir=self.path, prefix=temp_prefix(CACHE_KEY_FILE), suffix=TMP_SUFFIX
            )
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(secrets.token_bytes(_DIGEST))
                    fh.flush()
                    os.fsync(fh.fileno())
                with contextlib.suppress(FileExistsError):  # another process made it first
                    os.link(tmp, self.key_file)  # atomic, never replaces: the full key or none
            finally:
                os.unlink(tmp)
            fsync_dir(self.path)
            self._secret = self._read_key()
        return self._secret

    @staticmethod
    def _tag(secret: bytes, key: str, payload: bytes) -> bytes:
        msg = hmac.new(secret, ENTRY_MAGIC, hashlib.sha256)
        msg.update(key.encode() + b"\0")
        msg.update(payload)
        return msg.digest()

    # -- entries -------------------------------------------------------------------------------
    def check(self, key: str) -> tuple[str, str, bytes | None]:
        """The status of the entry ``key`` without unpickling it.

        Returns
        -------
        (status, detail, payload)
            ``status`` is ``"missing"`` or one of :data:`ENTRY_STATUSES`; ``detail`` says why;
            ``payload`` is the verified pickle (``"ok"`` only), else None.
        """
        try:
            data = self.file(key).read_bytes()
        except FileNotFoundError:
            return "missing", "", None
        except OSError as exc:
            return "corrupt", f"unreadable ({type(exc).__name__}: {exc.strerror or exc})", None
        if not data.startswith(ENTRY_MAGIC):
            if not data or ENTRY_MAGIC.startswith(data):
                return "corrupt", f"truncated ({len(data)} bytes)", None
            return "old-format", "no integrity tags (older riskmodels, or not written by it)", None
        if len(data) < _HEADER:
            return "corrupt", f"truncated ({len(data)} bytes)", None
        digest = data[len(ENTRY_MAGIC) : len(ENTRY_MAGIC) + _DIGEST]
        tag = data[len(ENTRY_MAGIC) + _DIGEST : _HEADER]
        payload = data[_HEADER:]
        if not hmac.compare_digest(hashlib.sha256(payload).digest(), digest):
            return "corrupt", "SHA-256 of the payload does not match", None
        secret = self._key(create=False)
        if secret is None:
            return "untrusted", f"no secret key ({CACHE_KEY_FILE} is missing)", None
        if not hmac.compare_digest(self._tag(secret, key, payload), tag):
            return "untrusted", "HMAC does not match (not written under this key and name)", None
        return "ok", "", payload

    def load(self, key: str, *, warn: bool = True) -> Any:
        """The stored object, or None when absent or not usable (then it is recomputed).

        An entry that exists but is corrupt, untrusted, of the old format or unreadable is
        never unpickled unless its HMAC verifies; it gives None and, with ``warn``, a
        :class:`CacheIntegrityWarning` naming its file.
        """
        obj, problem = self._load(key)
        if problem and warn:
            warnings.warn(_ignored_text([problem]), CacheIntegrityWarning, stacklevel=2)
        return obj

    def _load(self, key: str) -> tuple[Any, str | None]:
        """(object or None, why the existing entry was ignored or None)."""
        status, detail, payload = self.check(key)
        if status == "missing":
            return None, None
        if payload is None:
            return None, f"{self.file(key)} ({status}: {detail})"
        try:
            return pickle.loads(payload), None
        except _UNPICKLE_ERRORS as exc:
            return None, f"{self.file(key)} (unreadable: {type(exc).__name__}: {exc})"

    def store(self, key: str, obj: Any) -> bool:
        """Write ``obj`` with its digest and HMAC atomically and durably (temporary file,
        flushed and fsync-ed, ``os.replace``, folder fsync-ed:
        :func:`riskmodels._io.atomic_writer`); False when it cannot be pickled (it is simply
        not cached)."""
        try:
            payload = pickle.dumps(obj, protocol=4)
        except (pickle.PicklingError, TypeError, AttributeError):
            return False
        secret = self._key(create=True)
        assert secret is not None
        head = ENTRY_MAGIC + hashlib.sha256(payload).digest() + self._tag(secret, key, payload)
        with atomic_writer(self.file(key), mode=None) as fh:  # mode 0600, as the key
            fh.write(head)
            fh.write(payload)
        return True

    def verify(self, delete: bool = False) -> pd.DataFrame:
        """Every entry of the cache with its status; nothing is unpickled.

        Parameters
        ----------
        delete : bool, default False
            Delete every entry whose status is not ``"ok"`` (they would be recomputed anyway).

        Returns
        -------
        pandas.DataFrame
            One row per ``*.pkl`` entry, sorted by file name: ``file`` (path), ``key``,
            ``status`` (``"ok"``, ``"corrupt"``: unreadable, truncated or digest mismatch;
            ``"untrusted"``: the HMAC does not verify under this cache's key, or there is no
            key; ``"old-format"``: no integrity tags, written before them or planted),
            ``detail``, ``bytes`` and ``deleted``. Temporary files of dead writers are removed
            first (where the folder is writable); ``attrs["removed_temp_files"]`` lists them (as
            strings) and so does :attr:`removed_temp_files`.

        Raises
        ------
        ConfigError
            The key file is not private to you (see :class:`TaskCache`).
        """
        swept = sweep_temp_files(self.path)
        self.removed_temp_files = [*self.removed_temp_files, *swept]
        rows = []
        for p in sorted(self.path.glob("*.pkl")):
            if p.name.startswith(".") or not p.is_file():
                continue  # temporary files of writers
            status, detail, _ = self.check(p.stem)
            if status == "missing":  # removed meanwhile
                continue
            deleted = False
            if delete and status != "ok":
                with contextlib.suppress(FileNotFoundError):
                    p.unlink()
                deleted = True
            size = p.stat().st_size if not deleted else 0
            rows.append((str(p), p.stem, status, detail, size, deleted))
        out = pd.DataFrame(rows, columns=["file", "key", "status", "detail", "bytes", "deleted"])
        out.attrs["removed_temp_files"] = [str(p) for p in swept]
        return out


def verify_cache(directory: str | os.PathLike[str], delete: bool = False) -> pd.DataFrame:
    """:meth:`TaskCache.verify` of an existing cache folder (not created; may be read-only
    unless ``delete``).

    >>> verify_cache("~/.cache/riskmodels").status.value_counts()  # doctest: +SKIP
    """
    return TaskCache.open_existing(Path(directory).expanduser()).verify(delete=delete)


def _ignored_text(problems: Sequence[str], limit: int = 10) -> str:
    shown = "; ".join(problems[:limit])
    more = f"; and {len(problems) - limit} more" if len(problems) > limit else ""
    return (
        f"task cache: {len(problems)} entr{'y' if len(problems) == 1 else 'ies'} ignored and "
        f"recomputed (never unpickled unless its HMAC verifies): {shown}{more}. "
        "TaskCache(cache_dir).verify() lists every entry's status."
    )


# ---------------------------------------------------------------------------------------------
# Cached runs: what walk_forward and calibration_grid share
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class CachedRun:
    """What :func:`run_cached` did.

    Attributes
    ----------
    outputs : dict of int to output
        Task number -> output, for every task that finished or was loaded from the cache.
    run : TaskRun
        The run of the tasks that were not in the cache.
    cache_hits : int
        Tasks loaded from the cache.
    """

    outputs: dict[int, Any]
    run: TaskRun
    cache_hits: int


def _encode(out: Any) -> tuple[Any, list[tuple[Any, ...]]]:
    """A cache entry: the output without its warnings, and the warnings as plain tuples."""
    warns = [(w.message, w.category, w.filename, w.lineno) for w in out.warnings]
    return dataclasses.replace(out, warnings=[]), warns


def _decode(entry: Any, output_type: type[Any]) -> Any:
    """The output stored by :func:`_encode`, or None for anything else (then recomputed)."""
    try:
        out, warns = entry
        caught = [warnings.WarningMessage(m, c, f, n) for m, c, f, n in warns]
    except (TypeError, ValueError):
        return None
    if not isinstance(out, output_type):
        return None
    return dataclasses.replace(out, warnings=caught)


def run_cached(
    fn: Callable[[Any, Any], Any],
    tasks: Sequence[Any],
    *,
    output_type: type,
    key: Callable[[Any, str], str],
    cache: TaskCache | None,
    on_task_error: str,
    progress: bool,
    label: str,
    unit: str = "task",
    **run_kwargs: Any,
) -> CachedRun:
    """:func:`run_tasks` behind an optional :class:`TaskCache`, with a tqdm bar over tasks.

    Parameters
    ----------
    fn, tasks
        As :func:`run_tasks`. Outputs are dataclasses of ``output_type`` with a ``warnings``
        field (the :class:`warnings.WarningMessage` list the task recorded).
    output_type : type
        What a cache entry must hold to be used.
    key : callable
        ``key(task, version)``: the task's cache key (everything its output depends on).
    cache : TaskCache or None
        Where outputs are loaded from before the run and stored as tasks finish.
    on_task_error : {"raise", "partial"}
        ``"raise"``: stop at the first task that fails for good and raise its error (what
        finished is already in the cache); ``"partial"``: finish the others.
    progress : bool
        The bar (and the dask dashboard link).
    label, unit : str
        The bar's description and unit.
    **run_kwargs
        ``shared``, ``strip``, ``backend``, ``n_jobs``, ``scheduler``, ``retries`` of
        :func:`run_tasks`.

    Returns
    -------
    CachedRun
        After the warnings recorded by every task (loaded ones included) were re-issued here,
        in task order.
    """
    outputs: dict[int, Any] = {}
    keys: list[str] = []
    if cache is not None:
        from riskmodels import __version__

        keys = [key(t, __version__) for t in tasks]
        ignored: list[str] = []
        for i, k in enumerate(keys):
            entry, problem = cache._load(k)
            if problem is not None:
                ignored.append(problem)
                continue
            hit = _decode(entry, output_type)
            if hit is not None:
                outputs[i] = hit
            elif entry is not None:
                ignored.append(f"{cache.file(k)} (unreadable: not a {output_type.__name__})")
        if ignored:
            warnings.warn(_ignored_text(ignored), CacheIntegrityWarning, stacklevel=3)
    cache_hits = len(outputs)
    pending = [i for i in range(len(tasks)) if i not in outputs]
    bar = tqdm(total=len(tasks), desc=label, unit=unit, disable=not progress)
    bar.update(cache_hits)

    def done(i: int, out: Any) -> None:
        outputs[i] = out
        if cache is not None:
            cache.store(keys[i], _encode(out))
        bar.update()

    stop = on_task_error == "raise"
    try:
        run = run_tasks(
            fn,
            tasks,
            on_done=done,
            pending=pending,
            stop_on_error=stop,
            progress=progress,
            label=label,
            **run_kwargs,
        )
    finally:
        bar.close()
    if run.failures and stop:
        raise run.failures[min(run.failures)][0]
    for i in sorted(outputs):
        for w in outputs[i].warnings:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return CachedRun(outputs=outputs, run=run, cache_hits=cache_hits)


def failure_text(exc: BaseException) -> str:
    """``"Type: first line of the message"`` of a failed task's error."""
    text = str(exc)
    return f"{type(exc).__name__}: {text.splitlines()[0] if text else ''}"


def warn_failed(label: str, failed: Sequence[Mapping[str, Any]], n_tasks: int, what: str) -> None:
    """The :class:`~riskmodels.exceptions.RiskModelsWarning` of a partial run.

    Parameters
    ----------
    label : str
        Who warns (``"walk_forward"``).
    failed : sequence of mapping
        One record per failed task, with ``"task"`` (its name) and ``"error"``.
    n_tasks : int
        Tasks in the run.
    what : str
        What is missing, e.g. ``"task(s) failed and their forecasts are"``.
    """
    if not failed:
        return
    warnings.warn(
        f"{label}: {len(failed)} of {n_tasks} {what} missing: {[f['task'] for f in failed]} "
        f"(first error: {failed[0]['error']}). See config['failed_tasks']; fix the cause and "
        "run again with the same cache_dir to compute only those.",
        RiskModelsWarning,
        stacklevel=3,
    )
