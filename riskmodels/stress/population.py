r"""Populations of cross-margined accounts as arrays, and a seeded generator calibrated to OI.

An :class:`AccountPopulation` holds A accounts over N assets as arrays, so that a liquidation
cascade over a million accounts is a handful of vectorized passes
(:func:`riskmodels.stress.simulate_cascade`):

.. math::

    E_i(P) = c_i + \sum_j k_{ij} P_j + \sum_j q_{ij}\,(P_j - e_{ij}), \qquad
    \text{MM}_i(P) = \sum_j \text{mm}_j\bigl(|q_{ij}| P_j\bigr),

with :math:`c_i` stable (USD) collateral, :math:`k_{ij}` coin collateral (units, after
haircut), :math:`q_{ij}` signed linear-perpetual quantities (coins), :math:`e_{ij}` their entry
prices and :math:`\text{mm}_j` the maintenance requirement of asset :math:`j`: a flat rate
(:math:`m_j N`) or a notional tier table (:math:`N m_n - c_n`, Binance's "maintenance amount",
:class:`riskmodels.margin.TierTable`). This is Binance's cross mode and its "portfolio margin"
(uniMMR = adjusted equity / Σ per-position MM; VENUES.md §1.2), and dYdX v4's cross margin with
flat MMF (VENUES.md §1.5). An account is liquidatable when :math:`E_i \le \text{MM}_i`.

Generator
---------
:func:`generate_population` draws one asset's accounts: lognormal notionals, a discrete
leverage mix (2×–100×), a long/short split and optional entry-price dispersion, scaled so the
gross notional equals twice a given open interest (each contract has a long and a short
holder). :func:`open_interest_at` reads the Binance open interest from the mirror for that
calibration: USDⓈ-M (``gravestone-data``, 2026-02-21 → 2026-03-20; PROVENANCE.md §2.5) plus
COIN-M (Coinalyze daily close, 2021-09-15 → 2025-10-26; §2.6), with a breakdown that names the
market missing at the date.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from riskmodels._display import SummaryDisplay
from riskmodels._random import as_generator
from riskmodels._time import as_timedelta
from riskmodels._typing import SeedLike
from riskmodels.data.base import file_records
from riskmodels.exceptions import ConfigError, DataNotFoundError
from riskmodels.liquidation.replay import LEVERAGE_MIX
from riskmodels.margin.tiers import TierTable

__all__ = [
    "DEFAULT_LEVERAGE_MIX",
    "OI_CONTRACTS",
    "AccountPopulation",
    "generate_population",
    "open_interest_at",
]

#: Leverage mix of the generator: (leverage, probability), the same illustrative retail mix as
#: the venue replays (:data:`riskmodels.liquidation.LEVERAGE_MIX`, its one home); not a
#: published distribution.
DEFAULT_LEVERAGE_MIX: tuple[tuple[float, float], ...] = LEVERAGE_MIX


def _matrix(x: Any, shape: tuple[int, int], name: str) -> np.ndarray:
    a = np.asarray(x, dtype="float64")
    if a.ndim == 1 and shape[1] == 1 and a.shape[0] == shape[0]:
        a = a[:, None]
    if a.shape != shape:
        raise ConfigError(f"{name} must have shape {shape} (got {a.shape}).")
    if not np.isfinite(a).all():
        raise ConfigError(f"{name} has {int((~np.isfinite(a)).sum())} non-finite values.")
    return np.ascontiguousarray(a)


@dataclass(frozen=True, eq=False)
class AccountPopulation(SummaryDisplay):
    """Accounts as arrays: A accounts × N assets of linear perpetuals on shared collateral.

    Parameters
    ----------
    assets : sequence of str
        Asset names (N).
    prices : array-like of shape (N,)
        Mark prices (USD) the population is built at.
    quantity : array-like of shape (A, N)
        Signed perpetual quantity in coins (negative = short).
    entry_price : array-like of shape (A, N), optional
        Entry prices (default: ``prices``, i.e. fresh positions).
    collateral : array-like of shape (A,)
        Stable (USD) collateral, after haircut.
    coin_collateral : array-like of shape (A, N), optional
        Coin collateral in units (after haircut), default zero.
    mmr : float, array-like of shape (N,), TierTable or mapping asset -> TierTable/float
        Maintenance rule per asset: a flat rate (0.004 = 0.40%) or a notional tier table
        (:meth:`TierTable.maintenance` with ``strict=False``).
    meta : dict
        Provenance (generator parameters, open interest used).

    Raises
    ------
    ConfigError
        Wrong shapes, non-finite values, non-positive prices, negative collateral, an MMR
        outside (0, 1), or no positions at all.
    """

    assets: tuple[str, ...]
    prices: np.ndarray
    quantity: np.ndarray
    collateral: np.ndarray
    entry_price: np.ndarray | None = None
    coin_collateral: np.ndarray | None = None
    mmr: Any = 0.004
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        assets = tuple(str(a) for a in self.assets)
        if not assets:
            raise ConfigError("assets is empty: a population needs at least one asset.")
        object.__setattr__(self, "assets", assets)
        n = len(assets)
        p = np.asarray(self.prices, dtype="float64").reshape(-1)
        if p.shape != (n,) or not (np.isfinite(p).all() and (p > 0).all()):
            raise ConfigError(
                f"prices must be {n} positive finite USD prices, one per asset (got {p!r})."
            )
        q = np.asarray(self.quantity, dtype="float64")
        if q.ndim == 1 and n == 1:
            q = q[:, None]
        a = q.shape[0] if q.ndim == 2 else 0
        q = _matrix(q, (a, n), "quantity")
        if a == 0 or not np.any(q != 0.0):
            raise ConfigError(
                f"the book has no positions (got {a} accounts, all quantities zero): a cascade "
                "needs at least one open position; check the population or the book."
            )
        c = np.asarray(self.collateral, dtype="float64").reshape(-1)
        if c.shape != (a,) or not np.isfinite(c).all():
            raise ConfigError(f"collateral must be {a} finite USD amounts (got shape {c.shape}).")
        e = p[None, :] * np.ones((a, 1)) if self.entry_price is None else self.entry_price
        e = _matrix(e, (a, n), "entry_price")
        if not (e > 0).all():
            raise ConfigError("entry_price must be positive.")
        k = np.zeros((a, n)) if self.coin_collateral is None else self.coin_collateral
        k = _matrix(k, (a, n), "coin_collateral")
        if (k < 0).any():
            raise ConfigError("coin_collateral must be >= 0 (units of each asset).")
        object.__setattr__(self, "mmr", self._check_mmr(self.mmr, assets))
        for name, arr in (
            ("prices", p),
            ("quantity", q),
            ("collateral", c),
            ("entry_price", e),
            ("coin_collateral", k),
        ):
            arr.setflags(write=False)
            object.__setattr__(self, name, arr)

    @staticmethod
    def _check_mmr(mmr: Any, assets: tuple[str, ...]) -> tuple[float | TierTable, ...]:
        def one(x: Any, asset: str) -> float | TierTable:
            if isinstance(x, TierTable):
                return x
            try:
                v = float(x)
            except (TypeError, ValueError) as exc:
                raise ConfigError(
                    f"mmr for {asset!r} must be a rate or a TierTable (got {x!r})."
                ) from exc
            if not (0.0 < v < 1.0):
                raise ConfigError(
                    f"mmr for {asset!r} must be in (0, 1) as a decimal (got {v!r}); 0.004 means "
                    "0.40% (Binance BTCUSDT tier 1, VENUES.md §1.2)."
                )
            return v

        if isinstance(mmr, Mapping):
            missing = [a for a in assets if a not in mmr]
            if missing:
                raise ConfigError(f"mmr has no entry for assets {missing}; give one per asset.")
            return tuple(one(mmr[a], a) for a in assets)
        if isinstance(mmr, TierTable) or np.ndim(mmr) == 0:
            return tuple(one(mmr, a) for a in assets)
        vals = list(mmr)
        if len(vals) != len(assets):
            raise ConfigError(
                f"mmr must have one entry per asset ({len(assets)}), got {len(vals)}."
            )
        return tuple(one(v, a) for v, a in zip(vals, assets, strict=True))

    # -- sizes -------------------------------------------------------------------------------
    @property
    def n_accounts(self) -> int:
        """Number of accounts A."""
        return int(self.quantity.shape[0])

    @property
    def n_assets(self) -> int:
        """Number of assets N."""
        return len(self.assets)

    def __len__(self) -> int:
        return self.n_accounts

    @property
    def flat_mmr(self) -> np.ndarray | None:
        """The flat maintenance rates (N,), or None when some asset has a tier table."""
        if any(isinstance(m, TierTable) for m in self.mmr):
            return None
        return np.array(self.mmr, dtype="float64")

    # -- valuation ---------------------------------------------------------------------------
    def equity(self, prices: Any = None) -> np.ndarray:
        """Equity of every account at ``prices`` (default the population's prices), USD (A,)."""
        p = self.prices if prices is None else np.asarray(prices, dtype="float64")
        assert self.entry_price is not None and self.coin_collateral is not None  # __post_init__
        return equity(self.collateral, self.coin_collateral, self.quantity, self.entry_price, p)

    def maintenance(self, prices: Any = None) -> np.ndarray:
        """Maintenance margin of every account at ``prices``, USD (A,)."""
        p = self.prices if prices is None else np.asarray(prices, dtype="float64")
        return maintenance(self.mmr, self.quantity, p)

    def notional(self, prices: Any = None) -> np.ndarray:
        """Gross position notional per account, USD (A,)."""
        p = self.prices if prices is None else np.asarray(prices, dtype="float64")
        return (np.abs(self.quantity) * p).sum(axis=1)

    def leverage(self) -> np.ndarray:
        """Gross notional / equity per account at the population's prices."""
        with np.errstate(divide="ignore"):
            return self.notional() / self.equity()

    # -- building ----------------------------------------------------------------------------
    @classmethod
    def from_book(cls, book: Any, *, mmr: Any = 0.004) -> AccountPopulation:
        """A population from a :class:`riskmodels.instruments.Book` of linear positions.

        The book's dollar deltas become coin quantities at the book's prices (entry = those
        prices, so unrealized P&L restarts at zero and the equity is the book's haircut-adjusted
        equity); coin collateral (after haircut) becomes ``coin_collateral``; the rest of the
        equity is stable collateral.

        Raises
        ------
        ConfigError
            A book with options (not modelled in cascades) or with no positions.
        """
        from riskmodels.instruments.book import Book
        from riskmodels.instruments.market import STABLECOINS

        if not isinstance(book, Book):
            raise ConfigError(f"book must be a riskmodels.instruments.Book (got {book!r}).")
        if book.series:
            raise ConfigError(
                f"the book holds {len(book.series)} option contracts; cascades model linear "
                "perpetuals only: drop the options or delta-hedge them into perpetuals first."
            )
        keep = [j for j, a in enumerate(book.assets) if a not in STABLECOINS]
        assets = [book.assets[j] for j in keep]
        if not assets:
            raise ConfigError(
                "the book has no positions (only stablecoin collateral): a cascade needs at "
                "least one open position."
            )
        prices = np.array([book.market.price(a) for a in assets])
        q = book.exposures[:, keep] / prices
        coin = book.collateral_haircut_usd[:, keep] / prices
        cash = np.asarray(book.equity) - book.collateral_haircut_usd[:, keep].sum(axis=1)
        return cls(
            assets=tuple(assets),
            prices=prices,
            quantity=q,
            collateral=cash,
            coin_collateral=coin,
            mmr=mmr,
            meta={"from": "Book", "account_ids": book.account_ids},
        )

    @classmethod
    def concat(cls, parts: Sequence[AccountPopulation]) -> AccountPopulation:
        """Stack populations of different assets (or the same) into one, accounts appended.

        Assets are the union (in order of first appearance); an account holds zero in the
        assets of the other parts. Prices must agree where assets repeat; the MMR of an asset
        is taken from the first part that has it.
        """
        parts = list(parts)
        if not parts:
            raise ConfigError("parts is empty: give at least one AccountPopulation.")
        assets: list[str] = []
        price: dict[str, float] = {}
        mmr: dict[str, Any] = {}
        for pop in parts:
            for j, a in enumerate(pop.assets):
                if a not in price:
                    assets.append(a)
                    price[a] = float(pop.prices[j])
                    mmr[a] = pop.mmr[j]
                elif not math.isclose(price[a], float(pop.prices[j]), rel_tol=1e-12):
                    raise ConfigError(
                        f"asset {a!r} has different prices in the parts ({price[a]} and "
                        f"{float(pop.prices[j])}): build them at one market."
                    )
        col = {a: j for j, a in enumerate(assets)}
        a_tot = sum(p.n_accounts for p in parts)
        q = np.zeros((a_tot, len(assets)))
        e = np.tile(np.array([price[a] for a in assets]), (a_tot, 1))
        k = np.zeros((a_tot, len(assets)))
        c = np.zeros(a_tot)
        r = 0
        for pop in parts:
            cols = [col[a] for a in pop.assets]
            sl = slice(r, r + pop.n_accounts)
            q[sl, cols] = pop.quantity
            e[sl, cols] = pop.entry_price
            k[sl, cols] = pop.coin_collateral
            c[sl] = pop.collateral
            r += pop.n_accounts
        return cls(
            assets=tuple(assets),
            prices=np.array([price[a] for a in assets]),
            quantity=q,
            collateral=c,
            entry_price=e,
            coin_collateral=k,
            mmr={a: mmr[a] for a in assets},
            meta={"concat": [dict(p.meta) for p in parts]},
        )

    def summary(self) -> pd.DataFrame:
        """Per asset: accounts holding it, long and short notional (USD), mean leverage."""
        notional = self.quantity * self.prices
        lev = self.leverage()
        rows = {}
        for j, a in enumerate(self.assets):
            held = self.quantity[:, j] != 0
            rows[a] = {
                "accounts": int(held.sum()),
                "long_notional": float(notional[:, j].clip(min=0).sum()),
                "short_notional": float(-notional[:, j].clip(max=0).sum()),
                "median_leverage": float(np.median(lev[held])) if held.any() else np.nan,
            }
        out = pd.DataFrame.from_dict(rows, orient="index")
        out.index.name = "asset"
        return out

    summary_kinds: ClassVar[Mapping[str, str]] = {
        "accounts": "count",
        "long_notional": "usd",
        "short_notional": "usd",
    }

    def _display_head(self) -> str:
        return f"<p>AccountPopulation: {self.n_accounts:,} accounts, {self.n_assets} assets</p>"

    def __repr__(self) -> str:
        return (
            f"AccountPopulation(n_accounts={self.n_accounts}, assets={self.assets!r}, "
            f"prices={self.prices.tolist()!r})"
        )


def equity(
    cash: np.ndarray, coin: np.ndarray, q: np.ndarray, entry: np.ndarray, prices: np.ndarray
) -> np.ndarray:
    """Equity (A,) at prices (N,) or per-account prices (A, N); see the module docstring."""
    if q.shape[1] == 1 and np.ndim(prices) == 1:  # fast path for one asset
        p = prices[0]
        return cash + coin[:, 0] * p + q[:, 0] * (p - entry[:, 0])
    return cash + (coin * prices).sum(axis=1) + (q * (prices - entry)).sum(axis=1)


def maintenance(mmr: tuple[Any, ...], q: np.ndarray, prices: np.ndarray) -> np.ndarray:
    """Maintenance margin (A,) at prices (N,) or (A, N)."""
    notional = np.abs(q) * prices
    out = np.zeros(q.shape[0])
    for j, m in enumerate(mmr):
        if isinstance(m, TierTable):
            out += np.asarray(m.maintenance(notional[:, j], strict=False))
        else:
            out += m * notional[:, j]
    return out


def generate_population(
    n_accounts: int,
    price: float,
    *,
    asset: str = "BTC",
    open_interest: float | None = None,
    size_median: float = 10_000.0,
    size_sigma: float = 1.5,
    leverage: Sequence[tuple[float, float]] = DEFAULT_LEVERAGE_MIX,
    long_share: float = 0.5,
    mmr: float | TierTable = 0.004,
    entry_dispersion: float = 0.0,
    rng: SeedLike = None,
) -> AccountPopulation:
    r"""Draw a population of one asset's cross-margined accounts (seeded by ``rng``).

    Parameters
    ----------
    n_accounts : int
        Number of accounts A (>= 1).
    price : float
        The asset's mark price (USD).
    asset : str
    open_interest : float, optional
        USD open interest to calibrate to: notionals are scaled so the gross notional of the
        population is ``2 × open_interest`` (every contract has a long and a short holder).
        Default: no scaling (lognormal sizes as drawn).
    size_median, size_sigma : float
        Position notional :math:`N_i = \text{size\_median}\,e^{\text{size\_sigma}\,Z_i}` (USD).
    leverage : sequence of (leverage, probability)
        Discrete leverage mix; probabilities are normalized. Each account's leverage is capped
        below ``1 / mmr`` (flat) or at the tier table's maximum leverage at its notional.
    long_share : float in [0, 1]
        Probability that an account is long.
    mmr : float or TierTable
        Maintenance rule (flat rate or tier table).
    entry_dispersion : float, default 0
        Entry prices :math:`P e^{\text{entry\_dispersion}\,Z}` (so some accounts carry
        unrealized profit or loss, which matters for auto-deleveraging rankings). The collateral
        is the margin posted at entry, :math:`|q| e / L`; an account whose equity at ``price``
        would be within 1.5 × maintenance re-enters at ``price`` (no account starts
        liquidatable). With 0, every account has equity :math:`N_i / L_i` at ``price``.
    rng : numpy.random.Generator or int, optional
        :func:`riskmodels._random.as_generator`: pass an int seed (the run's config seed) for
        a reproducible population; None draws fresh entropy. No global random state is used.

    Returns
    -------
    AccountPopulation
        ``meta`` records every parameter.

    Raises
    ------
    ConfigError
        Non-positive sizes or prices, a leverage mix that does not sum to a positive number,
        ``long_share`` outside [0, 1], or a leverage at or above ``1 / mmr`` everywhere.
    """
    gen = as_generator(rng)
    if int(n_accounts) < 1:
        raise ConfigError(f"n_accounts must be >= 1 (got {n_accounts!r}).")
    n = int(n_accounts)
    if not (math.isfinite(price) and price > 0):
        raise ConfigError(f"price must be a positive USD price (got {price!r}).")
    if not (size_median > 0 and size_sigma >= 0):
        raise ConfigError(
            f"size_median must be > 0 and size_sigma >= 0 (got {size_median!r}, {size_sigma!r})."
        )
    if not (0.0 <= long_share <= 1.0):
        raise ConfigError(f"long_share must be in [0, 1] (got {long_share!r}).")
    levels = np.array([float(lv) for lv, _ in leverage])
    probs = np.array([float(p) for _, p in leverage])
    if levels.size == 0 or (levels < 1).any() or (probs < 0).any() or probs.sum() <= 0:
        raise ConfigError(
            f"leverage must be (leverage >= 1, probability >= 0) pairs with positive total "
            f"probability (got {list(leverage)!r})."
        )
    probs = probs / probs.sum()
    notional = size_median * np.exp(size_sigma * gen.standard_normal(n))
    if open_interest is not None:
        if not (math.isfinite(open_interest) and open_interest > 0):
            raise ConfigError(
                f"open_interest must be a positive USD amount (got {open_interest!r})."
            )
        notional *= 2.0 * float(open_interest) / notional.sum()
    lev = gen.choice(levels, size=n, p=probs)
    if isinstance(mmr, TierTable):
        cap = np.asarray(mmr.max_leverage)[np.asarray(mmr.bracket(notional, strict=False))]
        lev = np.minimum(lev, cap)
    else:
        m = float(mmr)
        if not (0 < m < 1):
            raise ConfigError(f"mmr must be in (0, 1) (got {mmr!r}); 0.004 means 0.40%.")
        cap = 1.0 / m
        if (levels >= cap).all():
            raise ConfigError(
                f"every leverage in the mix is >= 1/mmr = {cap:g}: accounts would start "
                "liquidatable. Lower the leverage mix or the mmr."
            )
        lev = np.minimum(lev, 0.5 * cap)  # initial margin at least twice maintenance
    side = np.where(gen.random(n) < long_share, 1.0, -1.0)
    q = side * notional / price
    entry = None
    collateral = notional / lev
    if entry_dispersion:
        e = price * np.exp(entry_dispersion * gen.standard_normal(n))
        c = np.abs(q) * e / lev  # margin posted at entry
        mm0 = np.asarray(maintenance((mmr,), q[:, None], np.array([price])))
        fresh = c + q * (price - e) <= 1.5 * mm0  # would start (near) liquidatable: re-enter
        e = np.where(fresh, price, e)
        collateral = np.where(fresh, notional / lev, c)
        entry = e
    return AccountPopulation(
        assets=(asset,),
        prices=np.array([float(price)]),
        quantity=q[:, None],
        collateral=collateral,
        entry_price=None if entry is None else entry[:, None],
        mmr=mmr,
        meta={
            "generator": "generate_population",
            "asset": asset,
            "n_accounts": n,
            "price": float(price),
            "open_interest": None if open_interest is None else float(open_interest),
            "size_median": size_median,
            "size_sigma": size_sigma,
            "leverage_mix": [(float(a), float(b)) for a, b in zip(levels, probs, strict=True)],
            "long_share": long_share,
            "mmr": mmr.name if isinstance(mmr, TierTable) else float(mmr),
            "entry_dispersion": entry_dispersion,
        },
    )


#: Open-interest markets the mirror holds, and their display names.
OI_CONTRACTS: dict[str, str] = {"usdm": "USDⓈ-M", "coinm": "COIN-M"}


def open_interest_at(
    symbol: str,
    date: Any,
    *,
    source: Any = None,
    contracts: Sequence[str] = ("usdm", "coinm"),
    max_age: Any = "7D",
    require_all: bool = False,
) -> tuple[float, dict[str, Any]]:
    """Binance open interest (USD) of ``symbol`` on ``date``: USDⓈ-M plus COIN-M, with a breakdown.

    Each market's value is the last one at or before ``date`` from the mirror, read with
    ``load_open_interest(symbol, "1d", contract=...)``:

    * ``"usdm"``: Binance USDⓈ-M ``openInterestHist`` (``gravestone-data``, only
      2026-02-21 → 2026-03-20; PROVENANCE.md §2.5), ``sum_open_interest_value`` in USD;
    * ``"coinm"``: Coinalyze daily close of the Binance COIN-M inverse perpetual
      (2021-09-15 → 2025-10-26; PROVENANCE.md §2.6), USD notional.

    The two series do not overlap in time, so on most dates one market is **missing**; the
    total is then the sum of the markets present, and ``meta["missing"]`` /
    ``meta["complete"]`` / ``meta["label"]`` say so (never a silent one-market size). USDⓈ-M
    BTC was 5.5–6.1B USD in 2026-02/03 against COIN-M 2.4–2.6B in 2025-10: a COIN-M-only size
    understates the book by a factor of about three.

    Parameters
    ----------
    symbol : str
    date : date-like
        UTC when naive.
    source : Source, optional
        Default the mirror.
    contracts : sequence of {"usdm", "coinm"}
        Markets to add up.
    max_age : str, Timedelta or None, default "7D"
        A market whose last value is older than this at ``date`` counts as missing (its value
        and age are still reported); None accepts any age.
    require_all : bool, default False
        Raise instead of returning a partial total when a market is missing.

    Returns
    -------
    (float, dict)
        The USD total and its provenance: ``date`` (latest as-of date used), ``requested``,
        ``contract`` (markets summed, e.g. ``"usdm+coinm"``), ``breakdown`` (per market:
        ``open_interest``, ``date``, ``age_days``, ``status`` "ok"/"stale"/"missing",
        ``note``, ``files``), ``missing``, ``complete``, ``label`` and ``files``.

    Raises
    ------
    ConfigError
        Unknown contracts or a bad ``max_age``.
    DataNotFoundError
        No market has a value at ``date`` (pass ``open_interest=`` explicitly, or
        ``max_age=None``), or, with ``require_all``, one market is missing.
    """
    from riskmodels.data import load_open_interest

    wanted = list(contracts)
    unknown = [c for c in wanted if c not in OI_CONTRACTS]
    if unknown or not wanted:
        raise ConfigError(
            f"contracts must be a non-empty subset of {list(OI_CONTRACTS)} (got {wanted!r})."
        )
    if max_age is not None:
        age_cap = as_timedelta(max_age, "max_age", allow_negative=False, examples=("7d", "1d"))
    t = pd.Timestamp(date)
    t = t.tz_localize("UTC") if t.tzinfo is None else t.tz_convert("UTC")
    breakdown: dict[str, dict[str, Any]] = {}
    total, used, dates, files = 0.0, [], [], []
    for c in wanted:
        name = OI_CONTRACTS[c]
        entry: dict[str, Any] = {
            "open_interest": None,
            "date": None,
            "age_days": None,
            "status": "missing",
            "note": "",
            "files": [],
        }
        try:
            oi = load_open_interest(symbol, "1d", source=source, contract=c)
        except DataNotFoundError as exc:
            entry["note"] = str(exc).rstrip(".")
            breakdown[c] = entry
            continue
        entry["files"] = [r.path for r in file_records(oi)]
        s = oi["open_interest_value"].loc[:t].dropna()
        if s.empty:
            span = f"{oi.index[0].date()} → {oi.index[-1].date()}" if len(oi) else "empty"
            entry["note"] = f"no {name} value on or before {t.date()} (series {span})"
            breakdown[c] = entry
            continue
        age = t - s.index[-1]
        entry.update(
            open_interest=float(s.iloc[-1]),
            date=str(s.index[-1].date()),
            age_days=float(age / pd.Timedelta("1D")),
        )
        if max_age is not None and age > age_cap:
            entry["status"] = "stale"
            entry["note"] = (
                f"last {name} value {entry['date']} is {entry['age_days']:.0f} days before "
                f"{t.date()} (max_age {age_cap / pd.Timedelta('1D'):g} days); not added"
            )
        else:
            entry["status"] = "ok"
            total += entry["open_interest"]
            used.append(c)
            dates.append(s.index[-1])
            files += entry["files"]
        breakdown[c] = entry
    missing = [c for c in wanted if c not in used]
    present = " + ".join(f"{OI_CONTRACTS[c]} {breakdown[c]['date']}" for c in used)
    absent = "; ".join(f"{OI_CONTRACTS[c]} ({breakdown[c]['note']})" for c in missing)
    label = present + (f"; missing: {absent}" if missing else "")
    if not used:
        raise DataNotFoundError(
            f"no open interest for {symbol!r} at {t.date()}: {absent}. Pass open_interest= "
            "explicitly (or max_age=None to accept an older value)."
        )
    if missing and require_all:
        raise DataNotFoundError(
            f"open interest for {symbol!r} at {t.date()} lacks {[OI_CONTRACTS[c] for c in missing]}"
            f": {absent}. Pass require_all=False to size from {present} (reported as partial), "
            "or give open_interest= explicitly."
        )
    return total, {
        "symbol": symbol,
        "date": str(max(dates).date()),
        "requested": str(t.date()),
        "contract": "+".join(used),
        "breakdown": breakdown,
        "missing": missing,
        "complete": not missing,
        "label": label,
        "files": files,
    }
