"""Cross margin: per-position tiered requirements against one shared collateral pool."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from riskmodels._deprecation import keyword_options
from riskmodels.margin.isolated import _PerPositionModel

__all__ = ["CrossMargin"]


@keyword_options
@dataclass(frozen=True)
class CrossMargin(_PerPositionModel):
    r"""Cross margin: the per-position requirements of :class:`IsolatedMargin`, one pool.

    Parameters are those of :class:`~riskmodels.margin.IsolatedMargin`.

    Notes
    -----
    The account's requirement is the sum of the per-position requirements (tiers, option
    rule, add-ons); it is compared with the account's haircut-adjusted equity
    :math:`E = \sum_a c_a P_a (1 - h_a) + \text{spot} + \text{uPnL} + \text{options}`
    (``Account.equity``: collateral in several assets, each after its haircut). The account
    is liquidated when :math:`E \le \text{MM}`, so a gain on one position supports another
    (unlike isolated margin), but the requirement itself does not net hedged positions: that is
    what :class:`~riskmodels.margin.PortfolioMargin` and
    :class:`~riskmodels.margin.RiskMatrixMargin` do. Binance's cross mode and its "portfolio
    margin" (uniMMR = adjusted equity / Σ per-position MM) work this way (VENUES.md §1.2).
    """

    name: ClassVar[str] = "cross"
    isolated: ClassVar[bool] = False
