"""Minute data in ``riskmodels.data``: frequencies, markets and price types, kline parsing (header
and epoch-unit detection), bars from tick trades, the resample rule, documented windows in the
quality checks, and the mirror's minute catalog.

Every file used here is written by the tests in ``tmp_path`` with the layouts that
``shared/data/PROVENANCE.md`` documents (§2.14 theglory kline zips and Tardis trades, §2.15
isda, §2.17 isda-1m extracts), filled with simulated or hand-picked numbers: no real data is
copied. The tests marked ``mirror`` read the real mirror and skip when it is absent; their
expected numbers are quoted from PROVENANCE.md.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from riskmodels.data import (
    FREQUENCIES,
    MARKETS,
    MirrorSource,
    bars_from_trades,
    check_quality,
    file_records,
    load_ohlcv,
    load_prices,
    parse_freq,
    parse_market,
    price_type,
    resample_bars,
)
from riskmodels.data._frames import KLINE_COLUMNS, csv_has_header, epoch_index, read_kline_csv
from riskmodels.data.bars import resample_windows
from riskmodels.exceptions import (
    ConfigError,
    DataError,
    DataNotFoundError,
    DataQualityWarning,
)

HEADER = ",".join(KLINE_COLUMNS)  # the header line PROVENANCE §2.17 quotes
T0_US = 1_760_054_400_000_000  # 2025-10-10 00:00 UTC in µs
NEW_ATTRS = ("symbol", "freq", "market", "price_type", "windows", "resample")


def utc(s: str) -> pd.Timestamp:
    return pd.Timestamp(s, tz="UTC")


def synth(start: str, periods: int, step: str, seed: int, p0: float = 30_000.0) -> pd.DataFrame:
    """A random-walk bar frame, prices rounded to cents (so the CSV text is exact)."""
    rng = np.random.default_rng(seed)
    idx = pd.date_range(utc(start), periods=periods, freq=step, name="time").as_unit("ns")
    close = np.round(p0 * np.exp(np.cumsum(0.001 * rng.standard_normal(periods))), 2)
    open_ = np.concatenate([[p0], close[:-1]])
    high = np.round(np.maximum(open_, close) * (1 + 0.0005 * rng.random(periods)), 2)
    low = np.round(np.minimum(open_, close) * (1 - 0.0005 * rng.random(periods)), 2)
    vol = np.round(rng.uniform(1.0, 100.0, periods), 3)
    return pd.DataFrame(
        {
            "open": open_,
            "high": high,
            "low": low,
            "close": close,
            "volume": vol,
            "quote_volume": np.round(vol * close, 4),
            "trades": rng.integers(10, 1000, periods).astype("float64"),
        },
        index=pd.DatetimeIndex(idx, freq=None),
    )


def kline_text(bars: pd.DataFrame, *, header: bool, unit: str = "ms") -> bytes:
    """Binance's 12-column kline CSV (PROVENANCE §2.17 column list) for ``bars``."""
    div = {"ms": 10**6, "us": 10**3}[unit]
    step = int(np.diff(bars.index.asi8)[0]) // div
    lines = [HEADER] if header else []
    for t, r in zip(bars.index.asi8 // div, bars.itertuples(index=False), strict=True):
        lines.append(
            f"{t},{r.open:.2f},{r.high:.2f},{r.low:.2f},{r.close:.2f},{r.volume:.3f},"
            f"{t + step - 1},{r.quote_volume:.4f},{int(r.trades)},{r.volume / 2:.3f},"
            f"{r.quote_volume / 2:.4f},0"
        )
    return ("\n".join(lines) + "\n").encode()


def zipped(member: str, data: bytes) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(member, data)
    return buf.getvalue()


def new_attrs(frame: pd.DataFrame) -> dict:
    return {k: frame.attrs[k] for k in NEW_ATTRS if k in frame.attrs}


# --------------------------------------------------------------------------- frequencies, markets
def test_minute_frequencies_and_aliases():
    # 1m/5m/15m join the three old bar lengths, longest first.
    assert list(FREQUENCIES) == ["1d", "4h", "1h", "15m", "5m", "1m"]
    assert FREQUENCIES["15m"] == pd.Timedelta(minutes=15)
    for alias, canon in [("1min", "1m"), ("1T", "1m"), ("5min", "5m"), ("15min", "15m")]:
        assert parse_freq(alias) == canon
    with pytest.raises(ConfigError, match=r"freq must be one of .*\(got '1M'\)"):
        parse_freq("1M")  # a month in pandas: refused rather than read as a minute


def test_markets_and_price_types():
    # the price each market's bars hold (brief: perp/coinm last, mark/coinm_mark mark, index)
    assert {m: price_type(m) for m in MARKETS} == {
        "spot": "last",
        "perp": "last",
        "mark": "mark",
        "index": "index",
        "coinm": "last",
        "coinm_mark": "mark",
    }
    assert parse_market("markprice") == "mark" and parse_market("USDM") == "perp"
    with pytest.raises(ConfigError, match=r"market must be 'spot' or 'perp'.*'coinm_mark'"):
        price_type("options")


# --------------------------------------------------------------------------- parsing
@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("1583971200000,7938.39,7960.52", False),  # isda-1m 2020-03 extract: data, no header
        (HEADER, True),  # the 2022+ extracts start with this header (PROVENANCE §2.17)
        ("\ufeffopen_time,open,high", True),  # byte-order mark
        ('"open_time","open"', True),  # quoted header
        ("1.583971200e12,1,2", False),  # still a number: data
        ("exchange,symbol,timestamp,local_timestamp,id,side,price,amount", True),  # Tardis
    ],
)
def test_header_detection_by_content(line, expected):
    assert csv_has_header(line + "\n1,2,3\n", KLINE_COLUMNS) is expected


