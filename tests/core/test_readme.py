"""Every Python block of README.md runs as written.

How the blocks run
    Each ```` ```python ```` block is **self-contained** (one namespace per block, as a reader
    pastes it): it is written to its own script file and run with this interpreter in a fresh
    process, with the working directory at the repository root, as ``python block.py`` (so a
    block that starts worker processes needs its ``if __name__ == "__main__":`` guard, as a
    reader's script would). A block fails the test when the script exits non-zero; its stderr
    tail is in the message. ```` ```bash ```` and ```` ```toml ```` blocks are not run.

Slow blocks
    A block preceded by the line ``<!-- readme-test: slow -->`` (invisible in the rendered
    README) runs under ``@pytest.mark.slow``; the others must stay fast. Every block reads the
    data mirror: without one the tests skip (``mirror_path``), but the blocks are still
    compiled.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
README = REPO / "README.md"
SLOW_MARK = "<!-- readme-test: slow -->"
#: Seconds one block may run (the slow ones take about 30 s on 2 cores).
TIMEOUT = {False: 120, True: 600}

_FENCE = re.compile(r"^```(?P<lang>[\w+-]*)[ \t]*\n(?P<body>.*?)^```[ \t]*$", re.M | re.S)


def readme_blocks() -> list[tuple[int, str, bool]]:
    """``(line, source, slow)`` of every ```` ```python ```` block of the README, in order."""
    text = README.read_text(encoding="utf-8")
    out = []
    for m in _FENCE.finditer(text):
        if m.group("lang") != "python":
            continue
        before = text[: m.start()].rstrip("\n").rsplit("\n", 1)[-1]
        line = text.count("\n", 0, m.start()) + 1
        out.append((line, m.group("body"), before.strip() == SLOW_MARK))
    return out


BLOCKS = readme_blocks()


def _param(line: int, src: str, slow: bool) -> object:
    marks = [pytest.mark.mirror] + ([pytest.mark.slow] if slow else [])
    return pytest.param(line, src, slow, marks=marks, id=f"README.md:{line}")


def test_readme_has_python_blocks_that_compile() -> None:
    assert len(BLOCKS) >= 4
    for line, src, _ in BLOCKS:
        compile(src, f"README.md:{line}", "exec")  # a SyntaxError names the block
    # shell commands are marked as such, not as Python
    text = README.read_text(encoding="utf-8")
    for m in _FENCE.finditer(text):
        if m.group("lang") in ("", "sh", "shell", "console"):
            pytest.fail(f"README.md:{text.count(chr(10), 0, m.start()) + 1}: fence it as bash")


def test_blocks_that_start_workers_guard_main() -> None:
    # dask's Nanny (and any spawned worker) re-imports the script: without the guard it fails
    for line, src, _ in BLOCKS:
        if re.search(r"backend\s*=\s*\"(dask|loky)\"", src):
            assert 'if __name__ == "__main__":' in src, f"README.md:{line}"


@pytest.mark.parametrize(("line", "src", "slow"), [_param(*b) for b in BLOCKS])
def test_readme_block_runs(line: int, src: str, slow: bool, tmp_path: Path, mirror_path) -> None:
    script = tmp_path / f"readme_{line}.py"
    script.write_text(src, encoding="utf-8")
    env = {**os.environ, "RISKMODELS_MIRROR": str(mirror_path), "MPLBACKEND": "Agg"}
    try:
        done = subprocess.run(
            [sys.executable, str(script)],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=TIMEOUT[slow],
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"README.md:{line} ran longer than {TIMEOUT[slow]} s")
    assert done.returncode == 0, f"README.md:{line} failed:\n{done.stderr[-3000:]}"
