"""One home for the memory check on sizes given by users.

A user-given size (``n=10**11`` scenarios, a million steps of N x N matrices) would otherwise
reach numpy, which tries the allocation and fails with a bare ``MemoryError`` after reserving
what it can (or succeeds and swaps the machine). :func:`check_allocation` computes the bytes a
call would allocate from its arguments and raises :class:`ResourceLimitError` first.

The limit is ``RISKMODELS_MAX_ALLOC_GIB`` (GiB, read at each call) if set, else half of the
machine's physical memory, else 8 GiB where that cannot be read.
"""

from __future__ import annotations

import math
import os

from riskmodels.exceptions import ConfigError, ResourceLimitError

__all__ = ["ENV_VAR", "check_allocation", "max_alloc_bytes"]

#: Environment variable holding the limit in GiB.
ENV_VAR = "RISKMODELS_MAX_ALLOC_GIB"

GIB = 1024**3
_FALLBACK_BYTES = 8 * GIB


def _physical_memory() -> int | None:
    try:
        size = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None
    return size if size > 0 else None


def max_alloc_bytes() -> int:
    """The allocation limit in bytes: ``RISKMODELS_MAX_ALLOC_GIB``, else half the RAM, else
    8 GiB.

    Raises
    ------
    ConfigError
        If ``RISKMODELS_MAX_ALLOC_GIB`` is set but is not a positive number.
    """
    raw = os.environ.get(ENV_VAR)
    if raw is not None and raw.strip():
        try:
            gib = float(raw)
        except ValueError:
            gib = math.nan
        if not (math.isfinite(gib) and gib > 0):
            raise ConfigError(
                f"{ENV_VAR} must be a positive number of GiB (got {raw!r}), e.g. {ENV_VAR}=64."
            )
        return int(gib * GIB)
    phys = _physical_memory()
    return _FALLBACK_BYTES if phys is None else phys // 2


def check_allocation(
    n_elements: int,
    itemsize: int = 8,
    *,
    what: str,
    limit_bytes: int | None = None,
) -> int:
    """Refuse an allocation of ``n_elements * itemsize`` bytes above the limit.

    Parameters
    ----------
    n_elements : int
        Number of array elements the call would allocate (a Python int, so that products of
        user sizes cannot overflow).
    itemsize : int
        Bytes per element (8 for float64).
    what : str
        The request, for the message, e.g. ``"10000 scenarios x 5 steps x 3 assets"``.
    limit_bytes : int, optional
        The limit; default :func:`max_alloc_bytes`.

    Returns
    -------
    int
        The bytes the request needs.

    Raises
    ------
    ResourceLimitError
        If the request needs more than the limit.
    """
    need = int(n_elements) * int(itemsize)
    limit = max_alloc_bytes() if limit_bytes is None else int(limit_bytes)
    if need > limit:
        raise ResourceLimitError(
            f"{what} would need {need / GIB:,.1f} GiB of memory, above the limit of "
            f"{limit / GIB:,.1f} GiB. Ask for fewer (a smaller n), or raise the limit with the "
            f"environment variable {ENV_VAR} (in GiB; default: half of the physical memory)."
        )
    return need
