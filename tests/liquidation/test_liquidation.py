"""The liquidation engine (riskmodels.liquidation) against independent truth.

Sources of the expected numbers:
* twin implementations: the sparse-table first-passage search against a pure-Python loop per
  position and a numpy per-bar loop (equal indices, no tolerance);
* closed forms on Brownian mark paths: the reflection principle for the first passage
  (Karatzas & Shreve 1991, §2.6; P(min_{t<=T} W_t <= -a) = 2 Phi(-a / sqrt T)), with the
  Broadie-Glasserman-Kou (1997) continuity correction for discrete monitoring, and
  P(bad debt | trigger) = Phi(-d / (sigma sqrt Delta)) (Gaussian increment over the delay);
* hand-worked examples per venue, with the arithmetic in the comments;
* the Binance liquidation-price formula as implemented (and tested against Binance's published
  example) in riskmodels.margin.isolated_liquidation_price.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from _fixtures import flat_rule_toml
from scipy.stats import norm

from riskmodels.exceptions import ConfigError, DataError, PositionError
from riskmodels.instruments import InversePerp, LinearPerp
from riskmodels.liquidation import (
    LiquidationRule,
    available_liquidation_rules,
    liquidation_prices,
    simulate_liquidations,
)
from riskmodels.liquidation._kernels import (
    MinTable,
    first_passage,
    first_passage_loop,
    first_passage_reference,
)
from riskmodels.margin import isolated_liquidation_price, load_tier_table

BINANCE = "binance_usdm_btcusdt_2021-03-18"
HYPERLIQUID = "hyperliquid_btc"

FLAT_RULE = flat_rule_toml()


@pytest.fixture
def flat_rule(tmp_path):
    p = tmp_path / "flat_test.toml"
    p.write_text(FLAT_RULE)
    return LiquidationRule.load(p)


def _bars(close, *, wick=0.0, freq="1min"):
    close = np.asarray(close, dtype=float)
    opn = np.concatenate([[close[0]], close[:-1]])
    idx = pd.date_range("2025-10-10", periods=len(close), freq=freq, tz="UTC")
    hi = np.maximum(opn, close) * (1 + wick)
    lo = np.minimum(opn, close) * (1 - wick)
    return pd.DataFrame({"open": opn, "high": hi, "low": lo, "close": close}, index=idx)


# ----------------------------------------------------------------------------- kernels
@pytest.mark.parametrize("n", [1, 2, 3, 17, 64, 1000])
def test_first_passage_equals_loops(n):
    """Sparse table + binary lifting == per-position loop == per-bar loop (exact)."""
    rng = np.random.default_rng(n)
    x = np.cumsum(rng.normal(size=n))
    lo, hi = x - 0.3, x + 0.3
    m = 3000
    st = rng.integers(0, n, m)
    lv = x[st] + rng.normal(0, 3, m)
    sd = rng.choice([-1.0, 1.0], m)
    fast = first_passage(lo, hi, st, lv, sd)
    assert (fast == first_passage_reference(lo, hi, st, lv, sd)).all()
    assert (fast == first_passage_loop(lo, hi, st, lv, sd)).all()


def test_range_min_brute_force():
    rng = np.random.default_rng(1)
    x = rng.normal(size=777)
    t = MinTable(x)
    a = rng.integers(0, 777, 2000)
    b = np.maximum(a, rng.integers(0, 777, 2000))
    assert np.array_equal(
        t.range_min(a, b), [x[i : j + 1].min() for i, j in zip(a, b, strict=True)]
    )


# ----------------------------------------------------------------------------- rules
def test_every_shipped_rule_loads_with_sources():
    names = available_liquidation_rules()
    assert {BINANCE, HYPERLIQUID, "deribit_btc_standard_2022-01-11", "dydx_v4_large_cap"} <= set(
        names
    )
    for n in names:
        r = LiquidationRule.load(n)
        f = r.frame()
        published = f[f["value"] != "unknown"]
        assert (published["source"].str.len() > 0).all(), n
        unknown = f[f["value"] == "unknown"]
        assert (unknown["sweep"].str.len() > 0).all(), n  # unknowns carry a sweep
        assert "delay" in unknown.index  # no venue publishes its close-out delay


def test_bybit_rule_leaves_unpublished_delay_to_a_sweep():
    """Bybit publishes no trigger-to-fill delay (help centre 000001098, VENUES.md §L.2): the rule
    marks it unknown with a sweep and its margin is the shipped Bybit tier table."""
    r = LiquidationRule.load("bybit_usdt_btcusdt")
    assert "bybit_usdt_btcusdt" in available_liquidation_rules()
    assert r.parameters["delay"].unknown
    assert len(r.sweep("delay")) >= 2
    with pytest.raises(ConfigError, match=r"does not publish 'delay'"):
        r.value("delay")
    assert r.value("trigger_price") == "mark"
    assert r.value("adl_price") == "bankruptcy"
    # tier 1 of bybit_usdt_btcusdt_2024-05-10: 1M USDT x 0.5% = 5,000 USDT
    np.testing.assert_allclose(r.maintenance(1e6), 5_000.0)


def test_unknown_parameter_needs_a_value(flat_rule):
    pos = pd.DataFrame(
        {"side": ["long"], "quantity": [1.0], "entry_price": [100.0], "wallet": [5.0]}
    )
    with pytest.raises(ConfigError, match=r"does not publish 'delay'.*sweep"):
        simulate_liquidations(_bars([100, 99]), pos, flat_rule, insurance_fund=0.0)
    assert flat_rule.sweep("delay") == (pd.Timedelta("0s"), pd.Timedelta("1min"))


def test_rule_file_errors(tmp_path):
    bad = FLAT_RULE.replace('adl_ranking = "pnl_leverage"\n', "")
    p = tmp_path / "bad.toml"
    p.write_text(bad)
    with pytest.raises(ConfigError, match="lacks \\['adl_ranking'\\]"):
        LiquidationRule.load(p)
    p.write_text(FLAT_RULE.replace("clearance_fee = 0.0", "clearance_fee = { value = 0.01 }"))
    with pytest.raises(ConfigError, match="has no source"):
        LiquidationRule.load(p)
    p.write_text(FLAT_RULE.replace("clearance_fee = 0.0", "clearance_fee = 1.5"))
    with pytest.raises(ConfigError, match="fraction in \\[0, 1\\]"):
        LiquidationRule.load(p)
    p.write_text(FLAT_RULE.replace('"fund_exhausted"', '"fund_drawdown"'))
    with pytest.raises(ConfigError, match=r"adl_trigger must be one of \('fund_exhausted',\)"):
        LiquidationRule.load(p)
    p.write_text(FLAT_RULE.split("[liquidation]")[0])
    with pytest.raises(ConfigError, match="no \\[liquidation\\] table"):
        LiquidationRule.load(p)
    with pytest.raises(ConfigError, match=r"no shipped liquidation rule named 'nope'.*available"):
        LiquidationRule.load("nope")


# ----------------------------------------------------------------------------- prices
@pytest.mark.parametrize("tier", range(10))
def test_liquidation_price_equals_isolated_formula_every_tier(tier):
    """The engine's LP equals margin.isolated_liquidation_price in every Binance bracket."""
    table = load_tier_table(BINANCE)
    lo = 0 if tier == 0 else table.upper_bounds[tier - 1]
    hi = table.upper_bounds[tier]
    notional = lo + 0.6 * (hi - lo)
    rows = []
    for side in (1, -1):
        lev = table.max_leverage[tier] * 0.8
        q = notional / 30_000.0
        rows.append(
            {"side": side, "quantity": q, "entry_price": 30_000.0, "wallet": notional / lev}
        )
    pos = pd.DataFrame(rows)
    got = liquidation_prices(pos, BINANCE)
    for i, r in pos.iterrows():
        ref = isolated_liquidation_price(
            LinearPerp("BTC", r["side"] * r["quantity"], r["entry_price"]), r["wallet"], table
        ).price
        # 1x longs have no liquidation price (NaN in both: the wallet covers any price)
        assert got["liquidation_price"].iloc[i] == pytest.approx(ref, rel=1e-12, nan_ok=True)


