"""Tests of riskmodels.scenarios.

Where expected numbers come from
--------------------------------
* Data are simulated from a known DCC(1,1)-GARCH(1,1)-normal process
  (:func:`riskmodels.correlation.simulate_dcc`, GARCH ``omega=9e-5, alpha=0.10, beta=0.80`` in
  decimals, DCC ``a=0.05, b=0.90``, target correlation 0.5), daily UTC bars.
* Historical scenarios are compared with the window rows themselves and with pandas' rolling
  sums (closed form: sums of log returns).
* One-step filtered historical scenarios are compared with arch evaluated directly on
  ``100 * returns`` at the fitted parameters (``arch_model(...).fix``): residuals and the
  one-step variance forecast.
* Multi-period variances are compared with the analytic aggregate variance
  ``sum_k E_T[sigma^2_{T+k}]`` (``VolatilityResult.forecast(h)``, arch's closed form).
* One-step correlations are compared with the DCC forecast ``R_{T+1}``
  (``CorrelationResult.forecast(1)``) and, for the bootstrap, with its exact expectation under
  resampling ``L_{T+1} Cov(e) L_{T+1}'`` of the decorrelated pool ``e_t = L_t^{-1} z_t``.
* ``update`` is compared with the GARCH and DCC recursions written out by hand.

Tolerances
----------
* Exact equality where the same numbers must come out (no look-ahead, determinism, the
  window rows for ``h = 1``).
* ``rtol=1e-12`` for sums computed in a different order (rolling sums), ``1e-10`` for
  arch's recursions re-evaluated (deterministic algebra through percent scaling).
* Monte Carlo: 4 standard errors estimated from the scenarios themselves (a two-sided 6e-5
  false-failure probability per comparison if the code is right; seeds are fixed, so the tests
  are deterministic).
"""

from __future__ import annotations

import math
import re
import warnings

import numpy as np
import pandas as pd
import pytest
from arch import arch_model

from riskmodels.correlation import DCC, equicorrelation, simulate_dcc
from riskmodels.exceptions import ConfigError, DataError, InsufficientDataError
from riskmodels.scenarios import (
    FilteredHistoricalScenarios,
    FittedScenarioGenerator,
    HistoricalScenarios,
    MonteCarloScenarios,
    ScenarioGenerator,
    Scenarios,
    as_horizon,
    infer_frequency,
)
from riskmodels.volatility import GARCH

# The known process (decimal units).
GARCH_TRUE = (9e-5, 0.10, 0.80)
DCC_A, DCC_B, RHO = 0.05, 0.90, 0.5
NOBS = 1300


@pytest.fixture(scope="module")
def returns() -> pd.DataFrame:
    """Two assets from DCC(1,1)-GARCH(1,1)-normal, 1300 daily UTC bars."""
    sim = simulate_dcc(
        NOBS, equicorrelation(2, RHO), DCC_A, DCC_B, garch=GARCH_TRUE, burn=500, rng=11
    )
    return sim.returns


@pytest.fixture(scope="module")
def stressed_asof(returns) -> pd.Timestamp:
    """A date where the first asset's conditional variance is far above its long-run level.

    Chosen from the simulated (true) volatility, after row 900 so that an 800-bar window fits:
    there the h-step aggregate variance and the square-root-of-time rule differ clearly.
    """
    sim = simulate_dcc(
        NOBS, equicorrelation(2, RHO), DCC_A, DCC_B, garch=GARCH_TRUE, burn=500, rng=11
    )
    return sim.volatility["A00"].iloc[900:].idxmax()


def _all_generators():
    """One of each generator (with and without a correlation model), window 300 bars."""
    return [
        HistoricalScenarios(window=300),
        HistoricalScenarios(window=300, overlapping=False, weights=0.98),
        FilteredHistoricalScenarios(GARCH(), window=300),
        FilteredHistoricalScenarios(GARCH(), correlation=DCC(), window=300, n=2000),
        MonteCarloScenarios(DCC(), n=2000, window=300),
        MonteCarloScenarios(DCC(), n=2000, innovations="bootstrap", window=300),
    ]


def _mc_se_var(x: np.ndarray) -> float:
    """Standard error of the sample variance of i.i.d. draws: sqrt((m4 - s^4) / n)."""
    d = x - x.mean()
    s2 = float(np.mean(d**2))
    return math.sqrt((float(np.mean(d**4)) - s2**2) / len(x))


# ---------------------------------------------------------------------------------------------
# The Scenarios object and horizons
# ---------------------------------------------------------------------------------------------


