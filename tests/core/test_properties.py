"""Property-based tests (Hypothesis) over the public boundaries of riskmodels (issue 16, item 6).

For every generated input a public function either returns a valid result (finite where it should
be finite, with the right shape and index) or raises an error that is an instance of
:class:`riskmodels.exceptions.RiskModelsError`. A generic Python error (``TypeError``,
``ZeroDivisionError``, ``LinAlgError``, a pandas error, a ``RuntimeWarning``, which the pytest
config turns into an error) fails the test, and so does a silent NaN or inf in a number.

Boundaries: price and return frames (``riskmodels.data``), volatility fits, VaR/ES, correlation
matrices, horizons and confidence levels, positions and wallets (``riskmodels.margin``,
``riskmodels.instruments``) and run configs (``riskmodels.config``).

The number of examples comes from the Hypothesis profile (``tests/conftest.py``):
``HYPOTHESIS_PROFILE=ci`` (default; fixed seed, few examples) or ``HYPOTHESIS_PROFILE=long``.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import tempfile
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from riskmodels._time import as_timedelta
from riskmodels.config import RunConfig, load_config
from riskmodels.correlation import CorrelationForecast, equicorrelation, simulate_dcc
from riskmodels.data import check_quality, log_returns, normalize_bars, returns, simple_returns
from riskmodels.exceptions import (
    ConfigError,
    DataError,
    ModelError,
    ResourceLimitError,
    RiskModelsError,
    RiskModelsWarning,
)
from riskmodels.instruments import Account, InversePerp, LinearPerp
from riskmodels.margin import isolated_liquidation_price
from riskmodels.margin.tiers import TierTable
from riskmodels.risk import (
    es,
    es_cornish_fisher,
    es_normal,
    es_t,
    estimate,
    var,
    var_cornish_fisher,
    var_es,
    var_normal,
    var_t,
)
from riskmodels.scenarios import as_horizon
from riskmodels.volatility import EWMA, GARCH


def examples(share: float) -> int:
    """A share of the profile's ``max_examples`` (40 under ``ci``): fits and big inputs get fewer,
    cheap boundaries more; the ``long`` profile scales them all."""
    return max(2, round(settings.default.max_examples * share))


#: What a public function returns when it refused its input with a riskmodels error.
REFUSED = object()


@contextmanager
def _quiet() -> Iterator[None]:
    """Silence riskmodels' own (and arch's) warnings; RuntimeWarning stays an error, and so do
    pandas' and numpy's deprecations (an input pandas will stop reading is not a valid one)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", FutureWarning)
        warnings.simplefilter("error", DeprecationWarning)
        warnings.simplefilter("ignore", RiskModelsWarning)
        try:
            from arch.utility.exceptions import ConvergenceWarning, DataScaleWarning

            warnings.simplefilter("ignore", ConvergenceWarning)
            warnings.simplefilter("ignore", DataScaleWarning)
        except ImportError:  # pragma: no cover - arch is a dependency
            pass
        yield


