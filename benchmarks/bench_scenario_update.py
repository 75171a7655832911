"""Benchmark: a historical-simulation walk-forward step per bar, with the vectorized scenario
labels and the ``searchsorted`` row search against the code they replaced, in the same run.

Reproduce (numbers in benchmarks/README.md, section "Scenario update per bar")::

    OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/bench_scenario_update.py
    # or: OPENBLAS_NUM_THREADS=1 .venv/bin/python -m benchmarks --only bench_scenario_update

Options: ``--window 500``, ``--bars 500``, ``--repeats 3``, ``--quick`` (100 bars, one repeat),
``--out benchmarks/results/bench_scenario_update.json``.

Data: one asset of i.i.d. Student-t (4 d.o.f.) daily returns scaled to 3 %, seed 2026, on a UTC
daily index (pandas' default microsecond unit); the model is
``HistoricalScenarios(window=window)``, fitted once on the first ``window`` bars (not timed).

What is timed (wall clock, ``time.perf_counter``; the two paths alternate within each repeat,
median over ``--repeats``): ``fitted.update(new_bar)`` then ``fitted.scenarios("1d")``, one bar
at a time over ``--bars`` bars, as the walk-forward engine runs a ``ScenarioModel`` between
refits. The baseline path swaps in the replaced code: labels built by one
``pandas.Timestamp(t).isoformat()`` per scenario, and the new rows found with the boolean mask
``df.loc[df.index > asof, assets]``.

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


def _data(n: int) -> pd.DataFrame:
    z = np.random.default_rng(2026).standard_t(4, n) * 0.03 / np.sqrt(2.0)
    index = pd.date_range("2018-01-01", periods=n, freq="D", tz="UTC", name="time")
    return pd.DataFrame({"BTC": z}, index=index)


@contextlib.contextmanager
def old_path() -> Iterator[None]:
    """The scenario labels and the row search as they were before (the baseline)."""
    from riskmodels.scenarios import _inputs, historical

    labels, new_rows = _inputs.labels_of, _inputs.new_rows

    def old_labels(index: pd.Index) -> tuple[str, ...]:
        return tuple(pd.Timestamp(t).isoformat() for t in index)

    def old_new_rows(current, returns, asof, freq):  # the mask, then the same checks
        df = returns.loc[returns.index > asof, list(current.columns)]
        return new_rows(current, df, asof, freq)

    historical.labels_of = old_labels  # type: ignore[assignment]
    historical.new_rows = old_new_rows  # type: ignore[assignment]
    try:
        yield
    finally:
        historical.labels_of, historical.new_rows = labels, new_rows  # type: ignore[assignment]


def _same(a, b) -> bool:
    if not (np.array_equal(a.returns, b.returns) and a.labels == b.labels):
        return False
    return a.meta.keys() == b.meta.keys() and all(a.meta[k] == b.meta[k] for k in a.meta)


def run(args: argparse.Namespace) -> dict:
    from riskmodels.scenarios import HistoricalScenarios

    env = environment()
    data = _data(args.window + args.bars)
    fitted = HistoricalScenarios(window=args.window).fit(data.iloc[: args.window])

    def bars() -> list:
        f, out = fitted, []
        for t in range(args.window, args.window + args.bars):
            f = f.update(data.iloc[t : t + 1])
            out.append(f.scenarios("1d"))
        return out

    def timed(fn) -> tuple[list, float]:
        t0 = time.perf_counter()
        out = fn()
        return out, time.perf_counter() - t0

    bars()  # warm-up
    times: dict[str, list[float]] = {"new": [], "old": []}
    agree = True
    for _ in range(args.repeats):
        new, t_new = timed(bars)
        with old_path():
            ref, t_old = timed(bars)
        times["new"].append(t_new)
        times["old"].append(t_old)
        agree = agree and all(_same(a, b) for a, b in zip(new, ref, strict=True))
    if not agree:
        raise AssertionError("the new and the old path gave different scenarios")
    med = {k: statistics.median(v) for k, v in times.items()}
    out = {
        "benchmark": "bench_scenario_update",
        "window": args.window,
        "bars": args.bars,
        "repeats": args.repeats,
        "times_s": times,
        "bar_new_ms": 1e3 * med["new"] / args.bars,
        "bar_old_ms": 1e3 * med["old"] / args.bars,
        "agree": agree,
    }
    out["speedup"] = out["bar_old_ms"] / out["bar_new_ms"]
    out["env"] = finish_environment(env)
    return out


def table(result: dict) -> str:
    rows = [
        {
            "what": f"HS window {result['window']}: update(bar) + scenarios('1d')",
            "new": result["bar_new_ms"],
            "old": result["bar_old_ms"],
            "ratio": result["speedup"],
        }
    ]
    cols = [
        "what",
        ("vectorized labels, searchsorted (ms)", "new", "{:.3f}"),
        ("isoformat loop, .loc mask (ms)", "old", "{:.3f}"),
        ("speed-up", "ratio", "{:.1f}x"),
    ]
    return markdown_table(rows, cols)


def headline(result: dict) -> dict:
    """Summary row: the HS update + scenarios per bar against the replaced code."""
    return {
        "metric": f"HS update + 1d scenarios per bar, window {result['window']}",
        "value": f"{result['bar_new_ms']:.2f} ms",
        "baseline": "isoformat labels and .loc mask (speed-up)",
        "ratio": result["speedup"],
    }


def main(argv: list[str] | None = None) -> dict:
    """Run the benchmark, write the JSON results and print a markdown table; returns them."""
    p = argparse.ArgumentParser(prog="bench_scenario_update", description=__doc__.split("\n\n")[0])
    p.add_argument("--window", type=int, default=500)
    p.add_argument("--bars", type=int, default=500)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--quick", action="store_true", help="100 bars, one repeat")
    p.add_argument(
        "--out",
        type=Path,
        default=Path(__file__).resolve().parent / "results" / "bench_scenario_update.json",
    )
    args = p.parse_args(argv)
    if args.quick:
        args.bars, args.repeats = 100, 1
    result = run(args)
    write_result("bench_scenario_update", result, args.out)
    print(table(result))
    return result


if __name__ == "__main__":
    main()
