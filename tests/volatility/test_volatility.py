"""Tests of riskmodels.volatility.

Where expected numbers come from
--------------------------------
* Data are simulated with arch's own simulator (``arch.univariate`` mean/volatility/distribution
  classes with a seeded ``numpy.random.Generator``) from known GARCH-family processes, in
  percent units, and divided by 100 to give the package's decimal log returns.
* Estimates, log-likelihoods and volatilities are compared with arch fitted directly on
  ``100 * returns`` (``arch.arch_model`` / ``arch.univariate`` classes).
* Log-likelihoods of decimal returns are recomputed from scipy densities (closed form).
* Forecasts are compared with arch's forecasts, with the EGARCH closed form under normal shocks,
  and with the mean of many simulated paths (Monte Carlo, tolerance from the standard error).

Tolerances
----------
* ``rtol=1e-6`` for optimizer output against arch: the same optimizer path on the same data
  gives identical numbers; 1e-6 only allows for a different BLAS/compiler build.
* ``rtol=1e-10``-``1e-12`` for deterministic algebra (unit conversions, recursions).
* Monte Carlo: ``4 * standard error`` of the simulated mean (a two-sided 6e-5 false-failure
  probability per comparison if the code is right; the seeds are fixed, so the tests are
  deterministic).
"""

from __future__ import annotations

import pickle
import re
import warnings

import numpy as np
import pandas as pd
import pytest
from arch import arch_model
from arch.univariate import (
    GARCH as ArchGARCH,
)
from arch.univariate import (
    ConstantMean,
    EWMAVariance,
    Normal,
    SkewStudent,
    StudentsT,
    ZeroMean,
)
from scipy import stats
from threadpoolctl import threadpool_limits

from riskmodels.exceptions import (
    ConfigError,
    ConvergenceError,
    ConvergenceWarning,
    DataError,
    InsufficientDataError,
)
from riskmodels.volatility import (
    EGARCH,
    EWMA,
    GARCH,
    GJR,
    PanelVolatilityResult,
    VolatilityResult,
    fit_panel,
)
from riskmodels.volatility._recursions import SQRT2_OV_PI

LOG100 = float(np.log(100.0))

# True parameters (arch's percent units) of the simulated processes.
# mu, omega, alpha, gamma, beta, eta, lambda
GJR_SKEWT_TRUE = [0.03, 0.05, 0.04, 0.08, 0.88, 6.0, -0.1]
# omega, alpha, beta, nu
GARCH_T_TRUE = [0.05, 0.08, 0.90, 6.0]


def simulate_arch(model, params, nobs, *, name="SIM", start="2019-01-01"):
    """Decimal returns simulated by arch's own simulator (percent units / 100), UTC daily."""
    sim = model.simulate(params, nobs, burn=500)
    idx = pd.date_range(start, periods=nobs, freq="D", tz="UTC", name="time")
    return pd.Series(sim["data"].to_numpy() / 100.0, index=idx, name=name)


@pytest.fixture(scope="module")
def returns() -> pd.Series:
    """T = 2000 from a GJR-GARCH(1,1,1) skew-t process with a constant mean (arch simulator)."""
    model = ConstantMean(
        None,
        volatility=ArchGARCH(1, 1, 1),
        distribution=SkewStudent(seed=np.random.default_rng(20261121)),
    )
    return simulate_arch(model, GJR_SKEWT_TRUE, 2000)


@pytest.fixture(scope="module")
def garch_t_returns() -> pd.Series:
    """T = 2000 from a GARCH(1,1)-t process with zero mean (arch simulator)."""
    model = ZeroMean(
        None, volatility=ArchGARCH(1, 0, 1), distribution=StudentsT(seed=np.random.default_rng(7))
    )
    return simulate_arch(model, GARCH_T_TRUE, 2000, name="GT")


@pytest.fixture(scope="module")
def fits(returns) -> dict[str, VolatilityResult]:
    return {
        "garch-t": GARCH(dist="t").fit(returns),
        "gjr-t": GJR(dist="t").fit(returns),
        "egarch-normal": EGARCH(dist="normal").fit(returns),
        "egarch-t": EGARCH(dist="t").fit(returns),
        "ewma": EWMA().fit(returns),
    }


