"""Data quality checks: injected defects on simulated bars, policies, reports, and the mirror.

Generated data: a geometric random walk with consistent OHLC (open = previous close, high/low
outside the open/close envelope by a half-normal factor), lognormal volume. Each test injects one
defect at a known bar and asserts the exact finding (check, severity, time, column, count) and
the exact repair. Real-data tests read the mirror (../shared/data, PROVENANCE.md) and skip when
it is missing.
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskmodels.data._frames import FREQUENCIES
from riskmodels.data.quality import (
    CHECKS,
    Finding,
    QualityReport,
    QualityThresholds,
    Repair,
    check_quality,
    combine,
)
from riskmodels.exceptions import (
    ConfigError,
    DataError,
    DataQualityError,
    DataQualityWarning,
    RepairWarning,
)

UTC = "UTC"


def make_bars(
    n: int = 200,
    freq: str = "1d",
    seed: int = 7,
    sigma: float = 0.02,
    start: str = "2024-01-01",
    shocks: dict[int, float] | None = None,
    p0: float = 100.0,
) -> pd.DataFrame:
    """Bars of a geometric random walk with consistent OHLC (open[t] = close[t-1])."""
    rng = np.random.default_rng(seed)
    r = rng.normal(0.0, sigma, n)
    for i, s in (shocks or {}).items():
        r[i] += s
    close = p0 * np.exp(np.cumsum(r))
    open_ = np.r_[p0, close[:-1]]
    high = np.maximum(open_, close) * np.exp(np.abs(rng.normal(0.0, sigma / 2, n)))
    low = np.minimum(open_, close) * np.exp(-np.abs(rng.normal(0.0, sigma / 2, n)))
    vol = rng.lognormal(10.0, 0.3, n)
    idx = pd.date_range(start, periods=n, freq=FREQUENCIES[freq], tz=UTC, name="time", unit="ns")
    return pd.DataFrame(
        {
            "open": open_,
            "high": high,
            "low": low,
            "close": close,
            "volume": vol,
            "quote_volume": vol * close,
            "trades": np.round(vol / 10.0),
        },
        index=idx,
    )


def quiet(bars: pd.DataFrame, **kw) -> QualityReport:
    """check_quality under policy='warn' with its warning silenced."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        return check_quality(bars, policy="warn", **kw)


def notable(rep: QualityReport) -> list[Finding]:
    """Error and warning findings (info is not a defect)."""
    return [f for f in rep.findings if f.severity != "info"]


def key(f: Finding) -> tuple:
    return (f.check, f.severity, f.time, f.column, f.count)


# --------------------------------------------------------------------------------------------
# clean data
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("freq", ["1d", "4h", "1h"])
def test_clean_series_has_no_findings_and_freq_is_inferred(freq):
    b = make_bars(500, freq=freq)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a clean series emits no warning at all
        rep = check_quality(b)
    assert rep.findings == ()
    assert rep.ok and rep.freq == freq and rep.n_bars == {None: 500}
    assert rep.data is b


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(2, 300),
    sigma=st.floats(0.001, 0.08),
    freq=st.sampled_from(["1d", "4h", "1h"]),
)
def test_property_clean_walks_have_no_errors_and_repair_is_identity(seed, n, sigma, freq):
    # Any clean walk: open = previous close, OHLC consistent, no gaps. A 5x bad-tick ratio or a
    # 10-sigma robust z would need a > 16-sigma normal draw.
    b = make_bars(n, freq=freq, seed=seed, sigma=sigma)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rep = check_quality(b, freq=freq, policy="repair")
    assert rep.errors == () and rep.warnings == ()
    assert rep.repairs == ()
    pd.testing.assert_frame_equal(rep.data, b, check_freq=False)


# --------------------------------------------------------------------------------------------
# one defect at a time: exact finding and exact repair
# --------------------------------------------------------------------------------------------
def test_duplicate_timestamp_found_and_last_row_kept():
    b = make_bars()
    extra = b.iloc[[50]].copy()
    extra["volume"] = 123.0  # same prices, different volume: the last row must win
    raw = pd.concat([b, extra])  # appended at the end: duplicate AND out of order
    rep = quiet(raw)
    assert [key(f) for f in notable(rep)] == [
        ("duplicate_timestamps", "error", b.index[50], None, 1),
        ("unsorted_timestamps", "error", b.index[50], None, 1),
    ]
    assert "2 rows share the time 2024-02-20" in rep.findings[0].detail
    with pytest.warns(RepairWarning, match=r"2 repair\(s\) applied"):
        fixed = check_quality(raw, policy="repair")
    dup, srt = fixed.repairs
    assert (dup.check, dup.time, dup.column) == ("duplicate_timestamps", b.index[50], None)
    assert dup.old == dup.new == b.close.iloc[50]
    assert "kept the last of 2 rows" in dup.action
    assert (srt.check, srt.time) == ("unsorted_timestamps", b.index[50])
    expected = b.copy()
    expected.iloc[50, expected.columns.get_loc("volume")] = 123.0
    pd.testing.assert_frame_equal(fixed.data, expected, check_freq=False)


