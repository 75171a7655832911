r"""Calibration grids: :func:`calibrate_mmr` over a grid of cells, on any backend.

:func:`calibration_grid` runs the two methods of :func:`calibrate_mmr`, which answer two
different questions, many times over:

* ``method="horizon"`` (default; returns in) — a **clearing house's** question: which rate
  covers the loss over a fixed margin period of risk :math:`h` with breach probability
  :math:`p`. The grid is assets × base horizons × targets × models (the quantile
  estimators): the :math:`(h, p)` plane that shows what a published rate covers.
* ``method="closeout"`` (bars in) — a **perpetual venue's** question: which maintenance rate
  keeps P(bad debt | liquidation) ≤ :math:`p` when the engine closes a liquidated position
  after its delay (:mod:`riskmodels.calibration.closeout`). The grid is assets × base
  close-out delays :math:`\Delta_0` (no venue publishes it) × targets: the
  :math:`(\Delta_0, p)` plane.

Every cell is one task of :func:`riskmodels.parallel.run_tasks`: in this process, in joblib's
loky processes, or on a dask.distributed cluster, with an optional on-disk cache that lets an
interrupted study resume.

>>> from riskmodels.calibration import calibration_grid               # doctest: +SKIP
>>> grid = calibration_grid({"1h": r1h, "4h": r4h, "1d": r1d}, ["BTC", "ETH"],
...                         horizons=["1h", "4h", "1D", "5D"], targets=[0.001, 0.005, 0.01],
...                         test_start="2024-01-01", backend="dask", n_jobs=4)
>>> grid.curve("BTC")          # first-bracket long MMR, horizon x target
>>> grid["BTC", "1D", 0.005, "historical"].tier_table("BTC")
>>> gap = calibration_grid({"BTC": [minute_bars, hourly_bars]}, method="closeout",
...                        delays=["30s", "1min", "5min"], targets=[0.001, 0.005],
...                        tiers={"BTC": binance_usdm_tiers()["BTC"]}, backend="loky", n_jobs=4)
>>> gap.curve("BTC")           # first-bracket long MMR, delay x target
>>> gap["BTC", "1min", 0.005, "closeout"].tier_table("BTC")

Determinism
-----------
A horizon cell is ``calibrate_mmr(returns[asset], asset, horizon, target, model=...,
seed=seed)``. Its bootstrap stream is :func:`~riskmodels.calibration.mmr.cell_seed` of the run
seed and the cell's (asset, side, data frequency, horizon in bars). A close-out cell is
``calibrate_mmr({asset: bars[asset]}, method="closeout", target=target, delay=delay,
seed=seed, ...)``, its streams :func:`~riskmodels.calibration.mmr.cell_seed` of the run seed
and (asset, side, bar length, bracket). Either way a cell's numbers are the same whichever
backend, worker count or task order ran it, and equal the stand-alone :func:`calibrate_mmr`
call with the same arguments.

Cells that cannot be calibrated
-------------------------------
A small target on a long horizon can need more windows than the history holds (a close-out
cell: more initial-margin windows than the bars hold). Such a cell raises
:class:`~riskmodels.exceptions.InsufficientDataError` in :func:`calibrate_mmr`; in a grid it
is a property of the study, not a failure: the cell keeps one row in
:attr:`CalibrationGrid.table` with NaN rates and the reason in ``note`` (``insufficient=
"raise"`` raises instead). Any other error fails the task (``on_task_error``). A close-out
bracket the data cannot identify is not an error: its row says ``identified`` False.
"""

from __future__ import annotations

import inspect
import itertools
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np
import pandas as pd

from riskmodels._display import esc, table_html
from riskmodels._frozen import freeze_mapping
from riskmodels._time import as_timedelta
from riskmodels.calibration.closeout import CloseoutCalibration, calibrate_closeout
from riskmodels.calibration.horizon import _freq_label, as_returns_by_freq, choose_data
from riskmodels.calibration.mmr import (
    _MODELS,
    _SIDES,
    MMRCalibration,
    _as_assets,
    _is_bars,
    _root_entropy,
    calibrate_mmr,
    check_target,
)
from riskmodels.exceptions import ConfigError, DataError, InsufficientDataError
from riskmodels.liquidation.rules import parse_duration
from riskmodels.margin import TierTable
from riskmodels.parallel import (
    RunOptions,
    TaskCache,
    TaskKey,
    check_backend,
    check_n_jobs,
    check_on_task_error,
    check_retries,
    failure_text,
    import_distributed,
    resolve_run_options,
    run_cached,
    warn_failed,
)

__all__ = ["CalibrationGrid", "calibration_grid"]

#: Columns in front of every row of :attr:`CalibrationGrid.table` (``method="horizon"``).
CELL_COLUMNS = ("asset", "base_horizon", "target", "model")
#: The same for ``method="closeout"``: ``delay`` is the base delay's label, ``method`` "closeout".
CLOSEOUT_CELL_COLUMNS = ("asset", "delay", "target", "method")
#: How ``CalibrationGrid.summary()``'s columns are shown by ``_repr_html_``.
_SUMMARY_KINDS = dict.fromkeys(
    ("target", "mmr_raw", "mmr_lo", "mmr_hi", "mmr", "imr", "breach_rate"), "pct"
) | {"liquidations": "count", "n_test": "count", "breaches": "count", "pvalue": "pvalue"}
#: Arguments of the horizon method with no meaning for the close-out one (and what to use).
_HORIZON_ONLY = {
    "adv": "volume={asset: USD per day} (the default reads it from the bars' quote_volume)",
    "test_start": "holdout=True (leave one crash window out)",
    "buffer": "im_horizon= and im_target= (the IM is the entry excursion's quantile)",
    "buffer_kind": "im_horizon= and im_target=",
    "block_length": "nothing (the bootstrap resamples whole days)",
    "regimes": "nothing",
}
#: calibrate_closeout arguments the grid sets itself (the cell's axes and shared arguments).
_CLOSEOUT_SET = frozenset(
    {"bars", "tiers", "target", "delay", "side", "participation", "impact_coefficient",
     "impact_exponent", "n_boot", "ci", "seed"}
)  # fmt: skip


