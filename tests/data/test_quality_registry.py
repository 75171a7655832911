"""The quality-check registry: CHECKS, available_checks(), each check alone, check_quality(checks=).

Generated data only: a geometric random walk with consistent OHLC (open = previous close,
high/low outside the open/close envelope by a half-normal factor), 200 daily bars. Each
per-check case injects one defect at a known bar, chosen so that it triggers that check and no
other; the expected finding (time, column, count) follows from where the defect was put.
"""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pandas as pd
import pytest

from riskmodels.data import available_checks as available_checks_pkg
from riskmodels.data.quality import (
    CHECKS,
    CheckContext,
    Finding,
    QualityCheck,
    QualityThresholds,
    available_checks,
    check_quality,
)
from riskmodels.exceptions import ConfigError, DataQualityWarning

N = 200
FREQ = "1d"

# The module docstring's table of checks (name, severity), in the documented finding order.
DOCUMENTED = [
    ("duplicate_timestamps", "error"),
    ("unsorted_timestamps", "error"),
    ("off_grid", "error"),
    ("invalid_price", "error"),
    ("ohlc_inconsistent", "error"),
    ("in_progress", "error"),
    ("bad_tick", "error"),
    ("missing_bars", "warning"),
    ("stale_prices", "warning"),
    ("discontinuity", "warning"),
    ("extreme_return", "info"),
]


def walk(
    n: int = N,
    seed: int = 11,
    sigma: float = 0.02,
    shocks: dict[int, float] | None = None,
    flat: range | None = None,
) -> pd.DataFrame:
    """Daily bars of a random walk with consistent OHLC; ``flat`` bars have zero return and
    open = high = low = close; ``shocks`` add to the log return of the given bars."""
    rng = np.random.default_rng(seed)
    r = rng.normal(0.0, sigma, n)
    for i, s in (shocks or {}).items():
        r[i] += s
    if flat is not None:
        r[list(flat)] = 0.0
    close = 100.0 * np.exp(np.cumsum(r))
    open_ = np.r_[100.0, close[:-1]]
    high = np.maximum(open_, close) * np.exp(np.abs(rng.normal(0.0, sigma / 2, n)))
    low = np.minimum(open_, close) * np.exp(-np.abs(rng.normal(0.0, sigma / 2, n)))
    if flat is not None:
        high[list(flat)] = close[list(flat)]
        low[list(flat)] = close[list(flat)]
    vol = rng.lognormal(10.0, 0.3, n)
    idx = pd.date_range("2024-01-01", periods=n, freq="1D", tz="UTC", name="time", unit="ns")
    return pd.DataFrame(
        {"open": open_, "high": high, "low": low, "close": close, "volume": vol}, index=idx
    )


def context(bars: pd.DataFrame, as_of: pd.Timestamp | None = None) -> CheckContext:
    """The context check_quality builds for one unnamed daily bar frame (default thresholds)."""
    return CheckContext(bars, None, FREQ, as_of, QualityThresholds().resolved(FREQ))


def key(f: Finding) -> tuple:
    return (f.check, f.severity, f.time, f.column, f.count)


def quiet(bars: pd.DataFrame, **kw) -> object:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        return check_quality(bars, freq=FREQ, policy="warn", **kw)


# --------------------------------------------------------------------------------------------
# one defect per check: (bars, as_of, expected (time, column, count) of that check)
# --------------------------------------------------------------------------------------------
def case_duplicate_timestamps():
    b = walk()
    # row 50 repeated right after itself: sorted, one extra row at index[50]
    raw = pd.concat([b.iloc[:51], b.iloc[[50]], b.iloc[51:]])
    return raw, None, [(b.index[50], None, 1)]


def case_unsorted_timestamps():
    b = walk()
    # rows 50 and 51 swapped: the row at position 51 (time index[50]) steps back once
    raw = b.iloc[[*range(50), 51, 50, *range(52, N)]]
    return raw, None, [(b.index[50], None, 1)]


def case_off_grid():
    b = walk()
    # a copy of bar 100 stamped 3 h later: one bar off the daily grid; it is 3 h / 21 h from
    # its neighbours, so no adjacency (discontinuity) and no gap (missing bars skip it)
    extra = b.iloc[[100]].set_axis(pd.DatetimeIndex([b.index[100] + pd.Timedelta("3h")]))
    raw = pd.concat([b, extra]).sort_index()
    raw.index.name = "time"
    return raw, None, [(b.index[100] + pd.Timedelta("3h"), None, 1)]


def case_invalid_price():
    b = walk()
    b.iloc[80, b.columns.get_loc("low")] = 0.0  # a zero low: not positive
    return b, None, [(b.index[80], "low", 1)]


def case_ohlc_inconsistent():
    b = walk()
    o, c = b["open"].iloc[60], b["close"].iloc[60]
    # high 0.1 % below max(open, close), low left below min(open, close)
    b.iloc[60, b.columns.get_loc("high")] = max(o, c) * 0.999
    b.iloc[60, b.columns.get_loc("low")] = min(b["low"].iloc[60], max(o, c) * 0.998)
    return b, None, [(b.index[60], "high", 1)]


