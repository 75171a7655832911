r"""Reverse stress tests: the smallest move that makes an account or a book insolvent.

Two questions, both on the exact (full-revaluation) equity of the instruments module:

* **Along a direction** :math:`d` (log returns per asset): the smallest :math:`t \ge 0` with
  :math:`E(t d) - T(t d) \le 0`, where :math:`T` is 0 (insolvency) or the maintenance margin of
  a margin model at the moved prices. A geometric grid brackets the first crossing, then
  :func:`scipy.optimize.brentq` solves it.
* **The most likely move** under a covariance :math:`\Sigma` (a DCC forecast, a given matrix,
  or the sample covariance of returns):

  .. math::

      z^* = \arg\min_z\ z^\top \Sigma^{-1} z \quad \text{s.t.}\quad E(z) - T(z) \le 0,

  solved with SLSQP from the first-order solution :math:`z_0 = -E_0\,\Sigma g / (g^\top\Sigma
  g)` (:math:`g` the gradient of the margin excess at 0: the point of the linearized insolvency
  hyperplane nearest in Mahalanobis distance). :math:`\sqrt{z^{*\top}\Sigma^{-1}z^*}` is the
  move's size in standard deviations; for a linear book and Gaussian moves,
  :math:`1 - \Phi(d)` is the probability of crossing the hyperplane (Breuer, Jandačka, Rheinberger
  & Summer 2009, "How to find plausible, severe, and useful stress scenarios", *Int. J. Central
  Banking* 5(3), the "maximum loss over a Mahalanobis ellipsoid" dual).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy.optimize import brentq, minimize

from riskmodels._display import html_table, table_html
from riskmodels.exceptions import (
    ConfigError,
    ConvergenceError,
    ModelError,
    NotPositiveDefiniteError,
)
from riskmodels.scenarios.base import Scenarios

__all__ = ["ReverseStressResult", "reverse_stress"]


@dataclass(frozen=True, kw_only=True)
class ReverseStressResult:
    """The smallest insolvency move.

    Attributes
    ----------
    method : str
        ``"direction"`` or ``"most_likely"``.
    move : Series
        Log return per asset of the move found (inf entries when none was found).
    t : float
        Scale along the direction (``"direction"``), or the Mahalanobis size (``"most_likely"``);
        inf when no move within the search range makes the target insolvent.
    excess : float
        Margin excess :math:`E - T` at the move (about 0; positive at t = 0 means solvent).
    threshold : str
        ``"equity"`` (insolvency, :math:`E \\le 0`) or ``"maintenance"`` (:math:`E \\le MM`).
    found : bool
    mahalanobis : float or None
        :math:`\\sqrt{z^\\top\\Sigma^{-1}z}` when a covariance was given.
    details : dict
    """

    method: str
    move: pd.Series
    t: float
    excess: float
    threshold: str
    found: bool
    mahalanobis: float | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def simple_move(self) -> pd.Series:
        """The move as simple returns (``exp(z) - 1``)."""
        return np.expm1(self.move)

    def _repr_html_(self) -> str:
        head = [
            ("method", self.method),
            ("threshold", self.threshold),
            ("found", str(self.found)),
            ("t", f"{self.t:.6g}"),
            ("Mahalanobis", "-" if self.mahalanobis is None else f"{self.mahalanobis:.4g}"),
        ]
        move = self.simple_move().to_frame("simple move")
        return html_table(head) + table_html(move, {"simple move": "pct"})


def _moved_market(market: Any, assets: tuple[str, ...], z: np.ndarray) -> Any:
    g = dict(zip(assets, np.exp(z), strict=True))
    prices = {a: p * g.get(a, 1.0) for a, p in market.prices.items()}
    fwd = {k: f * g.get(k[0], 1.0) for k, f in market.forwards.items()}
    return dataclasses.replace(market, prices=prices, forwards=fwd)


def _excess_fn(
    target: Any, margin: Any, aggregate: str
) -> tuple[tuple[str, ...], Callable[[np.ndarray], np.ndarray]]:
    """Assets and the vectorized margin excess ``f(Z) -> (S,)`` for moves Z of shape (S, N)."""
    from riskmodels.instruments import Account, Book
    from riskmodels.instruments.market import STABLECOINS

    if isinstance(target, Account):
        assets = tuple(
            sorted(
                ({p.asset for p in target.positions} | set(target.collateral)) - set(STABLECOINS)
            )
        )
        if not target.positions:
            raise ConfigError(
                "the account has no positions: nothing can make it insolvent through prices."
            )
        if margin is None:

            def f(z: np.ndarray) -> np.ndarray:
                sc = Scenarios(returns=z, assets=assets, horizon="1D")
                return target.equity_under(sc)

        else:

            def f(z: np.ndarray) -> np.ndarray:
                out = np.empty(z.shape[0])
                for s, row in enumerate(z):
                    acc = dataclasses.replace(
                        target, prices=_moved_market(target.prices, assets, row)
                    )
                    out[s] = acc.equity - margin.margin(acc).maintenance
                return out

        return assets, f
    if isinstance(target, Book):
        if margin is not None:
            raise ConfigError(
                "margin with a Book is not supported: pass margin=None (insolvency) or reverse "
                "stress the accounts one by one."
            )
        assets = tuple(a for a in target.assets if a not in STABLECOINS)
        if not np.any(target.exposures != 0) and not target.series:
            raise ConfigError("the book has no positions: nothing can make it insolvent.")
        if aggregate not in ("sum", "any"):
            raise ConfigError(f"aggregate must be 'sum' or 'any' (got {aggregate!r}).")

        def fb(z: np.ndarray) -> np.ndarray:
            e = target.equity_under(Scenarios(returns=z, assets=assets, horizon="1D"))
            return e.sum(axis=1) if aggregate == "sum" else e.min(axis=1)

        return assets, fb
    raise ConfigError(
        f"target must be a riskmodels.instruments Account or Book (got {type(target).__name__})."
    )


def _vector(x: Any, assets: tuple[str, ...], name: str) -> np.ndarray:
    if isinstance(x, Mapping | pd.Series):
        extra = [a for a in dict(x) if a not in assets]
        if extra:
            raise ConfigError(f"{name} names assets {extra} not held by the target {list(assets)}.")
        v = np.array([float(dict(x).get(a, 0.0)) for a in assets])
    else:
        v = np.asarray(x, dtype="float64").reshape(-1)
        if v.shape != (len(assets),):
            raise ConfigError(
                f"{name} must have one entry per asset {list(assets)} (got shape {v.shape})."
            )
    if not np.isfinite(v).all():
        raise ConfigError(f"{name} must be finite (got {v.tolist()!r}).")
    return v


def _covariance(model: Any, assets: tuple[str, ...], horizon: int) -> np.ndarray:
    if hasattr(model, "forecast") and hasattr(model, "assets"):
        fc = model.forecast(horizon)
        cov = fc.cumulative_covariance()
    elif isinstance(model, pd.DataFrame):
        if list(model.index) == list(model.columns):
            cov = model
        else:
            cov = model.dropna().cov()
    else:
        c = np.asarray(model, dtype="float64")
        if c.shape != (len(assets), len(assets)):
            raise ConfigError(
                f"model as an array must be the {len(assets)}x{len(assets)} covariance of "
                f"{list(assets)} (got shape {c.shape})."
            )
        return c
    missing = [a for a in assets if a not in cov.index]
    if missing:
        raise ConfigError(f"the model's covariance lacks assets {missing} held by the target.")
    return cov.loc[list(assets), list(assets)].to_numpy(dtype="float64")


def reverse_stress(
    target: Any,
    direction: Any = None,
    *,
    model: Any = None,
    margin: Any = None,
    aggregate: Literal["sum", "any"] = "sum",
    horizon: int = 1,
    t_max: float = 5.0,
    xtol: float = 1e-12,
) -> ReverseStressResult:
    """Smallest move (along ``direction``, or the most likely under ``model``) to insolvency.

    Parameters
    ----------
    target : Account or Book
        A Book is insolvent when its total equity (``aggregate="sum"``) or its weakest
        account's (``"any"``) reaches the threshold.
    direction : mapping asset -> float or array, optional
        Log-return direction; the move is ``t × direction``. Give either this or ``model``.
    model : CorrelationResult, DataFrame or ndarray, optional
        Covariance of log returns: a fitted DCC/CCC result (its ``horizon``-step cumulative
        forecast covariance), a covariance DataFrame (index = columns = assets), a returns
        DataFrame (sample covariance), or an N × N array in the target's asset order (sorted).
    margin : margin model, optional
        ``CrossMargin``/``PortfolioMargin``... : threshold = its maintenance at the moved prices
        (accounts only). Default: insolvency (equity <= 0).
    aggregate : {"sum", "any"}
    horizon : int
        Forecast steps for a correlation model.
    t_max : float
        Search range: the largest log move of any asset (5 = a price × e^±5).
    xtol : float
        brentq tolerance on t.

    Returns
    -------
    ReverseStressResult

    Raises
    ------
    ConfigError
        Neither or both of ``direction`` and ``model``; a zero direction; shapes or assets
        that do not match; a target without positions.
    NotPositiveDefiniteError
        A covariance that is not positive definite.
    ModelError
        A target with no first-order exposure (most-likely search cannot start).
    ConvergenceError
        SLSQP failed.
    """
    if (direction is None) == (model is None):
        raise ConfigError(
            "give exactly one of direction (a log-return direction per asset) and model (a "
            "covariance source for the most likely move)."
        )
    assets, f = _excess_fn(target, margin, aggregate)
    thr = "equity" if margin is None else "maintenance"
    n = len(assets)
    e0 = float(f(np.zeros((1, n)))[0])
    if direction is not None:
        d = _vector(direction, assets, "direction")
        if not np.any(d != 0):
            raise ConfigError("direction is all zeros: give a non-zero log-return direction.")
        if e0 <= 0:
            return ReverseStressResult(
                method="direction",
                move=pd.Series(0.0 * d, index=list(assets)),
                t=0.0,
                excess=e0,
                threshold=thr,
                found=True,
            )
        t_hi = t_max / float(np.max(np.abs(d)))
        grid = np.geomspace(1e-6 * t_hi, t_hi, 200)
        vals = f(grid[:, None] * d[None, :])
        below = np.flatnonzero(vals <= 0)
        if below.size == 0:
            return ReverseStressResult(
                method="direction",
                move=pd.Series(
                    np.where(d > 0, np.inf, np.where(d < 0, -np.inf, 0.0)), index=list(assets)
                ),
                t=math.inf,
                excess=float(vals[-1]),
                threshold=thr,
                found=False,
                details={"t_max": t_hi},
            )
        i = int(below[0])
        lo = 0.0 if i == 0 else float(grid[i - 1])
        t = brentq(lambda s: float(f(np.array([s * d]))[0]), lo, float(grid[i]), xtol=xtol)
        z = t * d
        return ReverseStressResult(
            method="direction",
            move=pd.Series(z, index=list(assets)),
            t=float(t),
            excess=float(f(z[None])[0]),
            threshold=thr,
            found=True,
        )
    cov = _covariance(model, assets, int(horizon))
    try:
        chol = np.linalg.cholesky(cov)
    except np.linalg.LinAlgError as exc:
        raise NotPositiveDefiniteError(
            "the covariance of the model is not positive definite; regularize it or drop "
            "collinear assets."
        ) from exc
    prec = np.linalg.inv(cov)
    if e0 <= 0:
        return ReverseStressResult(
            method="most_likely",
            move=pd.Series(np.zeros(n), index=list(assets)),
            t=0.0,
            excess=e0,
            threshold=thr,
            found=True,
            mahalanobis=0.0,
        )
    sd = np.sqrt(np.diag(cov))
    h = 1e-6 * sd
    grad = (f(np.diag(h)) - f(-np.diag(h))) / (2 * h)
    gsg = float(grad @ cov @ grad)
    if not gsg > 0:
        raise ModelError(
            "the target has no first-order exposure to the assets (gradient of equity is 0): "
            "the most likely insolvency move is undefined; use a direction instead."
        )
    z0 = -e0 * (cov @ grad) / gsg
    scale = float(np.sqrt(z0 @ prec @ z0))
    res = minimize(
        lambda z: 0.5 * float(z @ prec @ z),
        z0,
        jac=lambda z: prec @ z,
        constraints=[{"type": "ineq", "fun": lambda z: -float(f(z[None])[0]) / max(e0, 1.0)}],
        method="SLSQP",
        options={"maxiter": 200, "ftol": 1e-12 * max(scale**2, 1e-12)},
    )
    z = np.asarray(res.x)
    ex = float(f(z[None])[0])
    if not res.success or ex > 1e-6 * max(e0, 1.0):
        raise ConvergenceError(
            f"reverse_stress (most likely move): SLSQP did not reach the insolvency boundary "
            f"({res.message}; excess {ex:.4g}). Try a direction, or rescale the covariance."
        )
    maha = float(np.sqrt(z @ prec @ z))
    return ReverseStressResult(
        method="most_likely",
        move=pd.Series(z, index=list(assets)),
        t=maha,
        excess=ex,
        threshold=thr,
        found=True,
        mahalanobis=maha,
        details={"start": z0.tolist(), "iterations": int(res.nit), "cholesky_ok": bool(chol.size)},
    )
