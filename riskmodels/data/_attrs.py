"""Read-only JSON containers for the metadata kept in a returned frame's ``attrs``.

pandas deep-copies ``attrs`` on every operation (``df["BTC"] * 2`` copies them twice) and
writes them to parquet as JSON. The metadata the loaders attach (files read, quality summaries)
is therefore kept as plain JSON values (strings, numbers, None, lists and dicts of them) held in
:class:`FrozenDict` / :class:`FrozenList`: ``dict`` and ``list`` subclasses that cannot be
changed, so a deep copy returns the same object instead of walking it. They compare equal to,
print like, pickle like and ``json.dumps`` like plain dicts and lists; frames read back from
parquet hold plain dicts and lists with the same content.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from riskmodels._frozen import FrozenDict, FrozenList

__all__ = ["FrozenDict", "FrozenList", "freeze", "frozen_attrs", "thaw"]


def freeze(value: Any) -> Any:
    """``value`` with every dict and list (also tuples) made read-only, recursively.

    Parameters
    ----------
    value : JSON value
        Strings, numbers, booleans, None, and dicts (string keys) / lists / tuples of them.

    Returns
    -------
    JSON value
        Dicts as :class:`FrozenDict`, lists and tuples as :class:`FrozenList`.
    """
    if isinstance(value, FrozenDict | FrozenList):
        return value
    if isinstance(value, Mapping):
        return FrozenDict({str(k): freeze(v) for k, v in value.items()})
    if isinstance(value, list | tuple):
        return FrozenList(freeze(v) for v in value)
    return value


def thaw(value: Any) -> Any:
    """A mutable deep copy of a (possibly frozen) JSON value: plain dicts and lists."""
    if isinstance(value, Mapping):
        return {k: thaw(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [thaw(v) for v in value]
    return value


def frozen_attrs(attrs: Mapping[str, Any]) -> dict[str, Any]:
    """A plain ``attrs`` dict (keys can still be added) whose values are frozen (:func:`freeze`).

    Parameters
    ----------
    attrs : mapping
        JSON values by name.

    Returns
    -------
    dict
    """
    return {str(k): freeze(v) for k, v in attrs.items()}
