r"""Published venue margin rules: one home for every venue's maintenance-margin rule.

The dated rule files (``riskmodels/margin/rules/*.toml``, each with ``source`` and ``as_of``)
hold a venue's margin rule (``kind`` and its parameters, read here as a :class:`VenueRule`) and
its liquidation pipeline (the ``[liquidation]`` table, read by
:class:`riskmodels.liquidation.LiquidationRule`). They lived in ``riskmodels.calibration`` until
version 0.x; ``riskmodels.calibration.VenueRule``, ``load_rule`` and ``available_rules`` remain
as deprecated aliases for one release.

Rule kinds:

``tiers``
    Binance-style notional tiers, :math:`\text{MM}(N) = N m_n - c_n`
    (:class:`riskmodels.margin.TierTable`; ``table`` names a shipped margin table, or the
    file carries ``[[bracket]]`` entries).
``leverage_tiers``
    Hyperliquid-style: MMR = ``mm_factor`` / max leverage of the tier (VENUES.md §1.6).
``fixed_fraction``
    dYdX-style flat maintenance margin fraction ``mmr`` (VENUES.md §1.5).
``linear_size``
    Deribit standard: :math:`\text{MMR} = m_0 + k \cdot N/P` (size in coins; VENUES.md §1.1).
``risk_matrix``
    Deribit portfolio margin for a naked linear delta: the worst point of the ±R grid is its
    edge, plus the roll shock of a perpetual and the delta shock,
    :math:`\text{MM} = f_\text{mm}\,(R N + m_0 N + \delta \max(N - T, 0))` (VENUES.md §1.1;
    :math:`m_0` is ``min_roll_move``, :mod:`riskmodels.margin.floors`; the extended table is left
    out, see the rule's notes). :meth:`riskmodels.margin.RiskMatrixMargin.deribit` gives the same
    for a naked linear perpetual below the size where the extended table binds.

Replays
-------
Venue rules are replayed on price paths by the liquidation engine
(:func:`riskmodels.liquidation.replay_rules`): trigger on the mark, close-out after a delay,
fees, bad debt, fund and ADL. The former per-day replay here (a position held at exactly MM
equity and a "breach" whenever a day's close-to-close loss beat the MM) answered a question no
venue faces and was removed.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from riskmodels._frozen import freeze_mapping
from riskmodels.exceptions import ConfigError
from riskmodels.margin.tiers import TierTable, load_tier_table

__all__ = [
    "RULE_KINDS",
    "RuleKind",
    "VenueRule",
    "available_rules",
    "load_rule",
]

# "liquidation" is the venue's pipeline, read by riskmodels.liquidation.LiquidationRule.
_COMMON = {"name", "venue", "kind", "assets", "as_of", "source", "notes", "liquidation"}


def _num(params: Mapping[str, Any], key: str, where: str, *, default: float | None = None) -> float:
    v = params.get(key, default)
    try:
        out = float(v)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: {key} must be a number (got {v!r}).") from exc
    if not math.isfinite(out) or out < 0:
        raise ConfigError(f"{where}: {key} must be finite and >= 0 (got {out!r}).")
    return out


class RuleKind:
    """One kind of venue margin rule: the protocol every kind shares.

    A kind names the TOML keys its rules may carry (``keys``) and must carry (``required``),
    checks its parameters and builds the tier table it stands for (:meth:`table`), and gives
    the maintenance margin of absolute notionals (:meth:`maintenance`). :data:`RULE_KINDS`
    holds one instance per kind; a new venue kind is one more subclass there.
    """

    name: ClassVar[str]
    keys: ClassVar[frozenset[str]]
    required: ClassVar[frozenset[str]] = frozenset()
    #: True when the margin depends on the size in coins (prices needed).
    needs_price: ClassVar[bool] = False

    def table(self, rule: VenueRule, where: str) -> TierTable | None:
        """The rule's tier table (``rule.table`` when given), None for kinds without one;
        raises :class:`ConfigError` for parameters out of range."""
        return rule.table

    def maintenance(
        self, rule: VenueRule, notional: np.ndarray, price: Any, where: str
    ) -> np.ndarray:  # pragma: no cover - every kind defines it
        """Maintenance margin (USD) of absolute notionals ``notional``."""
        raise NotImplementedError


class _Tiers(RuleKind):
    r"""Binance-style notional tiers, :math:`\text{MM}(N) = N m_n - c_n`."""

    name = "tiers"
    keys = frozenset({"table", "bracket"})

    def table(self, rule: VenueRule, where: str) -> TierTable | None:
        if rule.table is not None:
            return rule.table
        if "table" in rule.params:
            return load_tier_table(str(rule.params["table"]))
        if "bracket" in rule.params:
            return TierTable.from_dict(
                {
                    "bracket": rule.params["bracket"],
                    "source": rule.source,
                    "as_of": rule.as_of,
                    "name": rule.name,
                },
                where=where,
            )
        raise ConfigError(
            f"{where}: a 'tiers' rule needs table = '<shipped margin table>' or "
            "[[bracket]] entries."
        )

    def maintenance(
        self, rule: VenueRule, notional: np.ndarray, price: Any, where: str
    ) -> np.ndarray:
        assert rule.table is not None  # built in VenueRule.__post_init__
        return np.asarray(rule.table.maintenance(notional, strict=False), dtype="float64")


class _LeverageTiers(_Tiers):
    """Hyperliquid-style: MMR = ``mm_factor`` / max leverage of the tier (VENUES.md §1.6)."""

    name = "leverage_tiers"
    keys = frozenset({"upper", "max_leverage", "mm_factor"})
    required = keys

    def table(self, rule: VenueRule, where: str) -> TierTable | None:
        return TierTable.from_leverage(
            rule.params["upper"],
            rule.params["max_leverage"],
            mm_factor=_num(rule.params, "mm_factor", where),
            name=rule.name,
            source=rule.source,
            as_of=rule.as_of,
        )


class _FixedFraction(RuleKind):
    """dYdX-style flat maintenance margin fraction ``mmr`` (VENUES.md §1.5)."""

    name = "fixed_fraction"
    keys = frozenset({"mmr", "imr"})
    required = frozenset({"mmr"})

    def table(self, rule: VenueRule, where: str) -> TierTable | None:
        m = _num(rule.params, "mmr", where)
        if not (0 < m <= 1):
            raise ConfigError(f"{where}: mmr must be in (0, 1] (got {m!r}); 0.012 is 1.2%.")
        return rule.table

    def maintenance(
        self, rule: VenueRule, notional: np.ndarray, price: Any, where: str
    ) -> np.ndarray:
        return notional * _num(rule.params, "mmr", where)


class _LinearSize(RuleKind):
    r"""Deribit standard: :math:`\text{MMR} = m_0 + k \cdot N/P` (VENUES.md §1.1)."""

    name = "linear_size"
    keys = frozenset({"base_mmr", "per_coin", "base_imr"})
    required = frozenset({"base_mmr", "per_coin"})
    needs_price = True

    def maintenance(
        self, rule: VenueRule, notional: np.ndarray, price: Any, where: str
    ) -> np.ndarray:
        if price is None:
            raise ConfigError(
                f"{where} sets margin by the size in coins: pass prices (USD per coin) to "
                "replay_venue_rules(prices=...)."
            )
        p = rule.params
        px = np.asarray(price, dtype="float64")
        rate = _num(p, "base_mmr", where) + _num(p, "per_coin", where) * notional / px
        return notional * np.minimum(rate, 1.0)


class _RiskMatrix(RuleKind):
    r"""Deribit portfolio margin of a naked linear delta (module docstring)."""

    name = "risk_matrix"
    keys = frozenset(
        {"price_range", "mm_factor", "max_delta_shock", "delta_shock_threshold", "min_roll_move"}
    )
    required = frozenset({"price_range", "mm_factor"})

    def maintenance(
        self, rule: VenueRule, notional: np.ndarray, price: Any, where: str
    ) -> np.ndarray:
        p, n = rule.params, notional
        r = _num(p, "price_range", where)
        shock = _num(p, "max_delta_shock", where, default=0.0) * np.maximum(
            n - _num(p, "delta_shock_threshold", where, default=math.inf), 0.0
        )
        roll = _num(p, "min_roll_move", where, default=0.0) * n
        return _num(p, "mm_factor", where) * (r * n + roll + shock)


#: One instance per rule kind, by name (the ``kind`` of a rule file).
RULE_KINDS: Mapping[str, RuleKind] = freeze_mapping(
    {k.name: k() for k in (_Tiers, _LeverageTiers, _FixedFraction, _LinearSize, _RiskMatrix)}
)
_KINDS = tuple(RULE_KINDS)


@dataclass(frozen=True)
class VenueRule:
    """A published (or calibrated) maintenance-margin rule with its source and date.

    Parameters
    ----------
    name, venue, kind : str
        ``kind`` is one of ``tiers``, ``leverage_tiers``, ``fixed_fraction``, ``linear_size``,
        ``risk_matrix`` (module docstring).
    params : mapping
        The kind's parameters (see the shipped files).
    source, as_of : str
        Where the numbers come from and the date they were in force.
    assets : tuple of str
    notes : str
    table : TierTable or None
        Built for ``tiers`` and ``leverage_tiers``.
    """

    name: str
    venue: str
    kind: str
    params: Mapping[str, Any]
    source: str
    as_of: str
    assets: tuple[str, ...] = ()
    notes: str = ""
    table: TierTable | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        where = f"venue rule {self.name!r}"
        if self.kind not in RULE_KINDS:
            raise ConfigError(f"{where}: kind must be one of {_KINDS} (got {self.kind!r}).")
        if not str(self.source).strip() or not str(self.as_of).strip():
            raise ConfigError(
                f"{where} lacks a source or an as_of date: every rule states where its numbers "
                "come from and when they were in force."
            )
        kind = RULE_KINDS[self.kind]
        missing = kind.required - set(self.params)
        if missing:
            raise ConfigError(f"{where}: kind {self.kind!r} needs {sorted(missing)}.")
        object.__setattr__(self, "table", kind.table(self, where))
        object.__setattr__(self, "assets", tuple(str(a) for a in self.assets))
        object.__setattr__(self, "as_of", str(self.as_of))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, where: str = "venue rule") -> VenueRule:
        """Build from the TOML layout (see ``riskmodels/margin/rules``)."""
        kind = data.get("kind")
        if kind not in _KINDS:
            raise ConfigError(f"{where}: kind must be one of {_KINDS} (got {kind!r}).")
        keys = RULE_KINDS[kind].keys
        unknown = set(data) - _COMMON - keys
        if unknown:
            raise ConfigError(
                f"{where}: unknown keys {sorted(unknown)} for kind {kind!r}; allowed: "
                f"{sorted(_COMMON | keys)}."
            )
        for key in ("source", "as_of"):
            if key not in data:
                raise ConfigError(
                    f"{where} lacks {key!r}: every rule states where its numbers come from "
                    "(source) and when they were in force (as_of)."
                )
        return cls(
            name=str(data.get("name", where)),
            venue=str(data.get("venue", "")),
            kind=kind,
            params={k: v for k, v in data.items() if k in keys},
            source=" ".join(str(data["source"]).split()),
            as_of=str(data["as_of"]),
            assets=tuple(data.get("assets", ())),
            notes=" ".join(str(data.get("notes", "")).split()),
        )

    @classmethod
    def from_tier_table(cls, table: TierTable, *, name: str | None = None) -> VenueRule:
        """A ``tiers`` rule from a table (e.g. :meth:`MMRCalibration.tier_table`)."""
        return cls(
            name=name or table.name,
            venue=table.venue or "tiers",
            kind="tiers",
            params={},
            source=table.source or "(no source given)",
            as_of=table.as_of or "(no date given)",
            assets=tuple(table.assets),
            table=table,
        )

    @property
    def needs_price(self) -> bool:
        """True for rules whose margin depends on the size in coins (``linear_size``)."""
        return RULE_KINDS[self.kind].needs_price

    def maintenance(self, notional: Any, price: Any = None) -> np.ndarray:
        """Maintenance margin (USD) for absolute notionals (and prices, for ``linear_size``)."""
        n = np.abs(np.asarray(notional, dtype="float64"))
        where = f"venue rule {self.name!r}"
        if self.table is not None:
            return np.asarray(self.table.maintenance(n, strict=False), dtype="float64")
        return RULE_KINDS[self.kind].maintenance(self, n, price, where)


def _rules_dir() -> Any:
    return resources.files("riskmodels.margin").joinpath("rules")


def available_rules() -> list[str]:
    """Names of the shipped venue rules (``riskmodels/margin/rules/*.toml``)."""
    return sorted(
        p.name[: -len(".toml")] for p in _rules_dir().iterdir() if p.name.endswith(".toml")
    )


def load_rule(name: str | Path) -> VenueRule:
    """Load a shipped rule by name (:func:`available_rules`) or a TOML file by path.

    Raises
    ------
    ConfigError
        Unknown name, missing or invalid file, or an invalid rule.
    """
    p = Path(name)
    if p.suffix == ".toml" or p.exists():
        try:
            with p.open("rb") as fh:
                data = tomllib.load(fh)
        except FileNotFoundError as exc:
            raise ConfigError(f"venue rule file {str(p)!r} does not exist.") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"venue rule file {str(p)!r} is not valid TOML: {exc}.") from exc
        return VenueRule.from_dict(data, where=f"venue rule {p.name!r}")
    res = _rules_dir().joinpath(f"{name}.toml")
    if not res.is_file():
        raise ConfigError(
            f"no shipped venue rule named {str(name)!r}; available: {available_rules()} (or pass "
            "a path to a .toml file)."
        )
    with res.open("rb") as fh:
        data = tomllib.load(fh)
    return VenueRule.from_dict(data, where=f"venue rule {str(name)!r}")


def _as_rules(rules: Any, asset: str) -> dict[str, VenueRule]:
    if rules is None:
        out = {}
        for name in available_rules():
            r = load_rule(name)
            if not r.assets or asset in r.assets:
                out[name] = r
        return out
    if isinstance(rules, VenueRule | TierTable | str | Path):
        rules = [rules]
    items = rules.items() if isinstance(rules, Mapping) else [(None, r) for r in rules]
    out = {}
    for key, r in items:
        if isinstance(r, str | Path):
            r = load_rule(r)
        elif isinstance(r, TierTable):
            r = VenueRule.from_tier_table(r)
        if not isinstance(r, VenueRule):
            raise ConfigError(
                "rules must hold VenueRule objects, TierTables or shipped rule names (got "
                f"{type(r).__name__})."
            )
        out[str(key) if key is not None else r.name] = r
    return out
