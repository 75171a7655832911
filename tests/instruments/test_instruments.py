"""Tests for riskmodels.instruments: Black-76, positions, accounts and books.

Where each expected number comes from is said at each test: published textbook examples
(Haug 2007, Hull), closed-form identities (put-call parity), numerical integration of the
lognormal payoff (scipy.integrate.quad), central finite differences, hand computations from the
contract definitions (Binance COIN-M, Deribit inverse options), and an independent per-account
loop for the stacked book.
"""

from __future__ import annotations

import math
from dataclasses import FrozenInstanceError
from statistics import NormalDist

import numpy as np
import pandas as pd
import pytest
from scipy import integrate

from riskmodels.exceptions import ConfigError, DataError, ModelError
from riskmodels.instruments import (
    VOL_FLOOR,
    Account,
    Book,
    InverseFuture,
    InversePerp,
    LinearFuture,
    LinearPerp,
    MarketState,
    Option,
    Spot,
    binance_coinm_contract_size,
    black76,
    make_position,
)
from riskmodels.scenarios.base import Scenarios

T0 = pd.Timestamp("2026-01-01 08:00", tz="UTC")
N = NormalDist()


def scen(returns, assets=("BTC", "ETH"), horizon="24h", vol_shocks=None) -> Scenarios:
    return Scenarios(
        returns=np.atleast_2d(np.asarray(returns, dtype=float)),
        assets=tuple(assets),
        horizon=pd.Timedelta(horizon),
        vol_shocks=None if vol_shocks is None else np.atleast_2d(vol_shocks),
    )


@pytest.fixture
def market() -> MarketState:
    return MarketState(
        prices={"BTC": 50_000.0, "ETH": 3_000.0},
        valuation_time=T0,
        implied_vols={"BTC": 0.6, "ETH": 0.75},
    )


def hand_black76(f, k, tau, sigma, r=0.0, call=True):
    """Black-76 written out with math/statistics only (independent of the package)."""
    w = sigma * math.sqrt(tau)
    d1 = (math.log(f / k) + 0.5 * w * w) / w
    d2 = d1 - w
    disc = math.exp(-r * tau)
    if call:
        return disc * (f * N.cdf(d1) - k * N.cdf(d2)), disc * N.cdf(d1)
    return disc * (k * N.cdf(-d2) - f * N.cdf(-d1)), -disc * N.cdf(-d1)


# == Black-76 =================================================================================
def test_black76_published_examples():
    # Haug (2007), The Complete Guide to Option Pricing Formulas, 2nd ed., ch. 1, Black-76: Brent
    # option, F = K = 19, T = 0.75, r = 10%, sigma = 28%: c = p = 1.7011 (4 decimals printed,
    # hence atol 5e-5).
    for kind in ("call", "put"):
        assert black76.price(19.0, 19.0, 0.75, 0.28, rate=0.10, kind=kind) == pytest.approx(
            1.7011, abs=5e-5
        )
    # Hull, Options, Futures, and Other Derivatives, chapter "Futures options": crude-oil
    # futures put, F = K = 20, r = 9%, T = 4 months, sigma = 25%: p = 1.12 (2 decimals).
    assert black76.price(20.0, 20.0, 4 / 12, 0.25, rate=0.09, kind="put") == pytest.approx(
        1.12, abs=5e-3
    )


def _grid(rng, n=400):
    f = rng.uniform(50.0, 150.0, n)
    k = rng.uniform(50.0, 150.0, n)
    tau = rng.uniform(0.01, 3.0, n)
    sigma = rng.uniform(0.05, 1.5, n)
    r = rng.uniform(-0.02, 0.10, n)
    return f, k, tau, sigma, r


def test_put_call_parity(rng):
    # C - P = exp(-rT)(F - K) exactly; floating point leaves a few ulps of F ~ 1e-14 here.
    f, k, tau, sigma, r = _grid(rng)
    c = black76.price(f, k, tau, sigma, rate=r, kind="call")
    p = black76.price(f, k, tau, sigma, rate=r, kind="put")
    np.testing.assert_allclose(c - p, np.exp(-r * tau) * (f - k), rtol=0, atol=1e-12)
    # at BTC scale the same identity holds to 1e-12 relative to the forward
    c = black76.price(f * 600, k * 600, tau, sigma, kind="call")
    p = black76.price(f * 600, k * 600, tau, sigma, kind="put")
    np.testing.assert_allclose(c - p, (f - k) * 600, rtol=0, atol=1e-12 * 600 * 150)


def test_price_matches_independent_formula(rng):
    # statistics.NormalDist (erf-based) vs scipy.special.ndtr: both near machine precision.
    f, k, tau, sigma, r = _grid(rng, 50)
    for call in (True, False):
        got = black76.price(f, k, tau, sigma, rate=r, kind="call" if call else "put")
        want = [hand_black76(*a, call=call)[0] for a in zip(f, k, tau, sigma, r, strict=True)]
        np.testing.assert_allclose(got, want, rtol=1e-11, atol=1e-12)


@pytest.mark.parametrize(
    ("f", "k", "tau", "sigma", "r"),
    [
        (100.0, 100.0, 1.0, 0.2, 0.0),
        (100.0, 80.0, 0.25, 0.6, 0.05),
        (50_000.0, 65_000.0, 30 / 365, 0.8, 0.0),
        (3_000.0, 2_500.0, 2.0, 1.1, 0.03),
    ],
)
def test_price_matches_lognormal_integral(f, k, tau, sigma, r):
    # E[max(eps(F_T - K), 0)] e^{-rT} with F_T = F exp(w z - w^2/2), z ~ N(0,1), integrated by
    # quad from the kink z* = (ln(K/F) + w^2/2)/w. F_T phi(z) = F phi(z - w), which keeps the
    # integrand finite on the infinite range. quad is asked for 1e-13 relative, so the 1e-8
    # tolerance of the brief is all Black-76 error.
    w = sigma * math.sqrt(tau)
    zstar = (math.log(k / f) + 0.5 * w * w) / w
    disc = math.exp(-r * tau)

    def integrand(z):
        return (f * math.exp(-0.5 * (z - w) ** 2) - k * math.exp(-0.5 * z * z)) / math.sqrt(
            2 * math.pi
        )

    kw = {"epsabs": 0, "epsrel": 1e-13, "limit": 200}
    call, _ = integrate.quad(integrand, zstar, np.inf, **kw)
    put, _ = integrate.quad(lambda z: -integrand(z), -np.inf, zstar, **kw)
    assert black76.price(f, k, tau, sigma, rate=r, kind="call") == pytest.approx(
        disc * call, rel=1e-8
    )
    assert black76.price(f, k, tau, sigma, rate=r, kind="put") == pytest.approx(
        disc * put, rel=1e-8
    )


