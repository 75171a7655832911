"""The formatting layer (riskmodels._display, issue 15): numbers for people in every table.

Expected strings are written by hand from the issue's rules: percentages with stated precision,
USD with thousands separators, p-values below 0.001 as ``<0.001``, durations as ``1 min`` /
``4 h`` / ``1 d``, dates without a zero time, no RangeIndex column, deterministic HTML.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from riskmodels._display import (
    MISSING,
    fmt_date,
    fmt_duration,
    fmt_number,
    fmt_pct,
    fmt_pvalue,
    fmt_usd,
    format_table,
    table_html,
)


def test_scalar_formats_by_hand():
    """Each formatter on the issue's examples: 2e+04 money, 1.601e-10 p-values, 1 days
    00:00:00 durations, 00:00:00+00:00 after daily dates."""
    assert fmt_pct(0.0123) == "1.23%" and fmt_pct(0.5, 0) == "50%"
    assert fmt_usd(2e4) == "20,000" and fmt_usd(1234.567, 2) == "1,234.57"
    assert fmt_usd(-1e-9) == "0" and fmt_usd(np.inf) == "∞"
    assert fmt_pvalue(1.601e-10) == "<0.001" and fmt_pvalue(0.0423) == "0.042"
    assert fmt_duration(pd.Timedelta("1D")) == "1 d" and fmt_duration("4h") == "4 h"
    assert fmt_duration(pd.Timedelta("1min")) == "1 min"
    assert fmt_date(pd.Timestamp("2024-01-31", tz="UTC")) == "2024-01-31"
    assert fmt_date(pd.Timestamp("2024-01-31 08:00", tz="UTC")) == "2024-01-31 08:00"
    assert fmt_number(123456.789) == "123,457" and fmt_number(0.012345) == "0.01235"
    for f in (fmt_pct, fmt_usd, fmt_pvalue, fmt_number, fmt_date, fmt_duration):
        assert f(np.nan if f is not fmt_date else pd.NaT) == MISSING


def test_table_formats_escapes_and_is_deterministic():
    """A Styler per column kind: no exponent notation in money or percentage columns, the
    RangeIndex hidden, labels and strings escaped, the same HTML on every call."""
    df = pd.DataFrame(
        {"rate": [0.004, 0.01], "usd": [2e4, 1.5e6], "p": [1e-5, 0.2], "<b>": ["a", "<i>"]}
    )
    html = table_html(df, {"rate": "pct", "usd": "usd", "p": "pvalue"})
    for want in ("0.40%", "1.00%", "20,000", "1,500,000", "&lt;0.001", "0.200", "&lt;i&gt;"):
        assert want in html, want
    assert "<b>" not in html and "<i>" not in html and "e+0" not in html
    assert ">0<" not in html  # no RangeIndex cells
    assert html == table_html(df, {"rate": "pct", "usd": "usd", "p": "pvalue"})
    dated = pd.DataFrame({"x": [1.0]}, index=pd.DatetimeIndex(["2024-01-31"], tz="UTC"))
    assert "2024-01-31<" in format_table(dated).to_html()
    with pytest.raises(ValueError, match="unknown formats"):
        format_table(df, {"rate": "percent"})