def test_scenarios_validation_messages():
    ok = np.zeros((3, 2))
    with pytest.raises(DataError, match=re.escape("must be 2-D (S x N) (got shape (3,))")):
        Scenarios(np.zeros(3), ("A", "B"), "1d")
    with pytest.raises(DataError, match="has 2 columns but 3 assets"):
        Scenarios(ok, ("A", "B", "C"), "1d")
    bad = ok.copy()
    bad[1, 1] = np.nan
    with pytest.raises(DataError, match="has 1 non-finite values"):
        Scenarios(bad, ("A", "B"), "1d")
    with pytest.raises(DataError, match=r"weights must be non-negative .* one weight per scenario"):
        Scenarios(ok, ("A", "B"), "1d", weights=[1.0, -1.0, 1.0])
    with pytest.raises(DataError, match=r"weights must be .*\(3\)"):
        Scenarios(ok, ("A", "B"), "1d", weights=[1.0, 1.0])
    with pytest.raises(DataError, match=r"vol_shocks must have shape \(3, 2\)"):
        Scenarios(ok, ("A", "B"), "1d", vol_shocks=np.zeros((3, 1)))
    with pytest.raises(DataError, match="labels must have 3 entries"):
        Scenarios(ok, ("A", "B"), "1d", labels=("x",))
    sc = Scenarios(ok, ("A", "B"), "1d", weights=[1.0, 1.0, 2.0])
    np.testing.assert_array_equal(sc.weights, [0.25, 0.25, 0.5])  # normalized to sum to 1
    assert not sc.returns.flags.writeable


def test_pnl_equals_hand_computation():
    r = np.array([[0.01, -0.02], [0.0, 0.05]])
    sc = Scenarios(r, ("BTC", "ETH"), "1d")
    # Linear P&L: notional x simple return, simple return = exp(log return) - 1.
    expected = np.array(
        [
            1000.0 * math.expm1(0.01) - 500.0 * math.expm1(-0.02),
            1000.0 * math.expm1(0.0) - 500.0 * math.expm1(0.05),
        ]
    )
    np.testing.assert_allclose(sc.pnl([1000.0, -500.0]), expected, rtol=1e-15)
    np.testing.assert_allclose(
        sc.pnl(pd.Series({"ETH": -500.0})), -500.0 * np.expm1(r[:, 1]), rtol=1e-15
    )
    two = sc.pnl(np.array([[1000.0, 0.0], [-500.0, 1.0]]))
    assert two.shape == (2, 2)
    np.testing.assert_allclose(two[0], expected, rtol=1e-15)
    np.testing.assert_allclose(sc.pnl_array([1000.0, -500.0]), expected, rtol=1e-15)
    with pytest.raises(DataError, match=re.escape("exposures name assets not in the scenarios")):
        sc.pnl(pd.Series({"SOL": 1.0}))
    with pytest.raises(DataError, match="exposures must have 2 rows, one per asset"):
        sc.pnl([1.0, 2.0, 3.0])
    with pytest.raises(DataError, match="exposures must have 2 rows, one per asset"):
        sc.pnl_array([1.0, 2.0, 3.0])


def test_pnl_is_a_labelled_series_and_pnl_array_the_same_numbers():
    r = np.array([[0.01, -0.02], [0.0, 0.05], [-0.03, 0.01]])
    plain = Scenarios(r, ("BTC", "ETH"), "1d")
    one = plain.pnl([1000.0, -500.0])
    assert isinstance(one, pd.Series) and one.name == "pnl"
    pd.testing.assert_index_equal(one.index, pd.RangeIndex(3, name="scenario"))
    np.testing.assert_array_equal(one.to_numpy(), plain.pnl_array([1000.0, -500.0]))
    assert isinstance(plain.pnl_array([1000.0, -500.0]), np.ndarray)
    # labels index the scenarios when present
    dated = Scenarios(r, ("BTC", "ETH"), "1d", labels=("2022-11-08", "2022-11-09", "2022-11-10"))
    pnl = dated.pnl(pd.Series({"BTC": 1e6}))
    assert list(pnl.index) == ["2022-11-08", "2022-11-09", "2022-11-10"]
    assert pnl.index.name == "scenario"
    assert pnl.loc["2022-11-10"] == pytest.approx(1e6 * math.expm1(-0.03), rel=1e-15)
    # a mapping works like a Series
    pd.testing.assert_series_equal(dated.pnl({"BTC": 1e6}), pnl)


def test_pnl_of_k_portfolios_is_a_frame():
    r = np.array([[0.01, -0.02], [0.0, 0.05]])
    sc = Scenarios(r, ("BTC", "ETH"), "1d")
    two = sc.pnl(np.array([[1000.0, 0.0], [-500.0, 1.0]]))
    assert isinstance(two, pd.DataFrame)
    pd.testing.assert_index_equal(two.columns, pd.RangeIndex(2, name="portfolio"))
    pd.testing.assert_index_equal(two.index, pd.RangeIndex(2, name="scenario"))
    # a DataFrame indexed by asset: its columns name the portfolios, missing assets are flat
    books = pd.DataFrame({"hedged": [1000.0, -500.0], "eth only": [0.0, 1.0]}, index=["BTC", "ETH"])
    got = sc.pnl(books.loc[["ETH", "BTC"]])
    assert list(got.columns) == ["hedged", "eth only"]
    np.testing.assert_allclose(got.to_numpy(), sc.pnl_array(books.to_numpy()), rtol=1e-15)
    eth = sc.pnl(books.loc[["ETH"]])
    np.testing.assert_allclose(eth["eth only"], np.expm1(r[:, 1]), rtol=1e-15)
    with pytest.raises(DataError, match=r"NaN, infinite or not numbers for \['BTC'\]"):
        sc.pnl(books.assign(hedged=[np.nan, 1.0]))