# --------------------------------------------------------------------------------------------
# Equality with arch fitted directly on 100 * returns
# --------------------------------------------------------------------------------------------
ARCH_CASES = {
    "garch11-normal-zero": (GARCH(), dict(mean="Zero", vol="GARCH", p=1, o=0, q=1, dist="normal")),
    "garch11-t-constant": (
        GARCH(dist="t", mean="constant"),
        dict(mean="Constant", vol="GARCH", p=1, o=0, q=1, dist="t"),
    ),
    "gjr-skewt-constant": (
        GJR(dist="skewt", mean="constant"),
        dict(mean="Constant", vol="GARCH", p=1, o=1, q=1, dist="skewt"),
    ),
    "gjr-normal-zero": (GJR(), dict(mean="Zero", vol="GARCH", p=1, o=1, q=1, dist="normal")),
    "egarch-t-zero": (EGARCH(dist="t"), dict(mean="Zero", vol="EGARCH", p=1, o=1, q=1, dist="t")),
    "egarch-normal-constant": (
        EGARCH(mean="constant"),
        dict(mean="Constant", vol="EGARCH", p=1, o=1, q=1, dist="normal"),
    ),
}


@pytest.mark.parametrize("case", list(ARCH_CASES))
def test_fit_equals_arch_on_percent_returns(returns, case):
    spec, kwargs = ARCH_CASES[case]
    res = spec.fit(returns)
    with threadpool_limits(limits=1):
        ref = arch_model(100.0 * returns, **kwargs).fit(disp="off")
    # Same optimizer path on the same data: identical up to build differences.
    np.testing.assert_allclose(res.params.to_numpy(), ref.params.to_numpy(), rtol=1e-6)
    assert list(res.params.index) == list(ref.params.index)
    np.testing.assert_allclose(res.loglikelihood_pct, ref.loglikelihood, rtol=1e-6)
    # Units: decimal log-likelihood = percent log-likelihood + nobs log(100) (Jacobian of y=100r).
    np.testing.assert_allclose(
        res.loglikelihood, res.loglikelihood_pct + res.nobs * LOG100, rtol=1e-12
    )
    np.testing.assert_allclose(
        res.conditional_volatility.to_numpy(),
        ref.conditional_volatility.to_numpy() / 100,
        rtol=1e-6,
    )
    np.testing.assert_allclose(res.std_resid.to_numpy(), ref.std_resid.to_numpy(), rtol=1e-6)
    np.testing.assert_allclose(res.resid.to_numpy(), ref.resid.to_numpy() / 100, rtol=1e-6)
    np.testing.assert_allclose(res.std_errors.to_numpy(), ref.std_err.to_numpy(), rtol=1e-5)
    assert res.converged and res.convergence_flag == 0
    assert res.index.equals(returns.index)
    assert res.nobs == 2000 and res.blas_threads == 1 and res.asset == "SIM"


@pytest.mark.parametrize("dist", ["normal", "t"])
def test_ewma_equals_arch_ewma_variance(returns, dist):
    res = EWMA(dist=dist).fit(returns)
    ref = ZeroMean(
        100.0 * returns,
        volatility=EWMAVariance(0.94),
        distribution={"normal": Normal, "t": StudentsT}[dist](),
    ).fit(disp="off")
    np.testing.assert_allclose(res.params.to_numpy(), ref.params.to_numpy(), rtol=1e-6)
    np.testing.assert_allclose(res.loglikelihood_pct, ref.loglikelihood, rtol=1e-10)
    np.testing.assert_allclose(
        res.conditional_volatility.to_numpy(),
        ref.conditional_volatility.to_numpy() / 100,
        rtol=1e-10,
    )


def test_ewma_recursion_and_loglik_by_hand(returns):
    """EWMA variance from its definition, started at arch's backcast (0.94-weighted mean of the
    first 75 squared returns); Gaussian log-likelihood of the decimal returns (scipy)."""
    res = EWMA(lam=0.9).fit(returns)
    r = returns.to_numpy()
    w = 0.94 ** np.arange(75)
    s2 = np.empty_like(r)
    s2[0] = np.sum(w / w.sum() * r[:75] ** 2)
    for t in range(1, r.shape[0]):
        s2[t] = 0.9 * s2[t - 1] + 0.1 * r[t - 1] ** 2
    np.testing.assert_allclose(res.conditional_volatility.to_numpy() ** 2, s2, rtol=1e-12)
    ll = stats.norm.logpdf(r, scale=np.sqrt(s2)).sum()
    np.testing.assert_allclose(res.loglikelihood, ll, rtol=1e-12)
    assert res.params.empty and res.n_params == 0 and res.persistence == 1.0


def test_decimal_loglikelihood_from_scipy_densities(returns, fits):
    """The decimal log-likelihood is the density of the decimal returns (closed form, scipy)."""
    r = returns.to_numpy()
    res = fits["garch-t"]
    nu = res.params["nu"]
    sigma = res.conditional_volatility.to_numpy()
    scale = sigma * np.sqrt((nu - 2.0) / nu)  # arch's t is standardized to unit variance
    ll = stats.t.logpdf(r, df=nu, scale=scale).sum()
    np.testing.assert_allclose(res.loglikelihood, ll, rtol=1e-10)


