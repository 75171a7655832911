"""The correlation-stage problem: targets, recursion inputs for each model, the (composite)
log-likelihood with its scores, and the optimiser.

Parameters live in their natural space ``theta = (a, b)`` or ``(a, b, g)``; the optimiser works
on a reparameterisation that makes the stationarity region a box (see :func:`to_free`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.optimize import minimize

from riskmodels.correlation._kernels import cdcc_diag, composite_loglik, full_loglik
from riskmodels.correlation._linalg import adcc_delta, cov2cor
from riskmodels.exceptions import ConvergenceError, NotPositiveDefiniteError

__all__ = ["Evaluation", "Problem", "estimate"]

#: Upper bound of the persistence ``a + b (+ delta g)`` seen by the optimiser.
PERSISTENCE_MAX = 1.0 - 1e-6


@dataclass(frozen=True)
class Evaluation:
    """The correlation stage evaluated at one parameter vector."""

    flag: int
    llt: np.ndarray  # (T,) per-date log-likelihood of the objective (full or composite)
    scores: np.ndarray  # (T, k)
    Q_last: np.ndarray | None = None  # (N, N) full-model Q_{T-1}
    R: np.ndarray | None = None  # (T, N, N)
    target: np.ndarray | None = None  # the target used (cDCC: depends on a, b)


@dataclass
class Problem:
    """Everything the correlation stage needs, independent of how it is optimised.

    Parameters
    ----------
    z : ndarray of shape (T, N)
        Standardized residuals.
    kind : {"dcc", "cdcc", "adcc", "ewma", "ccc"}
    likelihood : {"full", "composite"}
    Qbar : ndarray of shape (N, N) or None
        The target; ``None`` for cDCC, whose target depends on ``(a, b)``.
    Nbar : ndarray of shape (N, N) or None
        The ADCC asymmetry target.
    backend : str
        Kernel backend.
    lam : float
        EWMA smoothing constant (``kind == "ewma"`` only).
    """

    z: np.ndarray
    kind: str
    likelihood: str
    Qbar: np.ndarray | None
    Nbar: np.ndarray | None = None
    backend: str = "auto"
    lam: float = 0.94
    neg: np.ndarray = field(init=False)
    delta: float = field(init=False)

    def __post_init__(self) -> None:
        self.z = np.ascontiguousarray(self.z, dtype=np.float64)
        self.neg = np.minimum(self.z, 0.0) if self.kind == "adcc" else self.z
        if self.kind == "adcc":
            assert self.Qbar is not None and self.Nbar is not None
            self.delta = adcc_delta(self.Qbar, self.Nbar)
        else:
            self.delta = 0.0

    # -- parameters -------------------------------------------------------------------------

    @property
    def param_names(self) -> tuple[str, ...]:
        if self.kind == "adcc":
            return ("a", "b", "g")
        if self.kind in ("dcc", "cdcc"):
            return ("a", "b")
        return ()

    @property
    def k(self) -> int:
        return len(self.param_names)

    def persistence(self, theta: np.ndarray) -> float:
        """``a + b + delta g``: the stationarity condition is that this is < 1."""
        a, b, g = self.abg(theta)
        return a + b + self.delta * g

    def abg(self, theta: np.ndarray) -> tuple[float, float, float]:
        if self.kind == "ewma":
            return 1.0 - self.lam, self.lam, 0.0
        if self.kind == "ccc":
            return 0.0, 0.0, 0.0
        a, b = float(theta[0]), float(theta[1])
        g = float(theta[2]) if self.kind == "adcc" else 0.0
        return a, b, g

    def feasible(self, theta: np.ndarray) -> bool:
        if self.kind in ("ewma", "ccc"):
            return True
        a, b, g = self.abg(theta)
        return min(a, b, g) >= 0.0 and self.persistence(theta) < 1.0

    # -- recursion inputs -------------------------------------------------------------------

    def target_at(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(target, x)``: the target and the vector driving the recursion at ``theta``."""
        if self.kind != "cdcc":
            assert self.Qbar is not None
            return self.Qbar, self.z
        a, b, _ = self.abg(theta)
        q = cdcc_diag(self.z, a, b, self.backend)
        x = np.sqrt(q) * self.z
        S = cov2cor(x.T @ x / x.shape[0])
        return S, x

    def inputs(
        self,
        theta: np.ndarray,
        target: np.ndarray | None = None,
        asym_target: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, float, float, float]:
        """``(x, neg, C, Q0, dC, a, b, g)`` for the kernels; ``target`` and ``asym_target``
        override ``Qbar`` and ``Nbar``."""
        a, b, g = self.abg(theta)
        S, x = self.target_at(theta)
        if target is not None:
            S = target
        N = S.shape[0]
        dC = np.zeros((3, N, N))
        if self.kind == "ewma":
            C = np.zeros((N, N))
        elif self.kind == "ccc":
            C = S.copy()
        else:
            C = (1.0 - a - b) * S
            dC[0] = -S
            dC[1] = -S
            if self.kind == "adcc":
                Nb = self.Nbar if asym_target is None else asym_target
                assert Nb is not None
                C = C - g * Nb
                dC[2] = -Nb
        return x, self.neg, C, S, dC, a, b, g

    # -- evaluation -------------------------------------------------------------------------

    def evaluate(
        self,
        theta: np.ndarray,
        *,
        scores: bool = False,
        likelihood: str | None = None,
        want_path: bool = False,
        target: np.ndarray | None = None,
        asym_target: np.ndarray | None = None,
    ) -> Evaluation:
        """Per-date log-likelihood (and analytic scores for DCC/ADCC) at ``theta``.

        ``target`` overrides the target (used for the derivatives in the two-step standard
        errors). For cDCC the scores are central differences (see :meth:`numerical_scores`).
        """
        lik = likelihood or self.likelihood
        theta = np.asarray(theta, dtype=float)
        if scores and self.kind == "cdcc":
            ev = self.evaluate(theta, likelihood=lik, want_path=want_path, target=target)
            if ev.flag:
                return ev
            return Evaluation(
                ev.flag,
                ev.llt,
                self.numerical_scores(theta, likelihood=lik, target=target),
                ev.Q_last,
                ev.R,
                ev.target,
            )
        x, neg, C, Q0, dC, a, b, g = self.inputs(theta, target, asym_target)
        nscore = self.k if scores else 0
        if lik == "composite" and not want_path:
            flag, llt, sc = composite_loglik(
                self.z, x, neg, C, Q0, a, b, g, dC, nscore, self.backend
            )
            return Evaluation(flag, llt, sc, None, None, Q0)
        flag, llt, sc, Q_last, R = full_loglik(
            self.z, x, neg, C, Q0, a, b, g, dC, nscore, want_path, self.backend
        )
        if lik == "composite":  # path requested: full recursion for R, composite for llt
            flag2, llt, sc = composite_loglik(
                self.z, x, neg, C, Q0, a, b, g, dC, nscore, self.backend
            )
            flag = flag or flag2
        return Evaluation(flag, llt, sc, Q_last, R if want_path else None, Q0)

    def numerical_scores(
        self,
        theta: np.ndarray,
        *,
        likelihood: str | None = None,
        target: np.ndarray | None = None,
        step: float = 1e-6,
    ) -> np.ndarray:
        """Per-date scores by central differences (one-sided at the boundary)."""
        theta = np.asarray(theta, dtype=float)
        T = self.z.shape[0]
        out = np.empty((T, self.k))
        base = None
        for j in range(self.k):
            e = np.zeros(self.k)
            e[j] = step
            up, dn = theta + e, theta - e
            f_up = self.feasible(up)
            f_dn = self.feasible(dn)
            if not (f_up or f_dn):  # a corner of the region: no feasible direction
                out[:, j] = 0.0
                continue
            if not (f_up and f_dn) and base is None:
                base = self.evaluate(theta, likelihood=likelihood, target=target).llt
            lu = self.evaluate(up, likelihood=likelihood, target=target).llt if f_up else base
            ld = self.evaluate(dn, likelihood=likelihood, target=target).llt if f_dn else base
            assert lu is not None and ld is not None  # base is set when one side is infeasible
            out[:, j] = (lu - ld) / (step * (int(f_up) + int(f_dn)))
        return out

    def hessian(self, theta: np.ndarray, *, likelihood: str | None = None) -> np.ndarray:
        """Hessian of the summed objective at ``theta``.

        Composite DCC/ADCC: central differences of the summed analytic scores. Full likelihood
        and cDCC: central second differences of the log-likelihood (``1 + 2k + 2k(k-1)``
        evaluations without scores, cheaper than ``2k`` evaluations with scores at large N).
        The stencil is moved inside the stationarity region when ``theta`` is near its edge.
        """
        lik = likelihood or self.likelihood
        theta = np.asarray(theta, dtype=float)
        k = self.k
        H = np.empty((k, k))
        if lik == "composite" and self.kind != "cdcc":
            h = 1e-5
            c = self._inside(theta, h)
            for j in range(k):
                e = np.zeros(k)
                e[j] = h
                gu = self.evaluate(c + e, scores=True, likelihood=lik).scores.sum(0)
                gd = self.evaluate(c - e, scores=True, likelihood=lik).scores.sum(0)
                H[:, j] = (gu - gd) / (2 * h)
            return 0.5 * (H + H.T)
        h = 1e-4
        c = self._inside(theta, h)

        def f(t: np.ndarray) -> float:
            return float(self.evaluate(t, likelihood=lik).llt.sum())

        f0 = f(c)
        for j in range(k):
            ej = np.zeros(k)
            ej[j] = h
            H[j, j] = (f(c + ej) - 2 * f0 + f(c - ej)) / h**2
            for i in range(j):
                ei = np.zeros(k)
                ei[i] = h
                H[i, j] = H[j, i] = (
                    f(c + ei + ej) - f(c + ei - ej) - f(c - ei + ej) + f(c - ei - ej)
                ) / (4 * h * h)
        return H

    def _inside(self, theta: np.ndarray, h: float) -> np.ndarray:
        """``theta`` moved so that a stencil of half-width ``2 h`` stays stationary."""
        c = np.maximum(theta, 2 * h)
        while self.persistence(c) + 4 * h * (1.0 + self.delta) >= 1.0:
            c[1] -= h
        return c


