"""Tests for riskmodels.margin: tiers, isolated/cross/portfolio/risk-matrix margin, add-ons,
liquidation prices, replays and the capital-efficiency table.

Where expected numbers come from:

* Binance's published tables and worked examples: the BTCUSDT tiers of 2021-03-18 with their
  maintenance amounts (VENUES.md §1.2), the FAQ "How to Calculate Liquidation Price of USDⓈ-M
  Futures Contracts" (2020-08-14; its examples "264,000 USDT -> MMR 1%", "500,000 USDT ->
  maintenance amount 1,300", "250,000 * (1% - 0.5%) + 50 = 1,300", and the worked account
  with WB 1,535,443.01, BTCUSDT 109.488 @ 32,481.98 marked 31,967.27 and ETHUSDT 3,683.979 @
  1,456.84 marked 1,335.18: "Maintenance Margin of BTCUSDT = 71200.81144 (3500032.458 *
  2.50% - 16300)", "ETHUSDT = 356,512.508 (4918775.081 * 10.00% - 135365)"), whose liquidation
  prices (isolated ETH 1,114.78 and BTC 18,778.73; cross ETH 1,153.26 and BTC 26,316.89) are
  reproduced in freqtrade's tests/exchange/test_binance.py::test_liquidation_price_binance;
* hand computations from the documented formulas (tiers, Deribit option and risk-matrix rules,
  add-ons, EMIR APC tools), written out in each test;
* independent re-computations: ``riskmodels.risk.es`` on ``Account.pnl``, per-account loops
  against the vectorized book paths, closed form against the brentq solver.
"""

from __future__ import annotations

import dataclasses
import itertools
import math

import numpy as np
import pandas as pd
import pytest

from riskmodels.exceptions import ConfigError, DataError, ModelError
from riskmodels.instruments import (
    Account,
    Book,
    InversePerp,
    LinearFuture,
    LinearPerp,
    MarketState,
    Option,
    Spot,
)
from riskmodels.margin import (
    AntiProcyclicality,
    ConcentrationAddOn,
    CrossMargin,
    IsolatedMargin,
    LiquidityAddOn,
    OptionMarginRule,
    PortfolioMargin,
    RiskMatrixMargin,
    TierTable,
    apc_buffer,
    apc_floor,
    apc_stressed_weight,
    available_tier_tables,
    binance_usdm_tiers,
    capital_efficiency,
    example_books,
    example_models,
    isolated_liquidation_price,
    liquidation_price,
    load_tier_table,
    monitor,
    shortfall,
    tail_weights,
)
from riskmodels.risk import es, var
from riskmodels.scenarios import HistoricalScenarios, Scenarios

T0 = pd.Timestamp("2026-03-02 08:00", tz="UTC")
EXPIRY = T0 + pd.Timedelta(days=30)

#: Deterministic algebra on numbers of order 1e6: equal up to a few ulps.
RTOL = 1e-12
#: Published prices are rounded to the cent: |ours - published| <= 0.005 (plus solver slack).
CENT = 0.005 + 1e-6


@pytest.fixture(scope="module")
def tiers():
    return binance_usdm_tiers()


@pytest.fixture(scope="module")
def market():
    return MarketState(
        prices={"BTC": 60_000.0, "ETH": 3_000.0},
        valuation_time=T0,
        implied_vols={"BTC": 0.55, "ETH": 0.70},
    )


def simulated_scenarios(n=2_000, seed=7, assets=("BTC", "ETH"), vol_shocks=True, weights=None):
    """Student-t(4) daily log returns with correlation 0.6 and proportional vol shocks."""
    rng = np.random.default_rng(seed)
    k = len(assets)
    corr = np.full((k, k), 0.6) + 0.4 * np.eye(k)
    z = rng.standard_normal((n, k)) @ np.linalg.cholesky(corr).T
    t = z / np.sqrt(rng.chisquare(4, size=(n, 1)) / 4) / math.sqrt(2.0)  # unit variance
    r = t * np.linspace(0.04, 0.06, k)
    shocks = np.clip(-3.0 * r, -0.5, 1.0) if vol_shocks else None
    return Scenarios(
        returns=r, assets=tuple(assets), horizon="1D", vol_shocks=shocks, weights=weights
    )


@pytest.fixture(scope="module")
def scen():
    return simulated_scenarios()


def binance_example_account() -> Account:
    m = MarketState(prices={"BTC": 31_967.27, "ETH": 1_335.18})
    return Account(
        collateral={"USDT": 1_535_443.01},
        positions=[LinearPerp("BTC", 109.488, 32_481.98), LinearPerp("ETH", 3_683.979, 1_456.84)],
        prices=m,
    )


def random_accounts(market, n, seed):
    """Accounts mixing every instrument kind, coin and stable collateral."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        pos = [
            LinearPerp("BTC", rng.normal(0, 2), 58_000.0),
            LinearPerp("ETH", rng.normal(0, 30), 3_100.0),
            Spot("ETH", abs(rng.normal(0, 20))),
            InversePerp("BTC", round(rng.normal(0, 500)), 100.0, 61_000.0),
            Option("BTC", "call", 65_000.0, EXPIRY, rng.normal(0, 3)),
            Option("ETH", "put", 2_800.0, EXPIRY, rng.normal(0, 20), settlement="coin"),
        ]
        out.append(
            Account(
                collateral={"USDT": 50_000.0 + 1_000 * i, "BTC": abs(rng.normal(0, 0.5))},
                positions=pos,
                haircuts={"BTC": 0.05},
                prices=market,
                account_id=f"acc{i}",
            )
        )
    return out


# == tier tables ===============================================================================
def test_shipped_tables_state_source_and_date():
    names = available_tier_tables()
    assert {"binance_usdm_btcusdt_2021-03-18", "binance_usdm_ethusdt_2021"} <= set(names)
    for name in names:
        t = load_tier_table(name)
        assert t.source and t.as_of and t.assets


def test_btc_table_maintenance_amount_matches_published_column():
    # VENUES.md §1.2 table (Binance 2021-03-18 tiers, cum column from the 2021-03-26 gist): the
    # recursion cum_n = cum_{n-1} + floor_n (mmr_n - mmr_{n-1}) must give the published column.
    # Loading already checks it (to the cent); here against the numbers themselves.
    t = load_tier_table("binance_usdm_btcusdt_2021-03-18")
    published = [
        0,
        50,
        1_300,
        16_300,
        266_300,
        1_266_300,
        2_516_300,
        5_016_300,
        25_016_300,
        100_016_300,
    ]
    np.testing.assert_allclose(t.maintenance_amount, published, rtol=RTOL)  # float rounding only
    assert t.published_maintenance_amount == tuple(float(x) for x in published)


def test_bybit_btcusdt_tier_one_matches_published_numbers():
    """Bybit BTCUSDT tier 1: risk limit 2,000,000 USDT, 100x, MMR 0.5%, IMR 1%. Source: Bybit's
    API docs example response of GET /derivatives/v3/public/risk-limit/list?symbol=BTCUSDT
    (limit 2000000, maintainMargin 0.005, initialMargin 0.01, maxLeverage 100.00; 2022-07-14),
    bybit-exchange/docs-legacy source/includes/derivativesV3/_market_data.md @ 292e50b4, and the
    /v5/market/risk-limit output in ccxt PR #22459 (2024-05-10). The tier-2 deduction is the
    Bybit Margin Parameters page's 1,200 = 2,000,000 x (0.56% - 0.5%)."""
    t = load_tier_table("bybit_usdt_btcusdt_2024-05-10")
    assert t.upper_bounds[0] == 2_000_000
    assert t.max_leverage[0] == 100
    assert t.mmr[0] == 0.005
    assert t.imr[0] == pytest.approx(0.01, rel=RTOL)  # IM = position value / leverage
    assert t.maintenance_amount[0] == 0
    assert t.published_maintenance_amount[1] == 1_200
    assert t.maintenance_amount[1] == pytest.approx(2_000_000 * (0.0056 - 0.005), rel=1e-9)
    # 1M USDT in tier 1: MM = 1,000,000 x 0.5% = 5,000 USDT.
    assert t.maintenance(1_000_000) == pytest.approx(5_000, rel=RTOL)


