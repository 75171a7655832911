"""Atomic writes: a reader sees the old file (or report folder) or the new one, never a part.

Files are written to a temporary file in the same folder, flushed and ``fsync``-ed, then moved
over the target with :func:`os.replace` (atomic on POSIX and Windows within one file system),
and the folder is ``fsync``-ed: :func:`atomic_write_bytes` and :func:`atomic_write_text` are
those of :mod:`riskmodels._io`, the package's one home for atomic writes.
A report folder is built under a hidden temporary name beside its final place and renamed into
place only when complete (:func:`staging_dir`); if anything fails the temporary folder is
removed and earlier reports are untouched.

Run folders are claimed atomically (:func:`claim_staging`: an exclusive :func:`os.mkdir` of the
staging folder), so two runs started together get distinct names. Each staging folder records
its owner (host and pid, in ``.owner``); :func:`remove_dead_staging` removes those whose process
is gone (left by a SIGKILL) and keeps those of live processes.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from riskmodels._io import atomic_write_bytes, atomic_write_text, fsync_dir
from riskmodels._io import pid_alive as _pid_alive
from riskmodels.exceptions import ConfigError

__all__ = [
    "OWNER_FILE",
    "STAGING_PREFIX",
    "atomic_write_bytes",
    "atomic_write_text",
    "claim_staging",
    "fsync_dir",
    "remove_dead_staging",
    "staging_dir",
]

#: Prefix of the hidden folders in which reports are built (never a finished report).
STAGING_PREFIX = ".staging-"
#: File in a staging folder naming its owner: ``<host> <pid>`` (removed before the rename).
OWNER_FILE = ".owner"
#: Age after which a staging folder whose owner cannot be checked (no owner file, another host)
#: is removed.
STALE_STAGING_S = 24 * 3600.0


def _write_owner(folder: Path) -> None:
    (folder / OWNER_FILE).write_text(f"{socket.gethostname()} {os.getpid()}\n", encoding="utf-8")


def claim_staging(parent: str | os.PathLike[str], name: str) -> tuple[str, Path]:
    """Claim a unique folder name under ``parent`` and create its staging folder atomically.

    Tries ``name``, then ``name-2``, ``name-3``, ...: the first for which neither the finished
    folder ``parent/<candidate>`` exists nor another run holds ``parent/.staging-<candidate>``
    (created with an exclusive :func:`os.mkdir`, which exactly one concurrent caller wins). The
    staging folder records its owner (:data:`OWNER_FILE`). Fill it and move it into place with
    ``staging_dir(parent / candidate, staging=path)``.

    Parameters
    ----------
    parent : path-like
        Where the finished folder goes (created if needed).
    name : str
        The preferred name, e.g. a run id.

    Returns
    -------
    (str, pathlib.Path)
        The name claimed and its staging folder.
    """
    base = Path(parent)
    base.mkdir(parents=True, exist_ok=True)
    n = 1
    while True:
        candidate = name if n == 1 else f"{name}-{n}"
        n += 1
        if (base / candidate).exists():
            continue
        staging = base / f"{STAGING_PREFIX}{candidate}"
        try:
            os.mkdir(staging, 0o700)
        except FileExistsError:  # another run holds this name (or left it: see remove_dead_...)
            continue
        if (base / candidate).exists():  # finished between our check and our mkdir
            os.rmdir(staging)
            continue
        try:
            _write_owner(staging)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return candidate, staging


def remove_dead_staging(
    parent: str | os.PathLike[str], max_age: float = STALE_STAGING_S
) -> list[Path]:
    """Remove the staging folders under ``parent`` left by runs that died.

    A folder whose :data:`OWNER_FILE` names a process of this host that no longer exists
    (``os.kill(pid, 0)`` fails) is removed at once; one whose process is alive is kept. A folder
    whose owner cannot be checked (no or unreadable owner file, another host, Windows) is
    removed once it is older than ``max_age`` seconds.

    Returns
    -------
    list of pathlib.Path
        The folders removed.
    """
    host = socket.gethostname()
    cutoff = time.time() - max_age
    removed: list[Path] = []
    for p in sorted(Path(parent).glob(f"{STAGING_PREFIX}*")):
        try:
            if not p.is_dir():
                continue
            try:
                owner_host, pid_text = (p / OWNER_FILE).read_text(encoding="utf-8").split()
                pid = int(pid_text)
            except (OSError, ValueError):
                owner_host, pid = "", 0
            if owner_host == host and pid > 0 and os.name != "nt":
                dead = not _pid_alive(pid)
            else:
                dead = p.stat().st_mtime < cutoff
        except OSError:  # pragma: no cover - raced with another process
            continue
        if dead:
            shutil.rmtree(p, ignore_errors=True)
            removed.append(p)
    return removed


@contextlib.contextmanager
def staging_dir(final: str | os.PathLike[str], *, staging: Path | None = None) -> Iterator[Path]:
    """Build a folder under a temporary name and move it to ``final`` only on success.

    The temporary folder is ``<parent>/.staging-<name>-<random>`` (same file system, so the
    final :func:`os.rename` is atomic), or ``staging`` when one was claimed with
    :func:`claim_staging`. It records its owner in :data:`OWNER_FILE` (removed before the
    rename). On an exception it is removed and the exception propagates; ``final`` is never
    partially visible.

    Parameters
    ----------
    final : path-like
        Where the finished folder goes. It must not exist yet (run ids are unique).
    staging : pathlib.Path, optional
        A staging folder from :func:`claim_staging` for ``final``.

    Yields
    ------
    pathlib.Path
        The temporary folder to fill.

    Raises
    ------
    ConfigError
        If ``final`` already exists.
    """
    target = Path(final)
    if target.exists():
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
        raise ConfigError(
            f"{str(target)!r} already exists: a finished report is never overwritten. "
            "Use a new run id (they include the UTC time) or remove the folder."
        )
    if staging is None:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f"{STAGING_PREFIX}{target.name}-", dir=target.parent))
    else:
        tmp = Path(staging)
    try:
        _write_owner(tmp)
        yield tmp
        (tmp / OWNER_FILE).unlink(missing_ok=True)
        for f in tmp.rglob("*"):
            if f.is_file():
                with open(f, "rb") as fh:
                    os.fsync(fh.fileno())
        os.chmod(tmp, 0o755)
        os.rename(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    fsync_dir(target.parent)
