r"""Venues' liquidation pipelines as dated data: :class:`LiquidationRule`.

A rule is read from the same dated TOML file as the venue's maintenance-margin rule
(``riskmodels/margin/rules/<name>.toml``): the margin part (``kind`` and its parameters,
see :mod:`riskmodels.margin.venues`) gives the maintenance-margin schedule, and a
``[liquidation]`` table gives the pipeline from trigger to close-out, insurance fund and
auto-deleveraging (ADL). Every parameter of that table is written either as a published value
with its source::

    clearance_fee = { value = 0.005, source = "Binance Zendesk 360033525271 (old text)", as_of = "2020" }

or, when no venue publishes it, as unknown with the values to sweep::

    delay = { unknown = true, sweep = ["0s", "5s", "30s", "1min", "5min"], note = "..." }

so a number nobody published is never silently fixed at an extreme:
:func:`~riskmodels.liquidation.simulate_liquidations` refuses to run an unknown parameter
without an explicit value, and :meth:`LiquidationRule.sweep` lists the values to try.

The pipeline (VENUES.md, "Liquidation pipelines, step by step", read 2026-12-06)
---------------------------------------------------------------------------------
``trigger``
    Equity falls to the maintenance margin, equity computed on the **mark price**.
``delay``
    Time from the trigger to the fill of the close-out order (seconds to minutes; no venue
    publishes it). It may grow with size: :math:`\Delta(N) = \Delta_0 + N / (\rho V)`, with
    ``participation`` :math:`\rho` of the traded volume :math:`V` per unit time.
``slice_fraction``, ``slice_threshold_usd``, ``slice_interval``
    Partial close-out: positions above the threshold send only a fraction per order, and the
    account is re-checked after the interval (Hyperliquid: 20 % above $100k, 30 s cooldown).
    ``slice_fraction = 1`` closes the whole position in one order (Binance's IOC).
``clearance_fee``
    Fee on the liquidated notional, paid to the insurance fund (Binance 0.3–0.5 % historic).
``residual_to``
    Where the margin left after the close-out goes: ``"fund"`` (Binance: "part of any
    remaining collateral goes to the IF") or ``"trader"`` (Hyperliquid's book phase).
``backstop_fraction``, ``backstop_delay``
    A backstop (Hyperliquid's liquidator vault) takes the whole remaining position and its
    collateral when equity falls below this fraction of MM (2/3 on Hyperliquid); it closes
    after its own delay. ``0`` means no backstop.
``adl_trigger``
    When ADL starts. Every shipped venue deleverages (or socializes) once the insurance fund
    cannot cover the bad debt: ``"fund_exhausted"``. Drawdown triggers (OKX: the fund down
    30 % from its 8-hour peak; Bybit's pnlRatio < -30 %; a 2019 third-party report of Binance
    at -7.5 % in 8 hours, VENUES.md §1.2, §L.2-L.3) are not modelled yet: a rule that needs one
    is refused rather than run on the wrong trigger.
``adl_price``
    Price at which ADL closes profitable opposite positions once the fund is exhausted:
    ``"bankruptcy"`` (Binance, Bybit), ``"mark"`` (Hyperliquid's previous oracle price, OKX) or
    ``"socialized"`` (Deribit: losses shared among the day's winners, no position closed).
``adl_ranking``
    Order of ADL counterparties: ``"pnl_leverage"`` (unrealized PnL % × leverage; Binance's
    LeveragePnL, Bybit, Hyperliquid) or ``"pro_rata"``.
"""

from __future__ import annotations

import dataclasses
import math
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from riskmodels._time import as_timedelta
from riskmodels.exceptions import ConfigError
from riskmodels.margin import TierTable, load_tier_table

__all__ = [
    "LiquidationRule",
    "MaintenanceSchedule",
    "Parameter",
    "available_liquidation_rules",
]

