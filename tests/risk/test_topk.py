"""Tests for riskmodels.risk._topk: row-wise VaR/ES from each row's largest losses.

Expected numbers come from two independent references, said at each test:

* ``_sorted_twin`` below, the definition written out with a full ``np.sort`` of each row
  (VaR the k-th order statistic with k = ``empirical._var_index``, ES the Acerbi-Tasche sum of
  the excesses of the order statistics after k);
* ``riskmodels.risk.empirical._unweighted``, the ``np.partition`` kernel it replaces (on a copy:
  it partitions in place).

VaR is compared exactly: it is one of the input numbers, selected, never computed. ES is
compared at ``rtol=1e-12`` plus ``atol=1e-12 * max|L|`` of the block: the references add the
same at most m - 1 excesses in another order (np.sum's pairwise order over a sorted or
partitioned row; the kernel adds them in row order), a difference of a few ulps of the sum;
the absolute part covers an ES near zero, where VaR and the mean excess cancel.
"""

from __future__ import annotations

import numpy as np
import pytest

from riskmodels.exceptions import ConfigError, DataError
from riskmodels.risk._topk import _FAST_M_MAX, _fast_rows, _heap_rows, var_es_rows
from riskmodels.risk.empirical import _unweighted, _var_index

# alpha = 0.1 is used on purpose for the m = n edge cases: its "did you mean 0.9?" warning is
# the point of ConfidenceLevelWarning for users, not for this kernel test.
pytestmark = pytest.mark.filterwarnings("ignore::riskmodels.exceptions.ConfidenceLevelWarning")


