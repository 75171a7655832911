r"""Notional-tiered leverage and margin tables, in the shape exchanges publish them.

A table is a list of brackets by position notional (USD): bracket :math:`n` covers
:math:`(b_{n-1}, b_n]` (with :math:`b_0 = 0`) and has a maximum leverage :math:`L_n`, a
maintenance margin rate :math:`m_n` and optionally a published initial margin rate
:math:`i_n` (default :math:`1/L_n`). For a position of notional :math:`N` in bracket :math:`n`

.. math::

    \text{MM}(N) = N\,m_n - c_n, \qquad
    c_n = c_{n-1} + b_{n-1}\,(m_n - m_{n-1}), \quad c_1 = 0,

    \text{IM}(N) = N\,\max(i_n, 1/L_\text{user}),

where :math:`c_n` is Binance's "maintenance amount" (``cum`` in ``GET /fapi/v1/leverageBracket``):
it makes :math:`\text{MM}(N)` continuous and piecewise linear in :math:`N`, i.e. the marginal
rate :math:`m_n` applies to the part of the notional inside bracket :math:`n`, like a tax
bracket. The initial margin applies the bracket's rate to the whole notional (it jumps at the
bounds), as Binance does for the leverage a user may choose.

Sources
-------
* Binance FAQ "Leverage and Margin of USDⓈ-M Futures" (2020-06-24,
  https://www.binance.com/en/support/articles/360033162192): the "tax bracket" setup.
* Binance FAQ "How to Calculate Liquidation Price of USDⓈ-M Futures Contracts" (2020-08-14,
  https://www.binance.com/en/support/faq/b3c689c1f50a44cabb3a84e663b81d93): "Maintenance Amount
  on Level n = Floor of Position Bracket on Level n × (MMR_n − MMR_{n−1}) + Maintenance Amount on
  Level n−1", e.g. 250,000 × (1% − 0.5%) + 50 = 1,300 USDT for BTCUSDT; MM = notional × MMR −
  maintenance amount (also VENUES.md §1.2).
* Hyperliquid margin tiers (VENUES.md §1.6): MM rate = half the IM rate at the tier's maximum
  leverage, maintenance deduction accumulated the same way (:meth:`TierTable.from_leverage`).

The shipped example tables live in ``riskmodels/margin/tables/*.toml``, each with its ``source``
and ``as_of``; list them with :func:`available_tier_tables`, load one with
:func:`load_tier_table`.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import KW_ONLY, dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from riskmodels._deprecation import keyword_options
from riskmodels._display import html_table, table_html
from riskmodels.exceptions import ConfigError, ModelError

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = [
    "TierTable",
    "available_tier_tables",
    "binance_usdm_tiers",
    "load_tier_table",
]

#: Published maintenance amounts are compared with the recursion to this absolute tolerance
#: (USD cents) plus 1e-9 relative: venues publish them to the cent or to the unit.
_CUM_ATOL = 0.01
_CUM_RTOL = 1e-9

_TABLE_KEYS = {
    "name",
    "venue",
    "symbol",
    "assets",
    "notional_unit",
    "as_of",
    "source",
    "notes",
    "bracket",
}
_BRACKET_KEYS = {"upper", "max_leverage", "mmr", "imr", "maintenance_amount"}


def _floats(values: Any, name: str, table: str) -> tuple[float, ...]:
    try:
        out = tuple(float(v) for v in values)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"TierTable {table!r}: {name} must be numbers (got {values!r}).") from exc
    for i, v in enumerate(out):
        if math.isnan(v):
            raise ConfigError(f"TierTable {table!r}: {name}[{i}] is NaN; give a number.")
    return out


@keyword_options
@dataclass(frozen=True)
class TierTable:
    """A notional-tiered leverage / maintenance-margin table.

    Parameters
    ----------
    upper_bounds : sequence of float
        Upper notional bound of each bracket (USD, strictly increasing, > 0; the last may be
        ``inf``). Bracket n covers ``(upper_bounds[n-1], upper_bounds[n]]``.
    max_leverage : sequence of float
        Maximum leverage per bracket (>= 1, non-increasing).
    mmr : sequence of float
        Maintenance margin rate per bracket (in (0, 1], non-decreasing).
    imr : sequence of float, optional
        Published initial margin rate per bracket (default ``1 / max_leverage``); must be
        >= ``mmr``.
    published_maintenance_amount : sequence of float or None, optional
        The table's "maintenance amount" column as published (entries may be None where not
        published). Checked against the recursion; a mismatch raises :class:`ConfigError`.
    name, venue, symbol : str
    assets : sequence of str
        Assets the table applies to (informational; models take a mapping asset -> table).
    source : str
        Where the numbers come from (URL, title, date read).
    as_of : str
        The date the table was in force (ISO).
    notes : str

    Attributes
    ----------
    maintenance_amount : tuple of float
        :math:`c_n` from the recursion in the module docstring.
    lower_bounds : tuple of float
        :math:`b_{n-1}` per bracket (0 for the first).

    Raises
    ------
    ConfigError
        Empty table, lengths that differ, bounds not strictly increasing or not positive,
        leverage increasing or < 1, MMR decreasing or outside (0, 1], IMR below MMR, or a
        published maintenance amount that disagrees with the recursion.
    """

    upper_bounds: Sequence[float]
    max_leverage: Sequence[float]
    mmr: Sequence[float]
    _: KW_ONLY
    imr: Sequence[float] | None = None
    published_maintenance_amount: Sequence[float | None] | None = None
    name: str = "tiers"
    venue: str = ""
    symbol: str = ""
    assets: Sequence[str] = ()
    source: str = ""
    as_of: str = ""
    notes: str = ""
    maintenance_amount: tuple[float, ...] = field(init=False, repr=False)
    lower_bounds: tuple[float, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        name = str(self.name)
        up = _floats(self.upper_bounds, "upper_bounds", name)
        lev = _floats(self.max_leverage, "max_leverage", name)
        mmr = _floats(self.mmr, "mmr", name)
        n = len(up)
        if n == 0:
            raise ConfigError(f"TierTable {name!r} has no brackets: give at least one.")
        if len(lev) != n or len(mmr) != n:
            raise ConfigError(
                f"TierTable {name!r}: upper_bounds, max_leverage and mmr must have one entry per "
                f"bracket (got {n}, {len(lev)}, {len(mmr)})."
            )
        if up[0] <= 0:
            raise ConfigError(
                f"TierTable {name!r}: the first upper bound must be > 0 (got {up[0]!r})."
            )
        for i in range(1, n):
            if not up[i] > up[i - 1]:
                raise ConfigError(
                    f"TierTable {name!r}: upper bounds must be strictly increasing (bracket "
                    f"{i + 1} has upper bound {up[i]:,g} after {up[i - 1]:,g}); sort the brackets "
                    "by notional."
                )
            if lev[i] > lev[i - 1]:
                raise ConfigError(
                    f"TierTable {name!r}: max leverage must not increase with notional (bracket "
                    f"{i + 1} allows {lev[i]:g}x after {lev[i - 1]:g}x)."
                )
            if mmr[i] < mmr[i - 1]:
                raise ConfigError(
                    f"TierTable {name!r}: maintenance margin rates must not decrease with notional "
                    f"(bracket {i + 1} has mmr {mmr[i]:g} after {mmr[i - 1]:g})."
                )
        if any(math.isinf(u) for u in up[:-1]):
            raise ConfigError(f"TierTable {name!r}: only the last upper bound may be inf.")
        for i, (lv, m) in enumerate(zip(lev, mmr, strict=True)):
            if not (math.isfinite(lv) and lv >= 1):
                raise ConfigError(
                    f"TierTable {name!r}: max_leverage must be finite and >= 1 (bracket {i + 1}: "
                    f"{lv!r})."
                )
            if not (0 < m <= 1):
                raise ConfigError(
                    f"TierTable {name!r}: mmr must be in (0, 1] as a decimal (bracket {i + 1}: "
                    f"{m!r}); 0.004 means 0.40%."
                )
        if self.imr is None:
            imr = tuple(1.0 / lv for lv in lev)
        else:
            imr = _floats(self.imr, "imr", name)
            if len(imr) != n:
                raise ConfigError(
                    f"TierTable {name!r}: imr must have one entry per bracket ({n}, got {len(imr)})."
                )
        for i, (a, m) in enumerate(zip(imr, mmr, strict=True)):
            if not (m <= a <= 1):
                raise ConfigError(
                    f"TierTable {name!r}: the initial margin rate must lie in [mmr, 1] (bracket "
                    f"{i + 1}: imr {a!r}, mmr {m!r})."
                )
        lower = (0.0, *up[:-1])
        cum = [0.0]
        for i in range(1, n):
            cum.append(cum[-1] + lower[i] * (mmr[i] - mmr[i - 1]))
        if self.published_maintenance_amount is not None:
            pub = list(self.published_maintenance_amount)
            if len(pub) != n:
                raise ConfigError(
                    f"TierTable {name!r}: published_maintenance_amount must have {n} entries "
                    f"(None where not published) (got {len(pub)})."
                )
            for i, (p, c) in enumerate(zip(pub, cum, strict=True)):
                if p is None:
                    continue
                if not abs(float(p) - c) <= _CUM_ATOL + _CUM_RTOL * abs(c):
                    raise ConfigError(
                        f"TierTable {name!r}: published maintenance amount of bracket {i + 1} is "
                        f"{float(p):,.2f} but the brackets give {c:,.2f} (cum_n = cum_(n-1) + "
                        "floor_n * (mmr_n - mmr_(n-1))); check the bounds and rates."
                    )
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "upper_bounds", up)
        object.__setattr__(self, "max_leverage", lev)
        object.__setattr__(self, "mmr", mmr)
        object.__setattr__(self, "imr", imr)
        object.__setattr__(self, "assets", tuple(str(a) for a in self.assets))
        object.__setattr__(self, "as_of", str(self.as_of))
        object.__setattr__(self, "maintenance_amount", tuple(cum))
        object.__setattr__(self, "lower_bounds", lower)
        if self.published_maintenance_amount is not None:
            object.__setattr__(
                self,
                "published_maintenance_amount",
                tuple(None if p is None else float(p) for p in self.published_maintenance_amount),
            )

    # -- construction ------------------------------------------------------------------------
    @classmethod
    def flat(cls, mmr: float, max_leverage: float, *, name: str = "flat") -> TierTable:
        """One bracket without a cap: MM = ``mmr`` × notional, IM = notional / ``max_leverage``."""
        return cls((math.inf,), (max_leverage,), (mmr,), name=name)

    @classmethod
    def from_leverage(
        cls,
        upper_bounds: Sequence[float],
        max_leverage: Sequence[float],
        *,
        mm_factor: float = 0.5,
        **meta: Any,
    ) -> TierTable:
        """A table whose MMR is ``mm_factor`` × the IM rate at the bracket's maximum leverage.

        Hyperliquid's convention is ``mm_factor = 0.5`` ("MM = half of IM at maximum
        leverage": 40x -> 1.25%, VENUES.md §1.6); dYdX's Large-Cap tier has 0.6 (IM 2%,
        MMF 1.2%, VENUES.md §1.5).
        """
        if not (0 < float(mm_factor) <= 1):
            raise ConfigError(
                f"mm_factor must be in (0, 1] (got {mm_factor!r}); 0.5 is MM = IM / 2."
            )
        lev = [float(x) for x in max_leverage]
        return cls(upper_bounds, lev, [mm_factor / x for x in lev], **meta)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, where: str = "tier table") -> TierTable:
        """Build from the TOML layout (top-level keys and a ``[[bracket]]`` list).

        Raises
        ------
        ConfigError
            Unknown or missing keys (``source``, ``as_of`` and ``bracket`` are required).
        """
        unknown = set(data) - _TABLE_KEYS
        if unknown:
            raise ConfigError(
                f"{where}: unknown keys {sorted(unknown)}; allowed: {sorted(_TABLE_KEYS)}."
            )
        for key in ("source", "as_of", "bracket"):
            if key not in data:
                raise ConfigError(
                    f"{where} lacks {key!r}: every table states its source and the date it was in "
                    "force (as_of), and lists its brackets as [[bracket]] entries."
                )
        brackets = data["bracket"]
        if not isinstance(brackets, list) or not brackets:
            raise ConfigError(f"{where}: 'bracket' must be a non-empty list of [[bracket]] tables.")
        for i, b in enumerate(brackets):
            bad = set(b) - _BRACKET_KEYS
            if bad:
                raise ConfigError(
                    f"{where}: bracket {i + 1} has unknown keys {sorted(bad)}; allowed: "
                    f"{sorted(_BRACKET_KEYS)}."
                )
            missing = {"upper", "max_leverage", "mmr"} - set(b)
            if missing:
                raise ConfigError(f"{where}: bracket {i + 1} lacks {sorted(missing)}.")
        has_imr = [("imr" in b) for b in brackets]
        if any(has_imr) and not all(has_imr):
            raise ConfigError(f"{where}: give 'imr' for every bracket or for none.")
        pub = [b.get("maintenance_amount") for b in brackets]
        return cls(
            upper_bounds=[b["upper"] for b in brackets],
            max_leverage=[b["max_leverage"] for b in brackets],
            mmr=[b["mmr"] for b in brackets],
            imr=[b["imr"] for b in brackets] if all(has_imr) else None,
            published_maintenance_amount=None if all(p is None for p in pub) else pub,
            name=str(data.get("name", where)),
            venue=str(data.get("venue", "")),
            symbol=str(data.get("symbol", "")),
            assets=tuple(data.get("assets", ())),
            source=" ".join(str(data["source"]).split()),
            as_of=str(data["as_of"]),
            notes=" ".join(str(data.get("notes", "")).split()),
        )

    @classmethod
    def from_toml(cls, path: str | Path) -> TierTable:
        """Read a table from a TOML file (layout of ``riskmodels/margin/tables/*.toml``).

        Raises
        ------
        ConfigError
            If the file is missing, is not UTF-8 text, is not valid TOML, or fails validation.
        """
        p = Path(path)
        try:
            text = p.read_bytes().decode("utf-8")
        except FileNotFoundError as exc:
            raise ConfigError(f"tier table file {str(p)!r} does not exist.") from exc
        except UnicodeDecodeError as exc:
            raise ConfigError(
                f"tier table file {str(p)!r} is not UTF-8 text (byte {exc.start}: "
                f"{exc.reason}). Save it as UTF-8 (TOML files must be UTF-8)."
            ) from exc
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"tier table file {str(p)!r} is not valid TOML: {exc}.") from exc
        return cls.from_dict(data, where=f"tier table {p.name!r}")

    # -- evaluation --------------------------------------------------------------------------
    @property
    def n_brackets(self) -> int:
        """Number of brackets."""
        return len(self.upper_bounds)

    @property
    def max_notional(self) -> float:
        """The largest notional the table accepts (the last upper bound)."""
        return self.upper_bounds[-1]

    def bracket(self, notional: Any, *, strict: bool = True) -> np.ndarray | int:
        """0-based bracket index of each absolute notional (``(lower, upper]``; 0 is bracket 0).

        Raises
        ------
        ModelError
            With ``strict=True``, a notional above the last bound (the venue would reject the
            position); ``strict=False`` extends the last bracket instead.
        """
        n = np.abs(np.asarray(notional, dtype="float64"))
        if not np.isfinite(n).all():
            raise ModelError(
                f"TierTable {self.name!r}: notional must be finite (got {notional!r})."
            )
        idx = np.searchsorted(np.asarray(self.upper_bounds), n, side="left")
        over = idx >= self.n_brackets
        if over.any():
            if strict:
                worst = float(np.max(n))
                raise ModelError(
                    f"notional {worst:,.2f} exceeds the last bracket of tier table {self.name!r} "
                    f"(max {self.max_notional:,.0f}): the venue would not accept the position. "
                    "Split it, or use strict=False to extend the last bracket."
                )
            idx = np.minimum(idx, self.n_brackets - 1)
        return int(idx) if np.ndim(idx) == 0 else idx

    def maintenance(self, notional: Any, *, strict: bool = True) -> np.ndarray | float:
        """Maintenance margin ``|N| × mmr_n − cum_n`` (USD)."""
        n = np.abs(np.asarray(notional, dtype="float64"))
        b = self.bracket(n, strict=strict)
        mm = n * np.asarray(self.mmr)[b] - np.asarray(self.maintenance_amount)[b]
        mm = np.maximum(mm, 0.0)  # exact zero at N = 0; guards rounding just above it
        return float(mm) if np.ndim(mm) == 0 else mm

    def initial_rate(
        self, notional: Any, *, leverage: float | None = None, strict: bool = True
    ) -> np.ndarray | float:
        """Initial margin rate at ``notional``: the bracket's IMR, or ``1/leverage`` if larger."""
        b = self.bracket(notional, strict=strict)
        rate = np.asarray(self.imr)[b]
        if leverage is not None:
            rate = np.maximum(rate, 1.0 / float(leverage))
        return float(rate) if np.ndim(rate) == 0 else rate

    def initial(
        self, notional: Any, *, leverage: float | None = None, strict: bool = True
    ) -> np.ndarray | float:
        """Initial margin ``|N| × max(imr_n, 1/leverage)`` (USD)."""
        n = np.abs(np.asarray(notional, dtype="float64"))
        im = n * self.initial_rate(n, leverage=leverage, strict=strict)
        return float(im) if np.ndim(im) == 0 else im

    def mmr_at(self, notional: Any, *, strict: bool = True) -> np.ndarray | float:
        """Maintenance margin rate of the bracket holding ``notional``."""
        b = self.bracket(notional, strict=strict)
        out = np.asarray(self.mmr)[b]
        return float(out) if np.ndim(out) == 0 else out

    def cum_at(self, notional: Any, *, strict: bool = True) -> np.ndarray | float:
        """Maintenance amount of the bracket holding ``notional``."""
        b = self.bracket(notional, strict=strict)
        out = np.asarray(self.maintenance_amount)[b]
        return float(out) if np.ndim(out) == 0 else out

    # -- display -----------------------------------------------------------------------------
    def frame(self) -> pd.DataFrame:
        """The table as published: bounds, max leverage, MMR, IMR, maintenance amount."""
        out = pd.DataFrame(
            {
                "lower": self.lower_bounds,
                "upper": self.upper_bounds,
                "max_leverage": self.max_leverage,
                "mmr": self.mmr,
                "imr": self.imr,
                "maintenance_amount": self.maintenance_amount,
            },
            index=pd.RangeIndex(1, self.n_brackets + 1, name="bracket"),
        )
        if self.published_maintenance_amount is not None:
            out["published_maintenance_amount"] = [
                np.nan if p is None else p for p in self.published_maintenance_amount
            ]
        return out

    # -- plots -------------------------------------------------------------------------------
    @property
    def label(self) -> str:
        """Short name for legends: venue, symbol and date, else the table's name."""
        if self.venue:
            text = " ".join(x for x in (self.venue, self.symbol) if x)
            return f"{text} ({self.as_of})" if self.as_of else text
        return self.name

    def plot(
        self,
        other: TierTable | Sequence[TierTable] | Mapping[str, TierTable] | None = None,
        *,
        rate: Literal["mmr", "imr"] = "mmr",
        label: str | None = None,
        ax: Axes | None = None,
    ) -> Axes:
        """Draw the rate as a step function of the position notional, against other tables.

        Drawn: this table's maintenance (or initial) margin rate per bracket as a step line
        over the notional (log scale, USD), from a tenth of the smallest first bound to the
        last bound (an open last bracket runs to twice the largest finite bound of the tables
        drawn); then each table of ``other`` the same way (e.g. a calibrated table against
        Binance's). A table with a finite last bound ends there: larger positions are refused.

        Parameters
        ----------
        other : TierTable, sequence of TierTable or mapping of str to TierTable, optional
            Tables to compare with; a mapping's keys are their legend labels.
        rate : {"mmr", "imr"}, default "mmr"
            The maintenance or the initial margin rate.
        label : str, optional
            Legend entry of this table (default :attr:`label`).
        ax : matplotlib.axes.Axes, optional
            Where to draw; default a new figure in the report style.

        Returns
        -------
        matplotlib.axes.Axes
            ``ax.lines[0]`` is this table (y data: the rates, the last repeated), then one line
            per table of ``other``.
        """
        from riskmodels.reporting import figures

        if rate not in ("mmr", "imr"):
            raise ConfigError(f"rate must be 'mmr' or 'imr' (got {rate!r}).")
        tables: list[tuple[str, TierTable]] = [(label or self.label, self)]
        if isinstance(other, TierTable):
            tables.append((other.label, other))
        elif isinstance(other, Mapping):
            tables += [(str(k), v) for k, v in other.items()]
        elif other is not None:
            tables += [(getattr(t, "label", ""), t) for t in other]
        bad = [type(t).__name__ for _, t in tables if not isinstance(t, TierTable)]
        if bad:
            raise ConfigError(f"other must hold TierTables (got {bad}).")
        finite = [u for _, t in tables for u in t.upper_bounds if math.isfinite(u)]
        firsts = [t.upper_bounds[0] for _, t in tables if math.isfinite(t.upper_bounds[0])]
        x_min = min(firsts) / 10.0 if firsts else 1e3
        x_max = 2.0 * max(finite) if finite else 1e9
        ax = figures.new_axes(ax, figsize=(9.0, 4.0))
        for (name, t), colour in zip(tables, figures.palette(len(tables)), strict=True):
            rates = list(t.mmr if rate == "mmr" else t.imr)  # type: ignore[arg-type]
            end = t.upper_bounds[-1] if math.isfinite(t.upper_bounds[-1]) else x_max
            xs = [x_min, *t.upper_bounds[:-1], end]
            # "USDⓈ-M": the circled S is missing from matplotlib's default font
            legend = name.replace("\u24c8", "S")
            ax.step(xs, [*rates, rates[-1]], where="post", color=colour, lw=1.5, label=legend)
        ax.set_xscale("log")
        figures.usd_axis(ax, "x")
        figures.percent_axis(ax, "y")
        ax.set_xlabel("position notional (USD)")
        ax.set_ylabel("maintenance margin rate" if rate == "mmr" else "initial margin rate")
        ax.set_ylim(bottom=0.0)
        ax.legend(fontsize=8, loc="upper left")
        return ax

    def _repr_html_(self) -> str:
        head = html_table(
            (
                ("table", self.name),
                ("venue", self.venue),
                ("symbol", self.symbol),
                ("as of", self.as_of),
                ("source", self.source),
            )
        )
        kinds = {c: "usd" for c in ("lower", "upper", "maintenance_amount")}
        kinds.update(published_maintenance_amount="usd", mmr="pct", imr="pct", bracket="count")
        return head + table_html(self.frame().reset_index(), kinds)


# -- shipped tables ----------------------------------------------------------------------------
def _tables_dir() -> Any:
    return resources.files("riskmodels.margin").joinpath("tables")


def available_tier_tables() -> list[str]:
    """Names of the shipped example tables (``riskmodels/margin/tables/*.toml``)."""
    return sorted(
        p.name[: -len(".toml")] for p in _tables_dir().iterdir() if p.name.endswith(".toml")
    )


def load_tier_table(name: str | Path) -> TierTable:
    """Load a shipped table by name (see :func:`available_tier_tables`) or a TOML file by path.

    Raises
    ------
    ConfigError
        Unknown name, missing file, invalid TOML or an invalid table.
    """
    p = Path(name)
    if p.suffix == ".toml" or p.exists():
        return TierTable.from_toml(p)
    res = _tables_dir().joinpath(f"{name}.toml")
    if not res.is_file():
        raise ConfigError(
            f"no shipped tier table named {str(name)!r}; available: {available_tier_tables()} "
            "(or pass a path to a .toml file)."
        )
    with res.open("rb") as fh:
        data = tomllib.load(fh)
    return TierTable.from_dict(data, where=f"tier table {str(name)!r}")


def binance_usdm_tiers() -> dict[str, TierTable]:
    """Asset -> table for every shipped Binance USDⓈ-M table (BTC, ETH and the 2021 50x alts).

    Dated examples (see each table's ``source``, ``as_of`` and ``notes``), not today's tables.
    """
    out: dict[str, TierTable] = {}
    for name in available_tier_tables():
        if name.startswith("binance_usdm_"):
            table = load_tier_table(name)
            for asset in table.assets:
                out[asset] = table
    return out
