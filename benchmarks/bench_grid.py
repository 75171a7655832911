"""Benchmark: throughput of two grids on a dask LocalCluster with 1, 2 and 4 workers, against
loky and sequential runs of the same grid: a grid of walk-forward backtests and a calibration
grid (:func:`riskmodels.calibration.calibration_grid`).

Reproduce (numbers in benchmarks/README.md, section "Grid throughput")::

    OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/bench_grid.py
    OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/bench_grid.py --parts calibration
    # or: OPENBLAS_NUM_THREADS=1 .venv/bin/python -m benchmarks --only bench_grid

Options: ``--parts walk_forward calibration`` (which grids; default both), ``--workers 1 2 4``,
``--repeats 1``, ``--quick``, ``--out benchmarks/results/bench_grid.json``; walk-forward grid:
``--assets 3``, ``--windows 500 750``, ``--days 500``, ``--refit-every 5``, ``--chunk-size 10``,
``--[no-]self-started``; calibration grid: ``--cal-assets 2``, ``--cal-bars 3000``,
``--cal-n-boot 50``. ``--quick``: walk-forward 250 days, one window of 250, refit every 25, 5
refits per task (6 backtests); calibration 1 asset, ``n_boot`` 10 (32 cells).

Data: simulated GARCH(1,1)-t daily series (arch's simulator, omega 0.05, alpha 0.08, beta 0.90
in percent units, nu 5, one seed per asset spawned from 2026; :func:`simulate`).

Walk-forward grid: ``assets`` series of ``max(windows) + days`` bars x two models
(``ParametricModel(GARCH(dist="t"))`` and ``ParametricModel(GJR(dist="t"))``) x ``windows``.
Each (asset, window) cell is one ``walk_forward`` call with both models over the last ``days``
origins; a *task* is one walk-forward task (``chunk_size`` refits of one model), so a call has
``2 x n_chunks`` tasks.

Calibration grid: one ``calibration_grid`` call over ``cal_assets`` series of ``cal_bars`` bars
x horizons 1D, 2D, 5D, 10D x targets 0.001, 0.0025, 0.005, 0.01 x models ``"historical"`` and
``"evt"`` (``test_start`` the bar 75% into the sample, ``n_boot`` ``cal_n_boot``, seed 2026);
a *cell* is one ``calibrate_mmr`` call, one task. An ``"evt"`` cell fits a GPD to every
bootstrap replicate and costs ~30 ms per replicate; a ``"historical"`` cell costs well under
0.1 s whatever ``n_boot``: the grid mixes large and small tasks. One stand-alone cell of each model is
timed apart (``cell_s`` in the JSON). ``n_boot`` defaults to 50, not the 200 or 500 of a study,
so that the sequential run takes about a minute.

What is timed (wall clock, the whole grid, median of ``--repeats``):

* **dask, k workers**: every call with ``backend="dask", scheduler=client`` on one
  ``LocalCluster`` per k, started the way ``walk_forward(..., backend="dask", n_jobs=k)`` starts
  its own (k processes of one thread on 127.0.0.1) and shared by both grids' calls; its start
  (with the package imported on every worker) is timed apart (``cluster start``). Without
  ``--quick`` one walk-forward cell is also timed with ``backend="dask", n_jobs=k`` and no
  scheduler, i.e. with ``walk_forward`` starting and closing its own cluster (``one cell, own
  cluster``): a cluster per call costs seconds, so a grid should share one.
* **loky, 2 workers**: ``backend="loky", n_jobs=2`` (joblib's process pool; each call pays for
  its workers' start and imports).
* **sequential**: ``backend="sequential"``: the same tasks one after another in this process.

Reported: tasks (walk-forward) or cells (calibration) per second, the ratio to 1 dask worker
and to sequential, and the largest difference from the sequential run of any VaR forecast
(walk-forward) or of the ``mmr``, ``mmr_lo`` and ``mmr_hi`` columns (calibration). Results must
not depend on the backend: a calibration difference other than 0 (or NaN in other cells) stops
the benchmark with an error. 4 workers on a 2-core machine oversubscribe the cores: that row
measures the cost of oversubscription, not a speed-up.
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
PARTS = ("walk_forward", "calibration")

#: The calibration grid's axes (the brief of the benchmark; not options).
CAL_HORIZONS = ("1D", "2D", "5D", "10D")
CAL_TARGETS = (0.001, 0.0025, 0.005, 0.01)
CAL_MODELS = ("historical", "evt")
CAL_COLUMNS = ("mmr", "mmr_lo", "mmr_hi")
CAL_SEED = 2026


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


# -- walk-forward grid ---------------------------------------------------------------------------
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


# -- calibration grid ----------------------------------------------------------------------------
def split_date(data: pd.DataFrame) -> pd.Timestamp:
    """The calibration grid's ``test_start``: the bar 75% into the sample."""
    return data.index[int(0.75 * len(data))]