def _sorted_twin(losses: np.ndarray, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """The definition by a full sort of each row; NaN rows give NaN (the kernel's convention)."""
    n = losses.shape[1]
    k = _var_index(n, alpha)
    s = np.sort(losses, axis=1)
    v = s[:, k].copy()
    with np.errstate(invalid="ignore"):
        e = v + (s[:, k + 1 :] - v[:, None]).sum(axis=1) / (n * (1.0 - alpha))
    bad = np.isnan(losses).any(axis=1)
    v[bad] = np.nan
    e[bad] = np.nan
    return v, e


def _partition_reference(losses: np.ndarray, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """``empirical._unweighted`` on a copy (it partitions its input in place)."""
    v, e = np.empty(losses.shape[0]), np.empty(losses.shape[0])
    with np.errstate(invalid="ignore"):
        _unweighted(losses.copy(), alpha, v, e)
    return v, e


def _block(kind: str, rows: int, n: int, rng: np.random.Generator) -> np.ndarray:
    if kind == "normal":
        return rng.standard_normal((rows, n)) * rng.lognormal(0.0, 2.0, (rows, 1))
    if kind == "t3":
        return rng.standard_t(3, (rows, n)) * 1e4
    if kind == "ties":  # integer losses: many copies of the VaR inside and outside the tail
        return rng.integers(-3, 4, (rows, n)).astype(float)
    if kind == "constant":
        return np.full((rows, n), 2.5) * np.arange(1, rows + 1)[:, None]
    if kind == "sorted":  # ascending and descending rows: worst cases of streaming selection
        x = np.sort(rng.standard_normal((rows, n)), axis=1)
        x[::2] = x[::2, ::-1]
        return x
    raise AssertionError(kind)


def _assert_matches(losses: np.ndarray, alpha: float, v: np.ndarray, e: np.ndarray) -> None:
    atol = 1e-12 * float(np.max(np.abs(losses))) if losses.size else 0.0
    for ref_v, ref_e in (_sorted_twin(losses, alpha), _partition_reference(losses, alpha)):
        np.testing.assert_array_equal(v, ref_v)
        np.testing.assert_allclose(e, ref_e, rtol=1e-12, atol=atol)


KINDS = ["normal", "t3", "ties", "constant", "sorted"]
# (n, alpha): tails m = n - k from 1 to n, both kernels (fast: m <= 64 and n >= 4 m)
SHAPES = [
    (2500, 0.99),  # m = 26, the benchmark's shape
    (1000, 0.99),
    (257, 0.975),
    (300, 0.8),  # m = 61 (fast path, insertion select for heavy ties)
    (1000, 0.9),  # m = 101 (heap path)
    (100, 0.5),  # m = 51, n < 4 m (heap path)
    (100, 0.995),  # m = 1
    (10, 0.1),  # m = n
    (3, 0.5),
    (1, 0.99),  # a single scenario: m = n = 1
]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(("n", "alpha"), SHAPES)
def test_var_es_rows_equals_sort_twin_and_partition_kernel(rng, kind, n, alpha):
    """Expected: ``_sorted_twin`` (full sort) and ``empirical._unweighted`` (partition) on the
    same block; VaR exact, ES to 1e-12 relative (summation order, module docstring)."""
    x = _block(kind, 40, n, rng)
    v, e = var_es_rows(x, alpha)
    _assert_matches(x, alpha, v, e)
    assert np.all(e >= v - 1e-12 * np.abs(v))  # ES >= VaR (Acerbi & Tasche 2002, Prop. 3.2)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(("n", "alpha"), [s for s in SHAPES if s[0] >= 2])
def test_both_kernels_agree_on_every_shape_they_accept(rng, kind, n, alpha):
    """Expected: ``_sorted_twin``. The dispatcher picks one kernel per shape; here the heap
    kernel runs on every shape and the lane kernel on every shape with n >= 2 m (its
    structural requirement; the dispatcher uses it for m <= 64 and n >= 4 m only), so both
    are checked on the same data. VaR exact, ES to 1e-12 (summation order)."""
    x = _block(kind, 30, n, rng)
    k = _var_index(n, alpha)
    m = n - k
    denom = n * (1.0 - alpha)
    kernels = [_heap_rows] + ([_fast_rows] if n >= 2 * m else [])
    for kernel in kernels:
        v, e = np.empty(30), np.empty(30)
        am = np.empty(30, dtype=np.intp)
        kernel(x, k, denom, v, e, am, True)
        _assert_matches(x, alpha, v, e)
        np.testing.assert_array_equal(am, np.argmax(x, axis=1))


def test_dispatch_covers_the_fast_kernel_at_the_benchmark_shape():
    """Expected: the shapes of the benchmark (n = 2,500 and 1,000 at 99%) have m <= 64 and
    n >= 4 m, so they take the lane kernel (a guard that the fast path is what is timed)."""
    for n in (2500, 1000):
        m = n - _var_index(n, 0.99)
        assert m <= _FAST_M_MAX and n >= 4 * m


def test_known_values_by_hand():
    """Expected: by hand. Losses 1..100 at 95%: k = 94, VaR the 95th smallest loss (95), ES
    the mean of the 5 largest (98) -- the example of ``riskmodels.risk.es``. At 99.5% of 100
    (m = 1) ES = VaR = the maximum; at 10% of 10 losses (m = n) VaR is the minimum. Exact."""
    x = np.arange(1.0, 101.0)[None, :]
    v, e = var_es_rows(x, 0.95)
    assert (float(v[0]), float(e[0])) == (95.0, 98.0)
    v, e = var_es_rows(x[:, ::-1], 0.995)
    assert (float(v[0]), float(e[0])) == (100.0, 100.0)
    v, _ = var_es_rows(np.arange(10.0)[None, :], 0.1)
    assert float(v[0]) == 0.0


@pytest.mark.parametrize(("n", "alpha"), [(2500, 0.99), (1000, 0.9), (100, 0.5), (120, 0.99)])
def test_input_is_left_unchanged_and_argmax_is_numpy_argmax(rng, n, alpha):
    """Expected: the input bytes before the call (``np.partition`` would reorder them) and
    ``np.argmax(losses, axis=1)`` (first index of the maximum, ties included). Exact."""
    x = np.round(rng.standard_normal((50, n)), 1)  # rounding: ties at the maximum too
    before = x.copy()
    am = np.full(50, -7, dtype=np.intp)
    v, e = var_es_rows(x, alpha, argmax=am)
    np.testing.assert_array_equal(x, before)
    np.testing.assert_array_equal(am, np.argmax(x, axis=1))
    v2, e2 = var_es_rows(x, alpha)  # without argmax: the same numbers
    np.testing.assert_array_equal(v, v2)
    np.testing.assert_array_equal(e, e2)


def test_non_contiguous_input_is_read_the_same(rng):
    """Expected: the same call on a C-contiguous copy (the function converts once). Exact."""
    x = np.asfortranarray(rng.standard_normal((20, 500)))
    v, e = var_es_rows(x, 0.99)
    vc, ec = var_es_rows(np.ascontiguousarray(x), 0.99)
    np.testing.assert_array_equal(v, vc)
    np.testing.assert_array_equal(e, ec)


@pytest.mark.parametrize(("n", "alpha"), [(2500, 0.99), (1000, 0.9), (100, 0.5), (50, 0.9)])
def test_nan_rows_give_nan_and_the_first_nan_as_argmax(rng, n, alpha):
    """Expected: NaN VaR and ES for every row holding a NaN (so that a caller's finiteness
    check fails), ``np.argmax`` (the first NaN) as argmax, and the other rows as
    ``_sorted_twin``. NaN are placed at the first element (which starts a lane of the fast
    kernel), in the last element, and at random positions, one or several per row."""
    x = rng.standard_normal((30, n))
    x[0, 0] = np.nan
    x[2, -1] = np.nan
    x[4, : n // 3] = np.nan
    for r in range(6, 30, 3):
        x[r, rng.integers(0, n, size=1 + r % 4)] = np.nan
    bad = np.isnan(x).any(axis=1)
    am = np.empty(30, dtype=np.intp)
    v, e = var_es_rows(x, alpha, argmax=am)
    assert np.isnan(v[bad]).all() and np.isnan(e[bad]).all()
    np.testing.assert_array_equal(am, np.argmax(x, axis=1))
    _assert_matches(x[~bad], alpha, v[~bad], e[~bad])
    v2, e2 = var_es_rows(x, alpha)  # the path without argmax detects NaN as well
    np.testing.assert_array_equal(np.isnan(v2), bad)
    np.testing.assert_array_equal(np.isnan(e2), bad)


@pytest.mark.parametrize(("n", "alpha"), [(2500, 0.99), (1000, 0.9), (100, 0.5)])
def test_infinities_follow_ieee_arithmetic_as_the_partition_kernel(rng, n, alpha):
    """Expected: ``empirical._unweighted`` on a copy, including where its result is inf or NaN
    (an inf in the tail gives ES inf; an infinite VaR with copies of itself after position k
    gives inf - inf = NaN; -inf losses below the VaR do not matter). Non-finite values equal
    exactly, finite ones to 1e-12 (summation order)."""
    x = rng.standard_normal((12, n))
    x[0, 5] = np.inf
    x[1, :] = np.inf
    x[2, :] = -np.inf
    x[3, 7] = -np.inf
    x[4, : n // 2] = np.inf
    x[5, : n - 1] = -np.inf  # the VaR is -inf unless the tail holds only the one finite loss
    x[6, -1] = np.inf  # m = 1 at some levels: ES = VaR = inf
    v, e = var_es_rows(x, alpha)
    rv, re_ = _partition_reference(x, alpha)
    np.testing.assert_array_equal(v, rv)
    fin = np.isfinite(re_)
    np.testing.assert_array_equal(e[~fin], re_[~fin])
    np.testing.assert_allclose(e[fin], re_[fin], rtol=1e-12)


def test_argument_errors():
    """Expected: ConfigError with the argument named, for what the function refuses."""
    x = np.ones((3, 200))
    with pytest.raises(ConfigError, match="alpha must be in"):
        var_es_rows(x, 1.0)
    with pytest.raises(ConfigError, match="losses must be 2-D"):
        var_es_rows(np.ones(200), 0.99)
    with pytest.raises(ConfigError, match="losses must be 2-D"):
        var_es_rows(np.ones((3, 0)), 0.99)
    with pytest.raises(ConfigError, match="argmax must be"):
        var_es_rows(x, 0.99, argmax=np.empty(3, dtype=np.int32))
    with pytest.raises(ConfigError, match="argmax must be"):
        var_es_rows(x, 0.99, argmax=np.empty(4, dtype=np.intp))
    v, e = var_es_rows(np.empty((0, 200)), 0.99)  # no rows: empty results
    assert v.shape == e.shape == (0,)


def test_portfolio_block_measure_uses_the_kernel_and_refuses_nan():
    """Expected: ``riskmodels.risk.var_es`` on the P&L (minus the losses) for each row, the
    argmax written into the caller's slice, the block left unchanged, and the DataError of the
    finiteness check for a NaN row (ES or VaR). ES to 1e-12 (summation order), rest exact."""
    from riskmodels.margin import PortfolioMargin
    from riskmodels.risk import var_es
    from riskmodels.scenarios import Scenarios

    rng = np.random.default_rng(7)
    sc = Scenarios(returns=rng.standard_normal((500, 2)) * 0.02, assets=("A", "B"), horizon="1D")
    losses = rng.standard_normal((25, 500)) * 1e3
    before = losses.copy()
    drv = np.full(40, -1, dtype=np.intp)
    for measure in ("es", "var"):
        pm = PortfolioMargin(sc, measure=measure, alpha=0.99)
        got = pm._block_measure(losses, None, drv[10:35])
        v, e = var_es(-losses, 0.99, axis=1)
        np.testing.assert_allclose(got, e if measure == "es" else v, rtol=1e-12)
        np.testing.assert_array_equal(losses, before)
        np.testing.assert_array_equal(drv[10:35], np.argmax(losses, axis=1))
        assert (drv[:10] == -1).all() and (drv[35:] == -1).all()
        bad = losses.copy()
        bad[3, 100] = np.nan
        with pytest.raises(DataError, match="non-finite VaR/ES"):
            pm._block_measure(bad, None)
