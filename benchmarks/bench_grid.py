"""Benchmark: throughput of a calibration-style grid of walk-forward backtests on a dask
LocalCluster with 1, 2 and 4 workers, against loky and sequential runs of the same grid.

Reproduce (numbers in benchmarks/README.md, section "Grid throughput")::

    OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/bench_grid.py
    # or: OPENBLAS_NUM_THREADS=1 .venv/bin/python -m benchmarks --only bench_grid

Options: ``--assets 3``, ``--windows 500 750``, ``--days 500``, ``--refit-every 5``,
``--chunk-size 10``, ``--workers 1 2 4``, ``--repeats 1``, ``--[no-]self-started``,
``--quick`` (250 days, one window of 250, refit every 25, 5 refits per task: 6 backtests),
``--out benchmarks/results/bench_grid.json``.

The grid: ``assets`` simulated GARCH(1,1)-t series (arch's simulator, omega 0.05, alpha 0.08,
beta 0.90 in percent units, nu 5, one seed per asset spawned from 2026) x two models
(``ParametricModel(GARCH(dist="t"))`` and ``ParametricModel(GJR(dist="t"))``) x ``windows``.
Each (asset, window) cell is one ``walk_forward`` call with both models over the last ``days``
origins; a *task* is one walk-forward task (``chunk_size`` refits of one model), so a call has
``2 x n_chunks`` tasks.

What is timed (wall clock, the whole grid, median of ``--repeats``):

* **dask, k workers**: every call with ``backend="dask", scheduler=client`` on one
  ``LocalCluster`` per k, started the way ``walk_forward(..., backend="dask", n_jobs=k)`` starts
  its own (k processes of one thread on 127.0.0.1) and shared by the grid's calls; its start
  (with the package imported on every worker) is timed apart (``cluster start``). Without
  ``--quick`` one cell is also timed with ``backend="dask", n_jobs=k`` and no scheduler, i.e.
  with ``walk_forward`` starting and closing its own cluster (``one cell, own cluster``): a
  cluster per call costs seconds, so a grid should share one.
* **loky, 2 workers**: ``backend="loky", n_jobs=2`` (joblib's process pool; each
  ``walk_forward`` call pays for its workers' start and imports).
* **sequential**: ``backend="sequential"``: the same tasks one after another in this process.

Reported: tasks per second, the ratio to 1 dask worker and to sequential, and the largest
difference of any VaR forecast from the sequential run (results must not depend on the
backend). 4 workers on a 2-core machine oversubscribe the cores: that row measures the cost of
oversubscription, not a speed-up.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

if __package__ in (None, ""):  # run as a script: make ``benchmarks`` importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np
import pandas as pd

from benchmarks._harness import (
    environment,
    finish_environment,
    markdown_table,
    timed,
    write_result,
)

NAME = "bench_grid"


def simulate(n_assets: int, n: int, seed: int = 2026) -> pd.DataFrame:
    """``n_assets`` independent GARCH(1,1)-t daily log-return series of ``n`` bars."""
    from arch.univariate import GARCH as ArchGARCH
    from arch.univariate import StudentsT, ZeroMean

    cols = {}
    for j, ss in enumerate(np.random.SeedSequence(seed).spawn(n_assets)):
        gen = np.random.default_rng(ss)
        sim = ZeroMean(volatility=ArchGARCH(), distribution=StudentsT(seed=gen)).simulate(
            [0.05, 0.08, 0.90, 5.0], n, burn=500
        )
        cols[f"A{j}"] = np.log1p(sim["data"].to_numpy() / 100.0)
    index = pd.date_range("2015-01-01", periods=n, freq="D", tz="UTC", name="time")
    return pd.DataFrame(cols, index=index)


def run_grid(
    data: pd.DataFrame,
    args: argparse.Namespace,
    backend: str,
    n_jobs: int,
    scheduler: object = None,
) -> dict:
    """Run every (asset, window) cell; the forecasts and the number of tasks."""
    from riskmodels.backtest import ParametricModel, walk_forward
    from riskmodels.volatility import GARCH, GJR

    models = {
        "garch_t": ParametricModel(GARCH(dist="t")),
        "gjr_t": ParametricModel(GJR(dist="t")),
    }
    forecasts, n_tasks = {}, 0
    for window in args.windows:
        for asset in data.columns:
            frame = data[[asset]].iloc[-(window + args.days) :]
            res = walk_forward(
                models,
                frame,
                {asset: 1.0},
                alphas=(0.99,),
                window=window,
                refit_every=args.refit_every,
                chunk_size=args.chunk_size,
                n_jobs=None if scheduler is not None else n_jobs,
                backend=backend,
                scheduler=scheduler,
                progress=False,
            )
            n_tasks += len(models) * res.config["n_chunks"]
            for name in models:
                var = res.frame(alpha=0.99, model=name)["var"].to_numpy()
                forecasts[(asset, window, name)] = var
    return {"forecasts": forecasts, "n_tasks": n_tasks}


def _warm_worker() -> None:
    """Import what the tasks need (run on each worker before timing)."""
    import riskmodels.backtest
    import riskmodels.volatility  # noqa: F401


def _local_cluster(k: int):
    """A LocalCluster as ``walk_forward`` starts it (k one-thread processes on 127.0.0.1),
    with the package imported on every worker."""
    from distributed import Client, LocalCluster

    cluster = LocalCluster(
        n_workers=k,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=":0",  # None does not disable it (dask#8136)
    )
    client = Client(cluster)
    client.run(_warm_worker)
    return cluster, client


def _close(cluster, client) -> None:
    """Close quietly: workers' heartbeats to a closing scheduler log tracebacks otherwise."""
    log = logging.getLogger("distributed")
    level = log.level
    log.setLevel(logging.CRITICAL)
    try:
        client.close()
        cluster.close()
    finally:
        log.setLevel(level)