@dataclass(frozen=True, eq=False)
class _Cell:
    """One grid task: a calibrate_mmr call. ``data`` is None when shipped to dask (the workers
    hold the scattered returns)."""

    number: int
    asset: str
    horizon: pd.Timedelta
    target: float
    model: str
    data: dict[pd.Timedelta, pd.DataFrame] | None
    kwargs: dict[str, Any]
    insufficient: str


@dataclass(frozen=True, eq=False)
class _CloseoutCell:
    """One close-out grid task: ``calibrate_mmr({asset: data}, method="closeout", ...)``.
    ``data`` is the asset's bars as given (a frame or a list of frames), None when shipped to
    dask (the workers hold the scattered bars)."""

    number: int
    asset: str
    delay: pd.Timedelta
    target: float
    data: Any
    kwargs: dict[str, Any]
    insufficient: str


@dataclass(frozen=True, eq=False)
class _CellOutput:
    calibration: MMRCalibration | CloseoutCalibration | None
    note: str | None
    warnings: list[Any] = field(default_factory=list)


def _run_cell(shared: Mapping[pd.Timedelta, pd.DataFrame] | None, cell: _Cell) -> _CellOutput:
    """Worker: one calibrate_mmr call; its warnings recorded for the parent."""
    data = cell.data
    if data is None:  # dask: slice the asset from the scattered frames
        assert shared is not None
        data = {f: d[[cell.asset]] for f, d in shared.items() if cell.asset in d.columns}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            cal = calibrate_mmr(
                data,
                cell.asset,
                cell.horizon,
                cell.target,
                model=cell.model,
                **cell.kwargs,
            )
        except InsufficientDataError as exc:
            if cell.insufficient == "raise":
                raise
            return _CellOutput(None, f"{type(exc).__name__}: {exc}", list(caught))
    return _CellOutput(cal, None, list(caught))


def _run_closeout_cell(shared: Mapping[str, Any] | None, cell: _CloseoutCell) -> _CellOutput:
    """Worker: one close-out calibration; its warnings recorded for the parent."""
    data = cell.data
    if data is None:  # dask: the asset's bars from the scattered mapping
        assert shared is not None
        data = shared[cell.asset]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            cal = calibrate_mmr(
                {cell.asset: data},
                method="closeout",
                target=cell.target,
                delay=cell.delay,
                **cell.kwargs,
            )
        except InsufficientDataError as exc:
            if cell.insufficient == "raise":
                raise
            return _CellOutput(None, f"{type(exc).__name__}: {exc}", list(caught))
    return _CellOutput(cal, None, list(caught))


def _strip(cell: _Cell | _CloseoutCell) -> _Cell | _CloseoutCell:
    return replace(cell, data=None)


def _cell_key(cell: _Cell, version: str) -> str:
    key = TaskKey()
    assert cell.data is not None
    for f in sorted(cell.data):
        key.frame(f"returns[{f.value}]", cell.data[f])
    key.put("asset", cell.asset).put("horizon", str(cell.horizon.value))
    key.put("target", repr(float(cell.target))).put("model", cell.model)
    for name in sorted(cell.kwargs):
        key.spec(f"kwargs.{name}", cell.kwargs[name])
    key.put("insufficient", cell.insufficient)
    return key.put("version", version).hexdigest()


def _put_frame(key: TaskKey, tag: str, frame: pd.DataFrame | pd.Series) -> None:
    """A bar frame (or series) in a cache key: its numeric columns' values and index
    (:meth:`TaskKey.frame`), any other column, and its ``attrs`` (``price_type``, ``windows``:
    the engine reads them)."""
    f = frame.to_frame() if isinstance(frame, pd.Series) else frame
    if not isinstance(f.index, pd.DatetimeIndex | pd.TimedeltaIndex):
        key.spec(tag, f)  # not bars (TaskKey.frame reads a time index): its pickle
        return
    numeric = [c for c in f.columns if pd.api.types.is_numeric_dtype(f[c])]
    values = pd.DataFrame(
        {c: f[c].to_numpy(dtype="float64", na_value=np.nan) for c in numeric}, index=f.index
    )
    key.frame(tag, values)
    for c in f.columns:
        if c not in numeric:
            key.spec(f"{tag}[{c!r}]", f[c].tolist())
    key.spec(f"{tag}.attrs", dict(f.attrs))


def _put_value(key: TaskKey, tag: str, value: Any) -> None:
    """An argument in a cache key: frames by content, mappings and lists of them entry by
    entry, anything else by :meth:`TaskKey.spec`."""
    if isinstance(value, pd.DataFrame | pd.Series):
        _put_frame(key, tag, value)
    elif isinstance(value, Mapping) and any(
        isinstance(v, pd.DataFrame | pd.Series) for v in value.values()
    ):
        key.put(tag, repr(sorted(str(k) for k in value)))
        for k in sorted(value, key=str):
            _put_value(key, f"{tag}[{str(k)!r}]", value[k])
    elif isinstance(value, list | tuple) and any(
        isinstance(v, pd.DataFrame | pd.Series) for v in value
    ):
        key.put(tag, f"{type(value).__name__}[{len(value)}]")
        for j, v in enumerate(value):
            _put_value(key, f"{tag}[{j}]", v)
    else:
        key.spec(tag, value)


def _closeout_key(cell: _CloseoutCell, version: str) -> str:
    key = TaskKey().put("method", "closeout")
    assert cell.data is not None
    _put_value(key, "bars", cell.data)
    key.put("asset", cell.asset).put("delay", str(cell.delay.value))
    key.put("target", repr(float(cell.target)))
    for name in sorted(cell.kwargs):
        _put_value(key, f"kwargs.{name}", cell.kwargs[name])
    key.put("insufficient", cell.insufficient)
    return key.put("version", version).hexdigest()