def test_binance_faq_examples(tiers):
    btc, eth = tiers["BTC"], tiers["ETH"]
    # FAQ: "if the position of USDT-margined BTC/USDT Contract is 264,000 USDT, then the
    # maintenance margin rate would be 1%"; "500,000 USDT -> maintenance amount 1,300 USDT".
    assert btc.mmr_at(264_000) == 0.01
    assert btc.cum_at(500_000) == pytest.approx(1_300, rel=RTOL)
    # "Maintenance Amount on Level 3 = 250,000 * (1% - 0.5%) + 50 = 1,300".
    assert btc.maintenance_amount[2] == pytest.approx(250_000 * (0.01 - 0.005) + 50, rel=RTOL)
    # Worked example: MM of BTCUSDT = 3500032.458 * 2.50% - 16300 = 71200.81144, of ETHUSDT
    # = 4918775.081 * 10.00% - 135365 = 356,512.508. The notionals are printed to 3 decimals
    # (rounding <= 5e-4, times the MMR) and the results to 5 and 3 decimals: tolerances 2e-5
    # and 6e-4.
    assert btc.maintenance(3_500_032.458) == pytest.approx(71_200.81144, abs=2e-5)
    assert eth.maintenance(4_918_775.081) == pytest.approx(356_512.508, abs=6e-4)


def test_maintenance_is_continuous_and_initial_jumps(tiers):
    t = tiers["BTC"]
    for b in t.upper_bounds[:-1]:
        # MM is piecewise linear and continuous thanks to the maintenance amount (module
        # docstring): equal on both sides of each bound up to float rounding.
        assert t.maintenance(b * (1 + 1e-15)) == pytest.approx(t.maintenance(b), rel=1e-9)
    # IM applies the bracket's rate to the whole notional: it jumps at 50,000 (0.8% -> 1%).
    assert t.initial(50_000) == pytest.approx(400.0, rel=RTOL)
    assert t.initial(50_000.01) == pytest.approx(500.0001, rel=RTOL)
    assert t.maintenance(0.0) == 0.0


def test_alt_table_open_last_bracket_and_computed_cum():
    t = load_tier_table("binance_usdm_alt50x_2021-03-18")
    # Binance 2021-03-18 alt table: 1%, 2.5%, 5%, 10%, 12.5%, 50% at floors 0, 5k, 25k, 100k,
    # 250k, 1M: cum = 0, 75, 700, 5,700, 11,950, 386,950 (hand recursion).
    np.testing.assert_allclose(
        t.maintenance_amount, [0, 75, 700, 5_700, 11_950, 386_950], rtol=RTOL
    )
    assert math.isinf(t.max_notional)
    assert t.maintenance(2_000_000) == pytest.approx(2_000_000 * 0.5 - 386_950, rel=RTOL)


