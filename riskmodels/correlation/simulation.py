"""Simulate DCC / cDCC / ADCC processes with GARCH(1,1) marginals (a known data-generating
process for tests, recovery studies and benchmarks)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from riskmodels._limits import check_allocation
from riskmodels._random import as_generator
from riskmodels._typing import SeedLike
from riskmodels.correlation._linalg import adcc_delta, cov2cor
from riskmodels.exceptions import ConfigError, NotPositiveDefiniteError

__all__ = ["SimulatedDCC", "equicorrelation", "negative_moment", "simulate_dcc"]


def equicorrelation(n: int, rho: float) -> np.ndarray:
    """The ``n x n`` matrix with ones on the diagonal and ``rho`` elsewhere.

    Raises
    ------
    ConfigError
        If ``n`` is not a positive integer, or ``rho`` is outside ``[-1/(n-1), 1]`` (the
        range where the matrix is a correlation matrix: its eigenvalues are ``1 + (n-1) rho``
        and ``1 - rho``).
    ResourceLimitError
        If the ``n x n`` matrix would need more memory than the allocation limit.
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ConfigError(f"n must be a positive integer (got {n!r}).")
    try:
        r = float(rho)
    except (TypeError, ValueError):
        raise ConfigError(f"rho must be a number in [-1/(n-1), 1] (got {rho!r}).") from None
    lo = -1.0 / (n - 1) if n > 1 else -1.0
    if not np.isfinite(r) or not lo <= r <= 1.0:
        raise ConfigError(
            f"rho must be in [{lo:.6g}, 1] for n={n} (got {rho!r}): below -1/(n-1) the matrix "
            "has a negative eigenvalue 1 + (n-1) rho and is not a correlation matrix."
        )
    # three n x n float64 arrays are alive at once (eye, ones, the result)
    check_allocation(3 * int(n) ** 2, what=f"equicorrelation(n={n}): a {n} x {n} matrix")
    return (1.0 - r) * np.eye(n) + r * np.ones((n, n))


def negative_moment(R: np.ndarray) -> np.ndarray:
    """``E[n n']`` with ``n = min(z, 0)`` for ``z ~ N(0, R)``, ``R`` a correlation matrix.

    For a standard bivariate normal pair with correlation ``rho``,
    ``E[XY 1{X<0, Y<0}] = (rho (pi/2 + arcsin rho) + sqrt(1 - rho^2)) / (2 pi)``
    (the positive-quadrant moment, by the symmetry ``(X, Y) -> (-X, -Y)``); the diagonal is 1/2.
    """
    rho = np.clip(R, -1.0, 1.0)
    out = (rho * (np.pi / 2 + np.arcsin(rho)) + np.sqrt(1.0 - rho**2)) / (2 * np.pi)
    np.fill_diagonal(out, 0.5)
    return out


@dataclass(frozen=True, kw_only=True)
class SimulatedDCC:
    """A simulated sample.

    Attributes
    ----------
    returns : DataFrame
        Decimal log returns ``r_t = sigma_t z_t`` (T x N), daily UTC index.
    std_resid : DataFrame
        The standardized shocks ``z_t`` (T x N).
    volatility : DataFrame
        ``sigma_t`` (T x N).
    correlation : ndarray of shape (T, N, N)
        The true ``R_t``.
    Q : ndarray of shape (T, N, N)
        The true ``Q_t``.
    """

    returns: pd.DataFrame
    std_resid: pd.DataFrame
    volatility: pd.DataFrame
    correlation: np.ndarray
    Q: np.ndarray

    def __repr__(self) -> str:
        T, N = self.returns.shape
        names = ", ".join(map(str, list(self.returns.columns)[:6])) + (
            f", … (+{N - 6})" if N > 6 else ""
        )
        return (
            f"SimulatedDCC({T} dates x {N} assets [{names}]: returns, std_resid, volatility "
            f"(T x N frames), correlation, Q (T x N x N arrays))"
        )