def _column(t: pd.DataFrame, name: str) -> pd.Series:
    """``t[name]``, or NaN where the table lacks it (every cell not calibrated)."""
    return t[name] if name in t.columns else pd.Series(np.nan, index=t.index)


def _as_list(value: Any, name: str) -> list[Any]:
    out = [value] if isinstance(value, str | float | int | pd.Timedelta) else list(value)
    if not out:
        raise ConfigError(f"{name} is empty: give at least one value.")
    return out


def _tiers_for(tiers: Any, assets: Sequence[str]) -> dict[str, Any]:
    if tiers is None or isinstance(tiers, TierTable) or not isinstance(tiers, Mapping):
        return dict.fromkeys(assets, tiers)
    missing = [a for a in assets if a not in tiers]
    if missing:
        raise ConfigError(
            f"tiers is a mapping without an entry for {missing} (has {sorted(tiers)}). Give "
            "every asset its table, e.g. {a: tables.get(a, tables['BTC']) for a in assets}."
        )
    return {a: tiers[a] for a in assets}


# -- the result ----------------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class CalibrationGrid:
    r"""Result of :func:`calibration_grid`.

    Attributes
    ----------
    table : DataFrame
        ``method="horizon"``: every row of every cell's :attr:`MMRCalibration.table`, led by
        ``asset``, ``base_horizon``, ``target``, ``model``. ``method="closeout"``: every row
        (asset, side, bracket) of every cell's :attr:`CloseoutCalibration.table`, led by
        ``asset``, ``delay`` (the base delay :math:`\Delta_0` of the cell, e.g. ``"1min"``;
        ``delay_seconds`` is the bracket's :math:`\Delta(N)`), ``target``, ``method``
        (``"closeout"``). Then ``note``: None, or why the cell could not be calibrated (one
        row with NaN rates). Cells are in grid order (assets, then horizons or delays,
        targets, models).
    breaches : DataFrame
        Every cell's :attr:`MMRCalibration.breaches` (horizon), or its pooled out-of-sample
        :attr:`CloseoutCalibration.oos_summary` (close-out, with ``holdout=True``), led by
        the same four columns.
    calibrations : dict
        ``(asset, horizon label, target, model)`` -> :class:`MMRCalibration`, or
        ``(asset, delay label, target, "closeout")`` -> :class:`CloseoutCalibration`
        (calibrated cells only; also reachable as ``grid[asset, horizon, target, model]`` or
        ``grid[asset, delay, target, "closeout"]``).
    config : dict
        ``method``; the grid (``assets``, ``horizons``, ``targets``, ``models``, or
        ``assets``, ``delays``, ``targets``), the shared arguments, ``seed``, ``backend``,
        ``n_workers``, ``n_tasks``, ``cache_dir``, ``cache_hits``, ``retried``,
        ``failed_tasks`` and ``not_calibrated``.
    elapsed : float
        Seconds.
    """

    table: pd.DataFrame
    breaches: pd.DataFrame
    calibrations: Mapping[tuple[str, str, float, str], MMRCalibration | CloseoutCalibration]
    config: Mapping[str, Any]
    elapsed: float = 0.0

    @property
    def method(self) -> str:
        """``"horizon"`` or ``"closeout"``."""
        return str(self.config.get("method", "horizon"))

    def __getitem__(self, key: tuple[str, Any, float, str]) -> MMRCalibration | CloseoutCalibration:
        asset, horizon, target, model = key
        if self.method == "closeout":
            label = _freq_label(parse_duration(horizon, "delay"))
        else:
            label = _freq_label(as_timedelta(horizon, "horizon"))
        try:
            return self.calibrations[(asset, label, float(target), model)]
        except KeyError:
            raise KeyError(
                f"no calibration for {(asset, label, float(target), model)}; calibrated cells: "
                f"{sorted(self.calibrations)[:8]}{' ...' if len(self.calibrations) > 8 else ''}"
            ) from None

    def curve(
        self,
        asset: str | None = None,
        side: Literal["long", "short"] = "long",
        bracket: int = 1,
        model: str | None = None,
        value: str = "mmr",
    ) -> pd.DataFrame:
        """One bracket's rate across the (horizon, target) plane, or (delay, target) plane
        for ``method="closeout"``.

        Parameters
        ----------
        asset : str, optional
            Default: the first asset.
        side : {"long", "short"}, default "long"
        bracket : int, default 1
        model : str, optional
            Default: the first model (``method="closeout"``: None or ``"closeout"``).
        value : str, default "mmr"
            Any numeric column of :attr:`table` (``"mmr_hi"``, ``"breach_rate"``, ...).

        Returns
        -------
        DataFrame
            Index the base horizons or base delays (ascending), columns the targets; NaN
            where the cell could not be calibrated (or, close-out, the bracket was not
            identified).
        """
        if self.method == "closeout":
            return self._closeout_curve(asset, side, bracket, model, value)
        asset = self.config["assets"][0] if asset is None else asset
        model = self.config["models"][0] if model is None else model
        t = self.table
        sel = t[(t["asset"] == asset) & (t["model"] == model)]
        if sel.empty:
            raise ConfigError(
                f"no rows for asset {asset!r} and model {model!r} (assets "
                f"{list(self.config['assets'])}, models {list(self.config['models'])})."
            )
        if value not in t.columns:
            raise ConfigError(f"value {value!r} is not a column of the table ({list(t.columns)}).")
        keep = sel["note"].notna() | ((sel["side"] == side) & (sel["bracket"] == bracket))
        out = sel[keep].pivot_table(
            index="base_horizon", columns="target", values=value, aggfunc="first", dropna=False
        )
        order = sorted(out.index, key=as_timedelta)
        return out.reindex(index=order, columns=sorted(self.config["targets"]))

    def _closeout_curve(
        self, asset: str | None, side: str, bracket: int, model: str | None, value: str
    ) -> pd.DataFrame:
        asset = self.config["assets"][0] if asset is None else asset
        if model not in (None, "closeout"):
            raise ConfigError(
                f"a method='closeout' grid has no models (got model={model!r}): leave it None."
            )
        t = self.table
        sel = t[t["asset"] == asset]
        if sel.empty:
            raise ConfigError(
                f"no rows for asset {asset!r} (assets {list(self.config['assets'])})."
            )
        if value not in t.columns:
            raise ConfigError(f"value {value!r} is not a column of the table ({list(t.columns)}).")
        keep = sel["note"].notna() | (
            (_column(sel, "side") == side) & (_column(sel, "bracket") == bracket)
        )
        out = sel[keep].pivot_table(
            index="delay", columns="target", values=value, aggfunc="first", dropna=False
        )
        order = sorted(self.config["delays"], key=lambda d: parse_duration(d, "delay"))
        return out.reindex(index=order, columns=sorted(self.config["targets"]))

    def summary(self) -> pd.DataFrame:
        """One row per cell: its first bracket's long and short MMR with the bootstrap interval
        and the out-of-sample breach count (close-out: the bracket's delay, resolution,
        leverage and liquidations)."""
        t = self.table
        if self.method == "closeout":
            first = t[t["note"].notna() | (_column(t, "bracket") == 1)]
            cols = [
                *CLOSEOUT_CELL_COLUMNS,
                "side",
                "delay_seconds",
                "resolution",
                "identified",
                "leverage",
                "liquidations",
                "mmr_raw",
                "mmr_lo",
                "mmr_hi",
                "mmr",
                "imr",
                "max_leverage",
                "note",
            ]
            return first.reindex(columns=cols).reset_index(drop=True)
        first = t[t["note"].notna() | (t["bracket"] == 1)]
        cols = [
            *CELL_COLUMNS,
            "side",
            "data_freq",
            "mmr",
            "mmr_lo",
            "mmr_hi",
            "max_leverage",
            "n_test",
            "breaches",
            "breach_rate",
            "pvalue",
            "note",
        ]
        return first[cols].reset_index(drop=True)

    def __repr__(self) -> str:
        c = self.config
        axes = ("delays",) if self.method == "closeout" else ("horizons",)
        names = ["assets", *axes, "targets", *(() if self.method == "closeout" else ("models",))]
        parts = []
        for n in names:
            vals = [str(v) for v in c.get(n, ())]
            shown = ", ".join(vals[:5]) + (f", … (+{len(vals) - 5})" if len(vals) > 5 else "")
            parts.append(f"{len(vals)} {n} [{shown}]")
        return (
            f"CalibrationGrid(method={self.method!r}: {' × '.join(parts)} = "
            f"{c.get('n_tasks', len(self.calibrations))} cells; {len(self.calibrations)} "
            f"calibrated, {len(c.get('not_calibrated', ()))} not calibrated, "
            f"{len(c.get('failed_tasks', ()))} failed; {c.get('backend', '?')} "
            f"({c.get('n_workers', '?')} worker(s)), {self.elapsed:.1f} s; "
            f"table {len(self.table)} rows: .summary(), .curve(asset))"
        )

    def _repr_html_(self) -> str:
        c = self.config
        if self.method == "closeout":
            head = (
                f"<p><b>Calibration grid (close-out gap)</b>: {len(c['assets'])} asset(s) × "
                f"{len(c['delays'])} delay(s) × {len(c['targets'])} target(s) = "
                f"{c['n_tasks']} cells on {esc(c['backend'])} ({c['n_workers']} "
                f"worker(s)), {self.elapsed:.1f} s; {len(c['not_calibrated'])} not calibrated, "
                f"{len(c['failed_tasks'])} failed.</p>"
            )
            return head + table_html(self.summary(), _SUMMARY_KINDS)
        head = (
            f"<p><b>Calibration grid</b>: {len(c['assets'])} asset(s) × {len(c['horizons'])} "
            f"horizon(s) × {len(c['targets'])} target(s) × {len(c['models'])} model(s) = "
            f"{c['n_tasks']} cells on {esc(c['backend'])} ({c['n_workers']} "
            f"worker(s)), {self.elapsed:.1f} s; {len(c['not_calibrated'])} not calibrated, "
            f"{len(c['failed_tasks'])} failed.</p>"
        )
        return head + table_html(self.summary(), _SUMMARY_KINDS)


