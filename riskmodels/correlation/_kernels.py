"""Recursions and log-likelihood kernels of the (c/A)DCC correlation stage.

Every kernel exists twice: a numba-compiled loop (``*_nb``) and a pure-numpy twin (``*_np``)
that is vectorised over time or over pairs where the algebra allows. The tests compare the two
at ``rtol=1e-12``. :func:`full_loglik` and :func:`composite_loglik` dispatch on ``backend``;
``"auto"`` uses numba when it imports and numpy otherwise.

Model (one recursion covers DCC, cDCC, ADCC, EWMA and CCC)::

    Q_t = C + a x_{t-1} x_{t-1}' + b Q_{t-1} + g n_{t-1} n_{t-1}',    Q_0 = Q0
    R_t = diag(Q_t)^{-1/2} Q_t diag(Q_t)^{-1/2}
    l_t = -1/2 (log|R_t| + z_t' R_t^{-1} z_t - z_t' z_t)          (Engle 2002, eq. 26)

with ``x = z`` (DCC, ADCC), ``x = diag(Q_t)^{1/2} z`` (cDCC, computed by the caller from the
diagonal recursion, which does not depend on the off-diagonal elements) and ``n = min(z, 0)``.

Scores. With targeting, ``C = (1 - a - b) Qbar - g Nbar``, so ``dQ_t/da = -Qbar + x x' +
b dQ_{t-1}/da``, ``dQ_t/db = -Qbar + Q_{t-1} + b dQ_{t-1}/db`` and ``dQ_t/dg = -Nbar + n n' +
b dQ_{t-1}/dg``. Writing ``log|R| = log|Q| - sum log q_ii`` and ``z' R^{-1} z = u' Q^{-1} u``
with ``u = diag(Q)^{1/2} z`` and ``w = Q^{-1} u``::

    dl_t = -1/2 [ <Q^{-1} - w w', dQ> + sum_i (w_i u_i - 1) dq_ii / q_ii ]

The score kernels are only valid when ``x`` does not depend on the parameters (DCC, ADCC);
cDCC scores are taken numerically by the caller.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

try:  # numba is a runtime dependency, but the numpy path must run without it
    from numba import njit

    HAVE_NUMBA = True
except ImportError:  # pragma: no cover - exercised only where numba is missing
    HAVE_NUMBA = False

    def njit(*args: Any, **kwargs: Any) -> Any:  # type: ignore[no-redef]
        def wrap(func: Any) -> Any:
            return func

        if len(args) == 1 and callable(args[0]) and not kwargs:
            return args[0]
        return wrap


Backend = Literal["auto", "numba", "numpy"]

#: LLVM may reassociate sums (so that dot products vectorise) but keeps NaN/inf semantics.
_FASTMATH = {"reassoc", "contract", "nsz", "arcp"}

__all__ = [
    "HAVE_NUMBA",
    "Backend",
    "composite_loglik",
    "full_loglik",
    "resolve_backend",
]


def resolve_backend(backend: str) -> str:
    """Return ``"numba"`` or ``"numpy"`` for a requested backend."""
    if backend == "auto":
        return "numba" if HAVE_NUMBA else "numpy"
    if backend == "numba" and not HAVE_NUMBA:
        from riskmodels.exceptions import ConfigError

        raise ConfigError(
            "backend='numba' was requested but numba is not installed. "
            "Install numba or use backend='auto' (falls back to numpy)."
        )
    if backend not in ("numba", "numpy"):
        from riskmodels.exceptions import ConfigError

        raise ConfigError(f"backend must be 'auto', 'numba' or 'numpy' (got {backend!r}).")
    return backend


# ---------------------------------------------------------------------------------------------
# Full likelihood
# ---------------------------------------------------------------------------------------------


@njit(cache=True, nogil=True, fastmath=_FASTMATH)
def _full_nb(  # pragma: no cover - jitted
    z: np.ndarray,
    x: np.ndarray,
    neg: np.ndarray,
    C: np.ndarray,
    Q0: np.ndarray,
    a: float,
    b: float,
    g: float,
    dC: np.ndarray,
    nscore: int,
    want_path: bool,
) -> tuple[int, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Numba kernel of the full correlation-stage log-likelihood.

    Parameters are as in :func:`full_loglik`; ``dC`` is ``(3, N, N)`` (``dC/da, dC/db,
    dC/dg``). Returns ``(flag, llt, scores, Q_last, R_path)``; ``flag`` is the first index
    ``t`` where ``Q_t`` is not positive definite plus one, 0 when all are.
    """
    T, N = z.shape
    llt = np.empty(T)
    scores = np.zeros((T, nscore))
    R = np.empty((T if want_path else 0, N, N))
    Q = Q0.copy()
    Qprev = np.empty((N, N))
    dQ = np.zeros((nscore, N, N))
    L = np.zeros((N, N))
    U = np.zeros((N, N))
    rd = np.empty(N)
    LiT = np.zeros((N, N))
    Qi = np.zeros((N, N))
    u = np.empty(N)
    y = np.empty(N)
    w = np.empty(N)
    sq = np.empty(N)
    use_g = g != 0.0 or nscore > 2
    for t in range(T):
        if t > 0:
            for i in range(N):
                for j in range(i + 1):
                    Qprev[i, j] = Q[i, j]
            xi = x[t - 1]
            ni = neg[t - 1]
            for i in range(N):
                for j in range(i + 1):
                    v = C[i, j] + a * xi[i] * xi[j] + b * Q[i, j]
                    if use_g:
                        v += g * ni[i] * ni[j]
                    Q[i, j] = v
            if nscore > 0:
                for i in range(N):
                    for j in range(i + 1):
                        dQ[0, i, j] = dC[0, i, j] + xi[i] * xi[j] + b * dQ[0, i, j]
                        dQ[1, i, j] = dC[1, i, j] + Qprev[i, j] + b * dQ[1, i, j]
                        if nscore > 2:
                            dQ[2, i, j] = dC[2, i, j] + ni[i] * ni[j] + b * dQ[2, i, j]
        # Cholesky of Q (lower triangle only); U = L' and rd = 1 / diag(L) kept for the inverse
        for j in range(N):
            s = Q[j, j]
            for k in range(j):
                s -= L[j, k] * L[j, k]
            if s <= 0.0:
                return t + 1, llt, scores, Q, R
            d = np.sqrt(s)
            L[j, j] = d
            U[j, j] = d
            rd[j] = 1.0 / d
            for i in range(j + 1, N):
                s = Q[i, j]
                for k in range(j):
                    s -= L[i, k] * L[j, k]
                L[i, j] = s * rd[j]
                U[j, i] = L[i, j]
        logdet = 0.0
        zz = 0.0
        for i in range(N):
            sq[i] = np.sqrt(Q[i, i])
            u[i] = sq[i] * z[t, i]
            logdet += 2.0 * np.log(L[i, i]) - np.log(Q[i, i])
            zz += z[t, i] * z[t, i]
        quad = 0.0
        for i in range(N):
            s = u[i]
            for k in range(i):
                s -= L[i, k] * y[k]
            y[i] = s * rd[i]
            quad += y[i] * y[i]
        llt[t] = -0.5 * (logdet + quad - zz)
        if want_path:
            for i in range(N):
                for j in range(i + 1):
                    r = Q[i, j] / (sq[i] * sq[j])
                    R[t, i, j] = r
                    R[t, j, i] = r
        if nscore > 0:
            # w = Q^{-1} u by back substitution
            for i in range(N - 1, -1, -1):
                s = y[i]
                for k in range(i + 1, N):
                    s -= U[i, k] * w[k]
                w[i] = s * rd[i]
            # row j of LiT = column j of L^{-1}: solve L v = e_j with contiguous axpys on U = L'
            for j in range(N):
                for i in range(j, N):
                    LiT[j, i] = 0.0
                LiT[j, j] = 1.0
                for k in range(j, N):
                    vk = LiT[j, k] * rd[k]
                    LiT[j, k] = vk
                    for i in range(k + 1, N):
                        LiT[j, i] -= U[k, i] * vk
            # Qi = L^{-T} L^{-1} (lower triangle): Qi[i, j] = sum_{k >= i} LiT[i, k] LiT[j, k]
            for i in range(N):
                for j in range(i + 1):
                    s = 0.0
                    for k in range(i, N):
                        s += LiT[i, k] * LiT[j, k]
                    Qi[i, j] = s
            for p in range(nscore):
                acc = 0.0
                for i in range(N):
                    m = Qi[i, i] - w[i] * w[i]
                    acc += m * dQ[p, i, i] + (w[i] * u[i] - 1.0) * dQ[p, i, i] / Q[i, i]
                    for j in range(i):
                        acc += 2.0 * (Qi[i, j] - w[i] * w[j]) * dQ[p, i, j]
                scores[t, p] = -0.5 * acc
    # symmetrise the returned last state
    for i in range(N):
        for j in range(i):
            Q[j, i] = Q[i, j]
    return 0, llt, scores, Q, R