def case_in_progress():
    b = walk()
    # fetched 6 h into the final bar: open + 1d > as_of for that bar only
    return b, b.index[-1] + pd.Timedelta("6h"), [(b.index[-1], None, 1)]


def case_in_progress_volume():
    b = walk()
    # no as_of: the final bar's volume at 1 % of the trailing median (< partial_volume_ratio
    # 20 % of the median of the previous 30 bars) marks it as a partial bar
    b.iloc[-1, b.columns.get_loc("volume")] = 0.01 * b["volume"].iloc[-31:-1].median()
    return b, None, [(b.index[-1], None, 1)]


def case_bad_tick():
    b = walk()
    # a high print 50x its bar (> bad_tick_factor 5 times max(open, close, neighbours' closes));
    # close untouched, so no return or discontinuity moves
    b.iloc[120, b.columns.get_loc("high")] *= 50
    return b, None, [(b.index[120], "high", 1)]


def case_missing_bars():
    b = walk()
    # bars 140, 141, 142 removed: one gap of 3 bars starting at index[140]
    return b.drop(b.index[140:143]), None, [(b.index[140], None, 3)]


def case_stale_prices():
    # bars 30..36 flat (open = high = low = close, zero return): a run of 7 >= stale_run 5
    b = walk(flat=range(30, 37))
    return b, None, [(b.index[30], None, 7)]


def case_discontinuity():
    b = walk()
    # bar 90 opens 3 % above bar 89's close (> discontinuity_tol 1 %); high kept above it
    b.iloc[90, b.columns.get_loc("open")] *= 1.03
    b.iloc[90, b.columns.get_loc("high")] = max(b["high"].iloc[90], b["open"].iloc[90] * 1.001)
    return b, None, [(b.index[90], "open", 1)]


def case_extreme_return():
    # a -0.5 log-return shock at bar 150 (z about -25 on a 0.02 daily scale > extreme_z 10)
    b = walk(shocks={150: -0.5})
    return b, None, [(b.index[150], "close", 1)]


CASES = {
    "duplicate_timestamps": case_duplicate_timestamps,
    "unsorted_timestamps": case_unsorted_timestamps,
    "off_grid": case_off_grid,
    "invalid_price": case_invalid_price,
    "ohlc_inconsistent": case_ohlc_inconsistent,
    "in_progress": case_in_progress,
    "in_progress_volume": case_in_progress_volume,
    "bad_tick": case_bad_tick,
    "missing_bars": case_missing_bars,
    "stale_prices": case_stale_prices,
    "discontinuity": case_discontinuity,
    "extreme_return": case_extreme_return,
}


def many_defects() -> tuple[pd.DataFrame, pd.Timestamp | None]:
    """One frame with the defects of all cases that do not collide (positions differ)."""
    b = walk(shocks={150: -0.5}, flat=range(30, 37))
    b.iloc[80, b.columns.get_loc("low")] = 0.0
    b.iloc[120, b.columns.get_loc("high")] *= 50
    b.iloc[90, b.columns.get_loc("open")] *= 1.03
    b.iloc[90, b.columns.get_loc("high")] = max(b["high"].iloc[90], b["open"].iloc[90] * 1.001)
    o, c = b["open"].iloc[60], b["close"].iloc[60]
    b.iloc[60, b.columns.get_loc("high")] = max(o, c) * 0.999
    b.iloc[60, b.columns.get_loc("low")] = min(b["low"].iloc[60], max(o, c) * 0.998)
    extra = b.iloc[[100]].set_axis(pd.DatetimeIndex([b.index[100] + pd.Timedelta("3h")]))
    b = pd.concat([b.drop(b.index[140:143]), extra]).sort_index()
    # row 20 twice (a duplicate), rows 21 and 22 swapped (unsorted)
    b = pd.concat([b.iloc[:21], b.iloc[[20]], b.iloc[[22, 21]], b.iloc[23:]])
    b.index.name = "time"
    return b, b.index.max() + pd.Timedelta("6h")


# --------------------------------------------------------------------------------------------
# the registry
# --------------------------------------------------------------------------------------------
def test_registry_lists_the_documented_checks_in_order():
    # expected: the table of the module docstring (DOCUMENTED above)
    assert [(c.name, c.severity) for c in CHECKS.values()] == DOCUMENTED
    assert all(isinstance(c, QualityCheck) and name == c.name for name, c in CHECKS.items())
    table = available_checks()
    assert list(table.index) == [n for n, _ in DOCUMENTED]
    assert table.index.name == "check"
    assert list(table.columns) == ["severity", "fields", "description", "repair"]
    assert list(table["severity"]) == [s for _, s in DOCUMENTED]
    assert (table["description"].str.len() > 20).all()
    assert (table["fields"].str.len() > 0).all()
    # the repair column agrees with the docstring table: warnings and info are never repaired
    never = table.loc[table["severity"] != "error", "repair"]
    assert never.str.startswith("none").all()
    pd.testing.assert_frame_equal(available_checks_pkg(), table)