@pytest.mark.parametrize("kind", ["call", "put"])
def test_greeks_match_central_differences(rng, kind):
    f, k, tau, sigma, r = _grid(rng, 200)
    tau = tau + 0.05  # keep T - h away from 0 for the theta difference
    g = black76.greeks(f, k, tau, sigma, rate=r, kind=kind)

    def px(ff=f, tt=tau, ss=sigma, rr=r):
        return black76.price(ff, k, tt, ss, rate=rr, kind=kind)

    np.testing.assert_array_equal(g.price, px())
    # Steps scale with F w (w = sigma sqrt(T)), the width of the lognormal in price units, so
    # the truncation error ~ (h / (F w))^2 is alike for every option in the grid.
    # delta: h = 1e-4 F w, truncation ~1e-8 relative, rounding eps V / h ~ 1e-12.
    fw = f * sigma * np.sqrt(tau)
    h = 1e-4 * fw
    np.testing.assert_allclose(
        g.delta, (px(ff=f + h) - px(ff=f - h)) / (2 * h), rtol=1e-6, atol=1e-9
    )
    # gamma: h = 1e-3 F w, truncation ~1e-7 relative; the second difference of prices that are
    # accurate to a few ulps of F adds up to ~10 eps F / h^2 of rounding: atol 1e-14 F / h^2.
    h = 1e-3 * fw
    fd_gamma = (px(ff=f + h) - 2 * px() + px(ff=f - h)) / h**2
    assert np.all(np.abs(g.gamma - fd_gamma) <= 1e-5 * np.abs(fd_gamma) + 1e-14 * f / h**2)
    # vega (per 1.00 vol): h = 1e-5; theta = -dV/dT: h = 1e-5 years; rho: h = 1e-6.
    hs = 1e-5
    np.testing.assert_allclose(
        g.vega, (px(ss=sigma + hs) - px(ss=sigma - hs)) / (2 * hs), rtol=1e-6, atol=1e-8
    )
    np.testing.assert_allclose(
        g.theta, -(px(tt=tau + hs) - px(tt=tau - hs)) / (2 * hs), rtol=1e-6, atol=1e-7
    )
    hr = 1e-6
    np.testing.assert_allclose(
        g.rho, (px(rr=r + hr) - px(rr=r - hr)) / (2 * hr), rtol=1e-6, atol=1e-8
    )
    # the one-greek functions return the same numbers
    assert np.array_equal(black76.delta(f, k, tau, sigma, rate=r, kind=kind), g.delta)
    assert np.array_equal(black76.gamma(f, k, tau, sigma, rate=r, kind=kind), g.gamma)
    assert np.array_equal(black76.vega(f, k, tau, sigma, rate=r, kind=kind), g.vega)
    assert np.array_equal(black76.theta(f, k, tau, sigma, rate=r, kind=kind), g.theta)
    assert np.array_equal(black76.rho(f, k, tau, sigma, rate=r, kind=kind), g.rho)


def test_limits_give_intrinsic_value():
    f = np.array([80.0, 100.0, 120.0])
    k = 100.0
    r = 0.05
    for kind, eps in (("call", 1.0), ("put", -1.0)):
        intrinsic = np.maximum(eps * (f - k), 0.0)
        # exactly at T = 0 and sigma = 0 the price is the (discounted) intrinsic value
        np.testing.assert_array_equal(black76.price(f, k, 0.0, 0.5, rate=r, kind=kind), intrinsic)
        np.testing.assert_allclose(
            black76.price(f, k, 0.5, 0.0, rate=r, kind=kind),
            math.exp(-r * 0.5) * intrinsic,
            rtol=1e-15,
        )
        # and the formula converges to it: time value of an ATM option ~ F w / sqrt(2 pi),
        # so w = 1e-9 leaves < 1e-7; away from the money it vanishes.
        np.testing.assert_allclose(
            black76.price(f, k, 1e-18, 1.0, kind=kind), intrinsic, rtol=0, atol=1e-7
        )
        np.testing.assert_allclose(
            black76.price(f, k, 1.0, 1e-9, kind=kind), intrinsic, rtol=0, atol=1e-7
        )
    g = black76.greeks(f, k, 0.0, 0.5, kind="call")
    np.testing.assert_array_equal(g.delta, [0.0, 0.5, 1.0])  # documented zero-variance limits
    np.testing.assert_array_equal(g.gamma, [0.0, np.inf, 0.0])
    g = black76.greeks(f, k, 0.5, 0.0, kind="put")
    np.testing.assert_array_equal(g.delta, [-1.0, -0.5, -0.0])
    np.testing.assert_allclose(
        g.vega, [0.0, 100.0 * math.sqrt(0.5) / math.sqrt(2 * math.pi), 0.0], rtol=1e-15
    )


def test_black76_broadcasting_and_types():
    assert isinstance(black76.price(100.0, 100.0, 1.0, 0.2), float)
    out = black76.price(np.array([[90.0], [110.0]]), np.array([95.0, 100.0, 105.0]), 0.5, 0.4)
    assert out.shape == (2, 3)
    kinds = np.array(["call", "put", "call"])
    mixed = black76.price(100.0, np.array([95.0, 100.0, 105.0]), 0.5, 0.4, kind=kinds)
    assert mixed[1] == black76.price(100.0, 100.0, 0.5, 0.4, kind="put")
    assert mixed[2] == black76.price(100.0, 105.0, 0.5, 0.4, kind="call")


@pytest.mark.parametrize(
    ("args", "kwargs", "match"),
    [
        ((100.0, -5.0, 1.0, 0.2), {}, r"strike must be > 0 \(got -5.0\)"),
        ((0.0, 100.0, 1.0, 0.2), {}, r"forward must be > 0 \(got 0.0\)"),
        ((100.0, 100.0, -1.0, 0.2), {}, r"tau must be >= 0 years \(got -1.0\)"),
        ((100.0, 100.0, 1.0, -0.2), {}, r"sigma must be >= 0 \(got -0.2\)"),
        ((100.0, 100.0, 1.0, np.nan), {}, r"sigma must be finite"),
        ((100.0, 100.0, 1.0, 0.2), {"kind": "straddle"}, r"kind must be 'call' or 'put'"),
        ((np.ones(2), np.ones(3), 1.0, 0.2), {}, r"must broadcast together"),
    ],
)
def test_black76_errors(args, kwargs, match):
    with pytest.raises(ConfigError, match=match):
        black76.price(*args, **kwargs)


