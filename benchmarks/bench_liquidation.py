"""Benchmark: the liquidation engine's first-passage search on 1,000,000 isolated positions over
one month of 1-minute bars, against the per-bar numpy loop, measured in the same run.

Reproduce (numbers in benchmarks/README.md, section "Liquidation engine: first passage")::

    OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/bench_liquidation.py
    # or: OPENBLAS_NUM_THREADS=1 .venv/bin/python -m benchmarks --only bench_liquidation

Options: ``--positions 1000000``, ``--bars 43200``, ``--substeps 10``, ``--vol 0.0005``,
``--seed 2026``, ``--repeats 3``, ``--variants bar0 random``, ``--baseline-positions N`` (default:
every position when the probe predicts at most ``--baseline-budget 120`` seconds for the loop,
else ``--baseline-subset 100000``), ``--probe-bars 1000``, ``--goal 3.0``, ``--no-profile``,
``--quick`` (50,000 positions x 4,320 bars, one repeat), ``--out
benchmarks/results/bench_liquidation.json``.

Data (seed fixed, nothing here is timed):

* **Mark bars**: a driftless GBM with 1-minute volatility ``--vol`` (0.05 %/min, about
  realistic for BTC; 10.4 % over the month) on a grid of ``--substeps`` points per minute,
  starting at 50,000. Each bar's open is the previous close, its high/low the extremes of its
  sub-grid points and open, its close the last sub-grid point. A UTC ``DatetimeIndex`` of bar
  open times (``attrs["price_type"] = "mark"``).
* **Positions**: random long/short (side +/-1), leverage uniform 5x-125x, notional log-uniform
  100-50,000 USD (the first bracket of Binance's 2021-03-18 BTCUSDT table, where 125x is
  allowed), ``quantity = notional / entry``, ``wallet = notional / leverage`` (isolated).
  Variant ``bar0``: every position enters at the open of bar 0 (no ``entry_time`` column).
  Variant ``random``: entry bar uniform over the window, entry price that bar's open,
  ``entry_time`` the bar's open time.

What is timed (wall clock, ``time.perf_counter``; medians of ``--repeats`` after one untimed
warm-up call on 1,000 positions):

* **end to end**: ``simulate_liquidations(bars, positions, "binance_usdm_btcusdt_2021-03-18",
  delay="1min", insurance_fund=1e9)``: validation, liquidation prices, triggers, close-outs,
  bad debt, fund and ADL ledger, result frames. Also its process CPU time (median) and the best
  of the repeats: on a shared machine the wall time includes waiting for a core. The engine
  runs on one core; the goal (3 s on 2 cores) is checked against the median wall time.
* **kernel**: ``_kernels.first_passage(low, high, start, level, side)`` with the liquidation
  prices computed once beforehand (``liquidation_prices``, not timed); includes building the
  two sparse tables.
* **baseline**: ``_kernels.first_passage_loop`` (one numpy pass over the positions per bar), one
  call. Its cost per bar does not fall as positions are liquidated, so a probe over the first
  ``--probe-bars`` bars with every position predicts the full call; above the budget the loop
  runs on the first ``--baseline-subset`` positions (the population is random, so they are a
  random sample) and the ratio is per position (throughput), labelled as such. The kernel is
  also timed on that subset (same-size ratio).

Checks (the benchmark stops with ``RuntimeError`` if one fails): the kernel's trigger bars equal
the loop's on every position compared, and equal the trigger bars of the end-to-end run's events
(positions without an event: never triggered); the result's ledger balances
(``check_conservation``).

Where the time goes: one extra end-to-end call per variant with timers around the engine's
stages (``MarkPaths.from_input``, ``_book``, the entry check ``LiquidationRule.maintenance``,
``_level``, ``MinTable`` construction, ``MinTable.first_at_or_below`` / ``range_min``, the rest
of ``_run`` (close-out arithmetic and event rows), ``DataFrame`` construction called from the
engine, ``_ledger``, and what is left of ``simulate_liquidations`` (result frames)). The timers
are put on the module attributes for that call only and removed after it. With profiling on, a
``cProfile`` run of the ``bar0`` call adds the top functions by own time to the JSON.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import resource
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np
import pandas as pd

if __package__ in (None, ""):  # run as a script: make ``benchmarks`` importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks._harness import (
    environment,
    finish_environment,
    markdown_table,
    timed,
    write_result,
)

RULE = "binance_usdm_btcusdt_2021-03-18"
DELAY = "1min"
FUND = 1e9


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def make_bars(n_bars: int, substeps: int, vol: float, rng: np.random.Generator) -> pd.DataFrame:
    """GBM mark bars: OHLC of ``substeps`` sub-grid points per bar (see the module docstring)."""
    s2 = vol**2 / substeps
    z = rng.standard_normal((n_bars, substeps)) * np.sqrt(s2) - 0.5 * s2
    logp = np.log(50_000.0) + np.cumsum(z.ravel()).reshape(n_bars, substeps)
    close = np.exp(logp[:, -1])
    open_ = np.empty(n_bars)
    open_[0] = 50_000.0
    open_[1:] = close[:-1]
    high = np.maximum(np.exp(logp.max(axis=1)), open_)
    low = np.minimum(np.exp(logp.min(axis=1)), open_)
    idx = pd.date_range("2021-04-01", periods=n_bars, freq="1min", tz="UTC")
    bars = pd.DataFrame({"open": open_, "high": high, "low": low, "close": close}, index=idx)
    bars.attrs["price_type"] = "mark"
    return bars


def make_positions(
    bars: pd.DataFrame, n: int, variant: str, rng: np.random.Generator
) -> tuple[pd.DataFrame, np.ndarray]:
    """Isolated positions and their entry bars (see the module docstring)."""
    side = rng.choice(np.array([-1.0, 1.0]), n)
    lev = rng.uniform(5.0, 125.0, n)
    notional = np.exp(rng.uniform(np.log(100.0), np.log(50_000.0), n))
    if variant == "bar0":
        start = np.zeros(n, dtype=np.int64)
    elif variant == "random":
        start = rng.integers(0, len(bars), n).astype(np.int64)
    else:
        raise ValueError(f"unknown variant {variant!r}: 'bar0' or 'random'.")
    entry = bars["open"].to_numpy()[start]
    cols: dict[str, Any] = {
        "side": side,
        "quantity": notional / entry,
        "entry_price": entry,
        "wallet": notional / lev,
    }
    if variant == "random":
        cols["entry_time"] = bars.index[start]
    return pd.DataFrame(cols), start


def _triggers_from_events(events: pd.DataFrame, n: int, n_bars: int) -> np.ndarray:
    """Trigger bar per position from a result's events (``n_bars`` where none)."""
    out = np.full(n, n_bars, dtype=np.int64)
    if len(events):
        first = events[events["order"] == 0]
        out[first["position"].to_numpy(dtype=np.int64)] = first["trigger_bar"].to_numpy(np.int64)
    return out