def _check_target(target: object) -> np.ndarray:
    """``target`` as a finite, symmetric, positive definite float matrix, or a named error."""
    try:
        S = np.array(target, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"target must be a numeric N x N matrix ({exc}).") from exc
    if S.ndim != 2 or S.shape[0] != S.shape[1] or S.shape[0] == 0:
        raise ConfigError(f"target must be a square N x N matrix (got shape {S.shape}).")
    if not np.isfinite(S).all():
        raise ConfigError("target has NaN or infinite entries; give a complete matrix.")
    if not np.allclose(S, S.T, rtol=0, atol=1e-10):
        raise ConfigError(
            "target must be symmetric (largest asymmetry "
            f"{np.abs(S - S.T).max():.3g}). Use (S + S.T) / 2."
        )
    try:
        np.linalg.cholesky(S)
    except np.linalg.LinAlgError:
        lam = float(np.linalg.eigvalsh(S)[0])
        raise NotPositiveDefiniteError(
            f"The target is not positive definite (smallest eigenvalue {lam:.3g}); simulating "
            "DCC needs a positive definite target. Give a valid correlation matrix (e.g. "
            "equicorrelation(n, rho) with -1/(n-1) < rho < 1) or repair it (Higham nearest "
            "correlation matrix, or eigenvalue clipping)."
        ) from None
    return S


