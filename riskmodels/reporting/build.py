"""Build reports: config → notebook execution → HTML + provenance, written atomically.

Layout under the output root (default ``reports/``)::

    reports/<report>/<run-id>/index.html          the rendered report
    reports/<report>/<run-id>/<notebook>.ipynb     the executed notebook
    reports/<report>/<run-id>/provenance.json      config, data files + SHA-256, versions, ...
    reports/<report>/latest                        text file: the newest run id

``<run-id>`` is ``<UTC start time>-<config digest[:8]>``, e.g. ``20260521T101503Z-9b7867f8``.
Two runs with the same id (same second, same config) get ``<run-id>-2``, ``-3``, ...: the run
folder is claimed atomically (:func:`riskmodels.reporting.io.claim_staging`), so runs started
together never collide. A run is built in a hidden ``.staging-*`` folder beside its final place
and renamed into place only when complete; staging folders whose process died (e.g. SIGKILL)
are removed by the next build; a failed run leaves no visible folder and earlier reports untouched (the
failed notebook is kept in ``reports/<report>/.failed/`` for debugging).
"""

from __future__ import annotations

import datetime as _dt
import re
import shutil
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from riskmodels._io import sweep_temp_files
from riskmodels.config import RunConfig, load_config
from riskmodels.exceptions import ConfigError, ReportError
from riskmodels.reporting.io import (
    STALE_STAGING_S,
    atomic_write_text,
    claim_staging,
    remove_dead_staging,
    staging_dir,
)
from riskmodels.reporting.registry import REPORTS, ReportSpec, repo_root

__all__ = ["build_report", "build_reports", "claim_run", "notebook_parameters", "run_id_for"]

#: Names of the parameters the machinery passes to a notebook (those it declares).
STANDARD_PARAMETERS: tuple[str, ...] = (
    "config_path",
    "symbols",
    "freq",
    "market",
    "start",
    "end",
    "quality",
    "check_freqs",
    "mirror",
    "seed",
    "profile",
    "backend",
    "n_jobs",
    "scheduler",
    "cache_dir",
    "retries",
    "output_dir",
)

_STALE_STAGING_S = STALE_STAGING_S


def run_id_for(run_time: _dt.datetime, config: RunConfig) -> str:
    """``<UTC time %Y%m%dT%H%M%SZ>-<first 8 hex of the config digest>``."""
    t = run_time.astimezone(_dt.UTC)
    return f"{t:%Y%m%dT%H%M%SZ}-{config.digest()[:8]}"


def claim_run(
    report_dir: str | Path, run_time: _dt.datetime, config: RunConfig
) -> tuple[str, Path]:
    """A unique run id under ``report_dir`` and its staging folder, claimed atomically.

    The id is :func:`run_id_for`, or with ``-2``, ``-3``, ... when that run folder exists or
    another run (in this or another process) is building it: concurrent callers always get
    distinct ids (:func:`riskmodels.reporting.io.claim_staging`).

    Returns
    -------
    (str, pathlib.Path)
        The run id and the staging folder to pass to ``staging_dir(..., staging=)``.
    """
    return claim_staging(report_dir, run_id_for(run_time, config))


def notebook_parameters(config: RunConfig, output_dir: str | Path) -> dict[str, Any]:
    """The standard notebook parameters for a config (JSON-friendly values).

    Returns
    -------
    dict
        ``config_path`` (absolute, or None), ``symbols``, ``freq``, ``market``, ``start``/``end``
        (ISO strings or None), ``quality``, ``check_freqs``, ``mirror`` (or None), ``seed``,
        ``profile``; where the walk-forward backtests run (``[run]``, passed on to
        :func:`riskmodels.backtest.walk_forward`): ``backend``, ``n_jobs``, ``scheduler`` (or
        None), ``cache_dir`` (absolute, or None) and ``retries``; and ``output_dir``
        (absolute: notebooks run in their own folder).
    """
    d = config.to_dict()["data"]
    return {
        "config_path": str(config.path.resolve()) if config.path is not None else None,
        "symbols": list(config.data.universe),
        "freq": config.data.freq,
        "market": config.data.market,
        "start": d.get("start"),
        "end": d.get("end"),
        "quality": config.data.quality,
        "check_freqs": list(config.data.check_freqs),
        "mirror": str(config.data.mirror) if config.data.mirror is not None else None,
        "seed": int(config.run.seed),
        "profile": config.run.profile,
        "backend": config.run.backend,
        "n_jobs": int(config.run.n_jobs),
        "scheduler": config.run.scheduler,
        "cache_dir": str(config.run.cache_dir) if config.run.cache_dir is not None else None,
        "retries": int(config.run.retries),
        "output_dir": str(Path(output_dir).resolve()),  # the kernel runs in notebooks/
    }