# -- the grid ------------------------------------------------------------------------------------
def calibration_grid(
    returns: pd.DataFrame | Mapping[str, pd.DataFrame],
    assets: str | Sequence[str] | None = None,
    horizons: Any = None,
    targets: float | Sequence[float] = (0.005,),
    *,
    method: Literal["horizon", "closeout"] = "horizon",
    delays: Any = None,
    models: str | Sequence[str] = ("historical",),
    tiers: TierTable | Sequence[float] | Mapping[str, Any] | None = None,
    side: Literal["long", "short", "both"] = "both",
    adv: Mapping[str, float] | None = None,
    participation: float = 0.10,
    impact_coefficient: float = 1.0,
    impact_exponent: float = 0.5,
    test_start: Any = None,
    buffer: float = 1.0,
    buffer_kind: Literal["multiplicative", "additive"] = "multiplicative",
    n_boot: int = 500,
    ci: float = 0.95,
    block_length: int | None = None,
    regimes: pd.Series | None = None,
    seed: int | np.random.SeedSequence | np.random.Generator = 0,
    insufficient: Literal["record", "raise"] = "record",
    backend: str = "loky",
    n_jobs: int | None = None,
    scheduler: Any = None,
    cache_dir: Any = None,
    retries: int = 1,
    on_task_error: str = "raise",
    progress: bool = True,
    run: RunOptions | None = None,
    **closeout: Any,
) -> CalibrationGrid:
    r"""Static MMR calibrations over a grid of cells, one task each: assets × base horizons ×
    targets × models (``method="horizon"``), or assets × base close-out delays × targets
    (``method="closeout"``).

    Parameters
    ----------
    returns : DataFrame or mapping of str to DataFrame
        ``method="horizon"``: as :func:`calibrate_mmr`, decimal log returns, or several
        frequencies ``{"1h": r1h, "4h": r4h, "1d": r1d}``. ``method="closeout"``: bars, a
        mapping asset -> bar frame (open/high/low/close, mark or perpetual last price, UTC
        index) or list of bar frames, finest first (``{"BTC": [minute_bars, hourly_bars]}``);
        a single frame is the asset ``assets`` (a str) or ``attrs["symbol"]``.
    assets : str or sequence of str, optional
        Default: every column of the first frame (close-out: every key of the bars).
    horizons : str, Timedelta or sequence, optional
        ``method="horizon"`` only. Base liquidation horizons; each must reach at least the
        shortest bar. Default ("1d",).
    targets : float or sequence of float, default (0.005,)
        Breach probabilities in (0, 1) (close-out: P(bad debt | liquidation)).
    method : {"horizon", "closeout"}, default "horizon"
        Which question (module docstring). Every argument of a horizon grid means what it
        meant before ``method`` existed, and its cache keys are unchanged.
    delays : str, Timedelta or sequence, optional
        ``method="closeout"`` only: the engine's base delays :math:`\Delta_0` (the ``delay``
        of :func:`~riskmodels.calibration.closeout.calibrate_closeout`), e.g.
        ``["30s", "1min", "5min"]``; the time to sell is added per bracket. Default
        ("1min",).
    models : str or sequence of str, default ("historical",)
        ``method="horizon"`` only. Quantile estimators (``"historical"``, ``"evt"``, ``"t"``,
        ``"normal"``, ``"cornish_fisher"``).
    tiers : TierTable, sequence of float, or mapping of asset to either, optional
        Notional brackets for every asset, or per asset (every asset needs an entry).
        ``method="closeout"`` needs TierTables: the reference brackets and the maximum
        leverage the positions open at.
    side, participation, impact_coefficient, impact_exponent, n_boot, ci, seed
        As :func:`calibrate_mmr`, the same for every cell (both methods).
    adv, test_start, buffer, buffer_kind, block_length, regimes
        As :func:`calibrate_mmr`, ``method="horizon"`` only (a close-out grid refuses them
        and names its counterpart).
    insufficient : {"record", "raise"}, default "record"
        A cell with too little data (:class:`~riskmodels.exceptions.InsufficientDataError`):
        keep it as a NaN row with the reason in ``note``, or raise.
    backend : {"loky", "dask", "sequential"}, default "loky"
        Where the cells run (:mod:`riskmodels.parallel`); the numbers do not depend on it.
    n_jobs : int, optional
        Workers (-1 every core). Default: 1 for loky (this process), 2 for a dask
        LocalCluster.
    scheduler : str or distributed.Client, optional
        ``backend="dask"`` only: an existing cluster; None starts a LocalCluster for the run.
    cache_dir : str or path, optional
        Each cell's result is stored there as it finishes, keyed by a SHA-256 of the asset's
        returns at every frequency, the cell, the shared arguments, the seed and the package
        version; a re-run loads what is there (an interrupted grid resumes). Only a
        directory you trust: entries are unpickled.
    retries : int, default 1
        Re-runs of a cell after a worker crash.
    on_task_error : {"raise", "partial"}, default "raise"
        A cell that fails for good: raise its error, or return the others with the failure
        in ``config["failed_tasks"]`` and a :class:`~riskmodels.exceptions.RiskModelsWarning`.
    progress : bool, default True
        A tqdm bar over cells (and the dask dashboard link).
    run : RunOptions, optional
        The run options as one object (:class:`riskmodels.parallel.RunOptions`, e.g.
        ``RunOptions.from_config(config)``) instead of ``backend`` ... ``progress``; giving
        both is refused when they disagree.
    **closeout
        ``method="closeout"`` only: the other keyword options of
        :func:`~riskmodels.calibration.closeout.calibrate_closeout` (``origin_every``,
        ``holdout``, ``grid_size``, ``im_bars``, ``funding``, ``volume``, ``leverage``, ...),
        the same for every cell. ``im_bars`` and ``funding`` reach each cell as its asset's
        entry only (the calibration reads no other).

    Returns
    -------
    CalibrationGrid

    Raises
    ------
    ConfigError
        An empty or invalid grid axis (target outside (0, 1), unknown model, a horizon
        shorter than every bar, a negative delay), duplicate grid values, a tiers mapping
        without an asset, a bad backend option, ``insufficient`` not "record"/"raise"; an
        argument of the other method (``delays`` or close-out options with
        ``method="horizon"``; ``horizons``, ``models``, ``adv``, ``test_start``, ... with
        ``method="closeout"``), returns where bars are needed, tiers that are not TierTables
        for ``method="closeout"``, an unknown close-out option.
    DataError
        An asset missing from every frequency (close-out: from the bars).
    InsufficientDataError
        With ``insufficient="raise"``, a cell with too little data.

    Notes
    -----
    Each horizon cell equals ``calibrate_mmr(returns, asset, horizon, target, model=model,
    ..., seed=seed)``, each close-out cell ``calibrate_mmr({asset: bars[asset]},
    method="closeout", tiers=tiers[asset], target=target, delay=delay, ..., seed=seed,
    **closeout)``: the bootstrap streams are keyed by the cell (:func:`cell_seed`), not drawn in
    sequence, which is what makes the grid independent of scheduling.
    """
    t0 = time.perf_counter()
    opts = resolve_run_options(
        run,
        backend=backend,
        n_jobs=n_jobs,
        scheduler=scheduler,
        cache_dir=cache_dir,
        retries=retries,
        on_task_error=on_task_error,
        progress=progress,
    )
    backend, n_jobs, scheduler = opts.backend, opts.n_jobs, opts.scheduler
    cache_dir, retries, on_task_error = opts.cache_dir, opts.retries, opts.on_task_error
    progress = opts.progress
    if method not in ("horizon", "closeout"):
        raise ConfigError(
            f"method must be 'horizon' (returns, a fixed liquidation horizon) or 'closeout' "
            f"(bars, the close-out gap) (got {method!r})."
        )
    if method == "closeout":
        horizon_only = {
            "adv": adv is not None,
            "test_start": test_start is not None,
            "buffer": buffer != 1.0,
            "buffer_kind": buffer_kind != "multiplicative",
            "block_length": block_length is not None,
            "regimes": regimes is not None,
        }
        return _closeout_grid(
            returns,
            assets,
            targets,
            t0=t0,
            horizons=horizons,
            delays=delays,
            models=models,
            horizon_only=[k for k, given in horizon_only.items() if given],
            tiers=tiers,
            side=side,
            participation=participation,
            impact_coefficient=impact_coefficient,
            impact_exponent=impact_exponent,
            n_boot=n_boot,
            ci=ci,
            seed=seed,
            insufficient=insufficient,
            backend=backend,
            n_jobs=n_jobs,
            scheduler=scheduler,
            cache_dir=cache_dir,
            retries=retries,
            on_task_error=on_task_error,
            progress=progress,
            options=closeout,
        )
    if delays is not None:
        raise ConfigError(
            "delays are the close-out delays of method='closeout'; the horizon method takes "
            "horizons=['1d', ...] instead (or pass method='closeout' with bars)."
        )
    if closeout:
        raise ConfigError(
            f"{sorted(closeout)} are options of method='closeout' (or not arguments of "
            "calibration_grid at all); the horizon method does not take them."
        )
    if horizons is None:
        horizons = ("1d",)
    data = as_returns_by_freq(returns)
    freqs = list(data)
    first = data[freqs[0]]
    names = _as_assets(assets, [str(c) for c in first.columns])
    for a in names:
        if not any(a in d.columns for d in data.values()):
            raise DataError(
                f"asset {a!r} is in none of the returns frames (columns "
                f"{sorted({str(c) for d in data.values() for c in d.columns})})."
            )
    hs = [as_timedelta(h, "horizons") for h in _as_list(horizons, "horizons")]
    for h in hs:
        choose_data(h, freqs)  # a horizon shorter than every bar raises
    ps = [check_target(p) for p in _as_list(targets, "targets")]
    ms = [str(m) for m in _as_list(models, "models")]
    for m in ms:
        if m not in _MODELS:
            raise ConfigError(f"models must be among {_MODELS} (got {m!r}).")
    for axis, vals in (("assets", names), ("horizons", hs), ("targets", ps), ("models", ms)):
        if len(set(vals)) != len(vals):
            raise ConfigError(f"{axis} has duplicates ({vals}); give each value once.")
    if side not in _SIDES:
        raise ConfigError(f"side must be one of {_SIDES} (got {side!r}).")
    if insufficient not in ("record", "raise"):
        raise ConfigError(
            f"insufficient must be 'record' or 'raise' (got {insufficient!r}): what to do with "
            "a cell that has too little data for its horizon and target."
        )
    n_jobs, backend, retries, on_task_error, cache = _run_settings(
        n_jobs, backend, scheduler, retries, on_task_error, cache_dir
    )
    root = _root_entropy(seed)
    per_asset_tiers = _tiers_for(tiers, names)
    shared_kwargs: dict[str, Any] = {
        "side": side,
        "adv": dict(adv) if adv is not None else None,
        "participation": participation,
        "impact_coefficient": impact_coefficient,
        "impact_exponent": impact_exponent,
        "test_start": test_start,
        "buffer": buffer,
        "buffer_kind": buffer_kind,
        "n_boot": n_boot,
        "ci": ci,
        "block_length": block_length,
        "regimes": regimes,
        "seed": np.random.SeedSequence(root),
    }
    # Rows the cells read: each asset's column at every frequency that has it.
    per_asset = {a: {f: d[[a]] for f, d in data.items() if a in d.columns} for a in names}
    cells = [
        _Cell(
            number=i,
            asset=a,
            horizon=h,
            target=p,
            model=m,
            data=per_asset[a],
            kwargs={**shared_kwargs, "tiers": per_asset_tiers[a]},
            insufficient=insufficient,
        )
        for i, (a, h, p, m) in enumerate(itertools.product(names, hs, ps, ms))
    ]

    got = run_cached(
        _run_cell,
        cells,
        output_type=_CellOutput,
        key=_cell_key,
        cache=cache,
        on_task_error=on_task_error,
        progress=progress,
        label="calibration_grid",
        unit="cell",
        shared=data if backend == "dask" else None,
        strip=_strip,
        backend=backend,
        n_jobs=n_jobs,
        scheduler=scheduler,
        retries=retries,
    )
    outputs, task_run, cache_hits = got.outputs, got.run, got.cache_hits

    tables, breaches = [], []
    calibrations: dict[tuple[str, str, float, str], MMRCalibration] = {}
    not_calibrated = []
    for i, c in enumerate(cells):
        if i not in outputs:
            continue
        lead: dict[str, Any] = {
            "asset": c.asset,
            "base_horizon": _freq_label(c.horizon),
            "target": c.target,
            "model": c.model,
        }
        out = outputs[i]
        if out.calibration is None:
            not_calibrated.append({**lead, "note": out.note})
            tables.append(pd.DataFrame([{**lead, "note": out.note}]))
            continue
        calibrations[(c.asset, lead["base_horizon"], c.target, c.model)] = out.calibration
        t = out.calibration.table.drop(columns=["asset"])
        b = out.calibration.breaches.drop(columns=["asset"])
        for frame in (t, b):
            for pos, (k, v) in enumerate(lead.items()):
                frame.insert(pos, k, v)
        t["note"] = None
        tables.append(t)
        breaches.append(b)
    run_part = _run_record(
        task_run,
        [f"{c.asset}/{_freq_label(c.horizon)}/{c.target:g}/{c.model}" for c in cells],
        cache=cache,
        cache_hits=cache_hits,
        retries=retries,
        on_task_error=on_task_error,
        not_calibrated=not_calibrated,
    )
    table = _concat(tables)
    config = {
        "method": "horizon",
        "assets": tuple(names),
        "horizons": tuple(_freq_label(h) for h in hs),
        "targets": tuple(ps),
        "models": tuple(ms),
        **{k: v for k, v in shared_kwargs.items() if k not in ("regimes", "seed")},
        "tiers": {a: _tiers_repr(t) for a, t in per_asset_tiers.items()},
        "regimes": None if regimes is None else "given",
        "seed": root,
        "insufficient": insufficient,
        **run_part,
    }
    return CalibrationGrid(
        table=table,
        breaches=_concat(breaches),
        calibrations=calibrations,
        config=freeze_mapping(config),
        elapsed=time.perf_counter() - t0,
    )