def test_scenarios_repr_is_short_and_names_the_key_facts():
    rng = np.random.default_rng(3)
    assets = ("BTC", "ETH", "BNB", "SOL", "XRP", "ADA", "DOGE", "LTC", "LINK", "AVAX")
    sc = Scenarios(
        rng.normal(0.0, 0.03, (5000, 10)),
        assets,
        "5D",
        pd.Timestamp("2024-01-31", tz="UTC"),
        weights=rng.uniform(size=5000),
        method="filtered historical",
        funding=np.zeros((5000, 10)),
        labels=tuple(f"s{i}" for i in range(5000)),
    )
    text = repr(sc)
    assert len(text) < 1_000
    for fact in ("filtered historical", "5d", "2024-01-31", "5,000 × 10", "BTC", "funding"):
        assert fact in text, fact
    assert "weights: yes" in text and "AVAX" not in text  # the first assets only
    html = sc._repr_html_()
    assert len(html) < 6_000 and "<table" in html and "AVAX" in html  # the quantile table
    q = sc.quantiles((0.01, 0.5))
    assert q.shape == (10, 2) and list(q.index) == list(assets)
    pd.testing.assert_frame_equal(
        sc.to_frame(), pd.DataFrame(sc.returns, index=sc.scenario_index(), columns=q.index)
    )


def test_horizon_errors_and_frequency():
    hourly = pd.date_range("2024-01-01", periods=300, freq="h", tz="UTC")
    r = pd.DataFrame(
        np.random.default_rng(0).normal(0, 0.005, (300, 2)), index=hourly, columns=["A", "B"]
    )
    assert infer_frequency(hourly) == pd.Timedelta("1h")
    # One missing bar is a gap, not another bar length (riskmodels._time.bar_frequency).
    assert infer_frequency(hourly.delete(10)) == pd.Timedelta("1h")
    gen = HistoricalScenarios(window=100)
    sc = gen.generate(r, hourly[-1], "4h")
    assert sc.horizon == pd.Timedelta("4h") and sc.meta["steps"] == 4
    assert sc.n_scenarios == 100 - 4 + 1
    with pytest.raises(ConfigError, match="shorter than the data frequency 1h"):
        gen.generate(r, hourly[-1], "30min")
    with pytest.raises(ConfigError, match="is not a whole number of 1h bars"):
        gen.generate(r, hourly[-1], "90min")
    with pytest.raises(ConfigError, match="horizon must be positive"):
        gen.generate(r, hourly[-1], "-1h")
    with pytest.raises(ConfigError, match="horizon must be a Timedelta such as '1d'"):
        gen.generate(r, hourly[-1], "soon")
    assert as_horizon("2d", pd.Timedelta("1D")) == 2
    # "1d"/"1w" (the package's way of writing horizons) are read without pandas' deprecation
    # warning for lowercase day and week units.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert as_horizon("1w", "1d") == 7
        assert Scenarios(np.zeros((1, 1)), ("A",), "2d").horizon == pd.Timedelta(days=2)
    with pytest.raises(InsufficientDataError, match="needs at least 2 rows"):
        infer_frequency(hourly[:1])


# ---------------------------------------------------------------------------------------------
# No look-ahead, determinism, protocols
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("garbage", [np.nan, 1e6])
def test_no_look_ahead(returns, garbage):
    asof = returns.index[1000]
    spoiled = returns.copy()
    spoiled.iloc[1001:] = garbage
    for gen in _all_generators():
        for horizon in ("1d", "3d"):
            a = gen.generate(returns, asof, horizon, rng=7)
            b = gen.generate(spoiled, asof, horizon, rng=7)
            np.testing.assert_array_equal(a.returns, b.returns)
            assert a.labels == b.labels
            assert (a.weights is None and b.weights is None) or np.array_equal(a.weights, b.weights)
            assert a.asof == b.asof == asof
            assert a.meta["window_end"] == asof and a.meta["nobs"] == 300
            assert a.meta["window_start"] == returns.index[1000 - 299]


def test_window_not_filled_raises(returns):
    early = returns.index[250]  # 251 rows up to asof, the window needs 300
    for gen in _all_generators():
        with pytest.raises(
            InsufficientDataError,
            match=re.escape("needs 300 rows where every asset has data (window=300)"),
        ):
            gen.generate(returns, early, "1d", rng=1)
    with pytest.raises(InsufficientDataError, match="no returns at or before asof=2019-01-01"):
        HistoricalScenarios().generate(returns, "2019-01-01", "1d")


def test_late_listing_named_in_error(returns):
    panel = returns.copy()
    panel.iloc[:700, 1] = np.nan  # A01 lists at row 700
    gen = FilteredHistoricalScenarios(GARCH(), window=500)
    with pytest.raises(
        InsufficientDataError,
        match=re.escape("the common sample has 101 rows: it is limited by ['A01'], which start at"),
    ):
        gen.generate(panel, panel.index[800], "1d")
    # Leading NaN before the window are fine: the window lies inside the common sample.
    sc = gen.generate(panel, panel.index[1250], "1d")
    assert sc.meta["window_start"] == panel.index[1250 - 499]


