"""Read-only results of the backtest statistics.

Every test returns a small frozen object in the style of linearmodels' ``WaldTestStatistic``:
the statistic, its p-value, the null hypothesis in words and the reference distribution, with a
``__str__`` that prints ::

    Kupiec POF
    H0: ...
    H1: ...
    Statistic: 2.5441
    P-value: 0.1107
    Distributed: chi2(1)

and a ``_repr_html_`` that renders the same as a table in Jupyter. Results pickle (so that the
walk-forward engine can return them from worker processes) and never print the current time.

Classes
-------
TestResult
    One statistic with its p-value (Kupiec, DQ, duration, McNeil-Frey, Acerbi-Szekely, DM).
ChristoffersenResult
    The independence and conditional-coverage tests of Christoffersen (1998) together.
TrafficLightResult
    The Basel traffic-light zone, plus-factor and binomial probabilities.
MCSResult
    A model confidence set (Hansen, Lunde and Nason 2011).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import numpy as np
import pandas as pd
from scipy import stats

from riskmodels._display import esc, fmt_pvalue, html_table, table_html
from riskmodels._frozen import freeze_mapping
from riskmodels.exceptions import ConfigError

__all__ = [
    "BASEL_PLUS_FACTORS",
    "ChristoffersenResult",
    "MCSResult",
    "TestResult",
    "TrafficLightResult",
]

#: Basel Committee (1996), "Supervisory framework for the use of backtesting in conjunction with
#: the internal models approach to market risk capital requirements", Table 2: increase of the
#: multiplication factor (the plus-factor) by number of exceptions in 250 days at 99 %.
#: 0-4 exceptions (green) add nothing; 10 or more (red) add 1.00.
BASEL_PLUS_FACTORS: Mapping[int, float] = {
    0: 0.00,
    1: 0.00,
    2: 0.00,
    3: 0.00,
    4: 0.00,
    5: 0.40,
    6: 0.50,
    7: 0.65,
    8: 0.75,
    9: 0.85,
}
#: Plus-factor of the red zone (10 or more exceptions in 250 days at 99 %).
BASEL_RED_PLUS_FACTOR = 1.00
#: Base multiplication factor of the internal-models capital charge (BCBS 1996).
BASEL_BASE_MULTIPLIER = 3.0


def check_level(level: object) -> float:
    """Validate a significance level in (0, 1)."""
    if (
        isinstance(level, bool)
        or not isinstance(level, (int, float, np.integer, np.floating))
        or not 0.0 < float(level) < 1.0
    ):
        raise ConfigError(
            f"level must be in (0, 1) (got {level!r}); 0.05 rejects H0 when the p-value is "
            "below 5%."
        )
    return float(level)


def _fmt(value: object) -> str:
    """Format a number for printing: 4 decimals, scientific for very small or large values."""
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        v = float(value)
        if math.isnan(v) or math.isinf(v):
            return str(v)
        if v == 0.0 or 1e-4 <= abs(v) < 1e6:
            return f"{v:.4f}"
        return f"{v:.4e}"
    return str(value)


def _scalar_items(extra: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The scalar entries of ``extra`` (arrays and tables are left out of the printout)."""
    out = []
    for key, value in extra.items():
        if isinstance(value, (str, bool, int, float, np.integer, np.floating, np.bool_)):
            out.append((key, _fmt(value)))
    return out


_CELL = "text-align:left;padding:2px 8px"
_CAPTION = "text-align:left;font-weight:bold"


def _html_table(title: str, rows: list[tuple[str, str]]) -> str:
    return html_table(rows, caption=title, th_style=_CELL, td_style=_CELL, caption_style=_CAPTION)


class _ReadOnlyDict(Mapping[str, Any]):
    """A read-only mapping that pickles; kept so results cached by earlier versions load (new
    results hold :func:`riskmodels._frozen.freeze_mapping`'s FrozenDict)."""

    __slots__ = ("_data",)

    def __init__(self, data: Mapping[str, Any]) -> None:
        frozen = {}
        for key, value in data.items():
            if isinstance(value, np.ndarray):
                value = value.copy()
                value.flags.writeable = False
            frozen[str(key)] = value
        self._data = frozen

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        return repr(self._data)

    def __getstate__(self) -> dict[str, Any]:
        return {"_data": self._data}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._data = state["_data"]


