"""Rendered reports: notebooks executed with parameters, HTML with provenance.

>>> from riskmodels.reporting import build_reports
>>> build_reports("data", config="configs/quick.toml")          # doctest: +SKIP
[PosixPath('reports/data/20260521T101503Z-1a2b3c4d/index.html')]

Modules
-------
``build``       config → notebook → ``reports/<report>/<run-id>/`` (atomic), ``latest`` pointer
``registry``    report names → notebooks (``REPORTS``)
``notebooks``   jupytext → papermill → nbconvert HTML (no code, figures inline)
``provenance``  config, data files + SHA-256, versions, platform, seeds, git, run time
``figures``     seaborn figures for notebooks
``tables``      display tables for notebooks (coverage, findings, return summary, cross-source)
``io``          atomic file and folder writes

Heavy dependencies (papermill, nbconvert, seaborn) are imported only when used.
"""

from __future__ import annotations

from riskmodels.reporting.build import build_report, build_reports, notebook_parameters
from riskmodels.reporting.io import atomic_write_bytes, atomic_write_text, staging_dir
from riskmodels.reporting.provenance import Provenance, record_inputs
from riskmodels.reporting.registry import REPORTS, ReportSpec

__all__ = [
    "REPORTS",
    "Provenance",
    "ReportSpec",
    "atomic_write_bytes",
    "atomic_write_text",
    "build_report",
    "build_reports",
    "notebook_parameters",
    "record_inputs",
    "staging_dir",
]
