r"""Portfolio margin: VaR or ES of the netted account P&L under scenarios, with floors.

The requirement of an account is a risk measure of its whole P&L over the margin period of
risk (the scenario horizon), so hedges net: a spot-vs-perpetual basis trade needs (almost)
nothing, a naked position pays for its tail. Scenarios come from any generator of
:mod:`riskmodels.scenarios` (historical, filtered historical, Monte Carlo) or from a stress set.

.. math::

    M_\text{risk} = \rho_\alpha\bigl(\text{P\&L}\bigr), \quad
    \rho \in \{\mathrm{VaR}, \mathrm{ES}\} \text{ (positive losses, } \texttt{riskmodels.risk}),

    M = \max\Bigl(\max\bigl(M_\text{risk}, M_\text{10y}, 0\bigr)(1 + b),\;
        f \cdot \text{gross notional}\Bigr) + \text{roll shock} + \text{delta shock},

    \text{IM} = \max(M,\ \text{minimum charge}) + \text{add-ons}, \qquad
    \text{MM} = k\,(\text{IM} - \text{add-ons}) + \text{add-ons},

with the optional anti-procyclicality tools of EMIR RTS 153/2013 Art. 28 (VENUES.md §2.6):
a stressed scenario set carrying weight :math:`w` of the probability (b), a floor
:math:`M_\text{10y}` from scenarios over a 10-year lookback (c) and a buffer :math:`b` (a);
:math:`f` is a floor as a fraction of gross notional; the roll shock, delta shock and minimum
charge are the :class:`~riskmodels.margin.floors.Contingencies` (on by default: a hedged book
never margins at zero) and :math:`k` the MM/IM convention
(Deribit PM: :math:`k = 0.8`, VENUES.md §1.1; Paradex: 0.5, §1.8). CCPs run this design with ES
(LCH PAIRS, OCC STANS 99% two-day ES; VENUES.md §2.3-2.4) or VaR (ICE IRM 2, Eurex Prisma).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import KW_ONLY, dataclass
from typing import Any, ClassVar, Literal, cast

import numpy as np
import pandas as pd

from riskmodels._deprecation import keyword_options
from riskmodels._time import as_timedelta
from riskmodels._typing import SeedLike
from riskmodels._validation import check_alpha, require_observations
from riskmodels.exceptions import ConfigError, DataError
from riskmodels.instruments import Account, Book
from riskmodels.instruments.market import STABLECOINS, scenario_log_returns
from riskmodels.margin._common import (
    account_gross_notional,
    as_accounts,
    book_position_deltas,
    check_account,
    check_fraction,
    check_nonnegative,
    position_deltas,
)
from riskmodels.margin.addons import addon_frame, addon_matrix, check_addons
from riskmodels.margin.floors import DEFAULT_CONTINGENCIES, Contingencies, check_contingencies
from riskmodels.margin.isolated import position_label
from riskmodels.margin.results import BookMarginResult, MarginResult
from riskmodels.risk import var_es, var_es_rows
from riskmodels.scenarios.base import ScenarioGenerator, Scenarios

__all__ = ["PortfolioMargin", "tail_weights"]

#: Target size (elements) of the per-chunk P&L block of :meth:`PortfolioMargin.margin_book`:
#: 2**23 float64 = 64 MiB, so that the block, its negated copy inside ``risk.var_es`` and the
#: exposures stay far below the ~4 GB budget for 100,000 accounts x 2,500 scenarios.
CHUNK_ELEMENTS = 1 << 23

_COLUMNS = ["component", "item", "asset", "initial", "maintenance", "tail_pnl"]


def tail_weights(
    losses: np.ndarray, alpha: float, probs: np.ndarray | None, measure: str
) -> tuple[np.ndarray, float, int]:
    r"""Scenario weights :math:`w` with :math:`\sum_s w_s L_s = \rho_\alpha(L)`.

    For ES (Acerbi & Tasche 2002, Prop. 3.2) :math:`w_s = p_s/(1-\alpha)` for
    :math:`L_s > \mathrm{VaR}` plus the atom at the VaR, which carries
    :math:`(P(L \le \mathrm{VaR}) - \alpha)/(1-\alpha)` shared among the scenarios with
    :math:`L_s = \mathrm{VaR}` in proportion to :math:`p_s`; for VaR, weight 1 on one scenario
    whose loss is the VaR. Applied to the P&L of each position this gives the Euler allocation
    of the measure: contributions that sum to the total.

    Returns
    -------
    weights : ndarray (S,)
    value : float
        The measure.
    var_index : int
        A scenario whose loss equals the VaR.
    """
    n = losses.shape[0]
    p = np.full(n, 1.0 / n) if probs is None else probs / probs.sum()
    v, e = var_es(-losses, alpha, probs)
    at = np.flatnonzero(losses == v)
    idx = int(at[np.argmax(p[at])]) if at.size else int(np.argmin(np.abs(losses - v)))
    if measure == "var":
        w = np.zeros(n)
        w[idx] = 1.0
        return w, float(v), idx
    tail = losses > v
    w = np.where(tail, p / (1.0 - alpha), 0.0)
    atom = max(float(p[~tail].sum()) - alpha, 0.0) / (1.0 - alpha)
    if at.size:
        w[at] += atom * p[at] / p[at].sum()
    return w, float(e), idx


def _check_scenarios(sc: Any, name: str) -> Scenarios:
    if isinstance(sc, Scenarios):
        return sc
    if isinstance(sc, ScenarioGenerator) or hasattr(sc, "generate"):
        raise ConfigError(
            f"{name} is a scenario generator ({type(sc).__name__}), not Scenarios: use "
            "PortfolioMargin.from_generator(generator, returns, asof, horizon, rng=...) or pass "
            "generator.generate(returns, asof, horizon, rng)."
        )
    raise ConfigError(f"{name} must be a riskmodels.scenarios.Scenarios (got {type(sc).__name__}).")


@keyword_options
@dataclass(frozen=True)
class PortfolioMargin:
    r"""Portfolio margin: VaR or ES of the netted account P&L, with floors and APC tools.

    Parameters
    ----------
    scenarios : Scenarios
        Joint asset moves over the margin period of risk (S × N log returns, optional weights
        and vol shocks), e.g. ``FilteredHistoricalScenarios(...).generate(returns, asof, "2d",
        rng)``; see :meth:`from_generator`.
    measure : {"es", "var"}, default "es"
    alpha : float, default 0.99
        Confidence level (EMIR Art. 24: at least 0.99 for exchange-traded derivatives).
    horizon : Timedelta or str, optional
        The margin period of risk; when given it must equal ``scenarios.horizon`` (a check).
    notional_floor : float, default 0.0
        Floor as a fraction of gross notional (e.g. 0.01: IM >= 1% of gross notional).
    mm_factor : float, default 0.8
        MM = ``mm_factor`` × IM before add-ons (Deribit PM ``mm_factor`` 0.8, VENUES.md §1.1).
    buffer : float, default 0.0
        EMIR Art. 28(1)(a) buffer rate (>= 0.25 when used as the APC tool).
    stressed_scenarios : Scenarios, optional
        A stressed period's scenarios (same assets), for EMIR Art. 28(1)(b).
    stressed_weight : float, default 0.0
        Probability weight of ``stressed_scenarios`` (>= 0.25 under Art. 28(1)(b)); the base
        scenarios keep ``1 - stressed_weight``.
    floor_scenarios : Scenarios, optional
        Scenarios over a 10-year lookback: the requirement is at least the same measure on
        them (EMIR Art. 28(1)(c)).
    addons : sequence of add-ons, default ()
    contingencies : Contingencies or None, default Contingencies()
        Minimum charge (notional and short options), roll shock and delta shock, with their
        sources in :mod:`riskmodels.margin.floors`; None for the scenario risk alone.

    Notes
    -----
    The formula is in the module docstring. The P&L is the economic P&L of the account
    (``Account.pnl(scenarios)``: collateral at full value, options fully revalued); a negative
    measure (the tail is a gain) is clipped at zero. The breakdown allocates the measure to
    positions and collateral balances by the Euler rule (:func:`tail_weights`): for ES the
    probability-weighted average P&L of each item over the tail, for VaR its P&L in the VaR
    scenario; these sum to the measure. ES is subadditive (coherent, Acerbi & Tasche 2002), so
    the ES margin of an account never exceeds the sum of the ES margins of its positions held
    alone (without floors or add-ons that are not subadditive).
    """

    scenarios: Scenarios
    _: KW_ONLY
    measure: Literal["es", "var"] = "es"
    alpha: float = 0.99
    horizon: Any = None
    notional_floor: float = 0.0
    mm_factor: float = 0.8
    buffer: float = 0.0
    stressed_scenarios: Scenarios | None = None
    stressed_weight: float = 0.0
    floor_scenarios: Scenarios | None = None
    addons: Any = ()
    contingencies: Contingencies | None = DEFAULT_CONTINGENCIES

    name: ClassVar[str] = "portfolio"

    def __post_init__(self) -> None:
        sc = _check_scenarios(self.scenarios, "scenarios")
        if self.measure not in ("es", "var"):
            raise ConfigError(f"measure must be 'es' or 'var' (got {self.measure!r}).")
        object.__setattr__(self, "alpha", check_alpha(self.alpha))
        if self.horizon is not None:
            h = as_timedelta(self.horizon, "horizon")
            if h != sc.horizon:
                raise ConfigError(
                    f"horizon {h} differs from the scenarios' horizon {sc.horizon}: generate the "
                    "scenarios over the margin period of risk, or drop horizon=."
                )
            object.__setattr__(self, "horizon", h)
        else:
            object.__setattr__(self, "horizon", sc.horizon)
        object.__setattr__(
            self,
            "notional_floor",
            check_fraction(
                self.notional_floor, "notional_floor", fix="0.01 is 1% of gross notional."
            ),
        )
        k = check_fraction(self.mm_factor, "mm_factor", fix="Deribit uses 0.8 (MM = 0.8 x IM).")
        if k == 0:
            raise ConfigError("mm_factor must be > 0 (got 0.0); Deribit uses 0.8.")
        object.__setattr__(self, "mm_factor", k)
        object.__setattr__(
            self, "buffer", check_nonnegative(self.buffer, "buffer", "EMIR: >= 0.25.")
        )
        w = check_fraction(self.stressed_weight, "stressed_weight", upper=1.0, fix="EMIR: >= 0.25.")
        if w >= 1.0:
            raise ConfigError(
                "stressed_weight must be < 1 (got 1.0): the base scenarios need weight."
            )
        object.__setattr__(self, "stressed_weight", w)
        if self.stressed_scenarios is not None:
            st = _check_scenarios(self.stressed_scenarios, "stressed_scenarios")
            if st.horizon != sc.horizon:
                raise ConfigError(
                    f"stressed_scenarios cover {st.horizon} but scenarios cover {sc.horizon}: "
                    "use the same horizon."
                )
        if (w > 0) != (self.stressed_scenarios is not None):
            raise ConfigError(
                "stressed_weight and stressed_scenarios go together: pass both (e.g. 0.25 and a "
                "stressed period's scenarios) or neither."
            )
        if self.floor_scenarios is not None:
            fl = _check_scenarios(self.floor_scenarios, "floor_scenarios")
            if fl.horizon != sc.horizon:
                raise ConfigError(
                    f"floor_scenarios cover {fl.horizon} but scenarios cover {sc.horizon}: use "
                    "the same horizon."
                )
        object.__setattr__(self, "addons", check_addons(self.addons))
        object.__setattr__(self, "contingencies", check_contingencies(self.contingencies))

    @property
    def _contingencies(self) -> Contingencies:
        """``contingencies`` as checked at construction (None became no contingencies)."""
        return check_contingencies(self.contingencies)

    @classmethod
    def from_generator(
        cls,
        generator: Any,
        returns: pd.DataFrame,
        asof: Any,
        horizon: Any,
        *,
        rng: SeedLike = None,
        n: int | None = None,
        **options: Any,
    ) -> PortfolioMargin:
        """Generate the scenarios with ``generator.generate(returns, asof, horizon, rng, n)``.

        ``generator`` is any spec of :mod:`riskmodels.scenarios` (historical, filtered
        historical, Monte Carlo); ``options`` are the other parameters of this class.
        """
        if not hasattr(generator, "generate"):
            raise ConfigError(
                f"generator must be a scenario generator such as HistoricalScenarios(...) (got "
                f"{type(generator).__name__})."
            )
        sc = generator.generate(returns, asof, horizon, rng=rng, n=n)
        return cls(sc, horizon=horizon, **options)

    # -- one account -------------------------------------------------------------------------
    def _item_pnl(self, account: Account, sc: Scenarios) -> tuple[list[dict[str, Any]], np.ndarray]:
        """Items (positions, collateral balances) and their P&L (S × items)."""
        items: list[dict[str, Any]] = []
        cols: list[np.ndarray] = []
        for asset, value in account.collateral_values.items():
            r = scenario_log_returns(sc, asset, f"collateral {asset!r}")
            if asset in STABLECOINS and not np.any(r):
                continue
            items.append({"component": "collateral", "item": f"collateral {asset}", "asset": asset})
            cols.append(value * np.expm1(r))
        for p in account.positions:
            items.append({"component": "position", "item": position_label(p), "asset": p.asset})
            cols.append(p.pnl(account.prices, sc))
        mat = np.column_stack(cols) if cols else np.zeros((sc.n_scenarios, 0))
        return items, mat

    def _mix(
        self, base: np.ndarray, stressed: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """Stack base and stressed scenario rows with their probabilities (None: equal, base only)."""
        sc = self.scenarios
        if stressed is None:
            return base, sc.weights
        st = self.stressed_scenarios
        assert st is not None
        pb = sc.weights if sc.weights is not None else np.full(sc.n_scenarios, 1.0 / sc.n_scenarios)
        ps = st.weights if st.weights is not None else np.full(st.n_scenarios, 1.0 / st.n_scenarios)
        w = self.stressed_weight
        return np.concatenate([base, stressed], axis=0), np.concatenate([(1 - w) * pb, w * ps])

    def _labels(self) -> list[str]:
        def lab(sc: Scenarios, prefix: str) -> list[str]:
            if sc.labels is not None:
                return [f"{prefix}{x}" for x in sc.labels]
            return [f"{prefix}#{i}" for i in range(sc.n_scenarios)]

        out = lab(self.scenarios, "")
        if self.stressed_scenarios is not None:
            out += lab(self.stressed_scenarios, "stressed ")
        return out

    def _measure(self, pnl: np.ndarray, probs: np.ndarray | None) -> float:
        v, e = var_es(pnl, self.alpha, probs)
        return float(e if self.measure == "es" else v)

    def margin(self, account: Account) -> MarginResult:
        """Requirement of one account (breakdown: Euler contributions, floors, add-ons).

        Raises
        ------
        DataError
            An account asset missing from the scenarios.
        InsufficientDataError
            Fewer scenarios than ``ceil(1 / (1 - alpha))``.
        """
        account = check_account(account)
        items, mat = self._item_pnl(account, self.scenarios)
        if self.stressed_scenarios is not None:
            _, smat = self._item_pnl(account, self.stressed_scenarios)
        else:
            smat = None
        mat, probs = self._mix(mat, smat)
        total = mat.sum(axis=1)
        w, risk, idx = tail_weights(-total, self.alpha, probs, self.measure)
        contrib = -(w @ mat)  # sums to `risk`
        rows = [
            dict(
                it,
                initial=float(c),
                maintenance=self.mm_factor * float(c),
                tail_pnl=-float(c),
            )
            for it, c in zip(items, contrib, strict=True)
        ]
        if not rows:  # nothing at risk
            rows.append(
                {
                    "component": "market risk",
                    "item": "no positions",
                    "asset": "",
                    "initial": 0.0,
                    "maintenance": 0.0,
                    "tail_pnl": 0.0,
                }
            )
        cur = float(risk)

        def add(component: str, item: str, amount: float) -> None:
            nonlocal cur
            if amount != 0.0:
                rows.append(
                    {
                        "component": component,
                        "item": item,
                        "asset": "",
                        "initial": amount,
                        "maintenance": self.mm_factor * amount,
                        "tail_pnl": np.nan,
                    }
                )
                cur += amount

        if self.floor_scenarios is not None:
            f = float(
                self._measure(account.pnl(self.floor_scenarios), self.floor_scenarios.weights)
            )
            add(
                "APC floor (10y lookback)",
                f"{self.measure.upper()} on floor scenarios {f:,.2f}",
                max(f - cur, 0.0),
            )
        add("zero clip", "the tail is a gain", max(-cur, 0.0))
        add("APC buffer", f"{self.buffer:.0%} of calculated margin", cur * self.buffer)
        gross = account_gross_notional(account)
        add(
            "notional floor",
            f"{self.notional_floor:.2%} of gross notional {gross:,.0f}",
            max(self.notional_floor * gross - cur, 0.0),
        )
        ch = self._contingencies.account_charges(account, gross)
        add(
            "roll shock",
            "perpetuals and futures per expiry bucket",
            ch["roll shock"],
        )
        add("delta shock", "net delta above the liquidity threshold", ch["delta shock"])
        add(
            "minimum charge",
            "floor on gross and short-option notional",
            max(ch["minimum charge"] - cur, 0.0),
        )
        frame = pd.DataFrame(rows, columns=_COLUMNS)
        if self.addons:
            extra = addon_frame(self.addons, position_deltas(account))
            frame = pd.concat([frame, extra.reindex(columns=_COLUMNS)], ignore_index=True)
        addons_total = float(
            frame.loc[frame["component"].str.startswith("add-on"), "initial"].sum()
        )
        labels = self._labels()
        n_base = self.scenarios.n_scenarios
        driver = {
            "measure": self.measure,
            "alpha": self.alpha,
            "value": float(risk),
            "var_scenario": idx if idx < n_base else idx - n_base,
            "set": "base" if idx < n_base else "stressed",
            "label": labels[idx],
            "worst_scenario": int(np.argmin(total)),
            "worst_label": labels[int(np.argmin(total))],
        }
        return MarginResult(
            model=self.name,
            initial=cur + addons_total,
            maintenance=self.mm_factor * cur + addons_total,
            equity=account.equity,
            breakdown=frame,
            driver=driver,
            account_id=account.account_id,
            params=self._params(),
        )

    # -- many accounts -----------------------------------------------------------------------
    def margin_many(self, accounts: Sequence[Account]) -> BookMarginResult:
        """Requirements of many accounts, vectorized through a :class:`Book`."""
        accs = as_accounts(accounts)
        book = Book.from_accounts(accs)
        gross = np.array([account_gross_notional(a) for a in accs])
        return self.margin_book(book, gross_notional=gross)

    def _block_measure(
        self, losses: np.ndarray, probs: np.ndarray | None, argmax: np.ndarray | None = None
    ) -> np.ndarray:
        """VaR or ES of each row of ``losses`` (not modified); ``argmax`` (intp, one per row),
        when given, receives ``np.argmax(losses, axis=1)``."""
        if probs is not None:
            if argmax is not None:
                argmax[:] = np.argmax(losses, axis=1)
            v, e = cast(  # 2-D losses: one value per row
                "tuple[np.ndarray, np.ndarray]",
                var_es(np.negative(losses), self.alpha, probs, axis=1),
            )
        else:
            # riskmodels.risk's top-k kernel on the loss block: the definitions of risk.var_es
            # (inverse-CDF VaR, Acerbi-Tasche ES) from each row's worst losses, in one pass
            # that also finds the argmax; a row with NaN gives NaN (caught below).
            v, e = var_es_rows(losses, self.alpha, argmax=argmax)
        out = e if self.measure == "es" else v
        if not np.isfinite(out).all():
            raise DataError(
                "the scenario P&L overflowed (non-finite VaR/ES): check the exposures and the "
                "scenario returns for extreme values."
            )
        return out

    def margin_book(
        self,
        book: Book,
        *,
        gross_notional: np.ndarray | None = None,
        chunk_size: int | None = None,
        drivers: bool = True,
    ) -> BookMarginResult:
        """Requirements of every account of a book, in chunks of accounts.

        Parameters
        ----------
        book : Book
        gross_notional : ndarray of shape (A,), optional
            Gross notional per account; required when ``notional_floor > 0`` (a book nets
            positions per asset, so it cannot recompute it).
        chunk_size : int, optional
            Accounts per chunk (default: about ``CHUNK_ELEMENTS / n_scenarios``).
        drivers : bool, default True
            Record each account's worst scenario (one more pass over the P&L).

        Notes
        -----
        Per chunk of accounts: the loss block ``(X + C)[chunk] @ (1 - e^R)^T`` (plus the option
        revaluation losses and the carry series), one matrix product into a buffer reused by
        every chunk, and one top-k selection per account (:func:`riskmodels.risk.var_es_rows`: each account's
        worst 1% of losses, the definitions of ``risk.var_es``, the worst scenario found in the
        same pass; weighted scenarios go through ``risk.var_es`` itself). Memory
        stays at a few blocks of ``CHUNK_ELEMENTS``.
        """
        if not isinstance(book, Book):
            raise ConfigError(
                f"book must be a riskmodels.instruments.Book (got {type(book).__name__})."
            )
        a_n = book.n_accounts
        if gross_notional is None:
            gross_notional = book.gross_notional
        if self.notional_floor > 0 or self._contingencies.notional_minimum > 0:
            if gross_notional is None:
                raise ConfigError(
                    "notional_floor > 0 and the notional minimum charge need gross_notional "
                    "(one value per account, e.g. [acc.gross_notional for acc in accounts]): a "
                    "Book built by hand nets positions per asset. Book.from_accounts records "
                    "it, or pass contingencies=None."
                )
            gross = np.asarray(gross_notional, dtype="float64")
            if gross.shape != (a_n,):
                raise ConfigError(f"gross_notional must have shape ({a_n},) (got {gross.shape}).")
        else:
            gross = np.zeros(a_n)
        # the book's one P&L engine, as losses: factors computed once per scenario set
        base = book.factored_pnl(self.scenarios, losses=True)
        stressed = self.stressed_scenarios
        if stressed is not None:
            base_s = book.factored_pnl(stressed, losses=True)
            _, probs = self._mix(
                np.zeros((self.scenarios.n_scenarios, 1)), np.zeros((stressed.n_scenarios, 1))
            )
        else:
            probs = self.scenarios.weights
        floor = self.floor_scenarios
        if floor is not None:
            base_f = book.factored_pnl(floor, losses=True)
        s_tot = self.scenarios.n_scenarios + (0 if stressed is None else stressed.n_scenarios)
        if chunk_size is None:
            chunk_size = max(1, CHUNK_ELEMENTS // max(s_tot, 1))
        elif (
            isinstance(chunk_size, bool)
            or not isinstance(chunk_size, int | np.integer)
            or chunk_size < 1
        ):
            raise ConfigError(f"chunk_size must be a positive integer (got {chunk_size!r}).")
        if probs is None:
            require_observations(s_tot, self.alpha)
        risk = np.empty(a_n)
        floor_val = np.zeros(a_n)
        drv = np.full(a_n, -1, dtype=np.intp)
        # one buffer for every chunk's loss block (the kernels read it, never keep it)
        buf = np.empty((min(int(chunk_size), a_n), self.scenarios.n_scenarios))
        for r0 in range(0, a_n, int(chunk_size)):
            rows = slice(r0, min(a_n, r0 + int(chunk_size)))
            losses = base.block(rows, out=buf)
            if stressed is not None:
                losses = np.concatenate([losses, base_s.block(rows)], axis=1)
            risk[rows] = self._block_measure(losses, probs, drv[rows] if drivers else None)
            del losses
            if floor is not None:
                fl = base_f.block(rows)
                if floor.weights is None:
                    require_observations(floor.n_scenarios, self.alpha, what="floor_scenarios")
                floor_val[rows] = self._block_measure(fl, floor.weights)
        comps: dict[str, np.ndarray] = {"market risk": risk.copy()}
        cur = risk.copy()
        if floor is not None:
            top = np.maximum(floor_val - cur, 0.0)
            comps["APC floor (10y lookback)"] = top
            cur = cur + top
        clip = np.maximum(-cur, 0.0)
        if clip.any():
            comps["zero clip"] = clip
        cur = cur + clip
        if self.buffer:
            comps["APC buffer"] = cur * self.buffer
            cur = cur * (1.0 + self.buffer)
        if self.notional_floor:
            top = np.maximum(self.notional_floor * gross - cur, 0.0)
            comps["notional floor"] = top
            cur = cur + top
        ch = self._contingencies.book_charges(book, gross)
        for key in ("roll shock", "delta shock"):
            if ch[key].any():
                comps[key] = ch[key]
                cur = cur + ch[key]
        top = np.maximum(ch["minimum charge"] - cur, 0.0)
        if top.any():
            comps["minimum charge"] = top
            cur = cur + top
        add_total = np.zeros(a_n)
        if self.addons:
            for k, v in addon_matrix(self.addons, book_position_deltas(book), book.assets).items():
                comps[k] = v
                add_total += v
        return BookMarginResult(
            model=self.name,
            account_ids=book.account_ids,
            initial=cur + add_total,
            maintenance=self.mm_factor * cur + add_total,
            equity=np.asarray(book.equity, dtype="float64"),
            components=pd.DataFrame(comps, index=pd.Index(book.account_ids, name="account")),
            driver=drv,
            driver_labels=tuple(self._labels()) if drivers else None,
            params=self._params(),
        )

    def _params(self) -> dict[str, Any]:
        return {
            "measure": self.measure,
            "alpha": self.alpha,
            "horizon": str(self.horizon),
            "n_scenarios": self.scenarios.n_scenarios,
            "method": self.scenarios.method,
            "notional_floor": self.notional_floor,
            "mm_factor": self.mm_factor,
            "buffer": self.buffer,
            "stressed_weight": self.stressed_weight,
            "floor_scenarios": None
            if self.floor_scenarios is None
            else self.floor_scenarios.n_scenarios,
            "addons": [a.name for a in self.addons],
            "contingencies": self._contingencies.params(),
        }
