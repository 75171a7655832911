"""``python -m riskmodels._compile`` (run by ``make``) reaches every numba kernel.

Each kernel's cache index (``__pycache__/<module>.<kernel>-<line>.py311.nbi``) must exist after
it ran: a kernel it missed would still be compiled by every process of a fresh clone's first
run. The kernels are read from the source (every ``@njit`` in the package), so a new kernel
that the warm-up does not reach fails here.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "riskmodels"


def _kernels() -> list[tuple[Path, str, int]]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        lines = path.read_text(encoding="utf-8").splitlines()
        for i, line in enumerate(lines):
            if line.startswith("@njit(") and "inline=" not in line:  # inlined ones live inside
                m = re.match(r"def (\w+)\(", lines[i + 1])
                assert m, f"{path}:{i + 2}: a def follows @njit"
                found.append((path, m.group(1), i + 1))  # numba names the decorator line
    return found


@pytest.mark.skipif(importlib.util.find_spec("numba") is None, reason="numba not installed")
def test_compile_reaches_every_kernel(tmp_path):
    # in a fresh process with an empty cache folder (NUMBA_CACHE_DIR), so that caches written
    # by other tests cannot hide a kernel the warm-up misses
    kernels = _kernels()
    assert len(kernels) == 5  # _fast_rows, _heap_rows, _full_nb, _composite_nb, _cdcc_diag_nb
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "riskmodels._compile"], env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "numba kernels cached (5 entry points" in done.stdout
    tag = f"py{sys.version_info.major}{sys.version_info.minor}"
    written = {p.name for p in tmp_path.rglob("*.nbi")}
    for path, name, line in kernels:
        index = f"{path.stem}.{name}-{line}.{tag}.nbi"
        assert index in written, f"{name} ({path.name}:{line}) was not compiled: {written}"