def test_unsorted_rows_are_found_and_sorted():
    b = make_bars()
    raw = b.iloc[[*range(10), 11, 10, *range(12, len(b))]]
    rep = quiet(raw)
    assert [key(f) for f in notable(rep)] == [
        ("unsorted_timestamps", "error", b.index[10], None, 1)
    ]
    with pytest.warns(RepairWarning):
        fixed = check_quality(raw, policy="repair")
    assert [r.check for r in fixed.repairs] == ["unsorted_timestamps"]
    pd.testing.assert_frame_equal(fixed.data, b, check_freq=False)


def test_off_grid_bar_is_found_and_dropped():
    b = make_bars()
    t = b.index.to_numpy().copy()
    t[20] = t[20] + np.timedelta64(12, "h")
    raw = b.set_axis(pd.DatetimeIndex(t, name="time"), axis=0)
    rep = quiet(raw, freq="1d")
    assert [key(f) for f in notable(rep)] == [
        ("off_grid", "error", raw.index[20], None, 1),
        ("missing_bars", "warning", b.index[20], None, 1),
    ]
    with pytest.warns(RepairWarning):
        fixed = check_quality(raw, freq="1d", policy="repair")
    assert [(r.check, r.time) for r in fixed.repairs] == [("off_grid", raw.index[20])]
    assert len(fixed.data) == len(b) - 1 and b.index[20] not in fixed.data.index


@pytest.mark.parametrize(
    ("column", "value"), [("close", -1.0), ("close", np.nan), ("high", np.inf), ("open", 0.0)]
)
def test_invalid_price(column, value):
    b = make_bars()
    raw = b.copy()
    raw.iloc[30, raw.columns.get_loc(column)] = value
    rep = quiet(raw)
    assert [key(f) for f in notable(rep)] == [("invalid_price", "error", b.index[30], column, 1)]
    with pytest.warns(RepairWarning):
        fixed = check_quality(raw, policy="repair")
    (r,) = fixed.repairs
    assert (r.check, r.time, r.column) == ("invalid_price", b.index[30], column)
    assert np.isnan(r.new) and (np.isnan(r.old) if np.isnan(value) else r.old == value)
    if column == "close":
        # the row is dropped: the gap stays a gap (never forward-filled)
        assert "dropped the row" in r.action
        pd.testing.assert_frame_equal(fixed.data, b.drop(index=b.index[30]), check_freq=False)
    else:
        assert np.isnan(fixed.data[column].iloc[30]) and "not filled" in r.action
        pd.testing.assert_frame_equal(
            fixed.data.drop(columns=column), b.drop(columns=column), check_freq=False
        )


@pytest.mark.parametrize("column", ["high", "low"])
def test_ohlc_inconsistency_is_clipped_to_the_envelope(column):
    b = make_bars()
    raw = b.copy()
    lo_oc, hi_oc = sorted([b.open.iloc[40], b.close.iloc[40]])
    env = hi_oc if column == "high" else lo_oc
    bad = (lo_oc + hi_oc) / 2  # inside the open/close range: high too low or low too high
    raw.iloc[40, raw.columns.get_loc(column)] = bad
    rep = quiet(raw)
    assert [key(f) for f in notable(rep)] == [
        ("ohlc_inconsistent", "error", b.index[40], column, 1)
    ]
    assert rep.findings[0].value == pytest.approx(bad, rel=1e-15)
    with pytest.warns(RepairWarning):
        fixed = check_quality(raw, policy="repair")
    assert [(r.check, r.time, r.column, r.old, r.new) for r in fixed.repairs] == [
        ("ohlc_inconsistent", b.index[40], column, bad, env)
    ]
    assert fixed.data[column].iloc[40] == env


def test_high_below_low_is_reported():
    b = make_bars()
    raw = b.copy()
    raw.iloc[45, raw.columns.get_loc("high")] = b.low.iloc[45] * 0.98
    (f,) = notable(quiet(raw))
    assert key(f) == ("ohlc_inconsistent", "error", b.index[45], "high", 1)
    assert "below the low" in f.detail


def test_missing_bars_reported_with_gap_start_and_never_filled():
    b = make_bars()
    raw = b.drop(index=b.index[60:63])
    rep = quiet(raw)
    assert [key(f) for f in notable(rep)] == [("missing_bars", "warning", b.index[60], None, 3)]
    assert "never filled" in rep.findings[0].detail
    # under the default policy a warning-only result warns and does not raise
    with pytest.warns(DataQualityWarning, match=r"1 data quality finding\(s\): 1 missing_bars"):
        assert check_quality(raw).ok
    with pytest.warns(DataQualityWarning, match=r"1 data quality finding"):
        fixed = check_quality(raw, policy="repair")
    assert fixed.repairs == ()
    assert any("never filled" in n for n in fixed.notes)
    pd.testing.assert_frame_equal(fixed.data, raw)  # no row added, nothing filled