def _count(value: object, name: str, *, minimum: int) -> int:
    """``value`` as an integer >= ``minimum``, else :class:`ConfigError`."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ConfigError(f"{name} must be an integer >= {minimum} (got {value!r}).")
    return int(value)


def _nonnegative(value: object, name: str) -> float:
    """``value`` as a finite float >= 0, else :class:`ConfigError`."""
    try:
        x = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be a number >= 0 (got {value!r}).") from None
    if isinstance(value, bool) or not math.isfinite(x) or x < 0:
        raise ConfigError(f"{name} must be a finite number >= 0 (got {value!r}).")
    return x


def simulate_dcc(
    nobs: int,
    target: np.ndarray,
    a: float,
    b: float,
    *,
    g: float = 0.0,
    kind: Literal["dcc", "cdcc", "adcc"] = "dcc",
    asymmetry_target: np.ndarray | None = None,
    garch: tuple[float, float, float] | np.ndarray = (2e-5, 0.08, 0.9),
    dist: Literal["normal", "t"] = "normal",
    nu: float = 8.0,
    burn: int = 500,
    rng: SeedLike = None,
    start: str = "2020-01-01",
) -> SimulatedDCC:
    """Simulate a DCC(1,1)-GARCH(1,1) process.

    Parameters
    ----------
    nobs : int
        Number of dates returned (after ``burn`` discarded dates).
    target : ndarray of shape (N, N)
        ``Qbar`` (DCC, ADCC) or the unit-diagonal ``S`` (cDCC).
    a, b, g : float
        Correlation parameters (``g`` only for ADCC).
    kind : {"dcc", "cdcc", "adcc"}
    asymmetry_target : ndarray of shape (N, N), optional
        ``Nbar`` of the ADCC intercept; default :func:`negative_moment` of ``target``.
    garch : tuple or ndarray of shape (N, 3)
        ``(omega, alpha, beta)`` of each asset's GARCH(1,1) in decimal units (one row per
        asset, or one tuple for all).
    dist : {"normal", "t"}
        Distribution of the shocks: multivariate normal, or multivariate Student t with ``nu``
        degrees of freedom scaled to unit variance.
    burn : int
        Dates simulated and discarded before the sample starts.
    rng : Generator or int, optional
        :func:`riskmodels._random.as_generator`: an int seed reproduces the sample, None
        draws fresh entropy.
    start : str
        First date of the returned daily UTC index.

    Notes
    -----
    DCC (Engle 2002): ``Q_t = (1 - a - b) Qbar + a z z' + b Q_{t-1}``. cDCC (Aielli 2013):
    the news term is ``Q*^{1/2} z z' Q*^{1/2}`` with ``Q* = diag(Q_{t-1})``. ADCC (Cappiello,
    Engle and Sheppard 2006): ``- g Nbar`` in the intercept and ``+ g n n'``, ``n = min(z, 0)``.
    """
    nobs = _count(nobs, "nobs", minimum=1)
    burn = _count(burn, "burn", minimum=0)
    rng = as_generator(rng)
    S = _check_target(target)
    N = S.shape[0]
    if kind not in ("dcc", "cdcc", "adcc"):
        raise ConfigError(f"kind must be 'dcc', 'cdcc' or 'adcc' (got {kind!r}).")
    if dist not in ("normal", "t"):
        raise ConfigError(f"dist must be 'normal' or 't' (got {dist!r}).")
    a, b, g = (_nonnegative(v, name) for v, name in ((a, "a"), (b, "b"), (g, "g")))
    if dist == "t":
        nu = _nonnegative(nu, "nu")
        if not nu > 2.0:
            raise ConfigError(f"nu must be > 2 for unit-variance t shocks (got {nu!r}). Try 8.")
    try:
        gp = np.broadcast_to(np.asarray(garch, dtype=float), (N, 3))
    except (TypeError, ValueError) as exc:
        raise ConfigError(
            f"garch must be (omega, alpha, beta) or an array of shape ({N}, 3) (got {garch!r}): "
            f"{exc}"
        ) from None
    if not (
        np.isfinite(gp).all()
        and (gp[:, 0] > 0).all()
        and (gp[:, 1:] >= 0).all()
        and (gp[:, 1] + gp[:, 2] < 1).all()
    ):
        raise ConfigError(
            f"garch must hold omega > 0, alpha >= 0, beta >= 0 with alpha + beta < 1 per asset "
            f"(got {garch!r}); e.g. (2e-5, 0.08, 0.9)."
        )
    if asymmetry_target is not None:
        try:
            asymmetry_target = np.array(asymmetry_target, dtype=float)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"asymmetry_target must be a numeric matrix ({exc}).") from None
        if asymmetry_target.shape != (N, N) or not np.isfinite(asymmetry_target).all():
            raise ConfigError(
                f"asymmetry_target must be a finite {N} x {N} matrix (got shape "
                f"{asymmetry_target.shape})."
            )
    C = (1.0 - a - b) * S
    if kind == "adcc":
        Nbar = negative_moment(cov2cor(S)) if asymmetry_target is None else asymmetry_target
        if a + b + adcc_delta(S, Nbar) * g >= 1.0:
            raise ConfigError(
                f"ADCC parameters violate a + b + delta g < 1 (a={a}, b={b}, g={g}, "
                f"delta={adcc_delta(S, Nbar):.4f}). Lower g."
            )
        C = C - g * Nbar
    elif a + b >= 1.0:
        raise ConfigError(f"a + b must be < 1 (got a={a}, b={b}).")
    omega, alpha, beta = gp[:, 0], gp[:, 1], gp[:, 2]
    total = nobs + burn
    # R_t and Q_t (N x N each) per date, plus shocks, variances and the returned frames
    check_allocation(
        int(total) * (2 * N * N + 6 * N),
        what=f"{total} dates (nobs + burn) x {N} assets (two {N} x {N} matrices per date)",
    )
    try:
        idx = pd.date_range(start, periods=nobs, freq="D", tz="UTC", name="time")
    except (TypeError, ValueError, OverflowError) as exc:
        raise ConfigError(f"start must be a date such as '2020-01-01' (got {start!r}).") from exc
    zs = np.empty((total, N))
    Rs = np.empty((total, N, N))
    Qs = np.empty((total, N, N))
    Q = S.copy()
    for t in range(total):
        if t > 0:
            zp = zs[t - 1]
            x = np.sqrt(np.diag(Q)) * zp if kind == "cdcc" else zp
            Q = C + a * np.outer(x, x) + b * Q
            if kind == "adcc":
                n = np.minimum(zp, 0.0)
                Q = Q + g * np.outer(n, n)
        R = cov2cor(Q)
        e = rng.standard_normal(N)
        if dist == "t":
            e = e * np.sqrt((nu - 2.0) / rng.chisquare(nu))
        zs[t] = np.linalg.cholesky(R) @ e
        Rs[t] = R
        Qs[t] = Q
    s2 = np.empty((total, N))
    s2[0] = omega / (1.0 - alpha - beta)
    for t in range(1, total):
        s2[t] = omega + alpha * s2[t - 1] * zs[t - 1] ** 2 + beta * s2[t - 1]
    sig = np.sqrt(s2)
    cols = [f"A{i:02d}" for i in range(N)]
    sl = slice(burn, None)
    return SimulatedDCC(
        returns=pd.DataFrame(sig[sl] * zs[sl], index=idx, columns=cols),
        std_resid=pd.DataFrame(zs[sl], index=idx, columns=cols),
        volatility=pd.DataFrame(sig[sl], index=idx, columns=cols),
        correlation=Rs[sl],
        Q=Qs[sl],
    )
