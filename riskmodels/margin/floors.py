r"""Floors and contingencies: what venues charge beyond a book's scenario risk.

A hedged book's scenario loss can be near zero (a long spot / short perpetual trade; a calendar
spread), yet every venue in VENUES.md charges something for it. :class:`Contingencies` holds the
charges that do not come from the scenario P&L, each with its source:

* **minimum charge** (a floor, OKX MR7 style: ``MMR = max(..., MR7)``, VENUES.md §1.4):
  :math:`m_\text{notional}\cdot\text{gross notional} + m_\text{opt}\cdot\text{short-option
  notional}`, where the notional rate defaults to 0.40% — the least Binance charges any
  position: Binance portfolio margin sums each position's tiered maintenance margin, whose
  first BTCUSDT bracket is 0.40% (§1.2) — and the short-option rate to 1% of the underlying
  notional of each net short option, Deribit PM's former "0.01 BTC contingency per net short
  option" on a one-coin option (§1.1). OKX's own MR7 multipliers are not published in the
  excerpts we hold.
* **roll shock** (added; Deribit PM's ``annualised_move_risk`` :math:`m` and
  ``min_annualised_move`` :math:`m_0`: 0.075 / 0.01 for BTC, June 2024; 0.05 / 0.005 for ETH,
  February 2026; §1.1): per asset and expiry bucket :math:`k` (perpetuals: :math:`\tau = 0`),
  :math:`|N_k|\,\max(m\,\tau_k,\ m_0)` on the net notional :math:`N_k` of the perpetuals and
  futures of the bucket, summed. This reading reproduces VENUES.md's ETH data point exactly: a
  −1 ETH-PERPETUAL has IM 0.1575 ETH = the +18% grid edge of an inverse contract,
  :math:`1 - 1/1.18 = 0.1525`, plus :math:`\max(0.05 \cdot 0, 0.005) = 0.005`.
* **delta shock** (added; Deribit PM ``max_delta_shock`` 0.10 above
  ``delta_total_liq_shock_threshold`` 20,000,000 USD, §1.1):
  :math:`\delta_\text{max}\max(|\Delta_a| - T, 0)` on each asset's net position dollar delta.

Readings of ours, not published formulas: Deribit publishes the parameters and the API's
totals (risk-matrix margin 0.05969 + roll shock 0.00316 + delta shock 0 = 0.06284 BTC), not
the roll- and delta-shock formulas; the forms above are our reading of the parameter names,
checked against the one published total that isolates them (the ETH perpetual above).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import sparse

from riskmodels._frozen import FrozenDict
from riskmodels.exceptions import ConfigError
from riskmodels.instruments import Account, Book
from riskmodels.margin._common import book_position_deltas, check_nonnegative

__all__ = [
    "DEFAULT_CONTINGENCIES",
    "NO_CONTINGENCIES",
    "Contingencies",
    "roll_shock_by_asset",
]


#: Deribit ETH roll-shock parameters, February 2026 (VENUES.md §1.1 table).
DERIBIT_ETH_ROLL = {"roll_move": 0.05, "min_roll_move": 0.005}


def _rate(value: Any, name: str, fix: str) -> float:
    v = check_nonnegative(value, name, fix)
    if v >= 1.0:
        raise ConfigError(f"{name} must be in [0, 1) (got {v!r}); {fix}")
    return v


@dataclass(frozen=True, kw_only=True)
class Contingencies:
    """Minimum charge, roll shock and delta shock (module docstring for formulas and sources).

    Parameters
    ----------
    notional_minimum : float, default 0.004
        Minimum charge per unit of gross position notional (Binance's 0.40% first-bracket MMR).
    short_option_minimum : float, default 0.01
        Minimum charge per unit of underlying notional of net short options (Deribit's former
        0.01 BTC per short option).
    roll_move : float, default 0.075
        :math:`m`, the annualized carry move of the roll shock (Deribit BTC
        ``annualised_move_risk``).
    min_roll_move : float, default 0.01
        :math:`m_0`, the least rate of the roll shock (Deribit BTC ``min_annualised_move``).
    per_asset : mapping, default ``{"ETH": {"roll_move": 0.05, "min_roll_move": 0.005}}``
        Overrides of ``roll_move`` and ``min_roll_move`` per asset (Deribit ETH, Feb 2026).
    max_delta_shock : float, default 0.10
    delta_shock_threshold : float, default 20_000_000.0
        USD of absolute net delta per asset at which the delta shock starts.

    Raises
    ------
    ConfigError
        A rate outside [0, 1), a negative threshold.
    """

    notional_minimum: float = 0.004
    short_option_minimum: float = 0.01
    roll_move: float = 0.075
    min_roll_move: float = 0.01
    max_delta_shock: float = 0.10
    delta_shock_threshold: float = 20_000_000.0
    per_asset: Mapping[str, Mapping[str, float]] = field(
        default_factory=lambda: {"ETH": dict(DERIBIT_ETH_ROLL)}
    )

    def __post_init__(self) -> None:
        for name, fix in (
            ("notional_minimum", "0.004 charges at least 0.40% of gross notional."),
            ("short_option_minimum", "0.01 is 1% of the underlying notional per short option."),
            ("roll_move", "Deribit BTC uses 0.075 (a 7.5% annualized carry move)."),
            ("min_roll_move", "Deribit BTC uses 0.01."),
            ("max_delta_shock", "Deribit uses 0.10."),
        ):
            object.__setattr__(self, name, _rate(getattr(self, name), name, fix))
        per: dict[str, dict[str, float]] = {}
        if not isinstance(self.per_asset, Mapping):
            raise ConfigError(
                f"per_asset must be a mapping asset -> overrides (got {self.per_asset!r})."
            )
        for a, over in self.per_asset.items():
            if not isinstance(over, Mapping) or set(over) - {"roll_move", "min_roll_move"}:
                raise ConfigError(
                    f"per_asset[{a!r}] may set 'roll_move' and 'min_roll_move' (got {over!r})."
                )
            per[str(a)] = {k: _rate(v, f"per_asset[{a!r}][{k!r}]", "") for k, v in over.items()}
        object.__setattr__(self, "per_asset", FrozenDict(per))
        object.__setattr__(
            self,
            "delta_shock_threshold",
            check_nonnegative(
                self.delta_shock_threshold, "delta_shock_threshold", "Deribit uses 20,000,000 USD."
            ),
        )

    def roll_rates(self, asset: str) -> tuple[float, float]:
        """``(roll_move, min_roll_move)`` of ``asset`` (its override, else the default)."""
        over = self.per_asset.get(asset, {})
        return (
            float(over.get("roll_move", self.roll_move)),
            float(over.get("min_roll_move", self.min_roll_move)),
        )

    def book_charges(
        self, book: Book, gross_notional: np.ndarray | None = None
    ) -> dict[str, np.ndarray]:
        """Per-account charges of a book: ``minimum charge``, ``roll shock``, ``delta shock``.

        Parameters
        ----------
        book : Book
        gross_notional : ndarray of shape (A,), optional
            Gross position notional per account (a book nets positions per asset, so it
            cannot recompute it); required when ``notional_minimum > 0``.

        Returns
        -------
        dict of str to ndarray of shape (A,)
            The minimum charge is a floor (the requirement is at least it); the shocks add.
        """
        a_n = book.n_accounts
        gross = np.zeros(a_n) if gross_notional is None else np.asarray(gross_notional, float)
        if self.notional_minimum > 0 and gross_notional is None:
            raise ConfigError(
                "the notional minimum needs gross_notional per account (margin_many(accounts) "
                "computes it), or Contingencies(notional_minimum=0)."
            )
        short_notional = np.zeros(a_n)
        if book.series:  # sparse throughout: K series x A accounts may be large
            px = np.array([book.market.price(o.asset) for o in book.series])
            short = -book.option_quantities.minimum(0.0)  # (K, A), >= 0
            short_notional = np.asarray(short.T @ px, dtype="float64").ravel()
        by_asset = roll_shock_by_asset(book, self.roll_rates)
        roll = np.sum(list(by_asset.values()), axis=0) if by_asset else np.zeros(a_n)
        delta = book_position_deltas(book)
        return {
            "minimum charge": self.notional_minimum * gross
            + self.short_option_minimum * short_notional,
            "roll shock": roll,
            "delta shock": self.max_delta_shock
            * np.maximum(np.abs(delta) - self.delta_shock_threshold, 0.0).sum(axis=1),
        }

    def account_charges(self, account: Account, gross_notional: float) -> dict[str, float]:
        """The same for one account (through a one-account :class:`Book`)."""
        out = self.book_charges(Book.from_accounts([account]), np.array([gross_notional]))
        return {k: float(v[0]) for k, v in out.items()}

    def params(self) -> dict[str, Any]:
        """The parameters, for result records."""
        return {
            "notional_minimum": self.notional_minimum,
            "short_option_minimum": self.short_option_minimum,
            "roll_move": self.roll_move,
            "min_roll_move": self.min_roll_move,
            "per_asset": {a: dict(v) for a, v in self.per_asset.items()},
            "max_delta_shock": self.max_delta_shock,
            "delta_shock_threshold": self.delta_shock_threshold,
        }


def roll_shock_by_asset(
    book: Book, rates: Callable[[str], tuple[float, float]]
) -> dict[str, np.ndarray]:
    r"""Roll shock per asset and account: :math:`\sum_k |N_k| \max(m\tau_k, m_0)` over the
    expiry buckets :math:`k` of the asset's perpetuals and futures (module docstring).

    Parameters
    ----------
    book : Book
    rates : callable
        ``asset -> (roll_move, min_roll_move)``.

    Returns
    -------
    dict of str to ndarray of shape (A,)
        Only assets with perpetuals or futures.
    """
    out: dict[str, np.ndarray] = {}
    if not book.carry_series or book.carry_quantities is None or book.carry_tau is None:
        return out
    # net notional per (asset, expiry) bucket: a sparse bucket x series sum, then |.| x rate
    keys = [(asset, expiry) for asset, expiry, _ in book.carry_series]
    uniq = list(dict.fromkeys(keys))
    pos = {k: i for i, k in enumerate(uniq)}
    k_c = len(keys)
    agg = sparse.csr_array(
        (np.ones(k_c), (np.array([pos[k] for k in keys]), np.arange(k_c))),
        shape=(len(uniq), k_c),
    )
    net = (agg @ book.carry_quantities).tocsr()  # (buckets, A)
    tau = np.zeros(len(uniq))
    for k, key in enumerate(keys):
        tau[pos[key]] = float(book.carry_tau[k])
    for b, (asset, _) in enumerate(uniq):
        m, m0 = rates(asset)
        row = np.abs(net[[b], :].toarray().ravel()) * max(m * max(tau[b], 0.0), m0)
        out[asset] = out[asset] + row if asset in out else row
    return out


#: The defaults: minimum charge 0.40% of gross notional + 1% of short-option notional, Deribit
#: BTC's roll shock (7.5% annualized) and delta shock (10% above 20M USD).
DEFAULT_CONTINGENCIES = Contingencies()

#: No floor and no contingency (the scenario risk alone, as before issue 14).
NO_CONTINGENCIES = Contingencies(
    notional_minimum=0.0,
    short_option_minimum=0.0,
    roll_move=0.0,
    min_roll_move=0.0,
    max_delta_shock=0.0,
    per_asset={},
)


def check_contingencies(value: Any) -> Contingencies:
    """``value`` as :class:`Contingencies` (None means :data:`NO_CONTINGENCIES`)."""
    if value is None:
        return NO_CONTINGENCIES
    if not isinstance(value, Contingencies):
        raise ConfigError(
            f"contingencies must be Contingencies(...) or None (got {type(value).__name__})."
        )
    return value