def test_parameter_recovery_long_sample():
    """QMLE is consistent and asymptotically normal: on T=5000 draws from a known GARCH(1,1)-t
    every estimate lies within 4 robust standard errors of the truth (a correct implementation
    fails with probability ~6e-5 per parameter; the seed is fixed)."""
    model = ZeroMean(
        None, volatility=ArchGARCH(1, 0, 1), distribution=StudentsT(seed=np.random.default_rng(11))
    )
    r = simulate_arch(model, GARCH_T_TRUE, 5000)
    res = GARCH(dist="t").fit(r)
    z = (res.params.to_numpy() - np.array(GARCH_T_TRUE)) / res.std_errors.to_numpy()
    assert np.all(np.abs(z) < 4.0), dict(zip(res.params.index, z, strict=True))


# --------------------------------------------------------------------------------------------
# Forecasts and simulation
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("key", ["garch-t", "gjr-t", "egarch-t", "ewma"])
def test_one_step_recursion_equals_arch_forecast(fits, key):
    """Our recursion's one-step variance equals arch's forecast(horizon=1) (algebra)."""
    res = fits[key]
    ref = res.arch_result.forecast(horizon=1, reindex=False).variance.iloc[-1, 0] / 1e4
    _, s2 = res.variance_paths(np.zeros((3, 1)))
    np.testing.assert_allclose(s2[:, 0], ref, rtol=1e-10)
    np.testing.assert_allclose(res.forecast(1).iloc[0], ref, rtol=1e-12)


@pytest.mark.parametrize("key", ["garch-t", "gjr-t", "egarch-normal", "ewma"])
def test_variance_paths_reproduce_in_sample_path(returns, key):
    """Fit on the first 1500 observations, feed the in-sample standardized residuals of the
    rest: the recursion reproduces arch's in-sample variances and the returns (algebra)."""
    spec = {
        "garch-t": GARCH(dist="t"),
        "gjr-t": GJR(dist="t", mean="constant"),
        "egarch-normal": EGARCH(),
        "ewma": EWMA(),
    }[key]
    head = spec.fit(returns.iloc[:1500])
    full = spec.fix(returns, head.params)
    z = full.std_resid.to_numpy()[1500:]
    r, s2 = head.variance_paths(z[None, :])
    np.testing.assert_allclose(
        s2[0], full.conditional_volatility.to_numpy()[1500:] ** 2, rtol=1e-10
    )
    np.testing.assert_allclose(r[0], returns.to_numpy()[1500:], rtol=1e-9, atol=1e-15)
    if spec.mean == "zero":
        # the first 1500 in-sample variances agree too (same backcast, same recursion); with a
        # constant mean arch's backcast uses residuals about each sample's own mean, so the
        # start differs (and the difference decays geometrically long before t = 1500)
        np.testing.assert_allclose(
            full.conditional_volatility.to_numpy()[:1500],
            head.conditional_volatility.to_numpy(),
            rtol=1e-12,
        )


@pytest.mark.parametrize("key", ["garch-t", "gjr-t", "ewma"])
def test_simulated_mean_variance_matches_analytic_forecast(fits, key):
    """Mean simulated variance over 20,000 model-driven paths equals arch's analytic forecast
    within 4 Monte Carlo standard errors (std of the paths / sqrt(n)) at every horizon."""
    res = fits[key]
    z = res.draw_innovations(20_000, 10, innovations="model", rng=np.random.default_rng(1))
    _, s2 = res.variance_paths(z)
    forecast = res.forecast(10).to_numpy()
    # step 1 is known at T (no randomness): algebra
    np.testing.assert_allclose(s2[:, 0], forecast[0], rtol=1e-10)
    se = s2[:, 1:].std(axis=0, ddof=1) / np.sqrt(s2.shape[0])
    err = np.abs(s2[:, 1:].mean(axis=0) - forecast[1:])
    assert np.all(err <= 4 * se), err / se


