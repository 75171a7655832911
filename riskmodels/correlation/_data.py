"""Input checks for the correlation models: the returns panel, its common sample, standardized
residuals from the univariate stage, and targets (sample, pairwise-complete or given)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from riskmodels.correlation._linalg import clip_eigenvalues, cov2cor, nearest_correlation
from riskmodels.exceptions import (
    ConfigError,
    DataError,
    InsufficientDataError,
    NotPositiveDefiniteError,
)

__all__ = [
    "TargetRepair",
    "check_panel",
    "common_sample",
    "make_target",
    "min_obs_for",
]


def min_obs_for(n_assets: int, n_params: int) -> int:
    """Fewest common observations a correlation model accepts: ``max(100, 10 k, 2 N)``.

    ``10 k`` follows the volatility models' rule for the ``k`` dynamic parameters; ``2 N``
    keeps the ``N x N`` target well conditioned (it is singular for ``T <= N``).
    """
    return max(100, 10 * n_params, 2 * n_assets)


def _fmt_time(ts: Any) -> str:
    return str(ts.date()) if isinstance(ts, pd.Timestamp) and ts == ts.normalize() else str(ts)


def check_panel(returns: object, *, what: str = "returns") -> pd.DataFrame:
    """Validate a returns (or standardized residuals) panel and return it as float64.

    Raises
    ------
    ConfigError
        Not a DataFrame, or fewer than two columns.
    DataError
        Duplicated or unsorted index, duplicated columns, non-numeric columns, infinite values,
        NaN inside an asset's history, or an asset with no data.
    """
    if not isinstance(returns, pd.DataFrame):
        raise ConfigError(
            f"{what} must be a pandas DataFrame with one column per asset (got "
            f"{type(returns).__name__}). Build it with pd.DataFrame(values, index=times, "
            "columns=assets)."
        )
    if returns.shape[1] < 2:
        raise ConfigError(
            f"{what} must hold at least two assets to model correlations (got "
            f"{returns.shape[1]} column(s): {list(returns.columns)})."
        )
    if returns.columns.has_duplicates:
        dup = returns.columns[returns.columns.duplicated()].tolist()
        raise DataError(f"{what} has duplicated columns {dup}; give every asset one column.")
    if not returns.index.is_unique:
        dup = returns.index[returns.index.duplicated()][:3].tolist()
        raise DataError(
            f"{what} has duplicated timestamps (first: {dup}). Drop or aggregate them first."
        )
    if not returns.index.is_monotonic_increasing:
        raise DataError(f"{what} index is not sorted in time. Use {what}.sort_index() first.")
    bad = [c for c in returns.columns if not pd.api.types.is_numeric_dtype(returns[c].dtype)]
    if bad:
        raise DataError(
            f"{what} columns {bad} are not numeric. Convert them with .astype(float) after "
            "checking the values."
        )
    df = returns.astype("float64")
    values = df.to_numpy()
    inf = np.isinf(values)
    if inf.any():
        j = int(np.flatnonzero(inf.any(axis=0))[0])
        i = int(np.flatnonzero(inf[:, j])[0])
        raise DataError(
            f"{what}[{df.columns[j]!r}] has an infinite value at {_fmt_time(df.index[i])}. "
            "Infinite log returns come from zero prices; fix the prices first."
        )
    for j, col in enumerate(df.columns):
        v = values[:, j]
        valid = np.flatnonzero(~np.isnan(v))
        if valid.size == 0:
            raise InsufficientDataError(
                f"{what}[{col!r}] has no data (all NaN). Drop the column or load its history."
            )
        inner = np.isnan(v[valid[0] : valid[-1] + 1])
        if inner.any():
            first = valid[0] + int(np.flatnonzero(inner)[0])
            raise DataError(
                f"{what}[{col!r}] has NaN inside its history: {int(inner.sum())} value(s), the "
                f"first at {_fmt_time(df.index[first])}. Leading NaN (before listing) and "
                "trailing NaN (after delisting) are allowed; fill or drop the gap first."
            )
    return df


def common_sample(panel: pd.DataFrame, *, min_obs: int, model: str) -> pd.DataFrame:
    """Rows where every asset has data (assets may start and end at different dates).

    Raises
    ------
    InsufficientDataError
        The histories do not overlap, or overlap for fewer than ``min_obs`` rows; the message
        names the assets that limit the common sample.
    DataError
        An asset is constant over the common sample.
    """
    ok = ~np.isnan(panel.to_numpy())
    first = pd.Series(panel.index[ok.argmax(axis=0)], index=panel.columns)
    last = pd.Series(panel.index[len(ok) - 1 - ok[::-1].argmax(axis=0)], index=panel.columns)
    start, end = first.max(), last.min()
    late = [str(c) for c in first.index[first == start]]
    early = [str(c) for c in last.index[last == end]]
    if start > end:
        raise InsufficientDataError(
            f"{model}: the assets have disjoint histories: {early} end at {_fmt_time(end)} "
            f"before {late} start at {_fmt_time(start)}. Drop one side or model them "
            "separately."
        )
    sample = panel.loc[start:end]
    n = len(sample)
    if n < min_obs:
        limit = []
        if start > panel.index[0]:
            limit.append(f"{late} start at {_fmt_time(start)}")
        if end < panel.index[-1]:
            limit.append(f"{early} end at {_fmt_time(end)}")
        why = "; ".join(limit) if limit else "the panel itself is short"
        raise InsufficientDataError(
            f"{model}: the common sample of all assets has {n} rows ({_fmt_time(start)} to "
            f"{_fmt_time(end)}), fewer than the {min_obs} the model needs "
            f"(max(100, 10 x parameters, 2 x assets)). It is limited by: {why}. Drop those "
            "assets or use a longer panel."
        )
    std = sample.std(ddof=0)
    const = [str(c) for c in std.index[~(std > 0)]]
    if const:
        raise DataError(
            f"{model}: {const} constant over the common sample {_fmt_time(start)} to "
            f"{_fmt_time(end)} (standard deviation 0); a constant series has no correlation. "
            "Drop it."
        )
    return sample


def resolve_volatility(volatility: object, assets: list[str]) -> dict[str, Any]:
    """Univariate results given by the caller, as a dict keyed by asset."""
    results = getattr(volatility, "results", volatility)
    if not isinstance(results, Mapping):
        raise ConfigError(
            "volatility must be a PanelVolatilityResult (from fit_panel) or a mapping "
            f"{{asset: VolatilityResult}} (got {type(volatility).__name__})."
        )
    missing = [a for a in assets if a not in results]
    if missing:
        raise ConfigError(
            f"volatility has no result for {missing}; it holds {list(results)}. Fit every "
            "asset of returns, e.g. with fit_panel(returns, spec)."
        )
    return {a: results[a] for a in assets}


# ---------------------------------------------------------------------------------------------
# Targets
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TargetRepair:
    """How a non-positive-definite target was repaired (``repair="nearest"`` or ``"clip"``).

    Attributes
    ----------
    method : str
        ``"nearest"`` (Higham 2002 nearest correlation matrix) or ``"clip"`` (eigenvalues
        raised to ``1e-8``, then rescaled to unit diagonal).
    min_eigenvalue_before, min_eigenvalue_after : float
        Smallest eigenvalue of the target (as a correlation matrix) before and after.
    frobenius_change : float
        ``||R_after - R_before||_F`` of the correlation matrices.
    max_abs_change : float
        Largest absolute change of one correlation.
    iterations : int
        Iterations of Higham's algorithm (0 for clipping).
    """

    method: str
    min_eigenvalue_before: float
    min_eigenvalue_after: float
    frobenius_change: float
    max_abs_change: float
    iterations: int

    def __str__(self) -> str:
        return (
            f"target repaired by {self.method!r}: smallest eigenvalue "
            f"{self.min_eigenvalue_before:.3g} -> {self.min_eigenvalue_after:.3g}, "
            f"Frobenius change {self.frobenius_change:.3g}, largest change "
            f"{self.max_abs_change:.3g}"
        )


def _is_pd(S: np.ndarray) -> bool:
    try:
        np.linalg.cholesky(S)
    except np.linalg.LinAlgError:
        return False
    return True


def pairwise_target(z_full: pd.DataFrame) -> np.ndarray:
    """Pairwise-complete second moments of standardized residuals.

    ``S_ij`` is the mean of ``z_i z_j`` over the rows where both are observed, ``S_ii`` the
    mean of ``z_i^2`` over asset i's history; the result need not be positive definite.
    """
    v = z_full.to_numpy(dtype=float)
    ok = ~np.isnan(v)
    w = np.where(ok, v, 0.0)
    counts = ok.T.astype(float) @ ok.astype(float)
    if np.any(counts < 2):
        i, j = np.argwhere(counts < 2)[0]
        raise InsufficientDataError(
            f"target='pairwise': assets {z_full.columns[i]!r} and {z_full.columns[j]!r} share "
            f"{int(counts[i, j])} observation(s); a pairwise moment needs at least 2."
        )
    return (w.T @ w) / counts


def make_target(
    target: object,
    z_sample: np.ndarray,
    assets: list[str],
    *,
    repair: str | None,
    z_full: pd.DataFrame | None = None,
) -> tuple[np.ndarray, TargetRepair | None, str]:
    """Build the target ``Qbar`` and repair it when asked.

    Parameters
    ----------
    target : {"sample", "pairwise"} or array-like of shape (N, N)
        ``"sample"``: ``Qbar = z'z / T`` over the common sample (Engle 2002); ``"pairwise"``:
        pairwise-complete moments over each asset's own history (``z_full``); an array or a
        DataFrame (aligned by asset labels): a given target.
    repair : {None, "nearest", "clip"}
        What to do with a target that is not positive definite: raise (None), Higham's nearest
        correlation matrix, or eigenvalue clipping. The repair works on the correlation
        matrix ``D^{-1/2} Qbar D^{-1/2}`` and scales back by ``D``.

    Returns
    -------
    Qbar, repair report (or None), a label of the target's source
    """
    N = len(assets)
    if isinstance(target, str):
        if target == "sample":
            T = z_sample.shape[0]
            Qbar = z_sample.T @ z_sample / T
            label = "sample"
        elif target == "pairwise":
            if z_full is None:  # pragma: no cover - models always pass it
                raise ConfigError("target='pairwise' needs the full-history residuals.")
            Qbar = pairwise_target(z_full[assets])
            label = "pairwise"
        else:
            raise ConfigError(
                f"target must be 'sample', 'pairwise' or an N x N array (got {target!r})."
            )
    else:
        if isinstance(target, pd.DataFrame):
            miss = [a for a in assets if a not in target.index or a not in target.columns]
            if miss:
                raise ConfigError(
                    f"target DataFrame has no row/column for {miss}; label it with the "
                    "asset names of returns."
                )
            arr = target.loc[assets, assets].to_numpy(dtype=float)
        else:
            arr = np.asarray(target, dtype=float)
        if arr.shape != (N, N):
            raise ConfigError(
                f"target must have shape ({N}, {N}) for the {N} assets (got {arr.shape})."
            )
        if not np.all(np.isfinite(arr)):
            raise ConfigError("target has NaN or infinite entries; give a complete matrix.")
        if not np.allclose(arr, arr.T, rtol=0, atol=1e-10):
            raise ConfigError(
                "target must be symmetric (largest asymmetry "
                f"{np.abs(arr - arr.T).max():.3g}). Use (S + S.T) / 2."
            )
        if np.any(np.diag(arr) <= 0):
            raise ConfigError(
                f"target must have a positive diagonal (got {np.diag(arr).round(6).tolist()})."
            )
        Qbar = arr.copy()
        label = "given"
    Qbar = 0.5 * (Qbar + Qbar.T)
    if _is_pd(Qbar):
        return Qbar, None, label
    d = np.sqrt(np.diag(Qbar))
    R0 = cov2cor(Qbar)
    lam0 = float(np.linalg.eigvalsh(R0)[0])
    if repair is None:
        raise NotPositiveDefiniteError(
            f"The {label} target is not positive definite (smallest eigenvalue of its "
            f"correlation matrix {lam0:.3g}); DCC needs a positive definite target. Pass "
            "repair='nearest' (Higham nearest correlation matrix) or repair='clip' "
            "(eigenvalue clipping); the repair is then reported in result.target_repair."
        )
    if repair == "nearest":
        R1, iters = nearest_correlation(R0)
    elif repair == "clip":
        R1, iters = clip_eigenvalues(R0), 0
    else:  # pragma: no cover - validated by the spec
        raise ConfigError(f"repair must be None, 'nearest' or 'clip' (got {repair!r}).")
    info = TargetRepair(
        method=repair,
        min_eigenvalue_before=lam0,
        min_eigenvalue_after=float(np.linalg.eigvalsh(R1)[0]),
        frobenius_change=float(np.linalg.norm(R1 - R0, "fro")),
        max_abs_change=float(np.abs(R1 - R0).max()),
        iterations=iters,
    )
    return R1 * np.outer(d, d), info, label
