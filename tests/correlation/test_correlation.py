"""Tests of riskmodels.correlation (EWMA, CCC, DCC, cDCC, ADCC; full and composite likelihood).

Where expected numbers come from:

* direct formulas: the correlation-stage log-likelihood of Engle (2002, eq. 26) and the
  recursions of Engle (2002), Aielli (2013) and Cappiello, Engle and Sheppard (2006), written
  out with plain numpy loops (``np.linalg.inv``/``slogdet``) in this file;
* twins: the numba kernels against their pure-numpy twins (``rtol=1e-12``);
* calculus: analytic scores against central differences of the log-likelihood;
* simulation from a known process (``simulate_dcc``) with fixed seeds: long-run moments, the
  Engle-Sheppard forecast against simulated paths, and (in test_correlation_recovery.py)
  parameter recovery.

Tolerances: ``1e-12`` (relative, with an absolute floor of ``1e-12 * N`` for per-date values,
which are differences of O(N) terms) for deterministic algebra computed two ways; ``1e-6``
for finite differences; Monte Carlo tolerances are stated where used.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pandas as pd
import pytest

from riskmodels.correlation import (
    CCC,
    DCC,
    EWMACorrelation,
    MatrixPath,
    equicorrelation,
    simulate_dcc,
)
from riskmodels.correlation import _kernels as K
from riskmodels.correlation._likelihood import Problem, jacobian, to_free, to_natural
from riskmodels.correlation._linalg import (
    adcc_delta,
    clip_eigenvalues,
    cov2cor,
    nearest_correlation,
)
from riskmodels.correlation.simulation import negative_moment
from riskmodels.exceptions import (
    ConfigError,
    DataError,
    InsufficientDataError,
    ModelError,
    NotPositiveDefiniteError,
    RepairWarning,
)

numba_only = pytest.mark.skipif(not K.HAVE_NUMBA, reason="numba is not installed")


# ---------------------------------------------------------------------------------------------
# fixtures and direct (reference) formulas
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sim4():
    """DCC(0.05, 0.93) with GARCH(1,1) marginals, N = 4, T = 800 (seed fixed)."""
    return simulate_dcc(800, equicorrelation(4, 0.5), 0.05, 0.93, rng=11)


@pytest.fixture(scope="module")
def z_small() -> pd.DataFrame:
    """Standardized residuals from a 3-asset ADCC process, T = 150."""
    sim = simulate_dcc(150, equicorrelation(3, 0.4), 0.04, 0.9, g=0.04, kind="adcc", rng=3)
    return sim.std_resid


@pytest.fixture(scope="module")
def dcc_garch(sim4):
    """DCC fitted end to end (GARCH(1,1) univariate stage) on ``sim4``."""
    return DCC().fit(sim4.returns)


def direct_loglik(z, a, b, g=0.0, kind="dcc", Qbar=None, Nbar=None):
    """Per-date correlation-stage log-likelihood by plain loops (Engle 2002, eq. 26)."""
    T, N = z.shape
    Qbar = z.T @ z / T if Qbar is None else Qbar
    n = np.minimum(z, 0.0)
    if kind == "adcc" and Nbar is None:
        Nbar = n.T @ n / T
    if kind == "cdcc":  # Aielli (2013): diagonal recursion first, then the target
        q = np.ones((T, N))
        for t in range(1, T):
            q[t] = (1 - a - b) + a * q[t - 1] * z[t - 1] ** 2 + b * q[t - 1]
        xs = np.sqrt(q) * z
        S = xs.T @ xs / T
        Qbar = S / np.sqrt(np.outer(np.diag(S), np.diag(S)))
    Q = Qbar.copy()
    out = np.empty(T)
    for t in range(T):
        if t > 0:
            x = z[t - 1]
            if kind == "cdcc":
                x = np.sqrt(np.diag(Q)) * x
            Q = (1 - a - b) * Qbar + a * np.outer(x, x) + b * Q
            if kind == "adcc":
                Q = Q - g * Nbar + g * np.outer(n[t - 1], n[t - 1])
        d = np.sqrt(np.diag(Q))
        R = Q / np.outer(d, d)
        out[t] = -0.5 * (np.linalg.slogdet(R)[1] + z[t] @ np.linalg.inv(R) @ z[t] - z[t] @ z[t])
    return out


def _close(x, y, N, rtol=1e-12):
    np.testing.assert_allclose(x, y, rtol=rtol, atol=1e-12 * N)


# ---------------------------------------------------------------------------------------------
# kernels: numba against numpy twins, and against the direct formula
# ---------------------------------------------------------------------------------------------


def _kernel_inputs(kind, N=6, T=300, seed=0):
    sim = simulate_dcc(T, equicorrelation(N, 0.3), 0.05, 0.9, g=0.03, kind="adcc", rng=seed)
    z = sim.std_resid.to_numpy()
    Qbar = z.T @ z / T
    n = np.minimum(z, 0.0)
    Nbar = n.T @ n / T
    pb = Problem(
        z, kind, "full", None if kind == "cdcc" else Qbar, Nbar if kind == "adcc" else None
    )
    theta = np.array([0.05, 0.9, 0.03]) if kind == "adcc" else np.array([0.05, 0.9])
    return pb, theta


@numba_only
@pytest.mark.parametrize("kind", ["dcc", "cdcc", "adcc"])
def test_full_kernel_numba_equals_numpy_twin(kind):
    pb, theta = _kernel_inputs(kind)
    x, neg, C, Q0, dC, a, b, g = pb.inputs(theta)
    nscore = 0 if kind == "cdcc" else pb.k
    out_nb = K.full_loglik(pb.z, x, neg, C, Q0, a, b, g, dC, nscore, True, "numba")
    out_np = K.full_loglik(pb.z, x, neg, C, Q0, a, b, g, dC, nscore, True, "numpy")
    N = pb.z.shape[1]
    assert out_nb[0] == out_np[0] == 0
    _close(out_nb[1], out_np[1], N)  # llt
    _close(out_nb[2], out_np[2], N)  # scores
    _close(out_nb[3], out_np[3], N)  # Q_last
    _close(out_nb[4], out_np[4], N)  # R path


@numba_only
@pytest.mark.parametrize("kind", ["dcc", "cdcc", "adcc"])
def test_composite_kernel_numba_equals_numpy_twin(kind):
    pb, theta = _kernel_inputs(kind, N=7)
    x, neg, C, Q0, dC, a, b, g = pb.inputs(theta)
    nscore = 0 if kind == "cdcc" else pb.k
    f_nb, l_nb, s_nb = K.composite_loglik(pb.z, x, neg, C, Q0, a, b, g, dC, nscore, "numba")
    f_np, l_np, s_np = K.composite_loglik(pb.z, x, neg, C, Q0, a, b, g, dC, nscore, "numpy")
    assert f_nb == f_np == 0
    _close(l_nb, l_np, 7)
    _close(s_nb, s_np, 7)


@numba_only
def test_cdcc_diagonal_numba_equals_numpy_twin():
    z = np.random.default_rng(1).standard_normal((400, 5))
    _close(K.cdcc_diag(z, 0.05, 0.9, "numba"), K.cdcc_diag(z, 0.05, 0.9, "numpy"), 5)


@numba_only
def test_kernels_flag_non_positive_definite_q_the_same_way():
    # an intercept with a negative eigenvalue makes Q_t indefinite after a few steps
    z = np.random.default_rng(2).standard_normal((50, 3))
    C = np.array([[1.0, 0.99, -0.99], [0.99, 1.0, 0.99], [-0.99, 0.99, 1.0]])
    Q0 = np.eye(3)
    f_nb = K.full_loglik(z, z, z, C, Q0, 0.0, 0.0, 0.0, backend="numba")[0]
    f_np = K.full_loglik(z, z, z, C, Q0, 0.0, 0.0, 0.0, backend="numpy")[0]
    assert f_nb == f_np == 2  # Q_0 = I is fine, Q_1 = C is not


@pytest.mark.parametrize("backend", ["numpy", pytest.param("numba", marks=numba_only)])
@pytest.mark.parametrize(
    ("kind", "params"), [("dcc", (0.05, 0.9)), ("cdcc", (0.06, 0.88)), ("adcc", (0.03, 0.9, 0.05))]
)
def test_loglik_equals_direct_formula(z_small, backend, kind, params):
    """L_C at given parameters equals Engle (2002, eq. 26) evaluated with numpy loops."""
    res = DCC(kind=kind, univariate=None, backend=backend).fix(z_small, params)
    z = z_small.to_numpy()
    g = params[2] if kind == "adcc" else 0.0
    expected = direct_loglik(z, params[0], params[1], g, kind)
    _close(res.llt, expected, 3)
    assert res.loglikelihood_correlation == pytest.approx(expected.sum(), rel=1e-12)
    # the total adds the standard-normal log-likelihood of z (univariate=None)
    ll_v = -0.5 * (z.size * np.log(2 * np.pi) + (z**2).sum())
    assert res.loglikelihood == pytest.approx(ll_v + expected.sum(), rel=1e-12)


def test_composite_loglik_is_sum_of_bivariate_full_logliks(z_small):
    """Composite L over contiguous pairs = sum of the bivariate full L with 2x2 targets."""
    z = z_small.to_numpy()
    res = DCC(kind="adcc", likelihood="composite", univariate=None).fix(z_small, (0.03, 0.9, 0.05))
    Qbar = z.T @ z / len(z)
    n = np.minimum(z, 0)
    Nbar = n.T @ n / len(z)
    expected = 0.0
    for i in range(2):
        sl = [i, i + 1]
        expected += direct_loglik(
            z[:, sl], 0.03, 0.9, 0.05, "adcc", Qbar[np.ix_(sl, sl)], Nbar[np.ix_(sl, sl)]
        ).sum()
    assert res.composite_loglikelihood == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("likelihood", ["full", "composite"])
@pytest.mark.parametrize("kind", ["dcc", "adcc"])
def test_analytic_scores_equal_finite_differences(likelihood, kind):
    pb, theta = _kernel_inputs(kind, N=5, T=400, seed=4)
    pb.likelihood = likelihood
    analytic = pb.evaluate(theta, scores=True).scores.sum(axis=0)
    numeric = pb.numerical_scores(theta, step=1e-6).sum(axis=0)
    # central differences: O(h^2) truncation plus O(eps L / h) rounding, ~1e-6 relative
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-6 * np.abs(analytic).max())


def test_ccc_and_ewma_equal_direct_formulas(z_small):
    z = z_small.to_numpy()
    T = len(z)
    Qbar = z.T @ z / T
    R = cov2cor(Qbar)
    ccc = CCC(univariate=None).fit(z_small)
    Rinv = np.linalg.inv(R)
    expected = -0.5 * (
        np.linalg.slogdet(R)[1] + np.einsum("ti,ij,tj->t", z, Rinv, z) - (z * z).sum(1)
    )
    _close(ccc.llt, expected, 3)
    _close(ccc.correlation.values, np.broadcast_to(R, (T, 3, 3)), 3)
    ew = EWMACorrelation(0.9, univariate=None).fit(z_small)
    Q = Qbar.copy()
    for t in range(T):
        if t > 0:
            Q = 0.1 * np.outer(z[t - 1], z[t - 1]) + 0.9 * Q
        np.testing.assert_allclose(ew.correlation[t], cov2cor(Q), rtol=1e-12, atol=1e-14)
    assert ew.params.to_dict() == {"lam": 0.9}


def test_q_path_matches_kernel_correlations(z_small):
    """The numpy Q path of the result normalises to the kernel's R path."""
    for kind, p in (("dcc", (0.05, 0.9)), ("cdcc", (0.05, 0.9)), ("adcc", (0.03, 0.9, 0.04))):
        res = DCC(kind=kind, univariate=None).fix(z_small, p)
        np.testing.assert_allclose(
            cov2cor(res.Q.values), res.correlation.values, rtol=1e-12, atol=1e-14
        )