def egarch_normal_closed_form(res: VolatilityResult, horizon: int) -> np.ndarray:
    r"""E_T[sigma^2_{T+h}] of EGARCH(1,1,1) with normal shocks (arch parameterization):
    ln s2_{T+h} = omega sum_{k<h-1} beta^k + beta^{h-1} ln s2_{T+1}
                  + sum_{k<h-1} beta^k (alpha(|z|-c) + gamma z),
    with E[exp(a|z| + b z)] = exp((a+b)^2/2) Phi(a+b) + exp((a-b)^2/2) Phi(a-b), z ~ N(0,1)."""
    omega, alpha, gamma, beta = (
        res.params[n] for n in ("omega", "alpha[1]", "gamma[1]", "beta[1]")
    )
    ln1 = np.log(res.forecast(1).iloc[0] * 1e4)  # percent units, as the parameters

    def mgf(a, b):
        plus = np.exp((a + b) ** 2 / 2) * stats.norm.cdf(a + b)
        minus = np.exp((a - b) ** 2 / 2) * stats.norm.cdf(a - b)
        return plus + minus

    out = []
    for h in range(1, horizon + 1):
        k = np.arange(h - 1)
        bk = beta**k
        log_mean = omega * bk.sum() + beta ** (h - 1) * ln1 - SQRT2_OV_PI * alpha * bk.sum()
        out.append(np.exp(log_mean) * np.prod(mgf(alpha * bk, gamma * bk)))
    return np.array(out) / 1e4


def test_egarch_simulation_matches_closed_form_and_arch(fits):
    """EGARCH-normal: our simulated mean variance and arch's simulation forecast (used by
    ``forecast``) both equal the closed form within 4 Monte Carlo standard errors."""
    res = fits["egarch-normal"]
    exact = egarch_normal_closed_form(res, 10)
    n = 20_000
    _, s2 = res.variance_paths(res.draw_innovations(n, 10, rng=np.random.default_rng(2)))
    arch_fc = res.forecast(10, n_sims=n, rng=np.random.default_rng(3)).to_numpy()
    # step 1 is known at T: exact in both
    np.testing.assert_allclose(s2[:, 0], exact[0], rtol=1e-10)
    np.testing.assert_allclose(arch_fc[0], exact[0], rtol=1e-10)
    se = s2[:, 1:].std(axis=0, ddof=1) / np.sqrt(n)
    ours = s2[:, 1:].mean(axis=0)
    assert np.all(np.abs(ours - exact[1:]) <= 4 * se), (ours - exact[1:]) / se
    assert np.all(np.abs(arch_fc[1:] - exact[1:]) <= 4 * se), (arch_fc[1:] - exact[1:]) / se
    # an explicit seed makes the simulated forecast a function of the result (rng=None draws
    # fresh entropy: riskmodels._random.as_generator)
    np.testing.assert_array_equal(
        res.forecast(5, rng=0).to_numpy(), res.forecast(5, rng=0).to_numpy()
    )


def test_simulate_shapes_units_and_reproducibility(fits):
    res = fits["gjr-t"]
    a = res.simulate(50, 7, rng=123)
    b = res.simulate(50, 7, rng=np.random.default_rng(123))
    assert a.shape == (50, 7)
    np.testing.assert_array_equal(a, b)
    # decimal units: the simulated spread is that of the decimal returns, not 100x
    assert 0.2 < a.std() / res.resid.std() < 5
    z = res.draw_innovations(50, 7, innovations="bootstrap", rng=5)
    assert np.isin(z, res.std_resid.to_numpy()).all()  # resampled standardized residuals
    np.testing.assert_array_equal(res.simulate(50, 7, innovations=z), res.variance_paths(z)[0])
    forecast = res.forecast(3)
    assert list(forecast.index) == [1, 2, 3] and forecast.index.name == "horizon"


def test_given_innovations_drive_returns(returns):
    """With mean 'constant', r = mu + sigma z; sigma from the recursion (percent -> decimal)."""
    res = GJR(dist="t", mean="constant").fit(returns)
    z = np.array([[1.0, -2.0, 0.5]])
    r, s2 = res.variance_paths(z)
    mu = res.params["mu"] / 100
    np.testing.assert_allclose(r, mu + np.sqrt(s2) * z, rtol=1e-12)
    p = res.params
    eps1 = (r[0, 0] - mu) * 100
    assert eps1 > 0  # so the gamma term is off
    s2_2 = p["omega"] + p["alpha[1]"] * eps1**2 + p["beta[1]"] * s2[0, 0] * 1e4
    np.testing.assert_allclose(s2[0, 1] * 1e4, s2_2, rtol=1e-12)


# --------------------------------------------------------------------------------------------
# fix, bounds, summaries
# --------------------------------------------------------------------------------------------
def test_fix_reproduces_fit(returns, fits):
    res = fits["garch-t"]
    fixed = GARCH(dist="t").fix(returns, res.params)
    np.testing.assert_allclose(fixed.loglikelihood, res.loglikelihood, rtol=1e-12)
    np.testing.assert_allclose(
        fixed.conditional_volatility.to_numpy(), res.conditional_volatility.to_numpy(), rtol=1e-12
    )
    assert not fixed.estimated and fixed.converged and fixed.convergence_flag is None
    assert fixed.std_errors.isna().all()