@dataclass(frozen=True, repr=False, kw_only=True)
class TestResult:
    """A test statistic with its p-value and the hypothesis it tests.

    Attributes
    ----------
    name : str
        Name of the test, e.g. ``"Kupiec POF"``.
    statistic : float
        Value of the test statistic.
    pvalue : float
        P-value (asymptotic, bootstrap or simulated; see ``dist_name``).
    null : str
        The null hypothesis in words.
    dist_name : str
        Reference distribution of the statistic under the null, e.g. ``"chi2(1)"``,
        ``"N(0, 1)"``, ``"bootstrap (B=999)"``.
    df : float or None
        Degrees of freedom of the reference distribution, when it has them.
    alternative : str
        The alternative hypothesis in words.
    extra : Mapping
        Read-only details: number of observations and hits, expected hits, likelihood-ratio
        components, estimated parameters, bootstrap or simulation sizes.

    Notes
    -----
    ``reject(level)`` is ``pvalue < level``; ``decision(level)`` says ``"reject"`` or
    ``"do not reject"``. A NaN p-value never rejects.
    """

    # Not a pytest test class, although the name starts with "Test".
    __test__: ClassVar[bool] = False

    name: str
    statistic: float
    pvalue: float
    null: str
    dist_name: str
    df: float | None = None
    alternative: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "statistic", float(self.statistic))
        object.__setattr__(self, "pvalue", float(self.pvalue))
        if self.df is not None:
            object.__setattr__(self, "df", float(self.df))
        object.__setattr__(self, "extra", freeze_mapping(self.extra))

    def reject(self, level: float = 0.05) -> bool:
        """True when H0 is rejected at significance ``level`` (``pvalue < level``)."""
        return bool(self.pvalue < check_level(level))

    def decision(self, level: float = 0.05) -> str:
        """``"reject"`` or ``"do not reject"`` at significance ``level``."""
        return "reject" if self.reject(level) else "do not reject"

    def _rows(self) -> list[tuple[str, str]]:
        rows = [("H0", self.null)]
        if self.alternative:
            rows.append(("H1", self.alternative))
        rows += [
            ("Statistic", _fmt(self.statistic)),
            ("P-value", _fmt(self.pvalue)),
            ("Distributed", self.dist_name),
        ]
        return rows + _scalar_items(self.extra)

    def __str__(self) -> str:
        return "\n".join([self.name, *(f"{k}: {v}" for k, v in self._rows())])

    def __repr__(self) -> str:
        return (
            f"<TestResult {self.name}: statistic={_fmt(self.statistic)}, "
            f"pvalue={_fmt(self.pvalue)}, {self.dist_name}>"
        )

    def _repr_html_(self) -> str:
        rows = [(k, fmt_pvalue(self.pvalue) if k == "P-value" else v) for k, v in self._rows()]
        return _html_table(self.name, rows)


@dataclass(frozen=True, repr=False, kw_only=True)
class ChristoffersenResult:
    """Christoffersen (1998) independence and conditional-coverage tests of one hit series.

    Attributes
    ----------
    independence : TestResult
        LR_ind ~ chi2(1): hits follow a first-order Markov chain with equal hit probabilities
        after a hit and after a non-hit.
    conditional_coverage : TestResult
        LR_cc = LR_pof + LR_ind ~ chi2(2).

    Notes
    -----
    ``statistic``, ``pvalue``, ``reject`` and ``decision`` refer to the joint
    (conditional-coverage) test. The result unpacks: ``ind, cc = christoffersen(hits, alpha)``.
    """

    independence: TestResult
    conditional_coverage: TestResult

    @property
    def statistic(self) -> float:
        """LR_cc, the conditional-coverage statistic."""
        return self.conditional_coverage.statistic

    @property
    def pvalue(self) -> float:
        """P-value of the conditional-coverage test."""
        return self.conditional_coverage.pvalue

    def reject(self, level: float = 0.05) -> bool:
        """True when conditional coverage is rejected at ``level``."""
        return self.conditional_coverage.reject(level)

    def decision(self, level: float = 0.05) -> str:
        """Decision of the conditional-coverage test at ``level``."""
        return self.conditional_coverage.decision(level)

    def __iter__(self) -> Iterator[TestResult]:
        return iter((self.independence, self.conditional_coverage))

    def __str__(self) -> str:
        return f"{self.independence}\n\n{self.conditional_coverage}"

    def __repr__(self) -> str:
        return (
            f"<ChristoffersenResult ind: statistic={_fmt(self.independence.statistic)}, "
            f"pvalue={_fmt(self.independence.pvalue)}; cc: "
            f"statistic={_fmt(self.statistic)}, pvalue={_fmt(self.pvalue)}>"
        )

    def _repr_html_(self) -> str:
        return self.independence._repr_html_() + self.conditional_coverage._repr_html_()