def test_inverse_liquidation_price_matches_margin():
    table = load_tier_table(BINANCE)
    pos = pd.DataFrame(
        {
            "side": ["long", "short"],
            "quantity": [10_000.0, 10_000.0],
            "entry_price": [50_000.0] * 2,
            "wallet": [0.01, 0.01],
            "contract": ["inverse"] * 2,
        }
    )
    got = liquidation_prices(pos, BINANCE)["liquidation_price"].to_numpy()
    for i, s in enumerate((1, -1)):
        ref = isolated_liquidation_price(
            InversePerp("BTC", s * 100, 100.0, 50_000.0), 0.01, table
        ).price
        assert got[i] == pytest.approx(ref, rel=1e-12)


# ----------------------------------------------------------------------------- closed forms
def test_first_passage_probability_reflection_principle(flat_rule):
    """P(trigger by T) on driftless log-Brownian marks = 2 Phi(-a/(sigma sqrt T)).

    Discrete monitoring on n steps misses crossings between points; the Broadie-Glasserman-Kou
    correction moves the barrier by 0.5826 sigma sqrt(dt) away. Tolerance: 4 Monte Carlo
    standard errors of a proportion over 4,000 paths.
    """
    rng = np.random.default_rng(11)
    n_paths, n = 4000, 1000
    sigma = 0.0005  # per step (log)
    x = np.cumsum(rng.normal(0, sigma, (n_paths, n)), axis=1)
    paths = 100.0 * np.exp(np.concatenate([np.zeros((n_paths, 1)), x], axis=1))
    pos = pd.DataFrame(
        {"side": ["long"], "quantity": [1.0], "entry_price": [100.0], "wallet": [3.0]}
    )
    lp = float(liquidation_prices(pos, flat_rule)["liquidation_price"].iloc[0])
    res = simulate_liquidations(paths, pos, flat_rule, delay="0s", step="1s", insurance_fund=0.0)
    p_hat = res.summary().loc["P(liquidation)", "estimate"]
    a = -math.log(lp / 100.0) + 0.5826 * sigma  # corrected barrier distance
    p_true = 2 * norm.cdf(-a / (sigma * math.sqrt(n)))
    se = math.sqrt(p_true * (1 - p_true) / n_paths)
    assert abs(p_hat - p_true) < 4 * se, (p_hat, p_true)


