"""Benchmark: the close-out MMR calibration (``calibrate_closeout``) end to end on BTC + ETH, and
its day-block bootstrap against a per-replicate loop and the old horizon method's per-replicate
EVT and t fits, measured in the same run (issue 13, "Performance").

Reproduce (numbers in benchmarks/README.md, section "Close-out MMR calibration")::

    OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/bench_closeout.py
    # or: OPENBLAS_NUM_THREADS=1 .venv/bin/python -m benchmarks --only bench_closeout

Options: ``--n-boot 500``, ``--seed 0``, ``--repeats 3`` (end-to-end calls), ``--goal 60``
(seconds, median wall time), ``--assets BTC ETH``, ``--data auto|mirror|simulated`` (``auto``:
the mirror, simulated data when it cannot be read), ``--boot-repeats 20`` (vectorized
bootstrap calls), ``--loop-repeats 3`` (loop baseline calls), ``--no-boot-large`` (skip the
second, many-day bootstrap cell), ``--old-n-boot 100`` and ``--old-size 782`` (the old method's
replicates and sample), ``--no-staged``, ``--quick`` (BTC only, ``n_boot=50``, one repeat, 10
old replicates, no many-day cell: a smoke run of ~30 s), ``--out
benchmarks/results/bench_closeout.json``.

Data (nothing here is timed; the JSON says which was used under ``data``):

* **Mirror** (``MirrorSource()``): BTC ``[1m perp, 1h perp]`` (the 1-minute bars are the 16
  days of the 7 stitched crash windows; the hourly history serves the brackets the minute data
  cannot identify), ETH ``[1h perp]`` (the mirror has no ETH minute bars: its brackets with a
  delay below an hour come out as bounds); ``im_bars`` the 1h perp bars of each asset;
  ``funding`` ``load_funding("BTC")`` and ``load_funding("ETH")`` (skipped if it raises).
  The mirror's ETH 1h perp bars have no ``quote_volume`` (all NaN), from which the
  calibration reads the close-out volume (the first, finest frame of each asset): the missing
  values are filled with ``volume x close`` (base volume times close, in USD) before the call
  (the calibration now does the same itself for a frame without ``quote_volume``; earlier
  versions raised ``DataError``), and the JSON lists the frames filled
  (``data.filled_quote_volume``).
* **Simulated** (when the mirror cannot be read, or ``--data simulated``), the same shapes: per
  asset a driftless GBM on 10 sub-steps per bar (high/low the sub-step extremes): BTC minute
  bars of 1-minute volatility 0.2 % (``--sim-vol-1m``, the median of the mirror's crash
  windows, 0.04-0.8 %) in 7 windows of 2, 1, 4, 3, 3, 1, 2 days (16 days, starting on the
  mirror's window dates), hourly bars of 0.8 % hourly volatility (``--sim-vol-1h``) over 6
  years from 2020-01-01 for BTC and ETH; ``quote_volume`` lognormal around 15M USD a minute /
  400M USD an hour; BTC funding every 8 h, 1e-4 + 1e-4 x N(0, 1). Seed ``--seed``.

What is timed (wall clock, ``time.perf_counter``):

* **End to end**: ``calibrate_closeout(bars, tiers=binance_usdm_tiers(), im_bars=...,
  funding=..., n_boot=500, seed=0)`` (10 brackets x 2 sides per asset: leverage scan,
  first-passage searches on the rate grid, bootstrap, IM excursions, leave-one-window-out),
  median of ``--repeats`` calls, with the process CPU time and the best call. The goal (60 s
  on 2 cores) is checked against the median wall time. The calibration runs on one core.
* **Bootstrap, one cell**: BTC long, bracket 1 at leverage 30, delay 63 s, ``grid_size`` 120,
  impact 0, the per-day counts from ``closeout_counts`` on the BTC 1m bars (not timed; D = 16
  days with the mirror). (a) **vectorized**: the calibration's own ``_bootstrap`` (its
  ``_boot_weights``, the matrix products ``w @ counts`` for every replicate at once and
  ``solve_rate`` on the (n_boot, G) arrays), median of ``--boot-repeats`` calls, and its three
  parts timed apart; (b) **loop baseline**: per replicate, draw the days, sum the drawn days'
  counts in a Python loop and call ``solve_rate`` on one row, median of ``--loop-repeats``;
  (c) **old method**, for reference: ``riskmodels.calibration.mmr._bootstrap_quantiles(x,
  0.005, model, n, block, rng)`` for ``"evt"`` and ``"t"`` (and ``"historical"``) on the last
  ``--old-size`` daily BTC long losses (``horizon_losses`` of daily log returns of
  ``load_prices("BTC", "1d")``; simulated Student-t(3) returns of the same size, daily scale
  3.5 %, when that cannot be loaded), block ``max(2, ceil(n^(1/3)))`` as in
  ``calibrate_mmr``, one call of ``--old-n-boot`` replicates. Reported per replicate, with the
  ratios loop / vectorized and old / new. The same is repeated on a many-day cell (ETH short,
  bracket 1 at leverage 8, 61.7 s delay on the 1h bars: bounds, ~2,300 days), where the
  matrix products are not trivially small.

Checks (``RuntimeError`` if one fails): the loop's replicate rates equal, bit for bit, the
vectorized rates computed from the loop's own draws (the counts are integers, so the sums are
exact in either order); the production ``_bootstrap`` equals ``solve_rate(w @ counts)`` with
``w = _boot_weights(...)`` from the same seed; every end-to-end repeat (and the staged call)
gives the same table (``mmr``, ``mmr_lo``, ``mmr_hi``, bounds, leverage). The JSON also records
the git commit and a hash of the two close-out modules as run (``code``), since they may hold
uncommitted changes.

Where the time goes: one extra end-to-end call with timers on the calibration's stages, put on
the module attributes for that call only and removed after it. ``closeout_counts`` is timed
under the name the calibration calls (``riskmodels.calibration.closeout.closeout_counts``: a
timer on ``riskmodels.liquidation.closeout.closeout_counts`` would not see those calls), per
data frame and split into the leverage scan (the coarse 48-rate grid) and the full grid; inside
it the first-passage search (``MinTable.first_at_or_below``), the fill extremes
(``MinTable.range_min``), the sparse tables and the rest of ``_lanes``; then ``_bootstrap``
(of which ``_boot_weights``), ``entry_excursions`` (IM), ``_holdout`` and the rest.
"""

