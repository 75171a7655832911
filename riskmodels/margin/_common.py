"""Helpers shared by the margin models: argument checks, re-marking accounts, exposures."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from riskmodels._time import as_timedelta  # used here; import it from riskmodels._time
from riskmodels.exceptions import ConfigError
from riskmodels.instruments import Account, Book, MarketState, Option
from riskmodels.instruments.market import STABLECOINS
from riskmodels.scenarios.base import Scenarios

__all__ = [
    "as_accounts",
    "book_position_deltas",
    "check_fraction",
    "check_nonnegative",
    "horizon_days",
    "position_deltas",
    "remark",
    "zero_scenarios",
]

DAY = pd.Timedelta(days=1)


def check_nonnegative(value: Any, name: str, fix: str = "") -> float:
    """``value`` as a finite float >= 0, else :class:`ConfigError` naming ``name``."""
    if isinstance(value, bool):
        raise ConfigError(f"{name} must be a number (got {value!r}).")
    try:
        v = float(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{name} must be a number (got {value!r}).") from exc
    if not math.isfinite(v) or v < 0:
        raise ConfigError(f"{name} must be finite and >= 0 (got {v!r}).{' ' + fix if fix else ''}")
    return v


def check_positive(value: Any, name: str, fix: str = "") -> float:
    """``value`` as a finite float > 0, else :class:`ConfigError` naming ``name``."""
    v = check_nonnegative(value, name, fix)
    if v <= 0:
        raise ConfigError(f"{name} must be > 0 (got {v!r}).{' ' + fix if fix else ''}")
    return v


def check_fraction(value: Any, name: str, *, upper: float = 1.0, fix: str = "") -> float:
    """``value`` as a float in [0, ``upper``], else :class:`ConfigError`."""
    v = check_nonnegative(value, name, fix)
    if v > upper:
        raise ConfigError(
            f"{name} must be in [0, {upper:g}] (got {v!r}).{' ' + fix if fix else ''}"
        )
    return v


def horizon_days(horizon: Any, name: str = "horizon") -> float:
    """A horizon (``"1d"``, ``"8h"``, Timedelta) in days, > 0."""
    h = as_timedelta(horizon, name)
    if h <= pd.Timedelta(0):
        raise ConfigError(f"{name} must be positive (got {horizon!r}).")
    return float(h / DAY)


def as_accounts(accounts: Any, what: str = "accounts") -> list[Account]:
    """A non-empty list of :class:`Account`, else :class:`ConfigError`."""
    if isinstance(accounts, Account):
        return [accounts]
    if not isinstance(accounts, Sequence) or isinstance(accounts, str):
        raise ConfigError(
            f"{what} must be a list of Account objects (got {type(accounts).__name__})."
        )
    out = list(accounts)
    if not out:
        raise ConfigError(f"{what} is empty: pass at least one Account.")
    for a in out:
        if not isinstance(a, Account):
            raise ConfigError(f"{what} must hold Account objects (got {a!r}).")
    return out


def check_account(account: Any, what: str = "account") -> Account:
    """``account`` itself if it is an :class:`Account`, else :class:`ConfigError`."""
    if not isinstance(account, Account):
        raise ConfigError(
            f"{what} must be a riskmodels.instruments.Account (got {type(account).__name__}); "
            "for many accounts use margin_many(accounts) or margin_book(Book.from_accounts(...))."
        )
    return account


def remark(
    account: Account,
    prices: Mapping[str, float],
    valuation_time: pd.Timestamp | None = None,
) -> Account:
    """The same account marked at new prices (and optionally a new valuation time).

    Explicit forwards of a re-priced asset are scaled by the price ratio (the proportional basis
    is held, as in the scenario rule of :mod:`riskmodels.instruments.market`); implied vols, the
    rate and the vol floor are kept.
    """
    m = account.prices
    new = dict(m.prices)
    new.update({str(a): float(p) for a, p in prices.items()})
    fwd = {}
    for (asset, expiry), f in m.forwards.items():
        ratio = new[asset] / m.prices[asset] if asset in m.prices and asset in new else 1.0
        fwd[(asset, expiry)] = f * ratio
    market = MarketState(
        prices=new,
        valuation_time=m.valuation_time if valuation_time is None else valuation_time,
        forwards=fwd,
        implied_vols=m.implied_vols,
        rate=m.rate,
        vol_floor=m.vol_floor,
    )
    return Account(
        collateral=account.collateral,
        positions=account.positions,
        haircuts=account.haircuts,
        prices=market,
        account_id=account.account_id,
    )


def account_assets(account: Account) -> list[str]:
    """Non-stable assets the account's value depends on (positions and collateral), sorted."""
    assets = {p.asset for p in account.positions} | set(account.collateral)
    return sorted(a for a in assets if a not in STABLECOINS or a in account.prices.prices)


def zero_scenarios(
    assets: Sequence[str], log_returns: Mapping[str, np.ndarray], n: int
) -> Scenarios:
    """Scenarios over ``assets`` with zero horizon: the given log returns, zeros elsewhere."""
    r = np.zeros((n, len(assets)))
    for j, a in enumerate(assets):
        if a in log_returns:
            r[:, j] = log_returns[a]
    return Scenarios(returns=r, assets=tuple(assets), horizon=pd.Timedelta(0))


def position_deltas(account: Account) -> pd.Series:
    """Net dollar delta of the positions per asset (collateral excluded), USD."""
    out: dict[str, float] = {}
    for p in account.positions:
        out[p.asset] = out.get(p.asset, 0.0) + p.delta_usd(account.prices)
    return pd.Series(out, dtype="float64").sort_index()


def series_deltas(market: MarketState, series: Sequence[Option]) -> np.ndarray:
    """Dollar delta of one unit of each option contract (K,)."""
    return np.array([o.delta_usd(market) for o in series], dtype="float64")


def book_position_deltas(book: Book) -> np.ndarray:
    """Net dollar delta of the positions per account and asset (A × N, book.assets order)."""
    out = np.array(book.exposures, dtype="float64", copy=True)
    if book.series:
        unit = series_deltas(book.market, book.series)
        col = {a: j for j, a in enumerate(book.assets)}
        q = book.option_quantities
        for k, o in enumerate(book.series):
            row = q[[k], :].toarray().ravel()
            out[:, col[o.asset]] += unit[k] * row
    return out


def account_gross_notional(account: Account) -> float:
    """Sum of absolute position notionals (USD)."""
    return float(math.fsum(abs(p.notional_usd(account.prices)) for p in account.positions))
