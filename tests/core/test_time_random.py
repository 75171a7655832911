"""Tests of the package's ground floor: one bar-frequency rule, one horizon-in-bars rule
(:mod:`riskmodels._time`) and one rng policy (:mod:`riskmodels._random`), issue 17 item 1.

Where expected values come from
-------------------------------
* The bar of an index built with ``pd.date_range(freq="1h")`` is one hour by construction;
  deleting a row leaves a two-hour step (one missing bar), which the documented rule reads as a
  gap: the answer stays one hour. No statistic is involved, so equality is exact.
* Error messages are checked for the fix they promise (the docstring of ``bar_frequency``):
  "sort the index", "drop duplicate timestamps", "reindex onto the bar grid with NaN rows:
  frame.asfreq('1h')", and the first offending timestamp, which each test constructs.
* Horizons in bars are whole-number divisions (``24h / 1h = 24``), computed by hand.
* The rng policy is SPEC 7 (scientific-python.org/specs/spec-0007): ``None`` is fresh entropy,
  an int seeds ``np.random.default_rng``, a Generator is passed through. Streams are compared
  with ``np.random.default_rng(seed)`` itself; two fresh-entropy streams of 8 uniform draws
  coincide with probability ~0 (2**-128 for the seeds alone).
* "Every package's entry point": the former seven bar-frequency sites, through their public
  functions (``walk_forward``, ``ParametricModel.fit``, ``infer_frequency`` and
  ``HistoricalScenarios``, ``as_returns_by_freq``, ``CorrelationResult.forecast``,
  ``check_quality``, ``worst_windows``, ``resample_bars``, ``entry_excursions``), are called on
  one frame and must agree.
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd
import pytest

from riskmodels._random import as_generator
from riskmodels._time import bar_frequency, horizon_bars
from riskmodels.backtest import ParametricModel, walk_forward
from riskmodels.calibration.closeout import entry_excursions
from riskmodels.calibration.horizon import as_returns_by_freq
from riskmodels.correlation import EWMACorrelation
from riskmodels.data import check_quality
from riskmodels.data.bars import resample_bars
from riskmodels.exceptions import (
    ConfigError,
    DataError,
    InsufficientDataError,
    RiskModelsError,
)
from riskmodels.scenarios import HistoricalScenarios, infer_frequency
from riskmodels.stress.historical import worst_windows

HOUR = pd.Timedelta("1h")


def _hourly(n: int = 240) -> pd.DatetimeIndex:
    return pd.date_range("2024-01-01", periods=n, freq="1h", tz="UTC", name="time")


def _returns(index: pd.DatetimeIndex) -> pd.DataFrame:
    """Decimal log returns of two assets, 1 % per bar (r / 0.01 is a unit-variance panel)."""
    rng = np.random.default_rng(11)
    return pd.DataFrame(rng.normal(0, 0.01, (len(index), 2)), index=index, columns=["A", "B"])


def _bars(index: pd.DatetimeIndex) -> pd.DataFrame:
    """OHLCV bars of a random walk with consistent high/low."""
    rng = np.random.default_rng(12)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, len(index))))
    open_ = np.r_[100.0, close[:-1]]
    return pd.DataFrame(
        {
            "open": open_,
            "high": np.maximum(open_, close) * 1.001,
            "low": np.minimum(open_, close) * 0.999,
            "close": close,
            "volume": np.full(len(index), 1e6),
        },
        index=index,
    )


def _bar_in_error(call, pattern: str) -> pd.Timedelta:
    """The bar a function read, from its "horizon shorter than one bar" error (30min here)."""
    with pytest.raises(ConfigError) as err:
        call()
    m = re.search(pattern, str(err.value))
    assert m is not None, str(err.value)
    return pd.Timedelta(m.group(1))


def _every_entry_point(index: pd.DatetimeIndex) -> dict[str, pd.Timedelta]:
    """The bar each former site reads from the frames built on ``index``."""
    r = _returns(index)
    bars = _bars(index)
    state = ParametricModel().fit(r, exposures=pd.Series({"A": 1.0, "B": 1.0}))
    fc = EWMACorrelation(univariate=None).fit(r / 0.01).forecast("3h")  # 3h / bar steps
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the missing bar is a (warned) finding
        rep = check_quality(bars, policy="warn")
    return {
        "scenarios.infer_frequency": infer_frequency(index),
        "scenarios.HistoricalScenarios": HistoricalScenarios(window=100).fit(r).freq,
        "backtest.models.ParametricModel": state.freq,
        "calibration.horizon.as_returns_by_freq": next(iter(as_returns_by_freq(r))),
        "correlation.CorrelationResult.forecast": pd.Timedelta("3h") / fc.correlation.shape[0],
        "data.quality.check_quality": pd.Timedelta(rep.freq),
        "data.bars.resample_bars": pd.Timedelta(
            resample_bars(bars, "4h").attrs["resample"]["from"]
        ),
        "stress.worst_windows": _bar_in_error(
            lambda: worst_windows(r["A"], "30min", k=1), r"data frequency (\S+) \(one bar\)"
        ),
    }


# --------------------------------------------------------------------------- bar_frequency


def test_regular_grid():
    idx = _hourly(10)
    assert bar_frequency(idx) == HOUR  # date_range(freq="1h")
    assert bar_frequency(idx, regular=True) == HOUR
    # two timestamps are enough: one step
    assert bar_frequency(idx[:2]) == HOUR
    # naive and tz-aware alike; units other than ns alike
    assert bar_frequency(idx.tz_localize(None).as_unit("s")) == HOUR


def test_one_missing_bar_is_a_gap_not_another_bar():
    idx = _hourly(10).delete(4)  # a 2h step between rows 3 and 4
    assert bar_frequency(idx) == HOUR  # the smallest step; 2h is one missing bar
    with pytest.raises(DataError) as err:
        bar_frequency(idx, regular=True)
    msg = str(err.value)
    # the fix and the first gap, which starts after row 3 (03:00) and ends at 05:00
    assert "reindex onto the bar grid with NaN rows: frame.asfreq('1h')" in msg
    assert "1 bar(s) are missing" in msg
    assert "after 2024-01-01 03:00:00+00:00" in msg and "2024-01-01 05:00:00+00:00" in msg


def test_every_entry_point_agrees_on_a_regular_frame():
    got = _every_entry_point(_hourly())
    assert got == dict.fromkeys(got, HOUR), got
    # entry_excursions over 2h: k = 2h / 1h = 2 bars, so n - 1 complete windows
    assert len(entry_excursions(_bars(_hourly()), "2h", "long")) == 240 - 1
    res = walk_forward(
        ParametricModel(), _returns(_hourly()), None, horizon="1h", window=100,
        refit_every=100, progress=False,
    )  # fmt: skip
    assert res.config["freq"] == HOUR


def test_every_entry_point_agrees_with_one_missing_bar():
    """One agreed answer (1h) from every reader; walk_forward, which needs a complete grid
    (a missing bar must be a NaN row), refuses with the named error of ``regular=True``."""
    idx = _hourly().delete(120)
    got = _every_entry_point(idx)
    assert got == dict.fromkeys(got, HOUR), got
    # entry_excursions over 2h reads 1h bars: the 2-bar window from 119 (whose next bar is
    # 2h later) is incomplete and dropped; 239 rows -> 238 windows - 1 = 237
    exc = entry_excursions(_bars(idx), "2h", "long")
    assert len(exc) == 237 and idx[119] not in exc.index and idx[118] in exc.index
    with pytest.raises(DataError, match=r"frame\.asfreq\('1h'\)"):
        walk_forward(ParametricModel(), _returns(idx), None, horizon="1h", window=100,
                     progress=False)  # fmt: skip


def test_every_entry_point_refuses_an_off_grid_timestamp():
    """A timestamp 17 minutes after a bar: no bar length makes every step a whole number of
    bars, so every reader raises the same named error naming it (check_quality wraps it in
    its documented ConfigError, "a freq that cannot be inferred", with the fix ``freq=``)."""
    idx = _hourly().insert(121, pd.Timestamp("2024-01-06 00:17", tz="UTC")).rename("time")
    r, bars = _returns(idx), _bars(idx)
    calls = {
        "infer_frequency": lambda: infer_frequency(idx),
        "HistoricalScenarios": lambda: HistoricalScenarios(window=100).fit(r),
        "ParametricModel": lambda: ParametricModel().fit(r, exposures=pd.Series({"A": 1.0})),
        "as_returns_by_freq": lambda: as_returns_by_freq(r),
        "correlation": lambda: EWMACorrelation(univariate=None).fit(r / 0.01).forecast("3h"),
        "worst_windows": lambda: worst_windows(r["A"], "2h", k=1),
        "entry_excursions": lambda: entry_excursions(bars, "2h", "long"),
        "walk_forward": lambda: walk_forward(
            ParametricModel(), r, None, horizon="1h", window=100, progress=False
        ),
    }
    for name, call in calls.items():
        with pytest.raises(DataError, match=r"2024-01-06 00:17:00.* is off the grid") as err:
            call()
        assert "Drop or re-time the off-grid rows" in str(err.value), name
    for call in (lambda: check_quality(bars), lambda: resample_bars(bars, "4h")):
        with pytest.raises(ConfigError, match=r"2024-01-06 00:17:00.* is off the grid"):
            call()


def test_unsorted_duplicate_off_grid_and_short_indexes():
    idx = _hourly(6)
    with pytest.raises(DataError, match=r"not sorted: 2024-01-01 01:00:00\+00:00 comes after"):
        bar_frequency(idx[[0, 2, 1, 3]])
    with pytest.raises(DataError, match=r"[Ss]ort the index first: frame\.sort_index\(\)"):
        bar_frequency(idx[[0, 2, 1, 3]])
    with pytest.raises(
        DataError, match=r"duplicate timestamps \(first 2024-01-01 01:00:00\+00:00"
    ) as err:
        bar_frequency(idx[[0, 1, 1, 2]])
    assert "Drop duplicate timestamps first" in str(err.value)
    off = idx.insert(3, pd.Timestamp("2024-01-01 02:30", tz="UTC"))
    # 02:30 halves a step: every step is a whole number of 30min bars (documented Note)
    assert bar_frequency(off) == pd.Timedelta("30min")
    with pytest.raises(DataError, match="regular grid of bars of 30min"):
        bar_frequency(off, regular=True)
    # 02:10 splits a step into 10min + 50min: still whole 10min bars (the rule, by hand)
    assert bar_frequency(idx.insert(3, pd.Timestamp("2024-01-01 02:10", tz="UTC"))) == (
        pd.Timedelta("10min")
    )
    # 02:17 splits it into 17min + 43min: no common bar, the named error names 02:17
    odd = idx.insert(3, pd.Timestamp("2024-01-01 02:17", tz="UTC"))
    with pytest.raises(DataError, match=r"timestamp 2024-01-01 02:17:00\+00:00 is off the grid"):
        bar_frequency(odd)
    with pytest.raises(InsufficientDataError, match="at least 2 rows \\(got 1\\)"):
        bar_frequency(idx[:1])
    with pytest.raises(InsufficientDataError, match="got 0"):
        bar_frequency(idx[:0])
    with pytest.raises(DataError, match="NaT"):
        bar_frequency(pd.DatetimeIndex([idx[0], pd.NaT, idx[1]]))
    with pytest.raises(DataError, match="DatetimeIndex"):
        bar_frequency(pd.RangeIndex(5))  # type: ignore[arg-type]
    # every error is a RiskModelsError and a ValueError
    assert issubclass(DataError, RiskModelsError) and issubclass(DataError, ValueError)


# --------------------------------------------------------------------------- horizon_bars


@pytest.mark.parametrize(
    ("horizon", "bar", "expected"),
    [
        ("1d", "1h", 24),  # 24h / 1h
        ("1D", pd.Timedelta("1D"), 1),
        (pd.Timedelta("8h"), "4h", 2),
        ("1w", "1d", 7),  # lowercase units as the package writes them
        ("15min", "5min", 3),
    ],
)
def test_horizon_bars(horizon, bar, expected):
    assert horizon_bars(horizon, bar) == expected


@pytest.mark.parametrize(
    ("horizon", "message"),
    [
        ("90min", r"horizon 90min is not a whole number of 1h bars \(1\.5 bars\)"),
        ("30min", r"horizon 30min is shorter than the data frequency 1h \(one bar\)"),
        ("-1h", r"horizon must be positive"),
        ("0h", r"horizon must be positive"),
        (3, r"horizon needs a unit"),  # a bare number would be nanoseconds
        ("soon", r"horizon must be a Timedelta such as '1d'"),
    ],
)
def test_horizon_bars_errors(horizon, message):
    with pytest.raises(ConfigError, match=message):
        horizon_bars(horizon, "1h")


def test_horizon_bars_suggests_the_neighbouring_multiples_and_refuses_a_bad_bar():
    with pytest.raises(ConfigError, match=r"such as '1d' or '2d'"):  # 36h between 24h and 48h
        horizon_bars("36h", "1d")
    with pytest.raises(ConfigError, match="bar must be a duration > 0"):
        horizon_bars("1d", "0h")


# --------------------------------------------------------------------------- as_generator


def test_none_is_fresh_entropy():
    a, b = as_generator(None), as_generator(None)
    assert a is not b
    assert not np.array_equal(a.random(8), b.random(8))  # SPEC 7: no hidden seed


def test_int_and_seed_sequence_seed_default_rng():
    np.testing.assert_array_equal(as_generator(7).random(8), np.random.default_rng(7).random(8))
    np.testing.assert_array_equal(as_generator(7).random(8), as_generator(7).random(8))
    np.testing.assert_array_equal(
        as_generator(np.int64(7)).random(8), np.random.default_rng(7).random(8)
    )
    ss = np.random.SeedSequence(7)
    np.testing.assert_array_equal(
        as_generator(ss).random(8), np.random.default_rng(np.random.SeedSequence(7)).random(8)
    )


def test_generator_is_passed_through():
    g = np.random.default_rng(3)
    assert as_generator(g) is g


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (np.random.RandomState(0), "legacy numpy.random.RandomState is not accepted"),
        (1.5, "pass an int seed such as rng=1"),
        (True, "pass an int seed such as rng=1"),
        (np.bool_(False), "pass an int seed such as rng=1"),
        ("seed", "pass an int seed such as rng=1"),
        (-1, r"rng seed must be non-negative \(got -1\)"),
    ],
)
def test_everything_else_is_refused(bad, message):
    with pytest.raises(ConfigError, match=message):
        as_generator(bad)


def test_public_functions_follow_the_policy():
    """The former seed-0 defaults (backtest bootstraps) and the former error (stress
    populations) now follow the one policy; an explicit seed reproduces the numbers."""
    from riskmodels.backtest import mcneil_frey
    from riskmodels.stress import generate_population

    rng = np.random.default_rng(21)
    x = rng.normal(size=500)
    var, es = np.full(500, 1.645), np.full(500, 2.063)  # normal 95 % VaR and ES
    assert mcneil_frey(x, var, es, n_boot=99, rng=4) == mcneil_frey(
        x, var, es, n_boot=99, rng=np.random.default_rng(4)
    )
    a = generate_population(50, 100.0, rng=5)
    b = generate_population(50, 100.0, rng=5)
    np.testing.assert_array_equal(a.quantity, b.quantity)
    generate_population(5, 100.0)  # None: fresh entropy, no longer an error
    with pytest.raises(ConfigError, match="RandomState is not accepted"):
        generate_population(5, 100.0, rng=np.random.RandomState(0))
