"""Loaders on generated data: alignment, windows, gaps, quality wiring and errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskmodels.data import FrameSource, common_sample, load_ohlcv, load_prices, normalize_bars
from riskmodels.exceptions import (
    ConfigError,
    DataError,
    DataNotFoundError,
    DataQualityError,
)


def make_bars(
    n: int, start: str = "2024-01-01", freq: str = "1D", seed: int = 0, p0: float = 100.0
) -> pd.DataFrame:
    """Consistent OHLCV from a simulated geometric random walk (open = previous close)."""
    g = np.random.default_rng(seed)
    close = p0 * np.exp(np.cumsum(g.normal(0, 0.02, n)))
    open_ = np.r_[p0, close[:-1]]
    hi = np.maximum(open_, close) * (1 + np.abs(g.normal(0, 0.005, n)))
    lo = np.minimum(open_, close) * (1 - np.abs(g.normal(0, 0.005, n)))
    vol = g.uniform(900, 1100, n)
    idx = pd.date_range(start, periods=n, freq=freq, tz="UTC", name="time")
    return pd.DataFrame(
        {
            "open": open_,
            "high": hi,
            "low": lo,
            "close": close,
            "volume": vol,
            "quote_volume": vol * close,
            "trades": np.full(n, 100.0),
        },
        index=idx,
    )


def test_panel_alignment_listing_and_order():
    btc = make_bars(10, "2024-01-01", seed=1)
    sol = make_bars(5, "2024-01-06", seed=2)
    src = FrameSource({"BTC": btc, "SOL": sol})
    px = load_prices(["SOL", "BTC"], source=src, quality="off")
    assert list(px.columns) == ["SOL", "BTC"]  # requested order kept
    assert px.index.tz is not None and str(px.index.tz) == "UTC"
    assert px.index.name == "time"
    assert (px.dtypes == "float64").all()
    assert px["SOL"].iloc[:5].isna().all()  # before listing: NaN, never filled
    np.testing.assert_array_equal(px["BTC"].to_numpy(), btc["close"].to_numpy())
    cs = common_sample(px)
    assert cs.index[0] == pd.Timestamp("2024-01-06", tz="UTC") and len(cs) == 5


def test_missing_bar_is_nan_on_regular_grid():
    b = make_bars(10, seed=3).drop(pd.Timestamp("2024-01-04", tz="UTC"))
    px = load_prices("BTC", source=FrameSource({"BTC": b}), quality="off")
    assert len(px) == 10
    assert np.isnan(px.loc["2024-01-04", "BTC"])
    with pytest.raises(
        DataError, match=r"1 row\(s\) inside the common sample .* \(first 2024-01-04"
    ):
        common_sample(px)
    dropped = common_sample(px, gaps="drop")
    assert len(dropped) == 9 and dropped.attrs["dropped"] == ["2024-01-04T00:00:00+00:00"]


def test_window_and_fields():
    b = make_bars(30, seed=4)
    src = FrameSource({"ETH": b})
    px = load_prices("eth", source=src, start="2024-01-05", end="2024-01-10", quality="off")
    assert px.index[0] == pd.Timestamp("2024-01-05", tz="UTC")
    assert px.index[-1] == pd.Timestamp("2024-01-10", tz="UTC")
    hi = load_prices("ETH", source=src, field="high", quality="off")
    np.testing.assert_array_equal(hi["ETH"].to_numpy(), b["high"].to_numpy())
    long = load_ohlcv(["ETH"], source=src, quality="off")
    assert list(long.columns[:2]) == ["time", "symbol"] and (long.symbol == "ETH").all()
    np.testing.assert_array_equal(long["close"].to_numpy(), b["close"].to_numpy())


def test_intraday_grid():
    b = make_bars(48, freq="1h", seed=5)
    px = load_prices("BTC", freq="1h", source=FrameSource({"BTC": b}), quality="off")
    assert px.index.freq is None or px.index.freq == pd.Timedelta("1h")
    assert (np.diff(px.index.asi8) == 3_600_000_000_000).all()


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"field": "vwap"}, ConfigError, r"field must be one of .* \(got 'vwap'\)"),
        (
            {"freq": "2m"},
            ConfigError,
            r"freq must be one of \['1d', '4h', '1h', '15m', '5m', '1m'\] \(got '2m'\)",
        ),
        ({"market": "options"}, ConfigError, r"market must be 'spot' or 'perp'"),
        ({"quality": "ignore"}, ConfigError, r"quality must be one of"),
        ({"start": "2024-02-01", "end": "2024-01-01"}, ConfigError, "is after end"),
        ({"start": "not a date"}, ConfigError, "start must be a date or timestamp"),
        ({"symbols": ["BTC", "btc"]}, ConfigError, r"symbols lists \['BTC'\] more than once"),
        ({"symbols": []}, ConfigError, "symbols is empty"),
        ({"symbols": ["DOT"]}, DataNotFoundError, "frames has no spot 1d bars for 'DOT'"),
        ({"start": "2030-01-01"}, DataNotFoundError, "No spot 1d bars"),
    ],
)
def test_loader_errors(kwargs, exc, match):
    src = FrameSource({"BTC": make_bars(10, seed=6)})
    kw = {"symbols": ["BTC"], "quality": "off", **kwargs}
    with pytest.raises(exc, match=match):
        load_prices(source=src, **kw)


def test_duplicates_cannot_be_aligned_without_repair():
    b = make_bars(5, seed=7)
    b = pd.concat([b, b.iloc[[2]]])
    with pytest.raises(DataQualityError, match="duplicate timestamps"):
        load_prices("BTC", source=FrameSource({"BTC": b}), quality="off")


def test_off_grid_bars_rejected():
    b = make_bars(5, seed=8)
    b.index = b.index + pd.to_timedelta([0, 0, 0, 3, 0], unit="h")
    with pytest.raises(DataError, match="not on the 1d grid"):
        load_prices("BTC", source=FrameSource({"BTC": b}), quality="off")


def test_common_sample_errors():
    idx = pd.date_range("2024-01-01", periods=4, tz="UTC")
    with pytest.raises(DataError, match="do not overlap: B starts"):
        common_sample(
            pd.DataFrame({"A": [1, 2, np.nan, np.nan], "B": [np.nan, np.nan, 3, 4.0]}, idx)
        )
    with pytest.raises(DataError, match=r"No data at all for \['B'\]"):
        common_sample(pd.DataFrame({"A": [1.0, 2, 3, 4], "B": [np.nan] * 4}, idx))
    with pytest.raises(ConfigError, match="gaps must be 'raise' or 'drop'"):
        common_sample(pd.DataFrame({"A": [1.0, 2, 3, 4]}, idx), gaps="fill")


def test_normalize_bars_epoch_units():
    # Binance spot klines switched from ms to µs on 2025-01-01: both must parse to the same time.
    ms = 1735689600000  # 2025-01-01T00:00Z in ms
    raw = pd.DataFrame(
        {"open_time": [ms - 86_400_000, ms * 1000], "close": [1.0, 2.0]}
    )  # a ms row then a µs row
    bars = normalize_bars(raw)
    assert list(bars.index) == [
        pd.Timestamp("2024-12-31", tz="UTC"),
        pd.Timestamp("2025-01-01", tz="UTC"),
    ]
    # ms offsets stay exact (integer arithmetic; a float path rounds to 256 ns steps)
    odd = normalize_bars(pd.DataFrame({"timestamp": [1704067200001], "close": [1.0]}))
    assert odd.index[0] == pd.Timestamp("2024-01-01 00:00:00.001", tz="UTC")
    with pytest.raises(DataError, match="epoch timestamps must be whole numbers"):
        normalize_bars(pd.DataFrame({"timestamp": [1.7e12 + 0.5], "close": [1.0]}))
    with pytest.raises(DataError, match="no time column"):
        normalize_bars(pd.DataFrame({"close": [1.0]}), what="x.csv")
    with pytest.raises(DataError, match="no 'close' column"):
        normalize_bars(pd.DataFrame({"date": ["2024-01-01"]}), what="x.csv")


@settings(max_examples=40, deadline=None)
@given(
    starts=st.lists(st.integers(0, 20), min_size=1, max_size=4),
    lengths=st.lists(st.integers(1, 20), min_size=4, max_size=4),
)
def test_alignment_property(starts, lengths):
    # Property: every asset's closes appear on the union grid at their own timestamps, and
    # nowhere else (no fill); the grid is regular and spans first..last bar.
    frames = {
        f"A{i}": make_bars(
            lengths[i], str(pd.Timestamp("2024-01-01") + pd.Timedelta(days=s))[:10], seed=i
        )
        for i, s in enumerate(starts)
    }
    px = load_prices(list(frames), source=FrameSource(frames), quality="off")
    assert (np.diff(px.index.asi8) == 86_400_000_000_000).all()
    for k, b in frames.items():
        col = px[k]
        np.testing.assert_array_equal(col.loc[b.index].to_numpy(), b["close"].to_numpy())
        assert col.notna().sum() == len(b)
