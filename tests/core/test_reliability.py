"""Regression tests for issue 16 ("Reliability"): bad input raises a named error whose message
says the fix, at the boundary where it enters; valid input keeps its behaviour."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from riskmodels._limits import check_allocation
from riskmodels.cli import main
from riskmodels.config import load_config
from riskmodels.correlation import CorrelationForecast, equicorrelation, simulate_dcc
from riskmodels.data import log_returns, simple_returns
from riskmodels.exceptions import (
    ConfigError,
    DataError,
    ModelError,
    NotPositiveDefiniteError,
    PositionError,
    ResourceLimitError,
)
from riskmodels.instruments import LinearPerp
from riskmodels.margin import LiquidityAddOn, TierTable, isolated_liquidation_price
from riskmodels.margin._common import as_timedelta, horizon_days
from riskmodels.scenarios import (
    FilteredHistoricalScenarios,
    MonteCarloScenarios,
    Scenarios,
    as_horizon,
)
from riskmodels.volatility import GARCH

DAYS = pd.date_range("2021-01-01", periods=600, freq="D", tz="UTC", name="time")


@pytest.fixture
def scenarios() -> Scenarios:
    r = np.array([[0.10, 0.20], [0.0, -0.10], [-0.05, 0.03]])
    return Scenarios(returns=r, assets=("BTC", "ETH"), horizon="1d")


@pytest.fixture
def float_returns() -> pd.Series:
    rng = np.random.default_rng(16)
    return pd.Series(0.02 * rng.standard_normal(len(DAYS)), index=DAYS, name="BTC")


# ----------------------------------------------------------------------------- item 1
def test_pnl_refuses_nan_inf_and_unknown_exposures(scenarios):
    """Issue 16 item 1: Scenarios.pnl refuses NaN/inf exposures (no silent flat leg) and
    exposures naming assets the scenarios do not have (the message lists them)."""
    with pytest.raises(DataError, match=r"NaN, infinite or not numbers for \['BTC'\]"):
        scenarios.pnl(pd.Series({"BTC": np.nan, "ETH": 1e6}))
    with pytest.raises(DataError, match=r"for \['ETH'\].*0\.0 for a flat asset"):
        scenarios.pnl(pd.Series({"BTC": 1.0, "ETH": np.inf}))
    with pytest.raises(DataError, match=r"NaN or infinite for \['BTC'\]"):
        scenarios.pnl(np.array([np.nan, 1e6]))
    with pytest.raises(DataError, match=r"NaN or infinite for \['ETH'\]"):
        scenarios.pnl(np.array([[1.0, 2.0], [-np.inf, 3.0]]))
    with pytest.raises(DataError, match=r"not in the scenarios: \['SOL'\]"):
        scenarios.pnl(pd.Series({"SOL": 1.0, "ETH": 1e6}))
    # valid input unchanged: an asset the Series leaves out is flat
    sr = np.expm1(scenarios.returns)
    np.testing.assert_allclose(scenarios.pnl(pd.Series({"ETH": 1e6})), sr[:, 1] * 1e6)
    np.testing.assert_allclose(scenarios.pnl([1.0, 2.0]), sr @ [1.0, 2.0])
    np.testing.assert_allclose(scenarios.pnl_array([1.0, 2.0]), sr @ [1.0, 2.0])
    with pytest.raises(DataError, match=r"NaN or infinite for \['BTC'\]"):
        scenarios.pnl_array(np.array([np.nan, 1e6]))


# ----------------------------------------------------------------------------- item 2
def test_equicorrelation_refuses_rho_outside_psd_range():
    """Issue 16 item 2: equicorrelation(n, rho) refuses rho outside [-1/(n-1), 1]."""
    with pytest.raises(ConfigError, match=r"rho must be in \[-0\.5, 1\] for n=3"):
        equicorrelation(3, -0.9)
    with pytest.raises(ConfigError, match="rho must be in"):
        equicorrelation(2, 1.5)
    with pytest.raises(ConfigError, match="rho must be in"):
        equicorrelation(4, float("nan"))
    with pytest.raises(ConfigError, match="n must be a positive integer"):
        equicorrelation(0, 0.5)
    # the bounds themselves are correlation matrices (positive semi-definite)
    assert np.linalg.eigvalsh(equicorrelation(3, -0.5)).min() > -1e-12
    np.testing.assert_array_equal(equicorrelation(2, 0.5), [[1.0, 0.5], [0.5, 1.0]])


def test_correlation_forecast_validates_matrices():
    """Issue 16 item 2: CorrelationForecast refuses a correlation that is not symmetric, has a
    non-unit diagonal or entries outside [-1, 1], or is not positive semi-definite."""
    assets = ("BTC", "ETH")
    with pytest.raises(ModelError, match=r"entries outside \[-1, 1\]"):
        CorrelationForecast(
            correlation=[[1.0, 2.0], [2.0, 1.0]], covariance=np.eye(2), assets=assets, origin=None
        )
    with pytest.raises(ModelError, match="symmetric"):
        CorrelationForecast(
            correlation=[[1.0, 0.2], [0.3, 1.0]], covariance=np.eye(2), assets=assets, origin=None
        )
    with pytest.raises(ModelError, match="ones on the diagonal"):
        CorrelationForecast(
            correlation=[[2.0, 0.2], [0.2, 1.0]], covariance=np.eye(2), assets=assets, origin=None
        )
    bad = np.array([[1.0, 0.9, -0.9], [0.9, 1.0, 0.9], [-0.9, 0.9, 1.0]])
    with pytest.raises(NotPositiveDefiniteError, match="not positive semi-definite"):
        CorrelationForecast(
            correlation=bad[None], covariance=bad[None], assets=("A", "B", "C"), origin=None
        )
    with pytest.raises(ModelError, match="3 assets but 2x2"):
        CorrelationForecast(
            correlation=np.eye(2)[None],
            covariance=np.eye(2)[None],
            assets=("A", "B", "C"),
            origin=None,
        )
    # valid input: a (horizon, N, N) stack is kept as given
    R = np.stack([equicorrelation(2, 0.3), equicorrelation(2, 0.4)])
    fc = CorrelationForecast(
        correlation=R,
        covariance=0.01 * R,
        assets=assets,
        origin=pd.Timestamp("2024-01-01", tz="UTC"),
    )
    assert fc.horizon == 2
    assert fc.correlation_matrix(1).loc["BTC", "ETH"] == pytest.approx(0.3)


# ----------------------------------------------------------------------------- item 3
def test_isolated_liquidation_price_refuses_negative_wallet():
    """Issue 16 item 3: isolated_liquidation_price refuses a negative wallet_balance (which
    put a long's liquidation price above its entry)."""
    long = LinearPerp("BTC", 1.0, 50_000.0)
    with pytest.raises(PositionError, match=r"wallet_balance must be >= 0 \(got -100\)"):
        isolated_liquidation_price(long, wallet_balance=-100, mmr=0.005)
    with pytest.raises(ConfigError, match="wallet_balance must be finite"):
        isolated_liquidation_price(long, wallet_balance=float("nan"), mmr=0.005)
    lp = isolated_liquidation_price(long, wallet_balance=5_000, mmr=0.005)
    assert 0 < lp.price < 50_000


# ----------------------------------------------------------------------------- item 4
@pytest.mark.parametrize("dtype", ["int64", "bool", "Int64"])
def test_volatility_fit_refuses_integer_and_bool_returns(dtype):
    """Issue 16 item 4: GARCH().fit refuses integer/bool returns with a DataError saying to pass
    decimal float returns."""
    rng = np.random.default_rng(4)
    y = pd.Series(rng.integers(0, 2, len(DAYS)), index=DAYS, name="BTC").astype(dtype)
    with pytest.raises(DataError, match="Pass decimal float log returns"):
        GARCH().fit(y)


def test_volatility_fit_refuses_object_returns(float_returns):
    """Issue 16 item 4: object dtype (even holding floats) is refused too."""
    with pytest.raises(DataError, match="decimal float returns"):
        GARCH().fit(float_returns.astype(object))


# ----------------------------------------------------------------------------- item 5
@pytest.mark.parametrize("value", [3, 3.0, np.int64(3), True, "3", " 2.5 "])
def test_as_timedelta_refuses_bare_numbers(value):
    """Issue 16 item 5: a horizon without a unit (read by pandas as nanoseconds, shown as
    "0min") is refused with a ConfigError that says to write "3D" or "3h"."""
    with pytest.raises(ConfigError, match=r"'3D' or '3h'|D' or '.*h'"):
        as_timedelta(value, "horizon")


def test_as_timedelta_callers_refuse_bare_numbers():
    """Issue 16 item 5: the margin callers of as_timedelta inherit the check."""
    with pytest.raises(ConfigError, match="horizon needs a unit"):
        horizon_days(3)
    with pytest.raises(ConfigError, match="horizon needs a unit"):
        LiquidityAddOn(adv={"BTC": 1e9}, volatility={"BTC": 0.03}, horizon=3)
    # valid input unchanged
    assert as_timedelta("3d") == pd.Timedelta(days=3)
    assert as_timedelta(np.timedelta64(3, "h")) == pd.Timedelta(hours=3)
    assert as_timedelta(pd.Timedelta("8h")) == pd.Timedelta(hours=8)
    assert LiquidityAddOn(adv={"BTC": 1e9}, volatility={"BTC": 0.03}, horizon="2d").horizon == (
        pd.Timedelta(days=2)
    )


# ----------------------------------------------------------------------------- item 6
def test_repr_html_escapes_names(float_returns):
    """Issue 16 item 6: _repr_html_ escapes interpolated strings (a series named
    "<script>alert(1)</script>" is shown, not run)."""
    res = GARCH().fit(float_returns.rename("<script>alert(1)</script>"))
    out = res._repr_html_()
    assert "&lt;script&gt;" in out
    assert "<script>alert" not in out
    assert "<table" in out  # still the HTML summary


# ----------------------------------------------------------------------------- item 7
def test_returns_name_the_column_and_value_that_is_not_a_price():
    """Issue 16 item 7: 'n/a' strings in prices raise a DataError naming the column and the bad
    value (instead of numpy's ValueError)."""
    idx = DAYS[:4]
    px = pd.DataFrame({"BTC": [100.0, 101.0, 102.0, 103.0], "ETH": [10.0, "n/a", 11.0, 12.0]})
    px.index = idx
    with pytest.raises(DataError, match=r"prices\['ETH'\].*'n/a' at 2021-01-02"):
        log_returns(px)
    with pytest.raises(DataError, match=r"prices\['ETH'\]"):
        simple_returns(px)
    with pytest.raises(DataError, match=r"prices\['X'\].*'-'"):
        log_returns(pd.Series([1.0, "-", 2.0], index=idx[:3], name="X", dtype=object))
    # valid input unchanged: numeric strings and missing values
    ok = pd.DataFrame({"BTC": ["100", 110.0, None, 121.0]}, index=idx)
    out = log_returns(ok)
    assert out["BTC"].iloc[1] == pytest.approx(np.log(1.1))
    assert out["BTC"].iloc[2:].isna().all()


# ----------------------------------------------------------------------------- item 8
def test_simulate_dcc_non_pd_target_raises_named_error():
    """Issue 16 item 8: simulate_dcc on a non-positive-definite target raises
    NotPositiveDefiniteError (as DCC.fit does), not numpy's LinAlgError."""
    bad = np.array([[1.0, 0.9, -0.9], [0.9, 1.0, 0.9], [-0.9, 0.9, 1.0]])
    with pytest.raises(NotPositiveDefiniteError, match="target is not positive definite"):
        simulate_dcc(10, bad, 0.05, 0.9, rng=1)
    with pytest.raises(ConfigError, match="symmetric"):
        simulate_dcc(10, [[1.0, 0.2], [0.5, 1.0]], 0.05, 0.9, rng=1)
    sim = simulate_dcc(10, equicorrelation(2, 0.5), 0.05, 0.9, burn=5, rng=1)
    assert sim.returns.shape == (10, 2)


# ----------------------------------------------------------------------------- item 9
def test_non_utf8_config_is_a_config_error(tmp_path, capsys):
    """Issue 16 item 9: a non-UTF-8 config file raises ConfigError ("the config file is not
    UTF-8 text: ...") and the CLI exits 2 as for other configuration errors."""
    path = tmp_path / "latin1.toml"
    path.write_bytes('[data]\nuniverse = ["BTC"]  # caf\u00e9\n'.encode("latin-1"))
    with pytest.raises(ConfigError, match=r"the config file is not UTF-8 text: .*latin1\.toml"):
        load_config(path)
    assert main(["report", "data", "--config", str(path), "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "configuration error: the config file is not UTF-8 text" in err


# ----------------------------------------------------------------------------- item 7 (sizes)
def test_user_sizes_above_the_memory_limit_raise_resource_limit_error(float_returns):
    """Issue 16 item 7: n=10**11 scenarios raises ResourceLimitError (a ConfigError) saying the
    memory it would need in GiB, the limit and the fix, before allocating (instead of numpy's
    MemoryError after trying to allocate 745 GiB); normal sizes are unchanged."""
    frame = float_returns.to_frame()
    asof = frame.index[-1]
    huge = 10**11
    fhs = FilteredHistoricalScenarios(GARCH(), window=500).fit(frame)
    mc = MonteCarloScenarios(GARCH(), window=500).fit(frame)
    vol = GARCH().fit(float_returns)
    for call in (
        lambda: fhs.scenarios("1d", n=huge, rng=1),
        lambda: mc.scenarios("1d", n=huge, rng=1),
        lambda: MonteCarloScenarios(GARCH(), window=500, n=huge).generate(frame, asof, "1d", 1),
        lambda: vol.simulate(huge, 1, rng=1),
        lambda: vol.draw_innovations(huge, 1, rng=1),
        lambda: simulate_dcc(huge, equicorrelation(3, 0.3), 0.05, 0.9, rng=1),
    ):
        with pytest.raises(ResourceLimitError, match=r"GiB.*RISKMODELS_MAX_ALLOC_GIB") as err:
            call()
        assert isinstance(err.value, ConfigError)
        assert "smaller n" in str(err.value)
    # normal sizes still work
    assert fhs.scenarios("1d", n=2000, rng=1).returns.shape == (2000, 1)
    assert mc.scenarios("2d", n=500, rng=1).returns.shape == (500, 1)
    assert vol.simulate(100, 5, rng=1).shape == (100, 5)
    assert simulate_dcc(20, equicorrelation(3, 0.3), 0.05, 0.9, burn=5, rng=1).Q.shape == (
        20,
        3,
        3,
    )


def test_memory_limit_env_var_override(monkeypatch, float_returns):
    """Issue 16 item 7: RISKMODELS_MAX_ALLOC_GIB sets the limit (lower or higher than the
    default of half the physical memory); a malformed value is a ConfigError."""
    assert check_allocation(10, what="ten") == 80
    with pytest.raises(ResourceLimitError, match=r"would need 745\.1 GiB"):
        check_allocation(10**11, what="10**11 scenarios")
    monkeypatch.setenv("RISKMODELS_MAX_ALLOC_GIB", "1000")
    assert check_allocation(10**11, what="10**11 scenarios") == 8 * 10**11  # nothing allocated
    monkeypatch.setenv("RISKMODELS_MAX_ALLOC_GIB", "0.000001")  # about 1 KiB
    vol = GARCH().fit(float_returns)
    with pytest.raises(ResourceLimitError, match=r"limit of 0\.0 GiB"):
        vol.simulate(1000, 1, rng=1)
    monkeypatch.setenv("RISKMODELS_MAX_ALLOC_GIB", "lots")
    with pytest.raises(ConfigError, match="RISKMODELS_MAX_ALLOC_GIB must be a positive number"):
        check_allocation(10, what="ten")


# ----------------------------------------------------------------------------- item 2 (tiers)
def test_non_utf8_tier_table_is_a_config_error(tmp_path):
    """Issue 16 (tier tables): TierTable.from_toml on a non-UTF-8 file raises ConfigError
    saying the file is not UTF-8 text and to save it as UTF-8 (not UnicodeDecodeError)."""
    path = tmp_path / "tiers_latin1.toml"
    path.write_bytes('name = "caf\u00e9"\n'.encode("latin-1"))
    with pytest.raises(ConfigError, match=r"tiers_latin1\.toml.*not UTF-8 text.*Save it as UTF-8"):
        TierTable.from_toml(path)


# ----------------------------------------------------------------------------- item 3 (horizon)
@pytest.mark.parametrize("value", [3, 86_400 * 10**9, 2.5, np.int64(3), True, "3", " 2.5 "])
def test_as_horizon_refuses_bare_numbers(value):
    """Issue 16 (horizons): scenarios' as_horizon refuses a bare number (read by pandas as
    nanoseconds) exactly as margin's as_timedelta does, with the same "'3D' or '3h'" fix."""
    with pytest.raises(ConfigError, match=r"'3D' or '3h'|D' or '.*h'"):
        as_horizon(value, pd.Timedelta("1D"))
    # valid input unchanged
    assert as_horizon("3d", pd.Timedelta("1D")) == 3
    assert as_horizon(pd.Timedelta("8h"), pd.Timedelta("1h")) == 8
    assert as_horizon(np.timedelta64(2, "D"), "1d") == 2


def test_scenarios_horizon_refuses_bare_numbers():
    """Issue 16 ("horizon=3 is read as 3 ns"): a Scenarios object built directly with a bare
    number as its horizon is refused like every other user-given duration."""
    import numpy as np

    from riskmodels.exceptions import ConfigError
    from riskmodels.scenarios import Scenarios

    r = np.zeros((4, 2))
    with pytest.raises(ConfigError, match="'3D' or '3h'"):
        Scenarios(returns=r, assets=("BTC", "ETH"), horizon=3)
    assert Scenarios(returns=r, assets=("BTC", "ETH"), horizon="1d").horizon == pd.Timedelta("1D")


def test_isolated_liquidation_price_validates_mmr():
    """Found by the property suite: mmr = 1 divided by zero for a long, and mmr = 'x' raised
    numpy's ValueError; both are configuration errors that say the range."""
    from riskmodels.exceptions import ConfigError
    from riskmodels.instruments import LinearPerp
    from riskmodels.margin import isolated_liquidation_price

    p = LinearPerp("BTC", 1.0, 100.0)
    for bad in (1.0, 1.5, -0.1, float("nan"), "x"):
        with pytest.raises(ConfigError, match="mmr"):
            isolated_liquidation_price(p, 10.0, mmr=bad)
    with pytest.raises(ConfigError, match="maintenance_amount"):
        isolated_liquidation_price(p, 10.0, mmr=0.01, maintenance_amount="y")


def test_account_refuses_overflowing_values():
    """Found by the property suite: 1.7e308 BTC at 1e6 USD gave an account whose equity was
    inf; now a DataError names the overflow."""
    from riskmodels.exceptions import DataError
    from riskmodels.instruments import Account, LinearPerp

    with pytest.raises(DataError, match="overflow"):
        Account(collateral={"BTC": 1.7e308}, prices={"BTC": 1e6})
    with pytest.raises(DataError, match="overflow"):
        Account(
            collateral={"USDT": 1.0},
            prices={"BTC": 1e300},
            positions=[LinearPerp("BTC", 1e10, 1.0)],
        )


def test_accounts_markets_and_margin_results_pickle():
    """Results travel to worker processes and caches: Account, MarketState and margin results
    pickle (they held MappingProxyType, which does not) and stay read-only after the trip."""
    import pickle

    from riskmodels.margin import PortfolioMargin, RiskMatrixMargin
    from riskmodels.margin.efficiency import example_books
    from riskmodels.scenarios import Scenarios

    books = example_books()
    acc = books["delta-hedged straddle"]
    sc = Scenarios(returns=np.zeros((200, 4)), assets=("BTC", "ETH", "MANA", "HBAR"), horizon="1D")
    for obj in (
        acc,
        acc.prices,
        RiskMatrixMargin.deribit().margin(acc),
        PortfolioMargin(sc).margin(acc),
        RiskMatrixMargin.deribit().margin_many(list(books.values())),
    ):
        back = pickle.loads(pickle.dumps(obj))
        assert type(back) is type(obj)
    with pytest.raises(TypeError, match="read-only"):
        back_acc = pickle.loads(pickle.dumps(acc))
        back_acc.collateral["USDT"] = 0.0  # type: ignore[index]