def _resolve_config(config: RunConfig | str | Path | None, quick: bool) -> RunConfig:
    if isinstance(config, RunConfig):
        return config.with_quick() if quick else config
    return load_config(config, quick=quick)


def _not_available(spec: ReportSpec, root: Path) -> str:
    who = spec.added_by or "a later change"
    return (
        f"report {spec.name!r} is not built yet: its notebook {spec.notebook} does not exist "
        f"under {root}; {who} adds it."
    )


def build_reports(
    name: str,
    config: RunConfig | str | Path | None = None,
    out_root: str | Path = "reports",
    quick: bool = False,
    *,
    root: str | Path | None = None,
    echo: Callable[[str], None] | None = print,
    now: _dt.datetime | None = None,
    progress: Callable[[str], None] | None = None,
) -> list[Path]:
    """Build one report, or every available report (``name="all"``).

    Parameters
    ----------
    name : {"data", "calibration", "validation", "all"}
        The report; ``"all"`` builds each report of ``[report] include`` whose notebook exists
        and reports (through ``echo``) those it skipped and why.
    config : RunConfig, path or None
        A config or a TOML file (default ``configs/default.toml``).
    out_root : path
        Output root (default ``reports``).
    quick : bool
        Use the config's ``[quick]`` variant (:meth:`RunConfig.with_quick`).
    root : path, optional
        Repository root holding ``notebooks/`` (default: the package's source checkout).
    echo : callable or None
        Receives progress lines (``print`` by default; ``None`` for silence).
    now : datetime, optional
        Run start time (default: now, UTC). For tests.
    progress : callable or None
        Receives one line per notebook section (``## `` heading) as execution reaches it
        (:func:`riskmodels.reporting.notebooks.execute_notebook`); the ``riskmodels report``
        command prints them to stderr. Default: none. The reports do not depend on it.

    Returns
    -------
    list of pathlib.Path
        The ``index.html`` of every report built.

    Raises
    ------
    ConfigError
        For an unknown report name, a report whose notebook is not written yet, or a bad config.
    ReportError
        If a notebook fails; earlier reports are unchanged.
    """
    cfg = _resolve_config(config, quick)
    base = Path(root) if root is not None else repo_root()
    say = echo if echo is not None else (lambda _msg: None)
    if name == "all":
        built: list[Path] = []
        for n in cfg.report.include:
            spec = REPORTS[n]
            if not spec.available(base):
                say(f"skipped {n}: {_not_available(spec, base)}")
                continue
            built.append(
                build_report(spec, cfg, out_root, root=base, echo=echo, now=now, progress=progress)
            )
        skipped = [n for n in REPORTS if n not in cfg.report.include]
        if skipped:
            say(f"not requested by [report] include: {', '.join(skipped)}")
        return built
    if name not in REPORTS:
        raise ConfigError(
            f"unknown report {name!r}: use one of {', '.join(repr(n) for n in REPORTS)} or 'all'."
        )
    spec = REPORTS[name]
    if not spec.available(base):
        raise ConfigError(
            _not_available(spec, base) + " Build 'data' now, or 'all' for every available report."
        )
    return [build_report(spec, cfg, out_root, root=base, echo=echo, now=now, progress=progress)]


