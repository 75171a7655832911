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


def test_fmt_number_has_no_exponent_in_the_ordinary_range():
    """1e-10 .. 1e12 in plain digits (``1.601e-10`` was shown as such); beyond, exponent."""
    assert fmt_number(1.601e-10) == "0.0000000001601"
    assert fmt_number(-3.2e-7) == "-0.0000003200" and fmt_number(2e-5) == "0.00002000"
    assert fmt_number(2e4) == "20,000" and fmt_number(9.87654e11) == "987,654,000,000"
    assert fmt_number(9.9996) == "10.00" and fmt_number(0.99996) == "1.000"  # rounded up
    assert fmt_number(np.inf) == "∞" and fmt_number(0.0) == "0"
    for k in range(-10, 12):
        for m in (1.0, 1.2345, 9.87):
            x = m * 10.0**k
            assert "e" not in fmt_number(x).lower() and "e" not in fmt_number(-x).lower(), x
    assert fmt_number(1e12) == "1.000e+12" and fmt_number(3e-11) == "3.000e-11"


def test_format_rows_formats_each_row_by_its_kind():
    """A summary whose rows carry the units (P(liquidation), bad debt ...)."""
    from riskmodels._display import format_rows

    s = pd.DataFrame(
        {"estimate": [10.0, 0.0123, 2e4, 1.6e-10, np.nan]},
        index=["positions", "P(liq)", "bad debt", "p", "missing"],
    )
    out = format_rows(s, {"positions": "count", "P(liq)": "pct", "bad debt": "usd", "p": "pvalue"})
    assert out["estimate"].tolist() == ["10", "1.23%", "20,000", "<0.001", MISSING]
    html = table_html(out)
    assert "&lt;0.001" in html and "e+0" not in html and "e-1" not in html
    series = format_rows(pd.Series([0.5, 3.0], index=["a", "b"], name="x"), {"a": "pct"})
    assert series["x"].tolist() == ["50.00%", "3.000"]
    with pytest.raises(ValueError, match="unknown formats"):
        format_rows(s, {"p": "percent"})
