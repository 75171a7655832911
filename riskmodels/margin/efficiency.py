r"""Capital efficiency: what each margin model asks of the same books, and what it leaves uncovered.

For each book and model, :func:`capital_efficiency` reports the requirement and the
**shortfall probability** it leaves over the scenario horizon:

.. math::

    \text{shortfall probability} = P\bigl(L > \text{IM}\bigr), \qquad
    \text{expected shortfall amount} = E\bigl[(L - \text{IM})^+\bigr],

(a loss must exceed the requirement by more than :math:`10^{-9}` of gross notional, so that
rounding in exactly offsetting legs does not count), with :math:`L = -\text{P\&L}` the account's loss over the horizon (``Account.pnl``, collateral
at full value) under the given scenarios, and the account assumed to post exactly the initial
requirement. Under isolated margin each position's wallet stands alone: the event is that *some*
position loses more than its own margin, and the amount is
:math:`\sum_i (L_i - \text{IM}_i)^+` over the margined positions (long spot and long options,
fully paid, are left out). A portfolio-margin model evaluated on the scenarios it was calibrated
on leaves at most :math:`1 - \alpha` by construction (in sample); fixed-rate models do not. In
sample, every model is also blind to what the scenarios leave out. **Out of sample**
(``realized=``) the requirements are set on scenarios built from data before a date and the
shortfall is counted on the moves that followed it, with the basis, funding and roll as they
happened (:func:`realized_scenarios`): that comparison sees what a model omits.

:func:`example_books` builds the four books of the issue (a BTC basis trade spot vs perpetual,
long BTC / short ETH, a delta-hedged short straddle, a directional altcoin book) and
:func:`example_models` the four models with shipped parameters.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from riskmodels.exceptions import ConfigError
from riskmodels.instruments import Account, LinearPerp, MarketState, Option, Spot
from riskmodels.margin._common import account_gross_notional
from riskmodels.margin.cross import CrossMargin
from riskmodels.margin.isolated import IsolatedMargin
from riskmodels.margin.portfolio import PortfolioMargin
from riskmodels.margin.results import MarginModel
from riskmodels.margin.riskmatrix import RiskMatrixMargin
from riskmodels.margin.tiers import binance_usdm_tiers
from riskmodels.scenarios import (
    FittedCarryFactors,
    FittedImpliedVolProxy,
    HistoricalScenarios,
    Scenarios,
)

__all__ = [
    "capital_efficiency",
    "example_books",
    "example_market",
    "example_models",
    "realized_scenarios",
    "shortfall",
]


def shortfall(
    account: Account, model: MarginModel, scenarios: Scenarios, *, requirement: str = "initial"
) -> dict[str, Any]:
    """Requirement and the shortfall it leaves under ``scenarios`` (module docstring).

    Returns
    -------
    dict
        ``initial``, ``maintenance``, ``requirement`` (the one tested), ``shortfall_prob``,
        ``expected_shortfall_amount``, ``worst_loss``.
    """
    if requirement not in ("initial", "maintenance"):
        raise ConfigError(f"requirement must be 'initial' or 'maintenance' (got {requirement!r}).")
    res = model.margin(account)
    req = res.initial if requirement == "initial" else res.maintenance
    p = (
        scenarios.weights
        if scenarios.weights is not None
        else np.full(scenarios.n_scenarios, 1.0 / scenarios.n_scenarios)
    )
    loss = -account.pnl(scenarios)
    # P&L of exactly offsetting legs is zero only up to rounding (~1e-16 of the notional): a
    # loss must beat the requirement by more than 1e-9 of gross notional to count.
    tol = 1e-9 * max(account_gross_notional(account), 1.0)
    if getattr(model, "isolated", False):
        frame = res.breakdown
        pos = frame[frame["component"] == "position"]
        excess = np.zeros(scenarios.n_scenarios)
        for k, pp in enumerate(account.positions):
            im = float(pos[requirement].iloc[k])
            if im <= 0:
                continue  # fully paid: long spot, long options
            excess += np.maximum(-pp.pnl(account.prices, scenarios) - im - tol, 0.0)
        event = excess > 0
    else:
        excess = np.maximum(loss - req - tol, 0.0)
        event = excess > 0
    return {
        "initial": res.initial,
        "maintenance": res.maintenance,
        "requirement": req,
        "shortfall_prob": float(p @ event),
        "expected_shortfall_amount": float(p @ excess),
        "worst_loss": float(loss.max()),
        "band": {} if res.band is None else {str(k): float(v) for k, v in res.band.items()},
    }


def realized_scenarios(
    returns: pd.DataFrame,
    start: Any,
    horizon: Any,
    *,
    end: Any = None,
    carry: FittedCarryFactors | None = None,
    iv: FittedImpliedVolProxy | None = None,
) -> Scenarios:
    """The moves that happened after ``start``: non-overlapping windows of ``horizon``.

    Parameters
    ----------
    returns : DataFrame
        Decimal log returns (the same assets as the books).
    start, end : timestamp
        The out-of-sample period: windows starting after ``start`` and ending by ``end``.
    horizon : duration
    carry : FittedCarryFactors, optional
        Basis, funding and roll attached by date (as they happened in each window).
    iv : FittedImpliedVolProxy, optional
        Implied-vol shocks: the fitted model's response to each realized move (a proxy; the
        data hold no implied vols), from the state at ``start``.

    Raises
    ------
    InsufficientDataError
        Fewer bars after ``start`` than one window.
    """
    r = returns.loc[returns.index > pd.Timestamp(start)] if start is not None else returns
    if end is not None:
        r = r.loc[: pd.Timestamp(end)]
    sc = HistoricalScenarios(overlapping=False).fit(r).scenarios(horizon)
    if iv is not None:
        sc = dataclasses.replace(iv.attach(dataclasses.replace(sc, asof=None)), asof=sc.asof)
    if carry is not None:
        dated = dataclasses.replace(carry, spec=dataclasses.replace(carry.spec, pairing="date"))
        sc = dated.attach(sc, rng=0)
    meta = dict(sc.meta)
    meta["realized"] = {"after": str(start), "end": str(end), "non_overlapping": True}
    return dataclasses.replace(sc, meta=meta, method="realized (out of sample)")


def capital_efficiency(
    books: Mapping[str, Account],
    scenarios: Scenarios,
    models: Mapping[str, MarginModel],
    *,
    requirement: str = "initial",
    realized: Scenarios | None = None,
) -> pd.DataFrame:
    """Requirements of each book under each model, and the shortfall probability each leaves.

    Parameters
    ----------
    books : mapping of str to Account
    scenarios : Scenarios
        The scenarios the shortfall is measured on in sample (the same for every model and
        book; the scenario-based models are usually built on them too).
    models : mapping of str to margin model
    requirement : {"initial", "maintenance"}, default "initial"
        Which requirement the account is assumed to hold.
    realized : Scenarios, optional
        Out of sample: count the shortfall on these instead (:func:`realized_scenarios`, the
        moves after the date the models were set on, with their factors). The column
        ``shortfall_on`` says which.

    Returns
    -------
    DataFrame
        Index (book, model); columns ``gross_notional``, ``initial``, ``maintenance``,
        ``initial_pct_notional``, ``shortfall_prob``, ``expected_shortfall_amount``,
        ``worst_loss``, ``shortfall_on``, ``n_shortfall_scenarios`` and, for models with an
        unpublished parameter (the risk matrix's extended fraction), ``initial φ=…`` per value
        of its band (NaN for the other models).
    """
    if not isinstance(books, Mapping) or not books:
        raise ConfigError("books must be a non-empty mapping name -> Account.")
    if not isinstance(models, Mapping) or not models:
        raise ConfigError("models must be a non-empty mapping name -> margin model.")
    if not isinstance(scenarios, Scenarios):
        raise ConfigError(f"scenarios must be a Scenarios object (got {type(scenarios).__name__}).")
    if realized is not None and not isinstance(realized, Scenarios):
        raise ConfigError(
            f"realized must be Scenarios from realized_scenarios(...) (got {type(realized).__name__})."
        )
    test_on = scenarios if realized is None else realized
    rows = []
    for bname, acc in books.items():
        if not isinstance(acc, Account):
            raise ConfigError(f"books[{bname!r}] must be an Account (got {type(acc).__name__}).")
        gross = account_gross_notional(acc)
        for mname, model in models.items():
            if not hasattr(model, "margin"):
                raise ConfigError(f"models[{mname!r}] is not a margin model (got {model!r}).")
            s = shortfall(acc, model, test_on, requirement=requirement)
            rows.append(
                {
                    "book": bname,
                    "model": mname,
                    "gross_notional": gross,
                    "initial": s["initial"],
                    "maintenance": s["maintenance"],
                    "initial_pct_notional": s["initial"] / gross if gross > 0 else math.nan,
                    "shortfall_prob": s["shortfall_prob"],
                    "expected_shortfall_amount": s["expected_shortfall_amount"],
                    "worst_loss": s["worst_loss"],
                    "shortfall_on": "in sample" if realized is None else "out of sample",
                    "n_shortfall_scenarios": test_on.n_scenarios,
                    **{k: v for k, v in s["band"].items() if k.startswith("initial")},
                }
            )
    return pd.DataFrame(rows).set_index(["book", "model"])


def example_market(valuation_time: Any = "2026-03-02 08:00") -> MarketState:
    """Prices and vols for :func:`example_books` (illustrative round numbers, not market data)."""
    return MarketState(
        prices={"BTC": 60_000.0, "ETH": 3_000.0, "MANA": 0.50, "HBAR": 0.10},
        valuation_time=valuation_time,
        implied_vols={"BTC": 0.55, "ETH": 0.70},
    )


def example_books(
    market: MarketState | None = None, *, size_usd: float = 1_000_000.0
) -> dict[str, Account]:
    """The four example books of the issue, each about ``size_usd`` of gross notional per leg.

    * ``"BTC basis"``: long spot BTC, short the same amount of BTCUSDT perpetual (a cash-and-
      carry trade: no price risk under the scenario rule, which holds the basis).
    * ``"long BTC / short ETH"``: equal USD perpetual legs.
    * ``"delta-hedged straddle"``: short 30-day ATM BTC call and put, delta hedged with the
      perpetual (gamma and vega remain).
    * ``"directional alt"``: long MANA and HBAR perpetuals.

    Collateral is 10% of ``size_usd`` in USDT (the basis trade holds its spot BTC). Sizes are
    rounded down to lot sizes (0.001 BTC/ETH, 0.1 option, 1 MANA/HBAR), which also keeps a
    1,000,000 USD leg just inside Binance's 1M bracket bound instead of a rounding error above it.
    """
    m = example_market() if market is None else market
    btc, eth = m.price("BTC"), m.price("ETH")

    def lot(x: float, step: float) -> float:
        return math.floor(x / step + 1e-9) * step

    q_btc = lot(size_usd / btc, 0.001)
    q_opt = lot(size_usd / btc, 0.1)
    coll = {"USDT": 0.10 * size_usd}
    expiry = m.require_time("example_books") + pd.Timedelta(days=30)
    call = Option("BTC", "call", btc, expiry, -q_opt)
    put = Option("BTC", "put", btc, expiry, -q_opt)
    hedge = -(call.delta_usd(m) + put.delta_usd(m)) / btc
    return {
        "BTC basis": Account(
            collateral=coll,
            positions=[Spot("BTC", q_btc), LinearPerp("BTC", -q_btc, btc)],
            prices=m,
            account_id="BTC basis",
        ),
        "long BTC / short ETH": Account(
            collateral=coll,
            positions=[
                LinearPerp("BTC", q_btc, btc),
                LinearPerp("ETH", -lot(size_usd / eth, 0.001), eth),
            ],
            prices=m,
            account_id="long BTC / short ETH",
        ),
        "delta-hedged straddle": Account(
            collateral=coll,
            positions=[call, put, LinearPerp("BTC", hedge, btc)],
            prices=m,
            account_id="delta-hedged straddle",
        ),
        "directional alt": Account(
            collateral=coll,
            positions=[
                LinearPerp("MANA", lot(0.5 * size_usd / m.price("MANA"), 1.0), m.price("MANA")),
                LinearPerp("HBAR", lot(0.5 * size_usd / m.price("HBAR"), 1.0), m.price("HBAR")),
            ],
            prices=m,
            account_id="directional alt",
        ),
    }


def example_models(scenarios: Scenarios, *, alpha: float = 0.99) -> dict[str, MarginModel]:
    """Isolated and cross (shipped Binance tiers), portfolio ES and Deribit-style risk matrix."""
    tiers = binance_usdm_tiers()
    return {
        "isolated": IsolatedMargin(tiers),
        "cross": CrossMargin(tiers),
        f"portfolio ES {alpha:.0%}": PortfolioMargin(scenarios, measure="es", alpha=alpha),
        "risk matrix": RiskMatrixMargin.deribit(),
    }
