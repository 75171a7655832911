r"""Published venue margin rules replayed on historical positions, beside calibrated rules.

Rule kinds (``riskmodels/calibration/rules/*.toml``, each with ``source`` and ``as_of``):

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
    edge, :math:`\text{MM} = f_\text{mm}\,(R N + \delta \max(N - T, 0))` (VENUES.md §1.1; the
    extended table is left out, see the rule's notes).

Replay (:func:`replay_venue_rules`)
-----------------------------------
A position of signed notional :math:`N` (positive long) is held; at each origin :math:`t` of
non-overlapping windows of the liquidation horizon :math:`h(|N|)` the venue holds
:math:`\text{MM}_t` and the position would lose :math:`|N|(L_t + s)` (loss per unit plus
slippage, :mod:`riskmodels.calibration.horizon`) before its liquidation completes. Per rule:

* breach: :math:`|N|(L_t + s) > \text{MM}_t`; coverage = 1 − breach rate (Clopper-Pearson
  interval);
* bad debt :math:`= \sum_t (|N|(L_t+s) - \text{MM}_t)^+` — the loss the insurance fund would
  absorb if the maintenance margin were all the collateral left at the liquidation trigger;
* capital cost :math:`= c \cdot \overline{\text{MM}}` per year — the average margin locked,
  times a cost of capital :math:`c`.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from riskmodels.calibration.horizon import (
    as_returns_by_freq,
    choose_data,
    daily_volatility,
    horizon_losses,
    liquidation_horizon,
    slippage_rate,
    utc_timestamp,
)
from riskmodels.calibration.mmr import MMRCalibration, breach_summary, check_target
from riskmodels.exceptions import ConfigError, DataError, InsufficientDataError
from riskmodels.margin import TierTable, load_tier_table
from riskmodels.margin._common import as_timedelta

__all__ = [
    "VenueRule",
    "available_rules",
    "load_rule",
    "replay_venue_rules",
]

_KINDS = ("tiers", "leverage_tiers", "fixed_fraction", "linear_size", "risk_matrix")
# "liquidation" is the venue's pipeline, read by riskmodels.liquidation.LiquidationRule.
_COMMON = {"name", "venue", "kind", "assets", "as_of", "source", "notes", "liquidation"}
_KIND_KEYS: dict[str, set[str]] = {
    "tiers": {"table", "bracket"},
    "leverage_tiers": {"upper", "max_leverage", "mm_factor"},
    "fixed_fraction": {"mmr", "imr"},
    "linear_size": {"base_mmr", "per_coin", "base_imr"},
    "risk_matrix": {"price_range", "mm_factor", "max_delta_shock", "delta_shock_threshold"},
}
_REQUIRED: dict[str, set[str]] = {
    "tiers": set(),
    "leverage_tiers": {"upper", "max_leverage", "mm_factor"},
    "fixed_fraction": {"mmr"},
    "linear_size": {"base_mmr", "per_coin"},
    "risk_matrix": {"price_range", "mm_factor"},
}


def _num(params: Mapping[str, Any], key: str, where: str, *, default: float | None = None) -> float:
    v = params.get(key, default)
    try:
        out = float(v)  # type: ignore[arg-type]
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: {key} must be a number (got {v!r}).") from exc
    if not math.isfinite(out) or out < 0:
        raise ConfigError(f"{where}: {key} must be finite and >= 0 (got {out!r}).")
    return out


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
        if self.kind not in _KINDS:
            raise ConfigError(f"{where}: kind must be one of {_KINDS} (got {self.kind!r}).")
        if not str(self.source).strip() or not str(self.as_of).strip():
            raise ConfigError(
                f"{where} lacks a source or an as_of date: every rule states where its numbers "
                "come from and when they were in force."
            )
        missing = _REQUIRED[self.kind] - set(self.params)
        if missing:
            raise ConfigError(f"{where}: kind {self.kind!r} needs {sorted(missing)}.")
        table = self.table
        if self.kind == "tiers" and table is None:
            if "table" in self.params:
                table = load_tier_table(str(self.params["table"]))
            elif "bracket" in self.params:
                table = TierTable.from_dict(
                    {
                        "bracket": self.params["bracket"],
                        "source": self.source,
                        "as_of": self.as_of,
                        "name": self.name,
                    },
                    where=where,
                )
            else:
                raise ConfigError(
                    f"{where}: a 'tiers' rule needs table = '<shipped margin table>' or "
                    "[[bracket]] entries."
                )
        if self.kind == "leverage_tiers":
            table = TierTable.from_leverage(
                self.params["upper"],
                self.params["max_leverage"],
                mm_factor=_num(self.params, "mm_factor", where),
                name=self.name,
                source=self.source,
                as_of=self.as_of,
            )
        if self.kind == "fixed_fraction":
            m = _num(self.params, "mmr", where)
            if not (0 < m <= 1):
                raise ConfigError(f"{where}: mmr must be in (0, 1] (got {m!r}); 0.012 is 1.2%.")
        object.__setattr__(self, "table", table)
        object.__setattr__(self, "assets", tuple(str(a) for a in self.assets))
        object.__setattr__(self, "as_of", str(self.as_of))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, where: str = "venue rule") -> VenueRule:
        """Build from the TOML layout (see ``riskmodels/calibration/rules``)."""
        kind = data.get("kind")
        if kind not in _KINDS:
            raise ConfigError(f"{where}: kind must be one of {_KINDS} (got {kind!r}).")
        unknown = set(data) - _COMMON - _KIND_KEYS[kind]
        if unknown:
            raise ConfigError(
                f"{where}: unknown keys {sorted(unknown)} for kind {kind!r}; allowed: "
                f"{sorted(_COMMON | _KIND_KEYS[kind])}."
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
            params={k: v for k, v in data.items() if k in _KIND_KEYS[kind]},
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
        return self.kind == "linear_size"

    def maintenance(self, notional: Any, price: Any = None) -> np.ndarray:
        """Maintenance margin (USD) for absolute notionals (and prices, for ``linear_size``)."""
        n = np.abs(np.asarray(notional, dtype="float64"))
        p = self.params
        where = f"venue rule {self.name!r}"
        if self.table is not None:
            return np.asarray(self.table.maintenance(n, strict=False), dtype="float64")
        if self.kind == "fixed_fraction":
            return n * _num(p, "mmr", where)
        if self.kind == "linear_size":
            if price is None:
                raise ConfigError(
                    f"{where} sets margin by the size in coins: pass prices (USD per coin) to "
                    "replay_venue_rules(prices=...)."
                )
            px = np.asarray(price, dtype="float64")
            rate = _num(p, "base_mmr", where) + _num(p, "per_coin", where) * n / px
            return n * np.minimum(rate, 1.0)
        # risk_matrix
        r = _num(p, "price_range", where)
        shock = _num(p, "max_delta_shock", where, default=0.0) * np.maximum(
            n - _num(p, "delta_shock_threshold", where, default=math.inf), 0.0
        )
        return _num(p, "mm_factor", where) * (r * n + shock)


def _rules_dir() -> Any:
    return resources.files("riskmodels.calibration").joinpath("rules")


def available_rules() -> list[str]:
    """Names of the shipped venue rules (``riskmodels/calibration/rules/*.toml``)."""
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


def replay_venue_rules(
    returns: pd.DataFrame | Mapping[str, pd.DataFrame],
    positions: float | pd.Series,
    rules: Any = None,
    *,
    asset: str = "BTC",
    calibrated: MMRCalibration | None = None,
    horizon: Any = "1d",
    adv: float | None = None,
    participation: float = 0.10,
    prices: pd.Series | None = None,
    cost_of_capital: float = 0.10,
    target: float | None = None,
    start: Any = None,
    end: Any = None,
    level: float = 0.95,
) -> pd.DataFrame:
    """Coverage, breaches, bad debt and capital cost of venue rules on historical positions.

    Parameters
    ----------
    returns : DataFrame or mapping of str to DataFrame
        Decimal log returns (as :func:`~riskmodels.calibration.calibrate_mmr`).
    positions : float or Series
        Signed USD notional (positive long): a constant position, or a time series read as of
        each origin. The liquidation horizon is set by the largest absolute notional.
    rules : mapping, sequence, VenueRule, TierTable or str, optional
        Default: every shipped rule for ``asset``.
    asset : str, default "BTC"
    calibrated : MMRCalibration, optional
        Adds the calibrated table of ``asset`` (``side="both"``) as the rule ``calibrated``.
    horizon : str or Timedelta, default "1d"
        Base liquidation horizon.
    adv : float, optional
        Average daily volume of ``asset`` (USD/day) for the horizon and the slippage.
    participation : float, default 0.10
    prices : Series, optional
        Price of ``asset`` (USD), needed by ``linear_size`` rules.
    cost_of_capital : float, default 0.10
        Annual cost of the margin locked.
    target : float, optional
        Breach probability for the binomial p-value (default: the calibration's target, else
        0.005).
    start, end : date-like, optional
        Window on the origins.
    level : float, default 0.95
        Level of the coverage interval.

    Returns
    -------
    DataFrame
        One row per rule: ``rule``, ``venue``, ``as_of``, ``source``, ``mean_mmr`` (average
        MM / |N|), ``n`` (windows), ``breaches``, ``breach_rate``, ``coverage``,
        ``coverage_lo``, ``coverage_hi``, ``pvalue`` (binomial test of breach rate = target),
        ``bad_debt`` (USD), ``bad_debt_per_year``, ``mean_margin`` (USD),
        ``capital_cost_per_year`` (USD), ``horizon``, ``data_freq``.
    """
    p = check_target(target if target is not None else (calibrated.target if calibrated else 0.005))
    if not (math.isfinite(float(cost_of_capital)) and float(cost_of_capital) >= 0):
        raise ConfigError(f"cost_of_capital must be finite and >= 0 (got {cost_of_capital!r}).")
    data = as_returns_by_freq(returns)
    h0 = as_timedelta(horizon, "horizon")
    choose_data(h0, list(data))
    book = _as_rules(rules, asset)
    if calibrated is not None:
        book["calibrated"] = VenueRule.from_tier_table(
            calibrated.tier_table(asset, "both"), name="calibrated"
        )
    if not book:
        raise ConfigError(f"no venue rules for {asset!r}; pass rules=...")
    if isinstance(positions, pd.Series):
        max_n = float(positions.abs().max())
    else:
        max_n = abs(float(positions))
    if not (math.isfinite(max_n) and max_n > 0):
        raise ConfigError(f"positions must be a non-zero finite notional (got {positions!r}).")
    choice = choose_data(
        liquidation_horizon(max_n, adv, base=h0, participation=participation), list(data)
    )
    frame = data[choice.freq]
    if asset not in frame.columns:
        raise DataError(
            f"asset {asset!r} is not in the {choice.label} returns ({list(frame.columns)})."
        )
    r = frame[asset]
    k = choice.n_bars
    origins = r.index
    if start is not None or end is not None:
        lo = origins[0] if start is None else utc_timestamp(start, "start")
        hi = origins[-1] if end is None else utc_timestamp(end, "end")
        keep = (origins >= lo) & (origins <= hi)
    else:
        keep = np.ones(len(origins), dtype=bool)
    grid = np.zeros(len(origins), dtype=bool)
    first = int(np.flatnonzero(keep)[0]) if keep.any() else 0
    grid[first::k] = True
    sel = keep & grid
    if isinstance(positions, pd.Series):
        pos = positions.sort_index().reindex(origins, method="ffill").to_numpy(dtype="float64")
    else:
        pos = np.full(len(origins), float(positions))
    pos = np.nan_to_num(pos, nan=0.0)
    long_loss = horizon_losses(r, k, "long").to_numpy()
    unit_loss = np.where(pos >= 0, long_loss, -long_loss)  # short loss = e^R - 1 = -(long loss)
    n_abs = np.abs(pos)
    vol = daily_volatility(r, choice.freq)
    slip = (
        np.array(
            [
                slippage_rate(v, asset, adv=adv, volatility=vol, horizon=choice.horizon)
                for v in n_abs
            ]
        )
        if adv is not None
        else np.zeros(len(origins))
    )
    loss_usd = n_abs * (unit_loss + slip)
    ok = sel & np.isfinite(loss_usd) & (n_abs > 0)
    if not ok.any():
        raise InsufficientDataError(
            f"no complete {k}x{choice.label} window with a position between {start} and {end}."
        )
    px = None
    if prices is not None:
        px = prices.sort_index().reindex(origins, method="ffill").to_numpy(dtype="float64")[ok]
    years = (origins[ok][-1] - origins[ok][0] + choice.horizon) / pd.Timedelta(days=365.25)
    rows = []
    for name, rule in book.items():
        if rule.needs_price and px is None:
            raise ConfigError(
                f"rule {name!r} sets margin by the size in coins: pass prices=<Series of "
                f"{asset} prices>."
            )
        mm = rule.maintenance(n_abs[ok], px if rule.needs_price else None)
        excess = loss_usd[ok] - mm
        breach = pd.Series(excess > 0, index=origins[ok])
        s = breach_summary(breach, p, level=level).iloc[0]
        rows.append(
            {
                "rule": name,
                "venue": rule.venue,
                "as_of": rule.as_of,
                "source": rule.source,
                "mean_mmr": float(mm.mean() / n_abs[ok].mean()),
                "n": int(s["n"]),
                "breaches": int(s["breaches"]),
                "breach_rate": float(s["rate"]),
                "coverage": 1.0 - float(s["rate"]),
                "coverage_lo": 1.0 - float(s["rate_hi"]),
                "coverage_hi": 1.0 - float(s["rate_lo"]),
                "pvalue": float(s["pvalue"]),
                "bad_debt": float(np.maximum(excess, 0.0).sum()),
                "bad_debt_per_year": float(np.maximum(excess, 0.0).sum() / years),
                "mean_margin": float(mm.mean()),
                "capital_cost_per_year": float(cost_of_capital * mm.mean()),
                "horizon": choice.horizon,
                "data_freq": choice.label,
            }
        )
    return pd.DataFrame(rows)