def test_bad_debt_given_liquidation_closed_form(flat_rule):
    """P(bad debt | liquidation) = Phi(-d/(sigma sqrt Delta)) for the log distance d = ln(LP/BP).

    Two checks: (1) exactly, event by event from the actual trigger price (the Brownian
    increment over the delay is independent of the past): observed rate vs the mean of
    Phi(-ln(p_trig/BP)/(sigma sqrt Delta)); (2) the issue's formula from LP, which ignores the
    overshoot of a discretely monitored trigger (corrected by Broadie-Glasserman-Kou). Both to
    4 standard errors.
    """
    rng = np.random.default_rng(5)
    n_paths, n, k = 4000, 1200, 100  # delay = 100 steps
    sigma = 0.0015
    x = np.cumsum(rng.normal(0, sigma, (n_paths, n)), axis=1)
    paths = 100.0 * np.exp(np.concatenate([np.zeros((n_paths, 1)), x], axis=1))
    # 20x long: wallet 5 on 100 notional, MM 1%: LP = (5 - 100)/(1 (0.01 - 1)) = 95.96, BP = 95
    pos = pd.DataFrame(
        {"side": ["long"], "quantity": [1.0], "entry_price": [100.0], "wallet": [5.0]}
    )
    res = simulate_liquidations(paths, pos, flat_rule, delay=f"{k}s", step="1s", insurance_fund=0.0)
    ev = res.events[~res.events["censored"]]
    assert len(ev) > 1000
    bad = (ev["bad_debt"] > 0).mean()
    sd = sigma * math.sqrt(k)
    exact = norm.cdf(-np.log(ev["trigger_mark"] / ev["bankruptcy_price"]) / sd).mean()
    se = math.sqrt(exact * (1 - exact) / len(ev))
    assert abs(bad - exact) < 4 * se, (bad, exact)
    lp, bp = ev["liquidation_price"].iloc[0], ev["bankruptcy_price"].iloc[0]
    d = math.log(lp / bp) - 0.5826 * sigma
    assert abs(bad - norm.cdf(-d / sd)) < 4 * se + 0.01, (bad, norm.cdf(-d / sd))