def test_stale_prices_run():
    b = make_bars()
    raw = b.copy()
    p = b.close.iloc[69]
    for c in ("open", "high", "low", "close"):
        raw.iloc[70:76, raw.columns.get_loc(c)] = p  # 6 flat bars at the previous close
    raw.iloc[76, raw.columns.get_loc("open")] = p  # keep open = previous close
    raw.iloc[76, raw.columns.get_loc("high")] = max(b.high.iloc[76], p)
    raw.iloc[76, raw.columns.get_loc("low")] = min(b.low.iloc[76], p)
    rep = quiet(raw)
    assert [key(f) for f in notable(rep)] == [("stale_prices", "warning", b.index[70], None, 6)]
    # 6 < 7: a longer stale_run threshold does not report it
    assert notable(quiet(raw, stale_run=7)) == []
    with pytest.warns(DataQualityWarning):
        fixed = check_quality(raw, policy="repair")
    assert fixed.repairs == ()  # reported, not changed


def test_stale_run_defaults_scale_with_freq():
    # 5 daily bars; one day of intraday bars (6 at 4h, 24 at 1h)
    assert QualityThresholds().resolved("1d").stale_run == 5
    assert QualityThresholds().resolved("4h").stale_run == 6
    assert QualityThresholds().resolved("1h").stale_run == 24
    assert QualityThresholds().resolved("1h").extreme_window == 90 * 24


def test_in_progress_from_as_of_boundary():
    b = make_bars()
    # as_of == close time of bar -3 (= open of bar -2): bar -3 is complete, -2 and -1 are not
    rep = quiet(b, as_of=b.index[-2])
    assert [key(f) for f in notable(rep)] == [("in_progress", "error", b.index[-2], None, 2)]
    assert rep.as_of == {None: b.index[-2]}
    # naive string as_of is UTC; one minute before the last close flags only the last bar
    last_close = b.index[-1] + pd.Timedelta("1D")
    as_of = (last_close - pd.Timedelta("1min")).tz_localize(None).isoformat()
    (f,) = notable(quiet(b, as_of=as_of))
    assert key(f) == ("in_progress", "error", b.index[-1], None, 1)
    assert notable(quiet(b, as_of=last_close)) == []
    # attrs["as_of"] is used when as_of is not passed
    b2 = b.copy()
    b2.attrs["as_of"] = b.index[-1]
    assert [key(f) for f in notable(quiet(b2))] == [("in_progress", "error", b.index[-1], None, 1)]
    with pytest.warns(RepairWarning, match="in_progress"):
        fixed = check_quality(b, as_of=b.index[-2], policy="repair")
    assert [(r.check, r.time) for r in fixed.repairs] == [
        ("in_progress", b.index[-2]),
        ("in_progress", b.index[-1]),
    ]
    pd.testing.assert_frame_equal(fixed.data, b.iloc[:-2], check_freq=False)


def test_in_progress_heuristic_stale_partial_bar():
    # Bar -2 captured mid-bar: its close misses the next open by 2 % (> partial_tol 1 %); the
    # series stores live bars, so the final bar is flagged too.
    b = make_bars()
    raw = b.copy()
    c = b.close.iloc[-2] * 1.02
    raw.iloc[-2, raw.columns.get_loc("close")] = c
    raw.iloc[-2, raw.columns.get_loc("high")] = max(b.high.iloc[-2], c)
    rep = quiet(raw)
    assert [key(f) for f in notable(rep)] == [
        ("in_progress", "error", b.index[-2], None, 1),
        ("in_progress", "error", b.index[-1], None, 1),
    ]
    assert "stale partial" in rep.findings[0].detail
    # not a discontinuity warning as well (already an error)
    assert not any(f.check == "discontinuity" for f in rep.findings)
    # with a known fetch time the heuristic is not used: the jump is a discontinuity warning
    rep2 = quiet(raw, as_of=b.index[-1] + pd.Timedelta("2D"))
    assert [key(f) for f in notable(rep2)] == [("discontinuity", "warning", b.index[-1], "open", 1)]
    # a 0.5 % miss is below both tolerances: nothing
    raw.iloc[-2, raw.columns.get_loc("close")] = b.close.iloc[-2] * 1.005
    raw.iloc[-2, raw.columns.get_loc("high")] = max(b.high.iloc[-2], b.close.iloc[-2] * 1.005)
    assert notable(quiet(raw)) == []


