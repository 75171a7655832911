"""Implied-vol proxy from the fitted volatility model's dynamics (riskmodels.scenarios._ivproxy).

Fixed parameters (``spec.fix``) on 500 simulated daily bars (seeded) make every expected
number a closed form of the model's equations, computed by hand in the test. Tolerances: the
hand formulas and the module run the same float64 arithmetic in a different order, so they
agree to rounding (~1e-15 relative); 1e-10 leaves room for that and nothing else.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from riskmodels.exceptions import ConfigError
from riskmodels.scenarios._ivproxy import FittedImpliedVolProxy, ImpliedVolProxy
from riskmodels.scenarios.base import Scenarios
from riskmodels.volatility import EGARCH, EWMA, GARCH, GJR

T = 500
IDX = pd.date_range("2023-01-01", periods=T, freq="D", tz="UTC")
ASOF = IDX[-1]
#: GARCH(1,1) constant mean in arch percent units: mu, omega, alpha, beta (persistence 0.95).
GARCH_PCT = [0.05, 0.1, 0.1, 0.85]
#: GJR(1,1,1): mu, omega, alpha, gamma, beta (persistence 0.05 + 0.05 + 0.85 = 0.95).
GJR_PCT = [0.05, 0.1, 0.05, 0.1, 0.85]
RTOL = 1e-10


def _returns(seed: int = 7) -> pd.Series:
    """500 decimal returns from a GARCH(1,1) (omega 1e-5, alpha 0.1, beta 0.85), seeded."""
    rng = np.random.default_rng(seed)
    w, a, b = 1e-5, 0.1, 0.85
    r = np.empty(T)
    s2 = w / (1 - a - b)
    for t in range(T):
        r[t] = np.sqrt(s2) * rng.standard_normal()
        s2 = w + a * r[t] ** 2 + b * s2
    return pd.Series(r, index=IDX, name="BTC")


@pytest.fixture(scope="module")
def garch():
    return GARCH(mean="constant").fix(_returns(), GARCH_PCT)


@pytest.fixture(scope="module")
def proxy(garch) -> FittedImpliedVolProxy:
    return ImpliedVolProxy().from_fits({"BTC": garch}, "1D")


def _sc(r, horizon: str = "1D", assets: tuple[str, ...] = ("BTC",), asof=ASOF) -> Scenarios:
    r = np.asarray(r, dtype=float)
    return Scenarios(r.reshape(len(r), -1), assets, horizon, asof=asof)


def _avg(v, w: float, phi: float, k: int):
    """(1/K) sum_{j=1..K} E[sigma^2_{t+j}] given sigma^2_{t+1} = v (GARCH(1,1) forecasts)."""
    sbar = w / (1 - phi)
    return sbar + (v - sbar) * (1 - phi**k) / (k * (1 - phi))


R = np.array([-0.15, -0.05, -0.01, 0.0, 0.0005, 0.01, 0.05, 0.15])


def test_h1_closed_form_garch(garch, proxy):
    """Expected: sqrt(avg(w + a(R-mu)^2 + b s2) / avg(w + (a+b) s2)) - 1 with avg the K=30
    average of the GARCH(1,1) forecasts, by hand from the fixed parameters (decimal units) and
    s2 = forecast(1); 1e-10 relative: same formula, different operation order."""
    mu, w, a, b = 0.05 / 100, 0.1 / 1e4, 0.1, 0.85
    s2 = float(garch.forecast(1).iloc[0])
    v = w + a * (R - mu) ** 2 + b * s2
    v0 = w + (a + b) * s2
    expected = np.sqrt(_avg(v, w, a + b, 30) / _avg(v0, w, a + b, 30)) - 1
    np.testing.assert_allclose(proxy.vol_shocks(_sc(R))[:, 0], expected, rtol=RTOL, atol=1e-14)


def test_h1_twin_of_variance_paths(garch, proxy):
    """Expected: VolatilityResult.variance_paths driven by z = (R - mu)/sigma_{T+1} (then any
    second shock) has sigma^2_{T+2} in its second column: the same recursion in arch's percent
    units; 1e-10 relative covers the unit conversion's rounding."""
    z1 = (R - 0.05 / 100) / np.sqrt(float(garch.forecast(1).iloc[0]))
    _, s2 = garch.variance_paths(np.column_stack([z1, np.zeros_like(z1)]))
    v, _ = proxy.variances(_sc(R))
    np.testing.assert_allclose(v[:, 0], s2[:, 1], rtol=RTOL, atol=0)