Zone = Literal["green", "yellow", "red"]


@dataclass(frozen=True, repr=False, kw_only=True)
class TrafficLightResult:
    """Basel traffic-light classification of a VaR backtest.

    Attributes
    ----------
    zone : {"green", "yellow", "red"}
        Zone of the observed number of exceptions.
    exceptions : int
        Number of exceptions (hits).
    nobs : int
        Number of forecasts.
    alpha : float
        VaR confidence level (0.99 means the 1 % loss tail).
    expected : float
        Expected number of exceptions, ``nobs * (1 - alpha)``.
    cumulative_probability : float
        ``P[X <= exceptions]`` for ``X ~ Binomial(nobs, 1 - alpha)`` (the BCBS table column).
    pvalue : float
        ``P[X >= exceptions]``: the probability, under a correct model, of at least as many
        exceptions.
    plus_factor : float or None
        Increase of the multiplication factor (BCBS 1996, Table 2). Defined only for 250
        observations at 99 %; None otherwise.
    multiplier : float or None
        ``3 + plus_factor``; None when ``plus_factor`` is None.
    yellow_from : int
        Smallest number of exceptions in the yellow zone (cumulative probability >= 95 %).
    red_from : int
        Smallest number of exceptions in the red zone (cumulative probability >= 99.99 %).
    """

    zone: Zone
    exceptions: int
    nobs: int
    alpha: float
    expected: float
    cumulative_probability: float
    pvalue: float
    plus_factor: float | None
    multiplier: float | None
    yellow_from: int
    red_from: int

    #: Cumulative-probability cutoffs of the BCBS (1996) construction.
    YELLOW_CUTOFF: ClassVar[float] = 0.95
    RED_CUTOFF: ClassVar[float] = 0.9999

    @property
    def statistic(self) -> float:
        """The number of exceptions (as a float, like every other statistic)."""
        return float(self.exceptions)

    def table(self) -> pd.DataFrame:
        """The zone table for ``nobs`` and ``alpha``, from 0 to ``red_from`` exceptions.

        Columns: ``zone``, ``probability`` (``P[X = k]``), ``cumulative_probability``
        (``P[X <= k]``) and ``plus_factor`` (NaN outside the 250-day, 99 % case).
        """
        k = np.arange(self.red_from + 1)
        p = 1.0 - self.alpha
        cdf = stats.binom.cdf(k, self.nobs, p)
        zones = np.where(
            k >= self.red_from, "red", np.where(k >= self.yellow_from, "yellow", "green")
        )
        if self.plus_factor is None:
            plus = np.full(k.size, np.nan)
        else:
            plus = np.array([BASEL_PLUS_FACTORS.get(int(i), BASEL_RED_PLUS_FACTOR) for i in k])
        out = pd.DataFrame(
            {
                "zone": zones,
                "probability": stats.binom.pmf(k, self.nobs, p),
                "cumulative_probability": cdf,
                "plus_factor": plus,
            },
            index=pd.Index(k, name="exceptions"),
        )
        return out

    def _rows(self) -> list[tuple[str, str]]:
        rows = [
            ("Zone", self.zone),
            ("Exceptions", str(self.exceptions)),
            ("Expected", _fmt(self.expected)),
            ("Observations", str(self.nobs)),
            ("VaR level", _fmt(self.alpha)),
            ("P[X <= x]", _fmt(self.cumulative_probability)),
            ("P-value P[X >= x]", _fmt(self.pvalue)),
            ("Yellow from", str(self.yellow_from)),
            ("Red from", str(self.red_from)),
        ]
        if self.plus_factor is not None:
            rows += [
                ("Plus-factor", f"{self.plus_factor:.2f}"),
                ("Multiplier", _fmt(self.multiplier)),
            ]
        else:
            rows.append(("Plus-factor", "not defined (BCBS table is for 250 days at 99%)"))
        return rows

    def __str__(self) -> str:
        return "\n".join(["Basel traffic light", *(f"{k}: {v}" for k, v in self._rows())])

    def __repr__(self) -> str:
        return (
            f"<TrafficLightResult {self.zone}: {self.exceptions} exceptions in {self.nobs} "
            f"(expected {self.expected:.2f}), pvalue={_fmt(self.pvalue)}>"
        )

    def _repr_html_(self) -> str:
        colours = {"green": "#1b7f3b", "yellow": "#9a7400", "red": "#b22222"}
        rows = html_table(
            self._rows()[1:],
            caption="Basel traffic light",
            th_style=_CELL,
            td_style=_CELL,
            caption_style=_CAPTION,
        )
        zone = (
            f"<tr><th style='{_CELL}'>Zone</th>"
            f"<td style='{_CELL};font-weight:bold;color:{colours.get(self.zone, 'inherit')}'>"
            f"{esc(self.zone)}</td></tr>"
        )
        # the zone row goes first, right after the caption
        return rows.replace("</caption>", f"</caption>{zone}", 1)


