"""Benchmark: DCC fit time against the number of assets, full and composite likelihood, with
the PyPI package ``pymgarch`` as a baseline in the same run.

Reproduce (numbers in benchmarks/README.md)::

    OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/bench_dcc.py

(or ``python -m benchmarks --only bench_dcc``). Options: ``--sizes 5 10 25 50 100 200``,
``--repeats 3``, ``--nobs 2000``, ``--pymgarch-max-full 100``, ``--pymgarch-max-composite 200``,
``--no-pymgarch``, ``--quick`` (N = 5, 10, one repeat: a smoke test),
``--out benchmarks/results/bench_dcc.json``.

What is timed (wall clock, ``time.perf_counter``; the median of ``--repeats`` runs for N <= 50,
one run above):

* ``garch``: the univariate stage alone, ``fit_panel(returns, GARCH())`` (N GARCH(1,1) fits).
* ``corr``: the correlation stage given those fits, ``DCC(...).fit(returns, volatility=panel)``
  (estimation, the full-likelihood value, robust standard errors).
* ``total``: the whole two-step fit, ``DCC(...).fit(returns)``.
* ``pymgarch corr``: ``pymgarch.DCC().fit(100 * returns, marginals=<the same arch fits>,
  compute_se=False, method=...)``, i.e. its correlation stage on identical standardized
  residuals; ``pymgarch total``: with ``marginals=UnivariateSpec(mean="Zero")`` (its own
  GARCH(1,1) fits). pymgarch's standard errors are off (they are its most expensive part);
  ours are on.

Log-likelihood comparison on the same standardized residuals. The two packages' objectives
differ only in the target: ours is ``z'z / T`` (Engle 2002), pymgarch's ``cov2cor(z'z / T)``.
``dLL same obj.``: our fit with pymgarch's target (``target=cov2cor(z'z / T)``), ``L_C`` at our
estimate minus at pymgarch's estimate: the same objective, so >= 0 means our optimiser found an
equal or better optimum. ``dLL ours obj.`` / ``dLL pymgarch obj.``: each package's own
objective at our estimate minus at pymgarch's. Composite rows compare the composite objectives
(sums over the contiguous pairs).

Data: ``simulate_dcc`` (DCC(1,1) with a = 0.05, b = 0.93, equicorrelation 0.5, GARCH(1,1)
marginals), T = 2000, seed 2026.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

if __package__ in (None, ""):  # run as a script: make ``benchmarks`` importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks._harness import environment, finish_environment, timed, write_result


def _timed(fn, repeats: int):
    """``(last output, median seconds, min seconds)`` over ``repeats`` calls."""
    out, med, times = timed(fn, repeats)
    return out, med, min(times)


def _pym_objective(eps, x, method):
    """pymgarch's correlation-stage objective at ``x`` (its own targets), on our scale:
    full -> sum_t L_C,t; composite -> sum over pairs and dates (pymgarch averages over pairs)."""
    from pymgarch.correlation import correlation_targets
    from pymgarch.estimation import (
        ParamLayout,
        _pair_targets,
        composite_pairs,
        stage2_llt,
        stage2_llt_composite,
    )

    layout = ParamLayout(asymmetric=False, studentt=False)
    Sbar, Nbar = correlation_targets(eps)
    N = eps.shape[1]
    zz = (eps * eps).sum(axis=1)
    if method == "full":
        llt = stage2_llt(np.asarray(x), eps, Sbar, Nbar, layout)
        return float(np.sum(llt + 0.5 * (N * np.log(2 * np.pi) + zz)))
    pairs = composite_pairs(N, "contiguous")
    pt = _pair_targets(Sbar, Nbar, pairs, False)
    llt = stage2_llt_composite(np.asarray(x), eps, Sbar, Nbar, layout, pairs, pair_targets=pt)
    pair_zz = sum(eps[:, i] ** 2 + eps[:, j] ** 2 for i, j in pairs)
    return float(
        np.sum(llt * len(pairs) + 0.5 * (2 * len(pairs) * np.log(2 * np.pi)) + 0.5 * pair_zz)
    )


def run(args: argparse.Namespace) -> dict:
    from riskmodels.correlation import DCC, equicorrelation, simulate_dcc
    from riskmodels.correlation._linalg import cov2cor
    from riskmodels.volatility import GARCH, fit_panel

    try:
        import pymgarch
    except ImportError:  # pragma: no cover - the bench extra is optional
        pymgarch = None
    use_pym = pymgarch is not None and not args.no_pymgarch

    env = environment(pymgarch=getattr(pymgarch, "__version__", None))
    # warm-up: numba's cached kernels, arch, pymgarch's jit
    warm = simulate_dcc(300, equicorrelation(3, 0.5), 0.05, 0.93, rng=1)
    for lik in ("full", "composite"):
        DCC(likelihood=lik).fit(warm.returns)
        if use_pym:
            pymgarch.DCC().fit(100 * warm.returns, compute_se=False, method=lik)

    rows = []
    for N in args.sizes:
        reps = args.repeats if N <= 50 else 1
        sim = simulate_dcc(args.nobs, equicorrelation(N, 0.5), 0.05, 0.93, rng=2026)
        r = sim.returns
        panel, t_garch, _ = _timed(lambda r=r: fit_panel(r, GARCH()), reps)
        eps = panel.std_resid.to_numpy()
        for lik in ("full", "composite"):
            spec = DCC(likelihood=lik)
            res, t_corr, t_corr_min = _timed(
                lambda s=spec, r=r, p=panel: s.fit(r, volatility=p), reps
            )
            _, t_total, t_total_min = _timed(lambda s=spec, r=r: s.fit(r), reps)
            row = {
                "N": N,
                "likelihood": lik,
                "garch_s": t_garch,
                "corr_s": t_corr,
                "corr_min_s": t_corr_min,
                "total_s": t_total,
                "total_min_s": t_total_min,
                "a": float(res.params["a"]),
                "b": float(res.params["b"]),
                "nfev": res.optimizer["nfev"],
                "LC_ours": res.loglikelihood_correlation,
                "CL_ours": res.composite_loglikelihood,
            }
            cap = args.pymgarch_max_full if lik == "full" else args.pymgarch_max_composite
            if use_pym and N <= cap:
                from pymgarch import UnivariateSpec

                marg = [panel.results[a].arch_result for a in panel.assets]
                pres, t_pc, _ = _timed(
                    lambda r=r, m=marg, lk=lik: pymgarch.DCC().fit(
                        100 * r, marginals=m, compute_se=False, method=lk
                    ),
                    reps,
                )
                _, t_pt, _ = _timed(
                    lambda r=r, lk=lik: pymgarch.DCC().fit(
                        100 * r,
                        marginals=UnivariateSpec(mean="Zero"),
                        compute_se=False,
                        method=lk,
                    ),
                    reps,
                )
                x_p = np.asarray(pres.psi, dtype=float)
                ours_at_p = res.fix(x_p)
                if lik == "full":
                    d_ours = res.loglikelihood_correlation - ours_at_p.loglikelihood_correlation
                else:
                    d_ours = res.composite_loglikelihood - ours_at_p.composite_loglikelihood
                x_o = res.params.to_numpy()
                d_pym = _pym_objective(eps, x_o, lik) - _pym_objective(eps, x_p, lik)
                # the same objective for both: ours with pymgarch's target cov2cor(z'z / T)
                same = DCC(likelihood=lik, target=cov2cor(eps.T @ eps / len(eps)))
                res_s = same.fit(r, volatility=panel)
                at_p = res_s.fix(x_p)
                key = "loglikelihood_correlation" if lik == "full" else "composite_loglikelihood"
                d_same = getattr(res_s, key) - getattr(at_p, key)
                row.update(
                    {
                        "pym_corr_s": t_pc,
                        "pym_total_s": t_pt,
                        "speedup_corr": t_pc / t_corr,
                        "speedup_total": t_pt / t_total,
                        "pym_a": float(x_p[0]),
                        "pym_b": float(x_p[1]),
                        "dLL_ours_objective": d_ours,
                        "dLL_pym_objective": d_pym,
                        "dLL_same_objective": d_same,
                    }
                )
            rows.append(row)
            print(json.dumps(row), flush=True)
    finish_environment(env)
    return {"env": env, "nobs": args.nobs, "rows": rows}


def table(result: dict) -> str:
    head = (
        "| N | likelihood | GARCH stage (s) | corr. stage (s) | total (s) | pymgarch corr. (s) "
        "| pymgarch total (s) | speed-up total | a, b (ours) | a, b (pymgarch) | dLL same obj. "
        "| dLL ours obj. | dLL pymgarch obj. |\n"
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|\n"
    )
    lines = []
    for r in result["rows"]:

        def f(key, fmt="{:.2f}", r=r):
            v = r.get(key)
            return "-" if v is None else fmt.format(v)

        lines.append(
            f"| {r['N']} | {r['likelihood']} | {f('garch_s')} | {f('corr_s')} | {f('total_s')} "
            f"| {f('pym_corr_s')} | {f('pym_total_s')} | {f('speedup_total', '{:.1f}x')} "
            f"| {r['a']:.4f}, {r['b']:.4f} | "
            + ("-" if "pym_a" not in r else f"{r['pym_a']:.4f}, {r['pym_b']:.4f}")
            + f" | {f('dLL_same_objective', '{:+.2e}')} | {f('dLL_ours_objective', '{:+.2e}')} "
            f"| {f('dLL_pym_objective', '{:+.2e}')} |"
        )
    return head + "\n".join(lines)


def headline(result: dict) -> dict:
    """Summary row: the whole full-likelihood fit at the largest N pymgarch also ran."""
    rows = [r for r in result["rows"] if r["likelihood"] == "full"]
    both = [r for r in rows if "pym_total_s" in r] or rows
    r = max(both, key=lambda r: r["N"])
    return {
        "metric": f"DCC fit, full likelihood, N = {r['N']}",
        "value": f"{r['total_s']:.2f} s",
        "baseline": "pymgarch total (speed-up)" if "pym_total_s" in r else "-",
        "ratio": r.get("speedup_total"),
    }


def main(argv: list[str] | None = None) -> dict:
    """Run the benchmark, write the JSON results and print a markdown table; returns the
    results."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[5, 10, 25, 50, 100, 200])
    p.add_argument("--nobs", type=int, default=2000)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--pymgarch-max-full", type=int, default=100)
    p.add_argument("--pymgarch-max-composite", type=int, default=200)
    p.add_argument("--no-pymgarch", action="store_true")
    p.add_argument("--quick", action="store_true", help="N = 5, 10 with one repeat")
    p.add_argument("--out", type=Path, default=Path("benchmarks/results/bench_dcc.json"))
    args = p.parse_args(argv)
    if args.quick:
        args.sizes, args.repeats = [5, 10], 1
    result = run(args)
    write_result("bench_dcc", result, args.out)
    print()
    print(json.dumps(result["env"], default=str))
    print(table(result))
    return result


if __name__ == "__main__":
    main()