#: Every [liquidation] table must state each of these (a value with its source, or unknown).
REQUIRED: tuple[str, ...] = (
    "trigger_price",
    "delay",
    "slice_fraction",
    "clearance_fee",
    "residual_to",
    "backstop_fraction",
    "adl_trigger",
    "adl_price",
    "adl_ranking",
)
#: Optional parameters and their defaults when absent (documented in the module docstring).
OPTIONAL: dict[str, Any] = {
    "participation": None,
    "slice_threshold_usd": 0.0,
    "slice_interval": "0s",
    "backstop_delay": "0s",
    "insurance_fund_usd": None,
    "funding_interval": "8h",
}
_TEXT = {"source", "as_of", "notes", "fund_scope"}
_CHOICES = {
    "trigger_price": ("mark", "oracle", "last"),
    "residual_to": ("fund", "trader"),
    "adl_trigger": ("fund_exhausted",),
    "adl_price": ("bankruptcy", "mark", "socialized"),
    "adl_ranking": ("pnl_leverage", "pro_rata"),
}
_DURATIONS = {"delay", "slice_interval", "backstop_delay", "funding_interval"}
_FRACTIONS = {"slice_fraction", "clearance_fee", "backstop_fraction", "participation"}


def _show(v: Any) -> str:
    """A parameter value for messages and tables ("30s", not "0 days 00:00:30")."""
    if isinstance(v, pd.Timedelta):
        sec = v.total_seconds()
        return f"{sec / 60:g}min" if sec >= 60 and sec % 60 == 0 else f"{sec:g}s"
    return str(v)


def parse_duration(value: Any, name: str) -> pd.Timedelta:
    """A non-negative duration such as ``"30s"`` or ``"1min"``; a bare number is refused.

    A thin wrapper of :func:`riskmodels._time.as_timedelta` (the package's one duration
    parser) with ``allow_negative=False`` and second/minute examples in its messages.

    Parameters
    ----------
    value : str, Timedelta, datetime.timedelta or numpy.timedelta64
        The duration.
    name : str
        The argument's name in error messages.

    Returns
    -------
    pandas.Timedelta

    Raises
    ------
    ConfigError
        For numbers without a unit (``3`` or ``"3"`` would otherwise be read as 3 ns), NaT or
        negatives.
    """
    return as_timedelta(value, name, allow_negative=False, examples=("30s", "5min"))


@dataclass(frozen=True)
class Parameter:
    """One pipeline parameter: a published value with its source, or unknown with a sweep.

    Parameters
    ----------
    name : str
    value : object or None
        The published value (``None`` when unknown).
    source, as_of : str
        Where the value comes from and when it was in force ("" when unknown).
    unknown : bool
        True when no venue publishes the number: it must be given explicitly or swept.
    sweep : tuple
        Values to try as a sensitivity (required when unknown).
    note : str
    """

    name: str
    value: Any = None
    source: str = ""
    as_of: str = ""
    unknown: bool = False
    sweep: tuple[Any, ...] = ()
    note: str = ""


