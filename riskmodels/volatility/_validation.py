"""Input checks shared by the volatility specs and :func:`fit_panel`.

Every check raises an error from :mod:`riskmodels.exceptions` whose message names the asset,
shows what was seen and says how to fix it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from riskmodels.exceptions import ConfigError, DataError, InsufficientDataError

__all__ = ["asset_name", "listed_span", "prepare_returns"]

#: Largest plausible standard deviation of decimal log returns per bar (100 % per bar).
#: A larger value almost always means percent returns were passed.
MAX_DECIMAL_STD = 1.0


def asset_name(returns: pd.Series) -> str:
    """The asset label used in messages: the Series name, or ``"returns"`` when unnamed."""
    return "returns" if returns.name is None else str(returns.name)


def listed_span(values: np.ndarray) -> tuple[int, int]:
    """First and one-past-last positions of the non-NaN span of ``values``.

    Leading and trailing NaN mean "not listed yet" / "delisted"; the span between the first and
    the last valid value is the asset's listed history. Returns ``(0, 0)`` when all are NaN.
    """
    valid = np.flatnonzero(~np.isnan(values))
    if valid.size == 0:
        return 0, 0
    return int(valid[0]), int(valid[-1]) + 1


def prepare_returns(returns: object, *, min_obs: int, model: str) -> pd.Series:
    """Validate decimal log returns for one asset and trim them to the listed history.

    Parameters
    ----------
    returns : pandas.Series
        Decimal log returns of one asset (0.01 = 1 %). Leading and trailing NaN are dropped
        (before listing / after delisting); NaN inside the span is an error.
    min_obs : int
        Fewest observations the model accepts.
    model : str
        Model label used in messages.

    Returns
    -------
    pandas.Series
        float64 returns over the listed span, name kept.

    Raises
    ------
    ConfigError
        ``returns`` is not a Series.
    DataError
        Non-float values (integer, boolean, object or string dtypes), an unsorted or duplicated
        index, infinite values, NaN inside the sample, a constant series, or values that look
        like percent rather than decimal returns.
    InsufficientDataError
        Fewer than ``min_obs`` observations in the listed span.
    """
    if isinstance(returns, pd.DataFrame):
        raise ConfigError(
            f"returns must be a pandas Series of one asset (got a DataFrame with "
            f"{returns.shape[1]} columns). Use fit_panel(returns, spec) for several assets."
        )
    if not isinstance(returns, pd.Series):
        raise ConfigError(
            f"returns must be a pandas Series of decimal log returns (got {type(returns).__name__}). "
            "Wrap an array as pd.Series(values, index=timestamps, name=asset)."
        )
    asset = asset_name(returns)
    dtype = returns.dtype
    if pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_integer_dtype(dtype):
        raise DataError(
            f"returns for {asset!r} have dtype {dtype}: integers or booleans are not returns. "
            "Pass decimal float log returns (0.01 = 1 %), e.g. riskmodels.data.log_returns(prices); "
            "if the values really are returns, convert with returns.astype(float)."
        )
    if not pd.api.types.is_float_dtype(dtype):
        raise DataError(
            f"returns for {asset!r} must be numeric decimal float returns (got dtype {dtype}). "
            "Pass decimal float log returns (0.01 = 1 %); convert with returns.astype(float) "
            "after checking the values."
        )
    if not returns.index.is_unique:
        dup = returns.index[returns.index.duplicated()][0]
        raise DataError(
            f"returns for {asset!r} have a duplicated index value {dup!r}. "
            "Remove duplicate bars before fitting (riskmodels.data quality checks find them)."
        )
    if not returns.index.is_monotonic_increasing:
        raise DataError(
            f"returns for {asset!r} are not sorted by time. Sort them first (returns.sort_index())."
        )
    values = returns.to_numpy(dtype=float, na_value=np.nan)
    infinite = np.isinf(values)
    if infinite.any():
        where = returns.index[int(np.flatnonzero(infinite)[0])]
        raise DataError(
            f"returns for {asset!r} contain {int(infinite.sum())} infinite value(s), the first at "
            f"{where}. A zero or negative price upstream gives log(0); repair the prices first."
        )
    start, stop = listed_span(values)
    inner = np.isnan(values[start:stop])
    if inner.any():
        where = returns.index[start + int(np.flatnonzero(inner)[0])]
        raise DataError(
            f"returns for {asset!r} contain {int(inner.sum())} NaN value(s) inside the sample, the "
            f"first at {where} (leading and trailing NaN are allowed: before listing / after "
            "delisting). Fill or drop the gap explicitly upstream; a volatility recursion cannot "
            "skip a bar."
        )
    nobs = stop - start
    if nobs < min_obs:
        raise InsufficientDataError(
            f"returns for {asset!r} have {nobs} observations in their listed history; {model} "
            f"needs at least {min_obs} (max(100, 10 x number of parameters)). Use a longer "
            "history, a lower-frequency model with fewer parameters, or EWMA."
        )
    span = returns.iloc[start:stop].astype(float)
    x = span.to_numpy()
    if np.all(x == x[0]):
        raise DataError(
            f"returns for {asset!r} are constant (every value is {float(x[0])!r}); a volatility model "
            "needs variation. Drop this asset (e.g. a pegged stablecoin) or check the price source."
        )
    std = float(np.std(x))
    if std > MAX_DECIMAL_STD:
        raise DataError(
            f"returns for {asset!r} have standard deviation {std:.4g} per bar (> {MAX_DECIMAL_STD:g}, "
            "i.e. over 100 % per bar); riskmodels expects decimal log returns (0.01 = 1 %). "
            "If these are percent returns, divide them by 100."
        )
    return span
