"""Notebooks as text → executed notebooks → HTML.

The committed source of a notebook is a jupytext *percent* ``.py`` file (it diffs). A report
turns it into a notebook with the kernel ``python3`` (:func:`read_notebook`), executes it with
papermill, injecting parameters after the cell tagged ``parameters`` (:func:`execute_notebook`),
and renders the executed notebook to one self-contained HTML file without code cells, figures
inline as base64 PNG (:func:`render_html`).

The kernel
    ``python3`` is resolved from a kernelspec written for the run into a temporary folder, so it
    always runs the interpreter that builds the report (``sys.executable``), whatever other
    ``python3`` kernelspecs the user has. Its environment pins BLAS to one thread (estimates
    must not depend on the thread count; TOOLCHAIN.md) and selects the inline matplotlib
    backend (a forced ``Agg`` backend drops figures).

The page
    nbconvert's ``lab`` template without the CDN scripts it would load: require.js (needed only
    by widgets) and mermaid are left out, and MathJax (a CDN script) is included only when the
    notebook contains TeX, so a report without equations needs no network at all.
"""

from __future__ import annotations

import ast
import contextlib
import json
import os
import re
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from riskmodels.exceptions import ConfigError, ReportError

__all__ = [
    "KERNEL_ENV",
    "KERNEL_NAME",
    "declared_parameters",
    "execute_notebook",
    "local_mathjax",
    "read_notebook",
    "render_html",
    "section_heading",
]

#: Kernel name written into every notebook (TOOLCHAIN.md: ``--set-kernel python3``).
KERNEL_NAME = "python3"

#: Environment of the notebook kernel (added to the current environment).
KERNEL_ENV: dict[str, str] = {
    "OPENBLAS_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "MPLBACKEND": "module://matplotlib_inline.backend_inline",
    "PYTHONHASHSEED": "0",
    "PYDEVD_DISABLE_FILE_VALIDATION": "1",
}

_TEMPLATE_FILE = "riskmodels_report.html.j2"
_TEMPLATE = r"""
{%- extends 'index.html.j2' -%}
{%- block html_head_js_requirejs -%}{%- endblock html_head_js_requirejs -%}
{%- block html_head_js_mathjax -%}
{%- if resources.riskmodels.mathjax and resources.riskmodels.mathjax_js -%}
<!-- MathJax 3 (tex-svg-full), inlined: equations render without a network -->
<script>
window.MathJax = {
  tex: {inlineMath: [['$', '$'], ['\\(', '\\)']], displayMath: [['$$', '$$'], ['\\[', '\\]']],
        processEscapes: true, processEnvironments: true},
  svg: {fontCache: 'global'},
  options: {ignoreHtmlClass: 'tex2jax_ignore', processHtmlClass: 'tex2jax_process'}
};
</script>
<script>{{ resources.riskmodels.mathjax_js }}</script>
{%- elif resources.riskmodels.mathjax -%}
<!-- no local MathJax found (run `make` to fetch it): equations load MathJax from its CDN -->
{{ super() }}
{%- endif -%}
{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{% block extra_css %}
<style type="text/css">
  main { max-width: 1200px; margin: 0 auto; }
  .rm-provenance { margin: 3em 0 2em 0; padding: 1em 1.5em; border-top: 2px solid #888;
                   font-size: 0.9em; }
  .rm-provenance table.rm-prov { border-collapse: collapse; margin: 0.5em 0 1em 0; }
  .rm-provenance table.rm-prov th, .rm-provenance table.rm-prov td {
      text-align: left; padding: 2px 10px; border-bottom: 1px solid #ddd; vertical-align: top; }
  .rm-provenance pre { background: #f6f6f6; padding: 0.5em; font-size: 0.85em; }
  .rm-run-stamp { font-weight: bold; }
</style>
{% endblock extra_css %}
{% block body_footer %}
{{ resources.riskmodels.provenance_html }}
</main>
</body>
{% endblock body_footer %}
"""

_TEX = re.compile(r"(?<![\\$])\$[^$\n]+\$|\$\$|\\\(|\\\[|\\begin\{")


