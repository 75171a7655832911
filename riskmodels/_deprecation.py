"""Deprecation paths: the one home for "this still works for one release, with a warning".

Specs are frozen dataclasses whose natural leading arguments stay positional (``EWMA(0.94)``,
``GARCH(1, 0, 1)``, ``PortfolioMargin(scenarios)``) and whose options are keyword-only, after a
``KW_ONLY`` marker. Code written before the options moved behind the marker passed them by
position; :func:`keyword_options` keeps that working for one release and says how to change it.
"""

from __future__ import annotations

import dataclasses
import functools
import warnings
from typing import Any, TypeVar

__all__ = ["keyword_options"]

_C = TypeVar("_C", bound=type)


def keyword_options(cls: _C) -> _C:
    """Accept a dataclass's keyword-only options by position, with a ``DeprecationWarning``.

    Apply it above ``@dataclass``. Positional arguments beyond the class's positional fields
    are given, in declaration order, to the keyword-only fields that follow them (the order the
    fields had when they were all positional), with a warning that names them. Everything else
    (the signature ``inspect.signature`` shows, ``dataclasses.replace``, pickling, validation in
    ``__post_init__``) is the dataclass's own.

    Parameters
    ----------
    cls : type
        A dataclass with at least one keyword-only field.

    Returns
    -------
    type
        ``cls``, with its ``__init__`` wrapped.

    Examples
    --------
    >>> import warnings
    >>> from riskmodels.volatility import EWMA
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     spec = EWMA(0.97, "t")
    >>> spec.dist, caught[0].category.__name__
    ('t', 'DeprecationWarning')
    """
    if not dataclasses.is_dataclass(cls):
        raise TypeError(f"keyword_options applies to dataclasses; {cls.__name__} is not one")
    fields = [f for f in dataclasses.fields(cls) if f.init]
    n_positional = sum(not f.kw_only for f in fields)
    names = [f.name for f in fields]
    if n_positional == len(names):
        raise TypeError(f"{cls.__name__} has no keyword-only field: put them after KW_ONLY")
    init = cls.__init__

    @functools.wraps(init)
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        if len(args) > n_positional:
            if len(args) > len(names):
                raise TypeError(
                    f"{cls.__name__}() takes at most {len(names)} arguments ({len(args)} given)"
                )
            moved = names[n_positional : len(args)]
            twice = [name for name in moved if name in kwargs]
            if twice:
                raise TypeError(f"{cls.__name__}() got multiple values for {twice[0]!r}")
            example = ", ".join(f"{name}=..." for name in moved)
            warnings.warn(
                f"Positional options of {cls.__name__}() are deprecated and stop working in "
                f"the next release: pass {', '.join(moved)} by keyword, as in "
                f"{cls.__name__}(..., {example}).",
                DeprecationWarning,
                stacklevel=2,
            )
            kwargs.update(zip(moved, args[n_positional:], strict=True))
            args = args[:n_positional]
        init(self, *args, **kwargs)

    cls.__init__ = __init__  # type: ignore[method-assign]
    return cls