# ---------------------------------------------------------------------------------------------
# reparameterisation and estimation
# ---------------------------------------------------------------------------------------------


def test_reparameterisation_maps_box_onto_stationarity_region():
    rng = np.random.default_rng(0)
    for _ in range(200):
        delta = rng.uniform(0.2, 1.5)
        u = rng.uniform(0, 1, 3) * np.array([0.999, 1, 1])
        th = to_natural(u, delta)
        assert np.all(th >= 0) and th[0] + th[1] + delta * th[2] < 1
        np.testing.assert_allclose(to_free(th, delta), u, rtol=1e-10, atol=1e-12)
        # Jacobian against central differences
        h = 1e-7
        num = np.column_stack(
            [
                (to_natural(u + h * e, delta) - to_natural(u - h * e, delta)) / (2 * h)
                for e in np.eye(3)
            ]
        )
        np.testing.assert_allclose(jacobian(u, delta), num, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("kind", ["dcc", "cdcc", "adcc"])
def test_full_fit_is_a_maximum(sim4, kind):
    """Gradient ~ 0 and no better point nearby (checked on a grid of small steps)."""
    res = DCC(kind=kind, univariate=None).fit(sim4.std_resid)
    pb = res._problem
    th = res.params.to_numpy()
    free = [i for i, n in enumerate(res.params.index) if n not in res.params_at_bounds]
    g = pb.numerical_scores(th).sum(axis=0)[free]
    # |dL/dtheta| relative to the curvature scale: a Newton step of less than 1e-4 SE
    H = pb.hessian(th)[np.ix_(free, free)]
    step = np.linalg.solve(H, g)
    assert np.all(np.abs(step) < 1e-4 * res.std_errors.to_numpy()[free])
    L0 = res.loglikelihood_correlation
    for d in np.eye(len(th))[free]:
        for s in (-1e-3, 1e-3):
            cand = th + s * d
            if pb.feasible(cand):
                assert pb.evaluate(cand).llt.sum() <= L0 + 1e-9


def test_composite_and_full_agree_on_small_n(sim4):
    """Pakel et al. (2021): both are consistent; on N = 4 they differ by sampling noise only."""
    full = DCC(univariate=None).fit(sim4.std_resid)
    comp = DCC(likelihood="composite", univariate=None).fit(sim4.std_resid)
    diff = (full.params - comp.params).abs()
    # within two (larger, composite) standard errors; in practice much closer
    assert np.all(diff < 2 * comp.std_errors)
    # and the full likelihood barely moves between the two estimates
    assert full.loglikelihood_correlation - comp.loglikelihood_correlation < 2.0
    assert full.loglikelihood_correlation >= comp.loglikelihood_correlation


@numba_only
def test_numpy_backend_gives_the_numba_fit():
    sim = simulate_dcc(400, equicorrelation(4, 0.4), 0.05, 0.9, rng=8)
    a = DCC(kind="adcc", univariate=None, backend="numba").fit(sim.std_resid)
    b = DCC(kind="adcc", univariate=None, backend="numpy").fit(sim.std_resid)
    assert (a.backend, b.backend) == ("numba", "numpy")
    # the same optimiser path on likelihoods equal to ~1e-15: estimates equal to ~1e-9
    np.testing.assert_allclose(a.params, b.params, rtol=1e-7, atol=1e-9)
    assert a.loglikelihood == pytest.approx(b.loglikelihood, rel=1e-12)


def test_numpy_path_runs_without_numba():
    """With numba unimportable the package falls back to the numpy kernels."""
    code = textwrap.dedent(
        """
        import sys
        sys.modules["numba"] = None  # import numba -> ImportError
        from riskmodels.correlation import DCC, HAVE_NUMBA, equicorrelation, simulate_dcc
        sim = simulate_dcc(300, equicorrelation(3, 0.4), 0.05, 0.9, rng=1)
        res = DCC(univariate=None).fit(sim.std_resid)
        print(HAVE_NUMBA, res.backend, repr(res.loglikelihood_correlation))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    ).stdout.split()
    assert out[:2] == ["False", "numpy"]
    sim = simulate_dcc(300, equicorrelation(3, 0.4), 0.05, 0.9, rng=1)
    here = DCC(univariate=None).fit(sim.std_resid)
    assert float(out[2]) == pytest.approx(here.loglikelihood_correlation, rel=1e-10)


def test_backend_numba_unavailable_is_a_config_error(monkeypatch):
    monkeypatch.setattr(K, "HAVE_NUMBA", False)
    assert K.resolve_backend("auto") == "numpy"
    with pytest.raises(ConfigError, match="numba is not installed"):
        K.resolve_backend("numba")


def test_fit_is_identical_in_a_parallel_worker(sim4):
    """Determinism: the same numbers in this process and in a joblib (loky) worker."""
    from joblib import Parallel, delayed

    def fit(r):
        res = DCC(kind="adcc").fit(r)
        return res.params.to_numpy(), res.loglikelihood, res.blas_threads

    here = fit(sim4.returns)
    there = Parallel(n_jobs=2, backend="loky")(delayed(fit)(sim4.returns) for _ in range(2))
    for p, ll, threads in there:
        assert np.array_equal(p, here[0])
        assert ll == here[1]
        assert threads == 1


# ---------------------------------------------------------------------------------------------
# model claims: ADCC conventions, cDCC target, stationarity
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def long_adcc():
    return simulate_dcc(20_000, equicorrelation(3, 0.4), 0.04, 0.93, g=0.03, kind="adcc", rng=5)


def test_adcc_uncentred_convention_keeps_mean_q_at_target(long_adcc):
    """Cappiello et al. (2006): Nbar = E[n n'] makes the mean of Q_t equal to Qbar.

    The sample identity holds up to end effects of size O(1 / (T (1 - b))) ~ 1e-3 here.
    """
    res = DCC(kind="adcc", univariate=None).fix(long_adcc.std_resid, (0.04, 0.93, 0.03))
    z = long_adcc.std_resid.to_numpy()
    n = np.minimum(z, 0)
    np.testing.assert_allclose(res.asymmetry_target.to_numpy(), n.T @ n / len(n), rtol=1e-12)
    Qm = res.Q.values.mean(axis=0)
    assert np.abs(Qm - res.target.to_numpy()).max() < 3e-3


def test_adcc_centred_convention_shifts_mean_q(long_adcc):
    """Nbar = Cov(n): the mean of Q_t is Qbar + g nbar nbar' / (1 - b), not Qbar."""
    res = DCC(kind="adcc", univariate=None, asymmetry="centred").fix(
        long_adcc.std_resid, (0.04, 0.93, 0.03)
    )
    n = np.minimum(long_adcc.std_resid.to_numpy(), 0)
    nbar = n.mean(axis=0)
    np.testing.assert_allclose(
        res.asymmetry_target.to_numpy(), np.cov(n.T, bias=True), rtol=1e-10, atol=1e-14
    )
    Qm = res.Q.values.mean(axis=0)
    shift = 0.03 * np.outer(nbar, nbar) / (1 - 0.93)
    assert np.abs(Qm - res.target.to_numpy() - shift).max() < 3e-3
    assert np.abs(Qm - res.target.to_numpy()).max() > 0.05  # the shift is visible


@pytest.mark.parametrize("asymmetry", ["uncentred", "centred"])
def test_adcc_stationarity_bound_is_the_psd_bound_of_the_intercept(z_small, asymmetry):
    spec = DCC(kind="adcc", univariate=None, asymmetry=asymmetry)
    res = spec.fix(z_small, (0.02, 0.9, 0.01))
    Qbar, Nbar, delta = res.target.to_numpy(), res.asymmetry_target.to_numpy(), res.delta
    assert delta == pytest.approx(adcc_delta(Qbar, Nbar), rel=1e-12)
    g_max = (1 - 0.92) / delta
    inside = (1 - 0.92) * Qbar - (g_max * (1 - 1e-6)) * Nbar
    outside = (1 - 0.92) * Qbar - (g_max * (1 + 1e-3)) * Nbar
    assert np.linalg.eigvalsh(inside)[0] >= -1e-12
    assert np.linalg.eigvalsh(outside)[0] < 0
    spec.fix(z_small, (0.02, 0.9, g_max * (1 - 1e-6)))
    with pytest.raises(ConfigError, match=r"a \+ b \+ delta g = .* >= 1"):
        spec.fix(z_small, (0.02, 0.9, g_max * (1 + 1e-3)))


def test_cdcc_target_and_long_run_mean():
    """Aielli (2013): with ``z*_t = diag(Q_t)^{1/2} z_t``, ``E[z* z*'] = E[Q_t] = S`` and
    ``E[q_ii z_i^2] = 1``; the cDCC target (the correlation of z*) estimates S consistently.

    Moderate persistence (a + b = 0.9) so that time averages over T = 50000 are precise: the
    sampling sd of an entry of S is ~0.005 here (seen across seeds).
    """
    S = equicorrelation(3, 0.5)
    a, b, T = 0.1, 0.8, 50_000
    sim = simulate_dcc(T, S, a, b, kind="cdcc", rng=7)
    res = DCC(kind="cdcc", univariate=None).fix(sim.std_resid, (a, b))
    Q = res.Q.values
    zs = np.sqrt(np.diagonal(Q, axis1=1, axis2=2)) * sim.std_resid.to_numpy()
    S_raw = zs.T @ zs / T
    np.testing.assert_allclose(res.target.to_numpy(), cov2cor(S_raw), rtol=1e-12)
    np.testing.assert_allclose(np.diag(S_raw), 1.0, atol=0.03)  # E[q_ii z_i^2] = 1
    assert np.abs(res.target.to_numpy() - S).max() < 0.02
    # sample identity of the recursion (end effects O(1 / (T (1 - b))) ~ 1e-4)
    ident = ((1 - a - b) * res.target.to_numpy() + a * S_raw) / (1 - b)
    assert np.abs(Q.mean(axis=0) - ident).max() < 1e-3
    assert np.all(np.diag(res.target.to_numpy()) == 1.0)


def test_negative_moment_closed_form_against_simulation():
    """E[n n'] for z ~ N(0, R) (closed form) against 400k draws (MC sd ~ 1e-3)."""
    R = equicorrelation(3, 0.6)
    z = np.random.default_rng(0).multivariate_normal(np.zeros(3), R, size=400_000)
    n = np.minimum(z, 0)
    np.testing.assert_allclose(negative_moment(R), n.T @ n / len(n), atol=5e-3)


# ---------------------------------------------------------------------------------------------
# end to end with the univariate stage
# ---------------------------------------------------------------------------------------------


def test_dcc_uses_the_univariate_stage(sim4, dcc_garch):
    from riskmodels.volatility import GARCH, fit_panel

    panel = fit_panel(sim4.returns, GARCH())
    given = DCC().fit(sim4.returns, volatility=panel)
    # the results passed in are used as they are, not re-fitted
    assert all(given.volatility[a] is panel.results[a] for a in given.assets)
    assert given.params.equals(dcc_garch.params)
    # volatility stage log-likelihood: the sum of the univariate ones (same sample)
    assert dcc_garch.loglikelihood_volatility == pytest.approx(
        sum(panel.results[a].loglikelihood for a in panel.assets), rel=1e-10
    )
    np.testing.assert_allclose(dcc_garch.std_resid, panel.std_resid, rtol=0, atol=0)
    # covariance = D R D
    s = dcc_garch.conditional_volatility.to_numpy()
    np.testing.assert_allclose(
        dcc_garch.covariance.values,
        dcc_garch.correlation.values * s[:, :, None] * s[:, None, :],
        rtol=1e-14,
    )


def test_result_accessors(dcc_garch):
    res = dcc_garch
    assert isinstance(res.correlation, MatrixPath)
    assert res.correlation.shape == (res.nobs, 4, 4)
    assert res.is_positive_definite().all()
    d = res.index[100]
    at = res.correlation.at(d)
    assert list(at.columns) == list(res.assets)
    np.testing.assert_array_equal(at.to_numpy(), res.correlation.values[100])
    np.testing.assert_array_equal(res.correlation.at(str(d)).to_numpy(), at.to_numpy())
    pair = res.correlation.pair("A00", "A02")
    assert pair.iloc[100] == at.loc["A00", "A02"]
    tidy = res.correlation.tidy()
    assert len(tidy) == res.nobs * 6 and set(tidy.pair.unique()) >= {"A00-A01", "A02-A03"}
    with pytest.raises(KeyError, match="is not a date"):
        res.correlation.at("1999-01-01")
    with pytest.raises(KeyError, match="not one of the assets"):
        res.correlation.pair("A00", "BTC")
    with pytest.raises(ValueError, match="read-only"):
        res.correlation.values[0, 0, 0] = 2.0
    text = str(res.summary())
    assert "DCC" in text and "std err" in text and "BLAS threads" in text
    assert "Time:" not in text and "Date:" not in text
    assert res._repr_html_().startswith("<table")
    assert res.blas_threads == 1 and res.converged and res.estimated


def test_fix_reproduces_the_fit(dcc_garch, sim4):
    again = dcc_garch.fix(dcc_garch.params)
    assert again.loglikelihood == dcc_garch.loglikelihood
    assert not again.estimated and again.std_errors.isna().all()
    moved = dcc_garch.fix({"a": 0.02, "b": 0.95})
    assert moved.loglikelihood_correlation < dcc_garch.loglikelihood_correlation


# ---------------------------------------------------------------------------------------------
# forecasts and simulation
# ---------------------------------------------------------------------------------------------


def test_forecast_step_one_and_engle_sheppard_formula(dcc_garch):
    res = dcc_garch
    a, b = res.params
    z = res.std_resid.to_numpy()
    Qbar = res.target.to_numpy()
    Q_T = res.Q.values[-1]
    Q1 = (1 - a - b) * Qbar + a * np.outer(z[-1], z[-1]) + b * Q_T
    fc = res.forecast(10)
    np.testing.assert_allclose(fc.correlation[0], cov2cor(Q1), rtol=1e-12)
    phi = a + b
    Rbar = cov2cor(Qbar)
    for h in (2, 5, 10):
        w = phi ** (h - 1)
        np.testing.assert_allclose(
            fc.correlation[h - 1], (1 - w) * Rbar + w * cov2cor(Q1), rtol=1e-12
        )
    var = np.column_stack([res.volatility[x].forecast(10).to_numpy() for x in res.assets])
    sd = np.sqrt(var[4])
    np.testing.assert_allclose(fc.covariance[4], fc.correlation[4] * np.outer(sd, sd), rtol=1e-12)
    np.testing.assert_allclose(fc.cumulative_covariance().to_numpy(), fc.covariance.sum(0))
    assert fc.correlation_matrix().shape == (4, 4)
    with pytest.raises(ConfigError, match=r"step must be in 1\.\.10"):
        fc.covariance_matrix(11)
    with pytest.raises(ConfigError, match="horizon must be a positive integer"):
        res.forecast(0)
    # horizons as durations (DESIGN.md): whole numbers of daily bars
    np.testing.assert_array_equal(res.forecast("3D").correlation, res.forecast(3).correlation)
    with pytest.raises(ConfigError, match=r"horizon 36h is not a whole number of 1d bars"):
        res.forecast("36h")


def test_forecast_repr_is_short_and_the_forecast_a_frame(dcc_garch, tmp_path):
    fc = dcc_garch.forecast(10)
    text = repr(fc)
    assert len(text) < 1_000 and "[[" not in text  # no bare 3-D arrays
    assert "4 assets [A00, A01, A02, A03]" in text and "steps 1..10" in text
    assert f"{fc.mean_pairwise().iloc[0]:.3f}" in text
    html = fc._repr_html_()
    assert len(html) < 6_000 and "step 1" in html and "step 10" in html
    long = fc.to_frame()
    assert len(long) == 10 * (4 * 5 // 2)
    row = long[(long.step == 5) & (long.asset_i == "A00") & (long.asset_j == "A02")].iloc[0]
    assert row["correlation"] == fc.correlation[4, 0, 2]
    assert row["covariance"] == fc.covariance[4, 0, 2]
    long.to_parquet(tmp_path / "fc.parquet")
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "fc.parquet"), long)
    # the fitted result and a simulated sample print short too (not every field)
    assert len(repr(dcc_garch)) < 1_000 and repr(dcc_garch).startswith("DCCResult(")


def test_simulated_sample_repr_is_short(sim4):
    text = repr(sim4)
    assert len(text) < 1_000 and "800 dates x 4 assets" in text


def test_simulated_paths_agree_with_the_forecast(dcc_garch):
    """Mean of z z' over 20000 simulated paths vs the forecast: exact at h = 1 up to Monte Carlo
    error (sd of an off-diagonal mean ~ 0.008), approximate (Engle-Sheppard) at h = 10."""
    res = dcc_garch
    z = res.simulate_std_resid(20_000, 10, rng=3)
    fc = res.forecast(10)
    for h in (1, 10):
        m = np.einsum("pi,pj->ij", z[:, h - 1], z[:, h - 1]) / z.shape[0]
        np.testing.assert_allclose(m, fc.correlation[h - 1], atol=0.04)
    r = res.simulate(20_000, 2, rng=3)
    assert r.shape == (20_000, 2, 4)
    # one-step return covariance = H_{T+1} (MC relative sd ~ 1-2 %)
    np.testing.assert_allclose(np.cov(r[:, 0].T, bias=True), fc.covariance[0], rtol=0.06)


def test_simulation_innovations(dcc_garch):
    res = dcc_garch
    a = res.simulate(500, 3, innovations="t", rng=1)
    b = res.simulate(500, 3, innovations="t", rng=1)
    np.testing.assert_array_equal(a, b)  # reproducible with a seed
    zt = res.simulate_std_resid(40_000, 1, innovations="t", nu=5.0, rng=2)[:, 0]
    assert np.var(zt, axis=0) == pytest.approx(np.ones(4), rel=0.08)  # unit variance
    kurt = ((zt - zt.mean(0)) ** 4).mean(0) / zt.var(0) ** 2
    assert np.all(kurt > 4)  # t(5) has kurtosis 9; normal 3
    assert 2 < res.nu < 500
    # bootstrap: step-one shocks are L_{T+1} e with e a row of the decorrelated residuals
    zb = res.simulate_std_resid(50, 1, innovations="bootstrap", rng=4)[:, 0]
    L1 = np.linalg.cholesky(res.forecast(1).correlation[0])
    e = np.linalg.solve(L1, zb.T).T
    pool = res._decorrelated
    for row in e:
        assert np.min(np.abs(pool - row).max(axis=1)) < 1e-10
    with pytest.raises(ConfigError, match="innovations must be 'normal', 't' or 'bootstrap'"):
        res.simulate(10, 2, innovations="model")
    with pytest.raises(ConfigError, match="nu must be > 2"):
        res.simulate(10, 2, innovations="t", nu=2.0)
    with pytest.raises(ConfigError, match="n_paths must be a positive integer"):
        res.simulate(0, 2)


# ---------------------------------------------------------------------------------------------
# standard errors
# ---------------------------------------------------------------------------------------------


def test_two_step_equals_robust_without_a_first_stage(z_small):
    """With no univariate parameters and a given target, the stacked system is stage 2 only."""
    z = z_small.to_numpy()
    res = DCC(univariate=None, target=z.T @ z / len(z)).fit(z_small)
    assert res.target_source == "given"
    np.testing.assert_allclose(res.cov_params("two-step"), res.cov_params("robust"), rtol=1e-12)


def test_two_step_standard_errors_with_garch(dcc_garch):
    se2 = dcc_garch.std_errors_for("two-step")
    se = dcc_garch.std_errors
    assert np.all(np.isfinite(se2))
    # the first-stage correction is small for DCC (Engle and Sheppard 2001): within 50 %
    assert np.all(np.abs(se2 / se - 1) < 0.5)
    assert dcc_garch.std_errors_for("nonrobust").notna().all()


def test_standard_error_errors(z_small, sim4):
    comp = DCC(likelihood="composite", univariate=None).fit(sim4.std_resid)
    with pytest.raises(ModelError, match="not a variance under composite likelihood"):
        comp.cov_params("nonrobust")
    with pytest.raises(ConfigError, match="kind must be 'robust'"):
        comp.cov_params("sandwich")
    cd = DCC(kind="cdcc", univariate=None).fit(sim4.std_resid)
    with pytest.raises(ModelError, match="not available for cDCC"):
        cd.cov_params("two-step")
    fixed = DCC(univariate=None).fix(z_small, (0.05, 0.9))
    with pytest.raises(ModelError, match="this result is from fix"):
        fixed._two_step  # noqa: B018


# ---------------------------------------------------------------------------------------------
# bad input: each with a named error
# ---------------------------------------------------------------------------------------------


def test_nan_inside_a_history_is_a_data_error(sim4):
    r = sim4.returns.copy()
    r.iloc[300, 2] = np.nan
    with pytest.raises(DataError, match=r"returns\['A02'\] has NaN inside its history: 1 value"):
        DCC().fit(r)


def test_too_few_observations_names_the_limit(sim4):
    with pytest.raises(InsufficientDataError, match=r"has 80 rows .* fewer than the 100"):
        DCC(univariate=None).fit(sim4.std_resid.iloc[:80])


def test_short_common_sample_names_the_late_asset(sim4):
    r = sim4.returns.copy()
    r.iloc[:750, 1] = np.nan  # A01 "listed" late: 50 common rows
    with pytest.raises(InsufficientDataError, match=r"limited by: \['A01'\] start at"):
        DCC().fit(r)


def test_disjoint_histories_are_an_insufficient_data_error(sim4):
    r = sim4.returns.copy()
    r.iloc[:400, 0] = np.nan
    r.iloc[400:, 3] = np.nan
    with pytest.raises(InsufficientDataError, match=r"disjoint histories: \['A03'\] end"):
        DCC().fit(r)


def test_common_sample_is_used_for_staggered_listings(sim4):
    r = sim4.returns.copy()
    r.iloc[:100, 1] = np.nan  # listed late
    r.iloc[-50:, 3] = np.nan  # delisted early
    res = DCC().fit(r)
    assert res.index[0] == r.index[100] and res.index[-1] == r.index[-51]
    assert res.nobs == 650


def test_constant_series_is_a_data_error(sim4):
    r = sim4.returns.copy()
    r["A01"] = 0.0
    with pytest.raises(DataError, match=r"\['A01'\] constant over the common sample"):
        DCC().fit(r)


def test_raw_returns_with_univariate_none_is_a_data_error(sim4):
    with pytest.raises(DataError, match="look like raw returns"):
        DCC(univariate=None).fit(sim4.returns)


@pytest.mark.parametrize(
    ("mutate", "error", "match"),
    [
        (lambda r: r.to_numpy(), ConfigError, "must be a pandas DataFrame"),
        (lambda r: r[["A00"]], ConfigError, "at least two assets"),
        (lambda r: r.iloc[::-1], DataError, "not sorted in time"),
        (lambda r: r.set_axis(["A", "A", "B", "C"], axis=1), DataError, "duplicated columns"),
        (lambda r: r.replace(r.iloc[5, 1], np.inf), DataError, r"\['A01'\] has an infinite value"),
        (lambda r: r.assign(A02="x"), DataError, r"\['A02'\] are not numeric"),
    ],
)
def test_malformed_panels(sim4, mutate, error, match):
    with pytest.raises(error, match=match):
        DCC(univariate=None).fit(mutate(sim4.std_resid))


NOT_PD = np.array(
    [[1.0, 0.9, -0.9, 0.0], [0.9, 1.0, 0.9, 0.0], [-0.9, 0.9, 1.0, 0.0], [0, 0, 0, 1.0]]
)


def test_non_pd_target_raises_unless_repaired(sim4):
    with pytest.raises(NotPositiveDefiniteError, match="given target is not positive definite"):
        DCC(univariate=None, target=NOT_PD).fit(sim4.std_resid)
    for method in ("nearest", "clip"):
        with pytest.warns(RepairWarning, match="repair"):
            res = DCC(univariate=None, target=NOT_PD, repair=method).fit(sim4.std_resid)
        rep = res.target_repair
        assert rep.method == method and rep.min_eigenvalue_before < 0 < rep.min_eigenvalue_after
        assert np.linalg.eigvalsh(res.target.to_numpy())[0] > 0
        assert "repaired" in str(res.summary())
    # Higham's projection is never farther than clip-and-rescale (Frobenius norm); the
    # floor of 1e-8 on the eigenvalues allows a 1e-8 excess
    A = np.array([[1.0, 0.95, 0.2], [0.95, 1.0, -0.5], [0.2, -0.5, 1.0]])
    Rn, _ = nearest_correlation(A)
    assert np.linalg.norm(Rn - A) <= np.linalg.norm(clip_eigenvalues(A) - A) + 1e-8


def test_nearest_correlation_against_higham_example():
    """Higham (2002, Section 4): nearest correlation to [[1,1,0],[1,1,1],[0,1,1]] is
    [[1, .7607, .1573], [.7607, 1, .7607], [.1573, .7607, 1]] (published to 4 decimals)."""
    A = np.array([[1.0, 1, 0], [1, 1, 1], [0, 1, 1]])
    X, _ = nearest_correlation(A, floor=0.0)
    expected = np.array([[1, 0.7607, 0.1573], [0.7607, 1, 0.7607], [0.1573, 0.7607, 1]])
    np.testing.assert_allclose(X, expected, atol=1e-4)


def test_pairwise_target(sim4):
    z = sim4.std_resid.copy()
    z.iloc[:300, 0] = np.nan  # A00 starts later: pairs with A00 use fewer rows
    res = DCC(univariate=None, target="pairwise").fit(z)
    v = z.to_numpy()
    ok = ~np.isnan(v[:, 0]) & ~np.isnan(v[:, 1])
    assert res.target.iloc[0, 1] == pytest.approx(np.mean(v[ok, 0] * v[ok, 1]), rel=1e-12)
    assert res.target.iloc[2, 3] == pytest.approx(np.mean(v[:, 2] * v[:, 3]), rel=1e-12)
    assert res.target_source == "pairwise" and res.nobs == 500


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"kind": "bekk"}, "kind must be 'dcc'"),
        ({"likelihood": "pairwise"}, "likelihood must be 'full' or 'composite'"),
        ({"asymmetry": "both"}, "asymmetry must be 'uncentred'"),
        ({"target": "shrunk"}, "target must be 'sample', 'pairwise'"),
        ({"repair": "yes"}, "repair must be None"),
        ({"backend": "cuda"}, "backend must be 'auto', 'numba' or 'numpy'"),
        ({"kind": "cdcc", "target": "pairwise"}, "kind='cdcc' needs target='sample'"),
        ({"univariate": "figarch"}, "univariate must be a volatility spec"),
    ],
)
def test_invalid_specs(kwargs, match, sim4):
    with pytest.raises(ConfigError, match=match):
        DCC(**kwargs).fit(sim4.returns)