# ----------------------------------------------------------------------------- venues by hand
def test_binance_bankrupt_long_deleverages_short_at_bankruptcy_price():
    """Long 10 @ 100 with wallet 20: LP = (20 - 1000)/(10 (0.004 - 1)) = 98.3936, BP = 98.

    The mark falls to 95 by the fill (3-minute delay on 1-minute bars: close of bar 2 + 2 = 4):
    equity 20 + 10 (95 - 100) = -30 = bad debt. With an empty fund, ADL closes 10 of the most
    profitable short at BP = 98: short A (10 @ 100, wallet 50) has PnL% 50/50 = 1 and leverage
    950/100 = 9.5, short B (5 @ 100, wallet 30) 25/30 x 475/55 = 7.2, so A is closed: 10 x
    (98 - 95) = 30 of profit against the mark, which covers the debt exactly.
    """
    bars = _bars([100, 100, 98, 97, 95, 95])
    pos = pd.DataFrame(
        {
            "side": ["long", "short", "short"],
            "quantity": [10.0, 10.0, 5.0],
            "entry_price": [100.0] * 3,
            "wallet": [20.0, 50.0, 30.0],
        },
        index=["L", "A", "B"],
    )
    res = simulate_liquidations(bars, pos, BINANCE, delay="3min", insurance_fund=0.0)
    (ev,) = res.events.itertuples()
    assert ev.position == "L" and ev.trigger_time == bars.index[2]
    assert ev.liquidation_price == pytest.approx(980 / 9.96)
    assert ev.bankruptcy_price == 98.0
    assert ev.closeout_price == 95.0 and ev.bad_debt == pytest.approx(30.0)
    assert ev.adl_quantity == pytest.approx(10.0) and ev.adl_price == 98.0
    assert ev.adl_cover == pytest.approx(30.0) and ev.socialized == 0.0
    (a,) = res.adl.itertuples()
    assert a.counterparty == "A" and a.quantity == pytest.approx(10.0) and a.price == 98.0
    res.check_conservation()


def test_fund_covers_before_adl():
    bars = _bars([100, 100, 98, 97, 95, 95])
    pos = pd.DataFrame(
        {
            "side": ["long", "short"],
            "quantity": [10.0, 10.0],
            "entry_price": [100.0] * 2,
            "wallet": [20.0, 50.0],
        }
    )
    res = simulate_liquidations(bars, pos, BINANCE, delay="3min", insurance_fund=12.0)
    ev = res.events.iloc[0]
    # fund 12 pays first; 18 is left: 10 x 18/30 = 6 coins are deleveraged at BP
    assert ev["fund_draw"] == pytest.approx(12.0) and ev["fund_after"] == 0.0
    assert ev["adl_quantity"] == pytest.approx(6.0) and ev["adl_cover"] == pytest.approx(18.0)
    res.check_conservation()


def test_fee_and_residual_go_to_the_fund_on_binance_not_on_hyperliquid():
    """An instant close-out at LP leaves equity = MM; Binance's fund takes it all (0.3% fee
    on the notional plus the residual), Hyperliquid charges no fee and returns it."""
    bars = _bars([100, 100, 98, 98])
    pos = pd.DataFrame(
        {"side": ["long"], "quantity": [10.0], "entry_price": [100.0], "wallet": [20.0]}
    )
    b = simulate_liquidations(bars, pos, BINANCE, delay="0s", insurance_fund=0.0).events.iloc[0]
    lp = 980 / 9.96
    mm = 10 * lp * 0.004
    assert b["fee"] == pytest.approx(0.003 * 10 * lp)
    assert b["fee"] + b["residual_to_fund"] == pytest.approx(mm)
    assert b["trader_keeps"] == 0.0 and b["fund_after"] == pytest.approx(mm)
    h = simulate_liquidations(
        bars, pos, HYPERLIQUID, delay="0s", insurance_fund=0.0, backstop_delay="0s"
    ).events.iloc[0]
    lp_h = (20 - 1000) / (10 * (0.0125 - 1))
    assert h["fee"] == 0.0 and h["residual_to_fund"] == 0.0
    assert h["trader_keeps"] == pytest.approx(10 * lp_h * 0.0125)