def test_determinism_and_seeds(returns):
    gen = FilteredHistoricalScenarios(GARCH(), correlation=DCC(), window=300)
    asof = returns.index[700]
    a = gen.generate(returns, asof, "2d", rng=5, n=500)
    b = gen.generate(returns, asof, "2d", rng=np.random.default_rng(5), n=500)
    np.testing.assert_array_equal(a.returns, b.returns)
    assert a.meta["seed"] == 5 and b.meta["seed"] is None and "rng_state" in b.meta
    c = gen.generate(returns, asof, "2d", rng=None, n=500)
    assert isinstance(c.meta["seed"], int)  # fresh entropy, recorded ...
    d = gen.generate(returns, asof, "2d", rng=c.meta["seed"], n=500)
    np.testing.assert_array_equal(c.returns, d.returns)  # ... and reproducible
    with pytest.raises(ConfigError, match=r"rng must be a numpy\.random\.Generator, an int seed"):
        gen.generate(returns, asof, "2d", rng="abc")
    with pytest.raises(ConfigError, match=re.escape("rng seed must be non-negative (got -1)")):
        gen.generate(returns, asof, "2d", rng=-1)


def test_protocols_and_asof_between_bars(returns):
    for gen in _all_generators():
        assert isinstance(gen, ScenarioGenerator)
        fitted = gen.fit(returns.iloc[:400])
        assert isinstance(fitted, FittedScenarioGenerator)
        assert fitted.asof == returns.index[399]
    gen = HistoricalScenarios(window=300)
    asof = returns.index[700]
    a = gen.generate(returns, asof + pd.Timedelta("12h"), "1d")
    b = gen.generate(returns, asof, "1d")
    np.testing.assert_array_equal(a.returns, b.returns)
    # A naive asof string is read in the index's time zone (UTC).
    c = gen.generate(returns, str(asof.tz_localize(None)), "1d")
    np.testing.assert_array_equal(c.returns, b.returns)


# ---------------------------------------------------------------------------------------------
# Historical simulation
# ---------------------------------------------------------------------------------------------


def test_historical_one_step_is_the_window(returns):
    asof = returns.index[800]
    sc = HistoricalScenarios(window=250).generate(returns, asof, "1d")
    window = returns.loc[:asof].iloc[-250:]
    np.testing.assert_array_equal(sc.returns, window.to_numpy())
    assert sc.labels == tuple(t.isoformat() for t in window.index)
    assert sc.weights is None and sc.assets == ("A00", "A01")
    assert sc.method.startswith("historical simulation")


def test_historical_overlapping_sums_equal_rolling_sum(returns):
    asof = returns.index[800]
    h = 5
    sc = HistoricalScenarios(window=250).generate(returns, asof, f"{h}d")
    window = returns.loc[:asof].iloc[-250:]
    rolling = window.rolling(h).sum().iloc[h - 1 :]  # labelled by the last bar of each sum
    # Same sums, different summation order (pandas rolling adds and subtracts): rtol 1e-12.
    np.testing.assert_allclose(sc.returns, rolling.to_numpy(), rtol=1e-12, atol=1e-15)
    assert sc.n_scenarios == 250 - h + 1
    assert sc.labels == tuple(t.isoformat() for t in window.index[: 250 - h + 1])  # start dates


def test_historical_blocks_and_age_weights(returns):
    asof = returns.index[800]
    h, lam = 4, 0.97
    window = returns.loc[:asof].iloc[-250:].to_numpy()
    sc = HistoricalScenarios(window=250, overlapping=False).generate(returns, asof, f"{h}d")
    assert sc.n_scenarios == 250 // h
    # Blocks end at asof: the last block is the last h bars, the first starts at bar 250 mod h.
    np.testing.assert_allclose(sc.returns[-1], window[-h:].sum(axis=0), rtol=1e-14)
    np.testing.assert_allclose(sc.returns[0], window[2 : 2 + h].sum(axis=0), rtol=1e-14)
    weighted = HistoricalScenarios(window=250, weights=lam)
    one = weighted.generate(returns, asof, "1d")
    # Boudoukh-Richardson-Whitelaw: w_i = lam^(i-1) (1 - lam) / (1 - lam^K), i = 1 newest.
    K = 250
    brw = lam ** np.arange(K)[::-1] * (1 - lam) / (1 - lam**K)
    np.testing.assert_allclose(one.weights, brw, rtol=1e-12)
    over = weighted.generate(returns, asof, f"{h}d")
    np.testing.assert_allclose(over.weights[-2] / over.weights[-1], lam, rtol=1e-12)
    blocks = HistoricalScenarios(window=250, overlapping=False, weights=lam)
    blk = blocks.generate(returns, asof, f"{h}d")
    np.testing.assert_allclose(blk.weights[-2] / blk.weights[-1], lam**h, rtol=1e-12)
    assert "age weights (decay 0.97)" in blk.method


