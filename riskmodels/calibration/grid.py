r"""Calibration grids: :func:`calibrate_mmr` over assets × horizons × targets × models, on any
backend.

A calibration study asks the same question many times: which maintenance margin rate meets a
breach probability :math:`p` over a liquidation horizon :math:`h`, for each asset, each
estimator, and across the :math:`(h, p)` plane that shows what a published rate covers.
:func:`calibration_grid` runs every cell as one task through
:func:`riskmodels.parallel.run_tasks`: in this process, in joblib's loky processes, or on a
dask.distributed cluster, with an optional on-disk cache that lets an interrupted study resume.

>>> from riskmodels.calibration import calibration_grid               # doctest: +SKIP
>>> grid = calibration_grid({"1h": r1h, "4h": r4h, "1d": r1d}, ["BTC", "ETH"],
...                         horizons=["1h", "4h", "1D", "5D"], targets=[0.001, 0.005, 0.01],
...                         test_start="2024-01-01", backend="dask", n_jobs=4)
>>> grid.curve("BTC")          # first-bracket long MMR, horizon x target
>>> grid["BTC", "1D", 0.005, "historical"].tier_table("BTC")

Determinism
-----------
A cell is ``calibrate_mmr(returns[asset], asset, horizon, target, model=..., seed=seed)``.
Its bootstrap stream is :func:`~riskmodels.calibration.mmr.cell_seed` of the run seed and the
cell's (asset, side, data frequency, horizon in bars), so a cell's numbers are the same
whichever backend, worker count or task order ran it, and equal the stand-alone
:func:`calibrate_mmr` call with the same arguments.

Cells that cannot be calibrated
-------------------------------
A small target on a long horizon can need more windows than the history holds. Such a cell
raises :class:`~riskmodels.exceptions.InsufficientDataError` in :func:`calibrate_mmr`; in a
grid it is a property of the study, not a failure: the cell keeps one row in
:attr:`CalibrationGrid.table` with NaN rates and the reason in ``note`` (``insufficient=
"raise"`` raises instead). Any other error fails the task (``on_task_error``).
"""

from __future__ import annotations

import html
import itertools
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np
import pandas as pd

from riskmodels.backtest.results import _ReadOnlyDict
from riskmodels.calibration.horizon import _freq_label, as_returns_by_freq, choose_data
from riskmodels.calibration.mmr import (
    _MODELS,
    _SIDES,
    MMRCalibration,
    _as_assets,
    _root_entropy,
    calibrate_mmr,
    check_target,
)
from riskmodels.exceptions import ConfigError, DataError, InsufficientDataError
from riskmodels.margin import TierTable
from riskmodels.margin._common import as_timedelta
from riskmodels.parallel import (
    TaskCache,
    TaskKey,
    check_backend,
    check_n_jobs,
    check_on_task_error,
    check_retries,
    failure_text,
    import_distributed,
    run_cached,
    warn_failed,
)

__all__ = ["CalibrationGrid", "calibration_grid"]

#: Columns in front of every row of :attr:`CalibrationGrid.table`.
CELL_COLUMNS = ("asset", "base_horizon", "target", "model")


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
class _CellOutput:
    calibration: MMRCalibration | None
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


def _strip(cell: _Cell) -> _Cell:
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
@dataclass(frozen=True)
class CalibrationGrid:
    """Result of :func:`calibration_grid`.

    Attributes
    ----------
    table : DataFrame
        Every row of every cell's :attr:`MMRCalibration.table`, led by ``asset``,
        ``base_horizon``, ``target``, ``model``, plus ``note`` (None, or why the cell could
        not be calibrated: then one row with NaN rates). Cells are in grid order (assets,
        then horizons, targets, models).
    breaches : DataFrame
        Every cell's :attr:`MMRCalibration.breaches`, led by the same four columns.
    calibrations : dict
        ``(asset, horizon label, target, model)`` -> :class:`MMRCalibration` (calibrated
        cells only; also reachable as ``grid[asset, horizon, target, model]``).
    config : dict
        The grid (``assets``, ``horizons``, ``targets``, ``models``), the shared arguments,
        ``seed``, ``backend``, ``n_workers``, ``n_tasks``, ``cache_dir``, ``cache_hits``,
        ``retried``, ``failed_tasks`` and ``not_calibrated``.
    elapsed : float
        Seconds.
    """

    table: pd.DataFrame
    breaches: pd.DataFrame
    calibrations: Mapping[tuple[str, str, float, str], MMRCalibration]
    config: Mapping[str, Any]
    elapsed: float = 0.0

    def __getitem__(self, key: tuple[str, Any, float, str]) -> MMRCalibration:
        asset, horizon, target, model = key
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
        """One bracket's rate across the (horizon, target) plane.

        Parameters
        ----------
        asset : str, optional
            Default: the first asset.
        side : {"long", "short"}, default "long"
        bracket : int, default 1
        model : str, optional
            Default: the first model.
        value : str, default "mmr"
            Any numeric column of :attr:`table` (``"mmr_hi"``, ``"breach_rate"``, ...).

        Returns
        -------
        DataFrame
            Index the base horizons (ascending), columns the targets; NaN where the cell
            could not be calibrated.
        """
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

    def summary(self) -> pd.DataFrame:
        """One row per cell: its first bracket's long and short MMR with the bootstrap interval
        and the out-of-sample breach count."""
        t = self.table
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

    def _repr_html_(self) -> str:
        c = self.config
        head = (
            f"<p><b>Calibration grid</b>: {len(c['assets'])} asset(s) × {len(c['horizons'])} "
            f"horizon(s) × {len(c['targets'])} target(s) × {len(c['models'])} model(s) = "
            f"{c['n_tasks']} cells on {html.escape(str(c['backend']))} ({c['n_workers']} "
            f"worker(s)), {self.elapsed:.1f} s; {len(c['not_calibrated'])} not calibrated, "
            f"{len(c['failed_tasks'])} failed.</p>"
        )
        return head + self.summary().to_html(float_format=lambda v: f"{v:.6g}", index=False)


