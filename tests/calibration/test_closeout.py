"""The close-out gap (riskmodels.liquidation.closeout) and the MMR calibrated for it
(riskmodels.calibration.closeout, ``calibrate_mmr(method="closeout")``).

Independent truths used here:

* the engine (:func:`simulate_liquidations`) on the same positions: the fast grid kernel must
  give its trigger, fill and bad debt to the last digit;
* a plain per-position Python loop written from the module docstring's formulas;
* closed forms for Brownian mark paths: by the strong Markov property the move after the
  trigger is independent of how the path got there, so with zero log drift
  :math:`P(\\text{bad debt} \\mid \\text{liquidation}) = \\Phi(\\ln(1-m) / (\\sigma\\sqrt\\Delta))`
  for a long, up to the overshoot of discrete monitoring (Broadie, Glasserman & Kou 1997, "A
  continuity correction for discrete barrier options", Math. Finance 7(4): the first grid
  point beyond a barrier overshoots it by :math:`\\beta\\sigma\\sqrt{\\delta t}` on average,
  :math:`\\beta = -\\zeta(1/2)/\\sqrt{2\\pi} \\approx 0.5826`);
* the exact binomial distribution for the power of the test.

Every data set is simulated here with a fixed seed; nothing is read from the mirror.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from _fixtures import flat_rule_toml
from scipy import stats

from riskmodels.calibration import (
    binomial_power,
    calibrate_closeout,
    calibrate_mmr,
    closeout_sensitivity,
    entry_excursions,
    implied_closeout_horizon,
    solve_rate,
)
from riskmodels.calibration.closeout import _monotone
from riskmodels.exceptions import ConfigError, DataError, InsufficientDataError
from riskmodels.liquidation import (
    LiquidationRule,
    closeout_counts,
    closeout_events,
    simulate_liquidations,
)
from riskmodels.margin import TierTable

BGK = 0.5826  # Broadie-Glasserman-Kou continuity-correction constant, -zeta(1/2)/sqrt(2 pi)


# ----------------------------------------------------------------------------- data
def _bars_from_paths(logp: np.ndarray, start: str = "2024-01-01", sub: int = 60) -> pd.DataFrame:
    """1-minute OHLC bars from a log-price path on a grid of ``sub`` points per minute."""
    p = np.exp(logp)
    n = (p.size - 1) // sub
    grid = p[1 : n * sub + 1].reshape(n, sub)
    opn = p[0 : n * sub : sub]
    close = grid[:, -1]
    hi = np.maximum(grid.max(axis=1), opn)
    lo = np.minimum(grid.min(axis=1), opn)
    idx = pd.date_range(start, periods=n, freq="1min", tz="UTC")
    out = pd.DataFrame(
        {"open": opn, "high": hi, "low": lo, "close": close, "quote_volume": 5e7}, index=idx
    )
    out.attrs["price_type"] = "mark"
    return out


def _brownian_bars(days: int, sigma_min: float, seed: int, sub: int = 30) -> pd.DataFrame:
    """Driftless (in log) Brownian mark, ``sigma_min`` per minute, on ``sub`` points a minute."""
    rng = np.random.default_rng(seed)
    n = days * 1440 * sub
    steps = rng.normal(0.0, sigma_min / math.sqrt(sub), n)
    return _bars_from_paths(
        np.concatenate([[math.log(100.0)], math.log(100.0) + np.cumsum(steps)]), sub=sub
    )


def _noisy_bars(n: int = 600, seed: int = 1) -> pd.DataFrame:
    """Fat-tailed bars with gapped opens and wicks: every branch of the fill conventions."""
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.standard_t(3, n) * 0.002))
    opn = np.concatenate([[close[0]], close[:-1]]) * np.exp(rng.normal(0, 0.0005, n))
    hi = np.maximum(opn, close) * (1 + np.abs(rng.normal(0, 0.001, n)))
    lo = np.minimum(opn, close) * (1 - np.abs(rng.normal(0, 0.001, n)))
    idx = pd.date_range("2025-10-10", periods=n, freq="1min", tz="UTC")
    return pd.DataFrame({"open": opn, "high": hi, "low": lo, "close": close}, index=idx)


def _flat_rule(tmp_path, mmr: float) -> LiquidationRule:
    p = tmp_path / "flat_closeout.toml"
    p.write_text(flat_rule_toml(name="flat_closeout", mmr=mmr, imr=2 * mmr))
    return LiquidationRule.load(p)


# ----------------------------------------------------------------------------- twins
@pytest.mark.parametrize("side", ["long", "short"])
@pytest.mark.parametrize("delay", ["0s", "2min", "30s"])
def test_closeout_events_equal_the_engine(tmp_path, side, delay):
    """The grid kernel is the engine: the same positions run through simulate_liquidations give
    the same trigger, fill price and bad debt (relative 1e-12), in point mode (0 s, 2 min on
    1-minute bars) and in both bounds (30 s on 1-minute bars)."""
    bars = _noisy_bars()
    m, lev, notional = 0.006, 50.0, 1000.0
    rule = _flat_rule(tmp_path, m)
    ev = closeout_events(bars, side=side, leverage=lev, mmr=m, delay=delay, origin_every=7)
    labels = {
        "point": None,
        "instant": "lower bound (instant close-out)",
        "extreme": "upper bound (bar extreme)",
    }
    assert set(ev["bound"]) == ({"point"} if delay != "30s" else {"instant", "extreme"})
    for bound, g in ev.groupby("bound"):
        g = g.reset_index(drop=True)
        entry_bar = bars.index.get_indexer(g["entry_time"]) + 1  # entry at the bar's close
        pos = pd.DataFrame(
            {
                "side": side,
                "quantity": notional / g["entry_price"],
                "entry_price": g["entry_price"],
                "wallet": notional / lev,
                "entry_time": bars.index[entry_bar],
            }
        )
        res = simulate_liquidations(bars, pos, rule, delay=delay, insurance_fund=1e12)
        e = res.events
        if labels[bound] is not None:
            e = e[e["bound"] == labels[bound]]
        e = e.set_index("position").sort_index()
        got = g[g["triggered"]]
        assert list(e.index) == list(got.index)  # the same positions are liquidated
        np.testing.assert_allclose(e["liquidation_price"], got["liquidation_price"], rtol=1e-12)
        np.testing.assert_array_equal(e["censored"].to_numpy(), got["censored"].to_numpy())
        done = ~got["censored"].to_numpy()
        np.testing.assert_allclose(
            e["closeout_price"].to_numpy()[done], got["fill_price"].to_numpy()[done], rtol=1e-12
        )
        np.testing.assert_allclose(
            e["bad_debt"].to_numpy()[done] / notional,
            got["bad_debt"].to_numpy()[done],
            rtol=1e-9,
            atol=1e-15,
        )


def _reference_counts(bars, side, lev, grid, kd, impact=0.0):
    """Plain loop per (entry, rate) from the module docstring: liquidations and bad debt."""
    o, h, lo, c = (bars[k].to_numpy() for k in ("open", "high", "low", "close"))
    T, s = len(c), 1 if side == "long" else -1
    n_liq = np.zeros(len(grid))
    n_bad = np.zeros(len(grid))
    for g, m in enumerate(grid):
        for i in range(T - 1):
            e = c[i]
            lp = e * (1 - s / lev) / (1 - s * m)
            bp = e * (1 - s / lev)
            t = i + 1
            while t < T and not (lo[t] <= lp if s > 0 else h[t] >= lp):
                t += 1
            if t == T:
                continue
            gapped = o[t] <= lp if s > 0 else o[t] >= lp
            p_trig = o[t] if gapped else lp
            f = t + max(kd - 1, 0)
            if f >= T:
                continue  # censored
            fill = (c[f] if kd > 0 else p_trig) * (1 - s * impact)
            n_liq[g] += 1
            n_bad[g] += s * (bp - fill) > 0
    return n_liq, n_bad


@pytest.mark.parametrize("side", ["long", "short"])
def test_counts_equal_a_plain_loop(side):
    """closeout_counts (sparse-table search over every entry × rate at once) == the per-position
    loop, exactly, on fat-tailed bars with gaps, a 3-minute delay and impact."""
    bars = _noisy_bars(400, seed=3)
    grid = np.array([0.002, 0.005, 0.01, 0.02])
    cc = closeout_counts(
        bars, side=side, leverage=40, mmr=grid, delay="3min", impact=0.001, origin_every=1
    )
    n_liq, n_bad = _reference_counts(bars, side, 40, grid, 3, impact=0.001)
    np.testing.assert_array_equal(cc.n_liq.sum(axis=0), n_liq)
    np.testing.assert_array_equal(cc.n_bad[0].sum(axis=0), n_bad)
    assert cc.n_positions == len(bars) - 1


def test_counts_split_windows_and_never_cross_a_gap():
    """Two windows with a missing day between them: a position opened in the first is never
    liquidated by a bar of the second (the search stops at its window's end)."""
    a = _noisy_bars(300, seed=5)
    b = _noisy_bars(300, seed=6) * 0.5  # a 50% lower level: would liquidate every long
    b.index = b.index + pd.Timedelta("2D")
    bars = pd.concat([a, b])
    one = closeout_counts(a, side="long", leverage=20, mmr=[0.01], delay="1min")
    both = closeout_counts(bars, side="long", leverage=20, mmr=[0.01], delay="1min")
    two = closeout_counts(b, side="long", leverage=20, mmr=[0.01], delay="1min")
    assert both.n_liq.sum() == one.n_liq.sum() + two.n_liq.sum()
    assert list(both.blocks) == list(one.blocks) + list(two.blocks)


# ----------------------------------------------------------------------------- closed forms
def test_bad_debt_probability_matches_the_brownian_closed_form():
    """Simulated grid paths (1-second steps), one long per path at leverage 20, delay 100 steps:
    P(bad | liq) = Phi((ln(1-m) + beta sigma sqrt(dt)) / (sigma sqrt(Delta))) (strong Markov
    property + the BGK overshoot). Tolerance: 4 binomial standard errors plus 10% of the
    overshoot term (BGK is asymptotic)."""
    rng = np.random.default_rng(11)
    n_paths, n_steps, sig = 2500, 1200, 0.002
    logp = np.log(100.0) + np.cumsum(rng.normal(0.0, sig, (n_paths, n_steps)), axis=1)
    paths = np.exp(np.concatenate([np.full((n_paths, 1), np.log(100.0)), logp], axis=1))
    grid = np.array([0.02, 0.04])
    cc = closeout_counts(
        paths, side="long", leverage=20, mmr=grid, delay="100s", step="1s",
        origin_every=n_steps + 1,
    )  # fmt: skip
    n = cc.n_liq.sum(axis=0)
    k = cc.n_bad[0].sum(axis=0)
    assert (n > 1500).all()
    for j, m in enumerate(grid):
        sd = sig * math.sqrt(100)
        want = stats.norm.cdf((math.log(1 - m) + BGK * sig) / sd)
        se = math.sqrt(want * (1 - want) / n[j])
        shift = stats.norm.pdf((math.log(1 - m)) / sd) * 0.1 * BGK * sig / sd
        assert abs(k[j] / n[j] - want) < 4 * se + shift, (m, k[j] / n[j], want)
    # every path is a block of its own
    assert cc.n_liq.shape[0] == n_paths


@pytest.fixture(scope="module")
def brownian_bars():
    # 20 days of 1-minute bars; sigma 0.15% a minute (about 5.7% a day: a stressed BTC)
    return _brownian_bars(20, 0.0015, seed=7)


def _closed_form_mmr(p: float, sigma_min: float, minutes: float) -> float:
    """The (1-p) quantile of the adverse move over `minutes`: 1 - exp(sigma sqrt(t) z_p)."""
    return 1.0 - math.exp(sigma_min * math.sqrt(minutes) * stats.norm.ppf(p))


def test_calibrated_mmr_recovers_the_closed_form_quantile(brownian_bars):
    """On Brownian 1-minute bars with a 10-minute delay the engine fills at the close of the
    10th bar after the trigger bar's open, so the post-trigger move spans between 9 and 10
    minutes (the trigger falls inside its bar): the closed-form quantile lies between
    m*(9 min) and m*(10 min). The calibrated MMR's day-block bootstrap interval must meet that
    range, and its point must lie within the interval."""
    p = 0.01
    tiers = TierTable(upper_bounds=[1e5], max_leverage=[20], mmr=[0.01], imr=[0.05], name="t")
    cal = calibrate_closeout(
        {"SIM": brownian_bars},
        tiers=tiers,
        target=p,
        delay="10min",
        volume={"SIM": 1e15},  # no time-to-sell term: the delay is the 10 minutes
        impact_coefficient=0.0,
        side="long",
        n_boot=200,
        grid_size=160,
        origin_every=3,
        holdout=False,
    )
    row = cal.table.iloc[0]
    lo_cf = _closed_form_mmr(p, 0.0015, 9)
    hi_cf = _closed_form_mmr(p, 0.0015, 10)
    assert row["resolution"] == "point" and row["identified"]
    assert row["leverage"] == 20
    assert row["mmr_lo"] <= hi_cf * 1.0 and row["mmr_hi"] >= lo_cf, (
        row["mmr_lo"],
        row["mmr_hi"],
        lo_cf,
        hi_cf,
    )
    assert row["mmr_lo"] <= row["mmr_raw"] <= row["mmr_hi"]
    assert lo_cf * 0.85 < row["mmr_raw"] < hi_cf * 1.15


def test_larger_delay_or_smaller_target_never_gives_a_smaller_mmr(brownian_bars):
    """Monotone in the delay and the target (closed form: sigma sqrt(Delta) z_{1-p}), on the
    same simulated bars (common random numbers)."""
    s = closeout_sensitivity(
        brownian_bars,
        leverage=20,
        delays=("1min", "2min", "5min", "10min", "20min"),
        targets=(0.02, 0.01, 0.005),
        origin_every=3,
        grid_size=160,
    )
    tab = s.pivot(index="delay_minutes", columns="target", values="mmr")
    assert tab.notna().all().all()
    assert (tab.diff().iloc[1:] >= 0).all().all()  # down the delays
    assert (tab[0.005] >= tab[0.01]).all() and (tab[0.01] >= tab[0.02]).all()


def test_implied_horizon_brackets_the_closed_form(brownian_bars, tmp_path):
    """A venue rule with tier-1 MMR m at leverage 1/(2m): on Brownian bars the delay at which
    P(bad | liq) reaches 1% solves m = 1 - exp(sigma sqrt(D) z_0.01); the implied horizon's
    grid bracket [lo, hi] must contain it, up to the one-bar timing of the fill."""
    m = 0.02
    rule = _flat_rule(tmp_path, m)
    out = implied_closeout_horizon(
        brownian_bars,
        [rule],
        levels=(0.99,),
        delays=("1min", "2min", "5min", "10min", "20min", "40min"),
        side="long",
        origin_every=3,
    )
    row = out.iloc[0]
    d_star = (math.log(1 - m) / (0.0015 * stats.norm.ppf(0.01))) ** 2  # minutes
    lo = row["horizon_lo"] / pd.Timedelta("1min")
    hi = row["horizon_hi"] / pd.Timedelta("1min")
    assert lo - 1 <= d_star <= hi + 1, (lo, d_star, hi)
    assert row["leverage"] == 25


# ----------------------------------------------------------------------------- pieces
def test_solve_rate_is_the_smallest_rate_from_which_on_the_target_holds():
    grid = np.array([0.01, 0.02, 0.03, 0.04])
    liq = np.array([[1000, 1000, 1000, 1000]])
    bad = np.array([[50, 4, 6, 3]])  # 0.4% at 2%, but 0.6% at 3%: the answer is 4%
    assert solve_rate(bad, liq, grid, 0.005, min_liquidations=200)[0] == 0.04
    bad2 = np.array([[50, 4, 5, 3]])
    assert solve_rate(bad2, liq, grid, 0.005, min_liquidations=200)[0] == 0.02
    # too few liquidations: not identified
    assert np.isnan(solve_rate(bad2, liq * 0 + 100, grid, 0.005, min_liquidations=200)[0])
    # nothing meets the target: infeasible
    assert np.isnan(solve_rate(bad * 10, liq, grid, 0.005, min_liquidations=200)[0])


def test_binomial_power_equals_enumeration():
    """Power of the two-sided equal-tailed exact test: enumeration in plain Python over k."""
    n, p0, p1 = 400, 0.005, 0.01
    reject = 0.0
    for k in range(n + 1):
        lower = sum(math.comb(n, j) * p0**j * (1 - p0) ** (n - j) for j in range(k + 1))
        upper = sum(math.comb(n, j) * p0**j * (1 - p0) ** (n - j) for j in range(k, n + 1))
        if lower <= 0.025 or upper <= 0.025:
            reject += math.comb(n, k) * p1**k * (1 - p1) ** (n - k)
    assert binomial_power(n, p0, p1) == pytest.approx(reject, rel=1e-9)
    # the measurement: 782 days at 0.5% has little power against 1%
    assert binomial_power(782, 0.005, 0.01) < 0.5


def test_monotone_fit_stays_inside_the_intervals():
    raw = np.array([0.02, 0.015, 0.03, 0.028, 0.05])
    lo = raw * 0.8
    hi = raw * 1.25
    fit, conflict = _monotone(raw, lo, hi)
    assert (np.diff(fit) >= 0).all()
    assert ((fit >= lo - 1e-15) & (fit <= hi + 1e-15)).all()
    assert not conflict.any()
    # intervals that cannot be ordered are flagged
    fit2, conflict2 = _monotone(
        np.array([0.05, 0.01]), np.array([0.045, 0.009]), np.array([0.055, 0.011])
    )
    assert conflict2.any() and (np.diff(fit2) >= 0).all()


def test_entry_excursions_read_lows_and_add_funding():
    """Long: 1 - min(low over the window)/open plus the funding paid at the settlements in the
    window; a window with a missing bar is dropped."""
    idx = pd.date_range("2024-01-01", periods=6, freq="1h", tz="UTC")
    bars = pd.DataFrame(
        {
            "open": [100.0, 100, 100, 100, 100, 100],
            "high": [101.0, 101, 101, 101, 101, 101],
            "low": [99.0, 95, 99, 98, 99, 99],
            "close": [100.0, 100, 100, 100, 100, 100],
        },
        index=idx,
    )
    f = pd.Series([0.001], index=pd.DatetimeIndex([idx[1]]))
    e = entry_excursions(bars, "2h", "long", funding=f)
    assert e.iloc[0] == pytest.approx(0.05 + 0.001)  # bars 0-1: low 95; settlement at bar 1
    assert e.iloc[1] == pytest.approx(0.05 + 0.001)
    assert e.iloc[2] == pytest.approx(0.02)
    gappy = bars.drop(idx[3])
    assert idx[2] not in entry_excursions(gappy, "2h", "long").index  # window 2-3 is broken
    with pytest.raises(InsufficientDataError, match="shorter than im_horizon"):
        entry_excursions(bars, "8h", "long")  # 6 bars cannot hold one 8-hour window


# ----------------------------------------------------------------------------- calibration
def test_calibrate_mmr_dispatches_on_bars_and_keeps_the_horizon_method():
    """Bars go to the close-out method; returns keep the fixed-horizon method, bit-identical
    with method='horizon' spelled out."""
    bars = _brownian_bars(6, 0.001, seed=2, sub=10)
    tiers = TierTable(upper_bounds=[1e5], max_leverage=[20], mmr=[0.01], imr=[0.05], name="t")
    cal = calibrate_mmr({"SIM": bars}, tiers=tiers, target=0.01, n_boot=20, side="long",
                        delay="2min", holdout=False)  # fmt: skip
    assert cal.method == "closeout"
    r = np.log(bars["close"]).diff().dropna().resample("1h").sum().to_frame("SIM")
    a = calibrate_mmr(r, "SIM", horizon="1h", target=0.01, n_boot=20)
    b = calibrate_mmr(r, "SIM", horizon="1h", target=0.01, n_boot=20, method="horizon")
    pd.testing.assert_frame_equal(a.table, b.table)
    with pytest.raises(ConfigError, match="method='closeout'"):
        calibrate_mmr(r, "SIM", target=0.01, delay="1min")
    with pytest.raises(ConfigError, match="needs tiers"):
        calibrate_mmr({"SIM": bars}, method="closeout")
    with pytest.raises(ConfigError, match="needs bars"):
        calibrate_mmr(r, tiers=tiers, method="closeout")


def test_closeout_calibration_table_and_holdout():
    """Two brackets on simulated windows: every published rate is non-decreasing, inside its
    interval where one exists, and the leave-one-window-out summary prints the test and its
    power; the tier table has the exchange's shape."""
    w = [_brownian_bars(2, 0.0012, seed=s, sub=10) for s in (21, 22, 23)]
    for i, x in enumerate(w):
        x.index = x.index + pd.Timedelta(days=10 * i)
    bars = pd.concat(w)
    tiers = TierTable(
        upper_bounds=[1e5, 1e8], max_leverage=[25, 10], mmr=[0.01, 0.02], imr=[0.04, 0.1],
        name="t",
    )  # fmt: skip
    cal = calibrate_closeout(
        {"SIM": bars}, tiers=tiers, target=0.01, delay="1min", n_boot=100, origin_every=2,
        volume={"SIM": 5e10},
    )  # fmt: skip
    t = cal.table
    assert len(t) == 4 and set(t["side"]) == {"long", "short"}
    for _, g in t.groupby("side"):
        assert (np.diff(g["mmr"].to_numpy()) >= 0).all()
    assert t["inside_interval"].all()
    assert t["delay_seconds"].iloc[1] > t["delay_seconds"].iloc[0]  # time to sell 1e8
    s = cal.oos_summary
    assert {"pvalue", "power_2x", "capital_cost", "bad_debt_per_oi_year"} <= set(s.columns)
    assert (s["windows"] == 3).all()
    tt = cal.tier_table("SIM")
    assert list(tt.upper_bounds) == [1e5, 1e8]
    assert all(lv >= 1 for lv in tt.max_leverage)
    html = cal._repr_html_()
    assert "close-out gap" in html


def test_closeout_validation_names_the_fix():
    bars = _noisy_bars(100)
    with pytest.raises(ConfigError, match="side"):
        closeout_counts(bars, side="up", leverage=10, mmr=[0.01], delay="1min")
    with pytest.raises(ConfigError, match="leverage"):
        closeout_counts(bars, side="long", leverage=1, mmr=[0.01], delay="1min")
    with pytest.raises(ConfigError, match="1/leverage"):
        closeout_counts(bars, side="long", leverage=10, mmr=[0.2], delay="1min")
    with pytest.raises(ConfigError, match="delay"):
        closeout_counts(bars, side="long", leverage=10, mmr=[0.01], delay=5)
    with pytest.raises(ConfigError, match="resolution"):
        closeout_counts(bars, side="long", leverage=10, mmr=[0.01], delay="30s",
                        resolution="point")  # fmt: skip
    with pytest.raises(DataError, match="UTC"):
        closeout_counts(bars.tz_localize(None), side="long", leverage=10, mmr=[0.01], delay="1min")
    tiers = TierTable(upper_bounds=[1e5], max_leverage=[20], mmr=[0.01], imr=[0.05], name="t")
    with pytest.raises(ConfigError, match="budget"):
        calibrate_closeout({"X": bars}, tiers=tiers, objective="budget")
    with pytest.raises(ConfigError, match="tiers"):
        calibrate_closeout({"X": bars}, tiers={"Y": tiers})
    with pytest.raises(ConfigError, match="leverage must be 'reference' or 'calibrated'"):
        calibrate_closeout({"X": bars}, tiers=tiers, leverage="max")
    with pytest.raises(ConfigError, match=r"max_mm_to_im must be in \(0, 1\]"):
        calibrate_closeout({"X": bars}, tiers=tiers, max_mm_to_im=2.0)
    with pytest.raises(ConfigError, match="grid_size must be >= 8"):
        calibrate_closeout({"X": bars}, tiers=tiers, grid_size=3)
    with pytest.raises(ConfigError, match="must be a bar frame"):
        calibrate_closeout({"X": [1, 2]}, tiers=tiers)
    with pytest.raises(ConfigError, match="volume must be a positive USD amount"):
        calibrate_closeout({"X": bars}, tiers=tiers, volume={"X": -1.0})
    with pytest.raises(ConfigError, match="delays must be increasing"):
        implied_closeout_horizon(bars, [], delays=("5min", "1min"))
