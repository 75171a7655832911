"""Benchmark: the filtered-historical-simulation update per bar, ``VolatilitySpec.filter`` (the
fast path) against ``VolatilitySpec.fix`` (the code it replaced), in the same run.

Reproduce (numbers in benchmarks/README.md, section "FHS update per bar")::

    OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/bench_fhs_update.py
    # or: OPENBLAS_NUM_THREADS=1 .venv/bin/python -m benchmarks --only bench_fhs_update

Options: ``--assets 10``, ``--window 500``, ``--bars 100``, ``--repeats 3``, ``--quick`` (3
assets, 20 bars, one repeat), ``--out benchmarks/results/bench_fhs_update.json``.

Data: ``--assets`` GARCH(1,1)-Student-t paths from arch's simulator (``omega=0.05,
alpha=0.08, beta=0.90`` in percent units, ``nu=6``, seeds 2026, 2027, ...), decimal returns on
daily UTC bars; the model is ``FilteredHistoricalScenarios(GARCH(dist="t"), window=window)``,
fitted once on the first ``window`` bars (not timed).

What is timed (wall clock, ``time.perf_counter``; the two paths alternate within each repeat,
median over ``--repeats``; BLAS pinned to one thread):

* **per call**: one asset's model at its fitted parameters over the window plus ``k`` new bars,
  as ``refilter_univariate`` runs it at every bar: ``spec.filter(returns, params)`` and its
  ``variance_next`` (what ``Scenarios.meta["sigma_next"]`` records) against
  ``spec.fix(returns, params)`` and ``forecast(1)``; mean over the assets and ``--bars`` sample
  lengths.
* **per bar**: ``fitted.update(new_bar)`` then ``fitted.scenarios("1d")`` (the classical
  one-step set with its meta), one bar at a time over ``--bars`` bars, as the walk-forward
  engine runs a ``ScenarioModel`` between refits; the fix path is the same loop with
  ``VolatilitySpec.filter`` replaced by ``VolatilitySpec.fix`` (the code before the fast path).

Agreement: the scenarios (returns, labels, meta) of the two paths must be identical at every
bar (``agree``); the benchmark fails otherwise.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import time
from collections.abc import Iterator
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np
import pandas as pd

if __package__ in (None, ""):  # run as a script: make ``benchmarks`` importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks._harness import environment, finish_environment, markdown_table, write_result


def _data(n_assets: int, n: int) -> pd.DataFrame:
    from arch.univariate import GARCH as ArchGARCH
    from arch.univariate import StudentsT, ZeroMean

    cols = {}
    for j in range(n_assets):
        gen = np.random.default_rng(2026 + j)
        sim = ZeroMean(volatility=ArchGARCH(), distribution=StudentsT(seed=gen)).simulate(
            [0.05, 0.08, 0.90, 6.0], n, burn=500
        )
        cols[f"A{j:02d}"] = sim["data"].to_numpy() / 100.0
    index = pd.date_range("2020-01-01", periods=n, freq="D", tz="UTC", name="time")
    return pd.DataFrame(cols, index=index)


@contextlib.contextmanager
def fix_path() -> Iterator[None]:
    """``VolatilitySpec.filter`` is ``VolatilitySpec.fix`` inside the block (the old code)."""
    from riskmodels.volatility import VolatilitySpec

    fast = VolatilitySpec.filter
    VolatilitySpec.filter = VolatilitySpec.fix  # type: ignore[method-assign]
    try:
        yield
    finally:
        VolatilitySpec.filter = fast  # type: ignore[method-assign]


def _same(a, b) -> bool:
    if not (np.array_equal(a.returns, b.returns) and a.labels == b.labels):
        return False
    return a.meta.keys() == b.meta.keys() and all(a.meta[k] == b.meta[k] for k in a.meta)


def run(args: argparse.Namespace) -> dict:
    from threadpoolctl import threadpool_limits

    from riskmodels.scenarios import FilteredHistoricalScenarios
    from riskmodels.volatility import GARCH

    env = environment()
    data = _data(args.assets, args.window + args.bars)
    spec = GARCH(dist="t")
    fitted = FilteredHistoricalScenarios(spec, window=args.window).fit(data.iloc[: args.window])
    params = {a: r.params for a, r in fitted.volatility.items()}
    lengths = range(args.window + 1, args.window + args.bars + 1)

    def calls_fast() -> None:
        for a in data.columns:
            for n in lengths:
                _ = spec.filter(data[a].iloc[:n], params[a]).variance_next

    def calls_fix() -> None:
        for a in data.columns:
            for n in lengths:
                spec.fix(data[a].iloc[:n], params[a]).forecast(1)

    def bars() -> list:
        f, out = fitted, []
        for t in range(args.window, args.window + args.bars):
            f = f.update(data.iloc[t : t + 1])
            out.append(f.scenarios("1d"))
        return out

    def timed(fn) -> tuple[object, float]:
        t0 = time.perf_counter()
        out = fn()
        return out, time.perf_counter() - t0

    with threadpool_limits(limits=1):
        bars()  # warm-up: imports, arch's compiled recursions
        times: dict[str, list[float]] = {
            k: [] for k in ("call_fast", "call_fix", "bar_fast", "bar_fix")
        }
        agree = True
        for _ in range(args.repeats):
            times["call_fast"].append(timed(calls_fast)[1])
            times["call_fix"].append(timed(calls_fix)[1])
            fast, t_fast = timed(bars)
            with fix_path():
                ref, t_fix = timed(bars)
            times["bar_fast"].append(t_fast)
            times["bar_fix"].append(t_fix)
            agree = agree and all(_same(a, b) for a, b in zip(fast, ref, strict=True))  # type: ignore[call-overload]
    if not agree:
        raise AssertionError("filter and fix paths gave different scenarios")
    n_calls = args.assets * args.bars
    med = {k: statistics.median(v) for k, v in times.items()}
    out = {
        "benchmark": "bench_fhs_update",
        "assets": args.assets,
        "window": args.window,
        "bars": args.bars,
        "repeats": args.repeats,
        "model": spec.label,
        "times_s": times,
        "call_fast_ms": 1e3 * med["call_fast"] / n_calls,
        "call_fix_ms": 1e3 * med["call_fix"] / n_calls,
        "bar_fast_ms": 1e3 * med["bar_fast"] / args.bars,
        "bar_fix_ms": 1e3 * med["bar_fix"] / args.bars,
        "agree": agree,
    }
    out["call_speedup"] = out["call_fix_ms"] / out["call_fast_ms"]
    out["bar_speedup"] = out["bar_fix_ms"] / out["bar_fast_ms"]
    out["env"] = finish_environment(env)
    return out


def table(result: dict) -> str:
    rows = [
        {
            "what": "one asset, one bar: filter + variance_next vs fix + forecast(1)",
            "fast": result["call_fast_ms"],
            "fix": result["call_fix_ms"],
            "ratio": result["call_speedup"],
        },
        {
            "what": f"{result['assets']} assets: update(bar) + scenarios('1d')",
            "fast": result["bar_fast_ms"],
            "fix": result["bar_fix_ms"],
            "ratio": result["bar_speedup"],
        },
    ]
    cols = [
        "what",
        ("fast path (ms)", "fast", "{:.2f}"),
        ("fix path (ms)", "fix", "{:.2f}"),
        ("speed-up", "ratio", "{:.1f}x"),
    ]
    return markdown_table(rows, cols)


def headline(result: dict) -> dict:
    """Summary row: the FHS update + scenarios per bar, fast path against the fix path."""
    return {
        "metric": f"FHS update + 1d scenarios per bar, {result['assets']} assets",
        "value": f"{result['bar_fast_ms']:.1f} ms",
        "baseline": "VolatilitySpec.fix path (speed-up)",
        "ratio": result["bar_speedup"],
    }


def main(argv: list[str] | None = None) -> dict:
    """Run the benchmark, write the JSON results and print a markdown table; returns them."""
    p = argparse.ArgumentParser(prog="bench_fhs_update", description=__doc__.split("\n\n")[0])
    p.add_argument("--assets", type=int, default=10)
    p.add_argument("--window", type=int, default=500)
    p.add_argument("--bars", type=int, default=100)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--quick", action="store_true", help="3 assets, 20 bars, one repeat")
    p.add_argument(
        "--out",
        type=Path,
        default=Path(__file__).resolve().parent / "results" / "bench_fhs_update.json",
    )
    args = p.parse_args(argv)
    if args.quick:
        args.assets, args.bars, args.repeats = 3, 20, 1
    result = run(args)
    write_result("bench_fhs_update", result, args.out)
    print(table(result))
    return result


if __name__ == "__main__":
    main()