def _check_equal(name: str, fast: np.ndarray, other: np.ndarray) -> None:
    if fast.shape != other.shape or not np.array_equal(fast, other):
        diff = np.flatnonzero(fast != other) if fast.shape == other.shape else np.array([-1])
        i = int(diff[0])
        raise RuntimeError(
            f"first_passage and {name} disagree on {diff.size} of {fast.size} positions "
            f"(first: position {i}, {fast[i] if i >= 0 else '?'} vs {other[i] if i >= 0 else '?'})"
        )


def staged(call) -> tuple[float, dict[str, float]]:
    """One call of ``call()`` with timers on the engine's stages; (seconds, seconds per stage)."""
    from riskmodels.liquidation import _kernels, engine, rules

    acc: dict[str, float] = defaultdict(float)
    saved: list[tuple[Any, str, Any]] = []

    def wrap(owner: Any, attr: str, key: str) -> None:
        orig = owner.__dict__[attr]
        fn = orig.__func__ if isinstance(orig, classmethod) else orig

        def timed_fn(*a, **k):
            t0 = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                acc[key] += time.perf_counter() - t0

        saved.append((owner, attr, orig))
        setattr(owner, attr, classmethod(timed_fn) if isinstance(orig, classmethod) else timed_fn)

    frame_init = pd.DataFrame.__init__

    def df_init(self, *a, **k):
        caller = sys._getframe(1)
        if caller.f_globals.get("__name__") != engine.__name__:
            return frame_init(self, *a, **k)
        t0 = time.perf_counter()
        try:
            return frame_init(self, *a, **k)
        finally:
            acc[f"frames in {caller.f_code.co_name}"] += time.perf_counter() - t0

    try:  # the timers go on inside the try, so that a renamed stage cannot leave one behind
        wrap(engine.MarkPaths, "from_input", "prices (MarkPaths.from_input)")
        wrap(engine, "_book", "_book")
        wrap(rules.LiquidationRule, "maintenance", "entry check (maintenance)")
        wrap(engine, "_level", "_level")
        wrap(_kernels.MinTable, "__init__", "search: sparse tables")
        wrap(_kernels.MinTable, "first_at_or_below", "search: first_at_or_below")
        wrap(_kernels.MinTable, "range_min", "search: range_min")
        wrap(engine, "_run", "_run (total)")
        wrap(engine, "_ledger", "_ledger")
        pd.DataFrame.__init__ = df_init  # type: ignore[method-assign]
        t0 = time.perf_counter()
        call()
        total = time.perf_counter() - t0
    finally:
        pd.DataFrame.__init__ = frame_init  # type: ignore[method-assign]
        for owner, attr, orig in reversed(saved):
            setattr(owner, attr, orig)
    run_total = acc.pop("_run (total)", 0.0)
    inner = sum(
        acc.get(k, 0.0)
        for k in (
            "_level",
            "search: sparse tables",
            "search: first_at_or_below",
            "search: range_min",
            "frames in _run",
        )
    )
    stages = {
        "prices (MarkPaths.from_input)": acc.get("prices (MarkPaths.from_input)", 0.0),
        "_book": acc.get("_book", 0.0),
        "entry check (maintenance)": acc.get("entry check (maintenance)", 0.0),
        "_level": acc.get("_level", 0.0),
        "search: sparse tables": acc.get("search: sparse tables", 0.0),
        "search: first_at_or_below": acc.get("search: first_at_or_below", 0.0),
        "search: range_min": acc.get("search: range_min", 0.0),
        "close-out (rest of _run)": run_total - inner,
        "events frame (_run)": acc.get("frames in _run", 0.0),
        "_ledger": acc.get("_ledger", 0.0),
    }
    # frames built inside _ledger are part of _ledger's time; what is left of the call is
    # simulate_liquidations' own work: rule loading, checks, result frames
    stages["result frames and the rest"] = total - sum(stages.values())
    stages["frames in _ledger (part of _ledger)"] = acc.get("frames in _ledger", 0.0)
    return total, stages