def _closeout_grid(
    bars: Any,
    assets: str | Sequence[str] | None,
    targets: float | Sequence[float],
    *,
    t0: float,
    horizons: Any,
    delays: Any,
    models: str | Sequence[str],
    horizon_only: list[str],
    tiers: Any,
    side: str,
    participation: float,
    impact_coefficient: float,
    impact_exponent: float,
    n_boot: int,
    ci: float,
    seed: Any,
    insufficient: str,
    backend: str,
    n_jobs: int | None,
    scheduler: Any,
    cache_dir: Any,
    retries: int,
    on_task_error: str,
    progress: bool,
    options: dict[str, Any],
) -> CalibrationGrid:
    """:func:`calibration_grid` with ``method="closeout"``: assets × delays × targets."""
    if horizons is not None:
        raise ConfigError(
            "method='closeout' has no fixed horizon: pass delays=['30s', '1min', ...] (the "
            "engine's base close-out delay; the time to sell is added per bracket) instead of "
            "horizons."
        )
    if [str(m) for m in _as_list(models, "models")] != ["historical"]:
        raise ConfigError(
            f"models do not apply to method='closeout' (got {models!r}): the rate is solved "
            "from the engine's liquidation counts, not a quantile estimator. Drop models=, or "
            "use method='horizon'."
        )
    if horizon_only:
        fixes = "; ".join(f"{k}: {_HORIZON_ONLY[k]}" for k in horizon_only)
        raise ConfigError(
            f"{horizon_only} are arguments of method='horizon' only; with method='closeout' "
            f"drop them (instead: {fixes})."
        )
    if "delay" in options:
        raise ConfigError(
            "pass the close-out delay as delays=[...] (a grid axis), not delay=; e.g. "
            f"delays=[{options['delay']!r}]."
        )
    allowed = {
        name
        for name, par in inspect.signature(calibrate_closeout).parameters.items()
        if par.kind is inspect.Parameter.KEYWORD_ONLY
    } - _CLOSEOUT_SET
    unknown = sorted(set(options) - allowed)
    if unknown:
        raise ConfigError(
            f"{unknown} are not arguments of calibration_grid or options of calibrate_closeout "
            f"(options: {sorted(allowed)})."
        )
    if isinstance(bars, pd.DataFrame) and _is_bars(bars):
        name = assets if isinstance(assets, str) else str(bars.attrs.get("symbol", "asset"))
        bars = {name: bars}
    if not isinstance(bars, Mapping) or not _is_bars(bars):
        raise ConfigError(
            "method='closeout' needs bars: a mapping asset -> bar frame (open/high/low/close, "
            "mark or perp last price, UTC index) or list of bar frames, finest first, e.g. "
            "{'BTC': MirrorSource().bars('BTC', '1m', 'perp')}; not returns."
        )
    by_asset = {str(k): v for k, v in bars.items()}
    names = _as_assets(assets, list(by_asset))
    missing = [a for a in names if a not in by_asset]
    if missing:
        raise DataError(f"no bars for {missing} (have {sorted(by_asset)}).")
    ds = [
        parse_duration(d, "delays")
        for d in _as_list(("1min",) if delays is None else delays, "delays")
    ]
    ps = [check_target(p) for p in _as_list(targets, "targets")]
    for axis, vals in (("assets", names), ("delays", ds), ("targets", ps)):
        if len(set(vals)) != len(vals):
            raise ConfigError(f"{axis} has duplicates ({vals}); give each value once.")
    if side not in _SIDES:
        raise ConfigError(f"side must be one of {_SIDES} (got {side!r}).")
    if insufficient not in ("record", "raise"):
        raise ConfigError(
            f"insufficient must be 'record' or 'raise' (got {insufficient!r}): what to do with "
            "a cell that has too little data for its delay and target."
        )
    per_asset_tiers = _tiers_for(tiers, names)
    bad = [a for a, t in per_asset_tiers.items() if not isinstance(t, TierTable)]
    if bad:
        raise ConfigError(
            f"method='closeout' needs tiers as a TierTable (or one per asset); {bad} have "
            f"{per_asset_tiers[bad[0]]!r}. The reference table's brackets and maximum leverage "
            "are where the positions open, e.g. tiers=binance_usdm_tiers()['BTC']."
        )
    n_jobs, backend, retries, on_task_error, cache = _run_settings(
        n_jobs, backend, scheduler, retries, on_task_error, cache_dir
    )
    root = _root_entropy(seed)
    shared_kwargs: dict[str, Any] = {
        "side": side,
        "participation": participation,
        "impact_coefficient": impact_coefficient,
        "impact_exponent": impact_exponent,
        "n_boot": n_boot,
        "ci": ci,
        "seed": np.random.SeedSequence(root),
    }

    def options_for(asset: str) -> dict[str, Any]:
        # per-asset mappings of data reach a cell as its asset's entry (the only one it reads)
        out = dict(options)
        for k in ("im_bars", "funding"):
            if isinstance(out.get(k), Mapping):
                out[k] = {a: v for a, v in out[k].items() if a == asset}
        return out

    cells = [
        _CloseoutCell(
            number=i,
            asset=a,
            delay=d,
            target=p,
            data=by_asset[a],
            kwargs={**shared_kwargs, "tiers": per_asset_tiers[a], **options_for(a)},
            insufficient=insufficient,
        )
        for i, (a, d, p) in enumerate(itertools.product(names, ds, ps))
    ]
    got = run_cached(
        _run_closeout_cell,
        cells,
        output_type=_CellOutput,
        key=_closeout_key,
        cache=cache,
        on_task_error=on_task_error,
        progress=progress,
        label="calibration_grid",
        unit="cell",
        shared={a: by_asset[a] for a in names} if backend == "dask" else None,
        strip=_strip,
        backend=backend,
        n_jobs=n_jobs,
        scheduler=scheduler,
        retries=retries,
    )
    outputs, run, cache_hits = got.outputs, got.run, got.cache_hits

    tables, oos = [], []
    calibrations: dict[tuple[str, str, float, str], MMRCalibration | CloseoutCalibration] = {}
    not_calibrated = []
    for i, c in enumerate(cells):
        if i not in outputs:
            continue
        lead: dict[str, Any] = {
            "asset": c.asset,
            "delay": _freq_label(c.delay),
            "target": c.target,
            "method": "closeout",
        }
        out = outputs[i]
        if out.calibration is None:
            not_calibrated.append({**lead, "note": out.note})
            tables.append(pd.DataFrame([{**lead, "note": out.note}]))
            continue
        calibrations[(c.asset, lead["delay"], c.target, "closeout")] = out.calibration
        t = out.calibration.table.drop(columns=["asset"])
        frames = [t]
        o = out.calibration.oos_summary
        if not o.empty:
            o = o.drop(columns=[c for c in lead if c in o.columns])  # asset, target
            frames.append(o)
            oos.append(o)
        for frame in frames:
            for pos, (k, v) in enumerate(lead.items()):
                frame.insert(pos, k, v)
        t["note"] = None
        tables.append(t)
    run_part = _run_record(
        run,
        [f"{c.asset}/{_freq_label(c.delay)}/{c.target:g}/closeout" for c in cells],
        cache=cache,
        cache_hits=cache_hits,
        retries=retries,
        on_task_error=on_task_error,
        not_calibrated=not_calibrated,
    )
    config = {
        "method": "closeout",
        "assets": tuple(names),
        "delays": tuple(_freq_label(d) for d in ds),
        "targets": tuple(ps),
        **{k: v for k, v in shared_kwargs.items() if k != "seed"},
        "options": {k: _option_repr(v) for k, v in options.items()},
        "tiers": {a: _tiers_repr(t) for a, t in per_asset_tiers.items()},
        "seed": root,
        "insufficient": insufficient,
        **run_part,
    }
    return CalibrationGrid(
        table=_concat(tables, CLOSEOUT_CELL_COLUMNS),
        breaches=_concat(oos, CLOSEOUT_CELL_COLUMNS),
        calibrations=calibrations,
        config=freeze_mapping(config),
        elapsed=time.perf_counter() - t0,
    )