def test_params_at_bounds_and_binding_constraints(returns):
    garch = GARCH()
    zero_alpha = garch.fix(returns, [0.05, 0.0, 0.9])
    assert zero_alpha.params_at_bounds == ("alpha[1]",)
    igarch = garch.fix(returns, [0.05, 0.1, 0.9])
    assert igarch.binding_constraints == ("alpha[1] + beta[1] <= 1",)
    assert igarch.params_at_bounds == ()
    gjr = GJR().fix(returns, [0.05, 0.05, 0.1, 0.9])
    assert gjr.binding_constraints == ("alpha[1] + 0.5*gamma[1] + beta[1] <= 1",)
    t_upper = GARCH(dist="t").fix(returns, [0.05, 0.05, 0.9, 500.0])
    assert t_upper.params_at_bounds == ("nu",)


def test_iid_returns_put_alpha_at_its_bound():
    """Without ARCH effects the true alpha is 0, on arch's bound; the estimate lands there and is
    flagged (fixed seed)."""
    r = pd.Series(np.random.default_rng(5).standard_normal(2000) * 0.02, name="IID")
    res = GARCH().fit(r)
    assert "alpha[1]" in res.params_at_bounds
    assert res.params["alpha[1]"] < 1e-6


def test_summary_text_html_and_no_dates(fits):
    res = fits["egarch-t"]
    text = res.summary().as_text()
    assert text == str(res) == res.summary().as_text()  # diffable: no clock in it
    assert "Date:" not in text and "Time:" not in text
    for name in res.params.index:
        assert name in text
    assert "EGARCH(1,1,1), Student-t innovations, zero mean" in text
    assert "<table" in res._repr_html_()
    assert "EGARCH(1,1,1)" in repr(res)


def test_result_is_frozen_and_picklable(fits):
    res = fits["garch-t"]
    with pytest.raises(AttributeError):
        res.loglikelihood = 0.0  # type: ignore[misc]
    back = pickle.loads(pickle.dumps(res))
    np.testing.assert_array_equal(back.params.to_numpy(), res.params.to_numpy())
    np.testing.assert_array_equal(back.forecast(5).to_numpy(), res.forecast(5).to_numpy())


def test_spec_names_and_params():
    assert GARCH(dist="t").param_names == ("omega", "alpha[1]", "beta[1]", "nu")
    assert GJR(dist="skewt", mean="constant").param_names == (
        "mu",
        "omega",
        "alpha[1]",
        "gamma[1]",
        "beta[1]",
        "eta",
        "lambda",
    )
    assert EWMA().param_names == () and EWMA().min_obs == 100
    assert GARCH(p=5, q=5, dist="skewt", mean="constant").min_obs == 140
    assert GJR() == GJR(p=1, o=1, q=1) and hash(GJR()) == hash(GJR())
    assert str(EGARCH(dist="t")) == "EGARCH(1,1,1), Student-t innovations, zero mean"


# --------------------------------------------------------------------------------------------
# Convergence handling
# --------------------------------------------------------------------------------------------
def garch_normal_sample(seed: int, name: str) -> pd.Series:
    model = ZeroMean(
        None, volatility=ArchGARCH(1, 0, 1), distribution=Normal(seed=np.random.default_rng(seed))
    )
    return simulate_arch(model, [0.05, 0.08, 0.9], 1000, name=name)


def test_non_convergence_raises_naming_model_and_asset(returns):
    with pytest.raises(
        ConvergenceError,
        match=r"GARCH\(1,1\), normal innovations, zero mean for 'SIM' did not converge: SLSQP status 9",
    ):
        GARCH().fit(returns, options={"maxiter": 3})


def test_retry_from_other_starting_values(returns):
    """Bad starting values with an iteration cap fail; the retry (arch's own starting values
    first, then a grid) converges and records why."""
    full = GARCH().fit(returns)
    bad = [0.9 * 0.05 * float((100 * returns).var()), 0.9, 0.05]
    with pytest.raises(ConvergenceError, match="did not converge"):
        GARCH().fit(returns, starting_values=bad, options={"maxiter": 10})
    res = GARCH().fit(returns, starting_values=bad, options={"maxiter": 10}, on_failure="retry")
    assert res.converged
    assert res.failure_note.startswith(
        "did not converge from the given starting values (SLSQP status 9"
    )
    # converged to the same optimum as the unrestricted fit (optimizer tolerance)
    np.testing.assert_allclose(res.loglikelihood, full.loglikelihood, rtol=1e-6)


