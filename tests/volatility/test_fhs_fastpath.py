"""Tests of the fast path that filters at fixed parameters (``VolatilitySpec.filter``).

Where expected values come from
-------------------------------
* The reference is :meth:`VolatilitySpec.fix` on the same returns and parameters: arch's own
  ``model.fix`` and ``ARCHModelFixedResult.forecast`` (the code path ``filter`` replaces).
  Every comparison is exact (``np.testing.assert_array_equal``, ``==``, pandas' ``check_exact``):
  ``filter`` makes the same arch calls on the same arrays, so no rounding may differ.
* Data: one GARCH(1,1)-Student-t path from arch's own simulator (``omega=0.05, alpha=0.08,
  beta=0.90`` in percent units, ``nu=6``, seed 2026), divided by 100 (decimal returns), on
  daily UTC bars; two more paths (seeds 2027, 2028) for the scenario and walk-forward tests.
* Parameters: fixed values inside every model's constraints (``PARAMS`` below, percent units),
  so the twin does not depend on an optimizer; the scenario and walk-forward tests use fitted
  parameters.
* Scenarios and walk-forward forecasts: the same generator / engine run twice, once as it is
  and once with ``VolatilitySpec.filter`` replaced by ``VolatilitySpec.fix`` (the code before
  the fast path), compared exactly.
"""

from __future__ import annotations

import dataclasses
import itertools
import pickle

import numpy as np
import pandas as pd
import pytest
from arch.univariate import GARCH as ArchGARCH
from arch.univariate import StudentsT, ZeroMean
from arch.univariate.base import ARCHModel

from riskmodels.backtest import ScenarioModel, walk_forward
from riskmodels.correlation import DCC
from riskmodels.exceptions import ConfigError, DataError, InsufficientDataError
from riskmodels.scenarios import FilteredHistoricalScenarios, MonteCarloScenarios
from riskmodels.volatility import EGARCH, EWMA, GARCH, GJR, VolatilityResult, VolatilitySpec
from riskmodels.volatility._filter import LAZY_FIELDS, FilteredVolatilityResult

NOBS = 600

#: Parameters in percent units, by arch's names, valid for every spec below.
PARAMS = {
    "GARCH": {"omega": 0.05, "alpha": (0.06, 0.02), "gamma": (), "beta": (0.88, 0.02)},
    "GJR": {"omega": 0.05, "alpha": (0.05,), "gamma": (0.06, 0.02), "beta": (0.88,)},
    "EGARCH": {"omega": 0.02, "alpha": (0.15, 0.05), "gamma": (-0.05,), "beta": (0.97,)},
}
SHAPES = {"mu": 0.03, "nu": 6.0, "eta": 6.0, "lambda": -0.1}

#: Every volatility process FHS accepts, with the default orders and some others.
SPEC_TYPES = [
    GARCH(),
    GARCH(p=2, q=2),
    GJR(),
    GJR(o=2),
    EGARCH(),
    EGARCH(p=2, o=1, q=1),
    EWMA(),
    EWMA(lam=0.97),
]
DISTS = ("normal", "t", "skewt")
MEANS = ("zero", "constant")


def _simulate(seed: int, n: int = NOBS) -> np.ndarray:
    gen = np.random.default_rng(seed)
    sim = ZeroMean(volatility=ArchGARCH(), distribution=StudentsT(seed=gen)).simulate(
        [0.05, 0.08, 0.90, 6.0], n, burn=500
    )
    return sim["data"].to_numpy() / 100.0


def _index(n: int) -> pd.DatetimeIndex:
    return pd.date_range("2021-01-01", periods=n, freq="D", tz="UTC", name="time")


@pytest.fixture(scope="module")
def returns() -> pd.Series:
    return pd.Series(_simulate(2026), index=_index(NOBS), name="BTC")


@pytest.fixture(scope="module")
def panel() -> pd.DataFrame:
    data = {a: _simulate(s, 700) for a, s in (("A", 2026), ("B", 2027), ("C", 2028))}
    return pd.DataFrame(data, index=_index(700))


