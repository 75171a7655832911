"""Helpers for the HTML shown by ``_repr_html_`` (Jupyter) and the reports: every string escaped.

Every ``_repr_html_`` and HTML template of the package builds its markup from these helpers, so
that a data string (a Series named ``"<script>...</script>"``, a column ``"<b>x</b>"``, a venue
name read from a file) is shown as text and never run or rendered by a notebook or a browser:

- :func:`esc` escapes one value (``&``, ``<``, ``>``, ``"`` and ``'``);
- :class:`SafeHTML` marks a fragment that is already HTML (built from :func:`esc`), which
  :func:`esc` and :func:`html_table` then pass through instead of escaping it twice;
- :func:`html_table` renders key/value header tables;
- :func:`frame_html` renders a DataFrame or Series with pandas' escaping switched on;
- :func:`summary_html` renders a statsmodels ``Summary``.
"""

from __future__ import annotations

import copy
import html
from collections.abc import Iterable
from typing import Any

import pandas as pd
from statsmodels.iolib.summary import Summary

__all__ = ["SafeHTML", "esc", "frame_html", "html_table", "summary_html"]


class SafeHTML(str):
    """A string that is already HTML (every data string in it escaped).

    :func:`esc` returns it unchanged, so a fragment built from escaped parts can be nested
    into another table without being escaped twice. Anything derived from it by ``+``,
    slicing or formatting is a plain ``str`` again (and escaped), never trusted by accident.
    """

    __slots__ = ()


def esc(value: object) -> str:
    """``html.escape(str(value), quote=True)``; a :class:`SafeHTML` fragment is returned as is.

    Parameters
    ----------
    value : object
        Any value; ``None`` gives ``"None"`` (format it first to show something else).

    Returns
    -------
    str
        Text safe inside an element or a quoted attribute value.
    """
    if isinstance(value, SafeHTML):
        return str(value)
    return html.escape(str(value), quote=True)


def html_table(
    rows: Iterable[tuple[object, object]],
    *,
    caption: object | None = None,
    th_style: str = "text-align:left",
    td_style: str = "",
    caption_style: str = "",
    css_class: str = "",
) -> SafeHTML:
    """A key/value table: one ``<tr><th>key</th><td>value</td></tr>`` per row, all escaped.

    Parameters
    ----------
    rows : iterable of (key, value)
        Keys and values, escaped by :func:`esc` (a :class:`SafeHTML` value is kept as HTML).
    caption : object, optional
        Table caption (escaped).
    th_style, td_style, caption_style : str
        Inline CSS of the header cells, the value cells and the caption (constants written by
        the package, not escaped; empty for none).
    css_class : str
        ``class`` attribute of the table (escaped; empty for none).

    Returns
    -------
    SafeHTML
        The ``<table>`` element.
    """

    def attr(style: str) -> str:
        return f" style='{style}'" if style else ""

    th, td = attr(th_style), attr(td_style)
    body = "".join(f"<tr><th{th}>{esc(k)}</th><td{td}>{esc(v)}</td></tr>" for k, v in rows)
    cap = "" if caption is None else f"<caption{attr(caption_style)}>{esc(caption)}</caption>"
    cls = f' class="{esc(css_class)}"' if css_class else ""
    return SafeHTML(f"<table{cls}>{cap}{body}</table>")


def frame_html(obj: pd.DataFrame | pd.Series, **to_html_kwargs: Any) -> SafeHTML:
    """``DataFrame.to_html`` with escaping forced on (a Series is shown as one column).

    pandas then escapes the cell strings, the index and column labels and their names, and
    the output of ``formatters`` / ``float_format``.

    Parameters
    ----------
    obj : DataFrame or Series
        The table.
    **to_html_kwargs
        Passed to :meth:`pandas.DataFrame.to_html` (``float_format``, ``index``, ...).
        ``escape=False`` is refused.

    Returns
    -------
    SafeHTML
        The ``<table>`` element.

    Raises
    ------
    ValueError
        If ``escape=False`` is passed.
    """
    if not to_html_kwargs.pop("escape", True):
        raise ValueError("frame_html always escapes: escape=False is not allowed.")
    frame = obj.to_frame() if isinstance(obj, pd.Series) else obj
    return SafeHTML(frame.to_html(escape=True, **to_html_kwargs))


def summary_html(smry: Summary) -> SafeHTML:
    """``smry.as_html()`` with every title, cell and note HTML-escaped.

    statsmodels interpolates table contents into its HTML as they are, so a Series named
    ``"<script>...</script>"`` would otherwise be rendered (and run) by a notebook.

    Parameters
    ----------
    smry : statsmodels.iolib.summary.Summary
        The summary (not modified).

    Returns
    -------
    SafeHTML
        The summary's HTML.
    """
    out = copy.deepcopy(smry)
    for table in out.tables:
        if getattr(table, "title", None):
            table.title = esc(table.title)
        for row in table:
            for cell in row:
                if isinstance(cell.data, str):
                    cell.data = esc(cell.data)
    if out.extra_txt is not None:
        out.extra_txt = esc(out.extra_txt)
    return SafeHTML(out.as_html())