def run_calibration(
    data: pd.DataFrame,
    args: argparse.Namespace,
    backend: str,
    n_jobs: int,
    scheduler: object = None,
    *,
    horizons: tuple[str, ...] = CAL_HORIZONS,
    targets: tuple[float, ...] = CAL_TARGETS,
    n_boot: int | None = None,
) -> dict:
    """One ``calibration_grid`` call over every asset; its table and number of cells."""
    from riskmodels.calibration import calibration_grid

    grid = calibration_grid(
        data,
        list(data.columns),
        horizons=list(horizons),
        targets=list(targets),
        models=list(CAL_MODELS),
        test_start=split_date(data),
        n_boot=args.cal_n_boot if n_boot is None else n_boot,
        seed=CAL_SEED,
        progress=False,
        backend=backend,
        n_jobs=None if scheduler is not None else n_jobs,
        scheduler=scheduler,
    )
    return {
        "table": grid.table,
        "n_cells": grid.config["n_tasks"],
        "not_calibrated": len(grid.config["not_calibrated"]),
    }


def calibration_diff(table: pd.DataFrame, reference: pd.DataFrame) -> dict[str, float]:
    """Largest absolute difference of each of ``mmr``, ``mmr_lo``, ``mmr_hi`` from the
    reference; ``inf`` when the rows or the NaN cells (cells not calibrated) differ."""
    out: dict[str, float] = {}
    for col in CAL_COLUMNS:
        a = table[col].to_numpy(dtype=float)
        b = reference[col].to_numpy(dtype=float)
        if a.shape != b.shape or not np.array_equal(np.isnan(a), np.isnan(b)):
            out[col] = float("inf")
            continue
        ok = ~np.isnan(a)
        out[col] = float(np.max(np.abs(a[ok] - b[ok]), initial=0.0))
    return out


def check_same(label: str, diff: dict[str, float]) -> None:
    """Raise when a backend's calibration differs from the sequential run."""
    if any(v != 0.0 for v in diff.values()):
        raise RuntimeError(
            f"calibration grid on {label} differs from the sequential run: largest absolute "
            f"differences {diff} (inf: other rows or other NaN cells). Results must not depend "
            "on the backend: a cell's bootstrap stream is keyed by the cell (cell_seed) and "
            "every task runs under one BLAS thread; look for a change that broke either."
        )


def cell_seconds(data: pd.DataFrame, args: argparse.Namespace) -> dict[str, float]:
    """Seconds of one stand-alone cell per model (first asset, 5D, target 0.005)."""
    from riskmodels.calibration import calibrate_mmr

    out = {}
    for model in CAL_MODELS:
        _, med, _ = timed(
            lambda m=model: calibrate_mmr(
                data,
                str(data.columns[0]),
                "5D",
                0.005,
                model=m,
                test_start=split_date(data),
                n_boot=args.cal_n_boot,
                seed=CAL_SEED,
            ),
            1,
        )
        out[model] = med
    return out


# -- clusters ------------------------------------------------------------------------------------
def _warm_worker(parts: tuple[str, ...] = PARTS) -> None:
    """Import what the tasks need (run on each worker before timing)."""
    if "walk_forward" in parts:
        import riskmodels.backtest
        import riskmodels.volatility
    if "calibration" in parts:
        import scipy.stats  # noqa: F401

        import riskmodels.calibration  # noqa: F401


def _local_cluster(k: int, parts: tuple[str, ...] = PARTS):
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
    client.run(_warm_worker, tuple(parts))
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


