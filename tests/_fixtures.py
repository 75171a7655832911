"""Fixture text shared by several test folders (``tests/`` is on ``sys.path`` through the root
``conftest.py``; import with ``from _fixtures import ...``). Tests make their own data: these
are venue-rule files written by the tests, not market data."""

from __future__ import annotations


def flat_rule_toml(
    *,
    name: str = "flat_test",
    venue: str = "test venue",
    mmr: float = 0.01,
    imr: float = 0.02,
    residual_to: str = "trader",
) -> str:
    """A flat-rate venue rule (``kind = "fixed_fraction"``) with a complete liquidation
    pipeline: trigger on the mark, an unknown delay swept over 0 s and 1 min, one slice, no
    clearance fee, no backstop, ADL at the bankruptcy price once the fund is exhausted."""
    return f"""
name = "{name}"
venue = "{venue}"
kind = "fixed_fraction"
mmr = {mmr}
imr = {imr}
as_of = "2026-12-06"
source = "test fixture"

[liquidation]
as_of = "2026-12-06"
source = "test fixture"
trigger_price = "mark"
delay = {{ unknown = true, sweep = ["0s", "1min"] }}
slice_fraction = 1.0
clearance_fee = 0.0
residual_to = "{residual_to}"
backstop_fraction = 0.0
adl_trigger = "fund_exhausted"
adl_price = "bankruptcy"
adl_ranking = "pnl_leverage"
"""