from __future__ import annotations

import argparse
import hashlib
import math
import os
import resource
import statistics
import subprocess
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

TARGET = 0.005
#: The mirror's crash windows: first day and length in days (the simulated data copy them).
WINDOWS = (
    ("2020-03-12", 2),
    ("2021-05-19", 1),
    ("2022-05-09", 4),
    ("2022-11-08", 3),
    ("2023-09-04", 3),
    ("2024-08-05", 1),
    ("2025-10-10", 2),
)
TABLE_COLUMNS = (
    "leverage",
    "resolution",
    "mmr_raw",
    "mmr_lo",
    "mmr_hi",
    "mmr_lower_bound",
    "mmr_upper_bound",
    "mmr",
)


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def code_version() -> dict[str, Any]:
    """The git commit and a hash of the calibration's two modules as run (they may hold
    uncommitted changes), so that numbers can be matched to the code measured."""
    root = Path(__file__).resolve().parent.parent
    out: dict[str, Any] = {}
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True
        )
        out["git_head"] = head.stdout.strip() or None
    except OSError:
        out["git_head"] = None
    for rel in ("riskmodels/calibration/closeout.py", "riskmodels/liquidation/closeout.py"):
        try:
            out[rel] = hashlib.sha256((root / rel).read_bytes()).hexdigest()[:12]
        except OSError:
            out[rel] = None
    return out


# ----------------------------------------------------------------------------- data
def gbm_bars(
    index: pd.DatetimeIndex,
    vol: float,
    start: float,
    volume_median: float,
    rng: np.random.Generator,
    substeps: int = 10,
) -> pd.DataFrame:
    """Driftless GBM bars on ``index``: OHLC of ``substeps`` sub-steps per bar, lognormal
    ``quote_volume`` around ``volume_median`` USD per bar, ``price_type`` "last"."""
    n = len(index)
    s2 = vol**2 / substeps
    z = rng.standard_normal((n, substeps)) * math.sqrt(s2) - 0.5 * s2
    logp = math.log(start) + np.cumsum(z.ravel()).reshape(n, substeps)
    close = np.exp(logp[:, -1])
    open_ = np.empty(n)
    open_[0] = start
    open_[1:] = close[:-1]
    high = np.maximum(np.exp(logp.max(axis=1)), open_)
    low = np.minimum(np.exp(logp.min(axis=1)), open_)
    qv = volume_median * np.exp(0.5 * rng.standard_normal(n))
    out = pd.DataFrame(
        {
            "open": open_,
            "high": high,
            "low": low,
            "close": close,
            "volume": qv / close,
            "quote_volume": qv,
        },
        index=index,
    )
    out.index.name = "time"
    out.attrs = {"price_type": "last", "market": "perp"}
    return out


