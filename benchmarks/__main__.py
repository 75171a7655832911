"""Run every benchmark module: ``python -m benchmarks [--quick] [--only NAME ...]``.

Each ``benchmarks/bench_*.py`` exposes ``main(argv) -> dict``; this runner calls them in turn
(``--quick`` is passed through) and reports which ones failed without stopping the others.
Results (medians over repeats, ratios to the baseline measured in the same run, machine and
versions) are written by each benchmark to ``benchmarks/results/<name>.json``.
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
    failed = []
    for name in names:
        print(f"== {name}", flush=True)
        t0 = time.perf_counter()
        try:
            mod = importlib.import_module(f"benchmarks.{name}")
            mod.main(["--quick"] if args.quick else [])
        except Exception:  # report and go on: one broken benchmark must not hide the others
            traceback.print_exc()
            failed.append(name)
        print(f"== {name} done in {time.perf_counter() - t0:.1f} s", flush=True)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
