"""Tests for riskmodels.risk: empirical, parametric, Cornish-Fisher and EVT VaR/ES.

Where the expected numbers come from is said at each test: hand calculation from the
definitions, numpy.quantile, scipy (distributions, quad, genpareto.fit), or simulation from a
known distribution with a tolerance derived from the estimator's standard error.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction

import numpy as np
import pytest
from scipy import integrate, stats

from riskmodels.exceptions import (
    ConfigError,
    DataError,
    InsufficientDataError,
    ModelError,
)
from riskmodels.risk import (
    GPDTailFit,
    RiskEstimate,
    es,
    es_cornish_fisher,
    es_evt,
    es_normal,
    es_t,
    estimate,
    fit_gpd_tail,
    sample_moments,
    var,
    var_cornish_fisher,
    var_es,
    var_evt,
    var_normal,
    var_t,
)
from riskmodels.risk import empirical as empirical_mod
from riskmodels.risk import methods as methods_mod


# -- helpers -----------------------------------------------------------------------------------
def reference_var_es(pnl: np.ndarray, alpha: float, weights: np.ndarray | None = None):
    """Brute-force VaR/ES straight from Acerbi & Tasche (2002), Definition 2.6 / Prop. 3.2.

    Independent of the package: full sort, normalized probabilities, the first sorted loss whose
    cumulative probability reaches alpha, and ES = (E[L 1{L>VaR}] + VaR (P(L<=VaR) - alpha))
    / (1 - alpha) (not the Rockafellar-Uryasev form the package uses).
    """
    losses = -np.asarray(pnl, dtype=float)
    p = np.full(losses.size, 1.0 / losses.size) if weights is None else weights / weights.sum()
    order = np.argsort(losses, kind="stable")
    srt, ps = losses[order], p[order]
    cum = np.cumsum(ps)
    v = srt[np.flatnonzero(cum >= alpha - 1e-12)[0]]
    tail = p[losses > v] @ losses[losses > v]
    e = (tail + v * (p[losses <= v].sum() - alpha)) / (1.0 - alpha)
    return float(v), float(e)


def tail_quad(quantile, alpha: float) -> float:
    """ES = (1/(1-alpha)) int_alpha^1 VaR_u du by adaptive quadrature (QAGS handles the
    integrable singularity of the quantile function at u = 1)."""
    val, _ = integrate.quad(quantile, alpha, 1.0, epsabs=0.0, epsrel=1e-10, limit=500)
    return val / (1.0 - alpha)


# -- empirical: definitions --------------------------------------------------------------------
@pytest.mark.parametrize(
    ("n", "alpha"),
    [
        (n, a)
        for n in (20, 100, 101, 1000, 1237, 5000)
        for a in (0.9, 0.95, 0.975, 0.99, 0.995)
        if n * (1 - a) >= 1 - 1e-9  # long enough for the alpha tail
    ],
)
def test_var_equals_numpy_inverted_cdf(rng, n, alpha):
    # numpy.quantile(method="inverted_cdf") is Hyndman-Fan definition 1, the same lower
    # quantile; n alpha is an integer for several (n, alpha) here, the atom case.
    pnl = rng.standard_normal(n)
    expected = float(np.quantile(-pnl, alpha, method="inverted_cdf"))
    assert var(pnl, alpha) == expected  # the same order statistic: exact


def test_hand_examples_unweighted():
    # Losses 1..10, alpha = 0.85: n alpha = 8.5, so VaR = L_(9) = 9 and the 15% tail is the 10
    # (10%) plus half of the 9 (5%): ES = (0.1 * 10 + 0.05 * 9) / 0.15 = 29/3 (by hand).
    pnl = -np.arange(1.0, 11.0)
    assert var(pnl, 0.85) == 9.0
    assert es(pnl, 0.85) == pytest.approx(29.0 / 3.0, rel=1e-14)
    # Atoms: eight zero losses and two losses of 5; F(0) = 0.8 < 0.85 <= F(5) = 1, so VaR = 5
    # and the whole tail is the atom at 5: ES = 5 (by hand).
    pnl = -np.array([0.0] * 8 + [5.0, 5.0])
    assert var_es(pnl, 0.85) == (5.0, 5.0)
    # Losses 1..100 at 0.95: VaR = L_(95) = 95, ES = mean(96..100) = 98 (n alpha integer).
    assert var_es(-np.arange(1.0, 101.0), 0.95) == (95.0, 98.0)


def test_hand_example_weighted():
    # Losses 1, 2, 3, 4 with probabilities 0.1, 0.2, 0.3, 0.4 (cumulative 0.1, 0.3, 0.6, 1.0).
    pnl = -np.array([1.0, 2.0, 3.0, 4.0])
    w = np.array([1.0, 2.0, 3.0, 4.0])  # unnormalized on purpose
    # alpha = 0.5: VaR = 3 (first cumulative >= 0.5); ES = (0.4 * 4 + 3 * (0.6 - 0.5)) / 0.5
    # = 3.8 (Acerbi-Tasche by hand).
    assert var(pnl, 0.5, w) == 3.0
    assert es(pnl, 0.5, w) == pytest.approx(3.8, rel=1e-14)
    # alpha = 0.75: VaR = 4 and the tail is inside the atom at 4: ES = 4.
    assert var_es(pnl, 0.75, w) == (4.0, pytest.approx(4.0, rel=1e-14))


def test_negative_var_when_quantile_is_a_gain():
    # All P&L are gains 1..100: the 95% loss quantile is -6 (loss = -gain), reported as is.
    pnl = np.arange(1.0, 101.0)
    assert var(pnl, 0.95) == -6.0
    assert es(pnl, 0.95) == pytest.approx(-3.0, rel=1e-14)  # mean of -5..-1


@pytest.mark.parametrize("n", [200, 1000, 1001])
@pytest.mark.parametrize("alpha", [0.95, 0.99])
@pytest.mark.parametrize("const", [1.0, 0.3, "1/n"])
def test_equal_weights_equal_unweighted(rng, n, alpha, const):
    # The two code paths (partition vs weighted sort) must agree: rtol 1e-12 leaves room only
    # for summation order in ES.
    pnl = rng.standard_t(4, n)
    w = np.full(n, 1.0 / n if const == "1/n" else const)
    v0, e0 = var_es(pnl, alpha)
    v1, e1 = var_es(pnl, alpha, w)
    assert v1 == v0
    assert e1 == pytest.approx(e0, rel=1e-12)


@pytest.mark.parametrize("alpha", [0.9, 0.95, 0.99])
def test_integer_weights_equal_duplication(rng, alpha):
    # Weight 2 means the observation twice (weight 0: dropped); includes ties from rounding.
    pnl = np.round(rng.standard_normal(700), 1)
    w = rng.integers(0, 4, size=pnl.size).astype(float)
    dup = np.repeat(pnl, w.astype(int))
    v0, e0 = var_es(dup, alpha)
    v1, e1 = var_es(pnl, alpha, w)
    assert v1 == v0
    assert e1 == pytest.approx(e0, rel=1e-12)


@pytest.mark.skipif(
    int(np.__version__.split(".")[0]) < 2, reason="weighted numpy.quantile needs numpy >= 2"
)
def test_weighted_var_equals_numpy_weighted_quantile(rng):
    # numpy >= 2.0 implements weighted inverted_cdf: the same definition, another code.
    for alpha in (0.9, 0.95, 0.99):
        pnl = rng.standard_normal(3000)
        w = rng.exponential(size=pnl.size)
        expected = float(np.quantile(-pnl, alpha, weights=w, method="inverted_cdf"))
        assert var(pnl, alpha, w) == expected


@pytest.mark.parametrize("concentrated", [False, True])
def test_weighted_matches_reference_implementation(rng, concentrated):
    # concentrated=True puts almost all weight on the smallest losses, so the alpha crossing
    # is not among the largest 4n(1-alpha)+64 losses: this exercises the full-sort fallback.
    pnl = np.round(rng.standard_normal(2000), 2)  # ties on purpose
    w = rng.random(pnl.size)
    if concentrated:
        w[pnl > 0] *= 1e6  # large weights on the gains = the smallest losses
    for alpha in (0.8, 0.95, 0.99):
        ref = reference_var_es(pnl, alpha, w)
        got = var_es(pnl, alpha, w)
        assert got[0] == ref[0]
        # The two ES formulas are algebraically equal; 1e-10 allows for the cancellation in
        # the reference's VaR * (P(L <= VaR) - alpha) term.
        assert got[1] == pytest.approx(ref[1], rel=1e-10)


def test_es_fraction_exact_with_rational_weights():
    # With weights that are exact binary fractions the Acerbi-Tasche ES can be computed in
    # exact rational arithmetic (fractions.Fraction) and compared to 1e-15.
    pnl = -np.array([3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0, 5.0, 3.0, 5.0, 8.0])
    w = np.array([1, 2, 1, 4, 1, 1, 2, 1, 3, 1, 1, 2], dtype=float)
    alpha = 0.875
    losses = [Fraction(float(x)) for x in -pnl]
    p = [Fraction(int(x)) / int(w.sum()) for x in w]
    order = sorted(range(len(losses)), key=lambda i: losses[i])
    cum, v = Fraction(0), None
    for i in order:
        cum += p[i]
        if cum >= Fraction(7, 8):
            v = losses[i]
            break
    tail = sum(p[i] * losses[i] for i in range(len(p)) if losses[i] > v)
    below = sum(p[i] for i in range(len(p)) if losses[i] <= v)
    expected = (tail + v * (below - Fraction(7, 8))) / Fraction(1, 8)
    assert var(pnl, alpha, w) == float(v)
    assert es(pnl, alpha, w) == pytest.approx(float(expected), rel=1e-15)


# -- empirical: 2-D and vectorization ----------------------------------------------------------
@pytest.mark.parametrize("weighting", ["none", "shared", "rowwise"])
def test_2d_equals_columnwise_1d(rng, monkeypatch, weighting):
    # A small block size forces several blocks of accounts (the chunking loop).
    monkeypatch.setattr(empirical_mod, "_CHUNK_ELEMENTS", 1000)
    s, a = 400, 37
    pnl = rng.standard_normal((s, a)) * rng.uniform(0.5, 2.0, size=a)
    w = None
    if weighting == "shared":
        w = rng.random(s)
    elif weighting == "rowwise":
        w = rng.random((s, a))
    v0, e0 = var_es(pnl, 0.99, w, axis=0)
    v1, e1 = var_es(pnl.T.copy(), 0.99, None if w is None else w.T.copy(), axis=1)
    assert v0.shape == e0.shape == (a,)
    for j in range(a):
        wj = None if w is None else (w if w.ndim == 1 else w[:, j])
        vj, ej = var_es(pnl[:, j], 0.99, wj)
        # same code path row by row: identical numbers
        assert v0[j] == vj and v1[j] == vj
        assert e0[j] == pytest.approx(ej, rel=1e-14) and e1[j] == pytest.approx(ej, rel=1e-14)
    np.testing.assert_array_equal(var(pnl, 0.99, w), v0)
    np.testing.assert_array_equal(es(pnl, 0.99, w), e0)
    np.testing.assert_array_equal(var(pnl, 0.99, w, axis=-2), v0)


def test_2d_unweighted_equals_numpy_quantile(rng):
    pnl = rng.standard_normal((2500, 50))
    expected = np.quantile(-pnl, 0.99, axis=0, method="inverted_cdf")
    np.testing.assert_array_equal(var(pnl, 0.99, axis=0), expected)


def test_es_at_least_var(rng):
    # ES >= VaR for any sample (the ES definition adds a non-negative term): heavy tails,
    # atoms, weighted and unweighted, many accounts at once.
    pnl = np.round(rng.standard_t(3, (500, 200)), 1)
    w = rng.exponential(size=500)
    for alpha in (0.5, 0.9, 0.975, 0.99):
        for weights in (None, w):
            v, e = var_es(pnl, alpha, weights)
            assert np.all(e >= v)


# -- empirical: convergence to closed forms ----------------------------------------------------
def _es_standard_error(pdf, q: float, es_true: float, alpha: float, n: int) -> float:
    """Asymptotic s.e. of the empirical ES: sqrt(Var[(L - q)^+] / n) / (1 - alpha).

    (Influence function of the Rockafellar-Uryasev form; equals Chen 2008, J. Fin. Econometrics
    6, Eq. 2.8: [Var(L | L > q) + alpha (ES - q)^2] / ((1 - alpha) n).)
    """
    m2, _ = integrate.quad(lambda x: (x - q) ** 2 * pdf(x), q, np.inf, epsabs=0, epsrel=1e-10)
    m1 = (es_true - q) * (1.0 - alpha)  # E[(L - q)^+]
    return math.sqrt((m2 - m1**2) / n) / (1.0 - alpha)


@pytest.mark.parametrize("dist", ["normal", "t5"])
def test_empirical_converges_to_closed_form(dist):
    # n = 1e6 draws from a known distribution; tolerance = 4 asymptotic standard errors
    # (VaR: sqrt(alpha (1 - alpha) / n) / f(q); ES: see _es_standard_error).
    gen = np.random.default_rng(12345)
    n, mu, sigma = 1_000_000, 0.001, 0.02
    if dist == "normal":
        pnl = mu + sigma * gen.standard_normal(n)
        loss = stats.norm(loc=-mu, scale=sigma)
    else:  # unit-variance t with 5 dof, scaled to std sigma
        nu = 5.0
        scale = sigma * math.sqrt((nu - 2) / nu)
        pnl = mu + scale * gen.standard_t(nu, n)
        loss = stats.t(nu, loc=-mu, scale=scale)
    for alpha in (0.975, 0.99):
        if dist == "normal":
            v_true, e_true = var_normal(mu, sigma, alpha), es_normal(mu, sigma, alpha)
        else:
            v_true, e_true = var_t(mu, sigma, 5.0, alpha), es_t(mu, sigma, 5.0, alpha)
        assert v_true == pytest.approx(loss.ppf(alpha), rel=1e-12)
        se_var = math.sqrt(alpha * (1 - alpha) / n) / loss.pdf(v_true)
        se_es = _es_standard_error(loss.pdf, v_true, e_true, alpha, n)
        v, e = var_es(pnl, alpha)
        assert abs(v - v_true) < 4 * se_var
        assert abs(e - e_true) < 4 * se_es


# -- empirical: subadditivity ------------------------------------------------------------------
def test_es_subadditive_where_var_is_not_exact_distribution():
    # Two independent bonds, each losing 100 with probability 0.04 (McNeil, Frey & Embrechts
    # 2005, Example 6.7 style). Their joint distribution is represented exactly by 2,500
    # equally likely scenarios: 2304 no default, 96 + 96 single defaults, 4 double defaults
    # (0.9216, 0.0384, 0.0384, 0.0016 of 2,500). Columns: bond 1, bond 2, portfolio.
    counts = [2304, 96, 96, 4]
    states = np.array([[0, 0], [-100, 0], [0, -100], [-100, -100]], dtype=float)
    bonds = np.repeat(states, counts, axis=0)
    pnl = np.column_stack([bonds, bonds.sum(axis=1)])
    for weights in (None, np.full(2500, 0.5)):  # partition path and weighted path
        v, e = var_es(pnl, 0.95, weights, axis=0)
        # By hand: each bond F(0) = 0.96 >= 0.95 -> VaR 0; the sum has F(0) = 0.9216 < 0.95
        # <= F(100) = 0.9984 -> VaR 100 > 0 + 0: VaR is not subadditive.
        np.testing.assert_array_equal(v, [0.0, 0.0, 100.0])
        assert v[2] > v[0] + v[1]
        # ES by hand: bond (0.04 * 100 + 0 * (0.96 - 0.95)) / 0.05 = 80;
        # portfolio (0.0016 * 200 + 100 * (0.9984 - 0.95)) / 0.05 = 103.2 <= 160.
        np.testing.assert_allclose(e, [80.0, 80.0, 103.2], rtol=1e-12)
        assert e[2] <= e[0] + e[1]


def test_es_subadditive_where_var_is_not_simulated(rng):
    # The same bonds simulated (binomial defaults, 200,000 scenarios). The default frequency
    # has s.e. sqrt(0.04 * 0.96 / 2e5) = 4.4e-4, so it stays below 5% (VaR 0 per bond) and the
    # joint no-default frequency below 95% (portfolio VaR 100) by > 20 s.e.
    n = 200_000
    bonds = -100.0 * rng.binomial(1, 0.04, size=(n, 2))
    pnl = np.column_stack([bonds, bonds.sum(axis=1)])
    v, e = var_es(pnl, 0.95)
    np.testing.assert_array_equal(v, [0.0, 0.0, 100.0])
    assert e[2] <= e[0] + e[1]


# -- empirical: errors -------------------------------------------------------------------------
def test_nan_and_inf_are_data_errors():
    pnl = np.arange(200.0)
    pnl[[3, 17]] = np.nan
    pnl[50] = np.inf
    with pytest.raises(DataError, match=r"2 NaN and 1 inf value\(s\) \(of 200\), at positions "):
        var(pnl, 0.99)
    with pytest.raises(DataError, match=re.escape("at positions [3, 17, 50]")):
        es(pnl, 0.99)
    pnl2 = np.zeros((200, 3))
    pnl2[10, 2] = np.nan
    with pytest.raises(
        DataError, match=re.escape("1 NaN and 0 inf value(s) (of 600), at positions [(10, 2)]")
    ):
        var(pnl2, 0.99, axis=0)


@pytest.mark.parametrize("alpha", [1.5, 0.0, 1.0, -0.1, float("nan")])
def test_alpha_outside_unit_interval(alpha):
    with pytest.raises(
        ConfigError, match=r"alpha must be in \(0, 1\) \(got .*\); 0.99 means the 1% loss tail\."
    ):
        var(np.zeros(1000), alpha)


def test_alpha_message_exact():
    with pytest.raises(ConfigError) as info:
        es(np.zeros(1000), 1.5)
    assert str(info.value) == "alpha must be in (0, 1) (got 1.5); 0.99 means the 1% loss tail."
    with pytest.raises(ConfigError) as info:  # a NumPy scalar shows as a plain number
        var(np.zeros(1000), np.float64(1.5))
    assert str(info.value) == "alpha must be in (0, 1) (got 1.5); 0.99 means the 1% loss tail."


@pytest.mark.parametrize("alpha", ["0.99", None, True, [0.99]])
def test_alpha_not_a_number(alpha):
    with pytest.raises(ConfigError, match=r"alpha must be a number in \(0, 1\)"):
        var(np.zeros(1000), alpha)


def test_too_few_observations():
    with pytest.raises(
        InsufficientDataError,
        match=r"needs at least 100 observations for alpha=0\.99 \(got 99 in pnl\)",
    ):
        var(np.zeros(99), 0.99)
    assert var(np.zeros(100), 0.99) == 0.0  # exactly ceil(1 / 0.01) is enough
    # 1 / (1 - 0.9) is 10.000000000000002 in floating point: still 10 observations.
    assert var(np.arange(10.0), 0.9) == -1.0  # losses -9..0: the 9th smallest
    with pytest.raises(InsufficientDataError, match="needs at least 20 observations"):
        es(np.zeros((19, 4)), 0.95, axis=0)
    with pytest.raises(InsufficientDataError, match="observations with positive weight"):
        w = np.ones(150)
        w[:60] = 0.0
        var(np.zeros(150), 0.99, w)
    with pytest.raises(InsufficientDataError, match=r"needs at least 2 observations .* \(got 0 in"):
        var(np.zeros(0), 0.5)


def test_bad_weights():
    pnl = np.zeros(200)
    with pytest.raises(ConfigError, match=r"weights must have shape \(200,\) .* \(got \(199,\)\)"):
        var(pnl, 0.99, np.ones(199))
    w = np.ones(200)
    w[7] = -1.0
    with pytest.raises(
        ConfigError,
        match=r"weights must be non-negative \(found 1 negative, the first -1\.0 at position 7\)",
    ):
        es(pnl, 0.99, w)
    with pytest.raises(ConfigError, match="weights sum to zero; at least one scenario"):
        var(pnl, 0.99, np.zeros(200))
    with pytest.raises(ConfigError, match=r"weights must be finite \(found 1 NaN or inf\)"):
        var(pnl, 0.99, np.r_[np.ones(199), np.nan])
    w2 = np.ones((200, 3))
    w2[:, 1] = 0.0
    with pytest.raises(ConfigError, match=r"weights sum to zero for 1 account\(s\)"):
        var(np.zeros((200, 3)), 0.99, w2)


def test_bad_shapes_and_axis():
    with pytest.raises(
        ConfigError, match=r"pnl must be 1-D .* or 2-D .* \(got shape \(2, 3, 4\)\)"
    ):
        var(np.zeros((2, 3, 4)), 0.5)
    with pytest.raises(ConfigError, match=r"pnl must be 1-D .* \(got shape \(\)\)"):
        var(1.0, 0.5)
    with pytest.raises(
        ConfigError, match=r"axis=2 is out of range for 2-D pnl of shape \(100, 3\)"
    ):
        var(np.zeros((100, 3)), 0.5, axis=2)
    with pytest.raises(ConfigError, match=r"axis must be an integer \(got 0\.5\)"):
        var(np.zeros((100, 3)), 0.5, axis=0.5)


# -- parametric --------------------------------------------------------------------------------
def test_var_normal_sign_convention():
    # P&L ~ N(mu, sigma^2): loss quantile -mu + sigma z_alpha (z from scipy).
    assert var_normal(0.001, 0.02, 0.99) == pytest.approx(
        -0.001 + 0.02 * stats.norm.ppf(0.99), rel=1e-15
    )
    np.testing.assert_allclose(
        var_normal(0.0, np.array([0.01, 0.02]), 0.99), np.array([0.01, 0.02]) * stats.norm.ppf(0.99)
    )
    assert isinstance(es_normal(0.0, 1.0, 0.99), float)


@pytest.mark.parametrize("alpha", [0.95, 0.99, 0.995])
def test_normal_es_equals_integrated_quantile(alpha):
    # Closed form vs quad of the quantile over the tail; 1e-8 is well above quad's 1e-10.
    expected = tail_quad(lambda u: var_normal(0.1, 2.0, u), alpha)
    assert es_normal(0.1, 2.0, alpha) == pytest.approx(expected, rel=1e-8)


@pytest.mark.parametrize("alpha", [0.95, 0.99, 0.995])
@pytest.mark.parametrize(
    ("nu", "standardized"), [(2.5, True), (4.0, True), (10.0, True), (1.5, False), (4.0, False)]
)
def test_t_es_equals_integrated_quantile(alpha, nu, standardized):
    expected = tail_quad(lambda u: var_t(0.1, 2.0, nu, u, standardized=standardized), alpha)
    assert es_t(0.1, 2.0, nu, alpha, standardized=standardized) == pytest.approx(expected, rel=1e-8)


def test_t_standardized_has_unit_variance_scale():
    # standardized=True: sigma is the P&L standard deviation (scipy computes the std of the
    # scaled t); standardized=False: sigma is the t scale.
    nu, sigma = 4.0, 0.03
    dist = stats.t(nu, loc=0.0, scale=sigma * math.sqrt((nu - 2) / nu))
    assert dist.std() == pytest.approx(sigma, rel=1e-12)
    assert var_t(0.0, sigma, nu, 0.99) == pytest.approx(dist.ppf(0.99), rel=1e-12)
    assert var_t(0.0, sigma, nu, 0.99, standardized=False) == pytest.approx(
        stats.t.ppf(0.99, nu) * sigma, rel=1e-12
    )


def test_t_tends_to_normal():
    # nu -> infinity: the unit-variance t is N(0, 1); the difference is O(1/nu) (1e-6 here).
    assert es_t(0.0, 1.0, 1e7, 0.99) == pytest.approx(es_normal(0.0, 1.0, 0.99), rel=1e-5)
    assert var_t(0.0, 1.0, 1e7, 0.99) == pytest.approx(var_normal(0.0, 1.0, 0.99), rel=1e-5)


def test_parametric_errors():
    with pytest.raises(ConfigError, match=r"sigma must be finite and positive \(got 0\.0\)"):
        var_normal(0.0, 0.0, 0.99)
    with pytest.raises(
        ConfigError, match=r"sigma must be finite and positive \(got -1\.0 in 1 of 2 entries\)"
    ):
        es_normal(0.0, [1.0, -1.0], 0.99)
    with pytest.raises(ConfigError, match=r"mu must be finite \(got nan\)"):
        es_normal(float("nan"), 1.0, 0.99)
    with pytest.raises(
        ConfigError, match=r"nu must be > 2 \(got 2\.0\): a unit-variance Student-t needs nu > 2"
    ):
        var_t(0.0, 1.0, 2.0, 0.99)
    with pytest.raises(
        ConfigError,
        match=r"nu must be > 1 \(got 1\.0\): the ES of a Student-t is finite only for nu > 1",
    ):
        es_t(0.0, 1.0, 1.0, 0.99, standardized=False)
    with pytest.raises(ConfigError, match=r"nu must be > 0 \(got -1\.0\)"):
        var_t(0.0, 1.0, -1.0, 0.99, standardized=False)
    with pytest.raises(ConfigError, match=r"alpha must be in \(0, 1\) \(got 1\.5\)"):
        var_t(0.0, 1.0, 5.0, 1.5)


# -- Cornish-Fisher ----------------------------------------------------------------------------
@pytest.mark.parametrize("alpha", [0.9, 0.99, 0.999])
def test_cornish_fisher_reduces_to_normal(alpha):
    # skew = kurt = 0: every correction term is multiplied by zero, so exactly the normal.
    assert var_cornish_fisher(0.1, 2.0, 0.0, 0.0, alpha) == var_normal(0.1, 2.0, alpha)
    assert es_cornish_fisher(0.1, 2.0, 0.0, 0.0, alpha) == pytest.approx(
        es_normal(0.1, 2.0, alpha), rel=1e-15
    )


@pytest.mark.parametrize("alpha", [0.95, 0.99, 0.995])
@pytest.mark.parametrize(("skew", "kurt"), [(-0.5, 2.0), (0.3, 1.0), (-1.0, 4.0)])
def test_cornish_fisher_es_equals_integrated_quantile(alpha, skew, kurt):
    # The closed-form tail integral vs quad of the CF quantile (rtol 1e-8 >> quad's 1e-10).
    expected = tail_quad(lambda u: var_cornish_fisher(0.1, 2.0, skew, kurt, u), alpha)
    assert es_cornish_fisher(0.1, 2.0, skew, kurt, alpha) == pytest.approx(expected, rel=1e-8)


def test_cornish_fisher_approximates_skewed_distribution():
    # Losses ~ Gamma(shape 400) (P&L = -loss): loss skew 2/sqrt(400) = 0.1, excess kurtosis
    # 6/400 (scipy.stats.gamma). The CF error is O(k^-3/2), the normal one O(k^-1/2), so CF
    # must be much closer to the exact gamma quantile, and a negative P&L skew must raise VaR.
    k = 400.0
    loss = stats.gamma(k)
    mu, sigma = -k, math.sqrt(k)  # P&L mean and std
    skew, kurt = -2 / math.sqrt(k), 6 / k  # of the P&L
    for alpha in (0.99, 0.995):
        exact = loss.ppf(alpha)
        err_cf = abs(var_cornish_fisher(mu, sigma, skew, kurt, alpha) - exact)
        err_normal = abs(var_normal(mu, sigma, alpha) - exact)
        assert err_cf < 0.02 * err_normal
        assert var_cornish_fisher(mu, sigma, skew, kurt, alpha) > var_normal(mu, sigma, alpha)
        exact_es = tail_quad(loss.ppf, alpha)
        assert abs(es_cornish_fisher(mu, sigma, skew, kurt, alpha) - exact_es) < 0.02 * abs(
            es_normal(mu, sigma, alpha) - exact_es
        )


def test_cornish_fisher_non_monotone_raises():
    # P&L skew -2, no excess kurtosis: the derivative 1 + Sz/3 + K(z^2-1)/8 - S^2(6z^2-5)/36
    # with S = 2 is negative for z >= 2.5 (by hand), inside the 99% tail.
    msg = r"Cornish-Fisher expansion is not monotone in the loss tail for skew=-2\.0, excess_kurtosis=0\.0"
    with pytest.raises(ModelError, match=msg):
        var_cornish_fisher(0.0, 1.0, -2.0, 0.0, 0.99)
    with pytest.raises(ModelError, match="use var_t/es_t, EVT"):
        es_cornish_fisher(0.0, 1.0, -2.0, 0.0, 0.99)
    with pytest.raises(ConfigError, match=r"skew must be finite"):
        var_cornish_fisher(0.0, 1.0, np.nan, 0.0, 0.99)


def test_sample_moments_match_scipy(rng):
    x = rng.standard_t(6, 5000)
    m = sample_moments(x)
    # Plug-in (biased) moments, as scipy.stats.skew/kurtosis with bias=True.
    assert m.mean == pytest.approx(x.mean(), rel=1e-12)
    assert m.std == pytest.approx(x.std(), rel=1e-12)
    assert m.skew == pytest.approx(stats.skew(x), rel=1e-10)
    assert m.excess_kurtosis == pytest.approx(stats.kurtosis(x), rel=1e-10)
    assert m.n == 5000
    # Integer weights = repeated observations.
    w = rng.integers(1, 4, size=x.size).astype(float)
    mw, md = sample_moments(x, w), sample_moments(np.repeat(x, w.astype(int)))
    assert mw.skew == pytest.approx(md.skew, rel=1e-10)
    assert mw.excess_kurtosis == pytest.approx(md.excess_kurtosis, rel=1e-10)


def test_sample_moments_errors():
    with pytest.raises(DataError, match="pnl is constant"):
        sample_moments(np.ones(10))
    with pytest.raises(ConfigError, match="at least 4 observations"):
        sample_moments(np.ones(3))
    with pytest.raises(DataError, match="1 NaN and 0 inf"):
        sample_moments(np.r_[np.ones(9), np.nan])
    with pytest.raises(ConfigError, match=r"weights must be finite, non-negative"):
        sample_moments(np.arange(10.0), -np.ones(10))


# -- EVT ---------------------------------------------------------------------------------------
def test_gpd_parameter_recovery():
    # 5000 exact GPD(xi=0.2, beta=1) exceedances (threshold 0 on the loss scale). Estimates must
    # lie within 4 standard errors, and the observed-information s.e. must match Smith's (1985)
    # asymptotic ones, sqrt((1+xi)^2/k) and sqrt(2 beta^2 (1+xi)/k), to 10% (observed vs
    # expected information differ by O(k^-1/2)).
    gen = np.random.default_rng(777)
    k, xi, beta = 5000, 0.2, 1.0
    y = stats.genpareto.rvs(xi, scale=beta, size=k, random_state=gen)
    fit = fit_gpd_tail(-y, threshold=0.0)
    assert (fit.n_exceed, fit.n, fit.threshold) == (k, k, 0.0)
    assert abs(fit.xi - xi) < 4 * fit.xi_se
    assert abs(fit.beta - beta) < 4 * fit.beta_se
    assert fit.xi_se == pytest.approx((1 + xi) / math.sqrt(k), rel=0.1)
    assert fit.beta_se == pytest.approx(math.sqrt(2 * beta**2 * (1 + xi) / k), rel=0.1)
    assert fit.loglikelihood == pytest.approx(
        stats.genpareto.logpdf(fit.exceedances, fit.xi, scale=fit.beta).sum(), rel=1e-12
    )


@pytest.mark.parametrize("xi", [0.2, 0.0, -0.2, 0.5])
def test_gpd_mle_matches_scipy(xi):
    # scipy.stats.genpareto.fit(floc=0) maximizes the same likelihood with Nelder-Mead at a
    # looser tolerance (observed differences ~5e-5): parameters agree to 1e-3 and ours has a
    # log-likelihood at least as high (to rounding).
    gen = np.random.default_rng(99)
    y = stats.genpareto.rvs(xi, scale=1.5, size=1000, random_state=gen)
    fit = fit_gpd_tail(-y, threshold=0.0)
    c, _, scale = stats.genpareto.fit(y, floc=0)
    assert fit.xi == pytest.approx(c, abs=1e-3)
    assert fit.beta == pytest.approx(scale, rel=1e-3)
    ll_scipy = stats.genpareto.logpdf(y, c, scale=scale).sum()
    assert fit.loglikelihood >= ll_scipy - 1e-9


def test_evt_on_student_t_close_to_true_quantiles():
    # 200,000 unit-variance t(4) residuals, default threshold (10% tail). True values: var_t /
    # es_t (closed forms, checked against quad above). Over 100 replications of this setup the
    # relative errors had mean (VaR99, VaR99.5, ES99, ES99.5) = (+1.1%, +1.0%, -0.6%, -1.7%)
    # (the GPD approximation of the t tail at a 10% threshold) and s.d. (0.6%, 0.8%, 1.0%,
    # 1.3%); tolerances are |bias| + 4 s.d.
    gen = np.random.default_rng(4242)
    z = gen.standard_t(4, 200_000) * math.sqrt(0.5)
    fit = fit_gpd_tail(z)
    assert fit.n_exceed == 20_000
    for alpha, rtol_var, rtol_es in ((0.99, 0.035, 0.05), (0.995, 0.04, 0.07)):
        assert var_evt(fit, alpha) == pytest.approx(var_t(0.0, 1.0, 4.0, alpha), rel=rtol_var)
        assert es_evt(fit, alpha) == pytest.approx(es_t(0.0, 1.0, 4.0, alpha), rel=rtol_es)
        assert es_evt(fit, alpha) >= var_evt(fit, alpha)
    # 1/xi estimates the tail index nu = 4 only loosely at this threshold (xi ~ 0.16 here):
    assert 0.05 < fit.xi < 0.35


def test_evt_threshold_conventions(rng):
    z = rng.standard_t(5, 1000)
    fit = fit_gpd_tail(z)
    # McNeil & Frey: k = 100 of 1000, threshold = the 101st largest loss.
    assert fit.n_exceed == 100 and fit.tail_fraction == 0.1
    assert fit.threshold == np.sort(-z)[-101]
    # At alpha = 1 - k/n the tail quantile is the threshold itself (closed form).
    assert var_evt(fit, 0.9) == pytest.approx(fit.threshold, rel=1e-15)
    # Scaling by a volatility forecast: -mu + sigma z_alpha.
    assert var_evt(fit, 0.99, mu=0.001, sigma=0.03) == pytest.approx(
        -0.001 + 0.03 * var_evt(fit, 0.99), rel=1e-14
    )
    np.testing.assert_allclose(
        es_evt(fit, 0.99, sigma=np.array([1.0, 2.0])), [1.0, 2.0] * np.array(es_evt(fit, 0.99))
    )
    assert fit.var(0.99) == var_evt(fit, 0.99) and fit.es(0.99) == es_evt(fit, 0.99)
    fixed = fit_gpd_tail(z, threshold=1.0)
    assert fixed.threshold == 1.0 and fixed.n_exceed == int((-z > 1.0).sum())


def test_evt_closed_forms_exponential_limit():
    # xi = 0: VaR = u - beta log((1-alpha)/(k/n)), ES = VaR + beta (exponential tail, by hand);
    # xi = 1e-12 must give the same numbers to ~1e-11.
    base = dict(
        beta=0.7,
        threshold=1.2,
        n_exceed=100,
        n=1000,
        xi_se=0.1,
        beta_se=0.1,
        cov=np.eye(2),
        loglikelihood=0.0,
        exceedances=np.ones(100),
    )
    f0 = GPDTailFit(xi=0.0, **base)
    f1 = GPDTailFit(xi=1e-12, **base)
    expected = 1.2 - 0.7 * math.log(0.01 / 0.1)
    assert var_evt(f0, 0.99) == pytest.approx(expected, rel=1e-15)
    assert es_evt(f0, 0.99) == pytest.approx(expected + 0.7, rel=1e-15)
    assert var_evt(f1, 0.99) == pytest.approx(expected, rel=1e-11)
    assert es_evt(f1, 0.99) == pytest.approx(expected + 0.7, rel=1e-11)


def test_evt_es_infinite_for_xi_at_least_one():
    gen = np.random.default_rng(31)
    y = stats.genpareto.rvs(1.5, size=3000, random_state=gen)
    fit = fit_gpd_tail(-y, threshold=0.0)
    assert fit.xi > 1.0
    assert np.isfinite(var_evt(fit, 0.99))
    with pytest.raises(
        ModelError, match=r"ES is infinite for a GPD tail with xi >= 1 \(fitted xi=1\.\d+\)"
    ):
        es_evt(fit, 0.99)


def test_evt_errors(rng):
    z = rng.standard_normal(1000)
    with pytest.raises(
        InsufficientDataError,
        match=r"needs at least 20 exceedances \(got 15 from n=150 with tail_fraction=0\.1\)",
    ):
        fit_gpd_tail(z[:150])
    with pytest.raises(
        InsufficientDataError,
        match=r"needs at least 20 exceedances \(got \d+ over the threshold u=3\.5",
    ):
        fit_gpd_tail(z, threshold=3.5)
    with pytest.raises(ConfigError, match=r"tail_fraction must be in \(0, 1\) \(got 1\.5\)"):
        fit_gpd_tail(z, tail_fraction=1.5)
    with pytest.raises(ConfigError, match=r"threshold must be a finite residual loss \(got nan\)"):
        fit_gpd_tail(z, threshold=float("nan"))
    with pytest.raises(ConfigError, match=r"z must be a 1-D array"):
        fit_gpd_tail(z.reshape(100, 10))
    bad = z.copy()
    bad[5] = np.nan
    with pytest.raises(
        DataError,
        match=re.escape("z contains 1 NaN and 0 inf value(s) (of 1000), at positions [5]"),
    ):
        fit_gpd_tail(bad)
    fit = fit_gpd_tail(z)
    with pytest.raises(
        ConfigError, match=r"alpha=0\.8 lies below the threshold's level 1 - k/n = 0\.9"
    ):
        var_evt(fit, 0.8)
    with pytest.raises(ConfigError, match=r"alpha must be in \(0, 1\)"):
        es_evt(fit, 1.0)
    with pytest.raises(ConfigError, match=r"fit must be a GPDTailFit \(got dict\)"):
        var_evt({"xi": 0.1}, 0.99)
    with pytest.raises(ConfigError, match=r"sigma must be finite and positive"):
        var_evt(fit, 0.99, sigma=0.0)


def test_evt_bounded_tail_has_no_mle():
    # Exceedances piled up just below their maximum: a density increasing to an end point,
    # where the GPD likelihood grows without bound as xi < -1 (Smith 1985).
    gen = np.random.default_rng(8)
    y = 1.0 - 0.01 * gen.random(40) ** 3
    with pytest.raises(ModelError, match=r"the GPD likelihood has no maximum \(xi -> .* <= -1"):
        fit_gpd_tail(-y, threshold=0.0)


def test_gpd_fit_presentation(rng):
    fit = fit_gpd_tail(rng.standard_t(5, 2000))
    text = str(fit)
    assert "xi (shape)" in text and f"{fit.xi:.4f}" in text and "200 / 2000" in text
    assert "<table>" in fit._repr_html_() and f"{fit.beta:.4f}" in fit._repr_html_()
    assert repr(fit).startswith("GPDTailFit(xi=")
    assert not fit.exceedances.flags.writeable


# -- estimate ----------------------------------------------------------------------------------
def test_estimate_methods_agree_with_functions(rng):
    x = 0.01 * rng.standard_t(5, 20_000)
    m = sample_moments(x)
    h = estimate(x, 0.99)
    assert isinstance(h, RiskEstimate) and h.method == "historical" and h.n == 20_000
    assert (h.var, h.es) == var_es(x, 0.99)
    nrm = estimate(x, 0.99, method="normal")
    assert nrm.var == var_normal(m.mean, m.std, 0.99) and nrm.es == es_normal(m.mean, m.std, 0.99)
    cf = estimate(x, 0.99, method="cornish_fisher")
    assert cf.var == var_cornish_fisher(m.mean, m.std, m.skew, m.excess_kurtosis, 0.99)
    t = estimate(x, 0.99, method="t")
    # t(5) data: the MLE nu should be near 5 (s.e. about 0.2 at n = 20,000; 1.5 is generous).
    assert abs(t.params["nu"] - 5.0) < 1.5
    evt = estimate(x, 0.99, method="evt")
    assert evt.params["threshold"] > 0 and "McNeil & Frey" in evt.definition
    # t and EVT estimate the same t(5) tail: ES within 15% of the historical one. (CF is not
    # compared: with excess kurtosis ~6 it overstates the t(5) ES by ~25%, a known weakness.)
    for r in (t, evt):
        assert r.es == pytest.approx(h.es, rel=0.15)
    assert "historical VaR/ES at alpha=0.99" in str(h)
    assert "<table>" in t._repr_html_()


def test_estimate_errors(rng):
    x = rng.standard_normal(500)
    with pytest.raises(
        ConfigError, match=r"method must be one of 'historical', .* \(got 'garch'\)"
    ):
        estimate(x, 0.99, method="garch")
    with pytest.raises(ConfigError, match=r"method='t' does not take weights"):
        estimate(x, 0.99, method="t", weights=np.ones(500))
    with pytest.raises(ConfigError, match="estimate takes a 1-D P&L sample"):
        estimate(x.reshape(50, 10), 0.99)
    with pytest.raises(InsufficientDataError, match="needs at least 100 observations"):
        estimate(x[:50], 0.99, method="normal")
    with pytest.raises(DataError, match="1 NaN"):
        estimate(np.r_[x, np.nan], 0.99)


def test_estimate_t_without_finite_es(rng, monkeypatch):
    # Stub the t MLE to return nu = 0.8 (as it may for Cauchy-like data): ES is infinite.
    monkeypatch.setattr(methods_mod.stats.t, "fit", lambda x: (0.8, 0.0, 1.0))
    with pytest.raises(
        ModelError, match=r"the fitted Student-t has nu=0\.8 <= 1: its ES is infinite"
    ):
        estimate(rng.standard_normal(500), 0.99, method="t")
