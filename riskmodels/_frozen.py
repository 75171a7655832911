"""Read-only containers that pickle: the one home for frozen mappings and lists.

``types.MappingProxyType`` is read-only but does not pickle, so a result holding one cannot
travel to a worker process (loky, dask) or into a cache. :class:`FrozenDict` and
:class:`FrozenList` are ``dict`` and ``list`` subclasses that cannot be changed, compare equal
to and pickle like plain dicts and lists, and return themselves on (deep) copy, so pandas'
deep copy of ``DataFrame.attrs`` stays cheap (:mod:`riskmodels.data._attrs`).
"""

from __future__ import annotations

from typing import Any, NoReturn

__all__ = ["FrozenDict", "FrozenList"]


def _read_only(self: object, *args: object, **kwargs: object) -> NoReturn:
    raise TypeError(
        f"{type(self).__name__} is read-only (shared by its copies): change a copy, e.g. "
        "dict(value) or list(value)."
    )


class FrozenDict(dict[str, Any]):
    """A read-only ``dict`` that pickles (see the module docstring)."""

    __slots__ = ()
    __setitem__ = __delitem__ = _read_only
    clear = pop = popitem = setdefault = update = _read_only
    __ior__ = _read_only

    def __deepcopy__(self, memo: dict[int, Any]) -> FrozenDict:
        return self

    def __copy__(self) -> FrozenDict:
        return self

    def __reduce__(self) -> tuple[type[FrozenDict], tuple[dict[str, Any]]]:
        return (type(self), (dict(self),))


class FrozenList(list[Any]):
    """A read-only ``list`` that pickles (see the module docstring)."""

    __slots__ = ()
    __setitem__ = __delitem__ = _read_only
    append = clear = extend = insert = pop = remove = reverse = sort = _read_only
    __iadd__ = __imul__ = _read_only

    def __deepcopy__(self, memo: dict[int, Any]) -> FrozenList:
        return self

    def __copy__(self) -> FrozenList:
        return self

    def __reduce__(self) -> tuple[type[FrozenList], tuple[list[Any]]]:
        return (type(self), (list(self),))
