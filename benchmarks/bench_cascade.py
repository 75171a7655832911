"""Benchmark: a liquidation cascade over 1,000,000 accounts, vectorized by account, against the
per-account Python loop (``simulate_cascade_loop``) on 10,000 accounts.

Reproduce (numbers in benchmarks/README.md, section "Liquidation cascade")::

    OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/bench_cascade.py
    # or: OPENBLAS_NUM_THREADS=1 .venv/bin/python -m benchmarks --only bench_cascade

Options: ``--accounts 1000000``, ``--loop-accounts 10000``, ``--shock -0.08``, ``--repeats 3``,
``--quick`` (100,000 vectorized / 2,000 loop accounts, one repeat),
``--out benchmarks/results/bench_cascade.json``.

What is timed (wall clock, ``time.perf_counter``, median of ``--repeats``; building the
population is not timed): ``simulate_cascade(pop, shock, impact=SquareRootImpact(0.04, V),
insurance_fund=F, adl="ranking", liquidation_fee=0.005)`` on one BTC-like asset (price 60,000,
the generator's default leverage mix, entry dispersion 5%, gross notional 2 x OI with
OI = 2.6e9 USD scaled by accounts / 1,000,000, daily volume V = 10 x OI, fund 1% of OI, seed
2026); the same call on the first ``--loop-accounts`` accounts, and ``simulate_cascade_loop``
(the pure-Python per-account twin, same model and numbers) on them. Reported: seconds, the
per-account time of each, and their ratio in the same run, plus a check that the two engines
agree on the small population.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np

if __package__ in (None, ""):  # run as a script: make ``benchmarks`` importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks._harness import environment, finish_environment, timed, write_result


def headline(result: dict) -> dict:
    """Summary row: the vectorized cascade against the per-account loop, per account."""
    return {
        "metric": f"liquidation cascade, {result['accounts']:,} accounts",
        "value": f"{result['vectorized_seconds']:.2f} s",
        "baseline": "per-account Python loop (speed-up per account)",
        "ratio": result["per_account_speedup"],
    }


def main(argv: list[str] | None = None) -> dict:
    """Run the benchmark; returns (and writes) the results dict."""
    from riskmodels.stress import (
        SquareRootImpact,
        generate_population,
        simulate_cascade,
        simulate_cascade_loop,
    )

    ap = argparse.ArgumentParser(prog="bench_cascade", description=__doc__)
    ap.add_argument("--accounts", type=int, default=1_000_000)
    ap.add_argument("--loop-accounts", type=int, default=10_000)
    ap.add_argument("--shock", type=float, default=-0.08)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument(
        "--out",
        default=str(Path(__file__).resolve().parent / "results" / "bench_cascade.json"),
    )
    args = ap.parse_args(argv)
    if args.quick:
        args.accounts, args.loop_accounts, args.repeats = 100_000, 2_000, 1

    def build(n: int):
        oi = 2.6e9 * n / 1_000_000
        pop = generate_population(n, 60_000.0, open_interest=oi, entry_dispersion=0.05, rng=2026)
        kw = dict(
            impact=SquareRootImpact(0.04, 10 * oi),
            insurance_fund=0.01 * oi,
            adl="ranking",
            liquidation_fee=0.005,
        )
        return pop, kw

    env = environment()
    big, kw_big = build(args.accounts)
    small, kw_small = build(args.loop_accounts)
    simulate_cascade(small, args.shock, **kw_small)  # warm-up
    res_big, t_big, all_big = timed(
        lambda: simulate_cascade(big, args.shock, **kw_big), args.repeats
    )
    res_small, t_small, _ = timed(
        lambda: simulate_cascade(small, args.shock, **kw_small), args.repeats
    )
    loop, t_loop, _ = timed(lambda: simulate_cascade_loop(small, args.shock, **kw_small), 1)
    agree = bool(
        loop["n_liquidated"] == res_small.n_liquidated
        and np.isclose(loop["bad_debt"], res_small.total_bad_debt, rtol=1e-9, atol=1e-6)
        and np.isclose(loop["adl"], res_small.total_adl, rtol=1e-9, atol=1e-6)
    )
    res_big.check_conservation()
    per_vec = t_big / args.accounts
    per_loop = t_loop / args.loop_accounts
    out = {
        "benchmark": "bench_cascade",
        "accounts": args.accounts,
        "loop_accounts": args.loop_accounts,
        "shock": args.shock,
        "repeats": args.repeats,
        "vectorized_seconds": t_big,
        "vectorized_seconds_all": all_big,
        "vectorized_small_seconds": t_small,
        "loop_seconds": t_loop,
        "vectorized_us_per_account": 1e6 * per_vec,
        "loop_us_per_account": 1e6 * per_loop,
        "per_account_speedup": per_loop / per_vec,
        "same_size_speedup": t_loop / t_small,
        "loop_agrees": agree,
        "rounds": int((res_big.path["round"] >= 0).sum()),
        "n_liquidated": res_big.n_liquidated,
        "liquidated_notional": res_big.total_liquidated_notional,
        "bad_debt": res_big.total_bad_debt,
        "insurance_draw": res_big.insurance_draw,
        "adl": res_big.total_adl,
        "remaining_bad_debt": res_big.remaining_bad_debt,
        "env": finish_environment(env),
    }
    write_result("bench_cascade", out, args.out)
    print("| accounts | vectorized (s) | us/account | loop accounts | loop (s) | us/account | "
          "per-account ratio | vectorized same size (s) | same-size ratio | agree |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|---|")
    print(
        f"| {args.accounts:,} | {t_big:.2f} | {1e6 * per_vec:.2f} | {args.loop_accounts:,} | "
        f"{t_loop:.2f} | {1e6 * per_loop:.1f} | {per_loop / per_vec:,.0f}x | {t_small:.4f} | "
        f"{t_loop / t_small:,.0f}x | {agree} |"
    )
    print(
        f"cascade: {out['rounds']} rounds, {out['n_liquidated']:,} liquidated, notional "
        f"{out['liquidated_notional']:,.0f}, bad debt {out['bad_debt']:,.0f}, fund draw "
        f"{out['insurance_draw']:,.0f}, ADL {out['adl']:,.0f}, remaining "
        f"{out['remaining_bad_debt']:,.0f}"
    )
    return out


if __name__ == "__main__":
    main()