def test_invalid_params_and_arguments(z_small, sim4):
    spec = DCC(univariate=None)
    with pytest.raises(ConfigError, match=r"a \+ b = 1.000000 >= 1"):
        spec.fix(z_small, (0.1, 0.9))
    with pytest.raises(ConfigError, match="must be finite and non-negative"):
        spec.fix(z_small, (-0.1, 0.9))
    with pytest.raises(ConfigError, match=r"params must be \['a', 'b'\]"):
        spec.fix(z_small, (0.1, 0.8, 0.01))
    with pytest.raises(ConfigError, match=r"missing \['g'\]"):
        DCC(kind="adcc", univariate=None).fix(z_small, {"a": 0.1, "b": 0.8})
    with pytest.raises(ConfigError, match="target must have shape"):
        DCC(univariate=None, target=np.eye(2)).fit(z_small)
    with pytest.raises(ConfigError, match="target must be symmetric"):
        DCC(univariate=None, target=np.triu(np.ones((3, 3)))).fit(z_small)
    with pytest.raises(ConfigError, match="volatility has no result for"):
        DCC().fit(sim4.returns, volatility={})
    with pytest.raises(ConfigError, match="lam must be in"):
        EWMACorrelation(1.5)


def test_ewma_and_ccc_with_garch(sim4, dcc_garch):
    ew = EWMACorrelation().fit(sim4.returns)
    ccc = CCC().fit(sim4.returns)
    # the same univariate stage as DCC
    assert ew.loglikelihood_volatility == pytest.approx(
        dcc_garch.loglikelihood_volatility, rel=1e-12
    )
    # DCC nests CCC (a = b = 0): its maximised likelihood is at least CCC's
    assert dcc_garch.loglikelihood >= ccc.loglikelihood
    assert ew.forecast(5).correlation[4] == pytest.approx(ew.forecast(5).correlation[0])
    assert np.ptp(ccc.correlation.values, axis=0).max() == 0.0


