"""Small linear-algebra helpers: correlation from covariance, positive-definiteness checks, the
Higham (2002) nearest correlation matrix, eigenvalue clipping and the ADCC stationarity factor."""

from __future__ import annotations

import numpy as np

__all__ = [
    "adcc_delta",
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
        if np.linalg.norm(Y_new - Y, "fro") <= tol * max(1.0, np.linalg.norm(Y, "fro")):
            Y = Y_new
            break
        Y = Y_new
    return clip_eigenvalues(Y, floor), it