# ---------------------------------------------------------------------------------------------
# Reparameterisation: a box in the free space maps onto the stationarity region
# ---------------------------------------------------------------------------------------------


def to_natural(u: np.ndarray, delta: float) -> np.ndarray:
    """Map free ``u`` to ``(a, b)`` or ``(a, b, g)``.

    DCC: ``p = u0`` is the persistence ``a + b`` and ``u1`` the share of ``a``:
    ``a = p u1, b = p (1 - u1)``. ADCC (stick breaking): ``a = p u1``, ``delta g = p (1 - u1)
    u2``, ``b = p (1 - u1)(1 - u2)``. The box ``[0, 1 - 1e-6] x [0, 1]^k`` is then exactly the
    closed stationarity region.
    """
    p, s = u[0], u[1]
    if len(u) == 2:
        return np.array([p * s, p * (1.0 - s)])
    r = u[2]
    return np.array([p * s, p * (1.0 - s) * (1.0 - r), p * (1.0 - s) * r / delta])


def to_free(theta: np.ndarray, delta: float) -> np.ndarray:
    """Inverse of :func:`to_natural`."""
    a, b = theta[0], theta[1]
    if len(theta) == 2:
        p = a + b
        return np.array([p, a / p if p > 0 else 0.5])
    dg = delta * theta[2]
    p = a + b + dg
    s = a / p if p > 0 else 0.5
    rest = b + dg
    return np.array([p, s, dg / rest if rest > 0 else 0.5])