def call(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)``, or :data:`REFUSED` when it raised a riskmodels error.

    Any other exception propagates and fails the test: that is the property.
    """
    try:
        with _quiet():
            return fn(*args, **kwargs)
    except RiskModelsError as exc:
        assert str(exc), f"{type(exc).__name__} without a message"
        return REFUSED


def _finite(x: Any) -> bool:
    return bool(np.all(np.isfinite(np.asarray(x, dtype=float))))


# =============================================================================================
# strategies
# =============================================================================================
#: Any float, NaN and +-inf included.
any_float = st.floats(allow_nan=True, allow_infinity=True)
#: Floats a user might pass as a price or P&L, NaN/inf and extremes included.
wild_float = st.one_of(
    any_float,
    st.sampled_from([0.0, -0.0, 1.0, -1.0, 1e-300, 5e-324, 1e300, 1.7976931348623157e308]),
)
#: Values that are not numbers at all.
junk = st.one_of(
    st.none(),
    st.booleans(),
    st.text(max_size=5),
    st.sampled_from(["n/a", "", "-", "1e3", "nan", "inf", "0x10"]),
    st.lists(st.integers(), max_size=2),
)
#: Confidence levels / alpha: the valid range, its edges and beyond, NaN, junk.
alphas = st.one_of(
    st.sampled_from([0.0, 1.0, -0.5, 1.5, math.nan, math.inf, 0.01, 0.5, 0.9, 0.95, 0.99, 0.999]),
    st.floats(min_value=0.0, max_value=1.0),
    any_float,
    st.integers(-2, 2),
    junk,
)

_TZS = [None, "UTC", "Asia/Tokyo", "America/New_York"]


@st.composite
def time_index(draw: st.DrawFn, n: int) -> pd.Index:
    """An index of ``n`` labels: daily UTC (the valid case), naive, other tz, unsorted,
    duplicated, gapped, mixed time zones, integers or strings."""
    kind = draw(
        st.sampled_from(
            ["utc", "utc", "utc", "naive", "tz", "unsorted", "dup", "gaps", "mixed", "int", "str"]
        )
    )
    freq = draw(st.sampled_from(["1D", "4h", "1h", "1min"]))
    base = pd.date_range("2024-01-01", periods=n, freq=freq, tz="UTC")
    if kind == "utc":
        return base
    if kind == "naive":
        return base.tz_localize(None)
    if kind == "tz":
        return base.tz_convert(draw(st.sampled_from(_TZS[2:])))
    if kind == "unsorted":
        perm = draw(st.permutations(range(n)))
        return base[list(perm)]
    if kind == "dup":
        if n == 0:
            return base
        pos = draw(st.lists(st.integers(0, n - 1), min_size=n, max_size=n))
        return base[sorted(pos)]
    if kind == "gaps":
        steps = draw(st.lists(st.integers(1, 5), min_size=n, max_size=n))
        return pd.DatetimeIndex(base[0] + np.cumsum(steps) * pd.Timedelta(freq)) if n else base
    if kind == "mixed":
        tzs = draw(st.lists(st.sampled_from(_TZS), min_size=n, max_size=n))
        return pd.Index(
            [
                t.tz_localize(None) if z is None else t.tz_convert(z)
                for t, z in zip(base, tzs, strict=True)
            ],
            dtype=object,
        )
    if kind == "int":
        return pd.RangeIndex(n)
    return pd.Index([str(t) for t in base], dtype=object)


@st.composite
def column_values(draw: st.DrawFn, n: int) -> np.ndarray | list[Any]:
    """One column of ``n`` prices: positive floats (valid), floats with NaN/inf/<=0, integers,
    strings ('n/a', numbers as text), booleans, or a mix (object dtype)."""
    kind = draw(st.sampled_from(["pos", "pos", "pos", "float", "int", "str", "bool", "object"]))
    if kind == "pos":
        lo = draw(st.sampled_from([1e-8, 1e-3, 1.0, 100.0]))
        vals = draw(
            st.lists(st.one_of(st.floats(lo, lo * 1e4), st.just(math.nan)), min_size=n, max_size=n)
        )
        return np.asarray(vals, dtype="float64")
    if kind == "float":
        return np.asarray(draw(st.lists(wild_float, min_size=n, max_size=n)), dtype="float64")
    if kind == "int":
        return np.asarray(draw(st.lists(st.integers(-5, 10**6), min_size=n, max_size=n)))
    if kind == "bool":
        return np.asarray(draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    if kind == "str":
        return draw(
            st.lists(
                st.one_of(st.floats(0.1, 1e4).map(str), st.sampled_from(["n/a", "", "-", "1,5"])),
                min_size=n,
                max_size=n,
            )
        )
    return draw(st.lists(st.one_of(wild_float, junk, st.integers(1, 100)), min_size=n, max_size=n))


@st.composite
def price_frames(draw: st.DrawFn, max_rows: int = 8) -> pd.DataFrame | pd.Series:
    """A user price panel: 0..max_rows rows, 1..3 columns, any index and dtype; or a Series."""
    n = draw(st.integers(0, max_rows))
    k = draw(st.integers(1, 3))
    idx = draw(time_index(n))
    names = draw(
        st.lists(st.sampled_from(["BTC", "ETH", "SOL", "XRP"]), min_size=k, max_size=k, unique=True)
    )
    data = {c: pd.Series(draw(column_values(n)), index=idx) for c in names}
    frame = pd.DataFrame(data, index=idx)
    if draw(st.booleans()) and k == 1:
        return frame.iloc[:, 0]
    return frame


# =============================================================================================
# price and return frames
# =============================================================================================
@given(prices=price_frames(), gaps=st.sampled_from(["nan", "span", "raise", "fill", None]))
@example(prices=pd.DataFrame({"BTC": []}, index=pd.DatetimeIndex([], tz="UTC")), gaps="nan")
@example(prices=pd.Series([1.0], index=pd.date_range("2024", periods=1, tz="UTC")), gaps="span")
def test_log_returns_valid_or_refused(prices: pd.DataFrame | pd.Series, gaps: Any) -> None:
    """riskmodels.data.log_returns / simple_returns / returns on any user price frame: a float
    frame with the prices' index and columns, finite wherever two consecutive prices are valid
    and NaN in the first row; else a riskmodels error."""
    out = call(log_returns, prices, gaps=gaps)
    simple = call(simple_returns, prices, gaps=gaps)
    if out is REFUSED:
        assert simple is REFUSED
        return
    if simple is REFUSED:  # only a price ratio beyond the float maximum
        assert np.nanmax(out.to_numpy()) > np.log(np.finfo(float).max)
        simple = out.map(lambda _: 0.0)
    if isinstance(prices, pd.Series):  # an unnamed Series gives the column "price"
        frame = prices.to_frame("price" if prices.name is None else prices.name)
    else:
        frame = prices
    assert isinstance(out, pd.DataFrame)
    assert out.index.equals(frame.index)
    assert list(out.columns) == list(frame.columns)
    assert all(pd.api.types.is_float_dtype(d) for d in out.dtypes)
    vals = out.to_numpy()
    assert not np.isinf(vals).any(), "log returns with inf"
    if len(out):
        assert np.isnan(vals[0]).all()
    px = frame.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
    both = np.isfinite(px[1:]) & np.isfinite(px[:-1])
    assert np.isfinite(vals[1:][both]).all(), "NaN return between two valid prices"
    assert not np.isinf(simple.to_numpy()).any()
    assert call(returns, prices, "log", gaps=gaps) is not REFUSED


_BAR_TIME_NAMES = st.sampled_from(["open_time", "timestamp", "time", "date", "datetime", "when"])


@st.composite
def raw_kline_tables(draw: st.DrawFn) -> pd.DataFrame:
    """A raw kline table as read from a file: some time column (epochs, ISO strings, junk) and
    some of the bar columns with any values."""
    n = draw(st.integers(0, 6))
    tname = draw(_BAR_TIME_NAMES)
    times = draw(
        st.one_of(
            st.lists(st.integers(-(10**18), 10**18), min_size=n, max_size=n),
            st.lists(
                st.sampled_from([1_704_067_200, 1_704_067_200_000, 1_704_067_200_000_000]),
                min_size=n,
                max_size=n,
            ),
            st.lists(
                st.datetimes(
                    min_value=dt.datetime(1970, 1, 2), max_value=dt.datetime(2200, 1, 1)
                ).map(lambda d: d.isoformat()),
                min_size=n,
                max_size=n,
            ),
            st.lists(st.one_of(junk, wild_float), min_size=n, max_size=n),
        )
    )
    cols = draw(
        st.lists(st.sampled_from(["open", "high", "low", "close", "volume", "count"]), unique=True)
    )
    data: dict[str, Any] = {tname: times}
    for c in cols:
        data[c] = draw(column_values(n))
    return pd.DataFrame(data)


@settings(max_examples=examples(0.7))
@given(raw=raw_kline_tables())
def test_normalize_bars_valid_or_refused(raw: pd.DataFrame) -> None:
    """riskmodels.data.normalize_bars on any raw table: a bar frame (UTC DatetimeIndex, float64
    bar columns, one row per input row); else a riskmodels error."""
    out = call(normalize_bars, raw, what="raw")
    if out is REFUSED:
        return
    assert isinstance(out.index, pd.DatetimeIndex)
    assert str(out.index.tz) == "UTC"
    assert len(out) == len(raw)
    assert all(d == np.dtype("float64") for d in out.dtypes)


@st.composite
def bar_frames(draw: st.DrawFn) -> pd.DataFrame:
    """A user bar frame (open/high/low/close[/volume]) on any index, with any values."""
    n = draw(st.integers(0, 12))
    idx = draw(time_index(n))
    cols = ["open", "high", "low", "close"] + (["volume"] if draw(st.booleans()) else [])
    if draw(st.booleans()):  # a plausible series with a few defects
        close = 100 * np.exp(
            np.cumsum(draw(st.lists(st.floats(-0.2, 0.2), min_size=n, max_size=n)))
        )
        frame = pd.DataFrame(
            {"open": close, "high": close * 1.01, "low": close * 0.99, "close": close}, index=idx
        )
        if "volume" in cols:
            frame["volume"] = draw(st.lists(st.floats(0, 1e6), min_size=n, max_size=n)) or []
        for _ in range(draw(st.integers(0, 3))):
            if n:
                frame.iloc[draw(st.integers(0, n - 1)), draw(st.integers(0, len(cols) - 1))] = draw(
                    wild_float
                )
        return frame
    return pd.DataFrame({c: pd.Series(draw(column_values(n)), index=idx) for c in cols}, index=idx)


@settings(max_examples=examples(1.0))
@given(
    bars=bar_frames(),
    policy=st.sampled_from(["raise", "warn", "repair"]),
    freq=st.sampled_from([None, "1d", "4h", "1m", "2d"]),
)
def test_check_quality_valid_or_refused(bars: pd.DataFrame, policy: str, freq: str | None) -> None:
    """riskmodels.data.check_quality on any user bar frame: a QualityReport whose repaired data
    (policy='repair') has a sorted, unique UTC index; else a riskmodels error."""
    rep = call(check_quality, bars, freq=freq, policy=policy)
    if rep is REFUSED:
        return
    assert isinstance(rep.ok, bool)
    assert isinstance(rep.table(), pd.DataFrame)
    str(rep)
    if policy == "repair" and rep.data is not None and len(rep.data):
        data = rep.data
        idx = (
            data.index
            if isinstance(data.index, pd.DatetimeIndex)
            else pd.DatetimeIndex(data["time"])
        )
        if "symbol" not in data.columns:
            assert idx.is_monotonic_increasing and idx.is_unique


# =============================================================================================
# volatility fits
# =============================================================================================
@st.composite
def return_series(draw: st.DrawFn, min_n: int = 98, max_n: int = 130) -> pd.Series:
    """Decimal returns of one asset around the models' 100-observation minimum, mostly valid,
    sometimes with NaN/inf, a constant run, percent units, integer or object dtype, or a bad
    index."""
    n = draw(st.integers(min_n, max_n))
    seed = draw(st.integers(0, 2**32 - 1))
    scale = draw(st.sampled_from([0.01, 0.01, 0.03, 0.03, 1e-6, 5.0]))
    x = np.random.default_rng(seed).standard_t(5, n) * scale
    idx: pd.Index = pd.date_range("2023-01-01", periods=n, freq="1D", tz="UTC")
    defect = draw(
        st.sampled_from(
            ["none"] * 8 + ["nan", "lead_nan", "lead_nan", "inf", "const", "int", "object", "index"]
        )
    )
    values: Any = x
    if defect == "nan":
        values = x.copy()
        values[draw(st.integers(1, n - 2))] = np.nan
    elif defect == "lead_nan":
        values = x.copy()
        values[: draw(st.integers(1, 10))] = np.nan
    elif defect == "inf":
        values = x.copy()
        values[draw(st.integers(0, n - 1))] = draw(st.sampled_from([np.inf, -np.inf]))
    elif defect == "const":
        values = np.full(n, draw(st.sampled_from([0.0, 0.01])))
    elif defect == "int":
        values = (x * 100).astype(int)
    elif defect == "object":
        values = np.asarray([f"{v:.4f}" for v in x], dtype=object)
    elif defect == "index":
        idx = draw(time_index(n))
    return pd.Series(values, index=idx, name=draw(st.sampled_from([None, "BTC", 3])))


def _check_vol_result(res: Any, y: pd.Series) -> None:
    vol = res.conditional_volatility
    assert isinstance(vol, pd.Series)
    assert vol.index.isin(y.index).all()
    assert len(vol) == y.notna().sum()
    assert np.isfinite(vol.to_numpy()).all() and (vol.to_numpy() > 0).all()
    assert np.isfinite(res.loglikelihood)


@given(
    lam=st.one_of(st.sampled_from([0.0, 1.0, -1.0, math.nan, "0.9", True]), alphas),
    p=st.one_of(st.sampled_from([1, 0, -1, 1.5, "1", True, None]), st.integers()),
    dist=st.sampled_from(["normal", "t", "skewt", "ged", "", None]),
    mean=st.sampled_from(["zero", "constant", "ar", None]),
)
def test_volatility_spec_args_valid_or_refused(lam: Any, p: Any, dist: Any, mean: Any) -> None:
    """riskmodels.volatility EWMA(lam, dist, mean) / GARCH(p, dist, mean) construction from any
    arguments: a spec with a name and parameter names; else a ConfigError."""
    for spec in (call(EWMA, lam=lam, dist=dist, mean=mean), call(GARCH, p=p, dist=dist, mean=mean)):
        if spec is not REFUSED:
            assert isinstance(spec.label, str) and spec.label
            assert spec.min_obs >= 100
            assert isinstance(spec.param_names, tuple)


@settings(max_examples=examples(0.6))
@given(y=return_series(), lam=st.sampled_from([0.94, 0.97, 0.5, 0.999]))
def test_ewma_fit_valid_or_refused(y: pd.Series, lam: float) -> None:
    """riskmodels.volatility.EWMA(lam).fit on any Series: positive finite conditional volatility
    on the listed span of the input index; else a riskmodels error."""
    res = call(EWMA(lam=lam).fit, y)
    if res is not REFUSED:
        _check_vol_result(res, y)


@settings(max_examples=examples(0.4))
@given(y=return_series(min_n=100, max_n=110), dist=st.sampled_from(["normal", "t"]))
def test_garch_fit_valid_or_refused(y: pd.Series, dist: str) -> None:
    """riskmodels.volatility.GARCH(dist=...).fit on any Series (few examples: fitting is slow):
    positive finite conditional volatility, or a riskmodels error (never an arch or scipy
    error)."""
    res = call(GARCH(dist=dist).fit, y, on_failure="warn")
    if res is not REFUSED:
        _check_vol_result(res, y)


# =============================================================================================
# VaR and ES
# =============================================================================================
@st.composite
def pnl_arrays(draw: st.DrawFn) -> np.ndarray:
    """P&L samples: 1-D or 2-D (or 0-D/3-D), finite or with NaN/inf/extremes, empty included."""
    ndim = draw(st.sampled_from([1, 1, 1, 2, 2, 0, 3]))
    shape = draw(hnp.array_shapes(min_dims=ndim, max_dims=ndim, min_side=0, max_side=40))
    elems = draw(
        st.sampled_from(
            [
                st.floats(-1e6, 1e6),
                st.floats(-1e6, 1e6),
                st.floats(allow_nan=True, allow_infinity=True),
                st.floats(-1e307, 1e307),
                st.integers(-(10**6), 10**6).map(float),
            ]
        )
    )
    return draw(hnp.arrays(np.float64, shape, elements=elems))


@st.composite
def weight_arrays(draw: st.DrawFn, pnl: np.ndarray) -> Any:
    """Scenario weights for ``pnl``: None, one per scenario, pnl's shape, a wrong shape, or
    negative/zero/NaN/huge entries."""
    kind = draw(st.sampled_from(["none", "none", "scen", "full", "wrong", "junk"]))
    if kind == "none":
        return None
    if kind == "junk":
        return draw(junk)
    n = pnl.shape[0] if pnl.ndim else 1
    shape = {"scen": (n,), "full": pnl.shape, "wrong": (n + 1,)}[kind]
    elems = draw(
        st.sampled_from(
            [st.floats(0, 10), st.floats(0, 1e300), any_float, st.sampled_from([0.0, 1.0, -1.0])]
        )
    )
    return draw(hnp.arrays(np.float64, shape, elements=elems))


@settings(max_examples=examples(2.0))
@given(data=st.data(), alpha=alphas, axis=st.sampled_from([0, 1, -1, 2, 0.5, True]))
def test_var_es_valid_or_refused(data: st.DataObject, alpha: Any, axis: Any) -> None:
    """riskmodels.risk.var / es / var_es on any P&L sample, alpha, weights and axis: finite
    values (a float for 1-D P&L, one per account for 2-D), ES >= VaR, and var/es/var_es agree;
    else a riskmodels error."""
    pnl = data.draw(pnl_arrays(), label="pnl")
    weights = data.draw(weight_arrays(pnl), label="weights")
    both = call(var_es, pnl, alpha, weights, axis=axis)
    v = call(var, pnl, alpha, weights, axis=axis)
    e = call(es, pnl, alpha, weights, axis=axis)
    # var_es refuses what var or es refuses (an ES that overflows float64 while the VaR does
    # not is refused by es and var_es alone)
    assert (both is REFUSED) == (v is REFUSED or e is REFUSED)
    if both is REFUSED:
        return
    bv, be = both
    assert _finite(bv) and _finite(be), f"non-finite VaR/ES {bv!r}, {be!r}"
    np.testing.assert_array_equal(bv, v)
    np.testing.assert_array_equal(be, e)
    if pnl.ndim == 1:
        assert isinstance(bv, float) and isinstance(be, float)
    else:
        ax = int(axis) % 2
        assert np.shape(bv) == (pnl.shape[1 - ax],)
    scale = np.max(np.abs(pnl)) if pnl.size else 1.0
    assert np.all(np.asarray(be) >= np.asarray(bv) - 1e-9 * max(scale, 1.0))


@settings(max_examples=examples(1.3))
@given(
    mu=st.one_of(any_float, st.floats(-100, 100), junk),
    sigma=st.one_of(any_float, st.floats(0, 100), junk),
    nu=st.one_of(any_float, st.floats(0, 50), st.sampled_from([1.0, 2.0, 2.0000001, 3.0]), junk),
    skew=st.one_of(st.floats(-3, 3), any_float),
    kurt=st.one_of(st.floats(-3, 10), any_float),
    alpha=alphas,
    standardized=st.booleans(),
)
def test_parametric_var_es_valid_or_refused(
    mu: Any, sigma: Any, nu: Any, skew: Any, kurt: Any, alpha: Any, standardized: bool
) -> None:
    """riskmodels.risk parametric VaR/ES (normal, Student-t, Cornish-Fisher) at any parameters
    and alpha: a finite float with ES >= VaR; else a riskmodels error."""
    pairs = [
        (call(var_normal, mu, sigma, alpha), call(es_normal, mu, sigma, alpha)),
        (
            call(var_t, mu, sigma, nu, alpha, standardized=standardized),
            call(es_t, mu, sigma, nu, alpha, standardized=standardized),
        ),
        (
            call(var_cornish_fisher, mu, sigma, skew, kurt, alpha),
            call(es_cornish_fisher, mu, sigma, skew, kurt, alpha),
        ),
    ]
    for v, e in pairs:
        for x in (v, e):
            if x is not REFUSED:
                assert _finite(x), f"non-finite parametric VaR/ES {x!r}"
        if v is not REFUSED and e is not REFUSED:
            va, ea = np.asarray(v, dtype=float), np.asarray(e, dtype=float)
            assert va.shape == ea.shape
            tol = 1e-9 * np.maximum(1.0, np.maximum(np.abs(va), np.abs(ea)))
            assert np.all(ea >= va - tol)


@settings(max_examples=examples(0.8))
@given(
    pnl=hnp.arrays(
        np.float64,
        st.integers(0, 300),
        elements=st.one_of(st.floats(-1e4, 1e4), st.sampled_from([0.0, 1.0, math.nan])),
    ),
    alpha=alphas,
    method=st.sampled_from(["historical", "normal", "t", "cornish_fisher", "evt", "bogus"]),
)
def test_estimate_valid_or_refused(pnl: np.ndarray, alpha: Any, method: str) -> None:
    """riskmodels.risk.estimate by name on any 1-D sample: finite VaR and ES with ES >= VaR;
    else a riskmodels error (a constant sample or too short a tail included)."""
    res = call(estimate, pnl, alpha, method=method)
    if res is REFUSED:
        return
    assert math.isfinite(res.var) and math.isfinite(res.es)
    assert res.es >= res.var - 1e-9 * max(1.0, abs(res.var))


# =============================================================================================
# correlation matrices
# =============================================================================================
@given(
    n=st.one_of(st.integers(-2, 30), st.sampled_from([10**7, 2**40]), junk, any_float),
    rho=st.one_of(st.floats(-1.5, 1.5), any_float, junk, st.sampled_from([-1.0, 1.0, 0.0])),
)
@example(n=10**7, rho=0.5)
def test_equicorrelation_valid_or_refused(n: Any, rho: Any) -> None:
    """riskmodels.correlation.equicorrelation(n, rho): an n x n symmetric positive
    semi-definite matrix with a unit diagonal; else a riskmodels error (also for an n whose
    matrix would not fit in memory: never a MemoryError or a hang)."""
    R = call(equicorrelation, n, rho)
    if R is REFUSED:
        return
    assert R.shape == (n, n)
    np.testing.assert_allclose(np.diag(R), 1.0)
    np.testing.assert_array_equal(R, R.T)
    assert np.linalg.eigvalsh(R).min() >= -1e-9


@st.composite
def matrix_stacks(draw: st.DrawFn) -> Any:
    """(H, N, N) stacks: valid equicorrelation stacks, random symmetric ones, wrong shapes,
    NaN, empty, or junk."""
    kind = draw(st.sampled_from(["valid", "valid", "random", "shape", "junk"]))
    if kind == "junk":
        return draw(junk)
    h = draw(st.integers(0, 3))
    n = draw(st.integers(0, 4))
    if kind == "valid":
        lo = -1.0 / (n - 1) if n > 1 else -1.0
        rho = draw(st.floats(lo, 1.0))
        return (
            np.stack([(1 - rho) * np.eye(n) + rho for _ in range(h)]) if h else np.zeros((0, n, n))
        )
    if kind == "random":
        a = draw(
            hnp.arrays(np.float64, (h, n, n), elements=st.one_of(st.floats(-1.2, 1.2), any_float))
        )
        with np.errstate(over="ignore", invalid="ignore"):  # the test's own arithmetic
            return 0.5 * (a + np.swapaxes(a, -1, -2)) if draw(st.booleans()) else a
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=3))
    return draw(hnp.arrays(np.float64, shape, elements=st.floats(-1, 1)))


@given(
    R=matrix_stacks(),
    scale=st.one_of(st.floats(1e-6, 10), any_float),
    assets=st.one_of(st.lists(st.text(max_size=3), max_size=4), junk),
)
@example(R=np.zeros((0, 0)), scale=1.0, assets=[])
@example(R=np.zeros((1, 0, 0)), scale=1.0, assets=[])
def test_correlation_forecast_valid_or_refused(R: Any, scale: float, assets: Any) -> None:
    """riskmodels.correlation.CorrelationForecast(correlation, covariance, assets): a forecast
    whose matrices are finite (horizon, N, N) with N = len(assets) and whose frames are N x N;
    else a riskmodels error."""
    with np.errstate(over="ignore", invalid="ignore"):  # the test's own arithmetic
        cov = np.asarray(R, dtype=float) * scale if isinstance(R, np.ndarray) else R
    fc = call(CorrelationForecast, correlation=R, covariance=cov, assets=assets, origin=None)
    if fc is REFUSED:
        return
    h, n, _ = fc.correlation.shape
    assert h >= 1 and n == len(fc.assets) >= 1
    assert np.isfinite(fc.correlation).all() and np.isfinite(fc.covariance).all()
    assert fc.correlation_matrix().shape == (n, n)
    assert fc.cumulative_covariance().shape == (n, n)
    assert call(fc.covariance_matrix, 0) is REFUSED


@settings(max_examples=examples(0.8))
@given(
    nobs=st.one_of(st.integers(-1, 25), junk),
    target=st.one_of(matrix_stacks().map(lambda R: R[0] if np.ndim(R) == 3 and len(R) else R)),
    a=st.one_of(st.floats(0, 0.2), st.sampled_from([-0.1, 0.6, math.nan, "x"])),
    b=st.one_of(st.floats(0.5, 0.95), st.sampled_from([-0.1, 1.0, math.inf])),
    g=st.one_of(st.floats(0, 0.05), st.sampled_from([-1.0, 5.0])),
    kind=st.sampled_from(["dcc", "cdcc", "adcc", "bekk"]),
    dist=st.sampled_from(["normal", "t", "laplace"]),
    nu=st.sampled_from([8.0, 4.0, 2.0, 1.0, math.nan]),
    garch=st.sampled_from(
        [(2e-5, 0.08, 0.9), (0.0, 0.1, 0.8), (1e-5, 0.5, 0.6), (-1.0, 0.1, 0.8), "x", (1.0,)]
    ),
    burn=st.one_of(st.integers(-1, 10), junk),
    rng=st.one_of(st.integers(0, 2**32), st.sampled_from([-1, "seed", 1.5])),
)
def test_simulate_dcc_valid_or_refused(
    nobs: Any,
    target: Any,
    a: Any,
    b: Any,
    g: Any,
    kind: str,
    dist: str,
    nu: float,
    garch: Any,
    burn: Any,
    rng: Any,
) -> None:
    """riskmodels.correlation.simulate_dcc with any target (the correlation targets), DCC
    parameters, GARCH parameters, sizes and seed: finite returns of shape (nobs, N) on a daily
    index and unit-diagonal correlation matrices; else a riskmodels error."""
    sim = call(
        simulate_dcc,
        nobs,
        target,
        a,
        b,
        g=g,
        kind=kind,
        dist=dist,
        nu=nu,
        garch=garch,
        burn=burn,
        rng=rng,
    )
    if sim is REFUSED:
        return
    n = np.shape(target)[0]
    assert sim.returns.shape == (nobs, n)
    assert np.isfinite(sim.returns.to_numpy()).all()
    assert np.isfinite(sim.correlation).all()
    np.testing.assert_allclose(np.diagonal(sim.correlation, axis1=1, axis2=2), 1.0)


# =============================================================================================
# horizons
# =============================================================================================
durations = st.one_of(
    st.from_regex(
        r"\A[+-]?(\d{1,6}|\d{0,3}\.\d{1,3})(e\d{1,2})?\s?(d|D|h|H|min|m|s|ms|us|ns|w|W|days|hours|"
        r"T|M|Y|y)?\Z",
        fullmatch=True,
    ),
    st.text(max_size=8),
    st.timedeltas(),
    st.integers(),
    any_float,
    st.booleans(),
    st.none(),
    st.sampled_from(
        [
            np.timedelta64("NaT"),
            np.timedelta64(3, "D"),
            "NaT",
            "1d",
            "-1d",
            "0s",
            "3",
            "P1D",
            "1e400D",
        ]
    ),
    st.lists(st.integers(), max_size=2),
)


@given(value=durations)
@example(value="1 d")  # regression: pandas' deprecated lowercase unit after a space
@example(value="2 w")
@example(value=dt.timedelta.max)
@example(value=dt.timedelta.min)
def test_as_timedelta_valid_or_refused(value: Any) -> None:
    """riskmodels._time.as_timedelta on any user value: a pandas Timedelta (never NaT, never a
    bare number read as nanoseconds); else a ConfigError."""
    td = call(as_timedelta, value, "horizon")
    if td is REFUSED:
        return
    assert isinstance(td, pd.Timedelta) and td is not pd.NaT
    assert not isinstance(value, bool | int | float)


@given(
    horizon=durations,
    freq=st.sampled_from(
        [pd.Timedelta("1D"), pd.Timedelta("4h"), pd.Timedelta("1h"), pd.Timedelta("1min"), "1d"]
    ),
)
def test_as_horizon_valid_or_refused(horizon: Any, freq: Any) -> None:
    """riskmodels.scenarios.as_horizon(horizon, freq): a positive number of bars that spans
    exactly the horizon; else a ConfigError."""
    steps = call(as_horizon, horizon, freq)
    if steps is REFUSED:
        return
    assert isinstance(steps, int) and steps >= 1
    assert steps * pd.Timedelta(str(freq).replace("d", "D")) == as_timedelta(horizon)


# =============================================================================================
# positions and wallets
# =============================================================================================
@st.composite
def tier_tables(draw: st.DrawFn) -> Any:
    """TierTable arguments from user input: mostly a well-formed table, sometimes broken."""
    n = draw(st.integers(0, 4))
    if draw(st.booleans()):
        up = sorted(draw(st.lists(st.floats(1e3, 1e9), min_size=n, max_size=n, unique=True)))
        if up and draw(st.booleans()):
            up[-1] = math.inf
        lev = sorted(draw(st.lists(st.floats(1, 125), min_size=n, max_size=n)), reverse=True)
        mmr = sorted(draw(st.lists(st.floats(1e-4, 0.5), min_size=n, max_size=n)))
    else:
        up = draw(st.lists(wild_float, min_size=n, max_size=n))
        lev = draw(st.lists(wild_float, min_size=n, max_size=n))
        mmr = draw(st.lists(wild_float, min_size=n, max_size=n))
    return {"upper_bounds": up, "max_leverage": lev, "mmr": mmr}


@settings(max_examples=examples(1.3))
@given(args=tier_tables(), notional=st.one_of(st.floats(0, 1e12), any_float))
def test_tier_table_valid_or_refused(args: dict[str, Any], notional: float) -> None:
    """riskmodels.margin.tiers.TierTable from user lists: finite maintenance amounts, one per
    bracket, and a bracket for every notional; else a ConfigError."""
    table = call(TierTable, **args)
    if table is REFUSED:
        return
    assert len(table.maintenance_amount) == table.n_brackets == len(args["upper_bounds"])
    assert all(math.isfinite(c) for c in table.maintenance_amount)
    b = call(table.bracket, notional, strict=False)
    if b is not REFUSED:
        assert 0 <= int(b) < table.n_brackets


@st.composite
def perp_positions(draw: st.DrawFn) -> Any:
    """A linear or inverse perpetual with any size and entry price (or junk)."""
    qty = draw(st.one_of(st.floats(-1e4, 1e4), st.just(0.0), wild_float))
    entry = draw(st.one_of(st.floats(1e-4, 1e6), wild_float))
    if draw(st.booleans()):
        return call(LinearPerp, "BTC", qty, entry)
    return call(InversePerp, "BTC", qty, draw(st.sampled_from([10.0, 100.0, 0.0, -1.0])), entry)


@settings(max_examples=examples(2.0))
@given(
    position=perp_positions(),
    wallet=st.one_of(st.floats(0, 1e7), wild_float, junk),
    # mmr = 1 (a zero denominator for a long), > 1, negative, NaN or a string: ConfigError
    mmr=st.one_of(
        st.floats(1e-4, 0.5),
        st.sampled_from([0.004, 0.01, 0.5, 0.999, 1.0, 1.5, -0.1, math.nan]),
        junk,
    ),
    cum=st.one_of(st.floats(0, 1e5), st.just(0.0)),
    tiers=st.one_of(st.none(), tier_tables()),
)
def test_isolated_liquidation_price_valid_or_refused(
    position: Any, wallet: Any, mmr: float, cum: float, tiers: Any
) -> None:
    """riskmodels.margin.isolated_liquidation_price for any perp, wallet and bracket: a price
    that is finite and > 0 (below entry for a long, above for a short), or NaN with a reason
    (no price liquidates); else a riskmodels error."""
    if position is REFUSED:
        return
    table = call(TierTable, **tiers) if tiers is not None else None
    if table is REFUSED:
        return
    kw: dict[str, Any] = (
        {"table": table} if table is not None else {"mmr": mmr, "maintenance_amount": cum}
    )
    lp = call(isolated_liquidation_price, position, wallet, **kw)
    if lp is REFUSED:
        return
    if math.isnan(lp.price):
        assert lp.direction == "none" and lp.reason
        return
    assert math.isfinite(lp.price) and lp.price > 0
    assert lp.direction in ("down", "up")


#: A quantity or price as a user gives it, bounded in magnitude, or a value that is refused.
# Overflowing magnitudes (1.7e308 BTC at 1e6) are refused with a DataError by Account.
bounded_or_bad = st.one_of(
    st.floats(0, 1e12),
    st.sampled_from([1.7e308, 1e300]),
    st.sampled_from([math.nan, math.inf, -math.inf, -1.0, 0.0, -0.0]),
    junk,
)


@st.composite
def bounded_perps(draw: st.DrawFn) -> Any:
    """A linear or inverse perpetual with a bounded (or refused) size and entry price."""
    qty = draw(st.one_of(st.floats(-1e6, 1e6), st.sampled_from([0.0, math.nan, math.inf])))
    entry = draw(st.one_of(st.floats(1e-4, 1e6), st.sampled_from([0.0, -1.0, math.nan])))
    if draw(st.booleans()):
        return call(LinearPerp, "BTC", qty, entry)
    return call(InversePerp, "BTC", qty, draw(st.sampled_from([10.0, 100.0, 0.0])), entry)


@settings(max_examples=examples(1.3))
@given(
    collateral=st.one_of(
        st.dictionaries(
            st.one_of(st.sampled_from(["USDT", "BTC", "ETH", ""]), st.integers()),
            bounded_or_bad,
            max_size=3,
        ),
        junk,
    ),
    haircuts=st.one_of(
        st.none(),
        st.dictionaries(
            st.sampled_from(["BTC", "ETH", "USDT"]),
            st.one_of(st.floats(0, 1), wild_float, junk),
            max_size=2,
        ),
        junk,
    ),
    prices=st.one_of(
        st.dictionaries(
            st.sampled_from(["USDT", "BTC", "ETH"]),
            st.one_of(st.floats(1e-3, 1e6), bounded_or_bad),
            max_size=3,
        ),
        junk,
    ),
    position=bounded_perps(),
)
def test_account_valid_or_refused(
    collateral: Any, haircuts: Any, prices: Any, position: Any
) -> None:
    """riskmodels.instruments.Account from user collateral, haircuts and prices: finite
    collateral value, equity and position values; else a riskmodels error."""
    positions = [] if position is REFUSED else [position]
    acct = call(
        Account, collateral=collateral, haircuts=haircuts, prices=prices, positions=positions
    )
    if acct is REFUSED:
        return
    assert math.isfinite(acct.collateral_value)
    assert math.isfinite(acct.equity)
    assert all(math.isfinite(v) for v in acct.position_values)


# =============================================================================================
# configs
# =============================================================================================
_KNOWN = {
    "data": ["universe", "freq", "market", "start", "end", "quality", "mirror", "check_freqs"],
    "report": ["include", "execution_timeout"],
    "run": ["seed", "profile", "backend", "n_jobs", "scheduler", "cache_dir", "retries"],
    "quick": ["universe", "start", "end"],
}

toml_scalars = st.one_of(
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.text(max_size=12),
    st.sampled_from(
        [
            "1d",
            "4h",
            "spot",
            "perp",
            "raise",
            "loky",
            "dask",
            "data",
            "BTC",
            "tcp://h:1",
            "~nobody_x/y",
            "a\x00b",
            "2024-01-01",
            "..",
            "/",
            "default",
        ]
    ),
    st.dates(),
    st.datetimes(timezones=st.sampled_from([None, dt.UTC])),
    st.times(),
)
toml_values = st.one_of(
    toml_scalars,
    st.lists(toml_scalars, max_size=3),
    st.dictionaries(st.text(max_size=4), toml_scalars, max_size=2),
)


def _toml(value: Any) -> str:
    """A TOML literal for ``value`` (written here: the test must not trust the package's)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return (
            "nan"
            if math.isnan(value)
            else ("inf" if value > 0 else "-inf")
            if math.isinf(value)
            else repr(value)
        )
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)} = {_toml(v)}" for k, v in value.items()) + "}"
    raise AssertionError(value)