# == market state =============================================================================
def test_market_state_lookups_and_defaults():
    expiry = T0 + pd.Timedelta(days=73)
    m = MarketState(
        prices={"BTC": 50_000.0},
        valuation_time="2026-01-01 08:00",
        forwards={("BTC", "2026-06-26 08:00"): 52_000.0},
        implied_vols={"BTC": 0.5, ("BTC", expiry): 0.6, ("BTC", expiry, 55_000): 0.7},
        rate=0.05,
    )
    assert m.valuation_time == T0  # naive timestamps are UTC
    assert m.price("USDT") == 1.0  # stablecoin default
    assert m.forward("BTC", "2026-06-26 08:00") == 52_000.0
    # default forward P exp(r tau), tau = 73/365 = 0.2 years (ACT/365)
    assert m.forward("BTC", expiry) == pytest.approx(50_000.0 * math.exp(0.05 * 0.2), rel=1e-15)
    assert m.implied_vol("BTC", expiry, 55_000.0) == 0.7  # series beats expiry beats asset
    assert m.implied_vol("BTC", expiry, 60_000.0) == 0.6
    assert m.implied_vol("BTC", T0 + pd.Timedelta(days=7), 60_000.0) == 0.5
    with pytest.raises(DataError, match=r"no price for asset 'SOL'"):
        m.price("SOL")
    with pytest.raises(DataError, match=r"no implied vol for ETH"):
        MarketState(prices={"ETH": 3000.0}).implied_vol("ETH", expiry, 3000.0)
    with pytest.raises(
        DataError, match=r"prices\['BTC'\].*must be positive and finite \(got -1.0\)"
    ):
        MarketState(prices={"BTC": -1.0})
    with pytest.raises(DataError, match=r"implied_vols\['BTC'\].*got 0.0"):
        MarketState(prices={"BTC": 1.0}, implied_vols={"BTC": 0.0})
    with pytest.raises(ConfigError, match=r"valuation_time must be a timestamp"):
        MarketState(prices={"BTC": 1.0}, valuation_time="not a date")
    with pytest.raises(ConfigError, match=r"vol_floor must be a small positive number"):
        MarketState(prices={"BTC": 1.0}, vol_floor=0.0)
    with pytest.raises(ConfigError, match=r"forwards keys must be \(asset, expiry\)"):
        MarketState(prices={"BTC": 1.0}, forwards={"BTC": 1.0})
    with pytest.raises(FrozenInstanceError):
        m.rate = 0.0  # type: ignore[misc]


# == linear and inverse positions =============================================================
def test_spot_and_linear_perp_pnl(market):
    sc = scen([[math.log(1.1), math.log(0.95)], [math.log(0.8), 0.0]])
    # hand: 0.5 BTC * 50,000 * (+10%, -20%)
    np.testing.assert_allclose(Spot("BTC", 0.5).pnl(market, sc), [2_500.0, -5_000.0], rtol=1e-12)
    perp = LinearPerp("ETH", -2.0, 2_900.0)
    assert perp.value_usd(market) == pytest.approx(-200.0)  # -2 * (3,000 - 2,900)
    np.testing.assert_allclose(perp.pnl(market, sc), [300.0, 0.0], atol=1e-9)  # -2*3000*(-5%)
    assert perp.delta_usd(market) == perp.notional_usd(market) == -6_000.0
    short = Spot("BTC", -1.0, allow_short=True)
    np.testing.assert_allclose(short.pnl(market, sc), [-5_000.0, 10_000.0], rtol=1e-12)


def test_linear_future_marks_at_forward(market):
    expiry = T0 + pd.Timedelta(days=90)
    m = MarketState(
        prices=dict(market.prices), valuation_time=T0, forwards={("BTC", expiry): 51_000.0}
    )
    fut = LinearFuture("BTC", 2.0, 50_500.0, expiry)
    assert fut.value_usd(m) == pytest.approx(1_000.0)  # 2 * (51,000 - 50,500)
    assert fut.delta_usd(m) == 102_000.0
    sc = scen([[math.log(1.1), 0.0]])
    np.testing.assert_allclose(fut.pnl(m, sc), [10_200.0], rtol=1e-12)  # 2 * 51,000 * 10%


def test_inverse_perp_hand_example(market):
    # Binance COIN-M BTCUSD: 100 USD per contract. Long 100 contracts (10,000 USD face) at
    # 50,000. Hand: to 55,000 the coin P&L is 10,000 (1/50,000 - 1/55,000) = 0.0181818... BTC,
    # worth 1,000 USD at 55,000; to 40,000 it is 10,000 (1/50,000 - 1/40,000) = -0.05 BTC,
    # worth -2,000 USD at 40,000.
    assert binance_coinm_contract_size("BTC") == 100.0
    assert binance_coinm_contract_size("ETH") == 10.0
    long = InversePerp("BTC", 100, binance_coinm_contract_size("BTC"), 50_000.0)
    sc = scen([[math.log(55_000 / 50_000), 0.0], [math.log(40_000 / 50_000), 0.0]])
    np.testing.assert_allclose(long.pnl_coin(market, sc), [1 / 55, -0.05], rtol=1e-12)
    np.testing.assert_allclose(long.pnl(market, sc), [1_000.0, -2_000.0], rtol=1e-12)
    short = InversePerp("BTC", -100, 100.0, 50_000.0)
    np.testing.assert_allclose(short.pnl_coin(market, sc), [-1 / 55, 0.05], rtol=1e-12)
    np.testing.assert_allclose(short.pnl(market, sc), [-1_000.0, 2_000.0], rtol=1e-12)
    assert long.settlement_currency == "BTC"
    assert long.notional_usd(market) == 10_000.0

    # Entry 40,000 with the price at 50,000: uPnL = 10,000 (1/40,000 - 1/50,000) = 0.05 BTC =
    # 2,500 USD. At 55,000: 10,000 (1/40,000 - 1/55,000) BTC * 55,000 = 3,750 USD, so the USD
    # P&L is 1,250 = dollar delta 10,000 * 50,000/40,000 = 12,500 times +10%.
    old = InversePerp("BTC", 100, 100.0, 40_000.0)
    assert old.value_coin(market) == pytest.approx(0.05, rel=1e-12)
    assert old.value_usd(market) == pytest.approx(2_500.0, rel=1e-12)
    assert old.delta_usd(market) == pytest.approx(12_500.0, rel=1e-15)
    np.testing.assert_allclose(old.pnl(market, scen([[math.log(1.1), 0]])), [1_250.0], rtol=1e-12)
    np.testing.assert_allclose(
        old.scenario_values_coin(market, scen([[math.log(1.1), 0]])),
        [10_000 * (1 / 40_000 - 1 / 55_000)],
        rtol=1e-12,
    )