def test_h3_recursion_and_baseline(garch, proxy):
    """Expected: v0 = forecast(4)'s last value (E_T[sigma^2_{T+4}], arch's analytic forecast)
    and v = three steps of the recursion with eps = R/3 - mu, by hand; 1e-10 relative."""
    v, v0 = proxy.variances(_sc(R, "3D"))
    assert v0[0] == pytest.approx(float(garch.forecast(4).iloc[-1]), rel=RTOL)
    mu, w, a, b = 0.05 / 100, 0.1 / 1e4, 0.1, 0.85
    s2 = np.full(R.shape, float(garch.forecast(1).iloc[0]))
    for _ in range(3):
        s2 = w + a * (R / 3 - mu) ** 2 + b * s2
    np.testing.assert_allclose(v[:, 0], s2, rtol=RTOL, atol=0)


def test_garch_shock_symmetric_and_increasing(proxy):
    """GARCH reacts to eps^2 only: equal shocks for mu +/- x (to rounding, 1e-12) and strictly
    larger shocks for larger |x| (the recursion is increasing in eps^2 and avg is affine)."""
    x = np.array([0.0, 0.005, 0.02, 0.05, 0.1, 0.3])
    mu = 0.05 / 100
    for h in ("1D", "3D"):
        n = int(h[0])
        up = proxy.vol_shocks(_sc(n * (mu + x), h))[:, 0]
        down = proxy.vol_shocks(_sc(n * (mu - x), h))[:, 0]
        np.testing.assert_allclose(up, down, rtol=1e-12, atol=1e-12)
        assert np.all(np.diff(up) > 0)


def test_gjr_down_moves_raise_vol_more():
    """GJR adds gamma eps^2 for eps < 0 (gamma = 0.1 > 0): a fall raises vol more than a rise
    of the same size about mu; no tolerance (strict inequality)."""
    gjr = GJR(mean="constant").fix(_returns(), GJR_PCT)
    fitted = ImpliedVolProxy(volatility=GJR()).from_fits({"BTC": gjr}, "1D")
    x = np.array([0.01, 0.05, 0.15])
    mu = 0.05 / 100
    up = fitted.vol_shocks(_sc(mu + x))[:, 0]
    down = fitted.vol_shocks(_sc(mu - x))[:, 0]
    assert np.all(down > up)


def test_no_news_lowers_vol(proxy):
    """R = h mu gives eps = 0 every bar: v = w + b s2 (and its iterates) < E[.] = w + (a+b) s2,
    so the shock is negative (strict inequality, no tolerance)."""
    for h in (1, 3):
        assert proxy.vol_shocks(_sc([h * 0.05 / 100], f"{h}D"))[0, 0] < 0


def test_ewma_closed_form():
    """Expected: sqrt(lam s2 + (1 - lam) R^2)/sqrt(s2) - 1 for h = 1 (EWMA: phi = 1, so avg(v)
    = v; baseline forecast(2) = s2; the package's EWMA keeps lam on the spec, zero mean);
    1e-10 relative."""
    res = EWMA(lam=0.94).fit(_returns())
    fitted = ImpliedVolProxy(volatility=EWMA()).from_fits({"BTC": res}, "1D")
    s2 = float(res.forecast(1).iloc[0])
    expected = np.sqrt(0.94 * s2 + 0.06 * R**2) / np.sqrt(s2) - 1
    np.testing.assert_allclose(fitted.vol_shocks(_sc(R))[:, 0], expected, rtol=RTOL, atol=1e-14)