@st.composite
def toml_documents(draw: st.DrawFn) -> str:
    """A config file: known and unknown sections and keys with random TOML values, or a broken
    file."""
    if draw(st.integers(0, 9)) == 0:
        return draw(st.text(max_size=40))
    lines: list[str] = []
    for section in draw(st.lists(st.sampled_from([*_KNOWN, "extra"]), unique=True, max_size=4)):
        lines.append(f"[{section}]")
        names = [*_KNOWN.get(section, ["x"]), "bogus"]
        for key in draw(st.lists(st.sampled_from(names), unique=True, max_size=4)):
            lines.append(f"{json.dumps(key)} = {_toml(draw(toml_values))}")
    return "\n".join(lines) + "\n"


@settings(max_examples=examples(2.0))
@given(text=toml_documents(), quick=st.booleans())
@example(text='[data]\nmirror = "~nobody_x/data"\n', quick=False)
@example(text='[data]\nmirror = "a\\u0000b"\n', quick=False)
@example(text='[run]\ncache_dir = "a\\u0000b"\n', quick=False)
@example(text='[run]\ncache_dir = "~nobody_x/cache"\n', quick=False)
def test_load_config_valid_or_refused(text: str, quick: bool) -> None:
    """riskmodels.config.load_config on any TOML text: a RunConfig whose to_dict round-trips
    through RunConfig.from_dict with the same digest; else a ConfigError."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "run.toml"
        path.write_text(text, encoding="utf-8")
        cfg = call(load_config, path, quick=quick)
        if cfg is REFUSED:
            return
        assert isinstance(cfg, RunConfig)
        again = call(RunConfig.from_dict, cfg.to_dict(), path=path)
        assert again is not REFUSED, "to_dict output refused by from_dict"
        assert again.digest() == cfg.digest()


@pytest.mark.parametrize("text", ['[data]\nfreq = "1d"\n', ""])
def test_load_config_plain_files(text: str, tmp_path: Path) -> None:
    """riskmodels.config.load_config on small valid files: a RunConfig (sanity check of the
    TOML writer the property test uses)."""
    path = tmp_path / "run.toml"
    path.write_text(text, encoding="utf-8")
    assert isinstance(load_config(path), RunConfig)


# =============================================================================================
# regressions: inputs the properties above found, each now refused with a named error
# =============================================================================================
def _bars(**cols: Any) -> pd.DataFrame:
    n = len(next(iter(cols.values())))
    return pd.DataFrame(cols, index=pd.date_range("2024-01-01", periods=n, freq="1D", tz="UTC"))


_REGRESSIONS: list[tuple[str, Callable[[], Any], type[RiskModelsError]]] = [
    # riskmodels.data._frames._to_utc_index: float epochs beyond int64 (OverflowError / cast
    # RuntimeWarning before) and unparsable strings or booleans (pandas DateParseError/TypeError)
    (
        "epoch beyond int64",
        lambda: normalize_bars(pd.DataFrame({"open_time": [9.3e18, 1.0], "close": [1.0, 2.0]})),
        DataError,
    ),
    (
        "unparsable time string",
        lambda: normalize_bars(pd.DataFrame({"time": ["2024-01-01", "-"], "close": [1.0, 2.0]})),
        DataError,
    ),
    (
        "boolean time",
        lambda: normalize_bars(pd.DataFrame({"date": ["2024-01-01", False], "close": [1.0, 2.0]})),
        DataError,
    ),
    (
        "day 0 in a date",
        lambda: normalize_bars(pd.DataFrame({"date": ["2024-01-00"], "close": [1.0]})),
        DataError,
    ),
    # riskmodels.data.quality.check_quality: text and lists in a price column (ValueError from
    # to_numpy before)
    (
        "'n/a' in bars",
        lambda: check_quality(
            _bars(open=[1.0, 2.0], high=[1.0, 2.0], low=["n/a", 2.0], close=[1.0, 2.0]), freq="1d"
        ),
        DataError,
    ),
    (
        "list in bars",
        lambda: check_quality(
            _bars(open=[[], 2.0], high=[1.0, 2.0], low=[1.0, 2.0], close=[1.0, 2.0]), freq="1d"
        ),
        DataError,
    ),
    # riskmodels.risk: text for a parameter (ValueError before) and results that overflow
    # float64 (inf and a RuntimeWarning before)
    # riskmodels.data.simple_returns: a price ratio above the float maximum (inf and a
    # RuntimeWarning from expm1 before)
    (
        "simple return overflow",
        lambda: simple_returns(
            pd.Series([1e-300, 1.8e8], index=pd.date_range("2024", periods=2, tz="UTC"))
        ),
        DataError,
    ),
    ("sigma=''", lambda: var_normal(0.0, "", 0.99), ConfigError),
    ("nu=''", lambda: es_t(0.0, 1.0, "", 0.99), ConfigError),
    ("pnl='x'", lambda: var("x", 0.99), ConfigError),
    ("sigma near max float", lambda: var_normal(0.0, 1e308, 0.01), ConfigError),
    ("shapes that do not broadcast", lambda: var_t(0.0, [], [3.0, 3.0], 0.99), ConfigError),
    ("ES of P&L near max float", lambda: es(np.array([-1.7e308, 1.7e308] * 50), 0.5), ConfigError),
    (
        "moments of huge P&L",
        lambda: estimate(np.linspace(-1e100, 1e100, 200), 0.99, method="normal"),
        ConfigError,
    ),
    # riskmodels.correlation: a 0 x 0 matrix (ValueError from max() before), assets=None
    # (TypeError before), an n x n matrix that cannot fit in memory (MemoryError before)
    (
        "0x0 correlation",
        lambda: CorrelationForecast(
            correlation=np.zeros((0, 0)), covariance=np.zeros((0, 0)), assets=(), origin=None
        ),
        ModelError,
    ),
    (
        "correlation near max float",
        lambda: CorrelationForecast(
            correlation=np.array([[1.0, 1e308], [-1e308, 1.0]]),
            covariance=np.eye(2),
            assets="ab",
            origin=0,
        ),
        ModelError,
    ),
    (
        "diagonal near max float",
        lambda: CorrelationForecast(
            correlation=np.eye(2) * 1e308, covariance=np.eye(2), assets=("a", "b"), origin=None
        ),
        ModelError,
    ),
    # riskmodels.correlation.simulate_dcc: unchecked arguments (TypeError, OverflowError and
    # NaN returns with a RuntimeWarning from sqrt before)
    (
        "simulate_dcc rng='seed'",
        lambda: simulate_dcc(10, np.eye(2), 0.05, 0.9, rng="seed"),
        ConfigError,
    ),
    (
        "simulate_dcc omega < 0",
        lambda: simulate_dcc(10, np.eye(2), 0.05, 0.9, garch=(-1.0, 0.1, 0.8), rng=1),
        ConfigError,
    ),
    (
        "simulate_dcc t with nu=1",
        lambda: simulate_dcc(10, np.eye(2), 0.05, 0.9, dist="t", nu=1.0, rng=1),
        ConfigError,
    ),
    ("simulate_dcc nobs=-1", lambda: simulate_dcc(-1, np.eye(2), 0.05, 0.9, rng=1), ConfigError),
    ("simulate_dcc a=-0.5", lambda: simulate_dcc(50, np.eye(2), -0.5, 0.9, rng=1), ConfigError),
    ("simulate_dcc a='x'", lambda: simulate_dcc(10, np.eye(2), "x", 0.9, rng=1), ConfigError),
    (
        "assets=None",
        lambda: CorrelationForecast(
            correlation=np.eye(2), covariance=np.eye(2), assets=None, origin=None
        ),
        ModelError,
    ),
    ("huge equicorrelation", lambda: equicorrelation(10**7, 0.5), ResourceLimitError),
    # riskmodels.volatility: a lag order of a billion (built a billion parameter names before)
    ("GARCH(p=10**9)", lambda: GARCH(p=10**9), ConfigError),
    # riskmodels.config: '~user' that does not exist (RuntimeError before), NUL in a path
    # (ValueError before)
    (
        "mirror ~nobody",
        lambda: RunConfig.from_dict({"data": {"mirror": "~nobody_x/d"}}),
        ConfigError,
    ),
    ("mirror NUL", lambda: RunConfig.from_dict({"data": {"mirror": "a\x00b"}}), ConfigError),
    ("cache_dir NUL", lambda: RunConfig.from_dict({"run": {"cache_dir": "a\x00b"}}), ConfigError),
    (
        "cache_dir ~nobody",
        lambda: RunConfig.from_dict({"run": {"cache_dir": "~nobody_x/c"}}),
        ConfigError,
    ),
]


@pytest.mark.parametrize(("case", "fn", "error"), _REGRESSIONS, ids=[r[0] for r in _REGRESSIONS])
def test_regressions_raise_named_errors(
    case: str, fn: Callable[[], Any], error: type[RiskModelsError]
) -> None:
    """Each boundary input the property tests found raises its named riskmodels error (with a
    message) instead of a generic Python or pandas error, an inf, or a MemoryError."""
    with pytest.raises(error) as info, warnings.catch_warnings():
        warnings.simplefilter("ignore", RiskModelsWarning)
        fn()
    assert len(str(info.value)) > 20, case


def test_extreme_price_ratios_are_findings_not_warnings() -> None:
    """riskmodels.data.check_quality on bars whose price ratios overflow float64 (5e-324 next to
    1e-8): a QualityReport with findings, no RuntimeWarning (an error under this pytest config)."""
    bars = _bars(
        open=[5e-324, 1e-8, 1e-8],
        high=[1e-8, 1e-8, 1e-8],
        low=[5e-324, 1e-8, 1e-8],
        close=[1e-8, 5e-324, 1e-8],
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RiskModelsWarning)
        rep = check_quality(bars, freq="1d", policy="warn")
    assert not rep.ok
