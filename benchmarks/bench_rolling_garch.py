"""Benchmark: a rolling GARCH(1,1)-t VaR backtest with the walk-forward engine against the naive
loop that refits ``arch`` from scratch every day, in the same run, on the same data.

Reproduce (numbers in benchmarks/README.md)::

    OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/bench_rolling_garch.py
    OPENBLAS_NUM_THREADS=1 .venv/bin/python -m benchmarks --only bench_rolling_garch

Options: ``--days 2000``, ``--window 1000``, ``--refits 1 5 10 20``, ``--repeats 3``,
``--data sim|btc``, ``--quick`` (200 days, 500-bar window, one repeat: seconds),
``--out benchmarks/results/rolling_garch.json``.

What is timed (wall clock, ``time.perf_counter``; median over ``--repeats`` runs; BLAS pinned
to one thread everywhere):

* **naive**: for each of the ``days`` forecast origins ``t``,
  ``arch_model(100 * x[t - window + 1 : t + 1], vol="GARCH", dist="t").fit(disp="off")``
  (arch's defaults: constant mean, GARCH(1,1), Student-t, arch's own starting values), its
  ``forecast(horizon=1)`` and the closed-form standardized-t VaR at 99 % and 97.5 %.
* **engine, refit k**: ``walk_forward(ParametricModel(GARCH(dist="t", mean="constant")), ...,
  window=window, refit_every=k)``: re-estimation every ``k`` days warm-started from the
  previous estimate (``spec.fit(starting_values=...)``, which also computes robust standard
  errors and bound diagnostics), the variance recursion filtered forward between refits, the
  same closed-form VaR/ES; ``n_jobs=1``.
* **engine, refit 1, cold**: ``refit_every=1, warm_start=False``: the naive computation through
  the engine (identical numbers; the ratio is the engine's overhead).

Agreement: ``|VaR_engine / VaR_naive - 1|`` over the forecast days at 99 % (max, median and
99th percentile); the naive loop is the reference.

Data: ``--data sim`` (default) simulates a GARCH(1,1)-t path with arch's simulator (omega 0.05,
alpha 0.08, beta 0.90 in percent units, nu 5, seed 2026) and uses it as the one-bar simple
return ``x`` of one asset (the engine gets ``log1p(x)`` and models ``expm1(log1p(x))``; the
naive loop is given the very same ``expm1`` series). ``--data btc`` uses BTC daily returns from
the data mirror (the last ``window + days`` bars).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np
import pandas as pd

if __package__ in (None, ""):  # run as a script: make ``benchmarks`` importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks._harness import environment, finish_environment, timed, write_result

ALPHAS = (0.99, 0.975)


def _data(kind: str, n: int) -> pd.DataFrame:
    """One asset ``X`` of daily decimal log returns, ``n`` bars."""
    if kind == "sim":
        from arch.univariate import GARCH as ArchGARCH
        from arch.univariate import StudentsT, ZeroMean

        gen = np.random.default_rng(2026)
        sim = ZeroMean(volatility=ArchGARCH(), distribution=StudentsT(seed=gen)).simulate(
            [0.05, 0.08, 0.90, 5.0], n, burn=500
        )
        x = sim["data"].to_numpy() / 100.0
        index = pd.date_range("2015-01-01", periods=n, freq="D", tz="UTC", name="time")
        return pd.DataFrame({"X": np.log1p(x)}, index=index)
    if kind == "btc":
        from riskmodels.data import default_mirror_path, load_prices, log_returns

        if default_mirror_path() is None:
            raise SystemExit("--data btc needs the data mirror (RISKMODELS_MIRROR)")
        r = log_returns(load_prices("BTC")).dropna()
        r.attrs = {}
        if len(r) < n:
            raise SystemExit(f"BTC has {len(r)} daily returns; --window + --days needs {n}")
        return r.iloc[-n:].rename(columns={"BTC": "X"})
    raise SystemExit(f"unknown --data {kind!r}")


def naive_loop(x: np.ndarray, window: int, origins: np.ndarray) -> tuple[np.ndarray, int]:
    """VaR at ALPHAS from arch refitted from scratch at every origin; (days x alphas), fails."""
    from arch import arch_model
    from scipy import stats

    out = np.empty((origins.size, len(ALPHAS)))
    failed = 0
    for i, t in enumerate(origins):
        res = arch_model(100 * x[t - window + 1 : t + 1], vol="GARCH", dist="t").fit(disp="off")
        failed += int(res.convergence_flag != 0)
        mu, nu = res.params["mu"] / 100, res.params["nu"]
        var1 = res.forecast(horizon=1, reindex=False).variance.iloc[-1, 0]
        scale = np.sqrt(var1) / 100 * np.sqrt((nu - 2) / nu)
        out[i] = [-mu + scale * stats.t.ppf(a, nu) for a in ALPHAS]
    return out, failed


def _timed(fn, repeats: int):
    """``(last output, all seconds)`` over ``repeats`` calls."""
    out, _, times = timed(fn, repeats)
    return out, times


def run(args: argparse.Namespace) -> dict:
    from threadpoolctl import threadpool_limits

    from riskmodels.backtest import ParametricModel, walk_forward
    from riskmodels.volatility import GARCH

    env = environment()
    window, days = args.window, args.days
    data = _data(args.data, window + days)
    x = np.expm1(data["X"].to_numpy())
    origins = np.arange(window - 1, window - 1 + days)
    model = ParametricModel(GARCH(dist="t", mean="constant"))

    def engine(k: int, warm: bool):
        return walk_forward(
            model,
            data,
            {"X": 1.0},
            alphas=ALPHAS,
            window=window,
            refit_every=k,
            warm_start=warm,
            n_jobs=1,
            progress=False,
        )

    engine(20, True)  # warm-up: imports, arch's compiled recursions
    with threadpool_limits(limits=1):
        (naive, failed), t_naive = _timed(lambda: naive_loop(x, window, origins), args.repeats)
    rows = [
        {
            "variant": "naive arch loop",
            "refit_every": 1,
            "warm_start": False,
            "fits": days,
            "times_s": t_naive,
            "median_s": statistics.median(t_naive),
            "speedup": 1.0,
            "not_converged": failed,
        }
    ]
    variants = [(1, False)] + [(k, True) for k in args.refits]
    for k, warm in variants:
        res, times = _timed(lambda k=k, warm=warm: engine(k, warm), args.repeats)
        assert res.config["n_forecasts"] == days
        row = {
            "variant": f"engine, refit {k}" + ("" if warm else ", cold"),
            "refit_every": k,
            "warm_start": warm,
            "fits": len(res.diagnostics),
            "times_s": times,
            "median_s": statistics.median(times),
            "not_converged": int((~res.diagnostics["converged"]).sum()),
        }
        row["speedup"] = rows[0]["median_s"] / row["median_s"]
        for j, a in enumerate(ALPHAS):
            v = res.frame(alpha=a)["var"].to_numpy()
            rel = np.abs(v / naive[:, j] - 1.0)
            tag = f"{100 * a:g}"
            row[f"rel_diff_max_{tag}"] = float(rel.max())
            row[f"rel_diff_median_{tag}"] = float(np.median(rel))
            row[f"rel_diff_p99_{tag}"] = float(np.quantile(rel, 0.99))
            row[f"hit_rate_{tag}"] = float(res.hits(a).mean())
        rows.append(row)
        print(json.dumps({k_: v_ for k_, v_ in row.items() if k_ != "times_s"}), flush=True)
    finish_environment(env)
    return {
        "env": env,
        "data": args.data,
        "window": window,
        "days": days,
        "repeats": args.repeats,
        "model": "GARCH(1,1), Student-t, constant mean",
        "rows": rows,
    }


def table(result: dict) -> str:
    head = (
        "| variant | fits | median time (s) | speed-up vs naive | VaR 99% rel. diff: max "
        "| median | p99 | hit rate 99% |\n|---|---|---|---|---|---|---|---|\n"
    )
    lines = []
    for r in result["rows"]:
        if "rel_diff_max_99" in r:
            agree = (
                f"{r['rel_diff_max_99']:.2e} | {r['rel_diff_median_99']:.2e} "
                f"| {r['rel_diff_p99_99']:.2e} | {r['hit_rate_99']:.4f}"
            )
        else:
            agree = "(reference) | | | "
        lines.append(
            f"| {r['variant']} | {r['fits']} | {r['median_s']:.2f} | {r['speedup']:.1f}x "
            f"| {agree} |"
        )
    return head + "\n".join(lines)


def headline(result: dict) -> dict:
    """Summary row: the engine with refit every 10 days (else the sparsest refit run)."""
    eng = [r for r in result["rows"] if r["warm_start"]]
    r = next((r for r in eng if r["refit_every"] == 10), None) or max(
        eng, key=lambda r: r["refit_every"]
    )
    return {
        "metric": f"rolling GARCH-t backtest, {result['days']} days, {r['variant']}",
        "value": f"{r['median_s']:.2f} s",
        "baseline": "naive arch refit loop (speed-up)",
        "ratio": r["speedup"],
    }


def main(argv: list[str] | None = None) -> dict:
    """Run the benchmark, write the JSON results and print a markdown table; returns them."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--days", type=int, default=2000)
    p.add_argument("--window", type=int, default=1000)
    p.add_argument("--refits", type=int, nargs="+", default=[1, 5, 10, 20])
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--data", choices=("sim", "btc"), default="sim")
    p.add_argument("--quick", action="store_true", help="200 days, 500-bar window, one repeat")
    p.add_argument("--out", type=Path, default=Path("benchmarks/results/rolling_garch.json"))
    args = p.parse_args(argv)
    if args.quick:
        args.days, args.window, args.repeats = 200, 500, 1
    result = run(args)
    write_result("rolling_garch", result, args.out)
    print()
    print(json.dumps(result["env"], default=str))
    print(table(result))
    return result


if __name__ == "__main__":
    main()