def test_stale_partial_only_searched_near_the_end():
    b = make_bars()
    raw = b.copy()
    i = len(b) - 6  # outside partial_lookback=3 bars before the final one
    raw.iloc[i, raw.columns.get_loc("close")] = b.close.iloc[i] * 1.02
    raw.iloc[i, raw.columns.get_loc("high")] = max(b.high.iloc[i], b.close.iloc[i] * 1.02)
    assert [key(f) for f in notable(quiet(raw))] == [
        ("discontinuity", "warning", b.index[i + 1], "open", 1)
    ]
    assert [f.check for f in notable(quiet(raw, partial_lookback=5))] == [
        "in_progress",
        "in_progress",
    ]


def test_in_progress_heuristic_low_final_volume():
    b = make_bars()
    med = float(np.median(b.volume.iloc[-31:-1]))
    raw = b.copy()
    raw.iloc[-1, raw.columns.get_loc("volume")] = 0.1 * med
    (f,) = notable(quiet(raw))
    assert key(f) == ("in_progress", "error", b.index[-1], None, 1)
    assert "10.0% of the median" in f.detail
    # half the usual volume is a quiet bar, not a partial one
    raw.iloc[-1, raw.columns.get_loc("volume")] = 0.5 * med
    assert notable(quiet(raw)) == []
    # with a known fetch time after the close, the volume guess is not used
    raw.iloc[-1, raw.columns.get_loc("volume")] = 0.1 * med
    assert notable(quiet(raw, as_of=b.index[-1] + pd.Timedelta("1D"))) == []
    # no volume at all: the rule cannot apply
    assert notable(quiet(raw.assign(volume=np.nan))) == []


def test_discontinuity_inside_the_series():
    b = make_bars()
    raw = b.copy()
    o = b.close.iloc[99] * 1.03
    raw.iloc[100, raw.columns.get_loc("open")] = o
    raw.iloc[100, raw.columns.get_loc("high")] = max(b.high.iloc[100], o)
    raw.iloc[100, raw.columns.get_loc("low")] = min(b.low.iloc[100], o)
    (f,) = notable(quiet(raw))
    assert key(f) == ("discontinuity", "warning", b.index[100], "open", 1)
    assert f.value == pytest.approx(0.03, rel=1e-12)  # o / close[99] - 1, algebra
    assert "+3.00%" in f.detail
    assert notable(quiet(raw, discontinuity_tol=0.05)) == []
    # across a gap the open is not compared with the close before the gap
    gap = b.drop(index=b.index[60:63])
    assert [f.check for f in notable(quiet(gap))] == ["missing_bars"]


@pytest.mark.parametrize(
    ("column", "value", "new"),
    [("low", 1e-4, "min_oc"), ("high", 1e4, "max_oc"), ("open", None, "prev_close")],
)
def test_bad_tick_found_in_its_column_and_replaced(column, value, new):
    b = make_bars()
    i = 120
    raw = b.copy()
    if column == "open":
        value = b.close.iloc[i - 1] / 10.0
        raw.iloc[i, raw.columns.get_loc("low")] = min(b.low.iloc[i], value)
    raw.iloc[i, raw.columns.get_loc(column)] = value
    rep = quiet(raw)
    expected = [("bad_tick", "error", b.index[i], column, 1)]
    if column == "open":
        # the bad open print is also the bar's low: both are bad ticks
        expected.append(("bad_tick", "error", b.index[i], "low", 1))
    assert [key(f) for f in rep.errors] == expected
    assert rep.errors[0].value == value
    assert [f.check for f in rep.warnings] == []
    with pytest.warns(RepairWarning, match="bad_tick"):
        fixed = check_quality(raw, policy="repair")
    expected_new = {
        "min_oc": min(b.open.iloc[i], b.close.iloc[i]),
        "max_oc": max(b.open.iloc[i], b.close.iloc[i]),
        "prev_close": b.close.iloc[i - 1],
    }[new]
    r = fixed.repairs[0]
    assert (r.check, r.time, r.column, r.old, r.new) == (
        "bad_tick",
        b.index[i],
        column,
        value,
        expected_new,
    )
    assert fixed.data[column].iloc[i] == expected_new
    if column == "open":
        # low := min(repaired open, close)
        (r2,) = fixed.repairs[1:]
        assert (r2.check, r2.column, r2.new) == (
            "bad_tick",
            "low",
            min(expected_new, b.close.iloc[i]),
        )
    else:
        assert len(fixed.repairs) == 1
    assert check_quality(fixed.data, policy="raise").ok  # repaired data passes


def test_bad_close_tick_drops_the_row():
    b = make_bars()
    raw = b.copy()
    raw.iloc[150, raw.columns.get_loc("close")] = b.close.iloc[150] * 10
    rep = quiet(raw)
    assert ("bad_tick", "error", b.index[150], "close", 1) in [key(f) for f in rep.errors]
    with pytest.warns(RepairWarning):
        fixed = check_quality(raw, policy="repair")
    assert ("bad_tick", b.index[150], "close") in [
        (r.check, r.time, r.column) for r in fixed.repairs
    ]
    assert b.index[150] not in fixed.data.index and len(fixed.data) == len(b) - 1