def test_no_runtime_warnings_on_a_boundary_fit():
    """A panel with no asymmetry drives ADCC's g to its bound: flagged, SE NaN, no warnings."""
    sim = simulate_dcc(600, equicorrelation(3, 0.3), 0.04, 0.9, rng=12)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = DCC(kind="adcc", univariate=None).fit(sim.std_resid)
    if "g" in res.params_at_bounds:
        assert np.isnan(res.std_errors["g"])
    assert res.converged


# ---------------------------------------------------------------------------------------------
# real data (the local mirror)
# ---------------------------------------------------------------------------------------------


@pytest.mark.mirror
@pytest.mark.slow
def test_dcc_on_the_ten_asset_daily_panel(mirror_source):
    """DCC-GARCH on the ten majors, daily, common sample 2020-09-23 (first AVAX return) to
    2026-03-12: converges, R_t positive definite at every date, and the average pairwise
    correlation jumps in the 2020-03-12 crash (8 assets listed then) and the FTX collapse
    (2022-11-08/09) to above its median over the sample."""
    from riskmodels.data import DEFAULT_UNIVERSE, load_prices, log_returns

    prices = load_prices(list(DEFAULT_UNIVERSE), "1d", end="2026-03-12", source=mirror_source)
    r = log_returns(prices)
    res = DCC().fit(r.loc["2020-09-22":])
    assert res.converged and res.nobs == 1997
    assert str(res.index[0].date()) == "2020-09-23" and str(res.index[-1].date()) == "2026-03-12"
    assert res.is_positive_definite().all()
    assert 0 < res.params["a"] < 0.1 and 0.8 < res.params["b"] < 1
    m = res.correlation.mean_pairwise()
    median = m.median()
    ftx = m.loc["2022-11-09":"2022-11-20"]
    assert ftx.mean() > median
    assert ftx.max() - m.loc["2022-11-07"] > 0.05  # the jump after the collapse
    # March 2020: the eight assets listed by then, common sample from DOGE's listing
    eight = ["BTC", "ETH", "BNB", "XRP", "ADA", "DOGE", "LTC", "LINK"]
    res8 = DCC().fit(r[eight].loc[:"2026-03-12"])
    assert res8.converged and res8.is_positive_definite().all()
    m8 = res8.correlation.mean_pairwise()
    march = m8.loc["2020-03-13":"2020-03-20"]  # R_t for t after the 2020-03-12 shock
    assert march.mean() > m8.median()
    assert m8.loc["2020-03-13"] - m8.loc["2020-03-12"] > 0.1


def test_correlation_paths_plot():
    """CorrelationResult.plot draws one line per pair (3 assets: 3 pairs) and the mean pairwise
    correlation, with the same values as MatrixPath.pair and mean_pairwise (issue 15 .plot())."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from riskmodels.correlation import DCC, simulate_dcc

    sim = simulate_dcc(400, np.eye(3) * 0.5 + 0.5, a=0.05, b=0.9, rng=3)
    res = DCC().fit(sim.returns)
    ax = res.plot()
    assert len(ax.lines) == 4
    np.testing.assert_allclose(ax.lines[0].get_ydata(), res.correlation.pair(*res.assets[:2]))
    np.testing.assert_allclose(ax.lines[-1].get_ydata(), res.correlation.mean_pairwise())
    _fig, own = plt.subplots()
    assert res.correlation.plot([res.assets[:2]], mean=False, ax=own) is own
    assert len(own.lines) == 1
    plt.close("all")
