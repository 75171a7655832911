"""Benchmark: portfolio margin (ES at 99%) for many accounts, against the floor set by the
matrix product and the per-account partial sort, and against per-account Python loops.

Reproduce (numbers in benchmarks/README.md, section "Portfolio margin")::

    OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/bench_portfolio_margin.py
    # or: OPENBLAS_NUM_THREADS=1 .venv/bin/python -m benchmarks --only bench_portfolio_margin

Options: ``--accounts 100000``, ``--instruments 20``, ``--scenarios 2500``, ``--alpha 0.99``,
``--repeats 3``, ``--loop-accounts 2000`` (sample for the numpy loop),
``--object-loop-accounts 100`` (sample for the Account loop), ``--quick`` (20,000 accounts x
1,000 scenarios: a smoke test), ``--out benchmarks/results/bench_portfolio_margin.json``.

What is timed (wall clock, ``time.perf_counter``; after one untimed warm-up call of each, the
candidates run in turn ``--repeats`` times and the median is reported):

* ``ours``: ``PortfolioMargin(scenarios, measure="es", alpha).margin_book(book, drivers=False)``
  (and with ``drivers=True``, which adds one argmin pass): per chunk of accounts the P&L block
  ``X[chunk] @ (e^R - 1)^T`` and ``riskmodels.risk.var_es(block, alpha, axis=1)``.
* ``floor``: on the same chunking, the matrix product ``X[chunk] @ G^T`` and
  ``np.partition(block, k, axis=1)`` per account, nothing else: what any exact empirical ES of
  every account must at least do. Also timed apart: the matrix products alone and the
  partitions alone (on one pre-computed block, repeated over the chunks).
* ``numpy loop``: per account ``G @ x_i`` and ``riskmodels.risk.es(pnl, alpha)``, on
  ``--loop-accounts`` accounts, extrapolated to all accounts (the lean per-account loop).
* ``Account loop``: ``PortfolioMargin.margin(account)`` on ``Account`` objects holding the same
  20 linear perpetuals (breakdown with Euler contributions included), on
  ``--object-loop-accounts`` accounts, extrapolated (building the accounts is not timed).

Data: N assets with t(4) log returns (daily scale 3-8%, one common factor: correlations ~0.5),
S scenarios, seed 2026; every account holds a linear perpetual in each of the N assets, USD
dollar deltas lognormal in size (median 20,000) with random signs; the book is built directly
from these exposure matrices (``Book(...)``; ``Book.from_accounts`` on 100,000 Account objects
would take minutes of Python, and is not what is measured). Memory: the P&L is computed in
chunks of about 2**23 values (64 MiB); the dense S x A matrix (2 GB at full size) is never
formed. Peak RSS of the process is reported.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

if __package__ in (None, ""):  # run as a script: make ``benchmarks`` importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks._harness import environment, finish_environment, timed, write_result


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _interleaved(fns: dict, repeats: int) -> dict[str, list[float]]:
    """One untimed warm-up call of each function, then ``repeats`` rounds calling each in turn.

    Interleaving spreads the drift of a shared machine's load over all candidates alike.
    """
    for fn in fns.values():
        fn()
    times: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(repeats):
        for k, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            times[k].append(time.perf_counter() - t0)
    return times


def make_data(n_accounts: int, n_assets: int, n_scenarios: int, seed: int = 2026):
    """Scenarios (S x N t(4) log returns) and a Book of linear exposures (A x N)."""
    import pandas as pd
    from scipy import sparse

    from riskmodels.instruments import Book, MarketState
    from riskmodels.scenarios import Scenarios

    rng = np.random.default_rng(seed)
    assets = tuple(f"A{j:02d}" for j in range(n_assets))
    vol = np.linspace(0.03, 0.08, n_assets)
    common = rng.standard_t(4, size=(n_scenarios, 1))
    idio = rng.standard_t(4, size=(n_scenarios, n_assets))
    r = (np.sqrt(0.5) * common + np.sqrt(0.5) * idio) / np.sqrt(2.0) * vol
    sc = Scenarios(returns=r, assets=assets, horizon="1D", method="simulated t(4)")
    size = rng.lognormal(np.log(20_000.0), 1.0, size=(n_accounts, n_assets))
    x = size * rng.choice([-1.0, 1.0], size=(n_accounts, n_assets))
    zeros = np.zeros_like(x)
    book = Book(
        account_ids=tuple(range(n_accounts)),
        assets=assets,
        market=MarketState(
            prices=dict.fromkeys(assets, 100.0), valuation_time=pd.Timestamp("2026-01-01", tz="UTC")
        ),
        exposures=x,
        collateral_usd=zeros,
        collateral_haircut_usd=zeros,
        series=(),
        option_quantities=sparse.csr_array((0, n_accounts)),
        equity=np.full(n_accounts, 1e6),
    )
    return sc, book


def run(args) -> dict:
    from riskmodels.instruments import Account, LinearPerp
    from riskmodels.margin import PortfolioMargin
    from riskmodels.margin.portfolio import CHUNK_ELEMENTS
    from riskmodels.risk import es

    env = environment()
    a_n, n, s = args.accounts, args.instruments, args.scenarios
    t0 = time.perf_counter()
    sc, book = make_data(a_n, n, s)
    build_s = time.perf_counter() - t0
    rss0 = _rss_mb()
    pm = PortfolioMargin(sc, measure="es", alpha=args.alpha)
    g = np.expm1(sc.returns)
    x = np.ascontiguousarray(book.exposures)
    chunk = max(1, CHUNK_ELEMENTS // s)
    m = int(np.ceil(s * (1 - args.alpha)))  # tail size
    kth = s - m  # any exact ES must place this order statistic

    def ours() -> None:
        pm.margin_book(book, drivers=False)

    def ours_drivers() -> None:
        pm.margin_book(book, drivers=True)

    def floor() -> None:
        for r0 in range(0, a_n, chunk):
            blk = x[r0 : r0 + chunk] @ g.T
            blk.partition(kth, axis=1)
            del blk

    def matmul_only() -> None:
        for r0 in range(0, a_n, chunk):
            blk = x[r0 : r0 + chunk] @ g.T
            del blk

    block = x[:chunk] @ g.T

    def partition_with_copy() -> None:
        for r0 in range(0, a_n, chunk):
            b = block[: min(chunk, a_n - r0)].copy()
            b.partition(kth, axis=1)

    def copy_only() -> None:
        for r0 in range(0, a_n, chunk):
            b = block[: min(chunk, a_n - r0)].copy()
            del b

    times = _interleaved(
        {
            "ours": ours,
            "ours_drivers": ours_drivers,
            "floor": floor,
            "matmul": matmul_only,
            "partition_copy": partition_with_copy,
            "copy": copy_only,
        },
        args.repeats,
    )
    med = {k: statistics.median(v) for k, v in times.items()}
    t_ours, t_ours_drv, t_floor, t_mm = (
        med["ours"],
        med["ours_drivers"],
        med["floor"],
        med["matmul"],
    )
    all_ours, all_floor = times["ours"], times["floor"]
    t_part = max(med["partition_copy"] - med["copy"], 0.0)
    res = pm.margin_book(book, drivers=False)

    # per-account numpy loop on a sample, extrapolated
    loop_n = min(args.loop_accounts, a_n)

    def numpy_loop() -> np.ndarray:
        return np.array([es(g @ x[i], args.alpha) for i in range(loop_n)])

    loop_vals, t_loop_sample, _ = timed(numpy_loop, 1)
    t_loop = t_loop_sample * a_n / loop_n
    err_loop = float(np.max(np.abs(loop_vals - res.initial[:loop_n]) / np.abs(loop_vals)))

    # Account-object loop on a smaller sample, extrapolated
    obj_n = min(args.object_loop_accounts, a_n)
    accounts = [
        Account(
            collateral={"USDT": 1e6},
            positions=[LinearPerp(a, x[i, j] / 100.0, 100.0) for j, a in enumerate(book.assets)],
            prices={a: 100.0 for a in book.assets},
        )
        for i in range(obj_n)
    ]
    obj_vals, t_obj_sample, _ = timed(
        lambda: np.array([pm.margin(acc).initial for acc in accounts]), 1
    )
    t_obj = t_obj_sample * a_n / obj_n
    err_obj = float(np.max(np.abs(obj_vals - res.initial[:obj_n]) / np.abs(obj_vals)))

    finish_environment(env)
    return {
        "env": env,
        "sizes": {
            "accounts": a_n,
            "instruments": n,
            "scenarios": s,
            "alpha": args.alpha,
            "chunk_accounts": chunk,
            "repeats": args.repeats,
            "loop_sample": loop_n,
            "object_loop_sample": obj_n,
        },
        "seconds": {
            "data_build": build_s,
            "ours": t_ours,
            "ours_all": all_ours,
            "ours_with_drivers": t_ours_drv,
            "floor": t_floor,
            "floor_all": all_floor,
            "floor_matmul_only": t_mm,
            "floor_partition_only": t_part,
            "numpy_loop_extrapolated": t_loop,
            "numpy_loop_sample": t_loop_sample,
            "account_loop_extrapolated": t_obj,
            "account_loop_sample": t_obj_sample,
        },
        "ratios": {
            "ours_over_floor": t_ours / t_floor,
            "ours_with_drivers_over_floor": t_ours_drv / t_floor,
            "numpy_loop_over_ours": t_loop / t_ours,
            "account_loop_over_ours": t_obj / t_ours,
        },
        "check": {
            "max_rel_diff_vs_numpy_loop": err_loop,
            "max_rel_diff_vs_account_loop": err_obj,
            "mean_initial": float(res.initial.mean()),
        },
        "memory_mb": {"peak_rss_before_margin": rss0, "peak_rss_end": _rss_mb()},
    }


def table(result: dict) -> str:
    z, t, r = result["sizes"], result["seconds"], result["ratios"]
    lines = [
        "| accounts | instruments | scenarios | ours (s) | floor (s) | ours / floor | with drivers / floor "
        "| matmul (s) | partition (s) | numpy loop (s, extrap.) | loop / ours | Account loop (s, extrap.) "
        "| Account loop / ours | peak RSS (MB) |",
        "|" + "---|" * 14,
        f"| {z['accounts']:,} | {z['instruments']} | {z['scenarios']:,} | {t['ours']:.2f} | {t['floor']:.2f} "
        f"| {r['ours_over_floor']:.2f}x | {r['ours_with_drivers_over_floor']:.2f}x | {t['floor_matmul_only']:.2f} "
        f"| {t['floor_partition_only']:.2f} | {t['numpy_loop_extrapolated']:.1f} | {r['numpy_loop_over_ours']:.1f}x "
        f"| {t['account_loop_extrapolated']:.0f} | {r['account_loop_over_ours']:.0f}x "
        f"| {result['memory_mb']['peak_rss_end']:.0f} |",
    ]
    return "\n".join(lines)


def headline(result: dict) -> dict:
    """Summary row: ES margin of the whole book against the matmul + partition floor."""
    z, t = result["sizes"], result["seconds"]
    return {
        "metric": f"portfolio margin, {z['accounts']:,} accounts x {z['scenarios']:,} scenarios",
        "value": f"{t['ours']:.2f} s",
        "baseline": "matrix-product + partition floor (time / floor)",
        "ratio": result["ratios"]["ours_over_floor"],
    }


def main(argv: list[str] | None = None) -> dict:
    """Run the benchmark, write the JSON results and print a markdown table; returns the
    results."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--accounts", type=int, default=100_000)
    p.add_argument("--instruments", type=int, default=20)
    p.add_argument("--scenarios", type=int, default=2_500)
    p.add_argument("--alpha", type=float, default=0.99)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--loop-accounts", type=int, default=2_000)
    p.add_argument("--object-loop-accounts", type=int, default=100)
    p.add_argument(
        "--quick", action="store_true", help="20,000 accounts x 1,000 scenarios, one repeat"
    )
    p.add_argument(
        "--out", type=Path, default=Path("benchmarks/results/bench_portfolio_margin.json")
    )
    args = p.parse_args(argv)
    if args.quick:
        args.accounts, args.scenarios, args.repeats = 20_000, 1_000, 3
        args.loop_accounts, args.object_loop_accounts = 500, 30
    result = run(args)
    write_result("bench_portfolio_margin", result, args.out)
    print()
    print(json.dumps(result["env"], default=str))
    print(table(result))
    return result


if __name__ == "__main__":
    main()