def test_extreme_return_is_info_and_kept():
    # a -0.5 log-return shock (25 sigma at sigma = 2 %) at bar 160
    b = make_bars(shocks={160: -0.5})
    rep = quiet(b)
    assert [key(f) for f in rep.findings] == [("extreme_return", "info", b.index[160], "close", 1)]
    r = np.log(b.close.iloc[160] / b.close.iloc[159])
    assert rep.findings[0].value == pytest.approx(r, rel=1e-12)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # info findings emit no warning and need no repair
        fixed = check_quality(b, policy="repair")
    assert fixed.repairs == () and fixed.data is not None and len(fixed.data) == len(b)
    assert quiet(b, extreme_z=50).findings == ()  # z is about 32


# --------------------------------------------------------------------------------------------
# policies and messages
# --------------------------------------------------------------------------------------------
def _bad_low() -> tuple[pd.DataFrame, pd.DataFrame]:
    b = make_bars()
    raw = b.copy()
    raw.iloc[120, raw.columns.get_loc("low")] = 1e-4
    return b, raw


def test_raise_policy_message_and_report():
    _, raw = _bad_low()
    with pytest.raises(
        DataQualityError,
        match=r'1 data quality error\(s\): bad_tick - at 2024-04-30 low=0\.0001.*policy="repair".*policy="warn"',
    ) as ei:
        check_quality(raw)
    rep = ei.value.report
    assert isinstance(rep, QualityReport)
    assert [f.check for f in rep.errors] == ["bad_tick"]


def test_raise_policy_respects_columns():
    _, raw = _bad_low()
    # an error in "low" does not concern a caller that uses closes: it is warned, not raised
    with pytest.warns(DataQualityWarning, match=r"1 data quality finding\(s\): 1 bad_tick"):
        rep = check_quality(raw, columns=["close"])
    assert rep.relevant_errors(["close"]) == ()
    assert [f.column for f in rep.relevant_errors(["low"])] == ["low"]
    with pytest.raises(DataQualityError, match=r"relevant to columns \['low'\]"):
        check_quality(raw, columns="low")
    # structural errors are relevant to every column
    dup = pd.concat([raw.iloc[:10], raw.iloc[[9]], raw.iloc[10:]])
    with pytest.raises(
        DataQualityError,
        match=r"1 data quality error\(s\) relevant to columns \['close'\]: duplicate_timestamps",
    ):
        check_quality(dup, columns=["close"])


def test_raise_message_lists_first_five_and_counts():
    b = make_bars()
    raw = b.copy()
    for i in range(10, 80, 10):  # 7 bad lows
        raw.iloc[i, raw.columns.get_loc("low")] = 1e-4
    with pytest.raises(DataQualityError, match=r"^7 data quality error\(s\).*; and 2 more\."):
        check_quality(raw)


def test_warn_policy_emits_exactly_one_warning():
    b, raw = _bad_low()
    raw = raw.drop(index=b.index[60:63])
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        rep = check_quality(raw, policy="warn")
    assert len(rec) == 1 and issubclass(rec[0].category, DataQualityWarning)
    assert re.search(
        r"2 data quality finding\(s\): 1 bad_tick, 1 missing_bars", str(rec[0].message)
    )
    assert rep.data is raw and not rep.ok


def test_repair_policy_emits_one_repair_warning_and_lists_everything():
    b, raw = _bad_low()
    raw = raw.drop(index=b.index[60:63])
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        rep = check_quality(raw, policy="repair")
    assert len(rec) == 1 and issubclass(rec[0].category, RepairWarning)
    assert "missing bar(s) (never filled)" in str(rec[0].message)
    assert [(r.check, r.column) for r in rep.repairs] == [("bad_tick", "low")]
    assert rep.data.index.equals(raw.index)  # the 3-bar gap is still there
    assert all(isinstance(r, Repair) for r in rep.repairs)
    assert "Repairs:" in str(rep)


@pytest.mark.parametrize(
    ("kwargs", "exc", "msg"),
    [
        ({"policy": "fix"}, ConfigError, r"policy must be one of \['raise', 'warn', 'repair'\]"),
        ({"freq": "2h"}, ConfigError, r"freq must be one of"),
        ({"columns": ["price"]}, ConfigError, r"columns must be bar fields"),
        ({"bad_tick": 3}, ConfigError, r"unknown threshold\(s\) \['bad_tick'\]"),
        ({"bad_tick_factor": 0.5}, ConfigError, r"bad_tick_factor must be a number in \(1.0"),
        ({"stale_run": 1}, ConfigError, r"stale_run must be an integer >= 2 \(got 1\)"),
        ({"as_of": "yesterday-ish"}, ConfigError, r"as_of must be a timestamp"),
    ],
)
def test_invalid_arguments(kwargs, exc, msg):
    with pytest.raises(exc, match=msg):
        check_quality(make_bars(), **kwargs)