def test_inverse_future_with_basis():
    # Forward 51,000 with the index at 50,000: uPnL = 10,000 (1/50,000 - 1/51,000) BTC, worth
    # that * 50,000 USD. +10%: forward 56,100, index 55,000; USD P&L = 10,000 * 10% = 1,000.
    expiry = T0 + pd.Timedelta(days=60)
    m = MarketState(
        prices={"BTC": 50_000.0}, valuation_time=T0, forwards={("BTC", expiry): 51_000.0}
    )
    fut = InverseFuture("BTC", 100, 100.0, 50_000.0, expiry)
    assert fut.value_coin(m) == pytest.approx(10_000 * (1 / 50_000 - 1 / 51_000), rel=1e-12)
    assert fut.value_usd(m) == pytest.approx(10_000 * (1 / 50_000 - 1 / 51_000) * 50_000, rel=1e-12)
    sc = scen([[math.log(1.1)]], assets=("BTC",))
    np.testing.assert_allclose(
        fut.pnl_coin(m, sc), [10_000 * (1 / 51_000 - 1 / 56_100)], rtol=1e-11
    )
    np.testing.assert_allclose(fut.pnl(m, sc), [1_000.0], rtol=1e-11)
    late = MarketState(prices={"BTC": 50_000.0}, valuation_time=expiry)
    with pytest.raises(ModelError, match="expired"):
        fut.value_usd(late)


# == options ==================================================================================
def test_usd_option_value_and_full_revaluation(market):
    expiry = T0 + pd.Timedelta(days=30)
    opt = Option("BTC", "call", 55_000.0, expiry, 2.0)
    tau = 30 / 365
    assert opt.value_usd(market) == pytest.approx(
        2 * hand_black76(50_000.0, 55_000.0, tau, 0.6)[0], rel=1e-12
    )
    r = np.array([[0.05, 0.0], [-0.1, 0.0], [0.0, 0.0]])
    v = np.array([[0.2, 0.0], [-0.3, 0.0], [0.0, 0.0]])
    sc = scen(r, horizon="48h", vol_shocks=v)
    h = 2 / 365
    want = [
        2 * hand_black76(50_000 * math.exp(r[i, 0]), 55_000.0, tau - h, 0.6 * (1 + v[i, 0]))[0]
        for i in range(3)
    ]
    np.testing.assert_allclose(opt.scenario_values_usd(market, sc), want, rtol=1e-11)
    # no move and no shock: the P&L is the time decay over the horizon (negative for a long)
    decay = opt.pnl(market, sc)[2]
    assert decay == pytest.approx(want[2] - opt.value_usd(market), rel=1e-12)
    assert decay < 0


def test_vol_floor_rule(market):
    # sigma_s = max(sigma (1 + v), VOL_FLOOR): a -150% shock prices at the floor
    expiry = T0 + pd.Timedelta(days=30)
    opt = Option("BTC", "put", 50_000.0, expiry, 1.0)
    sc = scen([[0.0, 0.0]], vol_shocks=[[-1.5, 0.0]])
    want = black76.price(50_000.0, 50_000.0, 30 / 365 - 1 / 365, VOL_FLOOR, kind="put")
    np.testing.assert_allclose(opt.scenario_values_usd(market, sc), [want], rtol=1e-12)
    assert VOL_FLOOR == 1e-4


def test_coin_option_hand_computation(market):
    # Deribit-style inverse call, K = 55,000, 30 days, sigma 60%, F = P = 50,000, r = 0:
    # coin value = Black76_USD / F, written out by hand with statistics.NormalDist.
    expiry = T0 + pd.Timedelta(days=30)
    tau = 30 / 365
    c_usd, n_d1 = hand_black76(50_000.0, 55_000.0, tau, 0.6)
    opt = Option("BTC", "call", 55_000.0, expiry, 3.0, settlement="coin")
    assert opt.value_coin(market) == pytest.approx(3 * c_usd / 50_000.0, rel=1e-12)
    assert opt.value_usd(market) == pytest.approx(3 * c_usd, rel=1e-12)  # zero basis
    g = opt.greeks(market)
    # the inverse-option identity: coin delta = N(d1) - C/F (r = 0)
    assert g.delta_coin == pytest.approx(3 * (n_d1 - c_usd / 50_000.0), rel=1e-12)
    assert g.value_coin == pytest.approx(opt.value_coin(market), rel=1e-15)

    # scenario: +8% with +25% vol over 1 day, in coin: C'/F' - C/F, by hand
    sc = scen([[math.log(1.08), 0.0]], horizon="24h", vol_shocks=[[0.25, 0.0]])
    f1 = 50_000.0 * 1.08
    c1 = hand_black76(f1, 55_000.0, tau - 1 / 365, 0.75)[0]
    np.testing.assert_allclose(
        opt.pnl_coin(market, sc), [3 * (c1 / f1 - c_usd / 50_000.0)], rtol=1e-11
    )
    np.testing.assert_allclose(opt.pnl(market, sc), [3 * (c1 - c_usd)], rtol=1e-11)


def test_coin_option_put_call_parity_and_greeks_by_differences():
    # Inverse parity: C/F - P/F = exp(-rT)(1 - K/F). Greeks of the coin value by central
    # differences: delta_coin = dV_c/dlnF (h = 1e-5 in ln F), vega_coin (h = 1e-6),
    # theta_coin = -dV_c/dT (h = 1e-6 years); truncation ~h^2, rounding ~1e-16/h: rtol 1e-6.
    expiry = T0 + pd.Timedelta(days=45)
    tau = 45 / 365
    fwd = 52_000.0
    for rate in (0.0, 0.04):
        m = MarketState(
            prices={"BTC": 50_000.0},
            valuation_time=T0,
            forwards={("BTC", expiry): fwd},
            implied_vols={"BTC": 0.7},
            rate=rate,
        )
        for k in (40_000.0, 52_000.0, 60_000.0):
            call = Option("BTC", "call", k, expiry, 1.0, "coin")
            put = Option("BTC", "put", k, expiry, 1.0, "coin")
            assert call.value_coin(m) - put.value_coin(m) == pytest.approx(
                math.exp(-rate * tau) * (1 - k / fwd), abs=1e-12
            )
            g = call.greeks(m)

            def vc(f, s=0.7, t=tau, k=k, rate=rate):
                return black76.price(f, k, t, s, rate=rate) / f

            h = 1e-5
            fd = (vc(fwd * math.exp(h)) - vc(fwd * math.exp(-h))) / (2 * h)
            assert g.delta_coin == pytest.approx(fd, rel=1e-6)
            assert g.delta_coin == pytest.approx(g.delta - g.value_coin, rel=1e-12)
            hs = 1e-6
            assert g.vega_coin == pytest.approx(
                (vc(fwd, s=0.7 + hs) - vc(fwd, s=0.7 - hs)) / (2 * hs), rel=1e-6
            )
            assert g.theta_coin == pytest.approx(
                -(vc(fwd, t=tau + hs) - vc(fwd, t=tau - hs)) / (2 * hs), rel=1e-6
            )
            # USD value = V_c * P with F proportional to P: dollar delta = P * Delta(F)
            assert g.delta_usd == pytest.approx(50_000.0 * g.delta, rel=1e-15)
            assert g.value_usd == pytest.approx(g.value_coin * 50_000.0, rel=1e-15)