def test_unknown_first_line_is_refused_not_guessed():
    with pytest.raises(DataError, match="cannot tell whether the first line"):
        csv_has_header("Open Time,Open\n", KLINE_COLUMNS, what="x.csv")


def test_kline_csv_with_and_without_header_parse_identically():
    bars = synth("2021-05-19", 30, "1min", seed=1)
    plain = read_kline_csv(kline_text(bars, header=False), what="no-header")
    headed = read_kline_csv(kline_text(bars, header=True), what="header")
    # no data row dropped as a header, no header parsed as data: 30 rows each, exact values
    pd.testing.assert_frame_equal(plain, bars, check_exact=True)
    pd.testing.assert_frame_equal(headed, bars, check_exact=True)


def test_microsecond_kline_file_parses_to_the_same_bars():
    # Binance spot archives use µs from 2025-01-01; futures files may use either.
    bars = synth("2025-10-10", 5, "1min", seed=2)
    us = read_kline_csv(kline_text(bars, header=True, unit="us"))
    pd.testing.assert_frame_equal(us, bars, check_exact=True)


def test_epoch_index_units_and_range():
    # The same instant (2025-10-10 00:00:01.433 UTC) written in µs and ms; and one in seconds.
    idx = epoch_index(np.array([T0_US + 1_433_000, T0_US // 1000 + 1433, T0_US // 10**6]))
    assert list(idx) == [utc("2025-10-10 00:00:01.433")] * 2 + [utc("2025-10-10")]
    with pytest.raises(DataError, match=r"1 epoch value\(s\) outside 1970..2286"):
        epoch_index(np.array([T0_US * 1000]))  # nanoseconds


# --------------------------------------------------------------------------- trades -> bars
def tardis_trades() -> pd.DataFrame:
    """Five COIN-M trades in Tardis layout; rows deliberately out of time order.

    minute 00:00: 20.0 x 3 @ :01, 25.0 x 5 @ :30, 24.0 x 1 @ :30 (same µs, later in the file),
    16.0 x 2 @ :59.999999; minute 00:03: 10.0 x 1. Nothing in 00:01 and 00:02.
    """
    rows = [
        (T0_US + 1_000_000, 1, "buy", 20.0, 3),
        (T0_US + 30_000_000, 2, "sell", 25.0, 5),
        (T0_US + 30_000_000, 3, "buy", 24.0, 1),
        (T0_US + 180_000_000, 5, "sell", 10.0, 1),
        (T0_US + 59_999_999, 4, "sell", 16.0, 2),
    ]
    return pd.DataFrame(
        [
            ("binance-delivery", "AVAXUSD_PERP", t, t + 4_000, i, side, p, a)
            for t, i, side, p, a in rows
        ],
        columns=[
            "exchange",
            "symbol",
            "timestamp",
            "local_timestamp",
            "id",
            "side",
            "price",
            "amount",
        ],
    )


def test_bars_from_trades_inverse_contracts_hand_example():
    bars = bars_from_trades(tardis_trades(), "1m", contract_size_usd=10)
    # Only the two minutes with trades: 00:01 and 00:02 are gaps, never filled.
    assert list(bars.index) == [utc("2025-10-10 00:00"), utc("2025-10-10 00:03")]
    first, last = bars.iloc[0], bars.iloc[1]
    # open = first trade (20), close = last trade in time (16 at :59.999999, although it is
    # the file's last row), high 25, low 16
    assert (first.open, first.high, first.low, first.close) == (20.0, 25.0, 16.0, 16.0)
    # quote = 10 USD x contracts = 10 x (3 + 5 + 1 + 2) = 110 USD
    assert first.quote_volume == 110.0
    # coins = sum(10 x amount / price) = 30/20 + 50/25 + 10/24 + 20/16 = 1.5 + 2 + 5/12 + 1.25
    assert first.volume == pytest.approx(4.75 + 5 / 12, rel=1e-15)
    assert first.trades == 4.0
    assert (last.open, last.high, last.low, last.close, last.volume, last.quote_volume) == (
        10.0,
        10.0,
        10.0,
        10.0,
        1.0,
        10.0,
    )
    assert (bars.dtypes == "float64").all() and bars.index.name == "time"
    json.dumps(bars.attrs)
    assert bars.attrs == {"freq": "1m", "n_trades": 5, "contract_size_usd": 10.0}


def test_bars_from_trades_linear_and_errors():
    bars = bars_from_trades(tardis_trades(), "5m")
    # one 5m bar 00:00-00:04: volume = 3+5+1+2+1 = 12 coins, quote = 60+125+24+32+10 = 251
    assert len(bars) == 1
    assert (bars.volume.iloc[0], bars.quote_volume.iloc[0], bars.close.iloc[0]) == (12, 251, 10)
    bad = tardis_trades()
    bad.loc[2, "price"] = 0.0
    with pytest.raises(DataError, match=r"1 price\(s\) not finite and positive"):
        bars_from_trades(bad)
    with pytest.raises(ConfigError, match="contract_size_usd must be a positive number"):
        bars_from_trades(tardis_trades(), contract_size_usd=-10)
    with pytest.raises(DataError, match="trades lack column"):
        bars_from_trades(tardis_trades().drop(columns="amount"))


# --------------------------------------------------------------------------- resample rule
def ten_minutes() -> pd.DataFrame:
    """Minute i (0..9): open 100+i, high 103+i, low 99+i, close 101+i, volume 1+i,
    quote 10(1+i), 2 trades."""
    i = np.arange(10.0)
    idx = pd.date_range(utc("2025-10-10"), periods=10, freq="1min", name="time").as_unit("ns")
    b = pd.DataFrame(
        {
            "open": 100 + i,
            "high": 103 + i,
            "low": 99 + i,
            "close": 101 + i,
            "volume": 1 + i,
            "quote_volume": 10 * (1 + i),
            "trades": np.full(10, 2.0),
        },
        index=idx,
    )
    b.attrs = {"freq": "1m", "market": "perp"}
    return b


def test_resample_hand_worked_numbers():
    five = resample_bars(ten_minutes(), "5m")
    # 00:00 = minutes 0-4: open 100, high max(103..107) = 107, low min(99..103) = 99,
    # close 105, volume 1+..+5 = 15, quote 150, trades 10; 00:05 = minutes 5-9: 105, 112,
    # 104, 110, 6+..+10 = 40, 400, 10.
    expected = [
        [100.0, 107.0, 99.0, 105.0, 15.0, 150.0, 10.0],
        [105.0, 112.0, 104.0, 110.0, 40.0, 400.0, 10.0],
    ]
    assert five.to_numpy().tolist() == expected
    assert list(five.index) == [utc("2025-10-10 00:00"), utc("2025-10-10 00:05")]
    assert five.attrs["freq"] == "5m" and five.attrs["market"] == "perp"
    assert five.attrs["resample"] == {
        "from": "1m",
        "to": "5m",
        "rule": "complete-only",
        "dropped": [],
    }


def test_resample_never_fills_a_missing_minute():
    b = ten_minutes().drop(utc("2025-10-10 00:07"))
    five = resample_bars(b, "5m")
    # 00:05 lost a constituent: dropped (not built from 4 minutes), and listed
    assert list(five.index) == [utc("2025-10-10 00:00")]
    assert five.attrs["resample"]["dropped"] == ["2025-10-10T00:05:00+00:00"]
    # a row present with an invalid price is no bar either
    b2 = ten_minutes()
    b2.iloc[2, b2.columns.get_loc("close")] = np.nan
    assert list(resample_bars(b2, "5m").index) == [utc("2025-10-10 00:05")]
    # a NaN volume makes the coarse volume NaN, not a partial sum
    b3 = ten_minutes()
    b3.iloc[6, b3.columns.get_loc("volume")] = np.nan
    assert np.isnan(resample_bars(b3, "5m").volume.iloc[1])


def test_resample_errors():
    b = ten_minutes()
    with pytest.raises(ConfigError, match="cannot resample 5m bars to 1m"):
        resample_bars(b, "1m", source_freq="5m")
    with pytest.raises(DataError, match="duplicate timestamps"):
        resample_bars(pd.concat([b, b.iloc[[3]]]).sort_index(), "5m")
    off = b.copy()
    off.index = off.index + pd.Timedelta(seconds=30)
    with pytest.raises(DataError, match="off the 1m grid"):
        resample_bars(off, "5m")


def test_resample_windows_keep_only_whole_coarse_bars():
    # a 1m window 00:02..00:13 holds the whole 5m bar 00:05 only (00:00 starts before it,
    # 00:10 ends after 00:13)
    w = [["2025-10-10T00:02:00+00:00", "2025-10-10T00:13:00+00:00"]]
    assert resample_windows(w, "1m", "5m") == [
        ["2025-10-10T00:05:00+00:00", "2025-10-10T00:05:00+00:00"]
    ]
    assert resample_windows(w, "1m", "15m") == []


# --------------------------------------------------------------------------- quality + windows
def two_windows() -> pd.DataFrame:
    """Two hours of 1m bars on 2020-03-12 and two on 2021-05-19, the second ~6x higher."""
    a = synth("2020-03-12 00:00", 120, "1min", seed=3, p0=7_900.0)
    b = synth("2021-05-19 00:00", 120, "1min", seed=4, p0=42_000.0)
    out = pd.concat([a, b])
    out.attrs = {
        "windows": [
            ["2020-03-12T00:00:00+00:00", "2020-03-12T01:59:00+00:00"],
            ["2021-05-19T00:00:00+00:00", "2021-05-19T01:59:00+00:00"],
        ]
    }
    return out


def test_quality_reports_missing_minutes_only_inside_windows():
    b = two_windows().drop([utc("2020-03-12 00:30"), utc("2021-05-19 01:59")])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rep = check_quality(b, freq="1m", policy="warn")
    gaps = [(f.time, f.count) for f in rep.findings if f.check == "missing_bars"]
    # the dropped minute inside window 1, and the window-2 edge minute; not the 14 months between
    assert gaps == [(utc("2020-03-12 00:30"), 1), (utc("2021-05-19 01:59"), 1)]
    assert any("documented windows" in n for n in rep.notes)
    # no return across the gap between windows (a +170 % "minute" return otherwise)
    assert not [f for f in rep.findings if f.time == utc("2021-05-19 00:00")]
    b.attrs = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plain = check_quality(b, freq="1m", policy="warn")
    # without windows the whole gap between them is one missing_bars finding
    assert max(f.count for f in plain.findings if f.check == "missing_bars") > 600_000
    assert any(f.check == "extreme_return" and f.time == utc("2021-05-19") for f in plain.findings)


def test_windows_of_a_long_frame_and_bad_windows():
    b = two_windows().drop(utc("2020-03-12 00:30"))
    long = b.reset_index().assign(symbol="BTC")
    long.attrs = {"windows": {"BTC": b.attrs["windows"]}}  # the form load_ohlcv returns
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rep = check_quality(long, freq="1m", policy="warn")
    # as for the bar frame: one missing minute, nothing between the windows
    assert [(f.time, f.count) for f in rep.findings if f.check == "missing_bars"] == [
        (utc("2020-03-12 00:30"), 1)
    ]
    with pytest.raises(ConfigError, match="must be disjoint"):
        check_quality(b, freq="1m", windows=[["2020-03-12 01:00", "2020-03-12 00:00"]])
    with pytest.raises(ConfigError, match=r"windows of - must be \[start, end\] pairs"):
        check_quality(b, freq="1m", windows=[["not a time", "2020-03-12"]])
    # an open end is not a window: the message says so (it used to show an AttributeError)
    with pytest.raises(ConfigError, match=r"every window needs both bounds"):
        check_quality(b, freq="1m", windows=[["2020-03-12 00:00", None]])


def test_stale_run_is_measured_in_time():
    b = ten_minutes()
    for c in ("open", "high", "low", "close"):
        b.iloc[3:8, b.columns.get_loc(c)] = 104.0
    b = b.drop([utc("2025-10-10 00:05"), utc("2025-10-10 00:06")])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rep = check_quality(b, freq="1m", policy="warn", stale_run=5)
    stale = [f for f in rep.findings if f.check == "stale_prices"]
    # 3 flat rows (00:03, 00:04, 00:07) spanning 5 minutes: a run of 5 >= stale_run
    assert [(f.time, f.count) for f in stale] == [(utc("2025-10-10 00:03"), 3)]
    assert "over 5 1m intervals" in stale[0].detail


def test_minute_thresholds_scale_with_time():
    from riskmodels.data import QualityThresholds

    th = QualityThresholds().resolved("1m")
    assert th.stale_run == 1440  # one day of minutes
    assert th.extreme_window == 90 * 1440  # 90 days of minutes
    assert QualityThresholds().resolved("5m").stale_run == 288


# --------------------------------------------------------------------------- a synthetic mirror
@pytest.fixture
def minute_mirror(tmp_path: Path) -> Path:
    """A mirror folder with the minute files' documented layouts and simulated numbers."""
    root = tmp_path / "mirror"
    isda = root / "isda-1m"
    isda.mkdir(parents=True)
    # 2021-05 source has no header, 2024-08 has one (PROVENANCE §2.17)
    (isda / "BTCUSDT-1m-2021-05-19.csv").write_bytes(
        kline_text(synth("2021-05-19", 1440, "1min", seed=10, p0=42_000), header=False)
    )
    (isda / "BTCUSDT-1m-2024-08-05.csv").write_bytes(
        kline_text(synth("2024-08-05", 1440, "1min", seed=11, p0=58_000), header=True)
    )
    tl = root / "theglory/analysis/timeline"
    tl.mkdir(parents=True)
    two_days = synth("2025-10-09", 2880, "1min", seed=20, p0=120_000)  # one continuous walk
    two_days[["volume", "quote_volume"]] = 0.0  # mark price: zero volumes, count 60 (§2.14)
    two_days["trades"] = 60.0
    for day in ("2025-10-09", "2025-10-10"):
        b = two_days.loc[day]
        name = f"BTCUSD_PERP-1m-{day}"
        (tl / f"{name}.zip").write_bytes(zipped(f"{name}.csv", kline_text(b, header=True)))
    five = root / "theglory/analysis/etf/data/binance data"
    five.mkdir(parents=True)
    for i, day in enumerate(("2025-10-03", "2025-10-05", "2025-10-09", "2025-10-10")):
        b = synth(day, 288, "5min", seed=30 + i, p0=121_000)
        b[["volume", "quote_volume"]] = 0.0
        space = " " if day == "2025-10-10" else ""  # as in the source (§2.14)
        member = f"BTCUSDT-5m-{day}.csv"
        (five / f"BTCUSDT-5m-{day}{space}.zip").write_bytes(
            zipped(member, kline_text(b, header=True))
        )
    cm = root / "theglory/analysis/spotandFutures/coin_margined"
    cm.mkdir(parents=True)
    with gzip.open(cm / "binance-delivery_trades_2025-10-10_AVAXUSD_PERP.csv.gz", "wt") as fh:
        tardis_trades().to_csv(fh, index=False)
    return root


def test_mirror_minute_catalog_lists_and_serves(minute_mirror):
    src = MirrorSource(minute_mirror)
    assert src.symbols("1m", "perp") == ["BTC"]
    assert src.symbols("5m", "perp") == ["BTC"]  # aggregated from the 1m extracts
    assert src.symbols("1m", "coinm") == ["AVAX"]
    assert src.symbols("1m", "coinm_mark") == ["BTC"]
    assert src.symbols("5m", "mark") == ["BTC"] and src.symbols("15m", "mark") == ["BTC"]
    assert src.symbols("1m", "mark") == []  # nothing finer than 5m for the USDⓈ-M mark
    assert src.symbols("1m", "index") == []
    with pytest.raises(DataNotFoundError, match=r"no perp 1m bars for 'ETH'.*holds: BTC"):
        src.bars("ETH", "1m", "perp")
    with pytest.raises(DataNotFoundError, match=r"no index 1m bars for 'BTC'.*holds: nothing"):
        src.bars("BTC", "1m", "index")


def test_mirror_perp_1m_windows_header_detection_and_provenance(minute_mirror):
    src = MirrorSource(minute_mirror)
    b = src.bars("BTC", "1m", "perp")
    ref = synth("2021-05-19", 1440, "1min", seed=10, p0=42_000)
    # the header-less file's first row (2021-05-19 00:00) is data and is kept, exactly
    pd.testing.assert_frame_equal(b.loc["2021-05-19"], ref, check_exact=True, check_freq=False)
    assert len(b) == 2 * 1440
    assert b.attrs["windows"] == [
        ["2021-05-19T00:00:00+00:00", "2021-05-19T23:59:00+00:00"],
        ["2024-08-05T00:00:00+00:00", "2024-08-05T23:59:00+00:00"],
    ]
    assert b.attrs["price_type"] == "last" and b.attrs["market"] == "perp"
    json.dumps(new_attrs(b))
    # closed monthly archives: as_of is the first instant after the month (no bar in progress)
    assert pd.Timestamp(b.attrs["as_of"]) == utc("2024-09-01")
    for rec in file_records(b):
        assert rec.sha256 == hashlib.sha256((minute_mirror / rec.path).read_bytes()).hexdigest()
    # nothing between the windows was filled
    assert b.loc["2021-05-20":"2024-08-04"].empty
    five = src.bars("BTC", "5m", "perp")
    pd.testing.assert_frame_equal(five, resample_bars(b, "5m"), check_exact=True)
    assert five.attrs["windows"][0] == ["2021-05-19T00:00:00+00:00", "2021-05-19T23:55:00+00:00"]


def test_mirror_mark_5m_gap_and_space_in_file_name(minute_mirror):
    src = MirrorSource(minute_mirror)
    b = src.bars("BTC", "5m", "mark")
    assert b.attrs["price_type"] == "mark"
    assert len(b.loc["2025-10-10"]) == 288  # read from "BTCUSDT-5m-2025-10-10 .zip"
    assert b.loc["2025-10-04"].empty  # the missing day stays missing
    # adjacent day files merge into one window; the 10-04 and 10-06..08 holes separate them
    assert b.attrs["windows"] == [
        ["2025-10-03T00:00:00+00:00", "2025-10-03T23:55:00+00:00"],
        ["2025-10-05T00:00:00+00:00", "2025-10-05T23:55:00+00:00"],
        ["2025-10-09T00:00:00+00:00", "2025-10-10T23:55:00+00:00"],
    ]
    assert any("10 .zip" in r["path"] for r in b.attrs["files"])
    q = src.bars("BTC", "15m", "mark")  # from 5m
    assert len(q) == 4 * 96 and q.attrs["resample"]["from"] == "5m"
    json.dumps(new_attrs(q))


def test_mirror_coinm_trades_and_coinm_mark(minute_mirror):
    src = MirrorSource(minute_mirror)
    b = src.bars("AVAX", "1m", "coinm")
    # the hand example of test_bars_from_trades_inverse_contracts_hand_example, via the file
    expected = bars_from_trades(tardis_trades(), "1m", contract_size_usd=10)
    pd.testing.assert_frame_equal(b, expected, check_exact=True)
    assert b.attrs["price_type"] == "last" and b.attrs["market"] == "coinm"
    assert b.attrs["windows"] == [["2025-10-10T00:00:00+00:00", "2025-10-10T23:59:00+00:00"]]
    m = src.bars("BTC", "1m", "coinm_mark")
    assert m.attrs["price_type"] == "mark" and len(m) == 2880
    assert m.attrs["windows"] == [["2025-10-09T00:00:00+00:00", "2025-10-10T23:59:00+00:00"]]
    json.dumps(new_attrs(m))


def test_load_ohlcv_minute_series_through_the_quality_pipeline(minute_mirror):
    src = MirrorSource(minute_mirror)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the clean files load without any finding
        perp = load_ohlcv("BTC", freq="1m", market="perp", source=src)
        mark = load_ohlcv("BTC", freq="1m", market="coinm_mark", source=src)
    assert len(perp) == 2880 and perp.attrs["price_type"] == "last"
    assert mark.attrs["price_type"] == "mark" and mark.attrs["market"] == "coinm_mark"
    assert perp.attrs["quality"]["BTC"]["findings"] == {}  # no gap between windows reported
    json.dumps(perp.attrs)
    # the trades series has minutes without trades: reported as missing bars inside the
    # window (warnings), never an error, never filled
    with pytest.warns(DataQualityWarning, match="missing_bars"):
        avax = load_ohlcv("AVAX", freq="1m", market="coinm", source=src)
    assert len(avax) == 2
    # a window cut by start/end
    cut = load_ohlcv("BTC", "1m", "2024-08-05 12:00", None, "perp", src)
    assert cut.attrs["windows"] == {
        "BTC": [["2024-08-05T12:00:00+00:00", "2024-08-05T23:59:00+00:00"]]
    }
    px = load_prices("AVAX", freq="1m", market="coinm", source=src, quality="off")
    assert px["AVAX"].isna().sum() == 2  # 00:01 and 00:02 are NaN on the grid, not filled
    assert px.attrs["price_type"] == "last"


# --------------------------------------------------------------------------- the real mirror
@pytest.mark.mirror
def test_real_minute_series_match_provenance(mirror_source):
    src = mirror_source
    perp = src.bars("BTC", "1m", "perp")
    # §2.17: 2,880 + 1,440 + 5,760 + 4,320 + 4,320 + 1,440 + 2,880 rows in 7 windows
    assert len(perp) == 23_040 and len(perp.attrs["windows"]) == 7
    assert src.bars("AVAX", "1m", "perp").shape[0] == 43_200  # §2.15
    assert src.bars("BTC", "1m", "coinm_mark").shape[0] == 2_880  # §2.14, two full days
    mark = src.bars("BTC", "5m", "mark")
    assert len(mark) == 30 * 288 and len(mark.attrs["windows"]) == 2  # 10-04 missing
    # §2.14: minutes without a trade AVAX 21, ATOM 38, DOT 1, AAVE 0; trade row counts
    for sym, missing, rows in [
        ("AVAX", 21, 137_632),
        ("ATOM", 38, 116_501),
        ("DOT", 1, 206_062),
        ("AAVE", 0, 153_481),
    ]:
        b = src.bars(sym, "1m", "coinm")
        assert (1440 - len(b), int(b.trades.sum())) == (missing, rows)
    # §2.14: 21:00 UTC hour lows on 2025-10-10
    hour = slice("2025-10-10 21:00", "2025-10-10 21:59")
    assert src.bars("BTC", "1m", "coinm_mark").loc[hour].low.min() == pytest.approx(
        102_497.5, abs=0.05
    )
    assert mark.loc[hour].low.min() == pytest.approx(101_877.7, abs=0.05)
    assert perp.loc[hour].low.min() == 101_516.5
    for frame in (perp, mark):
        json.dumps(new_attrs(frame))


@pytest.mark.mirror
def test_real_1m_extracts_aggregate_to_the_mirrors_hourly_perp_bars(mirror_source):
    # §2.17: aggregated to hours, every window reproduces the mirror's perp 1h bars exactly.
    hourly = resample_bars(mirror_source.bars("BTC", "1m", "perp"), "1h")
    native = mirror_source.bars("BTC", "1h", "perp")
    for day in ("2020-03-12", "2021-05-19", "2022-11-09", "2025-10-10"):
        a, n = hourly.loc[day], native.loc[day]
        assert len(a) == 24
        cols = ["open", "high", "low", "close"]
        np.testing.assert_array_equal(a[cols].to_numpy(), n[cols].to_numpy())


@pytest.mark.mirror
def test_real_minute_series_pass_the_default_quality_policy(mirror_source):
    for sym, market in [("BTC", "perp"), ("BTC", "coinm_mark"), ("AVAX", "coinm")]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = load_ohlcv(sym, freq="1m", market=market, source=mirror_source)  # "raise"
        assert out.attrs["quality"][sym]["errors"] == 0
        assert out.attrs["price_type"] == price_type(market)