def test_freq_inference_errors():
    b = make_bars(50, freq="1h")
    two_hourly = b.iloc[::2]
    with pytest.raises(ConfigError, match=r"bar spacing \(the smallest step between bars\) is 2h"):
        check_quality(two_hourly)
    with pytest.raises(ConfigError, match=r"cannot infer freq from 1 distinct"):
        check_quality(b.iloc[:1])
    # with freq given, a single bar is fine
    assert check_quality(b.iloc[:1], freq="1h").findings == ()


def test_input_errors():
    with pytest.raises(DataError, match=r"bars must be a pandas DataFrame \(got ndarray\)"):
        check_quality(np.zeros((3, 4)))
    with pytest.raises(DataError, match=r"DatetimeIndex of bar open times.*RangeIndex"):
        check_quality(make_bars().reset_index(drop=True))
    with pytest.raises(DataError, match=r"no 'close' column"):
        check_quality(make_bars().drop(columns="close"), freq="1d")


def test_naive_index_is_utc_and_close_only_series():
    b = make_bars()
    naive = b.tz_localize(None)
    rep = check_quality(naive)
    assert rep.findings == ()
    close_only = b[["close"]]
    rep = check_quality(close_only)
    assert rep.findings == () and any("open, high, low" in n for n in rep.notes)


def test_empty_frame_with_freq():
    rep = check_quality(make_bars().iloc[:0], freq="1d")
    assert rep.findings == () and rep.n_bars == {None: 0}


# --------------------------------------------------------------------------------------------
# long frames, reports
# --------------------------------------------------------------------------------------------
def _long() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    a = make_bars(seed=1)
    b = make_bars(seed=2)
    b.iloc[120, b.columns.get_loc("low")] = 1e-4
    long = pd.concat([a.assign(symbol="BTC"), b.assign(symbol="LINK")]).reset_index()
    return a, b, long


def test_long_frame_checked_per_symbol():
    _a, b, long = _long()
    rep = quiet(long, columns=["close"])
    assert rep.symbols == ("BTC", "LINK") and rep.n_bars == {"BTC": 200, "LINK": 200}
    assert [(f.symbol, f.check, f.time, f.column) for f in notable(rep)] == [
        ("LINK", "bad_tick", b.index[120], "low")
    ]
    s = rep.summary()
    assert s.loc["LINK", "bad_tick"] == 1 and s.loc["BTC", "bad_tick"] == 0
    # one symbol only
    only = check_quality(long, symbol="BTC")
    assert only.symbols == ("BTC",) and only.findings == ()
    with pytest.raises(ConfigError, match=r"symbol 'ETH' is not in the long frame"):
        check_quality(long, symbol="ETH")
    # a time-indexed long frame works too
    assert len(quiet(long.set_index("time")).errors) == 1


def test_long_frame_repair_returns_long_frame():
    a, b, long = _long()
    with pytest.warns(RepairWarning):
        rep = check_quality(long, policy="repair")
    assert list(rep.data.columns) == list(long.columns)
    assert len(rep.data) == 400
    fixed = rep.data[rep.data.symbol == "LINK"].set_index("time")
    assert fixed["low"].iloc[120] == min(b.open.iloc[120], b.close.iloc[120])
    # the untouched symbol is unchanged
    btc = rep.data[rep.data.symbol == "BTC"].set_index("time").drop(columns="symbol")
    pd.testing.assert_frame_equal(btc, a, check_freq=False)


def test_long_frame_mixed_spacing_and_as_of_mapping():
    d = make_bars(30).assign(symbol="D")
    h = make_bars(30, freq="4h").assign(symbol="H")
    long = pd.concat([d, h]).reset_index()
    with pytest.raises(ConfigError, match=r"symbols have different bar spacings"):
        check_quality(long)
    a, _b, long = _long()
    rep = quiet(long, as_of={"BTC": a.index[-1]}, columns=["close"])
    assert rep.as_of == {"BTC": a.index[-1], "LINK": None}
    assert [(f.symbol, f.check) for f in rep.errors] == [
        ("BTC", "in_progress"),
        ("LINK", "bad_tick"),
    ]


def test_report_views_and_rendering():
    _a, _b, long = _long()
    rep = quiet(long)
    t = rep.table()
    assert list(t.columns) == [
        "symbol",
        "check",
        "severity",
        "time",
        "column",
        "count",
        "value",
        "detail",
    ]
    assert len(t) == len(rep.findings) and str(t["time"].dt.tz) == "UTC"
    text = str(rep)
    assert text.startswith("QualityReport: 2 symbol(s) (BTC, LINK), freq 1d, 400 bars")
    assert "ERROR bad_tick LINK 2024-04-30 [low]" in text
    page = rep._repr_html_()
    assert "<table" in page and "#fde8e8" in page  # error rows coloured
    assert "http" not in page and "<script" not in page  # no external resources
    assert "1 error(s)" in repr(rep)
    assert set(rep.summary().columns) <= set(CHECKS)