def jacobian(u: np.ndarray, delta: float) -> np.ndarray:
    """``d theta / d u`` of :func:`to_natural`."""
    p, s = u[0], u[1]
    if len(u) == 2:
        return np.array([[s, p], [1.0 - s, -p]])
    r = u[2]
    return np.array(
        [
            [s, p, 0.0],
            [(1 - s) * (1 - r), -p * (1 - r), -p * (1 - s)],
            [(1 - s) * r / delta, -p * r / delta, p * (1 - s) / delta],
        ]
    )


# ---------------------------------------------------------------------------------------------
# Estimation
# ---------------------------------------------------------------------------------------------

_GRID_A = (0.01, 0.03, 0.06, 0.12)
_GRID_B = (0.80, 0.90, 0.95, 0.98)


@dataclass(frozen=True)
class OptimizerReport:
    """What the optimiser did (kept in the result)."""

    method: str
    converged: bool
    message: str
    nit: int
    nfev: int
    stages: tuple[str, ...]
    start: tuple[float, ...]
    hessian: np.ndarray | None = None  # of L at the optimum, when the optimiser has one

    def as_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "converged": self.converged,
            "message": self.message,
            "nit": self.nit,
            "nfev": self.nfev,
            "stages": self.stages,
            "start": self.start,
        }


