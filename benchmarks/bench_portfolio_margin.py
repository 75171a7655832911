"""Benchmark: portfolio margin (ES at 99%) for many accounts, against the matrix products alone,
against the previous partial-sort path, and against per-account Python loops.

Reproduce (numbers in benchmarks/README.md, section "Portfolio margin")::

    OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/bench_portfolio_margin.py
    # or: OPENBLAS_NUM_THREADS=1 .venv/bin/python -m benchmarks --only bench_portfolio_margin

Options: ``--accounts 100000``, ``--instruments 20``, ``--scenarios 2500``, ``--alpha 0.99``,
``--repeats 3``, ``--loop-accounts 2000`` (sample for the numpy loop),
``--object-loop-accounts 100`` (sample for the Account loop), ``--quick`` (20,000 accounts x
1,000 scenarios: a smoke test), ``--out benchmarks/results/bench_portfolio_margin.json``.

What is timed (wall clock, ``time.perf_counter``; after one untimed warm-up call of each, which
also compiles or loads the numba kernel, the candidates run in turn ``--repeats`` times and the
median is reported):

* ``ours`` (the new path): ``PortfolioMargin(scenarios, measure="es", alpha,
  contingencies=None).margin_book(book, drivers=False)``: per chunk of accounts the loss block
  ``X[chunk] @ (1 - e^R)^T`` and the top-k kernel ``riskmodels.risk._topk.var_es_rows`` (each
  row's worst losses only, the block read once and left unchanged); also with
  ``drivers=True``, where the kernel returns each account's worst scenario in the same pass.
* ``old``: the same ``margin_book`` with the previous ``_block_measure``
  (``riskmodels.risk.empirical._unweighted``: ``np.partition`` of each row in place, and a
  separate ``np.argmax`` pass for drivers). Its results are checked against ``ours`` (the same
  VaR order statistic; the ES sums the same excesses in another order: a few ulps).
* ``matmul``: on the same chunking, the matrix products ``X[chunk] @ G^T`` alone: the floor of
  any method that forms the P&L. The goal of issue 14 is ``ours / matmul <= 1.5``.
* ``floor`` (kept from the first version of this benchmark): matrix product plus
  ``np.partition(block, k, axis=1)``, nothing else; also the partitions alone (on one
  pre-computed block, repeated over the chunks, less the copies).
* ``numpy loop``: per account ``G @ x_i`` and ``riskmodels.risk.es(pnl, alpha)``, on
  ``--loop-accounts`` accounts, extrapolated to all accounts (the lean per-account loop).
* ``Account loop``: ``PortfolioMargin.margin(account)`` on ``Account`` objects holding the same
  20 linear perpetuals (breakdown with Euler contributions included), on
  ``--object-loop-accounts`` accounts, extrapolated (building the accounts is not timed).

``contingencies=None`` (where ``PortfolioMargin`` has that field): the benchmark measures the
scenario ES; the contingency charges need the gross notional per account, which a ``Book``
built from exposure matrices does not carry.

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


def _partition_margin_class():
    """``PortfolioMargin`` with the ``_block_measure`` it had before the top-k kernel: the rows
    of the loss block partitioned in place by ``riskmodels.risk.empirical._unweighted`` and,
    for drivers, a separate ``np.argmax`` pass."""
    from riskmodels.exceptions import DataError
    from riskmodels.margin import PortfolioMargin
    from riskmodels.risk.empirical import _unweighted

    class PartitionPortfolioMargin(PortfolioMargin):
        def _block_measure(self, losses, probs, argmax=None):
            assert probs is None  # the benchmark's scenarios are unweighted
            if argmax is not None:
                argmax[:] = np.argmax(losses, axis=1)
            v, e = np.empty(losses.shape[0]), np.empty(losses.shape[0])
            _unweighted(losses, self.alpha, v, e)
            out = e if self.measure == "es" else v
            if not np.isfinite(out).all():
                raise DataError("non-finite VaR/ES")
            return out

    return PartitionPortfolioMargin


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
    # the scenario ES only (module docstring): no contingency charges
    opts = {"contingencies": None}
    pm = PortfolioMargin(sc, measure="es", alpha=args.alpha, **opts)
    pm_old = _partition_margin_class()(sc, measure="es", alpha=args.alpha, **opts)
    g = np.expm1(sc.returns)
    x = np.ascontiguousarray(book.exposures)
    chunk = max(1, CHUNK_ELEMENTS // s)
    m = int(np.ceil(s * (1 - args.alpha)))  # tail size
    kth = s - m  # any exact ES must place this order statistic

    def ours() -> None:
        pm.margin_book(book, drivers=False)

    def ours_drivers() -> None:
        pm.margin_book(book, drivers=True)

    def old() -> None:
        pm_old.margin_book(book, drivers=False)

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
            "matmul": matmul_only,
            "ours": ours,
            "old": old,
            "ours_drivers": ours_drivers,
            "floor": floor,
            "partition_copy": partition_with_copy,
            "copy": copy_only,
        },
        args.repeats,
    )
    med = {k: statistics.median(v) for k, v in times.items()}
    t_ours, t_ours_drv, t_old, t_floor, t_mm = (
        med["ours"],
        med["ours_drivers"],
        med["old"],
        med["floor"],
        med["matmul"],
    )
    t_part = max(med["partition_copy"] - med["copy"], 0.0)
    res = pm.margin_book(book, drivers=True)
    res_old = pm_old.margin_book(book, drivers=True)
    # identical results: the same VaR order statistic; the ES adds the same excesses in
    # another order (np.sum's pairwise order over the partition, the kernel's row order)
    diff_old = np.abs(res.initial - res_old.initial)
    max_abs_old = float(diff_old.max())
    max_rel_old = float(np.max(diff_old / np.abs(res_old.initial)))
    assert max_rel_old <= 1e-12, f"new and old paths differ: {max_rel_old:.3g} relative"
    assert np.array_equal(res.driver, res_old.driver), "drivers differ between new and old paths"

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
            "matmul": t_mm,
            "ours": t_ours,
            "old": t_old,
            "ours_with_drivers": t_ours_drv,
            "floor": t_floor,
            "floor_partition_only": t_part,
            "all_rounds": times,
            "numpy_loop_extrapolated": t_loop,
            "numpy_loop_sample": t_loop_sample,
            "account_loop_extrapolated": t_obj,
            "account_loop_sample": t_obj_sample,
        },
        "ratios": {
            "ours_over_matmul": t_ours / t_mm,
            "ours_over_old": t_ours / t_old,
            "ours_with_drivers_over_matmul": t_ours_drv / t_mm,
            "old_over_matmul": t_old / t_mm,
            "ours_over_floor": t_ours / t_floor,
            "numpy_loop_over_ours": t_loop / t_ours,
            "account_loop_over_ours": t_obj / t_ours,
        },
        "check": {
            "max_abs_diff_new_vs_old": max_abs_old,
            "max_rel_diff_new_vs_old": max_rel_old,
            "drivers_equal_new_vs_old": True,
            "max_rel_diff_vs_numpy_loop": err_loop,
            "max_rel_diff_vs_account_loop": err_obj,
            "mean_initial": float(res.initial.mean()),
        },
        "memory_mb": {"peak_rss_before_margin": rss0, "peak_rss_end": _rss_mb()},
    }


def table(result: dict) -> str:
    z, t, r, c = result["sizes"], result["seconds"], result["ratios"], result["check"]
    lines = [
        "| accounts | instruments | scenarios | matmul (s) | old path (s) | new path (s) "
        "| new / matmul | new / old | with drivers / matmul | max rel. diff new vs old "
        "| numpy loop (s, extrap.) | loop / new | Account loop (s, extrap.) | Account loop / new "
        "| peak RSS (MB) |",
        "|" + "---|" * 15,
        f"| {z['accounts']:,} | {z['instruments']} | {z['scenarios']:,} | {t['matmul']:.2f} "
        f"| {t['old']:.2f} | {t['ours']:.2f} | {r['ours_over_matmul']:.2f}x "
        f"| {r['ours_over_old']:.2f}x | {r['ours_with_drivers_over_matmul']:.2f}x "
        f"| {c['max_rel_diff_new_vs_old']:.1e} | {t['numpy_loop_extrapolated']:.1f} "
        f"| {r['numpy_loop_over_ours']:.1f}x | {t['account_loop_extrapolated']:.0f} "
        f"| {r['account_loop_over_ours']:.0f}x | {result['memory_mb']['peak_rss_end']:.0f} |",
    ]
    return "\n".join(lines)


def headline(result: dict) -> dict:
    """Summary row: ES margin of the whole book against the matrix products alone."""
    z, t = result["sizes"], result["seconds"]
    return {
        "metric": f"portfolio margin, {z['accounts']:,} accounts x {z['scenarios']:,} scenarios",
        "value": f"{t['ours']:.2f} s",
        "baseline": "matrix products alone (time / matmul; goal <= 1.5)",
        "ratio": result["ratios"]["ours_over_matmul"],
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
