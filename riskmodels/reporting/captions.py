"""Numbered figures and tables for report notebooks, with long tables kept whole.

A report reads like a document: "Figure 3." and "Table 2." with a caption under each, numbered
in the order the reader meets them, and no table cut with ``...``. :class:`Captions` does the
numbering and the display; a table longer than ``long_rows`` is shown whole in the page *and*
written as a CSV next to the report's HTML (``<output_dir>/tables/<name>.csv``), linked from
its caption, so a reviewer can take it into a spreadsheet.

Usage in a notebook (after the parameters cell)::

    cap = Captions(output_dir=output_dir)
    cap.figure(result.plot().figure, "Conditional volatility of BTC (GJR-GARCH, Student t).")
    cap.table(frame, "Breach rates per tier.", kinds={"rate": "pct"})

Numbers depend only on call order, and CSV files only on the frames, so rebuilt reports stay
byte-identical.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from riskmodels._display import SafeHTML, esc, format_table, styler_html
from riskmodels._io import atomic_write_text
from riskmodels.exceptions import ConfigError

__all__ = ["Captions"]

_SLUG = re.compile(r"[^a-z0-9]+")


def _slug(text: str) -> str:
    return _SLUG.sub("-", text.lower()).strip("-")[:60] or "table"


class Captions:
    """Number a notebook's figures and tables and show them with their captions.

    Parameters
    ----------
    output_dir : str or Path, optional
        The report's output folder (the notebooks' ``output_dir`` parameter). Long tables are
        written under ``tables/`` there; without it they are shown whole but not written.
    long_rows : int, default 25
        A table with more rows than this is "long": shown whole, and written as CSV.
    start_table : int, default 1
        Number of the first table (a report whose executive summary carries a hand-numbered
        "Table 1" starts at 2).

    Attributes
    ----------
    n_figures, n_tables : int
        How many were shown so far.
    csv_files : list of Path
        The CSV files written so far.
    """

    def __init__(
        self,
        *,
        output_dir: str | Path | None = None,
        long_rows: int = 25,
        start_table: int = 1,
    ) -> None:
        if long_rows < 1:
            raise ConfigError(f"long_rows={long_rows!r} must be at least 1.")
        self.output_dir = None if output_dir is None else Path(output_dir)
        self.long_rows = int(long_rows)
        self.n_figures = 0
        self.n_tables = start_table - 1
        self.csv_files: list[Path] = []
        self._names: set[str] = set()

    # -- figures ---------------------------------------------------------------------------------
    def figure_caption(self, caption: str) -> SafeHTML:
        """Take the next figure number and return its caption as HTML (escaped)."""
        self.n_figures += 1
        return SafeHTML(f'<p class="rm-caption"><b>Figure {self.n_figures}.</b> {esc(caption)}</p>')

    def figure(self, fig: Any, caption: str) -> None:
        """Show ``fig`` (a Figure, or an Axes / array of Axes of one) and its numbered caption.

        The figure is closed afterwards so ``%matplotlib inline`` does not show it twice.
        """
        import matplotlib.pyplot as plt
        from IPython.display import HTML, display

        fig = _as_figure(fig)
        display(fig)
        plt.close(fig)
        display(HTML(self.figure_caption(caption)))

    # -- tables ----------------------------------------------------------------------------------
    def table(
        self,
        frame: pd.DataFrame | pd.Series,
        caption: str,
        *,
        kinds: dict[str, str] | None = None,
        default: str = "number",
        name: str | None = None,
        styler: Any | None = None,
    ) -> Any:
        """A formatted, numbered table (a pandas ``Styler``; the notebook displays it).

        Parameters
        ----------
        frame : DataFrame or Series
            The data (shown whole: never truncated).
        caption : str
            Caption text after "Table n." (escaped).
        kinds, default
            Column formats, as in :func:`riskmodels._display.format_table`.
        name : str, optional
            File name stem of the CSV for a long table (default: from the caption).
        styler : Styler, optional
            A Styler of ``frame`` prepared by the caller (conditional colours); its caption is
            replaced by the numbered one.
        """
        self.n_tables += 1
        text = f"Table {self.n_tables}. {caption}"
        df = frame.to_frame() if isinstance(frame, pd.Series) else frame
        if len(df) > self.long_rows and self.output_dir is not None:
            path = self._write_csv(df, name or f"table-{self.n_tables}-{_slug(caption)}")
            text += f" ({len(df)} rows, shown whole; also as CSV: tables/{path.name})"
        sty = styler if styler is not None else format_table(df, kinds, default=default)
        sty = sty.set_caption(esc(text)).set_uuid(f"rm_table_{self.n_tables}")
        # every row, whatever the pandas display options say
        sty.set_table_attributes('class="rm-table"')
        return _AllRows(sty)

    def _write_csv(self, df: pd.DataFrame, stem: str) -> Path:
        stem = _slug(stem)
        if stem in self._names:
            raise ConfigError(f"two tables would both be written as {stem}.csv: pass name=.")
        self._names.add(stem)
        assert self.output_dir is not None
        path = self.output_dir / "tables" / f"{stem}.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, df.to_csv(lineterminator="\n"))
        self.csv_files.append(path)
        return path


class _AllRows:
    """Displays a Styler with every row (``styler.render.max_rows`` lifted for this render)."""

    def __init__(self, styler: Any) -> None:
        self.styler = styler

    def _repr_html_(self) -> str:
        return styler_html(self.styler)

    def to_html(self) -> str:
        """The table's HTML (every row)."""
        return self._repr_html_()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.styler, name)


def _as_figure(obj: Any) -> Any:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    if isinstance(obj, Figure):
        return obj
    if isinstance(obj, Axes):
        return obj.figure
    if hasattr(obj, "figure") and isinstance(obj.figure, Figure):
        return obj.figure
    if isinstance(obj, list | tuple | np.ndarray) and len(obj):  # Axes from subplots=True
        first = np.asarray(obj, dtype=object).flat[0]
        if isinstance(first, Axes):
            return first.figure
    raise ConfigError(
        f"cannot show {type(obj).__name__} as a figure: pass a matplotlib Figure or Axes."
    )