def build_report(
    spec: ReportSpec,
    config: RunConfig,
    out_root: str | Path = "reports",
    *,
    root: str | Path | None = None,
    echo: Callable[[str], None] | None = None,
    now: _dt.datetime | None = None,
    parameters: Mapping[str, Any] | None = None,
    progress: Callable[[str], None] | None = None,
) -> Path:
    """Execute one report's notebook and write its folder atomically.

    Parameters
    ----------
    spec : ReportSpec
        The report (:data:`riskmodels.reporting.REPORTS`, or a custom one).
    config : RunConfig
        The run config (already the quick variant if wanted).
    out_root : path
        Output root; the report goes to ``out_root/<spec.name>/<run-id>/``.
    root : path, optional
        Where ``spec.notebook`` is resolved (default the repository root).
    echo : callable, optional
        Receives progress lines.
    now : datetime, optional
        Run start time (default now, UTC).
    parameters : mapping, optional
        Extra notebook parameters (override the standard ones).
    progress : callable, optional
        Receives one line per notebook section as execution reaches it, e.g.
        ``"calibration: [3/14] ## Close-out tier tables (12.4 s)"``. The report does not depend
        on it.

    Returns
    -------
    pathlib.Path
        ``out_root/<name>/<run-id>/index.html``.

    Raises
    ------
    ReportError
        If the notebook fails or cannot be rendered; nothing is left in ``out_root/<name>``
        except the failed notebook in ``.failed/``.
    """
    from riskmodels.reporting import notebooks as nbx
    from riskmodels.reporting.provenance import INPUTS_FILE, collect, read_inputs

    base = Path(root) if root is not None else repo_root()
    say = echo if echo is not None else (lambda _msg: None)
    nb_path = spec.notebook_path(base)
    nb = nbx.read_notebook(nb_path)
    declared = nbx.declared_parameters(nb)

    t0 = time.perf_counter()
    run_time = (now or _dt.datetime.now(_dt.UTC)).astimezone(_dt.UTC).replace(microsecond=0)
    report_dir = Path(out_root).resolve() / spec.name
    report_dir.mkdir(parents=True, exist_ok=True)
    _remove_stale_staging(report_dir)
    # two runs in the same second with the same config: -2, -3, ... (claimed atomically)
    run_id, staging = claim_run(report_dir, run_time, config)

    with staging_dir(report_dir / run_id, staging=staging) as tmp:
        params = {k: v for k, v in notebook_parameters(config, tmp).items() if k in declared}
        params.update(parameters or {})
        executed_path = tmp / f"{nb_path.stem}.ipynb"
        say(f"{spec.name}: executing {spec.notebook} ({config.run.profile} profile)")
        try:
            executed = nbx.execute_notebook(
                nb,
                executed_path,
                params,
                cwd=nb_path.parent,
                timeout=config.report.execution_timeout,
                source=spec.notebook,
                progress=progress,
                progress_label=spec.name,
            )
        except ReportError as exc:
            kept = _keep_failed(executed_path, report_dir, run_id)
            # the staging folder (and the notebook in it) is removed on the way out: name only
            # the kept copy
            where = f" The failed notebook is kept at {kept}." if kept else ""
            raise ReportError(
                f"report {spec.name!r} failed; earlier reports in {report_dir} are unchanged. "
                f"{_without_path(str(exc), executed_path)}{where}"
            ) from (exc.__cause__ or exc)
        files = read_inputs(tmp)
        if not files:
            say(
                f"{spec.name}: note: {spec.notebook} recorded no data files; call "
                "riskmodels.reporting.record_inputs(..., output_dir=output_dir) for provenance"
            )
        (tmp / INPUTS_FILE).unlink(missing_ok=True)
        prov = collect(
            report=spec.name,
            config=config,
            run_time=run_time,
            run_id=run_id,
            files=files,
            notebook=spec.notebook,
            data_root=_data_root(config),
            environment=nbx.KERNEL_ENV,
        )
        atomic_write_text(tmp / "provenance.json", prov.to_json())
        html = nbx.render_html(
            executed, title=f"riskmodels: {spec.title}", provenance_html=prov.to_html()
        )
        atomic_write_text(tmp / "index.html", html)
    _update_latest(report_dir, run_id)
    out = report_dir / run_id / "index.html"
    say(f"{spec.name}: built {out} in {time.perf_counter() - t0:.1f} s")
    return out


def _data_root(config: RunConfig) -> str | None:
    if config.data.mirror is not None:
        return str(config.data.mirror)
    from riskmodels.data import default_mirror_path

    p = default_mirror_path()
    return str(p) if p is not None else None


def _keep_failed(executed: Path, report_dir: Path, run_id: str) -> Path | None:
    if not executed.is_file():
        return None
    dest = report_dir / ".failed" / f"{run_id}.ipynb"
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(executed, dest)
    return dest


def _update_latest(report_dir: Path, run_id: str) -> None:
    latest = report_dir / "latest"
    current = latest.read_text(encoding="utf-8").strip() if latest.is_file() else ""
    # run ids start with the UTC time: a concurrent, later run keeps its place
    if run_id >= current:
        atomic_write_text(latest, run_id + "\n")


def _without_path(message: str, path: Path) -> str:
    """``message`` without the sentences that point to ``path`` (about to be deleted)."""
    text = re.sub(r"\s*[^.]*?" + re.escape(str(path)) + r"\.?(?=\s|$)", "", message)
    return text.strip()


def _remove_stale_staging(report_dir: Path) -> None:
    """Remove staging folders left by runs that died (their process is gone), and those whose
    owner cannot be checked once older than a day; keep those of running builds. Temporary
    files of a ``latest`` pointer whose writer died go too (:func:`sweep_temp_files`)."""
    remove_dead_staging(report_dir, max_age=_STALE_STAGING_S)
    sweep_temp_files(report_dir)
