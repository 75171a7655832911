"""Shared fixtures: the data mirror (skipped when absent) and seeded generators."""

from __future__ import annotations

import os

import numpy as np
import pytest

# Fits must not depend on BLAS threading (../shared/TOOLCHAIN.md).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


@pytest.fixture(scope="session")
def mirror_path():
    """The data mirror folder, or skip the test when there is none."""
    from riskmodels.data import default_mirror_path

    p = default_mirror_path()
    if p is None or not (p / "tidy" / "binance_spot_1d_long.csv").is_file():
        pytest.skip("no data mirror (set RISKMODELS_MIRROR or place ../shared/data)")
    return p


@pytest.fixture(scope="session")
def mirror_source(mirror_path):
    """A MirrorSource over the mirror (skips when absent)."""
    from riskmodels.data import MirrorSource

    return MirrorSource(mirror_path)


@pytest.fixture
def rng() -> np.random.Generator:
    """A fixed-seed generator: tests are deterministic."""
    return np.random.default_rng(20261121)