def test_option_dollar_delta_matches_revaluation(market):
    # delta_usd = d value_usd / d ln P: central difference of pnl over a zero horizon, h = 1e-5
    expiry = T0 + pd.Timedelta(days=20)
    h = 1e-5
    sc = scen([[h, 0.0], [-h, 0.0]], horizon="0s")
    for settlement in ("usd", "coin"):
        for kind in ("call", "put"):
            opt = Option("BTC", kind, 52_000.0, expiry, -1.5, settlement)
            up, down = opt.pnl(market, sc)
            assert opt.delta_usd(market) == pytest.approx((up - down) / (2 * h), rel=1e-6)


def test_deribit_settlement_examples():
    # Deribit "Options documentation": a 300 call settled at 400 pays 100 USD = 0.25 BTC; a 300
    # put settled at 200 pays 100 USD = 0.5 BTC. Options expiring within the horizon settle at
    # intrinsic value at the scenario price.
    expiry = T0 + pd.Timedelta(days=1)
    m = MarketState(prices={"BTC": 350.0}, valuation_time=T0, implied_vols={"BTC": 0.8})
    sc = scen([[math.log(400 / 350)], [math.log(200 / 350)]], assets=("BTC",), horizon="24h")
    call = Option("BTC", "call", 300.0, expiry, 1.0, settlement="coin")
    put = Option("BTC", "put", 300.0, expiry, 1.0, settlement="coin")
    np.testing.assert_allclose(call.scenario_values_coin(m, sc), [0.25, 0.0], atol=1e-15)
    np.testing.assert_allclose(put.scenario_values_coin(m, sc), [0.0, 0.5], atol=1e-15)
    np.testing.assert_allclose(call.scenario_values_usd(m, sc), [100.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(put.scenario_values_usd(m, sc), [0.0, 100.0], atol=1e-12)


def test_expired_option_and_missing_inputs(market):
    at = Option("BTC", "call", 50_000.0, T0, 1.0)
    before = Option("BTC", "call", 50_000.0, T0 - pd.Timedelta(hours=1), 1.0)
    for opt in (at, before):
        with pytest.raises(ModelError, match=r"has expired: expiry .* at or before the valuation"):
            opt.value_usd(market)
    live = Option("ETH", "put", 3_000.0, T0 + pd.Timedelta(days=7), 1.0)
    with pytest.raises(DataError, match=r"needs MarketState.valuation_time"):
        live.value_usd(MarketState(prices={"ETH": 3_000.0}, implied_vols={"ETH": 0.5}))
    with pytest.raises(DataError, match=r"no implied vol for ETH"):
        live.value_usd(MarketState(prices={"ETH": 3_000.0}, valuation_time=T0))
    with pytest.raises(DataError, match=r"no price for asset 'ETH'"):
        live.value_usd(
            MarketState(prices={"BTC": 1.0}, valuation_time=T0, implied_vols={"ETH": 1.0})
        )
    with pytest.raises(ConfigError, match=r"settles in USD: coin values"):
        live.pnl_coin(market, scen([[0.0, 0.0]]))


def test_unknown_scenario_asset_is_named(market):
    m = MarketState(prices={**market.prices, "SOL": 150.0})
    sc = scen([[0.0, 0.0]])
    with pytest.raises(DataError, match=r"needs asset 'SOL', which is not in the scenarios"):
        LinearPerp("SOL", 1.0, 140.0).pnl(m, sc)


@pytest.mark.parametrize(
    ("build", "match"),
    [
        (
            lambda: Spot("BTC", -1.0),
            r"Spot.quantity must be >= 0 \(got -1.0 BTC\); pass allow_short=True",
        ),
        (lambda: Spot("", 1.0), r"Spot.asset must be a non-empty asset name"),
        (lambda: Spot("BTC", float("nan")), r"Spot.quantity must be finite \(got nan\)"),
        (lambda: LinearPerp("BTC", 1.0, 0.0), r"LinearPerp.entry_price must be > 0 \(got 0.0\)"),
        (
            lambda: InversePerp("BTC", 1, 0.0, 50_000),
            r"InversePerp.contract_size_usd must be > 0 \(got 0.0\); Binance COIN-M uses 100 USD",
        ),
        (lambda: InversePerp("ETH", 1, -10, 3_000), r"contract_size_usd must be > 0 \(got -10.0\)"),
        (lambda: Option("BTC", "call", -1.0, T0, 1.0), r"Option.strike must be > 0 \(got -1.0\)"),
        (
            lambda: Option("BTC", "straddle", 1.0, T0, 1.0),
            r"Option.kind must be 'call' or 'put' \(got 'straddle'\)",
        ),
        (
            lambda: Option("BTC", "call", 1.0, T0, 1.0, "eur"),
            r"Option.settlement must be 'usd'.* \(got 'eur'\)",
        ),
        (lambda: Option("BTC", "call", 1.0, "someday", 1.0), r"Option.expiry must be a timestamp"),
        (lambda: LinearFuture("BTC", 1.0, 1.0, "bad"), r"LinearFuture.expiry must be a timestamp"),
        (
            lambda: make_position("swaption", asset="BTC"),
            r"unknown instrument kind 'swaption'; use one of",
        ),
        (lambda: make_position("spot", asset="BTC", size=1), r"bad fields for instrument 'spot'"),
    ],
)
def test_position_errors(build, match):
    with pytest.raises(ConfigError, match=match):
        build()


def test_make_position_builds_each_kind():
    p = make_position(
        "inverse_perp", asset="BTC", contracts=5, contract_size_usd=100, entry_price=1
    )
    assert p == InversePerp("BTC", 5.0, 100.0, 1.0)
    o = make_position(
        "option",
        asset="ETH",
        kind="Put",
        strike=2_000,
        expiry="2026-03-27 08:00",
        quantity=-1,
        settlement="COIN",
    )
    assert (o.kind, o.settlement, o.expiry) == (
        "put",
        "coin",
        pd.Timestamp("2026-03-27 08:00", tz="UTC"),
    )


# == accounts =================================================================================
@pytest.fixture
def acct_market() -> MarketState:
    return MarketState(
        prices={"BTC": 60_000.0, "ETH": 3_100.0},
        valuation_time=T0,
        implied_vols={"BTC": 0.55, "ETH": 0.7},
    )


def test_account_equity_hand_example(acct_market):
    acc = Account(
        collateral={"USDT": 10_000, "BTC": 0.5},
        positions=[
            LinearPerp("ETH", 2.0, 3_000.0),
            InversePerp("BTC", -10, 100.0, 62_000.0),
            Spot("ETH", 1.0),
        ],
        haircuts={"BTC": 0.05},
        prices=acct_market,
    )
    # collateral: 10,000 + 0.5 * 60,000 * 0.95 = 38,500
    assert acc.collateral_value == pytest.approx(38_500.0, rel=1e-15)
    # uPnL: ETH 2 * (3,100 - 3,000) = 200; inverse -1,000 USD face:
    # -1,000 (1/62,000 - 1/60,000) BTC * 60,000 = 32.258064516...
    inv = -1_000 * (1 / 62_000 - 1 / 60_000) * 60_000
    assert acc.unrealized_pnl == pytest.approx(200.0 + inv, rel=1e-12)
    assert acc.spot_value == 3_100.0
    assert acc.option_value == 0.0
    assert acc.equity == pytest.approx(38_500.0 + 200.0 + inv + 3_100.0, rel=1e-12)

    # +10% BTC, -5% ETH. Hand: collateral 0.5*60,000*10% = 3,000 (2,850 after haircut);
    # ETH perp and spot 3 * 3,100 * -5% = -465; inverse dollar delta -1,000*60,000/62,000 = -967.74
    # times 10%.
    sc = scen([[math.log(1.1), math.log(0.95)]])
    inv_pnl = -1_000 * 60_000 / 62_000 * 0.1
    np.testing.assert_allclose(acc.pnl(sc), [3_000 - 465 + inv_pnl], rtol=1e-12)
    np.testing.assert_allclose(acc.pnl(sc, haircut=True), [2_850 - 465 + inv_pnl], rtol=1e-12)
    np.testing.assert_allclose(
        acc.equity_under(sc), acc.equity + acc.pnl(sc, haircut=True), rtol=1e-15
    )

    notional = acc.notional()
    assert notional.loc["ETH", "net"] == 2 * 3_100 + 3_100
    assert notional.loc["BTC", "net"] == -1_000.0
    assert notional.loc["BTC", "gross"] == 1_000.0
    delta = acc.delta()
    assert delta["BTC"] == pytest.approx(30_000.0 - 1_000 * 60_000 / 62_000, rel=1e-12)
    assert delta["USDT"] == 10_000.0
    assert acc.delta(unit="coin")["ETH"] == pytest.approx(3.0, rel=1e-15)
    no_coll = acc.delta(include_collateral=False)
    assert list(no_coll.index) == ["BTC", "ETH"]  # USDT only enters as collateral
    assert no_coll["BTC"] == pytest.approx(-1_000 * 60_000 / 62_000, rel=1e-12)
    assert acc.margin_ratio(1_000.0) == pytest.approx(acc.equity / 1_000.0)
    assert acc.margin_fraction() == pytest.approx(acc.equity / (6_200 + 3_100 + 1_000))
    assert "equity" in acc._repr_html_() and "equity" in str(acc)


def test_coin_collateral_and_stablecoin_depeg_hook(acct_market):
    acc = Account(collateral={"USDT": 10_000, "BTC": 1.0}, prices=acct_market)
    # USDT not in the scenarios: held at 1
    np.testing.assert_allclose(acc.pnl(scen([[math.log(0.5), 0.0]])), [-30_000.0], rtol=1e-12)
    # depeg: USDT in the scenarios at -10%
    sc = scen([[0.0, math.log(0.9)]], assets=("BTC", "USDT"))
    np.testing.assert_allclose(acc.pnl(sc), [-1_000.0], rtol=1e-12)
    # BTC collateral must be in the scenarios
    with pytest.raises(DataError, match=r"collateral 'BTC' needs asset 'BTC'"):
        acc.pnl(scen([[0.0]], assets=("ETH",)))


def test_account_with_options_delta_by_differences(acct_market):
    expiry = T0 + pd.Timedelta(days=14)
    acc = Account(
        collateral={"USDC": 5_000, "BTC": 0.2, "ETH": 3.0},
        positions=[
            Option("BTC", "put", 55_000.0, expiry, 2.0, "coin"),
            Option("BTC", "call", 65_000.0, expiry, -1.0, "usd"),
            InversePerp("ETH", 40, 10.0, 3_000.0),
            LinearPerp("BTC", -0.3, 59_000.0),
        ],
        haircuts={"BTC": 0.1, "ETH": 0.15},
        prices=acct_market,
    )
    h = 1e-5
    sc = scen([[h, 0], [-h, 0], [0, h], [0, -h]], horizon="0s")
    p = acc.pnl(sc)
    delta = acc.delta()
    assert delta["BTC"] == pytest.approx((p[0] - p[1]) / (2 * h), rel=1e-6)
    assert delta["ETH"] == pytest.approx((p[2] - p[3]) / (2 * h), rel=1e-6)
    assert acc.option_value == pytest.approx(
        sum(o.value_usd(acct_market) for o in acc.positions if isinstance(o, Option)), rel=1e-15
    )


def test_account_order_and_scaling(acct_market, rng):
    expiry = T0 + pd.Timedelta(days=30)
    positions = [
        Option("BTC", "call", 62_000.0, expiry, 1.0, "coin"),
        Option("ETH", "put", 3_000.0, expiry, -4.0),
        InversePerp("BTC", -25, 100.0, 61_000.0),
        LinearPerp("ETH", 5.0, 3_200.0),
        Spot("BTC", 0.1),
        InverseFuture("ETH", 100, 10.0, 3_050.0, expiry),
        LinearFuture("BTC", 0.4, 60_500.0, expiry),
    ]
    kw = {
        "collateral": {"USDT": 20_000, "BTC": 0.3},
        "haircuts": {"BTC": 0.05},
        "prices": acct_market,
    }
    a = Account(positions=positions, **kw)
    b = Account(positions=positions[::-1], **kw)
    c = Account(positions=[positions[i] for i in rng.permutation(len(positions))], **kw)
    sc = scen(rng.normal(0, 0.05, (200, 2)), horizon="24h", vol_shocks=rng.normal(0, 0.2, (200, 2)))
    # canonical order: the same account, bit for bit
    assert a == b == c
    assert np.array_equal(a.pnl(sc), b.pnl(sc)) and np.array_equal(a.pnl(sc), c.pnl(sc))
    assert a.equity == b.equity
    # scaling every quantity and balance by k scales P&L and equity by k (up to rounding)
    for k in (0.5, 3.0):
        np.testing.assert_allclose(a.scaled(k).pnl(sc), k * a.pnl(sc), rtol=1e-12, atol=1e-9)
        assert a.scaled(k).equity == pytest.approx(k * a.equity, rel=1e-12)


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        (
            {"collateral": {"BTC": -1.0}},
            ConfigError,
            r"collateral\['BTC'\] must be finite and >= 0 \(got -1.0\)",
        ),
        ({"collateral": [("BTC", 1.0)]}, ConfigError, r"collateral must be a mapping"),
        (
            {"collateral": {}, "haircuts": {"BTC": 1.0}},
            ConfigError,
            r"haircuts\['BTC'\] must be in \[0, 1\) \(got 1.0\)",
        ),
        (
            {"collateral": {}, "positions": [{"asset": "BTC"}]},
            ConfigError,
            r"positions must hold Position objects",
        ),
        (
            {"collateral": {}, "positions": Spot("BTC", 1.0)},
            ConfigError,
            r"positions must be a list",
        ),
        ({"collateral": {"SOL": 10.0}}, DataError, r"no price for asset 'SOL'"),
        (
            {"collateral": {}, "positions": [LinearPerp("DOGE", 1.0, 0.1)]},
            DataError,
            r"no price for asset 'DOGE'",
        ),
        (
            {"collateral": {}, "positions": [Option("BTC", "call", 1.0, T0, 1.0)]},
            ModelError,
            r"expired",
        ),
        ({"collateral": {}, "prices": None}, ConfigError, r"Account.prices must be a MarketState"),
    ],
)
def test_account_errors(acct_market, kwargs, exc, match):
    kwargs = {"prices": acct_market, **kwargs}
    with pytest.raises(exc, match=match):
        Account(**kwargs)