def test_historical_update_rolls_the_window(returns):
    gen = HistoricalScenarios(window=200)
    fitted = gen.fit(returns.iloc[:600])
    rolled = fitted.update(returns.iloc[599:650])  # the asof row is ignored
    again = gen.fit(returns.iloc[:650])
    pd.testing.assert_frame_equal(rolled.returns, again.returns)
    assert fitted.update(returns.iloc[:600]) is fitted  # nothing new
    with pytest.raises(DataError, match="update expects consecutive 1 days 00:00:00 bars"):
        fitted.update(returns.iloc[[601, 602]])
    with pytest.raises(DataError, match=re.escape("new returns have no column for ['A01']")):
        fitted.update(returns.iloc[600:610][["A00"]])
    bad = returns.iloc[600:610].copy()
    bad.iloc[3, 0] = np.nan
    with pytest.raises(DataError, match=r"new returns\['A00'\] has a missing or infinite value"):
        fitted.update(bad)


def test_historical_errors(returns):
    with pytest.raises(ConfigError, match=r"window must be None .* or a positive number of bars"):
        HistoricalScenarios(window=0)
    with pytest.raises(ConfigError, match=r"weights must be 'equal' or a decay factor in \(0, 1\)"):
        HistoricalScenarios(weights=1.5)
    with pytest.raises(ConfigError, match="overlapping must be True or False"):
        HistoricalScenarios(overlapping="yes")
    gen = HistoricalScenarios(window=3)
    with pytest.raises(ConfigError, match="n must be None for historical simulation"):
        gen.generate(returns, returns.index[500], "1d", n=100)
    with pytest.raises(InsufficientDataError, match="a 5-bar horizon needs at least 5 bars"):
        gen.generate(returns, returns.index[500], "5d")


def test_input_errors(returns):
    gen = HistoricalScenarios(window=100)
    asof = returns.index[500]
    with pytest.raises(ConfigError, match="returns must be a pandas DataFrame"):
        gen.generate(returns.to_numpy(), asof, "1d")
    with pytest.raises(DataError, match="returns must have a DatetimeIndex"):
        gen.fit(returns.reset_index(drop=True))
    with pytest.raises(ConfigError, match="asof must be a timestamp"):
        gen.generate(returns, "not a date", "1d")
    naive = returns.tz_localize(None)
    with pytest.raises(
        ConfigError, match=r"asof .* has a time zone but the returns index has none"
    ):
        gen.generate(naive, asof, "1d")
    gap = returns.copy()
    gap.iloc[450, 1] = np.nan
    with pytest.raises(
        DataError, match=re.escape("returns['A01'] has 1 NaN value(s) inside the rows used")
    ):
        gen.generate(gap, asof, "1d")
    # A gap before the window is not used and does not matter.
    gen.generate(gap, returns.index[700], "1d")
    stale = returns.copy()
    stale.iloc[499:, 0] = np.nan
    with pytest.raises(DataError, match=re.escape("returns for ['A00'] end before the last bar")):
        gen.generate(stale, asof, "1d")
    inf = returns.copy()
    inf.iloc[480, 0] = np.inf
    with pytest.raises(DataError, match=r"returns\['A00'\] has an infinite value"):
        gen.generate(inf, asof, "1d")
    with pytest.raises(DataError, match="returns is not sorted in time"):
        gen.generate(returns.iloc[::-1], asof, "1d")
    dup = pd.concat([returns.iloc[:400], returns.iloc[399:401]])
    with pytest.raises(DataError, match="returns has duplicated timestamps"):
        gen.fit(dup)


# ---------------------------------------------------------------------------------------------
# Filtered historical simulation
# ---------------------------------------------------------------------------------------------


def test_fhs_one_step_equals_arch(returns):
    asof = returns.index[900]
    spec = GARCH(mean="constant")
    fitted = FilteredHistoricalScenarios(spec, window=600).fit(returns.loc[:asof])
    sc = fitted.scenarios("1d")
    window = returns.loc[:asof].iloc[-600:]
    assert sc.n_scenarios == 600 and sc.weights is None and sc.meta["seed"] is None
    assert sc.labels == tuple(t.isoformat() for t in window.index)
    for i, asset in enumerate(["A00", "A01"]):
        params = fitted.volatility[asset].params.to_numpy()  # mu, omega, alpha, beta (% units)
        fx = arch_model(
            100 * window[asset], mean="Constant", vol="GARCH", p=1, q=1, rescale=False
        ).fix(params)
        sigma_next = math.sqrt(fx.forecast(horizon=1, reindex=False).variance.iloc[-1, 0]) / 100
        expected = params[0] / 100 + sigma_next * fx.std_resid.to_numpy()
        # Deterministic algebra (arch's recursion and percent scaling): rtol 1e-10.
        np.testing.assert_allclose(sc.returns[:, i], expected, rtol=1e-10)
        assert sc.meta["sigma_next"][asset] == pytest.approx(sigma_next, rel=1e-10)


