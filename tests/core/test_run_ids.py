"""Report run folders (issue 16): unique run ids for concurrent runs, removal of staging folders
left by killed runs, and failure messages that point to files that exist."""

from __future__ import annotations

import datetime as dt
import os
import re
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import nbformat
import pytest

from riskmodels.config import load_config
from riskmodels.exceptions import ReportError
from riskmodels.reporting import ReportSpec, build_report, staging_dir
from riskmodels.reporting import io as rio
from riskmodels.reporting import notebooks as nbx
from riskmodels.reporting.build import claim_run

REPO = Path(__file__).resolve().parents[2]
QUICK = REPO / "configs" / "quick.toml"
T0 = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)


def write_notebook(folder: Path, name: str, body: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    p = folder / name
    p.write_text(
        "# %% [markdown]\n# # Demo report\n\n"
        '# %% tags=["parameters"]\noutput_dir = None\nvalue = 1\nseed = 0\n\n' + body,
        encoding="utf-8",
    )
    return p


def run_threads(n: int, fn) -> tuple[list, list[BaseException]]:
    barrier = threading.Barrier(n)
    results: list = [None] * n
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            barrier.wait()
            results[i] = fn(i)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results, errors


def owner_of(staging: Path) -> str:
    return (staging / rio.OWNER_FILE).read_text(encoding="utf-8")


# -- unique run ids -----------------------------------------------------------------------------
def test_concurrent_claims_get_distinct_folders(tmp_path):
    n = 12

    def claim_and_finish(i: int) -> Path:
        name, staging = rio.claim_staging(tmp_path, "20260102T030405Z-abcd1234")
        assert staging.is_dir() and owner_of(staging).split()[1] == str(os.getpid())
        with staging_dir(tmp_path / name, staging=staging) as tmp:
            (tmp / "index.html").write_text(str(i))
        return tmp_path / name

    done, errors = run_threads(n, claim_and_finish)
    assert errors == []
    names = sorted(p.name for p in done)
    base = "20260102T030405Z-abcd1234"
    assert names == sorted([base] + [f"{base}-{k}" for k in range(2, n + 1)])
    assert sorted(p.name for p in tmp_path.iterdir()) == names  # no staging folder left
    assert sorted((p / "index.html").read_text() for p in done) == sorted(map(str, range(n)))
    assert all(sorted(x.name for x in p.iterdir()) == ["index.html"] for p in done)  # no .owner


def test_claim_skips_finished_and_held_names(tmp_path):
    cfg = load_config(QUICK)
    base = f"20260102T030405Z-{cfg.digest()[:8]}"
    (tmp_path / base).mkdir()  # finished
    (tmp_path / f"{rio.STAGING_PREFIX}{base}-2").mkdir()  # being built by someone else
    run_id, staging = claim_run(tmp_path, T0, cfg)
    assert run_id == f"{base}-3"
    assert staging == tmp_path / f"{rio.STAGING_PREFIX}{base}-3"


def test_two_builds_started_together_both_finish(tmp_path, monkeypatch):
    """Two builds of the same config in the same second (``now=T0``), both inside their
    notebook at once: before the fix they picked the same run id and one died with
    ``OSError: [Errno 39] Directory not empty``."""
    write_notebook(tmp_path / "repo" / "notebooks", "ok.py", "# %%\nprint('value is', value)\n")
    spec = ReportSpec("demo", "Demo", "notebooks/ok.py", "works")
    cfg = load_config(QUICK)
    inside = threading.Barrier(2)

    def fake_execute(nb, out, params, **_kw):
        inside.wait(timeout=60)  # both runs are staged before either finishes
        nbformat.write(nb, str(out))
        return nb

    monkeypatch.setattr(nbx, "execute_notebook", fake_execute)
    out = tmp_path / "reports"
    built, errors = run_threads(
        2, lambda i: build_report(spec, cfg, out, root=tmp_path / "repo", now=T0)
    )
    assert errors == []
    base = f"20260102T030405Z-{cfg.digest()[:8]}"
    assert sorted(p.parent.name for p in built) == [base, f"{base}-2"]
    assert all(p.is_file() for p in built)
    assert sorted(p.name for p in (out / "demo").iterdir()) == [base, f"{base}-2", "latest"]


# -- staging folders of dead runs ----------------------------------------------------------------
def _staging_with_owner(parent: Path, name: str, owner: str) -> Path:
    p = parent / f"{rio.STAGING_PREFIX}{name}"
    p.mkdir(parents=True)
    (p / "half.html").write_text("partial")
    (p / rio.OWNER_FILE).write_text(owner)
    return p


def test_staging_of_a_sigkilled_run_is_removed_at_the_next_build(tmp_path, monkeypatch):
    report_dir = tmp_path / "reports" / "demo"
    code = (
        "import sys, time\n"
        "from riskmodels.reporting.io import claim_staging\n"
        "print(claim_staging(sys.argv[1], 'killed-run')[1], flush=True)\n"
        "time.sleep(120)\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code, str(report_dir)], stdout=subprocess.PIPE, text=True
    )
    try:
        killed = Path(proc.stdout.readline().strip())  # type: ignore[union-attr]
        assert killed.is_dir()
        assert rio.remove_dead_staging(report_dir) == []  # its process is alive: kept
        assert killed.is_dir()
    finally:
        proc.kill()  # SIGKILL: no clean-up runs
        proc.wait()
        proc.stdout.close()  # type: ignore[union-attr]
    assert killed.is_dir()

    mine = _staging_with_owner(report_dir, "mine", f"{socket.gethostname()} {os.getpid()}\n")
    elsewhere = _staging_with_owner(report_dir, "other-host", "another-host 1\n")
    no_owner = report_dir / f"{rio.STAGING_PREFIX}no-owner"
    no_owner.mkdir()
    old = report_dir / f"{rio.STAGING_PREFIX}old-no-owner"
    old.mkdir()
    day_ago = time.time() - 25 * 3600
    os.utime(old, (day_ago, day_ago))

    write_notebook(tmp_path / "repo" / "notebooks", "ok.py", "# %%\nprint(value)\n")
    monkeypatch.setattr(
        nbx,
        "execute_notebook",
        lambda nb, out, params, **kw: (nbformat.write(nb, str(out)), nb)[1],
    )
    spec = ReportSpec("demo", "Demo", "notebooks/ok.py", "works")
    build_report(spec, load_config(QUICK), tmp_path / "reports", root=tmp_path / "repo", now=T0)

    assert not killed.exists()  # owner gone: removed at once, not a day later
    assert not old.exists()  # owner unknown and older than a day
    assert mine.is_dir() and no_owner.is_dir() and elsewhere.is_dir()  # alive or unknown+young


def test_failed_staging_owner_is_recorded_and_removed(tmp_path):
    final = tmp_path / "run1"
    with pytest.raises(KeyError), staging_dir(final) as tmp:
        _host, pid = owner_of(tmp).split()
        assert pid == str(os.getpid())
        raise KeyError("simulated failure")
    assert list(tmp_path.iterdir()) == []


# -- the failure message points to the kept notebook -----------------------------------------------
def test_failed_report_message_names_only_the_kept_notebook(tmp_path, monkeypatch):
    nbdir = tmp_path / "repo" / "notebooks"
    write_notebook(nbdir, "bad.py", "# %%\nprint('starting')\n\n# %%\n1 / 0\n")
    bad = ReportSpec("demo", "Demo", "notebooks/bad.py", "raises")
    out = tmp_path / "reports"
    with pytest.raises(ReportError) as info:
        build_report(bad, load_config(QUICK), out, root=tmp_path / "repo", now=T0)
    msg = str(info.value)
    kept = out / "demo" / ".failed" / f"{_run_id(msg)}.ipynb"
    assert kept.is_file()
    assert re.search(r"cell \d+ raised ZeroDivisionError: division by zero\.", msg)
    assert msg.endswith(f"The failed notebook is kept at {kept}.")
    assert rio.STAGING_PREFIX not in msg
    paths = re.findall(r"(/\S+?\.ipynb)", msg)
    assert paths == [str(kept)]  # every notebook named exists
    # the chained cause is the notebook's own error, not a message naming the deleted copy
    assert rio.STAGING_PREFIX not in str(info.value.__cause__)
    assert not [p for p in (out / "demo").iterdir() if p.name.startswith(rio.STAGING_PREFIX)]


def _run_id(msg: str) -> str:
    m = re.search(r"\.failed/([^/\s]+)\.ipynb", msg)
    assert m, msg
    return m.group(1)
