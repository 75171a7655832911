"""Which reports exist and which notebook builds each.

A report is one notebook rendered to HTML. To add one, commit its jupytext ``.py`` notebook at
the path listed here (with a ``parameters`` cell): ``riskmodels report all`` builds every report
whose notebook exists and says which it skipped and why.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from riskmodels.config import REPORT_NAMES

__all__ = ["REPORTS", "ReportSpec", "repo_root"]


@dataclass(frozen=True)
class ReportSpec:
    """One report.

    Attributes
    ----------
    name : str
        What ``riskmodels report NAME`` calls it; also its folder under ``reports/``.
    title : str
        Page title.
    notebook : str
        The jupytext percent notebook, relative to the repository root.
    description : str
        One line on what it shows.
    added_by : str or None
        For a report whose notebook is not written yet: the work item that adds it.
    """

    name: str
    title: str
    notebook: str
    description: str
    added_by: str | None = None

    def notebook_path(self, root: Path | None = None) -> Path:
        """Absolute path of the notebook under ``root`` (default :func:`repo_root`)."""
        return (root if root is not None else repo_root()) / self.notebook

    def available(self, root: Path | None = None) -> bool:
        """Whether the notebook exists."""
        return self.notebook_path(root).is_file()


def repo_root() -> Path:
    """The source checkout the package runs from (holds ``notebooks/`` and ``configs/``)."""
    return Path(__file__).resolve().parents[2]


#: Every report, in build order.
REPORTS: dict[str, ReportSpec] = {
    "data": ReportSpec(
        name="data",
        title="Data summary",
        notebook="notebooks/01_data_quality.py",
        description="coverage, quality findings, prices, returns and cross-source checks",
    ),
    "calibration": ReportSpec(
        name="calibration",
        title="Model calibration",
        notebook="notebooks/06_liquidation_calibration.py",
        description="calibrated MMR/IMR tier tables, breach evidence, sensitivity, stress",
        added_by="issue 6 (liquidation-threshold calibration) with issue 7 (reports)",
    ),
    "validation": ReportSpec(
        name="validation",
        title="Model validation",
        notebook="notebooks/validation_report.py",
        description="model validation: specifications, estimation, backtests, benchmarking",
        added_by="issue 4 (VaR/ES backtests) with issue 7 (reports), over notebooks 02-04",
    ),
}

if tuple(REPORTS) != REPORT_NAMES:  # pragma: no cover - a development-time consistency check
    raise ImportError("riskmodels.config.REPORT_NAMES must list the reports of REPORTS in order.")
