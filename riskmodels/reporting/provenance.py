"""What a report was made from: config, data files with SHA-256, software, platform, seeds.

A report's :class:`Provenance` is written beside it as ``provenance.json`` and rendered as the
"Provenance" section at the end of its HTML. The run time and the run id (which contains the
time) appear in the HTML in exactly one element, ``<p id="rm-run-stamp">``, on a line of its
own, so that two runs on the same inputs differ only on that line.

Notebooks declare the data files they read with :func:`record_inputs`; the report machinery
collects them after execution (:func:`read_inputs`) and adds everything else.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import subprocess
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import pandas as pd

from riskmodels._display import SafeHTML, esc, html_table
from riskmodels.data.base import FileRecord
from riskmodels.exceptions import ConfigError

__all__ = [
    "INPUTS_FILE",
    "RUN_STAMP_ID",
    "TRACKED_PACKAGES",
    "DataFile",
    "Provenance",
    "collect",
    "git_state",
    "package_versions",
    "read_inputs",
    "record_inputs",
]

#: Packages whose versions every report records (numerics first, then the rendering chain).
TRACKED_PACKAGES: tuple[str, ...] = (
    "riskmodels",
    "numpy",
    "pandas",
    "scipy",
    "statsmodels",
    "arch",
    "matplotlib",
    "seaborn",
    "pyarrow",
    "jupytext",
    "papermill",
    "nbconvert",
    "nbformat",
    "ipykernel",
)

#: Name of the file in a notebook's ``output_dir`` listing the data files it read.
INPUTS_FILE = "inputs.json"

#: HTML id of the single element holding the run time and run id.
RUN_STAMP_ID = "rm-run-stamp"


@dataclass(frozen=True)
class DataFile:
    """One input file: path (relative to its source's root), SHA-256, what it is.

    Attributes
    ----------
    path : str
    sha256 : str
    description : str
    as_of : str or None
        Documented fetch time (ISO, UTC) when known.
    """

    path: str
    sha256: str
    description: str = ""
    as_of: str | None = None

    @classmethod
    def from_record(cls, rec: FileRecord | Mapping[str, Any]) -> DataFile:
        """From a :class:`~riskmodels.data.FileRecord` or a dict with the same keys."""
        if isinstance(rec, FileRecord):
            as_of = None if rec.as_of is None else pd.Timestamp(rec.as_of).isoformat()
            return cls(rec.path, rec.sha256, rec.description, as_of)
        return cls(
            str(rec["path"]),
            str(rec["sha256"]),
            str(rec.get("description", "")),
            rec.get("as_of"),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "sha256": self.sha256,
            "description": self.description,
            "as_of": self.as_of,
        }


# -- notebook side ---------------------------------------------------------------------------------
def _records(obj: Any) -> list[FileRecord | Mapping[str, Any]]:
    if obj is None:
        return []
    if isinstance(obj, FileRecord | DataFile):
        return [obj if isinstance(obj, FileRecord) else obj.to_dict()]
    if isinstance(obj, pd.DataFrame | pd.Series):
        return list(obj.attrs.get("files", []))
    if isinstance(obj, Mapping):
        if "path" in obj and "sha256" in obj:
            return [obj]
        return [r for v in obj.values() for r in _records(v)]
    if isinstance(obj, Iterable) and not isinstance(obj, str | bytes):
        return [r for v in obj for r in _records(v)]
    raise ConfigError(
        f"record_inputs takes FileRecords, DataFrames/Series with attrs['files'], or lists of "
        f"them (got {type(obj).__name__})."
    )


def record_inputs(*sources: Any, output_dir: str | os.PathLike[str] | None) -> list[DataFile]:
    """Declare the data files a notebook read, for its report's provenance.

    Parameters
    ----------
    *sources
        :class:`~riskmodels.data.FileRecord` objects, frames or series whose ``attrs["files"]``
        lists them (everything :mod:`riskmodels.data` returns), or lists/dicts of those.
    output_dir : path-like or None
        The notebook's ``output_dir`` parameter. ``None`` (an interactive run) records nothing
        on disk.

    Returns
    -------
    list of DataFile
        Everything recorded so far in ``output_dir`` (deduplicated by path and hash, in order).

    Examples
    --------
    >>> px = load_prices(symbols)                            # doctest: +SKIP
    >>> record_inputs(px, output_dir=output_dir)             # doctest: +SKIP
    """
    new = [DataFile.from_record(r) for s in sources for r in _records(s)]
    if output_dir is None:
        return _dedupe(new)
    out = Path(output_dir)
    merged = _dedupe([*read_inputs(out), *new])
    from riskmodels.reporting.io import atomic_write_text

    atomic_write_text(out / INPUTS_FILE, json.dumps([f.to_dict() for f in merged], indent=1) + "\n")
    return merged


def read_inputs(output_dir: str | os.PathLike[str]) -> list[DataFile]:
    """The files recorded by :func:`record_inputs` in ``output_dir`` (empty if none)."""
    p = Path(output_dir) / INPUTS_FILE
    if not p.is_file():
        return []
    return [DataFile.from_record(d) for d in json.loads(p.read_text(encoding="utf-8"))]


def _dedupe(files: Iterable[DataFile]) -> list[DataFile]:
    seen: dict[tuple[str, str], DataFile] = {}
    for f in files:
        seen.setdefault((f.path, f.sha256), f)
    return list(seen.values())


# -- environment --------------------------------------------------------------------------------
def package_versions(names: Iterable[str] = TRACKED_PACKAGES) -> dict[str, str]:
    """Installed versions (``"not installed"`` where missing), in the order given."""
    out = {}
    for n in names:
        try:
            out[n] = version(n)
        except PackageNotFoundError:
            out[n] = "not installed"
    return out


def git_state(path: str | os.PathLike[str] | None = None) -> tuple[str | None, bool | None]:
    """The commit checked out where the package's source lives, and whether tracked files
    differ from it.

    Returns
    -------
    (str or None, bool or None)
        ``(None, None)`` when there is no git, no repository, or no commit yet.
    """
    root = Path(path) if path is not None else Path(__file__).resolve().parents[2]
    try:
        head = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--verify", "-q", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
        if head.returncode != 0 or not head.stdout.strip():
            return None, None
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None, None
    return head.stdout.strip(), bool(dirty.stdout.strip()) if dirty.returncode == 0 else None


# -- the record -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Provenance:
    """Everything needed to say what a report was computed from.

    Attributes
    ----------
    report : str
        Report name (``"data"``, ...).
    run_id : str
        ``<UTC time>-<config digest[:8]>``.
    run_time : str
        ISO UTC time the run started (the only wall-clock time in a report).
    notebook : str or None
        Notebook source, relative to the repository.
    config : dict
        :meth:`riskmodels.config.RunConfig.to_dict`.
    config_path : str or None
    config_digest : str
        SHA-256 of the canonical config.
    seeds : dict
        Every seed the run used, by name.
    data_root : str or None
        Root folder of the data files (the mirror).
    files : tuple of DataFile
        Data files read, with SHA-256.
    versions : dict
        Package versions (:data:`TRACKED_PACKAGES`).
    python, platform : str
    git_commit : str or None
    git_dirty : bool or None
        Whether tracked files differed from ``git_commit``.
    environment : dict
        Environment variables set for the notebook kernel (BLAS threads, backend).
    """

    report: str
    run_id: str
    run_time: str
    notebook: str | None
    config: dict[str, Any]
    config_path: str | None
    config_digest: str
    seeds: dict[str, int]
    data_root: str | None
    files: tuple[DataFile, ...]
    versions: dict[str, str]
    python: str
    platform: str
    git_commit: str | None
    git_dirty: bool | None
    environment: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly dict (what ``provenance.json`` holds)."""
        return {
            "report": self.report,
            "run_id": self.run_id,
            "run_time": self.run_time,
            "notebook": self.notebook,
            "config_path": self.config_path,
            "config_digest": self.config_digest,
            "config": self.config,
            "seeds": self.seeds,
            "data_root": self.data_root,
            "files": [f.to_dict() for f in self.files],
            "package_version": self.versions.get("riskmodels"),
            "versions": self.versions,
            "python": self.python,
            "platform": self.platform,
            "git_commit": self.git_commit,
            "git_dirty": self.git_dirty,
            "environment": self.environment,
        }

    def to_json(self) -> str:
        """Indented JSON with a trailing newline."""
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n"

    def run_stamp_html(self) -> str:
        """The one line of HTML that holds the run time and the run id."""
        e = esc
        return (
            f'<p id="{RUN_STAMP_ID}" class="rm-run-stamp">Run <code>{e(self.run_id)}</code>, '
            f'started <time datetime="{e(self.run_time)}">{e(self.run_time)}</time> (UTC)</p>'
        )

    def to_html(self) -> str:
        """The "Provenance" section of a report (an HTML fragment)."""
        e = esc

        def table(rows: Iterable[tuple[str, SafeHTML]], cls: str) -> str:
            # the values are HTML already (code(...)): html_table keeps SafeHTML as it is
            return html_table(rows, th_style="", css_class=f"rm-prov {cls}")

        def code(v: Any) -> SafeHTML:
            return SafeHTML(f"<code>{e(v)}</code>" if v is not None else "<em>n/a</em>")

        git = code(self.git_commit)
        if self.git_commit is not None and self.git_dirty:
            git = SafeHTML(git + " (with uncommitted changes)")
        run_rows = [
            ("report", code(self.report)),
            ("notebook", code(self.notebook)),
            ("config file", code(self.config_path)),
            ("config SHA-256", code(self.config_digest)),
            ("profile", code(self.config.get("run", {}).get("profile"))),
            *[(f"seed ({k})", code(v)) for k, v in self.seeds.items()],
            ("riskmodels", code(self.versions.get("riskmodels"))),
            ("git commit", git),
        ]
        file_rows = "".join(
            f"<tr><td><code>{e(f.path)}</code></td><td><code>{e(f.sha256)}</code></td>"
            f"<td>{e(f.description)}</td><td>{e(f.as_of or '')}</td></tr>"
            for f in self.files
        )
        files = (
            '<table class="rm-prov rm-prov-files"><thead><tr><th>file</th><th>SHA-256</th>'
            f"<th>description</th><th>fetched</th></tr></thead><tbody>{file_rows}</tbody></table>"
            if self.files
            else "<p><em>The notebook recorded no data files.</em></p>"
        )
        versions = table(
            [(k, code(v)) for k, v in self.versions.items()]
            + [("python", code(self.python)), ("platform", code(self.platform))]
            + [(f"env {k}", code(v)) for k, v in self.environment.items()],
            "rm-prov-versions",
        )
        cfg = e(json.dumps(self.config, indent=2, ensure_ascii=False))
        return "\n".join(
            [
                '<section id="provenance" class="rm-provenance">',
                "<h2>Provenance</h2>",
                self.run_stamp_html(),
                table(run_rows, "rm-prov-run"),
                f"<h3>Data files</h3><p>Root: {code(self.data_root)}</p>",
                files,
                "<h3>Software and platform</h3>",
                versions,
                f"<h3>Configuration</h3><pre>{cfg}</pre>",
                "</section>",
            ]
        )

    def _repr_html_(self) -> str:
        return self.to_html()


def collect(
    *,
    report: str,
    config: Any,
    run_time: _dt.datetime,
    run_id: str,
    files: Iterable[DataFile | FileRecord] = (),
    notebook: str | None = None,
    data_root: str | os.PathLike[str] | None = None,
    environment: Mapping[str, str] | None = None,
) -> Provenance:
    """Assemble the provenance of one report run.

    Parameters
    ----------
    report : str
        Report name.
    config : RunConfig
        The (validated) config of the run.
    run_time : datetime.datetime
        Start of the run, timezone-aware (converted to UTC, whole seconds).
    run_id : str
        The run id.
    files : iterable of DataFile or FileRecord
        Data files read (usually :func:`read_inputs` of the notebook's output folder).
    notebook : str, optional
        Notebook path, relative to the repository.
    data_root : path-like, optional
        The data mirror.
    environment : mapping, optional
        Environment variables set for the kernel.

    Returns
    -------
    Provenance
    """
    if run_time.tzinfo is None:
        raise ConfigError(
            f"run_time must be timezone-aware (got {run_time!r}); pass "
            "datetime.datetime.now(datetime.UTC)."
        )
    t = run_time.astimezone(_dt.UTC).replace(microsecond=0)
    commit, dirty = git_state()
    cfg_path = getattr(config, "path", None)
    return Provenance(
        report=report,
        run_id=run_id,
        run_time=t.strftime("%Y-%m-%dT%H:%M:%SZ"),
        notebook=notebook,
        config=config.to_dict(),
        config_path=str(cfg_path) if cfg_path is not None else None,
        config_digest=config.digest(),
        seeds={"run.seed": int(config.run.seed)},
        data_root=str(data_root) if data_root is not None else None,
        files=tuple(
            _dedupe(f if isinstance(f, DataFile) else DataFile.from_record(f) for f in files)
        ),
        versions=package_versions(),
        python=f"{platform.python_implementation()} {platform.python_version()} ({sys.executable})",
        platform=platform.platform(),
        git_commit=commit,
        git_dirty=dirty,
        environment=dict(environment or {}),
    )