def _run_settings(
    n_jobs: Any, backend: Any, scheduler: Any, retries: Any, on_task_error: Any, cache_dir: Any
) -> tuple[int, str, int, str, TaskCache | None]:
    """The checked run options of either method (one place for both)."""
    n_jobs = check_n_jobs(n_jobs)
    backend = check_backend(backend, scheduler)
    if backend == "dask":
        import_distributed()
    retries = check_retries(retries)
    on_task_error = check_on_task_error(on_task_error)
    return (
        n_jobs,
        backend,
        retries,
        on_task_error,
        (None if cache_dir is None else TaskCache(cache_dir)),
    )


def _run_record(
    run: Any,
    labels: Sequence[str],
    *,
    cache: TaskCache | None,
    cache_hits: int,
    retries: int,
    on_task_error: str,
    not_calibrated: list[dict[str, Any]],
) -> dict[str, Any]:
    """How the cells ran (the part of :attr:`CalibrationGrid.config` both methods share); warns
    about failed cells."""
    failed_tasks = [
        {"task": labels[i], "attempts": tries, "error": failure_text(exc)}
        for i, (exc, tries) in sorted(run.failures.items())
    ]
    warn_failed("calibration_grid", failed_tasks, len(labels), "cell(s) failed and are")
    return {
        "backend": run.backend,
        "n_workers": run.n_workers,
        "n_tasks": len(labels),
        "cache_dir": None if cache is None else str(cache.path),
        "cache_hits": cache_hits,
        "retries": retries,
        "retried": run.reruns,
        "on_task_error": on_task_error,
        "failed_tasks": tuple(failed_tasks),
        "not_calibrated": tuple(not_calibrated),
    }


def _concat(frames: list[pd.DataFrame], lead: Sequence[str] = CELL_COLUMNS) -> pd.DataFrame:
    if not frames:
        return pd.DataFrame(columns=[*lead, "note"])
    with warnings.catch_warnings():
        # all-NaN rows of uncalibrated cells: pandas warns about dtype inference on concat
        warnings.simplefilter("ignore", FutureWarning)
        return pd.concat(frames, ignore_index=True)


def _tiers_repr(t: Any) -> Any:
    if t is None:
        return None
    if isinstance(t, TierTable):
        return t.name
    return [float(u) for u in t]


def _option_repr(v: Any) -> Any:
    """A close-out option in ``config``: data (frames, or mappings of them) as ``"given"``."""
    if isinstance(v, pd.DataFrame | pd.Series):
        return "given"
    if isinstance(v, Mapping):
        return {str(k): _option_repr(x) for k, x in v.items()}
    if isinstance(v, list | tuple) and any(isinstance(x, pd.DataFrame | pd.Series) for x in v):
        return "given"
    return v