def _params(spec: VolatilitySpec) -> pd.Series:
    """``PARAMS`` for ``spec`` in arch's order (``param_names``)."""
    family = "GJR" if isinstance(spec, GJR) else type(spec).__name__
    values = []
    for name in spec.param_names:
        if name in SHAPES:
            values.append(SHAPES[name])
        elif name == "omega":
            values.append(PARAMS[family]["omega"])
        else:
            kind, lag = name[:-1].split("[")
            values.append(PARAMS[family][kind][int(lag) - 1])
    return pd.Series(values, index=list(spec.param_names))


def _all_specs() -> list[VolatilitySpec]:
    return [
        dataclasses.replace(s, dist=d, mean=m)
        for s, d, m in itertools.product(SPEC_TYPES, DISTS, MEANS)
    ]


def assert_same_result(fast: VolatilityResult, ref: VolatilityResult) -> None:
    """Every field of two results equal, bit for bit (arch_result: its arrays and numbers)."""
    for f in dataclasses.fields(VolatilityResult):
        a, b = getattr(fast, f.name), getattr(ref, f.name)
        if f.name == "arch_result":
            pd.testing.assert_series_equal(a.params, b.params, check_exact=True)
            pd.testing.assert_series_equal(a.resid, b.resid, check_exact=True)
            pd.testing.assert_series_equal(
                a.conditional_volatility, b.conditional_volatility, check_exact=True
            )
            assert a.loglikelihood == b.loglikelihood
        elif isinstance(b, pd.Series):
            pd.testing.assert_series_equal(a, b, check_exact=True, check_freq=True)
            np.testing.assert_array_equal(a.to_numpy(), b.to_numpy())
        else:
            assert a == b, f.name


# ---------------------------------------------------------------------------------------------
# The twin: filter against fix, every spec x distribution x mean
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("spec", _all_specs(), ids=lambda s: s.label)
def test_filter_equals_fix_bit_for_bit(spec, returns):
    params = _params(spec)
    ref = spec.fix(returns, params)
    fast = spec.filter(returns, params)
    assert isinstance(fast, FilteredVolatilityResult) and isinstance(fast, VolatilityResult)
    # What FHS reads at every bar, before any lazy field is touched.
    np.testing.assert_array_equal(
        fast.conditional_volatility.to_numpy(), ref.conditional_volatility.to_numpy()
    )
    np.testing.assert_array_equal(fast.std_resid.to_numpy(), ref.std_resid.to_numpy())
    np.testing.assert_array_equal(fast.resid.to_numpy(), ref.resid.to_numpy())
    assert fast.variance_next == ref.forecast(1).iloc[0]  # arch's analytic one-step forecast
    pd.testing.assert_series_equal(fast.forecast(1), ref.forecast(1), check_exact=True)
    # The recursions FHS runs through from the end of the sample (scenario paths).
    z = np.random.default_rng(5).standard_normal((50, 4))
    for a, b in zip(fast.variance_paths(z), ref.variance_paths(z), strict=True):
        np.testing.assert_array_equal(a, b)
    # Then every field, the lazy ones included.
    assert_same_result(fast, ref)
    # Forecasts beyond one step go through arch_result (built lazily, by arch's model.fix).
    pd.testing.assert_series_equal(
        fast.forecast(3, n_sims=500, rng=3), ref.forecast(3, n_sims=500, rng=3), check_exact=True
    )
    assert str(fast) == str(ref)  # the summary: every number, formatted