def _start_grid(problem: Problem) -> np.ndarray:
    """Best point of a small grid, scored with the (cheap) composite likelihood."""
    best, best_val = None, -np.inf
    lik = "composite" if problem.z.shape[1] > 2 else "full"
    for a in _GRID_A:
        for b in _GRID_B:
            if a + b >= 0.995:
                continue
            theta = np.array([a, b]) if problem.kind != "adcc" else None
            if problem.kind == "adcc":
                g = min(0.02, 0.5 * (0.995 - a - b) / max(problem.delta, 1e-12))
                theta = np.array([a, b, g])
            assert theta is not None
            if not problem.feasible(theta) or problem.persistence(theta) >= 0.995:
                continue
            ev = problem.evaluate(theta, likelihood=lik)
            if ev.flag:
                continue
            val = float(ev.llt.sum())
            if val > best_val:
                best, best_val = theta, val
    if best is None:  # pragma: no cover - the grid always holds a feasible point
        best = np.array([0.02, 0.9] + ([0.0] if problem.kind == "adcc" else []))
    return best


def _optimise(
    problem: Problem, start: np.ndarray, likelihood: str, options: dict[str, Any]
) -> tuple[np.ndarray, Any]:
    T = problem.z.shape[0]
    delta = problem.delta if problem.kind == "adcc" else 1.0
    analytic = problem.kind != "cdcc"
    counter = {"nfev": 0}

    def fun(u: np.ndarray) -> tuple[float, np.ndarray]:
        counter["nfev"] += 1
        theta = to_natural(u, delta)
        if analytic:
            ev = problem.evaluate(theta, scores=True, likelihood=likelihood)
            if ev.flag or not np.isfinite(ev.llt).all():
                return 1e6, np.zeros_like(u)
            g = ev.scores.sum(axis=0)
        else:
            ev = problem.evaluate(theta, likelihood=likelihood)
            if ev.flag or not np.isfinite(ev.llt).all():
                return 1e6, np.zeros_like(u)
            g = problem.numerical_scores(theta, likelihood=likelihood).sum(axis=0)
        val = -float(ev.llt.sum()) / T
        grad = -(jacobian(u, delta).T @ g) / T
        return val, grad

    u0 = to_free(start, delta)
    u0 = np.clip(u0, 1e-6, [PERSISTENCE_MAX - 1e-6] + [1 - 1e-6] * (len(u0) - 1))
    bounds = [(0.0, PERSISTENCE_MAX)] + [(0.0, 1.0)] * (len(u0) - 1)
    opts = {"maxiter": 500, "ftol": 1e-13, "gtol": 1e-7}
    opts.update(options)
    res = minimize(fun, u0, jac=True, method="L-BFGS-B", bounds=bounds, options=opts)
    res.nfev_total = counter["nfev"]
    return to_natural(res.x, delta), res


