"""Random numbers: the package's one policy for an ``rng`` argument.

Every function of riskmodels that draws random numbers takes ``rng`` and turns it into a
:class:`numpy.random.Generator` with :func:`as_generator`, following SPEC 7 of the Scientific
Python project (https://scientific-python.org/specs/spec-0007/):

=====================================  ============================================
``rng``                                generator used
=====================================  ============================================
``None`` (the default)                 ``np.random.default_rng()``: fresh OS entropy
an ``int`` >= 0 or a ``SeedSequence``  ``np.random.default_rng(rng)``
a ``numpy.random.Generator``           that generator itself (its stream advances)
anything else                          :class:`~riskmodels.exceptions.ConfigError`
=====================================  ============================================

Why: reproducibility comes from explicit seeds, not from hidden defaults. A run is seeded by
the config (``[run] seed``), which the reports record; a caller who wants the same numbers
twice passes the same ``int`` seed or ``Generator``. A hidden ``seed=0`` default would make
every unseeded call draw the *same* "random" numbers (so two independent bootstraps would be
perfectly correlated) while looking seeded; an error on ``None`` would make quick exploration
needlessly verbose. Legacy ``numpy.random.RandomState``, floats and bools are refused: they
are almost always mistakes (``rng=True``, ``rng=0.5``), and the legacy generator has a
different stream.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from riskmodels.exceptions import ConfigError

__all__ = ["as_generator"]


def as_generator(rng: Any, name: str = "rng") -> np.random.Generator:
    """A :class:`numpy.random.Generator` from ``rng`` by the package's one policy (SPEC 7).

    Parameters
    ----------
    rng : None, int, numpy.random.SeedSequence or numpy.random.Generator
        ``None``: a fresh generator from OS entropy (``np.random.default_rng()``), so two
        calls draw different numbers; an ``int`` >= 0 or a ``SeedSequence``:
        ``np.random.default_rng(rng)``, the same stream on every call; a ``Generator``:
        returned as is (not copied), so its stream advances.
    name : str
        The argument's name in error messages.

    Returns
    -------
    numpy.random.Generator

    Raises
    ------
    ConfigError
        A negative seed, or anything else (legacy ``RandomState``, a float, a bool, a string):
        the message says to pass an int seed or a Generator.

    Notes
    -----
    Reproducibility comes from explicit seeds in configs (``[run] seed``), which reports
    record; ``None`` is never read as a fixed seed.
    """
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None:
        return np.random.default_rng()
    if isinstance(rng, np.random.SeedSequence):
        return np.random.default_rng(rng)
    if isinstance(rng, int | np.integer) and not isinstance(rng, bool | np.bool_):
        if rng < 0:
            raise ConfigError(
                f"{name} seed must be non-negative (got {rng!r}): pass an int seed such as "
                f"{name}=1."
            )
        return np.random.default_rng(int(rng))
    if isinstance(rng, np.random.RandomState):
        hint = (
            "the legacy numpy.random.RandomState is not accepted; use np.random.default_rng(seed)"
        )
    else:
        hint = f"pass an int seed such as {name}=1 or np.random.default_rng(seed)"
    raise ConfigError(
        f"{name} must be a numpy.random.Generator, an int seed or None (got "
        f"{type(rng).__name__} {rng!r}): {hint}."
    )
