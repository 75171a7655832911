"""Helpers for the HTML shown by ``_repr_html_`` (Jupyter) and the reports: every string escaped.

Every ``_repr_html_`` and HTML template of the package builds its markup from these helpers, so
that a data string (a Series named ``"<script>...</script>"``, a column ``"<b>x</b>"``, a venue
name read from a file) is shown as text and never run or rendered by a notebook or a browser:

- :func:`esc` escapes one value (``&``, ``<``, ``>``, ``"`` and ``'``);
- :class:`SafeHTML` marks a fragment that is already HTML (built from :func:`esc`), which
  :func:`esc` and :func:`html_table` then pass through instead of escaping it twice;
- :func:`html_table` renders key/value header tables;
- :func:`frame_html` renders a DataFrame or Series with pandas' escaping switched on;
- :func:`summary_html` renders a statsmodels ``Summary``;
- :class:`SummaryDisplay` is the mixin that shows a result in a notebook through its
  ``summary()`` (a ``Summary`` or a ``DataFrame``, the package's two summary types).

It is also the one formatting layer for numbers shown to people (``_repr_html_``, report tables,
notebooks): :func:`fmt_pct` (``1.23%``), :func:`fmt_usd` (``20,000``), :func:`fmt_pvalue`
(``<0.001``), :func:`fmt_duration` (``1 min``, ``4 h``, ``1 d``), :func:`fmt_date` (no zero
time), :func:`fmt_number` (no exponent notation in the usual range), and :func:`format_table` /
:func:`table_html`, a pandas ``Styler`` applying them per column (RangeIndex hidden, all text
escaped); :func:`format_rows` formats a table whose rows carry the units.
"""

from __future__ import annotations

import copy
import hashlib
import html
import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any, ClassVar

import pandas as pd
from statsmodels.iolib.summary import Summary

__all__ = [
    "MISSING",
    "SafeHTML",
    "SummaryDisplay",
    "esc",
    "fmt_date",
    "fmt_duration",
    "fmt_number",
    "fmt_pct",
    "fmt_pvalue",
    "fmt_usd",
    "format_rows",
    "format_table",
    "frame_html",
    "html_table",
    "styler_html",
    "summary_html",
    "table_html",
    "text_summary",
]


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


def text_summary(
    title: str,
    lines: Iterable[str] = (),
    tables: Iterable[tuple[str, pd.DataFrame]] = (),
    notes: Iterable[str] = (),
) -> Summary:
    """A statsmodels ``Summary`` from header lines and tables: the one ``summary()`` type of the
    package's fitted models and backtests (text, HTML and LaTeX, as arch and statsmodels give).

    Parameters
    ----------
    title : str
        Title of the first table.
    lines : iterable of str
        Header lines (one row each).
    tables : iterable of (caption, DataFrame)
        Further tables; numbers are shown with :func:`fmt_number` (p-value columns, named
        ``*_p`` or ``pvalue``, with :func:`fmt_pvalue`).
    notes : iterable of str
        Lines printed under the tables.
    """
    from statsmodels.iolib.table import SimpleTable

    smry = Summary()
    head = [str(x) for x in lines] or [""]
    smry.tables.append(SimpleTable([[x] for x in head], title=title, txt_fmt={"data_aligns": "l"}))
    for caption, frame in tables:
        cols = [str(c) for c in frame.columns]
        pcol = [c.endswith("_p") or c == "pvalue" for c in cols]
        data = [
            [
                fmt_pvalue(v) if is_p else (fmt_number(v) if isinstance(v, float) else str(v))
                for v, is_p in zip(row, pcol, strict=True)
            ]
            for row in frame.itertuples(index=False)
        ]
        stubs = [" ".join(map(str, i)) if isinstance(i, tuple) else str(i) for i in frame.index]
        smry.tables.append(SimpleTable(data, headers=cols, stubs=stubs, title=caption))
    extra = [str(x) for x in notes]
    if extra:
        smry.add_extra_txt(extra)
    return smry


class SummaryDisplay:
    """Mixin: a result's notebook display is its ``summary()``, the one display path.

    A fitted model or backtest whose ``summary()`` is a statsmodels ``Summary`` shows it with
    :func:`summary_html`; a tabular result whose ``summary()`` is a ``DataFrame`` shows it with
    :func:`table_html` and the column kinds of :meth:`_summary_kinds`. :meth:`_display_head`
    puts an (escaped) headline above it. Subclasses define ``summary()`` and override the two
    hooks; they write no ``_repr_html_`` of their own.
    """

    #: Column kinds of a ``DataFrame`` summary (see :func:`format_table`).
    summary_kinds: ClassVar[Mapping[str, str]] = {}

    def summary(self) -> Summary | pd.DataFrame:  # pragma: no cover - every user defines it
        raise NotImplementedError

    def _summary_kinds(self, summary: pd.DataFrame) -> Mapping[str, str]:
        """Column kinds of this summary (default: :attr:`summary_kinds`)."""
        return self.summary_kinds

    def _display_head(self) -> str:
        """HTML above the summary, every data string escaped (default: none)."""
        return ""

    def _repr_html_(self) -> str:
        smry = self.summary()
        if isinstance(smry, pd.DataFrame):
            body = table_html(smry, dict(self._summary_kinds(smry)))
        else:
            body = summary_html(smry)
        return SafeHTML(self._display_head() + body)