def _check_value(name: str, value: Any, where: str) -> Any:
    if value is None:
        return None
    if name in _DURATIONS:
        return parse_duration(value, f"{where}: {name}")
    if name in _CHOICES:
        if value not in _CHOICES[name]:
            raise ConfigError(f"{where}: {name} must be one of {_CHOICES[name]} (got {value!r}).")
        return value
    try:
        v = float(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: {name} must be a number (got {value!r}).") from exc
    if not math.isfinite(v) or v < 0:
        raise ConfigError(f"{where}: {name} must be finite and >= 0 (got {value!r}).")
    if name in _FRACTIONS and v > 1:
        raise ConfigError(
            f"{where}: {name} is a fraction in [0, 1] (got {v!r}); write 0.005 for 0.5 %."
        )
    if name == "slice_fraction" and v == 0:
        raise ConfigError(f"{where}: slice_fraction must be > 0 (1 closes the whole position).")
    return v


def _parameter(name: str, raw: Any, where: str) -> Parameter:
    if isinstance(raw, Mapping):
        unknown = bool(raw.get("unknown", False))
        extra = set(raw) - {"value", "source", "as_of", "unknown", "sweep", "note"}
        if extra:
            raise ConfigError(
                f"{where}: {name} has unknown keys {sorted(extra)}; allowed: value, source, "
                "as_of, unknown, sweep, note."
            )
        if unknown:
            sweep = tuple(_check_value(name, v, where) for v in raw.get("sweep", ()))
            if not sweep:
                raise ConfigError(
                    f"{where}: {name} is marked unknown, so it needs sweep = [...] (the values "
                    "to try as a sensitivity)."
                )
            return Parameter(name, None, unknown=True, sweep=sweep, note=str(raw.get("note", "")))
        if "value" not in raw:
            raise ConfigError(
                f"{where}: {name} needs value = ... with its source, or unknown = true with "
                "sweep = [...]."
            )
        if not str(raw.get("source", "")).strip():
            raise ConfigError(
                f"{where}: {name} = {raw['value']!r} has no source; every published number "
                "states where it comes from (source = '...')."
            )
        return Parameter(
            name,
            _check_value(name, raw["value"], where),
            source=" ".join(str(raw["source"]).split()),
            as_of=str(raw.get("as_of", "")),
            note=str(raw.get("note", "")),
        )
    # A bare value inherits the [liquidation] table's source (checked by the caller).
    return Parameter(name, _check_value(name, raw, where))


@dataclass(frozen=True)
class MaintenanceSchedule:
    r"""Maintenance margin as a function of notional :math:`N` and size :math:`q` (coins).

    :math:`\text{MM} = N\,(m_b + k\,q) - c_b` for the bracket :math:`b` that holds :math:`N`:
    notional tiers (Binance, Hyperliquid: :math:`k = 0`), a flat fraction (dYdX), Deribit's
    size surcharge (:math:`k` = ``per_coin``), or a naked delta under Deribit's risk matrix
    (:math:`m = f_\text{mm} R`, plus the delta shock above its threshold as a second bracket).

    Parameters
    ----------
    upper : array
        Upper notional bound of each bracket (USD; the last is ``inf``).
    mmr, cum : array
        Maintenance rate and maintenance amount per bracket.
    per_coin : float
        Size surcharge :math:`k` per coin.
    """

    upper: np.ndarray
    mmr: np.ndarray
    cum: np.ndarray
    per_coin: float = 0.0

    @classmethod
    def from_table(cls, table: TierTable) -> MaintenanceSchedule:
        up = np.asarray(table.upper_bounds, dtype="float64").copy()
        up[-1] = np.inf  # beyond the last bracket the last rate applies (strict=False)
        return cls(up, np.asarray(table.mmr, float), np.asarray(table.maintenance_amount, float))

    @property
    def lower(self) -> np.ndarray:
        return np.concatenate([[0.0], self.upper[:-1]])

    def bracket(self, notional: Any) -> np.ndarray:
        n = np.abs(np.asarray(notional, dtype="float64"))
        return np.minimum(np.searchsorted(self.upper, n, side="left"), len(self.upper) - 1)

    def maintenance(self, notional: Any, size: Any = 0.0) -> np.ndarray:
        """MM in USD for absolute notionals (and sizes in coins, for a size surcharge)."""
        n = np.abs(np.asarray(notional, dtype="float64"))
        b = self.bracket(n)
        q = np.abs(np.asarray(size, dtype="float64"))
        rate = np.minimum(self.mmr[b] + self.per_coin * q, 1.0)
        return n * rate - self.cum[b]


def _schedule(data: Mapping[str, Any], where: str) -> MaintenanceSchedule:
    kind = data.get("kind")
    if kind == "tiers":
        if "table" in data:
            return MaintenanceSchedule.from_table(load_tier_table(str(data["table"])))
        table = TierTable.from_dict(
            {"bracket": data["bracket"], "source": data["source"], "as_of": data["as_of"]},
            where=where,
        )
        return MaintenanceSchedule.from_table(table)
    if kind == "leverage_tiers":
        return MaintenanceSchedule.from_table(
            TierTable.from_leverage(
                data["upper"], data["max_leverage"], mm_factor=float(data["mm_factor"])
            )
        )
    if kind == "fixed_fraction":
        return MaintenanceSchedule(np.array([np.inf]), np.array([float(data["mmr"])]), np.zeros(1))
    if kind == "linear_size":
        return MaintenanceSchedule(
            np.array([np.inf]),
            np.array([float(data["base_mmr"])]),
            np.zeros(1),
            per_coin=float(data["per_coin"]),
        )
    if kind == "risk_matrix":
        f, r = float(data["mm_factor"]), float(data["price_range"])
        d = float(data.get("max_delta_shock", 0.0))
        t = float(data.get("delta_shock_threshold", math.inf))
        if d == 0 or not math.isfinite(t):
            return MaintenanceSchedule(np.array([np.inf]), np.array([f * r]), np.zeros(1))
        # f (R N + d max(N - T, 0)): rate f R up to T, f (R + d) above, continuous at T.
        return MaintenanceSchedule(
            np.array([t, np.inf]), np.array([f * r, f * (r + d)]), np.array([0.0, f * d * t])
        )
    raise ConfigError(f"{where}: unknown margin kind {kind!r}.")


def _rules_dir() -> Any:
    # The dated venue files live beside the margin-rule replays; read as package data (this
    # module does not import riskmodels.calibration, which sits above it).
    return resources.files("riskmodels").joinpath("margin", "rules")


def available_liquidation_rules() -> list[str]:
    """Shipped rules that carry a ``[liquidation]`` table."""
    out = []
    for p in _rules_dir().iterdir():
        if p.name.endswith(".toml"):
            with p.open("rb") as fh:
                if "liquidation" in tomllib.load(fh):
                    out.append(p.name[: -len(".toml")])
    return sorted(out)


@dataclass(frozen=True)
class LiquidationRule:
    """A venue's liquidation pipeline, with the source and date of every number.

    Build one with :meth:`load` (a shipped name or a TOML path) or :meth:`from_dict`.

    Parameters
    ----------
    name, venue : str
    schedule : MaintenanceSchedule
        The maintenance margin the trigger compares equity with.
    parameters : mapping of str to Parameter
        The pipeline (module docstring); see :meth:`value`.
    source, as_of : str
        Source and date of the ``[liquidation]`` table as a whole.
    assets : tuple of str
    notes : str
    """

    name: str
    venue: str
    schedule: MaintenanceSchedule = field(repr=False)
    parameters: Mapping[str, Parameter] = field(repr=False)
    source: str = ""
    as_of: str = ""
    assets: tuple[str, ...] = ()
    notes: str = ""

    # ------------------------------------------------------------------ loading
    @classmethod
    def from_dict(
        cls, data: Mapping[str, Any], *, where: str = "liquidation rule"
    ) -> LiquidationRule:
        """Build from a venue file's content (margin keys plus a ``[liquidation]`` table).

        Raises
        ------
        ConfigError
            No ``[liquidation]`` table, a required parameter missing, a value out of range, a
            published value without a source, or an unknown parameter without a sweep.
        """
        liq = data.get("liquidation")
        if not isinstance(liq, Mapping):
            raise ConfigError(
                f"{where} has no [liquidation] table: add one with the venue's pipeline "
                f"({', '.join(REQUIRED)}), each a value with its source or unknown with a sweep."
            )
        src = " ".join(str(liq.get("source", "")).split())
        if not src or not str(liq.get("as_of", "")).strip():
            raise ConfigError(
                f"{where}: the [liquidation] table needs source = '...' and as_of = '...' "
                "(where its numbers come from and when they were in force)."
            )
        missing = [k for k in REQUIRED if k not in liq]
        if missing:
            raise ConfigError(
                f"{where}: the [liquidation] table lacks {missing}; state each as "
                "{ value = ..., source = '...' } or { unknown = true, sweep = [...] }."
            )
        unknown_keys = set(liq) - set(REQUIRED) - set(OPTIONAL) - _TEXT
        if unknown_keys:
            raise ConfigError(
                f"{where}: unknown [liquidation] keys {sorted(unknown_keys)}; allowed: "
                f"{sorted(set(REQUIRED) | set(OPTIONAL) | _TEXT)}."
            )
        params: dict[str, Parameter] = {}
        for key in (*REQUIRED, *OPTIONAL):
            if key in liq:
                p = _parameter(key, liq[key], where)
                if not p.unknown and not p.source:
                    p = Parameter(key, p.value, source=src, as_of=str(liq["as_of"]))
            else:
                default = OPTIONAL[key]
                p = Parameter(
                    key,
                    _check_value(key, default, where),
                    source="default (not part of this venue's pipeline)",
                )
            params[key] = p
        if "kind" not in data:
            raise ConfigError(f"{where}: the venue file lacks its margin 'kind'.")
        try:
            schedule = _schedule(data, where)
        except KeyError as exc:
            raise ConfigError(f"{where}: the margin part lacks {exc.args[0]!r}.") from exc
        return cls(
            name=str(data.get("name", where)),
            venue=str(data.get("venue", "")),
            schedule=schedule,
            parameters=params,
            source=src,
            as_of=str(liq["as_of"]),
            assets=tuple(str(a) for a in data.get("assets", ())),
            notes=" ".join(str(liq.get("notes", "")).split()),
        )

    @classmethod
    def load(cls, name: str | Path) -> LiquidationRule:
        """Load a shipped rule by name (:func:`available_liquidation_rules`) or a TOML path.

        Raises
        ------
        ConfigError
            Unknown name (the message lists the shipped ones), unreadable or invalid file.
        """
        p = Path(name)
        if p.suffix == ".toml" or p.exists():
            try:
                with p.open("rb") as fh:
                    data = tomllib.load(fh)
            except FileNotFoundError as exc:
                raise ConfigError(f"liquidation rule file {str(p)!r} does not exist.") from exc
            except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
                raise ConfigError(
                    f"liquidation rule file {str(p)!r} is not valid TOML: {exc}."
                ) from exc
            return cls.from_dict(data, where=f"liquidation rule {p.name!r}")
        res = _rules_dir().joinpath(f"{name}.toml")
        if not res.is_file():
            raise ConfigError(
                f"no shipped liquidation rule named {str(name)!r}; available: "
                f"{available_liquidation_rules()} (or pass a path to a .toml file)."
            )
        with res.open("rb") as fh:
            data = tomllib.load(fh)
        return cls.from_dict(data, where=f"liquidation rule {str(name)!r}")

    # ------------------------------------------------------------------ access
    def value(self, name: str, override: Any = None) -> Any:
        """The parameter's value, ``override`` when given.

        Raises
        ------
        ConfigError
            The parameter is unknown for this venue and no override was given (the message
            names the sweep values).
        """
        p = self.parameters[name]
        if override is not None:
            return _check_value(name, override, f"rule {self.name!r}")
        if p.unknown:
            raise ConfigError(
                f"{self.venue or self.name} does not publish {name!r}: pass {name}=... "
                f"explicitly, or sweep it over {[_show(v) for v in p.sweep]} "
                f"(LiquidationRule.sweep({name!r}))."
            )
        return p.value

    def sweep(self, name: str) -> tuple[Any, ...]:
        """The sensitivity values of an unknown parameter (its value alone when published)."""
        p = self.parameters[name]
        return p.sweep if p.unknown else (p.value,)

    def with_values(self, **values: Any) -> LiquidationRule:
        """A copy with parameters fixed (marked as the caller's choice, not the venue's)."""
        params = dict(self.parameters)
        for k, v in values.items():
            if k not in params:
                raise ConfigError(f"{k!r} is not a liquidation parameter; known: {sorted(params)}.")
            params[k] = Parameter(
                k, _check_value(k, v, f"rule {self.name!r}"), source="set by the caller"
            )
        return dataclasses.replace(self, parameters=params)

    def maintenance(self, notional: Any, size: Any = 0.0) -> np.ndarray:
        """Maintenance margin (USD) at absolute notionals (sizes in coins for a surcharge)."""
        return self.schedule.maintenance(notional, size)

    def frame(self) -> pd.DataFrame:
        """One row per parameter: value (or "unknown" and the sweep), source, date."""
        rows = []
        for k, p in self.parameters.items():
            rows.append(
                {
                    "parameter": k,
                    "value": "unknown" if p.unknown else _show(p.value),
                    "sweep": ", ".join(_show(v) for v in p.sweep),
                    "source": p.source,
                    "as_of": p.as_of,
                }
            )
        return pd.DataFrame(rows).set_index("parameter")

    def __repr__(self) -> str:
        unknown = [k for k, p in self.parameters.items() if p.unknown]
        return (
            f"LiquidationRule({self.name!r}, venue={self.venue!r}, as_of={self.as_of!r}, "
            f"unknown={unknown})"
        )


def rules_for(names: Sequence[str] | None = None) -> dict[str, LiquidationRule]:
    """Load several rules (default: every shipped rule with a ``[liquidation]`` table)."""
    return {n: LiquidationRule.load(n) for n in (names or available_liquidation_rules())}
