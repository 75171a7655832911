"""Read-only containers that pickle: the one home for frozen mappings and lists.

``types.MappingProxyType`` is read-only but does not pickle, so a result holding one cannot
travel to a worker process (loky, dask) or into a cache. :class:`FrozenDict` and
:class:`FrozenList` are ``dict`` and ``list`` subclasses that cannot be changed, compare equal
to and pickle like plain dicts and lists, and return themselves on (deep) copy, so pandas'
deep copy of ``DataFrame.attrs`` stays cheap (:mod:`riskmodels.data._attrs`).
"""

from __future__ import annotations

from typing import Any, NoReturn, TypeVar

_K = TypeVar("_K")
_V = TypeVar("_V")
_T = TypeVar("_T")

__all__ = ["FrozenDict", "FrozenList", "freeze_mapping"]


def _read_only(self: object, *args: object, **kwargs: object) -> NoReturn:
    raise TypeError(
        f"{type(self).__name__} is read-only (shared by its copies): change a copy, e.g. "
        "dict(value) or list(value)."
    )


class FrozenDict(dict[_K, _V]):
    """A read-only ``dict`` that pickles (see the module docstring)."""

    __slots__ = ()
    __setitem__ = __delitem__ = _read_only
    clear = pop = popitem = setdefault = update = _read_only
    __ior__ = _read_only

    def __deepcopy__(self, memo: dict[int, Any]) -> FrozenDict[_K, _V]:
        return self

    def __copy__(self) -> FrozenDict[_K, _V]:
        return self

    def __reduce__(self) -> tuple[type[FrozenDict[_K, _V]], tuple[dict[_K, _V]]]:
        return (type(self), (dict(self),))


class FrozenList(list[_T]):
    """A read-only ``list`` that pickles (see the module docstring)."""

    __slots__ = ()
    __setitem__ = __delitem__ = _read_only
    append = clear = extend = insert = pop = remove = reverse = sort = _read_only
    __iadd__ = __imul__ = _read_only

    def __deepcopy__(self, memo: dict[int, Any]) -> FrozenList[_T]:
        return self

    def __copy__(self) -> FrozenList[_T]:
        return self

    def __reduce__(self) -> tuple[type[FrozenList[_T]], tuple[list[_T]]]:
        return (type(self), (list(self),))


def freeze_mapping(data: Any) -> FrozenDict[str, Any]:
    """A :class:`FrozenDict` of ``data`` for a result's ``config``: keys as ``str``, numpy
    arrays copied and made read-only (so nothing reachable from a frozen result can change).
    """
    import numpy as np

    out: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, np.ndarray):
            value = value.copy()
            value.flags.writeable = False
        out[str(key)] = value
    return FrozenDict(out)