def test_hyperliquid_twenty_percent_slices():
    """2,000 BTC-units long @ 100 (200k notional), wallet 5,000, MM 1.25%, 30 s grid, no delay.

    LP0 = (5000 - 200000)/(2000 (0.0125 - 1)) = 98.7342. At 98.7 (step 2) 20% = 400 sells at
    98.7: wallet 5000 + 400 (98.7 - 100) = 4480, q = 1600, LP1 = (4480 - 160000)/(1600 x
    -0.9875) = 98.4304. The re-check 30 s later sees 98.5 > LP1 (no slice); at 98.3 the next 20%
    = 320 sells: wallet 4480 - 320 x 1.7 = 3936, q = 1280, LP2 = 124064/1264 = 98.1519. The
    mark then recovers: the rest survives. Backstop (equity < 2/3 MM) never binds: at 98.3 the
    equity before the slice is 4480 - 1600 x 1.7 = 1760 against 2/3 x 1966 = 1311.
    """
    path = np.array([100.0, 99.0, 98.7, 98.5, 98.3, 99.0, 100.0])
    pos = pd.DataFrame(
        {"side": ["long"], "quantity": [2000.0], "entry_price": [100.0], "wallet": [5000.0]}
    )
    res = simulate_liquidations(
        path, pos, HYPERLIQUID, delay="0s", step="30s", insurance_fund=0.0, backstop_delay="0s"
    )
    ev = res.events
    assert list(ev["trigger_bar"]) == [2, 4]
    assert ev["quantity"].tolist() == pytest.approx([400.0, 320.0])
    assert ev["liquidation_price"].tolist() == pytest.approx([195000 / 1975, 155520 / 1580])
    assert (ev["kind"] == "book").all() and ev["bad_debt"].sum() == 0
    surv = res.survivors
    assert surv["quantity_left"].iloc[0] == pytest.approx(1280.0)
    assert surv["wallet"].iloc[0] == pytest.approx(3936.0)


def test_hyperliquid_backstop_takes_over_below_two_thirds_of_mm():
    """A gap from 100 to 97 opens below both LP (98.73) and the backstop level: equity = 2/3 MM
    at P solves 5000 + 2000 (P - 100) = (2/3) 0.0125 x 2000 P, P = 195000/(2000 x (1 -
    0.008333)) = 98.319. The vault takes the whole position and all collateral at the gap price
    97: equity 5000 - 6000 = -1000 is bad debt (the trader keeps nothing)."""
    path = np.array([100.0, 97.0, 97.0])
    pos = pd.DataFrame(
        {"side": ["long"], "quantity": [2000.0], "entry_price": [100.0], "wallet": [5000.0]}
    )
    res = simulate_liquidations(
        path, pos, HYPERLIQUID, delay="0s", step="30s", insurance_fund=0.0, backstop_delay="0s"
    )
    (ev,) = res.events.itertuples()
    assert ev.kind == "backstop" and ev.quantity == 2000.0
    assert ev.bad_debt == pytest.approx(1000.0) and ev.trader_keeps == 0.0
    # HL deleverages at the mark: with no impact there is nothing ADL can avoid -> socialized
    assert ev.socialized == pytest.approx(1000.0)


# ----------------------------------------------------------------------------- ledger
def test_conservation_random_population():
    rng = np.random.default_rng(3)
    n = 400
    close = 100 * np.exp(np.cumsum(rng.normal(-0.001, 0.004, 600)))
    bars = _bars(close, wick=0.002)
    side = rng.choice(["long", "short"], n)
    lev = rng.uniform(5, 100, n)
    q = rng.uniform(0.5, 50, n)
    pos = pd.DataFrame({"side": side, "quantity": q, "entry_price": 100.0, "wallet": q * 100 / lev})
    for fund in (0.0, 50.0, 1e6):
        for delay in ("0s", "2min", "10min"):
            res = simulate_liquidations(
                bars, pos, BINANCE, delay=delay, insurance_fund=fund, impact=0.002
            )
            res.check_conservation()
            ev = res.events
            assert np.allclose(ev["bad_debt"], ev["fund_draw"] + ev["adl_cover"] + ev["socialized"])
    s = res.summary()["estimate"]
    assert 0 < s["P(liquidation)"] <= 1


