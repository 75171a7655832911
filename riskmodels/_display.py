"""Helpers for the HTML shown by ``_repr_html_`` (Jupyter): every interpolated string escaped."""

from __future__ import annotations

import copy
import html

from statsmodels.iolib.summary import Summary

__all__ = ["summary_html"]


def summary_html(smry: Summary) -> str:
    """``smry.as_html()`` with every title, cell and note HTML-escaped.

    statsmodels interpolates table contents into its HTML as they are, so a Series named
    ``"<script>...</script>"`` would otherwise be rendered (and run) by a notebook.
    """
    out = copy.deepcopy(smry)
    for table in out.tables:
        if getattr(table, "title", None):
            table.title = html.escape(str(table.title))
        for row in table:
            for cell in row:
                if isinstance(cell.data, str):
                    cell.data = html.escape(cell.data)
    if out.extra_txt is not None:
        out.extra_txt = html.escape(str(out.extra_txt))
    return out.as_html()