def test_fhs_draws_whole_rows(returns):
    # Two identical columns: identical fits and residuals, so whole-row draws give identical
    # scenarios in both columns (draws per asset would not).
    same = pd.DataFrame({"A": returns["A00"], "B": returns["A00"]})
    sc = FilteredHistoricalScenarios(GARCH(), window=500).generate(
        same, same.index[800], "5d", rng=2, n=3000
    )
    np.testing.assert_array_equal(sc.returns[:, 0], sc.returns[:, 1])
    assert sc.n_scenarios == 3000 and sc.labels is None


def test_fhs_univariate_bootstrap_equals_mc_bootstrap(returns):
    # Two implementations of the same scheme: FHS resamples residual rows itself, MC calls
    # VolatilityResult.simulate(innovations="bootstrap"); one asset, same seed: identical.
    one = returns[["A01"]]
    asof = one.index[900]
    a = FilteredHistoricalScenarios(GARCH(), window=600).generate(one, asof, "3d", rng=4, n=2000)
    b = MonteCarloScenarios(GARCH(), innovations="bootstrap", window=600).generate(
        one, asof, "3d", rng=4, n=2000
    )
    np.testing.assert_array_equal(a.returns, b.returns)


@pytest.mark.parametrize("which", ["fhs", "mc"])
def test_multi_period_variance_matches_analytic(returns, stressed_asof, which):
    h, n = 10, 40_000
    one = returns[["A00"]].loc[:stressed_asof]
    if which == "fhs":
        gen = FilteredHistoricalScenarios(GARCH(), window=800)
    else:
        gen = MonteCarloScenarios(GARCH(), n=n, window=800)
    fitted = gen.fit(one)
    vol = fitted.volatility["A00"]
    analytic = float(vol.forecast(h).sum())  # sum_k E_T[sigma^2_{T+k}], arch closed form
    sc = fitted.scenarios(f"{h}d", n=n, rng=3)
    x = sc.returns[:, 0]
    tol = 4 * _mc_se_var(x)
    if which == "fhs":
        # The resampled pool has mean m1 and second moment m2 instead of 0 and 1; to first
        # order the aggregate variance moves by about (1 + alpha h) (m2 - 1) relative plus
        # h m1^2 from the drift of the sum: allow 2 |m2 - 1| + h m1^2 (relative) on top.
        z = vol.std_resid.to_numpy()
        tol += analytic * (2 * abs(np.mean(z**2) - 1) + h * np.mean(z) ** 2)
    assert abs(np.var(x) - analytic) < tol
    assert sc.meta["steps"] == h and not sc.meta["sqrt_time"]
    assert f"{h}-step paths through the fitted recursions" in sc.method
    # The square-root-of-time rule is available, labelled, and differs: at this stressed date
    # the variance is expected to mean-revert over the horizon, which sqrt(h) ignores.
    sq_gen = (
        FilteredHistoricalScenarios(GARCH(), window=800, sqrt_time=True)
        if which == "fhs"
        else MonteCarloScenarios(GARCH(), n=n, window=800, sqrt_time=True)
    )
    # FHS without n: the classical one-step set (one scenario per residual), scaled.
    sq = sq_gen.fit(one).scenarios(f"{h}d", n=None if which == "fhs" else n, rng=3)
    assert sq.meta["sqrt_time"] and f"scaled by sqrt({h})" in sq.method
    # Outside the band the path variance was accepted in (plus the scaled set's own Monte
    # Carlo error for MC; the FHS classical set has none, its variance is exact, see below).
    own = 0.0 if which == "fhs" else 4 * _mc_se_var(sq.returns[:, 0])
    assert np.var(sq.returns[:, 0]) - analytic > tol + own
    if which == "fhs":
        # Variance of the scaled classical set: h sigma^2_{T+1} Var(z) exactly (algebra).
        z = vol.std_resid.to_numpy()
        assert np.var(sq.returns[:, 0]) == pytest.approx(
            h * float(vol.forecast(1).iloc[0]) * np.var(z), rel=1e-12
        )


