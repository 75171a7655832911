"""riskmodels.reporting.Captions: numbering, long tables whole and as CSV, named errors.

Expected values are counts and strings the test sets up itself (how many tables, how many rows)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from riskmodels.exceptions import ConfigError
from riskmodels.reporting import Captions


def _long(n: int = 40) -> pd.DataFrame:
    return pd.DataFrame({"rate": np.linspace(0.0, 0.1, n), "usd": np.arange(n) * 1e4})


def test_tables_are_numbered_and_long_ones_shown_whole_and_written(tmp_path):
    cap = Captions(output_dir=tmp_path, long_rows=25, start_table=2)
    short = cap.table(_long(3), "Short one.", kinds={"rate": "pct", "usd": "usd"})
    long = cap.table(_long(40), "Long one.", kinds={"rate": "pct", "usd": "usd"})
    html_short, html_long = short._repr_html_(), long._repr_html_()
    assert "Table 2. Short one." in html_short and "CSV" not in html_short
    assert "Table 3. Long one. (40 rows, shown whole; also as CSV: tables/" in html_long
    # every row is rendered, whatever pandas' display limits say
    with pd.option_context("styler.render.max_rows", 5):
        assert long._repr_html_().count("<tr") == 41  # 40 rows and the header
    [csv] = cap.csv_files
    assert csv.parent == tmp_path / "tables"
    assert len(pd.read_csv(csv, index_col=0)) == 40
    assert "e+0" not in html_long and "10.00%" in html_long  # formatted for people
    assert cap.n_tables == 3


def test_without_output_dir_long_tables_are_shown_but_not_written():
    cap = Captions()
    html = cap.table(_long(40), "Long.")._repr_html_()
    assert "Table 1. Long." in html and "CSV" not in html
    assert cap.csv_files == []


def test_figures_are_numbered_escaped_and_closed():
    cap = Captions()
    assert cap.figure_caption("a <b>") == '<p class="rm-caption"><b>Figure 1.</b> a &lt;b&gt;</p>'
    fig, ax = plt.subplots()
    cap.figure(ax, "second")  # an Axes is shown as its figure, then closed
    fig2, axes = plt.subplots(1, 2)
    cap.figure(axes, "third")  # an array of Axes (pandas' subplots=True) too
    assert cap.n_figures == 3
    assert not plt.fignum_exists(fig.number) and not plt.fignum_exists(fig2.number)


def test_bad_input_is_a_named_error(tmp_path):
    with pytest.raises(ConfigError, match="long_rows=0 must be at least 1"):
        Captions(long_rows=0)
    cap = Captions(output_dir=tmp_path, long_rows=1)
    cap.table(_long(3), "One.", name="same")
    with pytest.raises(ConfigError, match=r"both be written as same\.csv: pass name="):
        cap.table(_long(3), "Two.", name="same")
    with pytest.raises(ConfigError, match="cannot show str as a figure"):
        cap.figure("not a figure", "x")