def _self_started_call(data: pd.DataFrame, args: argparse.Namespace, k: int) -> float:
    """Seconds of one cell with ``walk_forward(..., backend="dask", n_jobs=k)`` (own cluster)."""
    one = argparse.Namespace(**vars(args))
    one.windows = [min(args.windows)]
    _, med, _ = timed(lambda: run_grid(data.iloc[:, :1], one, "dask", k), 1)
    return med


def run(args: argparse.Namespace) -> dict:
    """Time the grid on every backend; the results dict."""
    env = environment()
    cores = os.cpu_count() or 1
    data = simulate(args.assets, max(args.windows) + args.days)
    n_cells = len(args.windows) * args.assets
    run_grid(data.iloc[:, :1], _warmup_args(args), "sequential", 1)  # imports, compiled code

    variants = [("sequential", 1)] + [("dask", k) for k in args.workers] + [("loky", 2)]
    rows, reference = [], None
    for backend, k in variants:
        start_s, cluster, client = None, None, None
        if backend == "dask":
            (cluster, client), start_s, _ = timed(lambda k=k: _local_cluster(k), 1)
        try:
            out, med, times = timed(
                lambda b=backend, k=k, c=client: run_grid(data, args, b, k, c), args.repeats
            )
        finally:
            if client is not None:
                _close(cluster, client)
        if reference is None:
            reference = out["forecasts"]
        diff = max(float(np.max(np.abs(out["forecasts"][c] - reference[c]))) for c in reference)
        label = "sequential" if backend == "sequential" else f"{backend}, {k} worker(s)"
        if backend != "sequential" and k > cores:
            label += f" (oversubscribed: {cores} cores)"
        row = {
            "variant": label,
            "backend": backend,
            "workers": k,
            "backtests": n_cells * 2,
            "tasks": out["n_tasks"],
            "median_s": med,
            "times_s": times,
            "tasks_per_s": out["n_tasks"] / med,
            "cluster_start_s": start_s,
            "max_abs_var_diff_vs_sequential": diff,
        }
        if backend == "dask" and args.self_started:
            row["self_started_cell_s"] = _self_started_call(data, args, k)
        rows.append(row)
        print(f"{label}: {med:.2f} s, {out['n_tasks'] / med:.2f} tasks/s", flush=True)
    seq = rows[0]["tasks_per_s"]
    one = next(
        (r["tasks_per_s"] for r in rows if r["backend"] == "dask" and r["workers"] == 1), None
    )
    for r in rows:
        r["ratio_vs_dask_1"] = None if one is None else r["tasks_per_s"] / one
        r["ratio_vs_sequential"] = r["tasks_per_s"] / seq
    return {
        "benchmark": NAME,
        "env": finish_environment(env),
        "grid": {
            "assets": args.assets,
            "models": ["GARCH(1,1)-t", "GJR(1,1)-t"],
            "windows": args.windows,
            "days": args.days,
            "refit_every": args.refit_every,
            "chunk_size": args.chunk_size,
            "repeats": args.repeats,
            "quick": args.quick,
        },
        "rows": rows,
    }