# -- the grid ------------------------------------------------------------------------------------
def calibration_grid(
    returns: pd.DataFrame | Mapping[str, pd.DataFrame],
    assets: str | Sequence[str] | None = None,
    horizons: Any = ("1d",),
    targets: float | Sequence[float] = (0.005,),
    *,
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
) -> CalibrationGrid:
    r"""Static MMR calibrations over assets × base horizons × targets × models, one task each.

    Parameters
    ----------
    returns : DataFrame or mapping of str to DataFrame
        As :func:`calibrate_mmr`: decimal log returns, or several frequencies
        ``{"1h": r1h, "4h": r4h, "1d": r1d}``.
    assets : str or sequence of str, optional
        Default: every column of the first frame.
    horizons : str, Timedelta or sequence, default ("1d",)
        Base liquidation horizons; each must reach at least the shortest bar.
    targets : float or sequence of float, default (0.005,)
        Breach probabilities in (0, 1).
    models : str or sequence of str, default ("historical",)
        Quantile estimators (``"historical"``, ``"evt"``, ``"t"``, ``"normal"``,
        ``"cornish_fisher"``).
    tiers : TierTable, sequence of float, or mapping of asset to either, optional
        Notional brackets for every asset, or per asset (every asset needs an entry).
    side, adv, participation, impact_coefficient, impact_exponent, test_start, buffer, \
buffer_kind, n_boot, ci, block_length, regimes, seed
        As :func:`calibrate_mmr`, the same for every cell.
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

    Returns
    -------
    CalibrationGrid

    Raises
    ------
    ConfigError
        An empty or invalid grid axis (target outside (0, 1), unknown model, a horizon
        shorter than every bar), duplicate grid values, a tiers mapping without an asset,
        a bad backend option, ``insufficient`` not "record"/"raise".
    DataError
        An asset missing from every frequency.
    InsufficientDataError
        With ``insufficient="raise"``, a cell with too little data.

    Notes
    -----
    Each cell equals ``calibrate_mmr(returns, asset, horizon, target, model=model, ...,
    seed=seed)``: the bootstrap streams are keyed by the cell (:func:`cell_seed`), not drawn in
    sequence, which is what makes the grid independent of scheduling.
    """
    t0 = time.perf_counter()
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
    n_jobs = check_n_jobs(n_jobs)
    backend = check_backend(backend, scheduler)
    if backend == "dask":
        import_distributed()
    retries = check_retries(retries)
    on_task_error = check_on_task_error(on_task_error)
    cache = None if cache_dir is None else TaskCache(cache_dir)
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
    outputs, run, cache_hits = got.outputs, got.run, got.cache_hits

    tables, breaches = [], []
    calibrations: dict[tuple[str, str, float, str], MMRCalibration] = {}
    not_calibrated = []
    for i, c in enumerate(cells):
        if i not in outputs:
            continue
        lead = {
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
    failed_tasks = [
        {
            "task": f"{cells[i].asset}/{_freq_label(cells[i].horizon)}/{cells[i].target:g}/"
            f"{cells[i].model}",
            "attempts": tries,
            "error": failure_text(exc),
        }
        for i, (exc, tries) in sorted(run.failures.items())
    ]
    warn_failed("calibration_grid", failed_tasks, len(cells), "cell(s) failed and are")
    table = _concat(tables)
    config = {
        "assets": tuple(names),
        "horizons": tuple(_freq_label(h) for h in hs),
        "targets": tuple(ps),
        "models": tuple(ms),
        **{k: v for k, v in shared_kwargs.items() if k not in ("regimes", "seed")},
        "tiers": {a: _tiers_repr(t) for a, t in per_asset_tiers.items()},
        "regimes": None if regimes is None else "given",
        "seed": root,
        "insufficient": insufficient,
        "backend": run.backend,
        "n_workers": run.n_workers,
        "n_tasks": len(cells),
        "cache_dir": None if cache is None else str(cache.path),
        "cache_hits": cache_hits,
        "retries": retries,
        "retried": run.reruns,
        "on_task_error": on_task_error,
        "failed_tasks": tuple(failed_tasks),
        "not_calibrated": tuple(not_calibrated),
    }
    return CalibrationGrid(
        table=table,
        breaches=_concat(breaches),
        calibrations=calibrations,
        config=_ReadOnlyDict(config),
        elapsed=time.perf_counter() - t0,
    )


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    if not frames:
        return pd.DataFrame(columns=[*CELL_COLUMNS, "note"])
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