def _fd_newton(
    problem: Problem, start: np.ndarray, likelihood: str, *, max_iter: int = 30, tol: float = 1e-11
) -> tuple[np.ndarray, dict[str, Any]]:
    """Projected Newton search in the free space with a finite-difference gradient and Hessian
    built from log-likelihood values only.

    One iteration costs ``1 + 2k + k(k-1)/2`` evaluations of the likelihood without scores,
    which for the full likelihood is several times cheaper than one evaluation with analytic
    scores (the scores need ``Q_t^{-1}`` at every date); from the composite optimum Newton
    converges in a few iterations where a quasi-Newton method needs a dozen.
    """
    T = problem.z.shape[0]
    delta = problem.delta if problem.kind == "adcc" else 1.0
    k = len(start)
    lo = np.zeros(k)
    hi = np.array([PERSISTENCE_MAX] + [1.0] * (k - 1))
    h = 5e-5
    nfev = 0

    def f(u: np.ndarray) -> float:
        nonlocal nfev
        nfev += 1
        ev = problem.evaluate(to_natural(u, delta), likelihood=likelihood)
        if ev.flag or not np.isfinite(ev.llt).all():
            return np.inf
        return -float(ev.llt.sum()) / T

    u = np.clip(to_free(start, delta), lo, hi)
    fu = f(u)
    converged = False
    message = "maximum number of iterations reached"
    it = 0
    for it in range(1, max_iter + 1):  # noqa: B007 - reported
        # stencil centre inside the box; gradient transported back to u by the Hessian
        c = np.clip(u, lo + 2 * h, hi - 2 * h)
        fc = fu if np.array_equal(c, u) else f(c)
        fp = np.empty(k)
        fm = np.empty(k)
        for j in range(k):
            e = np.zeros(k)
            e[j] = h
            fp[j] = f(c + e)
            fm[j] = f(c - e)
        g = (fp - fm) / (2 * h)
        H = np.diag((fp - 2 * fc + fm) / h**2)
        for i in range(k):
            for j in range(i):
                e = np.zeros(k)
                e[i] = e[j] = h
                fij = f(c + e)
                H[i, j] = H[j, i] = (fij - fp[i] - fp[j] + fc) / h**2
        if not np.all(np.isfinite(H)) or not np.isfinite(fc):
            message = "non-finite likelihood near the iterate"
            break
        g = g + H @ (u - c)
        # active set: variables on a bound whose gradient pushes outwards stay fixed
        free = ~(((u <= lo) & (g > 0)) | ((u >= hi) & (g < 0)))
        step = np.zeros(k)
        if free.any():
            Hf = H[np.ix_(free, free)]
            try:
                np.linalg.cholesky(Hf)
                step[free] = -np.linalg.solve(Hf, g[free])
            except np.linalg.LinAlgError:
                step[free] = -g[free] / max(np.abs(np.diag(Hf)).max(), 1e-3)
        # Newton decrement (predicted decrease of f = -L / T); 1e-11 is ~2e-8 in L at T = 2000
        decrement = -float(g @ step)
        if decrement < tol and np.max(np.abs(step)) < 1e-4:
            converged = True
            message = "Newton decrement below tolerance"
            break
        # backtracking on the projected path
        t = 1.0
        accepted = False
        while t > 1e-6:
            u_new = np.clip(u + t * step, lo, hi)
            f_new = f(u_new)
            if f_new <= fu:
                accepted = True
                break
            t *= 0.5
        if not accepted:
            pg = np.where(free, g, 0.0)
            converged = np.max(np.abs(pg)) < 1e-6
            message = "line search found no decrease" + (
                " at a stationary point" if converged else ""
            )
            break
        moved = np.max(np.abs(u_new - u))
        u, fu = u_new, f_new
        if moved < 1e-10:
            converged = True
            message = "step below tolerance"
            break
        if t == 1.0 and decrement < 1e3 * tol and free.all():
            # a full Newton step from a point this close: the remaining decrement is of the
            # order of decrement^2 (quadratic convergence)
            converged = True
            message = "full Newton step with a small decrement"
            break
    H_out = None
    if converged and free.all() and np.all(np.isfinite(H)):
        # Hessian of L (not -L / T) in the natural parameters at the optimum, from the last
        # stencil: d2L/dtheta2 = -T J^{-T} H_u J^{-1} (the gradient term vanishes there)
        J = jacobian(u, delta)
        if np.linalg.cond(J) < 1e8:
            Ji = np.linalg.inv(J)
            H_out = -T * (Ji.T @ H @ Ji)
            H_out = 0.5 * (H_out + H_out.T)
    return to_natural(u, delta), {
        "converged": converged,
        "message": message,
        "nit": it,
        "nfev": nfev,
        "hessian": H_out,
    }