def test_one_step_correlation_matches_dcc_forecast(returns):
    asof = returns.index[1100]
    n = 40_000
    data = returns.loc[:asof]
    fhs = FilteredHistoricalScenarios(GARCH(), correlation=DCC(), window=1000).fit(data)
    res = fhs.correlation
    R1 = res.forecast(1).correlation[0]
    # Monte Carlo: z = L_{T+1} e with e standard normal; correlation SE (1 - rho^2)/sqrt(n).
    mc = MonteCarloScenarios(DCC(), n=n, window=1000).fit(data)
    np.testing.assert_allclose(mc.correlation.params, res.params, rtol=1e-10)  # same fit
    rho_mc = np.corrcoef(mc.scenarios("1d", rng=8).returns.T)[0, 1]
    assert abs(rho_mc - R1[0, 1]) < 4 * (1 - R1[0, 1] ** 2) / math.sqrt(n)
    # FHS: rows e_t = L_t^{-1} z_t of the pool, re-correlated with L_{T+1}. Its expectation is
    # L_{T+1} Cov(e) L_{T+1}' (exactly R_{T+1} when Cov(e) = I).
    z = res.std_resid.to_numpy()
    e = np.linalg.solve(np.linalg.cholesky(res.correlation.values), z[:, :, None])[:, :, 0]
    Ce = np.cov(e.T, ddof=0)
    # Sampling error of the pool's covariance: about 1/sqrt(W) off the diagonal.
    assert np.abs(Ce - np.eye(2)).max() < 4 / math.sqrt(len(e))
    L1 = np.linalg.cholesky(R1)
    C = L1 @ Ce @ L1.T
    rho_pool = C[0, 1] / math.sqrt(C[0, 0] * C[1, 1])
    rho_fhs = np.corrcoef(fhs.scenarios("1d", n=n, rng=9).returns.T)[0, 1]
    assert abs(rho_fhs - rho_pool) < 4 * (1 - rho_pool**2) / math.sqrt(n)
    assert abs(rho_fhs - R1[0, 1]) < 4 * (1 - R1[0, 1] ** 2) / math.sqrt(n) + 4 / math.sqrt(len(e))


def test_fhs_update_filters_forward(returns):
    gen = FilteredHistoricalScenarios(GARCH(), correlation=DCC(), window=600)
    fitted = gen.fit(returns.iloc[:700])
    up = fitted.update(returns.iloc[699:720])  # the asof row is ignored; 20 new bars
    assert up.asof == returns.index[719]
    sc = up.scenarios("1d", n=100, rng=1)
    assert sc.meta["bars_filtered_since_fit"] == 20 and sc.meta["nobs"] == 600
    assert sc.meta["window_end"] == returns.index[699] and sc.meta["filtered_to"] == up.asof
    for asset in ("A00", "A01"):
        old, new = fitted.volatility[asset], up.volatility[asset]
        pd.testing.assert_series_equal(new.params, old.params)
        # The filtered path over the fitted window is unchanged (same backcast).
        np.testing.assert_allclose(
            new.conditional_volatility.iloc[:600], old.conditional_volatility, rtol=1e-12
        )
        # GARCH(1,1) written out: sigma2_t = omega + alpha eps_{t-1}^2 + beta sigma2_{t-1}.
        omega, alpha, beta = old.params.to_numpy()
        s2 = (100 * old.conditional_volatility.iloc[-1]) ** 2
        eps = 100 * old.resid.iloc[-1]
        for r in 100 * returns[asset].iloc[700:720]:
            s2 = omega + alpha * eps**2 + beta * s2
            eps = r
        s2_next = omega + alpha * eps**2 + beta * s2
        assert float(new.forecast(1).iloc[0]) * 1e4 == pytest.approx(s2_next, rel=1e-10)
    # DCC at the fitted (a, b) and target: Q_t = (1-a-b) Qbar + a z z' + b Q_{t-1}.
    old_c, new_c = fitted.correlation, up.correlation
    pd.testing.assert_series_equal(new_c.params, old_c.params)
    pd.testing.assert_frame_equal(new_c.target, old_c.target)
    np.testing.assert_allclose(new_c.Q.values[:600], old_c.Q.values, rtol=1e-12)
    a, b = old_c.params.to_numpy()
    Qbar = old_c.target.to_numpy()
    z = new_c.std_resid.to_numpy()
    Q = old_c.Q.values[-1]
    for t in range(600, 620):
        Q = (1 - a - b) * Qbar + a * np.outer(z[t - 1], z[t - 1]) + b * Q
    np.testing.assert_allclose(new_c.Q.values[-1], Q, rtol=1e-10)
    assert up.update(returns.iloc[:720]) is up


def test_fhs_and_mc_errors(returns):
    with pytest.raises(ConfigError, match=r"volatility must be a riskmodels\.volatility spec"):
        FilteredHistoricalScenarios(volatility="garch")
    with pytest.raises(ConfigError, match=r"correlation must be a riskmodels\.correlation spec"):
        FilteredHistoricalScenarios(correlation="dcc")
    with pytest.raises(ConfigError, match="window=50 is shorter than the 100 observations GARCH"):
        FilteredHistoricalScenarios(window=50)
    with pytest.raises(ConfigError, match=re.escape("n must be a positive number of scenarios")):
        FilteredHistoricalScenarios(n=0)
    with pytest.raises(ConfigError, match="sqrt_time must be True or False"):
        FilteredHistoricalScenarios(sqrt_time="yes")
    with pytest.raises(ConfigError, match=r"model must be a riskmodels\.correlation spec"):
        MonteCarloScenarios(model="dcc")
    with pytest.raises(ConfigError, match="use GARCH\\(dist='t'\\) with innovations='model'"):
        MonteCarloScenarios(GARCH(), innovations="t")
    with pytest.raises(
        ConfigError, match="innovations must be one of 'normal', 't', 'bootstrap' for a correlation"
    ):
        MonteCarloScenarios(DCC(), innovations="model")
    with pytest.raises(ConfigError, match="nu is only used with innovations='t'"):
        MonteCarloScenarios(DCC(), nu=5.0)
    with pytest.raises(ConfigError, match="nu must be a number > 2"):
        MonteCarloScenarios(DCC(), innovations="t", nu=2.0)
    with pytest.raises(ConfigError, match=r"n must be a positive number of scenarios \(got None\)"):
        MonteCarloScenarios(DCC(), n=None)
    with pytest.raises(ConfigError, match="model GARCH\\(1,1\\) is univariate but returns has 2"):
        MonteCarloScenarios(GARCH()).fit(returns)
    fitted = FilteredHistoricalScenarios(window=300).fit(returns.iloc[:400])
    with pytest.raises(ConfigError, match=re.escape("n must be a positive number of scenarios")):
        fitted.scenarios("1d", n=-5)


