"""One display path (issue 17 item 1): results show themselves through ``summary()``.

:class:`riskmodels._display.SummaryDisplay` renders a ``DataFrame`` summary with the formatting
layer (``table_html``) and a statsmodels ``Summary`` with ``summary_html``, both escaped. The
expected HTML here is what those two functions give for the same summary: the mixin must add
nothing but the (escaped) headline.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

import pandas as pd
import pytest

from riskmodels._display import SummaryDisplay, esc, summary_html, table_html, text_summary
from riskmodels.correlation.results import CorrelationResult
from riskmodels.instruments import Account, Book
from riskmodels.scenarios.filtered import FittedFilteredHistoricalScenarios
from riskmodels.scenarios.montecarlo import FittedMonteCarloScenarios
from riskmodels.stress import AccountPopulation
from riskmodels.volatility import PanelVolatilityResult, VolatilityResult


class _Tabular(SummaryDisplay):
    summary_kinds: ClassVar[Mapping[str, str]] = {"amount": "usd", "rate": "pct"}

    def summary(self) -> pd.DataFrame:
        return pd.DataFrame(
            {"amount": [1234.5], "rate": [0.0125]}, index=pd.Index(["<script>x</script>"])
        )

    def _display_head(self) -> str:
        return f"<p>{esc('<b>head</b>')}</p>"


class _Fitted(SummaryDisplay):
    def summary(self):
        return text_summary("<i>model</i>", ["line <u>1</u>"])


def test_a_dataframe_summary_is_the_formatted_table_under_the_headline():
    obj = _Tabular()
    html = obj._repr_html_()
    assert html == "<p>&lt;b&gt;head&lt;/b&gt;</p>" + table_html(obj.summary(), obj.summary_kinds)
    assert "<script>" not in html and "1,234" in html and "1.25%" in html


def test_a_statsmodels_summary_is_escaped():
    html = _Fitted()._repr_html_()
    assert html == summary_html(_Fitted().summary())
    assert "<i>" not in html and "&lt;i&gt;model&lt;/i&gt;" in html


@pytest.mark.parametrize(
    "cls",
    [
        VolatilityResult,
        PanelVolatilityResult,
        CorrelationResult,
        FittedMonteCarloScenarios,
        FittedFilteredHistoricalScenarios,
        AccountPopulation,
        Account,
        Book,
    ],
)
def test_results_display_through_the_mixin(cls):
    # none of them writes its own _repr_html_: the mixin's is the one path
    assert issubclass(cls, SummaryDisplay)
    assert "_repr_html_" not in vars(cls)