def estimate(
    problem: Problem,
    *,
    starting_values: np.ndarray | None = None,
    options: dict[str, Any] | None = None,
    model_name: str = "DCC",
) -> tuple[np.ndarray, OptimizerReport]:
    """Maximise the correlation-stage (composite) log-likelihood.

    The start is the best point of a small grid scored by the composite likelihood (or
    ``starting_values``). The composite likelihood is maximised by L-BFGS-B with analytic
    scores (finite differences for cDCC). For ``likelihood="full"`` its optimum starts a
    finite-difference projected Newton search on the full likelihood (:func:`_fd_newton`);
    L-BFGS-B takes over if Newton does not converge.

    Raises
    ------
    ConvergenceError
        When the optimiser reports failure.
    """
    options = dict(options or {})
    stages: list[str] = []
    if starting_values is not None:
        start = np.asarray(starting_values, dtype=float)
    else:
        start = _start_grid(problem)
    start_t = tuple(float(v) for v in start)
    nit = nfev = 0
    theta = start
    ok = False
    message = ""
    method = "L-BFGS-B"
    hessian = None
    multi = problem.z.shape[1] > 2
    if multi and (problem.likelihood == "composite" or starting_values is None):
        theta, res = _optimise(problem, start, "composite", options)
        stages.append("composite")
        nit += int(res.nit)
        nfev += int(res.nfev_total)
        ok = bool(res.success)
        message = str(res.message)
    if problem.likelihood == "full" or not multi:
        theta_n, info = _fd_newton(problem, theta, "full")
        stages.append("full:newton")
        nit += int(info["nit"])
        nfev += int(info["nfev"])
        ok, message, method = bool(info["converged"]), str(info["message"]), "newton"
        theta = theta_n
        hessian = info["hessian"]
        if not ok:
            theta, res = _optimise(problem, theta_n, "full", options)
            stages.append("full:L-BFGS-B")
            nit += int(res.nit)
            nfev += int(res.nfev_total)
            ok, message, method = bool(res.success), str(res.message), "L-BFGS-B"
            hessian = None
    ok = ok and problem.feasible(theta)
    report = OptimizerReport(
        method=method,
        converged=ok,
        message=message,
        nit=nit,
        nfev=nfev,
        stages=tuple(stages),
        start=start_t,
        hessian=hessian,
    )
    if not ok:
        raise ConvergenceError(
            f"{model_name} correlation stage did not converge: the optimiser stopped with "
            f"{message!r} at {dict(zip(problem.param_names, np.round(theta, 6), strict=True))}. "
            "Try other starting_values or options={'maxiter': ...}; check the standardized "
            "residuals for outliers."
        )
    return theta, report


def check_pd(S: np.ndarray, what: str) -> None:
    """Raise NotPositiveDefiniteError unless ``S`` is positive definite."""
    try:
        np.linalg.cholesky(S)
    except np.linalg.LinAlgError:
        lam = float(np.linalg.eigvalsh(S)[0])
        raise NotPositiveDefiniteError(
            f"{what} is not positive definite (smallest eigenvalue {lam:.3g}). Use "
            "repair='nearest' (Higham nearest correlation) or repair='clip' to repair it; the "
            "repair is reported in the result."
        ) from None
