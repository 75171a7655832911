r"""Risk factors beyond the price move: perpetual basis, funding and futures roll for scenarios.

Venues charge a hedged book for what its legs do not share: Deribit a roll shock and a delta
shock, OKX a basis charge (MR4), Paradex a funding provision (VENUES.md §1.1, §1.4, §1.8). A
long-spot / short-perpetual book margins at zero on price-only scenarios. :class:`CarryFactors`
attaches to any :class:`~riskmodels.scenarios.base.Scenarios` (historical, filtered historical,
Monte Carlo) three more factors per asset, drawn from their own history:

* ``basis`` — the change over the horizon of the perpetual's log basis
  :math:`b_t = \ln(M_t / I_t)` (perpetual over index; with Binance public data, the USDⓈ-M
  perpetual's close over the spot close is the proxy for mark over index);
* ``funding`` — the funding accrued over the horizon, the sum of the settlements' rates;
* ``roll`` — the change of the annualized carry rate :math:`c_t`, proxied by the perpetual's
  funding accrued over a trailing window (``carry_window``, default 7 days) and annualized:
  :math:`c_t = \tfrac{\text{1 year}}{w}\sum_{t - w < u \le t} f_u`. Dated futures move by
  :math:`e^{r + \Delta c\,\tau}`. This is a proxy: the mirror holds no dated-futures curve.

How the factors are paired with a scenario's price move
-------------------------------------------------------
Every window of ``h`` consecutive bars in the history gives one joint draw
:math:`(R, \Delta b, F, \Delta c)` per asset. ``pairing="date"`` takes the window that starts
at the scenario's label (historical scenarios, whose labels are the first bar of the stretch):
the factors as they happened with that move. ``pairing="rank"`` (the default, for filtered
historical and Monte Carlo scenarios, whose moves have no date) matches ranks: a scenario
whose move of asset :math:`a` is at rank :math:`u` among the scenarios draws uniformly among
the windows whose historical move :math:`R` is within ``neighbours`` of the same rank. This
keeps the dependence of basis and funding on the asset's own move (the basis collapses and the
funding turns in crashes) — an empirical-copula draw, one asset at a time; the dependence of
one asset's basis on another asset's move passes only through the moves' own correlation.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from riskmodels._time import as_timedelta
from riskmodels._typing import DurationLike, SeedLike
from riskmodels.exceptions import ConfigError, DataError, InsufficientDataError
from riskmodels.scenarios._inputs import _check_frame, asof_cut, infer_frequency, resolve_rng
from riskmodels.scenarios.base import FittedScenarioGenerator, Scenarios, as_horizon

__all__ = [
    "CarryFactors",
    "FactorScenarios",
    "FittedCarryFactors",
    "FittedFactorScenarios",
    "basis_from_prices",
]

_YEAR = pd.Timedelta(days=365)
_STABLE = frozenset({"USD", "USDT", "USDC"})


def basis_from_prices(perp: pd.DataFrame, index: pd.DataFrame) -> pd.DataFrame:
    r"""Log basis :math:`\ln(M/I)` of perpetual prices over index (or spot) prices.

    Parameters
    ----------
    perp, index : DataFrame
        Close prices on the same bar grid, one column per asset (e.g.
        ``load_prices(market="perp")`` and ``load_prices(market="spot")``).

    Raises
    ------
    DataError
        Frames without common assets or bars, or non-positive prices.
    """
    for name, frame in (("perp", perp), ("index", index)):
        if not isinstance(frame, pd.DataFrame):
            raise ConfigError(f"{name} must be a DataFrame of prices (got {type(frame).__name__}).")
    cols = [c for c in perp.columns if c in index.columns]
    rows = perp.index.intersection(index.index)
    if not cols or len(rows) == 0:
        raise DataError(
            "perp and index prices share no asset column or no bar: load both on the same "
            "symbols and frequency."
        )
    p = perp.loc[rows, cols].astype("float64")
    i = index.loc[rows, cols].astype("float64")
    if (p <= 0).to_numpy().any() or (i <= 0).to_numpy().any():
        raise DataError("prices must be positive to take the log basis.")
    return np.log(p / i)


def _funding_frame(funding: Any, assets: list[str]) -> dict[str, pd.Series]:
    if funding is None:
        return {}
    if isinstance(funding, pd.Series):
        raise ConfigError(
            "funding must be a mapping asset -> Series of settlement rates (or a DataFrame with "
            "one column per asset), e.g. {'BTC': load_funding('BTC')}."
        )
    items = funding.items() if isinstance(funding, Mapping | pd.DataFrame) else None
    if items is None:
        raise ConfigError(
            f"funding must be a mapping asset -> Series or a DataFrame (got {type(funding).__name__})."
        )
    out: dict[str, pd.Series] = {}
    for a, ser in items:
        if str(a) not in assets:
            continue
        s = pd.Series(ser).dropna().astype("float64").sort_index()
        if not isinstance(s.index, pd.DatetimeIndex):
            raise DataError(f"funding[{a!r}] needs a DatetimeIndex of settlement times.")
        if not np.isfinite(s.to_numpy()).all():
            raise DataError(f"funding[{a!r}] has non-finite rates.")
        if s.index.has_duplicates:
            raise DataError(f"funding[{a!r}] has duplicate settlement times.")
        out[str(a)] = s
    return out


@dataclass(frozen=True)
class _Draws:
    """Historical windows of one asset where one factor is known: start, move, factor values."""

    start: pd.DatetimeIndex
    move: np.ndarray
    values: np.ndarray  # (W, k): the factor columns
    order: np.ndarray  # argsort of move

    @classmethod
    def of(cls, start: pd.DatetimeIndex, move: np.ndarray, values: np.ndarray) -> _Draws:
        return cls(start=start, move=move, values=values, order=np.argsort(move, kind="stable"))


def _windows(
    r: pd.Series,
    b: pd.Series | None,
    f: pd.Series | None,
    *,
    h: int,
    bar: pd.Timedelta,
    carry_window: pd.Timedelta,
) -> dict[str, _Draws]:
    """Every window of ``h`` consecutive bars of one asset (see the module docstring).

    Returns the draws per factor group: ``"basis"`` (the basis change) and ``"funding"``
    (accrued funding and the roll proxy), each over the windows where it is known, so a long
    funding history is not cut to a short basis history.
    """
    x = r.to_numpy()
    t = r.index
    n = len(x) - h + 1
    if n < 1:
        raise InsufficientDataError(
            f"{r.name}: {len(x)} bars hold no window of {h} bars; load a longer history."
        )
    csum = np.concatenate([[0.0], np.cumsum(np.nan_to_num(x))])
    bad = np.concatenate([[0], np.cumsum(~np.isfinite(x))])
    move = csum[h:] - csum[:-h]
    ok = (bad[h:] - bad[:-h]) == 0
    start = pd.DatetimeIndex(t[:n])
    out: dict[str, _Draws] = {}
    if b is not None:
        bv = b.reindex(t).to_numpy()
        # basis at the close before the window (the previous bar) and at its last bar's close
        before = np.concatenate([[np.nan], bv[:-1]])[:n]
        basis = bv[h - 1 :] - before
        keep = ok & np.isfinite(basis)
        if keep.any():
            out["basis"] = _Draws.of(start[keep], move[keep], basis[keep, None])
    if f is not None and len(f) > 0:
        times = f.index
        fc = np.concatenate([[0.0], np.cumsum(f.to_numpy())])

        def accrued(x_end: pd.DatetimeIndex) -> np.ndarray:
            return fc[times.searchsorted(x_end, side="right")]

        t1 = start + h * bar
        funding = accrued(t1) - accrued(start)
        level1 = (accrued(t1) - accrued(t1 - carry_window)) * (_YEAR / carry_window)
        level0 = (accrued(start) - accrued(start - carry_window)) * (_YEAR / carry_window)
        step = pd.Timedelta((times[1:] - times[:-1]).median()) if len(times) > 1 else bar
        covered = (start - carry_window >= times[0] - step) & (t1 <= times[-1] + step)
        keep = ok & np.asarray(covered)
        if keep.any():
            vals = np.column_stack([funding, level1 - level0])[keep]
            out["funding"] = _Draws.of(start[keep], move[keep], vals)
    return out


@dataclass(frozen=True, kw_only=True)
class CarryFactors:
    """Perpetual basis, funding and futures roll drawn from their history (module docstring).

    Parameters
    ----------
    pairing : {"rank", "date"}, default "rank"
        How a scenario's price move picks its factors (module docstring).
    neighbours : float, default 0.02
        Rank pairing: draw among the windows within this fraction of the history's windows
        around the matched rank (at least one on each side).
    carry_window : duration, default "7D"
        Trailing window of the annualized carry level behind the roll proxy.
    missing : {"raise", "zero"}, default "raise"
        An asset without basis or funding history (or none before the scenarios' as-of date):
        a :class:`DataError`, or zeros for that factor (recorded in
        ``Scenarios.meta["carry"]["carry_missing"]``).
    """

    pairing: Literal["rank", "date"] = "rank"
    neighbours: float = 0.02
    carry_window: Any = "7D"
    missing: Literal["raise", "zero"] = "raise"

    def __post_init__(self) -> None:
        if self.pairing not in ("rank", "date"):
            raise ConfigError(f"pairing must be 'rank' or 'date' (got {self.pairing!r}).")
        nb = float(self.neighbours)
        if not (0.0 <= nb < 0.5):
            raise ConfigError(
                f"neighbours must be in [0, 0.5) (got {self.neighbours!r}); 0.02 draws among the "
                "2% of windows nearest the matched rank on each side."
            )
        object.__setattr__(self, "neighbours", nb)
        w = as_timedelta(self.carry_window, "carry_window")
        if w <= pd.Timedelta(0):
            raise ConfigError(f"carry_window must be positive (got {self.carry_window!r}).")
        object.__setattr__(self, "carry_window", w)
        if self.missing not in ("raise", "zero"):
            raise ConfigError(f"missing must be 'raise' or 'zero' (got {self.missing!r}).")

    def fit(
        self,
        returns: pd.DataFrame,
        *,
        basis: pd.DataFrame | None = None,
        funding: Mapping[str, pd.Series] | pd.DataFrame | None = None,
    ) -> FittedCarryFactors:
        """Hold the histories (windows are cut when the horizon is known).

        Parameters
        ----------
        returns : DataFrame
            Decimal log returns of the index (spot) prices, one column per asset: the moves
            the scenarios are built from.
        basis : DataFrame, optional
            Log basis per asset on the same bars (:func:`basis_from_prices`).
        funding : mapping of asset to Series, or DataFrame, optional
            Funding rate per settlement (``riskmodels.data.load_funding``).

        Raises
        ------
        DataError
            With ``missing="raise"``: an asset of ``returns`` without basis or funding.
        """
        r = _check_frame(returns)
        assets = list(r.columns)
        if basis is not None:
            b = _check_frame(basis, what="basis")
        else:
            b = pd.DataFrame(index=r.index)
        fund = _funding_frame(funding, assets)
        no_basis = [a for a in assets if a not in b.columns]
        no_funding = [a for a in assets if a not in fund]
        if self.missing == "raise" and (no_basis or no_funding):
            raise DataError(
                f"no basis history for {no_basis} and no funding history for {no_funding}: "
                "pass them (basis_from_prices(perp, spot), {'BTC': load_funding('BTC')}), or "
                "CarryFactors(missing='zero') to hold those factors at zero (and say so)."
            )
        return FittedCarryFactors(
            spec=self,
            returns=r,
            basis={a: b[a] for a in assets if a in b.columns},
            funding=fund,
            missing={"basis": tuple(no_basis), "funding": tuple(no_funding)},
        )


@dataclass(frozen=True, kw_only=True)
class FittedCarryFactors:
    """Histories of moves, basis and funding, ready to attach factors to scenarios."""

    spec: CarryFactors
    returns: pd.DataFrame = field(repr=False)
    basis: Mapping[str, pd.Series] = field(repr=False)
    funding: Mapping[str, pd.Series] = field(repr=False)
    missing: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def windows(self, asset: str, horizon: Any) -> pd.DataFrame:
        """The joint historical draws of ``asset`` over ``horizon``: one row per window start,
        columns ``move, basis, funding, roll`` (NaN where a factor's history is missing)."""
        draws = self._windows(asset, horizon, None)
        cols = {"basis": ["basis"], "funding": ["funding", "roll"]}
        starts = sorted({t for d in draws.values() for t in d.start})
        frame = pd.DataFrame(
            np.nan,
            index=pd.DatetimeIndex(starts, name="start"),
            columns=["move", "basis", "funding", "roll"],
        )
        for key, d in draws.items():
            frame.loc[d.start, "move"] = d.move
            frame.loc[d.start, cols[key]] = d.values
        return frame

    def _windows(self, asset: str, horizon: Any, asof: pd.Timestamp | None) -> dict[str, _Draws]:
        if asset not in self.returns.columns:
            raise ConfigError(
                f"asset {asset!r} has no history here (assets: {list(self.returns.columns)}): fit "
                "CarryFactors on returns that include it."
            )
        r = self.returns[asset]
        bar = infer_frequency(r.index)
        h = as_horizon(horizon, bar)
        b, f = self.basis.get(asset), self.funding.get(asset)
        if asof is not None:  # nothing after the scenarios' as-of bar
            r = r.loc[:asof]
            b = None if b is None else b.loc[:asof]
            f = None if f is None else f.loc[: asof + bar]
        r = r.rename(asset)
        return _windows(r, b, f, h=h, bar=bar, carry_window=self.spec.carry_window)

    def attach(self, scenarios: Scenarios, *, rng: SeedLike = None) -> Scenarios:
        """``scenarios`` with ``basis``, ``funding`` and ``roll`` drawn from the history.

        Only windows ending at or before ``scenarios.asof`` are used. Stablecoin columns get
        zeros.

        Raises
        ------
        ConfigError
            An asset of the scenarios without history; ``pairing="date"`` on scenarios whose
            labels are not window starts of the history.
        """
        if not isinstance(scenarios, Scenarios):
            raise ConfigError(f"scenarios must be Scenarios (got {type(scenarios).__name__}).")
        gen, seed_meta = resolve_rng(rng)
        s_n, n_assets = scenarios.returns.shape
        out = {k: np.zeros((s_n, n_assets)) for k in ("basis", "funding", "roll")}
        used: dict[str, dict[str, int]] = {}
        missing: dict[str, list[str]] = {}
        for j, a in enumerate(scenarios.assets):
            if a in _STABLE and a not in self.returns.columns:
                continue
            draws = self._windows(a, scenarios.horizon, scenarios.asof)
            used[a] = {}
            for key, cols in (("basis", ("basis",)), ("funding", ("funding", "roll"))):
                d = draws.get(key)
                if d is None:
                    if self.spec.missing == "zero":
                        missing.setdefault(key, []).append(a)  # held at zero, in meta
                        continue
                    raise InsufficientDataError(
                        f"{a}: no window of the horizon has both a move and {key} history "
                        f"before {scenarios.asof}; check that the {key} history overlaps the "
                        "returns, or use CarryFactors(missing='zero')."
                    )
                used[a][key] = len(d.move)
                if self.spec.pairing == "date":
                    pick = self._by_date(d, scenarios, a, key)
                else:
                    pick = self._by_rank(d, scenarios.returns[:, j], gen)
                for c, name in enumerate(cols):
                    out[name][:, j] = d.values[pick, c]
        meta = dict(scenarios.meta)
        meta["carry"] = {
            "pairing": self.spec.pairing,
            "neighbours": self.spec.neighbours,
            "carry_window": str(self.spec.carry_window),
            "windows": used,
            "carry_missing": {k: sorted(set(v)) for k, v in missing.items()},
            "rng": {k: v for k, v in seed_meta.items() if k == "seed"},
            "proxy": "basis: perp close over spot close; roll: annualized trailing funding",
        }
        return dataclasses.replace(scenarios.with_factors(**out), meta=meta)

    def _by_rank(self, w: _Draws, moves: np.ndarray, gen: np.random.Generator) -> np.ndarray:
        n_w, s_n = len(w.move), len(moves)
        rank = np.empty(s_n)
        rank[np.argsort(moves, kind="stable")] = (np.arange(s_n) + 0.5) / s_n
        centre = np.floor(rank * n_w).astype(np.intp)
        half = max(1, round(self.spec.neighbours * n_w))
        lo = np.clip(centre - half, 0, n_w - 1)
        hi = np.clip(centre + half, 0, n_w - 1)
        pos = lo + np.floor(gen.random(s_n) * (hi - lo + 1)).astype(np.intp)
        return w.order[np.minimum(pos, hi)]

    def _by_date(self, w: _Draws, scenarios: Scenarios, asset: str, key: str) -> np.ndarray:
        if scenarios.labels is None:
            raise ConfigError(
                "pairing='date' needs scenarios labelled by their first bar (historical "
                "scenarios); use CarryFactors(pairing='rank') for filtered or simulated ones."
            )
        try:
            starts = pd.DatetimeIndex([pd.Timestamp(x) for x in scenarios.labels])
        except (TypeError, ValueError) as exc:
            raise ConfigError(
                f"pairing='date': scenario labels are not timestamps ({exc}); use pairing='rank'."
            ) from exc
        pos = w.start.get_indexer(starts)
        if (pos < 0).any():
            first = scenarios.labels[int(np.argmax(pos < 0))]
            raise ConfigError(
                f"pairing='date': {int((pos < 0).sum())} scenario(s) of {asset} (first {first}) "
                f"start where the {key} history has no window; use pairing='rank' or a history "
                "that covers the scenarios."
            )
        return pos


@dataclass(frozen=True, kw_only=True)
class FactorScenarios:
    """A scenario generator whose scenarios carry implied-vol, basis, funding and roll factors.

    Parameters
    ----------
    base : ScenarioGenerator
        Any generator of :mod:`riskmodels.scenarios` (historical, filtered, Monte Carlo).
    iv : ImpliedVolProxy, optional
        Implied-vol shocks from the fitted volatility model (a proxy: no implied-vol data).
    carry : CarryFactors, optional
        Basis, funding and roll drawn from ``basis`` and ``funding``.
    basis, funding : optional
        Histories for ``carry`` (:meth:`CarryFactors.fit`); cut at the as-of date on fit.

    Notes
    -----
    ``fit(returns)`` fits ``base`` and ``iv`` on the same rows; ``scenarios`` draws the base
    scenarios, then attaches the factors with the same generator. ``update`` filters the base
    forward and refits the IV proxy on the longer sample.
    """

    base: Any
    iv: Any = None
    carry: CarryFactors | None = None
    basis: pd.DataFrame | None = None
    funding: Mapping[str, pd.Series] | pd.DataFrame | None = None

    def __post_init__(self) -> None:
        if not hasattr(self.base, "fit"):
            raise ConfigError(
                f"base must be a scenario generator such as FilteredHistoricalScenarios() (got "
                f"{type(self.base).__name__})."
            )
        if self.iv is None and self.carry is None:
            raise ConfigError(
                "FactorScenarios needs iv=ImpliedVolProxy(), carry=CarryFactors() or both."
            )
        if self.carry is not None and not isinstance(self.carry, CarryFactors):
            raise ConfigError(f"carry must be CarryFactors (got {type(self.carry).__name__}).")

    def fit(self, returns: pd.DataFrame, *, rng: SeedLike = None) -> FittedFactorScenarios:
        """Fit the base generator, the IV proxy and the carry histories on ``returns``."""
        base = self.base.fit(returns, rng=rng)
        iv = None if self.iv is None else self.iv.fit(returns)
        carry = None
        if self.carry is not None:
            carry = self.carry.fit(returns, basis=self.basis, funding=self.funding)
        return FittedFactorScenarios(spec=self, base=base, iv=iv, carry=carry, returns=returns)

    def generate(
        self,
        returns: pd.DataFrame,
        asof: pd.Timestamp | str,
        horizon: DurationLike,
        rng: SeedLike = None,
        n: int | None = None,
    ) -> Scenarios:
        """``fit(returns.loc[:asof]).scenarios(horizon, n, rng)``: no data after ``asof``."""
        gen, _ = resolve_rng(rng)
        return self.fit(asof_cut(returns, asof), rng=gen).scenarios(horizon, n, rng=gen)


@dataclass(frozen=True, kw_only=True)
class FittedFactorScenarios:
    """A fitted :class:`FactorScenarios`."""

    spec: FactorScenarios
    base: FittedScenarioGenerator
    iv: Any
    carry: FittedCarryFactors | None
    returns: pd.DataFrame = field(repr=False)

    @property
    def asof(self) -> pd.Timestamp:
        """The last bar used."""
        return self.base.asof

    def update(self, returns: pd.DataFrame) -> FittedFactorScenarios:
        """Filter the base forward through newer bars; refit the IV proxy and extend the carry."""
        base = self.base.update(returns)
        full = pd.concat([self.returns, returns.loc[returns.index > self.returns.index[-1]]])
        iv = None if self.spec.iv is None else self.spec.iv.fit(full)
        carry = None
        if self.spec.carry is not None:
            carry = self.spec.carry.fit(full, basis=self.spec.basis, funding=self.spec.funding)
        return FittedFactorScenarios(spec=self.spec, base=base, iv=iv, carry=carry, returns=full)

    def scenarios(
        self,
        horizon: DurationLike,
        n: int | None = None,
        rng: SeedLike = None,
    ) -> Scenarios:
        """Base scenarios with the factors attached (the same generator draws both)."""
        gen, _ = resolve_rng(rng)
        sc = self.base.scenarios(horizon, n, rng=gen)
        if self.iv is not None:
            sc = self.iv.attach(sc)
        if self.carry is not None:
            sc = self.carry.attach(sc, rng=gen)
        return sc
