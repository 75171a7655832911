"""Durable atomic file writes, and the sweep of the temporary files killed writers leave.

Every file the package writes in place (task-cache entries, the data mirror's parquet files,
reports and their ``latest`` pointers) goes through :func:`atomic_writer`: the content is
written to a temporary file in the target's folder, flushed and ``fsync``-ed, moved over the
target with :func:`os.replace` (atomic on POSIX and Windows within one file system), and the
folder is ``fsync``-ed so that the rename itself survives a crash (where the platform allows).
A reader sees the old file or the new one, never a part.

A writer killed between creating its temporary file and the rename (SIGKILL, power loss)
leaves that file behind. Temporary files are named
``.<target name>.tmp-<pid>-<host tag>-<random>.tmp`` so that :func:`sweep_temp_files` can tell
whether their writer is still running: it removes those whose process is gone (same host) and
any older than :data:`STALE_TMP_S` (the rule for other hosts, Windows and the names written by
older versions: ``.tmp-*`` and ``.<name>.<random>.tmp``).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import socket
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

__all__ = [
    "STALE_TMP_S",
    "TMP_SUFFIX",
    "atomic_write_bytes",
    "atomic_write_text",
    "atomic_writer",
    "fsync_dir",
    "pid_alive",
    "sweep_temp_files",
    "temp_prefix",
]

#: Suffix of every temporary file written by :func:`atomic_writer`.
TMP_SUFFIX = ".tmp"
#: Age (seconds) after which a temporary file is removed even when its writer cannot be checked.
STALE_TMP_S = 3600.0

#: 8 hex digits naming this host in temporary file names (a pid means nothing on another one).
HOST_TAG = hashlib.sha256(socket.gethostname().encode("utf-8", "replace")).hexdigest()[:8]

#: A temporary file of :func:`atomic_writer`: writer pid and host tag in the name.
_TAGGED = re.compile(r"^\..*\.tmp-(?P<pid>\d+)-(?P<host>[0-9a-f]{8})-[^/\\]*\.tmp$")


def fsync_dir(path: str | os.PathLike[str]) -> None:
    """``fsync`` a folder so that a rename inside it survives a crash (no-op where unsupported).

    Parameters
    ----------
    path : path-like
        The folder.
    """
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


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` exists on this host (True when it cannot be told).

    Parameters
    ----------
    pid : int
        Process id.

    Returns
    -------
    bool
    """
    if pid == os.getpid():
        return True
    if os.name == "nt":  # pragma: no cover - os.kill(pid, 0) would terminate the process
        return True  # (callers use the age rule on Windows)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: it exists, owned by another user
        return True
    return True


def temp_prefix(name: str) -> str:
    """``tempfile`` prefix of a temporary file for the target ``name`` (pid and host in it).

    Use it with ``suffix=TMP_SUFFIX`` so that :func:`sweep_temp_files` recognizes the file.

    Parameters
    ----------
    name : str
        File name of the target (no folder).

    Returns
    -------
    str
        ``".<name>.tmp-<pid>-<host tag>-"``.
    """
    return f".{name}.tmp-{os.getpid()}-{HOST_TAG}-"


@contextlib.contextmanager
def atomic_writer(path: str | os.PathLike[str], *, mode: int | None = 0o644) -> Iterator[BinaryIO]:
    """Open a temporary file for ``path``; on a clean exit make it ``path``, durably.

    The temporary file (same folder, :func:`temp_prefix`) is flushed and ``fsync``-ed, then
    moved over ``path`` with :func:`os.replace`, then the folder is ``fsync``-ed (where the
    platform allows). On an exception the temporary file is removed and ``path`` is untouched.

    Parameters
    ----------
    path : path-like
        The target; its folder is created if needed.
    mode : int or None, default 0o644
        Permission bits of the written file; None keeps the private 0o600 of
        :func:`tempfile.mkstemp`.

    Yields
    ------
    BinaryIO
        The temporary file, open for binary writing.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        prefix=temp_prefix(target.name), suffix=TMP_SUFFIX, dir=target.parent
    )
    try:
        with os.fdopen(fd, "wb") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    fsync_dir(target.parent)


def atomic_write_bytes(
    path: str | os.PathLike[str], data: bytes, *, mode: int | None = 0o644
) -> Path:
    """Write ``data`` to ``path`` atomically and durably (see :func:`atomic_writer`).

    Parameters
    ----------
    path : path-like
        The target; its folder is created if needed.
    data : bytes
        The full content.
    mode : int or None, default 0o644
        Permission bits of the file; None keeps 0o600.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    with atomic_writer(path, mode=mode) as fh:
        fh.write(data)
    return Path(path)


def atomic_write_text(
    path: str | os.PathLike[str],
    text: str,
    encoding: str = "utf-8",
    *,
    mode: int | None = 0o644,
) -> Path:
    """Write ``text`` to ``path`` atomically and durably; see :func:`atomic_write_bytes`.

    Parameters
    ----------
    path : path-like
        The target.
    text : str
        The full content.
    encoding : str, default "utf-8"
    mode : int or None, default 0o644

    Returns
    -------
    pathlib.Path
        ``path``.

    Examples
    --------
    >>> atomic_write_text("reports/data/latest", "20260101T000000Z-1a2b3c4d\\n")  # doctest: +SKIP
    """
    return atomic_write_bytes(path, text.encode(encoding), mode=mode)


def _is_temp_name(name: str) -> bool:
    """A temporary file of a writer: ``.tmp-*`` or ``.<name>...tmp`` (hidden, never an entry)."""
    return name.startswith(".tmp-") or (name.startswith(".") and name.endswith(TMP_SUFFIX))


def sweep_temp_files(folder: str | os.PathLike[str], *, max_age: float = STALE_TMP_S) -> list[Path]:
    """Remove the temporary files of writers that died in ``folder`` (not recursive).

    A temporary file is removed when its writer's process is gone (pid and host in its name,
    see :func:`temp_prefix`; this host only) or when it is older than ``max_age`` seconds (a
    live writer's file is at most seconds old: it is written in one go, then renamed). Files
    that cannot be removed (read-only folder, raced with another sweep) are skipped.

    Parameters
    ----------
    folder : path-like
        The folder (a task cache, a data-mirror folder).
    max_age : float, default :data:`STALE_TMP_S`
        Age in seconds (by modification time) after which a temporary file is stale.

    Returns
    -------
    list of pathlib.Path
        The files removed.
    """
    cutoff = time.time() - max_age
    removed: list[Path] = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        if not _is_temp_name(entry.name):
            continue
        try:
            if not entry.is_file(follow_symlinks=False):
                continue
            stale = entry.stat(follow_symlinks=False).st_mtime < cutoff
            m = _TAGGED.match(entry.name)
            if not stale and m is not None and m["host"] == HOST_TAG:
                stale = not pid_alive(int(m["pid"]))
            if stale:
                os.unlink(entry.path)
                removed.append(Path(entry.path))
        except OSError:  # gone meanwhile, or the folder is read-only
            continue
    return removed