def profile_top(call, n: int = 12) -> list[dict[str, Any]]:
    """Top ``n`` functions by own time in one ``cProfile`` run of ``call()``."""
    prof = cProfile.Profile()
    prof.runcall(call)
    st = pstats.Stats(prof, stream=io.StringIO())
    rows = []
    for (file, line, func), (_cc, nc, tt, ct, _callers) in st.stats.items():  # type: ignore[attr-defined]
        rows.append(
            {
                "function": f"{Path(file).name}:{line}({func})",
                "calls": nc,
                "own_s": tt,
                "cumulative_s": ct,
            }
        )
    rows.sort(key=lambda r: r["own_s"], reverse=True)
    return rows[:n]


def run_variant(
    variant: str, bars: pd.DataFrame, args: argparse.Namespace, rng: np.random.Generator
) -> dict[str, Any]:
    from riskmodels.liquidation import liquidation_prices, simulate_liquidations
    from riskmodels.liquidation._kernels import first_passage, first_passage_loop

    n, n_bars = args.positions, len(bars)
    low, high = bars["low"].to_numpy(), bars["high"].to_numpy()
    pos, start = make_positions(bars, n, variant, rng)
    side = pos["side"].to_numpy()
    t0 = time.perf_counter()
    level = liquidation_prices(pos, RULE)["liquidation_price"].to_numpy()
    t_levels = time.perf_counter() - t0

    def e2e():
        return simulate_liquidations(bars, pos, RULE, delay=DELAY, insurance_fund=FUND)

    cpu: list[float] = []

    def e2e_cpu():  # CPU time as well: on a shared machine wall time includes waiting for a core
        c0 = time.process_time()
        out = e2e()
        cpu.append(time.process_time() - c0)
        return out

    def kernel():
        return first_passage(low, high, start, level, side)

    res, t_e2e, all_e2e = timed(e2e_cpu, args.repeats)
    fast, t_kernel, all_kernel = timed(kernel, args.repeats)
    _check_equal(
        "the end-to-end run's trigger bars", fast, _triggers_from_events(res.events, n, n_bars)
    )
    res.check_conservation()

    # baseline: predict the full loop from a probe over the first bars, then pick its size
    k = min(args.probe_bars, n_bars)
    _, t_probe, _ = timed(lambda: first_passage_loop(low[:k], high[:k], start, level, side), 1)
    predicted_full = t_probe * n_bars / k
    if args.baseline_positions is not None:
        n_base = min(args.baseline_positions, n)
    elif predicted_full <= args.baseline_budget:
        n_base = n
    else:
        n_base = min(args.baseline_subset, n)
    sub = slice(0, n_base)
    loop_out, t_loop, _ = timed(
        lambda: first_passage_loop(low, high, start[sub], level[sub], side[sub]), 1
    )
    _check_equal("first_passage_loop", fast[sub], loop_out)
    _, t_kernel_sub, _ = timed(
        lambda: first_passage(low, high, start[sub], level[sub], side[sub]), args.repeats
    )

    t_stage, stages = staged(e2e)
    prof = profile_top(e2e) if args.profile and variant == args.variants[0] else None

    ev = res.events
    per_pos_loop = t_loop / n_base
    row = {
        "variant": variant,
        "positions": n,
        "bars": n_bars,
        "e2e_seconds": t_e2e,
        "e2e_seconds_all": all_e2e,
        "e2e_best_seconds": min(all_e2e),
        "e2e_cpu_seconds": statistics.median(cpu),
        "e2e_cpu_seconds_all": cpu,
        "kernel_seconds": t_kernel,
        "kernel_seconds_all": all_kernel,
        "liquidation_prices_seconds": t_levels,
        "baseline_positions": n_base,
        "baseline_is_subset": n_base < n,
        "baseline_seconds": t_loop,
        "baseline_probe_bars": k,
        "baseline_probe_seconds": t_probe,
        "baseline_predicted_full_seconds": predicted_full,
        "baseline_full_equivalent_seconds": per_pos_loop * n,
        "kernel_subset_seconds": t_kernel_sub,
        "kernel_speedup_per_position": per_pos_loop / (t_kernel / n),
        "kernel_speedup_same_size": t_loop / t_kernel_sub,
        "e2e_speedup_vs_baseline_per_position": per_pos_loop * n / t_e2e,
        "within_goal": bool(t_e2e <= args.goal),
        "goal_seconds": args.goal,
        "triggers_equal": True,  # _check_equal raised otherwise
        "liquidated": int((fast < n_bars).sum()),
        "events": len(ev),
        "bad_debt_events": int((ev["bad_debt"] > 0).sum()),
        "bad_debt": float(ev["bad_debt"].sum()),
        "fund_draw": float(ev["fund_draw"].sum()),
        "adl_quantity": float(ev["adl_quantity"].sum()),
        "staged_seconds": t_stage,
        "stages": stages,
    }
    if prof is not None:
        row["profile_top"] = prof
    return row