def simulate_data(args: argparse.Namespace) -> dict[str, Any]:
    """Simulated bars of the mirror's shapes (module docstring)."""
    rng = np.random.default_rng(args.seed + 2026)
    pieces, windows = [], []
    for first, days in WINDOWS:
        idx = pd.date_range(first, periods=days * 1440, freq="1min", tz="UTC")
        pieces.append(gbm_bars(idx, args.sim_vol_1m, 30_000.0, 1.5e7, rng))
        windows.append([str(idx[0]), str(idx[-1])])
    b1m = pd.concat(pieces)
    b1m.attrs = {"price_type": "last", "market": "perp", "windows": windows}
    hours = pd.date_range("2020-01-01", periods=6 * 8766, freq="1h", tz="UTC")
    b1h = gbm_bars(hours, args.sim_vol_1h, 7_000.0, 4e8, rng)
    e1h = gbm_bars(hours, args.sim_vol_1h, 130.0, 2e8, rng)
    settle = pd.date_range(hours[0], hours[-1], freq="8h")
    fund = pd.Series(1e-4 + 1e-4 * rng.standard_normal(len(settle)), index=settle)
    return {
        "frames": {"BTC 1m": b1m, "BTC 1h": b1h, "ETH 1h": e1h},
        "funding": {"BTC": fund},
        "info": {
            "source": "simulated",
            "vol_1m": args.sim_vol_1m,
            "vol_1h": args.sim_vol_1h,
            "funding": {"BTC": "simulated, 8h, 1e-4 + 1e-4 N(0,1)"},
        },
    }


def mirror_data() -> dict[str, Any]:
    """The mirror's bars and funding (module docstring); raises when it cannot be read."""
    from riskmodels.data import MirrorSource, load_funding

    src = MirrorSource()
    frames = {
        "BTC 1m": src.bars("BTC", "1m", "perp"),
        "BTC 1h": src.bars("BTC", "1h", "perp"),
        "ETH 1h": src.bars("ETH", "1h", "perp"),
    }
    for k, f in frames.items():
        if len(f) < 2:
            raise RuntimeError(f"the mirror's {k} perp bars are empty")
    funding: dict[str, pd.Series] = {}
    fund_info: dict[str, Any] = {}
    for a in ("BTC", "ETH"):
        try:
            funding[a] = load_funding(a)
            fund_info[a] = f"load_funding({a!r}): {len(funding[a])} settlements"
        except Exception as exc:  # ETH funding may be missing: skip it
            if a == "BTC":
                raise
            fund_info[a] = f"skipped ({type(exc).__name__}: {exc})"
    return {
        "frames": frames,
        "funding": funding,
        "info": {"source": "mirror", "mirror": str(src), "funding": fund_info},
    }