# -- numbers for people -----------------------------------------------------------------------
#: Shown for a missing value (NaN, None, NaT) in every formatted table.
MISSING = "—"


def _missing(x: Any) -> bool:
    try:
        return x is None or bool(pd.isna(x))
    except (TypeError, ValueError):
        return False


def fmt_pct(x: Any, decimals: int = 2) -> str:
    """A fraction as a percentage with stated precision: ``0.0123`` → ``"1.23%"``."""
    if _missing(x):
        return MISSING
    v = float(x)
    if v in (float("inf"), float("-inf")):
        return "∞" if v > 0 else "−∞"
    return f"{v:.{decimals}%}"


def fmt_usd(x: Any, decimals: int = 0) -> str:
    """Money with thousands separators: ``20000`` → ``"20,000"`` (``decimals`` after the point)."""
    if _missing(x):
        return MISSING
    v = float(x)
    if v in (float("inf"), float("-inf")):
        return "∞" if v > 0 else "−∞"
    out = f"{v:,.{decimals}f}"
    return "0" if out in ("-0", "-0.00", "-0.0") else out


def fmt_pvalue(p: Any) -> str:
    """A p-value: ``"<0.001"`` below one in a thousand, else three decimals."""
    if _missing(p):
        return MISSING
    v = float(p)
    return "<0.001" if v < 0.001 else f"{v:.3f}"


def fmt_number(x: Any, sig: int = 4) -> str:
    """A plain number with ``sig`` significant digits and no exponent for |x| in [1e-10, 1e12).

    ``1.6e-10`` → ``"0.0000000001600"``, ``2e4`` → ``"20,000"``; only magnitudes outside that
    range (and infinities, ``"∞"``) are written otherwise, in exponent notation.
    """
    if _missing(x):
        return MISSING
    v = float(x)
    if v == 0:
        return "0"
    if math.isinf(v):
        return "∞" if v > 0 else "−∞"
    if 1e-10 <= abs(v) < 1e12:
        digits = max(sig - 1 - math.floor(math.log10(abs(v))), 0)
        out = f"{v:,.{digits}f}"
        if digits and abs(float(out.replace(",", ""))) >= 10 ** (sig - digits):
            out = f"{v:,.{digits - 1}f}"  # rounded up a decade (9.9996 → 10.00, not 10.000)
        return out
    return f"{v:.{sig - 1}e}"


def fmt_duration(td: Any) -> str:
    """A duration for people: ``"1 min"``, ``"4 h"``, ``"1 d"``, ``"30 s"``."""
    if _missing(td):
        return MISSING
    from riskmodels._time import duration_label

    label = duration_label(pd.Timedelta(td))
    num = label.rstrip("abcdefghijklmnopqrstuvwxyz")
    return f"{num} {label[len(num) :]}"


def fmt_date(ts: Any) -> str:
    """A timestamp without a zero time: ``"2024-01-31"``, else ``"2024-01-31 08:00"`` (UTC)."""
    if _missing(ts):
        return MISSING
    t = pd.Timestamp(ts)
    if t.tzinfo is not None:
        t = t.tz_convert("UTC")
    if t == t.normalize():
        return t.strftime("%Y-%m-%d")
    return t.strftime("%Y-%m-%d %H:%M:%S" if t.second else "%Y-%m-%d %H:%M")


_FORMATTERS: dict[str, Callable[[Any], str]] = {
    "pct": fmt_pct,
    "usd": fmt_usd,
    "pvalue": fmt_pvalue,
    "number": fmt_number,
    "duration": fmt_duration,
    "date": fmt_date,
    "count": lambda x: MISSING if _missing(x) else f"{int(x):,}",
}