def test_bounds_when_bars_are_coarser_than_the_delay():
    rng = np.random.default_rng(4)
    close = 100 * np.exp(np.cumsum(rng.normal(-0.002, 0.01, 200)))
    bars = _bars(close, wick=0.01, freq="1h")
    q = rng.uniform(1, 10, 300)
    pos = pd.DataFrame(
        {
            "side": "long",
            "quantity": q,
            "entry_price": 100.0,
            "wallet": q * 100 / rng.uniform(10, 100, 300),
        }
    )
    res = simulate_liquidations(bars, pos, BINANCE, delay="30s", insurance_fund=0.0)
    assert res.resolution == "bounds"
    s = res.summary()
    assert list(s.columns) == ["lower bound", "upper bound"]
    assert s.loc["bad debt", "lower bound"] <= s.loc["bad debt", "upper bound"]
    assert s.loc["bad debt", "upper bound"] > 0
    assert set(res.events["bound"]) == {
        "lower bound (instant close-out)",
        "upper bound (bar extreme)",
    }
    res.check_conservation()
    with pytest.raises(ConfigError, match="cannot identify the close-out price"):
        simulate_liquidations(
            bars, pos, BINANCE, delay="30s", insurance_fund=0.0, resolution="point"
        )


def test_funding_moves_the_liquidation_price():
    """A long of 10 @ 100 with wallet 60 (MM 1.2%): LP = (60 - 1000)/(10 (0.012 - 1)) = 95.14,
    so a mark that only falls to 96 leaves it open. Paying 0.2% funding at 8 settlements
    (8 x 0.2% x 10 x 100 = 16) leaves wallet 44 and LP = 956/9.88 = 96.76: now 96 liquidates it.
    """
    bars = _bars(np.r_[np.full(60, 100.0), np.full(10, 96.0)])
    pos = pd.DataFrame(
        {"side": ["long"], "quantity": [10.0], "entry_price": [100.0], "wallet": [60.0]}
    )
    rule = "dydx_v4_large_cap"
    kw = dict(
        delay="0s",
        insurance_fund=0.0,
        clearance_fee=0.005,
        adl_price="bankruptcy",
        adl_ranking="pro_rata",
        slice_fraction=1.0,
        slice_interval="0s",
    )
    assert simulate_liquidations(bars, pos, rule, **kw).events.empty
    funding = pd.Series(0.002, index=bars.index[5:45:5])
    res = simulate_liquidations(bars, pos, rule, funding=funding, **kw)
    assert len(res.events) == 1 and res.events["funding_paid"].iloc[0] == pytest.approx(16.0)
    assert res.events["liquidation_price"].iloc[0] == pytest.approx(956 / 9.88)
    res.check_conservation()


def test_cross_account_nets_like_one_position(flat_rule):
    bars = _bars([100, 99, 97, 95, 94])
    one = pd.DataFrame(
        {"side": ["long"], "quantity": [3.0], "entry_price": [100.0], "wallet": [10.0]}
    )
    two = pd.DataFrame(
        {
            "side": ["long", "long"],
            "quantity": [1.0, 2.0],
            "entry_price": [100.0, 100.0],
            "wallet": [10.0, 10.0],
            "account": ["x", "x"],
            "margin": ["cross", "cross"],
        }
    )
    a = simulate_liquidations(bars, one, flat_rule, delay="1min", insurance_fund=0.0).events
    b = simulate_liquidations(bars, two, flat_rule, delay="1min", insurance_fund=0.0).events
    for col in ("liquidation_price", "closeout_price", "bad_debt", "trigger_bar"):
        assert a[col].iloc[0] == pytest.approx(b[col].iloc[0])


