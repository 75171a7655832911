"""Type aliases for the arguments every package takes: the one home of their spelling.

Each alias names what the package's one rule for that argument accepts, so an annotation and
the rule cannot drift apart:

- :data:`SeedLike` — what :func:`riskmodels._random.as_generator` accepts (SPEC 7: ``None`` is
  fresh entropy, an int a seed, a ``Generator`` is used as given);
- :data:`DurationLike` — what :func:`riskmodels._time.as_timedelta` accepts (``"1h"``, ``"5D"``,
  a ``pandas.Timedelta`` or ``datetime.timedelta``);
- :data:`TimeLike` — a point in time that ``pandas.Timestamp`` reads (``"2024-01-01"``, a
  ``Timestamp`` or ``datetime``); naive times are UTC (DESIGN.md, "Time").
"""

from __future__ import annotations

import datetime as _dt
from typing import TypeAlias

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

__all__ = ["ArrayLike", "DurationLike", "SeedLike", "TimeLike"]

#: A seed, a generator, or None for fresh entropy (:func:`riskmodels._random.as_generator`).
SeedLike: TypeAlias = "np.random.Generator | int | None"
#: A duration (:func:`riskmodels._time.as_timedelta`).
DurationLike: TypeAlias = "str | pd.Timedelta | _dt.timedelta"
#: A point in time (``pandas.Timestamp``'s inputs).
TimeLike: TypeAlias = "str | pd.Timestamp | _dt.datetime"