def _full_np(
    z: np.ndarray,
    x: np.ndarray,
    neg: np.ndarray,
    C: np.ndarray,
    Q0: np.ndarray,
    a: float,
    b: float,
    g: float,
    dC: np.ndarray,
    nscore: int,
    want_path: bool,
    chunk: int = 256,
) -> tuple[int, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Numpy twin of :func:`_full_nb`: the recursion loops over time with matrix operations,
    the Cholesky factors, solves and inverses are batched over blocks of ``chunk`` dates."""
    T, N = z.shape
    llt = np.empty(T)
    scores = np.zeros((T, nscore))
    R = np.empty((T if want_path else 0, N, N))
    Q = Q0.copy()
    dQ = np.zeros((nscore, N, N))
    use_g = g != 0.0 or nscore > 2
    for start in range(0, T, chunk):
        stop = min(T, start + chunk)
        Qs = np.empty((stop - start, N, N))
        dQs = np.empty((stop - start, nscore, N, N))
        for t in range(start, stop):
            if t > 0:
                xo = np.outer(x[t - 1], x[t - 1])
                no = np.outer(neg[t - 1], neg[t - 1])
                if nscore > 0:
                    dQ[0] = dC[0] + xo + b * dQ[0]
                    dQ[1] = dC[1] + Q + b * dQ[1]
                    if nscore > 2:
                        dQ[2] = dC[2] + no + b * dQ[2]
                Q = C + a * xo + b * Q
                if use_g:
                    Q = Q + g * no
            Qs[t - start] = Q
            if nscore > 0:
                dQs[t - start] = dQ
        diag = np.diagonal(Qs, axis1=1, axis2=2)
        if np.any(diag <= 0.0):
            bad = int(np.argmax(np.any(diag <= 0.0, axis=1)))
            return start + bad + 1, llt, scores, Qs[bad], R
        try:
            L = np.linalg.cholesky(Qs)
        except np.linalg.LinAlgError:
            eig = np.linalg.eigvalsh(Qs)[:, 0]
            bad = int(np.argmax(eig <= 0.0))
            return start + bad + 1, llt, scores, Qs[bad], R
        sq = np.sqrt(diag)
        zt = z[start:stop]
        u = sq * zt
        y = np.linalg.solve(L, u[:, :, None])[:, :, 0]
        Ld = np.diagonal(L, axis1=1, axis2=2)
        logdet = 2.0 * np.log(Ld).sum(axis=1) - np.log(diag).sum(axis=1)
        quad = (y * y).sum(axis=1)
        llt[start:stop] = -0.5 * (logdet + quad - (zt * zt).sum(axis=1))
        if want_path:
            R[start:stop] = Qs / (sq[:, :, None] * sq[:, None, :])
        if nscore > 0:
            Li = np.linalg.inv(L)
            Qi = np.matmul(np.swapaxes(Li, 1, 2), Li)
            w = np.matmul(Qi, u[:, :, None])[:, :, 0]
            M = Qi - w[:, :, None] * w[:, None, :]
            dd = np.diagonal(dQs, axis1=2, axis2=3)  # (t, p, N)
            scores[start:stop] = -0.5 * (
                np.einsum("tij,tpij->tp", M, dQs)
                + np.einsum("ti,tpi->tp", (w * u - 1.0) / diag, dd)
            )
    return 0, llt, scores, Q, R


def full_loglik(
    z: np.ndarray,
    x: np.ndarray,
    neg: np.ndarray,
    C: np.ndarray,
    Q0: np.ndarray,
    a: float,
    b: float,
    g: float,
    dC: np.ndarray | None = None,
    nscore: int = 0,
    want_path: bool = False,
    backend: str = "auto",
) -> tuple[int, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per-date correlation-stage log-likelihood (and scores) of the full N-variate model.

    Parameters
    ----------
    z : ndarray of shape (T, N)
        Standardized residuals entering the likelihood.
    x : ndarray of shape (T, N)
        The vector whose outer product drives the recursion (``z``, or ``Q*^{1/2} z`` for
        cDCC).
    neg : ndarray of shape (T, N)
        Negative parts ``min(z, 0)`` for ADCC (any array of that shape when ``g == 0``).
    C : ndarray of shape (N, N)
        Intercept of the recursion.
    Q0 : ndarray of shape (N, N)
        Initial ``Q_0``.
    a, b, g : float
        News, persistence and asymmetry coefficients.
    dC : ndarray of shape (3, N, N), optional
        Derivatives of ``C`` with respect to ``a, b, g`` (needed when ``nscore > 0``).
    nscore : {0, 2, 3}
        Number of score columns (``a, b`` or ``a, b, g``).
    want_path : bool
        Also return the ``(T, N, N)`` path of ``R_t``.
    backend : {"auto", "numba", "numpy"}

    Returns
    -------
    flag : int
        0 when every ``Q_t`` is positive definite, otherwise ``t + 1`` of the first that is not.
    llt : ndarray of shape (T,)
    scores : ndarray of shape (T, nscore)
    Q_last : ndarray of shape (N, N)
        ``Q_{T-1}``, the state needed to continue the recursion.
    R : ndarray of shape (T, N, N) or (0, N, N)
    """
    z = np.ascontiguousarray(z, dtype=np.float64)
    x = np.ascontiguousarray(x, dtype=np.float64)
    neg = np.ascontiguousarray(neg, dtype=np.float64)
    C = np.ascontiguousarray(C, dtype=np.float64)
    Q0 = np.ascontiguousarray(Q0, dtype=np.float64)
    if dC is None:
        dC = np.zeros((3, z.shape[1], z.shape[1]))
    dC = np.ascontiguousarray(dC, dtype=np.float64)
    fn = _full_nb if resolve_backend(backend) == "numba" else _full_np
    return fn(z, x, neg, C, Q0, float(a), float(b), float(g), dC, int(nscore), bool(want_path))


# ---------------------------------------------------------------------------------------------
# Composite likelihood over contiguous pairs (Pakel, Shephard, Sheppard and Engle 2021)
# ---------------------------------------------------------------------------------------------


@njit(cache=True, nogil=True)
def _composite_nb(  # pragma: no cover
    z: np.ndarray,
    x: np.ndarray,
    neg: np.ndarray,
    Cd: np.ndarray,
    Co: np.ndarray,
    q0d: np.ndarray,
    q0o: np.ndarray,
    a: float,
    b: float,
    g: float,
    dCd: np.ndarray,
    dCo: np.ndarray,
    nscore: int,
) -> tuple[int, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Numba kernel of the contiguous-pair composite log-likelihood.

    ``Cd`` (N,) and ``Co`` (N-1,) are the diagonal and first off-diagonal of the intercept;
    ``dCd`` (3, N) and ``dCo`` (3, N-1) their derivatives. Returns ``(flag, llt, scores,
    qd_last, qo_last)`` with ``llt`` the sum over pairs at each date.
    """
    T, N = z.shape
    P = N - 1
    llt = np.zeros(T)
    scores = np.zeros((T, nscore))
    qd = q0d.copy()
    qo = q0o.copy()
    dqd = np.zeros((nscore, N))
    dqo = np.zeros((nscore, P))
    qd_prev = np.empty(N)
    qo_prev = np.empty(P)
    use_g = g != 0.0 or nscore > 2
    for t in range(T):
        if t > 0:
            for i in range(N):
                qd_prev[i] = qd[i]
            for i in range(P):
                qo_prev[i] = qo[i]
            for i in range(N):
                v = Cd[i] + a * x[t - 1, i] * x[t - 1, i] + b * qd[i]
                if use_g:
                    v += g * neg[t - 1, i] * neg[t - 1, i]
                qd[i] = v
            for i in range(P):
                v = Co[i] + a * x[t - 1, i] * x[t - 1, i + 1] + b * qo[i]
                if use_g:
                    v += g * neg[t - 1, i] * neg[t - 1, i + 1]
                qo[i] = v
            if nscore > 0:
                for i in range(N):
                    dqd[0, i] = dCd[0, i] + x[t - 1, i] * x[t - 1, i] + b * dqd[0, i]
                    dqd[1, i] = dCd[1, i] + qd_prev[i] + b * dqd[1, i]
                    if nscore > 2:
                        dqd[2, i] = dCd[2, i] + neg[t - 1, i] * neg[t - 1, i] + b * dqd[2, i]
                for i in range(P):
                    dqo[0, i] = dCo[0, i] + x[t - 1, i] * x[t - 1, i + 1] + b * dqo[0, i]
                    dqo[1, i] = dCo[1, i] + qo_prev[i] + b * dqo[1, i]
                    if nscore > 2:
                        dqo[2, i] = dCo[2, i] + neg[t - 1, i] * neg[t - 1, i + 1] + b * dqo[2, i]
        for i in range(N):
            if qd[i] <= 0.0:
                return t + 1, llt, scores, qd, qo
        acc = 0.0
        for i in range(P):
            s = np.sqrt(qd[i] * qd[i + 1])
            rho = qo[i] / s
            dd = 1.0 - rho * rho
            if dd <= 0.0:
                return t + 1, llt, scores, qd, qo
            z1 = z[t, i]
            z2 = z[t, i + 1]
            num = z1 * z1 + z2 * z2 - 2.0 * rho * z1 * z2
            acc += -0.5 * (np.log(dd) + num / dd - z1 * z1 - z2 * z2)
            if nscore > 0:
                dl = rho / dd + z1 * z2 / dd - rho * num / (dd * dd)
                for p in range(nscore):
                    drho = dqo[p, i] / s - 0.5 * rho * (
                        dqd[p, i] / qd[i] + dqd[p, i + 1] / qd[i + 1]
                    )
                    scores[t, p] += dl * drho
        llt[t] = acc
    return 0, llt, scores, qd, qo


def _composite_np(
    z: np.ndarray,
    x: np.ndarray,
    neg: np.ndarray,
    Cd: np.ndarray,
    Co: np.ndarray,
    q0d: np.ndarray,
    q0o: np.ndarray,
    a: float,
    b: float,
    g: float,
    dCd: np.ndarray,
    dCo: np.ndarray,
    nscore: int,
) -> tuple[int, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Numpy twin of :func:`_composite_nb`: loops over time, vectorised over assets and
    pairs."""
    T, N = z.shape
    qd_path = np.empty((T, N))
    qo_path = np.empty((T, N - 1))
    dqd_path = np.empty((T, nscore, N))
    dqo_path = np.empty((T, nscore, N - 1))
    qd = q0d.copy()
    qo = q0o.copy()
    dqd = np.zeros((nscore, N))
    dqo = np.zeros((nscore, N - 1))
    use_g = g != 0.0 or nscore > 2
    xd = x * x
    xo = x[:, :-1] * x[:, 1:]
    nd = neg * neg
    no = neg[:, :-1] * neg[:, 1:]
    for t in range(T):
        if t > 0:
            if nscore > 0:
                dqd[0] = dCd[0] + xd[t - 1] + b * dqd[0]
                dqd[1] = dCd[1] + qd + b * dqd[1]
                dqo[0] = dCo[0] + xo[t - 1] + b * dqo[0]
                dqo[1] = dCo[1] + qo + b * dqo[1]
                if nscore > 2:
                    dqd[2] = dCd[2] + nd[t - 1] + b * dqd[2]
                    dqo[2] = dCo[2] + no[t - 1] + b * dqo[2]
            qd = Cd + a * xd[t - 1] + b * qd
            qo = Co + a * xo[t - 1] + b * qo
            if use_g:
                qd = qd + g * nd[t - 1]
                qo = qo + g * no[t - 1]
        qd_path[t] = qd
        qo_path[t] = qo
        dqd_path[t] = dqd
        dqo_path[t] = dqo
    llt = np.zeros(T)
    scores = np.zeros((T, nscore))
    bad_d = np.any(qd_path <= 0.0, axis=1)
    if bad_d.any():
        t = int(np.argmax(bad_d))
        return t + 1, llt, scores, qd_path[t], qo_path[t]
    s = np.sqrt(qd_path[:, :-1] * qd_path[:, 1:])
    rho = qo_path / s
    dd = 1.0 - rho * rho
    bad = np.any(dd <= 0.0, axis=1)
    if bad.any():
        t = int(np.argmax(bad))
        return t + 1, llt, scores, qd_path[t], qo_path[t]
    z1 = z[:, :-1]
    z2 = z[:, 1:]
    num = z1 * z1 + z2 * z2 - 2.0 * rho * z1 * z2
    llt = (-0.5 * (np.log(dd) + num / dd - z1 * z1 - z2 * z2)).sum(axis=1)
    if nscore > 0:
        dl = rho / dd + z1 * z2 / dd - rho * num / (dd * dd)
        drho = dqo_path / s[:, None, :] - 0.5 * rho[:, None, :] * (
            dqd_path[:, :, :-1] / qd_path[:, None, :-1] + dqd_path[:, :, 1:] / qd_path[:, None, 1:]
        )
        scores = (dl[:, None, :] * drho).sum(axis=2)
    return 0, llt, scores, qd, qo


def composite_loglik(
    z: np.ndarray,
    x: np.ndarray,
    neg: np.ndarray,
    C: np.ndarray,
    Q0: np.ndarray,
    a: float,
    b: float,
    g: float,
    dC: np.ndarray | None = None,
    nscore: int = 0,
    backend: str = "auto",
) -> tuple[int, np.ndarray, np.ndarray]:
    """Per-date composite log-likelihood over the contiguous pairs ``(i, i + 1)``.

    Each pair's bivariate model uses the 2 x 2 blocks of ``C``, ``Q0`` and ``dC``; the cost is
    O(T N) per evaluation. Arguments as in :func:`full_loglik`.

    Returns
    -------
    flag : int
    llt : ndarray of shape (T,)
        Sum over the ``N - 1`` pairs of the bivariate correlation-stage log-likelihoods.
    scores : ndarray of shape (T, nscore)
    """
    N = z.shape[1]
    idx = np.arange(N - 1)
    if dC is None:
        dC = np.zeros((3, N, N))
    args = (
        np.ascontiguousarray(z, dtype=np.float64),
        np.ascontiguousarray(x, dtype=np.float64),
        np.ascontiguousarray(neg, dtype=np.float64),
        np.ascontiguousarray(np.diag(C), dtype=np.float64),
        np.ascontiguousarray(C[idx, idx + 1], dtype=np.float64),
        np.ascontiguousarray(np.diag(Q0), dtype=np.float64),
        np.ascontiguousarray(Q0[idx, idx + 1], dtype=np.float64),
        float(a),
        float(b),
        float(g),
        np.ascontiguousarray(np.diagonal(dC, axis1=1, axis2=2), dtype=np.float64),
        np.ascontiguousarray(dC[:, idx, idx + 1], dtype=np.float64),
        int(nscore),
    )
    fn = _composite_nb if resolve_backend(backend) == "numba" else _composite_np
    flag, llt, scores, _, _ = fn(*args)
    return flag, llt, scores


# ---------------------------------------------------------------------------------------------
# cDCC diagonal recursion (Aielli 2013): q_ii,t = (1 - a - b) + a q_ii,t-1 z_i,t-1^2 + b q_ii,t-1
# ---------------------------------------------------------------------------------------------


@njit(cache=True, nogil=True)
def _cdcc_diag_nb(z: np.ndarray, a: float, b: float) -> np.ndarray:  # pragma: no cover
    T, N = z.shape
    q = np.empty((T, N))
    for i in range(N):
        q[0, i] = 1.0
    for t in range(1, T):
        for i in range(N):
            q[t, i] = (1.0 - a - b) + a * q[t - 1, i] * z[t - 1, i] * z[t - 1, i] + b * q[t - 1, i]
    return q


def _cdcc_diag_np(z: np.ndarray, a: float, b: float) -> np.ndarray:
    """Numpy twin of :func:`_cdcc_diag_nb` (vectorised over assets)."""
    T, N = z.shape
    q = np.empty((T, N))
    q[0] = 1.0
    z2 = z * z
    for t in range(1, T):
        q[t] = (1.0 - a - b) + a * q[t - 1] * z2[t - 1] + b * q[t - 1]
    return q


def cdcc_diag(z: np.ndarray, a: float, b: float, backend: str = "auto") -> np.ndarray:
    """Diagonal ``q_ii,t`` of the cDCC recursion with unit-diagonal target, ``q_ii,0 = 1``.

    Aielli (2013, Section 3): the diagonal evolves as a univariate recursion that does not
    involve the off-diagonal elements, so ``z*_t = diag(Q_t)^{1/2} z_t`` is known before the
    target is estimated.
    """
    z = np.ascontiguousarray(z, dtype=np.float64)
    fn = _cdcc_diag_nb if resolve_backend(backend) == "numba" else _cdcc_diag_np
    return fn(z, float(a), float(b))