def test_mc_univariate_and_t_innovations(returns):
    one = returns[["A00"]].iloc[:800]
    sc = MonteCarloScenarios(GARCH(dist="t"), n=500, window=500).generate(
        one, one.index[-1], "2d", rng=1
    )
    assert sc.returns.shape == (500, 1) and sc.meta["innovations"] == "model"
    assert "nu" in sc.meta["volatility_params"]["A00"]
    normal = MonteCarloScenarios(GARCH(), n=500, innovations="normal", window=500)
    assert normal.generate(one, one.index[-1], "2d", rng=1).meta["innovations"] == "normal"
    t = MonteCarloScenarios(DCC(), n=500, innovations="t", nu=6.0, window=500)
    sct = t.generate(returns, returns.index[800], "2d", rng=1)
    assert sct.meta["nu"] == 6.0 and "shocks: t" in sct.method
    assert sct.meta["correlation_params"].keys() == {"a", "b"}
    assert (
        "A00" in repr(t.fit(returns.iloc[:600]))
        and t.fit(returns.iloc[:600]).summary().shape[0] == 2
    )


def test_mc_update_and_diagnostics(returns):
    gen = MonteCarloScenarios(DCC(), n=1000, window=500)
    fitted = gen.fit(returns.iloc[:600])
    up = fitted.update(returns.iloc[600:610])
    assert up.asof == returns.index[609] and fitted.asof == returns.index[599]
    pd.testing.assert_series_equal(up.correlation.params, fitted.correlation.params)
    d = up.diagnostics()
    assert d["converged"] is True and d["note"] is None
    assert set(d["params"]) == {
        "A00:omega",
        "A00:alpha[1]",
        "A00:beta[1]",
        "A01:omega",
        "A01:alpha[1]",
        "A01:beta[1]",
        "correlation:a",
        "correlation:b",
    }
    # The two-step log-likelihood of the correlation model over the filtered rows.
    assert d["loglik"] == up.correlation.loglikelihood
    sc = up.scenarios("1d", rng=1)
    assert sc.n_scenarios == 1000 and sc.meta["bars_filtered_since_fit"] == 10
    hs = HistoricalScenarios().fit(returns.iloc[:300])
    assert hs.diagnostics()["params"] == {} and len(hs.update(returns.iloc[300:310]).returns) == 310


def test_weighted_quantiles_follow_the_weights():
    r = np.log1p(np.array([[-0.10], [0.00], [0.10], [0.20]]))
    equal = Scenarios(r, ("BTC",), "1d")
    np.testing.assert_allclose(
        equal.quantiles((0.25, 0.5)).to_numpy(), [[-0.10, 0.00]], rtol=1e-12, atol=1e-15
    )
    # nearly all the probability on the -10% scenario: its median is -10%
    heavy = Scenarios(r, ("BTC",), "1d", weights=[97.0, 1.0, 1.0, 1.0])
    assert heavy.quantiles((0.5,)).iloc[0, 0] == pytest.approx(-0.10)
    with pytest.raises(ConfigError, match=r"q must be probabilities"):
        equal.quantiles((1.5,))


# -- scenario labels ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "index",
    [
        pd.date_range("2018-01-01", periods=400, freq="1D", tz="UTC"),  # pandas 3: unit us
        pd.date_range("2018-01-01", periods=300, freq="1h", tz="UTC").as_unit("ns"),
        pd.date_range("2018-01-01", periods=30, freq="1min", tz="UTC").as_unit("s"),
        pd.date_range("1969-12-31 23:59:58", periods=4, freq="1s", tz="UTC"),  # before 1970
        pd.date_range("2018-01-01 00:00:00.5", periods=5, freq="1s", tz="UTC"),  # sub-second
        pd.date_range("2018-03-25", periods=5, freq="1h", tz="Europe/Berlin"),  # not UTC
        pd.DatetimeIndex([], tz="UTC"),
        pd.RangeIndex(3),
    ],
)
def test_scenario_labels_are_isoformat(index):
    # labels_of's vectorized path (UTC, whole seconds) against its definition, one
    # pandas.Timestamp.isoformat per label (the twin), exactly
    from riskmodels.scenarios._inputs import labels_of

    assert labels_of(index) == tuple(pd.Timestamp(t).isoformat() for t in index)
