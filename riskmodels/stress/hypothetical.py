r"""Hypothetical stress scenarios built from (or alongside) a base :class:`Scenarios`.

* :func:`correlation_to_one` — the comonotone rearrangement of the base scenarios: each
  asset's column is sorted, so the marginals are kept and every pair has rank correlation one
  (the upper Fréchet–Hoeffding bound; McNeil, Frey & Embrechts 2015, *Quantitative Risk
  Management*, Prop. 7.18: for comonotone risks VaR is additive, the worst case under a
  correlation-one assumption).
* :func:`vol_scaled` — :math:`\mu + k\,(r - \mu)`: volatility times k, means kept.
* :func:`single_asset_crash` — one asset moves, the others move by ``beta`` times its log move
  (0 by default).
* :func:`stablecoin_depeg` — a column for a stablecoin (``USDT`` by default) with a given move,
  appended to a base set or alone: the instruments module values stablecoin collateral at 1
  unless the scenarios hold it (:mod:`riskmodels.instruments.market`, "Stablecoins").

Moves given to these functions are **simple** returns (-0.5 = -50%); scenarios hold log returns.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from riskmodels._typing import DurationLike
from riskmodels.exceptions import ConfigError
from riskmodels.scenarios.base import Scenarios

__all__ = [
    "correlation_to_one",
    "single_asset_crash",
    "stablecoin_depeg",
    "vol_scaled",
]


def _log_move(move: float, name: str = "move") -> float:
    m = float(move)
    if not (math.isfinite(m) and m > -1.0):
        raise ConfigError(
            f"{name} must be a simple return > -1 (got {move!r}); -0.5 is a 50% fall."
        )
    return math.log1p(m)


def _check(sc: Any) -> Scenarios:
    if not isinstance(sc, Scenarios):
        raise ConfigError(f"scenarios must be a Scenarios object (got {type(sc).__name__}).")
    return sc


def correlation_to_one(scenarios: Scenarios) -> Scenarios:
    """Comonotone rearrangement: marginals kept, every pair perfectly rank-correlated.

    Raises
    ------
    ConfigError
        Weighted scenarios (resample them to equal weights first).
    """
    sc = _check(scenarios)
    if sc.weights is not None:
        raise ConfigError(
            "correlation_to_one needs equally weighted scenarios (got weights): resample with "
            "the weights first."
        )
    r = np.sort(sc.returns, axis=0)
    v = None if sc.vol_shocks is None else np.sort(sc.vol_shocks, axis=0)
    return Scenarios(
        returns=r,
        assets=sc.assets,
        horizon=sc.horizon,
        asof=sc.asof,
        vol_shocks=v,
        method=f"correlation to one ({sc.method})",
        meta={**sc.meta, "stress": "correlation_to_one"},
    )


def vol_scaled(scenarios: Scenarios, k: float) -> Scenarios:
    r"""Volatility times ``k``: :math:`\mu + k(r - \mu)` with :math:`\mu` the (weighted) mean.

    Raises
    ------
    ConfigError
        ``k`` not positive and finite.
    """
    sc = _check(scenarios)
    if not (math.isfinite(k) and k > 0):
        raise ConfigError(f"k must be positive and finite (got {k!r}); 2.0 doubles volatility.")
    w = sc.weights
    mu = sc.returns.mean(axis=0) if w is None else w @ sc.returns
    return Scenarios(
        returns=mu + k * (sc.returns - mu),
        assets=sc.assets,
        horizon=sc.horizon,
        asof=sc.asof,
        weights=w,
        vol_shocks=sc.vol_shocks,
        labels=sc.labels,
        method=f"volatility x {k:g} ({sc.method})",
        meta={**sc.meta, "stress": "vol_scaled", "k": float(k)},
    )


def single_asset_crash(
    assets: Sequence[str],
    asset: str,
    move: float,
    *,
    beta: float | Mapping[str, float] = 0.0,
    horizon: DurationLike = "1D",
) -> Scenarios:
    """One scenario: ``asset`` moves by ``move`` (simple), the others by ``beta`` × its log move.

    Raises
    ------
    ConfigError
        ``asset`` not in ``assets``, or ``move`` <= -1.
    """
    names = tuple(str(a) for a in assets)
    if asset not in names:
        raise ConfigError(f"asset {asset!r} is not in assets {list(names)}.")
    x = _log_move(move)
    betas = (
        np.array([float(beta.get(a, 0.0)) for a in names])
        if isinstance(beta, Mapping)
        else np.full(len(names), float(beta))
    )
    r = betas * x
    r[names.index(asset)] = x
    return Scenarios(
        returns=r[None, :],
        assets=names,
        horizon=horizon,
        labels=(f"{asset} {move:+.0%}",),
        method="single-asset crash",
        meta={"stress": "single_asset_crash", "asset": asset, "move": float(move)},
    )


def stablecoin_depeg(
    base: Scenarios | Sequence[str] | None = None,
    collateral_asset: str = "USDT",
    move: float = -0.1,
    *,
    horizon: DurationLike = "1D",
) -> Scenarios:
    """Scenarios where a stablecoin held as collateral loses its peg.

    Parameters
    ----------
    base : Scenarios, sequence of str or None
        Scenarios to append the depeg column to (every scenario gets it), or asset names for
        one scenario where only the stablecoin moves, or None (the stablecoin alone).
    collateral_asset : str
        The stablecoin (``USDT``, ``USDC``, ...).
    move : float
        Simple return of the stablecoin against USD (-0.1 = trades at 0.90).

    Raises
    ------
    ConfigError
        ``collateral_asset`` already in the base scenarios, or ``move`` <= -1.
    """
    x = _log_move(move)
    if isinstance(base, Scenarios):
        if collateral_asset in base.assets:
            raise ConfigError(
                f"{collateral_asset!r} is already in the scenarios' assets; shift its column instead."
            )
        r = np.column_stack([base.returns, np.full(base.n_scenarios, x)])
        return Scenarios(
            returns=r,
            assets=(*base.assets, collateral_asset),
            horizon=base.horizon,
            asof=base.asof,
            weights=base.weights,
            vol_shocks=None
            if base.vol_shocks is None
            else np.column_stack([base.vol_shocks, np.zeros(base.n_scenarios)]),
            labels=base.labels,
            method=f"{base.method} + {collateral_asset} depeg {move:+.1%}",
            meta={**base.meta, "stress": "stablecoin_depeg", "asset": collateral_asset},
        )
    names = tuple(str(a) for a in base) if base is not None else ()
    if collateral_asset in names:
        raise ConfigError(f"{collateral_asset!r} is given in base; pass the other assets only.")
    r = np.zeros((1, len(names) + 1))
    r[0, -1] = x
    return Scenarios(
        returns=r,
        assets=(*names, collateral_asset),
        horizon=horizon,
        labels=(f"{collateral_asset} depeg {move:+.1%}",),
        method="stablecoin depeg",
        meta={"stress": "stablecoin_depeg", "asset": collateral_asset, "move": float(move)},
    )
