"""Reports as a reader sees them: headless Chromium loads the page, with no network.

`make` installs Debian's chromium (and the local MathJax); under CI a missing browser fails the
run instead of skipping, so these checks cannot silently stop running.
"""

from __future__ import annotations

import os

import matplotlib.image as mpimg
import nbformat
import numpy as np
import pytest

from riskmodels.reporting import notebooks as nbx
from riskmodels.reporting.browser import check_page, find_chromium

QUICK = "configs/quick.toml"


def _require(what: str, present: bool) -> None:
    if present:
        return
    if os.environ.get("CI"):
        pytest.fail(f"{what} is missing under CI: `make` should have installed it")
    pytest.skip(f"{what} not installed (run make)")


@pytest.fixture(scope="module")
def chromium() -> str:
    exe = find_chromium()
    _require("headless chromium", exe is not None)
    return exe


def _nonblank(png) -> float:
    img = mpimg.imread(png)
    return float(np.asarray(img)[..., :3].std())


def test_a_script_error_is_caught(tmp_path, chromium):
    # Negative control: the check must be able to fail.
    page = tmp_path / "bad.html"
    page.write_text('<html><body><p>x</p><script>throw new Error("boom-42")</script></body></html>')
    res = check_page(page, tmp_path / "bad.png", chromium=chromium, budget_ms=2000)
    assert not res.ok
    assert any("boom-42" in e for e in res.script_errors)


def test_equations_typeset_offline(tmp_path, chromium):
    _require("local MathJax (build/mathjax)", nbx.local_mathjax() is not None)
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("GARCH: $\\sigma_t^2 = \\omega + \\alpha r_{t-1}^2$")]
    page = tmp_path / "tex.html"
    page.write_text(nbx.render_html(nb, title="tex"), encoding="utf-8")
    res = check_page(page, tmp_path / "tex.png", chromium=chromium, height=600)
    assert res.ok, res.script_errors
    assert res.mathjax_nodes >= 1  # typeset by the inlined MathJax, no network


def test_reading_checks_can_fail(tmp_path, chromium):
    # Negative control for the reports' reading checks (tests/reporting/test_reporting.py): a truncated
    # pandas table, a raw exponent in a cell and an unnumbered page are all seen.
    page = tmp_path / "cut.html"
    page.write_text(
        "<html><body><h2>Contents</h2><h2>Executive summary</h2>"
        "<table><tr><td>2e+04</td><td>...</td></tr></table><p>112 rows × 12 columns</p>"
        '<p class="rm-caption"><b>Figure 2.</b> x</p></body></html>'
    )
    res = check_page(page, tmp_path / "cut.png", chromium=chromium, budget_ms=2000)
    assert res.truncated_tables == 2
    assert res.exponent_cells == ("2e+04",)
    assert res.figure_captions == (2,)
    summary, contents = res.heading_order("Executive summary", "Contents")
    assert contents < summary