def _fill_quote_volume(frame: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """Missing ``quote_volume`` filled with ``volume x close``; (frame, values filled)."""
    if "quote_volume" not in frame.columns or "volume" not in frame.columns:
        return frame, 0
    miss = int(frame["quote_volume"].isna().sum())
    if miss == 0:
        return frame, 0
    out = frame.copy()
    out["quote_volume"] = out["quote_volume"].fillna(out["volume"] * out["close"])
    out.attrs = dict(frame.attrs)
    return out, miss


def load_data(args: argparse.Namespace) -> dict[str, Any]:
    """Bars, IM bars and funding per asset, from the mirror or simulated (``--data``)."""
    data: dict[str, Any] | None = None
    reason = None
    if args.data in ("auto", "mirror"):
        try:
            data = mirror_data()
        except Exception as exc:
            if args.data == "mirror":
                raise
            reason = f"{type(exc).__name__}: {exc}"
    if data is None:
        data = simulate_data(args)
        data["info"]["reason"] = reason or "--data simulated"
    frames = data["frames"]
    bars = {"BTC": [frames["BTC 1m"], frames["BTC 1h"]], "ETH": [frames["ETH 1h"]]}
    bars = {a: bars[a] for a in args.assets}
    finest = {"BTC": "BTC 1m", "ETH": "ETH 1h"}
    filled = {}
    for a, fs in bars.items():  # the close-out volume is read from the finest frame
        fs[0], n = _fill_quote_volume(fs[0])
        if n:
            filled[finest[a]] = n
    im_bars = {a: frames[f"{a} 1h"] for a in bars}
    funding = {a: s for a, s in data["funding"].items() if a in bars}
    # names of the frames the calibration is given (for the stage timers)
    labels = {id(bars["BTC"][0]): "BTC 1m", id(bars["BTC"][1]): "BTC 1h"} if "BTC" in bars else {}
    if "ETH" in bars:
        labels[id(bars["ETH"][0])] = "ETH 1h"
    info = dict(data["info"])
    info["filled_quote_volume"] = filled
    info["frames"] = {
        k: {
            "bars": len(f),
            "first": str(f.index[0]),
            "last": str(f.index[-1]),
            "windows": len(f.attrs.get("windows") or []) or None,
        }
        for k, f in frames.items()
    }
    return {
        "bars": bars,
        "im_bars": im_bars,
        "funding": funding,
        "labels": labels,
        "frames": frames,
        "info": info,
    }


def old_losses(args: argparse.Namespace) -> tuple[np.ndarray, str]:
    """The old method's sample: the last ``--old-size`` daily BTC long losses."""
    n = args.old_size
    if args.data != "simulated":
        try:
            from riskmodels.calibration import horizon_losses
            from riskmodels.data import load_prices

            px = load_prices("BTC", "1d")["BTC"].astype("float64")
            r = np.log(px).diff().dropna()
            x = horizon_losses(r, 1, "long").dropna().to_numpy()
            if x.size >= n:
                return x[-n:], f"load_prices('BTC', '1d') (spot), last {n} daily long losses"
        except Exception:  # fall through to simulated returns
            pass
    rng = np.random.default_rng(args.seed + 7)
    r = 0.035 * rng.standard_t(3, n) / math.sqrt(3.0)
    return -np.expm1(r), f"simulated Student-t(3) daily returns, scale 3.5%, n = {n}"


# ----------------------------------------------------------------------------- bootstrap
def _loop_bootstrap(
    cc: Any, grid: np.ndarray, n_boot: int, seed: np.random.SeedSequence, min_liq: float
) -> tuple[np.ndarray, list[np.ndarray]]:
    """The per-replicate baseline: draws (n_boot, D) and the rates per bound (n_boot,)."""
    from riskmodels.calibration.closeout import solve_rate

    rng = np.random.default_rng(seed)
    n_days, n_rates = cc.n_liq.shape
    n_bounds = len(cc.bounds)
    draws = np.empty((n_boot, n_days), dtype=np.int64)
    rates = [np.empty(n_boot) for _ in range(n_bounds)]
    for i in range(n_boot):
        days = rng.integers(0, n_days, size=n_days)
        draws[i] = days
        n = np.zeros(n_rates)
        k = [np.zeros(n_rates) for _ in range(n_bounds)]
        for d in days:
            n += cc.n_liq[d]
            for b in range(n_bounds):
                k[b] += cc.n_bad[b][d]
        for b in range(n_bounds):
            rates[b][i] = solve_rate(k[b], n, grid, TARGET, min_liquidations=min_liq)
    return draws, rates


def bootstrap_cell(
    name: str,
    frame: pd.DataFrame,
    side: str,
    lev: float,
    delay_s: float,
    args: argparse.Namespace,
) -> dict[str, Any]:
    """Vectorized bootstrap vs the per-replicate loop on one cell (module docstring)."""
    from riskmodels.calibration import closeout as cal

    min_liq = math.ceil(round(1.0 / TARGET, 6))
    t0 = time.perf_counter()
    res = cal._cell(
        frame,
        side=side,
        lev=lev,
        delay=pd.Timedelta(seconds=delay_s),
        impact=0.0,
        target=TARGET,
        objective="probability",
        budget=None,
        grid_size=120,
        origin_every=1,
        min_liq=min_liq,
    )
    t_counts = time.perf_counter() - t0
    cc, grid = res["counts"], res["grid"]
    n_days, n_rates = cc.n_liq.shape
    n_boot = args.n_boot
    seed = np.random.SeedSequence(args.seed)

    def vectorized():
        cal._bootstrap(res, n_boot, seed)
        return res["boot"]

    boot, t_vec, all_vec = timed(vectorized, args.boot_repeats)
    # its parts, timed apart
    w, t_w, _ = timed(
        lambda: cal._boot_weights(n_days, n_boot, np.random.default_rng(seed)), args.boot_repeats
    )
    prods, t_mm, _ = timed(
        lambda: (w @ cc.n_bad[0], w @ cc.n_liq, w @ cc.shortfall[0], w @ cc.exposure_years),
        args.boot_repeats,
    )
    _, t_solve, _ = timed(
        lambda: cal.solve_rate(prods[0], prods[1], grid, TARGET, min_liquidations=min_liq),
        args.boot_repeats,
    )
    # check: the production bootstrap is solve_rate(w @ counts) with the same seed's weights
    for b in range(len(cc.bounds)):
        want = cal.solve_rate(w @ cc.n_bad[b], w @ cc.n_liq, grid, TARGET, min_liquidations=min_liq)
        if not np.array_equal(boot[b], want, equal_nan=True):
            raise RuntimeError(f"{name}: _bootstrap differs from solve_rate(w @ counts), bound {b}")

    (draws, loop_rates), t_loop, all_loop = timed(
        lambda: _loop_bootstrap(cc, grid, n_boot, seed, min_liq), args.loop_repeats
    )
    # check: the same rates from the loop's own draws through the vectorized path
    w_loop = np.zeros((n_boot, n_days))
    np.add.at(w_loop, (np.repeat(np.arange(n_boot), n_days), draws.ravel()), 1.0)
    for b in range(len(cc.bounds)):
        vec = cal.solve_rate(
            w_loop @ cc.n_bad[b], w_loop @ cc.n_liq, grid, TARGET, min_liquidations=min_liq
        )
        if not np.array_equal(vec, loop_rates[b], equal_nan=True):
            bad = np.flatnonzero(
                ~((vec == loop_rates[b]) | (np.isnan(vec) & np.isnan(loop_rates[b])))
            )
            raise RuntimeError(
                f"{name}: the loop's replicate rates differ from the vectorized ones for the same "
                f"weights in {bad.size} of {n_boot} replicates (bound {cc.bounds[b]}, first "
                f"replicate {bad[0]}: {loop_rates[b][bad[0]]!r} vs {vec[bad[0]]!r})"
            )
    fin = boot[0][np.isfinite(boot[0])]
    return {
        "cell": name,
        "side": side,
        "leverage": lev,
        "delay_seconds": delay_s,
        "grid_size": int(n_rates),
        "days": int(n_days),
        "bounds": list(cc.bounds),
        "positions": int(cc.n_positions),
        "liquidations_at_top_rate": float(cc.n_liq[:, -1].sum()),
        "counts_seconds": t_counts,
        "n_boot": n_boot,
        "vectorized_seconds": t_vec,
        "vectorized_seconds_all": all_vec,
        "vectorized_ms_per_replicate": 1e3 * t_vec / n_boot,
        "weights_seconds": t_w,
        "matmul_seconds": t_mm,
        "solve_seconds": t_solve,
        "loop_seconds": t_loop,
        "loop_seconds_all": all_loop,
        "loop_ms_per_replicate": 1e3 * t_loop / n_boot,
        "loop_over_vectorized": t_loop / t_vec,
        "replicates_equal": True,  # checked above
        "point": float(res["points"][0]),
        "replicate_median": float(np.median(fin)) if fin.size else math.nan,
        "p_infeasible": float(np.mean(~np.isfinite(boot[-1]))),
    }


def old_method(args: argparse.Namespace) -> dict[str, Any]:
    """Per-replicate cost of the old horizon method's bootstrap (module docstring)."""
    from riskmodels.calibration.mmr import _bootstrap_quantiles

    x, what = old_losses(args)
    block = max(2, math.ceil(x.size ** (1 / 3)))
    rows = []
    for model in ("evt", "t", "historical"):
        rng = np.random.default_rng(args.seed)
        _, t, _ = timed(
            lambda m=model, g=rng: _bootstrap_quantiles(x, TARGET, m, args.old_n_boot, block, g), 1
        )
        rows.append(
            {
                "model": model,
                "n_boot": args.old_n_boot,
                "seconds": t,
                "ms_per_replicate": 1e3 * t / args.old_n_boot,
            }
        )
    return {"sample": what, "n": int(x.size), "block": block, "rows": rows}


# ----------------------------------------------------------------------------- stages
def staged(call, labels: dict[int, str]) -> tuple[float, list[dict[str, Any]], Any]:
    """One call of ``call()`` with timers on the calibration's stages (module docstring);
    (seconds, stage rows, the call's output)."""
    from riskmodels.calibration import closeout as cal
    from riskmodels.liquidation import _kernels
    from riskmodels.liquidation import closeout as liq

    acc: dict[str, float] = defaultdict(float)
    calls: dict[str, int] = defaultdict(int)
    saved: list[tuple[Any, str, Any]] = []

    def wrap(owner: Any, attr: str, key) -> None:
        orig = owner.__dict__[attr]

        def timed_fn(*a, **k):
            name = key(*a, **k) if callable(key) else key
            t0 = time.perf_counter()
            try:
                return orig(*a, **k)
            finally:
                acc[name] += time.perf_counter() - t0
                calls[name] += 1

        saved.append((owner, attr, orig))
        setattr(owner, attr, timed_fn)

    def counts_key(prices, **k):
        what = labels.get(id(prices), "other bars")
        g = len(np.atleast_1d(k.get("mmr", ())))
        part = "leverage scan" if g == cal._SCAN_GRID else "full grid"
        return f"closeout_counts: {what}, {part} ({g} rates)"

    def boot_key(res, *a, **k):
        cc = res["counts"]
        return f"_bootstrap ({cal._step_label(cc.step)} bars, {cc.n_liq.shape[0]} days)"

    try:  # the timers go on inside the try, so that a renamed stage cannot leave one behind
        wrap(cal, "closeout_counts", counts_key)
        wrap(liq, "_lanes", "_lanes")
        wrap(_kernels.MinTable, "__init__", "sparse tables (MinTable.__init__)")
        wrap(_kernels.MinTable, "first_at_or_below", "search (MinTable.first_at_or_below)")
        wrap(_kernels.MinTable, "range_min", "fill extremes (MinTable.range_min)")
        wrap(cal, "_bootstrap", boot_key)
        wrap(cal, "_boot_weights", "_boot_weights")
        wrap(cal, "entry_excursions", "entry_excursions (IM)")
        wrap(cal, "_holdout", "_holdout (leave one window out)")
        t0 = time.perf_counter()
        out = call()
        total = time.perf_counter() - t0
    finally:
        for owner, attr, orig in reversed(saved):
            setattr(owner, attr, orig)

    def row(stage: str, seconds: float, n: int | None = None, level: int = 0) -> dict[str, Any]:
        return {
            "stage": ("  " * level) + stage,
            "seconds": seconds,
            "calls": n,
            "share": seconds / total if total > 0 else math.nan,
        }

    count_keys = sorted(k for k in acc if k.startswith("closeout_counts:"))
    boot_keys = sorted(k for k in acc if k.startswith("_bootstrap ("))
    cc_total = sum(acc[k] for k in count_keys)
    lanes = acc.get("_lanes", 0.0)
    search = acc.get("search (MinTable.first_at_or_below)", 0.0)
    extremes = acc.get("fill extremes (MinTable.range_min)", 0.0)
    tables = acc.get("sparse tables (MinTable.__init__)", 0.0)
    boot_total = sum(acc[k] for k in boot_keys)
    rows = [row(k, acc[k], calls[k]) for k in count_keys]
    sub = (
        ("search (MinTable.first_at_or_below)", search),
        ("fill extremes (MinTable.range_min)", extremes),
        ("_lanes", lanes - search - extremes),
        ("sparse tables (MinTable.__init__)", tables),
    )
    rows.append(row("closeout_counts, all", cc_total, sum(calls[k] for k in count_keys)))
    for k, v in sub:
        name = "rest of _lanes (trigger price, fill, lane arrays)" if k == "_lanes" else k
        rows.append(row(name, v, calls.get(k, 0), 1))
    rest = cc_total - lanes - tables
    rows.append(row("rest of closeout_counts (segments, flatten, bincounts)", rest, None, 1))
    rows += [row(k, acc[k], calls[k]) for k in boot_keys]
    w = acc.get("_boot_weights", 0.0)
    rows.append(row("of which _boot_weights", w, calls.get("_boot_weights", 0), 1))
    others = ("entry_excursions (IM)", "_holdout (leave one window out)")
    for k in others:
        rows.append(row(k, acc.get(k, 0.0), calls.get(k, 0)))
    timed_sum = cc_total + boot_total + sum(acc.get(k, 0.0) for k in others)
    rows.append(row("rest of calibrate_closeout (cells, tables, monotone fit)", total - timed_sum))
    rows.append(row("total (staged call)", total))
    return total, rows, out


# ----------------------------------------------------------------------------- main
def _table_of(res: Any) -> pd.DataFrame:
    return res.table.set_index(["asset", "side", "bracket"])[list(TABLE_COLUMNS)]


def _check_same(a: pd.DataFrame, b: pd.DataFrame, what: str) -> None:
    for c in TABLE_COLUMNS:
        x, y = a[c].to_numpy(), b[c].to_numpy()
        same = (
            np.array_equal(x.astype(float), y.astype(float), equal_nan=True)
            if c != "resolution"
            else np.array_equal(x.astype(str), y.astype(str))
        )
        if not same:
            raise RuntimeError(f"{what}: column {c!r} differs between end-to-end calls")


def headline(result: dict) -> dict:
    """Summary row: end-to-end time against the goal, and the bootstrap loop / vectorized."""
    e = result["end_to_end"]
    b = result["bootstrap"][0]
    met = "met" if e["within_goal"] else "missed"
    return {
        "metric": f"close-out MMR calibration, {'+'.join(result['assets'])}, "
        f"n_boot={result['n_boot']} ({result['data']['source']} data)",
        "value": f"{e['seconds']:.1f} s end to end (goal {e['goal_seconds']:.0f} s {met}); "
        f"bootstrap {b['vectorized_ms_per_replicate']:.3f} ms/replicate",
        "baseline": "per-replicate loop / vectorized bootstrap (one cell)",
        "ratio": b["loop_over_vectorized"],
    }


BOOT_COLUMNS = [
    ("cell", "cell"),
    ("days", "days", "{:,}"),
    ("rates", "grid_size"),
    ("bounds", "n_bounds"),
    ("replicates", "n_boot"),
    ("vectorized (ms)", "vectorized_ms", "{:.2f}"),
    ("per replicate (ms)", "vectorized_ms_per_replicate", "{:.4f}"),
    ("weights / matmul / solve (ms)", "parts"),
    ("loop (ms)", "loop_ms", "{:.1f}"),
    ("loop per replicate (ms)", "loop_ms_per_replicate", "{:.3f}"),
    ("loop / vectorized", "loop_over_vectorized", "{:,.1f}x"),
    ("old EVT / new per replicate", "old_evt_over_new", "{:,.0f}x"),
    ("old t / new per replicate", "old_t_over_new", "{:,.0f}x"),
    ("replicates equal", "replicates_equal"),
]


def main(argv: list[str] | None = None) -> dict:
    """Run the benchmark; returns (and writes) the results dict."""
    ap = argparse.ArgumentParser(prog="bench_closeout", description=__doc__)
    ap.add_argument("--n-boot", type=int, default=500)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--goal", type=float, default=60.0)
    ap.add_argument("--assets", nargs="+", default=["BTC", "ETH"], choices=["BTC", "ETH"])
    ap.add_argument("--data", choices=["auto", "mirror", "simulated"], default="auto")
    ap.add_argument("--sim-vol-1m", type=float, default=0.002)
    ap.add_argument("--sim-vol-1h", type=float, default=0.008)
    ap.add_argument("--boot-repeats", type=int, default=20)
    ap.add_argument("--loop-repeats", type=int, default=3)
    ap.add_argument("--no-boot-large", dest="boot_large", action="store_false")
    ap.add_argument("--old-n-boot", type=int, default=100)
    ap.add_argument("--old-size", type=int, default=782)
    ap.add_argument("--no-staged", dest="staged", action="store_false")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument(
        "--out", default=str(Path(__file__).resolve().parent / "results" / "bench_closeout.json")
    )
    args = ap.parse_args(argv)
    if args.quick:
        args.n_boot, args.repeats, args.assets = 50, 1, ["BTC"]
        args.boot_repeats, args.loop_repeats, args.old_n_boot = 5, 1, 10
        args.boot_large = False
    if min(args.n_boot, args.repeats, args.boot_repeats, args.loop_repeats, args.old_n_boot) < 1:
        raise SystemExit("--n-boot, --repeats, --boot-repeats, --loop-repeats, --old-n-boot >= 1.")

    from riskmodels.calibration import calibrate_closeout
    from riskmodels.margin import binance_usdm_tiers

    env = environment()
    code = code_version()
    data = load_data(args)
    why = data["info"].get("reason")
    print(f"data: {data['info']['source']}" + (f" ({why})" if why else ""), flush=True)
    tiers = binance_usdm_tiers()

    # -- bootstrap: vectorized vs loop on one cell (and a many-day cell), old method per replicate
    print("-- bootstrap", flush=True)
    btc = data["frames"]["BTC 1m"]
    boot = [
        bootstrap_cell("BTC long, bracket 1, 30x, 63 s, 1m bars", btc, "long", 30.0, 63.0, args)
    ]
    if args.boot_large:
        eth = data["frames"]["ETH 1h"]
        name = "ETH short, bracket 1, 8x, 61.7 s, 1h bars"
        boot.append(bootstrap_cell(name, eth, "short", 8.0, 61.7, args))
    print("-- old method", flush=True)
    old = old_method(args)
    per = {r["model"]: r["ms_per_replicate"] for r in old["rows"]}
    for b in boot:
        b["old_evt_over_new"] = per["evt"] / b["vectorized_ms_per_replicate"]
        b["old_t_over_new"] = per["t"] / b["vectorized_ms_per_replicate"]

    # -- end to end
    print("-- end to end", flush=True)

    def e2e():
        return calibrate_closeout(
            data["bars"],
            tiers=tiers,
            im_bars=data["im_bars"],
            funding=data["funding"],
            n_boot=args.n_boot,
            seed=args.seed,
        )

    cpu: list[float] = []
    tables: list[pd.DataFrame] = []

    def e2e_cpu():
        c0 = time.process_time()
        out = e2e()
        cpu.append(time.process_time() - c0)
        tables.append(_table_of(out))
        return out

    res, t_e2e, all_e2e = timed(e2e_cpu, args.repeats)
    for i, t in enumerate(tables[1:], start=2):
        _check_same(tables[0], t, f"repeat {i}")
    stage_rows: list[dict[str, Any]] = []
    t_stage = None
    if args.staged:
        print("-- staged call", flush=True)
        t_stage, stage_rows, res_staged = staged(e2e, data["labels"])
        _check_same(tables[0], _table_of(res_staged), "staged call")
    tab = res.table
    boot_calls = sum(r["calls"] or 0 for r in stage_rows if r["stage"].startswith("_bootstrap ("))
    boot_seconds = sum(r["seconds"] for r in stage_rows if r["stage"].startswith("_bootstrap ("))
    e2e_row = {
        "seconds": t_e2e,
        "seconds_all": all_e2e,
        "best_seconds": min(all_e2e),
        "cpu_seconds": statistics.median(cpu),
        "cpu_seconds_all": cpu,
        "goal_seconds": args.goal,
        "within_goal": bool(t_e2e <= args.goal),
        "cells": len(tab),
        "point_cells": int((tab["resolution"] == "point").sum()),
        "bounds_cells": int((tab["resolution"] == "bounds").sum()),
        "unidentified_cells": int((~tab["identified"].astype(bool)).sum()),
        # from the staged call (None without it)
        "bootstrap_calls": boot_calls if args.staged else None,
        "bootstrap_seconds": boot_seconds if args.staged else None,
        "bootstrap_share": boot_seconds / t_stage if t_stage else None,
        "old_evt_equivalent_seconds": (
            boot_calls * args.n_boot * per["evt"] / 1e3 if args.staged else None
        ),
        "tables_equal_across_repeats": True,  # _check_same raised otherwise
        "staged_seconds": t_stage,
    }
    out = {
        "benchmark": "bench_closeout",
        "assets": args.assets,
        "n_boot": args.n_boot,
        "target": TARGET,
        "seed": args.seed,
        "repeats": args.repeats,
        "quick": args.quick,
        "data": data["info"],
        "code": code,
        "end_to_end": e2e_row,
        "stages": stage_rows,
        "bootstrap": boot,
        "old_method": old,
        "table": res.table[
            [
                "asset",
                "side",
                "bracket",
                "leverage",
                "delay_seconds",
                "data",
                *TABLE_COLUMNS[1:],
                "identified",
            ]
        ].to_dict("records"),
        "peak_rss_mb": _rss_mb(),
        "env": finish_environment(env),
    }
    write_result("bench_closeout", out, args.out)

    print()
    kinds = f"{e2e_row['point_cells']} / {e2e_row['bounds_cells']}"
    print(
        markdown_table(
            [{**e2e_row, "kinds": kinds}],
            [
                ("end to end (s)", "seconds", "{:.1f}"),
                ("best (s)", "best_seconds", "{:.1f}"),
                ("CPU (s)", "cpu_seconds", "{:.1f}"),
                ("goal (s)", "goal_seconds", "{:.0f}"),
                ("within goal", "within_goal"),
                ("cells", "cells"),
                ("point / bounds", "kinds"),
                ("not identified", "unidentified_cells"),
                ("bootstrap calls", "bootstrap_calls"),
                ("bootstrap (s)", "bootstrap_seconds", "{:.2f}"),
                ("old EVT, same replicates (s)", "old_evt_equivalent_seconds", "{:,.0f}"),
            ],
        )
    )
    print()
    for b in boot:
        b["n_bounds"] = len(b["bounds"])
        b["vectorized_ms"] = 1e3 * b["vectorized_seconds"]
        b["loop_ms"] = 1e3 * b["loop_seconds"]
        b["parts"] = (
            f"{1e3 * b['weights_seconds']:.2f} / {1e3 * b['matmul_seconds']:.2f} / "
            f"{1e3 * b['solve_seconds']:.2f}"
        )
    print(markdown_table(boot, BOOT_COLUMNS))
    print()
    print(f"old method ({old['sample']}, block {old['block']}):")
    print(
        markdown_table(
            old["rows"],
            [
                "model",
                ("replicates", "n_boot"),
                ("time (s)", "seconds", "{:.2f}"),
                ("per replicate (ms)", "ms_per_replicate", "{:.2f}"),
            ],
        )
    )
    if stage_rows:
        print()
        print(
            markdown_table(
                stage_rows,
                [
                    "stage",
                    ("seconds", "seconds", "{:.2f}"),
                    ("calls", "calls"),
                    ("share", "share", "{:.1%}"),
                ],
            )
        )
    print(f"peak RSS {out['peak_rss_mb']:,.0f} MB; load average {out['env']['loadavg_start']} -> "
          f"{out['env']['loadavg_end']}")  # fmt: skip
    return out


if __name__ == "__main__":
    main()