def test_hyperliquid_from_leverage():
    # VENUES.md §1.6: MM = half of IM at max leverage; BTC 40x -> 1.25%, 20x above $150M.
    t = TierTable.from_leverage(
        [150e6, math.inf], [40, 20], mm_factor=0.5, name="hl", source="x", as_of="2025"
    )
    assert t.mmr == (0.0125, 0.025)
    assert t.maintenance_amount[1] == pytest.approx(150e6 * 0.0125, rel=RTOL)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (
            dict(upper_bounds=[100, 50], max_leverage=[20, 10], mmr=[0.01, 0.02]),
            "strictly increasing",
        ),
        (
            dict(upper_bounds=[100, 100], max_leverage=[20, 10], mmr=[0.01, 0.02]),
            "strictly increasing",
        ),
        (
            dict(upper_bounds=[100, 200], max_leverage=[10, 20], mmr=[0.01, 0.02]),
            "must not increase",
        ),
        (
            dict(upper_bounds=[100, 200], max_leverage=[20, 10], mmr=[0.02, 0.01]),
            "must not decrease",
        ),
        (
            dict(upper_bounds=[100, 200], max_leverage=[20, 10], mmr=[0.01, 0.2]),
            r"lie in \[mmr, 1\]",
        ),
        (dict(upper_bounds=[100], max_leverage=[20], mmr=[1.5]), r"mmr must be in \(0, 1\]"),
        (dict(upper_bounds=[100], max_leverage=[0.5], mmr=[0.01]), "finite and >= 1"),
        (dict(upper_bounds=[0, 100], max_leverage=[20, 10], mmr=[0.01, 0.02]), "first upper bound"),
        (dict(upper_bounds=[], max_leverage=[], mmr=[]), "no brackets"),
        (
            dict(upper_bounds=[100, 200], max_leverage=[20], mmr=[0.01, 0.02]),
            "one entry per bracket",
        ),
        (
            dict(
                upper_bounds=[100, 200],
                max_leverage=[20, 10],
                mmr=[0.01, 0.02],
                published_maintenance_amount=[0, 5],
            ),
            "published maintenance amount of bracket 2",
        ),
    ],
)
def test_bad_tier_tables(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        TierTable(name="bad", **kwargs)


def test_tier_config_errors(tmp_path):
    good = 'source = "s"\nas_of = 2021-01-01\n[[bracket]]\nupper = 100\nmax_leverage = 10\nmmr = 0.01\n'
    p = tmp_path / "ok.toml"
    p.write_text(good)
    assert load_tier_table(p).max_notional == 100
    (tmp_path / "nosrc.toml").write_text(good.replace('source = "s"\n', ""))
    with pytest.raises(ConfigError, match="lacks 'source'"):
        load_tier_table(tmp_path / "nosrc.toml")
    (tmp_path / "extra.toml").write_text("colour = 1\n" + good)
    with pytest.raises(ConfigError, match=r"unknown keys \['colour'\]"):
        load_tier_table(tmp_path / "extra.toml")
    (tmp_path / "bad.toml").write_text("source = \n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_tier_table(tmp_path / "bad.toml")
    (tmp_path / "imr.toml").write_text(
        good + "imr = 0.1\n[[bracket]]\nupper = 200\nmax_leverage = 5\nmmr = 0.02\n"
    )
    with pytest.raises(ConfigError, match="'imr' for every bracket or for none"):
        load_tier_table(tmp_path / "imr.toml")
    with pytest.raises(ConfigError, match="no shipped tier table named 'nope'"):
        load_tier_table("nope")


def test_notional_above_last_bracket(tiers):
    with pytest.raises(ModelError, match="exceeds the last bracket"):
        tiers["BTC"].maintenance(6e8)
    # strict=False extends the last bracket: 6e8 * 50% - 100,016,300.
    assert tiers["BTC"].maintenance(6e8, strict=False) == pytest.approx(3e8 - 100_016_300, rel=RTOL)


# == isolated and cross ========================================================================
def test_perp_requirement_by_hand(tiers, market):
    acc = Account(
        collateral={"USDT": 20_000}, positions=[LinearPerp("BTC", 10, 60_000)], prices=market
    )
    # notional 600,000 in bracket (250k, 1M]: IMR 2% -> 12,000; MM 600,000 * 1% - 1,300 = 4,700.
    for model in (IsolatedMargin(tiers), CrossMargin(tiers)):
        r = model.margin(acc)
        assert r.initial == pytest.approx(12_000, rel=RTOL)
        assert r.maintenance == pytest.approx(4_700, rel=RTOL)
        assert r.breakdown["bracket"].iloc[0] == 3
    # user leverage 10x: IM = 10% of notional; MM unchanged (a "tax bracket", Binance FAQ).
    r = CrossMargin(tiers, leverage={"BTC": 10}).margin(acc)
    assert (r.initial, r.maintenance) == pytest.approx((60_000, 4_700), rel=RTOL)
    # Hyperliquid convention: MM = 0.5 x IM rate x notional.
    assert CrossMargin(tiers, mm_factor=0.5).margin(acc).maintenance == pytest.approx(
        6_000, rel=RTOL
    )
    assert "linear_perp BTC" in r._repr_html_()


def test_option_rule_by_hand(market):
    from riskmodels.instruments import black76

    s, tau = 60_000.0, 30 / 365
    rule = OptionMarginRule()
    call = Option("BTC", "call", 60_000, EXPIRY, -2)
    v = black76.price(s, 60_000, tau, 0.55, kind="call")
    # ATM short call: IM = max(0.15 - 0, 0.1) S + V, MM = 0.075 S + V, per option.
    assert rule.requirement(call, market) == pytest.approx(
        (2 * (9_000 + v), 2 * (4_500 + v)), rel=1e-10
    )
    put = Option("BTC", "put", 50_000, EXPIRY, -1)
    vp = black76.price(s, 50_000, tau, 0.55, kind="put")
    # OTM put: 0.15 - 10,000/60,000 < 0.1 -> IM = 0.1 S + V = 6,000 + V; MM = max(4,500, 0.075 V) + V.
    assert rule.requirement(put, market) == pytest.approx((6_000 + vp, 4_500 + vp), rel=1e-10)
    deep = Option("BTC", "put", 200_000, EXPIRY, -1)
    vd = black76.price(s, 200_000, tau, 0.55, kind="put")
    # Deep ITM put: MM = 0.075 V + V > 0.15 S + V, so IM = MM (the outer max of the rule).
    assert rule.requirement(deep, market) == pytest.approx((1.075 * vd, 1.075 * vd), rel=1e-10)
    assert rule.requirement(Option("BTC", "call", 60_000, EXPIRY, 3), market) == (0.0, 0.0)


def test_per_position_errors(tiers, market):
    acc = Account(collateral={}, positions=[LinearPerp("SOL", 1, 100)], prices={"SOL": 100})
    with pytest.raises(ConfigError, match="no tier table for asset 'SOL'"):
        CrossMargin(tiers).margin(acc)
    short = Account(
        collateral={}, positions=[Option("BTC", "put", 50_000, EXPIRY, -1)], prices=market
    )
    with pytest.raises(ConfigError, match="option_rule is None"):
        CrossMargin(tiers, option_rule=None).margin(short)
    with pytest.raises(ConfigError, match="call margin_many"):
        CrossMargin(tiers).margin_book(Book.from_accounts([short]))
    with pytest.raises(ConfigError, match="tiers must be a TierTable"):
        CrossMargin([1, 2])
    with pytest.raises(ConfigError, match="leverage must be >= 1"):
        CrossMargin(tiers, leverage=0.5)
    with pytest.raises(ConfigError, match=r"must be a riskmodels\.instruments\.Account"):
        CrossMargin(tiers).margin("acc")


# == liquidation prices ========================================================================
def test_isolated_liquidation_price_binance_worked_example(tiers):
    eth = LinearPerp("ETH", 3_683.979, 1_456.84)
    btc = LinearPerp("BTC", 109.488, 32_481.98)
    # Published (FAQ example, via freqtrade's test): isolated with WB = 1,535,443.01 each:
    # ETH 1,114.78, BTC 18,778.73.
    for pos, table, expected in ((eth, tiers["ETH"], 1_114.78), (btc, tiers["BTC"], 18_778.73)):
        lp = isolated_liquidation_price(pos, 1_535_443.01, table)
        assert lp.price == pytest.approx(expected, abs=CENT)
        assert lp.direction == "down"
        assert lp.method == "closed_form"
    # The formula with the bracket given directly (MMR 10%, cum 135,365) gives the same.
    lp = isolated_liquidation_price(eth, 1_535_443.01, mmr=0.10, maintenance_amount=135_365)
    assert lp.price == pytest.approx(1_114.78, abs=CENT)


def test_cross_liquidation_price_binance_worked_example(tiers):
    acc = binance_example_account()
    # Published cross-mode liquidation prices of the same account (other contract at its mark):
    # ETH 1,153.26 (freqtrade reproduces Binance's example) and BTC 26,316.89 (freqtrade, with
    # UPNL_1 computed from the marks: Binance's page prints -447,482.100 for it, which does not
    # follow from the printed marks).
    for asset, expected in (("ETH", 1_153.26), ("BTC", 26_316.89)):
        lp = liquidation_price(acc, asset, CrossMargin(tiers))
        assert lp.price == pytest.approx(expected, abs=CENT)
        assert lp.direction == "down" and math.isnan(lp.other)


def test_closed_form_uses_bracket_at_liquidation_price_and_matches_brentq(tiers, market):
    # 20 BTC @ 60,000 = 1.2M (bracket 4, 2.5%, cum 16,300) with WB 307,700: bracket 3 (1%, cum
    # 1,300) gives LP = (307,700 + 1,300 - 1,200,000) / (20 * 0.01 - 20) = 45,000, notional
    # 900,000 in bracket 3: consistent; bracket 4 would give 44,923.08 (notional 898k, not in
    # bracket 4). The FAQ says to use the bracket at the liquidation price.
    pos = LinearPerp("BTC", 20, 60_000)
    lp = isolated_liquidation_price(pos, 307_700, tiers["BTC"])
    assert lp.price == pytest.approx(45_000.0, rel=RTOL)
    assert "bracket 3" in lp.reason
    # Same equation solved numerically on a one-position cross account with the same wallet.
    acc = Account(collateral={"USDT": 307_700}, positions=[pos], prices=market)
    num = liquidation_price(acc, "BTC", CrossMargin(tiers))
    assert num.price == pytest.approx(45_000.0, rel=1e-9)  # brentq xtol 1e-9 of the price
    # Isolated model on the account: wallet = IM (5% x 1.2M = 60,000) unless given.
    iso = liquidation_price(acc, "BTC", IsolatedMargin(tiers), wallet_balance=307_700)
    assert iso.price == pytest.approx(45_000.0, rel=RTOL)
    default = liquidation_price(acc, "BTC", IsolatedMargin(tiers))
    expected = isolated_liquidation_price(pos, 60_000, tiers["BTC"]).price
    assert default.price == pytest.approx(expected, rel=RTOL) and default.current_price == 60_000


def test_short_and_inverse_liquidation(tiers, market):
    short = LinearPerp("ETH", -100, 3_000)
    lp = isolated_liquidation_price(short, 15_000, tiers["ETH"])
    assert lp.direction == "up" and lp.price > 3_000
    acc = Account(collateral={"USDT": 15_000}, positions=[short], prices=market)
    assert liquidation_price(acc, "ETH", CrossMargin(tiers)).price == pytest.approx(
        lp.price, rel=1e-9
    )
    # Inverse: long 100 x 100 USD at 50,000 with a 0.02 BTC wallet, flat MMR 0.5%:
    # coin equity W + F (1/EP - 1/P) must equal coin MM |F| m / P at the liquidation price.
    inv = InversePerp("BTC", 100, 100.0, 50_000.0)
    table = TierTable.flat(0.005, 100)
    p = isolated_liquidation_price(inv, 0.02, table).price
    resid = 0.02 + 10_000 * (1 / 50_000 - 1 / p) - 10_000 * 0.005 / p
    assert resid == pytest.approx(0.0, abs=1e-15)
    assert p == pytest.approx(10_050 / 0.22, rel=RTOL)


def test_no_liquidation_price_and_already_liquidatable(tiers, market):
    pos = LinearPerp("BTC", 1, 60_000)
    lp = isolated_liquidation_price(pos, 70_000, tiers["BTC"])
    assert math.isnan(lp.price) and lp.direction == "none"
    assert "covers the position at every price" in lp.reason
    rich = Account(collateral={"USDT": 70_000}, positions=[pos], prices=market)
    out = liquidation_price(rich, "BTC", CrossMargin(tiers))
    assert math.isnan(out.price) and out.direction == "none"
    assert "no liquidation price" in out.reason
    poor = Account(collateral={"USDT": 100}, positions=[pos], prices=market)
    now = liquidation_price(poor, "BTC", CrossMargin(tiers))
    assert now.direction == "now" and now.price == 60_000
    with pytest.raises(ConfigError, match="is not held by the account"):
        liquidation_price(rich, "ETH", CrossMargin(tiers))
    two = Account(
        collateral={}, positions=[pos, LinearFuture("BTC", 1, 60_000, EXPIRY)], prices=market
    )
    with pytest.raises(ConfigError, match="holds 2 positions in 'BTC'"):
        liquidation_price(two, "BTC", IsolatedMargin(tiers))
    with pytest.raises(ConfigError, match="needs the venue's tiers"):
        isolated_liquidation_price(pos, 1_000)
    with pytest.raises(ConfigError, match="the closed form covers perpetuals and futures"):
        isolated_liquidation_price(Spot("BTC", 1), 1_000, tiers["BTC"])


def test_portfolio_model_liquidation_price(scen, market):
    # Solver with a scenario model: at the root, equity equals the PM maintenance requirement.
    acc = Account(
        collateral={"USDT": 150_000}, positions=[LinearPerp("BTC", 5, 60_000)], prices=market
    )
    pm = PortfolioMargin(scen)
    lp = liquidation_price(acc, "BTC", pm)
    assert lp.direction == "down"
    from riskmodels.margin._common import remark

    at = remark(acc, {"BTC": lp.price})
    assert at.equity - pm.margin(at).maintenance == pytest.approx(0.0, abs=1e-4)


# == portfolio margin ==========================================================================
def test_portfolio_margin_is_es_of_account_pnl(scen, market):
    acc = random_accounts(market, 1, seed=3)[0]
    # the scenario risk alone (no minimum charge, roll or delta shock): the definition
    r = PortfolioMargin(scen, measure="es", alpha=0.99, contingencies=None).margin(acc)
    expected = es(acc.pnl(scen), 0.99)  # riskmodels.risk on Account.pnl, the definition
    assert r.initial == pytest.approx(expected, rel=RTOL)
    assert r.maintenance == pytest.approx(0.8 * expected, rel=RTOL)
    # Euler contributions sum to the measure.
    items = r.breakdown[r.breakdown["component"].isin(["position", "collateral"])]
    assert items["initial"].sum() == pytest.approx(expected, rel=1e-10)
    rv = PortfolioMargin(scen, measure="var", contingencies=None).margin(acc)
    assert rv.initial == pytest.approx(var(acc.pnl(scen), 0.99), rel=RTOL)
    # VaR contributions: each item's P&L in the VaR scenario.
    k = rv.driver["var_scenario"]
    assert rv.breakdown["initial"].sum() == pytest.approx(-acc.pnl(scen)[k], rel=1e-10)
    assert "portfolio" in r._repr_html_() and str(r)


def test_tail_weights_reproduce_es_with_atoms():
    # Losses with ties at the VaR: 1000 scenarios, 0.99 -> tail of 10 with an atom straddling.
    losses = np.concatenate([np.arange(985.0), np.full(10, 990.0), np.arange(1001.0, 1006.0)])
    for probs in (None, np.random.default_rng(1).uniform(0.5, 1.5, losses.size)):
        w, value, idx = tail_weights(losses, 0.99, probs, "es")
        assert w @ losses == pytest.approx(es(-losses, 0.99, probs), rel=1e-12)
        assert value == pytest.approx(es(-losses, 0.99, probs), rel=RTOL)
        assert losses[idx] == var(-losses, 0.99, probs)


def test_hedged_book_zero_portfolio_margin_full_isolated(tiers, scen, market):
    q = 10.0
    basis = Account(
        collateral={"USDT": 10_000},
        positions=[Spot("BTC", q), LinearPerp("BTC", -q, 60_000)],
        prices=market,
    )
    pm = PortfolioMargin(scen, contingencies=None).margin(basis)
    # Price-only scenarios move spot and perp together: the scenario risk is zero up to
    # rounding (1e-16 of the 600,000 notional per scenario)...
    assert abs(pm.initial) <= 1e-9 * 600_000
    # ...so the default contingencies set it: the perpetual's roll shock, 1% of its 600,000
    # notional (riskmodels.margin.floors: Deribit BTC min_annualised_move, VENUES.md §1.1),
    # above the minimum charge of 0.40% of the 1,200,000 gross notional.
    floor = PortfolioMargin(scen).margin(basis)
    assert floor.initial == pytest.approx(0.01 * 600_000, rel=1e-12)
    assert "roll shock" in set(floor.breakdown["component"])
    # Isolated (and cross) margin charge the perpetual leg in full: 600,000 at 2% = 12,000.
    assert IsolatedMargin(tiers).margin(basis).initial == pytest.approx(12_000, rel=RTOL)
    # Risk matrix: the grid nets the legs; the perpetual's roll shock (1% of 600,000) remains.
    rm = RiskMatrixMargin.deribit().margin(basis)
    assert rm.initial == pytest.approx(6_000, rel=RTOL)


def test_es_margin_subadditive(scen, market):
    # ES is coherent (Acerbi & Tasche 2002): margin(account) <= sum of stand-alone margins.
    pm = PortfolioMargin(scen, measure="es", notional_floor=0.01)
    for acc in random_accounts(market, 8, seed=11):
        whole = pm.margin(acc).initial
        parts = [
            pm.margin(Account(collateral={}, positions=[p], prices=market)).initial
            for p in acc.positions
        ]
        parts += [
            pm.margin(Account(collateral={a: q}, positions=[], prices=market)).initial
            for a, q in acc.collateral.items()
        ]
        assert whole <= sum(parts) * (1 + 1e-12)


def test_homogeneous_models_scale(scen, market):
    acc = random_accounts(market, 1, seed=5)[0]
    flat = TierTable.flat(0.01, 50)
    models = [
        PortfolioMargin(scen, measure="es", notional_floor=0.02, buffer=0.25),
        PortfolioMargin(scen, measure="var"),
        RiskMatrixMargin.deribit(
            extended_dampener=0.0,
            delta_shock_threshold=0.0,
            per_asset={"ETH": {"extended_dampener": 0.0}},
        ),
        IsolatedMargin(flat),
        CrossMargin(flat),
    ]
    for model in models:
        base = model.margin(acc)
        for k in (0.5, 3.0):
            r = model.margin(acc.scaled(k))
            assert r.initial == pytest.approx(k * base.initial, rel=1e-10), model.name
            assert r.maintenance == pytest.approx(k * base.maintenance, rel=1e-10), model.name


def test_position_order_does_not_matter(tiers, scen, market):
    acc = random_accounts(market, 1, seed=9)[0]
    rev = Account(
        collateral=dict(reversed(list(acc.collateral.items()))),
        positions=list(reversed(acc.positions)),
        haircuts=acc.haircuts,
        prices=market,
    )
    tiers_all = dict(tiers)
    for model in (CrossMargin(tiers_all), PortfolioMargin(scen), RiskMatrixMargin.deribit()):
        a, b = model.margin(acc), model.margin(rev)
        assert (a.initial, a.maintenance) == (b.initial, b.maintenance)


def test_book_path_matches_account_loop(scen, market):
    accs = random_accounts(market, 7, seed=21)
    stressed = simulated_scenarios(n=300, seed=99)
    floor = simulated_scenarios(n=500, seed=98, weights=np.linspace(1, 2, 500))
    for pm in (
        PortfolioMargin(scen, measure="es", notional_floor=0.05),
        PortfolioMargin(scen, measure="var", buffer=0.25),
        PortfolioMargin(
            scen, stressed_scenarios=stressed, stressed_weight=0.25, floor_scenarios=floor
        ),
        PortfolioMargin(
            simulated_scenarios(n=400, seed=3, weights=np.linspace(1, 3, 400)), alpha=0.975
        ),
    ):
        loop = np.array([pm.margin(a).initial for a in accs])
        many = pm.margin_many(accs)
        np.testing.assert_allclose(many.initial, loop, rtol=1e-10)  # summation order only
        book = Book.from_accounts(accs)
        gross = np.array([a.gross_notional for a in accs])
        chunked = pm.margin_book(book, gross_notional=gross, chunk_size=3)
        np.testing.assert_allclose(chunked.initial, loop, rtol=1e-10)
        np.testing.assert_allclose(chunked.components.sum(axis=1), chunked.initial, rtol=1e-12)
    assert many.frame().shape[0] == 7 and "driver_label" in many.frame()
    by_hand = dataclasses.replace(book, gross_notional=None)  # a Book built without it
    with pytest.raises(ConfigError, match="need gross_notional"):
        PortfolioMargin(scen, notional_floor=0.01).margin_book(by_hand)
    with pytest.raises(ConfigError, match="chunk_size must be a positive integer"):
        PortfolioMargin(scen).margin_book(book, chunk_size=0)


def test_apc_in_portfolio_margin(scen, market):
    acc = random_accounts(market, 1, seed=4)[0]
    base = PortfolioMargin(scen, contingencies=None).margin(acc).initial
    # the scenario risk alone (the APC tools act on it; contingencies are tested apart)
    # (a) buffer: 25% on top.
    assert PortfolioMargin(scen, buffer=0.25, contingencies=None).margin(
        acc
    ).initial == pytest.approx(1.25 * base, rel=RTOL)
    # (b) stressed weight: ES with 75% of the probability on the base set, 25% on the stressed.
    st = simulated_scenarios(n=500, seed=42)
    got = (
        PortfolioMargin(scen, stressed_scenarios=st, stressed_weight=0.25, contingencies=None)
        .margin(acc)
        .initial
    )
    pnl = np.concatenate([acc.pnl(scen), acc.pnl(st)])
    w = np.concatenate(
        [np.full(scen.n_scenarios, 0.75 / scen.n_scenarios), np.full(500, 0.25 / 500)]
    )
    assert got == pytest.approx(es(pnl, 0.99, w), rel=1e-10)
    # (c) floor from other scenarios: max of the two measures.
    calm = Scenarios(returns=0.1 * scen.returns, assets=scen.assets, horizon="1D")
    wild = Scenarios(returns=3 * scen.returns, assets=scen.assets, horizon="1D")
    assert PortfolioMargin(scen, floor_scenarios=calm, contingencies=None).margin(
        acc
    ).initial == pytest.approx(base, rel=RTOL)
    assert PortfolioMargin(scen, floor_scenarios=wild, contingencies=None).margin(
        acc
    ).initial == pytest.approx(es(acc.pnl(wild), 0.99), rel=RTOL)


def test_portfolio_margin_from_generator_and_errors(scen):
    rng = np.random.default_rng(0)
    idx = pd.date_range("2024-01-01", periods=600, freq="D", tz="UTC")
    rets = pd.DataFrame(rng.standard_t(5, size=(600, 2)) * 0.03, index=idx, columns=["BTC", "ETH"])
    gen = HistoricalScenarios(window=500)
    pm = PortfolioMargin.from_generator(gen, rets, idx[-1], "1d", measure="es")
    direct = PortfolioMargin(gen.generate(rets, idx[-1], "1d"))
    acc = Account(collateral={}, positions=[LinearPerp("BTC", 1, 60_000)], prices={"BTC": 60_000})
    assert pm.margin(acc).initial == pytest.approx(direct.margin(acc).initial, rel=RTOL)
    with pytest.raises(ConfigError, match="is a scenario generator"):
        PortfolioMargin(gen)
    with pytest.raises(ConfigError, match="differs from the scenarios' horizon"):
        PortfolioMargin(scen, horizon="2d")
    with pytest.raises(ConfigError, match="measure must be 'es' or 'var'"):
        PortfolioMargin(scen, measure="cvar")
    with pytest.raises(ConfigError, match="go together"):
        PortfolioMargin(scen, stressed_weight=0.25)
    with pytest.raises(ConfigError, match="alpha must be in"):
        PortfolioMargin(scen, alpha=1.5)
    with pytest.raises(ConfigError, match="same horizon"):
        PortfolioMargin(
            scen,
            floor_scenarios=simulated_scenarios(n=200).__class__(
                returns=np.zeros((200, 2)), assets=("BTC", "ETH"), horizon="2D"
            ),
        )
    sol = Account(collateral={}, positions=[LinearPerp("SOL", 1, 100)], prices={"SOL": 100})
    with pytest.raises(DataError, match="not in the scenarios"):
        PortfolioMargin(scen).margin_many([sol])


# == risk matrix ===============================================================================
def test_grid_shape_and_parameters():
    rm = RiskMatrixMargin.deribit()
    sc = rm.grid_scenarios("BTC")
    # 9 price points (4 + 0 + 4) x 3 vol scenarios = 27 (Deribit BTC, VENUES.md §1.1).
    assert sc.n_scenarios == 27
    np.testing.assert_allclose(
        np.unique(np.expm1(sc.returns)), np.linspace(-0.16, 0.16, 9), atol=1e-15
    )
    np.testing.assert_allclose(np.unique(sc.vol_shocks), [-0.25, 0.0, 0.5])
    assert rm.param("ETH", "price_range") == 0.18 and rm.param("ETH", "vol_range_up") == 0.40
    assert rm.extended_scenarios("BTC").n_scenarios == 8


def test_risk_matrix_naked_perp_by_hand(market):
    rm = RiskMatrixMargin.deribit()
    acc = Account(collateral={}, positions=[LinearPerp("BTC", 10, 60_000)], prices=market)
    r = rm.margin(acc)
    # Worst grid loss at -16%: 0.16 x 600,000 = 96,000; extended -66% at the headline
    # fraction 1/3: 132,000 less the dampener (0.66/0.16 - 1) x 100,000 = 312,500 -> 0: no
    # extended add. Roll shock of a perpetual: 600,000 x max(0.075 x 0, 0.01) = 6,000
    # (riskmodels.margin.floors). MM = 0.8 x IM (Deribit mm_factor).
    assert r.initial == pytest.approx(96_000 + 6_000, rel=RTOL)
    assert r.maintenance == pytest.approx(0.8 * 102_000, rel=RTOL)
    assert r.driver["label"] == "BTC -16.0% vol up"
    # the band: even phi = 1 adds nothing at 600,000 (396,000 - 312,500 < 96,000)
    assert r.band["initial φ=1"] == pytest.approx(102_000, rel=RTOL)
    big = Account(collateral={}, positions=[LinearPerp("BTC", 100, 60_000)], prices=market)
    # 6M notional: grid 960,000; extended -66% at phi = 1/3: 1,320,000 - 312,500 = 1,007,500
    # (the add is 47,500); at phi = 1: 3,960,000 - 312,500 = 3,647,500; at 0: the grid. Each
    # plus the roll shock 60,000.
    rb = rm.margin(big)
    assert rb.initial == pytest.approx(1_007_500 + 60_000, rel=RTOL)
    assert rb.band["initial φ=1"] == pytest.approx(3_647_500 + 60_000, rel=RTOL)
    assert rb.band["initial φ=0"] == pytest.approx(960_000 + 60_000, rel=RTOL)
    huge = Account(collateral={}, positions=[LinearPerp("BTC", 500, 60_000)], prices=market)
    no_ext = RiskMatrixMargin(extended_moves=())
    # Delta shock: 0.10 x (30,000,000 - 20,000,000) = 1,000,000 on top of 0.16 x 30M, and the
    # roll shock 0.01 x 30M.
    assert no_ext.margin(huge).initial == pytest.approx(4_800_000 + 1_000_000 + 300_000, rel=RTOL)


def test_risk_matrix_collateral_in_the_risk_unit(market):
    # 10 BTC of collateral hedged by a short 10 BTC perpetual: with the collateral in the unit
    # the grid P&L is zero everywhere and only the perpetual's roll shock remains (1% of
    # 600,000); without it the naked short pays 0.16 x 600,000 as well.
    acc = Account(
        collateral={"BTC": 10.0}, positions=[LinearPerp("BTC", -10, 60_000)], prices=market
    )
    assert RiskMatrixMargin(extended_moves=()).margin(acc).initial == pytest.approx(6_000, rel=RTOL)
    naked = RiskMatrixMargin(extended_moves=(), include_collateral=False).margin(acc)
    assert naked.initial == pytest.approx(96_000 + 6_000, rel=RTOL)
    assert naked.driver["label"] == "BTC +16.0% vol up"


def test_risk_matrix_straddle_grows_with_vol_range(market):
    straddle = Account(
        collateral={"USDT": 100_000},
        positions=[
            Option("BTC", "call", 60_000, EXPIRY, -5),
            Option("BTC", "put", 60_000, EXPIRY, -5),
        ],
        prices=market,
    )
    ims = [
        RiskMatrixMargin(vol_range_up=u, extended_moves=()).margin(straddle).initial
        for u in (0.0, 0.25, 0.5, 1.0)
    ]
    assert all(b > a for a, b in itertools.pairwise(ims))
    by_range = [
        RiskMatrixMargin(price_range=r, extended_moves=()).margin(straddle).initial
        for r in (0.08, 0.16, 0.3)
    ]
    assert all(b > a for a, b in itertools.pairwise(by_range))
    # Flat shocks (vega_power None) on a 30-day option: (30/30)^p = 1, the same numbers.
    flat = RiskMatrixMargin(vega_power=None, extended_moves=()).margin(straddle).initial
    assert flat == pytest.approx(ims[2], rel=1e-9)


def test_risk_matrix_book_matches_accounts(market):
    rm = RiskMatrixMargin.deribit()
    accs = random_accounts(market, 5, seed=31)
    loop = np.array([rm.margin(a).initial for a in accs])
    res = rm.margin_many(accs)
    np.testing.assert_allclose(res.initial, loop, rtol=1e-10)
    np.testing.assert_allclose(res.components.sum(axis=1), res.initial, rtol=1e-12)
    # breakdown rows sum to the total, one account at a time
    for a in accs[:2]:
        r = rm.margin(a)
        assert r.breakdown["initial"].sum() == pytest.approx(r.initial, rel=1e-10)
    with pytest.raises(ConfigError, match="price_range must be in"):
        RiskMatrixMargin(price_range=0.0)
    with pytest.raises(ConfigError, match="unknown keys"):
        RiskMatrixMargin(per_asset={"BTC": {"colour": 1}})
    with pytest.raises(ConfigError, match="extended_moves must be simple returns"):
        RiskMatrixMargin(extended_moves=(-1.5,))


# == add-ons ===================================================================================
def test_liquidity_and_concentration_addons_by_hand(tiers, market):
    q = np.array([[10e6]])
    # Y sigma sqrt(h) (Q / (V h))^beta Q: 0.04 * sqrt(1e7 / 1e9) * 1e7 = 40,000 for h = 1 day;
    # beta = 1/2: the same for h = 4 days; beta = 0.6: 0.04 * 0.01**0.6 * 1e7 = 25,238.29.
    liq = LiquidityAddOn(adv={"BTC": 1e9}, volatility={"BTC": 0.04})
    assert liq.charges(q, ["BTC"])[0, 0] == pytest.approx(40_000, rel=RTOL)
    assert LiquidityAddOn(adv={"BTC": 1e9}, volatility={"BTC": 0.04}, horizon="4d").charges(
        q, ["BTC"]
    )[0, 0] == pytest.approx(40_000, rel=RTOL)
    assert LiquidityAddOn(adv={"BTC": 1e9}, volatility={"BTC": 0.04}, exponent=0.6).charges(
        q, ["BTC"]
    )[0, 0] == pytest.approx(0.04 * 0.01**0.6 * 1e7, rel=RTOL)
    # Concentration: 0.1 x max(10M - 0.1 x 50M x 1 day, 0) = 500,000.
    conc = ConcentrationAddOn(adv={"BTC": 50e6}, threshold=0.1, rate=0.1)
    assert conc.charges(q, ["BTC"])[0, 0] == pytest.approx(500_000, rel=RTOL)
    acc = Account(
        collateral={}, positions=[LinearPerp("BTC", 10e6 / 60_000, 60_000)], prices=market
    )
    base = CrossMargin(tiers).margin(acc)
    withadd = CrossMargin(tiers, addons=(liq, conc)).margin(acc)
    assert withadd.initial == pytest.approx(base.initial + 540_000, rel=RTOL)
    assert withadd.maintenance == pytest.approx(base.maintenance + 540_000, rel=RTOL)
    with pytest.raises(DataError, match=r"adv has no value for \['ETH'\]"):
        liq.charges(np.array([[1.0, 1.0]]), ["BTC", "ETH"])
    with pytest.raises(ConfigError, match="adv must be a non-empty mapping"):
        LiquidityAddOn(adv={}, volatility={"BTC": 0.04})
    with pytest.raises(ConfigError, match="addons must hold add-on objects"):
        CrossMargin(tiers, addons=(1,))


def test_apc_series_tools():
    idx = pd.date_range("2024-01-01", periods=5, freq="D", tz="UTC")
    m = pd.Series([100.0, 120.0, 200.0, 180.0, 90.0], index=idx)
    stress = pd.Series([False, False, True, True, False], index=idx)
    # (a) 25% buffer, released where stress is True.
    np.testing.assert_allclose(apc_buffer(m, 0.25, stress), [125, 150, 200, 180, 112.5])
    # (b) 0.75 m + 0.25 x 300.
    np.testing.assert_allclose(apc_stressed_weight(m, 300.0, 0.25), 0.75 * m + 75)
    # (c) max(m, 110).
    np.testing.assert_allclose(apc_floor(m, 110.0), [110, 120, 200, 180, 110])
    out = AntiProcyclicality(buffer=0.25, stressed_weight=0.25, floor=True).apply(
        m, stress=stress, stressed_margin=300.0, floor_margin=110.0
    )
    expected = np.maximum(0.75 * m + 75, 110) * np.where(stress, 1.0, 1.25)
    np.testing.assert_allclose(out["final"], expected)
    assert list(out.columns) == ["calculated", "stressed_weight", "floor", "buffer", "final"]
    with pytest.raises(ConfigError, match="pass stressed_margin"):
        AntiProcyclicality(stressed_weight=0.25).apply(m)
    with pytest.raises(ConfigError, match="pass floor_margin"):
        AntiProcyclicality(floor=True).apply(m)
    with pytest.raises(DataError, match="does not cover every time"):
        apc_floor(m, m.iloc[:3])
    with pytest.raises(ConfigError, match="must be a pandas Series"):
        apc_buffer([1.0, 2.0])


# == replay ====================================================================================
def test_monitor_cross_first_event_at_liquidation_price(tiers):
    acc = binance_example_account()
    lp = liquidation_price(acc, "ETH", CrossMargin(tiers)).price
    idx = pd.date_range("2021-02-01", periods=60, freq="h", tz="UTC")
    path = pd.DataFrame({"ETH": np.linspace(1_335.18, 1_100.0, 60)}, index=idx)
    res = monitor(acc, path, CrossMargin(tiers))
    first = int(np.argmax(path["ETH"].to_numpy() <= lp))
    assert res.liquidation_time == idx[first]
    assert res.liquidation_prices["ETH"] == path["ETH"].iloc[first]
    # The loop path (forced by a zero add-on) gives the same replay.
    zero = ConcentrationAddOn(adv={"BTC": 1.0, "ETH": 1.0}, threshold=1e12)
    slow = monitor(acc, path, CrossMargin(tiers, addons=(zero,)))
    np.testing.assert_allclose(slow.frame["equity"], res.frame["equity"], rtol=1e-12)
    np.testing.assert_allclose(slow.frame["maintenance"], res.frame["maintenance"], rtol=1e-12)
    assert slow.liquidation_time == res.liquidation_time
    assert res.liquidated and "first liquidation" in res._repr_html_()


def test_monitor_isolated_and_portfolio(tiers, scen, market):
    pos = LinearPerp("BTC", 20, 60_000)
    acc = Account(collateral={"USDT": 100_000}, positions=[pos], prices=market)
    lp = isolated_liquidation_price(pos, 60_000, tiers["BTC"]).price  # wallet = IM = 5% x 1.2M
    idx = pd.date_range("2026-03-02 09:00", periods=40, freq="h", tz="UTC")
    path = pd.DataFrame({"BTC": np.linspace(60_000, 55_000, 40)}, index=idx)
    res = monitor(acc, path, IsolatedMargin(tiers))
    first = int(np.argmax(path["BTC"].to_numpy() <= lp))
    assert res.liquidation_time == idx[first]
    assert res.positions_liquidated == ("linear_perp BTC +20",)
    rich = Account(collateral={"USDT": 1_000_000}, positions=[pos], prices=market)
    calm = monitor(rich, path.iloc[:3], PortfolioMargin(scen))
    assert not calm.liquidated and (calm.frame["margin_ratio"] > 1).all()
    with pytest.raises(ConfigError, match="none of the account's assets"):
        monitor(acc, pd.DataFrame({"SOL": [1.0]}), CrossMargin(tiers))
    with pytest.raises(DataError, match="positive and finite"):
        monitor(acc, pd.DataFrame({"BTC": [1.0, -1.0]}), CrossMargin(tiers))


# == capital efficiency ========================================================================
def test_capital_efficiency_table():
    sc = simulated_scenarios(n=2_000, seed=5, assets=("BTC", "ETH", "MANA", "HBAR"))
    books = example_books()
    table = capital_efficiency(books, sc, example_models(sc))
    assert table.shape[0] == 16 and table.index.names == ["book", "model"]
    basis = table.loc["BTC basis"]
    # Hedged: price-only scenarios give no scenario risk, so portfolio margin is the default
    # roll shock of the perpetual, 1% of 999,960 (riskmodels.margin.floors), and no
    # shortfall; cross charges the perp leg (16.666 BTC x 60,000 = 999,960 in bracket 3: 2%)
    # and leaves no shortfall either.
    assert basis.loc["portfolio ES 99%", "initial"] == pytest.approx(0.01 * 999_960)
    assert basis.loc["cross", "initial"] == pytest.approx(0.02 * 999_960, rel=RTOL)
    assert basis.loc["cross", "shortfall_prob"] == 0.0
    # Isolated: the short perpetual's wallet stands alone: shortfall when 999,960 (e^r - 1)
    # > 19,999.2, i.e. r > log(1.02), counted directly on the scenarios.
    r = sc.returns[:, 0]
    assert basis.loc["isolated", "shortfall_prob"] == pytest.approx(
        np.mean(r > np.log(1.02)), abs=1e-12
    )
    # In sample, ES at 99% leaves at most 1% (plus nothing: continuous P&L, no ties).
    pm_rows = table.xs("portfolio ES 99%", level="model")
    assert (pm_rows["shortfall_prob"] <= 0.01).all()
    iso = IsolatedMargin(binance_usdm_tiers())
    s = shortfall(books["long BTC / short ETH"], iso, sc)
    assert s["initial"] == table.loc[("long BTC / short ETH", "isolated"), "initial"]
    with pytest.raises(ConfigError, match="books must be a non-empty mapping"):
        capital_efficiency({}, sc, example_models(sc))


def test_result_displays(tiers, scen, market):
    # Notebook displays render (HTML tables with the headline numbers).
    accs = random_accounts(market, 2, seed=1)
    book_res = PortfolioMargin(scen).margin_many(accs)
    assert "total initial" in book_res._repr_html_()
    assert np.all(book_res.margin_ratio > 0)
    lp = liquidation_price(binance_example_account(), "ETH", CrossMargin(tiers))
    assert "liquidation price" in lp._repr_html_() and float(lp) == lp.price
    assert "1,266,300" in tiers["BTC"]._repr_html_()
    cross_many = CrossMargin(tiers).margin_many(accs)
    np.testing.assert_allclose(
        cross_many.initial, [CrossMargin(tiers).margin(a).initial for a in accs], rtol=RTOL
    )