# -- reading ---------------------------------------------------------------------------------------
def read_notebook(path: str | os.PathLike[str]) -> Any:
    """Read a jupytext percent ``.py`` file (or an ``.ipynb``) as a notebook for execution.

    The kernelspec is set to ``python3`` and cell ids are made deterministic (``cell-0``,
    ``cell-1``, ...), so that rendered HTML does not change between runs.

    Parameters
    ----------
    path : path-like
        The notebook source.

    Returns
    -------
    nbformat.NotebookNode

    Raises
    ------
    ConfigError
        If the file does not exist.
    """
    import jupytext

    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"notebook {str(p)!r} not found. Reports run from a source checkout.")
    nb = jupytext.read(p)
    nb.metadata["kernelspec"] = {
        "name": KERNEL_NAME,
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
    }
    nb.metadata.setdefault("language_info", {"name": "python"})
    _stable_ids(nb)
    return nb


def _stable_ids(nb: Any) -> None:
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{i}"


def declared_parameters(nb: Any) -> dict[str, Any]:
    """Names (and literal default values, where literal) assigned in the ``parameters`` cell.

    Raises
    ------
    ConfigError
        If no cell is tagged ``parameters``, or it is not valid Python.
    """
    cells = [c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    if not cells:
        raise ConfigError(
            "the notebook has no cell tagged 'parameters': tag one in the .py source with "
            '`# %% tags=["parameters"]` so that papermill can inject the run parameters.'
        )
    src = "\n".join(
        line for line in cells[0].source.splitlines() if not line.lstrip().startswith("%")
    )
    try:
        tree = ast.parse(src)
    except SyntaxError as exc:
        raise ConfigError(f"the 'parameters' cell is not valid Python: {exc}") from exc
    out: dict[str, Any] = {}
    for node in tree.body:
        targets: list[ast.expr] = []
        value: ast.expr | None = None
        if isinstance(node, ast.Assign):
            targets, value = list(node.targets), node.value
        elif isinstance(node, ast.AnnAssign):
            targets, value = [node.target], node.value
        for t in targets:
            if isinstance(t, ast.Name):
                try:
                    out[t.id] = ast.literal_eval(value) if value is not None else None
                except ValueError:
                    out[t.id] = None
    return out


# -- execution ---------------------------------------------------------------------------------
@contextlib.contextmanager
def _kernel_manager_class(env: Mapping[str, str]) -> Iterator[type]:
    """A kernel manager whose only ``python3`` is this interpreter with ``env``."""
    import zmq
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import AsyncKernelManager
    from traitlets import default

    with tempfile.TemporaryDirectory(prefix="riskmodels-kernel-") as tmp:
        kdir = Path(tmp) / KERNEL_NAME
        kdir.mkdir()
        spec = {
            "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "Python 3 (riskmodels report)",
            "language": "python",
            "env": dict(env),
            "metadata": {"debugger": False, "supported_encryption": ["curve"]},
        }
        (kdir / "kernel.json").write_text(json.dumps(spec, indent=1), encoding="utf-8")

        class _ReportKernelManager(AsyncKernelManager):
            @default("kernel_spec_manager")
            def _kernel_spec_manager_default(self) -> KernelSpecManager:
                return KernelSpecManager(kernel_dirs=[tmp], ensure_native_kernel=False, parent=self)

            @default("transport_encryption")
            def _transport_encryption_default(self) -> str:
                return "auto" if zmq.has("curve") else "disabled"

        yield _ReportKernelManager


_SECTION = re.compile(r"^##[ \t]+(?P<title>\S.*?)[ \t#]*$", re.MULTILINE)


def section_heading(cell: Any) -> str | None:
    """The first level-2 markdown heading (``## Title``) of a cell, or None.

    Parameters
    ----------
    cell : nbformat.NotebookNode
        Any cell; only markdown cells have headings.

    Returns
    -------
    str or None
        The heading's text without the ``##`` (e.g. ``"Close-out tier tables"``).
    """
    if cell.get("cell_type") != "markdown":
        return None
    m = _SECTION.search(str(cell.get("source", "")))
    return m.group("title") if m else None


class _SectionProgress:
    """nbclient ``on_cell_start`` hook: one line per ``## `` section as execution reaches it.

    Each line reads ``<label>: [k/n] ## <heading> (<seconds since the first cell> s)``; the hook
    only reads cells, so the executed notebook (and the report rendered from it) is the same
    with and without it.
    """

    def __init__(self, nb: Any, label: str, echo: Callable[[str], None]) -> None:
        self.total = sum(section_heading(c) is not None for c in nb.cells)
        self.label = label
        self.echo = echo
        self.seen = 0
        self.t0: float | None = None

    def __call__(self, cell: Any, cell_index: int, **_: Any) -> None:
        if self.t0 is None:  # the first cell: the kernel has started
            self.t0 = time.perf_counter()
        heading = section_heading(cell)
        if heading is None:
            return
        self.seen += 1
        elapsed = time.perf_counter() - self.t0
        self.echo(f"{self.label}: [{self.seen}/{self.total}] ## {heading} ({elapsed:.1f} s)")


def execute_notebook(
    nb: Any,
    output_path: str | os.PathLike[str],
    parameters: Mapping[str, Any] | None = None,
    *,
    cwd: str | os.PathLike[str] | None = None,
    timeout: int | None = 600,
    env: Mapping[str, str] | None = None,
    source: str = "notebook",
    progress: Callable[[str], None] | None = None,
    progress_label: str | None = None,
) -> Any:
    """Execute a notebook with papermill and save it.

    Parameters
    ----------
    nb : nbformat.NotebookNode
        From :func:`read_notebook`.
    output_path : path-like
        Where the executed ``.ipynb`` is written (also when a cell fails).
    parameters : mapping, optional
        Values injected after the ``parameters`` cell; each name must be declared there.
    cwd : path-like, optional
        Working directory of the kernel.
    timeout : int or None
        Seconds one cell may run.
    env : mapping, optional
        Kernel environment added to the current one; default :data:`KERNEL_ENV`.
    source : str
        Name of the notebook for messages.
    progress : callable, optional
        Receives one line per level-2 markdown heading (``## ...``) as execution reaches it,
        e.g. ``"calibration: [3/14] ## Close-out tier tables (12.4 s)"``: the section's number,
        the number of sections and the seconds since the first cell started. Default:
        no progress. The executed notebook does not depend on it.
    progress_label : str, optional
        The prefix of the progress lines (default ``source``).

    Returns
    -------
    nbformat.NotebookNode
        The executed notebook (deterministic cell ids).

    Raises
    ------
    ConfigError
        If a parameter is not declared in the notebook's ``parameters`` cell.
    ReportError
        If a cell raises or the kernel dies; the message names the cell and the error.
    """
    import nbformat
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    params = dict(parameters or {})
    declared = declared_parameters(nb)
    unknown = sorted(set(params) - set(declared))
    if unknown:
        raise ConfigError(
            f"{source}: parameters {unknown} are not declared in its 'parameters' cell "
            f"(it declares {sorted(declared)}). Add them there with a default value."
        )
    out = Path(output_path)
    kernel_env = dict(KERNEL_ENV if env is None else env)
    hooks: dict[str, Any] = {}
    if progress is not None:  # an nbclient NotebookClient trait, passed on by papermill
        hooks["on_cell_start"] = _SectionProgress(nb, progress_label or source, progress)
    try:
        with _kernel_manager_class(kernel_env) as km_class:
            executed = pm.execute_notebook(
                nb,
                str(out),
                parameters=params,
                kernel_name=KERNEL_NAME,
                language="python",
                progress_bar=False,
                log_output=False,
                request_save_on_cell_execute=False,
                cwd=str(cwd) if cwd is not None else None,
                execution_timeout=timeout,
                kernel_manager_class=km_class,
                shutdown_kernel="immediate",
                **hooks,
            )
    except PapermillExecutionError as exc:
        raise ReportError(
            f"{source}: cell {exc.exec_count} raised {exc.ename}: {_first_line(exc.evalue)}. "
            f"The executed notebook with the traceback is at {out}."
        ) from exc
    except Exception as exc:  # kernel died, timeout, ...
        raise ReportError(
            f"{source}: execution failed ({type(exc).__name__}: {_first_line(str(exc))}). "
            f"Partial output (if any) is at {out}."
        ) from exc
    _stable_ids(executed)
    nbformat.write(executed, str(out))
    return executed


def _first_line(s: str, limit: int = 300) -> str:
    line = str(s).strip().splitlines()[0] if str(s).strip() else ""
    return line if len(line) <= limit else line[: limit - 3] + "..."


# -- rendering ---------------------------------------------------------------------------------
def needs_mathjax(nb: Any) -> bool:
    """Whether markdown cells or outputs contain TeX (``$...$``, ``\\(``, ``\\begin{...}``)."""
    for cell in nb.cells:
        if cell.cell_type == "markdown" and _TEX.search(cell.source):
            return True
        for o in cell.get("outputs", []):
            if "text/latex" in o.get("data", {}):
                return True
    return False


#: MathJax 3 single-file bundle fetched by ``make`` (npm registry) into ``build/mathjax``.
MATHJAX_VERSION = "3.2.2"
_MATHJAX_REL = Path("build/mathjax/node_modules/mathjax/es5/tex-svg-full.js")


def local_mathjax() -> Path | None:
    """The local MathJax 3 ``tex-svg-full.js``: ``$RISKMODELS_MATHJAX``, else the copy that
    ``make`` installs under ``build/mathjax`` in the repository; None when neither exists."""
    env = os.environ.get("RISKMODELS_MATHJAX")
    if env:
        p = Path(env).expanduser()
        return p if p.is_file() else None
    p = Path(__file__).resolve().parents[2] / _MATHJAX_REL
    return p if p.is_file() else None


def _mathjax_js() -> str | None:
    p = local_mathjax()
    if p is None:
        return None
    # Safe to inline: the bundle holds no "</script"; guard anyway so a future one cannot
    # close the tag early.
    return p.read_text(encoding="utf-8").replace("</script", "<\\/script")


#: Cells with this tag are rendered right after the title (the executive summary).
SUMMARY_TAG = "summary"


def lead_with_summary(nb: Any) -> Any:
    """Move the cells tagged ``summary`` to just after the first markdown cell, in place.

    A report computes its answer where the evidence is (a verdict needs the backtests), yet a
    reader wants it first: the summary cells run in their place and are *shown* first. Their
    order among themselves is kept; a notebook without such cells is unchanged.

    Returns
    -------
    nbformat.NotebookNode
        ``nb`` itself.
    """
    tagged = [c for c in nb.cells if SUMMARY_TAG in c.get("metadata", {}).get("tags", [])]
    if not tagged:
        return nb
    rest = [c for c in nb.cells if SUMMARY_TAG not in c.get("metadata", {}).get("tags", [])]
    first_md = next((i for i, c in enumerate(rest) if c.cell_type == "markdown"), -1)
    nb.cells = rest[: first_md + 1] + tagged + rest[first_md + 1 :]
    return nb


def render_html(
    nb: Any,
    *,
    title: str,
    provenance_html: str = "",
    mathjax: bool | None = None,
) -> str:
    """Render an executed notebook as one self-contained HTML page without code.

    Parameters
    ----------
    nb : nbformat.NotebookNode
        An executed notebook.
    title : str
        The page ``<title>``.
    provenance_html : str
        An HTML fragment appended at the end of the page (the provenance section).
    mathjax : bool, optional
        Typeset TeX with MathJax. Default: only when the notebook contains TeX. The local
        MathJax 3 bundle (:func:`local_mathjax`) is inlined so the page renders offline; without
        one the page loads MathJax from its CDN and says so in a comment.

    Returns
    -------
    str
        The page. Figures are ``<img src="data:image/png;base64,...">``; no input cells, no
        prompts; cells tagged ``summary`` come first (:func:`lead_with_summary`).
    """
    import copy

    from jinja2 import DictLoader
    from nbconvert import HTMLExporter

    nb = copy.deepcopy(nb)
    lead_with_summary(nb)
    nb.metadata["title"] = title
    use_mathjax = needs_mathjax(nb) if mathjax is None else bool(mathjax)
    exporter = HTMLExporter(
        template_name="lab",
        template_file=_TEMPLATE_FILE,
        extra_loaders=[DictLoader({_TEMPLATE_FILE: _TEMPLATE})],
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        embed_images=True,
    )
    resources = {
        "riskmodels": {
            "provenance_html": provenance_html,
            "mathjax": use_mathjax,
            "mathjax_js": _mathjax_js() if use_mathjax else None,
        },
        "metadata": {"name": title},
    }
    try:
        body, _ = exporter.from_notebook_node(nb, resources=resources)
    except Exception as exc:
        raise ReportError(
            f"rendering {title!r} to HTML failed: {type(exc).__name__}: {exc}"
        ) from exc
    return body
