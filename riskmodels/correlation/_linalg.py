"""Small linear-algebra helpers: correlation from covariance, positive-definiteness checks, the
Higham (2002) nearest correlation matrix, eigenvalue clipping and the ADCC stationarity factor."""

from __future__ import annotations

import numpy as np

from riskmodels.exceptions import ModelError, NotPositiveDefiniteError

__all__ = [
    "adcc_delta",
    "check_correlation_stack",
    "clip_eigenvalues",
    "cov2cor",
    "min_eigenvalue",
    "nearest_correlation",
]


def cov2cor(S: np.ndarray) -> np.ndarray:
    """Correlation matrix (or stack of them, last two axes) of a covariance matrix."""
    d = np.sqrt(np.diagonal(S, axis1=-2, axis2=-1))
    R = S / (d[..., :, None] * d[..., None, :])
    # exact ones on the diagonal (rounding would otherwise leave 1 +- 1e-16)
    idx = np.arange(S.shape[-1])
    R[..., idx, idx] = 1.0
    return R


def _shown(values: np.ndarray, limit: int = 6) -> str:
    """The distinct values of ``values`` in 6 significant digits (at most ``limit``), for
    messages; ``round(6)`` would overflow for values near the float maximum."""
    distinct = np.unique(values)
    text = ", ".join(f"{v:.6g}" for v in distinct[:limit])
    return f"[{text}{', ...' if distinct.size > limit else ''}]"


def check_correlation_stack(R: object, what: str, *, atol: float = 1e-8) -> np.ndarray:
    """``R`` as a float stack of correlation matrices (H, N, N), or a named error.

    A 2-D matrix is read as a stack of one. Each matrix must be finite, symmetric, have a unit
    diagonal and entries in [-1, 1] and be positive semi-definite, all to within ``atol``.

    Raises
    ------
    ModelError
        If the array is not numeric, not (H, N, N) or (N, N), not finite or symmetric, has a
        diagonal other than one or entries outside [-1, 1].
    NotPositiveDefiniteError
        If a matrix has a negative eigenvalue (below ``-atol``).
    """
    try:
        arr = np.array(R, dtype="float64")
    except (TypeError, ValueError) as exc:
        raise ModelError(
            f"{what} must be a numeric array of correlation matrices ({exc})."
        ) from exc
    given = arr.shape  # np.shape(R): the shape as given, before a 2-D matrix becomes a stack
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim != 3 or arr.shape[1] != arr.shape[2] or arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ModelError(
            f"{what} must have shape (horizon, N, N) or (N, N) with horizon, N >= 1 (got {given})."
        )
    if not np.isfinite(arr).all():
        raise ModelError(f"{what} has NaN or infinite entries; give complete matrices.")
    with np.errstate(over="ignore"):  # 1e308 - (-1e308) is inf: as asymmetric as it gets
        asym = float(np.abs(arr - np.swapaxes(arr, -1, -2)).max())
    if asym > atol:
        raise ModelError(
            f"{what} must be symmetric (largest asymmetry {asym:.3g}). Use (R + R.T) / 2."
        )
    diag = np.diagonal(arr, axis1=-2, axis2=-1)
    if np.abs(diag - 1.0).max() > atol:
        raise ModelError(
            f"{what} must have ones on the diagonal (got {_shown(diag)}). "
            "Convert a covariance matrix with cov2cor (divide by the outer product of the "
            "standard deviations)."
        )
    if np.abs(arr).max() > 1.0 + atol:
        raise ModelError(
            f"{what} has entries outside [-1, 1] (largest magnitude {np.abs(arr).max():.6g}): "
            "correlations lie in [-1, 1]; a covariance matrix must be converted with cov2cor."
        )
    lam = float(np.linalg.eigvalsh(0.5 * (arr + np.swapaxes(arr, -1, -2))).min())
    if lam < -atol:
        raise NotPositiveDefiniteError(
            f"{what} is not positive semi-definite (smallest eigenvalue {lam:.3g}), so no "
            "random vector has these correlations. Repair it (e.g. the Higham nearest "
            "correlation matrix) or give a consistent matrix."
        )
    return arr


def min_eigenvalue(S: np.ndarray) -> float:
    """Smallest eigenvalue of a symmetric matrix."""
    return float(np.linalg.eigvalsh(0.5 * (S + S.T))[0])


def adcc_delta(Qbar: np.ndarray, Nbar: np.ndarray) -> float:
    """``delta = lambda_max(Qbar^{-1/2} Nbar Qbar^{-1/2})``.

    The targeted ADCC intercept ``(1 - a - b) Qbar - g Nbar`` is positive semi-definite iff
    ``a + b + delta g <= 1`` (Cappiello, Engle and Sheppard 2006, Section 2.2).
    """
    vals, vecs = np.linalg.eigh(Qbar)
    inv_sqrt = (vecs / np.sqrt(vals)) @ vecs.T
    M = inv_sqrt @ Nbar @ inv_sqrt
    return float(np.linalg.eigvalsh(0.5 * (M + M.T))[-1])


def clip_eigenvalues(S: np.ndarray, floor: float = 1e-8) -> np.ndarray:
    """Raise the eigenvalues of a symmetric matrix to ``floor`` and rescale to unit diagonal."""
    vals, vecs = np.linalg.eigh(0.5 * (S + S.T))
    out = (vecs * np.maximum(vals, floor)) @ vecs.T
    return cov2cor(0.5 * (out + out.T))


def nearest_correlation(
    A: np.ndarray, *, tol: float = 1e-10, max_iter: int = 500, floor: float = 1e-8
) -> tuple[np.ndarray, int]:
    """Nearest correlation matrix in the Frobenius norm (Higham 2002, Algorithm 3.3).

    Alternating projections with Dykstra's correction between the positive semi-definite cone
    and the unit-diagonal matrices; the result's eigenvalues are then floored at ``floor`` so
    that it is strictly positive definite.

    Returns
    -------
    X : ndarray
        The repaired correlation matrix.
    n_iter : int
        Iterations used.

    Notes
    -----
    Higham, N. J. (2002), "Computing the nearest correlation matrix — a problem from finance",
    IMA Journal of Numerical Analysis 22, 329-343.
    """
    Y = 0.5 * (A + A.T)
    dS = np.zeros_like(Y)
    X = Y.copy()
    n = Y.shape[0]
    it = 0
    for it in range(1, max_iter + 1):  # noqa: B007 - it is returned
        Rk = Y - dS
        vals, vecs = np.linalg.eigh(Rk)
        X = (vecs * np.maximum(vals, 0.0)) @ vecs.T
        dS = X - Rk
        Y_new = X.copy()
        Y_new[np.arange(n), np.arange(n)] = 1.0
        if np.linalg.norm(Y_new - Y, "fro") <= tol * max(1.0, float(np.linalg.norm(Y, "fro"))):
            Y = Y_new
            break
        Y = Y_new
    return clip_eigenvalues(Y, floor), it