# ----------------------------------------------------------------------------- bad input
def test_bad_input_named_errors(flat_rule):
    pos = pd.DataFrame(
        {"side": ["long"], "quantity": [1.0], "entry_price": [100.0], "wallet": [5.0]}
    )
    bars = _bars([100, 99, 98, 97])
    kw = dict(delay="1min", insurance_fund=0.0)
    with pytest.raises(DataError, match="gaps inside the window"):
        simulate_liquidations(bars.drop(bars.index[1]), pos, flat_rule, **kw)
    nan = bars.copy()
    nan.iloc[2, 0] = np.nan
    with pytest.raises(DataError, match="NaN"):
        simulate_liquidations(nan, pos, flat_rule, **kw)
    with pytest.raises(PositionError, match="at or below maintenance margin at entry"):
        simulate_liquidations(bars, pos.assign(wallet=1.0), flat_rule, **kw)
    with pytest.raises(PositionError, match="already bankrupt"):
        simulate_liquidations(bars, pos.assign(wallet=-100.0), flat_rule, **kw)
    with pytest.raises(PositionError, match="lacks \\['wallet'\\]"):
        simulate_liquidations(bars, pos.drop(columns="wallet"), flat_rule, **kw)
    with pytest.raises(ConfigError, match="needs a unit"):
        simulate_liquidations(bars, pos, flat_rule, delay=3, insurance_fund=0.0)
    with pytest.raises(ConfigError, match="no shipped liquidation rule"):
        simulate_liquidations(bars, pos, "binance_2099", **kw)
    with pytest.raises(ConfigError, match="step="):
        simulate_liquidations(np.ones((2, 5)) * 100, pos, flat_rule, **kw)
    with pytest.raises(PositionError, match="mix linear and inverse"):
        simulate_liquidations(
            bars,
            pd.concat([pos, pos.assign(contract="inverse")]).assign(contract=["linear", "inverse"]),
            flat_rule,
            **kw,
        )


# ----------------------------------------------------------------------------- replays
def test_replay_rules_on_synthetic_windows():
    """A crash window and a calm one on synthetic 1-minute bars (the test makes its data):
    the crash liquidates more, bounds appear only for delays shorter than the bar, every
    range is ordered, and a rule only runs on its assets."""
    from riskmodels.liquidation import ReplayWindow, replay_rules

    rng = np.random.default_rng(9)
    calm = _bars(100 * np.exp(np.cumsum(rng.normal(0, 0.0005, 600))), wick=0.0005)
    crash = _bars(
        100
        * np.exp(
            np.cumsum(
                np.r_[rng.normal(0, 0.0005, 300), np.full(30, -0.004), rng.normal(0, 0.002, 270)]
            )
        ),
        wick=0.002,
    )
    wins = [
        ReplayWindow("crash", "2025-10-10", "2025-10-10 23:59", label="synthetic 1m"),
        ReplayWindow("calm", "2025-10-10", "2025-10-10 23:59", label="synthetic 1m calm"),
        ReplayWindow("eth", "2025-10-10", "2025-10-10 23:59", asset="ETH", label="synthetic ETH"),
    ]
    bars = {"crash|synthetic 1m": crash, "calm|synthetic 1m calm": calm, "eth|synthetic ETH": crash}
    out = replay_rules(
        wins, [BINANCE, HYPERLIQUID, "dydx_v4_large_cap"], delays=("30s", "2min"), n=200, bars=bars
    )
    assert set(out.loc[out["window"] == "eth", "rule"]) == {
        "dydx_v4_large_cap"
    }  # BTC-only rules skip ETH
    b = out[out["rule"] == BINANCE].set_index(["window", "delay"])
    assert b.loc[("crash", pd.Timedelta("30s")), "resolution"] == "bounds"
    assert b.loc[("crash", pd.Timedelta("2min")), "resolution"] == "point"
    assert (
        b.loc[("crash", pd.Timedelta("2min")), "P(liquidation) lo"]
        > b.loc[("calm", pd.Timedelta("2min")), "P(liquidation) lo"]
    )
    for m in ("P(liquidation)", "bad debt", "fund draw"):
        assert (out[f"{m} lo"] <= out[f"{m} hi"] + 1e-15).all()
    d = out[out["rule"] == "dydx_v4_large_cap"]
    assert "clearance_fee" in d["swept"].iloc[0]  # unpublished parameters are swept, not fixed
    assert out.attrs["population"].startswith("200 isolated positions")


