"""Exceptions and warnings raised by riskmodels.

One hierarchy for the whole package, so that callers can catch at the level they need::

    RiskModelsError
    ├── DataError                 data that cannot be used as given
    │   ├── DataQualityError      data that loads but fails a quality check
    │   ├── DataNotFoundError     a symbol/frequency/market a source does not hold
    │   └── InsufficientDataError too few observations for what was asked
    ├── DownloadError             a download failed or produced an unusable file
    │   ├── ChecksumError         a file does not match its published SHA-256
    │   └── UnsafeArchiveError    a zip member would escape its target folder
    ├── ConfigError               a malformed config or an invalid argument combination
    │   └── ResourceLimitError    a requested size that would need more memory than allowed
    ├── ReportError               a report notebook failed to execute or render
    ├── ConvergenceError          an optimizer did not converge
    └── ModelError                a model that cannot be fitted or used as specified
        └── NotPositiveDefiniteError

Every message says what was seen and how to fix it, e.g.
``"half_life must be positive (got -3). Typical values: 10-100 observations."``.

Warnings follow ``arch.utility.exceptions``: one class per situation, with its message template
beside it.
"""

from __future__ import annotations

__all__ = [
    "ChecksumError",
    "ConfidenceLevelWarning",
    "ConfigError",
    "ConvergenceError",
    "ConvergenceWarning",
    "DataError",
    "DataNotFoundError",
    "DataQualityError",
    "DataQualityWarning",
    "DownloadError",
    "InsufficientDataError",
    "ModelError",
    "NotPositiveDefiniteError",
    "RepairWarning",
    "ReportError",
    "ResourceLimitError",
    "RiskModelsError",
    "RiskModelsWarning",
    "UnsafeArchiveError",
]


class RiskModelsError(Exception):
    """Base class of every error raised by riskmodels."""


class DataError(RiskModelsError, ValueError):
    """Data that cannot be used as given (bad index, NaNs, non-positive prices, ...)."""


class DataQualityError(DataError):
    """Data that loads but fails a quality check under ``policy="raise"``.

    Parameters
    ----------
    message : str
        What failed, with counts and first examples.
    report : QualityReport, optional
        The full report, so callers can inspect every finding.
    """

    def __init__(self, message: str, report: object | None = None) -> None:
        super().__init__(message)
        self.report = report


class DataNotFoundError(DataError, LookupError):
    """A source does not hold the requested symbol, frequency, market or period."""


class InsufficientDataError(DataError):
    """Too few observations for the requested estimation or window."""


class DownloadError(RiskModelsError, OSError):
    """A download failed after retries, or produced a file that cannot be used."""


class ChecksumError(DownloadError):
    """A downloaded file does not match its published SHA-256 checksum."""


class UnsafeArchiveError(DownloadError):
    """A zip archive holds a member with an absolute path or a ``..`` component (zip-slip)."""


class ConfigError(RiskModelsError, ValueError):
    """A malformed configuration, or an invalid argument or argument combination."""


class PositionError(ConfigError):
    """Positions that no venue would hold: malformed rows, negative wallets, or equity at or
    below maintenance margin at entry (the message says which row and the fix)."""


class ResourceLimitError(ConfigError):
    """A requested size (scenarios, paths, steps) whose arrays would need more memory than the
    limit allows.

    Raised before allocating; the message states the memory the request would need (GiB), the
    limit, and the fix: a smaller size, or a higher limit through the environment variable
    ``RISKMODELS_MAX_ALLOC_GIB`` (default: half of the machine's physical memory).
    """


class ReportError(RiskModelsError, RuntimeError):
    """A report notebook raised, or its output could not be rendered.

    The message names the report, the notebook, the failing cell and the error, and where the
    failed notebook was kept; earlier reports are left as they were.
    """


class ConvergenceError(RiskModelsError, RuntimeError):
    """An optimizer did not converge; the message names the model and the asset."""


class ModelError(RiskModelsError, ValueError):
    """A model that cannot be fitted or used as specified."""


class NotPositiveDefiniteError(ModelError):
    """A covariance or correlation matrix that must be positive definite is not."""


class RiskModelsWarning(UserWarning):
    """Base class of riskmodels warnings."""


class DataQualityWarning(RiskModelsWarning):
    """Quality findings reported under ``policy="warn"``."""

    template = (
        "{n} data quality finding(s): {summary}. Inspect the QualityReport or use policy='repair'."
    )


class RepairWarning(RiskModelsWarning):
    """Data was repaired because the caller asked for it; the repairs are listed."""

    template = "{n} repair(s) applied: {summary}. See QualityReport.repairs for the full list."


class ConfidenceLevelWarning(RiskModelsWarning):
    """A confidence level ``alpha`` below 0.5, most likely a tail probability.

    riskmodels takes the confidence level (0.99 means the 1% loss tail), as Basel and EMIR do;
    riskfolio-lib and rugarch take the tail probability (0.01). Below 0.5 the "VaR" is a loss
    exceeded more often than not, usually negative (a gain).
    """

    template = (
        "alpha={alpha!r} is a confidence level below 0.5: a VaR exceeded {tail:.4g}% of the "
        "time, usually a gain rather than a loss. riskmodels takes the confidence level (0.99 "
        "= the 1% loss tail), not the tail probability as riskfolio-lib and rugarch do: did "
        "you mean {suggest!r}?"
    )


class ConvergenceWarning(RiskModelsWarning):
    """An optimizer reported a problem but a usable result was kept because the caller asked."""

    template = "{model} for {asset} did not converge cleanly ({reason}); the result is flagged."
