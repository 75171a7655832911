"""Reports lead with the answer (issue 15): cells tagged ``summary`` are rendered first."""

from __future__ import annotations

import nbformat

from riskmodels.reporting.notebooks import lead_with_summary


def _nb(*cells):
    nb = nbformat.v4.new_notebook()
    nb.cells = list(cells)
    return nb


def test_summary_cells_move_after_the_title_in_order():
    """The tagged cells (markdown and code, in their order) land right after the first markdown
    cell; every other cell keeps its order; a notebook without them is unchanged."""
    title = nbformat.v4.new_markdown_cell("# Report")
    params = nbformat.v4.new_code_cell("x = 1")
    evidence = nbformat.v4.new_markdown_cell("## Evidence")
    head = nbformat.v4.new_markdown_cell("## Executive summary", metadata={"tags": ["summary"]})
    body = nbformat.v4.new_code_cell("print(x)", metadata={"tags": ["summary"]})
    tail = nbformat.v4.new_markdown_cell("## Limitations")
    nb = lead_with_summary(_nb(title, params, evidence, head, body, tail))
    assert [c.source for c in nb.cells] == [
        "# Report",
        "## Executive summary",
        "print(x)",
        "x = 1",
        "## Evidence",
        "## Limitations",
    ]
    plain = _nb(title, params, evidence)
    assert [c.source for c in lead_with_summary(plain).cells] == [
        "# Report",
        "x = 1",
        "## Evidence",
    ]
