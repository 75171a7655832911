"""Venue margin rules: one small class per kind behind one protocol (issue 17 item 4).

``riskmodels.margin.venues.RULE_KINDS`` holds the kinds; a ``VenueRule`` checks its parameters
and computes its maintenance margin through its kind. The expected margins are the venues'
published formulas (VENUES.md §1.1, §1.5, §1.6), written out here.
"""

from __future__ import annotations

import numpy as np
import pytest

from riskmodels.exceptions import ConfigError
from riskmodels.margin import VenueRule
from riskmodels.margin.venues import RULE_KINDS, RuleKind


def _rule(kind: str, **params: object) -> VenueRule:
    return VenueRule(name="t", venue="v", kind=kind, params=params, source="s", as_of="2026-01-01")


def test_every_kind_shares_the_protocol():
    assert set(RULE_KINDS) == {
        "tiers",
        "leverage_tiers",
        "fixed_fraction",
        "linear_size",
        "risk_matrix",
    }
    for name, kind in RULE_KINDS.items():
        assert isinstance(kind, RuleKind) and kind.name == name
        assert kind.required <= kind.keys
    assert [n for n, k in RULE_KINDS.items() if k.needs_price] == ["linear_size"]


def test_each_kind_gives_its_published_formula():
    n = np.array([1e5, 1e6, 3e7])
    # dYdX: N * MMF
    np.testing.assert_array_equal(_rule("fixed_fraction", mmr=0.012).maintenance(n), n * 0.012)
    # Deribit standard: N * min(m0 + k N / P, 1)
    got = _rule("linear_size", base_mmr=0.01, per_coin=5e-5).maintenance(n, 5e4)
    np.testing.assert_allclose(got, n * np.minimum(0.01 + 5e-5 * n / 5e4, 1.0), rtol=1e-15)
    # Deribit PM naked delta: f (R N + m0 N + d max(N - T, 0))
    rm = _rule(
        "risk_matrix",
        price_range=0.16,
        mm_factor=0.8,
        min_roll_move=0.01,
        max_delta_shock=0.1,
        delta_shock_threshold=2e7,
    )
    want = 0.8 * (0.16 * n + 0.01 * n + 0.1 * np.maximum(n - 2e7, 0.0))
    np.testing.assert_allclose(rm.maintenance(n), want, rtol=1e-15)
    # Hyperliquid: MMR = mm_factor / max leverage of the tier
    lev = _rule("leverage_tiers", upper=[1e6, float("inf")], max_leverage=[40, 20], mm_factor=0.5)
    assert lev.table is not None
    np.testing.assert_allclose(lev.maintenance([5e5]), [5e5 * 0.5 / 40], rtol=1e-15)


@pytest.mark.parametrize(
    ("kind", "params", "match"),
    [
        ("nope", {}, r"kind must be one of \('tiers', 'leverage_tiers'"),
        ("fixed_fraction", {}, r"kind 'fixed_fraction' needs \['mmr'\]"),
        ("fixed_fraction", {"mmr": 1.5}, r"mmr must be in \(0, 1\]"),
        ("linear_size", {"base_mmr": 0.01}, r"needs \['per_coin'\]"),
        ("tiers", {}, r"a 'tiers' rule needs table"),
    ],
)
def test_a_kind_refuses_what_it_cannot_use(kind, params, match):
    with pytest.raises(ConfigError, match=match):
        _rule(kind, **params)


def test_unknown_toml_keys_name_the_kinds_keys():
    with pytest.raises(ConfigError, match=r"unknown keys \['per_coin'\] for kind 'fixed_fraction'"):
        VenueRule.from_dict(
            {"kind": "fixed_fraction", "mmr": 0.01, "per_coin": 1.0, "source": "s", "as_of": "d"}
        )


def test_a_size_rule_without_prices_says_what_to_pass():
    with pytest.raises(ConfigError, match=r"pass prices \(USD per coin\)"):
        _rule("linear_size", base_mmr=0.01, per_coin=5e-5).maintenance([1e6])