@pytest.mark.parametrize("spec", [GARCH(dist="t"), EGARCH(dist="skewt", mean="constant")])
def test_filter_equals_fix_with_leading_nan_and_fitted_params(spec, returns):
    # An asset listed after the panel starts (leading NaN trimmed) and parameters from fit().
    fitted = spec.fit(returns.iloc[:500])
    later = pd.concat([pd.Series(np.nan, index=_index(NOBS + 7)[:7]), returns]).rename("X")
    later.index = _index(NOBS + 7)
    assert_same_result(spec.filter(later, fitted.params), spec.fix(later, fitted.params))
    # parameters as an array in arch's order, and as a shuffled Series (aligned by name)
    x = fitted.params.to_numpy()
    assert_same_result(spec.filter(returns, x), spec.fix(returns, x))
    shuffled = fitted.params.iloc[::-1]
    assert_same_result(spec.filter(returns, shuffled), spec.fix(returns, fitted.params))


def test_lazy_fields_are_not_computed_until_read(returns, monkeypatch):
    spec = GJR(dist="t", mean="constant")
    params = _params(spec)
    ref = spec.fix(returns, params)

    def no_fix(self, *args, **kwargs):
        raise AssertionError("arch's model.fix ran")

    with monkeypatch.context() as m:
        m.setattr(ARCHModel, "fix", no_fix)
        fast = spec.filter(returns, params)
        assert not set(LAZY_FIELDS) & set(vars(fast))
        fast.forecast(1)  # the one-step forecast without arch_result
        assert fast.loglikelihood == ref.loglikelihood  # without arch_result either
        assert fast.params_at_bounds == ref.params_at_bounds
        assert "arch_result" not in vars(fast)
    pd.testing.assert_series_equal(fast.arch_result.resid, ref.arch_result.resid)
    assert "arch_result" in vars(fast)


def test_filter_pickles_and_replaces(returns):
    spec = EGARCH(dist="t")
    fast = spec.filter(returns, _params(spec))
    back = pickle.loads(pickle.dumps(fast))
    assert_same_result(back, fast)
    assert back.variance_next == fast.variance_next
    copy = dataclasses.replace(fast, asset="other")  # a plain construction, all fields given
    assert copy.asset == "other"
    pd.testing.assert_series_equal(copy.forecast(1), fast.forecast(1), check_exact=True)


# ---------------------------------------------------------------------------------------------
# Same validation and errors as fix
# ---------------------------------------------------------------------------------------------
def _igarch(excess: float) -> pd.Series:
    return pd.Series({"omega": 0.05, "alpha[1]": 0.1, "beta[1]": 0.9 + excess})


@pytest.mark.parametrize(
    ("spec", "params", "data", "error"),
    [
        (GARCH(), _igarch(5e-5), None, ConfigError),  # persistence 1 + 5e-5: refused
        (GARCH(dist="t"), [0.05, 0.1, 0.8, 2.0], None, ConfigError),  # nu <= 2
        (GARCH(dist="skewt"), [0.05, 0.1, 0.8, 6.0, 1.2], None, ConfigError),  # |lambda| >= 1
        (GARCH(), [0.05, 0.1], None, ConfigError),  # wrong length
        (GARCH(), pd.Series({"omega": 0.05, "alpha[1]": 0.1}), None, ConfigError),  # names
        (GARCH(), [0.05, 0.1, np.nan], None, ConfigError),
        (GARCH(), _igarch(0.0), "gap", DataError),  # NaN inside the sample
        (GARCH(), _igarch(0.0), "short", InsufficientDataError),
        (GARCH(), _igarch(0.0), "frame", ConfigError),
    ],
)
def test_filter_raises_what_fix_raises(spec, params, data, error, returns):
    y: object = returns
    if data == "gap":
        y = returns.copy()
        y.iloc[300] = np.nan
    elif data == "short":
        y = returns.iloc[:50]
    elif data == "frame":
        y = returns.to_frame()
    with pytest.raises(error) as ref:
        spec.fix(y, params)
    with pytest.raises(error) as fast:
        spec.filter(y, params)
    assert str(fast.value) == str(ref.value)


def test_filter_accepts_what_fix_accepts_at_the_igarch_boundary(returns):
    # SLSQP leaves estimates up to ~1e-6 above alpha + beta = 1; fix (and filter) accept them.
    params = _igarch(1e-7)
    assert_same_result(GARCH().filter(returns, params), GARCH().fix(returns, params))