def _warmup_args(args: argparse.Namespace) -> argparse.Namespace:
    w = argparse.Namespace(**vars(args))
    w.windows, w.days = [min(args.windows)], min(args.days, 50)
    return w


COLUMNS = [
    ("variant", "variant"),
    ("backtests", "backtests"),
    ("tasks", "tasks"),
    ("median time (s)", "median_s", "{:.2f}"),
    ("tasks/s", "tasks_per_s", "{:.2f}"),
    ("vs dask 1 worker", "ratio_vs_dask_1", "{:.2f}x"),
    ("vs sequential", "ratio_vs_sequential", "{:.2f}x"),
    ("cluster start (s)", "cluster_start_s", "{:.1f}"),
    ("one cell, own cluster (s)", "self_started_cell_s", "{:.1f}"),
    ("max abs VaR diff vs sequential", "max_abs_var_diff_vs_sequential", "{:.1e}"),
]


def table(result: dict) -> str:
    """The markdown table of a result."""
    return markdown_table(result["rows"], COLUMNS)


def headline(result: dict) -> dict:
    """Summary row: tasks/s with the most dask workers that fit the cores, vs 1 worker."""
    cores = result["env"].get("cores") or 1
    dask_rows = [r for r in result["rows"] if r["backend"] == "dask"]
    fit = [r for r in dask_rows if r["workers"] <= cores] or dask_rows
    best = max(fit, key=lambda r: r["workers"])
    return {
        "metric": f"grid throughput, dask {best['workers']} workers",
        "value": f"{best['tasks_per_s']:.2f} tasks/s",
        "baseline": "dask, 1 worker",
        "ratio": best["ratio_vs_dask_1"],
    }


def main(argv: list[str] | None = None) -> dict:
    """Run the benchmark, write the JSON results and print a markdown table; returns them."""
    p = argparse.ArgumentParser(prog="bench_grid", description=__doc__.split("\n\n")[0])
    p.add_argument("--assets", type=int, default=3)
    p.add_argument("--windows", type=int, nargs="+", default=[500, 750])
    p.add_argument("--days", type=int, default=500)
    p.add_argument("--refit-every", type=int, default=5)
    p.add_argument("--chunk-size", type=int, default=10)
    p.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    p.add_argument("--repeats", type=int, default=1)
    p.add_argument(
        "--self-started",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="also time one cell with walk_forward's own LocalCluster (default: not with --quick)",
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help="250 days, window 250, refit every 25, 5 refits per task",
    )
    p.add_argument("--out", type=Path, default=None)
    args = p.parse_args(argv)
    if args.quick:
        args.days, args.windows, args.refit_every, args.chunk_size = 250, [250], 25, 5
    if args.self_started is None:
        args.self_started = not args.quick
    result = run(args)
    path = write_result(NAME, result, args.out)
    print()
    print(table(result))
    print(f"(written to {path})")
    return result


if __name__ == "__main__":
    main()