def _add_ratios(rows: list[dict], key: str) -> None:
    """``ratio_vs_dask_1`` and ``ratio_vs_sequential`` of ``key`` (rows[0] is sequential)."""
    if not rows:
        return
    seq = rows[0][key]
    one = next((r[key] for r in rows if r["backend"] == "dask" and r["workers"] == 1), None)
    for r in rows:
        r["ratio_vs_dask_1"] = None if one is None else r[key] / one
        r["ratio_vs_sequential"] = r[key] / seq


def run(args: argparse.Namespace) -> dict:
    """Time the selected grids on every backend; the results dict."""
    env = environment()
    cores = os.cpu_count() or 1
    parts = tuple(p for p in PARTS if p in args.parts)
    wf, cal = "walk_forward" in parts, "calibration" in parts
    data = cal_data = None
    cal_cell_s = None
    if wf:
        data = simulate(args.assets, max(args.windows) + args.days)
        n_cells = len(args.windows) * args.assets
        run_grid(data.iloc[:, :1], _warmup_args(args), "sequential", 1)  # imports, compiled code
    if cal:
        cal_data = simulate(args.cal_assets, args.cal_bars)
        # imports and first-call costs in this process, then one cell of each model
        run_calibration(
            cal_data.iloc[:, :1], args, "sequential", 1, horizons=("1D",), targets=(0.01,), n_boot=2
        )
        cal_cell_s = cell_seconds(cal_data, args)

    variants = [("sequential", 1)] + [("dask", k) for k in args.workers] + [("loky", 2)]
    wf_rows, cal_rows, reference, cal_reference = [], [], None, None
    for backend, k in variants:
        label = "sequential" if backend == "sequential" else f"{backend}, {k} worker(s)"
        if backend != "sequential" and k > cores:
            label += f" (oversubscribed: {cores} cores)"
        start_s, cluster, client = None, None, None
        if backend == "dask":
            (cluster, client), start_s, _ = timed(lambda k=k: _local_cluster(k, parts), 1)
        try:
            if wf:
                out, med, times = timed(
                    lambda b=backend, k=k, c=client: run_grid(data, args, b, k, c), args.repeats
                )
                print(
                    f"walk-forward, {label}: {med:.2f} s, {out['n_tasks'] / med:.2f} tasks/s",
                    flush=True,
                )
            if cal:
                cal_out, cal_med, cal_times = timed(
                    lambda b=backend, k=k, c=client: run_calibration(cal_data, args, b, k, c),
                    args.repeats,
                )
                print(
                    f"calibration, {label}: {cal_med:.2f} s, "
                    f"{cal_out['n_cells'] / cal_med:.2f} cells/s",
                    flush=True,
                )
        finally:
            if client is not None:
                _close(cluster, client)
        if wf:
            if reference is None:
                reference = out["forecasts"]
            diff = max(float(np.max(np.abs(out["forecasts"][c] - reference[c]))) for c in reference)
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
            wf_rows.append(row)
        if cal:
            if cal_reference is None:
                cal_reference = cal_out["table"]
            cal_diff = calibration_diff(cal_out["table"], cal_reference)
            check_same(label, cal_diff)
            cal_rows.append(
                {
                    "variant": label,
                    "backend": backend,
                    "workers": k,
                    "cells": cal_out["n_cells"],
                    "not_calibrated": cal_out["not_calibrated"],
                    "median_s": cal_med,
                    "times_s": cal_times,
                    "cells_per_s": cal_out["n_cells"] / cal_med,
                    "cluster_start_s": start_s,
                    "max_abs_diff_vs_sequential": cal_diff,
                    "max_abs_mmr_diff_vs_sequential": max(cal_diff.values()),
                }
            )
    _add_ratios(wf_rows, "tasks_per_s")
    _add_ratios(cal_rows, "cells_per_s")
    result: dict = {"benchmark": NAME, "env": finish_environment(env), "parts": list(parts)}
    result["grid"] = (
        {
            "assets": args.assets,
            "models": ["GARCH(1,1)-t", "GJR(1,1)-t"],
            "windows": args.windows,
            "days": args.days,
            "refit_every": args.refit_every,
            "chunk_size": args.chunk_size,
            "repeats": args.repeats,
            "quick": args.quick,
        }
        if wf
        else None
    )
    result["rows"] = wf_rows
    result["calibration"] = (
        {
            "grid": {
                "assets": args.cal_assets,
                "bars": args.cal_bars,
                "data": "GARCH(1,1)-t daily, simulate()",
                "horizons": list(CAL_HORIZONS),
                "targets": list(CAL_TARGETS),
                "models": list(CAL_MODELS),
                "test_start": str(split_date(cal_data)),
                "n_boot": args.cal_n_boot,
                "seed": CAL_SEED,
                "repeats": args.repeats,
                "quick": args.quick,
                "cell_s": cal_cell_s,
            },
            "rows": cal_rows,
        }
        if cal
        else None
    )
    return result


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

