"""Spec options are keyword-only, with one release of positional use behind a warning (issue 17).

Each spec keeps its natural leading arguments positional (``EWMA(0.94)``, ``GARCH(1, 0, 1)``,
``PortfolioMargin(scenarios)``); its options come after ``*``. Code written before passed
options by position; :func:`riskmodels._deprecation.keyword_options` maps them onto the same
fields with a ``DeprecationWarning``, so the object built is the one the keyword form builds.
The expected objects here are the keyword forms themselves: the twin of every deprecated call.
"""

from __future__ import annotations

import dataclasses
import inspect
import pickle
import warnings

import pytest

from riskmodels._deprecation import keyword_options
from riskmodels.backtest import ConditionalEVT, ParametricModel, ScenarioModel
from riskmodels.correlation import CCC, DCC, EWMACorrelation
from riskmodels.margin import (
    AntiProcyclicality,
    ConcentrationAddOn,
    CrossMargin,
    IsolatedMargin,
    LiquidityAddOn,
    OptionMarginRule,
    PortfolioMargin,
    RiskMatrixMargin,
    TierTable,
)
from riskmodels.scenarios import (
    FilteredHistoricalScenarios,
    HistoricalScenarios,
    MonteCarloScenarios,
)
from riskmodels.stress import CircuitBreaker
from riskmodels.volatility import EGARCH, EWMA, GARCH, GJR

# spec: (its positional parameters, in order; its first keyword-only option)
SPECS = {
    GARCH: (("p", "o", "q"), "dist"),
    GJR: (("p", "o", "q"), "dist"),
    EGARCH: (("p", "o", "q"), "dist"),
    EWMA: (("lam",), "dist"),
    EWMACorrelation: (("lam",), "univariate"),
    CCC: (("univariate",), "target"),
    DCC: (("kind",), "likelihood"),
    ScenarioModel: (("generator",), "n"),
    ParametricModel: (("volatility",), "dist"),
    ConditionalEVT: (("volatility",), "tail_fraction"),
    PortfolioMargin: (("scenarios",), "measure"),
    CrossMargin: (("tiers",), "leverage"),
    IsolatedMargin: (("tiers",), "leverage"),
    OptionMarginRule: ((), "im_rate"),
    RiskMatrixMargin: ((), "price_range"),
    LiquidityAddOn: (("adv", "volatility"), "coefficient"),
    ConcentrationAddOn: (("adv",), "threshold"),
    AntiProcyclicality: ((), "buffer"),
    TierTable: (("upper_bounds", "max_leverage", "mmr"), "imr"),
    HistoricalScenarios: (("window",), "overlapping"),
    FilteredHistoricalScenarios: (("volatility",), "correlation"),
    MonteCarloScenarios: (("model",), "n"),
    CircuitBreaker: (("threshold",), "window"),
}


@pytest.mark.parametrize("spec", list(SPECS), ids=lambda c: c.__name__)
def test_signature_puts_options_after_the_star(spec: type) -> None:
    positional, first_option = SPECS[spec]
    params = list(inspect.signature(spec).parameters.values())
    leading = tuple(p.name for p in params if p.kind is p.POSITIONAL_OR_KEYWORD)
    assert leading == positional
    keyword = [p.name for p in params if p.kind is p.KEYWORD_ONLY]
    assert keyword and keyword[0] == first_option


@pytest.mark.parametrize(
    ("deprecated", "keyword"),
    [
        (lambda: EWMA(0.97, "t"), lambda: EWMA(0.97, dist="t")),
        (lambda: EWMA(0.97, "t", "constant"), lambda: EWMA(0.97, dist="t", mean="constant")),
        (lambda: GARCH(1, 0, 1, "t"), lambda: GARCH(1, 0, 1, dist="t")),
        (lambda: GJR(1, 1, 1, "skewt", "constant"), lambda: GJR(dist="skewt", mean="constant")),
        (lambda: EWMACorrelation(0.9, None), lambda: EWMACorrelation(0.9, univariate=None)),
        (lambda: DCC("cdcc", "composite"), lambda: DCC("cdcc", likelihood="composite")),
        (lambda: CircuitBreaker(0.05, 3), lambda: CircuitBreaker(0.05, window=3)),
        (
            lambda: HistoricalScenarios(250, False),
            lambda: HistoricalScenarios(250, overlapping=False),
        ),
        (
            lambda: ParametricModel(EWMA(0.94), "normal"),
            lambda: ParametricModel(EWMA(0.94), dist="normal"),
        ),
        (
            lambda: TierTable([1e5], [20], [0.01], [0.05]),
            lambda: TierTable([1e5], [20], [0.01], imr=[0.05]),
        ),
    ],
)
def test_positional_options_still_work_for_one_release_with_a_warning(deprecated, keyword) -> None:
    with pytest.warns(DeprecationWarning, match="pass .* by keyword") as caught:
        built = deprecated()
    assert len(caught) == 1
    # the warning points at the caller (this file), not at the wrapper
    assert caught[0].filename == __file__
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        expected = keyword()
    assert repr(built) == repr(expected)


def test_the_warning_names_every_moved_option() -> None:
    with pytest.warns(DeprecationWarning) as caught:
        EWMA(0.97, "t", "constant")
    message = str(caught[0].message)
    assert "pass dist, mean by keyword" in message
    assert "EWMA(..., dist=..., mean=...)" in message


def test_too_many_or_repeated_arguments_are_type_errors() -> None:
    with pytest.raises(TypeError, match="at most 3 arguments"):
        EWMA(0.97, "t", "zero", "extra")
    with pytest.raises(TypeError, match="multiple values for 'dist'"):
        EWMA(0.97, "t", dist="normal")


def test_validation_runs_on_the_moved_arguments() -> None:
    # __post_init__ sees the option wherever it came from
    from riskmodels.exceptions import ConfigError

    with pytest.warns(DeprecationWarning), pytest.raises(ConfigError, match="dist"):
        GARCH(1, 0, 1, "cauchy")


def test_specs_still_pickle_replace_and_compare() -> None:
    spec = GARCH(1, 1, 1, dist="t")
    assert pickle.loads(pickle.dumps(spec)) == spec
    assert dataclasses.replace(spec, q=2) == GARCH(1, 1, 2, dist="t")
    assert (
        dataclasses.replace(CrossMargin(TierTable.flat(0.01, 50)), mm_factor=0.5).mm_factor == 0.5
    )


def test_keyword_options_refuses_what_it_cannot_wrap() -> None:
    class Plain:
        pass

    with pytest.raises(TypeError, match="applies to dataclasses"):
        keyword_options(Plain)

    @dataclasses.dataclass(frozen=True)
    class AllPositional:
        a: int = 1

    with pytest.raises(TypeError, match="no keyword-only field"):
        keyword_options(AllPositional)