def test_shocks_shrink_with_tenor(garch):
    """Mean reversion (phi = 0.95): the tenor average weights v by (1 - phi^K)/(K(1 - phi)),
    which falls to 0 as K grows, so |shock| falls strictly with the tenor; K = 1 is
    sqrt(v/v0) - 1 exactly (1e-10 relative); K = 3650 keeps under 2 % of the K = 1 shock
    (weight 1/(3650 * 0.05) = 0.55 %)."""
    sc = _sc([-0.1, 0.0005, 0.1])
    shocks = []
    for days in (1, 7, 30, 365, 3650):
        f = ImpliedVolProxy(term=f"{days}D", vol_term=(days, 0.3, 0.13)).from_fits(
            {"BTC": garch}, "1D"
        )
        shocks.append(np.abs(f.vol_shocks(sc)[:, 0]))
    assert np.all(np.diff(np.array(shocks), axis=0) < 0)
    v, v0 = f.variances(sc)
    np.testing.assert_allclose(shocks[0], np.abs(np.sqrt(v[:, 0] / v0[0]) - 1), rtol=RTOL)
    assert np.all(shocks[-1] < 0.02 * shocks[0])


def test_integrated_garch_uses_v():
    """phi = alpha + beta = 1 (IGARCH): no long-run variance, avg(v) = v for every tenor, so
    the shock is sqrt(v/v0) - 1 (1e-10 relative)."""
    ig = GARCH(mean="constant").fix(_returns(), [0.05, 0.1, 0.1, 0.9])
    f = ImpliedVolProxy().from_fits({"BTC": ig}, "1D")
    v, v0 = f.variances(_sc(R))
    np.testing.assert_allclose(f.vol_shocks(_sc(R))[:, 0], np.sqrt(v[:, 0] / v0[0]) - 1, rtol=RTOL)


def test_fit_and_attach():
    """fit() on a 2-asset frame equals from_fits() on the same fits; attach sets vol_shocks and
    Deribit's vol_term (VENUES.md §1.1) and keeps the returns; a stablecoin gets 0 (exact)."""
    df = pd.DataFrame({"BTC": _returns(7), "ETH": _returns(8).to_numpy()}, index=IDX)
    fitted = ImpliedVolProxy().fit(df)
    assert fitted.assets == ("BTC", "ETH") and fitted.term_bars == 30 and fitted.asof == ASOF
    assert "GARCH(1,1)" in repr(fitted) and "30 bars" in repr(fitted)
    sc = _sc(np.array([[-0.05, 0.0, 0.02], [0.03, 0.0, -0.1]]), assets=("BTC", "USDT", "ETH"))
    out = fitted.attach(sc)
    same = ImpliedVolProxy().from_fits(fitted.volatility, "1D").vol_shocks(sc)
    np.testing.assert_array_equal(out.vol_shocks, same)
    assert np.all(out.vol_shocks[:, 1] == 0.0) and np.all(out.vol_shocks[:, [0, 2]] > 0)
    assert out.vol_term == (30.0, 0.30, 0.13)
    np.testing.assert_array_equal(out.returns, sc.returns)
    assert "proxy" in out.meta["vol_shocks"]


def test_errors(proxy):
    """Named ConfigErrors that say the fix: unsupported models, unfitted assets, horizons that
    are not whole bars, term/pivot mismatch, term not whole bars, another as-of date."""
    with pytest.raises(ConfigError, match="supports GARCH"):
        ImpliedVolProxy(volatility=EGARCH())
    with pytest.raises(ConfigError, match="supports GARCH"):
        ImpliedVolProxy(volatility=GARCH(p=2))
    with pytest.raises(ConfigError, match=r"not fitted on \['ETH'\]"):
        proxy.vol_shocks(_sc([[0.01, 0.01]], assets=("BTC", "ETH")))
    with pytest.raises(ConfigError, match="whole number"):
        proxy.vol_shocks(_sc([0.01], "36h"))
    with pytest.raises(ConfigError, match="shorter than the data frequency"):
        proxy.vol_shocks(_sc([0.01], "12h"))
    with pytest.raises(ConfigError, match="vol_term pivot"):
        ImpliedVolProxy(term="7D")
    with pytest.raises(ConfigError, match="whole number of 7h bars"):
        ImpliedVolProxy().from_fits(proxy.volatility, "7h")
    with pytest.raises(ConfigError, match="as of"):
        proxy.vol_shocks(_sc([0.01], asof=IDX[-2]))
    with pytest.raises(ConfigError, match="needs a unit"):
        ImpliedVolProxy(term=30)  # type: ignore[arg-type]
