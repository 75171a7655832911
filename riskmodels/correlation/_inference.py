r"""Two-step standard errors of the correlation parameters.

The estimator is a stack of estimating equations (Newey and McFadden 1994, Section 6;
Engle and Sheppard 2001, Section 4):

* stage 1: the score of each asset's univariate log-likelihood ``s_{i,t}(phi_i)`` and, for a
  sample target, the moments ``m_t = vech(z_t z_t') - vech(Qbar)`` (ADCC adds
  ``vech(n_t n_t') - vech(Nbar)``, centred at the mean of ``n`` for ``asymmetry="centred"``);
* stage 2: the correlation scores ``g_t(psi; phi, Qbar, Nbar)`` of the maximised objective.

With ``A11 = d sum g1 / d theta1`` (block lower triangular), ``A21 = d sum g2 / d theta1`` and
``A22 = d sum g2 / d psi`` (the Hessian),

.. math::

    \hat\psi - \psi \approx -A_{22}^{-1} \sum_t e_t, \qquad
    e_t = g_t - A_{21} A_{11}^{-1} g1_t, \qquad
    V = A_{22}^{-1} \Big(\sum_t e_t e_t'\Big) A_{22}^{-1}.

Univariate scores and Hessians are central differences of the per-date log-likelihood of
``VolatilityResult``'s ``spec.fix`` at perturbed parameters; ``A21`` is a central difference
of the analytic correlation scores. The cost is ``O(k_i^2)`` univariate evaluations per asset
plus ``O(N^2)`` correlation-score evaluations for the full likelihood's target (``O(N)`` for
composite likelihood, which only uses the first off-diagonal). cDCC is not covered: its target
is a function of ``(a, b)`` and its estimator a profile, which this stack does not describe.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from riskmodels.correlation._likelihood import Problem
from riskmodels.correlation._univariate import univariate_llt
from riskmodels.exceptions import ConfigError, ModelError

if TYPE_CHECKING:  # pragma: no cover
    from riskmodels.correlation.results import DCCResult

__all__ = ["two_step_cov"]


def _fitted_returns(vres: Any) -> pd.Series:
    """The decimal returns a volatility model was fitted on: ``resid + mu``."""
    mu = float(vres.params["mu"]) / 100.0 if "mu" in vres.params.index else 0.0
    return (vres.resid + mu).rename(vres.asset if hasattr(vres, "asset") else None)


def _vech_pairs(N: int, composite: bool) -> list[tuple[int, int]]:
    if composite:
        return [(i, i) for i in range(N)] + [(i, i + 1) for i in range(N - 1)]
    return [(i, j) for i in range(N) for j in range(i + 1)]


def two_step_cov(res: DCCResult) -> np.ndarray:
    """Two-step (Newey-McFadden) covariance of ``(a, b[, g])`` for a fitted DCC/ADCC."""
    pb: Problem = res._problem
    if pb.kind == "cdcc":
        raise ModelError(
            "cov_params('two-step') is not available for cDCC: its target depends on (a, b). "
            "Use cov_params('robust')."
        )
    if not res.estimated or res._scores is None or res._hessian is None:
        raise ModelError(
            "two-step standard errors need estimated parameters (this result is from fix())."
        )
    if res.params_at_bounds:
        raise ModelError(
            f"two-step standard errors are not defined with parameters at a bound "
            f"({', '.join(res.params_at_bounds)})."
        )
    theta = res._theta()
    lik = pb.likelihood
    composite = lik == "composite"
    assets = list(res.assets)
    N = len(assets)
    sample = res.index
    z0 = res.std_resid.to_numpy()
    Qbar = res.target.to_numpy()
    Nbar = None if res.asymmetry_target is None else res.asymmetry_target.to_numpy()
    adcc = pb.kind == "adcc"
    centred = getattr(res.spec, "asymmetry", "uncentred") == "centred"

    def g2_sum(z: np.ndarray, target: np.ndarray, nbar: np.ndarray | None) -> np.ndarray:
        p = Problem(z, pb.kind, lik, target, nbar, backend=pb.backend)
        ev = p.evaluate(theta, scores=True)
        if ev.flag:
            raise ModelError("two-step standard errors: Q_t not positive definite at a step.")
        return ev.scores.sum(axis=0)

    # --- dates: the union of the univariate samples and the common sample ------------------
    index = sample
    vols = res.volatility or {}
    for a in assets:
        if a in vols:
            index = index.union(vols[a].index)
    pos_sample = index.get_indexer(sample)
    T_all = len(index)

    g1_cols: list[np.ndarray] = []  # (T_all,) each
    A21_cols: list[np.ndarray] = []  # (k,) each
    hess_blocks: list[np.ndarray] = []
    # d sum m / d phi  for the target moments, one column per univariate parameter
    pairs = _vech_pairs(N, composite)
    m_rows: list[np.ndarray] = []

    def moments(z: np.ndarray) -> np.ndarray:
        """Per-date target moments over the common sample, (T, n_moments)."""
        cols = [z[:, i] * z[:, j] for i, j in pairs]
        if adcc:
            n = np.minimum(z, 0.0)
            if centred:
                n = n - n.mean(axis=0)
            cols += [n[:, i] * n[:, j] for i, j in pairs]
        return np.column_stack(cols)

    use_target = res.target_source == "sample"
    for a in assets:
        vres = vols.get(a)
        if vres is None or len(vres.params) == 0:
            continue
        col = assets.index(a)
        r = _fitted_returns(vres)
        phi = vres.params.to_numpy(dtype=float)
        kk = len(phi)
        steps = 1e-4 * np.maximum(np.abs(phi), 1e-2)
        pos_a = index.get_indexer(vres.index)

        def at(
            params: np.ndarray, vres: Any = vres, r: Any = r
        ) -> tuple[np.ndarray, np.ndarray] | None:
            try:
                fx = vres.spec.fix(r, pd.Series(params, index=vres.params.index))
            except ConfigError:
                return None
            return fx.std_resid.reindex(sample).to_numpy(), univariate_llt(fx).to_numpy()

        base_llt = univariate_llt(vres).to_numpy()
        f0 = base_llt.sum()
        plus: list[Any] = []
        minus: list[Any] = []
        for j in range(kk):
            e = np.zeros(kk)
            e[j] = steps[j]
            plus.append(at(phi + e))
            minus.append(at(phi - e))
            if plus[j] is None and minus[j] is None:
                raise ModelError(
                    f"two-step standard errors: {a}'s parameter {vres.params.index[j]} cannot be "
                    "perturbed inside the model's constraints."
                )
        H = np.empty((kk, kk))
        for j in range(kk):
            up, dn = plus[j], minus[j]
            w = steps[j] * ((up is not None) + (dn is not None))
            zu, lu = up if up is not None else (z0[:, col], base_llt)
            zd, ld = dn if dn is not None else (z0[:, col], base_llt)
            score = np.zeros(T_all)
            score[pos_a] = (lu - ld) / w
            g1_cols.append(score)
            # cross derivative of the correlation scores (targets held fixed)
            zpu, zpd = z0.copy(), z0.copy()
            zpu[:, col], zpd[:, col] = zu, zd
            A21_cols.append((g2_sum(zpu, Qbar, Nbar) - g2_sum(zpd, Qbar, Nbar)) / w)
            if use_target:
                m_rows.append((moments(zpu).sum(axis=0) - moments(zpd).sum(axis=0)) / w)
            # Hessian of the univariate log-likelihood: second differences
            if up is not None and dn is not None:
                H[j, j] = (lu.sum() - 2 * f0 + ld.sum()) / steps[j] ** 2
            else:
                H[j, j] = np.nan
            for i in range(j):
                vals = []
                for si, sj in ((1, 1), (1, -1), (-1, 1), (-1, -1)):
                    e = np.zeros(kk)
                    e[i] = si * steps[i]
                    e[j] = sj * steps[j]
                    out = at(phi + e)
                    vals.append(np.nan if out is None else out[1].sum())
                H[i, j] = H[j, i] = (vals[0] - vals[1] - vals[2] + vals[3]) / (
                    4 * steps[i] * steps[j]
                )
        if not np.all(np.isfinite(H)):
            raise ModelError(
                f"two-step standard errors: the Hessian of {a}'s univariate model could not be "
                "evaluated (parameters at a constraint)."
            )
        hess_blocks.append(H)

    n_phi = len(g1_cols)
    # --- target moments ---------------------------------------------------------------------
    n_tau = 0
    if use_target:
        M = moments(z0)
        tau = M.mean(axis=0)
        n_tau = M.shape[1]
        for c in range(n_tau):
            g_tau = np.zeros(T_all)
            g_tau[pos_sample] = M[:, c] - tau[c]
            g1_cols.append(g_tau)
        h = 1e-5
        n_q = len(pairs)
        for c in range(n_tau):
            i, j = pairs[c % n_q]
            E = np.zeros((N, N))
            E[i, j] = E[j, i] = h
            if c < n_q:
                d = g2_sum(z0, Qbar + E, Nbar) - g2_sum(z0, Qbar - E, Nbar)
            else:
                assert Nbar is not None
                d = g2_sum(z0, Qbar, Nbar + E) - g2_sum(z0, Qbar, Nbar - E)
            A21_cols.append(d / (2 * h))
    n1 = n_phi + n_tau
    if n1 == 0:
        S = res._scores
        Hinv = np.linalg.inv(res._hessian)
        return Hinv @ (S.T @ S) @ Hinv
    A11 = np.zeros((n1, n1))
    o = 0
    for H in hess_blocks:
        kk = H.shape[0]
        A11[o : o + kk, o : o + kk] = H
        o += kk
    if n_tau:
        A11[n_phi:, n_phi:] = -len(sample) * np.eye(n_tau)
        if n_phi:
            A11[n_phi:, :n_phi] = np.column_stack(m_rows)
    A21 = np.column_stack(A21_cols)  # (k, n1)
    G1 = np.column_stack(g1_cols)  # (T_all, n1)
    G2 = np.zeros((T_all, pb.k))
    G2[pos_sample] = res._scores
    E = G2 - G1 @ np.linalg.solve(A11.T, A21.T)
    A22inv = np.linalg.inv(res._hessian)
    V = A22inv @ (E.T @ E) @ A22inv
    return 0.5 * (V + V.T)