def test_account_margin_ratio_errors_and_plain_prices():
    acc = Account(collateral={"USDT": 100.0}, prices={"BTC": 1.0})
    assert acc.margin_fraction() == math.inf
    with pytest.raises(
        ConfigError, match=r"maintenance_margin must be positive and finite \(got 0\)"
    ):
        acc.margin_ratio(0)
    with pytest.raises(ConfigError, match=r"unit must be 'usd' or 'coin' \(got 'eur'\)"):
        acc.delta(unit="eur")


# == books ====================================================================================
def random_accounts(rng, market, n, *, options=True):
    expiries = [T0 + pd.Timedelta(days=d) for d in (7, 30, 90)]
    accounts = []
    for i in range(n):
        pos = []
        for _ in range(rng.integers(0, 6)):
            a = ("BTC", "ETH")[rng.integers(0, 2)]
            p = market.price(a)
            t = rng.integers(0, 6 if options else 5)
            if t == 0:
                pos.append(Spot(a, rng.random()))
            elif t == 1:
                pos.append(LinearPerp(a, rng.normal(), p * math.exp(rng.normal(0, 0.05))))
            elif t == 2:
                pos.append(LinearFuture(a, rng.normal(), p, expiries[rng.integers(0, 3)]))
            elif t == 3:
                c = binance_coinm_contract_size(a)
                pos.append(
                    InversePerp(a, int(rng.integers(-50, 50)), c, p * math.exp(rng.normal(0, 0.05)))
                )
            elif t == 4:
                pos.append(
                    InverseFuture(
                        a, int(rng.integers(-50, 50)), 10.0, p, expiries[rng.integers(0, 3)]
                    )
                )
            else:
                pos.append(
                    Option(
                        a,
                        ("call", "put")[rng.integers(0, 2)],
                        p * (0.8, 0.9, 1.0, 1.1, 1.25)[rng.integers(0, 5)],
                        expiries[rng.integers(0, 3)],
                        float(rng.normal()),
                        ("usd", "coin")[rng.integers(0, 2)],
                    )
                )
        accounts.append(
            Account(
                collateral={
                    "USDT": rng.random() * 1e4,
                    "BTC": rng.random(),
                    "ETH": 5 * rng.random(),
                },
                positions=pos,
                haircuts={"BTC": 0.05, "ETH": 0.1 * rng.random()},
                prices=market,
                account_id=f"acc{i}",
            )
        )
    return accounts