def test_warn_keeps_a_flagged_result(returns):
    with pytest.warns(
        ConvergenceWarning, match=r"for SIM did not converge cleanly \(SLSQP status 9"
    ):
        res = GARCH().fit(returns, options={"maxiter": 3}, on_failure="warn")
    assert not res.converged and res.convergence_flag == 9
    assert "on_failure='warn'" in res.failure_note
    assert re.search(r"Converged:\s+NO", res.summary().as_text())


# --------------------------------------------------------------------------------------------
# Panels
# --------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def panel_returns(returns, garch_t_returns) -> pd.DataFrame:
    """Three assets with different listed histories: A full, B listed late, C delisted early."""
    frame = pd.DataFrame(
        {"A": returns, "B": garch_t_returns.set_axis(returns.index), "C": returns * 0.5}
    )
    frame.iloc[:300, 1] = np.nan
    frame.iloc[1700:, 2] = np.nan
    return frame


def test_fit_panel_each_asset_on_its_history(panel_returns):
    spec = GARCH(dist="t")
    panel = fit_panel(panel_returns, spec)
    assert isinstance(panel, PanelVolatilityResult)
    assert panel.assets == ("A", "B", "C") and panel.failures == {}
    for asset in panel.assets:
        alone = spec.fit(panel_returns[asset].dropna())
        np.testing.assert_array_equal(panel[asset].params.to_numpy(), alone.params.to_numpy())
    assert panel["B"].index[0] == panel_returns.index[300] and panel["C"].nobs == 1700
    assert panel.std_resid.shape == panel_returns.shape
    assert (
        panel.std_resid["B"].iloc[:300].isna().all()
        and panel.std_resid["B"].iloc[300:].notna().all()
    )
    assert panel.conditional_volatility["C"].iloc[1700:].isna().all()
    table = panel.summary()
    assert list(table.index) == ["A", "B", "C"]
    assert {"omega", "alpha[1]", "beta[1]", "nu", "loglikelihood", "converged"} <= set(
        table.columns
    )
    assert table.loc["C", "nobs"] == 1700


def test_fit_panel_parallel_is_bit_identical(panel_returns):
    spec = EGARCH(dist="t")
    serial = fit_panel(panel_returns, spec, n_jobs=1)
    parallel = fit_panel(panel_returns, spec, n_jobs=2)
    for asset in serial.assets:
        np.testing.assert_array_equal(
            serial[asset].params.to_numpy(), parallel[asset].params.to_numpy()
        )
        assert serial[asset].loglikelihood == parallel[asset].loglikelihood
    pd.testing.assert_frame_equal(serial.std_resid, parallel.std_resid, check_exact=True)
    assert parallel.blas_threads == 1 and parallel.n_jobs == 2


def test_fit_panel_internal_nan_names_asset_and_time(panel_returns):
    bad = panel_returns.copy()
    bad.iloc[1000, 1] = np.nan
    with pytest.raises(
        DataError,
        match=r"returns for 'B' contain 1 NaN value\(s\) inside the sample, the first at 2021-09-27",
    ):
        fit_panel(bad, GARCH())


def test_fit_panel_failures_retry_and_raise():
    # With an iteration cap of 8, S0 fails from arch's starting values but converges from the
    # grid; S2 converges directly; S1 fails from every start (all with fixed seeds).
    s0, s1, s2 = (garch_normal_sample(k, f"S{k}") for k in (0, 1, 2))
    frame = pd.DataFrame({"S0": s0, "S2": s2})
    with pytest.raises(ConvergenceError, match=r"for 'S0' did not converge: SLSQP status 9"):
        fit_panel(frame, GARCH(), options={"maxiter": 8})
    panel = fit_panel(frame, GARCH(), options={"maxiter": 8}, on_failure="retry", n_jobs=2)
    assert list(panel.failures) == ["S0"]
    assert "retried from 5 alternative starting values, kept #3" in panel.failures["S0"]
    assert all(r.converged for r in panel.results.values())
    with pytest.raises(
        ConvergenceError,
        match=r"for 'S1' did not converge from arch's starting values .* nor from 5 alternative",
    ):
        fit_panel(
            pd.DataFrame({"S1": s1, "S2": s2}), GARCH(), options={"maxiter": 8}, on_failure="retry"
        )