CAL_TABLE_COLUMNS = [
    ("variant", "variant"),
    ("cells", "cells"),
    ("median time (s)", "median_s", "{:.2f}"),
    ("cells/s", "cells_per_s", "{:.2f}"),
    ("vs dask 1 worker", "ratio_vs_dask_1", "{:.2f}x"),
    ("vs sequential", "ratio_vs_sequential", "{:.2f}x"),
    ("cluster start (s)", "cluster_start_s", "{:.1f}"),
    ("max abs mmr/mmr_lo/mmr_hi diff vs sequential", "max_abs_mmr_diff_vs_sequential", "{:.1e}"),
]


def table(result: dict) -> str:
    """The markdown table(s) of a result: walk-forward grid, then calibration grid."""
    out = []
    if result.get("rows"):
        out.append("Walk-forward grid:\n\n" + markdown_table(result["rows"], COLUMNS))
    if result.get("calibration"):
        out.append("Calibration grid:\n\n" + calibration_table(result))
    return "\n\n".join(out)


def calibration_table(result: dict) -> str:
    """The markdown table of the calibration grid's rows."""
    return markdown_table(result["calibration"]["rows"], CAL_TABLE_COLUMNS)


def headline(result: dict) -> dict:
    """Summary row: throughput with the most dask workers that fit the cores, vs 1 worker
    (the walk-forward grid's; the calibration grid's when only that part ran)."""
    cores = result["env"].get("cores") or 1
    if result.get("rows"):
        rows, key, unit, what = result["rows"], "tasks_per_s", "tasks/s", "grid throughput"
    else:
        rows, key, unit = result["calibration"]["rows"], "cells_per_s", "cells/s"
        what = "calibration grid throughput"
    dask_rows = [r for r in rows if r["backend"] == "dask"]
    fit = [r for r in dask_rows if r["workers"] <= cores] or dask_rows
    best = max(fit, key=lambda r: r["workers"])
    return {
        "metric": f"{what}, dask {best['workers']} workers",
        "value": f"{best[key]:.2f} {unit}",
        "baseline": "dask, 1 worker",
        "ratio": best["ratio_vs_dask_1"],
    }


def main(argv: list[str] | None = None) -> dict:
    """Run the benchmark, write the JSON results and print markdown tables; returns them."""
    p = argparse.ArgumentParser(prog="bench_grid", description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--parts",
        nargs="+",
        choices=PARTS,
        default=list(PARTS),
        help="which grids to time (default: both)",
    )
    p.add_argument("--assets", type=int, default=3)
    p.add_argument("--windows", type=int, nargs="+", default=[500, 750])
    p.add_argument("--days", type=int, default=500)
    p.add_argument("--refit-every", type=int, default=5)
    p.add_argument("--chunk-size", type=int, default=10)
    p.add_argument("--cal-assets", type=int, default=2, help="calibration grid: assets")
    p.add_argument("--cal-bars", type=int, default=3000, help="calibration grid: daily bars")
    p.add_argument(
        "--cal-n-boot", type=int, default=50, help="calibration grid: bootstrap replicates"
    )
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
        help="walk-forward: 250 days, window 250, refit every 25, 5 refits per task; "
        "calibration: 1 asset, n_boot 10",
    )
    p.add_argument("--out", type=Path, default=None)
    args = p.parse_args(argv)
    if args.quick:
        args.days, args.windows, args.refit_every, args.chunk_size = 250, [250], 25, 5
        args.cal_assets, args.cal_n_boot = 1, 10
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