@pytest.fixture
def book_market() -> MarketState:
    return MarketState(
        prices={"BTC": 60_000.0, "ETH": 3_100.0},
        valuation_time=T0,
        forwards={("BTC", T0 + pd.Timedelta(days=90)): 61_500.0},
        implied_vols={"BTC": 0.55, "ETH": 0.7, ("BTC", T0 + pd.Timedelta(days=7)): 0.5},
    )


def test_book_equals_per_account_loop(rng, book_market):
    accounts = random_accounts(rng, book_market, 300)
    book = Book.from_accounts(accounts)
    # 3 expiries x 2 kinds x 5 strikes x 2 settlements x 2 assets bounds the distinct series;
    # with ~125 option positions over at most 120 contracts, many are shared
    n_options = sum(isinstance(p, Option) for a in accounts for p in a.positions)
    distinct = {p.series for a in accounts for p in a.positions if isinstance(p, Option)}
    assert len(book.series) == len(distinct) < n_options and len(distinct) <= 120
    sc = scen(
        rng.normal(0, 0.06, (400, 2)), horizon="24h", vol_shocks=rng.normal(0, 0.25, (400, 2))
    )
    for haircut in (False, True):
        loop = np.column_stack([a.pnl(sc, haircut=haircut) for a in accounts])
        got = book.pnl(sc, haircut=haircut)
        # the same numbers summed in a different order: rtol 1e-12, and an absolute floor of
        # 1e-12 of the largest |P&L| for accounts whose terms cancel to ~0
        np.testing.assert_allclose(got, loop, rtol=1e-12, atol=1e-12 * np.abs(loop).max())
    np.testing.assert_allclose(book.equity, [a.equity for a in accounts], rtol=1e-12)
    np.testing.assert_allclose(
        book.equity_under(sc),
        np.column_stack([a.equity_under(sc) for a in accounts]),
        rtol=1e-12,
        atol=1e-12 * np.abs(book.equity).max(),
    )
    assert book.account_ids[:2] == ("acc0", "acc1") and len(book) == 300


