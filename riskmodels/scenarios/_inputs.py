"""Input handling shared by the scenario generators: the returns panel, the as-of cut, the
bar frequency, the estimation window, new bars for ``update``, and random number generators.

Every check raises an error from :mod:`riskmodels.exceptions` whose message names the argument
(and the asset), shows what was seen and says how to fix it.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pandas as pd

from riskmodels._random import as_generator
from riskmodels._time import bar_frequency
from riskmodels.exceptions import ConfigError, DataError, InsufficientDataError

__all__ = [
    "DEFAULT_N",
    "asof_cut",
    "check_n",
    "check_window",
    "fmt_time",
    "infer_frequency",
    "labels_of",
    "new_rows",
    "prepare_sample",
    "resolve_rng",
]

#: Default number of simulated scenarios (Monte Carlo, and filtered historical simulation
#: with h > 1 or a correlation model).
DEFAULT_N = 10_000


def fmt_time(ts: Any) -> str:
    """A timestamp for messages: the date alone at midnight, the full stamp otherwise."""
    if isinstance(ts, pd.Timestamp) and ts == ts.normalize():
        return str(ts.date())
    return str(ts)


def labels_of(index: pd.Index) -> tuple[str, ...]:
    """Scenario labels: ISO 8601 strings of timestamps (``pandas.Timestamp.isoformat``).

    A UTC index on whole seconds (every bar index of the package) is formatted in one
    vectorized call, ``numpy.datetime_as_string`` plus the ``+00:00`` offset: the same strings
    as ``isoformat`` (a twin test checks it), without building one Timestamp per label. Walk-
    forwards label every scenario of every bar, so this was a third of a historical-simulation
    backtest's time. Anything else goes through ``isoformat`` one label at a time.
    """
    if isinstance(index, pd.DatetimeIndex) and str(index.tz) == "UTC" and len(index):
        values = index.tz_convert(None).to_numpy()  # UTC datetime64 in the index's unit
        seconds = values.astype("datetime64[s]")
        if (seconds == values).all():
            text = np.datetime_as_string(seconds, unit="s").tolist()
            return tuple([t + "+00:00" for t in text])
    return tuple(pd.Timestamp(t).isoformat() for t in index)


def check_window(window: object, *, min_obs: int = 1, model: str) -> int | None:
    """Validate a ``window`` argument (None or a whole number of bars >= ``min_obs``)."""
    if window is None:
        return None
    if isinstance(window, bool) or not isinstance(window, int | np.integer) or window < 1:
        raise ConfigError(
            f"window must be None (every row given) or a positive number of bars (got "
            f"{window!r}), e.g. window=1000 for about three years of daily bars."
        )
    if window < min_obs:
        raise ConfigError(
            f"window={int(window)} is shorter than the {min_obs} observations {model} needs; "
            f"use window >= {min_obs} (or window=None for every row)."
        )
    return int(window)


def check_n(n: object, *, name: str = "n") -> int | None:
    """Validate a number of scenarios (None or a positive integer)."""
    if n is None:
        return None
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        raise ConfigError(
            f"{name} must be a positive number of scenarios (got {n!r}), e.g. {name}=10_000."
        )
    return int(n)


def resolve_rng(rng: object) -> tuple[np.random.Generator, dict[str, Any]]:
    """A ``numpy.random.Generator`` (:func:`riskmodels._random.as_generator`, the package's one
    policy) and what a report needs to reproduce it.

    ``int`` seeds a new PCG64 generator (``meta["seed"]`` records it); a ``Generator`` is used
    as it is (its bit-generator state before use is recorded in ``meta["rng_state"]``); None
    draws a fresh seed from OS entropy and records it, so that the scenarios can be
    reproduced with ``rng=meta["seed"]``; a ``SeedSequence`` is recorded by its entropy and
    spawn key.
    """
    gen = as_generator(rng)
    if isinstance(rng, np.random.Generator):
        return gen, {"seed": None, "rng_state": copy.deepcopy(rng.bit_generator.state)}
    if isinstance(rng, np.random.SeedSequence):
        return gen, {
            "seed": None,
            "seed_sequence": {"entropy": rng.entropy, "spawn_key": tuple(rng.spawn_key)},
        }
    if rng is None:
        # fresh entropy, recorded: default_rng(seed) reproduces this very stream
        return gen, {"seed": int(gen.bit_generator.seed_seq.entropy)}  # type: ignore[attr-defined]
    return gen, {"seed": int(rng)}  # type: ignore[call-overload]


def _check_frame(returns: object, *, what: str = "returns") -> pd.DataFrame:
    """A validated float64 copy of a returns panel with string column names."""
    if not isinstance(returns, pd.DataFrame):
        raise ConfigError(
            f"{what} must be a pandas DataFrame of decimal log returns with one column per "
            f"asset (got {type(returns).__name__}). Use series.to_frame() for one asset."
        )
    if returns.shape[1] == 0:
        raise ConfigError(f"{what} has no columns; pass at least one asset.")
    if not isinstance(returns.index, pd.DatetimeIndex):
        raise DataError(
            f"{what} must have a DatetimeIndex (UTC bar open times) (got "
            f"{type(returns.index).__name__}). Load returns with riskmodels.data."
        )
    cols = [str(c) for c in returns.columns]
    if len(set(cols)) != len(cols):
        dup = sorted({c for c in cols if cols.count(c) > 1})
        raise DataError(f"{what} has duplicated columns {dup}; give every asset one column.")
    if not returns.index.is_unique:
        dup = returns.index[returns.index.duplicated()][0]
        raise DataError(
            f"{what} has duplicated timestamps (first {fmt_time(dup)}). Drop duplicate bars "
            "first (the riskmodels.data quality checks find them)."
        )
    if not returns.index.is_monotonic_increasing:
        raise DataError(f"{what} is not sorted in time. Use {what}.sort_index() first.")
    bad = [str(c) for c in returns.columns if not pd.api.types.is_numeric_dtype(returns[c])]
    if bad:
        raise DataError(
            f"{what} columns {bad} are not numeric. Convert them with .astype(float) after "
            "checking the values."
        )
    out = returns.astype("float64")
    out.columns = cols
    return out


def asof_cut(returns: object, asof: object) -> pd.DataFrame:
    """The rows of ``returns`` labelled at or before ``asof`` (nothing later is looked at).

    A bar is labelled by its open time and its return is known at its close: ``asof`` names
    the last bar whose return may be used. A naive ``asof`` is read in the index's time zone.
    """
    if not isinstance(returns, pd.DataFrame):
        raise ConfigError(
            f"returns must be a pandas DataFrame of decimal log returns (got "
            f"{type(returns).__name__})."
        )
    if not isinstance(returns.index, pd.DatetimeIndex):
        raise DataError(
            f"returns must have a DatetimeIndex (got {type(returns.index).__name__}); load "
            "returns with riskmodels.data."
        )
    try:
        ts = pd.Timestamp(asof)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"asof must be a timestamp such as '2024-01-31' (got {asof!r}).") from exc
    if ts is pd.NaT:
        raise ConfigError(f"asof must be a timestamp such as '2024-01-31' (got {asof!r}).")
    tz = returns.index.tz
    if tz is not None and ts.tzinfo is None:
        ts = ts.tz_localize(tz)
    elif tz is None and ts.tzinfo is not None:
        raise ConfigError(
            f"asof {ts} has a time zone but the returns index has none; pass a naive asof or "
            "a UTC index (riskmodels uses UTC everywhere)."
        )
    if not returns.index.is_monotonic_increasing:
        raise DataError("returns is not sorted in time. Use returns.sort_index() first.")
    cut = returns.loc[returns.index <= ts]
    if cut.shape[0] == 0:
        first = fmt_time(returns.index[0]) if len(returns.index) else "none"
        raise InsufficientDataError(
            f"no returns at or before asof={fmt_time(ts)} (the first bar is {first}). Pick a "
            "later asof or load an earlier history."
        )
    return cut


def infer_frequency(index: pd.DatetimeIndex) -> pd.Timedelta:
    """The bar length of a returns index: :func:`riskmodels._time.bar_frequency`.

    The bar is the smallest step between consecutive timestamps; every step must be a whole
    multiple of it (a longer step is missing bars, so the odd missing bar does not change the
    answer). Needs at least two timestamps, sorted and unique.
    """
    return bar_frequency(index)


def prepare_sample(
    returns: object, *, window: int | None, min_obs: int, model: str
) -> tuple[pd.DataFrame, pd.Timedelta]:
    """The rows a generator uses, and the bar frequency.

    Parameters
    ----------
    returns : DataFrame of shape (n_observations, n_assets)
        Decimal log returns; the caller has cut them at the as-of date.
    window : int or None
        Rows to use: the last ``window`` rows of the common sample (all of it when None).
    min_obs : int
        Fewest rows the model needs (the window must also be full).
    model : str
        Name used in messages.

    Returns
    -------
    sample : DataFrame
        The last ``window`` rows where every asset has data, ending at the last row given.
    freq : Timedelta
        The bar of the index given (:func:`infer_frequency`: the smallest step).

    Raises
    ------
    DataError
        Not a valid panel (see :func:`_check_frame`); an asset without data at the last row
        (stale or delisted); NaN inside the rows used.
    InsufficientDataError
        Fewer than ``max(window, min_obs)`` common rows; the message names the assets that
        start latest.
    """
    df = _check_frame(returns)
    freq = infer_frequency(df.index)
    values = df.to_numpy()
    if np.isinf(values).any():
        j = int(np.flatnonzero(np.isinf(values).any(axis=0))[0])
        i = int(np.flatnonzero(np.isinf(values[:, j]))[0])
        raise DataError(
            f"returns[{df.columns[j]!r}] has an infinite value at {fmt_time(df.index[i])}. "
            "Infinite log returns come from zero prices; repair the prices first."
        )
    ok = ~np.isnan(values)
    empty = [c for c, has in zip(df.columns, ok.any(axis=0), strict=True) if not has]
    if empty:
        raise InsufficientDataError(
            f"returns for {empty} have no data at or before {fmt_time(df.index[-1])}. Drop "
            "those assets or pick a later asof."
        )
    T = len(df)
    first = ok.argmax(axis=0)
    last = T - 1 - ok[::-1].argmax(axis=0)
    stale = [c for c, lv in zip(df.columns, last, strict=True) if lv < T - 1]
    if stale:
        ends = {c: fmt_time(df.index[lv]) for c, lv in zip(df.columns, last, strict=True)}
        raise DataError(
            f"returns for {stale} end before the last bar {fmt_time(df.index[-1])} "
            f"(last data: {', '.join(f'{c} {ends[c]}' for c in stale)}); scenarios as of that "
            "bar need every asset up to it. Drop those assets or cut the returns at their end."
        )
    start = int(first.max())
    sample = df.iloc[start:]
    need = max(window or 0, min_obs)
    if len(sample) < need:
        why = f"window={window}" if window is not None and window >= min_obs else "the model"
        if start > 0:
            late = [c for c, fv in zip(df.columns, first, strict=True) if fv == start]
            limit = f"it is limited by {late}, which start at {fmt_time(df.index[start])}"
            fix = "Pick a later asof or a shorter window, or drop those assets."
        else:
            limit = f"the returns given start at {fmt_time(df.index[0])}"
            fix = "Pick a later asof or a shorter window, or load a longer history."
        raise InsufficientDataError(
            f"{model} needs {need} rows where every asset has data ({why}) up to "
            f"{fmt_time(df.index[-1])}, but the common sample has {len(sample)} rows: {limit}. "
            f"{fix}"
        )
    if window is not None:
        sample = sample.iloc[-window:]
    nan = np.isnan(sample.to_numpy())
    if nan.any():
        j = int(np.flatnonzero(nan.any(axis=0))[0])
        i = int(np.flatnonzero(nan[:, j])[0])
        raise DataError(
            f"returns[{sample.columns[j]!r}] has {int(nan[:, j].sum())} NaN value(s) inside the "
            f"rows used ({fmt_time(sample.index[0])} to {fmt_time(sample.index[-1])}), the "
            f"first at {fmt_time(sample.index[i])}. Fill or drop the gap explicitly upstream "
            "(riskmodels.data.log_returns(gaps='span')); a scenario cannot skip a bar."
        )
    return sample, freq


def new_rows(
    current: pd.DataFrame, returns: object, asof: pd.Timestamp, freq: pd.Timedelta
) -> pd.DataFrame | None:
    """The bars of ``returns`` after ``asof`` that ``update`` filters (None when there are none).

    Rows at or before ``asof`` are ignored (so ``returns.loc[asof:next]`` can be passed as it
    is). The new bars must hold every asset of ``current``, without NaN, on consecutive bars of
    length ``freq`` after ``asof``.
    """
    df = _check_frame(returns, what="new returns")
    assets = list(current.columns)
    missing = [a for a in assets if a not in df.columns]
    if missing:
        raise DataError(
            f"new returns have no column for {missing}; update needs every asset the generator "
            f"was fitted on ({assets})."
        )
    try:
        # the index is sorted and unique (_check_frame): the rows after asof start here
        start = int(df.index.searchsorted(asof, side="right"))
    except TypeError as exc:
        raise DataError(
            f"new returns' index (time zone {df.index.tz}) cannot be compared with asof "
            f"{asof}; use the same (UTC) index as the fitted returns."
        ) from exc
    rows = df.iloc[start:]
    if list(rows.columns) != assets:
        rows = rows[assets]
    if rows.shape[0] == 0:
        return None
    values = rows.to_numpy()
    if not np.isfinite(values).all():
        bad = ~np.isfinite(values)
        j = int(np.flatnonzero(bad.any(axis=0))[0])
        i = int(np.flatnonzero(bad[:, j])[0])
        raise DataError(
            f"new returns[{assets[j]!r}] has a missing or infinite value at "
            f"{fmt_time(rows.index[i])}; update needs every asset at every new bar. Repair the "
            "data, or refit on a sample without the gap."
        )
    steps = rows.index - rows.index.insert(0, asof)[:-1]
    wrong = np.flatnonzero(steps != freq)
    if wrong.size:
        k = int(wrong[0])
        raise DataError(
            f"update expects consecutive {freq} bars after asof {fmt_time(asof)}, but the step "
            f"to {fmt_time(rows.index[k])} is {steps[k]}. Pass every bar (the filter cannot "
            "skip one), or refit."
        )
    return rows