# ---------------------------------------------------------------------------------------------
# Filtered historical simulation, Monte Carlo and the walk-forward engine: before and after
# ---------------------------------------------------------------------------------------------
def _fix_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """Turn the fast path off: ``filter`` is ``fix`` again (the code before it)."""
    monkeypatch.setattr(VolatilitySpec, "filter", VolatilitySpec.fix)


def _assert_same_scenarios(a, b) -> None:
    np.testing.assert_array_equal(a.returns, b.returns)
    assert a.labels == b.labels and a.method == b.method and a.asof == b.asof
    assert a.meta.keys() == b.meta.keys()
    for key, value in a.meta.items():  # sigma_next, parameters, window, seed, correlation ...
        if isinstance(value, pd.DataFrame):
            pd.testing.assert_frame_equal(value, b.meta[key], check_exact=True)
        else:
            assert value == b.meta[key], key


@pytest.mark.parametrize(
    "generator",
    [
        FilteredHistoricalScenarios(GARCH(dist="t"), window=400),
        FilteredHistoricalScenarios(EGARCH(dist="skewt", mean="constant"), window=400),
        FilteredHistoricalScenarios(GJR(), correlation=DCC(), window=400),
        MonteCarloScenarios(DCC(univariate=EWMA(dist="t")), window=400),
    ],
    ids=["fhs-garch-t", "fhs-egarch-skewt", "fhs-gjr-dcc", "mc-dcc-ewma-t"],
)
def test_update_and_scenarios_equal_the_fix_path(generator, panel, monkeypatch):
    fitted = generator.fit(panel.iloc[:450])

    def run() -> tuple[object, list]:
        f, out = fitted, []
        for t in (450, 451, 460, 500):  # one bar, one bar, nine bars, forty bars
            f = f.update(panel.iloc[: t + 1])
            out.append(f.scenarios("1d", rng=7))
            out.append(f.scenarios("3d", n=500, rng=8))
        return f, out

    fast_state, fast = run()
    with monkeypatch.context() as m:
        _fix_path(m)
        ref_state, ref = run()
    assert all(isinstance(r, FilteredVolatilityResult) for r in fast_state.volatility.values())
    assert not any(isinstance(r, FilteredVolatilityResult) for r in ref_state.volatility.values())
    for a, b in zip(fast, ref, strict=True):
        _assert_same_scenarios(a, b)
    for asset in panel.columns:
        assert_same_result(fast_state.volatility[asset], ref_state.volatility[asset])
    assert fast_state.diagnostics() == ref_state.diagnostics()
    pd.testing.assert_frame_equal(fast_state.summary(), ref_state.summary(), check_exact=True)
    if fast_state.correlation is not None:
        assert fast_state.correlation.loglikelihood == ref_state.correlation.loglikelihood
        np.testing.assert_array_equal(
            fast_state.correlation.Q.values, ref_state.correlation.Q.values
        )


def test_walk_forward_with_fhs_equals_the_fix_path(panel, monkeypatch):
    models = {
        "FHS": ScenarioModel(FilteredHistoricalScenarios(GARCH(dist="t"), window=150)),
        "FHS-n": ScenarioModel(
            FilteredHistoricalScenarios(GJR(dist="skewt", mean="constant"), window=150), n=400
        ),
    }
    kw = dict(
        window=150,
        refit_every=20,
        start=panel.index[620],
        update_failure="refit",
        backend="sequential",
        progress=False,
        seed=11,
    )
    fast = walk_forward(models, panel, None, **kw)
    with monkeypatch.context() as m:
        _fix_path(m)
        ref = walk_forward(models, panel, None, **kw)
    # origins 620..698 (the last bar has no realized return to compare with)
    assert fast.config["n_forecasts"] == ref.config["n_forecasts"] == 79
    pd.testing.assert_frame_equal(fast.forecasts, ref.forecasts, check_exact=True)
    pd.testing.assert_frame_equal(fast.diagnostics, ref.diagnostics, check_exact=True)
