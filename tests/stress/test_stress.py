"""Tests of riskmodels.stress: cascades, populations, historical/hypothetical/reverse stress.

Expected numbers come from closed forms worked out in the comments (hand-built accounts), from
the pure-Python per-account twin ``simulate_cascade_loop`` (cross-implementation check), or
from planted features of simulated data. Real-data tests are marked ``mirror``. The venue
pipeline (rules, ADL prices, funds per symbol, impact decay, gap vs gradual) is tested in
``test_stress_cascade_venue.py``.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from riskmodels.exceptions import ConfigError, ModelError
from riskmodels.instruments import Account, Book, LinearPerp
from riskmodels.margin import CrossMargin, TierTable, binance_usdm_tiers
from riskmodels.scenarios import Scenarios
from riskmodels.stress import (
    AccountPopulation,
    CircuitBreaker,
    DepthImpact,
    SquareRootImpact,
    correlation_to_one,
    generate_population,
    historical_stress,
    replay_2025_10_10,
    reverse_stress,
    simulate_cascade,
    simulate_cascade_loop,
    simulate_path,
    single_asset_crash,
    stablecoin_depeg,
    vol_scaled,
    worst_windows,
)

# Deterministic algebra on sums of a few thousand terms of size ~1e6: 1e-9 relative is far
# above float64 rounding (~1e-13) and far below any modelling difference.
RTOL = 1e-9
IMPACT = SquareRootImpact(sigma=0.04, daily_volume=1e9)


@pytest.fixture(scope="module")
def pop() -> AccountPopulation:
    return generate_population(3000, 60_000.0, open_interest=5e7, entry_dispersion=0.05, rng=7)


def _waterfall(res) -> None:
    """Every loss borne by someone, recomputed from the per-account arrays and the path."""
    losses = res.bad_debt.sum()
    borne = res.path["insurance_draw"].sum() + res.adl.sum() + res.path["remaining_bad_debt"].sum()
    assert losses == pytest.approx(borne, rel=RTOL, abs=1e-6)
    assert res.adl.sum() == pytest.approx(res.path["adl"].sum(), rel=RTOL, abs=1e-6)
    res.check_conservation(rtol=RTOL)


# ----------------------------------------------------------------------------- invariants
@pytest.mark.parametrize("mmr", [0.004, binance_usdm_tiers()["BTC"]])
def test_no_shock_no_liquidation(mmr):
    p = generate_population(2000, 60_000.0, mmr=mmr, entry_dispersion=0.1, rng=1)
    res = simulate_cascade(p, 0.0, impact=IMPACT, insurance_fund=1e5)
    assert res.n_liquidated == 0
    assert res.total_bad_debt == 0.0
    assert res.final_prices[0] == 60_000.0
    assert res.insurance_fund_final == 1e5


def test_larger_shock_never_liquidates_less(pop):
    before = np.zeros(pop.n_accounts, dtype=bool)
    for shock in np.linspace(-0.005, -0.3, 25):
        res = simulate_cascade(pop, shock, impact=IMPACT, insurance_fund=1e4, adl="ranking")
        assert (res.liquidated | ~before).all()  # the set only grows
        before = res.liquidated
    assert before.sum() > 0.3 * pop.n_accounts  # the test reaches deep cascades


@pytest.mark.parametrize("adl", ["ranking", "pro_rata", None])
@pytest.mark.parametrize("fund", [0.0, 3e4, 1e9])
@pytest.mark.parametrize("shock", [-0.03, -0.15, 0.08])
def test_conservation(pop, adl, fund, shock):
    res = simulate_cascade(
        pop, shock, impact=IMPACT, insurance_fund=fund, adl=adl, liquidation_fee=0.002
    )
    _waterfall(res)
    assert res.n_liquidated > 0
    if adl is None:
        assert res.total_adl == 0.0
    if fund == 1e9:
        assert res.remaining_bad_debt == 0.0 and res.total_adl == 0.0


@pytest.mark.parametrize("seed", range(6))
def test_circuit_breaker_never_increases_bad_debt(seed):
    # Monotone-impact model (module docstring): one asset, common flat MMR, down shocks, so
    # only longs are liquidated and the flow is one-directional.
    g = np.random.default_rng(seed)
    p = generate_population(1500, 100.0, open_interest=2e7, entry_dispersion=0.03, rng=seed)
    impact = SquareRootImpact(sigma=0.05, daily_volume=float(g.uniform(5e7, 5e8)))
    shock = float(g.uniform(-0.15, -0.01))
    base = simulate_cascade(p, shock, impact=impact, adl=None)
    reduced = False
    for threshold in (0.002, 0.01, 0.05):
        for window in (1, 3):
            for recovery in (0.0, 0.5, 1.0):
                cb = CircuitBreaker(threshold, window=window, recovery=recovery)
                res = simulate_cascade(p, shock, impact=impact, adl=None, circuit_breaker=cb)
                assert res.converged
                assert res.total_bad_debt <= base.total_bad_debt * (1 + RTOL) + 1e-9
                assert (res.liquidated <= base.liquidated).all()
                if recovery == 0.0:  # a pause only delays: the same fixed point
                    assert res.total_bad_debt == pytest.approx(base.total_bad_debt, rel=RTOL)
                    np.testing.assert_array_equal(res.liquidated, base.liquidated)
                reduced |= res.total_bad_debt < base.total_bad_debt * (1 - 1e-6)
                _waterfall(res)
    if base.total_bad_debt > 0:
        assert reduced  # the breaker does something in this model


# ----------------------------------------------------------------------------- closed forms
def _tiny(q, entry, cash, price=100.0, mmr=0.01):
    q = np.asarray(q, dtype=float)
    return AccountPopulation(
        assets=("X",),
        prices=[price],
        quantity=q[:, None],
        collateral=cash,
        entry_price=np.asarray(entry, dtype=float)[:, None],
        mmr=mmr,
    )


def test_waterfall_by_hand():
    # Long 1 @100 with 5 USD collateral; shock to 90: equity 5 - 10 = -5 -> bad debt 5.
    # Fund 2 pays 2; ADL takes 3 from the one profitable short (short 1 @ 100, profit 10 at
    # 90): 30% of it is closed at entry, leaving q = -0.7.
    p = _tiny([1.0, -1.0], [100.0, 100.0], [5.0, 50.0])
    res = simulate_cascade(p, math.log(0.9), insurance_fund=2.0, adl="ranking")
    assert res.liquidated.tolist() == [True, False]
    assert res.total_bad_debt == pytest.approx(5.0, rel=1e-12)
    assert res.insurance_draw == pytest.approx(2.0, rel=1e-12)
    assert res.adl.tolist() == pytest.approx([0.0, 3.0], rel=1e-12)
    assert res.remaining_bad_debt == pytest.approx(0.0, abs=1e-12)
    # without a counterparty the 3 USD stay as socialized loss
    res = simulate_cascade(p, math.log(0.9), insurance_fund=2.0, adl=None)
    assert res.remaining_bad_debt == pytest.approx(3.0, rel=1e-12)


def test_adl_ranking_and_pro_rata_by_hand():
    # Bankrupt long: 1 @ 100, cash 1; at 80 its equity is -19 -> debt 19, no fund.
    # Shorts (profit at 80, equity, score = profit/(|q| e) * |q| P / E):
    #   A: q=-1, e=100, cash 10 -> profit 20, E 30, score 0.2 * 80/30 = 0.5333
    #   B: q=-2, e=100, cash 100 -> profit 40, E 140, score 0.2 * 160/140 = 0.2286
    #   C: q=-1, e=90, cash 5 -> profit 10, E 15, score (10/90) * 80/15 = 0.5926
    # Ranking: C gives 10, A gives 9 (of 20), B nothing. Pro rata: 19/70 of each profit.
    p = _tiny([1.0, -1.0, -2.0, -1.0], [100.0, 100.0, 100.0, 90.0], [1.0, 10.0, 100.0, 5.0])
    ranked = simulate_cascade(p, math.log(0.8), adl="ranking")
    assert ranked.adl.tolist() == pytest.approx([0.0, 9.0, 0.0, 10.0], rel=1e-12)
    pro = simulate_cascade(p, math.log(0.8), adl="pro_rata")
    assert pro.adl.tolist() == pytest.approx([0.0, 20 * 19 / 70, 40 * 19 / 70, 10 * 19 / 70])
    for r in (ranked, pro):
        _waterfall(r)


def test_square_root_impact_closed_form():
    # One long of 10 coins @100 (notional 1000) with 1 USD of collateral is liquidated at the
    # shocked price 95; its sale of 10 coins x 100 (pre-shock price) = 1000 USD moves the price
    # by -Y sigma sqrt(1000 / V) = -0.5 * 0.04 * sqrt(1000 / 1e5) = -0.002.
    p = _tiny([10.0, -1.0], [100.0, 100.0], [1.0, 100.0])
    res = simulate_cascade(
        p, math.log(0.95), impact=SquareRootImpact(0.04, 1e5, coefficient=0.5), adl=None
    )
    assert res.final_prices[0] == pytest.approx(95.0 * (1 - 0.002), rel=1e-12)
    # equity at execution: 1 + 10 * (94.81 - 100) = -50.9
    assert res.total_bad_debt == pytest.approx(50.9, rel=1e-12)


def test_depth_impact_interpolates():
    # 1000 USD of flow on a curve (1%: 500, 2%: 1500) -> 1% + 0.5 * 1% = 1.5%.
    p = _tiny([10.0], [100.0], [1.0])
    res = simulate_cascade(p, math.log(0.95), impact=DepthImpact([0.01, 0.02], [500, 1500]))
    assert res.final_prices[0] == pytest.approx(95.0 * (1 - 0.015), rel=1e-12)


@pytest.mark.parametrize("residual_to", ["trader", "fund"])
@pytest.mark.parametrize("adl_price", ["entry", "bankruptcy", "mark", "socialized"])
@pytest.mark.parametrize("adl", ["ranking", "pro_rata"])
@pytest.mark.parametrize("impact", [None, IMPACT, DepthImpact([0.005, 0.02, 0.1], [1e6, 1e7, 6e7])])
def test_vectorized_equals_per_account_loop(pop, adl, impact, adl_price, residual_to):
    # The twin implements the same pipeline one account at a time: fee and residual margin
    # to the fund, a fund per asset on the two-asset book, ADL at every price.
    other = generate_population(800, 3_000.0, asset="ETH", open_interest=1e7, rng=3, mmr=0.005)
    both = AccountPopulation.concat([pop, other])
    for book, fund in ((pop, 2e4), (both, {"BTC": 2e4, "ETH": 5e3})):
        for shock in (-0.12, 0.06):
            kw = dict(
                impact=impact, insurance_fund=fund, adl=adl, liquidation_fee=0.003,
                adl_price=adl_price, residual_to=residual_to,
            )  # fmt: skip
            fast = simulate_cascade(book, shock, **kw)
            slow = simulate_cascade_loop(book, shock, **kw)
            assert fast.n_liquidated == slow["n_liquidated"] > 0
            for key, val in (
                ("bad_debt", fast.total_bad_debt),
                ("adl", fast.total_adl),
                ("insurance_draw", fast.insurance_draw),
                ("remaining_bad_debt", fast.remaining_bad_debt),
                ("liquidated_notional", fast.total_liquidated_notional),
                ("deleveraged_notional", fast.deleveraged_notional),
                ("fees", fast.total_fees),
                ("residual_to_fund", fast.total_residual_to_fund),
                ("insurance_fund", fast.insurance_fund_final),
            ):
                assert val == pytest.approx(slow[key], rel=RTOL, abs=1e-6), key
            for j, a in enumerate(book.assets):
                assert fast.final_prices[j] == pytest.approx(slow[f"price_{a}"], rel=1e-12)
                assert fast.by_asset.loc[a, "deleveraged_quantity"] == pytest.approx(
                    slow[f"deleveraged_quantity_{a}"], rel=RTOL, abs=1e-12
                )
            fast.check_conservation(rtol=RTOL)


def test_loop_twin_follows_a_rule(pop):
    # The venue file sets the pipeline of both implementations (Binance: 0.3% fee, residual
    # to the fund, ADL at the bankruptcy price, ranked by profit x leverage).
    kw = dict(impact=IMPACT, insurance_fund=1e4, rule="binance_usdm_btcusdt_2021-03-18")
    fast = simulate_cascade(pop, -0.1, **kw)
    slow = simulate_cascade_loop(pop, -0.1, **kw)
    assert fast.total_residual_to_fund > 0 and fast.deleveraged_notional > 0
    assert fast.total_adl == pytest.approx(slow["adl"], rel=RTOL, abs=1e-6)
    assert fast.insurance_fund_final == pytest.approx(slow["insurance_fund"], rel=RTOL, abs=1e-6)
    assert fast.deleveraged_notional == pytest.approx(slow["deleveraged_notional"], rel=RTOL)


def test_path_and_book_inputs():
    prices = pd.DataFrame(
        {"X": [100.0, 100.0, 100.0]}, index=pd.date_range("2025-01-01", periods=3, freq="h")
    )
    p = _tiny([1.0, -1.0], [100.0, 100.0], [5.0, 50.0])
    flat = simulate_path(p, prices)
    assert flat.n_liquidated == 0
    crash = simulate_path(p, prices.assign(X=[100.0, 97.0, 90.0]), insurance_fund=2.0)
    hit = crash.path[crash.path["n_liquidated"] > 0]
    assert hit["step"].tolist() == [prices.index[2]]  # liquidated at 90, not at 97
    assert crash.total_bad_debt == pytest.approx(5.0, rel=1e-12)
    _waterfall(crash)
    # A Book of linear perps converts to the same equity
    accs = [
        Account(collateral={"USDT": 5.0}, positions=[LinearPerp("X", 1.0, 100.0)], prices={"X": 100.0}),
        Account(collateral={"USDT": 50.0}, positions=[LinearPerp("X", -1.0, 100.0)], prices={"X": 100.0}),
    ]  # fmt: skip
    book = Book.from_accounts(accs)
    from_book = AccountPopulation.from_book(book, mmr=0.01)
    np.testing.assert_allclose(from_book.equity(), book.equity, rtol=1e-12)
    res = simulate_cascade(book, math.log(0.9), insurance_fund=2.0, mmr=0.01)
    assert res.total_bad_debt == pytest.approx(5.0, rel=1e-12)


# ----------------------------------------------------------------------------- generator
def test_generator_calibration_and_seed():
    a = generate_population(5000, 2.5, asset="XRP", open_interest=2.47e8, rng=11)
    b = generate_population(5000, 2.5, asset="XRP", open_interest=2.47e8, rng=11)
    np.testing.assert_array_equal(a.quantity, b.quantity)
    # gross notional = 2 x OI by construction (both sides of every contract)
    assert a.notional().sum() == pytest.approx(2 * 2.47e8, rel=1e-12)
    assert (a.equity() > a.maintenance()).all()
    assert a.leverage().max() <= 0.5 / 0.004 * (1 + 1e-12)  # IM >= 2 x MM cap
    tiers = binance_usdm_tiers()["BTC"]
    t = generate_population(3000, 60_000.0, open_interest=2.6e9, mmr=tiers, rng=2)
    assert (t.equity() > t.maintenance()).all()


# ----------------------------------------------------------------------------- errors
def test_errors():
    with pytest.raises(ConfigError, match="the book has no positions"):
        _tiny([0.0, 0.0], [100.0, 100.0], [1.0, 1.0])
    empty = Book.from_accounts([Account(collateral={"USDT": 10.0}, prices={"BTC": 1.0})])
    with pytest.raises(ConfigError, match="the book has no positions"):
        simulate_cascade(empty, -0.1)
    p = _tiny([10.0], [100.0], [1.0])
    with pytest.raises(ModelError, match=r"SquareRootImpact\(coefficient, sigma, daily_volume\)"):
        simulate_cascade(p, -0.1, impact=SquareRootImpact(0.5, 10.0))
    with pytest.raises(ModelError, match=r"DepthImpact\(depth_usd, moves\)"):
        simulate_cascade(p, -0.1, impact=DepthImpact([0.5], [100.0]))
    with pytest.raises(ConfigError, match="adl must be one of"):
        simulate_cascade(p, -0.1, adl="socialize")
    with pytest.raises(ConfigError, match="threshold must be a positive relative move"):
        CircuitBreaker(0.0)
    with pytest.raises(ConfigError, match="recovery must be in"):
        CircuitBreaker(0.1, recovery=2.0)
    with pytest.raises(ConfigError, match="shock names assets"):
        simulate_cascade(p, {"BTC": -0.1})
    with pytest.raises(ConfigError, match="moves and depth_usd must be positive"):
        DepthImpact([0.02, 0.01], [1.0, 2.0])
    with pytest.raises(ConfigError, match="pass an int seed"):
        generate_population(10, 1.0, rng=1.5)
    with pytest.raises(ConfigError, match="every leverage in the mix"):
        generate_population(10, 1.0, leverage=[(300.0, 1.0)], rng=1)


# ----------------------------------------------------------------------------- historical
def test_worst_windows_finds_planted_crashes():
    idx = pd.date_range("2024-01-01", periods=500, freq="h", tz="UTC")
    r = pd.Series(np.random.default_rng(5).normal(0, 1e-4, 500), index=idx)
    r.iloc[100:103] -= 0.05  # -15% over 3 bars
    r.iloc[300:302] -= 0.04  # -8% over 2 bars
    r.iloc[301] -= 0.0  # no-op, keeps the second crash at bars 300-301
    out = worst_windows(r, "3h", k=2)
    assert out["start"].iloc[0] == idx[100] and out["end"].iloc[0] == idx[102]
    assert out["start"].iloc[1] in (idx[299], idx[300])  # 3-bar window around the 2-bar dip
    assert out["return"].iloc[0] == pytest.approx(r.iloc[100:103].sum(), rel=1e-12)
    frame = pd.DataFrame({"A": r, "B": -r})
    port = worst_windows(frame, "3h", k=1, weights=[1.0, 0.5])
    assert port["return"].iloc[0] == pytest.approx(0.5 * r.iloc[100:103].sum(), rel=1e-9)


def test_historical_stress_on_given_prices():
    idx = pd.date_range("2025-10-09 23:00", periods=4, freq="h", tz="UTC")
    px = pd.DataFrame({"X": [100.0, 110.0, 80.0, 90.0]}, index=idx)
    pt = historical_stress(px, "2025-10-10", "1h")
    assert pt.returns[0, 0] == pytest.approx(math.log(80 / 110), rel=1e-12)
    cc = historical_stress(px, "2025-10-10", "1h", measure="close_to_close")
    assert cc.returns[0, 0] == pytest.approx(math.log(90 / 100), rel=1e-12)
    with pytest.raises(ConfigError, match="unknown event"):
        historical_stress(px, "1987-10-19")


# ----------------------------------------------------------------------------- hypothetical
def test_hypothetical_scenarios():
    g = np.random.default_rng(9)
    base = Scenarios(returns=g.normal(0, 0.03, (400, 3)), assets=("A", "B", "C"), horizon="1D")
    one = correlation_to_one(base)
    np.testing.assert_array_equal(np.sort(base.returns, axis=0), one.returns)  # marginals kept
    ranks = pd.DataFrame(one.returns).rank().corr().to_numpy()
    np.testing.assert_allclose(ranks, 1.0, rtol=1e-12)  # comonotone
    big = vol_scaled(base, 2.0)
    np.testing.assert_allclose(big.returns.std(axis=0), 2 * base.returns.std(axis=0), rtol=1e-12)
    np.testing.assert_allclose(big.returns.mean(axis=0), base.returns.mean(axis=0), atol=1e-15)
    crash = single_asset_crash(("A", "B"), "A", -0.5, beta=0.4)
    np.testing.assert_allclose(crash.returns, [[math.log(0.5), 0.4 * math.log(0.5)]], rtol=1e-12)
    # A USDT depeg of -10% costs 10% of USDT collateral through the instruments' hook
    acc = Account(
        collateral={"USDT": 10_000.0},
        positions=[LinearPerp("BTC", 0.1, 60_000.0)],
        prices={"BTC": 60_000.0},
    )
    dep = stablecoin_depeg(["BTC"], "USDT", -0.1)
    assert acc.pnl(dep)[0] == pytest.approx(-1_000.0, rel=1e-12)
    with pytest.raises(ConfigError, match="move must be a simple return > -1"):
        single_asset_crash(("A",), "A", -1.0)
    with pytest.raises(ConfigError, match="needs equally weighted scenarios"):
        correlation_to_one(Scenarios(base.returns, base.assets, "1D", weights=np.ones(400)))


# ----------------------------------------------------------------------------- reverse
def _long_account(q=1.0, cash=6_000.0, price=60_000.0):
    return Account(
        collateral={"USDT": cash}, positions=[LinearPerp("BTC", q, price)], prices={"BTC": price}
    )


def test_reverse_stress_direction_closed_form():
    acc = _long_account()
    # E(t) = 6000 + 60000 (e^-t - 1) = 0  ->  e^-t = 0.9
    res = reverse_stress(acc, {"BTC": -1.0})
    assert res.t == pytest.approx(-math.log(0.9), rel=1e-10)
    # E = MM with a flat 1% MMR: 6000 + 60000 (x - 1) = 600 x  ->  x = 54000 / 59400
    cm = CrossMargin(TierTable.flat(0.01, 50))
    res = reverse_stress(acc, {"BTC": -1.0}, margin=cm)
    assert res.t == pytest.approx(-math.log(54_000 / 59_400), rel=1e-9)
    up = reverse_stress(acc, {"BTC": 1.0})  # a long is never insolvent on a rise
    assert not up.found and math.isinf(up.t)


def test_reverse_stress_most_likely_beats_every_direction():
    acc = Account(
        collateral={"USDT": 20_000.0},
        positions=[LinearPerp("BTC", 1.0, 60_000.0), LinearPerp("ETH", 20.0, 3_000.0)],
        prices={"BTC": 60_000.0, "ETH": 3_000.0},
    )
    cov = pd.DataFrame(
        [[0.03**2, 0.8 * 0.03 * 0.04], [0.8 * 0.03 * 0.04, 0.04**2]],
        index=["BTC", "ETH"],
        columns=["BTC", "ETH"],
    )
    ml = reverse_stress(acc, model=cov)
    assert abs(ml.excess) < 1e-3  # on the insolvency boundary (USD)
    prec = np.linalg.inv(cov.to_numpy())
    # brute force: the Mahalanobis size of the insolvency point along 720 directions
    best = np.inf
    for a in np.linspace(0, 2 * np.pi, 720, endpoint=False):
        d = np.array([np.cos(a), np.sin(a)])
        r = reverse_stress(acc, d)
        if r.found:
            z = r.move.to_numpy()
            best = min(best, float(np.sqrt(z @ prec @ z)))
    # the optimizer's point is no farther than the best of the grid (grid step 0.5 degree:
    # 1e-4 relative slack covers its discretization)
    assert ml.mahalanobis <= best * (1 + 1e-4)
    assert ml.mahalanobis >= best * (1 - 1e-3)
    with pytest.raises(ConfigError, match="give exactly one of direction"):
        reverse_stress(acc)


# ----------------------------------------------------------------------------- real data
@pytest.mark.mirror
@pytest.mark.slow
def test_replay_2025_10_10_and_named_windows(mirror_source):
    sc = historical_stress(event="2025-10-10", source=mirror_source)
    assert {v["freq"] for v in sc.meta["data"].values()} == {"1h"}
    assert len(sc.assets) == 10 and (sc.returns < -0.05).all()
    early = historical_stress(event="2020-03-12", source=mirror_source)
    assert "SOL" in early.meta["skipped"]  # listed 2020-08
    rep = replay_2025_10_10(n_accounts=2000, source=mirror_source)
    pa = rep.per_asset
    assert len(pa) == 10 and (pa["liquidated_notional"] > 0).all()
    # 2025-10-09: the mirror holds COIN-M open interest only; the replay says USDⓈ-M is missing
    assert pa.loc["BTC", "oi_source"].startswith("COIN-M")
    assert "missing: USDⓈ-M" in pa.loc["BTC", "oi_source"] and not pa.loc["BTC", "oi_complete"]
    assert pa.loc["BTC", "oi_coinm"] == pa.loc["BTC", "open_interest"]
    for res in rep.results.values():
        res.check_conservation(rtol=RTOL)
    # alts fell further than BTC on 2025-10-10, and lost more of their OI to liquidations
    share = pa["liquidated_notional"] / (2 * pa["open_interest"])
    assert share.drop("BTC").median() > share["BTC"]