def test_combine_and_merge():
    a, b, _long_frame = _long()
    ra = quiet(a, symbol="BTC")
    rb = quiet(b, symbol="LINK")
    both = ra.merge(rb)
    assert both.symbols == ("BTC", "LINK") and both.freq == "1d"
    assert [f.symbol for f in both.errors] == ["LINK"]
    assert set(both.data.columns) >= {"time", "symbol", "close"} and len(both.data) == 400
    assert combine([ra]).symbols == ("BTC",)
    with pytest.raises(ConfigError, match=r"symbol 'BTC' appears in more than one report"):
        combine([ra, ra])
    with pytest.raises(ConfigError, match=r"without a symbol"):
        combine([quiet(a)])
    with pytest.raises(ConfigError, match=r"share one freq"):
        combine([ra, quiet(make_bars(freq="4h"), symbol="ETH")])
    with pytest.raises(ConfigError, match=r"at least one"):
        combine([])


# --------------------------------------------------------------------------------------------
# the mirror (PROVENANCE.md); skipped when ../shared/data is absent
# --------------------------------------------------------------------------------------------
WAVE = "wave-structure-engine/data/{s}USDT_{f}.csv"


def _errors(rep: QualityReport, check: str) -> list[tuple]:
    return [(f.time, f.column, f.value) for f in rep.findings if f.check == check]


@pytest.mark.mirror
@pytest.mark.parametrize(("freq", "when"), [("1d", "2020-03-12"), ("4h", "2020-03-12 08:00")])
def test_mirror_link_bad_tick_low(mirror_source, freq, when):
    # PROVENANCE §2.1: LINKUSDT printed a low of 0.0001 on 2020-03-12 (1d and 4h files)
    rep = quiet(mirror_source.read_file(WAVE.format(s="LINK", f=freq)))
    assert _errors(rep, "bad_tick") == [(pd.Timestamp(when, tz=UTC), "low", 0.0001)]


@pytest.mark.mirror
@pytest.mark.parametrize("sym", ["BTC", "ETH", "BNB", "DOGE"])
def test_mirror_wave_1d_stale_partial_and_final_bar(mirror_source, sym):
    # PROVENANCE §2.1: the 2026-03-13 daily row is a stale partial bar (close != next open by
    # 1.4-3.1 %) and the last row (2026-03-14) is in progress.
    rep = quiet(mirror_source.read_file(WAVE.format(s=sym, f="1d")))
    got = [(f.time, f.count) for f in rep.findings if f.check == "in_progress"]
    assert got == [(pd.Timestamp("2026-03-13", tz=UTC), 1), (pd.Timestamp("2026-03-14", tz=UTC), 1)]
    assert "stale partial" in next(f for f in rep.findings if f.check == "in_progress").detail


@pytest.mark.mirror
@pytest.mark.parametrize(
    ("path", "last"),
    [
        (WAVE.format(s="SOL", f="1d"), "2026-03-14"),
        *[
            (WAVE.format(s=s, f="4h"), "2026-03-14 08:00")
            for s in ("BTC", "ETH", "BNB", "SOL", "DOGE")
        ],
        ("v3-trading-system/data/BTCUSDT_1d.csv", "2026-03-04"),
        ("v3-trading-system/data/ETHUSDT_1d.csv", "2026-03-04"),
    ],
)
def test_mirror_partial_final_bar_by_volume(mirror_source, path, last):
    # PROVENANCE §2.1/§2.2: the last row is in progress; fetched early in the bar, its volume is
    # 4-19 % of the trailing median, below partial_volume_ratio (20 %).
    rep = quiet(mirror_source.read_file(path))
    got = [(f.time, f.count) for f in rep.findings if f.check == "in_progress"]
    assert got == [(pd.Timestamp(last, tz=UTC), 1)]
    assert "of the median" in next(f for f in rep.findings if f.check == "in_progress").detail


@pytest.mark.mirror
@pytest.mark.parametrize("sym", ["ADA", "AVAX", "LINK", "LTC", "XRP"])
def test_mirror_wave_late_fetch_needs_as_of(mirror_source, sym):
    # The HEAD-commit files (PROVENANCE §2.1) were fetched late in their last bar (last 4h bar
    # 2026-03-17 08:00, volume 54-130 % of the trailing median): the heuristics cannot see it.
    # The 4h file shows the fetch happened after 2026-03-17 08:00; with that as as_of the rule
    # flags the last 1d and 4h bars exactly.
    as_of = pd.Timestamp("2026-03-17 08:00", tz=UTC)
    d = quiet(mirror_source.read_file(WAVE.format(s=sym, f="1d")), as_of=as_of)
    h = quiet(mirror_source.read_file(WAVE.format(s=sym, f="4h")), as_of=as_of)
    assert [(f.time, f.count) for f in d.findings if f.check == "in_progress"] == [
        (pd.Timestamp("2026-03-17", tz=UTC), 1)
    ]
    assert [(f.time, f.count) for f in h.findings if f.check == "in_progress"] == [
        (pd.Timestamp("2026-03-17 08:00", tz=UTC), 1)
    ]


