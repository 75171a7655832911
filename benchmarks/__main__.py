"""Run every benchmark module: ``python -m benchmarks [--quick] [--only NAME ...]``.

Each ``benchmarks/bench_*.py`` exposes ``main(argv) -> dict``; this runner calls them in turn
(``--quick`` is passed through) and reports which ones failed without stopping the others.
Results (medians over repeats, ratios to the baseline measured in the same run, machine and
versions) are written by each benchmark to ``benchmarks/results/<name>.json``; afterwards this
runner writes ``benchmarks/results/summary.md``: the machine, then one row per benchmark with its
headline number and its ratio (from the module's ``headline(result)``).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import time
import traceback
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from benchmarks._harness import RESULTS_DIR, environment, markdown_table, write_text_atomic

SUMMARY_COLUMNS = [
    ("benchmark", "name"),
    ("headline", "metric"),
    ("value", "value"),
    ("against", "baseline"),
    ("ratio", "ratio", "{:.2f}x"),
    ("status", "status"),
    ("run time (s)", "seconds", "{:.1f}"),
]


def _summary_row(name: str, mod: object, result: object, seconds: float) -> dict:
    row: dict = {"name": name, "status": "ok", "seconds": seconds}
    head = getattr(mod, "headline", None)
    if callable(head) and isinstance(result, dict):
        try:
            row.update(head(result))
        except Exception as exc:  # a summary glitch must not lose the run
            row["status"] = f"ok (no headline: {type(exc).__name__})"
    return row


def summary(rows: list[dict], quick: bool, env: dict | None = None) -> str:
    """The markdown of ``benchmarks/results/summary.md``."""
    env = environment() if env is None else env
    machine = (
        f"Machine: {env['cpu']}, {env['cores']} cores; Python {env['python']}, numpy "
        f"{env['numpy']}, scipy {env['scipy']}, pandas {env['pandas']}, arch {env['arch']}, "
        f"numba {env['numba']}, dask {env['dask']}, riskmodels {env['riskmodels']}; "
        f"OPENBLAS_NUM_THREADS={env['OPENBLAS_NUM_THREADS']}; load average at the end "
        f"{env['loadavg_start']}."
    )
    mode = "quick run (`--quick`, small sizes)" if quick else "full run"
    return (
        f"# Benchmark summary: {mode}\n\n{machine}\n\n"
        "Ratios are against the baseline measured in the same run; details per benchmark in "
        "`benchmarks/results/<name>.json` and `benchmarks/README.md`.\n\n"
        + markdown_table(rows, SUMMARY_COLUMNS)
        + "\n"
    )


def _modules() -> list[str]:
    here = Path(__file__).resolve().parent
    return sorted(p.stem for p in here.glob("bench_*.py"))


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks; returns 0 when all succeeded, 1 otherwise."""
    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    p.add_argument("--quick", action="store_true", help="small sizes (seconds, for smoke tests)")
    p.add_argument("--only", nargs="+", default=None, help="benchmark names, e.g. bench_dcc")
    args = p.parse_args(argv)
    names = [n for n in _modules() if args.only is None or n in args.only]
    failed, rows = [], []
    for name in names:
        print(f"== {name}", flush=True)
        t0 = time.perf_counter()
        try:
            mod = importlib.import_module(f"benchmarks.{name}")
            result = mod.main(["--quick"] if args.quick else [])
            rows.append(_summary_row(name, mod, result, time.perf_counter() - t0))
        except Exception as exc:  # report and go on: one broken benchmark must not hide the others
            traceback.print_exc()
            failed.append(name)
            status = f"failed: {type(exc).__name__}"
            rows.append({"name": name, "status": status, "seconds": time.perf_counter() - t0})
        print(f"== {name} done in {time.perf_counter() - t0:.1f} s", flush=True)
    if rows:
        path = write_text_atomic(RESULTS_DIR / "summary.md", summary(rows, args.quick))
        print(f"summary written to {path}")
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