def test_every_check_documents_its_rule():
    # each check function's docstring states what it flags, its severity and its repair
    for c in CHECKS.values():
        doc = c.run.__doc__ or ""
        assert f"Severity ``{c.severity}``" in " ".join(doc.split()), c.name
        assert "Repair" in doc, c.name


def test_quality_check_is_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        CHECKS["bad_tick"].severity = "info"  # type: ignore[misc]


# --------------------------------------------------------------------------------------------
# each check alone
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("case", sorted(CASES))
def test_each_check_alone_flags_exactly_the_injected_rows(case):
    name = case.removesuffix("_volume")
    bars, as_of, expected = CASES[case]()
    sev = CHECKS[name].severity
    want = [(name, sev, t, col, cnt) for t, col, cnt in expected]
    # through the registry, on the context check_quality builds
    assert [key(f) for f in CHECKS[name](context(bars, as_of))] == want
    # the frame triggers only this check: the full run finds exactly the same
    rep = quiet(bars, as_of=as_of)
    assert [key(f) for f in rep.findings] == want
    # and check_quality(checks=[name]) agrees
    alone = quiet(bars, as_of=as_of, checks=[name])
    assert [key(f) for f in alone.findings] == want


def test_clean_walk_has_no_findings_in_any_check():
    # the base walk of every case: a clean series, no check flags anything
    ctx = context(walk())
    assert {name: c(ctx) for name, c in CHECKS.items()} == {name: [] for name in CHECKS}


# --------------------------------------------------------------------------------------------
# all checks and subsets
# --------------------------------------------------------------------------------------------
def test_running_every_registered_check_equals_check_quality():
    bars, as_of = many_defects()
    rep = quiet(bars, as_of=as_of)
    assert {f.check for f in rep.findings} == set(CHECKS)  # the frame exercises every check
    ctx = context(bars, as_of)
    order = {n: i for i, n in enumerate(CHECKS)}
    mine = sorted(
        (f for c in CHECKS.values() for f in c(ctx)), key=lambda f: (order[f.check], f.time)
    )
    assert tuple(mine) == rep.findings
    # naming all checks is the default, under every policy
    every = quiet(bars, as_of=as_of, checks=list(CHECKS))
    assert every.findings == rep.findings and every.notes == rep.notes
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fixed = check_quality(bars, freq=FREQ, as_of=as_of, policy="repair")
        fixed_all = check_quality(
            bars, freq=FREQ, as_of=as_of, policy="repair", checks=reversed(list(CHECKS))
        )
    assert fixed_all.findings == fixed.findings and fixed.repairs
    # (Repair.old/new hold NaN for a sort, so compare the tables, where NaN equals NaN)
    pd.testing.assert_frame_equal(fixed_all.repairs_table(), fixed.repairs_table())
    pd.testing.assert_frame_equal(fixed_all.data, fixed.data)


@pytest.mark.parametrize("name", list(CHECKS))
def test_a_check_alone_finds_what_it_finds_among_all(name):
    # the context computes what checks share (e.g. the in-progress and bad-tick masks that
    # discontinuity skips), so a check's findings do not depend on which others run
    bars, as_of = many_defects()
    full = quiet(bars, as_of=as_of)
    alone = quiet(bars, as_of=as_of, checks=name)
    assert alone.findings == tuple(f for f in full.findings if f.check == name)
    assert alone.findings  # many_defects triggers every check


def test_subset_keeps_registry_order_and_says_what_ran():
    bars, as_of = many_defects()
    full = quiet(bars, as_of=as_of)
    a = quiet(bars, as_of=as_of, checks=["missing_bars", "bad_tick"])
    b = quiet(bars, as_of=as_of, checks=("bad_tick", "missing_bars", "bad_tick"))
    assert a.findings == b.findings
    assert a.findings == tuple(f for f in full.findings if f.check in ("bad_tick", "missing_bars"))
    # the note names the checks in registry order (bad_tick before missing_bars)
    assert (
        a.notes[-1]
        == "only the check(s) bad_tick, missing_bars were run (checks=); the other 9 were not."
    )
    assert not any("were run (checks=)" in n for n in full.notes)


def test_unknown_or_empty_checks_are_config_errors():
    bars = walk()
    with pytest.raises(
        ConfigError,
        match=r"unknown check\(s\) \['bad_ticks'\].*available: \['duplicate_timestamps'",
    ):
        check_quality(bars, checks=["bad_ticks"])
    with pytest.raises(ConfigError, match=r"no check"):
        check_quality(bars, checks=[])


def test_repair_needs_every_check():
    with pytest.raises(ConfigError, match=r"policy='repair' runs every check"):
        check_quality(walk(), policy="repair", checks=["bad_tick"])
