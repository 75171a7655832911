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
``captions``    numbered figures and tables, long tables whole and as CSV (``Captions``)

``format_table`` (the formatting layer: percentages, USD, p-values, durations, dates) is the one
every ``_repr_html_``, report table and notebook uses.

Heavy dependencies (papermill, nbconvert, seaborn) are imported only when used.
"""

from __future__ import annotations

from riskmodels._display import format_table
from riskmodels.reporting.build import build_report, build_reports, notebook_parameters
from riskmodels.reporting.captions import Captions
from riskmodels.reporting.io import atomic_write_bytes, atomic_write_text, staging_dir
from riskmodels.reporting.provenance import Provenance, record_inputs
from riskmodels.reporting.registry import REPORTS, ReportSpec

__all__ = [
    "REPORTS",
    "Captions",
    "Provenance",
    "ReportSpec",
    "atomic_write_bytes",
    "atomic_write_text",
    "build_report",
    "build_reports",
    "format_table",
    "notebook_parameters",
    "record_inputs",
    "staging_dir",
]