def headline(result: dict) -> dict:
    """Summary row: end to end and the kernel on the first variant, against the per-bar loop."""
    r = result["rows"][0]
    sub = " (per position, subset)" if r["baseline_is_subset"] else ""
    return {
        "metric": f"liquidation first passage, {r['positions']:,} positions x {r['bars']:,} bars",
        "value": f"{r['e2e_seconds']:.2f} s end to end, kernel {r['kernel_seconds']:.3f} s",
        "baseline": f"first_passage_loop vs kernel{sub}",
        "ratio": r["kernel_speedup_per_position"],
    }


MAIN_COLUMNS = [
    ("entry", "variant"),
    ("positions", "positions", "{:,}"),
    ("bars", "bars", "{:,}"),
    ("end to end (s)", "e2e_seconds", "{:.2f}"),
    ("best (s)", "e2e_best_seconds", "{:.2f}"),
    ("CPU (s)", "e2e_cpu_seconds", "{:.2f}"),
    ("within 3 s goal", "within_goal"),
    ("kernel (s)", "kernel_seconds", "{:.3f}"),
    ("loop positions", "baseline_positions", "{:,}"),
    ("loop (s)", "baseline_seconds", "{:.1f}"),
    ("loop, full size (s)", "baseline_full_equivalent_seconds", "{:.1f}"),
    ("kernel on loop's positions (s)", "kernel_subset_seconds", "{:.3f}"),
    ("loop / kernel per position", "kernel_speedup_per_position", "{:,.0f}x"),
    ("loop / kernel same size", "kernel_speedup_same_size", "{:,.0f}x"),
    ("loop (full size) / end to end", "e2e_speedup_vs_baseline_per_position", "{:,.0f}x"),
    ("liquidated", "liquidated", "{:,}"),
    ("bad-debt events", "bad_debt_events", "{:,}"),
    ("triggers equal", "triggers_equal"),
]


