"""Deprecated: venue margin rules moved to :mod:`riskmodels.margin.venues` (one home for margin
rules). Importing names from here still works, with a ``DeprecationWarning``, for one release."""

from __future__ import annotations

import warnings

_MOVED = ("VenueRule", "available_rules", "load_rule")


def __getattr__(name: str) -> object:
    if name in _MOVED:
        from riskmodels.margin import venues

        warnings.warn(
            f"riskmodels.calibration.venues.{name} moved to riskmodels.margin.{name}; the alias "
            "goes in the next release.",
            DeprecationWarning,
            stacklevel=2,
        )
        return getattr(venues, name)
    raise AttributeError(f"module 'riskmodels.calibration.venues' has no attribute {name!r}")