def test_fit_panel_warn_reemits_worker_warnings(panel_returns):
    with pytest.warns(ConvergenceWarning) as record:
        panel = fit_panel(
            panel_returns, GARCH(), options={"maxiter": 3}, on_failure="warn", n_jobs=2
        )
    # the workers' warnings reach the parent, one per asset, in column order
    assert [str(w.message).split(" for ")[1].split(" ")[0] for w in record] == ["A", "B", "C"]
    assert set(panel.failures) == {"A", "B", "C"}
    assert not panel.summary()["converged"].any()


# --------------------------------------------------------------------------------------------
# Bad input: named errors with messages that say the fix
# --------------------------------------------------------------------------------------------
def test_nan_inside_sample(returns):
    bad = returns.copy()
    bad.iloc[[10, 20]] = np.nan
    with pytest.raises(
        DataError,
        match=r"returns for 'SIM' contain 2 NaN value\(s\) inside the sample, the first at 2019-01-11",
    ):
        GARCH().fit(bad)


def test_leading_and_trailing_nan_are_trimmed(returns):
    padded = pd.concat(
        [pd.Series([np.nan] * 5), returns.reset_index(drop=True), pd.Series([np.nan] * 3)]
    )
    padded = padded.set_axis(pd.RangeIndex(len(padded))).rename("SIM")
    res = GARCH().fit(padded)
    assert res.nobs == 2000 and res.index[0] == 5
    np.testing.assert_array_equal(res.params.to_numpy(), GARCH().fit(returns).params.to_numpy())


def test_too_few_observations(returns):
    with pytest.raises(
        InsufficientDataError, match=r"have 99 observations .* GARCH\(1,1\) needs at least 100"
    ):
        GARCH().fit(returns.iloc[:99])
    with pytest.raises(InsufficientDataError, match=r"GARCH\(5,5\) needs at least 140"):
        GARCH(p=5, q=5, dist="skewt", mean="constant").fit(returns.iloc[:139])


def test_constant_series():
    flat = pd.Series(np.zeros(500), name="USDT")
    with pytest.raises(DataError, match=r"returns for 'USDT' are constant \(every value is 0.0\)"):
        EWMA().fit(flat)


def test_percent_returns_are_rejected(returns):
    with pytest.raises(DataError, match=r"expects decimal log returns .* divide them by 100"):
        GARCH().fit(returns * 100)


def test_other_bad_inputs(returns):
    with pytest.raises(DataError, match=r"1 infinite value\(s\), the first at 2019-01-06"):
        GARCH().fit(returns.where(returns.index != returns.index[5], np.inf))
    with pytest.raises(DataError, match="not sorted by time"):
        GARCH().fit(returns.iloc[::-1])
    with pytest.raises(DataError, match="duplicated index value"):
        GARCH().fit(pd.concat([returns, returns.iloc[-1:]]))
    with pytest.raises(DataError, match="must be numeric"):
        GARCH().fit(returns.astype(str))
    with pytest.raises(ConfigError, match="Use fit_panel"):
        GARCH().fit(returns.to_frame())
    with pytest.raises(ConfigError, match="must be a pandas Series"):
        GARCH().fit(returns.to_numpy())


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (
            lambda: EWMA(lam=1.2),
            r"lam must be in \(0, 1\) \(got 1.2\). RiskMetrics uses 0.94 for daily data.",
        ),
        (lambda: GARCH(p=-1), r"p must be a non-negative integer \(got -1\)"),
        (lambda: GARCH(q=1.5), r"q must be a non-negative integer \(got 1.5\)"),
        (lambda: GARCH(p=0), r"p and o cannot both be 0"),
        (lambda: EGARCH(p=0, o=0), r"p and o cannot both be 0 in EGARCH"),
        (lambda: GJR(o=0), r"GJR needs o >= 1 .* Use GARCH\(p, q\)"),
        (
            lambda: GARCH(dist="gaussian"),
            r"dist must be one of 'normal', 't', 'skewt' \(got 'gaussian'\)",
        ),
        (lambda: GARCH(mean="ar"), r"mean must be one of 'zero', 'constant' \(got 'ar'\)"),
    ],
)
def test_spec_validation(make, match):
    with pytest.raises(ConfigError, match=match):
        make()