def main(argv: list[str] | None = None) -> dict:
    """Run the benchmark; returns (and writes) the results dict."""
    ap = argparse.ArgumentParser(prog="bench_liquidation", description=__doc__)
    ap.add_argument("--positions", type=int, default=1_000_000)
    ap.add_argument("--bars", type=int, default=43_200)
    ap.add_argument("--substeps", type=int, default=10)
    ap.add_argument("--vol", type=float, default=0.0005, help="1-minute log volatility")
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--variants", nargs="+", default=["bar0", "random"])
    ap.add_argument("--baseline-positions", type=int, default=None)
    ap.add_argument("--baseline-budget", type=float, default=120.0)
    ap.add_argument("--baseline-subset", type=int, default=100_000)
    ap.add_argument("--probe-bars", type=int, default=1000)
    ap.add_argument("--goal", type=float, default=3.0)
    ap.add_argument("--no-profile", dest="profile", action="store_false")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument(
        "--out",
        default=str(Path(__file__).resolve().parent / "results" / "bench_liquidation.json"),
    )
    args = ap.parse_args(argv)
    if args.quick:
        args.positions, args.bars, args.repeats = 50_000, 4_320, 1
    if args.positions < 1 or args.bars < 2 or args.repeats < 1:
        raise SystemExit("--positions >= 1, --bars >= 2 and --repeats >= 1 are required.")

    from riskmodels.liquidation import simulate_liquidations

    env = environment()
    rng = np.random.default_rng(args.seed)
    bars = make_bars(args.bars, args.substeps, args.vol, rng)
    warm, _ = make_positions(bars, min(1_000, args.positions), "bar0", np.random.default_rng(0))
    simulate_liquidations(bars, warm, RULE, delay=DELAY, insurance_fund=FUND)  # warm-up

    rows = []
    for variant in args.variants:
        print(f"-- {variant}", flush=True)
        rows.append(run_variant(variant, bars, args, rng))
    out = {
        "benchmark": "bench_liquidation",
        "rule": RULE,
        "delay": DELAY,
        "insurance_fund": FUND,
        "positions": args.positions,
        "bars": args.bars,
        "substeps": args.substeps,
        "vol_per_minute": args.vol,
        "seed": args.seed,
        "repeats": args.repeats,
        "mark_range": [float(bars["low"].min()), float(bars["high"].max())],
        "rows": rows,
        "peak_rss_mb": _rss_mb(),
        "env": finish_environment(env),
    }
    write_result("bench_liquidation", out, args.out)
    print(markdown_table(rows, MAIN_COLUMNS))
    stage_names = list(rows[0]["stages"])
    stage_rows = [{"stage": s, **{r["variant"]: r["stages"][s] for r in rows}} for s in stage_names]
    stage_rows.append(
        {"stage": "total (staged call)", **{r["variant"]: r["staged_seconds"] for r in rows}}
    )
    print()
    print(
        markdown_table(
            stage_rows, ["stage", *((f"{r['variant']} (s)", r["variant"], "{:.3f}") for r in rows)]
        )
    )
    print(f"peak RSS {out['peak_rss_mb']:,.0f} MB; load average {out['env']['loadavg_start']} -> "
          f"{out['env']['loadavg_end']}")  # fmt: skip
    return out


if __name__ == "__main__":
    main()