def test_delay_grows_with_size_at_a_participation_rate(flat_rule):
    """Delta(N) = Delta_0 + N / (rho V): with rho = 10% of V = 864M USD/day (1,000 USD/s), a
    100 USD order adds 1 s and a 600,000 USD order 600 s = 10 one-minute bars. On a mark that
    falls 1%/minute the large position fills 10 bars after its trigger, the small one at the
    close of its trigger bar (1 min + 1 s rounds up to 2 bars: close of bar trigger + 1)."""
    bars = _bars(100 * 0.99 ** np.arange(40))
    pos = pd.DataFrame(
        {
            "side": ["long", "long"],
            "quantity": [1.0, 6000.0],
            "entry_price": [100.0] * 2,
            "wallet": [10.0, 60_000.0],
        },
        index=["small", "large"],
    )
    res = simulate_liquidations(
        bars,
        pos,
        flat_rule,
        delay="1min",
        insurance_fund=0.0,
        participation=0.1,
        volume=864e6,
    )
    ev = res.events.set_index("position")
    assert res.resolution == "point"
    for name in ("small", "large"):
        n = ev.loc[name, "quantity"] * ev.loc[name, "trigger_mark"]
        assert ev.loc[name, "delay_seconds"] == pytest.approx(60 + n / 1000.0)
    assert ev.loc["small", "fill_bar"] - ev.loc["small", "trigger_bar"] == 1
    k = math.ceil(ev.loc["large", "delay_seconds"] / 60)
    assert ev.loc["large", "fill_bar"] - ev.loc["large", "trigger_bar"] == k - 1
    assert ev.loc["large", "closeout_price"] == pytest.approx(
        bars["close"].iloc[ev.loc["large", "fill_bar"]]
    )
    with pytest.raises(ConfigError, match="needs the traded volume"):
        simulate_liquidations(
            bars, pos, flat_rule, delay="1min", insurance_fund=0.0, participation=0.1
        )


def test_more_bad_input_named_errors(flat_rule):
    from riskmodels.liquidation import ReplayWindow, replay_rules

    pos = pd.DataFrame(
        {"side": ["long"], "quantity": [1.0], "entry_price": [100.0], "wallet": [5.0]}
    )
    bars = _bars([100, 99, 98, 97])
    kw = dict(delay="1min", insurance_fund=0.0)
    with pytest.raises(ConfigError, match=r"impact must be a relative cost in \[0, 1\)"):
        simulate_liquidations(bars, pos, flat_rule, impact=1.5, **kw)
    with pytest.raises(ConfigError, match="finite relative cost"):
        simulate_liquidations(  # checked when an order is priced: the mark must fall
            _bars([100, 95, 90, 85]), pos, flat_rule, impact=lambda n: -n, **kw
        )
    with pytest.raises(DataError, match="tz-aware UTC settlement times"):
        simulate_liquidations(
            bars,
            pos,
            flat_rule,
            funding=pd.Series([0.01], index=[pd.Timestamp("2025-10-10")]),
            **kw,
        )
    with pytest.raises(ConfigError, match="unknown rule parameters"):
        simulate_liquidations(bars, pos, flat_rule, slice_fractoin=0.5, **kw)
    with pytest.raises(PositionError, match="side must be 'long'/'short'"):
        simulate_liquidations(bars, pos.assign(side="up"), flat_rule, **kw)
    with pytest.raises(DataError, match="tz-aware UTC DatetimeIndex"):
        simulate_liquidations(bars.tz_localize(None), pos, flat_rule, **kw)
    w = [ReplayWindow("x", "2025-10-10", "2025-10-10 23:59")]
    with pytest.raises(ConfigError, match=r"fund_share must be in \[0, 1\)"):
        replay_rules(w, [flat_rule], fund_share=2.0, bars={"x|BTCUSDT perp, last price, 1m": bars})
    with pytest.raises(ConfigError, match="needs a unit"):
        replay_rules(w, [flat_rule], delays=(30,), bars={"x|BTCUSDT perp, last price, 1m": bars})


def test_allocate_adl_queue_and_pro_rata():
    """By hand: 15 over capacities 10/10/10 ranked 1, 3, 2 fills the best (10) then the next
    (5); pro rata gives 5 each; more than the capacity takes it all."""
    from riskmodels.liquidation import allocate_adl

    cap = np.array([10.0, 10.0, 10.0])
    assert allocate_adl(15.0, cap, np.array([1.0, 3.0, 2.0])).tolist() == [0.0, 10.0, 5.0]
    assert allocate_adl(15.0, cap, None).tolist() == [5.0, 5.0, 5.0]
    assert allocate_adl(99.0, cap, np.array([1.0, 3.0, 2.0])).tolist() == [10.0, 10.0, 10.0]
    assert allocate_adl(5.0, np.zeros(0), None).size == 0
