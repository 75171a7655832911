"""Cascades that liquidate the way venues do: rule-based fees, residual margin, ADL prices,
funds per symbol, impact decay between steps, gap versus gradual shocks, binding breakers.

Every expected number is worked out by hand in the comments from tiny populations (one asset
``X`` at 100 USD unless said otherwise, flat MMR 1%, no impact unless said otherwise), or is an
ordering the model guarantees (stated where used). Tolerances: hand-worked sums of a few terms
of size ~100 are exact to float64 rounding, so ``rel=1e-12``; sums over thousands of accounts
use ``RTOL = 1e-9`` (far above rounding, far below any modelling difference).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from riskmodels.exceptions import ConfigError, DataNotFoundError
from riskmodels.liquidation import LiquidationRule
from riskmodels.stress import (
    AccountPopulation,
    CircuitBreaker,
    DepthImpact,
    SquareRootImpact,
    generate_population,
    gradual_prices,
    historical_moves,
    historical_stress,
    open_interest_at,
    shock_paths,
    simulate_cascade,
    simulate_cascade_loop,
    simulate_path,
)

RTOL = 1e-9
EXACT = 1e-12
BINANCE = "binance_usdm_btcusdt_2021-03-18"


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


# ----------------------------------------------------------------------------- ADL prices
def test_adl_at_bankruptcy_price_closes_the_bankrupt_quantity():
    # Long 1 @100 with 5 USD: bankruptcy price BP = 95. Shock to 90: equity -5 -> debt 5.
    # Fund 2 pays 2 (the fund takes the position at BP and sells 0.4 coin at 90: 0.4 x 5 = 2).
    # The uncovered 3/5 = 0.6 coin is not sold: the profitable short (1 @100, cash 50) is
    # closed for 0.6 coin at BP = 95 (Binance ADL FAQ, VENUES.md §1.2), realizing
    # 0.6 x (100 - 95) = 3 -> cash 53, q = -0.4; at 90 it is worth 53 + 0.4 x 10 = 57 = 60 - 3.
    p = _tiny([1.0, -1.0], [100.0, 100.0], [5.0, 50.0])
    res = simulate_cascade(p, math.log(0.9), insurance_fund=2.0, adl_price="bankruptcy")
    assert res.total_bad_debt == pytest.approx(5.0, rel=EXACT)
    assert res.insurance_draw == pytest.approx(2.0, rel=EXACT)
    assert res.adl.tolist() == pytest.approx([0.0, 3.0], rel=EXACT)
    assert res.remaining_bad_debt == pytest.approx(0.0, abs=EXACT)
    b = res.by_asset.loc["X"]
    assert b["liquidated_quantity"] == pytest.approx(1.0, rel=EXACT)
    assert b["deleveraged_quantity"] == pytest.approx(0.6, rel=EXACT)  # = the bankrupt slice
    assert b["adl_closed_quantity"] == pytest.approx(0.6, rel=EXACT)  # = what the winner lost
    assert b["sold_quantity"] == pytest.approx(0.4, rel=EXACT)
    assert res.deleveraged_notional == pytest.approx(0.6 * 95.0, rel=EXACT)
    res.check_conservation(rtol=EXACT)
    # The legacy "entry" price closes 3/10 = 0.3 of the short instead (its whole profit of 10
    # at 90 scaled to the 3 owed): a different quantity for the same 3 USD.
    old = simulate_cascade(p, math.log(0.9), insurance_fund=2.0, adl_price="entry")
    assert old.adl.tolist() == pytest.approx([0.0, 3.0], rel=EXACT)
    assert old.by_asset.loc["X", "adl_closed_quantity"] == pytest.approx(0.3, rel=EXACT)
    assert old.by_asset.loc["X", "deleveraged_quantity"] == 0.0


def test_adl_bankruptcy_ranking_fills_the_quantity_in_order():
    # Bankrupt long 2 @100 with 4 USD, no fund: at 90 debt = 16, BP = 98, all 2 coins uncovered.
    # Shorts (profit at 90; score = return x leverage = 0.1 x 90|q| / E):
    #   A: q=-1, cash 10 -> E 20, score 0.45;  B: q=-3, cash 270 -> E 300, score 0.09.
    # Ranking closes A fully (1 coin) then 1 of B's 3 coins, both at 98: each coin absorbs
    # 98 - 90 = 8 USD, so A takes 8 and B takes 8.
    p = _tiny([2.0, -1.0, -3.0], [100.0] * 3, [4.0, 10.0, 270.0])
    res = simulate_cascade(p, math.log(0.9), adl="ranking", adl_price="bankruptcy")
    assert res.adl.tolist() == pytest.approx([0.0, 8.0, 8.0], rel=EXACT)
    assert res.liquidated.tolist() == [True, False, False]
    assert res.by_asset.loc["X", "adl_closed_quantity"] == pytest.approx(2.0, rel=EXACT)
    # pro rata: each short closes 2/4 of its position: A 0.5 coin (4 USD), B 1.5 (12 USD)
    pro = simulate_cascade(p, math.log(0.9), adl="pro_rata", adl_price="bankruptcy")
    assert pro.adl.tolist() == pytest.approx([0.0, 4.0, 12.0], rel=EXACT)
    for r in (res, pro):
        r.check_conservation(rtol=EXACT)


def test_adl_at_mark_and_socialized():
    # Long 10 @100 with 1 USD, no fund, depth impact 1% per 1000 USD (linear): it is triggered
    # at the shocked mark 95 and sells 10 x 100 = 1000 USD -> executes at 95 x 0.99 = 94.05;
    # equity 1 - 59.5 = -58.5 = debt; BP = 94.05 + 5.85 = 99.9.
    # "mark": the 10 coins are closed on the short at the trigger mark 95 (between 94.05 and
    # BP): the short absorbs 10 x 0.95 = 9.5, the other 49 stay as remaining bad debt.
    # The closed quantity never reached the market, so the flow is taken back: price 95.
    p = _tiny([10.0, -20.0], [100.0, 100.0], [1.0, 1000.0])
    imp = DepthImpact([0.01], [1000.0])
    mark = simulate_cascade(p, math.log(0.95), impact=imp, adl_price="mark")
    assert mark.total_bad_debt == pytest.approx(58.5, rel=EXACT)
    assert mark.adl.tolist() == pytest.approx([0.0, 9.5], rel=EXACT)
    assert mark.remaining_bad_debt == pytest.approx(49.0, rel=EXACT)
    assert mark.final_prices[0] == pytest.approx(95.0, rel=EXACT)
    assert mark.by_asset.loc["X", "deleveraged_quantity"] == pytest.approx(10.0, rel=EXACT)
    # "bankruptcy": closed at BP 99.9, the short absorbs the whole 58.5
    bk = simulate_cascade(p, math.log(0.95), impact=imp, adl_price="bankruptcy")
    assert bk.adl.tolist() == pytest.approx([0.0, 58.5], rel=EXACT)
    # "socialized" (Deribit): no position closed; 58.5 of the short's profit (20 x 5.95 =
    # 119 at 94.05) is taken, its position stays -20 and the sale stays in the market.
    soc = simulate_cascade(p, math.log(0.95), impact=imp, adl_price="socialized")
    assert soc.adl.tolist() == pytest.approx([0.0, 58.5], rel=EXACT)
    assert soc.by_asset.loc["X", "adl_closed_quantity"] == 0.0
    assert soc.final_prices[0] == pytest.approx(94.05, rel=EXACT)
    for r in (mark, bk, soc):
        r.check_conservation(rtol=EXACT)


# ----------------------------------------------------------------------------- fees, residual
def test_fees_and_residual_margin_arrive_in_the_fund():
    # Long 1 @100 with 10.5 USD: at 90 equity 0.5 <= MM 0.9, liquidated, not bankrupt.
    p = _tiny([1.0], [100.0], [10.5])
    shock = math.log(0.9)
    # Binance (rule file: clearance fee 0.3%, residual to the fund): fee 0.3% x 90 = 0.27,
    # residual 0.5 - 0.27 = 0.23; the fund gets the whole 0.5 of equity (VENUES.md §L.1).
    res = simulate_cascade(p, shock, insurance_fund=1.0, rule=BINANCE)
    assert res.total_fees == pytest.approx(0.27, rel=EXACT)
    assert res.total_residual_to_fund == pytest.approx(0.23, rel=EXACT)
    assert res.insurance_fund_final == pytest.approx(1.5, rel=EXACT)
    res.check_conservation(rtol=EXACT)
    assert res.params["liquidation_fee"] == 0.003 and res.params["residual_to"] == "fund"
    # an explicit keyword overrides the rule: the residual stays with the trader
    kept = simulate_cascade(p, shock, insurance_fund=1.0, rule=BINANCE, residual_to="trader")
    assert kept.insurance_fund_final == pytest.approx(1.27, rel=EXACT)
    nofee = simulate_cascade(p, shock, rule=BINANCE, liquidation_fee=0.0)
    assert nofee.total_fees == 0.0 and nofee.total_residual_to_fund == pytest.approx(0.5)
    # Deribit standard: fee 0.75% x 90 = 0.675 > equity 0.5, capped at 0.5 (a fee never makes
    # bad debt); the residual stays with the trader.
    der = simulate_cascade(p, shock, rule="deribit_btc_standard_2022-01-11")
    assert der.total_fees == pytest.approx(0.5, rel=EXACT) and der.total_bad_debt == 0.0
    assert der.params["adl_price"] == "socialized" and der.params["adl"] == "pro_rata"
    # Hyperliquid: no fee, residual to the trader: the fund gets nothing
    hl = simulate_cascade(
        p, shock, insurance_fund=1.0, rule=LiquidationRule.load("hyperliquid_btc")
    )
    assert hl.insurance_fund_final == 1.0 and hl.params["adl_price"] == "mark"
    # Without a rule the legacy defaults stay: no fee, residual to the trader, ADL at entry
    legacy = simulate_cascade(p, shock, insurance_fund=1.0)
    assert legacy.insurance_fund_final == 1.0
    assert (legacy.params["liquidation_fee"], legacy.params["adl_price"]) == (0.0, "entry")


# ----------------------------------------------------------------------------- funds per symbol
def _two_assets():
    # X and Y at 100, MMR 1%:
    #   a0 long 1 X, cash 5 -> at 90 debt 5;   a1 long 1 Y, cash 5 -> at 90 debt 5
    #   a2 short 1 Y, cash 50 (profit 10 at 90); a3 long 1 X, cash 10.5 -> equity 0.5 at 90
    q = np.array([[1.0, 0.0], [0.0, 1.0], [0.0, -1.0], [1.0, 0.0]])
    return AccountPopulation(
        assets=("X", "Y"), prices=[100.0, 100.0], quantity=q,
        collateral=[5.0, 5.0, 50.0, 10.5], mmr=0.01,
    )  # fmt: skip


def test_insurance_fund_per_symbol():
    pop = _two_assets()
    shock = {"X": math.log(0.9), "Y": math.log(0.9)}
    kw = dict(liquidation_fee=0.002, residual_to="fund", adl_price="bankruptcy")
    # Per symbol: X fund 10 + a3's fee 0.18 + residual 0.32 = 10.5, pays a0's 5 -> 5.5.
    # Y fund 2 pays 2 of a1's 5; 3 uncovered -> 0.6 Y of a1 deleveraged on a2 at BP 95.
    res = simulate_cascade(pop, shock, insurance_fund={"X": 10.0, "Y": 2.0}, **kw)
    f = res.funds
    assert f.loc["X", ["fees", "residual", "draw", "final"]].tolist() == pytest.approx(
        [0.18, 0.32, 5.0, 5.5], rel=EXACT
    )
    assert f.loc["Y", ["draw", "final"]].tolist() == pytest.approx([2.0, 0.0], abs=EXACT)
    assert res.adl.tolist() == pytest.approx([0.0, 0.0, 3.0, 0.0], rel=EXACT)
    assert res.by_asset.loc["Y", "deleveraged_quantity"] == pytest.approx(0.6, rel=EXACT)
    assert res.path["insurance_fund_X"].iloc[-1] == pytest.approx(5.5, rel=EXACT)
    res.check_conservation(rtol=EXACT)
    # One pooled fund of the same 12 USD covers both debts (12.5 - 10 = 2.5 left): no ADL.
    pooled = simulate_cascade(pop, shock, insurance_fund=12.0, **kw)
    assert pooled.total_adl == 0.0
    assert pooled.insurance_fund_final == pytest.approx(2.5, rel=EXACT)
    # A shared fund is keyed by a tuple of assets
    shared = simulate_cascade(pop, shock, insurance_fund={("X", "Y"): 12.0}, **kw)
    assert shared.funds.index.tolist() == ["X+Y"]
    assert shared.insurance_fund_final == pytest.approx(2.5, rel=EXACT)
    # the twin agrees on the per-fund ledger
    slow = simulate_cascade_loop(pop, shock, insurance_fund={"X": 10.0, "Y": 2.0}, **kw)
    assert slow["insurance_fund_X"] == pytest.approx(5.5, rel=EXACT)
    assert slow["adl"] == pytest.approx(3.0, rel=EXACT)


# ----------------------------------------------------------------------------- impact decay
@pytest.mark.parametrize(
    ("half_life", "index"),
    [(2, None), ("2h", pd.date_range("2025-01-01", periods=6, freq="h", tz="UTC"))],
)
def test_impact_half_life(half_life, index):
    # Long 10 @100 with 30 USD, depth impact 1% per 1000 USD (linear). The path falls to 95 at
    # step 1 and stays: the long is liquidated at step 1 (sells 1000 USD at the previous
    # price 100 -> -1%, executes at 94.05). With half-life 2 steps (or 2h on hourly bars) the
    # carried flow is 1000 x 2^(-k/2) k steps later: the mark before step 3's liquidations is
    # 95 x (1 - 0.01 / 2) = 94.525 (halved after one half-life), step 5: 95 x (1 - 0.0025).
    px = pd.DataFrame({"X": [100.0, 95.0, 95.0, 95.0, 95.0, 95.0]})
    if index is not None:
        px.index = index
    one = _tiny([10.0], [100.0], [30.0])
    imp = DepthImpact([0.01], [1000.0])

    def marks(h):
        res = simulate_path(one, px, impact=imp, impact_half_life=h, adl=None)
        return res.path.loc[res.path["round"] == -1, "price_X"].to_numpy()

    m = marks(half_life)
    assert m[2] == pytest.approx(95.0 * (1 - 0.005), rel=EXACT)
    assert m[4] == pytest.approx(95.0 * (1 - 0.0025), rel=EXACT)
    assert m[1] == pytest.approx(95.0 * (1 - 0.01 * 2**-0.5), rel=EXACT)
    # permanent impact (no decay) and the default reset at every bar
    assert marks(math.inf)[1:] == pytest.approx([94.05] * 4, rel=EXACT)
    assert marks(None).tolist() == [95.0] * 5


# ----------------------------------------------------------------------------- breakers
def test_circuit_breaker_binds_and_does_not():
    # Two longs of 10 @100 (MMR 1%): A with 6 USD (liquidation price 100.40), B with 30 USD
    # (97.98). Shock -1% to 99; depth impact 2% per 1000 USD (linear); each sale is 1000 USD.
    # No breaker: round 0 liquidates A at 99 x 0.98 = 97.02 (debt 6 - 29.8 = 23.8); the mark
    # 97.02 triggers B, sold at 99 x 0.96 = 95.04 (debt 30 - 49.6 = 19.6): 43.4 in total.
    p = _tiny([10.0, 10.0], [100.0, 100.0], [6.0, 30.0])
    imp = DepthImpact([0.02], [1000.0])
    shock = math.log(0.99)
    base = simulate_cascade(p, shock, impact=imp, adl=None)
    assert base.bad_debt.tolist() == pytest.approx([23.8, 19.6], rel=EXACT)
    # A ±1.5% band over 2-round windows from 100: round 1 marks 97.02 (-2.98%), outside the
    # band -> pause; at the end of the window the impact fully reverts (recovery 1): mark 99,
    # where B (97.98) is safe. One liquidation, bad debt 23.8, final price 99.
    binds = simulate_cascade(
        p, shock, impact=imp, adl=None, circuit_breaker=CircuitBreaker(0.015, window=2)
    )
    assert binds.n_liquidated == 1
    assert binds.bad_debt.tolist() == pytest.approx([23.8, 0.0], rel=EXACT)
    assert binds.final_prices[0] == pytest.approx(99.0, rel=EXACT)
    assert binds.path["paused"].any()
    # A ±5% band: 97.02 and 95.04 stay inside it, the breaker never pauses: same as no breaker
    loose = simulate_cascade(
        p, shock, impact=imp, adl=None, circuit_breaker=CircuitBreaker(0.05, window=2)
    )
    assert not loose.path["paused"].any()
    assert loose.bad_debt.tolist() == pytest.approx([23.8, 19.6], rel=EXACT)
    assert loose.final_prices[0] == pytest.approx(95.04, rel=EXACT)


# ----------------------------------------------------------------------------- gap vs gradual
def test_gradual_prices_shape():
    p = _tiny([1.0], [100.0], [50.0])
    px = gradual_prices(p, math.log(0.9), 4, duration="1h")
    assert px.shape == (5, 1) and px.index[-1] == pd.Timedelta("1h")
    np.testing.assert_allclose(px["X"], 100.0 * 0.9 ** (np.arange(5) / 4), rtol=EXACT)


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize(
    "kw",
    [dict(adl=None), dict(rule=BINANCE, insurance_fund=1e5), dict(rule="hyperliquid_btc")],
    ids=["no-adl", "binance", "hyperliquid"],
)
def test_gap_bad_debt_at_least_gradual(seed, kw):
    # One asset, common flat MMR, a down shock: only longs are liquidated, in descending
    # liquidation price on every path shape; on a gradual path each one executes at a
    # fundamental at least as high as the gap's, after the same earlier flows (permanent
    # impact), so its debt is no larger: gap >= gradual. Checked by the table itself.
    g = np.random.default_rng(seed)
    p = generate_population(1500, 100.0, open_interest=2e7, entry_dispersion=0.03, rng=seed)
    impact = SquareRootImpact(sigma=0.05, daily_volume=float(g.uniform(5e7, 5e8)))
    shock = float(g.uniform(-0.15, -0.03))
    table = shock_paths(p, shock, steps=(1, 10, 100), impact=impact, **kw)
    assert table["path"].tolist() == ["gap", "gradual", "gradual"]
    bd = table.set_index("steps")["bad_debt"]
    assert bd[1] >= bd[10] * (1 - RTOL) and bd[1] >= bd[100] * (1 - RTOL)
    # the gap row is simulate_cascade itself
    gap = simulate_cascade(p, shock, impact=impact, **kw)
    assert bd[1] == pytest.approx(gap.total_bad_debt, rel=RTOL, abs=1e-9)
    assert table.loc[0, "n_liquidated"] == gap.n_liquidated


def test_gap_against_gradual_headline_shape():
    # The measurement, at small scale: a -10% gap leaves most liquidated accounts
    # bankrupt, 100 steps of -0.1% leave none (each account is closed near its trigger).
    p = generate_population(4000, 60_000.0, open_interest=2e8, entry_dispersion=0.05, rng=4)
    t = shock_paths(
        p, math.log(0.9), impact=SquareRootImpact(0.023, 1.7e9 / 12), insurance_fund=2e6,
        rule=BINANCE,
    )  # fmt: skip
    gap, g100 = t.iloc[0], t.iloc[-1]
    assert gap["bankrupt_share"] > 0.9 and gap["bad_debt"] > 0
    assert g100["bankrupt_share"] == 0.0 and g100["bad_debt"] == 0.0
    assert g100["fees"] > gap["fees"]  # solvent liquidations pay their fees


# ----------------------------------------------------------------------------- conservation
@pytest.mark.parametrize("adl_price", ["bankruptcy", "mark", "socialized", "entry"])
@pytest.mark.parametrize("fund", [0.0, {"BTC": 3e4, "ETH": 1e3}])
def test_conservation_with_quantities(adl_price, fund):
    btc = generate_population(2000, 60_000.0, open_interest=5e7, entry_dispersion=0.05, rng=7)
    eth = generate_population(600, 3_000.0, asset="ETH", open_interest=1e7, rng=3, mmr=0.005)
    both = AccountPopulation.concat([btc, eth])
    for shock in (-0.12, 0.07):
        res = simulate_cascade(
            both, shock, impact=SquareRootImpact(0.04, 1e9), insurance_fund=fund,
            adl_price=adl_price, liquidation_fee=0.003, residual_to="fund",
        )  # fmt: skip
        res.check_conservation(rtol=RTOL)
        c = res.conservation()
        assert abs(c["residual"]) <= RTOL * max(res.total_bad_debt, 1.0)
        b = res.by_asset
        np.testing.assert_allclose(
            b["liquidated_quantity"], b["sold_quantity"] + b["deleveraged_quantity"], rtol=RTOL
        )
        if adl_price in ("bankruptcy", "mark"):
            np.testing.assert_allclose(
                b["adl_closed_quantity"], b["deleveraged_quantity"], rtol=RTOL
            )
        f = res.funds
        np.testing.assert_allclose(
            f["final"], f["initial"] + f["fees"] + f["residual"] - f["draw"], rtol=RTOL, atol=1e-6
        )


# ----------------------------------------------------------------------------- errors
def test_named_errors():
    p = _tiny([1.0, -1.0], [100.0, 100.0], [5.0, 50.0])
    with pytest.raises(ConfigError, match="no shipped liquidation rule named 'binance'"):
        simulate_cascade(p, -0.1, rule="binance")
    with pytest.raises(ConfigError, match="rule must be a LiquidationRule"):
        simulate_cascade(p, -0.1, rule=3)
    with pytest.raises(
        ConfigError, match=r"does not publish 'clearance_fee': pass liquidation_fee="
    ):
        simulate_cascade(p, -0.1, rule="dydx_v4_large_cap")
    # with the fee given, dYdX's unpublished ADL price and ranking are still asked for
    with pytest.raises(ConfigError, match="does not publish 'adl_ranking': pass adl="):
        simulate_cascade(p, -0.1, rule="dydx_v4_large_cap", liquidation_fee=0.005)
    res = simulate_cascade(
        p, -0.1, rule="dydx_v4_large_cap", liquidation_fee=0.005, adl="ranking",
        adl_price="bankruptcy",
    )  # fmt: skip
    res.check_conservation()
    with pytest.raises(ConfigError, match=r"adl_price must be one of"):
        simulate_cascade(p, -0.1, adl_price="oracle")
    with pytest.raises(ConfigError, match="residual_to must be 'fund'"):
        simulate_cascade(p, -0.1, residual_to="exchange")
    two = _two_assets()
    with pytest.raises(ConfigError, match=r"insurance_fund has no fund for assets \['Y'\]"):
        simulate_cascade(two, -0.1, insurance_fund={"X": 1.0})
    with pytest.raises(ConfigError, match="insurance_fund names assets"):
        simulate_cascade(two, -0.1, insurance_fund={"X": 1.0, "Y": 1.0, "Z": 1.0})
    with pytest.raises(ConfigError, match="is in two insurance funds"):
        simulate_cascade(two, -0.1, insurance_fund={"X": 1.0, ("X", "Y"): 1.0})
    with pytest.raises(ConfigError, match=r"insurance_fund\['Y'\] must be a USD amount >= 0"):
        simulate_cascade(two, -0.1, insurance_fund={"X": 1.0, "Y": -1.0})
    px = pd.DataFrame({"X": [100.0, 95.0, 90.0]})
    with pytest.raises(ConfigError, match="impact_half_life must be >= 0 steps"):
        simulate_path(p, px, impact_half_life=-3)
    with pytest.raises(ConfigError, match="give step_length="):
        simulate_path(p, px, impact_half_life="5min")
    with pytest.raises(ConfigError, match="impact_half_life must be a duration >= 0"):
        simulate_path(p, px, impact_half_life="-5min")
    ok = simulate_path(p, px, impact_half_life="5min", step_length="1min")
    assert ok.params["impact_half_life"] == "0 days 00:05:00"
    with pytest.raises(ConfigError, match=r"including 1 \(the gap\) and at least one gradual"):
        shock_paths(p, -0.1, steps=(10, 100))
    with pytest.raises(ConfigError, match="including 1"):
        shock_paths(p, -0.1, steps=(1,))
    with pytest.raises(ConfigError, match="steps must be a whole number >= 1"):
        gradual_prices(p, -0.1, 0)
    with pytest.raises(ConfigError, match="contracts must be a non-empty subset"):
        open_interest_at("BTC", "2025-10-09", contracts=("spot",))


# ----------------------------------------------------------------------------- closes vs wicks
def test_wick_measures_on_given_bars():
    # Closes 100 (bar before) 110 80 90; lows 105 70 85; highs 115 95 95.
    idx = pd.date_range("2025-10-09 23:00", periods=4, freq="h", tz="UTC")
    close = pd.DataFrame({"X": [100.0, 110.0, 80.0, 90.0]}, index=idx)
    low = pd.DataFrame({"X": [99.0, 105.0, 70.0, 85.0]}, index=idx)
    high = pd.DataFrame({"X": [101.0, 115.0, 95.0, 95.0]}, index=idx)
    sc = historical_stress(close, "2025-10-10", "1h", measure="wick_low", low=low, high=high)
    assert sc.returns[0, 0] == pytest.approx(math.log(70 / 100), rel=EXACT)  # low vs prev close
    mv = sc.meta["moves"]["X"]
    assert mv["wick_high"] == pytest.approx(math.log(115 / 100), rel=EXACT)
    # deepest low under an earlier high: 70 under 115 (the 110 bar's high)
    assert mv["wick_peak_to_trough"] == pytest.approx(math.log(70 / 115), rel=EXACT)
    assert mv["close_to_close"] == pytest.approx(math.log(90 / 100), rel=EXACT)
    assert mv["peak_to_trough"] == pytest.approx(math.log(80 / 110), rel=EXACT)
    t = historical_moves("2025-10-10", prices=close, low=low, high=high, freq="1h")
    assert t.loc[("2025-10-10", "X"), "wick_low"] == pytest.approx(-0.3, rel=EXACT)
    assert t.loc[("2025-10-10", "X"), "close_to_close"] == pytest.approx(-0.1, rel=EXACT)
    # closes only: the wick columns are NaN (not silently the closes)
    t2 = historical_moves("2025-10-10", prices=close)
    assert np.isnan(t2.loc[("2025-10-10", "X"), "wick_low"])
    with pytest.raises(ConfigError, match="needs the bars' low= and high="):
        historical_stress(close, "2025-10-10", measure="wick_low")


# ----------------------------------------------------------------------------- mirror
@pytest.mark.mirror
def test_open_interest_usdm_plus_coinm(mirror_source):
    from riskmodels.data import load_open_interest

    usdm = load_open_interest("BTC", "1d", source=mirror_source, contract="usdm")
    coinm = load_open_interest("BTC", "1d", source=mirror_source, contract="coinm")
    # 2026-03-12: USDⓈ-M present (gravestone-data, PROVENANCE.md §2.5); the last COIN-M value
    # (2025-10-26, §2.6) is 137 days old: missing under max_age 7D, added with max_age=None.
    t = pd.Timestamp("2026-03-12", tz="UTC")
    oi, meta = open_interest_at("BTC", "2026-03-12", source=mirror_source)
    assert oi == usdm["open_interest_value"].loc[t]
    assert meta["missing"] == ["coinm"] and not meta["complete"]
    assert meta["breakdown"]["coinm"]["status"] == "stale"
    assert "COIN-M" in meta["label"] and "missing" in meta["label"]
    both, meta2 = open_interest_at("BTC", "2026-03-12", source=mirror_source, max_age=None)
    assert both == pytest.approx(oi + coinm["open_interest_value"].iloc[-1], rel=EXACT)
    assert meta2["complete"] and meta2["contract"] == "usdm+coinm"
    # 2025-10-09: COIN-M only (2.57B, PROVENANCE.md §2.6); USDⓈ-M not in the mirror yet
    oi3, meta3 = open_interest_at("BTC", "2025-10-09", source=mirror_source)
    assert oi3 == pytest.approx(2.5657335e9, rel=1e-6)
    assert meta3["missing"] == ["usdm"] and meta3["label"].startswith("COIN-M 2025-10-09")
    with pytest.raises(DataNotFoundError, match="lacks"):
        open_interest_at("BTC", "2025-10-09", source=mirror_source, require_all=True)


@pytest.mark.mirror
@pytest.mark.slow
def test_closes_against_wicks_2025_10_10(mirror_source):
    # The measurement on the hourly USDⓈ-M perp bars: BTC -9.45% peak-to-trough on
    # closes against -17.1% on the wick; the alts -25 to -28% against -64 to -71%. The quoted
    # numbers are rounded to 0.1 pp (0.01 pp for -9.45%), hence the tolerances.
    t = historical_moves("2025-10-10", symbols=["BTC", "ADA", "LINK", "AVAX"], source=mirror_source)
    btc = t.loc[("2025-10-10", "BTC")]
    assert btc["peak_to_trough"] == pytest.approx(-0.0945, abs=5e-5)
    assert btc["wick_peak_to_trough"] == pytest.approx(-0.171, abs=5e-4)
    alts = t.xs("2025-10-10").drop("BTC")
    assert alts["peak_to_trough"].between(-0.28, -0.245).all()
    assert alts["wick_peak_to_trough"].between(-0.71, -0.64).all()
    assert (t["freq"] == "1h").all() and (t["market"] == "perp").all()
