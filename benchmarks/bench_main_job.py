"""Benchmark: the main job end to end, ``riskmodels report all --config configs/default.toml``,
against its 5-minute budget.

Reproduce (numbers in benchmarks/README.md, section "Main job end to end")::

    OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/bench_main_job.py
    # or: OPENBLAS_NUM_THREADS=1 .venv/bin/python -m benchmarks --only bench_main_job

Options: ``--config configs/default.toml``, ``--repeats 1``, ``--budget 300`` (seconds),
``--quick`` (adds the CLI's ``--quick`` profile: three assets, two years),
``--keep DIR`` (write the reports there instead of a temporary folder),
``--out benchmarks/results/bench_main_job.json``.

What is timed (wall clock around the subprocess, median of ``--repeats``): a fresh
``riskmodels report all --config CONFIG --out TMP`` process (the console script beside this
interpreter, else ``python -m riskmodels.cli``), i.e. interpreter
start, imports, data loading from the mirror, the calibration and validation runs and the
rendering of every report, written into a temporary folder (removed afterwards). The number of
files written is reported, and the run fails loudly when the command does. It needs the data
mirror (``RISKMODELS_MIRROR`` or ``../shared/data``).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

if __package__ in (None, ""):  # run as a script: make ``benchmarks`` importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks._harness import (
    environment,
    finish_environment,
    markdown_table,
    timed,
    write_result,
)

NAME = "bench_main_job"
ROOT = Path(__file__).resolve().parent.parent


def _command(config: Path, out: Path, quick: bool) -> list[str]:
    script = Path(sys.executable).with_name("riskmodels")  # the console script of this venv
    exe = [str(script)] if script.exists() else [sys.executable, "-m", "riskmodels.cli"]
    cmd = [*exe, "report", "all"]
    cmd += ["--config", str(config), "--out", str(out)]
    return cmd + (["--quick"] if quick else [])


def _run_once(config: Path, quick: bool, keep: Path | None) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench_main_job_") as tmp:
        out = keep if keep is not None else Path(tmp)
        proc = subprocess.run(
            _command(config, out, quick), cwd=ROOT, capture_output=True, text=True, check=False
        )
        if proc.returncode != 0:
            raise RuntimeError(
                f"`riskmodels report all` exited with {proc.returncode}; last output:\n"
                + (proc.stdout + proc.stderr)[-3000:]
            )
        files = [p for p in out.rglob("*") if p.is_file()]
        return {"files": len(files), "bytes": sum(p.stat().st_size for p in files)}


def run(args: argparse.Namespace) -> dict:
    """Time the main job; the results dict."""
    env = environment()
    config = args.config if args.config.is_absolute() else ROOT / args.config
    out, med, times = timed(lambda: _run_once(config, args.quick, args.keep), args.repeats)
    row = {
        "variant": "report all" + (" --quick" if args.quick else ""),
        "config": str(args.config),
        "repeats": args.repeats,
        "median_s": med,
        "times_s": times,
        "budget_s": args.budget,
        "fraction_of_budget": med / args.budget,
        "within_budget": med <= args.budget,
        "files_written": out["files"],
        "bytes_written": out["bytes"],
    }
    return {"benchmark": NAME, "env": finish_environment(env), "rows": [row]}


COLUMNS = [
    ("run", "variant"),
    ("config", "config"),
    ("repeats", "repeats"),
    ("median time (s)", "median_s", "{:.1f}"),
    ("budget (s)", "budget_s", "{:.0f}"),
    ("time / budget", "fraction_of_budget", "{:.2f}"),
    ("within budget", "within_budget"),
    ("files written", "files_written"),
]


def table(result: dict) -> str:
    """The markdown table of a result."""
    return markdown_table(result["rows"], COLUMNS)


def headline(result: dict) -> dict:
    """Summary row: seconds of the main job against its budget."""
    r = result["rows"][0]
    return {
        "metric": f"main job ({r['variant']})",
        "value": f"{r['median_s']:.1f} s",
        "baseline": f"budget {r['budget_s']:.0f} s",
        "ratio": r["fraction_of_budget"],
    }


def main(argv: list[str] | None = None) -> dict:
    """Run the benchmark, write the JSON results and print a markdown table; returns them."""
    p = argparse.ArgumentParser(prog="bench_main_job", description=__doc__.split("\n\n")[0])
    p.add_argument("--config", type=Path, default=Path("configs/default.toml"))
    p.add_argument("--repeats", type=int, default=1)
    p.add_argument("--budget", type=float, default=300.0, help="seconds (default 5 minutes)")
    p.add_argument("--quick", action="store_true", help="the CLI's --quick profile")
    p.add_argument("--keep", type=Path, default=None, help="write the reports here")
    p.add_argument("--out", type=Path, default=None)
    args = p.parse_args(argv)
    result = run(args)
    path = write_result(NAME, result, args.out)
    print()
    print(table(result))
    print(f"(written to {path})")
    return result


if __name__ == "__main__":
    main()
