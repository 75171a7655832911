"""Atomic writes: a reader sees the old file (or report folder) or the new one, never a part.

Files are written to a temporary file in the same folder, flushed and ``fsync``-ed, then moved
over the target with :func:`os.replace` (atomic on POSIX and Windows within one file system).
A report folder is built under a hidden temporary name beside its final place and renamed into
place only when complete (:func:`staging_dir`); if anything fails the temporary folder is
removed and earlier reports are untouched.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from riskmodels.exceptions import ConfigError

__all__ = [
    "STAGING_PREFIX",
    "atomic_write_bytes",
    "atomic_write_text",
    "fsync_dir",
    "staging_dir",
]

#: Prefix of the hidden folders in which reports are built (never a finished report).
STAGING_PREFIX = ".staging-"


def fsync_dir(path: str | os.PathLike[str]) -> None:
    """``fsync`` a folder so that a rename inside it survives a crash (no-op where unsupported)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover - e.g. Windows cannot open folders
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - some file systems refuse fsync on folders
        pass
    finally:
        os.close(fd)


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (temp file in the same folder, fsync, replace).

    Parameters
    ----------
    path : path-like
        The target; its folder is created if needed.
    data : bytes
        The full content.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    fsync_dir(target.parent)
    return target


def atomic_write_text(path: str | os.PathLike[str], text: str, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` atomically; see :func:`atomic_write_bytes`.

    Examples
    --------
    >>> atomic_write_text("reports/data/latest", "20260101T000000Z-1a2b3c4d\\n")  # doctest: +SKIP
    """
    return atomic_write_bytes(path, text.encode(encoding))


@contextlib.contextmanager
def staging_dir(final: str | os.PathLike[str]) -> Iterator[Path]:
    """Build a folder under a temporary name and move it to ``final`` only on success.

    The temporary folder is ``<parent>/.staging-<name>-<random>`` (same file system, so the
    final :func:`os.rename` is atomic). On an exception it is removed and the exception
    propagates; ``final`` is never partially visible.

    Parameters
    ----------
    final : path-like
        Where the finished folder goes. It must not exist yet (run ids are unique).

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
        raise ConfigError(
            f"{str(target)!r} already exists: a finished report is never overwritten. "
            "Use a new run id (they include the UTC time) or remove the folder."
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f"{STAGING_PREFIX}{target.name}-", dir=target.parent))
    try:
        yield tmp
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
