"""Returns helpers: definitions, gap policies, validation, and properties (hypothesis)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from riskmodels.data import log_returns, returns, simple_returns
from riskmodels.exceptions import ConfigError, DataError


def _idx(n: int, freq: str = "1D") -> pd.DatetimeIndex:
    return pd.date_range("2024-01-01", periods=n, freq=freq, tz="UTC", name="time")


def test_log_returns_definition():
    # Expected values are the definition r_t = log(P_t / P_{t-1}), computed by hand.
    px = pd.DataFrame({"BTC": [100.0, 110.0, 99.0]}, index=_idx(3))
    r = log_returns(px)
    assert np.isnan(r.iloc[0, 0])
    # computed as log P_t - log P_{t-1}: rounding is ~eps * |log P| ~ 1e-15 absolute
    np.testing.assert_allclose(r["BTC"].iloc[1:], [np.log(1.1), np.log(0.9)], rtol=0, atol=1e-14)
    s = simple_returns(px)
    np.testing.assert_allclose(s["BTC"].iloc[1:], [0.1, -0.1], rtol=1e-12)


def test_listing_gap_gives_nan_not_fill():
    # An asset listed later is NaN before listing; its first return is NaN (no fill).
    px = pd.DataFrame(
        {"BTC": [1.0, 2.0, 4.0, 8.0], "SOL": [np.nan, np.nan, 3.0, 6.0]}, index=_idx(4)
    )
    r = log_returns(px)
    assert r["SOL"].isna().tolist() == [True, True, True, False]
    assert r.attrs["gap_returns"] == {}


def test_internal_gap_policies():
    px = pd.DataFrame({"ETH": [100.0, 101.0, np.nan, np.nan, 110.0, 111.0]}, index=_idx(6))
    r = log_returns(px)  # default "nan": both returns touching the gap are NaN
    assert r["ETH"].isna().tolist() == [True, False, True, True, True, False]
    assert r.attrs["gap_returns"] == {"ETH": 3}
    with pytest.raises(DataError, match=r"ETH: 2 missing price\(s\) inside its history"):
        log_returns(px, gaps="raise")
    sp = log_returns(px, gaps="span")
    # the move across the outage lands on the first bar after it: log(110/101)
    assert sp["ETH"].iloc[4] == pytest.approx(np.log(110.0 / 101.0), rel=1e-14)
    assert sp["ETH"].iloc[2:4].isna().all()
    assert sp.attrs["spanned"] == [["ETH", px.index[4].isoformat(), 2]]


@pytest.mark.parametrize(
    ("frame", "exc", "match"),
    [
        (
            pd.DataFrame({"A": [1.0, -2.0]}, index=_idx(2)),
            DataError,
            r"prices must be positive: 1 value\(s\) <= 0 \(first A at 2024-01-02",
        ),
        (
            pd.DataFrame({"A": [1.0, 2.0]}, index=_idx(2)[::-1]),
            DataError,
            "not sorted ascending",
        ),
        (
            pd.DataFrame({"A": [1.0, 2.0]}, index=pd.DatetimeIndex(["2024-01-01"] * 2, tz="UTC")),
            DataError,
            "duplicate timestamps",
        ),
        (pd.DataFrame({"A": [1.0, 2.0]}), DataError, "must have a DatetimeIndex"),
        (pd.DataFrame({"A": [1.0, np.inf]}, index=_idx(2)), DataError, "infinite"),
    ],
)
def test_bad_prices_raise(frame, exc, match):
    with pytest.raises(exc, match=match):
        log_returns(frame)


def test_bad_arguments():
    px = pd.DataFrame({"A": [1.0, 2.0]}, index=_idx(2))
    with pytest.raises(
        ConfigError, match="gaps must be 'nan', 'raise' or 'span' \\(got 'ffill'\\)"
    ):
        log_returns(px, gaps="ffill")
    with pytest.raises(ConfigError, match="kind must be 'log' or 'simple'"):
        returns(px, kind="pct")
    with pytest.raises(DataError, match="must be a pandas DataFrame or Series"):
        log_returns([1.0, 2.0])


def test_series_input():
    s = pd.Series([1.0, np.e], index=_idx(2), name="BTC")
    r = log_returns(s)
    assert list(r.columns) == ["BTC"]
    assert r["BTC"].iloc[1] == pytest.approx(1.0, rel=1e-15)


positive = arrays(
    np.float64,
    st.integers(3, 60),
    elements=st.floats(1e-6, 1e6, allow_nan=False, allow_infinity=False),
)


@settings(max_examples=60, deadline=None)
@given(p=positive)
def test_log_returns_telescope(p):
    # Property: log returns sum to the log of the total price ratio (telescoping), to rounding.
    px = pd.Series(p, index=_idx(len(p)))
    r = log_returns(px).iloc[1:, 0]
    assert r.sum() == pytest.approx(np.log(p[-1] / p[0]), abs=1e-9 * len(p) + 1e-9)
    # and simple returns equal P_t / P_{t-1} - 1 (tolerance: exp of a log difference carries
    # ~eps * |log P| relative error, i.e. < 1e-13 for prices in [1e-6, 1e6])
    s = simple_returns(px).iloc[1:, 0].to_numpy()
    direct = p[1:] / p[:-1] - 1.0
    np.testing.assert_allclose(s, direct, rtol=1e-12, atol=1e-12)


@settings(max_examples=60, deadline=None)
@given(p=positive, data=st.data())
def test_span_equals_total_move_and_nan_policy_never_fills(p, data):
    # Property: with gaps="span" the returns still telescope across outages; with "nan"
    # no return is produced from a missing price (nothing is filled).
    n = len(p)
    holes = data.draw(st.sets(st.integers(1, n - 2), max_size=max(0, n // 3)))
    q = p.copy()
    q[list(holes)] = np.nan
    px = pd.Series(q, index=_idx(n))
    spanned = log_returns(px, gaps="span").iloc[:, 0]
    assert np.nansum(spanned.to_numpy()) == pytest.approx(np.log(q[-1] / q[0]), abs=1e-9 * n + 1e-9)
    nan_r = log_returns(px, gaps="nan").iloc[:, 0].to_numpy()
    for h in holes:
        assert np.isnan(nan_r[h])
        assert np.isnan(nan_r[h + 1])
