"""Returns from price panels, with explicit handling of listing gaps and missing bars.

Inside the package returns are **decimal log returns** ``r_t = log(P_t / P_{t-1})`` labelled by
the bar whose close ends them. Nothing is forward-filled: what happens at a gap is the caller's
explicit choice (``gaps=``).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from riskmodels.data._attrs import freeze
from riskmodels.exceptions import ConfigError, DataError

__all__ = ["log_returns", "returns", "simple_returns"]

GapPolicy = Literal["nan", "raise", "span"]


def _numeric_prices(prices: pd.DataFrame) -> pd.DataFrame:
    """``prices`` with every column as float64, or a :class:`DataError` naming the first
    column and value that is not a number (``"n/a"``, ``"-"``, a stray header ...).

    Missing values (NaN/None) stay NaN; strings that spell a number (``"101.5"``) are read.
    """
    if all(
        pd.api.types.is_numeric_dtype(d) and not pd.api.types.is_bool_dtype(d)
        for d in prices.dtypes
    ):
        return prices
    cols = []
    for j, col in enumerate(prices.columns):
        s = prices.iloc[:, j]
        if pd.api.types.is_bool_dtype(s.dtype):
            raise DataError(
                f"prices[{col!r}] holds booleans (dtype {s.dtype}), not prices: pass positive "
                "float prices."
            )
        if pd.api.types.is_numeric_dtype(s.dtype):
            cols.append(s.astype("float64"))
            continue
        num = pd.to_numeric(s, errors="coerce")
        bad = num.isna() & s.notna()
        if bad.any():
            first = s.index[bad.to_numpy()][0]
            raise DataError(
                f"prices[{col!r}] has {int(bad.sum())} value(s) that are not numbers, the first "
                f"{s.loc[first]!r} at {first}. Replace them with NaN for a missing price (e.g. "
                "pd.read_csv(..., na_values=['n/a'])) or drop them, then retry."
            )
        cols.append(num.astype("float64"))
    frame = pd.concat(cols, axis=1)
    frame.columns = prices.columns
    frame.attrs = dict(prices.attrs)
    return frame


def _validate_prices(prices: pd.DataFrame | pd.Series) -> pd.DataFrame:
    if isinstance(prices, pd.Series):
        prices = prices.to_frame(prices.name if prices.name is not None else "price")
    if not isinstance(prices, pd.DataFrame):
        raise DataError(
            f"prices must be a pandas DataFrame or Series (got {type(prices).__name__})."
        )
    if not isinstance(prices.index, pd.DatetimeIndex):
        raise DataError(
            f"prices must have a DatetimeIndex (got {type(prices.index).__name__}); "
            "load them with riskmodels.data.load_prices."
        )
    if prices.index.has_duplicates:
        dup = prices.index[prices.index.duplicated()][0]
        raise DataError(f"prices has duplicate timestamps (first {dup}).")
    if not prices.index.is_monotonic_increasing:
        raise DataError("prices timestamps are not sorted ascending: sort_index() them first.")
    prices = _numeric_prices(prices)
    vals = prices.to_numpy(dtype="float64")
    bad = np.isfinite(vals) & (vals <= 0)
    if bad.any():
        r, c = np.argwhere(bad)[0]
        raise DataError(
            f"prices must be positive: {int(bad.sum())} value(s) <= 0 "
            f"(first {prices.columns[c]} at {prices.index[r]}: {vals[r, c]})."
        )
    if np.isinf(vals).any():
        raise DataError("prices contain infinite values.")
    return prices.astype("float64")


def log_returns(prices: pd.DataFrame | pd.Series, *, gaps: GapPolicy = "nan") -> pd.DataFrame:
    """Decimal log returns of a price panel.

    Parameters
    ----------
    prices : DataFrame or Series
        Positive prices on a sorted, unique ``DatetimeIndex`` (e.g. from
        :func:`~riskmodels.data.load_prices`). Leading NaN (before an asset's listing) and
        trailing NaN are allowed and give NaN returns.
    gaps : {"nan", "raise", "span"}
        Missing prices *inside* an asset's history (outages):

        * ``"nan"`` (default): the returns touching a missing price are NaN; nothing is
          filled. The number of such returns per asset is in ``attrs["gap_returns"]``.
        * ``"raise"``: raise :class:`~riskmodels.exceptions.DataError` naming the first gap.
        * ``"span"``: the return from the last price before the gap to the first price after
          it is put on the bar after the gap (a multi-bar return); the bars inside the gap stay
          NaN. Spanned gaps are listed in ``attrs["spanned"]`` as ``[symbol, ISO time of the
          spanning return, bars skipped]`` lists.

    Returns
    -------
    DataFrame
        Same shape and index as ``prices``; the first row is NaN. ``attrs`` keeps the
        prices' (JSON-serialisable) ``attrs`` and adds ``kind`` and ``gap_returns``.

    Notes
    -----
    ``r_t = log P_t - log P_{t-1}``. Log returns aggregate over time by summation, which is what
    multi-period scenario simulation uses.
    """
    if gaps not in ("nan", "raise", "span"):
        raise ConfigError(f"gaps must be 'nan', 'raise' or 'span' (got {gaps!r}).")
    px = _validate_prices(prices)
    logp = np.log(px)
    out = logp.diff()
    gap_counts: dict[str, int] = {}
    spanned: list[list[str | int]] = []
    for col in px.columns:
        s = px[col]
        fv, lv = s.first_valid_index(), s.last_valid_index()
        if fv is None:
            continue
        inner = s.loc[fv:lv]
        missing = inner.isna()
        if not missing.any():
            continue
        if gaps == "raise":
            raise DataError(
                f"{col}: {int(missing.sum())} missing price(s) inside its history "
                f"(first at {inner.index[missing.to_numpy()][0]}). Use gaps='nan' or gaps='span'."
            )
        if gaps == "span":
            valid = inner.dropna()
            lp = np.log(valid)
            r = lp.diff()
            pos = inner.index.get_indexer(valid.index)
            jumps = np.diff(pos) > 1
            for k in np.flatnonzero(jumps):
                t = valid.index[k + 1]
                out.loc[t, col] = r.iloc[k + 1]
                spanned.append(
                    [str(col), pd.Timestamp(t).isoformat(), int(pos[k + 1] - pos[k] - 1)]
                )
        gap_counts[str(col)] = int(out[col].loc[fv:lv].iloc[1:].isna().sum())
    out.attrs = {
        **getattr(prices, "attrs", {}),
        "kind": "log",
        "gap_returns": freeze(gap_counts),
    }
    if gaps == "span":
        out.attrs["spanned"] = freeze(spanned)
    return out


def simple_returns(prices: pd.DataFrame | pd.Series, *, gaps: GapPolicy = "nan") -> pd.DataFrame:
    """Simple returns ``P_t / P_{t-1} - 1``, with the same gap handling as :func:`log_returns`."""
    lr = log_returns(prices, gaps=gaps)
    with np.errstate(over="ignore"):
        out = np.expm1(lr)
    over = np.isinf(out.to_numpy())
    if over.any():
        r, c = np.argwhere(over)[0]
        raise DataError(
            f"simple returns overflow float64: {int(over.sum())} price ratio(s) above 1.8e308 "
            f"(first {out.columns[c]} at {out.index[r]}, log return {lr.iat[r, c]:.6g}). Such a "
            "jump is a unit or data error: check the prices, or use log_returns."
        )
    out.attrs = {**lr.attrs, "kind": "simple"}
    return out


def returns(
    prices: pd.DataFrame | pd.Series,
    kind: Literal["log", "simple"] = "log",
    *,
    gaps: GapPolicy = "nan",
) -> pd.DataFrame:
    """Log (default) or simple returns; see :func:`log_returns` for ``gaps``."""
    if kind == "log":
        return log_returns(prices, gaps=gaps)
    if kind == "simple":
        return simple_returns(prices, gaps=gaps)
    raise ConfigError(f"kind must be 'log' or 'simple' (got {kind!r}).")
