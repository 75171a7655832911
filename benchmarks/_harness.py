"""Shared harness of the benchmark suite: machine and versions, timing, results files, tables.

Every ``benchmarks/bench_*.py`` records :func:`environment` in its results, times with
:func:`median_time` (or :func:`timed` when it needs the output of the timed call), writes its
JSON with :func:`write_result` and prints markdown with :func:`markdown_table`.
"""

from __future__ import annotations

import importlib.metadata
import json
import math
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

RESULTS_DIR = Path(__file__).resolve().parent / "results"
_UMASK = os.umask(0o022)
os.umask(_UMASK)

_VERSIONED = ("numpy", "scipy", "pandas", "arch", "numba", "dask", "distributed")
_THREAD_VARS = ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS")


def cpu_model() -> str:
    """The CPU model name from ``/proc/cpuinfo`` (else ``platform.processor()``)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:  # pragma: no cover - not Linux
        pass
    return platform.processor() or "unknown"


def _version(dist: str) -> str | None:
    """Installed version of a distribution, without importing it (imports would change the
    memory and start-up numbers some benchmarks report)."""
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def _loadavg() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:  # pragma: no cover - not available on this platform
        return None


def environment(**extra: Any) -> dict[str, Any]:
    """Machine, versions and load at the start of a benchmark.

    Parameters
    ----------
    **extra
        Further entries (e.g. a baseline package's version) added to the dict.

    Returns
    -------
    dict
        ``cpu`` (model name), ``cores`` (``os.cpu_count()``), ``platform``, ``python``, the
        versions of numpy, scipy, pandas, arch, numba, dask, distributed and riskmodels (None
        when not installed), the BLAS thread variables (``OPENBLAS_NUM_THREADS``,
        ``MKL_NUM_THREADS``, ``OMP_NUM_THREADS``; None when unset) and ``loadavg_start`` (1, 5
        and 15 minute load averages).
    """
    env: dict[str, Any] = {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "platform": platform.platform(),
        "python": sys.version.split()[0],
    }
    for name in _VERSIONED:
        env[name] = _version(name)
    env["riskmodels"] = _version("riskmodels")
    for var in _THREAD_VARS:
        env[var] = os.environ.get(var)
    env["loadavg_start"] = _loadavg()
    env.update(extra)
    return env


def finish_environment(env: dict[str, Any]) -> dict[str, Any]:
    """Add ``loadavg_end`` to ``env`` (in place) and return it."""
    env["loadavg_end"] = _loadavg()
    return env


def timed(fn: Callable[[], Any], repeats: int) -> tuple[Any, float, list[float]]:
    """Call ``fn()`` ``repeats`` times; ``(last output, median seconds, all seconds)``.

    Wall clock by ``time.perf_counter``.
    """
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1 (got {repeats!r}): the number of timed calls.")
    times: list[float] = []
    out = None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return out, statistics.median(times), times


def median_time(fn: Callable[[], Any], repeats: int) -> tuple[float, list[float]]:
    """``(median seconds, all seconds)`` of ``repeats`` calls of ``fn()``."""
    _, med, times = timed(fn, repeats)
    return med, times


def write_result(name: str, payload: Mapping[str, Any], path: str | Path | None = None) -> Path:
    """Write ``payload`` as JSON to ``benchmarks/results/<name>.json`` atomically.

    The JSON goes to a temporary file in the target folder first, which then replaces the target
    (``os.replace``), so a reader never sees a half-written file. Values JSON cannot hold
    (timestamps, numpy scalars) are written with ``str``.

    Parameters
    ----------
    name : str
        File stem, e.g. ``"bench_grid"``.
    payload : mapping
        The results.
    path : str or Path, optional
        Another target file (a benchmark's ``--out``); default ``RESULTS_DIR / f"{name}.json"``.

    Returns
    -------
    Path
        The file written.
    """
    target = Path(path) if path is not None else RESULTS_DIR / f"{name}.json"
    return write_text_atomic(target, json.dumps(payload, indent=2, default=str) + "\n")


def write_text_atomic(path: str | Path, text: str) -> Path:
    """Write ``text`` to ``path`` through a temporary file in the same folder and
    ``os.replace`` (creating the folder); returns the path."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~_UMASK)  # mkstemp makes 0600; give it an ordinary file's mode
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


Column = str | tuple[str, str] | tuple[str, str, str]


def _cell(value: Any, fmt: str | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if fmt is None:
        return str(value)
    return fmt.format(value)


def markdown_table(rows: Sequence[Mapping[str, Any]], columns: Sequence[Column]) -> str:
    """A markdown table of ``rows``.

    Parameters
    ----------
    rows : sequence of mapping
        One mapping per table row.
    columns : sequence of str or tuple
        Each column as ``key`` (also the header), ``(header, key)`` or
        ``(header, key, format)`` with a ``str.format`` pattern such as ``"{:.2f}"``. Missing
        keys, None and NaN show as ``-``.

    Returns
    -------
    str
        Header line, separator line and one line per row, without a trailing newline.
    """
    spec: list[tuple[str, str, str | None]] = []
    for c in columns:
        if isinstance(c, str):
            spec.append((c, c, None))
        elif len(c) == 2:
            spec.append((c[0], c[1], None))
        else:
            spec.append((c[0], c[1], c[2]))
    lines = [
        "| " + " | ".join(h for h, _, _ in spec) + " |",
        "|" + "---|" * len(spec),
    ]
    for row in rows:
        lines.append("| " + " | ".join(_cell(row.get(k), f) for _, k, f in spec) + " |")
    return "\n".join(lines)
