"""Fit one volatility spec to every asset of a returns panel."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from joblib import Parallel, delayed

from riskmodels.exceptions import ConfigError, ConvergenceError, ConvergenceWarning, DataError
from riskmodels.volatility._validation import prepare_returns
from riskmodels.volatility.results import PanelVolatilityResult, VolatilityResult
from riskmodels.volatility.specs import BLAS_THREADS, OnFailure, VolatilitySpec, _check_on_failure

__all__ = ["fit_panel"]


def _fit_asset(
    spec: VolatilitySpec,
    returns: pd.Series,
    on_failure: OnFailure,
    options: Mapping[str, Any] | None,
) -> tuple[VolatilityResult | ConvergenceError, list[warnings.WarningMessage]]:
    """Worker: one asset (runs in the parent or in a loky worker; BLAS pinned inside fit).

    Warnings are recorded and returned, so the parent re-emits them whatever ``n_jobs`` is
    (a loky worker's warnings would otherwise be lost).
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        try:
            out: VolatilityResult | ConvergenceError = spec.fit(
                returns, on_failure=on_failure, options=options
            )
        except ConvergenceError as exc:
            out = exc
    return out, list(caught)


def fit_panel(
    returns: pd.DataFrame,
    spec: VolatilitySpec,
    *,
    on_failure: OnFailure = "raise",
    n_jobs: int = 1,
    options: Mapping[str, Any] | None = None,
) -> PanelVolatilityResult:
    """Fit ``spec`` to every column of a returns panel, each over its own listed history.

    Parameters
    ----------
    returns : pandas.DataFrame of shape (n_observations, n_assets)
        Decimal log returns, one column per asset. Leading NaN (before listing) and trailing
        NaN (after delisting) are allowed; NaN inside an asset's history is an error.
    spec : VolatilitySpec
        e.g. ``GARCH(dist="t")``.
    on_failure : {"raise", "retry", "warn"}, default "raise"
        For an asset whose optimizer does not converge: raise
        :class:`~riskmodels.exceptions.ConvergenceError` naming it; refit it from other
        starting values (recorded in ``failures``; still failing raises); or keep the flagged
        result with a warning (recorded in ``failures``). Nothing is kept silently.
    n_jobs : int, default 1
        Worker processes (joblib, loky backend); ``-1`` uses every core. Every fit runs with
        one BLAS thread, so results are bit-identical for any ``n_jobs``.
    options : mapping, optional
        ``scipy.optimize.minimize`` options passed to every fit.

    Returns
    -------
    PanelVolatilityResult

    Raises
    ------
    ConfigError
        ``returns`` is not a DataFrame, has no columns, or ``spec``/``n_jobs``/``on_failure``
        is invalid.
    DataError, InsufficientDataError
        An asset's data cannot be fitted; the message names the asset. All assets are checked
        before any fit starts.
    ConvergenceError
        An asset did not converge (``on_failure="raise"``, or ``"retry"`` without success);
        the message names the first such asset in column order and lists the others.
    """
    if not isinstance(returns, pd.DataFrame):
        raise ConfigError(
            f"returns must be a pandas DataFrame with one column per asset (got "
            f"{type(returns).__name__}). Use spec.fit(series) for a single asset."
        )
    if returns.shape[1] == 0:
        raise ConfigError("returns has no columns; pass at least one asset.")
    if not returns.columns.is_unique:
        dup = returns.columns[returns.columns.duplicated()][0]
        raise DataError(f"returns has a duplicated column {dup!r}; asset names must be unique.")
    if not isinstance(spec, VolatilitySpec):
        raise ConfigError(
            f"spec must be a volatility spec such as GARCH(dist='t') (got {type(spec).__name__})."
        )
    _check_on_failure(on_failure)
    if (
        isinstance(n_jobs, bool)
        or not isinstance(n_jobs, (int, np.integer))
        or n_jobs == 0
        or n_jobs < -1
    ):
        raise ConfigError(
            f"n_jobs must be a positive integer or -1 for every core (got {n_jobs!r})."
        )

    columns = [returns[c].rename(str(c)) for c in returns.columns]
    for col in columns:  # validate every asset before any fit starts
        prepare_returns(col, min_obs=spec.min_obs, model=spec.name)

    if n_jobs == 1:
        outcomes_and_warnings = [_fit_asset(spec, col, on_failure, options) for col in columns]
    else:
        outcomes_and_warnings = Parallel(n_jobs=int(n_jobs), backend="loky")(
            delayed(_fit_asset)(spec, col, on_failure, options) for col in columns
        )

    for _, caught in outcomes_and_warnings:
        for w in caught:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    outcomes = [out for out, _ in outcomes_and_warnings]
    errors = [
        (col.name, out)
        for col, out in zip(columns, outcomes, strict=True)
        if isinstance(out, ConvergenceError)
    ]
    if errors:
        _, first = errors[0]
        others = [str(a) for a, _ in errors[1:]]
        also = f" Also failed: {', '.join(others)}." if others else ""
        raise ConvergenceError(f"{first}{also}") from first

    results: dict[str, VolatilityResult] = {  # every outcome is a result: errors raised above
        str(col.name): out
        for col, out in zip(columns, outcomes, strict=True)
        if isinstance(out, VolatilityResult)
    }
    failures = {a: r.failure_note for a, r in results.items() if r.failure_note is not None}
    std_resid = pd.DataFrame({a: r.std_resid for a, r in results.items()}).reindex(returns.index)
    vol = pd.DataFrame({a: r.conditional_volatility for a, r in results.items()}).reindex(
        returns.index
    )
    std_resid.columns.name = vol.columns.name = returns.columns.name
    return PanelVolatilityResult(
        spec=spec,
        results=results,
        std_resid=std_resid,
        conditional_volatility=vol,
        failures=failures,
        n_jobs=int(n_jobs),
        blas_threads=BLAS_THREADS,
    )
