"""Open a rendered report in headless Chromium: screenshot, script errors, typeset equations.

Reviewers read reports in a browser, so the tests do too. Debian's ``chromium`` is installed by
the project's ``make`` (as root, through apt-get); everything here runs without a network:
Chromium is started with background networking disabled and loads a ``file://`` URL.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from riskmodels.exceptions import ReportError

__all__ = ["BrowserCheck", "check_page", "find_chromium"]

_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
    "--disable-dev-shm-usage",
)
_UNCAUGHT = re.compile(r"CONSOLE[^\]]*\]\s*\"(Uncaught[^\"]*)\"")
_FIGURE = re.compile(r"<b>Figure (\d+)\.</b>")
_TABLE = re.compile(r"Table (\d+)\.")
_SHAPE_FOOTER = re.compile(r"\d+ rows × \d+ columns")
_EXPONENT = re.compile(r"(?<![\w.])[-+]?\d+(?:\.\d+)?[eE][-+]\d+\b")


def find_chromium() -> str | None:
    """Path of a Chromium binary (``chromium``, ``chromium-browser``), or None."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        p = shutil.which(name)
        if p:
            return p
    return None


@dataclass(frozen=True, kw_only=True)
class BrowserCheck:
    """What headless Chromium saw on a page.

    Attributes
    ----------
    script_errors : tuple of str
        Uncaught JavaScript errors reported on the console.
    mathjax_nodes : int
        Typeset equations (``mjx-container`` elements) in the final DOM.
    images : int
        ``<img>`` elements in the final DOM.
    screenshot : pathlib.Path
        The PNG screenshot.
    """

    script_errors: tuple[str, ...]
    mathjax_nodes: int
    images: int
    screenshot: Path
    dom: str = ""

    # -- what a reader sees (read from the final DOM) ---------------------------------------------
    @property
    def figure_captions(self) -> tuple[int, ...]:
        """Numbers of the "Figure n." captions, in page order."""
        return tuple(int(n) for n in _FIGURE.findall(self.dom))

    @property
    def table_captions(self) -> tuple[int, ...]:
        """Numbers of the "Table n." captions, in page order."""
        return tuple(int(n) for n in _TABLE.findall(self.dom))

    @property
    def truncated_tables(self) -> int:
        """Tables cut by pandas ("n rows × m columns" footers, ``...`` rows or columns)."""
        cut_cells = len(re.findall(r"<t[dh][^>]*>\s*(?:\.\.\.|…)\s*</t[dh]>", self.dom))
        return len(_SHAPE_FOOTER.findall(self.dom)) + cut_cells

    @property
    def exponent_cells(self) -> tuple[str, ...]:
        """Table cells showing raw exponent notation (``2e+04``, ``1.601e-10``)."""
        cells = re.findall(r"<td[^>]*>(.*?)</td>", self.dom, flags=re.S)
        return tuple(c.strip() for c in cells if _EXPONENT.search(re.sub(r"<[^>]+>", "", c)))

    def heading_order(self, *texts: str) -> list[int]:
        """Positions of the headings that start with ``texts`` (-1 when absent), to check what
        a reader meets first."""
        out = []
        for t in texts:
            m = re.search(rf"<h[1-4][^>]*>\s*{re.escape(t)}", self.dom)
            out.append(m.start() if m else -1)
        return out

    @property
    def ok(self) -> bool:
        """True when no script error was reported."""
        return not self.script_errors


def _run(args: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(args, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as exc:
        raise ReportError(f"headless Chromium did not finish within {timeout:.0f} s.") from exc


def check_page(
    html: str | Path,
    screenshot: str | Path,
    *,
    width: int = 1280,
    height: int = 2400,
    budget_ms: int = 8000,
    timeout: float = 120.0,
    chromium: str | None = None,
) -> BrowserCheck:
    """Load ``html`` in headless Chromium, take a screenshot and collect what went wrong.

    Parameters
    ----------
    html : str or Path
        The page (a file).
    screenshot : str or Path
        Where to write the PNG.
    width, height : int
        Window size in pixels.
    budget_ms : int
        Chromium's virtual time budget: how long scripts (MathJax) may run before capture.
    timeout : float
        Wall-clock limit per Chromium run, seconds.
    chromium : str, optional
        The binary; default :func:`find_chromium`.

    Returns
    -------
    BrowserCheck

    Raises
    ------
    ReportError
        If no Chromium is installed, the page is missing, or Chromium fails.
    """
    page = Path(html).resolve()
    if not page.is_file():
        raise ReportError(f"no page at {page} to open in the browser.")
    exe = chromium or find_chromium()
    if exe is None:
        raise ReportError(
            "headless Chromium is not installed: run `make` (it installs Debian's chromium as "
            "root) or `apt-get install chromium`."
        )
    shot = Path(screenshot).resolve()
    with tempfile.TemporaryDirectory(prefix="rm-chromium-") as profile:
        common = [exe, *_FLAGS, f"--user-data-dir={profile}", f"--virtual-time-budget={budget_ms}"]
        dom = _run(
            [*common, "--enable-logging=stderr", "--v=0", "--dump-dom", page.as_uri()], timeout
        )
        pic = _run(
            [*common, f"--window-size={width},{height}", f"--screenshot={shot}", page.as_uri()],
            timeout,
        )
    if dom.returncode != 0 or not dom.stdout:
        raise ReportError(f"Chromium could not load {page.name}: {dom.stderr[-500:]}")
    if pic.returncode != 0 or not shot.is_file():
        raise ReportError(f"Chromium could not screenshot {page.name}: {pic.stderr[-500:]}")
    return BrowserCheck(
        script_errors=tuple(_UNCAUGHT.findall(dom.stderr)),
        mathjax_nodes=dom.stdout.count("<mjx-container"),
        images=len(re.findall(r"<img\b", dom.stdout)),
        screenshot=shot,
        dom=dom.stdout,
    )