def test_argument_validation(returns, fits):
    res = fits["garch-t"]
    spec = GARCH(dist="t")
    with pytest.raises(
        ConfigError, match=r"starting_values must have 4 values in the order \['omega'"
    ):
        spec.fit(returns, starting_values=[0.1, 0.1])
    with pytest.raises(ConfigError, match=r"violate arch's bounds or constraints"):
        spec.fit(returns, starting_values=[0.05, 0.6, 0.6, 6.0])
    with pytest.raises(
        ConfigError, match=r"on_failure must be 'raise', 'retry' or 'warn' \(got 'ignore'\)"
    ):
        spec.fit(returns, on_failure="ignore")
    with pytest.raises(ConfigError, match=r"params violate GARCH\(1,1\)'s constraints"):
        spec.fix(returns, [0.05, -0.1, 0.9, 6.0])
    with pytest.raises(ConfigError, match=r"nu must be > 2 for a finite variance \(got 2.0\)"):
        spec.fix(returns, [0.05, 0.1, 0.8, 2.0])
    with pytest.raises(ConfigError, match=r"params must be indexed by .*\(missing \['nu'\]"):
        spec.fix(returns, res.params.drop("nu"))
    with pytest.raises(ConfigError, match=r"horizon must be a positive integer \(got 0\)"):
        res.forecast(0)
    with pytest.raises(
        ConfigError, match=r"innovations must have shape \(n_paths, horizon\) = \(2, 3\)"
    ):
        res.simulate(2, 3, innovations=np.zeros((3, 2)))
    with pytest.raises(ConfigError, match=r"innovations must be 'model', 'bootstrap' or an array"):
        res.simulate(2, 3, innovations="normal")
    with pytest.raises(
        ConfigError, match=r"2-D array of shape \(n_paths, horizon\) \(got shape \(3,\)\)"
    ):
        res.variance_paths(np.zeros(3))
    with pytest.raises(ConfigError, match="innovations must be finite"):
        res.variance_paths(np.full((1, 2), np.nan))
    with pytest.raises(
        ConfigError, match=r"rng must be a numpy.random.Generator, an int seed or None"
    ):
        res.simulate(2, 3, rng="seed")
    with pytest.raises(ConfigError, match="returns must be a pandas DataFrame"):
        fit_panel(returns, spec)
    with pytest.raises(
        ConfigError, match=r"n_jobs must be a positive integer or -1 for every core \(got 0\)"
    ):
        fit_panel(returns.to_frame(), spec, n_jobs=0)
    with pytest.raises(ConfigError, match="spec must be a volatility spec"):
        fit_panel(returns.to_frame(), "GARCH")


def test_fit_emits_no_warnings(returns):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        GJR(dist="skewt", mean="constant").fit(returns)
        EGARCH(dist="t").fit(returns).forecast(5)


@pytest.mark.mirror
def test_real_btc_daily_garch_t(mirror_source):
    # Real data: GARCH(1,1)-t on BTC daily log returns 2018-2026 converges with fat tails
    # (nu well below 10) and its conditional volatility peaks right after the 2020-03-12
    # crash (the largest move in the sample, PROVENANCE §4). BTC daily GARCH-t sits on the
    # integrated (IGARCH) boundary alpha + beta = 1: the result must say so, not hide it.
    from riskmodels.data import load_prices, log_returns

    r = log_returns(load_prices(["BTC"], start="2018-01-01", source=mirror_source))["BTC"].dropna()
    res = GARCH(dist="t", mean="constant").fit(r)
    assert res.converged
    assert 2.0 < res.params["nu"] < 10.0
    pers = res.params["alpha[1]"] + res.params["beta[1]"]
    assert pers <= 1.0 + 1e-9
    if pers > 1.0 - 1e-6:
        assert "alpha[1] + beta[1] <= 1" in res.binding_constraints
    peak = res.conditional_volatility.loc["2020-01-01":"2020-12-31"].idxmax()
    assert pd.Timestamp("2020-03-12", tz="UTC") <= peak <= pd.Timestamp("2020-03-20", tz="UTC")
    # fix() takes the fitted parameters back even though SLSQP left them on the boundary
    again = GARCH(dist="t", mean="constant").fix(r, res.params)
    np.testing.assert_allclose(again.loglikelihood, res.loglikelihood, rtol=1e-10)


def test_fix_accepts_what_fit_returns_at_the_igarch_boundary(returns):
    # arch's SLSQP can return alpha + beta slightly above 1 (1 + 1.6e-6 seen on BTC daily):
    # fix() must accept it (tolerance FIX_CONSTRAINT_TOL = 1e-5, above SLSQP's ~1e-6
    # feasibility tolerance), while a real violation is still refused.
    spec = GARCH(dist="t")
    on_edge = spec.fix(returns, [0.05, 0.1, 0.9 + 2e-6, 6.0])
    assert on_edge.params["alpha[1]"] + on_edge.params["beta[1]"] > 1.0
    with pytest.raises(ConfigError, match=r"params violate GARCH\(1,1\)'s constraints"):
        spec.fix(returns, [0.05, 0.1, 0.9 + 1e-3, 6.0])