def format_table(
    frame: pd.DataFrame | pd.Series,
    kinds: dict[str, str] | None = None,
    *,
    caption: str | None = None,
    default: str = "number",
) -> Any:
    """A pandas ``Styler`` of ``frame`` with each column formatted for people.

    Parameters
    ----------
    frame : DataFrame or Series
    kinds : mapping of column to kind, optional
        ``"pct"``, ``"usd"``, ``"pvalue"``, ``"number"``, ``"duration"``, ``"date"`` or
        ``"count"`` (:func:`fmt_pct` ...); other float columns get ``default``; strings are
        shown as they are (escaped).
    caption : str, optional
        Table caption (escaped).
    default : str, default "number"
        Kind of the float columns not in ``kinds``.

    Returns
    -------
    pandas.io.formats.style.Styler
        Escaped (``escape="html"``); a RangeIndex is hidden, a DatetimeIndex shown as dates;
        the element ids derive from the table's shape and labels, so the HTML is deterministic.

    Raises
    ------
    ValueError
        An unknown kind.
    """
    df = frame.to_frame() if isinstance(frame, pd.Series) else frame
    kinds = dict(kinds or {})
    bad = sorted({k for k in [*kinds.values(), default] if k not in _FORMATTERS})
    if bad:
        raise ValueError(f"unknown formats {bad}; use one of {sorted(_FORMATTERS)}.")
    fmts: dict[Any, Any] = {}
    for col in df.columns:
        kind = kinds.get(col)
        if kind is None and pd.api.types.is_float_dtype(df[col]):
            kind = default
        elif kind is None and pd.api.types.is_timedelta64_dtype(df[col]):
            kind = "duration"
        elif kind is None and pd.api.types.is_datetime64_any_dtype(df[col]):
            kind = "date"
        if kind is not None:  # a callable's output is not escaped by the Styler: escape it
            fmts[col] = lambda x, f=_FORMATTERS[kind]: esc(f(x))
    # a uuid from the table's shape and labels: the same table renders to the same HTML
    key = repr((df.shape, list(map(str, df.columns)), caption)).encode()
    from pandas.io.formats.style import Styler  # needs jinja2: imported when a table is shown

    # no id on every cell (only on the cells a caller styles): shorter HTML for _repr_html_
    sty = Styler(df, cell_ids=False).set_uuid(hashlib.sha1(key).hexdigest()[:8])
    sty = sty.format(fmts, escape="html", na_rep=MISSING)
    if isinstance(df.index, pd.RangeIndex):
        sty = sty.hide(axis="index")
    elif isinstance(df.index, pd.DatetimeIndex):
        sty = sty.format_index(lambda t: esc(fmt_date(t)), axis=0)
    else:
        sty = sty.format_index(escape="html", axis=0)
    sty = sty.format_index(escape="html", axis=1)
    if caption is not None:
        sty = sty.set_caption(esc(caption))
    return sty


def format_rows(
    frame: pd.DataFrame | pd.Series,
    kinds: dict[Any, str] | None = None,
    *,
    default: str = "number",
) -> pd.DataFrame:
    """``frame`` with each row formatted for people: a table whose rows, not columns, have units.

    A summary with one row per figure (a probability, an amount, a count) cannot be formatted
    by column; this formats each row by its kind and returns the text, which
    :func:`format_table` / :func:`table_html` then show as they are (escaped).

    Parameters
    ----------
    frame : DataFrame or Series
        A Series is one column (named by the Series, else ``"value"``).
    kinds : mapping of row label to kind, optional
        As in :func:`format_table`; other numeric rows get ``default``.
    default : str, default "number"
        Kind of the numeric rows not in ``kinds``.

    Returns
    -------
    DataFrame
        Same labels as ``frame``, every cell a ``str`` (:data:`MISSING` for a missing value).

    Raises
    ------
    ValueError
        An unknown kind.
    """
    if isinstance(frame, pd.Series):
        frame = frame.to_frame("value" if frame.name is None else frame.name)
    kinds = dict(kinds or {})
    bad = sorted({k for k in [*kinds.values(), default] if k not in _FORMATTERS})
    if bad:
        raise ValueError(f"unknown formats {bad}; use one of {sorted(_FORMATTERS)}.")

    def one(x: Any, kind: str) -> str:
        if isinstance(x, str):
            return x
        if isinstance(x, bool) or _missing(x):
            return MISSING if _missing(x) else str(x)
        try:
            return _FORMATTERS[kind](x)
        except (TypeError, ValueError):
            return str(x)

    rows = [[one(x, kinds.get(label, default)) for x in row] for label, row in frame.iterrows()]
    return pd.DataFrame(rows, index=frame.index, columns=frame.columns, dtype=object)


def table_html(
    frame: pd.DataFrame | pd.Series, kinds: dict[str, str] | None = None, **options: Any
) -> SafeHTML:
    """:func:`format_table` rendered to an HTML ``<table>`` (for ``_repr_html_``)."""
    return SafeHTML(format_table(frame, kinds, **options).to_html())


def styler_html(styler: Any) -> SafeHTML:
    """A pandas ``Styler`` rendered with every row and cell (pandas' display limits lifted).

    The styler must escape its cells (``format_table``'s do); this only renders it.
    """
    with pd.option_context("styler.render.max_rows", None, "styler.render.max_elements", 2**31 - 1):
        return SafeHTML(styler.to_html())