@dataclass(frozen=True, repr=False, eq=False, kw_only=True)
class MCSResult:
    """A model confidence set (Hansen, Lunde and Nason 2011) computed by ``arch.bootstrap.MCS``.

    Attributes
    ----------
    included : tuple of str
        Models in the set of best models at ``size``.
    excluded : tuple of str
        Models eliminated, in elimination order.
    pvalues : pandas.Series
        MCS p-value of every model (the smallest size at which the model is still in the set),
        in elimination order; the index is the model name.
    size : float
        Size of the test; the set holds the best models with probability ``1 - size``
        asymptotically.
    method : {"R", "max"}
        Equivalence test statistic (range ``T_R`` or max ``T_max``).
    bootstrap : str
        Bootstrap scheme.
    block_size : int
        Block length of the bootstrap.
    reps : int
        Bootstrap replications.
    mean_loss : pandas.Series
        Average loss of every model, in the caller's column order.
    """

    included: tuple[str, ...]
    excluded: tuple[str, ...]
    pvalues: pd.Series
    size: float
    method: str
    bootstrap: str
    block_size: int
    reps: int
    mean_loss: pd.Series

    def __contains__(self, model: object) -> bool:
        return model in self.included

    def table(self) -> pd.DataFrame:
        """One row per model: mean loss, MCS p-value and whether it is in the set."""
        out = pd.DataFrame({"mean_loss": self.mean_loss})
        out["pvalue"] = self.pvalues.reindex(out.index)
        out["included"] = [m in self.included for m in out.index]
        out.index.name = "model"
        return out

    def __str__(self) -> str:
        lines = [
            f"Model confidence set (size {self.size:.2f}, method {self.method}, "
            f"{self.bootstrap} bootstrap, block {self.block_size}, {self.reps} reps)",
            f"Included: {', '.join(self.included)}",
            f"Excluded: {', '.join(self.excluded) if self.excluded else '(none)'}",
        ]
        lines += [f"  {m}: p-value {_fmt(float(p))}" for m, p in self.pvalues.items()]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<MCSResult size={self.size:.2f}: included={list(self.included)}>"

    def _repr_html_(self) -> str:
        caption = esc(
            f"Model confidence set (size {self.size:.2f}, method {self.method}, "
            f"{self.bootstrap} bootstrap, block {self.block_size}, {self.reps} reps)"
        )
        table = table_html(self.table(), {"mean_loss": "number", "pvalue": "pvalue"})
        return f"<div><b>{caption}</b>{table}</div>"