@pytest.mark.mirror
def test_mirror_btc_4h_outage_gaps(mirror_source):
    # PROVENANCE §2.1: 9 missing 4h bars, Binance outages on 2018-06-26, 2018-07-04, 2019-05-15,
    # 2019-08-15, 2020-02-19. The file itself shows two more one-bar gaps (2018-11-14 04:00 and
    # 2019-03-12 04:00, both rows absent from the CSV) that make up the documented total of 9.
    rep = quiet(mirror_source.read_file(WAVE.format(s="BTC", f="4h")))
    gaps = [(f.time, f.count) for f in rep.findings if f.check == "missing_bars"]
    assert gaps == [
        (pd.Timestamp("2018-06-26 04:00", tz=UTC), 2),
        (pd.Timestamp("2018-07-04 04:00", tz=UTC), 1),
        (pd.Timestamp("2018-11-14 04:00", tz=UTC), 1),
        (pd.Timestamp("2019-03-12 04:00", tz=UTC), 1),
        (pd.Timestamp("2019-05-15 04:00", tz=UTC), 2),
        (pd.Timestamp("2019-08-15 04:00", tz=UTC), 1),
        (pd.Timestamp("2020-02-19 12:00", tz=UTC), 1),
    ]
    documented = {"2018-06-26", "2018-07-04", "2019-05-15", "2019-08-15", "2020-02-19"}
    assert documented <= {t.strftime("%Y-%m-%d") for t, _ in gaps}
    assert sum(c for _, c in gaps) == 9
    assert not any(f.check in ("duplicate_timestamps", "off_grid") for f in rep.findings)


@pytest.mark.mirror
@pytest.mark.parametrize("freq", ["1d", "4h", "1h"])
def test_mirror_gravestone_last_bar_in_progress(mirror_source, freq):
    # PROVENANCE §2.5: fetched 2026-03-19 19:49 UTC; the last bar of each file is in progress.
    # (AVAX and SOL 4h/1h end with a bar opening at 20:00, fetched a little later: their last
    # two bars close after 19:49.)
    as_of = pd.Timestamp("2026-03-19 19:49", tz=UTC)
    step = FREQUENCIES[freq]
    for sym in ("BTC", "ETH", "BNB", "SOL", "XRP", "ADA", "DOGE", "LTC", "LINK", "AVAX"):
        bars = mirror_source.read_file(f"gravestone-data/data/{freq}/{sym}USDT.csv")
        rep = quiet(bars, as_of=as_of)
        (f,) = [f for f in rep.findings if f.check == "in_progress"]
        first = bars.index.get_loc(f.time)
        assert first + f.count == len(bars)  # the run reaches the last bar
        assert f.time + step > as_of >= bars.index[first - 1] + step
        assert rep.errors == (f,)


@pytest.mark.mirror
def test_mirror_tidy_panel(mirror_path):
    # PROVENANCE §2.13: truncated at 2026-03-12 (no in-progress bars); no gaps, duplicates or
    # non-positive prices; LINK's 0.0001 low on 2020-03-12 is kept as printed.
    from riskmodels.data._frames import normalize_bars

    raw = pd.read_csv(mirror_path / "tidy" / "binance_spot_1d_long.csv")
    long = normalize_bars(raw).assign(symbol=raw["symbol"].to_numpy()).reset_index()
    rep = quiet(long)
    assert len(rep.symbols) == 10 and sum(rep.n_bars.values()) == 26944
    assert [(f.symbol, f.check, f.time, f.column) for f in rep.errors] == [
        ("LINK", "bad_tick", pd.Timestamp("2020-03-12", tz=UTC), "low")
    ]
    checks = {f.check for f in rep.findings}
    assert checks.isdisjoint({"in_progress", "missing_bars", "duplicate_timestamps"})
    # 2020-03-12 is a real crash day: reported as info, never removed (PROVENANCE §4)
    crash = {f.symbol for f in rep.infos if f.time == pd.Timestamp("2020-03-12", tz=UTC)}
    assert {"BTC", "ETH"} <= crash
    # loaders ask about one field: closes raise nothing, lows do
    with pytest.warns(DataQualityWarning):
        check_quality(long, columns=["close"])
    with pytest.raises(DataQualityError, match=r"bad_tick LINK at 2020-03-12 low=0\.0001"):
        check_quality(long, columns=["low"])