def test_book_pnl_in_chunks_equals_the_account_loop(rng, book_market):
    # Book.pnl_chunks and FactoredPnL.block (the chunked engine PortfolioMargin.margin_book
    # runs on) against the independent per-account loop (Account.pnl), with options and carry
    # series (basis, funding, roll) in the scenarios. Same tolerance as the full product:
    # the same terms summed in a different order.
    accounts = random_accounts(rng, book_market, 230)
    book = Book.from_accounts(accounts)
    n = 350
    sc = Scenarios(
        returns=rng.normal(0, 0.06, (n, 2)),
        assets=("BTC", "ETH"),
        horizon="24h",
        vol_shocks=rng.normal(0, 0.25, (n, 2)),
        basis=rng.normal(0, 0.002, (n, 2)),
        funding=rng.normal(0, 0.0005, (n, 2)),
        roll=rng.normal(0, 0.01, (n, 2)),
    )
    assert book.series and book.carry_series  # every term of the formula is exercised
    for haircut in (False, True):
        loop = np.column_stack([a.pnl(sc, haircut=haircut) for a in accounts]).T  # (A, S)
        tol = {"rtol": 1e-12, "atol": 1e-12 * np.abs(loop).max()}
        chunks = list(book.pnl_chunks(sc, chunk_size=64, haircut=haircut))
        assert [r for r, _ in chunks] == [
            slice(0, 64),
            slice(64, 128),
            slice(128, 192),
            slice(192, 230),
        ]
        assert [b.shape for _, b in chunks][-1] == (38, n)
        np.testing.assert_allclose(np.vstack([b for _, b in chunks]), loop, **tol)
        # the full product is the same engine (one FactoredPnL), in (S, A) orientation
        np.testing.assert_allclose(book.pnl(sc, haircut=haircut), loop.T, **tol)
    # losses are the negated P&L exactly (negation is exact in floating point), also when a
    # reused buffer receives the block
    gains = book.factored_pnl(sc)
    losses = book.factored_pnl(sc, losses=True)
    buf = np.empty((100, n))
    rows = slice(100, 200)
    assert np.array_equal(losses.block(rows, out=buf), -gains.block(rows))
    assert np.array_equal(losses.full(), -gains.full())
    assert gains.n_scenarios == n


@pytest.mark.parametrize("bad", [0, -3, 2.5, True, "10"])
def test_book_pnl_chunks_refuses_a_bad_chunk_size(rng, book_market, bad):
    book = Book.from_accounts(random_accounts(rng, book_market, 3))
    sc = scen(rng.normal(0, 0.05, (20, 2)))
    with pytest.raises(ConfigError, match=r"chunk_size must be a positive integer"):
        book.pnl_chunks(sc, chunk_size=bad)  # at the call, before any block is asked for
    # a missing asset is refused at the call too
    other = Scenarios(returns=np.zeros((5, 1)), assets=("SOL",), horizon="24h")
    with pytest.raises(DataError, match=r"not in the scenarios' assets"):
        book.pnl_chunks(other, chunk_size=2)


def test_linear_book_is_one_matrix_product(rng, book_market):
    # a linear book's P&L is Scenarios.pnl of its USD exposure matrix (an independent path)
    accounts = random_accounts(rng, book_market, 200, options=False)
    book = Book.from_accounts(accounts)
    assert book.series == () and book.option_quantities.shape == (0, 200)
    sc = scen(rng.normal(0, 0.05, (300, 2)), horizon="24h")
    expo = book.linear_exposures().reindex(columns=["BTC", "ETH"]).to_numpy().T  # N x A
    want = sc.pnl_array(expo)
    np.testing.assert_allclose(book.pnl(sc), want, rtol=1e-12, atol=1e-12 * np.abs(want).max())
    # scaling every account by k scales the book P&L by k
    scaled = Book.from_accounts([a.scaled(2.5) for a in accounts])
    np.testing.assert_allclose(scaled.pnl(sc), 2.5 * book.pnl(sc), rtol=1e-12, atol=1e-9)
    # permuting accounts permutes the columns
    perm = rng.permutation(200)
    permuted = Book.from_accounts([accounts[i] for i in perm])
    np.testing.assert_allclose(permuted.pnl(sc), book.pnl(sc)[:, perm], rtol=1e-12, atol=1e-9)


def test_book_errors_and_market_override(rng, book_market):
    accounts = random_accounts(rng, book_market, 5)
    with pytest.raises(ConfigError, match=r"accounts is empty"):
        Book.from_accounts([])
    with pytest.raises(ConfigError, match=r"takes Account objects"):
        Book.from_accounts([accounts[0], "acc"])
    other = MarketState(
        prices={"BTC": 61_000.0, "ETH": 3_000.0},
        valuation_time=T0,
        implied_vols={"BTC": 0.5, "ETH": 0.6},
    )
    moved = Account(collateral={"BTC": 1.0}, prices=other)
    with pytest.raises(ConfigError, match=r"account 5 .* different MarketState .* pass market="):
        Book.from_accounts([*accounts, moved])
    # market= revalues every account at one market: equals accounts rebuilt at that market
    book = Book.from_accounts([*accounts, moved], market=other)
    rebuilt = [
        Account(collateral=a.collateral, positions=a.positions, haircuts=a.haircuts, prices=other)
        for a in [*accounts, moved]
    ]
    np.testing.assert_allclose(book.equity, [a.equity for a in rebuilt], rtol=1e-12)
    with pytest.raises(
        DataError, match=r"the book holds assets \['ETH'\] that are not in the scenarios"
    ):
        book.pnl(scen([[0.0]], assets=("BTC",)))
    assert "accounts" in book._repr_html_()


def test_linear_pnl_is_the_plain_sum():
    # The one definition of linear P&L (riskmodels.instruments.linear_pnl) against a plain loop
    # of sum_i e_i (exp(r_i) - 1); 1e-12 relative: the matrix product sums in another order.
    from riskmodels.instruments import linear_pnl

    rng = np.random.default_rng(5)
    r = rng.normal(0, 0.05, size=(200, 3))
    e = np.array([1e6, -2.5e5, 3e4])
    loop = np.array([sum(e[i] * (math.exp(row[i]) - 1.0) for i in range(3)) for row in r])
    np.testing.assert_allclose(linear_pnl(r, e), loop, rtol=1e-12)
    books = np.stack([e, -e], axis=1)  # two books at once
    np.testing.assert_allclose(linear_pnl(r, books)[:, 1], -loop, rtol=1e-12)
    with pytest.raises(ConfigError, match=r"exposures of shape \(2,\) do not match 3 assets"):
        linear_pnl(r, e[:2])
